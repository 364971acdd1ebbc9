"""`repack cache prune`: delete what the cache holds that nothing has written for N days.

An *entry* is one unit the cache reuses or a build leaves: a cached build (builds/<key>),
a downloaded sdist or wheel (sdists/<sha256>), a kept METADATA file (metadata/<file>), a
downloaded .deb of a target's build dependencies (apt-archives/<target>/<file>) and a
build's work directory (work/build-*, left by a killed build).  Builder image state
(images/) is `repack image prune`'s business and stays.

There is no build lock to ask, so "in use" is judged by age: an entry goes only when
nothing in it (file or directory, symlinks not followed) was modified for N days; a
running build keeps writing its work directory and its cache entry, so it is never old.
An entry is renamed out of the way first (one atomic step), then deleted: a build never
sees half of one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

#: (directory under the cache, depth of its entries: 1 = its children, 2 = grandchildren)
AREAS: tuple[tuple[str, int], ...] = (("builds", 1), ("sdists", 1), ("metadata", 1),
                                      ("apt-archives", 2), ("work", 1))
DAY = 86400


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    path: Path
    size: int            # bytes of its regular files
    newest: float        # the latest mtime in it (seconds since the epoch)


def entries(cache_dir: Path) -> list[Entry]:
    """Every prunable entry of the cache, sorted by path."""
    found = []
    for area, depth in AREAS:
        for path in _children(cache_dir / area, depth):
            if path.name == "partial" and depth == 2:      # apt's download directory
                continue
            size, newest = _measure(path)
            found.append(Entry(path=path, size=size, newest=newest))
    return sorted(found, key=lambda e: e.path)


def _children(top: Path, depth: int) -> Iterator[Path]:
    if top.is_symlink() or not top.is_dir():
        return
    for child in sorted(top.iterdir()):
        if depth == 1:
            yield child
        elif child.is_dir() and not child.is_symlink():
            yield from _children(child, depth - 1)


def _measure(path: Path) -> tuple[int, float]:
    st = path.lstat()
    size = st.st_size if stat.S_ISREG(st.st_mode) else 0     # a symlink frees no data
    newest = st.st_mtime
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, filenames in os.walk(path):     # never follows symlinks
            for name in dirnames + filenames:
                try:
                    s = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                newest = max(newest, s.st_mtime)
                if name in filenames and not os.path.islink(os.path.join(dirpath, name)):
                    size += s.st_size
    return size, newest


def stale(found: Sequence[Entry], older_than_days: float, now: float) -> list[Entry]:
    """The entries nothing was written into for `older_than_days` days before `now`."""
    cutoff = now - older_than_days * DAY
    return [e for e in found if e.newest < cutoff]


def prune(cache_dir: Path, older_than_days: float, *, dry_run: bool = False,
          now: float | None = None) -> tuple[list[Entry], list[str]]:
    """Delete (or, dry_run, only name) the stale entries; returns them and the ones that
    could not be deleted (one line each: the rest still goes)."""
    doomed = stale(entries(cache_dir), older_than_days, time.time() if now is None else now)
    failed = []
    if not dry_run:
        for e in doomed:
            try:
                _delete(e.path)
            except OSError as exc:
                failed.append(f"{e.path}: {exc.strerror or exc}")
    return doomed, failed


def _delete(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    trash = path.with_name(f".pruning-{path.name}-{secrets.token_hex(4)}")
    os.rename(path, trash)
    shutil.rmtree(trash)
