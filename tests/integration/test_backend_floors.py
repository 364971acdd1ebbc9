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
- el9, a pyproject.toml in TOML 1.0 (a heterogeneous array, or a literal string holding a
  quote, as mypy 1.19.1's): the builder's pip 20.3 cannot parse it; a newer pip comes from the
  index.
- debian-13, a meson-python project whose meson.build asks for `meson_version: '>= 1.8.0'`,
  which no `[build-system]` requirement names: trixie's meson 1.7.0 stops ("Meson version is
  1.7.0 but project requires >= 1.8.0"); meson >= 1.8.0 comes from the index (scikit-learn's
  meson.build asks for >= 1.9.0).
- el9 and debian-12, an in-tree backend whose get_requires_for_build_wheel asks for one more
  requirement (as yarl's asks for Cython): it is asked offline, fetched verified, installed.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import tomllib
from pathlib import Path

import pytest
from conftest import Wheels, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist, pkg_info_text
from wheels import make_wheel

pytestmark = [pytest.mark.integration, pytest.mark.network]

CLASSIFIER = "Programming Language :: Python :: 3.13"


def serve(index: LocalIndex, wheels: list[Path]) -> None:
    for whl in wheels:
        index.add(whl.name.split("-")[0], whl.name, whl.read_bytes())


def build(tmp_path: Path, index: LocalIndex, name: str, target: str,
          ) -> subprocess.CompletedProcess[str]:
    return run_repack(["build", "--no-check",
                       f"{name}==1.0", "-t", target, "-o", str(tmp_path / "out"), "-v"],
                      env={"PIP_INDEX_URL": index.url})


def served_build(tmp_path: Path, sdist: Path, target: str, wheels: list[Path],
                 ) -> subprocess.CompletedProcess[str]:
    """Build the sdist's project 1.0 for `target` from a LocalIndex serving only it and
    `wheels`; the build must succeed."""
    name = sdist.name.rsplit("-", 1)[0].replace("_", "-")
    with LocalIndex() as index:
        index.add(name, sdist.name, sdist.read_bytes())
        serve(index, wheels)
        proc = build(tmp_path, index, name, target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def built_files(out: Path, target: str) -> tuple[Path, str]:
    """The one package built for `target` in `out` and the list of the files it installs."""
    if target.startswith("debian"):
        (pkg,) = (out / target).glob("*.deb")
        argv = ["dpkg-deb", "-c", str(pkg)]
    else:
        (pkg,) = (out / target).glob("*.noarch.rpm")
        argv = ["rpm", "-qlp", str(pkg)]
    return pkg, subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def assert_explained(pkg: Path, words: str) -> None:
    """`repack explain` of a built package names `words` (a build tool and its version)."""
    explained = run_repack(["explain", str(pkg)])
    assert words in explained.stdout + explained.stderr, explained


def package(name: str, pyproject: str, tmp_path: Path, **pkg_info: object) -> Path:
    """A unique sdist each run, so that the build cache never answers instead of a build."""
    module = name.replace("-", "_")
    return make_sdist(tmp_path / "sdists", name, "1.0",
                      {"pyproject.toml": pyproject.format(name=name, module=module).encode(),
                       f"{module}/__init__.py": b'"""A tiny test package."""\n',
                       "NONCE": str(time.time_ns()).encode()},
                      pkg_info=pkg_info_text(name, "1.0", **pkg_info))  # type: ignore[arg-type]


def project_pyproject(requires: str, backend: str, description: str, license_line: str,
                      packages: str) -> str:
    """A [project] pyproject.toml template (`{name}`, `{module}`) for the floor tests."""
    return f"""\
[build-system]
requires = ["{requires}"]
build-backend = "{backend}"

[project]
name = "{{name}}"
version = "1.0"
description = "{description}"
{license_line}
requires-python = ">=3.8"
""" + packages


HATCHLING_PYPROJECT = project_pyproject(
    "hatchling", "hatchling.build",
    "A tiny package with a classifier newer than Debian 12's hatchling",
    "license = {{text = \"MIT\"}}",
    f'classifiers = ["{CLASSIFIER}"]\n\n[tool.hatch.build.targets.wheel]\n'
    'packages = ["{module}"]\n')


def test_unversioned_hatchling_too_old_for_a_classifier(tmp_path: Path, pypi_wheels: Wheels,
                                                        ) -> None:
    sdist = package("classifier-app", HATCHLING_PYPROJECT, tmp_path,
                    extra_headers=[("Classifier", CLASSIFIER)])
    proc = served_build(tmp_path, sdist, "debian-12", pypi_wheels("3.11", "hatchling"))
    assert "Fetching build tools Debian 12 (bookworm) lacks: hatchling>=1.27" in proc.stderr
    assert "Installing build tools hatchling==" in proc.stderr
    _, files = built_files(tmp_path / "out", "debian-12")
    assert "/usr/lib/python3/dist-packages/classifier_app/__init__.py" in files


SETUPTOOLS_PYPROJECT = project_pyproject(
    "setuptools", "setuptools.build_meta", "A tiny package with a PEP 639 license expression",
    'license = "MIT"', '\n[tool.setuptools]\npackages = ["{module}"]\n')
# setuptools and the dependencies of its `core` extra that Debian 12 installs older
SETUPTOOLS_311 = ("3.11", "setuptools", "packaging", "wheel", "more-itertools")


def test_unversioned_setuptools_too_old_for_a_license_expression(tmp_path: Path,
                                                                 pypi_wheels: Wheels) -> None:
    sdist = package("spdx-app", SETUPTOOLS_PYPROJECT, tmp_path, metadata_version="2.4",
                    extra_headers=[("License-Expression", "MIT")])
    proc = served_build(tmp_path, sdist, "debian-12", pypi_wheels(*SETUPTOOLS_311))
    assert "Fetching build tools Debian 12 (bookworm) lacks: setuptools>=77" in proc.stderr
    installing = next(ln for ln in proc.stderr.splitlines() if "Installing build tools" in ln)
    assert "setuptools==" in installing and "packaging==" in installing, installing
    _, files = built_files(tmp_path / "out", "debian-12")
    assert "/usr/lib/python3/dist-packages/spdx_app/__init__.py" in files


TOML10_PYPROJECT = """\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "setuptools.build_meta"

[tool.example]
mixed = [1, "two"]   # a mixed-type array: TOML 1.0, refused by pip 20.3's toml 0.10
"""
# TOML 1.0 with no mixed array, which only the builder's own pip tells apart: toml 0.10 reads
# the literal string's quote as its end ("Key name found without value": mypy 1.19.1 on el9)
TOML10_LITERAL_PYPROJECT = """\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "setuptools.build_meta"

[tool.coverage.report]
exclude_lines = [
  '''^if __name__ == ['"]__main__['"]:$''',
]
"""
SETUP_CFG = """\
[metadata]
name = {name}
version = 1.0

[options]
packages = {module}
"""


def setup_cfg_sdist(tmp_path: Path, name: str, pyproject: str,
                    more: dict[str, bytes] | None = None) -> Path:
    """A unique sdist of `name` 1.0 whose metadata is in setup.cfg; `more`: other files."""
    module = name.replace("-", "_")
    return make_sdist(tmp_path / "sdists", name, "1.0", {
        "pyproject.toml": pyproject.encode(),
        "setup.cfg": SETUP_CFG.format(name=name, module=module).encode(),
        f"{module}/__init__.py": b'"""A tiny test package."""\n',
        "NONCE": str(time.time_ns()).encode(),
        **(more or {})})


EL9_PIP = ("3.9", "--no-deps", "pip")


@pytest.mark.parametrize("pyproject", [TOML10_PYPROJECT, TOML10_LITERAL_PYPROJECT],
                         ids=["mixed-array", "literal-string"])
def test_el9_pip_too_old_for_toml_1_0(tmp_path: Path, pypi_wheels: Wheels,
                                      pyproject: str) -> None:
    """`repack lock` pins the newer pip as the build finds it lacking (the builder's pip is
    asked in both), and the locked build takes it."""
    sdist = setup_cfg_sdist(tmp_path, "toml10-app", pyproject)
    wheels = pypi_wheels(*EL9_PIP)
    lock = tmp_path / "repack.lock"
    with LocalIndex() as index:
        index.add("toml10-app", sdist.name, sdist.read_bytes())
        serve(index, wheels)
        env = {"PIP_INDEX_URL": index.url}
        locked = run_repack(["lock", "toml10-app==1.0", "-t", "el9", "-o", str(lock)], env=env)
        assert locked.returncode == 0, locked.stderr[-3000:]
        (target,) = tomllib.loads(lock.read_text())["targets"]
        (package,) = target["packages"]
        assert [t["name"] for t in package["build_tools"]] == ["pip"]
        proc = run_repack(["build", "--no-check", "--lock", str(lock),
                           "-o", str(tmp_path / "out"), "-v"], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "lacks: pip>=21.2" in proc.stderr
    _, files = built_files(tmp_path / "out", "el9")
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
def test_what_get_requires_for_build_wheel_asks_for_is_installed(target: str, tmp_path: Path,
                                                                 pypi_wheels: Wheels) -> None:
    wheels = pypi_wheels(*EL9_PIP) if target == "el9" else []
    helper = make_wheel(tmp_path / "made", "dynreq_helper", "1.2",
                        {"dynreq_helper/__init__.py": b""})
    sdist = setup_cfg_sdist(tmp_path, "dynreq-app", DYNAMIC_PYPROJECT,
                            {"_build/backend.py": DYNAMIC_BACKEND})
    proc = served_build(tmp_path, sdist, target, [*wheels, helper])
    assert "lacks: dynreq-helper>=1.0" in proc.stderr
    assert "dynreq-helper==1.2" in next(ln for ln in proc.stderr.splitlines()
                                         if "Installing build tools" in ln)
    built, _ = built_files(tmp_path / "out", target)
    assert_explained(built, "dynreq-helper 1.2")


NAMESPACE_PYPROJECT = project_pyproject(
    "setuptools>=61.2", "setuptools.build_meta",
    "A namespace package in a flat layout that names no packages (as jaraco.classes)",
    "license = {{text = \"MIT\"}}", "")


def test_flat_layout_discovery_does_not_see_debian(tmp_path: Path, pypi_wheels: Wheels,
                                                   ) -> None:
    """Debian 12's setuptools 66 discovers the rendered debian/ beside `flatns` and stops
    ("Multiple top-level packages discovered in a flat-layout: ['debian', 'flatns']");
    setuptools >= 68.1 from the index leaves debian/ out."""
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
    proc = served_build(tmp_path, sdist, "debian-12", pypi_wheels(*SETUPTOOLS_311))
    assert "lacks: setuptools>=61.2,>=68.1" in proc.stderr
    _, files = built_files(tmp_path / "out", "debian-12")
    assert "/usr/lib/python3/dist-packages/flatns/child/__init__.py" in files
    assert "dist-packages/debian" not in files


MESON_PYPROJECT = project_pyproject(
    "meson-python", "mesonpy",
    "A pure meson-python package whose meson.build asks for a newer meson than Debian 13's",
    "license = {{text = \"MIT\"}}", "")
MESON_BUILD = """\
# meson_version: '>= 99' (a comment: not read)
project('{name}', version: '1.0',
  meson_version: '>= 1.8.0',  # trixie has 1.7.0
)
py = import('python').find_installation()
py.install_sources('{module}/__init__.py', subdir: '{module}')
"""


@pytest.mark.parametrize("meson_python", [
    "meson-python",             # trixie's python3-mesonpy, which brings meson and ninja-build
    "meson-python!=0.17.*",     # matplotlib's: the index's too, and no Debian meson brings ninja
])
def test_meson_build_asks_for_a_newer_meson(meson_python: str, tmp_path: Path,
                                            pypi_wheels: Wheels) -> None:
    name, module = "meson-floor-app", "meson_floor_app"
    pyproject = MESON_PYPROJECT.replace('"meson-python"', f'"{meson_python}"')
    sdist = make_sdist(tmp_path / "sdists", name, "1.0", {
        "pyproject.toml": pyproject.format(name=name, module=module).encode(),
        "meson.build": MESON_BUILD.format(name=name, module=module).encode(),
        f"{module}/__init__.py": b'"""A tiny test package."""\n',
        "NONCE": str(time.time_ns()).encode()}, pkg_info=pkg_info_text(name, "1.0"))
    wheels = pypi_wheels("3.13", "--no-deps", "meson", "meson-python", "pyproject-metadata",
                         "packaging")
    proc = served_build(tmp_path, sdist, "debian-13", wheels)
    fetching = next(ln for ln in proc.stderr.splitlines() if "Fetching build tools" in ln)
    assert "Debian 13 (trixie) lacks:" in fetching and "meson>=1.8.0" in fetching
    installing = next(ln for ln in proc.stderr.splitlines() if "Installing build tools" in ln)
    assert " meson==" in installing
    built, files = built_files(tmp_path / "out", "debian-13")
    assert f"/usr/lib/python3/dist-packages/{module}/__init__.py" in files
    assert_explained(built, "meson 1.")
