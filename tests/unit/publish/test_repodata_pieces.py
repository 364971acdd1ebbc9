"""repack.publish.repodata.spliced_gzip, pure: the spliced document comes back in pieces
(hashed one after another, never joined) and its gzip members reuse the old ones."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from repack.errors import SpliceUnsupported
from repack.publish import repodata

HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="x" packages="%d">'
TAIL = b"</metadata>\n"


def pkg(name: str) -> bytes:
    return b'\n<package type="rpm"><name>%s</name></package>' % name.encode()


def doc(*names: str) -> bytes:
    return HEAD % len(names) + b"".join(pkg(n) for n in names) + b"\n" + TAIL


def members(*raws: bytes) -> bytes:
    return b"".join(gzip.compress(r, mtime=0) for r in raws)


@pytest.mark.parametrize("old_packed", [
    members(doc("a", "b")),                                   # createrepo_c's one member
    members(HEAD % 2, pkg("a") + pkg("b") + b"\n", TAIL),             # a splice's three
    members(HEAD % 3, pkg("a"), pkg("b") + pkg("c") + b"\n", TAIL),   # and more
    members(HEAD % 1, pkg("a") + b"\n" + TAIL),                       # not framed as a splice
])
def test_pieces_are_the_spliced_document(old_packed: bytes) -> None:
    new = doc("x", "y")
    old = gzip.decompress(old_packed)
    pieces, packed = repodata.spliced_gzip(old_packed, new, b"metadata")
    whole = b"".join(pieces)
    assert whole == repodata.splice(old, new, b"metadata")
    assert gzip.decompress(packed) == whole
    written = repodata.gzip_members(packed)
    assert len(written) == 3 or written[1:-2] == repodata.gzip_members(old_packed)[1:-1]


def test_old_members_are_reused_as_they_are(tmp_path: object) -> None:
    old_packed = members(HEAD % 3, pkg("a"), pkg("b") + pkg("c") + b"\n", TAIL)
    pieces, packed = repodata.spliced_gzip(old_packed, doc("x"), b"metadata")
    got = repodata.gzip_members(packed)
    old = repodata.gzip_members(old_packed)
    assert [c for c, _ in got[1:3]] == [c for c, _ in old[1:3]]
    assert got[0][1] == HEAD % 4 and got[-1][1] == TAIL and len(got) == 5
    assert pieces[0] == HEAD % 4


def test_write_hashes_the_pieces(tmp_path: object) -> None:
    from pathlib import Path
    where = Path(str(tmp_path))
    pieces = (b"<a>", b"b" * 1000, b"</a>")
    written = repodata._write(where, "primary", pieces)  # noqa: SLF001 - the unit under test
    assert written.open_checksum == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert written.open_size == 1007
    assert gzip.decompress((where / f"{written.checksum}-primary.xml.gz").read_bytes()) \
        == b"".join(pieces)


@pytest.mark.parametrize("old_packed", [
    members(b'<metadata packages="0"/>\n'),
    members(HEAD % 1, b'<metadata packages="1"/>', TAIL.replace(b"metadata", b"other")),
])
def test_unusual_documents_are_refused(old_packed: bytes) -> None:
    with pytest.raises(SpliceUnsupported):
        repodata.spliced_gzip(old_packed, doc("x"), b"metadata")
