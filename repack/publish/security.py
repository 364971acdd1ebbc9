"""Security updates: what sysadmins can take alone (unattended-upgrades, dnf --security).

A *security update* is a binary package that (1) carries a provenance record
(repack.trust.provenance) naming advisories it fixes and (2) is published into a target that
already holds a lower version of the same package name (the distro's own comparator:
dpkg's for apt, rpm's for yum).  It is recorded once, when published, in a small state
file beside the apt database, and stays one until the package leaves the repository.

apt: every codename gets a second suite, ``dists/<codename>-security`` (Suite and
Codename ``<codename>-security``, same Origin and Label, signed like the main suite),
listing the security updates among the main suite's packages: the same pool files, so
nothing is stored twice.  The suite is written by every transaction, empty when there is
nothing to list, so that clients can name it from the start; its records are a filter on
the main suite's database, which keeps it consistent under `repo remove` and `prune`.
State: STAGE/db/security/apt-<codename>.json, a list of [Package, Version, Architecture].

yum: repodata/updateinfo.xml.gz (listed in repomd.xml, hence covered by repomd.xml.asc)
with one ``<update type="security">`` per security update (all arches of one
name-version-release together), CVE references as type "cve", GHSA/PYSEC/... as "other".
The entries accumulate in STAGE/db/security/yum-<target>.json and updateinfo is rebuilt
from them whenever the target's repodata is rewritten (entries whose rpms are gone are
dropped), so splice, createrepo_c, remove and prune all keep it right.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from debian.debian_support import version_compare

from repack import log
from repack import targets as target_files
from repack.errors import MetadataError
from repack.files import write_file
from repack.gpg import Signer
from repack.model import Advisory
from repack.publish import apt
from repack.publish.tree import Stage
from repack.rpm.query import query
from repack.rpm.vercmp import EVR
from repack.trust import provenance

__all__ = ["apt_suites", "fixes_of", "note_apt", "note_yum", "suite", "updateinfo_xml",
           "write_apt", "write_updateinfo"]

SUFFIX = "-security"
STATE = ("db", "security")
#: characters XML 1.0 cannot carry at all: upstream summaries must not break the metadata
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SUMMARY_MAX = 300


def suite(codename: str) -> str:
    return f"{codename}{SUFFIX}"


def _state(root: Path, name: str) -> Path:
    return root.joinpath(*STATE, f"{name}.json")


def _load(path: Path) -> list[Any]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else []


def _save(path: Path, data: list[Any]) -> None:
    write_file(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def fixes_of(package: Path) -> tuple[Advisory, ...]:
    """The advisories a built .deb or .rpm says it fixes (none when it has no record, or a
    record we cannot read: that is worth a warning, not a failed publish)."""
    try:
        record = provenance.read(package)
    except MetadataError as exc:
        log.warn(f"{package.name}: no security information: {exc}")
        return ()
    return record.fixes if record is not None else ()


# ---- apt ----------------------------------------------------------------------------------

def note_apt(stage: Stage, target_id: str, files: Sequence[Path]) -> list[str]:
    """Record which of `files` (just given to repack.publish.apt.add) are security
    updates of their codename; returns them ("bookworm-security: python3-x 1.1-1")."""
    debs = {f.name: f for f in files if f.name.endswith(".deb")}
    if not debs:
        return []
    codename = target_files.load(target_id).codename
    records = apt.load_db(stage.root, codename)["packages"]
    path = _state(stage.root, f"apt-{codename}")
    listed = {tuple(k) for k in _load(path)}
    noted = []
    by_name = apt.by_package(records)
    for rec in records:
        deb = debs.get(rec["Filename"].rpartition("/")[2])
        key = (rec["Package"], rec["Version"], rec["Architecture"])
        if deb is None or key in listed:
            continue
        if not any(version_compare(o["Version"], rec["Version"]) < 0
                   for o in by_name[rec["Package"]]):
            continue
        # the record's Repack-Fixes control field: no need to unpack the .deb's data
        if rec.get("Repack-Fixes", "").strip():
            listed.add(key)
            noted.append(f"{suite(codename)}: {rec['Package']} {rec['Version']}")
    if noted:
        _save(path, sorted(list(k) for k in listed))
        stage.changed = True
    return noted


def write_apt(stage: Stage, codename: str, signer: Signer, *, origin: str,
              valid_days: int) -> None:
    """Write and sign dists/<codename>-security from the main suite's database."""
    path = _state(stage.root, f"apt-{codename}")
    listed = {tuple(k) for k in _load(path)}
    records = apt.load_db(stage.root, codename)["packages"] if listed else []
    kept = [r for r in records if (r["Package"], r["Version"], r["Architecture"]) in listed]
    live = {(r["Package"], r["Version"], r["Architecture"]) for r in kept}
    if live != listed:                       # removed or pruned from the main suite
        _save(path, sorted(list(k) for k in live))
    apt.write_dist(stage, suite(codename), signer, origin=origin, valid_days=valid_days,
                   db={"packages": kept, "sources": []})


def apt_suites(root: Path, codename: str) -> list[str]:
    """The suites a client lists for a codename: the main one, and its security suite once
    it has been published."""
    security = root / "apt" / "dists" / suite(codename) / "InRelease"
    return [codename, suite(codename)] if security.is_file() else [codename]


# ---- yum ----------------------------------------------------------------------------------

_QF = "%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmId:
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    src: str
    filename: str

    @property
    def evr(self) -> EVR:
        return EVR(epoch=self.epoch, version=self.version, release=self.release)


#: what an RpmId is read from: `rpm -qp --qf ID_QUERY` (tab-separated, one line a file)
ID_QUERY = _QF


def rpm_id(line: str, filename: str) -> RpmId:
    """The RpmId of one line ID_QUERY printed (without its newline)."""
    n, e, v, r, a, s = line.split("\t")
    return RpmId(name=n, epoch=e, version=v, release=r, arch=a, src=s, filename=filename)


def _rpm_ids(paths: Sequence[Path]) -> list[RpmId]:
    return [rpm_id(line, p.name) for line, p in zip(query(paths, _QF), paths, strict=True)]


def _clean(text: str, limit: int = _SUMMARY_MAX) -> str:
    text = " ".join(_NOT_XML.sub("", text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _href(ident: str, link: str | None) -> str:
    if link and link.startswith("https://") and not any(c.isspace() for c in link):
        return link
    if ident.startswith("CVE-"):
        return f"https://www.cve.org/CVERecord?id={ident}"
    if ident.startswith("GHSA-"):
        return f"https://github.com/advisories/{ident}"
    return f"https://osv.dev/vulnerability/{ident}"


def _entry(rid: RpmId, fixes: Sequence[Advisory], now: datetime) -> dict[str, Any]:
    ids = provenance.advisory_ids(fixes)
    refs: list[dict[str, str]] = []
    for a in fixes:
        for ident in (a.id, *a.aliases):
            if provenance.ID_RE.fullmatch(ident) and ident not in {r["id"] for r in refs}:
                refs.append({"id": ident, "type": "cve" if ident.startswith("CVE-") else "other",
                             "href": _href(ident, a.link if ident == a.id else None),
                             "title": ident})
    shown = ", ".join(ids[:6]) + (", …" if len(ids) > 6 else "")
    nvr = f"{rid.name}-{rid.version}-{rid.release}"
    return {
        "key": f"{rid.name}-{rid.epoch}:{rid.version}-{rid.release}",
        "id": f"REPACK-{now:%Y%m%d}-{nvr}",
        "title": f"{rid.name} {rid.version}-{rid.release}: security update ({shown})",
        "issued": now.strftime("%Y-%m-%d %H:%M:%S"),
        "summary": f"{nvr} fixes {shown}",
        "description": "\n".join(
            f"{a.id}" + (f" ({', '.join(a.aliases)})" if a.aliases else "")
            + (f": {_clean(a.summary)}" if a.summary else "") for a in fixes),
        "references": refs,
        "packages": [],
    }


def note_yum(stage_root: Path, target_id: str, added: Sequence[Path],
             now: datetime | None = None, *, ids: Mapping[str, RpmId] | None = None
             ) -> list[str]:
    """Record which of the rpms just placed in stage_root/yum/<target_id>/ (`added`) are
    security updates; returns their file names.  ids: the RpmIds of added files by file
    name, when the caller read them (a signature added on the way changes none)."""
    binaries = [p for p in added if not p.name.endswith(".src.rpm")]
    if not binaries:
        return []
    repo = stage_root / "yum" / target_id
    names = sorted(n for n in os.listdir(repo) if n.endswith(".rpm") and not n.startswith("."))
    given = ids or {}
    unread = [p for p in binaries if p.name not in given]
    read = dict(zip([p.name for p in unread], _rpm_ids(unread), strict=True))
    new = [given.get(p.name) or read[p.name] for p in binaries]
    prefixes = tuple(f"{r.name}-" for r in new)
    placed = {p.name for p in binaries}      # read just now: rpm is not asked twice
    others = [*new, *_rpm_ids([repo / n for n in names if n.startswith(prefixes)
                               and n not in placed and not n.endswith(".src.rpm")])]
    path = _state(stage_root, f"yum-{target_id}")
    entries: list[dict[str, Any]] = _load(path)
    by_key = {e["key"]: e for e in entries}
    now = now or datetime.now(UTC)
    noted = []
    for rid, rpm in zip(new, binaries, strict=True):
        if not any(o.name == rid.name and o.evr < rid.evr for o in others):
            continue
        entry = by_key.get(f"{rid.name}-{rid.epoch}:{rid.version}-{rid.release}")
        if entry is not None and any(p["filename"] == rid.filename for p in entry["packages"]):
            continue
        fixes = fixes_of(rpm)
        if not fixes:
            continue
        if entry is None:
            entry = by_key[f"{rid.name}-{rid.epoch}:{rid.version}-{rid.release}"] = \
                _entry(rid, fixes, now)
            entries.append(entry)
        entry["packages"].append(asdict(rid))
        noted.append(rid.filename)
    if noted:
        _save(path, entries)
    return noted


def updateinfo_xml(entries: Sequence[dict[str, Any]], collection: str) -> bytes:
    """updateinfo.xml as createrepo_c writes it (every text XML-escaped by ElementTree)."""
    root = ET.Element("updates")
    for e in entries:
        u = ET.SubElement(root, "update", {"from": "repack", "status": "stable",
                                           "type": "security", "version": "2"})
        ET.SubElement(u, "id").text = e["id"]
        ET.SubElement(u, "title").text = _clean(e["title"])
        ET.SubElement(u, "issued", {"date": e["issued"]})
        ET.SubElement(u, "updated", {"date": e["issued"]})
        ET.SubElement(u, "summary").text = _clean(e["summary"])
        ET.SubElement(u, "description").text = "\n".join(
            _clean(line, 2 * _SUMMARY_MAX) for line in e["description"].splitlines())
        refs = ET.SubElement(u, "references")
        for r in e["references"]:
            ET.SubElement(refs, "reference", {"href": r["href"], "id": r["id"],
                                              "type": r["type"], "title": r["title"]})
        coll = ET.SubElement(ET.SubElement(u, "pkglist"), "collection", {"short": collection})
        ET.SubElement(coll, "name").text = collection
        for p in e["packages"]:
            pkg = ET.SubElement(coll, "package", {
                "name": p["name"], "version": p["version"], "release": p["release"],
                "epoch": p["epoch"], "arch": p["arch"], "src": p["src"]})
            ET.SubElement(pkg, "filename").text = p["filename"]
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode()


_UPDATEINFO_DATA = re.compile(rb'[ \t]*<data type="updateinfo">.*?</data>\n?', re.DOTALL)


def write_updateinfo(repo: Path) -> None:
    """Add repodata/<sha256>-updateinfo.xml.gz to repo's fresh repomd.xml (before it is
    signed); REPO is STAGE/yum/<target>, whose entries are in STAGE/db/security/."""
    path = _state(repo.parent.parent, f"yum-{repo.name}")
    entries: list[dict[str, Any]] = _load(path)
    repodata = repo / "repodata"
    repomd = repodata / "repomd.xml"
    old = repomd.read_bytes()
    text = _UPDATEINFO_DATA.sub(b"", old)
    if not entries and text == old:
        return
    present = set(os.listdir(repo))
    live = []
    for e in entries:
        pkgs = [p for p in e["packages"] if p["filename"] in present]
        if pkgs:
            live.append({**e, "packages": pkgs})
    if live != entries:                      # rpms removed or pruned
        _save(path, live)
    if live:
        xml = updateinfo_xml(live, repo.name)
        packed = gzip.compress(xml, compresslevel=6, mtime=0)
        digest = hashlib.sha256(packed).hexdigest()
        name = f"{digest}-updateinfo.xml.gz"
        write_file(repodata / name, packed)
        stamp = int(time.time())
        block = (f'  <data type="updateinfo">\n'
                 f'    <checksum type="sha256">{digest}</checksum>\n'
                 f'    <open-checksum type="sha256">{hashlib.sha256(xml).hexdigest()}'
                 f'</open-checksum>\n'
                 f'    <location href="repodata/{name}"/>\n'
                 f"    <timestamp>{stamp}</timestamp>\n"
                 f"    <size>{len(packed)}</size>\n"
                 f"    <open-size>{len(xml)}</open-size>\n"
                 f"  </data>\n").encode()
        end = text.rindex(b"</repomd>")
        text = text[:end] + block + text[end:]
    write_file(repomd, text)                 # a new inode: never the live generation's
