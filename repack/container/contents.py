"""The files a builder image's archive ships (the reduced Contents lines that
images.CONTENTS_SCRIPT records in archive.json), indexed by file name in an SQLite file
beside archive.json.

repack.owned asks three times a build which of a few hundred paths the archive ships; the
record has some 165,000 lines, and grouping them by name took 0.4 s of every build's
process.  The index is made once per image state, by the host, from archive.json (`make`,
when the image is found ready); a question reads only the rows of its names
(`lines_named`).  An index made from other lines than those asked about is not used.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator
from pathlib import Path

__all__ = ["entries", "lines_named", "make"]

_CHUNK = 500        # names per query: far below SQLite's limit on parameters


def entries(data: bytes) -> Iterator[tuple[str, str]]:
    """(file name, line) of each line of the gzip'd record that has a path and a package
    list, in the record's order; the name is the path's last component."""
    for line in gzip.decompress(data).decode("utf-8", errors="replace").splitlines():
        path, _, where = line.rstrip().rpartition(" ")
        path = path.rstrip()
        if path and where:
            yield path.rpartition("/")[2], line


def make(data: bytes, index: Path) -> None:
    """Write the index of *data* to *index* (by a rename: readers see the old or the new)."""
    tmp = index.with_name(f".{index.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(tmp)) as db:
            db.execute("CREATE TABLE meta (sha256 TEXT NOT NULL)")
            db.execute("INSERT INTO meta VALUES (?)", (hashlib.sha256(data).hexdigest(),))
            db.execute("CREATE TABLE line (pos INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "text TEXT NOT NULL)")
            db.executemany("INSERT INTO line (name, text) VALUES (?, ?)", entries(data))
            db.execute("CREATE INDEX line_name ON line (name)")
            db.commit()
        os.replace(tmp, index)
    finally:
        tmp.unlink(missing_ok=True)


def lines_named(data: bytes, names: Collection[str], index: Path) -> list[str] | None:
    """The lines of *data* whose file name is one of *names*, in the record's order; None
    when *index* is missing, unreadable or made from other lines."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT sha256 FROM meta").fetchone()
            if row is None or row[0] != hashlib.sha256(data).hexdigest():
                return None
            found: list[tuple[int, str]] = []
            wanted = sorted(set(names))
            for i in range(0, len(wanted), _CHUNK):     # placeholders only: no text in the SQL
                chunk = wanted[i:i + _CHUNK]
                found += db.execute(f"SELECT pos, text FROM line WHERE name IN "
                                    f"({', '.join('?' * len(chunk))})", chunk).fetchall()
    except sqlite3.Error:
        return None
    return [text for _, text in sorted(found)]
