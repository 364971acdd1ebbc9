"""repack.rpm.payload: one file out of an rpm's payload, in-process and bounded.

The rpms here are written byte by byte (lead, headers, a compressed newc cpio) so that each
refusal can be provoked; one real rpmbuild package checks the parser against rpm2archive.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack.errors import MetadataError
from repack.rpm import payload
from repack.trust import provenance

NAME = "python3-demo"
DOC = "./" + provenance.doc_path(NAME)
RECORD = b'{"schema": 1}\n'
COMPRESS = {"gzip": lambda b: gzip.compress(b, mtime=0), "xz": lzma.compress,
            "bzip2": bz2.compress, "zstd": lambda b: b"\x28\xb5\x2f\xfd" + b}


def _header(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A header structure of (tag, type, count, data) entries."""
    index, store = b"", b""
    for tag, kind, count, data in entries:
        if kind == payload.INT32:
            store += b"\0" * (-len(store) % 4)
        index += struct.pack(">IIiI", tag, kind, len(store), count)
        store += data
    return payload.HEADER_MAGIC + b"\0" * 4 + struct.pack(">II", len(entries), len(store)) \
        + index + store


def _strs(*values: str) -> bytes:
    return b"".join(v.encode() + b"\0" for v in values)


def _cpio(members: list[tuple[str, bytes, int]]) -> bytes:
    out = b""
    for name, data, mode in [*members, ("TRAILER!!!", b"", 0)]:
        raw = name.encode() + b"\0"
        fields = [1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0]
        head = b"070701" + b"".join(b"%08x" % f for f in fields) + raw
        out += head + b"\0" * (-len(head) % 4) + data + b"\0" * (-len(data) % 4)
    return out


def make_rpm(members: list[tuple[str, bytes, int]], *, compressor: str = "gzip",
             name: str = NAME, listed: dict[str, bytes] | None = None) -> bytes:
    """An rpm whose header lists `listed` (path -> content whose sha256 it gives; default:
    the members) and whose payload is `members` (path, content, mode)."""
    listed = {p: d for p, d, _ in members} if listed is None else listed
    paths = [p.removeprefix(".") for p in listed]
    dirs = sorted({p.rpartition("/")[0] + "/" for p in paths})
    main = _header([
        (payload.NAME, payload.STRING, 1, _strs(name)),
        (payload.FILEDIGESTS, payload.STRING_ARRAY, len(listed),
         _strs(*(hashlib.sha256(d).hexdigest() for d in listed.values()))),
        (payload.PAYLOADFORMAT, payload.STRING, 1, _strs("cpio")),
        (payload.PAYLOADCOMPRESSOR, payload.STRING, 1, _strs(compressor)),
        (payload.DIRINDEXES, payload.INT32, len(paths),
         b"".join(struct.pack(">I", dirs.index(p.rpartition("/")[0] + "/")) for p in paths)),
        (payload.BASENAMES, payload.STRING_ARRAY, len(paths),
         _strs(*(p.rpartition("/")[2] for p in paths))),
        (payload.DIRNAMES, payload.STRING_ARRAY, len(dirs), _strs(*dirs)),
        (payload.FILEDIGESTALGO, payload.INT32, 1, struct.pack(">I", 8)),
    ])
    signature = _header([(1000, 7, 5, b"12345")])           # 37 bytes: padded to 40
    signature += b"\0" * (-len(signature) % 8)
    lead = payload.LEAD_MAGIC + b"\0" * (payload.LEAD_SIZE - 4)
    return lead + signature + main + COMPRESS[compressor](_cpio(members))


def read(rpm: bytes, **kw: object) -> bytes | None:
    args: dict = {"name": NAME, "max_size": provenance.MAX_DOC, **kw}
    return payload.member(io.BytesIO(rpm), DOC, **args)


FILE = 0o100644


@pytest.mark.parametrize("compressor", ["gzip", "xz", "bzip2"])
def test_reads_the_member_after_others(compressor: str) -> None:
    other = ("./usr/lib/python3.9/site-packages/demo/__init__.py", b"x = 1\n" * 999, FILE)
    rpm = make_rpm([other, (DOC, RECORD, FILE)], compressor=compressor)
    assert read(rpm) == RECORD


def test_no_such_member_or_not_a_regular_file() -> None:
    other = ("./usr/bin/demo", b"#!/bin/sh\n", 0o100755)
    assert read(make_rpm([other])) is None
    assert read(make_rpm([(DOC, b"", 0o120777)], listed={})) is None       # a symlink


def test_an_oversized_member_is_refused_unread() -> None:
    big = b"{" + b" " * 5000 + b"}"
    with pytest.raises(payload.Oversized) as caught:
        read(make_rpm([(DOC, big, FILE)]), max_size=4096)
    assert caught.value.size == len(big)


def test_a_decompression_bomb_is_refused_at_the_limit() -> None:
    bomb = ("./usr/share/zeros", b"\0" * (8 * 1024 * 1024), FILE)   # 8 MB -> ~8 kB gzip
    rpm = make_rpm([bomb, (DOC, RECORD, FILE)])
    assert len(rpm) < 64 * 1024
    with pytest.raises(MetadataError, match="decompresses to more than 1048576 bytes"):
        read(rpm, limit=1024 * 1024)
    assert read(rpm, limit=16 * 1024 * 1024) == RECORD


def test_the_member_must_match_the_header() -> None:
    forged = make_rpm([(DOC, RECORD, FILE)], listed={DOC: b'{"schema": 2}\n'})
    with pytest.raises(MetadataError, match="does not match the header's digest"):
        read(forged)
    unlisted = make_rpm([(DOC, RECORD, FILE)], listed={"./usr/bin/x": b""})
    with pytest.raises(MetadataError, match="not in its header"):
        read(unlisted)
    with pytest.raises(MetadataError, match="not the one rpm read"):
        read(make_rpm([(DOC, RECORD, FILE)], name="python3-other"))


def test_malformed_rpms_are_refused() -> None:
    rpm = make_rpm([("./usr/share/filler", b"a" * 4000, FILE), (DOC, RECORD, FILE)])
    with pytest.raises(MetadataError, match="not an rpm file"):
        read(b"\0" * 200)
    with pytest.raises(MetadataError, match="truncated"):
        read(rpm[:120])
    with pytest.raises(MetadataError):
        read(rpm[:-40])                        # the payload cut short
    huge = bytearray(rpm)
    struct.pack_into(">II", huge, 96 + 8, 0x10000, 0)     # the signature header's tag count
    with pytest.raises(MetadataError, match="rpm header of 65536 tags"):
        read(bytes(huge))


def test_zstd_is_left_to_the_caller() -> None:
    with pytest.raises(payload.Unsupported, match="zstd"):
        read(make_rpm([(DOC, RECORD, FILE)], compressor="zstd"))


@pytest.mark.process
@pytest.mark.skipif(not (shutil.which("rpmbuild") and shutil.which("rpm2archive")),
                    reason="needs rpmbuild and rpm2archive")
def test_a_real_rpm_reads_as_rpm2archive_reads_it(tmp_path: Path) -> None:
    rpm = build_rpm(tmp_path, NAME, "1.0")
    with rpm.open("rb") as fh:
        ours = payload.member(fh, DOC, name=NAME, max_size=provenance.MAX_DOC)
    tar = subprocess.run(["rpm2archive", "-n", "-"], stdin=rpm.open("rb"),
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        fh = archive.extractfile(DOC)
        assert fh is not None and ours == fh.read()
    assert ours is not None and b'"project": "demo"' in ours


def test_header_counts_are_bounded_by_its_data() -> None:
    header = payload.Header({payload.BASENAMES: (payload.STRING_ARRAY, 2 ** 31, 0),
                             payload.DIRINDEXES: (payload.INT32, 2 ** 30, 0),
                             payload.NAME: (payload.STRING, 1, 2)}, b"a\0bc")
    with pytest.raises(MetadataError, match="runs past the header"):
        payload.strings(header, payload.BASENAMES)
    with pytest.raises(MetadataError, match="32-bit integers"):
        payload.int32s(header, payload.DIRINDEXES)
    with pytest.raises(MetadataError, match="runs past the header"):
        payload.strings(header, payload.NAME)          # no NUL after "bc"
