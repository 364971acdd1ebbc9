"""Small real rpms and throwaway signing keys for the yum tests.

    from rpmkit import build_rpm, make_signer, python_stub   # tests/ is on sys.path
    signer = make_signer(tmp_path / "gnupg")                  # ed25519, with a passphrase
    rpm = build_rpm(tmp_path, "python3-demo", "1.0")          # noarch, needs python(abi) = 3.9
    stub = python_stub(tmp_path)                      # provides python(abi), /usr/bin/python3

The rpms are built on the host with Debian's rpmbuild until the el9 builder's real ones
are used; they are real packages that rpm, createrepo_c and dnf treat like any other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from repotools import fake_record  # type: ignore[import-not-found]

from repack.gpg import Signer, gpg
from repack.trust import provenance

PASSPHRASE = "correct horse battery staple"
PY = "/usr/lib/python3.9/site-packages"


def make_signer(home: Path, *, algorithm: str = "ed25519", email: str = "repo@example.org",
                passphrase: str | None = PASSPHRASE) -> Signer:
    """A fresh signing key in its own GnuPG home."""
    g = gpg(home)
    params: dict[str, object] = {"name_real": "repack test", "name_email": email,
                                 "expire_date": "1y", "key_usage": "sign"}
    if algorithm == "ed25519":
        params.update(key_type="EDDSA", key_curve="ed25519")
    else:
        params.update(key_type="RSA", key_length=int(algorithm.removeprefix("rsa")))
    if passphrase:
        params["passphrase"] = passphrase
    else:
        params["no_protection"] = True
    result = g.gen_key(g.gen_key_input(**params))
    assert result.fingerprint, result.stderr
    return Signer(gnupghome=home, fingerprint=str(result.fingerprint), passphrase=passphrase)


def stop_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,
                   capture_output=True)


def dnf(repos: Path, root: Path, *args: str,
        refresh: bool = False) -> subprocess.CompletedProcess[str]:
    """The host's dnf into an installroot, knowing only the .repo files in `repos`
    (refresh: fetch the metadata now, not when metadata_expire says)."""
    try:
        return subprocess.run(
            ["dnf", f"--installroot={root}", f"--setopt=reposdir={repos}", "--releasever=9",
             *(["--refresh"] if refresh else []),
             "--setopt=install_weak_deps=False", "--setopt=skip_if_unavailable=False",
             "--nodocs", "-y", *args], capture_output=True, text=True, timeout=300,
            check=False)
    finally:
        # librepo checks repomd.xml.asc with a GnuPG home of its own, and leaves its agent.
        for pubring in (root / "var/cache/dnf").glob("*/pubring"):
            stop_agent(pubring)


def installed(root: Path) -> list[str]:
    """NVR of every rpm installed in an installroot (without the gpg-pubkey entries)."""
    out = subprocess.run(["rpm", "--root", str(root), "-qa", "--qf", "%{NVR}\n"],
                         capture_output=True, text=True, check=False).stdout
    return sorted(line for line in out.splitlines() if not line.startswith("gpg-pubkey"))


def export_key(signer: Signer, dest: Path) -> Path:
    dest.write_bytes(signer.export_public(armor=True))
    return dest


def build_rpm(workdir: Path, name: str, version: str, *, release: str = "1",
              requires: Sequence[str] = ("python(abi) = 3.9",), provides: Sequence[str] = (),
              files: dict[str, str] | None = None, record: bool = True) -> Path:
    """A noarch rpm; `files` maps absolute paths to their text (default: a tiny module);
    with a provenance record of project `name` without python3- (record=False: none)."""
    module = name.removeprefix("python3-").replace("-", "_")
    files = dict(files or {f"{PY}/{module}/__init__.py": f"__version__ = {version!r}\n"})
    doc = f"/{provenance.doc_path(name)}"
    if record and doc not in files:      # what repack build writes; publish needs it
        files[doc] = provenance.to_json(fake_record(name.removeprefix("python3-"), version))
    install = "\n".join(
        f"mkdir -p %{{buildroot}}{Path(p).parent}\n"
        f"cat > %{{buildroot}}{p} <<'REPACK_EOF'\n{text.rstrip()}\nREPACK_EOF"
        for p, text in files.items())
    spec = "\n".join([
        f"Name: {name}", f"Version: {version}", f"Release: {release}",
        "Summary: a repack test package", "License: MIT", "BuildArch: noarch",
        *(f"Requires: {r}" for r in requires), *(f"Provides: {p}" for p in provides),
        "%description", "A package for repack's yum tests.",
        "%install", install,
        "%files", *files.keys(), ""])
    top = workdir / f"rpmbuild-{name}-{version}-{release}"
    top.mkdir(parents=True, exist_ok=True)
    spec_file = top / f"{name}.spec"
    spec_file.write_text(spec)
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--quiet", str(spec_file)],
                   check=True, capture_output=True)
    (rpm,) = (top / "RPMS" / "noarch").glob(f"{name}-{version}-{release}.noarch.rpm")
    return rpm


def python_stub(workdir: Path) -> Path:
    """Stands in for EL9's python3 in an empty dnf installroot."""
    return build_rpm(workdir, "python3-stub", "3.9.18", requires=(),
                     provides=("python(abi) = 3.9", "python3 = 3.9.18"),
                     files={"/usr/bin/python3": "#!/bin/sh\n"})
