"""The dependency closure of some requirements for one target, resolved once, as a Plan.

Dependencies are read without running upstream code on the host, in this order:

1. the core metadata file the index serves beside the sdist (PEP 658/714), or beside the
   release's pure-Python wheel (``py3-none-any``), checked against the index's sha256;
2. the sdist's PKG-INFO when it is static (PEP 643);
3. the PEP 517 metadata hook in the target's builder container (offline), when the caller
   gives one (`MetadataHook`); without it a project with dynamic metadata is an error that
   asks the user to name its dependencies.

Parsed dependencies are kept per sdist sha256 for the whole run (Context.requires, passed as
`known`), so several targets in one command read each sdist's metadata once; what the hook
wrote is kept on disk under the same key (<cache>/metadata/), so a later command does not
start a container again.  Markers are evaluated for the target (an extra only when some
requirement asks for ``name[extra]``); a requirement the target distribution already
satisfies (`provided`) is dropped and listed, not built.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

from repack import log, metadata
from repack.errors import (
    ConfigError,
    ConflictError,
    CycleError,
    MetadataError,
    RepackError,
    ResolveError,
)
from repack.fetch import fetch
from repack.http import describe_error
from repack.model import BuildRequest, Release, Sdist, Target
from repack.resolve import project_page, resolve
from repack.unpack import unpack_sdist

if TYPE_CHECKING:
    from pypi_simple import DistributionPackage

__all__ = [
    "ConflictError", "CycleError", "Dropped", "MetadataHook", "Node", "Plan",
    "dependencies", "resolve_closure", "topological_order",
]

MetadataHook = Callable[[Sdist], bytes]
"""Runs the PEP 517 metadata hook for an sdist (in a container) and returns METADATA."""

REQUESTED = "(requested)"
MAX_METADATA_FILE = 16 << 20
_MAX_REVISITS = 20           # a project re-resolved more often than this cannot settle


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    release: Release
    depends: tuple[NormalizedName, ...]     # projects of this plan it needs, built first
    extras: tuple[str, ...]                 # extras some requirement asked for
    pins: tuple[str, ...] = ()              # "sha256:HEX" the sdist must match


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped:
    """A requirement left out because the target distribution already satisfies it."""

    requirement: Requirement
    required_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    target_id: str
    nodes: Mapping[NormalizedName, Node]
    order: tuple[NormalizedName, ...]       # dependencies first
    dropped: tuple[Dropped, ...]


# --------------------------------------------------------------------------- dependencies

def dependencies(release: Release, *, index: str, session: requests.Session, cache_dir: Path,
                 pins: Sequence[str] = (), hook: MetadataHook | None = None,
                 page: Sequence[DistributionPackage] = (),
                 known: MutableMapping[str, tuple[Requirement, ...]] | None = None
                 ) -> tuple[Requirement, ...]:
    """Requires-Dist of `release` (markers not evaluated); with `known` (the run's
    Context.requires) read once per sdist sha256."""
    if known is not None and release.sha256 in known:
        return known[release.sha256]
    raw = _index_metadata(release, page, session) or _sdist_metadata(release, pins, cache_dir,
                                                                     session, hook)
    deps = _requires_dist(raw, str(release.name))
    if known is not None:
        known[release.sha256] = deps
    return deps


def _index_metadata(release: Release, page: Sequence[DistributionPackage],
                    session: requests.Session) -> bytes | None:
    """PEP 658 metadata of the sdist, else of the release's universal wheel, if served."""
    def universal(pkg: DistributionPackage) -> bool:
        if pkg.package_type != "wheel":
            return False
        try:
            _, version, _, tags = parse_wheel_filename(pkg.filename)
        except ValueError:
            return False
        return version == release.version and all(
            t.abi == "none" and t.platform == "any" and t.interpreter.startswith("py3")
            for t in tags)

    same = [p for p in page if p.filename == release.filename]
    wheels = sorted((p for p in page if universal(p)), key=lambda p: p.filename)
    for pkg in same + wheels:
        digest = (pkg.metadata_digests or {}).get("sha256")
        if not pkg.has_metadata or not digest:
            continue
        try:
            resp = session.get(pkg.metadata_url)
            resp.raise_for_status()
        except requests.exceptions.RequestException as exc:
            log.debug(f"cannot get {pkg.metadata_url}: {describe_error(exc)}")
            continue
        data = resp.content[:MAX_METADATA_FILE + 1]
        if len(data) > MAX_METADATA_FILE or hashlib.sha256(data).hexdigest() != digest.lower():
            log.warn(f"{release.name}: ignoring {pkg.filename}.metadata: its sha256 does not "
                     "match the index")
            continue
        log.debug(f"{release.name}: dependencies from {pkg.filename}.metadata (PEP 658)")
        return data
    return None


def _sdist_metadata(release: Release, pins: Sequence[str], cache_dir: Path,
                    session: requests.Session, hook: MetadataHook | None) -> bytes:
    project = str(release.name)
    sdist = fetch(release, pins=pins, cache_dir=cache_dir, session=session)
    kept = cache_dir / "metadata" / f"{sdist.sha256}.METADATA"
    if kept.is_file():
        log.debug(f"{project}: dependencies from the metadata hook's earlier run ({kept})")
        return kept.read_bytes()
    work_root = cache_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deps-", dir=work_root) as tmp:
        tree = unpack_sdist(sdist.path, Path(tmp), project=project)
        pkg_info = metadata.read_pkg_info(tree, project=project)
    if metadata.is_static(pkg_info):
        log.debug(f"{project}: dependencies from the sdist's static PKG-INFO")
        return pkg_info
    if hook is None:
        raise MetadataError(
            f"{release.filename} has dynamic metadata, so its dependencies cannot be known "
            "without running its build backend",
            project=project,
            hint="list its dependencies yourself as further REQ arguments and build without "
                 "--with-deps (or add a target whose builder can run the metadata hook)")
    with log.step(f"Reading the dependencies of {project} {release.version} (PEP 517 hook)"):
        raw = hook(sdist)
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(f".{kept.name}.{os.getpid()}.{threading.get_ident()}")
    partial.write_bytes(raw)
    os.replace(partial, kept)     # whole or absent, like the build cache
    return raw


def _requires_dist(raw: bytes, project: str) -> tuple[Requirement, ...]:
    parsed, unparsed = parse_email(raw)
    texts = list(parsed.get("requires_dist") or []) + list(unparsed.get("requires-dist", []))
    out = []
    for text in texts:
        try:
            out.append(Requirement(text))
        except InvalidRequirement as exc:
            raise MetadataError(f"invalid Requires-Dist {text!r}: {exc}", project=project) from exc
    return tuple(out)


# --------------------------------------------------------------------------- the graph

def _active(req: Requirement, target: Target, extras: Sequence[str], project: str) -> bool:
    if req.marker is None:
        return True
    try:
        return any(req.marker.evaluate({**target.marker_environment, "extra": e})
                   for e in ("", *extras))
    except (UndefinedComparison, UndefinedEnvironmentName, ValueError) as exc:
        raise MetadataError(f"cannot evaluate the marker of {str(req)!r}: {exc}",
                            project=project) from exc


def _combined(name: str, reqs: Mapping[str, Requirement]) -> Requirement:
    spec = SpecifierSet(",".join(str(r.specifier) for r in reqs.values() if r.specifier))
    return Requirement(f"{name}{spec}")


def _conflict(name: str, edges: Mapping[str, Requirement], exc: ResolveError) -> RepackError:
    if len([r for r in edges.values() if r.specifier]) < 2:
        return exc
    who = "; ".join(f"{by} requires {req}" for by, req in sorted(edges.items()))
    return ConflictError(f"conflicting requirements, no release satisfies them all: {who}",
                         project=name, hint=exc.hint)


def resolve_closure(roots: Sequence[BuildRequest], target: Target, *, index: str,
                    session: requests.Session, provided: Callable[[Requirement], bool],
                    cache_dir: Path, hook: MetadataHook | None = None,
                    known: MutableMapping[str, tuple[Requirement, ...]] | None = None,
                    added: Callable[[str], Sequence[str]] = lambda name: ()) -> Plan:
    """Resolve every requirement of `roots` and their dependencies for `target`; `added`
    names a project's requirements beyond its metadata's (`[packages.<name>]
    requires-dist`), which join the closure as its own do.

    Raises ConflictError when requirements on one project exclude each other, CycleError
    (with the path) when projects depend on each other, MetadataError when a project's
    dependencies cannot be read, ResolveError when the index lacks a release.
    """
    edges: dict[NormalizedName, dict[str, Requirement]] = {}
    pins: dict[NormalizedName, tuple[str, ...]] = {}
    root_names: list[NormalizedName] = []
    for root in roots:
        req = root.requirement
        if not _active(req, target, (), REQUESTED):
            log.info(f"skipping {req}: its marker excludes {target.name}")
            continue
        name = canonicalize_name(req.name)
        if name in edges:
            raise ConfigError(f"{name} is requested twice; give each project once")
        edges[name] = {REQUESTED: req}
        pins[name] = root.hashes
        root_names.append(name)

    chosen: dict[NormalizedName, tuple[Release, tuple[str, ...]]] = {}
    depends: dict[NormalizedName, tuple[NormalizedName, ...]] = {}
    dropped: dict[NormalizedName, dict[str, Requirement]] = {}
    visits: dict[NormalizedName, int] = {}
    resolved: dict[str, Release] = {}
    pages: dict[str, Sequence[DistributionPackage]] = {}
    queue = list(root_names)
    while queue:
        name = queue.pop(0)
        incoming = edges.get(name, {})
        if not incoming:           # every requirer was re-resolved away
            continue
        visits[name] = visits.get(name, 0) + 1
        if visits[name] > _MAX_REVISITS:
            raise ConflictError("the requirements on it do not settle on one release",
                                project=name)
        combined = _combined(name, incoming)
        extras = tuple(sorted({e for r in incoming.values() for e in r.extras}))
        if name not in root_names and provided(combined):
            dropped[name] = dict(incoming)
            _forget(name, chosen, depends, edges, queue)
            continue
        dropped.pop(name, None)
        key = str(combined)
        if key not in resolved:
            try:
                resolved[key] = resolve(combined, python_full_version=target.python_full_version,
                                        index=index, session=session, target_name=target.name)
            except ResolveError as exc:
                raise _conflict(name, incoming, exc) from exc
        release = resolved[key]
        if name in chosen and chosen[name] == (release, extras):
            continue
        _forget(name, chosen, depends, edges, queue)
        if name not in pages:
            pages[name] = _page(name, index, session)
        reqs = dependencies(release, index=index, session=session, cache_dir=cache_dir,
                            pins=pins.get(name, ()), hook=hook, page=pages[name], known=known)
        reqs += tuple(Requirement(r) for r in added(name))
        chosen[name] = (release, extras)
        needs: list[NormalizedName] = []
        for dep in reqs:
            if not _active(dep, target, extras, name):
                continue
            dep_name = canonicalize_name(dep.name)
            if dep_name == name:   # "foo[bar]" inside foo: its own extras
                continue
            edges.setdefault(dep_name, {})[name] = dep
            needs.append(dep_name)
            queue.append(dep_name)
        depends[name] = tuple(dict.fromkeys(needs))

    nodes = _reachable(root_names, chosen, depends, dropped, pins)
    drops = tuple(Dropped(requirement=req, required_by=by)
                  for name in sorted(dropped) for by, req in sorted(dropped[name].items())
                  if by in nodes)
    return Plan(target_id=target.id, nodes=nodes, order=topological_order(nodes),
                dropped=drops)


def _page(name: str, index: str, session: requests.Session) -> Sequence[DistributionPackage]:
    return tuple(project_page(name, index=index, session=session).packages)


def _forget(name: NormalizedName, chosen: dict[NormalizedName, tuple[Release, tuple[str, ...]]],
            depends: dict[NormalizedName, tuple[NormalizedName, ...]],
            edges: dict[NormalizedName, dict[str, Requirement]], queue: list[NormalizedName]
            ) -> None:
    """Take back what an earlier resolution of `name` required, and revisit those projects."""
    chosen.pop(name, None)
    for dep in depends.pop(name, ()):
        if edges.get(dep, {}).pop(name, None) is not None:
            queue.append(dep)


def _reachable(roots: Sequence[NormalizedName],
               chosen: Mapping[NormalizedName, tuple[Release, tuple[str, ...]]],
               depends: Mapping[NormalizedName, tuple[NormalizedName, ...]],
               dropped: Mapping[NormalizedName, object],
               pins: Mapping[NormalizedName, tuple[str, ...]]) -> dict[NormalizedName, Node]:
    nodes: dict[NormalizedName, Node] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in nodes or name in dropped or name not in chosen:
            continue
        release, extras = chosen[name]
        deps = tuple(d for d in depends.get(name, ()) if d not in dropped)
        nodes[name] = Node(release=release, depends=deps, extras=extras,
                           pins=pins.get(name, ()))
        stack.extend(deps)
    return nodes


def topological_order(nodes: Mapping[NormalizedName, Node]) -> tuple[NormalizedName, ...]:
    """Dependencies first, ties by name; CycleError names the cycle."""
    order: list[NormalizedName] = []
    state: dict[NormalizedName, str] = {}

    def visit(name: NormalizedName, path: list[NormalizedName]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = path[path.index(name):] + [name]
            raise CycleError(f"dependency cycle: {' -> '.join(cycle)}", project=cycle[0],
                             hint="a cycle cannot be built in order; build one of them "
                                  "without its dependency first, by hand")
        state[name] = "open"
        for dep in sorted(nodes[name].depends):
            visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(nodes):
        visit(name, [])
    return tuple(order)
