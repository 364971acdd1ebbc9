"""Helpers for the signing and publishing tests: throwaway keys, tiny real .debs and a
source upload."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from debian import deb822
from packaging.utils import canonicalize_name

from repack import keys
from repack.model import Provenance
from repack.trust import provenance


@contextlib.contextmanager
def gnupg_home() -> Iterator[Path]:
    """A short-lived GnuPG home (short path: gpg-agent's socket must fit), agent stopped
    afterwards."""
    home = Path(tempfile.mkdtemp(prefix="rk-"))
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def new_key(home: Path, email: str = "repo@example.org", passphrase: str | None = None,
            algorithm: keys.Algorithm = "ed25519") -> str:
    """ed25519 by default: generated at once (RSA-4096, the CLI's default, takes seconds);
    fine wherever the algorithm does not matter (not for el9's clients)."""
    return keys.generate(home, name="repack test", email=email, passphrase=passphrase,
                         algorithm=algorithm)


def make_deb(dest: Path, name: str, version: str, *, arch: str = "all",
             payload: bytes = b"hello\n", source: str | None = None,
             record: Provenance | None | bool = True) -> Path:
    """A real (tiny) .deb built with dpkg-deb, carrying a provenance record (as repack
    build writes it: the doc file and the Repack-* control fields) of project `name`
    without python3- and the upstream part of `version`; record=False: none."""
    if record is True:
        upstream = version.partition(":")[2] or version
        record = fake_record(name.removeprefix("python3-"),
                             upstream.rpartition("-")[0] or upstream)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        (root / "usr" / "share" / "doc" / name).mkdir(parents=True)
        (root / "usr" / "share" / "doc" / name / "payload").write_bytes(payload)
        fields = provenance.control_fields(record) if isinstance(record, Provenance) else {}
        if isinstance(record, Provenance):
            (root / provenance.doc_path(name)).write_text(provenance.to_json(record))
        control = (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
                   "Maintainer: Test <test@example.org>\n"
                   + (f"Source: {source}\n" if source else "")
                   + "".join(f"{k}: {v}\n" for k, v in fields.items())
                   + f"Description: test package {name}\n a package made by the tests\n")
        (root / "DEBIAN" / "control").write_text(control)
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{name}_{version.partition(':')[2] or version}_{arch}.deb"
        # fixed timestamps: the same package made twice (for two codenames) is the same file
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root),
                        str(out)], check=True, capture_output=True,
                       env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    return out


def fake_record(project: str, version: str) -> Provenance:
    """A provenance record as repack build writes one (the digest is made up)."""
    return Provenance(project=canonicalize_name(project), version=version,
                      filename=f"{project}-{version}.tar.gz",
                      url=f"https://files.example.org/{project}-{version}.tar.gz",
                      sha256=hashlib.sha256(f"{project}-{version}".encode()).hexdigest(),
                      verified=("tls", "sha256:index"))


def source_upload(tmp: Path) -> Path:
    """A real native source package (dpkg-source) and a .changes listing it."""
    src = tmp / "hello-1.0"
    (src / "debian" / "source").mkdir(parents=True)
    (src / "debian" / "source" / "format").write_text("3.0 (native)\n")
    (src / "debian" / "control").write_text(
        "Source: hello\nMaintainer: T <t@example.org>\n\n"
        "Package: hello\nArchitecture: all\nDescription: h\n hello\n")
    (src / "debian" / "changelog").write_text(
        "hello (1.0) unstable; urgency=medium\n\n  * x\n\n"
        " -- T <t@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n")
    subprocess.run(["dpkg-source", "-b", src.name], cwd=tmp, check=True, capture_output=True)
    buildinfo = tmp / "hello_1.0_amd64.buildinfo"
    buildinfo.write_text("Format: 1.0\nSource: hello\nVersion: 1.0\n")
    changes = deb822.Changes()
    for k, v in (("Format", "1.8"), ("Source", "hello"), ("Version", "1.0"),
                 ("Architecture", "source")):
        changes[k] = v
    files = [tmp / "hello_1.0.dsc", tmp / "hello_1.0.tar.xz", buildinfo]
    for field, key, algo in (("Checksums-Sha256", "sha256", hashlib.sha256),
                             ("Files", "md5sum", hashlib.md5)):
        changes[field] = [{key: algo(f.read_bytes()).hexdigest(), "size": str(f.stat().st_size),
                           **({"section": "misc", "priority": "optional"}
                              if field == "Files" else {}), "name": f.name} for f in files]
    out = tmp / "hello_1.0_source.changes"
    out.write_text(changes.dump())
    return out
