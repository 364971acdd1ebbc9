"""`repack repo list`: what a repository publishes, one entry per (package, version, target).

Read-only and lock-free: the live generation (REPO/.repack/current) is resolved once and
read from its databases (db/apt/<codename>.json, the yum targets' primary metadata, the
security state under db/security/).  How each package was verified comes from the
provenance record inside the published file (repack.trust.provenance.read, which cleans it: a
package is untrusted input).  A .deb's record is read in-process (python-debian); an rpm's
takes two short processes (rpm, rpm2archive) per file.

"published" is the time the file was written into the repository: the pool file or rpm is
written by the publish that added it (an rpm again only when a key retirement re-signs
it) and never modified after (later generations hard-link it), so its mtime is that moment.
"pending" are the record's known vulnerabilities that no newer version of the same package
published for the same target says it fixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from debian.debian_support import version_compare
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack import targets as target_files
from repack.errors import ConfigError, MetadataError
from repack.model import Provenance
from repack.publish import channels
from repack.publish.families import PUBLISHERS, Published
from repack.publish.tree import current
from repack.trust import provenance


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One published binary package of one target, as `repo list` shows it: the
    publisher's view (repack.publish.families.Published: where the file is, how its
    versions order) joined with what its provenance record says and when it was written.
    Two types for a reason: Published is the FamilyPublisher contract, read from the
    repository's databases alone (no package file opened), and carries host paths and a
    version key that never reach output; an Entry opens every file for its record and is
    plain data for --json."""

    name: str
    version: str                  # the distro version (dpkg's, or rpm's [E:]V-R)
    arch: str
    target: str
    channel: str                  # apt suite / yum target, "+security" when also in
                                  # <suite>-security / updateinfo
    security: bool
    published: str | None         # ISO 8601 UTC, None when the file is gone
    file: str                     # relative to REPO
    record: str                   # "ok", "missing" or "unreadable: <why>"
    project: str | None
    upstream_version: str | None
    verified: tuple[str, ...]
    fixes: tuple[str, ...]        # advisory ids this version says it fixes
    vulnerabilities: tuple[str, ...]   # known advisories affecting it when it was built
    pending: tuple[str, ...]      # of those, the ones no newer published version fixes

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "arch": self.arch,
                "target": self.target, "channel": self.channel, "security": self.security,
                "published": self.published, "file": self.file, "record": self.record,
                "project": self.project, "upstream_version": self.upstream_version,
                "verified": list(self.verified), "fixes": list(self.fixes),
                "vulnerabilities": list(self.vulnerabilities), "pending": list(self.pending)}


def listing(repo: Path, target: str | None = None, *,
            channel: str | None = None) -> list[Entry]:
    """Every binary package REPO publishes (of one target, or all; of one channel, or
    all: repack.publish.channels), sorted by target, name, version."""
    root = current(repo)
    if root is None:
        raise ConfigError(f"{repo}: not a repack repository (no published generation)",
                          hint="publish into it first, or give the directory you published to")
    known = {t: target_files.load(t) for t in target_files.available()}
    if target is not None and target not in known:
        raise ConfigError(f"unknown target {target!r}",
                          hint=f"one of: {', '.join(sorted(known))}")
    raws: list[Published] = []
    for tid, tgt in sorted(known.items()):
        if target is not None and tid != target:
            continue
        raws += PUBLISHERS[tgt.family].packages(root, tid)
    if channel is not None:
        wanted = channels.name(channels.check(channel))
        raws = [r for r in raws if r.channel_name == wanted]
    records = {r.rel: _record(r.path) for r in raws}
    versions: dict[tuple[str, str], list[Published]] = {}     # the other versions of a package
    for r in raws:
        versions.setdefault((r.target, r.name), []).append(r)
    entries = []
    for r in raws:
        rec, state = records[r.rel]
        fixed_later: set[str] = set()
        for o in versions[r.target, r.name]:
            later = records[o.rel][0]
            if later is not None and later.fixes and _newer(o, r):
                fixed_later.update(provenance.advisory_ids(later.fixes))
        vulns = provenance.advisory_ids(rec.vulnerabilities) if rec else []
        pending = tuple(a.id for a in (rec.vulnerabilities if rec else ())
                        if not ({a.id, *a.aliases} & fixed_later))
        entries.append(Entry(
            name=r.name, version=r.version, arch=r.arch, target=r.target, channel=r.channel,
            security=r.security, published=_mtime(r.path), file=r.rel, record=state,
            project=rec.project if rec else None,
            upstream_version=rec.version if rec else None,
            verified=rec.verified if rec else (),
            fixes=tuple(provenance.advisory_ids(rec.fixes)) if rec else (),
            vulnerabilities=tuple(vulns), pending=pending))
    return entries


def record_problem(record: str, project: str | None, version: str | None) -> str | None:
    """Why a published package's provenance record (`record`: "ok", "missing" or
    "unreadable: <why>", with the project and upstream version it names) cannot say which
    project release the package holds; None when it can.  `repack outdated` and `repack
    sync` skip such a package and say why: a repository's packages are never judged on a
    guess."""
    if record == "missing":
        return "it has no provenance record"
    if record != "ok":
        return f"its provenance record is {record}"
    if project is None or version is None:
        return "its provenance record is incomplete"
    try:
        canonicalize_name(project, validate=True)
        Version(version)
    except (InvalidName, InvalidVersion):
        return "its provenance record names no valid project and version"
    return None


def _newer(a: Published, b: Published) -> bool:
    if isinstance(a.newer_than, str):
        return version_compare(a.newer_than, b.newer_than) > 0
    return bool(a.newer_than.compare(b.newer_than) > 0)


def _record(path: Path) -> tuple[Provenance | None, str]:
    try:
        rec = provenance.read(path)
    except MetadataError as exc:
        return None, f"unreadable: {provenance.clean_text(exc, limit=200)}"
    except OSError as exc:
        return None, f"unreadable: {provenance.clean_text(exc.strerror or exc, limit=200)}"
    return (rec, "ok") if rec is not None else (None, "missing")


def _mtime(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_lines(entries: Iterable[Entry]) -> list[str]:
    """The human listing: one line per entry, columns aligned."""
    rows = [(e.name, e.version, e.target, e.channel, e.published or "-",
             ",".join(e.verified) or (e.record if e.record != "ok" else "-"),
             ",".join(e.pending) or "-") for e in entries]
    head = ("PACKAGE", "VERSION", "TARGET", "CHANNEL", "PUBLISHED", "VERIFIED", "PENDING")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [head, *rows]]
