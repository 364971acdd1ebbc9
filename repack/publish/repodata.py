"""Append packages to yum metadata without re-reading what is already there.

`createrepo_c --update` parses every package of the old primary, filelists and other
files into objects and writes them all out again: about 1.5 s for 10,000 packages.  To add
a few packages, repack runs createrepo_c on those alone (in a scratch directory), splices
their <package> elements into the old documents as bytes, and writes a new repomd.xml:
the cost is a gzip round trip of the old files.  Anything else (a first publish, a
removal, metadata of other kinds) goes the createrepo_c way; callers fall back on
SpliceUnsupported.

Nor are the old packages compressed again: a spliced file is several gzip members end to
end (RFC 1952; zlib's gzread, which libsolv and createrepo_c read with, and Python's gzip
read them as one stream): the root's start tag, the packages (one member per splice), the
end tag.  A splice compresses a new start tag (the count), the new packages and the end
tag, and copies the old package members as they are; past MAX_MEMBERS they are packed
into one again.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import os
import re
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from repack import run
from repack.errors import SpliceUnsupported

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
ROOTS = {"primary": b"metadata", "filelists": b"filelists", "other": b"otherdata"}
_COUNT = re.compile(rb'packages="(\d+)"')
MAX_MEMBERS = 32      # package members of a spliced file before they are packed into one


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """One metadata file as repomd.xml describes it."""

    kind: str
    href: str
    checksum: str
    open_checksum: str
    size: int
    open_size: int


def _parts(doc: bytes, root: bytes) -> tuple[bytes, bytes, bytes]:
    """(everything up to and with the root's start tag, the packages, the end tag on)."""
    try:
        start = doc.index(b"<" + root + b" ")
        body = doc.index(b">", start) + 1
        close = doc.rindex(b"</" + root + b">")
    except ValueError as e:
        raise SpliceUnsupported(f"no <{root.decode()}> element") from e
    if doc[body - 2:body] == b"/>" or not _COUNT.search(doc[start:body]):
        raise SpliceUnsupported(f"an empty or unusual <{root.decode()}> element")
    return doc[:body], doc[body:close], doc[close:]


def splice(old: bytes, new: bytes, root: bytes) -> bytes:
    """old's packages followed by new's, with the count in the root tag added up."""
    head, body, tail = _parts(old, root)
    new_head, new_body, _ = _parts(new, root)
    count = sum(int(m.group(1)) for m in (_COUNT.search(head), _COUNT.search(new_head)) if m)
    head = _COUNT.sub(b'packages="%d"' % count, head, count=1)
    return head + body + new_body.lstrip(b"\n") + tail


def current_files(repodata: Path) -> dict[str, Path]:
    """The primary, filelists and other files repodata/repomd.xml points at, by type;
    SpliceUnsupported when one is missing or not gzip."""
    repomd = ET.parse(repodata / "repomd.xml").getroot()
    found: dict[str, Path] = {}
    for data in repomd.iter(f"{REPO_NS}data"):
        loc = data.find(f"{REPO_NS}location")
        kind = data.attrib.get("type", "")
        if kind == "updateinfo":        # rebuilt by repack.publish.security after us
            continue
        if kind not in ROOTS or loc is None or not loc.attrib["href"].endswith(".xml.gz"):
            raise SpliceUnsupported(f"metadata of type {kind!r} or not gzip")
        found[kind] = repodata.parent / loc.attrib["href"]
    if set(found) != set(ROOTS):
        raise SpliceUnsupported("primary, filelists or other is missing")
    return found


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def gzip_members(packed: bytes) -> list[tuple[bytes, bytes]]:
    """(compressed, uncompressed) of each gzip member of a file."""
    out = []
    while packed:
        member = zlib.decompressobj(wbits=31)
        raw = member.decompress(packed)
        if not member.eof:
            raise SpliceUnsupported("a truncated gzip file")
        rest = member.unused_data
        out.append((packed[:len(packed) - len(rest)], raw))
        packed = rest
    return out


def _framed(members: list[tuple[bytes, bytes]], root: bytes) -> bool:
    """Whether the first member is exactly the document's head (up to and with the root's
    start tag) and the last exactly its end tag on, as _parts(whole document) would cut
    it: what a splice wrote.  Tells so from those two members alone."""
    first, last = members[0][1], members[-1][1]
    end = b"</" + root + b">"
    start = first.find(b"<" + root + b" ")
    return (start >= 0 and first.find(b">", start) + 1 == len(first)
            and last.startswith(end) and last.rfind(end) == 0)


def spliced_gzip(old_packed: bytes, new: bytes, root: bytes
                 ) -> tuple[tuple[bytes, ...], bytes]:
    """(the spliced document in pieces, its gzip members): the old package members
    reused.  b"".join(pieces) is splice(old, new, root); the old packages are neither
    compressed nor copied into one document again (10,000 packages: ~10 MB of primary)."""
    members = gzip_members(old_packed)
    if 2 < len(members) < MAX_MEMBERS + 2 and _framed(members, root):
        head, tail = members[0][1], members[-1][1]
        old_head, _, _ = _parts(head + tail, root)      # the root tag checked as splice does
        new_head, new_body, _ = _parts(new, root)
        count = sum(int(m.group(1)) for m in (_COUNT.search(old_head),
                                              _COUNT.search(new_head)) if m)
        head = _COUNT.sub(b'packages="%d"' % count, old_head, count=1)
        added = new_body.lstrip(b"\n")
        packed = b"".join([_gz(head), *(c for c, _ in members[1:-1]), _gz(added), _gz(tail)])
        return (head, *(raw for _, raw in members[1:-1]), added, tail), packed
    old = b"".join(raw for _, raw in members)       # createrepo_c's one member, or too
    doc = splice(old, new, root)                    # many of ours: packed into one again
    new_head, new_body, new_tail = _parts(doc, root)
    return (doc,), _gz(new_head) + _gz(new_body) + _gz(new_tail)


def _write(repodata: Path, kind: str, xml: Sequence[bytes], packed: bytes | None = None
           ) -> Written:
    """Write one metadata file; xml: the document, in pieces (hashed one after another)."""
    packed = _gz(b"".join(xml)) if packed is None else packed
    digest = hashlib.sha256(packed).hexdigest()
    name = f"{digest}-{kind}.xml.gz"
    tmp = repodata / f".{name}.tmp-{os.getpid()}"
    tmp.write_bytes(packed)
    os.replace(tmp, repodata / name)
    opened = hashlib.sha256()
    for piece in xml:
        opened.update(piece)
    return Written(kind=kind, href=f"repodata/{name}", checksum=digest,
                   open_checksum=opened.hexdigest(), size=len(packed),
                   open_size=sum(map(len, xml)))


def repomd_text(files: Sequence[Written], revision: int) -> bytes:
    """repomd.xml as createrepo_c writes it (sha256, unique file names)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           ('<repomd xmlns="http://linux.duke.edu/metadata/repo" '
            'xmlns:rpm="http://linux.duke.edu/metadata/rpm">'),
           f"  <revision>{revision}</revision>"]
    for f in files:
        out += [f'  <data type="{f.kind}">',
                f'    <checksum type="sha256">{f.checksum}</checksum>',
                f'    <open-checksum type="sha256">{f.open_checksum}</open-checksum>',
                f'    <location href="{f.href}"/>',
                f"    <timestamp>{revision}</timestamp>",
                f"    <size>{f.size}</size>",
                f"    <open-size>{f.open_size}</open-size>",
                "  </data>"]
    out.append("</repomd>")
    return ("\n".join(out) + "\n").encode()


def append(repo: Path, added: Sequence[Path]) -> list[str]:
    """Add the rpms `added` (already in repo/) to repo/repodata; returns what was read.

    Raises SpliceUnsupported, having changed nothing, when the old metadata does not suit.
    """
    repodata = repo / "repodata"
    old = current_files(repodata)
    with tempfile.TemporaryDirectory(prefix=".repack-repodata-", dir=repo) as tmp:
        scratch = Path(tmp)                 # in repo/, so that hard links work
        for rpm in added:
            os.link(rpm, scratch / rpm.name)
        run.run(["createrepo_c", "--no-database", "--general-compress-type", "gz",
                 "--simple-md-filenames", "--quiet", scratch])
        new = {kind: gzip.decompress((scratch / "repodata" / f"{kind}.xml.gz").read_bytes())
               for kind in ROOTS}
    def spliced(kind: str) -> tuple[tuple[bytes, ...], bytes]:
        return spliced_gzip(old[kind].read_bytes(), new[kind], ROOTS[kind])

    # one thread per file: zlib and sha256 release the GIL
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ROOTS)) as pool:
        docs = dict(zip(ROOTS, pool.map(spliced, ROOTS), strict=True))   # all, or raise
        written = list(pool.map(lambda kind: _write(repodata, kind, *docs[kind]), ROOTS))
    tmp_repomd = repodata / f".repomd.xml.tmp-{os.getpid()}"
    tmp_repomd.write_bytes(repomd_text(written, int(time.time())))
    os.replace(tmp_repomd, repodata / "repomd.xml")
    return [str(repo / rpm.name) for rpm in added]
