"""Safe extraction of sdist archives (.tar.gz, .tgz, .tar.bz2, .tar.xz, .tar, .zip).

An sdist is untrusted input.  `unpack_sdist` reads every member header first and refuses
the whole archive, before anything is written, when a member

* has an absolute name, a ``..`` component, a control character or a name that is not
  UTF-8, a name component over 255 bytes (NAME_MAX) or a path deeper than 64 levels or
  longer than 1,024 bytes (nothing a real sdist needs; far below PATH_MAX);
* is a symlink whose target (resolved through the archive's other symlinks) leaves the
  single top-level directory, a hardlink that does not point at an earlier regular file
  of the archive, or any link at all in a zip;
* is a device, fifo or any other special file, or is encrypted (zip);
* lies outside the one top-level directory, sits below a symlink or a file, or
  re-declares a path with a different type;

or when there are more than ``max_members`` members, or the regular files add up to
more than ``max_bytes`` (tar: declared sizes, which tarfile writes exactly; zip: declared
sizes first, then the bytes actually written are counted while streaming, since zip
headers are not trusted).  The decompressed tar stream itself is bounded too, and no
single tar header may exceed 1 MiB, so a pax-header or long-name bomb cannot exhaust
memory.

Extraction goes into a fresh temporary directory next to ``dest`` and the top-level
directory is renamed into ``dest`` only on success; on any failure nothing is left in
``dest``.  Tar archives are extracted by ``tarfile`` with ``filter="data"`` as a second
line of defence (explicitly: Python 3.14 changes the default).  Pythons without PEP 706
filters (before 3.11.4; Debian 12's python3.11 3.11.2 lacks them) get an equivalent
in-house extraction: regular files, directories and the already validated links, with
modes 0644/0755, no ownership, no special bits, and a realpath check on every write.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import lzma
import math
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Literal, TypeVar, cast

from repack.errors import UnsafeArchiveError

__all__ = [
    "ARCHIVE_SUFFIXES", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_MEMBERS",
    "find_cplusplus_sources", "find_native_sources", "unpack_sdist",
]

DEFAULT_MAX_MEMBERS = 20_000
DEFAULT_MAX_BYTES = 1 << 30          # 1 GiB of file content

ARCHIVE_SUFFIXES: dict[str, str] = {
    ".tar.gz": "gz", ".tgz": "gz", ".tar.bz2": "bz2", ".tbz2": "bz2",
    ".tar.xz": "xz", ".txz": "xz", ".tar": "tar", ".zip": "zip",
}

_MAX_HEADER_READ = 1 << 20           # largest single read tarfile may do (pax/GNU long headers)
_HEADER_ALLOWANCE = 4096             # per member: header, pax header, padding
_CHUNK = 1 << 16
_MAX_LINK_HOPS = 40
_MAX_COMPONENT = 255                 # bytes, NAME_MAX of every Linux file system
_MAX_DEPTH = 64                      # path components
_MAX_PATH = 1024                     # bytes of the whole member name
_MAX_MTIME = 1 << 33

# PEP 706 (tarfile extraction filters): Python 3.11.4+, and some distribution backports.
_HAVE_DATA_FILTER = hasattr(tarfile, "data_filter")


class _NoFilterError(Exception):
    """Stands in for tarfile.FilterError on Pythons without extraction filters."""


_FilterError: type[Exception] = getattr(tarfile, "FilterError", _NoFilterError)

# What reading a corrupt or truncated compressed stream can raise.  OSError covers
# gzip.BadGzipFile and bz2's "Invalid data stream".
_READ_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
    NotImplementedError,  # zipfile: unsupported compression method
)

_Kind = Literal["file", "dir", "symlink", "hardlink"]
_M = TypeVar("_M")


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str                    # as the archive spells it (for messages)
    parts: tuple[str, ...]       # normalised path components, archive-relative
    kind: _Kind
    size: int                    # declared size (regular files)
    link: str = ""               # symlink target as stored; hardlink target name
    link_parts: tuple[str, ...] = ()   # hardlink target, normalised
    executable: bool = False


# --------------------------------------------------------------------------- messages

def _show(text: str, limit: int = 160) -> str:
    """A member name fit for a one-line message: repr-escaped and truncated."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "...'"


def _refuse(message: str, project: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(message, project=project)


def _corrupt(archive: Path, exc: BaseException, project: str) -> UnsafeArchiveError:
    detail = str(exc) or type(exc).__name__
    return _refuse(f"corrupt archive {archive.name!r}: {_show(detail, 200)[1:-1]}", project)


# --------------------------------------------------------------------------- names

def _split_name(name: str, what: str, project: str) -> tuple[str, ...]:
    """Normalise a member (or hardlink target) name to path components, or refuse it."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise _refuse(f"refusing {what} {_show(name)}: name contains a control character", project)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(f"refusing {what} {_show(name)}: name is not valid UTF-8", project) from None
    if name.startswith("/"):
        raise _refuse(f"refusing {what} {_show(name)}: absolute path", project)
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refuse(f"refusing {what} {_show(name)}: path contains a '..' component", project)
    if any(len(p.encode()) > _MAX_COMPONENT for p in parts):
        raise _refuse(f"refusing {what} {_show(name)}: a name component is longer than "
                      f"{_MAX_COMPONENT} bytes", project)
    if len(parts) > _MAX_DEPTH or len(name.encode()) > _MAX_PATH:
        raise _refuse(f"refusing {what} {_show(name)}: path is deeper than {_MAX_DEPTH} "
                      f"levels or longer than {_MAX_PATH} bytes", project)
    return parts


def _symlink_stays_inside(
    link_parts: tuple[str, ...], target: str, links: dict[tuple[str, ...], str]
) -> bool:
    """Resolve a symlink target lexically, following the archive's own symlinks.

    True when every step stays inside the top-level directory (link_parts[0]).  A purely
    lexical check is not enough: with ``top/s -> .``, ``top/t -> s/s/../..`` looks harmless
    but resolves to the parent of the extraction directory.
    """
    current = list(link_parts[:-1])
    pending = target.split("/")
    hops = 0
    while pending:
        comp = pending.pop(0)
        if comp in ("", "."):
            continue
        if comp == "..":
            if len(current) <= 1:
                return False
            current.pop()
            continue
        current.append(comp)
        nested = links.get(tuple(current))
        if nested is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS or nested.startswith("/"):
                return False
            current.pop()
            pending = nested.split("/") + pending
    return True


def _check_tree(entries: Sequence[_Entry], project: str) -> str:
    """Check the members as a whole; return the name of the single top-level directory."""
    top = _single_top(entries, project)
    kinds = _kinds(entries, project)
    if kinds.get((top,), "dir") != "dir":
        raise _refuse(f"refusing top-level {kinds[(top,)]} {_show(top)}: the top-level entry "
                      "of an sdist must be a directory", project)
    _check_parents(entries, kinds, project)
    _check_symlinks(entries, project)
    return top


def _single_top(entries: Sequence[_Entry], project: str) -> str:
    """The one top-level name of the members; refused when there is none or several."""
    if not entries:
        raise _refuse("archive is empty", project)
    tops = list(dict.fromkeys(e.parts[0] for e in entries))
    if len(tops) > 1:
        shown = ", ".join(_show(t, 60) for t in tops[:5]) + (", ..." if len(tops) > 5 else "")
        raise _refuse(
            f"archive has more than one top-level entry ({shown}); an sdist has exactly one "
            "top-level directory", project)
    return tops[0]


def _kinds(entries: Sequence[_Entry], project: str) -> dict[tuple[str, ...], _Kind]:
    """The kind of each member path.  A path may repeat only as the same file or directory
    (tar appends updates), and a hardlink must name an earlier regular file."""
    kinds: dict[tuple[str, ...], _Kind] = {}
    files: set[tuple[str, ...]] = set()
    for e in entries:
        previous = kinds.get(e.parts)
        if previous is not None and not (previous == e.kind and e.kind in ("file", "dir")):
            raise _refuse(
                f"refusing {e.kind} {_show(e.name)}: the archive already has a {previous} "
                "with that name", project)
        kinds[e.parts] = e.kind
        if e.kind == "hardlink" and e.link_parts not in files:
            raise _refuse(
                f"refusing hardlink {_show(e.name)} -> {_show(e.link)}: target is not an "
                "earlier regular file of the archive", project)
        if e.kind in ("file", "hardlink"):
            files.add(e.parts)
    return kinds


def _check_parents(entries: Sequence[_Entry], kinds: dict[tuple[str, ...], _Kind],
                   project: str) -> None:
    """Every member lies below directories only (never below a file or a symlink)."""
    for e in entries:
        for depth in range(1, len(e.parts)):
            parent_kind = kinds.get(e.parts[:depth], "dir")
            if parent_kind != "dir":
                raise _refuse(
                    f"refusing member {_show(e.name)}: it lies below the {parent_kind} "
                    f"{_show('/'.join(e.parts[:depth]))}", project)


def _check_symlinks(entries: Sequence[_Entry], project: str) -> None:
    """Every symlink has a relative target that stays inside the tree."""
    links = {e.parts: e.link for e in entries if e.kind == "symlink"}
    for e in entries:
        if e.kind != "symlink":
            continue
        if not e.link:
            raise _refuse(f"refusing symlink {_show(e.name)}: empty target", project)
        if e.link.startswith("/"):
            raise _refuse(f"refusing symlink {_show(e.name)} -> {_show(e.link)}: absolute "
                          "target", project)
        if not _symlink_stays_inside(e.parts, e.link, links):
            raise _refuse(f"refusing symlink {_show(e.name)} -> {_show(e.link)}: target leaves "
                          "the source tree", project)


# --------------------------------------------------------------------------- tar

class _BoundedReader:
    """A read-only, seekable view of a decompressed stream with hard limits.

    Refuses to go past ``limit`` bytes of decompressed data and refuses any single read
    larger than ``_MAX_HEADER_READ`` (tarfile reads pax and GNU long-name headers whole).
    """

    def __init__(self, raw: IO[bytes], limit: int, project: str) -> None:
        self._raw = raw
        self._limit = limit
        self._project = project

    def _over(self) -> UnsafeArchiveError:
        return _refuse(f"decompressed tar stream exceeds {self._limit} bytes (compression "
                       "bomb?)", self._project)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > _MAX_HEADER_READ:
            raise _refuse(f"refusing a tar header or read of {size} bytes (over "
                          f"{_MAX_HEADER_READ})", self._project)
        if self._raw.tell() + size > self._limit:
            raise self._over()
        return self._raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET and offset > self._limit:
            raise self._over()
        if whence != os.SEEK_SET:
            raise OSError(errno.EINVAL, "only absolute seeks are supported")
        return self._raw.seek(offset)

    def tell(self) -> int:
        return self._raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def _decompressor(raw: BinaryIO, kind: str) -> IO[bytes]:
    if kind == "gz":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bz2":
        return cast(IO[bytes], bz2.BZ2File(raw, mode="rb"))
    if kind == "xz":
        return cast(IO[bytes], lzma.LZMAFile(raw, mode="rb"))
    return raw


def _tar_entry(member: tarfile.TarInfo, project: str) -> _Entry | None:
    name = member.name
    if member.ischr() or member.isblk():
        raise _refuse(f"refusing member {_show(name)}: device file", project)
    if member.isfifo():
        raise _refuse(f"refusing member {_show(name)}: fifo", project)
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise _refuse(f"refusing member {_show(name)}: unsupported tar member type "
                      f"{member.type!r}", project)
    parts = _split_name(name, "member", project)
    if not parts:
        if member.isdir():
            return None          # "./": the extraction directory itself; skipped
        raise _refuse(f"refusing member {_show(name)}: empty name", project)
    if not (isinstance(member.mtime, (int, float)) and math.isfinite(member.mtime)
            and 0 <= member.mtime < _MAX_MTIME):
        member.mtime = 0
    if member.size < 0:
        raise _refuse(f"refusing member {_show(name)}: negative size", project)
    if member.issym():
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in member.linkname):
            raise _refuse(f"refusing symlink {_show(name)} -> {_show(member.linkname)}: target "
                          "contains a control character", project)
        return _Entry(name, parts, "symlink", 0, link=member.linkname)
    if member.islnk():
        link_parts = _split_name(member.linkname, f"hardlink {_show(name)} ->", project)
        return _Entry(name, parts, "hardlink", 0, link=member.linkname, link_parts=link_parts)
    if member.isdir():
        return _Entry(name, parts, "dir", 0)
    return _Entry(name, parts, "file", member.size, executable=bool(member.mode & 0o100))


def _unpack_tar(archive: Path, kind: str, tmp: Path, *, project: str, max_members: int,
                max_bytes: int) -> str:
    stream_limit = max_bytes + max_members * _HEADER_ALLOWANCE + (1 << 20)
    with open(archive, "rb") as raw, contextlib.ExitStack() as stack:
        try:
            decompressed = stack.enter_context(_decompressor(raw, kind))
            stream = _BoundedReader(decompressed, stream_limit, project)
            tar = stack.enter_context(tarfile.open(fileobj=cast(IO[bytes], stream), mode="r:"))
        except UnsafeArchiveError:
            raise
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc, project) from exc
        selected: list[tuple[tarfile.TarInfo, _Entry]] = []
        count = 0
        total = 0
        try:
            while (member := tar.next()) is not None:
                count += 1
                if count > max_members:
                    raise _refuse(f"archive has more than {max_members} members (limit)",
                                  project)
                entry = _tar_entry(member, project)
                if entry is None:
                    continue
                total += entry.size
                if total > max_bytes:
                    raise _refuse(
                        f"members declare more than {max_bytes} bytes in total (limit; "
                        f"compression bomb?), at member {_show(member.name)}", project)
                selected.append((member, entry))
        except UnsafeArchiveError:
            raise
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc, project) from exc

        top = _check_tree([e for _, e in selected], project)

        try:
            if _HAVE_DATA_FILTER:
                tar.errorlevel = 1       # OSError and FilterError raise; utime etc. do not
                tar.extractall(tmp, members=[m for m, _ in selected], filter="data")
            else:
                def open_member(entry: _Entry, member: tarfile.TarInfo) -> IO[bytes]:
                    fileobj = tar.extractfile(member)
                    assert fileobj is not None
                    return fileobj
                _write_entries(tmp, [(e, m) for m, e in selected], open_member,
                               max_bytes=max_bytes, project=project, archive=archive)
        except UnsafeArchiveError:
            raise
        except _FilterError as exc:
            raise _refuse(f"refused by tarfile's data filter: {exc}", project) from exc
        except (tarfile.TarError, zlib.error, lzma.LZMAError, EOFError,
                gzip.BadGzipFile) as exc:
            raise _corrupt(archive, exc, project) from exc
    return top


# --------------------------------------------------------------------------- zip

def _zip_entry(info: zipfile.ZipInfo, project: str) -> _Entry | None:
    name = info.filename
    mode = info.external_attr >> 16
    fmt = stat.S_IFMT(mode)
    if fmt == stat.S_IFLNK:
        raise _refuse(f"refusing member {_show(name)}: symlink in a zip archive", project)
    if fmt in (stat.S_IFCHR, stat.S_IFBLK):
        raise _refuse(f"refusing member {_show(name)}: device file", project)
    if fmt == stat.S_IFIFO:
        raise _refuse(f"refusing member {_show(name)}: fifo", project)
    if fmt not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(f"refusing member {_show(name)}: special file (mode {mode:o})", project)
    if info.flag_bits & 0x41:
        raise _refuse(f"refusing member {_show(name)}: encrypted", project)
    if info.flag_bits & 0x20:
        raise _refuse(f"refusing member {_show(name)}: compressed patched data", project)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                  zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        raise _refuse(f"refusing member {_show(name)}: unsupported compression method "
                      f"{info.compress_type}", project)
    parts = _split_name(name, "member", project)
    if not parts:
        if info.is_dir():
            return None
        raise _refuse(f"refusing member {_show(name)}: empty name", project)
    if info.is_dir() or fmt == stat.S_IFDIR:
        return _Entry(name, parts, "dir", 0)
    return _Entry(name, parts, "file", info.file_size, executable=bool(mode & 0o100))


def _unpack_zip(archive: Path, tmp: Path, *, project: str, max_members: int,
                max_bytes: int) -> str:
    with open(archive, "rb") as raw:
        try:
            zf = zipfile.ZipFile(raw)
            infos = zf.infolist()
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc, project) from exc
        with zf:
            if len(infos) > max_members:
                raise _refuse(f"archive has more than {max_members} members (limit)", project)
            selected: list[tuple[_Entry, zipfile.ZipInfo]] = []
            total = 0
            for info in infos:
                entry = _zip_entry(info, project)
                if entry is None:
                    continue
                total += entry.size
                if total > max_bytes:
                    raise _refuse(f"members declare more than {max_bytes} bytes in total "
                                  f"(limit; compression bomb?), at member {_show(info.filename)}",
                                  project)
                selected.append((entry, info))
            top = _check_tree([e for e, _ in selected], project)

            def open_member(entry: _Entry, info: zipfile.ZipInfo) -> IO[bytes]:
                return zf.open(info)
            _write_entries(tmp, selected, open_member, max_bytes=max_bytes, project=project,
                           archive=archive)
    return top


# --------------------------------------------------------------------------- writing

def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _write_entries(
    tmp: Path,
    entries: Sequence[tuple[_Entry, _M]],
    open_member: Callable[[_Entry, _M], IO[bytes]],
    *,
    max_bytes: int,
    project: str,
    archive: Path,
) -> None:
    """Write validated entries below tmp, counting the bytes actually written."""
    root = os.path.realpath(tmp)
    budget = max_bytes
    for entry, member in entries:
        target = os.path.join(root, *entry.parts)
        parent = os.path.dirname(target)
        os.makedirs(parent, mode=0o755, exist_ok=True)
        if not _inside(os.path.realpath(parent), root):
            raise _refuse(f"refusing member {_show(entry.name)}: it would be written outside "
                          "the extraction directory", project)
        if entry.kind == "dir":
            os.makedirs(target, mode=0o755, exist_ok=True)
        elif entry.kind == "symlink":
            if os.path.lexists(target):
                os.unlink(target)
            os.symlink(entry.link, target)
            if not _inside(os.path.realpath(target), root):
                raise _refuse(f"refusing symlink {_show(entry.name)} -> {_show(entry.link)}: "
                              "target leaves the source tree", project)
        elif entry.kind == "hardlink":
            source = os.path.join(root, *entry.link_parts)
            if os.path.lexists(target):
                os.unlink(target)
            os.link(source, target, follow_symlinks=False)
        else:
            try:
                src = open_member(entry, member)
            except _READ_ERRORS as exc:
                raise _corrupt(archive, exc, project) from exc
            budget = _write_file(target, entry, src, budget,
                                 max_bytes=max_bytes, project=project, archive=archive)


def _write_file(target: str, entry: _Entry, src: IO[bytes], budget: int, *, max_bytes: int,
                project: str, archive: Path) -> int:
    mode = 0o755 if entry.executable else 0o644
    if os.path.lexists(target):
        os.unlink(target)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with src, os.fdopen(fd, "wb") as dst:
        while True:
            try:
                chunk = src.read(_CHUNK)
            except _READ_ERRORS as exc:
                raise _corrupt(archive, exc, project) from exc
            if not chunk:
                break
            budget -= len(chunk)
            if budget < 0:
                raise _refuse(f"archive expands to more than {max_bytes} bytes (limit; "
                              f"compression bomb?), at member {_show(entry.name)}", project)
            dst.write(chunk)
        os.fchmod(dst.fileno(), mode)
    return budget


# --------------------------------------------------------------------------- public

def _archive_kind(archive: Path) -> str | None:
    lower = archive.name.lower()
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if lower.endswith(suffix):
            return kind
    return None


def unpack_sdist(
    archive: Path,
    dest: Path,
    *,
    project: str,
    max_members: int = DEFAULT_MAX_MEMBERS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Safely extract an sdist into ``dest``; return ``dest / <its top-level directory>``.

    ``dest`` need not exist; it is created on success only.  Raises UnsafeArchiveError
    (one line, naming the member and the problem) for anything listed in the module
    docstring, and FileExistsError when ``dest`` already holds that top-level directory.
    On any failure nothing is left in ``dest``.
    """
    kind = _archive_kind(archive)
    if kind is None:
        raise _refuse(f"unknown archive type {archive.name!r} (expected one of "
                      f"{', '.join(ARCHIVE_SUFFIXES)})", project)
    if not archive.is_file():
        raise FileNotFoundError(errno.ENOENT, "sdist archive not found", str(archive))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".repack-unpack-", dir=dest.parent))
    try:
        if kind == "zip":
            top = _unpack_zip(archive, tmp, project=project, max_members=max_members,
                              max_bytes=max_bytes)
        else:
            top = _unpack_tar(archive, kind, tmp, project=project, max_members=max_members,
                              max_bytes=max_bytes)
        extracted = tmp / top
        if not extracted.is_dir() or extracted.is_symlink():
            raise _refuse(f"top-level entry {_show(top)} did not extract as a directory",
                          project)
        final = dest / top
        created = not dest.exists()
        dest.mkdir(exist_ok=True)
        if os.path.lexists(final):
            if created:
                dest.rmdir()
            raise FileExistsError(errno.EEXIST, "already unpacked", str(final))
        os.rename(extracted, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Directory names whose sources do not make a package native: tests, docs, examples.
# Hidden directories (.git, .github, .tox, ...) and __pycache__ are skipped too.
_NON_BUILD_DIRS = frozenset({
    "test", "tests", "testing", "doc", "docs", "example", "examples",
    "benchmark", "benchmarks", "__pycache__",
})
# C, C++, Objective-C, CUDA, Cython, Fortran.
_NATIVE_SUFFIXES = frozenset({
    ".c", ".cc", ".cpp", ".cxx", ".c++", ".cu", ".m", ".mm", ".pyx",
    ".f", ".for", ".f77", ".f90", ".f95", ".f03", ".f08",
})


def _walk(tree: Path) -> Iterator[tuple[str, list[str]]]:
    for dirpath, dirnames, filenames in os.walk(tree, followlinks=False):
        dirnames[:] = [d for d in dirnames
                       if not d.startswith(".") and d.lower() not in _NON_BUILD_DIRS]
        yield dirpath, filenames


def find_native_sources(tree: Path) -> bool:
    """True when the tree holds sources of a compiled extension.

    Counts C/C++/Objective-C/CUDA/Cython/Fortran sources (by suffix, case-insensitive;
    headers alone do not count) and Rust sources when a Cargo.toml is present.
    Directories named tests/test/testing/docs/doc/examples/example/benchmarks/benchmark,
    hidden directories and __pycache__ are ignored; symlinked directories are not
    followed.  A heuristic that errs towards True: Architecture: any for a pure package
    costs build time, Architecture: all for a compiled one ships a broken package.
    """
    has_cargo = has_rust = False
    for _dirpath, filenames in _walk(tree):
        for filename in filenames:
            suffix = os.path.splitext(filename)[1].lower()
            if suffix in _NATIVE_SUFFIXES:
                return True
            if filename == "Cargo.toml":
                has_cargo = True
            elif suffix == ".rs":
                has_rust = True
            if has_cargo and has_rust:
                return True
    return False


# C++ and Objective-C++: compiled by g++ (rpm: BuildRequires gcc-c++, which gcc lacks).
_CPLUSPLUS_SUFFIXES = frozenset({".cc", ".cpp", ".cxx", ".c++", ".mm"})


def find_cplusplus_sources(tree: Path) -> bool:
    """True when the tree holds C++ sources where find_native_sources looks (grpcio's .cc):
    Fedora's guidelines have a spec name gcc-c++ apart from gcc."""
    return any(os.path.splitext(filename)[1].lower() in _CPLUSPLUS_SUFFIXES
               for _dirpath, filenames in _walk(tree) for filename in filenames)
