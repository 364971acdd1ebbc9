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

import os
import uuid
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import smuggling_sdist

pytestmark = pytest.mark.integration


def cache_dir() -> Path:
    """The cache the CLI uses (the test run's REPACK_CACHE_DIR, as the builds share it)."""
    from repack import config
    return config.load().cache_dir


def build(index: LocalIndex, project: str, target: str, out: Path, *extra: str
          ) -> tuple[int, str]:
    proc = run_repack(["build", f"{project}==1.0", "-t", target, "-o", str(out), *extra],
                      env={"PIP_INDEX_URL": index.url})
    return proc.returncode, proc.stderr


def error_line(stderr: str) -> str:
    return next(ln for ln in stderr.splitlines() if ln.startswith("error: "))


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@pytest.mark.parametrize(("target", "smuggled"), [
    ("debian-12", "sudo_99.1.0_all.deb"),
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
    assert {n for n in after - before if not n.startswith(".")} == set()
