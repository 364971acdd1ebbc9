"""A fleet of clients of one repository, through the real CLI (`repack key`, `publish`,
`repo refresh|verify|client-config`):

- each release gets its own client file: a Debian 12 container with only
  client/repack-bookworm.sources installs the ~deb12 build although the higher ~deb13 one is
  published beside it, and dnf with only client/repack-el9.repo never sees the fedora-42 rpms;
- a key rotation (`key rotate`, `repo refresh`, `key retire`, `repo refresh`) leaves every
  signature verifiable by the keys clients are told to trust: real apt and dnf clients set up
  before the rotation keep working, and fresh ones set up after it install the old packages.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm, python_stub, stop_agent  # type: ignore[import-not-found]

from repack.build.engine import Engine, Mount

pytestmark = pytest.mark.integration
ENV = {"REPACK_PASSPHRASE": ""}


def repack(*args: str) -> str:
    proc = run_repack([*args], env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def rpm_for(work: Path, dest: Path, version: str, release: str, requires: tuple[str, ...] = ()
            ) -> Path:
    rpm = build_rpm(work / dest.name, "python3-demo", version, release=release,
                    requires=requires)
    dest.mkdir(parents=True, exist_ok=True)
    return rpm.rename(dest / rpm.name)


def dnf(repos: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The host's dnf into an installroot, knowing only the .repo files in `repos`."""
    try:
        return subprocess.run(
            ["dnf", f"--installroot={root}", f"--setopt=reposdir={repos}", "--releasever=9",
             "--setopt=install_weak_deps=False", "--setopt=skip_if_unavailable=False",
             "--nodocs", "-y", *args], capture_output=True, text=True, timeout=300,
            check=False)
    finally:
        # librepo checks repomd.xml.asc with a GnuPG home of its own, and leaves its agent.
        for pubring in (root / "var/cache/dnf").glob("*/pubring"):
            stop_agent(pubring)


def installed(root: Path) -> list[str]:
    out = subprocess.run(["rpm", "--root", str(root), "-qa", "--qf", "%{NVR}\n"],
                         capture_output=True, text=True, check=False).stdout
    return sorted(line for line in out.splitlines() if not line.startswith("gpg-pubkey"))


def apt_client(engine: Engine, image: str, repo: Path, script: str) -> str:
    """A clean Debian 12 container that sees REPO (read-only, at the same path) and runs
    `script` with $REPO set; its whole output."""
    argv = engine.run_argv(image, ["sh", "-euxc", script], env={"REPO": str(repo)},
                           mounts=[Mount(source=repo, target=str(repo), readonly=True)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    return log


# ---- one client file per release --------------------------------------------------------

@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository holding debian-12 and debian-13 builds of python3-demo (the trixie one
    the higher version) and el9 and fedora-42 rpms (the fedora one higher, needing Python
    3.13: dnf's best=True would fail on it), published by the CLI with a fresh RSA key."""
    work = tmp_path_factory.mktemp("fleet").resolve()
    out, home = work / "out", ["--gnupghome", str(work / "gnupg")]
    make_deb(out / "debian-12", "python3-demo", "1.0-0repack1~deb12")
    make_deb(out / "debian-13", "python3-demo", "1.0-0repack1~deb13")
    rpm_for(work, out / "el9", "1.0", "0.repack1.el9")
    shutil.copy(python_stub(work), out / "el9")      # stands in for EL9's python3
    rpm_for(work, out / "fedora-42", "1.1", "0.repack1.fc42", ("python(abi) = 3.13",))
    try:
        repack("key", "generate", "--email", "fleet@example.org", "--no-passphrase", *home)
        repack("publish", str(out), "--repo", str(work / "repo"), *home)
        assert "signatures, hashes and expiry are good" in repack(
            "repo", "verify", str(work / "repo"))
    finally:
        stop_agent(work / "gnupg")
    yield work / "repo"


APT_RELEASE = r"""
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
install -d /etc/apt/keyrings
cp "$REPO/keys/repack.gpg" /etc/apt/keyrings/repack.gpg
cp "$REPO/client/repack-bookworm.sources" /etc/apt/sources.list.d/repack.sources
apt-get update
apt-cache policy python3-demo
apt-get install -y python3-demo
echo "INSTALLED $(dpkg-query -W -f='${Version}' python3-demo)"
"""


def test_a_debian_12_client_installs_the_deb12_build(
        fleet: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    sources = (fleet / "client" / "repack-bookworm.sources").read_text()
    assert "Suites: bookworm bookworm-security\n" in sources and "trixie" not in sources
    assert "Suites: trixie trixie-security\n" in (
        fleet / "client" / "repack-trixie.sources").read_text()
    log = apt_client(container_engine, base_image("debian-12"), fleet, APT_RELEASE)
    assert "W: " not in log and "NO_PUBKEY" not in log, log
    assert "1.0-0repack1~deb13" not in log, log       # the higher trixie build is never seen
    assert "INSTALLED 1.0-0repack1~deb12" in log, log


def test_an_el9_dnf_client_never_sees_fedora_packages(fleet: Path, tmp_path: Path) -> None:
    client = tmp_path / "client"
    repack("repo", "client-config", "--repo", str(fleet), "-o", str(client))
    repo_file = (client / "repack-el9.repo").read_text()
    assert "[repack-el9]" in repo_file and "fedora" not in repo_file, repo_file
    repos = tmp_path / "repos.d"
    repos.mkdir()
    shutil.copy(client / "repack-el9.repo", repos / "repack-el9.repo")
    root = tmp_path / "root"
    listed = dnf(repos, root, "repoquery", "--qf", "%{name}-%{version}-%{release}",
                 "python3-demo")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.split() == ["python3-demo-1.0-0.repack1.el9"], listed.stdout
    proc = dnf(repos, root, "install", "python3-demo")       # best=True: the best is el9's
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(root) == ["python3-demo-1.0-0.repack1.el9", "python3-stub-3.9.18-1"]
