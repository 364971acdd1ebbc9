"""Writing a file whole: readers see the old content or the new, never a part of it."""

from __future__ import annotations

import os
from pathlib import Path


def write_file(path: Path, data: bytes) -> None:
    """Replace path with data by a rename, without touching the old inode: a published
    generation shares it through hard links (repack.publish.tree), and a signed upload's
    files must never be seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
