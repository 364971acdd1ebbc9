"""Revisions: naming them, reading them back, recording why (repack.revision)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from pathlib import Path

import pytest
from debian.debian_support import version_compare
from examples import ARCHIVE, EL9, RECORD, TARGET, project
from packaging.utils import canonicalize_name
from packaging.version import Version
from repotools import make_deb  # type: ignore[import-not-found]

from repack.deb.naming import archive_note, deb_version, make_deb_spec
from repack.errors import ConfigError, MappingError, MetadataError
from repack.model import ArchiveIndex, Artifact, Release, Sdist
from repack.republish import Published, build_against
from repack.revision import (
    asked_reason,
    check_revision,
    deb_revision,
    differs_reason,
    next_free_hint,
    revision_of,
    rpm_release,
    with_revision,
)
from repack.rpm.naming import make_rpm_spec, rpm_version
from repack.rpm.vercmp import rpmvercmp
from repack.trust import provenance


def test_revisions_are_named_and_read_back() -> None:
    assert deb_revision(1) == "0repack1" and rpm_release(12) == "0.repack12"
    assert str(deb_version(Version("4.2"), distro_epoch=3, suffix="~deb12", revision=2)) == \
        "3:4.2-0repack2~deb12"
    assert rpm_version(Version("4.2"), suffix=".el9", revision=3).release == "0.repack3.el9"
    for text, n in [("3:4.2-0repack2~deb12", 2), ("0.repack14.el9", 14),
                    ("python3-six_1.16.0-0repack3~deb12_all.deb", 3),
                    ("python3-six-1.16.0-0.repack7.el9.noarch.rpm", 7),
                    ("python-six_1.16.0-0repack2~deb12.dsc", 2),
                    ("1.16.0-4", None), ("1.el9", None), ("python3-six_1.16.0-4_all.deb", None)]:
        assert revision_of(text) == n, text


@pytest.mark.parametrize("bad", [0, -1, 1000, True])
def test_a_revision_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(MappingError):
        deb_revision(bad)
    with pytest.raises(MappingError):
        rpm_release(bad)


def test_with_revision_renames_only_the_revision() -> None:
    assert with_revision("python3-repack1_1.0-0repack1~deb12_all.deb", 2) == \
        "python3-repack1_1.0-0repack2~deb12_all.deb"
    assert with_revision("python3-x-1.0-0.repack1.el9.x86_64.rpm", 10) == \
        "python3-x-1.0-0.repack10.el9.x86_64.rpm"
    with pytest.raises(ValueError):
        with_revision("python3-six_1.16.0-4_all.deb", 2)


def test_later_revisions_sort_higher_and_below_the_distribution() -> None:
    """dpkg and rpm agree: 0repack9 < 0repack10 < an official -1 / 1.el9."""
    debs = [f"1.0-0repack{n}~deb12" for n in (1, 2, 9, 10, 11)]
    assert all(version_compare(a, b) < 0 for a, b in itertools.pairwise(debs))
    assert version_compare(debs[-1], "1.0-1") < 0
    rels = [f"0.repack{n}.el9" for n in (1, 2, 9, 10, 11)]
    assert all(rpmvercmp(a, b) < 0 for a, b in itertools.pairwise(rels))
    assert rpmvercmp(rels[-1], "1.el9") < 0


def test_the_refusal_hint_names_the_next_revision() -> None:
    assert "--revision 3" in next_free_hint("4.2-0repack2~deb12")
    assert "--revision 2" in next_free_hint("python3-x-1.0-0.repack1.el9.noarch.rpm")
    assert next_free_hint("1.0-4") == "bump the version"
    # the next free one: after the highest published revision of the same version
    published = ["4.2-0repack1~deb12", "4.2-0repack3~deb12", "4.3-0repack7~deb12",
                 "4.2-0repack9~deb13"]
    assert "--revision 4" in next_free_hint("4.2-0repack1~deb12", published)
    rpms = ["python3-x-1.0-0.repack2.el9.noarch.rpm", "python3-x-1.1-0.repack5.el9.noarch.rpm",
            "python3-xy-1.0-0.repack8.el9.noarch.rpm", "repodata"]
    assert "--revision 3" in next_free_hint("python3-x-1.0-0.repack1.el9.noarch.rpm", rpms)


def test_check_revision() -> None:
    check_revision(None, with_against=True)
    check_revision(5, with_against=False)
    for n, against in [(0, False), (1000, False), (2, True)]:
        with pytest.raises(ConfigError):
            check_revision(n, with_against=against)


def test_the_reason_is_recorded_and_in_the_changelog() -> None:
    reason = differs_reason("1.0-0repack1~deb12", "control field Maintainer: A != B")
    record = dataclasses.replace(RECORD, revision=2, rebuilt=reason)
    text = provenance.to_json(record)
    assert json.loads(text)["revision"] == 2
    assert provenance.from_json(text) == record
    # revision 1 records are byte-identical to those of earlier repack versions
    assert "revision" not in json.loads(provenance.to_json(RECORD))
    deb = make_deb_spec(project(), source_url="https://files.example/django-4.2.tar.gz",
                        target=TARGET, archive=ARCHIVE, maintainer="R <r@example.org>",
                        date="Mon, 01 Jan 2024 00:00:00 +0000", provenance=record)
    assert deb.version == "3:4.2-0repack2~deb12" == deb.changelog.version
    assert deb.changelog.changes[1] == f"Rebuilt: {reason}"
    rpm = make_rpm_spec(project(), sdist_filename="Django-4.2.tar.gz",
                        source_url="https://files.example/Django-4.2.tar.gz", target=EL9,
                        packager="R <r@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000",
                        provenance=dataclasses.replace(record, rebuilt=asked_reason(2)))
    assert rpm.release == "0.repack2.el9"
    assert rpm.changelog.changes[1] == "Rebuilt: revision 2 asked for with --revision."


@pytest.mark.parametrize("value", [0, "2", True, 1000, -3])
def test_a_malformed_recorded_revision_is_refused(value: object) -> None:
    doc = json.loads(provenance.to_json(RECORD))
    doc["revision"] = value
    with pytest.raises(MetadataError):
        provenance.from_json(json.dumps(doc))


def test_published_reads_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "yum" / "el9").mkdir(parents=True)
    (root / "yum" / "el9" / "a.rpm").write_bytes(b"x")
    published = Published.parse(str(root), None)
    assert published.open("yum/el9/a.rpm", root) == root / "yum" / "el9" / "a.rpm"
    assert published.open("yum/el9/b.rpm", root) is None
    with pytest.raises(ConfigError):
        Published.parse(str(root / "missing"), None)
    with pytest.raises(ConfigError):
        Published.parse("ftp://example.org/repo", None)


def test_the_archive_note_names_the_same_upstream_version() -> None:
    """six 1.16.0 beside Debian 12's python3-six 1.16.0-4: said, with whose build apt takes."""
    archive = ArchiveIndex(packages={"python3-six": "1.16.0-4", "python3-yaml": "6.0-3+b2"},
                           dist_map={"six": "python3-six", "pyyaml": "python3-yaml"})

    def note(name: str, version: str) -> str | None:
        p = project(name=canonicalize_name(name), display_name=name, version=Version(version),
                    requires_dist=(), build_requires=())
        spec = make_deb_spec(p, source_url="https://files.example/x.tar.gz", target=TARGET,
                             archive=archive, maintainer="R <r@example.org>",
                             date="Mon, 01 Jan 2024 00:00:00 +0000")
        return archive_note(name, version, spec, TARGET, archive)

    assert note("six", "1.16.0") == (
        "six: Debian 12 (bookworm) already ships python3-six 1.16.0-4, the same upstream "
        "version 1.16.0; apt installs the higher of 1.16.0-0repack1~deb12 and 1.16.0-4: "
        "Debian's")
    assert note("six", "1.16") is not None          # PEP 440: the same version
    assert note("pyyaml", "6.0") is not None        # +b2 (a binNMU) is still 6.0
    assert note("six", "1.17.0") is None            # a newer release: nothing to say
    assert note("django", "4.2") is None            # not in this archive at all


@pytest.mark.process
def test_build_against_picks_the_revision(tmp_path: Path) -> None:
    """build_against with real .debs (dpkg-deb) for builds and a published tree on disk."""
    repo, out = tmp_path / "repo", tmp_path / "out" / "debian-12"
    pool = repo / "apt" / "pool" / "main" / "p" / "python3-x"   # no Source field: the Package
    made: dict[tuple[int, bytes], Path] = {}
    payload = [b"one\n"]
    calls: list[tuple[int, str | None]] = []

    def build(sdist: Sdist) -> tuple[list[Artifact], list[str]]:
        """A reproducible "build": the same revision and payload give the same bytes."""
        calls.append((sdist.revision, sdist.rebuilt))
        version = f"1.0-0repack{sdist.revision}~deb12"
        key = (sdist.revision, payload[0])
        if key not in made:
            made[key] = make_deb(tmp_path / "made" / str(len(made)), "python3-x", version,
                                 payload=payload[0])
        out.mkdir(parents=True, exist_ok=True)
        dest = Path(shutil.copy(made[key], out / made[key].name))
        return [Artifact(target="debian-12", format="deb", package="python3-x",
                         version=version, path=dest, sha256="")], []

    def publish(artifacts: list[Artifact]) -> None:
        pool.mkdir(parents=True, exist_ok=True)
        for a in artifacts:
            shutil.copy(a.path, pool / a.path.name)

    def against() -> list[Artifact]:
        calls.clear()
        return build_against(SDIST, TARGET, build, Published.parse(str(repo), None))[0]

    repo.mkdir()
    first = against()                                     # nothing published: revision 1
    assert [a.version for a in first] == ["1.0-0repack1~deb12"] and calls == [(1, None)]
    publish(first)
    assert [a.version for a in against()] == ["1.0-0repack1~deb12"]   # identical: as is
    assert calls == [(1, None)]

    payload[0] = b"two\n"                                 # the build differs now
    second = against()
    assert [a.version for a in second] == ["1.0-0repack2~deb12"]
    assert [n for n, _ in calls] == [1, 2]
    reason = calls[1][1]
    assert reason is not None and reason.startswith(
        "the build published as 1.0-0repack1~deb12 differs (")
    assert sorted(p.name for p in out.iterdir()) == ["python3-x_1.0-0repack2~deb12_all.deb"]
    publish(second)
    # revision 2 published: rebuilt as revision 2 (with its recorded reason), identical
    assert [a.version for a in against()] == ["1.0-0repack2~deb12"]
    assert [n for n, _ in calls] == [1, 2]


SDIST = Sdist(
    release=Release(name=canonicalize_name("x"), version=Version("1.0"),
                    filename="x-1.0.tar.gz", url="https://files.example/x-1.0.tar.gz",
                    sha256="0" * 64, size=None, requires_python=None, yanked=False,
                    index_url="https://index.example/simple/"),
    path=Path("x-1.0.tar.gz"), sha256="0" * 64, verified=())
