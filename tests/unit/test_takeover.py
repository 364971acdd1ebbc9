"""A newer release of a project Debian ships may take over its own project's files (issue 11):
the decision (repack.owned.same_project), the relations it declares, and the archive data it
reads (binary -> source, Essential/Priority, which packages other sources depend on), as pure
functions on Debian 12's real data."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Deb822
from debian.debian_support import version_compare
from examples import make_spec  # type: ignore[import-not-found]

from repack import targets
from repack.container import images
from repack.deb import render
from repack.deb.naming import satisfies
from repack.errors import MappingError
from repack.model import ArchiveIndex, Artifact, DebName, DebVersion, Relation
from repack.owned import (
    Conflict,
    breaks_below,
    check_artifacts,
    check_scripts,
    conflicts,
    may_take_over,
    parse_owned,
    refusal,
    same_project,
    takeover_provides,
    takeover_relations,
    takeovers_line,
    undeclared_takeovers,
    why_not_provided,
)

DEB12 = targets.load("debian-12")
# Real lines of Debian 12's Contents-all/-amd64.
CONTENTS = gzip.compress(b"""\
usr/bin/alembic                                         python/alembic
usr/bin/sqlformat                                       python/sqlformat
usr/bin/ipython3                                        python/ipython3
usr/bin/pydoc3                                          python/python3
usr/bin/pydoc3.11                                       python/python3.11
bin/su                                                  utils/util-linux
usr/bin/pygettext3.11                                   python/python3.11
usr/lib/python3/dist-packages/yaml/__init__.py          python/python3-yaml
usr/bin/both                                            python/alembic,utils/util-linux
usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so \
python/python3-cffi-backend
""")
# Their Packages records as read_archive keeps them (Debian 12's versions and sources, and
# who depends on the owners: 23 packages of other sources on alembic, python3-oslo.db first,
# by name, unversioned or >= 1.5.0, 1.6.5, 1.8.1; python3-cffi-backend through the virtual
# python3-cffi-backend-api-min/max it Provides, so it has no needed_versions).
ARCHIVE = ArchiveIndex(
    packages={"python3-alembic": "1.8.1-2", "alembic": "1.8.1-2",
              "python3-cffi": "1.15.1-5", "python3-cffi-backend": "1.15.1-5+b1",
              "python3-sqlparse": "0.4.2-1", "sqlformat": "0.4.2-1",
              "python3-ipython": "8.5.0-4", "ipython3": "8.5.0-4",
              "python3": "3.11.2-1+b1", "python3.11": "3.11.2-6+deb12u6",
              "util-linux": "2.38.1-5+deb12u3", "python3-yaml": "6.0-3+b2",
              "python3-tk": "3.11.2-3"},
    dist_map={"alembic": "python3-alembic", "sqlparse": "python3-sqlparse",
              "ipython": "python3-ipython", "pyyaml": "python3-yaml", "argparse": "python3",
              "tkinter": "python3-tk", "cffi": "python3-cffi"},
    sources={"python3-alembic": "alembic", "python3-sqlparse": "sqlparse",
             "sqlformat": "sqlparse", "python3-ipython": "ipython", "ipython3": "ipython",
             "python3": "python3-defaults", "util-linux": "util-linux",
             "python3-yaml": "pyyaml", "python3-tk": "python3-stdlib-extensions",
             "python3-cffi": "python-cffi", "python3-cffi-backend": "python-cffi"},
    protected=frozenset({"util-linux"}),
    needed_by={"alembic": ("python3-oslo.db", 23), "ipython3": ("python3-spyder", 7),
               "python3-cffi-backend": ("python3-cryptography", 45)},
    needed_versions={"alembic": (("", ""), (">=", "1.5.0"), (">=", "1.6.5"), (">=", "1.8.1")),
                     "ipython3": (("", ""), (">=", "5.1.0"))},
)
NEWER = "99.0-0repack1~deb12"       # the Debian version of a newer release repack builds


def found(files: list[str], package: str) -> list[Conflict]:
    return conflicts(files, parse_owned(CONTENTS), package=package)


def test_the_same_source_is_taken_over() -> None:
    taken, refused = same_project(found(["/usr/bin/sqlformat"], "python3-sqlparse"),
                                  package="python3-sqlparse", project="sqlparse",
                                  archive=ARCHIVE)
    assert refused == []
    assert [(t.path, t.owner, t.source, t.version) for t in taken] == [
        ("/usr/bin/sqlformat", "sqlformat", "sqlparse", "0.4.2-1")]
    assert takeovers_line("python3-sqlparse", taken, DEB12) == [
        ("python3-sqlparse takes /usr/bin/sqlformat over from Debian 12 (bookworm)'s sqlformat "
         "(the same project: source package sqlparse)")]
    # the PyPI spelling does not matter: the dist map is keyed by PEP 503 names
    assert same_project(found(["/usr/bin/sqlformat"], "python3-sqlparse"),
                        package="python3-sqlparse", project="SQLParse", archive=ARCHIVE)[1] == []


def test_an_owner_other_sources_depend_on_is_refused() -> None:
    """Breaks on python3-cffi-backend would make apt remove python3-cryptography (which
    needs it through the python3-cffi-backend-api-* packages it Provides), Breaks on alembic
    python3-oslo.db: refused, naming the depender, with a hint that no setting helps."""
    cffi = "/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so"
    taken, refused = same_project(found([cffi], "python3-cffi"), package="python3-cffi",
                                  project="cffi", archive=ARCHIVE)
    assert taken == []
    assert [(c.path, c.needed_by) for c in refused] == [
        (cffi, ("python3-cffi-backend", "python3-cryptography", 45))]
    error = refusal("cffi", "python3-cffi", refused, DEB12)
    assert str(error) == (
        f"cffi: python3-cffi would replace {cffi} of Debian 12 (bookworm)'s "
        "python3-cffi-backend, which python3-cryptography (another source) depends on")
    assert error.hint is not None
    assert "apt remove python3-cffi-backend and with it python3-cryptography and 44 more" in (
        error.hint)
    assert "allow-paths does not help" in error.hint and "[packages." not in error.hint
    assert error.exit_code == 7
    taken, refused = same_project(found(["/usr/bin/alembic", "/usr/bin/ipython3"],
                                        "python3-alembic"),
                                  package="python3-alembic", project="alembic", archive=ARCHIVE)
    assert taken == []
    assert [c.needed_by for c in refused] == [("alembic", "python3-oslo.db", 23), None]
    hint = refusal("alembic", "python3-alembic", refused, DEB12).hint or ""
    assert hint.startswith("taking the file over would make apt remove alembic and with it "
                           "python3-oslo.db and 22 more package(s) of other sources;")


def test_another_source_is_refused() -> None:
    """alembic is alembic's, not sqlparse's; yaml's module is pyyaml's."""
    conflicts_ = found(["/usr/bin/alembic", "/usr/bin/sqlformat",
                        "/usr/lib/python3/dist-packages/yaml/__init__.py"], "python3-sqlparse")
    taken, refused = same_project(conflicts_, package="python3-sqlparse", project="sqlparse",
                                  archive=ARCHIVE)
    assert [t.path for t in taken] == ["/usr/bin/sqlformat"]
    assert [(c.path, c.needed_by) for c in refused] == [
        ("/usr/bin/alembic", None), ("/usr/lib/python3/dist-packages/yaml/__init__.py", None)]


def test_essential_or_required_owners_are_refused_even_from_the_same_source() -> None:
    """A base system's package is never taken over, and a file one of several owners of
    which is protected is refused whole."""
    archive = ArchiveIndex(packages={**ARCHIVE.packages, "python3-util-linux": "1.0-1"},
                           dist_map={"util-linux": "python3-util-linux"},
                           sources={"python3-util-linux": "util-linux"},
                           protected=ARCHIVE.protected)
    taken, refused = same_project(found(["/usr/bin/su"], "python3-util-linux"),
                                  package="python3-util-linux", project="util-linux",
                                  archive=archive)
    assert taken == [] and [c.owners for c in refused] == [("util-linux",)]
    taken, refused = same_project(found(["/usr/bin/both"], "python3-alembic"),
                                  package="python3-alembic", project="alembic", archive=ARCHIVE)
    assert taken == [] and [c.owners for c in refused] == [("alembic", "util-linux")]


def test_the_interpreters_packages_are_refused() -> None:
    """Files of python3-defaults, python3.11 or python3-stdlib-extensions, and a project
    the map gives the interpreter (argparse -> python3), are never taken over."""
    for package, project, path in [("python3", "argparse", "/usr/bin/pydoc3.11"),
                                   ("python3-tk", "tkinter", "/usr/bin/pygettext3.11")]:
        taken, refused = same_project(found([path], package), package=package, project=project,
                                      archive=ARCHIVE)
        assert taken == [] and len(refused) == 1, package
    # a module package of the interpreter's source family, by its source name alone
    archive = ArchiveIndex(packages={"python3-foo": "1", "foo3.11": "1"},
                           dist_map={"foo": "python3-foo"},
                           sources={"python3-foo": "python3.11", "foo3.11": "python3.11"})
    conflict = Conflict(path="/usr/bin/x", archive_path="/usr/bin/x", owners=("foo3.11",))
    assert same_project([conflict], package="python3-foo", project="foo",
                        archive=archive)[0] == []


def test_a_configured_or_unmapped_name_is_refused() -> None:
    """Only the very package the dist map gives the project may take files over: a
    configured name (python3-sqlparse-pypi), another project's name, or an image without
    source data (nothing is the same project then) keep today's refusal."""
    conflicts_ = found(["/usr/bin/sqlformat"], "python3-sqlparse-pypi")
    assert same_project(conflicts_, package="python3-sqlparse-pypi", project="sqlparse",
                        archive=ARCHIVE)[0] == []
    conflicts_ = found(["/usr/bin/sqlformat"], "python3-sqlparse")
    assert same_project(conflicts_, package="python3-sqlparse", project="not-sqlparse",
                        archive=ARCHIVE)[0] == []
    old_image = ArchiveIndex(packages=ARCHIVE.packages, dist_map=ARCHIVE.dist_map)
    assert same_project(conflicts_, package="python3-sqlparse", project="sqlparse",
                        archive=old_image)[0] == []


@pytest.mark.parametrize(("archive_version", "below", "lower", "higher"), [
    ("1.8.1-2", "1.8.1+repack~", ["1.8.1-2+deb12u1", "1.8.1-3", "1.8.1-2.1", "1.8.1-2+b1"],
     ["1.8.2-1", "1.8.1.1-1", "1:0.1-1"]),
    ("2:1.0+dfsg-3", "2:1.0+dfsg+repack~", ["2:1.0+dfsg-3+deb12u1", "2:1.0+dfsg-4"],
     ["2:1.0.1+dfsg-1", "3:0.1-1"]),
    ("0.4.2", "0.4.2+repack~", ["0.4.2", "0.4.2+b1"], ["0.4.3"]),
])
def test_breaks_below_every_revision_of_the_archives_release(
        archive_version: str, below: str, lower: list[str], higher: list[str]) -> None:
    """Above every Debian revision, stable update and binNMU of the archive's upstream
    release, below the next upstream release."""
    assert breaks_below(archive_version) == below
    for v in [archive_version, *lower]:
        assert version_compare(v, below) < 0, v
    for v in higher:
        assert version_compare(v, below) > 0, v


def test_takeover_relations_are_policy_7_6_1s() -> None:
    taken, _ = same_project(found(["/usr/bin/sqlformat"], "python3-sqlparse"),
                            package="python3-sqlparse", project="sqlparse", archive=ARCHIVE)
    replaces, breaks = takeover_relations(taken)
    assert [str(r) for r in replaces] == ["sqlformat (<< 0.4.2+repack~)"]
    assert breaks == replaces
    assert takeover_relations([]) == ((), ())


def write_image(tmp_path: Path, archive: ArchiveIndex) -> images.Image:
    image = images.image_for(DEB12, "builder", tmp_path)
    image.state_dir.mkdir(parents=True)
    reduced = tmp_path / "owned.gz"
    reduced.write_bytes(CONTENTS + gzip.compress(b"".join(
        b"usr/bin/tool%d  utils/x\n" % i for i in range(100))))
    image.archive_file.write_text(json.dumps({
        "packages": archive.packages, "dist_map": archive.dist_map, "sources": archive.sources,
        "protected": sorted(archive.protected), "needed_by": archive.needed_by,
        "needed_versions": archive.needed_versions,
        "owned_files": images.owned_files_field(reduced)}))
    return image


def test_check_scripts_returns_the_takeovers(tmp_path: Path) -> None:
    image = write_image(tmp_path, ARCHIVE)
    assert images.load_archive(image) == ARCHIVE
    taken = check_scripts(["sqlformat", "other"], "python3-sqlparse", DEB12, image,
                          project="sqlparse")
    assert [(t.path, t.owner) for t in taken] == [("/usr/bin/sqlformat", "sqlformat")]
    with pytest.raises(MappingError, match="python3-sqlparse would replace /usr/bin/alembic "
                                           "of Debian 12 \\(bookworm\\)'s alembic$"):
        check_scripts(["sqlformat", "alembic"], "python3-sqlparse", DEB12, image,
                      project="sqlparse")
    # before anything is built: alembic's script is its own, but python3-oslo.db needs alembic
    with pytest.raises(MappingError, match="python3-alembic would replace /usr/bin/alembic "
                                           "of Debian 12 \\(bookworm\\)'s alembic, which "
                                           "python3-oslo.db \\(another source\\) depends on$"):
        check_scripts(["alembic"], "python3-alembic", DEB12, image, project="alembic")


def test_a_script_the_overrides_exclude_is_not_checked(tmp_path: Path) -> None:
    """mcp's /usr/bin/mcp is another program than Debian 12's mmv's: the refusal's hint says
    how to leave it out, and a script left out is no longer refused before the build."""
    image = write_image(tmp_path, ARCHIVE)
    with pytest.raises(MappingError) as refused:
        check_scripts(["sqlformat", "alembic"], "python3-sqlparse", DEB12, image,
                      project="sqlparse")
    assert refused.value.hint == (
        'if it is another program of the same name, leave it out in repack.toml: '
        '[packages.sqlparse] exclude = ["/usr/bin/alembic"]; if replacing it is intended, '
        'allow it: allow-paths = ["/usr/bin/alembic"]')
    taken = check_scripts(["sqlformat", "alembic"], "python3-sqlparse", DEB12, image,
                          project="sqlparse", excluded=["/usr/bin/alem*"])
    assert [t.path for t in taken] == ["/usr/bin/sqlformat"]
    assert check_scripts(["alembic"], "python3-sqlparse", DEB12, image, project="sqlparse",
                         excluded=["/usr/bin/alembic"]) == []


def test_an_image_without_the_dependers_takes_nothing_over(tmp_path: Path) -> None:
    """An archive.json from before repack recorded needed_by: not knowing who depends on
    what, nothing counts as the same project."""
    image = write_image(tmp_path, ARCHIVE)
    data = json.loads(image.archive_file.read_text())
    del data["needed_by"]
    image.archive_file.write_text(json.dumps(data))
    assert images.load_archive(image).sources == {}
    with pytest.raises(MappingError, match="would replace /usr/bin/sqlformat"):
        check_scripts(["sqlformat"], "python3-sqlparse", DEB12, image, project="sqlparse")


def test_refusal_unchanged_for_the_refused_part() -> None:
    _, refused = same_project(found(["/usr/bin/sqlformat", "/usr/bin/alembic"],
                                    "python3-sqlparse"),
                              package="python3-sqlparse", project="sqlparse", archive=ARCHIVE)
    error = refusal("sqlparse", "python3-sqlparse", refused, DEB12)
    assert str(error) == (
        "sqlparse: python3-sqlparse would replace /usr/bin/alembic of Debian 12 (bookworm)'s "
        "alembic")
    assert error.hint == (
        'if it is another program of the same name, leave it out in repack.toml: '
        '[packages.sqlparse] exclude = ["/usr/bin/alembic"]; if replacing it is intended, '
        'allow it: allow-paths = ["/usr/bin/alembic"]')


PACKAGES = """\
Package: python3-alembic
Source: alembic
Version: 1.8.1-2
Priority: optional

Package: alembic
Version: 1.8.1-2
Priority: optional

Package: libpython3.11-minimal
Source: python3.11 (3.11.2-6+deb12u6)
Version: 3.11.2-6+deb12u6
Priority: optional

Package: util-linux
Version: 2.38.1-5+b1
Essential: yes
Priority: required

Package: less
Version: 590-2.1~deb12u2
Priority: important
"""
UPDATE = """\
Package: less
Source: less-fixed
Version: 590-2.1~deb12u3
Priority: optional
"""


def test_read_archive_records_sources_and_protected_packages(tmp_path: Path) -> None:
    """The source of a binary (its own name without Source:, the name without the version
    dpkg adds), and Essential / required / important, from the highest version's record."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a_bookworm_main_binary-amd64_Packages").write_text(PACKAGES)
    (lists / "b_bookworm-updates_main_binary-amd64_Packages").write_text(UPDATE)
    (tmp_path / "map").write_text("alembic python3-alembic\n")
    index = images.read_archive(lists, tmp_path / "map")
    assert index.sources == {"python3-alembic": "alembic", "libpython3.11-minimal": "python3.11",
                             "less": "less-fixed"}
    assert index.source_of("alembic") == "alembic"
    assert index.protected == frozenset({"util-linux"})


def test_deb_builders_record_the_source_map() -> None:
    """The binary -> source map is new archive data: Debian builder recipes (and tags) say
    so, rpm builders (whose index is empty) keep theirs."""
    assert images.recipe(DEB12, "builder")["archive_index"] == images.ARCHIVE_INDEX_VERSION
    assert "archive_index" not in images.recipe(targets.load("el9"), "builder")
    assert "archive_index" not in images.recipe(DEB12, "base")


def test_may_take_over_only_the_mapped_package_of_a_source_with_other_binaries() -> None:
    """Whether a build keeps a pristine tree to build again with Replaces (take_over)."""
    assert may_take_over("python3-alembic", "alembic", ARCHIVE)
    assert may_take_over("python3-sqlparse", "sqlparse", ARCHIVE)
    assert not may_take_over("python3-yaml", "pyyaml", ARCHIVE)      # pyyaml builds no other
    assert not may_take_over("python3-alembic-pypi", "alembic", ARCHIVE)
    assert not may_take_over("python3", "argparse", ARCHIVE)


def test_control_declares_replaces_and_breaks(tmp_path: Path) -> None:
    taken, _ = same_project(found(["/usr/bin/sqlformat"], "python3-sqlparse"),
                            package="python3-sqlparse", project="sqlparse", archive=ARCHIVE)
    replaces, breaks = takeover_relations(taken)
    spec = dataclasses.replace(make_spec(), replaces=replaces, breaks=breaks)
    control = (render.render_debian(spec, tmp_path) / "control").read_text()
    binary = list(Deb822.iter_paragraphs(control))[1]
    assert binary["Replaces"] == binary["Breaks"] == "sqlformat (<< 0.4.2+repack~)"
    plain = (render.render_debian(make_spec(), tmp_path / "plain") / "control").read_text()
    assert "Replaces" not in plain and "Breaks" not in plain


def tiny_deb(tmp_path: Path, name: str, files: list[str]) -> Artifact:
    root = tmp_path / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 99.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: test\n")
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x\n")
    deb = tmp_path / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
                   check=True, capture_output=True)
    return Artifact(target="debian-12", format="deb", package=name, version="99.0", path=deb,
                    sha256="")


@pytest.mark.process
def test_a_built_file_of_the_same_source_needs_replaces(tmp_path: Path) -> None:
    """After the build: a file the metadata did not announce (here /usr/bin/sqlformat) that
    the project's other binary ships is built again with Replaces (undeclared_takeovers),
    and the check refuses it until the package declares them; a file of another source, or
    of an owner other sources depend on, makes the build's check refuse it, saying why, not
    build again."""
    image = write_image(tmp_path / "cache", ARCHIVE)
    deb = tiny_deb(tmp_path, "python3-sqlparse", ["usr/bin/sqlformat",
                                                  "usr/lib/python3/dist-packages/sqlparse/x.py"])
    taken = undeclared_takeovers([deb], image, project="sqlparse")
    assert [(t.path, t.owner) for t in taken] == [("/usr/bin/sqlformat", "sqlformat")]
    assert undeclared_takeovers([deb], image, project="sqlparse", replaces={"sqlformat"}) == []
    with pytest.raises(MappingError, match="python3-sqlparse would replace /usr/bin/sqlformat"):
        check_artifacts([deb], DEB12, image, project="sqlparse")
    check_artifacts([deb], DEB12, image, project="sqlparse", replaces={"sqlformat"})

    (tmp_path / "other").mkdir()
    worse = tiny_deb(tmp_path / "other", "python3-sqlparse", ["usr/bin/sqlformat",
                                                              "usr/bin/alembic"])
    assert undeclared_takeovers([worse], image, project="sqlparse") == []
    with pytest.raises(MappingError, match="would replace /usr/bin/alembic of Debian 12 "
                                           "\\(bookworm\\)'s alembic$"):
        check_artifacts([worse], DEB12, image, project="sqlparse", replaces={"sqlformat"})

    cffi = tiny_deb(tmp_path, "python3-cffi", [
        "usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so"])
    assert undeclared_takeovers([cffi], image, project="cffi") == []
    with pytest.raises(MappingError, match="python3-cffi-backend, which python3-cryptography "
                                           "\\(another source\\) depends on$"):
        check_artifacts([cffi], DEB12, image, project="cffi", replaces={"python3-cffi-backend"})


# Debian 12's records (Depends, Pre-Depends, Provides and Recommends as the archive has them;
# a backslash joins a long line).
DEPENDS = """\
Package: python3-cffi
Source: python-cffi
Version: 1.15.1-5
Depends: python3-cffi-backend (<< 1.15.1-5+c), python3-cffi-backend (>= 1.15.1-5), \
python3-pycparser, python3:any

Package: python3-cffi-backend
Source: python-cffi (1.15.1-5)
Version: 1.15.1-5+b1
Provides: python3-cffi-backend-api-9729, python3-cffi-backend-api-max (= 10495), \
python3-cffi-backend-api-min (= 9729)
Depends: python3 (<< 3.12), python3 (>= 3.11~), libc6 (>= 2.34), libffi8 (>= 3.4)

Package: python3-cryptography
Source: python-cryptography
Version: 38.0.4-3+deb12u1
Depends: python3 (>= 3~), python3-cffi-backend-api-min (<= 9729), \
python3-cffi-backend-api-max (>= 9729), python3:any, libc6 (>= 2.34), libgcc-s1 (>= 4.2), \
libssl3 (>= 3.0.0)

Package: python3-paramiko
Version: 2.12.0-2
Depends: python3-bcrypt (>= 3.1.3), python3-cryptography (>= 2.5), python3-nacl (>= 1.0.1), \
python3:any

Package: sqlformat
Source: sqlparse
Version: 0.4.2-1+deb12u1
Depends: python3:any, python3-sqlparse (= 0.4.2-1+deb12u1)

Package: python3-sqlparse
Source: sqlparse
Version: 0.4.2-1+deb12u1
Depends: python3:any

Package: python3-sympy
Source: sympy
Version: 1.11.1-1
Depends: python3:any, python3-mpmath
Recommends: python3-pil, python3-numpy, isympy-common

Package: isympy-common
Source: sympy
Version: 1.11.1-1
Depends: python3:any
Recommends: isympy3

Package: isympy3
Source: sympy
Version: 1.11.1-1
Provides: isympy
Depends: isympy-common, python3-sympy

Package: mypy
Version: 1.0.1-1
Depends: python3:any, python3-mypy (>= 1.0.1-1)
Recommends: python3-typeshed

Package: python3-mypy
Source: mypy
Version: 1.0.1-1
Depends: python3 (<< 3.12), python3 (>= 3.11~), python3-mypy-extensions, \
python3-tomli | python3 (>> 3.11), python3-typing-extensions, python3:any, libc6 (>= 2.14), \
python3-psutil, python3-pkg-resources

Package: thonny
Version: 4.0.1-1
Depends: mypy, pylint, python3-asttokens (>= 2.0), python3-pip, python3-pkg-resources, \
python3-tk, python3-venv, python3-wheel, python3-docutils, python3-jedi (>= 0.18~), \
python3-mypy, python3-send2trash (>= 1.5), python3-serial (>= 3.4~), python3:any
Recommends: xsel, zenity

Package: python3-typeshed
Source: typeshed
Version: 0.0~git20221107.4f381af-1
Pre-Depends: dpkg (>= 1.15.6~)
"""


def test_read_archive_records_which_owners_other_sources_need(tmp_path: Path) -> None:
    """python3-cryptography needs python3-cffi-backend through a virtual package it Provides,
    thonny needs mypy by name; sqlformat, isympy-common (only Recommends and its own source's
    isympy3) and python3-cffi (needed by nobody of another source here) are free.  Only the
    sources of packages dh-python's map names are recorded (typeshed's is not)."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a_bookworm_main_binary-amd64_Packages").write_text(DEPENDS)
    (tmp_path / "map").write_text("cffi python3-cffi\nsqlparse python3-sqlparse\n"
                                  "sympy python3-sympy\nmypy python3-mypy\n")
    index = images.read_archive(lists, tmp_path / "map")
    assert index.needed_by == {"python3-cffi-backend": ("python3-cryptography", 1),
                               "mypy": ("thonny", 1), "python3-mypy": ("thonny", 1)}
    assert index.sources["python3-cffi-backend"] == "python-cffi"


def test_needed_by_names_the_depender_most_packages_need() -> None:
    """Every alternative and every virtual name counts, packages of the owner's own source do
    not, and the depender named is the one with the most dependers of its own."""
    depends = {"owner": set(), "sibling": {"owner"}, "a-app": {"owner-api"},
               "b-lib": {"other", "owner"}, "c-alt": {"x", "owner"}, "user": {"b-lib"},
               "user2": {"b-lib"}, "lonely": set()}
    provides = {"owner": {"owner-api"}}
    sources = {"sibling": "owner", "lonely": "owner"}
    assert images.needed_by(depends, provides, sources, {"owner"}) == {
        "owner": ("b-lib", 3)}
    assert images.needed_by(depends, provides, sources, {"elsewhere"}) == {}


def test_needed_by_follows_the_owners_own_source() -> None:
    """isympy3 depends on isympy-common: Breaks on isympy-common removes isympy3 too, and with
    it whatever of another source needs isympy3 (here a made-up sympy-gui).  Debian's
    python3-sympy depends on nothing here, but a module package a build upgrades (the dist
    map's name) stays: its dependers are not removed."""
    depends = {"isympy-common": set(), "isympy3": {"isympy-common", "python3-sympy"},
               "python3-sympy": {"isympy-common"}, "sympy-gui": {"isympy"},
               "jupyter-sympy": {"python3-sympy"}}
    provides = {"isympy3": {"isympy"}}
    sources = {"isympy-common": "sympy", "isympy3": "sympy", "python3-sympy": "sympy"}
    assert images.needed_by(depends, provides, sources, {"sympy"},
                            upgraded={"python3-sympy"}) == {
        "isympy-common": ("sympy-gui", 1), "isympy3": ("sympy-gui", 1),
        "python3-sympy": ("jupyter-sympy", 2)}          # and sympy-gui, through isympy3
    del depends["sympy-gui"]
    assert images.needed_by(depends, provides, sources, {"sympy"},
                            upgraded={"python3-sympy"}) == {
        "python3-sympy": ("jupyter-sympy", 1)}
    assert images.relation_names("python3-tomli | python3 (>> 3.11), python3:any, ") == {
        "python3-tomli", "python3"}
    assert images.relation_names(None) == images.relation_names("  ") == set()


# -- Provides: an owner other sources depend on stays provided (issue 11) ----------------------

def test_an_owner_other_sources_need_by_name_is_provided() -> None:
    """alembic 99.0 satisfies every dependency on alembic of Debian 12 (unversioned, >= 1.5.0,
    >= 1.6.5, >= 1.8.1): python3-alembic takes /usr/bin/alembic over and Provides alembic in
    its own version, so apt keeps python3-oslo.db and the 22 others."""
    taken, refused = same_project(found(["/usr/bin/alembic"], "python3-alembic"),
                                  package="python3-alembic", project="alembic",
                                  archive=ARCHIVE, version=NEWER)
    assert refused == []
    assert [(t.owner, t.provides_for) for t in taken] == [("alembic", ("python3-oslo.db", 23))]
    assert [str(r) for r in takeover_provides(taken, NEWER)] == [f"alembic (= {NEWER})"]
    assert [str(r) for r in takeover_relations(taken)[1]] == ["alembic (<< 1.8.1+repack~)"]
    assert takeovers_line("python3-alembic", taken, DEB12) == [
        ("python3-alembic takes /usr/bin/alembic over from Debian 12 (bookworm)'s alembic (the "
         "same project: source package alembic) and provides alembic for python3-oslo.db and "
         "22 more")]
    # an owner nobody of another source needs is not provided
    sql, _ = same_project(found(["/usr/bin/sqlformat"], "python3-sqlparse"),
                          package="python3-sqlparse", project="sqlparse", archive=ARCHIVE,
                          version=NEWER)
    assert takeover_provides(sql, NEWER) == ()
    assert "provides" not in takeovers_line("python3-sqlparse", sql, DEB12)[0]


@pytest.mark.parametrize(("version", "why"), [
    (None, "the version of the package is not known yet"),
    ("1.0-0repack1~deb12", "1.0-0repack1~deb12 is not newer than alembic 1.8.1-2"),
    ("1.8.1-0repack1~deb12", "1.8.1-0repack1~deb12 is not newer than alembic 1.8.1-2"),
])
def test_a_downgrade_or_an_unknown_version_provides_nothing(version: str | None,
                                                            why: str) -> None:
    """A release no newer than the archive's (every revision of 1.8.1 counts as the same,
    `breaks_below`) keeps today's refusal, saying why it may not provide the owner."""
    taken, refused = same_project(found(["/usr/bin/alembic"], "python3-alembic"),
                                  package="python3-alembic", project="alembic",
                                  archive=ARCHIVE, version=version)
    assert taken == []
    assert [(c.needed_by, c.unprovided) for c in refused] == [
        (("alembic", "python3-oslo.db", 23), why)]
    error = refusal("alembic", "python3-alembic", refused, DEB12)
    assert str(error).endswith("alembic, which python3-oslo.db (another source) depends on")
    assert f"python3-alembic cannot provide alembic for them: {why}; allow-paths" in (
        error.hint or "")


def test_a_dependency_our_version_does_not_meet_provides_nothing() -> None:
    """One depender wanting alembic (<< 1.9) or an exact version, or alembic:any (which an
    Architecture: all Provides is not taken to meet), keeps the refusal."""
    for clause, shown in [(("<<", "1.9"), "alembic (<< 1.9)"),
                          (("=", "1.8.1-2"), "alembic (= 1.8.1-2)"),
                          ((":any", ""), "alembic:any")]:
        archive = dataclasses.replace(ARCHIVE, needed_versions={
            "alembic": (("", ""), (">=", "1.5.0"), clause)})
        assert why_not_provided("alembic", NEWER, archive) == (
            f"some need {shown}, which {NEWER} does not satisfy")
        taken, refused = same_project(found(["/usr/bin/alembic"], "python3-alembic"),
                                      package="python3-alembic", project="alembic",
                                      archive=archive, version=NEWER)
        assert taken == [] and [c.needed_by for c in refused] == [
            ("alembic", "python3-oslo.db", 23)]
    assert why_not_provided("alembic", NEWER, ARCHIVE) == ""


def test_an_owner_needed_through_its_provides_stays_refused() -> None:
    """python3-cryptography needs python3-cffi-backend-api-min (<= 9729), which
    python3-cffi-backend Provides: no newer python3-cffi may stand in for it."""
    cffi = "/usr/lib/python3/dist-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so"
    taken, refused = same_project(found([cffi], "python3-cffi"), package="python3-cffi",
                                  project="cffi", archive=ARCHIVE, version="99.0-0repack1~deb12")
    assert taken == []
    assert [c.needed_by for c in refused] == [("python3-cffi-backend", "python3-cryptography",
                                              45)]
    assert refused[0].unprovided.startswith("some need it through a virtual package it "
                                            "provides or through a package of its own source")


@pytest.mark.parametrize(("op", "wanted", "met"), [
    ("", "", True), (">=", "1.8.1", True), (">>", "99.0", True), ("<<", "100", True),
    ("<=", "99.0-0repack1~deb12", True), ("=", "99.0-0repack1~deb12", True),
    ("=", "99.0", False), (">=", "1:1.0", False), ("<<", "99.0", False),
    (">", "99.0", True), ("<", "99.0", False), (":any", "", False), ("!=", "1", False),
])
def test_satisfies_is_policy_7_1s(op: str, wanted: str, met: bool) -> None:
    assert satisfies("99.0-0repack1~deb12", op, wanted) is met


def test_control_declares_provides(tmp_path: Path) -> None:
    taken, _ = same_project(found(["/usr/bin/alembic"], "python3-alembic"),
                            package="python3-alembic", project="alembic", archive=ARCHIVE,
                            version=NEWER)
    spec = dataclasses.replace(make_spec(), provides=takeover_provides(taken, NEWER))
    control = (render.render_debian(spec, tmp_path) / "control").read_text()
    assert list(Deb822.iter_paragraphs(control))[1]["Provides"] == f"alembic (= {NEWER})"


@pytest.mark.process
def test_a_built_file_of_a_needed_owner_needs_provides_too(tmp_path: Path) -> None:
    """After the build, a takeover from an owner other sources need is declared only with
    Replaces and Provides: Replaces alone is built again (undeclared_takeovers) and refused
    by the check; a build no newer than the archive's is refused, saying why."""
    image = write_image(tmp_path / "cache", ARCHIVE)
    deb = tiny_deb(tmp_path, "python3-alembic", ["usr/bin/alembic"])      # version 99.0
    assert [(t.owner, t.provides_for) for t in undeclared_takeovers(
        [deb], image, project="alembic", replaces={"alembic"})] == [
        ("alembic", ("python3-oslo.db", 23))]
    assert undeclared_takeovers([deb], image, project="alembic", replaces={"alembic"},
                                provides={"alembic"}) == []
    with pytest.raises(MappingError, match="python3-alembic would replace /usr/bin/alembic"):
        check_artifacts([deb], DEB12, image, project="alembic", replaces={"alembic"})
    check_artifacts([deb], DEB12, image, project="alembic", replaces={"alembic"},
                    provides={"alembic"})
    old = dataclasses.replace(deb, version="1.0")
    assert undeclared_takeovers([old], image, project="alembic") == []
    with pytest.raises(MappingError) as raised:
        check_artifacts([old], DEB12, image, project="alembic", replaces={"alembic"},
                        provides={"alembic"})
    assert "cannot provide alembic for them: 1.0 is not newer than alembic 1.8.1-2" in (
        raised.value.hint or "")


# Debian 12's records of the owners other sources depend on by name, and of a depender whose
# dependency runs through a package of the owner's own source.
BY_NAME = """Package: confget
Version: 4.1.1-1
Depends: libc6 (>= 2.34), libpcre2-8-0 (>= 10.22)

Package: python3-confget
Source: confget
Version: 4.1.1-1
Depends: python3-six, python3:any

Package: nsca
Version: 2.10.2-2
Depends: confget, debconf (>= 0.5) | debconf-2.0, lsb-base, nsca-client, libc6 (>= 2.34), \
libmcrypt4 (>= 2.5.8)
Pre-Depends: init-system-helpers (>= 1.54~)

Package: qemu-web-desktop
Version: 23.05.03-1
Depends: confget, libjs-jquery, qemu-system-x86

Package: alembic
Version: 1.8.1-2
Depends: python3-alembic (= 1.8.1-2), python3:any

Package: python3-alembic
Source: alembic
Version: 1.8.1-2
Depends: python3-mako, python3-sqlalchemy, python3:any

Package: python3-oslo.db
Source: python-oslo.db
Version: 12.3.1-2
Depends: alembic, python3-alembic, python3-debtcollector, python3-oslo.config, \
python3-sqlalchemy, python3:any

Package: python3-designate
Source: designate
Version: 1:15.0.0-2
Depends: alembic (>= 1.8.1), python3-oslo.db (>= 12.1.0), python3:any

Package: python3-nova
Source: nova
Version: 2:26.2.2-1~deb12u3
Depends: alembic (>= 1.5.0), python3-alembic, python3:any

Package: sympy-tool
Source: sympy
Version: 1.11.1-1
Depends: isympy-common (= 1.11.1-1)

Package: isympy-common
Source: sympy
Version: 1.11.1-1
Depends: python3:any

Package: python3-sympy
Source: sympy
Version: 1.11.1-1
Depends: python3:any

Package: sympy-gui
Version: 1.0-1
Depends: isympy-common, sympy-tool

Package: gunicorn
Source: gunicorn
Version: 20.1.0-6+deb12u1
Depends: python3-gunicorn (= 20.1.0-6+deb12u1), python3:any
Provides: gunicorn3, httpd-wsgi3

Package: python3-gunicorn
Source: gunicorn
Version: 20.1.0-6+deb12u1
Depends: python3-pkg-resources, python3-setuptools, python3:any

Package: lava-server
Version: 2023.01-2
Depends: adduser, gunicorn (>= 19.9.0-4) | gunicorn3, python3-django, python3:any (>= 3.6~)

Package: wsgi-app
Version: 1.0-1
Depends: gunicorn (>= 19), python3:any
"""


def test_read_archive_records_the_versions_dependers_need(tmp_path: Path) -> None:
    """confget: nsca and qemu-web-desktop, unversioned; alembic: by name, unversioned or >=;
    python3-cffi-backend (needed through its Provides, the records of the earlier test) and
    isympy-common (sympy-gui needs it by name, but also sympy-tool of its own source, which
    wants exactly 1.11.1-1 and would go) are left out."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "a_bookworm_main_binary-amd64_Packages").write_text(BY_NAME + "\n" + DEPENDS)
    (tmp_path / "map").write_text("confget python3-confget\nalembic python3-alembic\n"
                                  "cffi python3-cffi\nsympy python3-sympy\n"
                                  "gunicorn python3-gunicorn\n")
    index = images.read_archive(lists, tmp_path / "map")
    assert index.needed_by["confget"] == ("nsca", 2)
    assert index.needed_by["alembic"] == ("python3-oslo.db", 3)
    assert index.needed_by["isympy-common"] == ("sympy-gui", 1)
    assert "python3-cffi-backend" in index.needed_by
    assert index.needed_versions["confget"] == (("", ""),)
    assert index.needed_versions["alembic"] == (("", ""), (">=", "1.5.0"), (">=", "1.8.1"))
    assert "python3-cffi-backend" not in index.needed_versions
    assert "isympy-common" not in index.needed_versions
    # lava-server's clause names gunicorn beside its virtual gunicorn3: a Provides of
    # gunicorn meets it
    assert index.needed_versions["gunicorn"] == ((">=", "19"), (">=", "19.9.0-4"))
    assert images.relation_atoms("python3:any, a (>= 1) | b, c (<< 2:3~)") == {
        ("python3", ":any", ""), ("a", ">=", "1"), ("b", "", ""), ("c", "<<", "2:3~")}


def test_a_clause_met_only_through_a_virtual_package_provides_nothing() -> None:
    """A depender whose clause names only a virtual package the owner Provides (httpd-wsgi3)
    is met by no Provides of the owner's name; one naming both (lava-server) is."""
    provides = {"gunicorn": ["gunicorn3", "httpd-wsgi3"]}
    lava: set[images.Clause] = {(("gunicorn", ">=", "19.9.0-4"), ("gunicorn3", "", ""))}
    clauses = {"lava-server": lava, "gunicorn": set()}
    assert images.needed_versions(clauses, provides, {}, ["gunicorn"]) == {
        "gunicorn": ((">=", "19.9.0-4"),)}
    clauses["other-app"] = {(("httpd-wsgi3", "", ""),)}
    assert images.needed_versions(clauses, provides, {}, ["gunicorn"]) == {}
    assert images.relation_clauses("a (>= 1) | b, c") == {
        (("a", ">=", "1"), ("b", "", "")), (("c", "", ""),)}


def test_an_image_without_needed_versions_provides_nothing(tmp_path: Path) -> None:
    """An archive.json of archive index 4 (needed_by, no needed_versions): every owner other
    sources need stays refused, as before."""
    image = write_image(tmp_path, ARCHIVE)
    data = json.loads(image.archive_file.read_text())
    del data["needed_versions"]
    image.archive_file.write_text(json.dumps(data))
    assert images.load_archive(image).needed_versions == {}
    with pytest.raises(MappingError) as raised:
        check_scripts(["alembic"], "python3-alembic", DEB12, image, project="alembic",
                      version=NEWER)
    assert "cannot provide alembic for them: some need it through" in (raised.value.hint or "")
    assert [t.provides_for for t in check_scripts(
        ["alembic"], "python3-alembic", DEB12, write_image(tmp_path / "new", ARCHIVE),
        project="alembic", version=NEWER)] == [("python3-oslo.db", 23)]


@pytest.mark.process
def test_a_package_declared_in_conflicts_gives_its_files_up(tmp_path: Path) -> None:
    """Another build of python3-yaml's modules (as psycopg2-binary is of python3-psycopg2's)
    ships them when it conflicts with python3-yaml in the archive's version: apt removes
    that one first.  The refusal's hint says so; a versioned conflict the archive's
    python3-yaml escapes, or one on a base system package, lets nothing through."""
    image = write_image(tmp_path / "cache", ARCHIVE)
    deb = tiny_deb(tmp_path, "python3-yaml-fork",
                   ["usr/lib/python3/dist-packages/yaml/__init__.py"])
    with pytest.raises(MappingError) as e:
        check_artifacts([deb], DEB12, image, project="yaml-fork")
    assert e.value.hint is not None and e.value.hint.endswith(
        "if the package is another build of python3-yaml's modules, conflict with it (apt "
        'then removes it): conflicts = { deb = ["python3-yaml"] }')
    yaml = Relation(name=DebName("python3-yaml"), op=None, version=None)
    check_artifacts([deb], DEB12, image, project="yaml-fork", conflicts_with=[yaml])
    assert undeclared_takeovers([deb], image, project="yaml-fork", conflicts_with=[yaml]) == []
    older = Relation(name=DebName("python3-yaml"), op="<<", version=DebVersion("6.0"))
    with pytest.raises(MappingError, match="would replace /usr/lib/python3/dist-packages/yaml"):
        check_artifacts([deb], DEB12, image, project="yaml-fork", conflicts_with=[older])

    (tmp_path / "su").mkdir()
    su = tiny_deb(tmp_path / "su", "python3-evil-su", ["usr/bin/su"])
    util_linux = Relation(name=DebName("util-linux"), op=None, version=None)
    with pytest.raises(MappingError) as e:
        check_artifacts([su], DEB12, image, project="evil-su", conflicts_with=[util_linux])
    assert "conflicts" not in (e.value.hint or "")      # not a module: no such advice
