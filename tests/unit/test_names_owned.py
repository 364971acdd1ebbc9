"""Names belong to their projects: `naming.own_package_name` and `naming_rpm.rpm_name` refuse a
package name the target already gives to something else (pure functions, no I/O)."""

from __future__ import annotations

import dataclasses

import pytest
from examples import BASE
from packaging.requirements import Requirement
from packaging.utils import NormalizedName

from repack import targets
from repack.deb.naming import (
    application_note,
    bundle_note,
    make_deb_spec,
    map_requirement,
    own_package_name,
    suggested_name,
)
from repack.errors import MappingError
from repack.model import ArchiveIndex, DebSpec
from repack.rpm.naming import rpm_name

DEB12 = targets.load("debian-12")
EL9 = targets.load("el9")
# The shape of Debian 12's archive data for the names that matter here (the real values:
# dh-python's cpython3_fallback maps python-apt -> python3-apt, argparse -> python3,
# awscli -> awscli; python3-minimal has no dist-info, so no entry maps to it).
ARCHIVE = ArchiveIndex(
    packages={"python3-apt": "2.6.0", "python3": "3.11.2-1+b1", "awscli": "2.9.19-1",
              "python3-minimal": "3.11.2-1+b1", "python3-django": "3:3.2.25-0+deb12u7",
              "python3-yaml": "6.0-3+b2", "python3-pil": "9.4.0-1.1+deb12u1"},
    dist_map={"python-apt": "python3-apt", "argparse": "python3", "awscli": "awscli",
              "django": "python3-django", "pyyaml": "python3-yaml", "pillow": "python3-pil",
              "pil": "python3-pil", "wsgiref": "python3-minimal"},
)


def own(name: str, chosen: str | None = None) -> str:
    return own_package_name(NormalizedName(name), DEB12, ARCHIVE, chosen=chosen)


def refusal(name: str, chosen: str | None = None) -> MappingError:
    with pytest.raises(MappingError) as info:
        own(name, chosen)
    assert info.value.exit_code == 7
    assert info.value.hint is not None and f"[packages.{name}]" in info.value.hint
    return info.value


def test_the_archives_own_mapping_is_kept() -> None:
    """Debian says python3-django is django: repack's newer build replaces it on purpose."""
    assert own("django") == "python3-django"
    assert own("PyYAML") == "python3-yaml"
    assert own("pillow") == "python3-pil"


def test_new_names_get_the_prefix() -> None:
    assert own("left-pad") == "python3-left-pad"


def test_pypi_apt_is_not_debians_python_apt() -> None:
    err = refusal("apt")
    assert str(err) == ("apt: python3-apt is taken in Debian 12 (bookworm): the archive's "
                        "package of python-apt (dh-python's dist map), not of apt; repack will "
                        "not replace it")
    assert err.hint == ('choose a name for its package in repack.toml: '
                        '[packages.apt] name = "python3-apt-pypi"')


@pytest.mark.parametrize(("project", "package"), [
    ("argparse", "python3"), ("wsgiref", "python3-minimal"),
])
def test_dist_map_entries_of_the_interpreter_are_refused(project: str, package: str) -> None:
    """dh-python maps argparse to the interpreter: python3 99.0 from PyPI must not be built."""
    err = refusal(project)
    assert str(err) == (f"{project}: dh-python maps {project} to Debian 12 (bookworm)'s package "
                        f"{package}, which is the interpreter's own; repack will not replace it")
    assert err.hint is not None and f'name = "{package}"' not in err.hint


def test_an_application_package_of_the_project_is_its_name() -> None:
    """dh-python maps awscli to Debian's application package awscli: the project's own, so its
    newer build is awscli and replaces it, as python3-django replaces Debian's django."""
    assert own("awscli") == "awscli"
    def spec(name: str) -> DebSpec:
        return make_deb_spec(dataclasses.replace(BASE, name=NormalizedName(name)),
                             source_url="https://files.example/x.tar.gz", target=DEB12,
                             archive=ARCHIVE, maintainer="M <m@example.org>",
                             date="Mon, 01 Jan 2024 00:00:00 +0000")
    assert spec("awscli").binary_name == "awscli"
    assert application_note("awscli", spec("awscli"), DEB12, ARCHIVE) == (
        "awscli: dh-python maps it to Debian 12 (bookworm)'s application package awscli (not "
        "a python3-* name): building awscli, which replaces it")
    assert application_note("django", spec("django"), DEB12, ARCHIVE) is None


def test_a_package_the_system_needs_is_refused_even_when_mapped() -> None:
    archive = dataclasses.replace(ARCHIVE, protected=frozenset({"awscli"}))
    with pytest.raises(MappingError, match="which is one the system needs"):
        own_package_name(NormalizedName("awscli"), DEB12, archive)


def test_python3_minimal_mapping_from_an_unrelated_dist() -> None:
    """A dist mapped to python3-minimal (which no other dist claims) is its own mapping, but a
    PyPI project falling back onto an unmapped archive name is refused with that reason."""
    archive = dataclasses.replace(ARCHIVE, dist_map={})
    with pytest.raises(MappingError, match="gives to no PyPI project, not to minimal"):
        own_package_name(NormalizedName("minimal"), DEB12, archive)


def test_chosen_names() -> None:
    assert own("apt", "python3-apt-pypi") == "python3-apt-pypi"
    assert own("argparse", "python3-argparse") == "python3-argparse"
    assert own("awscli", "awscli") == "awscli"          # the archive maps awscli to it: explicit
    assert "the configured package name python3-apt is taken" in str(refusal("apt", "python3-apt"))
    assert "python3 is the interpreter's own package" in str(refusal("argparse", "python3"))
    with pytest.raises(MappingError, match="not a valid Debian package name"):
        own("apt", "Python3_Apt")


# Debian 12's dist map gives python3-typeshed to 134 types-* projects, python3-azure to 269.
BUNDLED = dataclasses.replace(
    ARCHIVE, packages={**ARCHIVE.packages, "python3-typeshed": "0.0~git20221107.4f381af-1",
                       "python3-azure": "20221208+git-6", "python3-types-six": "1.0-1"},
    dist_map={**ARCHIVE.dist_map, "types-requests": "python3-typeshed",
              "types-six": "python3-typeshed", "types-pyyaml": "python3-typeshed",
              "azure-core": "python3-azure", "azure-identity": "python3-azure",
              "azure-storage-blob": "python3-azure"})


def test_a_bundle_is_no_single_projects_own_package() -> None:
    """types-requests built as python3-typeshed would replace the stubs of 133 other projects
    (apt removes what the new package no longer ships): it gets a name of its own, which
    may not take the bundle's files (same_project needs the map's own name), and says so."""
    def named(project: str, chosen: str | None = None) -> str:
        return own_package_name(NormalizedName(project), DEB12, BUNDLED, chosen=chosen)

    assert named("types-requests") == "python3-types-requests"
    assert named("azure-core") == "python3-azure-core"
    assert named("azure-core", "python3-azure") == "python3-azure"    # chosen: on purpose
    assert own("pillow") == "python3-pil"          # two projects: a project and its old name
    with pytest.raises(MappingError, match="python3-types-six is taken in Debian 12"):
        named("types-six")
    spec = make_deb_spec(dataclasses.replace(BASE, name=NormalizedName("types-requests")),
                         source_url="https://files.example/x.tar.gz", target=DEB12,
                         archive=BUNDLED, maintainer="M <m@example.org>",
                         date="Mon, 01 Jan 2024 00:00:00 +0000")
    assert spec.binary_name == "python3-types-requests"
    assert bundle_note("types-requests", spec, DEB12, BUNDLED) == (
        "types-requests: dh-python maps 3 projects to Debian 12 (bookworm)'s python3-typeshed "
        "(types-pyyaml, types-requests, types-six), so it is not types-requests's own "
        "package: building python3-types-requests, which may not replace that package's files")
    assert bundle_note("django", spec, DEB12, BUNDLED) is None


def test_a_bundles_version_meets_no_versioned_requirement() -> None:
    """python3-azure 20221208 is not azure-core 20221208: a versioned requirement names the
    project's own package, which the archive lacks; an unversioned one is met by the bundle."""
    versioned = map_requirement(Requirement("azure-core>=1.30"), DEB12, BUNDLED)
    assert versioned.binary == "python3-azure-core" and not versioned.satisfied
    assert [str(a[0]) for a in versioned.relations] == ["python3-azure-core (>= 1.30)"]
    plain = map_requirement(Requirement("azure-core"), DEB12, BUNDLED)
    assert plain.binary == "python3-azure" and plain.satisfied
    assert not map_requirement(Requirement("azure-core>=1.30"), DEB12, BUNDLED,
                               build=True).satisfied


def test_suggestion_is_free() -> None:
    assert suggested_name(NormalizedName("argparse"), DEB12, ARCHIVE) == "python3-argparse"
    assert suggested_name(NormalizedName("apt"), DEB12, ARCHIVE) == "python3-apt-pypi"


def test_dependencies_on_a_taken_name() -> None:
    """Depends: python3-apt for PyPI apt would be met by Debian's python-apt: refused, unless
    the dependency's name is chosen; a build requirement is only not satisfied."""
    with pytest.raises(MappingError, match="would be met by the wrong package"):
        map_requirement(Requirement("apt>=1"), DEB12, ARCHIVE, project="x")
    named = map_requirement(Requirement("apt>=1"), DEB12, ARCHIVE,
                            names={"apt": "python3-apt-pypi"})
    assert named.binary == "python3-apt-pypi" and not named.satisfied
    build = map_requirement(Requirement("apt"), DEB12, ARCHIVE, build=True)
    assert not build.satisfied
    # the archive's own mappings stay dependencies, argparse -> python3 included
    assert map_requirement(Requirement("argparse"), DEB12, ARCHIVE).binary == "python3"
    assert map_requirement(Requirement("argparse"), DEB12, ARCHIVE).satisfied


@pytest.mark.parametrize("project", ["libs", "devel", "rpm", "dnf", "systemd"])
def test_rpm_system_names_are_refused(project: str) -> None:
    taken = f"python3-{project} is taken in Enterprise Linux 9"
    with pytest.raises(MappingError, match=taken) as info:
        rpm_name(NormalizedName(project), EL9)
    assert info.value.hint is not None and f"[packages.{project}]" in info.value.hint


def test_rpm_names() -> None:
    assert rpm_name(NormalizedName("apt"), EL9) == "python3-apt"
    assert rpm_name(NormalizedName("libs"), EL9, chosen="python3-libs-pypi") == "python3-libs-pypi"
    with pytest.raises(MappingError, match="the configured package name python3 is taken"):
        rpm_name(NormalizedName("argparse"), EL9, chosen="python3")


def test_an_extras_requirement_on_a_taken_name_is_left_out_of_suggests() -> None:
    """joserfc's `pycryptodome; extra == "drafts"` on Debian 12: an optional relation that
    cannot be mapped is left out with a reason, instead of refusing the whole build; the
    same requirement without the extra still refuses it."""
    extra = dataclasses.replace(
        BASE, requires_dist=(Requirement('apt; extra == "drafts"'),
                             Requirement('sqlparse; extra == "drafts"')),
        provides_extra=("drafts",))
    spec = make_deb_spec(extra, source_url="https://files.example/x.tar.gz", target=DEB12,
                         archive=ARCHIVE, maintainer="M <m@example.org>",
                         date="Mon, 01 Jan 2024 00:00:00 +0000")
    assert [str(r) for group in spec.suggests for r in group] == ["python3-sqlparse"]
    (why,) = spec.left_out
    assert why.startswith("requirement 'apt; extra == \"drafts\"': python3-apt is taken in "
                          "Debian 12 (bookworm)")
    assert why.endswith("left out of Suggests, as it only names an extra's requirement")
    hard = dataclasses.replace(extra, requires_dist=(Requirement("apt"),))
    with pytest.raises(MappingError):
        make_deb_spec(hard, source_url="https://files.example/x.tar.gz", target=DEB12,
                      archive=ARCHIVE, maintainer="M <m@example.org>",
                      date="Mon, 01 Jan 2024 00:00:00 +0000")
