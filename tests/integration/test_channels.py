"""Channels, promotion and rollback with the real apt and dnf clients, through the real CLI:

- v1 of a tiny project published into the testing channel: a client of the stable channel
  (client/repack-bookworm.sources, client/repack-el9.repo) does not see it, a client of
  testing (repack-bookworm-testing.sources, repack-el9_testing.repo) installs it;
- `repo promote --from testing --to stable`: the stable clients install the very same file
  (apt downloads the .deb with the sha256 of the one built; the rpm in yum/el9/ is the
  testing one, byte for byte);
- v2 published to stable, the clients see it; `repo rollback`: `apt-get update` takes the
  restored lists without a warning (a fresh Date and Valid-Until) and only v1 is left,
  dnf --refresh sees only v1 too.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import rpmkit  # type: ignore[import-not-found]
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from rpmkit import python_stub, stop_agent  # type: ignore[import-not-found]
from sdists import make_sdist

from repack.container.engine import Container, Engine, Mount

pytestmark = pytest.mark.integration

NAME = "chan-demo"
DEB = "python3-chan-demo"
PYPROJECT = b"""[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
SETUP_PY = """from setuptools import setup
setup(name="chan-demo", version="{v}", packages=["chan_demo"], license="MIT",
      description="A tiny test package", python_requires=">=3.8")
"""
CONFIG = """[publish]
repo = "repo"
gnupghome = "gnupg"
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """chan-demo 1.0 and 2.0 built for debian-12 and el9 (out-1.0/, out-2.0/), a key,
    and the python3 stand-in rpm published to both el9 channels."""
    work = tmp_path_factory.mktemp("channels").resolve()
    (work / "repack.toml").write_text(CONFIG)
    nonce = str(time.time_ns()).encode()        # never a build cache hit from another run
    try:
        with LocalIndex() as index:
            for v in ("1.0", "2.0"):
                sdist = make_sdist(work / "sdists", NAME, v, {
                    "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY.format(v=v).encode(),
                    "NONCE": nonce})
                index.add(NAME, sdist.name, sdist.read_bytes(), upload_time="2024-05-01T12:30:00Z")
            with ThreadPoolExecutor(3) as pool:     # the two builds and the RSA key side by side
                jobs = [pool.submit(repack, work, "build", f"{NAME}=={v}", "-t", "debian-12",
                                    "-t", "el9", "-o", f"out-{v}", env={"PIP_INDEX_URL": index.url})
                        for v in ("1.0", "2.0")]
                jobs.append(pool.submit(repack, work, "key", "generate", "--email",
                                        "packages@example.org", "--no-passphrase"))
                for job in jobs:
                    job.result()
        stub = work / "stub" / "el9"
        stub.mkdir(parents=True)
        shutil.copy(python_stub(work), stub)
        repack(work, "publish", "stub")
        repack(work, "publish", "stub", "--channel", "testing")
        yield work
    finally:
        stop_agent(work / "gnupg")


def repack(work: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = run_repack([*args], env={"REPACK_PASSPHRASE": "", **(env or {})}, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def dnf(work: Path, channel: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The host's dnf into the channel's own installroot, knowing only its .repo file."""
    repos, root = work / f"repos-{channel}", work / f"root-{channel}"
    if not repos.is_dir():
        repos.mkdir()
        suffix = "" if channel == "stable" else f"_{channel}"
        shutil.copy(work / "repo" / "client" / f"repack-el9{suffix}.repo", repos)
    return rpmkit.dnf(repos, root, *args, refresh=True)  # metadata_expire: the last answer


def available(work: Path, channel: str) -> list[str]:
    proc = dnf(work, channel, "repoquery", "--qf", "%{name}-%{evr}", DEB)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return sorted(line for line in proc.stdout.split() if line.startswith(DEB))


def installed(work: Path, channel: str) -> list[str]:
    out = subprocess.run(["rpm", "--root", str(work / f"root-{channel}"), "-qa", "--qf",
                          "%{NVR}\n", DEB], capture_output=True, text=True, check=False)
    return out.stdout.split()


SETUP_APT = r"""
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
install -d /etc/apt/keyrings
cp "$REPO/keys/repack.gpg" /etc/apt/keyrings/repack.gpg
"""


def apt_update(c: Container) -> str:
    """apt-get update, which must take every list without a warning or an error."""
    out = c.exec(["sh", "-euxc", ("apt-get update 2>&1 | tee /tmp/update.log; "
                  "! grep -q '^[WE]:' /tmp/update.log")])
    return out


def candidates(c: Container, suite: str) -> list[str]:
    """The versions of DEB that apt lists from one suite (apt-cache madison: "package |
    version | URI suite/component arch Packages")."""
    out = c.exec(["apt-cache", "madison", DEB])
    return sorted(cols[1].strip() for line in out.splitlines()
                  if len(cols := line.split("|")) == 3 and f" {suite}/main " in cols[2])


def test_promote_and_rollback_with_apt_and_dnf(
        work: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    repo = work / "repo"
    (deb1,) = (work / "out-1.0" / "debian-12").glob("*.deb")
    v1 = deb1.name.split("_")[1]
    (deb2,) = (work / "out-2.0" / "debian-12").glob("*.deb")
    v2 = deb2.name.split("_")[1]
    (rpm1,) = (work / "out-1.0" / "el9").glob("*.noarch.rpm")
    nvr1 = rpm1.name.removesuffix(".noarch.rpm")
    (rpm2,) = (work / "out-2.0" / "el9").glob("*.noarch.rpm")
    nvr2 = rpm2.name.removesuffix(".noarch.rpm")

    repack(work, "publish", "out-1.0", "--channel", "testing")
    with container_engine.container(
            base_image("debian-12"), env={"REPO": str(repo)},
            mounts=[Mount(source=repo, target=str(repo), readonly=True)]) as c:
        c.exec(["sh", "-euxc", SETUP_APT])
        for suite in ("bookworm", "bookworm-testing"):      # a client of each channel
            c.exec(["cp", f"{repo}/client/repack-{suite}.sources", "/etc/apt/sources.list.d/"])
        apt_update(c)
        assert candidates(c, "bookworm") == []
        assert candidates(c, "bookworm-testing") == [v1]
        assert available(work, "stable") == []
        assert available(work, "testing") == [nvr1]
        test = dnf(work, "testing", "install", DEB, "python3-stub")
        assert test.returncode == 0, test.stdout + test.stderr
        assert installed(work, "testing") == [nvr1]

        repack(work, "repo", "promote", NAME, "--from", "testing", "--to", "stable")
        apt_update(c)
        assert candidates(c, "bookworm") == [v1]
        downloaded = c.exec(["sh", "-euxc", (f"cd /tmp && apt-get download {DEB} && "
                             f"sha256sum /tmp/{deb1.name}")])
        assert sha256(deb1) in downloaded, downloaded
        stable = dnf(work, "stable", "install", DEB, "python3-stub")
        assert stable.returncode == 0, stable.stdout + stable.stderr
        assert installed(work, "stable") == [nvr1]
        assert sha256(repo / "yum/el9" / rpm1.name) == sha256(
            repo / "yum/el9_testing" / rpm1.name)

        repack(work, "publish", "out-2.0")
        apt_update(c)
        assert candidates(c, "bookworm") == sorted([v1, v2])
        assert available(work, "stable") == sorted([nvr1, nvr2])

        repack(work, "repo", "rollback")
        apt_update(c)          # a Release with an older Date would be refused here
        assert candidates(c, "bookworm") == [v1]
        assert candidates(c, "bookworm-testing") == [v1]
        assert available(work, "stable") == [nvr1]
        upgrade = dnf(work, "stable", "upgrade")
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        assert installed(work, "stable") == [nvr1]
    verify = run_repack(["repo", "verify", str(repo)])
    assert verify.returncode == 0, verify.stdout + verify.stderr
