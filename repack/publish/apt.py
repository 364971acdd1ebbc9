"""The apt side of a staged generation: pool, Packages/Sources, signed Release.

The package lists live as JSON in STAGE/db/apt/<codename>.json (one record per stanza),
so a publish reads only the new .debs; the index files are regenerated from it with
python-debian.  Every index file is also reachable under by-hash/SHA256/ (kept for the
previous generation too), so a client that read the old InRelease still finds its lists.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import itertools
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath

from debian import deb822
from debian.debian_support import Version
from packaging.utils import canonicalize_name

from repack import targets as target_files
from repack.compare import deb_paragraph
from repack.digest import file_digest, sha256_file
from repack.errors import IntegrityError, MetadataError
from repack.files import write_file
from repack.gpg import Signer
from repack.publish import channels
from repack.publish.tree import Stage, pool_add, pool_drop
from repack.revision import next_free_hint
from repack.run import run

COMPONENT = "main"
BASE_ARCHES = ("amd64",)
CHECKSUM_FIELDS = (("Files", "md5", hashlib.md5), ("Checksums-Sha256", "sha256", hashlib.sha256))
Record = dict[str, str]
# Fields that end up in paths (pool/main/<p>/<Source>/, binary-<Architecture>/) or in
# the indexes, checked before anything is copied: a .deb or .dsc is attacker input.
# Policy 5.6.1/5.6.7's characters; its two-character minimum is left to dpkg, which does
# not enforce it either (and a one-letter name is no path risk).
NAME = re.compile(r"[a-z0-9][a-z0-9+.-]*")                  # Debian Policy 5.6.1, 5.6.7
VERSION = re.compile(r"([0-9]+:)?[0-9][A-Za-z0-9.+~-]*")    # Policy 5.6.12
ARCH = re.compile(r"[a-z0-9][a-z0-9-]*")                    # dpkg-architecture names
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+~_-]*")     # a pool file: no /, no ..


def pool_dir(source: str) -> str:
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]
    return f"pool/{COMPONENT}/{prefix}/{source}"


# -- the package database ------------------------------------------------------------------

def _db_path(stage: Path, codename: str) -> Path:
    return stage / "db" / "apt" / f"{codename}.json"


def load_db(stage: Path, codename: str) -> dict[str, list[Record]]:
    """The db; fresh lists (callers edit them), records shared (callers never edit one)."""
    path = _db_path(stage, codename)
    try:
        st = path.stat()
    except FileNotFoundError:
        return {"packages": [], "sources": []}
    key = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    data = _PARSED.get(key)
    if data is None:
        data = json.loads(path.read_bytes())
        _remember(key, data)
    return {k: list(v) for k, v in data.items()}


# A publish reads each db several times (apt, security, each suite); 10,000 records take
# 25-70 ms to parse.  Keyed by the file's identity: save_db writes a new inode, a new key,
# and remembers what it wrote (the lists are rendered from it at once).
_PARSED: dict[tuple[Path, int, int, int], dict[str, list[Record]]] = {}
_PARSED_MAX = 4


_PARSED_LOCK = threading.Lock()      # the suites are written and signed side by side


def _remember(key: tuple[Path, int, int, int], data: dict[str, list[Record]]) -> None:
    with _PARSED_LOCK:
        while len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)), None)
        _PARSED[key] = {k: list(v) for k, v in data.items()}


def _dump(value: object) -> bytes:
    # no indent: only then does json use its C encoder (10,000 records: 0.05 s, not 0.4 s)
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _appended(path: Path, db: dict[str, list[Record]], grown_from: tuple[str, int]
              ) -> bytes | None:
    """_dump(db) made from the bytes of the db file at path, when that file is the one
    `grown_from` names ((its db_identity, its number of packages)) and db is its content
    with packages appended: the old records stay as bytes, only the new ones are dumped.
    None when that cannot be shown (another file, other keys, other sources)."""
    identity, count = grown_from
    if set(db) != {"packages", "sources"} or _identity(path) != identity:
        return None
    old = path.read_bytes()
    head, tail = b'{"packages":[', b'],"sources":' + _dump(db["sources"]) + b"}"
    if not old.startswith(head) or not old.endswith(tail) or len(old) < len(head + tail):
        return None
    new = [_dump(r) for r in db["packages"][count:]]
    if not new:
        return old
    return old[:-len(tail)] + (b"," if count else b"") + b",".join(new) + tail


def save_db(stage: Path, codename: str, db: dict[str, list[Record]], *,
            grown_from: tuple[str, int] | None = None) -> None:
    """Write the db (sorted keys, no spaces).  grown_from: (the db_identity of the db file
    on disk, how many packages it holds) when `db` is that file's content with packages
    appended and nothing else changed: the file is spliced, not dumped whole (a nightly
    publish adds 100 records to 10,000; byte for byte the same text)."""
    path = _db_path(stage, codename)
    text = _appended(path, db, grown_from) if grown_from is not None else None
    write_file(path, _dump(db) if text is None else text)
    st = path.stat()
    _remember((path, st.st_ino, st.st_mtime_ns, st.st_size), db)


def codenames(stage: Path) -> list[str]:
    d = stage / "db" / "apt"
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def _add_pool_file(stage: Path, src: Path, rel: str, digest: str) -> bool:
    """Copy src to the pool; False if the identical file is there; refuse a different one."""
    dest = stage / "apt" / rel
    if dest.exists():
        if sha256_file(dest) != digest:
            raise IntegrityError(f"{rel} is already published with different content; "
                                 "refusing to overwrite it", hint=next_free_hint(rel))
        return False
    pool_add(stage, rel, src)      # recorded: the next publish replays the stage's delta
    return True


def _same_or_refuse(old: Record, new: Record, what: str, published: Sequence[str] = ()) -> bool:
    if old["SHA256"] != new["SHA256"]:
        raise IntegrityError(f"{what} is already published as a different file "
                             f"(sha256 {old['SHA256'][:12]}…, new {new['SHA256'][:12]}…); "
                             "refusing to overwrite it",
                             hint=next_free_hint(new["Version"], published))
    return True


def _check(what: str, field: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value) or ".." in value:
        raise MetadataError(f"{what}: {field} {value[:80]!r} is not a valid {field} "
                            "(Debian Policy 5.6); refusing to publish it")
    return value


def source_of(rec: Record, what: str) -> str:
    """The source package name of a binary's record ("Source: name (version)" allowed)."""
    text = rec.get("Source", rec["Package"])
    name, _, rest = text.partition(" ")
    if rest and not re.fullmatch(r"\(" + VERSION.pattern + r"\)", rest):
        raise MetadataError(f"{what}: Source {text[:80]!r} is not 'name' or 'name (version)'; "
                            "refusing to publish it")
    return _check(what, "Source", name, NAME)


def deb_record(deb: Path) -> Record:
    """The Packages stanza of a .deb (without Filename), from its control file; every field
    that names a path is checked (Debian Policy 5.6.1, 5.6.7, 5.6.12)."""
    fields = deb822.Packages(deb_paragraph(deb))     # a copy of the one the checks read
    for required in ("Package", "Version", "Architecture"):
        if required not in fields:
            raise MetadataError(f"{deb.name}: control file has no {required} field")
    _check(deb.name, "Package", fields["Package"], NAME)
    _check(deb.name, "Version", fields["Version"], VERSION)
    _check(deb.name, "Architecture", fields["Architecture"], ARCH)
    _check(deb.name, "file name", deb.name, FILE_NAME)
    for ours in ("Filename", "Size", "SHA256", "MD5sum", "SHA1", "SHA512", "Directory"):
        fields.pop(ours, None)       # the repository's own fields, never the package's
    record: Record = dict(fields)
    record["Size"] = str(deb.stat().st_size)
    record["SHA256"] = sha256_file(deb)
    return record


def _add_deb(stage: Path, db: dict[str, list[Record]], by_name: dict[str, list[Record]],
             deb: Path) -> bool:
    """Add one .deb; by_name: db["packages"] by Package, kept up to date here (a nightly
    publish adds 100 packages to 10,000: no scan of the whole list per package)."""
    rec = deb_record(deb)
    source = source_of(rec, deb.name)
    rel = f"{pool_dir(source)}/{deb.name}"
    rec["Filename"] = rel
    what = f"{rec['Package']} {rec['Version']} ({rec['Architecture']})"
    same_name = by_name.setdefault(rec["Package"], [])
    for old in same_name:
        if (old["Version"], old["Architecture"]) == (rec["Version"], rec["Architecture"]):
            return not _same_or_refuse(old, rec, what, [r["Version"] for r in same_name])
    _add_pool_file(stage, deb, rel, rec["SHA256"])
    db["packages"].append(rec)
    same_name.append(rec)
    return True


def by_package(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Records grouped by their Package field, in their order."""
    out: dict[str, list[Record]] = {}
    for rec in records:
        out.setdefault(rec["Package"], []).append(rec)
    return out


def _add_dsc(stage: Path, db: dict[str, list[Record]], dsc: Path) -> bool:
    text = dsc.read_text()
    fields = deb822.Dsc(text)             # parsed checksum lists
    plain = deb822.Deb822(text)           # every field as text; the signature is stripped
    for required in ("Source", "Version"):
        if required not in fields:
            raise MetadataError(f"{dsc.name}: no {required} field")
    source = _check(dsc.name, "Source", fields["Source"], NAME)
    _check(dsc.name, "Version", fields["Version"], VERSION)
    _check(dsc.name, "file name", dsc.name, FILE_NAME)
    for name in ("Files", "Checksums-Sha256", "Checksums-Sha1"):
        for item in fields.get(name, []):
            _check(dsc.name, "file name", item.get("name", ""), FILE_NAME)
    directory = pool_dir(source)
    rec: Record = {("Package" if k == "Source" else k): v for k, v in plain.items()
                   if k not in ("Checksums-Sha1",)}
    rec["Directory"] = directory
    rec["SHA256"] = sha256_file(dsc)
    size = dsc.stat().st_size
    md5 = file_digest(dsc, "md5")
    rec["Files"] = f"\n {md5} {size} {dsc.name}" + _checksum_text(fields, "Files")
    rec["Checksums-Sha256"] = (f"\n {rec['SHA256']} {size} {dsc.name}"
                               + _checksum_text(fields, "Checksums-Sha256"))
    what = f"source {source} {rec['Version']}"
    for old in db["sources"]:
        if (old["Package"], old["Version"]) == (source, rec["Version"]):
            return not _same_or_refuse(old, rec, what)
    # the files the .dsc names must be here and match before anything is copied
    parts = [(dsc, rec["SHA256"])]
    for item in fields.get("Checksums-Sha256", []):
        part = dsc.parent / item["name"]
        if not part.is_file() or sha256_file(part) != item["sha256"]:
            raise IntegrityError(f"{dsc.name}: {item['name']} is missing or does not match "
                                 "the .dsc's Checksums-Sha256")
        parts.append((part, item["sha256"]))
    for part, digest in parts:
        _add_pool_file(stage, part, f"{directory}/{part.name}", digest)
    db["sources"].append(rec)
    return True


def _checksum_text(fields: deb822.Dsc, name: str) -> str:
    key = "md5sum" if name == "Files" else "sha256"
    return "".join(f"\n {i[key]} {i['size']} {i['name']}" for i in fields.get(name, []))


def add(stage: Stage, target_id: str, files: Sequence[Path],
        channel: str | None = None, *, saved: Callable[[], None] | None = None) -> list[str]:
    """Add .deb and .dsc files of one target (to its channel's suite: <codename>, or
    <codename>-<channel>, repack.publish.channels); returns what was new.  saved: called
    when something was new, once the db holds it, before the lists are rendered."""
    codename = channels.apt_suite(target_files.load(target_id).codename, channel)
    before = db_identity(stage.root, codename)
    db = load_db(stage.root, codename)
    by_name = by_package(db["packages"])
    old = (len(db["packages"]), len(db["sources"]))
    added = []
    for f in sorted(files, key=lambda p: p.name):
        new = (_add_dsc(stage.root, db, f) if f.suffix == ".dsc"
               else _add_deb(stage.root, db, by_name, f))
        if new:
            added.append(f"{codename}: {f.name}")
    if added:
        save_db(stage.root, codename, db,
                grown_from=None if before is None or len(db["sources"]) != old[1]
                else (before, old[0]))
        if saved is not None:
            saved()
        # unsigned: write_dist signs them; a list that only gained packages of new names
        # is spliced into the one made from the db `before`, not rendered again
        grown = Growth(before=before, packages=db["packages"][old[0]:],
                       sources=len(db["sources"]) > old[1])
        write_lists(stage.root, codename, grown=grown)
        stage.changed = True
    return added


# -- promote --------------------------------------------------------------------------------

def _of_project(rec: Record, project: str, version: str | None) -> bool:
    """Whether a binary's record is of the project (and PEP 440 version): its Repack-*
    control fields, which publish checked against the provenance record."""
    if canonicalize_name(rec.get("Repack-Project", "")) != canonicalize_name(project):
        return False
    return version is None or channels.same_version(rec.get("Repack-Upstream-Version", ""),
                                                    version, str)


def promote(stage: Stage, source: str, dest: str, project: str,
            version: str | None) -> tuple[list[Record], list[str]]:
    """List in suite `dest` the binaries of the project (the version, else its newest
    Version) that suite `source` lists, with their source packages: the same records, so
    the same pool files.  Returns (the binaries found in source, what was new in dest)."""
    src = load_db(stage.root, source)
    matched = [r for r in src["packages"] if _of_project(r, project, version)]
    if not matched:
        return [], []
    newest = max((r["Version"] for r in matched), key=Version)
    chosen = [r for r in matched if r["Version"] == newest]
    keys = {_source_key(r) for r in chosen}
    db = load_db(stage.root, dest)
    added = []
    for rec in chosen:
        what = f"{rec['Package']} {rec['Version']} ({rec['Architecture']})"
        old = [o for o in db["packages"] if (o["Package"], o["Version"], o["Architecture"])
               == (rec["Package"], rec["Version"], rec["Architecture"])]
        if old:
            _same_or_refuse(old[0], rec, f"{dest}: {what}")
        else:
            db["packages"].append(rec)
            added.append(f"{dest}: {rec['Filename'].rpartition('/')[2]}")
    for rec in src["sources"]:
        if (rec["Package"], rec["Version"]) not in keys:
            continue
        old = [o for o in db["sources"] if (o["Package"], o["Version"])
               == (rec["Package"], rec["Version"])]
        if old:
            _same_or_refuse(old[0], rec, f"{dest}: source {rec['Package']} {rec['Version']}")
        else:
            db["sources"].append(rec)
            added.append(f"{dest}: source {rec['Package']} {rec['Version']}")
    if added:
        save_db(stage.root, dest, db)
        stage.changed = True
    return chosen, added


# -- remove and prune ----------------------------------------------------------------------

def _matches(rec: Record, package: str, version: str | None) -> bool:
    if rec["Package"] != package:
        return False
    if version is None:
        return True
    v = rec["Version"]
    upstream = v.partition(":")[2] if ":" in v else v
    return version in (v, upstream.rpartition("-")[0] or upstream)


def _source_key(rec: Record) -> tuple[str, str]:
    """(source name, source version) a binary came from: its Source field, whose version
    is the binary's own unless given ("name (version)", e.g. for a binNMU)."""
    name, _, rest = rec.get("Source", rec["Package"]).partition(" ")
    return name, rest.strip().removeprefix("(").removesuffix(")") or rec["Version"]


def removal(root: Path, package: str, version: str | None,
            only: Sequence[str] | None = None) -> dict[str, tuple[list[Record], list[Record]]]:
    """What `repo remove PACKAGE[=VERSION]` drops, per codename (all, or `only` these):
    the matching binaries, and the source packages (.dsc records) that only they came
    from, or that are themselves named so.  Reads, changes nothing."""
    plan = {}
    for codename in codenames(root):
        if only is not None and codename not in only:
            continue
        db = load_db(root, codename)
        binaries = [r for r in db["packages"] if _matches(r, package, version)]
        still = {_source_key(r) for r in db["packages"] if not _matches(r, package, version)}
        wanted = {_source_key(r) for r in binaries} - still
        sources = [r for r in db["sources"] if _matches(r, package, version)
                   or (r["Package"], r["Version"]) in wanted]
        if binaries or sources:
            plan[codename] = (binaries, sources)
    return plan


def files_of(rec: Record) -> list[str]:
    """The pool files (relative to apt/) of a Packages or Sources record."""
    if "Filename" in rec:
        return [rec["Filename"]]
    return [f"{rec['Directory']}/{line.split()[2]}"
            for line in rec.get("Checksums-Sha256", "").splitlines() if line.strip()]


def remove(stage: Stage, package: str, version: str | None,
           only: Sequence[str] | None = None) -> list[str]:
    """Drop what `removal` names from the staged databases and the pool."""
    removed = []
    for codename, (binaries, sources) in removal(stage.root, package, version, only).items():
        db = load_db(stage.root, codename)
        db["packages"] = [r for r in db["packages"] if r not in binaries]
        db["sources"] = [r for r in db["sources"] if r not in sources]
        removed += [f"{codename}: {r['Package']} {r['Version']}" for r in binaries]
        removed += [f"{codename}: source {r['Package']} {r['Version']}" for r in sources]
        save_db(stage.root, codename, db)
    if removed:
        stage.changed = True
        _collect_garbage(stage.root)
    return removed


def prune(stage: Stage, keep: int) -> list[str]:
    """Keep the newest `keep` versions of each package (dpkg's version order)."""
    removed = []
    for codename in codenames(stage.root):
        db = load_db(stage.root, codename)
        for kind, key in (("packages", ("Package", "Architecture")), ("sources", ("Package",))):
            groups: dict[tuple[str, ...], list[Record]] = {}
            for r in db[kind]:
                groups.setdefault(tuple(r[k] for k in key), []).append(r)
            kept = []
            for recs in groups.values():
                recs.sort(key=lambda r: Version(r["Version"]), reverse=True)
                kept += recs[:keep]
                removed += [f"{codename}: {r['Package']} {r['Version']}" for r in recs[keep:]]
            db[kind] = kept
        save_db(stage.root, codename, db)
    if removed:
        stage.changed = True
        _collect_garbage(stage.root)
    return removed


def _referenced(stage: Path) -> set[str]:
    refs = set()
    for codename in codenames(stage):
        db = load_db(stage, codename)
        refs |= {r["Filename"] for r in db["packages"]}
        for r in db["sources"]:
            for line in r["Checksums-Sha256"].splitlines():
                if line.strip():
                    refs.add(f"{r['Directory']}/{line.split()[2]}")
    return refs


def _collect_garbage(stage: Path) -> None:
    """Drop pool files no index names from the stage's pool (the live one keeps them)."""
    pool = stage / "apt" / "pool"
    refs = _referenced(stage)
    for path in sorted(pool.rglob("*"), reverse=True):
        rel = path.relative_to(stage / "apt").as_posix()
        if path.is_file() and rel not in refs:
            pool_drop(stage, rel)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# -- index files ---------------------------------------------------------------------------

PACKAGE_ORDER = ("Package", "Source", "Version", "Installed-Size", "Maintainer", "Architecture",
                 "Replaces", "Provides", "Depends", "Pre-Depends", "Recommends", "Suggests",
                 "Conflicts", "Breaks", "Enhances", "Description", "Homepage", "Section",
                 "Priority", "Filename", "Size", "SHA256")


def _sorted(records: Iterable[Record]) -> list[Record]:
    """By (Package, Version, Architecture); Versions are parsed only where a name has
    several records (parsing all 10,000 took half the time of writing a Packages file)."""
    by_name = by_package(records)
    out: list[Record] = []
    for name in sorted(by_name):
        group = by_name[name]
        if len(group) > 1:
            group.sort(key=lambda r: (Version(r["Version"]), r.get("Architecture", "")))
        out += group
    return out


def _stanzas(records: Iterable[Record], order: Sequence[str]) -> bytes:
    out = []
    for r in _sorted(records):
        ordered = {k: r[k] for k in order if k in r}
        ordered.update({k: v for k, v in r.items() if k not in ordered})
        out.append(_stanza(ordered))
    return "\n".join(out).encode()


def packages_text(records: Iterable[Record]) -> bytes:
    """A Packages list of these records, as the index files carry it."""
    return _stanzas(records, PACKAGE_ORDER)


def _stanza(fields: Record) -> str:
    """What deb822's dump() writes for plain string fields, ten times faster (a Packages
    file of 10,000 packages is rewritten on every publish)."""
    return "".join(f"{k}:{v}\n" if not v or v[0] == "\n" else f"{k}: {v}\n"
                   for k, v in fields.items())


@functools.lru_cache(maxsize=2)    # binary-all and binary-amd64 are often the same list
def _index_variants(data: bytes) -> dict[str, bytes]:
    # plain and gzip -1, no .xz: every apt reads .gz (reprepro's default lists are these
    # two), and the lists are rewritten whole on every publish.  A 6.7 MB list of 10,000
    # packages: gzip -1 0.02 s, 1.2 MB; xz -0 0.13 s of the publish's CPU, 1.0 MB.
    return {"": data, ".gz": gzip.compress(data, compresslevel=1, mtime=0)}


DROPPED = (".xz",)      # compressions earlier versions wrote: deleted when a list is rewritten


Written = tuple[str, str, int]      # an index file: its name (under dists/<suite>/), sha256, size


def _write_index(dist: Path, rel: str, data: bytes, twin: str | None = None) -> list[Written]:
    """rel and its compressed variants, each with its by-hash copy; twin: an index of the
    same dist written a moment ago with the same data (binary-amd64's list is often
    binary-all's), whose files are linked, not written and compressed again."""
    for suffix in DROPPED:      # the new Release will not name it; its by-hash copy stays
        (dist / f"{rel}{suffix}").unlink(missing_ok=True)    # while the live Release does
    written = []
    for suffix, blob in _index_variants(data).items():
        name = f"{rel}{suffix}"
        if twin is None:
            write_file(dist / name, blob)
        else:            # a new name for a new file: nothing shared is modified
            tmp = (dist / name).with_name(f".{PurePosixPath(name).name}.tmp-{os.getpid()}")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            os.link(dist / f"{twin}{suffix}", tmp)
            os.replace(tmp, dist / name)
        digest = hashlib.sha256(blob).hexdigest()
        by_hash = (dist / name).parent / "by-hash" / "SHA256" / digest
        if not by_hash.exists():
            by_hash.parent.mkdir(parents=True, exist_ok=True)
            os.link(dist / name, by_hash)
        written.append((name, digest, len(blob)))
    return written


def _release_hashes(release: Path) -> set[str]:
    if not release.is_file():
        return set()
    with release.open() as fh:
        return {item["sha256"] for item in deb822.Release(fh).get("SHA256", [])}


@dataclass(frozen=True, slots=True, kw_only=True)
class Growth:
    """What add() did to the db file `before`: appended `packages`, and sources or not."""

    before: str | None
    packages: list[Record]
    sources: bool


def splice_packages(old: bytes, count: int, new: Sequence[Record]) -> bytes | None:
    """The Packages text _stanzas renders for old's `count` records and `new` together,
    from old (what _stanzas made of them) and only the new stanzas.  None unless old is
    that (`count` stanzas, in order of name) and no new record's name is in old or twice
    in `new` (then the order is by name alone)."""
    parts = old.split(b"\n\n") if old else []
    stanzas = [*(x + b"\n" for x in parts[:-1]), *parts[-1:]]   # each ends in one newline
    if len(stanzas) != count or not all(x.startswith(b"Package: ") for x in stanzas):
        return None
    names = [x[9:x.index(b"\n")] for x in stanzas]
    ours = sorted(new, key=lambda r: r["Package"])
    keys = [r["Package"].encode() for r in ours]
    if (len(set(keys)) != len(keys) or not set(keys).isdisjoint(names)
            or any(a > b for a, b in itertools.pairwise(names))):
        return None
    out: list[bytes] = []
    start = 0
    for key, rec in zip(keys, ours, strict=True):
        at = bisect.bisect_left(names, key, lo=start)
        out += stanzas[start:at]
        # its keys sorted, as the db file gives the record back (save_db sorts them): the
        # fields PACKAGE_ORDER does not name come in that order
        out.append(_stanzas([dict(sorted(rec.items()))], PACKAGE_ORDER))
        start = at
    out += stanzas[start:]
    return b"\n".join(out)


def _write_lists(dist: Path, db: dict[str, list[Record]], grown: Growth | None = None
                 ) -> tuple[list[str], list[Written]]:
    """Packages (per architecture) and Sources, each plain and .gz; with `grown`
    (the lists on disk were made from the db before it grew), spliced where it can."""
    arches = sorted({*BASE_ARCHES, *(r["Architecture"] for r in db["packages"])} - {"all"})
    files: list[Written] = []
    lists: dict[tuple[int, ...], bytes] = {}    # the same records: the same list, once
    first: dict[tuple[int, ...], str] = {}      # ... written once, linked under other names
    for arch in ("all", *arches):
        recs = [r for r in db["packages"] if r["Architecture"] in (arch, "all")]
        key = tuple(map(id, recs))
        rel = f"{COMPONENT}/binary-{arch}/Packages"
        if key not in lists:
            spliced = None
            if grown is not None and (dist / rel).is_file():
                new = [r for r in grown.packages if r["Architecture"] in (arch, "all")]
                spliced = splice_packages((dist / rel).read_bytes(), len(recs) - len(new), new)
            lists[key] = _stanzas(recs, PACKAGE_ORDER) if spliced is None else spliced
        files += _write_index(dist, rel, lists[key], first.get(key))
        first.setdefault(key, rel)
    sources = f"{COMPONENT}/source/Sources"
    if grown is not None and not grown.sources and (dist / sources).is_file():
        text = (dist / sources).read_bytes()      # no new source: the list made before
    else:
        text = _stanzas(db["sources"], ("Package", "Binary", "Version"))
    files += _write_index(dist, sources, text)
    return arches, files


def _stamp_path(stage: Path, codename: str) -> Path:
    return stage / "db" / "apt" / f"{codename}.lists"     # not *.json: not a codename


def db_identity(stage: Path, codename: str) -> str | None:
    """Which db file this is: save_db always writes a new one (a new inode), and an
    untouched db is a hard link to the previous generation's."""
    return _identity(_db_path(stage, codename))


def _identity(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def _stamped_db(stage: Path, codename: str) -> str | None:
    """The db file the index files on disk were made from (db_identity), if known."""
    try:
        made = json.loads(_stamp_path(stage, codename).read_bytes())
    except (OSError, ValueError):
        return None
    db = made.get("db") if isinstance(made, dict) else None
    return db if isinstance(db, str) else None


def _lists_written_from(stage: Path, dist: Path, codename: str, source: str | None
                        ) -> tuple[list[str], list[Written]] | None:
    """The index files as a previous write_dist made them from this same db file (a
    transaction that changed only yum or the keys re-signs 10,000 packages' lists without
    rendering and compressing them again; the stamp has their digests, so neither are they
    read again), else None.  A stamp of an older repack (names only) is None: one render."""
    stamp = _stamp_path(stage, codename)
    if source is None or not stamp.is_file():
        return None
    try:
        made = json.loads(stamp.read_bytes())
        if made.get("db") != source:
            return None
        files = [(str(n), str(d), int(z)) for n, d, z in made["files"]]
        if any((dist / n).stat().st_size != z for n, _, z in files):
            return None
        return list(made["arches"]), files
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_lists(stage: Path, codename: str, db: dict[str, list[Record]] | None = None, *,
                grown: Growth | None = None) -> tuple[list[str], list[Written]]:
    """The index files of dists/<codename> (architectures, [(name, sha256, size)]): written
    from the db (or from `db`, not remembered), unless a previous call wrote them from this
    very db file.  add() calls it as soon as the db is saved, so that the rendering runs
    beside the other families' work; write_dist then finds them made."""
    dist = stage / "apt" / "dists" / codename
    source = db_identity(stage, codename) if db is None else None
    reused = _lists_written_from(stage, dist, codename, source)
    if reused is not None:          # the db is the file they were made from: re-sign only
        return reused
    if grown is not None and (grown.before is None
                              or _stamped_db(stage, codename) != grown.before):
        grown = None                # the lists on disk are not of the db before
    db = load_db(stage, codename) if db is None else db
    arches, files = _write_lists(dist, db, grown)
    if source is not None:
        write_file(_stamp_path(stage, codename), json.dumps(
            {"db": source, "arches": arches, "files": files}).encode())
    return arches, files


def write_dist(stage: Stage, codename: str, signer: Signer, *, origin: str,
               valid_days: int, now: datetime | None = None,
               db: dict[str, list[Record]] | None = None) -> None:
    """Regenerate dists/<codename> from the db (or from `db`: repack.publish.security
    writes <codename>-security so) and sign it (InRelease, Release.gpg)."""
    dist = stage.root / "apt" / "dists" / codename
    kept_hashes = _release_hashes(dist / "Release")    # the live generation's indexes
    arches, files = write_lists(stage.root, codename, db)
    now = now or datetime.now(UTC)
    release = deb822.Release()
    release["Origin"] = origin
    release["Label"] = origin
    release["Suite"] = codename
    release["Codename"] = codename
    release["Date"] = now.strftime("%a, %d %b %Y %H:%M:%S UTC")
    release["Valid-Until"] = (now + timedelta(days=valid_days)).strftime(
        "%a, %d %b %Y %H:%M:%S UTC")
    release["Architectures"] = " ".join(["all", *arches])
    release["Components"] = COMPONENT
    release["Acquire-By-Hash"] = "yes"
    release["No-Support-for-Architecture-all"] = "Packages"
    release["Description"] = f"{origin} packages for {codename}, built by repack"
    release["SHA256"] = [{"sha256": d, "size": str(z), "name": n}
                         for n, d, z in files]  # type: ignore[assignment]
    write_file(dist / "Release", release.dump().encode())
    with ThreadPoolExecutor(max_workers=2) as pool:     # two gpg (and gpgv) side by side
        signed = [pool.submit(signer.clearsign, dist / "Release", dist / "InRelease"),
                  pool.submit(signer.detach_sign, dist / "Release", dist / "Release.gpg")]
    for done in signed:
        done.result()                                   # the first error raises
    live = kept_hashes | {d for _, d, _ in files}
    for by_hash in dist.rglob("by-hash/SHA256/*"):
        if by_hash.name not in live:
            by_hash.unlink()
    stage.changed = True


# ---- verification, as a client sees the tree ---------------------------------------------

def _escapes(root: Path, base: Path, rel: str) -> bool:
    """Whether a path the metadata names leaves the repository: absolute, with a `..`
    component, or resolving (symlinks followed) outside REPO.  A client given such a path
    would fetch whatever the web server has there; repack never writes one."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts or "\\" in rel:
        return True
    return not (base / rel).resolve().is_relative_to(root.resolve())


def _gpgv(keyring: Path, *files: Path) -> tuple[bool, bytes]:
    """(good, signed payload); --output - gives the payload of a clearsigned file."""
    args: list[str | Path] = ["gpgv", "--keyring", keyring]
    if len(files) == 1:
        args += ["--output", "-"]
    proc = run([*args, *files], check=False)
    return proc.returncode == 0, proc.stdout


def verify_apt(root: Path, keyring: Path, now: datetime) -> list[str]:
    """Every check apt makes on REPO/apt (signatures against `keyring`, the hashes Release
    and the indexes name, the expiry), plus paths that leave the repository."""
    problems: list[str] = []
    apt = root / "apt"
    dists = apt / "dists"
    if not dists.is_dir():
        return problems
    for dist in sorted(p for p in dists.iterdir() if p.is_dir()):
        where = f"apt/dists/{dist.name}"
        inrelease, release = dist / "InRelease", dist / "Release"
        if not inrelease.is_file():
            problems.append(f"{where}/InRelease: missing")
            continue
        good, payload = _gpgv(keyring, inrelease)
        if not good:
            problems.append(f"{where}/InRelease: no good signature by a repository key")
        if not release.is_file() or not (dist / "Release.gpg").is_file():
            problems.append(f"{where}/Release or Release.gpg: missing")
        else:
            if not _gpgv(keyring, dist / "Release.gpg", release)[0]:
                problems.append(f"{where}/Release.gpg: no good signature of Release")
            if good and payload.strip() != release.read_bytes().strip():
                problems.append(f"{where}: InRelease and Release differ")
        fields = deb822.Release(payload.decode() if good else inrelease.read_text())
        problems += _check_dates(where, fields, now)
        for item in fields.get("SHA256", []):
            path = dist / item["name"]
            if _escapes(root, dist, item["name"]):
                problems.append(f"{where}: Release names {item['name']!r}, a path outside "
                                "the distribution")
            elif not path.is_file():
                problems.append(f"{where}/{item['name']}: missing")
            elif (str(path.stat().st_size), sha256_file(path)) != (item["size"], item["sha256"]):
                problems.append(f"{where}/{item['name']}: size or SHA256 differs from Release")
            elif fields.get("Acquire-By-Hash") == "yes" and not (
                    path.parent / "by-hash" / "SHA256" / item["sha256"]).is_file():
                problems.append(f"{where}/{item['name']}: by-hash copy missing")
            elif path.suffix in ("", ".gz", ".xz") and path.name in ("Packages", "Sources"):
                problems += _check_index(root, apt, path, f"{where}/{item['name']}")
    return problems


def _check_dates(where: str, fields: deb822.Release, now: datetime) -> list[str]:
    if "Valid-Until" not in fields:
        return [f"{where}/Release: no Valid-Until (a frozen mirror would go unnoticed)"]
    until = parsedate_to_datetime(fields["Valid-Until"])
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until <= now:
        return [f"{where}/Release: expired (Valid-Until {fields['Valid-Until']})"]
    return []


def _check_index(root: Path, apt: Path, path: Path, where: str) -> list[str]:
    problems = []
    text = path.read_text()
    if path.name == "Packages":
        for pkg in deb822.Packages.iter_paragraphs(text, use_apt_pkg=False):
            f = apt / pkg["Filename"]
            what = f"{where}: {pkg['Package']} {pkg['Version']}"
            if _escapes(root, apt, pkg["Filename"]):
                problems.append(f"{what}: Filename {pkg['Filename']!r} leaves the repository")
            elif not f.is_file():
                problems.append(f"{what}: {pkg['Filename']} missing")
            elif (str(f.stat().st_size), sha256_file(f)) != (pkg["Size"], pkg["SHA256"]):
                problems.append(f"{what}: {pkg['Filename']} size or SHA256 differs")
    else:
        for src in deb822.Sources.iter_paragraphs(text, use_apt_pkg=False):
            for item in src.get("Checksums-Sha256", []):
                f = apt / src["Directory"] / item["name"]
                rel = f"{src['Directory']}/{item['name']}"
                if _escapes(root, apt, rel) or "/" in item["name"]:
                    problems.append(f"{where}: {src['Package']} {src['Version']}: {rel!r} "
                                    "leaves the repository")
                elif not f.is_file() or sha256_file(f) != item["sha256"]:
                    problems.append(f"{where}: {src['Package']} {src['Version']}: "
                                    f"{item['name']} missing or SHA256 differs")
    return problems
