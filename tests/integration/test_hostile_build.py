"""Hostile builds through the real CLI (issue 10, items 1 and 2).

Each sdist here is built in the test and served by the local index; its setup.py runs as
root inside the builder during the build and does what an attacker's would:

* smuggle: build a foreign `sudo` package (epoch 99, a maintainer script) and drop it
  where the real packages are written.  The build must fail (exit 8) naming the file, and
  nothing may reach the output or the build cache.
* poison: overwrite every .deb apt could have cached, keeping each size.  A later build of
  another project that needs those packages must install the ones the signed package lists
  describe, and the shared cache must still hold exactly those.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import (
    make_sdist,
    poisoning_sdist,
    postinst_sdist,
    smuggling_sdist,
    wheel_poisoning_sdist,
)

FLIT_CORE = "flit_core==3.9.0"

pytestmark = pytest.mark.integration


def cache_dir() -> Path:
    """The cache the CLI uses (the test run's REPACK_CACHE_DIR, as the builds share it)."""
    from repack import config
    return config.load().cache_dir


def build(index: LocalIndex, project: str, target: str, out: Path, *extra: str
          ) -> tuple[int, str]:
    proc = run_repack(["build", "--no-check",
                       f"{project}==1.0", "-t", target, "-o", str(out), *extra],
                      env={"PIP_INDEX_URL": index.url})
    return proc.returncode, proc.stderr


def error_line(stderr: str) -> str:
    return next(ln for ln in stderr.splitlines() if ln.startswith("error: "))


def entries_naming(builds: Path, names: set[str], words: tuple[str, ...]) -> set[str]:
    """The build cache entries among *names* holding a file named with one of *words*: the
    tests run on two workers (x.py test), and the other one stores its own builds meanwhile."""
    found = set()
    for name in (n for n in names if not n.startswith(".")):
        try:
            files = os.listdir(builds / name)
        except OSError:        # another run's entry, replaced meanwhile (buildcache.store)
            continue
        if any(w in f for f in files for w in words):
            found.add(name)
    return found


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.parametrize(("target", "smuggled"), [
    ("debian-12", "sudo_99.1.0_all.deb"),
    ("el9", "RPMS/noarch/sudo-99.1.0-1.noarch.rpm"),
])
def test_foreign_package_left_by_the_build_fails_it(tmp_path: Path, target: str,
                                                    smuggled: str) -> None:
    project = f"smuggler-{target}"
    sdist = smuggling_sdist(tmp_path / "sdists", project, "1.0", uuid.uuid4().hex)
    builds = cache_dir() / "builds"
    before = set(os.listdir(builds)) if builds.is_dir() else set()
    out = tmp_path / "out"
    with LocalIndex() as index:
        index.add(project, sdist.name, sdist.read_bytes())
        code, stderr = build(index, project, target, out)
    assert code == 8, stderr
    line = error_line(stderr)
    assert line.startswith(f"error: {project}: the build left {smuggled} beside the packages "
                           "repack rendered"), line
    assert files_under(out) == []
    after = set(os.listdir(builds)) if builds.is_dir() else set()
    assert entries_naming(builds, after - before, ("smuggler", "sudo")) == set()


def test_maintainer_script_slipped_into_the_package_fails_the_build(tmp_path: Path) -> None:
    project = "postinst-writer"
    sdist = postinst_sdist(tmp_path / "sdists", project, "1.0", uuid.uuid4().hex)
    out = tmp_path / "out"
    with LocalIndex() as index:
        index.add(project, sdist.name, sdist.read_bytes())
        code, stderr = build(index, project, "debian-12", out, "-v")
    assert code == 8, stderr
    assert f"POSTINST for python3-{project}" in stderr       # the hostile code did run
    assert "postinst has 'echo owned > /etc/owned', which dh_python3 does not write" in \
        error_line(stderr), error_line(stderr)
    assert files_under(out) == []


def shared_debs(target: str) -> dict[str, str]:
    """The shared apt cache of a target: file name -> sha256."""
    root = cache_dir() / "apt-archives" / target
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.glob("*.deb"))} if root.is_dir() else {}


def test_a_build_cannot_poison_the_next_through_the_apt_cache(tmp_path: Path) -> None:
    nonce = uuid.uuid4().hex
    first = make_sdist(tmp_path / "sdists", "hatch-first", "1.0", {"NONCE": nonce.encode()},
                       backend="hatchling")
    poisoner = poisoning_sdist(tmp_path / "sdists", "poisoner", "1.0", nonce)
    victim = make_sdist(tmp_path / "sdists", "hatch-victim", "1.0", {"NONCE": nonce.encode()},
                        backend="hatchling")
    victim_pin = "sha256:" + hashlib.sha256(victim.read_bytes()).hexdigest()
    with LocalIndex() as index:
        for project, sdist in (("hatch-first", first), ("poisoner", poisoner),
                               ("hatch-victim", victim)):
            index.add(project, sdist.name, sdist.read_bytes())

        # 1. a benign hatchling build: apt downloads python3-hatchling (checked by apt
        #    against the signed lists) and the shared cache keeps it.
        code, stderr = build(index, "hatch-first", "debian-12", tmp_path / "out1")
        assert code == 0, stderr
        good = shared_debs("debian-12")
        hatchling = next(n for n in good if n.startswith("python3-hatchling_"))

        # 2. the poisoner's build gets hatchling too, and overwrites every .deb it can see.
        code, stderr = build(index, "poisoner", "debian-12", tmp_path / "out2", "-v")
        assert code == 0, stderr
        assert "POISONED 0 cached packages" not in stderr and "POISONED " in stderr, stderr
        assert shared_debs("debian-12") == good      # it saw only its own copies

        # 3. a cache poisoned by other means (same size, other bytes) is not trusted:
        #    the next build downloads the file again and gets the real one.
        cached = cache_dir() / "apt-archives" / "debian-12" / hatchling
        cached.write_bytes(b"X" * cached.stat().st_size)
        code, stderr = build(index, "hatch-victim", "debian-12", tmp_path / "out3",
                             "--hash", victim_pin)
        assert code == 0, stderr
        assert (f"the cached {hatchling} does not match the SHA256 of the signed package "
                "lists; downloading it again") in stderr, stderr
        assert shared_debs("debian-12") == good
    (deb,) = (tmp_path / "out3" / "debian-12").glob("*.deb")
    assert deb.name.startswith("python3-hatch-victim_1.0-0repack1~deb12_all")


@pytest.mark.network
def test_a_build_cannot_poison_the_build_tool_wheels(tmp_path: Path) -> None:
    """el9's builder lacks flit_core 3.9: it comes from the index as a verified wheel,
    mounted read-only.  The cached wheel is never writable from the build, and a cached
    wheel that changed (by other means) is refused before use."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                    ":all:", "--no-deps", "-d", wheels, FLIT_CORE], check=True)
    (wheel,) = wheels.glob("flit_core-3.9.0-*.whl")
    nonce = uuid.uuid4().hex
    poisoner = wheel_poisoning_sdist(tmp_path / "sdists", "wheel-poisoner", "1.0", nonce)
    victim = wheel_poisoning_sdist(tmp_path / "sdists", "wheel-victim", "1.0", nonce)
    with LocalIndex() as index:
        index.add("flit-core", wheel.name, wheel.read_bytes())
        index.add("wheel-poisoner", poisoner.name, poisoner.read_bytes())
        index.add("wheel-victim", victim.name, victim.read_bytes())
        code, stderr = build(index, "wheel-poisoner", "el9", tmp_path / "out1", "-v")
        assert code == 0, stderr
        assert "WHEELS written 0 refused 1" in stderr, stderr
        (cached,) = (cache_dir() / "sdists").glob(f"*/{wheel.name}")
        assert cached.read_bytes() == wheel.read_bytes()

        # same size, still a zip whose METADATA reads: one byte of the first module changed
        data = bytearray(wheel.read_bytes())
        data[100] ^= 0xFF
        cached.write_bytes(bytes(data))
        try:
            code, stderr = build(index, "wheel-victim", "el9", tmp_path / "out2")
        finally:
            cached.write_bytes(wheel.read_bytes())      # leave the shared cache as it was
    assert code == 4, stderr
    assert error_line(stderr) == (
        f"error: wheel-victim: the cached build tool {cached} no longer has the sha256 it "
        f"was verified with ({hashlib.sha256(wheel.read_bytes()).hexdigest()})"), stderr
    assert files_under(tmp_path / "out2") == []
