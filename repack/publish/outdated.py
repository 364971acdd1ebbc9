"""`repack outdated`: which published projects the index has a newer release of, per target,
and which of those newer releases are security updates.

What a repository publishes comes from `repack.publish.listing` (each package's provenance
record: project and upstream version; a package without a readable record cannot be
checked and is reported as skipped).  For each (project, target) the newest published
upstream version is compared with the release `repack build` would pick today
(`repack.resolve.resolve`: the newest non-yanked release with an sdist whose Requires-Python
admits the target's Python).  Advisories are the index's *current* data
(`repack.trust.advisories.lookup` with `since=` the published version): an advisory listed
for the published version, not for the newer one, with a fixed_in version between the two,
is one the update fixes.  The record's build-time list is not used: advisories published
after the build are the point of asking.

Read-only: the repository is read without its lock, the index is only asked.  An index
that cannot be reached, or a project it no longer serves, is a ResolveError (exit 3):
a monitoring check must not report "up to date" when it could not look.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from repack import log
from repack import targets as target_files
from repack.errors import SECURITY_PENDING, UPDATES_PENDING
from repack.model import Advisory, Release
from repack.publish.listing import Entry, listing, record_problem
from repack.resolve import resolve
from repack.trust.advisories import lookup

__all__ = ["Behind", "Current", "Report", "Skipped", "check", "exit_code", "summary", "text_lines"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Behind:
    """One published project of one target that the index has a newer release of."""

    project: str
    target: str
    packages: tuple[str, ...]     # the binary packages carrying it (python3-x, ...)
    published: str                # the newest upstream version published for the target
    newest: str                   # the newest release admitting the target's Python
    fixes: tuple[Advisory, ...]   # advisories of `published` that `newest` fixes
    advisories_checked: bool      # False: the index has no advisory data for them

    @property
    def security(self) -> bool:
        return bool(self.fixes)

    def as_json(self) -> dict[str, Any]:
        return {"project": self.project, "target": self.target,
                "packages": list(self.packages), "published": self.published,
                "newest": self.newest, "security": self.security,
                "fixes": [{"id": a.id, "aliases": list(a.aliases),
                           "fixed_in": list(a.fixed_in)} for a in self.fixes],
                "advisories_checked": self.advisories_checked}


@dataclass(frozen=True, slots=True, kw_only=True)
class Current:
    """A published project of one target that is the newest admissible release."""

    project: str
    target: str
    published: str

    def as_json(self) -> dict[str, Any]:
        return {"project": self.project, "target": self.target, "published": self.published}


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A published package that could not be checked (no readable provenance record)."""

    package: str
    version: str
    target: str
    why: str

    def as_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "target": self.target,
                "why": self.why}


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    behind: tuple[Behind, ...]
    current: tuple[Current, ...]
    skipped: tuple[Skipped, ...]

    def as_json(self) -> dict[str, Any]:
        return {"behind": [b.as_json() for b in self.behind],
                "current": [c.as_json() for c in self.current],
                "skipped": [s.as_json() for s in self.skipped]}


@dataclass(frozen=True, slots=True)
class _Published:
    """The newest upstream version of a project published for a target, with the packages
    carrying it: what outdated asks the index about, once per (project, target).  (sync's
    Held is per package and keeps the sdist sha256: sync compares sdists, not versions.)"""

    project: str
    target: str
    version: Version
    text: str
    packages: tuple[str, ...]


def _published(entries: Iterable[Entry]) -> tuple[list[_Published], list[Skipped]]:
    """The newest upstream version published per (project, target), and what has no
    usable record."""
    best: dict[tuple[str, str], tuple[Version, str]] = {}
    packages: dict[tuple[str, str], set[str]] = {}
    skipped = []
    for e in entries:
        why = record_problem(e.record, e.project, e.upstream_version)
        if why is not None:
            skipped.append(Skipped(package=e.name, version=e.version, target=e.target, why=why))
            continue
        assert e.project is not None and e.upstream_version is not None
        key = (canonicalize_name(e.project), e.target)
        version = Version(e.upstream_version)
        packages.setdefault(key, set()).add(e.name)
        if key not in best or version > best[key][0]:
            best[key] = (version, e.upstream_version)
    found = [_Published(project=p, target=t, version=v, text=text,
                        packages=tuple(sorted(packages[p, t])))
             for (p, t), (v, text) in sorted(best.items())]
    return found, skipped


def check(repo: Path, *, index: str, session: requests.Session,
          target: str | None = None) -> Report:
    """Compare what REPO publishes (of one target, or all) with the index."""
    published, skipped = _published(listing(repo, target))
    pythons = {t: target_files.load(t).python_full_version for t in {p.target for p in published}}
    newest: dict[tuple[str, str], Release] = {}      # by (project, Python): one question each
    behind, current = [], []
    for p in published:
        python = pythons[p.target]
        if (p.project, python) not in newest:
            with log.quiet():       # "resolved x to 1.2" per project is not the output
                newest[p.project, python] = resolve(Requirement(p.project),
                                                    python_full_version=python, index=index,
                                                    session=session)
        release = newest[p.project, python]
        if release.version <= p.version:
            current.append(Current(project=p.project, target=p.target, published=p.text))
            continue
        found = lookup(release, session, since=p.version)
        behind.append(Behind(project=p.project, target=p.target, packages=p.packages,
                             published=p.text, newest=str(release.version),
                             fixes=found.fixes, advisories_checked=found.checked))
    return Report(behind=tuple(behind), current=tuple(current), skipped=tuple(skipped))


def exit_code(report: Report) -> int:
    """0: nothing pending; UPDATES_PENDING: newer releases, none a security update;
    SECURITY_PENDING: at least one newer release fixes an advisory of a published one."""
    if any(b.security for b in report.behind):
        return SECURITY_PENDING
    return UPDATES_PENDING if report.behind else 0


def _advisory(a: Advisory) -> str:
    return f"{a.id} ({', '.join(a.aliases)})" if a.aliases else a.id


def text_lines(report: Report) -> list[str]:
    """One line per (project, target) that is behind."""
    lines = []
    for b in report.behind:
        line = f"{b.project} {b.target}: {b.published} -> {b.newest}"
        if b.fixes:
            line += f"  security: fixes {', '.join(_advisory(a) for a in b.fixes)}"
        elif not b.advisories_checked:
            line += "  (advisories not checked: the index has no data for them)"
        lines.append(line)
    return lines


def summary(report: Report) -> str:
    security = sum(1 for b in report.behind if b.security)
    text = (f"{len(report.current)} up to date, {len(report.behind)} outdated "
            f"({security} with a security update)")
    return text + (f", {len(report.skipped)} not checked" if report.skipped else "")
