"""Build backends as a PEP 517 frontend needs them (issue 11, item 1): a backend the archive
has below its known-good minimum comes as a wheel (BACKEND_FLOORS), and a backend fetched
as a wheel brings its own dependencies at the versions it needs (BACKEND_EXTRAS), resolved
against a real loopback index with real wheels."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from examples import ARCHIVE, BASE, TARGET
from localindex import LocalIndex
from packaging.requirements import Requirement
from packaging.version import Version
from sdists import pkg_info_text
from wheels import make_wheel

from repack import buildreqs, http, metadata
from repack.deb.family import missing_build_requires
from repack.errors import MetadataError
from repack.trust.policy import Policy

PEP639 = dataclasses.replace(BASE, license_expression="MIT")
LEGACY = dataclasses.replace(BASE, license_expression=None)


def texts(reqs: list[Requirement]) -> list[str]:
    return [str(r) for r in reqs]


def test_every_floor_says_why() -> None:
    for floor in buildreqs.BACKEND_FLOORS:
        assert floor.why and floor.minimum > Version("0")


def test_unversioned_hatchling_is_raised_for_a_project_with_classifiers() -> None:
    classified = dataclasses.replace(LEGACY, classifiers=True)
    assert texts(buildreqs.floored([Requirement("hatchling")], LEGACY)) == ["hatchling"]
    assert texts(buildreqs.floored([Requirement("hatchling")], classified)) == [
        "hatchling>=1.27"]
    assert texts(buildreqs.floored([Requirement("hatchling>=1.8")], classified)) == [
        "hatchling>=1.27,>=1.8"]
    # already above the floor, or capped below it by upstream: left alone
    assert texts(buildreqs.floored([Requirement("hatchling>=1.28")], classified)) == [
        "hatchling>=1.28"]
    assert texts(buildreqs.floored([Requirement("hatchling<1.20")], classified)) == [
        "hatchling<1.20"]


def test_setuptools_is_raised_only_for_a_license_expression() -> None:
    reqs = [Requirement("setuptools>=61"), Requirement("wheel")]
    assert texts(buildreqs.floored(reqs, LEGACY)) == ["setuptools>=61", "wheel"]
    assert texts(buildreqs.floored(reqs, PEP639)) == ["setuptools>=61,>=77", "wheel"]
    assert texts(buildreqs.floored([Requirement("setuptools==68.0")], PEP639)) == [
        "setuptools==68.0"]


def test_flit_core_is_raised_only_for_a_license_expression() -> None:
    reqs = [Requirement("flit_core>=3.2,<4")]
    assert texts(buildreqs.floored(reqs, LEGACY)) == ["flit_core<4,>=3.2"]
    assert texts(buildreqs.floored(reqs, PEP639)) == ["flit_core<4,>=3.12,>=3.2"]


def test_debian_fetches_a_backend_below_its_floor() -> None:
    # bookworm's setuptools 66 satisfies `setuptools` but not a PEP 639 project
    legacy = dataclasses.replace(LEGACY, build_requires=(Requirement("setuptools"),))
    assert missing_build_requires(legacy, TARGET, ARCHIVE) == []
    pep639 = dataclasses.replace(legacy, license_expression="MIT")
    assert texts(missing_build_requires(pep639, TARGET, ARCHIVE)) == ["setuptools>=77"]
    newer = dataclasses.replace(ARCHIVE, packages={**ARCHIVE.packages,
                                                   "python3-setuptools": "78.1.0-1"})
    assert missing_build_requires(pep639, TARGET, newer) == []


def test_a_fetched_setuptools_brings_its_core_dependencies(local_index: LocalIndex,
                                                          tmp_path: Path) -> None:
    """setuptools >= 71 prefers an installed `packaging` to its vendored copy, so beside
    Debian 12's packaging 23.0 it needs the wheel its `core` extra names; its other extras
    are not fetched (the index does not even serve pytest)."""
    for name, version, requires in (
            ("setuptools", "80.9.0", ['packaging>=24.2; extra == "core"',
                                      'tomli>=2.0.1; python_version < "3.11" and extra == "core"',
                                      'pytest>=6; extra == "test"']),
            ("packaging", "23.0", []), ("packaging", "25.0", []),
            ("tomli", "2.2.1", [])):
        whl = make_wheel(tmp_path / "wheels", name, version, {f"{name}/__init__.py": b""},
                         requires_dist=requires)
        local_index.add(name, whl.name, whl.read_bytes())
    with http.session() as session:
        tools = buildreqs.resolve_wheels(
            [Requirement("setuptools>=77")], TARGET, index=local_index.url, session=session,
            cache_dir=tmp_path / "cache", policy=Policy(), required_by="pep639-app")
    # Python 3.11: no tomli; packaging at the version setuptools asks for
    assert [t.pin for t in tools] == ["setuptools==80.9.0", "packaging==25.0"]
    assert all("sha256:index" in t.file.verified for t in tools)


def test_setuptools_reads_a_project_table_from_61() -> None:
    pep621 = dataclasses.replace(LEGACY, pep621=True)
    assert texts(buildreqs.floored([Requirement("setuptools>=40.8")], pep621)) == [
        "setuptools>=40.8,>=61"]
    both = dataclasses.replace(pep621, license_expression="MIT")
    assert texts(buildreqs.floored([Requirement("setuptools")], both)) == ["setuptools>=77"]


def test_metadata_says_whether_pyproject_has_a_project_table(tmp_path: Path) -> None:
    raw = pkg_info_text("tabled", "1.0").encode()
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n')
    assert not metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").pep621
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\n[project]\nname = "tabled"\n')
    assert metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").pep621


def test_metadata_says_whether_pyproject_needs_toml_1_0(tmp_path: Path) -> None:
    raw = pkg_info_text("grouped", "1.0").encode()
    (tmp_path / "pyproject.toml").write_text('[dependency-groups]\ntests = ["pytest"]\n')
    assert not metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").toml10
    (tmp_path / "pyproject.toml").write_text(
        '[dependency-groups]\ntests = ["pytest"]\nty = ["ty", { include-group = "tests" }]\n')
    assert metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").toml10


def test_metadata_says_whether_pyproject_lists_classifiers(tmp_path: Path) -> None:
    raw = pkg_info_text("listed", "1.0").encode()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "listed"\n')
    assert not metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").classifiers
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "listed"\nclassifiers = ["Programming Language :: Python :: 3.13"]\n')
    assert metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").classifiers


def test_the_hooks_answer_is_checked_like_upstream_text() -> None:
    """get_requires_for_build_wheel runs upstream code: its marked line must be a JSON list of
    PEP 508 strings, whatever it printed before or after it."""
    mark = buildreqs.REQUIRES_MARK
    out = f'running egg_info\n{mark}["Cython~=3.1.0", "expandvars"]\n'
    assert texts(buildreqs.hook_answer(out, project="yarl")) == ["Cython~=3.1.0", "expandvars"]
    assert buildreqs.hook_answer(f"{mark}[]", project="x") == []
    # stderr after the answer (gitdb, prompt-toolkit on fedora-42 under load: exit 6 before)
    late = f"{mark}[\"wheel\"]\nwarning: no previously-included files matching '*.so'\n"
    assert texts(buildreqs.hook_answer(late, project="gitdb")) == ["wheel"]
    for bad, problem in (("", "did not return a list"), (f"{mark}{{}}", "did not return a list"),
                         (f"{mark}[1]", "did not return a list"), ("[]", "did not return a list"),
                         (f"{mark}not json", "did not return a list"),
                         (mark + json.dumps(["x"] * 65), "did not return a list"),
                         (f'{mark}["cython; rm -rf /"]', "invalid requirement")):
        with pytest.raises(MetadataError, match=problem):
            buildreqs.hook_answer(bad, project="x")


@pytest.mark.process
def test_the_requires_script_answer_is_found_after_the_backends_stderr(tmp_path: Path) -> None:
    """REQUIRES_SCRIPT run for real on an in-tree backend that writes to stdout and stderr:
    the answer is found with stderr after stdout, the order the engine may forward them in."""
    tree = tmp_path / "src"
    (tree / "_backend").mkdir(parents=True)
    (tree / "_backend" / "__init__.py").write_text(
        "import sys\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    print('running egg_info')\n"
        "    print('warning: no previously-included files', file=sys.stderr)\n"
        "    return ['Cython>=3']\n")
    proc = subprocess.run([sys.executable, "-c", buildreqs.REQUIRES_SCRIPT, str(tree),
                           str(tmp_path / "copy"), "_backend", json.dumps(["."])],
                          capture_output=True, text=True, check=True)
    assert proc.stderr.startswith("warning:")
    for out in (proc.stdout + proc.stderr, proc.stderr + proc.stdout):
        assert texts(buildreqs.hook_answer(out, project="x")) == ["Cython>=3"]


def test_setuptools_building_itself_needs_what_would_shadow_its_vendored_copies() -> None:
    itself = dataclasses.replace(LEGACY, name="setuptools", build_requires=(), requires_dist=(
        Requirement('packaging>=24.2; extra == "core"'),
        Requirement('jaraco.text>=3.7; extra == "core"'),     # not installed: vendored wins
        Requirement('pytest>=6; extra == "test"')))
    assert texts(buildreqs.build_requirements(itself, TARGET)) == ["packaging>=24.2"]
    assert texts(missing_build_requires(itself, TARGET, ARCHIVE)) == ["packaging>=24.2"]


def test_setuptools_is_raised_for_flat_layout_discovery() -> None:
    """Debian 12's setuptools 66 takes the rendered debian/ for a package (jaraco.classes:
    "Multiple top-level packages discovered in a flat-layout: ['debian', 'jaraco']");
    68.1 leaves it out."""
    flat = dataclasses.replace(LEGACY, flat_discovery=True)
    assert texts(buildreqs.floored([Requirement("setuptools>=61.2")], LEGACY)) == [
        "setuptools>=61.2"]
    assert texts(buildreqs.floored([Requirement("setuptools>=61.2")], flat)) == [
        "setuptools>=61.2,>=68.1"]
    legacy = dataclasses.replace(flat, build_requires=(Requirement("setuptools"),))
    assert texts(missing_build_requires(legacy, TARGET, ARCHIVE)) == ["setuptools>=68.1"]


@pytest.mark.parametrize(("files", "backend", "discovers"), [
    ({"jaraco/classes/__init__.py": ""}, "setuptools.build_meta", True),
    ({"lonely.py": ""}, None, True),                       # legacy backend, no setup.py
    ({"setup.py": "from setuptools import setup\nsetup()\n"}, None, True),
    ({"setup.py": "setup(packages=find_packages())\n"}, None, False),
    ({"setup.py": "setup(py_modules=['lonely'])\n"}, None, False),
    ({"setup.cfg": "[options]\npackages = find:\n"}, "setuptools.build_meta", False),
    ({"setup.cfg": "[metadata]\nname = x\n"}, "setuptools.build_meta", True),
    ({"setup.cfg": "[options\n"}, "setuptools.build_meta", False),   # malformed: no guess
    ({"src/pkg/__init__.py": ""}, "setuptools.build_meta", False),     # src layout
    ({"pkg/__init__.py": ""}, "hatchling.build", False),
    ({"pyproject.toml": "[tool.setuptools]\npackages = ['pkg']\n"}, None, False),
    ({"pyproject.toml": "[tool.setuptools.packages.find]\nwhere = ['.']\n"}, None, False),
    ({"pyproject.toml": "[tool.setuptools]\npy-modules = ['lonely']\n"}, None, False),
])
def test_flat_discovery(tmp_path: Path, files: dict[str, str], backend: str | None,
                        discovers: bool) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    pyproject = tomllib.loads(files.get("pyproject.toml", ""))
    assert metadata.flat_discovery(tmp_path, pyproject, backend) is discovers
    raw = pkg_info_text("flat", "1.0").encode()
    if backend is None or "pyproject.toml" in files:
        assert metadata.project_from_metadata(
            raw, tmp_path, source="PKG-INFO").flat_discovery is discovers
