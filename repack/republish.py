"""`repack build --against REPO`: build the revision a published repository calls for.

The published build of the same name and version is fetched (from the directory or the URL
it is served at) and compared with this build (repack.compare): identical means revision N
again, and publishing changes nothing; different means revision N+1, its changelog saying
why.  The revision names themselves are repack.revision's.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from repack import http, log
from repack.compare import first_difference
from repack.errors import ConfigError, MappingError
from repack.model import Artifact, Sdist, Target
from repack.publish.apt import deb_record, pool_dir, source_of
from repack.revision import MAX_REVISION, differs_reason, with_revision
from repack.trust import provenance

__all__ = ["Published", "build_against", "published_rel"]

PACKAGE_LIMIT = 512 << 20        # a published package read back from a URL


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
    source = source_of(deb_record(artifact.path), artifact.path.name)
    return f"apt/{pool_dir(source)}/{filename}"


Build = Callable[[Sdist], tuple[list[Artifact], list[str]]]


def build_against(sdist: Sdist, target: Target, build: Build,
                  published: Published) -> tuple[list[Artifact], list[str]]:
    """Build *sdist* as the revision *published* calls for (see the module docstring).
    At most three builds: revision 1 (to learn the file names; a cache hit when this
    cache made it), the highest published one, the next."""
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
