"""Each directory clients are served is self-contained: after publishes that went through
the recycled pool, `cp -a` of only REPO/apt/, REPO/yum/el9/, REPO/keys/ and REPO/client/
into an empty web root (the repository itself moved away), served by a plain static server
(python -m http.server, which knows nothing of repack), is enough for a real apt in a clean
Debian 12 container and the host's dnf to install from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm, python_stub, stop_agent  # type: ignore[import-not-found]
from test_fleet import dnf, installed  # type: ignore[import-not-found]

from repack.container.engine import Engine

pytestmark = pytest.mark.integration
ENV = {"REPACK_PASSPHRASE": ""}
SERVED = ("apt", "yum/el9", "keys", "client")


def repack(*args: str) -> str:
    proc = run_repack([*args], env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def webroot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """An empty directory served by python's own static file server; its URL."""
    root = tmp_path_factory.mktemp("webroot").resolve()
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                             "127.0.0.1", "--directory", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()            # "Serving HTTP on 127.0.0.1 port N (...)"
        port = line.split(" port ")[1].split()[0]
        yield root, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def copied(webroot: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """Three publishes (the third stages from the retired generation's pool and a delta),
    then only the served directories copied into the web root; the repository moved away."""
    root, url = webroot
    work = tmp_path_factory.mktemp("copy").resolve()
    home, repo = ["--gnupghome", str(work / "gnupg")], work / "repo"
    try:
        repack("key", "generate", "--email", "copy@example.org", "--no-passphrase", *home)
        for name in ("python3-first", "python3-demo", "python3-third"):
            out = work / f"out-{name}"
            make_deb(out / "debian-12", name, "1.0-0repack1~deb12")
            rpm = build_rpm(work / name, name, "1.0", release="0.repack1.el9")
            (out / "el9").mkdir()
            rpm.rename(out / "el9" / rpm.name)
            if name == "python3-demo":
                shutil.copy(python_stub(work), out / "el9")    # stands in for EL9's python3
            repack("publish", str(out), "--repo", str(repo), "--url", url, *home)
    finally:
        stop_agent(work / "gnupg")
    assert len(list((repo / ".repack").glob("gen-*"))) == 2
    for served in SERVED:
        (root / served).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", f"{repo / served}/", str(root / served)], check=True)
    repo.rename(work / "gone")                   # nothing may reach back into it
    return url


def test_the_copies_hold_every_file_and_no_symlink(copied: str,
                                                   webroot: tuple[Path, str]) -> None:
    root, _ = webroot
    assert not [p for p in root.rglob("*") if p.is_symlink()]
    debs = sorted(p.name for p in (root / "apt" / "pool").rglob("*.deb"))
    assert debs == ["python3-demo_1.0-0repack1~deb12_all.deb",
                    "python3-first_1.0-0repack1~deb12_all.deb",
                    "python3-third_1.0-0repack1~deb12_all.deb"]


APT_CLIENT = r"""
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
/usr/lib/apt/apt-helper download-file "$URL/client/repack-bookworm-inline.sources" \
    /tmp/repack.sources                  # where apt's _apt sandbox user may write
cp /tmp/repack.sources /etc/apt/sources.list.d/repack.sources
apt-get update
apt-get install -y python3-demo python3-first python3-third
echo "INSTALLED $(dpkg-query -W -f='${Version}' python3-demo)"
"""


def test_apt_installs_from_the_copied_apt_directory(
        copied: str, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    argv = container_engine.run_argv(base_image("debian-12"), ["sh", "-euxc", APT_CLIENT],
                                     env={"URL": copied}, network="host")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "W: " not in log and "NO_PUBKEY" not in log, log
    assert "INSTALLED 1.0-0repack1~deb12" in log, log


@pytest.mark.skipif(not shutil.which("dnf"), reason="needs dnf")
def test_dnf_installs_from_the_copied_yum_directory(copied: str, tmp_path: Path) -> None:
    repos = tmp_path / "repos.d"
    repos.mkdir()
    with urllib.request.urlopen(f"{copied}/client/repack-el9.repo", timeout=30) as r:
        text = r.read().decode()
    assert f"baseurl={copied}/yum/el9/" in text and "repo_gpgcheck=1" in text, text
    (repos / "repack-el9.repo").write_text(text)
    root = tmp_path / "root"
    proc = dnf(repos, root, "install", "python3-demo", "python3-first", "python3-third")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(root) == ["python3-demo-1.0-0.repack1.el9",
                               "python3-first-1.0-0.repack1.el9", "python3-stub-3.9.18-1",
                               "python3-third-1.0-0.repack1.el9"]
