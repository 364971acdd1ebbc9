"""dnf itself, given only a .repo file and the key, installs from repack's yum repository
and refuses every tampered variant (repo_gpgcheck=1 for the metadata, gpgcheck=1 for the
packages).  The rpms are small real ones built on the host (tests/rpmkit.py)."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_container, run_repack  # type: ignore[import-not-found]
from rpmkit import build_rpm, export_key, make_signer, python_stub, stop_agent

from repack import config, targets
from repack.container import engine, images
from repack.gpg import Signer
from repack.publish import yum
from repack.rpm.sign import sign_rpm

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("dnf", "rpmbuild", "createrepo_c")),
    reason="needs dnf, rpm and createrepo-c (./x.py setup installs them)")

DEMO_11 = "python3-demo-1.1-1.noarch.rpm"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dnf")


@pytest.fixture(scope="module")
def signer(work: Path) -> Iterator[Signer]:
    s = make_signer(work / "gnupg", algorithm="rsa4096")   # EL9's rpm verifies RSA, not EdDSA
    yield s
    stop_agent(s.gnupghome)


@pytest.fixture(scope="module")
def unsigned(work: Path) -> dict[str, Path]:
    return {"1.0": build_rpm(work, "python3-demo", "1.0"),
            "1.1": build_rpm(work, "python3-demo", "1.1"),
            "stub": python_stub(work)}


@pytest.fixture(scope="module")
def base(work: Path, signer: Signer, unsigned: dict[str, Path]) -> Path:
    """REPO with yum/el9 (demo 1.0 and 1.1, a python stub) and keys/repack.asc."""
    root = work / "base"
    yum.publish_yum(root, "el9", [unsigned["1.0"], unsigned["stub"]], signer)
    yum.publish_yum(root, "el9", [unsigned["1.1"]], signer)     # spliced into the metadata
    (root / "keys").mkdir()
    export_key(signer, root / "keys" / "repack.asc")
    return root


@pytest.fixture
def repo(base: Path, tmp_path: Path) -> Path:
    """A private copy of the repository that a test may tamper with."""
    return Path(shutil.copytree(base, tmp_path / "repo"))


def dnf_install(repo: Path, tmp_path: Path, *packages: str,
                repo_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    """dnf into an empty installroot, knowing only the .repo file a client gets (by
    default one like `repack publish` writes to client/)."""
    repos = tmp_path / "repos.d"
    repos.mkdir(parents=True, exist_ok=True)
    url = repo.resolve().as_uri()
    if repo_file is not None:
        shutil.copy(repo_file, repos / "repack.repo")
    else:
        (repos / "repack.repo").write_text(
            f"[repack-el9]\nname=repack (el9)\nbaseurl={url}/yum/el9/\nenabled=1\n"
            f"gpgcheck=1\nrepo_gpgcheck=1\ngpgkey={url}/keys/repack.asc\n")
    try:
        return subprocess.run(
            ["dnf", f"--installroot={tmp_path / 'root'}", f"--setopt=reposdir={repos}",
             "--releasever=9", "--setopt=install_weak_deps=False",
             "--setopt=skip_if_unavailable=False", "--nodocs", "-y", "install", *packages],
            capture_output=True, text=True, timeout=300, check=False)
    finally:
        # librepo checks repomd.xml.asc with a GnuPG home of its own, and leaves its agent.
        for pubring in (tmp_path / "root/var/cache/dnf").glob("*/pubring"):
            stop_agent(pubring)


def installed(tmp_path: Path) -> list[str]:
    out = subprocess.run(["rpm", "--root", str(tmp_path / "root"), "-qa", "--qf", "%{NVR}\n"],
                         capture_output=True, text=True, check=False).stdout
    return sorted(line for line in out.splitlines() if not line.startswith("gpg-pubkey"))


def refused(proc: subprocess.CompletedProcess[str], tmp_path: Path, why: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert why.lower() in output.lower(), output
    print(f"dnf refused ({why}):",
          *[line for line in output.splitlines() if why.lower() in line.lower()], sep="\n  ")
    assert installed(tmp_path) == []


def test_dnf_installs_the_signed_packages(repo: Path, tmp_path: Path) -> None:
    proc = dnf_install(repo, tmp_path, "python3-demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(tmp_path) == ["python3-demo-1.1-1", "python3-stub-3.9.18-1"]
    module = tmp_path / "root/usr/lib/python3.9/site-packages/demo/__init__.py"
    assert module.read_text() == "__version__ = '1.1'\n"
    assert yum.verify_yum(repo) == []


def test_an_older_version_stays_installable(repo: Path, tmp_path: Path) -> None:
    proc = dnf_install(repo, tmp_path, "python3-demo-1.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(tmp_path) == ["python3-demo-1.0-1", "python3-stub-3.9.18-1"]


def test_dnf_refuses_an_altered_repomd(repo: Path, tmp_path: Path) -> None:
    repomd = repo / "yum/el9/repodata/repomd.xml"
    data = repomd.read_bytes()
    os.unlink(repomd)
    repomd.write_bytes(data.replace(b"<revision>", b"<revision>1"))
    refused(dnf_install(repo, tmp_path, "python3-demo"), tmp_path,
            "GPG signature verification error")


def test_dnf_refuses_an_altered_primary(repo: Path, tmp_path: Path) -> None:
    repomd = (repo / "yum/el9/repodata/repomd.xml").read_text()
    (primary,) = [p for p in (repo / "yum/el9/repodata").glob("*-primary.xml.gz")
                  if p.name in repomd]
    data = gzip.decompress(primary.read_bytes())
    os.unlink(primary)
    primary.write_bytes(gzip.compress(data.replace(b">1.1<", b">1.2<")))
    refused(dnf_install(repo, tmp_path, "python3-demo"), tmp_path, "checksum")


def republish_with(repo: Path, rpm: Path, signer: Signer) -> None:
    """Swap python3-demo 1.1 for `rpm` behind correct, signed metadata: only the
    package's own signature is wrong."""
    target = repo / "yum/el9"
    os.unlink(target / DEMO_11)
    shutil.copy(rpm, target / DEMO_11)
    shutil.rmtree(target / "repodata")      # a full rescan, so the metadata is right
    yum.write_repodata(target, signer)
    assert yum.verify_yum(repo)             # ... and repack verify is not fooled either


def test_dnf_refuses_an_unsigned_rpm(repo: Path, tmp_path: Path, signer: Signer,
                                     unsigned: dict[str, Path]) -> None:
    republish_with(repo, unsigned["1.1"], signer)
    refused(dnf_install(repo, tmp_path, "python3-demo"), tmp_path, "not signed")


def test_dnf_refuses_an_rpm_signed_by_another_key(repo: Path, tmp_path: Path, signer: Signer,
                                                  unsigned: dict[str, Path]) -> None:
    other = make_signer(tmp_path / "other", email="intruder@example.org")
    try:
        rpm = Path(shutil.copy(unsigned["1.1"], tmp_path / DEMO_11))
        sign_rpm(rpm, other)
    finally:
        stop_agent(other.gnupghome)
    republish_with(repo, rpm, signer)
    refused(dnf_install(repo, tmp_path, "python3-demo"), tmp_path, "public key")


@pytest.mark.parametrize("target_id", ["el9", "fedora-42"])
def test_the_targets_rpm_verifies_our_signatures(target_id: str, base: Path,
                                                 container_engine: engine.Engine) -> None:
    """The rpm of each target's builder (el9: rpm 4.16.1 as on EL9; fedora-42: rpm 4.20)
    accepts the RSA-4096 signatures, and refuses them without the key.  (The Debian 11
    builder's rpm would verify EdDSA too, EL9's own does not: see repack/targets/el9.toml.)"""
    image = images.ensure(container_engine, images.image_for(
        targets.load(target_id), "builder", config.load().cache_dir)).tag
    out = in_container(container_engine, image, (
        "rpm --version; mkdir /tmp/db; "
        "! rpm --dbpath /tmp/db -K /repo/yum/el9/python3-demo-1.1-1.noarch.rpm; "
        "rpm --dbpath /tmp/db --import /repo/keys/repack.asc; echo WITH-KEY; "
        "rpm --dbpath /tmp/db -Kv /repo/yum/el9/*.rpm"),
        mounts=[engine.Mount(source=base, target="/repo", readonly=True)])
    without, with_key = out.split("WITH-KEY")
    assert "SIGNATURES NOT OK" in without, out
    assert with_key.count("Header V4 RSA/SHA256 Signature, key ID") == 3, out
    assert "NOT OK" not in with_key and "NOKEY" not in with_key, out
    print(out.splitlines()[0], with_key.splitlines()[1:4], sep="\n")


def test_the_cli_publishes_signs_and_removes_for_dnf(tmp_path: Path,
                                                    unsigned: dict[str, Path]) -> None:
    """repack key generate / publish / sign / repo verify / repo remove, as a user runs
    them, and dnf with nothing but the generated client/repack-el9.repo."""
    env = {"REPACK_PASSPHRASE": "cli test passphrase"}
    home = ["--gnupghome", str(tmp_path / "gnupg")]
    repo = tmp_path / "repo"

    def repack(*args: str) -> str:
        proc = run_repack([*args], env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    try:
        repack("key", "generate", "--email", "cli@example.org", *home)
        out = tmp_path / "out" / "el9"
        out.mkdir(parents=True)
        for key in ("1.0", "stub"):
            shutil.copy(unsigned[key], out)
        repack("publish", str(tmp_path / "out"), "--repo", str(repo), *home)
        later = Path(shutil.copy(unsigned["1.1"], tmp_path / DEMO_11))
        repack("sign", str(later), *home)                      # signed before publishing
        repack("publish", str(later), "--target", "el9", "--repo", str(repo), *home)
        assert "signatures, hashes and expiry are good" in repack("repo", "verify", str(repo))
        client = repo / "client" / "repack-el9.repo"
        assert "repo_gpgcheck=1" in client.read_text()

        proc = dnf_install(repo, tmp_path / "a", "python3-demo", repo_file=client)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert installed(tmp_path / "a") == ["python3-demo-1.1-1", "python3-stub-3.9.18-1"]

        repack("repo", "remove", "python3-demo=1.1", "--repo", str(repo), *home)
        proc = dnf_install(repo, tmp_path / "b", "python3-demo", repo_file=client)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert installed(tmp_path / "b") == ["python3-demo-1.0-1", "python3-stub-3.9.18-1"]
    finally:
        stop_agent(tmp_path / "gnupg")


def test_dnf_installs_repacks_own_el9_build(tmp_path: Path, unsigned: dict[str, Path],
                                            django_closure: dict[str, Any],
                                            container_engine: engine.Engine) -> None:
    """The real thing: python3-sqlparse built by `repack build -t el9` (the session's closure
    build, conftest.django_closure: no build of its own), signed and published by the CLI
    with a fresh key, installed by dnf with gpgcheck and repo_gpgcheck from the generated
    client/repack-el9.repo, and imported by the el9 builder's Python 3.9."""
    env = {"REPACK_PASSPHRASE": "el9 test passphrase"}
    home = ["--gnupghome", str(tmp_path / "gnupg")]
    out, repo = tmp_path / "out", tmp_path / "repo"
    (built,) = [a for a in django_closure["result"]["artifacts"]
                if a["target"] == "el9" and a["package"] == "python3-sqlparse"
                and a["format"] == "rpm"]
    (source,) = [s for s in django_closure["result"]["sources"] if s["project"] == "sqlparse"]
    version = source["version"]         # the release the closure resolved, not a pinned one

    def repack(*args: str) -> str:
        proc = run_repack([*args], env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    try:
        (out / "el9").mkdir(parents=True)
        shutil.copy(built["path"], out / "el9")
        shutil.copy(unsigned["stub"], out / "el9")       # stands in for EL9's python3
        repack("key", "generate", "--email", "el9@example.org", *home)
        repack("publish", str(out), "--repo", str(repo), *home)
        assert "signatures, hashes and expiry are good" in repack("repo", "verify", str(repo))
    finally:
        stop_agent(tmp_path / "gnupg")
    client = repo / "client" / "repack-el9.repo"
    assert "gpgcheck=1\nrepo_gpgcheck=1\n" in client.read_text()

    proc = dnf_install(repo, tmp_path, "python3-sqlparse", "python3-stub", repo_file=client)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(tmp_path) == [f"python3-sqlparse-{version}-0.repack1.el9",
                                   "python3-stub-3.9.18-1"]
    image = images.ensure(container_engine, images.image_for(
        targets.load("el9"), "builder", config.load().cache_dir)).tag
    site = "/installroot/usr/lib/python3.9/site-packages"
    printed = in_container(container_engine, image, (
        f"PYTHONPATH={site} python3.9 -c 'import sqlparse; print(sqlparse.__version__, "
        "sqlparse.__file__)'"),
        mounts=[engine.Mount(source=tmp_path / "root", target="/installroot", readonly=True)])
    print("el9 python3.9:", printed.strip())
    assert printed.startswith(f"{version} {site}/sqlparse/__init__.py"), printed
