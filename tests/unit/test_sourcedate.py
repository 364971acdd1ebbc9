"""The one date of a build: the environment's, else the release's upload time, else the
newest time inside the sdist, clamped; pure apart from reading the archive's headers."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sdists import MTIME, make_sdist

from repack import sourcedate
from repack.errors import ConfigError

NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def no_pinned_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_newest_member_when_the_index_gives_no_date(tmp_path: Path, fmt: str) -> None:
    archive = make_sdist(tmp_path, "dated", "1.0", {}, fmt=fmt)
    # zip stores local time in 2-second steps; make_sdist writes gmtime(MTIME)
    assert abs(sourcedate.source_date_epoch(archive, None, now=NOW) - MTIME) <= 2


def test_upload_time_wins_over_the_archive(tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "dated", "1.0", {})
    uploaded = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert sourcedate.source_date_epoch(archive, uploaded, now=NOW) == int(uploaded.timestamp())


def test_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    archive = make_sdist(tmp_path, "dated", "1.0", {})
    assert sourcedate.source_date_epoch(archive, datetime.now(UTC)) == 1234567890
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        sourcedate.source_date_epoch(archive, None)


@pytest.mark.parametrize("uploaded, expected", [
    (datetime(1970, 1, 2, tzinfo=UTC), sourcedate.EARLIEST),
    (datetime(2100, 1, 1, tzinfo=UTC), int(NOW)),
])
def test_hostile_dates_are_clamped(tmp_path: Path, uploaded: datetime, expected: int) -> None:
    archive = make_sdist(tmp_path, "dated", "1.0", {})
    assert sourcedate.source_date_epoch(archive, uploaded, now=NOW) == expected


def test_unreadable_archive_gets_the_earliest_date(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0.tar.gz"
    junk.write_bytes(b"not an archive")
    assert sourcedate.source_date_epoch(junk, None, now=NOW) == sourcedate.EARLIEST


def test_members_dated_1970_are_raised_to_the_build_date(tmp_path: Path) -> None:
    """An sdist's members dated 1970 (as some release tools write them) would reach the .deb
    as they are: dpkg clamps only newer files (lintian: package-contains-ancient-file)."""
    from repack.unpack import unpack_sdist

    archive = make_sdist(tmp_path, "old-dates", "1.0", {"data/x.txt": b"x"}, mtime=0)
    tree = unpack_sdist(archive, tmp_path / "unpack", project="old-dates")
    (tree / "link").symlink_to("missing")            # dangling: never followed
    os.utime(tree / "link", (0, 0), follow_symlinks=False)
    recent = tree / "recent.txt"
    recent.write_text("y")
    os.utime(recent, (1_600_000_000, 1_600_000_000))
    os.utime(tree, (0, 0))                           # the writes above dated it today
    paths = [tree, *tree.rglob("*")]
    ancient = [p for p in paths if p.lstat().st_mtime < sourcedate.EARLIEST]
    assert tree / "PKG-INFO" in ancient and len(ancient) == len(paths) - 1
    epoch = 1_700_000_000
    assert sourcedate.raise_ancient(tree, epoch) == len(ancient)
    assert recent.stat().st_mtime == 1_600_000_000   # a real date stays
    for path in ancient:
        assert path.lstat().st_mtime == epoch, path
    assert not (tree / "link").exists() and (tree / "link").is_symlink()
    assert sourcedate.raise_ancient(tree, epoch) == 0
