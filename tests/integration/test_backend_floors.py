"""Build backends as a PEP 517 frontend needs them (issue 11, breadth: item 1).

Each project here failed before: its build requirement is satisfied by the target's own
backend on paper, and that backend cannot build it.  The LocalIndex is the only index: it
serves the crafted sdist and the real backend wheels with their dependencies, downloaded
from PyPI during the setup, for the target's Python.

- debian-12, `requires = ["hatchling"]` and a "Programming Language :: Python :: 3.13"
  classifier: bookworm's hatchling 1.12.2 refuses the classifier; hatchling >= 1.27 (and
  a current trove-classifiers) comes from the index.
- debian-12, `requires = ["setuptools"]` and a PEP 639 `license = "MIT"`: bookworm's
  setuptools 66 refuses it; setuptools >= 77 comes from the index with the `packaging` it
  needs (bookworm's 23.0 would shadow its vendored copy and lack `packaging.licenses`).
- el9, a pyproject.toml in TOML 1.0 (a heterogeneous array): the builder's pip 20.3 cannot
  parse it; a newer pip comes from the index.
- el9 and debian-12, an in-tree backend whose get_requires_for_build_wheel asks for one more
  requirement (as yarl's asks for Cython): it is asked offline, fetched verified, installed.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist, pkg_info_text
from wheels import make_wheel

pytestmark = [pytest.mark.integration, pytest.mark.network]

CLASSIFIER = "Programming Language :: Python :: 3.13"


def download(dest: Path, python: str, *reqs: str) -> list[Path]:
    """Real wheels from PyPI (with their dependencies) for Python `python`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
                    "--python-version", python, "-d", dest, *reqs], check=True)
    return sorted(dest.glob("*.whl"))


def serve(index: LocalIndex, wheels: list[Path]) -> None:
    for whl in wheels:
        index.add(whl.name.split("-")[0], whl.name, whl.read_bytes())


def build(tmp_path: Path, index: LocalIndex, name: str, target: str,
          ) -> subprocess.CompletedProcess[str]:
    return run_repack(["build", "--no-check",
                       f"{name}==1.0", "-t", target, "-o", str(tmp_path / "out"), "-v"],
                      env={"PIP_INDEX_URL": index.url})


def package(name: str, pyproject: str, tmp_path: Path, **pkg_info: object) -> Path:
    """A unique sdist each run, so that the build cache never answers instead of a build."""
    module = name.replace("-", "_")
    return make_sdist(tmp_path / "sdists", name, "1.0",
                      {"pyproject.toml": pyproject.format(name=name, module=module).encode(),
                       f"{module}/__init__.py": b'"""A tiny test package."""\n',
                       "NONCE": str(time.time_ns()).encode()},
                      pkg_info=pkg_info_text(name, "1.0", **pkg_info))  # type: ignore[arg-type]


HATCHLING_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "1.0"
description = "A tiny package with a classifier newer than Debian 12's hatchling"
license = {{text = "MIT"}}
requires-python = ">=3.8"
classifiers = ["Programming Language :: Python :: 3.13"]

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
"""


def test_unversioned_hatchling_too_old_for_a_classifier(tmp_path: Path) -> None:
    wheels = download(tmp_path / "wheels", "3.11", "hatchling")
    sdist = package("classifier-app", HATCHLING_PYPROJECT, tmp_path,
                    extra_headers=[("Classifier", CLASSIFIER)])
    with LocalIndex() as index:
        index.add("classifier-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, "classifier-app", "debian-12")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Fetching build tools Debian 12 (bookworm) lacks: hatchling>=1.27" in proc.stderr
    assert "Installing build tools hatchling==" in proc.stderr
    (deb,) = (tmp_path / "out" / "debian-12").glob("*.deb")
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    assert "/usr/lib/python3/dist-packages/classifier_app/__init__.py" in files


SETUPTOOLS_PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "1.0"
description = "A tiny package with a PEP 639 license expression"
license = "MIT"
requires-python = ">=3.8"

[tool.setuptools]
packages = ["{module}"]
"""


def test_unversioned_setuptools_too_old_for_a_license_expression(tmp_path: Path) -> None:
    # setuptools and the dependencies of its `core` extra that Debian 12 installs older
    wheels = download(tmp_path / "wheels", "3.11", "setuptools", "packaging", "wheel",
                      "more-itertools")
    sdist = package("spdx-app", SETUPTOOLS_PYPROJECT, tmp_path, metadata_version="2.4",
                    extra_headers=[("License-Expression", "MIT")])
    with LocalIndex() as index:
        index.add("spdx-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, "spdx-app", "debian-12")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Fetching build tools Debian 12 (bookworm) lacks: setuptools>=77" in proc.stderr
    installing = next(ln for ln in proc.stderr.splitlines() if "Installing build tools" in ln)
    assert "setuptools==" in installing and "packaging==" in installing, installing
    (deb,) = (tmp_path / "out" / "debian-12").glob("*.deb")
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    assert "/usr/lib/python3/dist-packages/spdx_app/__init__.py" in files


TOML10_PYPROJECT = """\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "setuptools.build_meta"

[tool.example]
mixed = [1, "two"]   # a mixed-type array: TOML 1.0, refused by pip 20.3's toml 0.10
"""
SETUP_CFG = """\
[metadata]
name = {name}
version = 1.0

[options]
packages = {module}
"""


def test_el9_pip_too_old_for_toml_1_0(tmp_path: Path) -> None:
    wheels = download(tmp_path / "wheels", "3.9", "--no-deps", "pip")
    module = "toml10_app"
    sdist = make_sdist(tmp_path / "sdists", "toml10-app", "1.0",
                       {"pyproject.toml": TOML10_PYPROJECT.encode(),
                        "setup.cfg": SETUP_CFG.format(name="toml10-app", module=module).encode(),
                        f"{module}/__init__.py": b'"""A tiny test package."""\n',
                        "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as index:
        index.add("toml10-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, "toml10-app", "el9")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lacks: pip>=21.2" in proc.stderr
    (rpm,) = (tmp_path / "out" / "el9").glob("*.noarch.rpm")
    files = subprocess.run(["rpm", "-qlp", rpm], capture_output=True, text=True,
                           check=True).stdout
    assert "/usr/lib/python3.9/site-packages/toml10_app/__init__.py" in files


DYNAMIC_PYPROJECT = """\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "backend"
backend-path = ["_build"]
"""
# An in-tree backend that asks for one more build requirement at build time, as yarl's asks
# for Cython, and cannot build without it.
DYNAMIC_BACKEND = b"""\
from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F403


def get_requires_for_build_wheel(config_settings=None):
    return ["dynreq-helper>=1.0"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import dynreq_helper  # noqa: F401 -- only there when the frontend installed it
    return _meta.build_wheel(wheel_directory, config_settings, metadata_directory)
"""


@pytest.mark.parametrize("target", ["el9", "debian-12"])
def test_what_get_requires_for_build_wheel_asks_for_is_installed(target: str,
                                                                 tmp_path: Path) -> None:
    wheels = download(tmp_path / "wheels", "3.9", "--no-deps", "pip") if target == "el9" else []
    helper = make_wheel(tmp_path / "made", "dynreq_helper", "1.2",
                        {"dynreq_helper/__init__.py": b""})
    module = "dynreq_app"
    sdist = make_sdist(tmp_path / "sdists", "dynreq-app", "1.0",
                       {"pyproject.toml": DYNAMIC_PYPROJECT.encode(),
                        "_build/backend.py": DYNAMIC_BACKEND,
                        "setup.cfg": SETUP_CFG.format(name="dynreq-app", module=module).encode(),
                        f"{module}/__init__.py": b'"""A tiny test package."""\n',
                        "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as index:
        index.add("dynreq-app", sdist.name, sdist.read_bytes())
        index.add("dynreq-helper", helper.name, helper.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, "dynreq-app", target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lacks: dynreq-helper>=1.0" in proc.stderr
    assert "dynreq-helper==1.2" in next(ln for ln in proc.stderr.splitlines()
                                         if "Installing build tools" in ln)
    (package,) = (tmp_path / "out" / target).glob("*.noarch.rpm" if target == "el9" else "*.deb")
    explained = run_repack(["explain", str(package)])
    assert "dynreq-helper 1.2" in explained.stdout + explained.stderr, explained


NAMESPACE_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61.2"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "1.0"
description = "A namespace package in a flat layout that names no packages (as jaraco.classes)"
license = {{text = "MIT"}}
requires-python = ">=3.8"
"""


def test_flat_layout_discovery_does_not_see_debian(tmp_path: Path) -> None:
    """Debian 12's setuptools 66 discovers the rendered debian/ beside `flatns` and stops
    ("Multiple top-level packages discovered in a flat-layout: ['debian', 'flatns']");
    setuptools >= 68.1 from the index leaves debian/ out."""
    wheels = download(tmp_path / "wheels", "3.11", "setuptools", "packaging", "wheel",
                      "more-itertools")
    sdist = tmp_path / "flatns_child-1.0.tar.gz"     # no flatns_child/ beside the namespace
    top = "flatns_child-1.0/"
    with tarfile.open(sdist, "w:gz") as tar:
        for rel, data in (("PKG-INFO", pkg_info_text("flatns-child", "1.0").encode()),
                          ("pyproject.toml",
                           NAMESPACE_PYPROJECT.format(name="flatns-child").encode()),
                          ("flatns/child/__init__.py", b'"""A namespace package\'s child."""\n'),
                          ("NONCE", str(time.time_ns()).encode())):
            info = tarfile.TarInfo(top + rel)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    with LocalIndex() as index:
        index.add("flatns-child", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, "flatns-child", "debian-12")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lacks: setuptools>=61.2,>=68.1" in proc.stderr
    (deb,) = (tmp_path / "out" / "debian-12").glob("*.deb")
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    assert "/usr/lib/python3/dist-packages/flatns/child/__init__.py" in files
    assert "dist-packages/debian" not in files
