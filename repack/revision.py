"""Which revision a build gets: 0repack1, or the next one when the published build differs.

A package's version names its revision (Debian ``1.16.0-0repack2~deb12``, rpm Release
``0.repack2.el9``) and a signed package cannot be renamed, so the revision is chosen before
the build: ``repack build --revision N`` sets it; ``repack build --against REPO`` (default:
``[publish] repo``) looks at what REPO publishes under the same name and version and

* builds the highest published revision again: identical (builds are reproducible) means
  publishing it changes nothing;
* different (another repack, template, maintainer, builder archive) means the next revision
  is built, its changelog saying why (``Rebuilt: ...``), so publishing it is an upgrade
  instead of a refused overwrite.

The pure functions here name revisions and files; `build_against` runs the builds.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import requests
from debian.debian_support import version_compare
from packaging.version import InvalidVersion, Version

from repack import log
from repack.errors import ConfigError, MappingError
from repack.model import ArchiveIndex, Artifact, DebSpec, Sdist, Target
from repack.trust.provenance import MAX_REVISION

__all__ = ["MAX_REVISION", "Published", "archive_note", "asked_reason", "build_against", "deb_revision",
           "differs_reason", "next_free_hint", "revision_of", "rpm_release",
           "with_revision"]

_DEB = re.compile(r"-0repack([0-9]+)(?=[A-Za-z0-9+.~]*$)")      # in a Debian version
_RPM = re.compile(r"(?:^|-)0\.repack([0-9]+)(?=[A-Za-z0-9._+~]*$)")   # in an rpm Release
_DEB_FILE = re.compile(r"-0repack([0-9]+)(?=[A-Za-z0-9+.~]*_[a-z0-9-]+\.deb$)")
_RPM_FILE = re.compile(r"-0\.repack([0-9]+)(?=[A-Za-z0-9._+~]*\.[a-z0-9_]+\.rpm$)")
PACKAGE_LIMIT = 512 << 20        # a published package read back from a URL


def deb_revision(n: int, *, project: str | None = None) -> str:
    """The Debian revision's repack part: ``0repackN`` (the target's suffix follows)."""
    return f"0repack{_checked(n, project)}"


def rpm_release(n: int, *, project: str | None = None) -> str:
    """The rpm Release's repack part: ``0.repackN`` (the target's suffix follows)."""
    return f"0.repack{_checked(n, project)}"


def _checked(n: int, project: str | None) -> int:
    if isinstance(n, bool) or not 1 <= n <= MAX_REVISION:
        raise MappingError(f"revision {n} is not a whole number from 1 to {MAX_REVISION}",
                           project=project)
    return n


def revision_of(text: str) -> int | None:
    """The N of a repack version, release or package file name; None when it is not one."""
    for pattern in (_DEB_FILE, _RPM_FILE, _DEB, _RPM):
        if m := pattern.search(text):
            return int(m.group(1))
    return None


def with_revision(filename: str, n: int) -> str:
    """A built package's file name as revision *n* would name it."""
    for pattern, prefix in ((_DEB_FILE, "-0repack"), (_RPM_FILE, "-0.repack")):
        if pattern.search(filename):
            return pattern.sub(f"{prefix}{_checked(n, None)}", filename, count=1)
    raise ValueError(f"{filename} is not the file name of a repack package")


def asked_reason(n: int) -> str:
    """The changelog's reason for a revision given with --revision."""
    return f"revision {n} asked for with --revision."


def differs_reason(version: str, difference: str) -> str:
    """The changelog's reason when the published build of *version* differs."""
    return f"the build published as {version} differs ({difference})."


def next_free_hint(version: str, published: Iterable[str] = ()) -> str:
    """The hint of publish's refusal of a different file under a published version (or
    file name): the revision after the highest of *published* (versions or file names)
    that differs from *version* only in its revision."""
    n = revision_of(version)
    if n is None:
        return "bump the version"
    same = _without_revision(version)
    n = max([n, *(revision_of(p) or 0 for p in published if _without_revision(p) == same)])
    if n >= MAX_REVISION:
        return "bump the version"
    return (f"build it as the next revision: `repack build ... --revision {n + 1}`, or "
            "`repack build --against REPO`, which picks it when the published build differs")


def _without_revision(text: str) -> str:
    for pattern, prefix in ((_DEB_FILE, "-0repack"), (_RPM_FILE, "-0.repack"), (_DEB, "-0repack"),
                            (_RPM, "0.repack")):
        if pattern.search(text):
            return pattern.sub(prefix, text, count=1)
    return text


def archive_note(project: str, upstream: str, spec: DebSpec, target: Target,
                 archive: ArchiveIndex) -> str | None:
    """The line that says the target's archive already has this upstream version of the
    package (Debian 12's python3-six 1.16.0-4 for six 1.16.0), and whose build apt then
    installs: 0repackN sorts below the distribution's own revisions on purpose."""
    from repack.deb.naming import _archive_upstream

    theirs = archive.packages.get(spec.binary_name)
    if theirs is None:
        return None
    same = _archive_upstream(theirs)
    try:
        if same is None or same != Version(upstream):
            return None
    except InvalidVersion:
        return None
    higher = "Debian's" if version_compare(theirs, spec.version) > 0 else "repack's"
    return (f"{project}: {target.name} already ships {spec.binary_name} {theirs}, the same "
            f"upstream version {upstream}; apt installs the higher of {spec.version} and "
            f"{theirs}: {higher}")


@dataclass(frozen=True, slots=True)
class Published:
    """A published repository (`repack publish`'s tree), read as a client would: a
    directory, or the http(s) URL it is served at."""

    where: str
    session: requests.Session | None = None

    @classmethod
    def parse(cls, text: str, session: requests.Session | None) -> Published:
        if text.startswith(("http://", "https://")):
            return cls(text.rstrip("/"), session)
        if "://" in text:
            raise ConfigError(f"--against {text!r}: a directory or an http(s) URL")
        if not Path(text).is_dir():
            raise ConfigError(f"--against {text}: no such directory",
                              hint="give the directory `repack publish --repo` writes, or "
                                   "its URL")
        return cls(text)

    def open(self, rel: str, tmp: Path) -> Path | None:
        """The published file at *rel* (under the tree's root), or None when absent."""
        if self.session is None or not self.where.startswith(("http://", "https://")):
            path = Path(self.where) / rel
            return path if path.is_file() else None
        from repack import http

        data = http.get_small(f"{self.where}/{rel}", self.session, project=rel,
                              what="the published package", limit=PACKAGE_LIMIT,
                              missing_ok=True)
        if data is None:
            return None
        dest = tmp / rel.replace("/", "_")
        dest.write_bytes(data)
        return dest


def published_rel(artifact: Artifact, target: Target, filename: str) -> str:
    """Where `repack publish` puts a package of this name: the apt pool or the yum tree."""
    if artifact.format == "rpm":
        return f"yum/{target.id}/{filename}"
    from repack.publish.apt import deb_record, pool_dir, source_of

    source = source_of(deb_record(artifact.path), artifact.path.name)
    return f"apt/{pool_dir(source)}/{filename}"


Build = Callable[[Sdist], tuple[list[Artifact], list[str]]]


def build_against(sdist: Sdist, target: Target, build: Build,
                  published: Published) -> tuple[list[Artifact], list[str]]:
    """Build *sdist* as the revision *published* calls for (see the module docstring).
    At most three builds: revision 1 (to learn the file names; a cache hit when this
    cache made it), the highest published one, the next."""
    from repack.rebuild import first_difference
    from repack.trust import provenance

    name = f"{sdist.release.name} {sdist.release.version} for {target.id}"
    built = build(dataclasses.replace(sdist, revision=1, rebuilt=None))
    with tempfile.TemporaryDirectory(prefix="repack-against-") as tmp_dir:
        tmp = Path(tmp_dir)

        seen: dict[str, Path | None] = {}

        def fetch(a: Artifact, n: int) -> Path | None:
            rel = published_rel(a, target, with_revision(a.path.name, n))
            if rel not in seen:      # a URL's file is downloaded once
                seen[rel] = published.open(rel, tmp)
            return seen[rel]

        binaries = [a for a in built[0] if a.format in ("deb", "rpm")]
        if not binaries:
            return built
        top = 0
        while top < MAX_REVISION and fetch(binaries[0], top + 1) is not None:
            top += 1
        if top == 0:
            log.info(f"{name}: not published in {published.where} yet: revision 1")
            return built
        current = built
        if top > 1:
            old = fetch(binaries[0], top)
            record = provenance.read(old) if old is not None else None
            current = _replace(built, build(dataclasses.replace(
                sdist, revision=top, rebuilt=record.rebuilt if record else None)))
        difference, version = None, ""
        for a in (a for a in current[0] if a.format in ("deb", "rpm")):
            old = fetch(a, top)
            if old is not None and (difference := first_difference(old, a.path)) is not None:
                version = a.version
                break
        if difference is None:
            log.info(f"{name}: identical to the build published in {published.where} "
                     f"(revision {top}); publishing it changes nothing")
            return current
        if top >= MAX_REVISION:
            raise MappingError(f"revision {MAX_REVISION} is published and differs; no "
                               "revision is left", project=str(sdist.release.name))
        reason = differs_reason(version, difference)
        log.info(f"{name}: {reason[:-1]}; building revision {top + 1}")
        return _replace(current, build(dataclasses.replace(sdist, revision=top + 1,
                                                           rebuilt=reason)))


def _replace(old: tuple[list[Artifact], list[str]],
             new: tuple[list[Artifact], list[str]]) -> tuple[list[Artifact], list[str]]:
    """The new build's result; files of the old one it did not overwrite leave the output
    (a superseded revision there would be published beside its successor)."""
    keep = {a.path for a in new[0]}
    for a in old[0]:
        if a.path not in keep:
            a.path.unlink(missing_ok=True)
    return new


def check_revision(n: int | None, *, with_against: bool) -> None:
    """--revision is a whole number from 1; with --against it is given up to the repo."""
    if n is not None and not 1 <= n <= MAX_REVISION:
        raise ConfigError(f"--revision {n}: a whole number from 1 to {MAX_REVISION}")
    if n is not None and with_against:
        raise ConfigError("--revision and --against both choose the revision: give one")
