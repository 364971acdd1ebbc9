"""What may leave a build: exactly the files repack predicted, read without trusting the tree.

Upstream code runs as root in the builder and can write anything under the directories
mounted read-write there (`/build`): extra packages beside the real ones, symlinks that
point at the host's own files when the host follows them, FIFOs that never end.  So the
host reads those directories only through `read_beneath`/`copy_beneath` (no symlink
followed, regular files only, bounded), collects only the predicted file names, and
refuses the build when any other package file appears (`unexpected`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from repack.errors import BuildError, MetadataError

__all__ = ["PACKAGE_MARKERS", "copy_beneath", "is_package_file", "list_beneath",
           "read_beneath", "read_dist_info", "unexpected"]

#: A file whose name ends in (or contains, for tarballs) one of these is a package or part
#: of one: a publisher, signer or client would take it for one.
PACKAGE_SUFFIXES = (".deb", ".udeb", ".ddeb", ".dsc", ".changes", ".buildinfo", ".rpm",
                    ".diff.gz")
PACKAGE_MARKERS = (".orig.tar.", ".debian.tar.", ".orig-")

METADATA_LIMIT = 16 << 20     # a METADATA or entry_points.txt larger than this is hostile

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def is_package_file(name: str) -> bool:
    return name.endswith(PACKAGE_SUFFIXES) or any(m in name for m in PACKAGE_MARKERS)


def unexpected(names: Iterable[str], expected: Iterable[str]) -> list[str]:
    """Package-looking file names that are not the expected ones, sorted."""
    allowed = set(expected)
    return sorted(n for n in names if is_package_file(n) and n not in allowed)


@contextlib.contextmanager
def _dir_fd(root: Path, parts: Iterable[str], *, project: str | None) -> Iterator[int]:
    """An fd of root/parts..., each component opened without following a symlink."""
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as e:
        raise BuildError(f"cannot open the build directory {root}: {e.strerror}",
                         project=project) from e
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise BuildError(f"unsafe path component {part!r} under {root}", project=project)
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                raise BuildError(f"the build left {part!r} under {root} as something other "
                                 f"than a directory ({e.strerror})", project=project) from e
            os.close(fd)
            fd = nfd
        yield fd
    finally:
        os.close(fd)


def list_beneath(root: Path, rel: str = "", *, project: str | None = None) -> list[str]:
    """Names in root/rel (not followed through symlinks), sorted."""
    with _dir_fd(root, [p for p in rel.split("/") if p], project=project) as fd:
        return sorted(os.listdir(fd))


@contextlib.contextmanager
def _open_regular(root: Path, rel: str, *, project: str | None) -> Iterator[int]:
    *dirs, name = rel.split("/")
    with _dir_fd(root, dirs, project=project) as dfd:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dfd)
        except OSError as e:
            raise BuildError(f"the build's {rel} cannot be opened as a regular file "
                             f"({e.strerror}): a symlink or missing", project=project) from e
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BuildError(f"the build's {rel} is not a regular file", project=project)
            os.set_blocking(fd, True)
            yield fd
        finally:
            os.close(fd)


def read_beneath(root: Path, rel: str, *, limit: int, truncate: bool = False,
                 project: str | None = None) -> bytes:
    """The bytes of the regular file root/rel, refusing symlinks anywhere on the way and
    anything larger than limit (or cutting it there, with truncate)."""
    with _open_regular(root, rel, project=project) as fd, os.fdopen(fd, "rb", closefd=False) as f:
        data = f.read(limit + 1)
    if truncate:
        return data[:limit]
    if len(data) > limit:
        raise BuildError(f"the build's {rel} is larger than {limit} bytes", project=project)
    return data


def read_dist_info(root: Path, rel: str, *, project: str | None = None
                   ) -> tuple[bytes, str | None]:
    """METADATA and entry_points.txt (None when absent) of the one *.dist-info directory
    the PEP 517 metadata hook wrote under root/rel: upstream code wrote it, so it is read
    beneath root, bounded, and anything but exactly one .dist-info is refused."""
    infos = [n for n in list_beneath(root, rel, project=project) if n.endswith(".dist-info")]
    if len(infos) != 1:
        raise MetadataError("the PEP 517 hook produced no single .dist-info/METADATA",
                            project=project)
    info = f"{rel}/{infos[0]}"
    entry_points = None
    if "entry_points.txt" in list_beneath(root, info, project=project):
        entry_points = read_beneath(root, f"{info}/entry_points.txt", limit=METADATA_LIMIT,
                                    project=project).decode("utf-8", errors="replace")
    return (read_beneath(root, f"{info}/METADATA", limit=METADATA_LIMIT, project=project),
            entry_points)


def copy_beneath(root: Path, rel: str, dest: Path, *, project: str | None = None) -> None:
    """Copy the regular file root/rel to dest (a directory only the host writes)."""
    with (_open_regular(root, rel, project=project) as fd,
          os.fdopen(fd, "rb", closefd=False) as src, open(dest, "xb") as out):
        shutil.copyfileobj(src, out, 1 << 20)


def take_predicted(root: Path, found: Iterable[str], expected: Iterable[str], dest: Path, *,
                   tool: str, project: str) -> dict[str, Path]:
    """The predicted files of `root` (a tree upstream code could write), and nothing else:
    any other package file `found` there, or a predicted one missing, fails the build.
    Each is copied without following symlinks into `dest` (which no container sees) under
    its base name; returns relative name -> copy."""
    found, expected = list(found), list(expected)
    extra = unexpected(found, expected)
    if extra:
        raise BuildError(f"the build left {', '.join(extra)} beside the packages repack "
                         "rendered; only those may leave a build", project=project)
    missing = [n for n in expected if n not in found]
    if missing:
        raise BuildError(f"{tool} did not produce {', '.join(missing)}", project=project)
    dest.mkdir(parents=True, exist_ok=True)
    paths = {rel: dest / rel.rsplit("/", 1)[-1] for rel in expected}
    for rel, path in paths.items():
        copy_beneath(root, rel, path, project=project)
    return paths
