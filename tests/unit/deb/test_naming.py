"""repack.deb.naming: names, the PEP 440 -> Debian version scheme, relations, DebSpec."""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
import subprocess
from typing import Any

import pytest
from debian.debian_support import Version as DebianVersion
from examples import ARCHIVE, TARGET, deb_spec, project
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version
from pep440_strategies import respelled, specifiers, versions

from repack.deb.naming import (
    archive_epoch,
    deb_package_name,
    deb_source_name,
    deb_upstream_version,
    deb_version,
    map_requirement,
    python_relation,
    specifier_relations,
)
from repack.errors import MappingError
from repack.model import Alternatives, ArchiveIndex, DebName, Relation

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Policy 5.6.12: upstream_version chars, starting with a digit.
UPSTREAM_RE = re.compile(r"[0-9][A-Za-z0-9.+~]*")


def V(text: str) -> Version:
    return Version(text)


def text(groups: tuple[Alternatives, ...]) -> list[str]:
    return [" | ".join(map(str, g)) for g in groups]


def accepts(version: str, groups: tuple[Alternatives, ...]) -> bool:
    """Debian relation check done independently with python-debian's dpkg algorithm."""
    d = DebianVersion(version)

    def ok(r: Relation) -> bool:
        if r.op is None:
            return True
        b = DebianVersion(r.version)
        return {"<<": d < b, "<=": d <= b, "=": d == b, ">=": d >= b, ">>": d > b}[r.op]

    return all(any(ok(r) for r in g) for g in groups)


def cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


# --- names -------------------------------------------------------------------------------

def test_package_name_dist_map_wins() -> None:
    assert deb_package_name(NormalizedName("pyyaml"), TARGET, ARCHIVE) == "python3-yaml"
    assert deb_package_name(NormalizedName("django"), TARGET, ARCHIVE) == "python3-django"


def test_package_name_fallback_prefix_and_normalises() -> None:
    assert deb_package_name(NormalizedName("foo-bar"), TARGET, ARCHIVE) == "python3-foo-bar"
    assert deb_package_name(NormalizedName("Foo_Bar.baz"), TARGET, ARCHIVE) == "python3-foo-bar-baz"


def test_package_name_rejects_invalid_map_entry() -> None:
    bad = ArchiveIndex(dist_map={"foo": "Python3_Foo"})
    with pytest.raises(MappingError, match="not a valid Debian package name"):
        deb_package_name(NormalizedName("foo"), TARGET, bad, project="foo")


def test_source_name() -> None:
    assert deb_source_name(NormalizedName("django"), TARGET, ARCHIVE) == "python-django"
    assert deb_source_name(NormalizedName("pyyaml"), TARGET, ARCHIVE) == "python-yaml"
    assert deb_source_name(NormalizedName("new-thing"), TARGET, ARCHIVE) == "python-new-thing"
    assert deb_source_name(NormalizedName("twoping"), TARGET, ARCHIVE) == "python-twoping"


# --- versions ----------------------------------------------------------------------------

@pytest.mark.parametrize(("pep", "deb"), [
    ("1.0", "1.0"), ("1.0.0", "1.0.0"), ("0", "0"), ("0.0.0", "0.0.0"), ("1.16.0", "1.16.0"),
    ("1.0.1", "1.0.1"), ("1.0a1", "1~a1"), ("1.0b2", "1~b2"), ("1.0rc1", "1~rc1"),
    ("1.0.0rc1", "1~rc1"), ("1.0c1", "1~rc1"), ("1.0.dev1", "1~~dev1"),
    ("1.0.0.dev1", "1~~dev1"), ("1.0a1.dev1", "1~a1~dev1"), ("1.0.0a1.post1", "1~a1+post1"),
    ("1.0.post1", "1.0+post1"), ("1.0-1", "1.0+post1"), ("1.0.0.post1.dev2", "1.0.0+post1~dev2"),
    ("1.0+ubuntu.1", "1.0+LubuntuN1"), ("1.0+cu118", "1.0+LcuRRY"), ("2!1.0", "1.0"),
])
def test_upstream_version_examples(pep: str, deb: str) -> None:
    assert deb_upstream_version(V(pep)) == deb


def test_deb_version_epoch_and_suffix() -> None:
    assert deb_version(V("4.2"), distro_epoch=3, suffix="~deb12") == "3:4.2-0repack1~deb12"
    assert deb_version(V("4.2"), distro_epoch=0, suffix="~deb12") == "4.2-0repack1~deb12"
    assert deb_version(V("1!1.0"), distro_epoch=3, suffix="") == "4:1.0-0repack1"
    assert deb_version(V("1!1.0"), distro_epoch=0, suffix="~deb13") == "1:1.0-0repack1~deb13"
    assert deb_version(V("1.16.0"), distro_epoch=0, suffix="~deb12") == "1.16.0-0repack1~deb12"
    with pytest.raises(MappingError, match="suffix"):
        deb_version(V("1.0"), distro_epoch=0, suffix="-bad suffix", project="foo")


def test_archive_epoch() -> None:
    assert archive_epoch("python3-django", ARCHIVE) == 3
    assert archive_epoch("python3-asgiref", ARCHIVE) == 0
    assert archive_epoch("python3-missing", ARCHIVE) == 0


ORDERED = [
    "1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0a1.post1", "1.0b1", "1.0rc1", "1.0rc1+local",
    "1.0", "1.0+abc", "1.0+abc.1", "1.0+1", "1.0.post1.dev1", "1.0.post1", "1.0.post1+x",
    "1.0.post2", "1.0.0.1.dev0", "1.0.1a1", "1.0.1", "1.1", "1!0.1",
]


@pytest.mark.process
@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg")
def test_known_chain_with_real_dpkg() -> None:
    debs = [deb_version(V(v), distro_epoch=0, suffix="~deb12") for v in ORDERED]
    for lo, hi in itertools.pairwise(debs):
        run = subprocess.run(["dpkg", "--compare-versions", lo, "lt", hi], check=False)
        assert run.returncode == 0, (lo, hi)
    # a release keeps its spelling: Debian's python3-six 1.16.0-4 is compared on its revision
    six = deb_version(V("1.16.0"), distro_epoch=0, suffix="~deb12")
    for lo, hi in (("1.16-4", six), (six, "1.16.0-4"), ("1.16.0-4", "1.16.0.1-0repack1")):
        run = subprocess.run(["dpkg", "--compare-versions", lo, "lt", hi], check=False)
        assert run.returncode == 0, (lo, hi)


# --- hypothesis: the version scheme keeps PEP 440 order ----------------------------------

ANY_VERSION = versions() | versions(local=True)


@SETTINGS
@given(versions(), versions(), st.integers(0, 3))
@example(V("1.0.0a1"), V("1.0"), 0)
@example(V("1.0"), V("1.0.0"), 3)
@example(V("1.0.dev0"), V("1.0a0.dev0"), 0)
@example(V("1.0.post0"), V("1.0.0.1.dev0"), 0)
@example(V("1.0.0"), V("1.0.post1"), 0)
@example(V("1.0.0rc1"), V("1.0"), 0)
def test_version_order_matches_pep440(v1: Version, v2: Version, distro_epoch: int) -> None:
    """PEP 440 order, except between two spellings of one final or post release (1.0 and
    1.0.0, which PEP 440 calls equal, or 1.0.0 and 1.0.post1): one project never
    publishes both, and the longer spelling sorts after the shorter one's posts."""
    d1 = deb_version(v1, distro_epoch=distro_epoch, suffix="~deb12")
    d2 = deb_version(v2, distro_epoch=distro_epoch, suffix="~deb12")
    expected = cmp(len(v1.release), len(v2.release)) if respelled(v1, v2) else cmp(v1, v2)
    assert cmp(DebianVersion(d1), DebianVersion(d2)) == expected, (d1, d2)


@SETTINGS
@given(versions(local=True, max_part=1), ANY_VERSION)
@example(V("1.0+a"), V("1.0+a.0"))
@example(V("1.0+ab"), V("1.0+a.1"))
@example(V("1.0+a1"), V("1.0+a10"))
@example(V("1.0+a2"), V("1.0+a10"))
@example(V("1.0+z"), V("1.0.post0.dev0"))
def test_local_version_order_matches_pep440(v1: Version, v2: Version) -> None:
    d1 = deb_version(v1, distro_epoch=0, suffix="")
    d2 = deb_version(v2, distro_epoch=0, suffix="")
    expected = cmp(len(v1.release), len(v2.release)) if respelled(v1, v2) else cmp(v1, v2)
    assert cmp(DebianVersion(d1), DebianVersion(d2)) == expected, (d1, d2)


@SETTINGS
@given(ANY_VERSION)
def test_upstream_version_is_valid_policy_syntax(v: Version) -> None:
    up = deb_upstream_version(v)
    assert UPSTREAM_RE.fullmatch(up) and "-" not in up and ":" not in up


@pytest.mark.process
@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg")
@settings(max_examples=60, deadline=None)
@given(st.lists(ANY_VERSION, min_size=2, max_size=8), st.integers(0, 2))
def test_sorted_versions_agree_with_real_dpkg(vs: list[Version], distro_epoch: int) -> None:
    vs = sorted(vs)
    for lo, hi in itertools.pairwise(vs):
        if respelled(lo, hi):
            relation = "lt" if len(lo.release) < len(hi.release) else "gt"
        else:
            relation = "eq" if lo == hi else "lt"
        d_lo = deb_version(lo, distro_epoch=distro_epoch, suffix="~deb12")
        d_hi = deb_version(hi, distro_epoch=distro_epoch, suffix="~deb12")
        run = subprocess.run(["dpkg", "--compare-versions", d_lo, relation, d_hi], check=False)
        assert run.returncode == 0, (str(lo), str(hi), d_lo, relation, d_hi)


# --- relations ---------------------------------------------------------------------------

def rel_text(req: str, archive: ArchiveIndex = ARCHIVE) -> list[str]:
    return text(map_requirement(Requirement(req), TARGET, archive).relations)


@pytest.mark.parametrize(("req", "groups"), [
    ("asgiref<4,>=3.6.0", ["python3-asgiref (>= 3.6)", "python3-asgiref (<< 4~~)"]),
    ("sqlparse", ["python3-sqlparse"]),
    ("foo>=1.0", ["python3-foo (>= 1)"]),
    ("foo>1.0", ["python3-foo (>> 1.0.0.~)"]),
    ("foo>1.0a1", ["python3-foo (>> 1~a1.~)"]),
    ("foo>1.0.post1", ["python3-foo (>> 1+post1+post~)",
                       "python3-foo (<< 1.~) | python3-foo (>> 1.0+post1+post~)",
                       "python3-foo (<< 1.0.~) | python3-foo (>> 1.0.0+post1+post~)"]),
    ("foo<2.0rc1", ["python3-foo (<< 2~rc1)"]),
    ("foo<=2", ["python3-foo (<< 2+post~) | python3-foo (>= 2.0)",
                "python3-foo (<< 2.0+post~) | python3-foo (>= 2.0.0)",
                "python3-foo (<< 2.0.0+post~)"]),
    ("six==1.16", ["python3-six (>= 1.16)", "python3-six (<< 1.16+post~) | python3-six (>= 1.16.0)",
                   "python3-six (<< 1.16.0+post~) | python3-six (>= 1.16.0.0)",
                   "python3-six (<< 1.16.0.0+post~)"]),
    ("foo!=2.0", ["python3-foo (<< 2) | python3-foo (>> 2+post~)",
                  "python3-foo (<< 2.0) | python3-foo (>> 2.0+post~)",
                  "python3-foo (<< 2.0.0) | python3-foo (>> 2.0.0+post~)"]),
    ("foo==1.2rc1", ["python3-foo (>= 1.2~rc1)", "python3-foo (<< 1.2~rc1+post~)"]),
    ("foo==1.4.*", ["python3-foo (>= 1.4~~)", "python3-foo (<< 1.5~~)"]),
    ("foo!=1.4.*", ["python3-foo (<< 1.4~~) | python3-foo (>= 1.5~~)"]),
    ("foo~=2.2", ["python3-foo (>= 2.2)", "python3-foo (<< 3~~)"]),
    ("foo~=1.4.5", ["python3-foo (>= 1.4.5)", "python3-foo (<< 1.5~~)"]),
    ("foo>=1.0.post1", ["python3-foo (>= 1+post1)",
                        "python3-foo (<< 1.~) | python3-foo (>= 1.0+post1)",
                        "python3-foo (<< 1.0.~) | python3-foo (>= 1.0.0+post1)"]),
    ("foo>=1!2.0", ["python3-foo (>= 1:2)"]),
])
def test_relation_mapping(req: str, groups: list[str]) -> None:
    assert rel_text(req) == groups


def test_dependency_epoch_is_prefixed() -> None:
    mapped = map_requirement(Requirement("django>=4.0"), TARGET, ARCHIVE)
    assert text(mapped.relations) == ["python3-django (>= 3:4)"]
    assert not mapped.satisfied  # 3:3.2.25 is Django 3.2
    assert not accepts("3:3.2.25-0+deb12u7", mapped.relations)
    assert accepts("3:4.2-0repack1~deb12", mapped.relations)
    assert map_requirement(Requirement("django<4"), TARGET, ARCHIVE).satisfied


def test_less_than_excludes_prereleases_of_the_bound() -> None:
    groups = map_requirement(Requirement("asgiref<4"), TARGET, ARCHIVE).relations
    for bad in ("4.0~rc1-1", "4.0-1", "4~~dev0-0repack1", "4~a1-0repack1"):
        assert not accepts(bad, groups), bad
    assert accepts("3.9.9-1", groups)


@pytest.mark.parametrize("have", ["1.5-0repack1~deb12", "1.5-1", "1.5+dfsg-2", "1.5+ds1-1"])
def test_pin_is_satisfiable_by_usual_debian_versions(have: str) -> None:
    groups = map_requirement(Requirement("foo==1.5"), TARGET, ARCHIVE).relations
    assert accepts(have, groups)
    assert not accepts("1.5+post1-0repack1", groups) and not accepts("1.5.1-1", groups)
    assert not accepts(have, map_requirement(Requirement("foo!=1.5"), TARGET, ARCHIVE).relations)


def test_greater_than_excludes_post_releases_of_the_bound() -> None:
    groups = map_requirement(Requirement("foo>1.0"), TARGET, ARCHIVE).relations
    assert not accepts("1.0-1", groups) and not accepts("1+post3-0repack1", groups)
    assert accepts("1.0.1-1", groups) and accepts("1.0.0.1-0repack1", groups)


def test_arbitrary_equality_raises_naming_requirement_and_target() -> None:
    with pytest.raises(MappingError) as err:
        map_requirement(Requirement("foo===1.0"), TARGET, ARCHIVE, project="bar")
    assert "foo===1.0" in str(err.value) and TARGET.name in str(err.value)
    assert err.value.project == "bar" and err.value.exit_code == 7
    with pytest.raises(MappingError):
        deb_spec(project(requires_dist=(Requirement("foo===1.0"),)))


@pytest.mark.parametrize(("have", "req", "ok"), [
    ("3.6.0-1", "asgiref>=3.6", True),
    ("3.6.0-1", "asgiref>3.6", False),
    ("3.6.0-1", "asgiref==3.6.0", True),
    ("3.6.0-1", "asgiref<=3.6.0", True),
    ("3.6.0-1", "asgiref!=3.6.0", False),
    ("3.6-1", "asgiref==3.6.0", True),
    ("3.6.0-1", "asgiref==3.6", True),   # spelled otherwise than the pin: the same release
    ("3.6.0+post1-1", "asgiref==3.6", False),
    ("3.6.0.0.0-1", "asgiref==3.6", False),  # beyond SPELLED_ZEROS: conservative
    ("2.0+dfsg-1", "asgiref>=2,<3", True),
    ("2.0~ds1-1", "asgiref>=2", True),
    ("4.0~rc1-1", "asgiref>=4.0rc1", True),
    ("4.0~rc1-1", "asgiref>=4.0", False),
    ("1:2.0-1", "asgiref>=2", True),
    ("weird_version-1", "asgiref>=1", False),
    ("weird_version-1", "asgiref", True),
])
def test_satisfied_by_archive(have: str, req: str, ok: bool) -> None:
    archive = ArchiveIndex(packages={"python3-asgiref": have}, dist_map=ARCHIVE.dist_map)
    assert map_requirement(Requirement(req), TARGET, archive).satisfied is ok


def test_unmapped_and_url_requirements_are_not_satisfied() -> None:
    assert not map_requirement(Requirement("nothere>=1"), TARGET, ARCHIVE).satisfied
    url = Requirement("sqlparse @ https://x.example/s.tgz")
    assert not map_requirement(url, TARGET, ARCHIVE).satisfied


# --- hypothesis: mapped relations admit exactly what the specifier admits ----------------

SMALL = versions(max_part=2)


@settings(max_examples=600, deadline=None)
@given(specifiers(local=True), SMALL | versions(local=True, max_part=2), st.integers(0, 3))
@example(">1.0", V("1.0.post1"), 0)
@example(">1.0", V("1.0+x"), 0)
@example(">1.0a1", V("1.0a1.post0.dev1"), 3)
@example("<1.0", V("1.0.dev0"), 0)
@example("<1.0.post1", V("1.0.post1.dev0"), 0)
@example("<1.0.post1", V("1.0a1"), 0)
@example("<=1.0", V("1.0+abc"), 0)
@example("==1.0", V("1.0.0+abc"), 0)
@example("!=1.0+a", V("1.0+a.0"), 0)
@example("~=1.0", V("2.0.dev0"), 1)
@example("==1.*", V("1!1.0"), 0)
def test_relations_agree_with_specifier(text_: str, candidate: Version, epoch: int) -> None:
    specifier = SpecifierSet(text_)
    groups = specifier_relations(DebName("python3-foo"), specifier, epoch=epoch)
    deb = deb_version(candidate, distro_epoch=epoch, suffix="~deb12")
    expected = specifier.contains(candidate, prereleases=True)
    assert accepts(deb, groups) is expected, (text_, str(candidate), deb, text(groups))


# --- python relation ---------------------------------------------------------------------

def test_python_relation() -> None:
    assert text(python_relation(None, TARGET)) == ["python3"]
    assert text(python_relation(SpecifierSet(">=3.8"), TARGET)) == ["python3 (>= 3.8)"]
    assert text(python_relation(SpecifierSet(">=3.7,<4"), TARGET)) == [
        "python3 (>= 3.7)", "python3 (<< 4~~)"]
    groups = python_relation(SpecifierSet(">=2.7,!=3.0.*"), TARGET)
    assert accepts(ARCHIVE.packages["python3"], groups)


def test_python_relation_rejects_target_python() -> None:
    with pytest.raises(MappingError, match="3.11.2") as err:
        python_relation(SpecifierSet(">=3.12"), TARGET, project="newthing")
    assert err.value.project == "newthing"
    with pytest.raises(MappingError) as err2:
        deb_spec(project(requires_python=SpecifierSet("<3.11")))
    assert err2.value.project == "django"


# --- the whole DebSpec -------------------------------------------------------------------

def test_django_spec() -> None:
    s = deb_spec(project())
    assert s.binary_name == "python3-django" and s.source_name == "python-django"
    assert s.version == "3:4.2-0repack1~deb12" and s.epoch == 3
    assert s.upstream_version == "4.2" and s.target_id == "debian-12"
    assert text(s.depends) == [
        "python3 (>= 3.8)", "python3-asgiref (>= 3.6)", "python3-asgiref (<< 4~~)",
        "python3-sqlparse (>= 0.3.1)",
    ]
    flat = " ".join(text(s.depends))
    assert "backports" not in flat and "tzdata" not in flat
    assert "argon2" not in flat and "bcrypt" not in flat
    assert text(s.suggests) == ["python3-argon2-cffi", "python3-bcrypt"]    # unversioned
    assert s.unsatisfied == ()
    assert text(s.build_depends) == [
        "debhelper-compat (= 13)", "dh-sequence-python3", "python3-all",
        "pybuild-plugin-pyproject", "python3-setuptools (>= 40.8)",
    ]
    assert s.architecture == "all" and s.provides == () and s.recommends == ()
    assert s.license == "BSD-3-Clause" and s.license_text == ""
    assert s.copyright == "Django Software Foundation"
    assert s.homepage == "https://www.djangoproject.com/"
    assert s.upstream_name == "Django" and s.summary.startswith("A high-level")
    assert s.source_url.endswith("django-4.2.tar.gz")
    assert s.changelog.version == s.version and s.changelog.distribution == "bookworm"
    assert s.changelog.urgency == "medium" and s.changelog.maintainer.startswith("Repack")
    assert s.changelog.changes == (
        "Repackaged django 4.2 from the upstream sdist by repack.",)


def test_unsatisfied_runtime_stays_in_depends_build_is_dropped() -> None:
    p = project(
        name=NormalizedName("newpkg"), display_name="NewPkg", version=V("1.0.0"),
        requires_dist=(Requirement("django>=4.0"), Requirement("sqlparse>=0.3.1")),
        build_requires=(Requirement("setuptools>=61"), Requirement("hatchling>=1.18"),
                        Requirement('tomli; python_version < "3.11"')),
        has_native_code=True,
    )
    s = deb_spec(p)
    assert s.version == "1.0.0-0repack1~deb12" and s.epoch == 0
    assert "python3-django (>= 3:4)" in text(s.depends)
    assert s.unsatisfied == ("django>=4.0", "hatchling>=1.18")
    assert "python3-all-dev" in text(s.build_depends)
    assert not any("hatchling" in t or "tomli" in t for t in text(s.build_depends))
    assert s.architecture == "any"


def test_extra_only_requirements_never_reach_depends() -> None:
    reqs = (Requirement('pyyaml; extra == "yaml" and python_version >= "3"'),
            Requirement('sqlparse; extra == "sql" or python_version >= "3"'),
            Requirement('ghost; extra == "undeclared"'))
    s = deb_spec(project(requires_dist=reqs, provides_extra=("yaml",)))
    assert text(s.suggests) == ["python3-yaml"]
    assert "python3-sqlparse" in text(s.depends)
    assert "ghost" not in " ".join(text(s.depends) + text(s.suggests))


def test_metadata_fallbacks() -> None:
    s = deb_spec(project(license=None, license_expression=None, author=None, author_email=None,
                         home_page=None, project_urls=(("Source", "https://src.example/x"),
                                                       ("Home-page", "https://home.example/"))))
    assert s.license == "UNKNOWN" and s.copyright == "Django authors"
    assert s.homepage == "https://home.example/"
    s2 = deb_spec(project(home_page="UNKNOWN",
                          project_urls=(("Source Code", "https://src.example/x"),),
                          license_expression="MIT", license="Some long text\nwith lines"))
    assert s2.homepage == "https://src.example/x" and s2.license == "MIT"
    s3 = deb_spec(project(home_page=None, project_urls=(("Docs", "https://docs.example/"),)))
    assert s3.homepage is None


def test_changelog_never_carries_upstream_text() -> None:
    s = deb_spec(project(summary="$(rm -rf /)", display_name="Evil\nName"))
    assert s.changelog.changes == ("Repackaged django 4.2 from the upstream sdist by repack.",)


def test_spec_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        deb_spec(project()).epoch = 9  # type: ignore[misc]


def test_suggests_are_unversioned_and_within_lintians_field_limit() -> None:
    """jedi's `docs` extra pins 25 projects with `==`: versioned, its Suggests was 6,643
    characters (lintian: field-too-long); unversioned and deduplicated it is short, and an
    extra naming more than fits is cut with a reason."""
    pins = [Requirement(f'pkg{i}==1.0.{i}; extra == "docs"') for i in range(25)]
    spec = deb_spec(project(requires_dist=(*pins, Requirement('pkg0; extra == "dev"')),
                            provides_extra=("dev", "docs")))
    assert text(spec.suggests) == [f"python3-pkg{i}" for i in range(25)]
    assert spec.left_out == ()
    spec = deb_spec(project(provides_extra=("all",), requires_dist=tuple(
        Requirement(f'a-rather-long-project-name-number-{i}; extra == "all"')
        for i in range(300))))
    field = ", ".join(text(spec.suggests))
    assert 4000 < len(field) <= 5000
    (why,) = spec.left_out
    assert why.startswith(f"{300 - len(spec.suggests)} extras' requirement(s), from "
                          f"python3-a-rather-long-project-name-number-{len(spec.suggests)} on,")
