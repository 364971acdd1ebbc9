"""repack.rpm.naming: RPM names, the PEP 440 -> RPM version scheme, python3dist relations.

Order is checked against rpm's own rpmvercmp: a pure-Python port (fast enough for
hypothesis) that is itself checked against the real `rpm` on thousands of pairs in one call.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from examples import EL9, FEDORA, project
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version
from pep440_strategies import specifiers, version_text, versions

from repack import targets
from repack.errors import MappingError
from repack.model import Project, RpmSpec, Target
from repack.rpm.naming import (
    dist_name,
    has_caret,
    make_rpm_spec,
    rpm_build_requires,
    rpm_name,
    rpm_package_version,
    rpm_provides,
    rpm_requirement,
    rpm_requires,
    rpm_suggests,
    rpm_upstream_version,
    rpm_version,
    specifier_dependency,
)
from repack.rpm.vercmp import rpmvercmp

DEBIAN = targets.load("debian-12")


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
needs_rpm = pytest.mark.skipif(shutil.which("rpm") is None, reason="needs rpm (apt install rpm)")


def V(text: str) -> Version:
    return Version(text)


def spec(p: Project, target: Target = EL9) -> RpmSpec:
    return make_rpm_spec(
        p, sdist_filename=f"Django-{p.version}.tar.gz",
        source_url=f"https://files.example/Django-{p.version}.tar.gz", target=target,
        packager="Repack <repack@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000",
    )


# --- rpm's comparison: repack.rpm.vercmp (a port of rpmio/rpmvercmp.c), checked against rpm --


def split_evr(evr: str) -> tuple[int, str, str | None]:
    epoch, _, rest = evr.rpartition(":")
    version, _, release = rest.partition("-")
    return int(epoch or 0), version, release or None


def label_compare(a: str, b: str) -> int:
    """rpm's EVR comparison: epoch (missing = 0), version, then release if both have one."""
    ea, va, ra = split_evr(a)
    eb, vb, rb = split_evr(b)
    if ea != eb:
        return 1 if ea > eb else -1
    if c := rpmvercmp(va, vb):
        return c
    return rpmvercmp(ra, rb) if ra is not None and rb is not None else 0


def real_vercmp(pairs: list[tuple[str, str]], tmp: Path) -> list[int]:
    """rpm.vercmp of every pair in ONE rpm process (its embedded Lua)."""
    for s in itertools.chain.from_iterable(pairs):
        assert re.fullmatch(r"[A-Za-z0-9.~^+_]*", s), s
    chunk = tmp / "vercmp.lua"
    body = ",\n".join(f'{{"{x}","{y}"}}' for x, y in pairs)
    chunk.write_text(f"local out = {{}}\nfor _, p in ipairs({{\n{body}\n}}) do\n"
                     "  out[#out + 1] = rpm.vercmp(p[1], p[2])\nend\n"
                     'print(table.concat(out, " "))\n')
    out = subprocess.run(["rpm", "--eval", f"%{{lua: dofile('{chunk}')}}"], check=True,
                         capture_output=True, text=True).stdout.split()
    assert len(out) == len(pairs)
    return [int(x) for x in out]


def cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


# --- names -------------------------------------------------------------------------------

def test_names() -> None:
    assert rpm_name(NormalizedName("django"), EL9) == "python3-django"
    assert rpm_name(NormalizedName("Foo_Bar.baz"), EL9) == "python3-foo-bar-baz"
    assert dist_name("Zope.Interface") == "python3dist(zope-interface)"
    assert dist_name("asgiref", "3.9") == "python3.9dist(asgiref)"


# --- versions ----------------------------------------------------------------------------

@pytest.mark.parametrize(("pep", "rpm"), [
    ("1.0", "1"), ("1.0.0", "1"), ("0", "0"), ("1.2.0", "1.2"), ("1.0.1", "1.0.1"),
    ("1.0a1", "1~a1"), ("1.0b2", "1~b2"), ("1.0rc1", "1~rc1"), ("1.0c1", "1~rc1"),
    ("1.0.dev1", "1~~dev1"), ("1.0a1.dev1", "1~a1~dev1"), ("1.0.post1", "1^post1"),
    ("1.0-1", "1^post1"), ("1.0.post1.dev2", "1^post1~dev2"), ("1.0a1.post1", "1~a1^post1"),
    ("2!1.0", "1"), ("4.2", "4.2"),
])
def test_upstream_version_examples(pep: str, rpm: str) -> None:
    assert rpm_upstream_version(V(pep)) == rpm


@pytest.mark.parametrize(("pep", "fedora"), [
    ("1.0", "1"), ("1.2.0", "1.2"), ("1.0rc1", "1~rc1"), ("1.0b2", "1~b2"),
    ("1.0.dev3", "1~~dev3"), ("1.0.post2", "1^post2"), ("3.6.0", "3.6"),
])
def test_same_as_fedora_pythondistdeps_for_simple_versions(pep: str, fedora: str) -> None:
    """pythondistdeps.py's RpmVersion gives these: Fedora's requirements match our provides."""
    assert rpm_upstream_version(V(pep)) == fedora


def test_rpm_version_evr() -> None:
    assert rpm_version(V("4.2"), suffix=".el9") == (0, "4.2", "0.repack1.el9")
    assert str(rpm_version(V("4.2"), suffix=".el9")) == "4.2-0.repack1.el9"
    evr = rpm_version(V("1!2.0rc1"), suffix=".fc42")
    assert evr == (1, "2~rc1", "0.repack1.fc42") and str(evr) == "1:2~rc1-0.repack1.fc42"
    assert evr.epoch == 1 and evr.version == "2~rc1" and evr.release == "0.repack1.fc42"
    with pytest.raises(MappingError, match="suffix"):
        rpm_version(V("1.0"), suffix="-bad", project="foo")


def test_local_versions_are_refused() -> None:
    with pytest.raises(MappingError, match="local version") as err:
        rpm_version(V("1.0+ubuntu1"), suffix=".el9", project="foo")
    assert err.value.project == "foo" and err.value.exit_code == 7
    with pytest.raises(MappingError, match="local"):
        rpm_requirement(Requirement("foo==1.0+abc"))


def test_caret_needs_rpm_415() -> None:
    assert has_caret(EL9) and has_caret(FEDORA)
    assert not has_caret(dataclasses.replace(EL9, rpm_version="4.14"))
    with pytest.raises(MappingError, match="4.15"):
        rpm_version(V("1.0.post1"), caret=False)
    assert rpm_version(V("1.0rc1"), caret=False).version == "1~rc1"
    with pytest.raises(MappingError, match="4.15"):
        specifier_dependency("x", SpecifierSet(">1.0"), caret=False)


def test_release_sorts_below_distribution_build() -> None:
    ours = str(rpm_version(V("4.2"), suffix=".el9"))
    assert label_compare(ours, "4.2-1.el9") < 0
    assert label_compare(ours, "4.1-1.el9") > 0
    assert label_compare(ours, str(rpm_version(V("4.2"), suffix=".fc42"))) < 0


ORDERED = [
    "1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0a1.post1.dev1", "1.0a1.post1", "1.0b1", "1.0rc1",
    "1.0", "1.0.post1.dev1", "1.0.post1", "1.0.post2", "1.0.0.1.dev0", "1.0.1a1", "1.0.1",
    "1.1", "1!0.1",
]


def evr(v: Version) -> str:
    return str(rpm_version(v, suffix=".el9"))


@pytest.mark.process
@needs_rpm
def test_known_chain_with_real_rpm(tmp_path: Path) -> None:
    vs = [rpm_version(V(v), suffix=".el9") for v in ORDERED]
    # epoch first (as labelCompare does), then version, then release
    pairs = [(a.version, b.version) for a, b in itertools.pairwise(vs) if a.epoch == b.epoch]
    assert all(c == -1 for c in real_vercmp(pairs, tmp_path)), pairs
    assert [evr(V(x)) for x in ORDERED] == sorted(
        (evr(V(x)) for x in ORDERED), key=functools.cmp_to_key(label_compare))


@pytest.mark.process
@needs_rpm
def test_python_rpmvercmp_port_agrees_with_real_rpm(tmp_path: Path) -> None:
    """The port used by the property tests, against rpm itself on ~6000 pairs: our versions,
    the bounds the relations use (~~, ^0), and odd strings."""
    rnd = random.Random(440)
    pool: list[str] = ["1", "1.0", "1~", "1~~", "1^", "1^0", "1.~", "a", "1a", "1.a", "01", "1.01",
                       "1_1", "1+x", "1^post1+x", "~", "^", "x", "1..1", "1a1b", "10", "9"]
    for _ in range(300):
        m = rpm_upstream_version(_random_version(rnd))
        pool += [m, m + "~~", m + "^0", m + "~"]
    pairs = [(rnd.choice(pool), rnd.choice(pool)) for _ in range(6000)]
    pairs += [(x, y) for x in pool[:22] for y in pool[:22]]
    real = real_vercmp(pairs, tmp_path)
    wrong = [(x, y, r, rpmvercmp(x, y)) for (x, y), r in zip(pairs, real, strict=True)
             if rpmvercmp(x, y) != r]
    assert not wrong, wrong[:10]


def _random_version(rnd: random.Random) -> Version:
    pre = rnd.choice([None, ("a", rnd.randint(0, 2)), ("b", 1), ("rc", rnd.randint(0, 2))])
    post = rnd.choice([None, None, rnd.randint(0, 2)])
    dev = rnd.choice([None, None, rnd.randint(0, 2)])
    release = [rnd.randint(0, 2) for _ in range(rnd.randint(1, 4))]
    return V(version_text(0, release, pre, post, dev))


@SETTINGS
@given(versions(), versions())
@example(V("1.0.0a1"), V("1.0"))
@example(V("1.0"), V("1.0.0"))
@example(V("1.0.dev0"), V("1.0a0.dev0"))
@example(V("1.0.post0"), V("1.0.0.1.dev0"))
@example(V("1.0a1.post0"), V("1.0a1.post0.dev1"))
@example(V("1.16.0"), V("1.16.0.post1"))
@example(V("1.0.0"), V("1.0.post1"))
@example(V("1.0.0rc1"), V("1.0"))
def test_version_order_matches_pep440(v1: Version, v2: Version) -> None:
    """PEP 440 order, except between two spellings of one final or post release (1.0 and
    1.0.0, which PEP 440 calls equal, or 1.0.0 and 1.0.post1): one project never
    publishes both, and the longer spelling sorts after the shorter one's posts."""
    ours = cmp(label_compare(evr(v1), evr(v2)), 0)
    if respelled(v1, v2):
        assert ours == cmp(len(v1.release), len(v2.release)), (evr(v1), evr(v2))
    else:
        assert ours == cmp(v1, v2), (evr(v1), evr(v2))


def respelled(a: Version, b: Version) -> bool:
    """Final or post releases of one release written with other trailing zeros."""
    def kept(v: Version) -> bool:      # rpm_package_version keeps the spelling of these
        return v.pre is None and (v.dev is None or v.post is not None)
    return (kept(a) and kept(b) and a.epoch == b.epoch and a.release != b.release
            and _padded(a.release, b.release) == _padded(b.release, a.release))


def _padded(r: tuple[int, ...], other: tuple[int, ...]) -> tuple[int, ...]:
    return r + (0,) * max(0, len(other) - len(r))


def test_the_package_version_keeps_the_release_as_published() -> None:
    assert [rpm_package_version(V(t)) for t in (
        "1.16.0", "1.16", "1.0.0.post1", "1.0.0.post1.dev2", "1.0.0rc1", "1.0.0.dev1",
        "2!1.0.0")] == ["1.16.0", "1.16", "1.0.0^post1", "1.0.0^post1~dev2", "1~rc1",
                        "1~~dev1", "1.0.0"]
    six = make_rpm_spec(project(version=V("1.16.0")), sdist_filename="six-1.16.0.tar.gz",
                        source_url="https://files.example/six-1.16.0.tar.gz", target=EL9,
                        packager="R <r@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000")
    assert (six.version, six.release) == ("1.16.0", "0.repack1.el9")
    # dependencies are on the provides, which PEP 440's equality keeps stripped
    assert six.provides[0].endswith(" = 1.16")


@pytest.mark.process
@needs_rpm
@settings(max_examples=25, deadline=None)
@given(st.lists(versions(max_epoch=0), min_size=2, max_size=40))
def test_sorted_versions_agree_with_real_rpm(vs: list[Version]) -> None:
    vs = sorted(vs)
    pairs = [(rpm_upstream_version(a), rpm_upstream_version(b)) for a, b in itertools.pairwise(vs)]
    expected = [cmp(a, b) for a, b in itertools.pairwise(vs)]
    with tempfile.TemporaryDirectory() as tmp:
        assert real_vercmp(pairs, Path(tmp)) == expected, list(zip(pairs, expected, strict=True))


@settings(max_examples=100, deadline=None)
@given(versions())
def test_version_is_valid_rpm_syntax(v: Version) -> None:
    e, ver, rel = rpm_version(v, suffix=".el9")
    assert re.fullmatch(r"[0-9][A-Za-z0-9.~^+_]*", ver) and "-" not in ver
    assert re.fullmatch(r"[A-Za-z0-9.~^+_]+", rel) and e == v.epoch


# --- relations ---------------------------------------------------------------------------

@pytest.mark.parametrize(("req", "dep"), [
    ("asgiref<4,>=3.6.0", "(python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)"),
    ("sqlparse", "python3dist(sqlparse)"),
    ("Foo_Bar>=1.0", "python3dist(foo-bar) >= 1"),
    ("foo>1.0", "python3dist(foo) > 1^0"),
    ("foo>1.0.post1", "python3dist(foo) > 1^post1"),
    ("foo>1.0.dev1", "python3dist(foo) > 1~~dev1"),
    ("foo<2.0rc1", "python3dist(foo) < 2~rc1"),
    ("foo<2", "python3dist(foo) < 2~~"),
    ("foo<=2.0", "python3dist(foo) <= 2"),
    ("foo==1.2.0", "python3dist(foo) = 1.2"),
    ("foo!=1.5", "(python3dist(foo) < 1.5 or python3dist(foo) > 1.5)"),
    ("foo==1.4.*", "(python3dist(foo) >= 1.4~~ with python3dist(foo) < 1.5~~)"),
    ("foo!=1.4.*", "(python3dist(foo) < 1.4~~ or python3dist(foo) >= 1.5~~)"),
    ("foo~=2.2", "(python3dist(foo) >= 2.2 with python3dist(foo) < 3~~)"),
    ("foo~=1.4.5", "(python3dist(foo) >= 1.4.5 with python3dist(foo) < 1.5~~)"),
    ("foo>=1!2.0", "python3dist(foo) >= 1:2"),
    ("foo[bar]>=1", "python3dist(foo) >= 1"),
    ("foo>=1,!=1.5,<2", ("(python3dist(foo) >= 1 with (python3dist(foo) < 1.5 or "
                         "python3dist(foo) > 1.5) with python3dist(foo) < 2~~)")),
])
def test_requirement_mapping(req: str, dep: str) -> None:
    assert rpm_requirement(Requirement(req)) == dep


def test_arbitrary_equality_raises_naming_requirement() -> None:
    with pytest.raises(MappingError) as err:
        rpm_requirement(Requirement("foo===1.0"), project="bar")
    assert "foo===1.0" in str(err.value) and err.value.project == "bar"
    with pytest.raises(MappingError):
        spec(project(requires_dist=(Requirement("foo===1.0"),)))


def _tokens(text: str) -> list[str]:
    return re.findall(r"\(|\)|[^\s()]+(?:\([^\s()]*\))?", text)


def rpm_accepts(dep: str, provides: dict[str, str]) -> bool:
    """Evaluate a (rich) dependency against provided name -> "[E:]V", as rpm would."""
    toks = _tokens(dep)
    pos = 0

    def simple() -> bool:
        nonlocal pos
        name = toks[pos]
        pos += 1
        if pos < len(toks) and toks[pos] in ("<", "<=", "=", ">=", ">"):
            op, ver = toks[pos], toks[pos + 1]
            pos += 2
            if name not in provides:
                return False
            c = label_compare(provides[name], ver)
            return (c < 0 and "<" in op) or (c > 0 and ">" in op) or (c == 0 and "=" in op)
        return name in provides

    def expr() -> bool:
        nonlocal pos
        if toks[pos] != "(":
            return simple()
        pos += 1
        values, ops = [expr()], set()
        while toks[pos] != ")":
            ops.add(toks[pos])
            pos += 1
            values.append(expr())
        pos += 1
        assert len(ops) <= 1 and ops <= {"with", "or"}, dep
        return any(values) if ops == {"or"} else all(values)

    result = expr()
    assert pos == len(toks), dep
    return result


@settings(max_examples=400, deadline=None)
@given(st.lists(specifiers(max_epoch=1), min_size=1, max_size=3), versions(max_part=2, max_epoch=1))
@example([">1.0"], V("1.0.post1"))
@example([">1.0"], V("1.0.0.1.dev0"))
@example([">1.0a1"], V("1.0a1.post0.dev1"))
@example(["<1.0"], V("1.0.dev0"))
@example(["<1.0.post1"], V("1.0.post1.dev0"))
@example(["<1.0.post1"], V("1.0a1"))
@example(["~=1.0"], V("2.0.dev0"))
@example(["==1.*"], V("1!1.0"))
@example([">=1", "!=1.5", "<2"], V("1.5.0"))
def test_relations_agree_with_specifier(texts: list[str], candidate: Version) -> None:
    specifier = SpecifierSet(",".join(texts))
    dep = specifier_dependency("python3dist(foo)", specifier)
    provided = rpm_upstream_version(candidate)
    provided = f"{candidate.epoch}:{provided}" if candidate.epoch else provided
    expected = specifier.contains(candidate, prereleases=True)
    assert rpm_accepts(dep, {"python3dist(foo)": provided}) is expected, (dep, provided)


def test_fedora_provided_versions_meet_django_requirements() -> None:
    """Fedora's own python3-asgiref 3.7.2 provides python3dist(asgiref) = 3.7.2."""
    reqs = rpm_requires(project(), EL9)
    asgiref = next(r for r in reqs if "asgiref" in r)
    assert rpm_accepts(asgiref, {"python3dist(asgiref)": "3.7.2"})
    assert not rpm_accepts(asgiref, {"python3dist(asgiref)": "4~rc1"})
    assert not rpm_accepts(asgiref, {"python3dist(asgiref)": "3.5.2"})


# --- the whole spec ----------------------------------------------------------------------

def test_django_spec() -> None:
    s = spec(project())
    assert s.name == "python3-django" and s.target_id == EL9.id
    assert (s.epoch, s.version, s.release) == (0, "4.2", "0.repack1.el9")
    assert s.requires == (
        "python(abi) = 3.9",
        "(python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)",
        "python3dist(sqlparse) >= 0.3.1",
    )
    flat = " ".join(s.requires)
    assert "backports" not in flat and "tzdata" not in flat
    assert "argon2" not in flat and "bcrypt" not in flat
    assert s.suggests == ("python3dist(argon2-cffi) >= 19.1", "python3dist(bcrypt)")
    assert s.provides == ("python3dist(django) = 4.2", "python3.9dist(django) = 4.2")
    assert s.build_requires[-1] == "python3dist(setuptools) >= 40.8"
    assert "python3-devel" in s.build_requires and "gcc" not in s.build_requires
    assert s.buildarch == "noarch" and s.console_scripts == ("django-admin",)
    assert s.source0 == "Django-4.2.tar.gz" and s.source_dir == "Django-4.2"
    assert s.license == "BSD-3-Clause" and s.url == "https://www.djangoproject.com/"
    assert s.python_version == "3.9" and s.packager == "Repack <repack@example.org>"
    assert s.changelog.evr == "4.2-0.repack1.el9"
    assert s.changelog.changes == ("Repackaged django 4.2 from the upstream sdist by repack.",)


def test_fedora_target_and_backports_marker() -> None:
    s = spec(project(requires_dist=(Requirement('tomli>=1.1; python_version < "3.11"'),
                                    Requirement('exceptiongroup; python_version < "3.11"'))))
    assert s.requires == ("python(abi) = 3.9", "python3dist(tomli) >= 1.1",
                          "python3dist(exceptiongroup)")
    f = spec(project(requires_dist=(Requirement('tomli>=1.1; python_version < "3.11"'),)), FEDORA)
    assert f.requires == ("python(abi) = 3.13",) and f.release == "0.repack1.fc42"
    assert f.provides[1] == "python3.13dist(django) = 4.2"


def test_requires_python_excluding_target_raises() -> None:
    with pytest.raises(MappingError, match="3.9") as err:
        spec(project(requires_python=SpecifierSet(">=3.10")))
    assert err.value.project == "django"
    assert rpm_requires(project(requires_python=SpecifierSet(">=3.10")), FEDORA)[0] == (
        "python(abi) = 3.13")


def test_extra_only_requirements_never_reach_requires() -> None:
    reqs = (Requirement('pyyaml; extra == "yaml" and python_version >= "3"'),
            Requirement('sqlparse; extra == "sql" or python_version >= "3"'),
            Requirement('ghost; extra == "undeclared"'),
            Requirement('django[bcrypt]; extra == "all"'))
    p = project(requires_dist=reqs, provides_extra=("yaml", "all"))
    assert rpm_suggests(p, EL9) == ("python3dist(pyyaml)",)
    assert "python3dist(sqlparse)" in rpm_requires(p, EL9)
    assert "ghost" not in " ".join(rpm_requires(p, EL9) + rpm_suggests(p, EL9))


def test_native_code_and_build_requires() -> None:
    p = project(has_native_code=True, version=V("1!2.0.post1"),
                build_requires=(Requirement("setuptools>=61"), Requirement("Cython<3"),
                                Requirement('tomli; python_version < "3.9"')))
    s = spec(p)
    assert s.buildarch is None and "gcc" in s.build_requires
    assert s.build_requires[-2:] == ("python3dist(setuptools) >= 61", "python3dist(cython) < 3~~")
    assert not any("tomli" in b for b in s.build_requires)
    assert (s.epoch, s.version) == (1, "2.0^post1")
    assert s.provides == ("python3dist(django) = 1:2^post1", "python3.9dist(django) = 1:2^post1")
    assert s.changelog.evr == "1:2.0^post1-0.repack1.el9"
    assert rpm_build_requires(p, EL9)[:5] == (
        "python3-devel", "pyproject-rpm-macros", "python3-pip", "python3-wheel", "gcc")
    assert "gcc-c++" not in s.build_requires
    # C++ sources (grpcio's .cc) need g++, which Fedora's guidelines have a spec name apart
    cxx = rpm_build_requires(dataclasses.replace(p, has_cplusplus=True), EL9)
    assert cxx[4:6] == ("gcc", "gcc-c++")
    assert "gcc-c++" not in rpm_build_requires(
        dataclasses.replace(p, has_native_code=False, has_cplusplus=True), EL9)


def test_unsafe_names_are_refused() -> None:
    with pytest.raises(MappingError, match="script"):
        spec(project(console_scripts=("evil\n%build",)))
    with pytest.raises(MappingError, match="sdist"):
        make_rpm_spec(project(), sdist_filename="x y.tar.gz", source_url="", target=EL9,
                      packager="R <r@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000")
    with pytest.raises(MappingError, match="not an rpm target"):
        spec(project(), DEBIAN)


def test_provides_and_spec_are_frozen() -> None:
    assert rpm_provides(project(version=V("1.0rc1")), FEDORA) == (
        "python3dist(django) = 1~rc1", "python3.13dist(django) = 1~rc1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec(project()).epoch = 9  # type: ignore[misc]
