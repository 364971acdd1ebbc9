"""repack.metadata: PKG-INFO / METADATA + source tree -> Project."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from sdists import make_sdist, pkg_info_text  # tests/ is on sys.path (see conftest.py)

from repack.errors import MetadataError
from repack.metadata import is_static, project_from_metadata, read_pkg_info
from repack.model import Project
from repack.unpack import unpack_sdist


def write(tree: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tree


def meta(text: str) -> bytes:
    return textwrap.dedent(text).lstrip("\n").encode()


def parse(metadata: bytes, tree: Path, **kwargs: object) -> Project:
    return project_from_metadata(metadata, tree, source="PKG-INFO",
                                 **kwargs)  # type: ignore[arg-type]


def problem(metadata: bytes, tree: Path, *fragments: str, **kwargs: object) -> str:
    with pytest.raises(MetadataError) as excinfo:
        parse(metadata, tree, **kwargs)
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert excinfo.value.exit_code == 6
    return message


STATIC_24 = meta("""
    Metadata-Version: 2.4
    Name: Tiny.Pkg
    Version: 2.0.1
    Summary: A tiny package
    Author-email: Jane Doe <jane@example.org>, Bob <bob@example.org>
    License-Expression: MIT OR Apache-2.0
    License-File: LICENSE
    License-File: LICENSES/Apache-2.0.txt
    License-File: NOT-THERE.txt
    Project-URL: Source, https://example.org/src
    Project-URL: Tracker, https://example.org/issues
    Requires-Python: >=3.9
    Description-Content-Type: text/markdown

    # Tiny

    Long description.
    """)

DJANGO_42 = meta("""
    Metadata-Version: 2.1
    Name: Django
    Version: 4.2
    Summary: A high-level Python web framework that encourages rapid development and clean, \
pragmatic design.
    Home-page: https://www.djangoproject.com/
    Author: Django Software Foundation
    Author-email: foundation@djangoproject.com
    License: BSD-3-Clause
    Project-URL: Documentation, https://docs.djangoproject.com/
    Project-URL: Release notes, https://docs.djangoproject.com/en/stable/releases/
    Project-URL: Funding, https://www.djangoproject.com/fundraising/
    Project-URL: Source, https://github.com/django/django
    Project-URL: Tracker, https://code.djangoproject.com/
    Platform: any
    Classifier: Framework :: Django
    Classifier: Programming Language :: Python :: 3 :: Only
    Requires-Python: >=3.8
    Description-Content-Type: text/x-rst
    License-File: LICENSE
    License-File: LICENSE.python
    License-File: AUTHORS
    Requires-Dist: asgiref<4,>=3.6.0
    Requires-Dist: backports.zoneinfo; python_version < "3.9"
    Requires-Dist: sqlparse>=0.3.1
    Requires-Dist: tzdata; sys_platform == "win32"
    Provides-Extra: argon2
    Requires-Dist: argon2-cffi>=19.1.0; extra == "argon2"
    Provides-Extra: bcrypt
    Requires-Dist: bcrypt; extra == "bcrypt"

    ======
    Django
    ======

    Django is a high-level Python web framework.
    """)

DJANGO_PYPROJECT = """\
[build-system]
requires = ['setuptools>=40.8.0']
build-backend = 'setuptools.build_meta'
"""


# --------------------------------------------------------------------------- read / static

def test_read_pkg_info(tmp_path: Path) -> None:
    write(tmp_path, {"PKG-INFO": "Metadata-Version: 2.2\n"})
    assert read_pkg_info(tmp_path, project="p") == b"Metadata-Version: 2.2\n"


def test_read_pkg_info_missing(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="no PKG-INFO") as excinfo:
        read_pkg_info(tmp_path, project="tiny")
    assert str(excinfo.value).startswith("tiny: ")


def test_read_pkg_info_refuses_symlink(tmp_path: Path) -> None:
    write(tmp_path, {"real": "Metadata-Version: 2.2\n"})
    (tmp_path / "PKG-INFO").symlink_to("real")
    with pytest.raises(MetadataError, match="symlink"):
        read_pkg_info(tmp_path, project="tiny")


@pytest.mark.parametrize(("text", "static"), [
    (STATIC_24, True),
    (b"Metadata-Version: 2.2\nName: a\nVersion: 1\n", True),
    (b"Metadata-Version: 2.3\nName: a\nVersion: 1\n", True),
    (DJANGO_42, False),                                                   # 2.1
    (b"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n", False),
    (b"Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: license-file\n", False),
    (b"Metadata-Version: 1.0\nName: a\nVersion: 1\n", False),
    (b"Name: a\nVersion: 1\n", False),                                    # no Metadata-Version
    (b"Metadata-Version: banana\nName: a\n", False),
    (b"Metadata-Version: 2.2\nMetadata-Version: 2.2\nName: a\n", False),  # repeated
])
def test_is_static(text: bytes, static: bool) -> None:
    assert is_static(text) is static


# --------------------------------------------------------------------------- good metadata

def test_static_24_with_license_expression_and_files(tmp_path: Path) -> None:
    write(tmp_path, {
        "LICENSE": "MIT", "LICENSES/Apache-2.0.txt": "Apache", "COPYING": "not declared",
        "pyproject.toml": DJANGO_PYPROJECT,
    })
    project = parse(STATIC_24, tmp_path)
    assert project.name == "tiny-pkg"
    assert project.display_name == "Tiny.Pkg"
    assert project.version == Version("2.0.1")
    assert project.summary == "A tiny package"
    assert project.description.startswith("# Tiny\n")
    assert project.description_content_type == "text/markdown"
    assert project.license is None
    assert project.license_expression == "MIT OR Apache-2.0"
    assert project.license_files == ("LICENSE", "LICENSES/Apache-2.0.txt")   # declared & present
    assert project.author == "Jane Doe, Bob"
    assert project.author_email == "Jane Doe <jane@example.org>, Bob <bob@example.org>"
    assert project.project_urls == (("Source", "https://example.org/src"),
                                    ("Tracker", "https://example.org/issues"))
    assert project.requires_python == SpecifierSet(">=3.9")
    assert project.requires_dist == ()
    assert project.console_scripts == ()
    assert project.has_native_code is False
    assert project.metadata_source == "PKG-INFO"


def test_django_like(tmp_path: Path) -> None:
    write(tmp_path, {
        "LICENSE": "BSD", "LICENSE.python": "PSF", "AUTHORS": "many",
        "pyproject.toml": DJANGO_PYPROJECT,
        "Django.egg-info/entry_points.txt":
            "[console_scripts]\ndjango-admin = django.core.management:execute_from_command_line\n",
        "django/__init__.py": "",
        "tests/fixtures/ext.c": "",            # tests do not make it native
    })
    project = parse(DJANGO_42, tmp_path, expected_name="django", expected_version=Version("4.2"))
    assert project.name == "django" and project.display_name == "Django"
    assert project.summary.startswith("A high-level Python web framework")
    assert project.home_page == "https://www.djangoproject.com/"
    assert project.author == "Django Software Foundation"
    assert project.license == "BSD-3-Clause"
    assert project.license_files == ("LICENSE", "LICENSE.python", "AUTHORS")
    assert [str(r) for r in project.requires_dist] == [
        "asgiref<4,>=3.6.0",
        'backports.zoneinfo; python_version < "3.9"',
        "sqlparse>=0.3.1",
        'tzdata; sys_platform == "win32"',
        'argon2-cffi>=19.1.0; extra == "argon2"',
        'bcrypt; extra == "bcrypt"',
    ]
    assert all(isinstance(r, Requirement) for r in project.requires_dist)
    assert project.requires_dist[4].marker is not None
    assert project.provides_extra == ("argon2", "bcrypt")
    assert project.requires_python == SpecifierSet(">=3.8")
    assert len(project.project_urls) == 5 and project.project_urls[1][0] == "Release notes"
    assert project.description.lstrip().startswith("======\nDjango")
    assert project.console_scripts == ("django-admin",)
    assert [str(r) for r in project.build_requires] == ["setuptools>=40.8.0"]
    assert project.build_backend == "setuptools.build_meta"
    assert project.has_native_code is False


def test_hatchling_build_system(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": textwrap.dedent("""\
        [build-system]
        requires = ["hatchling>=1.18", "hatch-vcs"]
        build-backend = "hatchling.build"

        [project]
        name = "tiny"
        dynamic = ["version"]

        [project.scripts]
        tiny = "tiny.cli:main"
        tiny-admin = "tiny.cli:admin"

        [project.gui-scripts]
        tiny-gui = "tiny.gui:main"
        """)})
    project = parse(b"Metadata-Version: 2.3\nName: tiny\nVersion: 1.0\n", tmp_path)
    assert [str(r) for r in project.build_requires] == ["hatchling>=1.18", "hatch-vcs"]
    assert project.build_backend == "hatchling.build"
    assert project.console_scripts == ("tiny", "tiny-admin", "tiny-gui")


def test_no_pyproject_means_pep518_default(tmp_path: Path) -> None:
    project = parse(b"Metadata-Version: 2.1\nName: old\nVersion: 0.1\n", tmp_path)
    assert [str(r) for r in project.build_requires] == ["setuptools>=40.8.0"]
    assert project.build_backend is None
    assert project.summary == "" and project.description == ""


def test_pyproject_without_build_system(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.black]\nline-length = 100\n"})
    project = parse(b"Metadata-Version: 2.1\nName: old\nVersion: 0.1\n", tmp_path)
    assert [str(r) for r in project.build_requires] == ["setuptools>=40.8.0"]
    assert project.build_backend is None


def test_build_system_without_backend_is_legacy(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[build-system]\nrequires = ["setuptools", "cython"]\n'})
    project = parse(b"Metadata-Version: 2.1\nName: old\nVersion: 0.1\n", tmp_path)
    assert [str(r) for r in project.build_requires] == ["setuptools", "cython"]
    assert project.build_backend is None


def test_entry_points_argument_wins(tmp_path: Path) -> None:
    write(tmp_path, {
        "x.egg-info/entry_points.txt": "[console_scripts]\nfrom-egg = x:main\n",
        "pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nfrom-pyproject = "x:main"\n',
    })
    entry_points = textwrap.dedent("""\
        [console_scripts]
        Tool = x.cli:main [extra]
        other-tool=x.cli:other

        [gui_scripts]
        x-gui = x.gui:main

        [pytest11]
        x = x.plugin
        """)
    project = project_from_metadata(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path,
                                    source="PEP 517", entry_points=entry_points)
    assert project.console_scripts == ("Tool", "other-tool", "x-gui")   # case kept
    assert project.metadata_source == "PEP 517"
    empty = project_from_metadata(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path,
                                  source="PEP 517", entry_points="")
    assert empty.console_scripts == ()


def test_entry_points_from_egg_info_then_pyproject(tmp_path: Path) -> None:
    metadata = b"Metadata-Version: 2.1\nName: x\nVersion: 1\n"
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n[project.scripts]\npp = "x:main"\n'})
    assert parse(metadata, tmp_path).console_scripts == ("pp",)
    write(tmp_path, {"src/x.egg-info/entry_points.txt": "[console_scripts]\negg = x:main\n"})
    assert parse(metadata, tmp_path).console_scripts == ("egg",)


def test_entry_points_with_percent_signs(tmp_path: Path) -> None:
    project = project_from_metadata(
        b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path, source="PEP 517",
        entry_points="[console_scripts]\nx = x:main\n[x.plugins]\nfmt = x:fmt_%(name)s\n")
    assert project.console_scripts == ("x",)


def test_summary_is_one_line(tmp_path: Path) -> None:
    separators = "\n \r \x0b \x0c \x1c \x1d \x1e \x85 \u2028 \u2029"
    metadata = b"Metadata-Version: 2.1\nName: x\nVersion: 1\nSummary: first\n  folded line\n"
    assert parse(metadata, tmp_path).summary == "first folded line"
    metadata = f"Metadata-Version: 2.1\nName: x\nVersion: 1\nSummary: a{separators}b\n".encode()
    summary = parse(metadata, tmp_path).summary
    assert len(summary.splitlines()) == 1 and summary.startswith("a") and summary.endswith("b")


def test_description_body_not_utf8(tmp_path: Path) -> None:
    metadata = b"Metadata-Version: 2.1\nName: x\nVersion: 1\n\ncaf\xe9 \xff\n"
    assert parse(metadata, tmp_path).description == "caf\ufffd \ufffd\n"


def test_description_header_without_body(tmp_path: Path) -> None:
    metadata = b"Metadata-Version: 1.2\nName: x\nVersion: 1\nDescription: old style\n"
    assert parse(metadata, tmp_path).description == "old style"


def test_folded_description_header(tmp_path: Path) -> None:
    metadata = (b"Metadata-Version: 1.1\nName: x\nVersion: 1\nDescription: Title\n"
                b"        =====\n        \n        Text::\n        \n            code\n"
                b"Platform: UNKNOWN\n")
    assert parse(metadata, tmp_path).description == "Title\n=====\n\nText::\n\n    code"
    metadata = (b"Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription: Title\n"
                b"       |\n       |  indented\n")
    assert parse(metadata, tmp_path).description == "Title\n\n  indented"


def test_license_file_fallback_scan(tmp_path: Path) -> None:
    write(tmp_path, {
        "LICENSE.txt": "", "license.md": "", "COPYING": "", "NOTICE": "", "AUTHORS.rst": "",
        "LICENSES/MIT.txt": "", "LICENSES/Apache-2.0.txt": "", "README.md": "",
        "pkg/LICENSE": "",                                     # not at the top
        "LICENSE-dir/x": "",                                   # a directory
    })
    (tmp_path / "LICENSE-link").symlink_to("LICENSE.txt")      # symlinks are not followed
    (tmp_path / "LICENSES" / "link.txt").symlink_to("MIT.txt")
    project = parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1\nLicense: MIT\n", tmp_path)
    assert project.license_files == (
        "AUTHORS.rst", "COPYING", "LICENSE.txt", "NOTICE", "license.md",
        "LICENSES/Apache-2.0.txt", "LICENSES/MIT.txt",
    )


def test_declared_license_files_stay_inside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"SECRET": "x"})
    tree = write(tmp_path / "tree", {"docs/LICENSE.rst": "", "COPYING": ""})
    (tree / "linkdir").symlink_to(outside)
    (tree / "LINKED").symlink_to(outside / "SECRET")
    metadata = meta(f"""
        Metadata-Version: 2.4
        Name: x
        Version: 1
        License-File: ../outside/SECRET
        License-File: {outside / 'SECRET'}
        License-File: linkdir/SECRET
        License-File: LINKED
        License-File: ./docs/LICENSE.rst
        """)
    assert parse(metadata, tree).license_files == ("docs/LICENSE.rst",)
    # nothing declared exists inside the tree: fall back to scanning the top
    only_bad = b"Metadata-Version: 2.4\nName: x\nVersion: 1\nLicense-File: ../outside/SECRET\n"
    assert parse(only_bad, tree).license_files == ("COPYING",)


def test_native_code_detected(tmp_path: Path) -> None:
    write(tmp_path, {"src/x/_speedups.c": "int x;"})
    assert parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path).has_native_code


SETUPTOOLS = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'


@pytest.mark.parametrize(("files", "native"), [
    # distlib 0.4.4: C sources of its Windows launchers, setuptools with no setup.py
    ({"pyproject.toml": SETUPTOOLS, "PC/launcher.c": "int x;"}, False),
    ({"pyproject.toml": SETUPTOOLS, "PC/launcher.c": "int x;", "setup.py": ""}, True),
    ({"pyproject.toml": SETUPTOOLS + '[tool.setuptools]\next-modules = []\n',
      "x.c": "int x;"}, True),
    ({"pyproject.toml": '[build-system]\nrequires = ["flit_core"]\n'
                        'build-backend = "flit_core.buildapi"\n', "x.c": ""}, False),
    ({"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
                        'build-backend = "hatchling.build"\n', "x.c": ""}, False),
    ({"pyproject.toml": '[build-system]\nrequires = ["hatchling", "hatch-cython"]\n'
                        'build-backend = "hatchling.build"\n'
                        '[tool.hatch.build.targets.wheel.hooks.cython]\n', "x.pyx": ""}, True),
    ({"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'
                        'build-backend = "hatchling.build"\n', "x.c": "", "hatch_build.py": ""},
     True),
    ({"pyproject.toml": '[build-system]\nrequires = ["poetry-core"]\n'
                        'build-backend = "poetry.core.masonry.api"\n', "x.c": ""}, True),
    ({"x.c": ""}, True),                                          # no pyproject: setup.py's
])
def test_native_sources_count_only_where_the_backend_can_compile(
        tmp_path: Path, files: dict[str, str], native: bool) -> None:
    write(tmp_path, files)
    project = parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path)
    assert project.has_native_code is native


def test_expected_version_uses_pep440_equality(tmp_path: Path) -> None:
    project = parse(b"Metadata-Version: 2.1\nName: My_Pkg\nVersion: 1.0\n", tmp_path,
                    expected_name="my-pkg", expected_version=Version("1.0.0"))
    assert project.name == "my-pkg"


def test_duplicate_project_url_labels_are_kept(tmp_path: Path) -> None:
    metadata = meta("""
        Metadata-Version: 2.1
        Name: x
        Version: 1
        Project-URL: Source, https://a.example
        Project-URL: Source, https://b.example
        """)
    assert parse(metadata, tmp_path).project_urls == (("Source", "https://a.example"),
                                                      ("Source", "https://b.example"))


def test_roundtrip_through_make_sdist(tmp_path: Path) -> None:
    archive = make_sdist(tmp_path / "in", "Tiny-Pkg", "1.0", {},
                         requires_dist=["requests>=2", 'rich; extra == "fancy"'],
                         scripts={"tiny": "tiny_pkg:main"})
    tree = unpack_sdist(archive, tmp_path / "out", project="tiny-pkg")
    pkg_info = read_pkg_info(tree, project="tiny-pkg")
    assert is_static(pkg_info)
    project = project_from_metadata(pkg_info, tree, source="PKG-INFO", expected_name="tiny-pkg",
                                    expected_version=Version("1.0"))
    assert project.name == "tiny-pkg"
    assert [str(r) for r in project.requires_dist] == ["requests>=2", 'rich; extra == "fancy"']
    assert project.console_scripts == ("tiny",)
    assert project.license_files == ("LICENSE",)
    assert project.build_backend == "setuptools.build_meta"
    assert [str(r) for r in project.build_requires] == ["setuptools>=61"]


# --------------------------------------------------------------------------- bad metadata

def test_bad_version(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nName: x\nVersion: one point oh\n", tmp_path,
            "invalid version 'one point oh'")


def test_missing_name_and_version(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nSummary: nothing\n", tmp_path, "missing Name",
            "missing Version")


def test_bad_name(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nName: ../../etc\nVersion: 1\n", tmp_path,
            "invalid project name '../../etc'")


def test_repeated_name(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nName: a\nName: b\nVersion: 1\n", tmp_path,
            "Name field is repeated")


def test_name_mismatch(tmp_path: Path) -> None:
    message = problem(DJANGO_42, tmp_path, "sdist says Django 4.2 but the index says flask",
                      expected_name="flask")
    assert message.startswith("flask: ")


def test_version_mismatch(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nName: X\nVersion: 1.1\n", tmp_path,
            "sdist says X 1.1 but the index says x 1.0",
            expected_name="x", expected_version=Version("1.0"))


def test_bad_requirement(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: requests >=> 2\n",
            tmp_path, "invalid requirement 'requests >=> 2'")


def test_all_problems_in_one_message(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[build-system]\nrequires = ["setuptools", "%%%"]\n'})
    metadata = meta("""
        Metadata-Version: 2.1
        Name: x
        Version: 1.x
        Requires-Python: >=3.8,<<4
        Requires-Dist: ok>=1
        Requires-Dist: bad[
        Provides-Extra: not valid!
        """)
    problem(metadata, tmp_path, "invalid version '1.x'", "invalid Requires-Python '>=3.8,<<4'",
            "invalid requirement 'bad['", "invalid extra name 'not valid!'",
            "invalid build requirement '%%%'")


def test_malformed_pyproject(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[build-system\nrequires = ["})
    problem(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path,
            "malformed pyproject.toml")


@pytest.mark.parametrize(("pyproject", "fragment"), [
    ("build-system = 3\n", "[build-system] is not a table"),
    ("[build-system]\nbuild-backend = 'setuptools.build_meta'\n", "requires is missing"),
    ("[build-system]\nrequires = 'setuptools'\n", "requires is missing or not a list"),
    ("[build-system]\nrequires = []\nbuild-backend = 'os; rm -rf /'\n", "invalid build-backend"),
])
def test_bad_build_system(tmp_path: Path, pyproject: str, fragment: str) -> None:
    write(tmp_path, {"pyproject.toml": pyproject})
    problem(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path, fragment)


def test_bad_script_name(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="invalid console script name '../../bin/sh'"):
        project_from_metadata(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path,
                              source="PEP 517",
                              entry_points="[console_scripts]\n../../bin/sh = x:main\n")


def test_malformed_entry_points(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="malformed entry_points.txt"):
        project_from_metadata(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n", tmp_path,
                              source="PEP 517", entry_points="no section header\n")


def test_unsupported_metadata_version(tmp_path: Path) -> None:
    problem(b"Metadata-Version: 3.0\nName: x\nVersion: 1\n", tmp_path,
            "unsupported Metadata-Version 3.0")


def test_pkg_info_text_default_is_static() -> None:
    assert is_static(pkg_info_text("x", "1").encode())


# --------------------------------------------------------------------------- robustness

_header_value = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(fields=st.lists(
    st.tuples(st.sampled_from(["Metadata-Version", "Name", "Version", "Summary", "Requires-Dist",
                               "Requires-Python", "Provides-Extra", "Project-URL", "Author",
                               "Author-email", "License-File", "Dynamic", "Description"]),
              _header_value),
    max_size=12), body=st.binary(max_size=60))
def test_arbitrary_metadata_gives_project_or_metadata_error(
        fields: list[tuple[str, str]], body: bytes) -> None:
    metadata = b"".join(f"{k}: {v}\n".encode("utf-8", "surrogateescape") for k, v in fields)
    metadata = b"Metadata-Version: 2.1\nName: x\nVersion: 1\n" + metadata + b"\n" + body
    with tempfile.TemporaryDirectory() as tree:
        is_static(metadata)
        try:
            project = project_from_metadata(metadata, Path(tree), source="PEP 517")
        except MetadataError as exc:
            assert "\n" not in str(exc)
        else:
            assert len(project.summary.splitlines()) <= 1
            assert isinstance(project.description, str)
            for value in (project.author, project.author_email, project.license,
                          project.home_page, project.description_content_type):
                assert value is None or isinstance(value, str)
            assert project.summary == project.summary.strip()
