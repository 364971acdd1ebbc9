"""Keys reach clients through the package manager (`[publish] keyring-packages`), through
the real CLI, a real apt client (Debian 12 container) and the host's dnf (an el9 installroot):

- publish builds repack-archive-keyring (per codename) and repack-release (per yum target);
  each client bootstraps from the client file of `repo client-config`, installs the keyring
  package and a package, and drops the bootstrap file: from then on only the packaged
  source (Signed-By /usr/share/keyrings/..., gpgkey= file:// under /etc/pki/rpm-gpg) is used;
- `key rotate` and `repo refresh` build new keyring packages (A and B); the clients upgrade
  to them with their next upgrade (`apt-get upgrade`, `dnf upgrade`);
- `key retire A` and publishing 1.1, signed by B alone: both clients still update and
  install 1.1, and hold B only once they upgraded the keyring package again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import rpmkit  # type: ignore[import-not-found]
from conftest import run_repack  # type: ignore[import-not-found]
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm, python_stub, stop_agent  # type: ignore[import-not-found]

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration
CONFIG = """[publish]
repo = "repo"
gnupghome = "gnupg"
keyring-packages = true
"""


def repack(work: Path, *args: str) -> str:
    proc = run_repack([*args], env={"REPACK_PASSPHRASE": ""}, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def fingerprint(output: str) -> str:
    found = re.findall(r"^[0-9A-F]{40}$", output, re.MULTILINE)
    assert len(found) == 1, output
    return str(found[0])


def artifacts(work: Path, out: Path, version: str) -> None:
    make_deb(out / "debian-12", "python3-demo", f"{version}-1")
    rpm = build_rpm(work / "rpmbuild" / version, "python3-demo", version, release="1")
    (out / "el9").mkdir(parents=True, exist_ok=True)
    shutil.move(rpm, out / "el9" / rpm.name)


def dnf(repos: Path, root: Path, *args: str) -> str:
    """rpmkit.dnf, which must succeed; its output."""
    proc = rpmkit.dnf(repos, root, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def packaged_repo(root: Path, repos: Path) -> str:
    """The .repo repack-release installed, as the only repository definition.  dnf reads an
    installroot's gpgkey file:// paths on the host (dnf's installroot documentation), so
    they are pointed into the installroot: the keys are the ones the package installed."""
    text = (root / "etc/yum.repos.d/repack.repo").read_text()
    for old in repos.iterdir():
        old.unlink()
    (repos / "repack.repo").write_text(text.replace("file:///etc/", f"file://{root}/etc/"))
    return text


def installed(root: Path) -> set[str]:
    out = subprocess.run(["rpm", "--root", str(root), "-qa", "--qf", "%{NVR}\n"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


APT_BOOTSTRAP = r"""
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
cp "$REPO/client/repack-bookworm-inline.sources" /etc/apt/sources.list.d/repack-bootstrap.sources
apt-get update
apt-get install -y repack-archive-keyring python3-demo
rm /etc/apt/sources.list.d/repack-bootstrap.sources
"""
APT_UPGRADE = r"""
apt-get update 2>&1 | tee /tmp/update.log
if grep -q '^[WE]:' /tmp/update.log; then exit 1; fi
DEBIAN_FRONTEND=noninteractive apt-get upgrade -y
cmp /usr/share/keyrings/repack-archive-keyring.pgp "$REPO/keys/repack.gpg"
echo "KEYRING $(dpkg-query -W -f='${Version}' repack-archive-keyring)"
echo "DEMO $(dpkg-query -W -f='${Version}' python3-demo)"
ls /etc/apt/sources.list.d/
"""


def test_keys_reach_apt_and_dnf_clients_through_packages(
        tmp_path: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    work = tmp_path.resolve()
    (work / "repack.toml").write_text(CONFIG)
    repo, gnupg = work / "repo", work / "gnupg"
    artifacts(work, work / "out1", "1.0")
    shutil.copy(python_stub(work), work / "out1" / "el9")     # stands in for EL9's python3
    root, repos = work / "dnf-root", work / "repos.d"
    repos.mkdir()
    image = base_image("debian-12")
    try:
        old = fingerprint(repack(work, "key", "generate", "--email", "a@example.org",
                                 "--no-passphrase"))
        log = repack(work, "publish", "out1")
        assert "building repack-archive-keyring 1~deb12" in log, log
        assert "building repack-release 1" in log, log
        repack(work, "repo", "client-config", "-o", str(work / "client"))
        assert "apt-get install repack-archive-keyring" in (
            work / "client" / "repack-bookworm-inline.sources").read_text()
        with container_engine.container(
                image, mounts=[Mount(source=repo, target=str(repo), readonly=True)],
                env={"REPO": str(repo)}) as apt:
            apt.exec(["sh", "-euxc", APT_BOOTSTRAP])
            assert "KEYRING 1~deb12" in apt.exec(["sh", "-euxc", APT_UPGRADE])

            shutil.copy(work / "client" / "repack-el9.repo", repos)      # the bootstrap
            dnf(repos, root, "install", "repack-release", "python3-demo", "python3-stub")
            text = packaged_repo(root, repos)
            assert f"gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-repack-{old[-16:].lower()}\n" \
                in text, text

            # rotation: new keyring packages, the clients take them with their next upgrade
            new = fingerprint(repack(work, "key", "rotate", "--email", "b@example.org",
                                     "--no-passphrase"))
            log = repack(work, "repo", "refresh")
            assert "building repack-archive-keyring 2~deb12" in log, log
            assert "building repack-release 2" in log, log
            assert "building" not in repack(work, "repo", "refresh")     # nothing changed
            assert "KEYRING 2~deb12" in apt.exec(["sh", "-euxc", APT_UPGRADE])
            dnf(repos, root, "--refresh", "upgrade")
            assert "repack-release-2-1.el9" in installed(root)
            text = packaged_repo(root, repos)
            assert all(f"RPM-GPG-KEY-repack-{f[-16:].lower()}" in text for f in (old, new))

            # retirement: 1.1 is signed by B alone; both clients still update
            repack(work, "key", "retire", old)
            artifacts(work, work / "out2", "1.1")
            log = repack(work, "publish", "out2")
            assert "building repack-release 3" in log, log
            upgraded = apt.exec(["sh", "-euxc", APT_UPGRADE])
            assert "KEYRING 3~deb12" in upgraded and "DEMO 1.1-1" in upgraded, upgraded
            assert "repack.sources\n" in upgraded and "bootstrap" not in upgraded, upgraded
            dnf(repos, root, "--refresh", "upgrade")
            assert {"python3-demo-1.1-1", "repack-release-3-1.el9"} <= installed(root)
            text = packaged_repo(root, repos)
            assert new[-16:].lower() in text and old[-16:].lower() not in text, text
            assert not (root / "etc/pki/rpm-gpg" /
                        f"RPM-GPG-KEY-repack-{old[-16:].lower()}").exists()
        verified = run_repack(["repo", "verify", str(repo)])
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        stop_agent(gnupg)
