"""Writing a file whole: readers see the old content or the new, never a part of it."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path


def write_file(path: Path, data: bytes) -> None:
    """Replace path with data by a rename, without touching the old inode: a published
    generation shares it through hard links (repack.publish.tree), and a signed upload's
    files must never be seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def copy_file(src: Path, dest: Path) -> None:
    """Copy src over dest by a rename (contents and mtime: apt's If-Modified-Since), safe
    when several builds of one run copy into the same shared cache at once."""
    tmp = _tmp(dest)
    shutil.copy2(src, tmp)
    os.replace(tmp, dest)


def _tmp(path: Path) -> Path:
    """A temporary name beside path that no other process or thread uses."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
