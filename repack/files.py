"""Writing a file whole: readers see the old content or the new, never a part of it; and one
writer at a time where a whole job must not run twice at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from repack import log


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


@contextlib.contextmanager
def exclusive(lock_file: Path, waiting: str) -> Iterator[None]:
    """Hold an exclusive lock on *lock_file* (made if missing) for the block, saying
    *waiting* once when another process holds it; the kernel releases it when the process
    dies, however it dies."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info(waiting)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
