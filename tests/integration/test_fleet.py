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

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import (  # type: ignore[import-not-found]
    build_rpm,
    dnf,
    installed,
    python_stub,
    stop_agent,
)

from repack.container.engine import Engine, Mount

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


# ---- key rotation -----------------------------------------------------------------------

def fingerprint(output: str) -> str:
    found = re.findall(r"^[0-9A-F]{40}$", output, re.MULTILINE)
    assert len(found) == 1, output
    return str(found[0])


def signers(path: Path) -> set[str]:
    """The issuer fingerprints of a detached signature."""
    out = subprocess.run(["gpg", "--list-packets", str(path)], capture_output=True, text=True,
                         check=False).stdout
    return set(re.findall(r"issuer fpr v4 ([0-9A-F]{40})", out))


def key_fingerprints(path: Path) -> set[str]:
    out = subprocess.run(["gpg", "--show-keys", "--with-colons", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return {line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")}


def rpm_k(rpms: list[Path], armored_key: Path, tmp: Path) -> str:
    """rpm -Kv against an rpmdb that holds only the given key(s)."""
    db = tmp / "rpmdb"
    db.mkdir()
    subprocess.run(["rpm", "--dbpath", str(db), "--import", str(armored_key)], check=True)
    return subprocess.run(["rpm", "--dbpath", str(db), "-Kv", *map(str, rpms)],
                          capture_output=True, text=True, check=False).stdout


APT_KEYRINGS = r"""
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
install -d /etc/apt/keyrings
cp "$REPO/client/repack-bookworm.sources" /etc/apt/sources.list.d/repack.sources
for keyring in $KEYRINGS; do
  cp "$keyring" /etc/apt/keyrings/repack.gpg
  rm -rf /var/lib/apt/lists/*
  if apt-get update 2>&1 | tee /tmp/update.log && ! grep -q '^[WE]:' /tmp/update.log; then
    apt-get install -y --reinstall python3-demo
    echo "RESULT $(basename $keyring) INSTALLED $(dpkg-query -W -f='${Version}' python3-demo)"
  else
    echo "RESULT $(basename $keyring) REFUSED"
  fi
done
"""


def apt_with_keyrings(engine: Engine, image: str, work: Path, *keyrings: Path) -> list[str]:
    """What a Debian 12 client trusting each keyring in turn gets from work/repo."""
    argv = engine.run_argv(image, ["sh", "-euxc", APT_KEYRINGS],
                           env={"REPO": str(work / "repo"),
                                "KEYRINGS": " ".join(map(str, keyrings))},
                           mounts=[Mount(source=work, target=str(work), readonly=True)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    return [line.removeprefix("RESULT ") for line in proc.stdout.splitlines()
            if line.startswith("RESULT ")]


def test_a_key_rotation_keeps_every_client_working(
        tmp_path: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    """key generate A, publish; key rotate B, repo refresh, publish 1.1; key retire A,
    repo refresh.  Clients set up before the rotation (keyring A; dnf with A imported)
    keep working through it; once A is retired every rpm and repomd.xml.asc is signed by B,
    `repo verify` is clean, and fresh apt and dnf clients trusting only B install the
    packages published under A."""
    work = tmp_path.resolve()
    out, repo, gnupg = work / "out", work / "repo", work / "gnupg"
    home = ["--gnupghome", str(gnupg)]
    image = base_image("debian-12")
    make_deb(out / "debian-12", "python3-demo", "1.0-1")
    rpm_for(work, out / "el9", "1.0", "1")
    shutil.copy(python_stub(work), out / "el9")
    try:
        old = fingerprint(repack("key", "generate", "--email", "old@example.org",
                                 "--no-passphrase", *home))
        repack("publish", str(out), "--repo", str(repo), *home)
        before = Path(shutil.copy(repo / "keys" / "repack.gpg", work / "keyring-before.gpg"))
        old_dnf = work / "old-dnf"
        repos = work / "repos.d"
        repos.mkdir()
        shutil.copy(repo / "client" / "repack-el9.repo", repos)
        proc = dnf(repos, old_dnf / "root", "install", "python3-demo")
        assert proc.returncode == 0, proc.stdout + proc.stderr

        new = fingerprint(repack("key", "rotate", "--email", "new@example.org",
                                 "--no-passphrase", *home))
        repack("repo", "refresh", "--repo", str(repo), *home)
        assert key_fingerprints(repo / "keys" / "repack.asc") == {old, new}
        assert signers(repo / "yum/el9/repodata/repomd.xml.asc") == {old, new}
        # during the rotation a client set up before it still installs (keyring A only)
        assert apt_with_keyrings(container_engine, image, work, before) == [
            "keyring-before.gpg INSTALLED 1.0-1"]
        later = work / "later"
        make_deb(later / "debian-12", "python3-demo", "1.1-1")
        rpm_for(work / "b", later / "el9", "1.1", "1")
        repack("publish", str(later), "--repo", str(repo), *home)
        during = Path(shutil.copy(repo / "keys" / "repack.gpg", work / "keyring-during.gpg"))
        proc = dnf(repos, old_dnf / "root", "--refresh", "upgrade")   # 1.1: B, imported
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "python3-demo-1.1-1" in installed(old_dnf / "root")

        assert "repo refresh" in repack("key", "retire", old, *home)
        repack("repo", "refresh", "--repo", str(repo), *home)
        verified = run_repack(["repo", "verify", str(repo)])
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        stop_agent(gnupg)

    # every signature in the tree is B's, and B is all clients are given
    assert key_fingerprints(repo / "keys" / "repack.asc") == {new}
    assert not (repo / "keys" / "repack-el9.asc").exists()
    assert signers(repo / "yum/el9/repodata/repomd.xml.asc") == {new}
    rpms = sorted((repo / "yum" / "el9").glob("*.rpm"))
    assert len(rpms) == 3
    checked = rpm_k(rpms, repo / "keys" / "repack.asc", work)
    assert checked.count(f"key ID {new[-8:].lower()}: OK") == len(rpms), checked
    assert "NOKEY" not in checked and "NOT OK" not in checked, checked
    # the live generation was rewritten, never an earlier one's files in place
    assert key_fingerprints(repo / "keys" / "repack.gpg") == {new}

    # a dnf client set up now, knowing only the generated .repo, installs the rpms that
    # were published under A (gpgcheck=1 and repo_gpgcheck=1)
    fresh = work / "fresh-repos.d"
    fresh.mkdir()
    repack("repo", "client-config", "--repo", str(repo), "-o", str(work / "client"))
    shutil.copy(work / "client" / "repack-el9.repo", fresh)
    proc = dnf(fresh, work / "fresh-dnf", "install", "python3-demo-1.0", "python3-stub")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(work / "fresh-dnf") == ["python3-demo-1.0-1", "python3-stub-3.9.18-1"]
    # ... and the one set up before the rotation goes on with B's metadata and rpms
    proc = dnf(repos, old_dnf / "root", "--refresh", "reinstall", "python3-demo",
               "python3-stub")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # apt: a client that took the keyring during the rotation, and a fresh one, install;
    # one that never did (keyring A only) is refused, as `key retire` intends
    fresh_keyring = Path(shutil.copy(repo / "keys" / "repack.gpg", work / "keyring-after.gpg"))
    assert apt_with_keyrings(container_engine, image, work, during, fresh_keyring, before) == [
        "keyring-during.gpg INSTALLED 1.1-1", "keyring-after.gpg INSTALLED 1.1-1",
        "keyring-before.gpg REFUSED"]
