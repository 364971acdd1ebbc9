"""Crafted projects on a LocalIndex, and dependency closure resolution against it, for the
closure and build-tool tests.

    index = Index(local_index, tmp_path)     # local_index: the conftest fixture
    index.add("a", requires=["b>=1"]); index.add("b")
    plan = index.plan("a")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from localindex import LocalIndex
from packaging.requirements import Requirement
from sdists import make_sdist, pkg_info_text

from repack import http, targets
from repack.model import BuildRequest, Target
from repack.plan.closure import Plan, resolve_closure

DEBIAN_12 = targets.load("debian-12")


def nothing(req: Requirement) -> bool:
    return False


class Index:
    """Crafted projects on a LocalIndex, and closure resolution against it."""

    def __init__(self, local: LocalIndex, tmp: Path) -> None:
        self.local = local
        self.tmp = tmp
        self.session = http.session()
        self.cache = tmp / "cache"
        self.known: dict[str, tuple[Requirement, ...]] = {}   # one run's, as Context.requires

    def add(self, name: str, version: str = "1.0", requires: Sequence[str] = (), *,
            dynamic: bool = False, metadata: bytes | None = None,
            metadata_sha256: str | None = None) -> str:
        kw = {}
        if dynamic:
            kw["pkg_info"] = pkg_info_text(name, version, requires_dist=requires,
                                           metadata_version="2.1")
        path = make_sdist(self.tmp / "sdists" / name / version, name, version, {},
                          requires_dist=requires, **kw)
        entry = self.local.add(name, path.name, path.read_bytes(), metadata=metadata,
                               metadata_sha256=metadata_sha256)
        return entry.hashes["sha256"]

    def plan(self, *reqs: str, target: Target = DEBIAN_12,
             provided: Callable[[Requirement], bool] = nothing,
             added: Mapping[str, Sequence[str]] | None = None) -> Plan:
        roots = [BuildRequest(requirement=Requirement(r)) for r in reqs]
        return resolve_closure(roots, target, index=self.local.url, session=self.session,
                               provided=provided, cache_dir=self.cache, known=self.known,
                               added=lambda name: (added or {}).get(name, ()))
