"""One file out of an rpm's payload, read in-process and bounded (no rpm2archive per file).

An rpm is a 96-byte lead, the signature header (padded to 8 bytes), the main header and
the payload: a cpio archive (SVR4 "newc", magic 070701) compressed as the main header's
PAYLOADCOMPRESSOR says.  `member` walks that archive through a streaming decompressor,
never holding more than a chunk, and stops at the file it wants.  The package is untrusted
input, so everything is bounded: the header's size (rpm's own limits), a name's length,
the member's size (the caller's), and the bytes decompressed in all (`limit`, against a
decompression bomb).  What it returns is bound to the header rpm installs from: the file
must be listed there and match the header's digest of it (FILEDIGESTS), and the header's
NAME must be the one rpm read (`name`), so this parser cannot see another package than rpm.

A payload it does not handle (zstd, which Python 3.11's standard library cannot read;
the stripped cpio of rpms with files over 4 GB) raises Unsupported: the caller reads the
file another way (rpm2archive).
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from repack.errors import MetadataError

LEAD_SIZE = 96
LEAD_MAGIC = b"\xed\xab\xee\xdb"
HEADER_MAGIC = b"\x8e\xad\xe8\x01"
MAX_TAGS = 0xFFFF                  # rpm's hdrchkTags
MAX_HEADER_DATA = 256 * 1024 * 1024   # rpm's hdrchkData
MAX_PAYLOAD = 4 * 1024 ** 3       # bytes decompressed before a payload is refused
MAX_NAME = 4096                   # PATH_MAX: a cpio member name
CHUNK = 256 * 1024

NAME, FILEDIGESTS, PAYLOADFORMAT, PAYLOADCOMPRESSOR = 1000, 1035, 1124, 1125
DIRINDEXES, BASENAMES, DIRNAMES, FILEDIGESTALGO = 1116, 1117, 1118, 5011
STRING, STRING_ARRAY, I18NSTRING, INT32 = 6, 8, 9, 4
DIGESTS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
_CPIO = struct.Struct("6s8s8s8s8s8s8s8s8s8s8s8s8s8s")


class Unsupported(Exception):
    """A payload this module does not read (its compression or archive format)."""


class Oversized(Exception):
    """The member wanted is larger than the caller allows (its size: the caller says so)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a member of {size} bytes")
        self.size = size


@dataclass(frozen=True, slots=True)
class Header:
    """A header's index (tag -> (type, count, offset into store)) and its data store."""

    entries: dict[int, tuple[int, int, int]]
    store: bytes


def _exact(fh: BinaryIO, size: int, what: str) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise MetadataError(f"truncated rpm ({what})")
    return data


def read_header(fh: BinaryIO) -> Header:
    """One header structure (signature or main) at the file's position; the position is
    left just after it."""
    intro = _exact(fh, 16, "header")
    if intro[:4] != HEADER_MAGIC:
        raise MetadataError("not an rpm header")
    count, size = struct.unpack(">II", intro[8:])
    if count > MAX_TAGS or size > MAX_HEADER_DATA:
        raise MetadataError(f"an rpm header of {count} tags and {size} bytes")
    index = _exact(fh, 16 * count, "header index")
    store = _exact(fh, size, "header data")
    entries: dict[int, tuple[int, int, int]] = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack_from(">IIiI", index, 16 * i)
        if not 0 <= offset <= size:
            raise MetadataError(f"rpm header tag {tag} points outside the header")
        entries.setdefault(tag, (kind, n, offset))
    return Header(entries, store)


def strings(header: Header, tag: int) -> list[str]:
    """A STRING, STRING_ARRAY or I18NSTRING tag's values ([] when absent); each value is
    read where it lies, nothing past the last is copied (a header may hold 256 MB)."""
    if tag not in header.entries:
        return []
    kind, n, offset = header.entries[tag]
    if kind not in (STRING, STRING_ARRAY, I18NSTRING):
        raise MetadataError(f"rpm header tag {tag} is not a string")
    n = 1 if kind == STRING else n
    if n > len(header.store) - offset:       # each value takes one byte at least
        raise MetadataError(f"rpm header tag {tag} runs past the header")
    out = []
    for _ in range(n):
        end = header.store.find(b"\0", offset)
        if end < 0:
            raise MetadataError(f"rpm header tag {tag} runs past the header")
        out.append(header.store[offset:end].decode("utf-8", errors="replace"))
        offset = end + 1
    return out


def int32s(header: Header, tag: int) -> list[int]:
    if tag not in header.entries:
        return []
    kind, n, offset = header.entries[tag]
    if kind != INT32 or len(header.store) - offset < 4 * n:
        raise MetadataError(f"rpm header tag {tag} is not {n} 32-bit integers")
    return list(struct.unpack_from(f">{n}I", header.store, offset))


class _Zlib:
    """zlib's decompressobj with lzma's and bz2's interface (needs_input, max_length)."""

    def __init__(self) -> None:
        self.d = zlib.decompressobj(wbits=47)     # a gzip or zlib header
        self.eof = False

    @property
    def needs_input(self) -> bool:
        return not self.d.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self.d.decompress(self.d.unconsumed_tail + data, max_length)
        self.eof = self.d.eof
        return out


Decompressor = _Zlib | lzma.LZMADecompressor | bz2.BZ2Decompressor


def _decompressor(name: str) -> Decompressor:
    if name == "gzip":
        return _Zlib()
    if name in ("xz", "lzma"):
        return lzma.LZMADecompressor()
    if name == "bzip2":
        return bz2.BZ2Decompressor()
    raise Unsupported(f"payload compressed with {name or 'nothing known'}")


class _Stream:
    """The decompressed payload as a byte stream, refused past `limit` bytes."""

    def __init__(self, fh: BinaryIO, compressor: str, limit: int) -> None:
        self.fh, self.limit, self.total = fh, limit, 0
        self.d = _decompressor(compressor)
        self.buf, self.pos = b"", 0          # buf[pos:] is not consumed yet
        self.idle = 0                        # calls in a row that made no progress

    def _fill(self) -> bool:
        """Decompress up to CHUNK more bytes (reading only what the decompressor needs, so
        a bomb's input is never buffered); False at the payload's end."""
        if self.d.eof:
            return False
        raw = self.fh.read(CHUNK) if self.d.needs_input else b""
        if not raw and self.d.needs_input:
            raise MetadataError("a truncated rpm payload")
        try:
            out = self.d.decompress(raw, CHUNK)
        except (zlib.error, lzma.LZMAError, OSError, EOFError) as exc:
            raise MetadataError(f"a corrupt rpm payload ({exc})") from exc
        self.total += len(out)
        if self.total > self.limit:
            raise MetadataError(f"its payload decompresses to more than {self.limit} bytes")
        self.idle = 0 if out or raw else self.idle + 1
        if self.idle > 3:
            raise MetadataError("a corrupt rpm payload (the decompressor makes no progress)")
        self.buf, self.pos = self.buf[self.pos:] + out, 0
        return True

    def read(self, size: int) -> bytes:
        while len(self.buf) - self.pos < size:
            if not self._fill():
                raise MetadataError("a truncated rpm payload")
        self.pos += size
        return self.buf[self.pos - size:self.pos]

    def skip(self, size: int) -> None:
        while size > 0:
            if self.pos == len(self.buf) and not self._fill():
                raise MetadataError("a truncated rpm payload")
            step = min(size, len(self.buf) - self.pos)
            self.pos += step
            size -= step


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _listed_digest(header: Header, wanted: str) -> tuple[str, str]:
    """(hashlib name, hex digest) the header gives for the file `wanted` ("./usr/...")."""
    path = wanted.removeprefix(".")
    dirs, bases = strings(header, DIRNAMES), strings(header, BASENAMES)
    idx, digests = int32s(header, DIRINDEXES), strings(header, FILEDIGESTS)
    algo = DIGESTS.get((int32s(header, FILEDIGESTALGO) or [1])[0])
    if algo is None or not len(bases) == len(idx) == len(digests):
        raise MetadataError("its header's file list or digests are malformed")
    for base, d, digest in zip(bases, idx, digests, strict=True):
        if d < len(dirs) and dirs[d] + base == path:
            return algo, digest
    raise MetadataError(f"{path} is in its payload but not in its header")


def member(fh: BinaryIO, wanted: str, *, name: str | None, max_size: int,
           limit: int = MAX_PAYLOAD) -> bytes | None:
    """The content of the regular file `wanted` ("./usr/share/...") in the payload of the
    rpm open in fh, checked against the header's digest of it; None when the payload has no
    such regular file.  `name`: the package NAME rpm read from this header (None: not
    checked).  MetadataError when the rpm is malformed or the payload decompresses past
    `limit`; Oversized when the member is over max_size; Unsupported when its format is not
    handled here."""
    lead = _exact(fh, LEAD_SIZE, "lead")
    if lead[:4] != LEAD_MAGIC:
        raise MetadataError("not an rpm file")
    before = fh.tell()
    read_header(fh)                                # the signature header ...
    _exact(fh, (8 - (fh.tell() - before) % 8) % 8, "signature padding")   # ... 8-aligned
    header = read_header(fh)
    if name is not None and strings(header, NAME) != [name]:
        raise MetadataError("its header is not the one rpm read")
    if (strings(header, PAYLOADFORMAT) or ["cpio"]) != ["cpio"]:
        raise Unsupported(f"payload format {strings(header, PAYLOADFORMAT)[0]!r}")
    stream = _Stream(fh, (strings(header, PAYLOADCOMPRESSOR) or ["gzip"])[0], limit)
    while True:
        fields = _CPIO.unpack(stream.read(_CPIO.size))
        if fields[0] != b"070701":
            raise Unsupported(f"cpio entries of magic {fields[0]!r}")
        try:
            mode, size, namesize = (int(fields[i], 16) for i in (2, 7, 12))
        except ValueError as exc:
            raise MetadataError("a malformed cpio entry in its payload") from exc
        if not 0 < namesize <= MAX_NAME:
            raise MetadataError(f"a cpio entry name of {namesize} bytes in its payload")
        path = stream.read(namesize)[:-1].decode("utf-8", errors="replace")
        stream.skip(_pad4(_CPIO.size + namesize))
        if path == "TRAILER!!!":
            return None
        if path != wanted:
            stream.skip(size + _pad4(size))
            continue
        if mode & 0o170000 != 0o100000:
            return None
        if size > max_size:
            raise Oversized(size)
        data = stream.read(size)
        algo, digest = _listed_digest(header, wanted)
        if hashlib.new(algo, data).hexdigest() != digest.lower():
            raise MetadataError(f"its {wanted.rpartition('/')[2]} does not match the "
                                "header's digest of it")
        return data
