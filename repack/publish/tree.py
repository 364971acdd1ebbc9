"""Atomic, serialised changes to a repository tree (see repack.publish for the layout).

One publisher at a time (an fcntl lock, released by the kernel even on SIGKILL); the new
state is built in a hard-linked copy of the current generation and made visible by one
symlink rename, so a reader sees the old tree or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from repack.errors import ConfigError

META = ".repack"
ENTRY_POINTS = ("apt", "yum", "keys", "client")
_GEN = re.compile(r"gen-(\d{6,})")


@dataclass(slots=True, kw_only=True)
class Stage:
    """The staged next generation; publishers mark it changed when they alter it."""

    root: Path
    previous: Path | None
    changed: bool = False
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def locked(repo: Path) -> Iterator[Path]:
    """Hold REPO/.repack/lock; concurrent publishers wait here, one after another."""
    meta = repo / META
    meta.mkdir(parents=True, exist_ok=True)
    fd = os.open(meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield meta
    finally:
        os.close(fd)


def current(repo: Path) -> Path | None:
    link = repo / META / "current"
    if not link.is_symlink():
        return None
    target = link.parent / os.readlink(link)
    return target if target.is_dir() else None


def _generations(meta: Path) -> list[tuple[int, Path]]:
    gens = [(int(m.group(1)), p) for p in meta.iterdir() if (m := _GEN.fullmatch(p.name))]
    return sorted(gens)


def repair(meta: Path) -> None:
    """Delete what a killed publisher left: stages, a half-made symlink, generations that
    never went live, and generations older than the one before current."""
    for p in meta.iterdir():
        if p.name.startswith(("stage-", "current.tmp")):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    cur = current(meta.parent)
    live = -1 if cur is None else int(cur.name.removeprefix("gen-"))
    older = [n for n, _ in _generations(meta) if n < live]
    keep = {live, max(older, default=-1)}
    for n, p in _generations(meta):
        if n not in keep:
            shutil.rmtree(p)


def hardlink_copy(src: Path, dest: Path) -> None:
    """A copy whose files are hard links: cheap, and safe as long as files are replaced,
    never modified in place."""
    dest.mkdir()
    top = os.fspath(src)
    out = os.fspath(dest)
    for dirpath, dirnames, filenames in os.walk(top):   # plain strings: 10,000s of entries
        there = out + dirpath[len(top):]
        for d in dirnames:
            os.mkdir(os.path.join(there, d))
        for f in filenames:
            s = os.path.join(dirpath, f)
            if os.path.islink(s):
                os.symlink(os.readlink(s), os.path.join(there, f))
            else:
                os.link(s, os.path.join(there, f))


@contextlib.contextmanager
def transaction(repo: Path) -> Iterator[Stage]:
    """Stage the next generation; on a clean exit with changes, make it live atomically."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in ENTRY_POINTS:
        entry = repo / name
        if entry.exists() and not entry.is_symlink():
            raise ConfigError(f"{entry} is not a repack-managed entry point",
                              hint="publish into an empty directory or a repack repository")
    with locked(repo) as meta:
        repair(meta)
        prev = current(repo)
        stage_dir = meta / f"stage-{os.getpid()}-{secrets.token_hex(4)}"
        if prev is not None:
            hardlink_copy(prev, stage_dir)
        else:
            stage_dir.mkdir()
        for name in (*ENTRY_POINTS, "db"):
            (stage_dir / name).mkdir(exist_ok=True)
        stage = Stage(root=stage_dir, previous=prev)
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage_dir, ignore_errors=True)
            raise
        if not stage.changed:
            shutil.rmtree(stage_dir)
            return
        gens = _generations(meta)
        number = (gens[-1][0] + 1) if gens else 1
        gen = meta / f"gen-{number:06d}"
        os.rename(stage_dir, gen)
        tmp = meta / f"current.tmp-{os.getpid()}"
        os.symlink(gen.name, tmp)
        os.replace(tmp, meta / "current")           # the moment the new tree goes live
        for name in ENTRY_POINTS:
            entry = repo / name
            if not entry.is_symlink():
                link_tmp = repo / META / f"current.tmp-{name}"
                os.symlink(f"{META}/current/{name}", link_tmp)
                os.replace(link_tmp, entry)
        repair(meta)


def write_file(path: Path, data: bytes) -> None:
    """Replace path with data without touching the inode other generations share."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
