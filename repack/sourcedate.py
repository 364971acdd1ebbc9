"""The one date a build may depend on: SOURCE_DATE_EPOCH, taken from the release itself.

Two builds of the same sdist for the same target must give byte-identical packages, so
that anyone can check a published package by rebuilding it (`repack rebuild`).  Every
time a build writes (the changelog entry, file times in the .deb and .rpm, rpm's build
time, the .pyc files rpm compiles) comes from this one number, in this order:

1. ``SOURCE_DATE_EPOCH`` in repack's environment (the reproducible-builds convention);
2. the upload time the index gives for the file (PEP 700 ``upload-time``, which PyPI
   serves): the date the release was published;
3. the newest modification time among the sdist's own members (an index without
   PEP 700): read from the archive's headers, so still a property of the verified bytes.

The index and the sdist are untrusted: a date before 1980 (zip's epoch) or in the future
is clamped into that range, which only ever changes a date.  So are the sdist's member
times (`raise_ancient`): dpkg clamps files newer than SOURCE_DATE_EPOCH down to it, but a
member dated 1970 would reach the .deb as it is (lintian: package-contains-ancient-file).
"""

from __future__ import annotations

import calendar
import os
import tarfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

from repack.errors import ConfigError

__all__ = ["EARLIEST", "from_environment", "raise_ancient", "source_date_epoch"]

EARLIEST = 315_532_800          # 1980-01-01T00:00:00Z
_MAX_MEMBERS = 20_000           # as repack.unpack: a longer archive is refused there anyway


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> int | None:
    env = os.environ if environ is None else environ
    text = env.get("SOURCE_DATE_EPOCH")
    if not text:
        return None
    if not text.isdigit():
        raise ConfigError(f"SOURCE_DATE_EPOCH={text[:40]!r} is not a whole number of seconds")
    return int(text)


def source_date_epoch(archive: Path, upload_time: datetime | None, *,
                      now: float | None = None) -> int:
    """The build date of the release whose verified sdist is `archive` (see the module)."""
    pinned = from_environment()
    if pinned is not None:
        return pinned
    if upload_time is not None:
        return _clamp(int(upload_time.timestamp()), now)
    return _clamp(_newest_member(archive), now)


def _clamp(epoch: int, now: float | None) -> int:
    latest = int(time.time() if now is None else now)
    return min(max(epoch, EARLIEST), latest)


def _newest_member(archive: Path) -> int:
    """The newest member time recorded in the archive; EARLIEST for one that cannot be
    read (repack.unpack then refuses it with the real reason)."""
    newest = EARLIEST
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for zinfo in zf.infolist()[:_MAX_MEMBERS]:
                    newest = max(newest, calendar.timegm((*zinfo.date_time, 0, 0, 0)))
            return newest
        with tarfile.open(archive) as tar:
            for count, info in enumerate(tar):
                if count >= _MAX_MEMBERS:
                    break
                newest = max(newest, int(info.mtime))
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError,
            OverflowError):
        return EARLIEST
    return newest


def raise_ancient(tree: Path, epoch: int) -> int:
    """Set every file, directory and symlink under `tree` dated before EARLIEST (1980) to
    `epoch`, without following symlinks; returns how many.  For an unpacked sdist the host
    owns, before any upstream code runs: only dates change, never bytes."""
    epoch = max(epoch, EARLIEST)
    count = 0
    for root, dirs, files in os.walk(tree):
        for name in (*dirs, *files):
            path = os.path.join(root, name)
            if os.lstat(path).st_mtime < EARLIEST:
                os.utime(path, (epoch, epoch), follow_symlinks=False)
                count += 1
    if os.lstat(tree).st_mtime < EARLIEST:
        os.utime(tree, (epoch, epoch), follow_symlinks=False)
        count += 1
    return count
