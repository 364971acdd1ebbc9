"""Reading rpm headers on the host: `rpm -qp --queryformat` against an empty rpmdb."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from repack import run
from repack.errors import IntegrityError


def query(paths: Sequence[Path], queryformat: str) -> list[str]:
    """One line of `rpm -qp --qf queryformat` per file, in one rpm run (against an empty
    rpmdb: the host's is not ours).  `queryformat` must end each package with one newline."""
    if not paths:
        return []
    with tempfile.TemporaryDirectory(prefix="repack-rpmdb-") as db:
        out = run.run(["rpm", "--dbpath", db, "-qp", "--nosignature", "--nodigest",
                       "--qf", queryformat, *paths]).stdout.decode(errors="replace")
    lines = out.splitlines()
    if len(lines) != len(paths):
        raise IntegrityError(f"rpm read {len(lines)} headers from {len(paths)} packages")
    return lines
