"""What differs first between two builds of one package, in one line (a .deb or an .rpm).

`repack rebuild` and `repack build --against` both ask it; the packages compared may be
hostile, so what is printed is cut to printable text of one line.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from debian.deb822 import Deb822
from debian.debfile import DebError, DebFile

from repack.digest import sha256_file
from repack.errors import MetadataError
from repack.rpm.query import query
from repack.run import run

__all__ = ["deb_control", "deb_paragraph", "first_difference"]


def first_difference(a: Path, b: Path) -> str | None:
    """None when the packages are the same; else what differs first, in one line."""
    if sha256_file(a) == sha256_file(b):
        return None
    if a.name.endswith(".rpm"):
        return _rpm_difference(a, b)
    return _deb_difference(a, b)


# --------------------------------------------------------------------------- .deb

def deb_control(path: Path) -> bytes:
    """The control file of a .deb (what `dpkg-deb -f` prints), read in-process with
    python-debian: publishing a hundred packages then starts no hundred processes.  Read
    once per file as it is on disk (publish checks the record against it, then lists it)."""
    return _deb_control(*_identity(path))


def deb_paragraph(path: Path) -> Deb822:
    """deb_control parsed (deb822: fields looked up without regard to case), once per file
    as it is on disk: publish's record check and its Packages stanza share it.  Shared:
    never modified (copy it: Deb822(deb_paragraph(path)))."""
    return _deb_paragraph(*_identity(path))


def _identity(path: Path) -> tuple[Path, int, int, int]:
    try:
        st = path.stat()
    except OSError as exc:
        raise MetadataError(f"{path.name}: cannot read the .deb's control file: {exc}") from exc
    return path, st.st_ino, st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=256)
def _deb_paragraph(path: Path, inode: int, size: int, mtime_ns: int) -> Deb822:
    return Deb822(_deb_control(path, inode, size, mtime_ns).decode())


@functools.lru_cache(maxsize=256)
def _deb_control(path: Path, inode: int, size: int, mtime_ns: int) -> bytes:
    try:
        deb = DebFile(str(path))
        try:
            content = deb.control.get_content("control")
        finally:
            deb.close()
    except (DebError, KeyError, OSError, tarfile.TarError, EOFError) as exc:
        raise MetadataError(f"{path.name}: cannot read the .deb's control file: {exc}") from exc
    if not isinstance(content, bytes) or not content:
        raise MetadataError(f"{path.name}: the .deb has no control file")
    return content


def _deb_difference(a: Path, b: Path) -> str:
    ca, cb = Deb822(deb_control(a)), Deb822(deb_control(b))
    for field in dict.fromkeys([*ca.keys(), *cb.keys()]):
        if ca.get(field) != cb.get(field):
            return f"control field {field}: {_short(ca.get(field))} != {_short(cb.get(field))}"
    for what, option in (("file", "--fsys-tarfile"), ("control file", "--ctrl-tarfile")):
        ta, tb = (run(["dpkg-deb", option, p]).stdout for p in (a, b))
        if (diff := _tar_difference(ta, tb)) is not None:
            return f"{what} {diff}"
    return "the archives hold the same files but differ in compression or member order"


def _tar_members(data: bytes) -> Iterator[tuple[str, tuple[object, ...]]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            content = tar.extractfile(m) if m.isfile() else None
            digest = hashlib.sha256(content.read()).hexdigest()[:16] if content else ""
            yield m.name, (("type", m.type.decode()), ("mode", oct(m.mode)),
                           ("owner", f"{m.uname or m.uid}:{m.gname or m.gid}"),
                           ("time", m.mtime), ("size", m.size), ("link", m.linkname),
                           ("sha256", digest))


def _tar_difference(a: bytes, b: bytes) -> str | None:
    for ma, mb in itertools.zip_longest(_tar_members(a), _tar_members(b)):
        if ma is None or mb is None:
            extra = ma or mb
            assert extra is not None
            side = "only in the package" if mb is None else "only in the rebuild"
            return f"{extra[0]}: {side}"
        if ma[0] != mb[0]:
            return f"{ma[0]} != {mb[0]} (the file lists differ)"
        for (key, va), (_, vb) in zip(ma[1], mb[1], strict=True):
            if va != vb:
                return f"{ma[0]}: {key} {va} != {vb}"
    return None


# --------------------------------------------------------------------------- .rpm

_RPM_TAGS = ("NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "BUILDTIME", "BUILDHOST",
             "SOURCERPM", "SIZE", "LICENSE", "PAYLOADCOMPRESSOR")


def _rpm_difference(a: Path, b: Path) -> str | None:
    fmt = "%{SHA256HEADER}|%{PAYLOADDIGEST}\n"
    if query([a], fmt) == query([b], fmt):
        return None                       # same header and payload: only signatures differ
    tags = "|".join(f"%{{{t}}}" for t in _RPM_TAGS) + "\n"
    (va,), (vb,) = query([a], tags), query([b], tags)
    for tag, x, y in zip(_RPM_TAGS, va.split("|"), vb.split("|"), strict=True):
        if x != y:
            return f"header {tag}: {_short(x)} != {_short(y)}"
    with tempfile.TemporaryDirectory(prefix="repack-rpmdb-") as rpmdb:
        da, db = (run(["rpm", "--dbpath", rpmdb, "-qp", "--nosignature", "--nodigest", "--dump",
                       p]).stdout.decode(errors="replace").splitlines() for p in (a, b))
    for la, lb in itertools.zip_longest(da, db):
        if la != lb:
            name = (la or lb or "").split(" ", 1)[0]
            return f"file {name}: {_short(la)} != {_short(lb)}"
    return "the headers differ in a tag repack does not compare (rpm -qp --xml shows all)"


def _short(value: object, limit: int = 120) -> str:
    """Package text fit for one terminal line: the package checked may be hostile."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
