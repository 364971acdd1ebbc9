"""When the archive's backend fails a PEP 517 step, the build runs again with the index's
(issue 11): el9's builder (Debian 11) has setuptools 52, which lacks
`setuptools.errors.CCompilerError` (coverage's setup.py imports it, and asks for plain
`setuptools`, so no floor applies).  The LocalIndex serves the sdist and real setuptools
wheels (with what its `core` extra needs beside an older installed copy) for Python 3.9.

Debian 12's setuptools 66 lacks `setuptools.modified` (69): a setup.py importing it fails in
pybuild's build step (`python3 -m build --no-isolation --wheel`) and builds again with the
index's setuptools (Python 3.11 wheels), the one `repack lock` pinned for it.

Debian 13's hatchling 1.27.0 checks classifiers against trixie's trove-classifiers, which
lacks "Programming Language :: Python :: 3.15" (babel 2.18 pins `hatchling~=1.27.0`, so no
newer hatchling may be taken): the build runs again with the index's trove-classifiers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from conftest import Wheels, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist
from test_backend_floors import (  # type: ignore[import-not-found]
    SETUPTOOLS_311,
    assert_explained,
    built_files,
    package,
    project_pyproject,
    serve,
    served_build,
)

pytestmark = [pytest.mark.integration, pytest.mark.network]

PYPROJECT = b"""\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
SETUP_PY = """\
from setuptools import setup
from setuptools.errors import {name}

setup(name="newapi-app", version="1.0", packages=["newapi_app"],
      description="needs a newer setuptools than its requirement says", license="MIT")
"""


@pytest.fixture(scope="module")
def wheels(pypi_wheels: Wheels) -> list[Path]:
    return pypi_wheels("3.9", "setuptools", "packaging", "wheel", "more-itertools", "tomli",
                       "importlib-metadata")


def newapi_sdist(tmp_path: Path, setup_py: str) -> Path:
    """A unique sdist of newapi-app 1.0 with this setup.py."""
    return make_sdist(tmp_path / "sdists", "newapi-app", "1.0",
                      {"pyproject.toml": PYPROJECT, "setup.py": setup_py.encode(),
                       "newapi_app/__init__.py": b'"""A tiny test package."""\n',
                       "NONCE": str(time.time_ns()).encode()})


def build_el9(tmp_path: Path, wheels: list[Path], imported: str,
              ) -> subprocess.CompletedProcess[str]:
    """Build newapi-app 1.0 for el9, whose setup.py imports `imported` from
    setuptools.errors."""
    sdist = newapi_sdist(tmp_path, SETUP_PY.format(name=imported))
    with LocalIndex() as index:
        index.add("newapi-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        return run_repack(["build", "--no-check", "newapi-app==1.0", "-t", "el9",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})


def index_setuptools(wheels: list[Path]) -> str:
    (setuptools,) = (w for w in wheels if w.name.startswith("setuptools-"))
    return setuptools.name.split("-")[1]


def test_the_archives_setuptools_fails_and_the_indexs_builds(tmp_path: Path,
                                                             wheels: list[Path]) -> None:
    proc = build_el9(tmp_path, wheels, "CCompilerError")      # setuptools >= 59
    assert proc.returncode == 0, proc.stderr[-3000:]
    version = index_setuptools(wheels)
    line = next(ln.strip() for ln in proc.stderr.splitlines() if "the archive's setupt" in ln)
    assert line.startswith("newapi-app: the archive's setuptools 52.0"), line
    assert "CCompilerError" in line and f"building again with setuptools {version} from the " \
        "index" in line, line
    rpm, files = built_files(tmp_path / "out", "el9")
    assert "/usr/lib/python3.9/site-packages/newapi_app/__init__.py" in files
    assert_explained(rpm, f"setuptools {version}")


def test_when_the_index_backend_fails_too_its_error_names_the_first(tmp_path: Path,
                                                                     wheels: list[Path]) -> None:
    proc = build_el9(tmp_path, wheels, "NoSuchError")       # in no setuptools at all
    assert proc.returncode != 0
    assert f"building again with setuptools {index_setuptools(wheels)}" in proc.stderr
    error = next(ln for ln in proc.stderr.splitlines() if ln.startswith("error: "))
    assert error.startswith("error: newapi-app: command failed"), error
    hint = next(ln for ln in proc.stderr.splitlines() if ln.startswith("hint: "))
    assert "before, the archive's setuptools 52.0" in hint and "NoSuchError" in hint, hint
    assert not (tmp_path / "out" / "el9").exists() or not any((tmp_path / "out" / "el9").iterdir())


def test_debian_12s_setuptools_fails_in_pybuild_and_the_locked_index_one_builds(
        tmp_path: Path, pypi_wheels: Wheels) -> None:
    """`repack lock` pins the index's setuptools as the package's fallback_tools (no build
    runs there: only a build shows the archive's fails), and `repack build --lock` falls
    back to exactly that wheel."""
    wheels = pypi_wheels(*SETUPTOOLS_311)
    version = index_setuptools(wheels)
    sdist = newapi_sdist(tmp_path, SETUP_PY.format(name="newer").replace(
        "setuptools.errors", "setuptools.modified"))
    lock = tmp_path / "repack.lock"
    with LocalIndex() as index:
        index.add("newapi-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        env = {"PIP_INDEX_URL": index.url}
        locked = run_repack(["lock", "newapi-app==1.0", "-t", "debian-12", "-o", str(lock)],
                            env=env)
        assert locked.returncode == 0, locked.stderr[-3000:]
        text = lock.read_text()
        assert "build_tools = []" in text
        assert f'fallback_tools = [\n  {{name = "setuptools", version = "{version}"' in text
        proc = run_repack(["build", "--no-check", "--lock", str(lock), "-o",
                           str(tmp_path / "out")], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln.strip() for ln in proc.stderr.splitlines() if "the archive's setupt" in ln)
    assert ("newapi-app: the archive's setuptools 66.1.1 failed (ModuleNotFoundError: No "
            "module named 'setuptools.modified')") in line, line     # after [target/project]
    assert line.endswith(f"building again with setuptools {version} from the index"), line
    deb, files = built_files(tmp_path / "out", "debian-12")
    assert "/usr/lib/python3/dist-packages/newapi_app/__init__.py" in files
    assert_explained(deb, f"setuptools {version}")


CLASSIFIER_315 = "Programming Language :: Python :: 3.15"
PINNED_HATCHLING = project_pyproject(
    "hatchling~=1.27.0", "hatchling.build",
    "A tiny package with a classifier newer than Debian 13's list",
    "license = {{text = \"MIT\"}}",
    f'classifiers = ["{CLASSIFIER_315}"]\n\n[tool.hatch.build.targets.wheel]\n'
    'packages = ["{module}"]\n')


def test_a_classifier_newer_than_the_archives_list_takes_the_indexs_list(
        tmp_path: Path, pypi_wheels: Wheels) -> None:
    sdist = package("classifier-new", PINNED_HATCHLING, tmp_path,
                    extra_headers=[("Classifier", CLASSIFIER_315)])
    proc = served_build(tmp_path, sdist, "debian-13",
                        pypi_wheels("3.13", "--no-deps", "trove-classifiers"))
    line = next(ln.strip() for ln in proc.stderr.splitlines()
                if "the archive's trove-classifiers" in ln)
    assert line.startswith("classifier-new: the archive's trove-classifiers "), line
    assert "is older than the project (ValueError: Unknown classifier" in line, line
    assert "building again with trove-classifiers " in line, line
    assert "hatchling" not in line.partition("building again")[2], line
    pkg, files = built_files(tmp_path / "out", "debian-13")
    assert "/usr/lib/python3/dist-packages/classifier_new/__init__.py" in files
    assert_explained(pkg, "trove-classifiers")
