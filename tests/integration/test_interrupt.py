"""A build that never ends: SIGTERM stops it at once, and the wall-clock limit stops it
by itself; either way no container and no process of the build is left behind.

The sdist's setup.py runs `sleep <MARK>` during the build (in the offline container, as
hostile upstream code may), so the test can find that process with `podman top`.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

from repack.container import engine

pytestmark = pytest.mark.integration

MARK = "987654"
SETUP_PY = f"""\
import subprocess, sys
from setuptools import setup
if not {{"egg_info", "dist_info"}} & set(sys.argv):     # the build itself, not its metadata
    subprocess.run(["sleep", "{MARK}"])
setup()
""".encode()


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[LocalIndex, str]]:
    name = f"sleeper-{uuid.uuid4().hex[:8]}"
    archive = make_sdist(tmp_path / "dist", name, "1.0", {"setup.py": SETUP_PY})
    with LocalIndex() as index:
        index.add(name, archive.name, archive.read_bytes())
        yield index, name


def sleeping_containers(eng: engine.Engine) -> set[str]:
    """Running containers in which our build's `sleep MARK` runs."""
    names = subprocess.run([eng.name, "ps", "--format", "{{.Names}}"], capture_output=True,
                           text=True, check=True).stdout.split()
    found = set()
    for name in names:
        top = subprocess.run([eng.name, "top", name, "args"], capture_output=True, text=True,
                             check=False).stdout
        if f"sleep {MARK}" in top:
            found.add(name)
    return found


def test_sigterm_stops_the_build_and_its_container(
        sleeper: tuple[LocalIndex, str], tmp_path: Path, container_engine: engine.Engine) -> None:
    index, name = sleeper
    proc = subprocess.Popen([sys.executable, "-m", "repack", "build", f"{name}==1.0", "-o",
                             str(tmp_path / "out")], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PIP_INDEX_URL": index.url})
    assert proc.stderr is not None
    stderr: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 600
        while not any("dpkg-buildpackage" in line for line in stderr):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(stderr)
            if sel.select(timeout=5):
                stderr.append(proc.stderr.readline())
    busy: set[str] = set()
    for _ in range(60):                       # dpkg-buildpackage reaches setup.py
        busy = sleeping_containers(container_engine)
        if busy:
            break
        time.sleep(2)
    assert busy, f"the build's sleep never started: {stderr} {proc.communicate()}"

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    print(f"SIGTERM -> exit {proc.returncode} after {time.monotonic() - started:.1f} s")
    assert proc.returncode == 128 + signal.SIGTERM
    lines = rest.splitlines()
    assert lines[-1] == "error: interrupted", rest
    assert "Traceback" not in rest
    assert not sleeping_containers(container_engine)
    left = subprocess.run([container_engine.name, "ps", "-a", "--format", "{{.Names}}"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert not busy & set(left)
    assert not list((tmp_path / "out").rglob("*.deb"))


def test_wall_clock_limit_stops_the_build(sleeper: tuple[LocalIndex, str], tmp_path: Path,
                                          container_engine: engine.Engine) -> None:
    index, name = sleeper
    (tmp_path / "repack.toml").write_text("[build]\ntimeout = 30\n")
    proc = run_repack(["build", "--no-check",
                       f"{name}==1.0", "-o", str(tmp_path / "out"), "--config",
                       str(tmp_path / "repack.toml")], env={"PIP_INDEX_URL": index.url})
    print(proc.stderr)
    assert proc.returncode == 8
    error = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error == [(f"error: {name}: the build container ran out of time (30 s): "
                      "dpkg-buildpackage was stopped")]
    assert "raise [build] timeout" in proc.stderr
    assert not sleeping_containers(container_engine)
    assert not list((tmp_path / "out").rglob("*.deb"))
