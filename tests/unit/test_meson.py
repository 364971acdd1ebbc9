"""meson.build's `project(meson_version: ...)` read as text (repack.meson), and the build
requirement on meson it becomes (repack.buildreqs.meson_required, issue 11: scikit-learn asks
for meson >= 1.9.0, trixie has 1.7.0)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from examples import BASE, TARGET
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from sdists import pkg_info_text

from repack import buildreqs, metadata
from repack.meson import meson_version
from repack.model import Project

SKLEARN = """\
project(
  'scikit-learn',
  'c', 'cpp', 'cython',
  version: run_command('sklearn/_build_utils/version.py', check: true).stdout().strip(),
  license: 'BSD-3',
  meson_version: '>= 1.9.0',
  default_options: [
    'c_std=c11',
    'cpp_std=c++14',
  ],
)
cc = meson.get_compiler('c')
"""


def read(text: str) -> str | None:
    found = meson_version(text, project="p")
    return None if found is None else str(found)


def test_a_single_constraint() -> None:
    assert read(SKLEARN) == ">=1.9.0"
    assert read("project('a', meson_version:'>=0.64')") == ">=0.64"


def test_a_list_of_constraints() -> None:
    assert read("project('a', 'c',\n  meson_version : ['>=1.1', '<2'],\n)") == "<2,>=1.1"
    assert read("project('a', meson_version: ['>= 1.1',])") == ">=1.1"


@pytest.mark.parametrize(("text", "expected"), [
    ("project('a', meson_version: '''>=1.3''')", ">=1.3"),        # a multi-line string
    ("project('a', meson_version: '1.4.0')", "==1.4.0"),           # meson: bare is equality
    ("project('a', meson_version: '=1.4.0')", "==1.4.0"),
    ("project('it\\'s', meson_version: '!=1.5,')", None),           # a comma in one clause
    ("project('a', version: ')', meson_version: '>1.2')", ">1.2"),  # a paren in a string
])
def test_quotes(text: str, expected: str | None) -> None:
    assert read(text) == expected


def test_comments_are_not_read() -> None:
    text = ("# project('x', meson_version: '>=9')\n"
            "project('a', # meson_version: '>=8'\n"
            "  version: '1.0',  # meson_version: '>=7', )\n"
            "  meson_version: '>=1.2',\n)\n")
    assert read(text) == ">=1.2"
    assert read("project('a', '#', meson_version: '>=1.2')") == ">=1.2"


def test_no_project_or_no_meson_version() -> None:
    assert read("") is None
    assert read("executable('a', 'a.c')\n") is None
    assert read("project('a', 'c', version: '1.0')\n") is None
    # only the project() call counts, not a later call that names meson_version
    assert read("project('a')\nfoo(meson_version: '>=1.2')\n") is None
    assert read("subproject('b', meson_version: '>=1.2')\n") is None


@pytest.mark.parametrize("text", [
    "project('a', meson_version: v)",                       # a variable
    "project('a', meson_version: f'>=@v@')",                 # an f-string
    "project('a', meson_version: '>=1.2' + '.3')",           # an expression
    "project('a', meson_version: 'newest')",                 # not a version
    "project('a', meson_version: '>=1.2; rm -rf /')",
    "project('a', meson_version: '~>1.2')",
    "project('a', meson_version: [])",
    "project('a', meson_version: ['>=1', 2])",
    "project('a', meson_version: ['>=1'",                    # never closed
    "project('a', meson_version: '>=1.2",                    # an unterminated string
    "project('a', meson_version:",
    "project('a', meson_version: " + repr([">=1"] * 100) + ")",
    "project('a', meson_version: '>=" + "1" * 500 + "')",
    "\x00project(\udcff'a', meson_version: '\u00e9')",
    "project(" * 1000,
])
def test_garbage_is_ignored(text: str) -> None:
    assert read(text) is None


def test_metadata_reads_the_top_level_meson_build(tmp_path: Path) -> None:
    raw = pkg_info_text("mesoned", "1.0").encode()
    assert metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").meson_version is None
    (tmp_path / "meson.build").write_bytes(SKLEARN.encode() + b"\xff\n")
    found = metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO")
    assert found.meson_version == SpecifierSet(">=1.9.0")
    (tmp_path / "meson.build").unlink()
    (tmp_path / "real.build").write_text(SKLEARN)
    (tmp_path / "meson.build").symlink_to("real.build")      # never followed
    assert metadata.project_from_metadata(raw, tmp_path, source="PKG-INFO").meson_version is None


MESONPY = dataclasses.replace(BASE, build_backend="mesonpy",
                              build_requires=(Requirement("meson-python>=0.16"),),
                              meson_version=SpecifierSet(">=1.9.0"))


def texts(project: Project, *reqs: str) -> list[str]:
    return [str(r) for r in buildreqs.meson_required([Requirement(r) for r in reqs], project)]


def test_meson_is_added_for_a_meson_python_project() -> None:
    assert texts(MESONPY, "meson-python>=0.16") == ["meson-python>=0.16", "meson>=1.9.0"]
    assert [str(r) for r in buildreqs.build_requirements(MESONPY, TARGET)] == [
        "meson-python>=0.16", "meson>=1.9.0"]
    ranged = dataclasses.replace(MESONPY, meson_version=SpecifierSet(">=1.1,<2"))
    assert texts(ranged, "meson-python") == ["meson-python", "meson<2,>=1.1"]


def test_an_existing_meson_requirement_is_merged() -> None:
    assert texts(MESONPY, "meson-python", "meson>=1.1") == ["meson-python", "meson>=1.1,>=1.9.0"]
    # already at or above it: left alone
    assert texts(MESONPY, "meson-python", "meson>=1.9.0") == ["meson-python", "meson>=1.9.0"]
    assert texts(MESONPY, "meson-python", "meson>=1.10") == ["meson-python", "meson>=1.10"]
    assert texts(MESONPY, "meson-python", "meson==1.9.1") == ["meson-python", "meson==1.9.1"]
    strict = dataclasses.replace(MESONPY, meson_version=SpecifierSet(">1.9.0"))
    assert texts(strict, "meson-python", "meson>=1.9.0") == ["meson-python",
                                                              "meson>1.9.0,>=1.9.0"]
    # a cap is added beside the bound; a direct reference is upstream's choice
    ranged = dataclasses.replace(MESONPY, meson_version=SpecifierSet(">=1.1,<2"))
    assert texts(ranged, "meson>=1.2") == ["meson<2,>=1.2"]
    assert texts(MESONPY, "meson @ https://example.org/meson.whl") == [
        "meson @ https://example.org/meson.whl"]


def test_meson_is_left_alone_for_other_projects() -> None:
    assert texts(dataclasses.replace(MESONPY, meson_version=None), "meson-python") == [
        "meson-python"]
    # a meson.build beside another backend: that backend builds it
    setuptools = dataclasses.replace(MESONPY, build_backend="setuptools.build_meta")
    assert texts(setuptools, "setuptools") == ["setuptools"]
    # another meson-based backend that names meson
    other = dataclasses.replace(setuptools, build_backend="custom_backend")
    assert texts(other, "custom-backend", "meson") == ["custom-backend", "meson>=1.9.0"]
