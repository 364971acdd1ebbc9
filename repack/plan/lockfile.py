"""repack.lock: the resolved closure of each target with the sha256 of every sdist.

Like ``pip-compile --generate-hashes``, but per target distribution (markers and what the
distribution provides differ between targets).  TOML, written by `repack lock`::

    version = 2                              # of this format
    index = "https://pypi.org/simple/"       # where it was resolved (informative)
    requested = ["django==4.2"]

    [[targets]]
    id = "debian-12"
    provided = ["asgiref<4,>=3.6.0"]         # left to the distribution (informative)

    [[targets.packages]]                     # in build order: dependencies first
    name = "django"
    version = "4.2"
    filename = "Django-4.2.tar.gz"
    sha256 = "c36e2ab1..."
    depends = []                             # names of packages of this target
    build_tools = [                          # wheels from the index its build runs
      {name = "flit-core", version = "3.9.0",
       filename = "flit_core-3.9.0-py3-none-any.whl", sha256 = "..."},
    ]
    fallback_tools = [                       # the index's backend, should the archive's fail
      {name = "setuptools", version = "80.9.0", ...},
    ]

`repack build --lock` builds exactly that: each package is looked up as ``name==version``
and its sdist must be that file with that sha256 (a pin, as pip's --hash), or nothing is
built.  The same holds for its build tools (the build backend and what it needs, when the
target's builder lacks them: repack.buildreqs): each must be the locked wheel with the
locked sha256, and a build tool the lock does not list for that package is refused.

``fallback_tools`` (optional) are the wheels a build takes when the archive's backend fails
it (repack.fallback): the newest the index has of the backend within the project's
requirement, with what it needs.  `repack lock` pins them for every package whose backend
comes from the archive, since only a build shows whether it fails; they are fetched only by
a build that falls back.  A build tool either list pins is allowed to the package's build.

Versions: 2 added ``build_tools``.  A version 1 file still loads, with no build tools
allowed (a package whose build needs one is refused until `repack lock` runs again).  A
file without ``fallback_tools`` allows no fallback beyond what ``build_tools`` pins.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack.buildreqs import ToolPin
from repack.errors import ConfigError, IntegrityError
from repack.model import Target
from repack.plan.closure import Node, Plan, topological_order
from repack.resolve import resolve

__all__ = ["FORMAT_VERSION", "LockedTarget", "Lockfile", "ToolPins", "dumps", "load",
           "plan_from_lock", "tool_pins", "write"]

FORMAT_VERSION = 2
_READABLE = (1, 2)

ToolPins = Mapping[tuple[str, str], Sequence[ToolPin]]
"""(target id, project) -> the build tools its build may use."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedPackage:
    name: NormalizedName
    version: Version
    filename: str
    sha256: str
    depends: tuple[NormalizedName, ...]
    build_tools: tuple[ToolPin, ...] = ()
    fallback_tools: tuple[ToolPin, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedTarget:
    id: str
    provided: tuple[str, ...]
    packages: tuple[LockedPackage, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lockfile:
    index: str
    requested: tuple[str, ...]
    targets: tuple[LockedTarget, ...]


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_s(v) for v in values) + "]"


def _tool(t: ToolPin) -> str:
    return (f"  {{name = {_s(t.name)}, version = {_s(str(t.version))}, "
            f"filename = {_s(t.filename)}, sha256 = {_s(t.sha256)}}},")


def dumps(plans: Sequence[Plan], *, index: str, requested: Sequence[str],
          tools: ToolPins | None = None, fallback_tools: ToolPins | None = None) -> str:
    lines = [
        "# repack.lock: the resolved dependency closure of each target, written by `repack lock`.",
        "# Build exactly this with `repack build --lock FILE`: a sdist or build tool whose",
        "# sha256 differs is refused.",
        f"version = {FORMAT_VERSION}",
        f"index = {_s(index)}",
        f"requested = {_list(requested)}",
    ]
    for plan in plans:
        lines += ["", "[[targets]]", f"id = {_s(plan.target_id)}",
                  f"provided = {_list([str(d.requirement) for d in plan.dropped])}"]
        for name in plan.order:
            node = plan.nodes[name]
            r = node.release
            lines += ["", "[[targets.packages]]", f"name = {_s(r.name)}",
                      f"version = {_s(str(r.version))}", f"filename = {_s(r.filename)}",
                      f"sha256 = {_s(r.sha256)}", f"depends = {_list(sorted(node.depends))}"]
            pins = (tools or {}).get((plan.target_id, name), ())
            lines += ["build_tools = [", *(_tool(t) for t in pins), "]"] if pins else \
                ["build_tools = []"]
            if fallback := (fallback_tools or {}).get((plan.target_id, name), ()):
                lines += ["fallback_tools = [", *(_tool(t) for t in fallback), "]"]
    return "\n".join(lines) + "\n"


def write(path: Path, plans: Sequence[Plan], *, index: str, requested: Sequence[str],
          tools: ToolPins | None = None, fallback_tools: ToolPins | None = None) -> None:
    """Written beside and renamed into place: a lock file is whole or absent."""
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(dumps(plans, index=index, requested=requested, tools=tools,
                         fallback_tools=fallback_tools), encoding="utf-8")
    os.replace(tmp, path)


def load(path: Path) -> Lockfile:
    """Parse and validate a lock file; ConfigError names the first problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read lock file {path}: {exc}") from exc
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, InvalidVersion) as exc:
        raise ConfigError(f"lock file {path} is malformed: {exc!r}",
                          hint="write it again with `repack lock`") from exc


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _parse(data: dict[str, Any]) -> Lockfile:
    if data.get("version") not in _READABLE:
        raise ValueError(f"unsupported lock format version {data.get('version')!r}")
    targets = []
    for t in data["targets"]:
        packages = []
        for p in t["packages"]:
            sha = _str(p["sha256"]).lower()
            if not _SHA256.fullmatch(sha):
                raise ValueError(f"malformed sha256 {sha!r} of {p['name']!r}")
            packages.append(LockedPackage(
                name=canonicalize_name(_str(p["name"])), version=Version(_str(p["version"])),
                filename=_str(p["filename"]), sha256=sha,
                depends=tuple(canonicalize_name(_str(d)) for d in p["depends"]),
                build_tools=tuple(_tool_pin(t) for t in p.get("build_tools", [])),
                fallback_tools=tuple(_tool_pin(t) for t in p.get("fallback_tools", []))))
        targets.append(LockedTarget(id=_str(t["id"]),
                                    provided=tuple(_str(x) for x in t.get("provided", [])),
                                    packages=tuple(packages)))
    return Lockfile(index=_str(data["index"]), requested=tuple(_str(r) for r in data["requested"]),
                    targets=tuple(targets))


def _tool_pin(t: Any) -> ToolPin:
    sha = _str(t["sha256"]).lower()
    if not _SHA256.fullmatch(sha):
        raise ValueError(f"malformed sha256 {sha!r} of build tool {t['name']!r}")
    return ToolPin(name=canonicalize_name(_str(t["name"])), version=Version(_str(t["version"])),
                   filename=_str(t["filename"]), sha256=sha)


def tool_pins(lock: Lockfile) -> dict[tuple[str, str], tuple[ToolPin, ...]]:
    """(target id, project) -> the build tools the lock allows its build: its build_tools,
    and of its fallback_tools those of a project build_tools does not pin already."""
    return {(t.id, p.name): (*p.build_tools, *(f for f in p.fallback_tools if f.name not in
                                               {b.name for b in p.build_tools}))
            for t in lock.targets for p in t.packages}


def plan_from_lock(locked: LockedTarget, target: Target, *, index: str,
                   session: requests.Session) -> Plan:
    """The Plan a lock file records for `target`, each release looked up on the index and
    refused (IntegrityError) unless it is the locked file with the locked sha256."""
    nodes: dict[NormalizedName, Node] = {}
    for p in locked.packages:
        release = resolve(Requirement(f"{p.name}=={p.version}"),
                          python_full_version=target.python_full_version, index=index,
                          session=session, target_name=target.name)
        if release.filename != p.filename or release.sha256 != p.sha256:
            raise IntegrityError(
                f"the index offers {release.filename} sha256:{release.sha256} for "
                f"{p.name}=={p.version}; the lock file pins {p.filename} sha256:{p.sha256}",
                project=p.name, hint="if the new file is the one you want, run `repack lock` "
                                     "again and review the change")
        nodes[p.name] = Node(release=release, depends=p.depends, extras=(),
                             pins=(f"sha256:{p.sha256}",))
    missing = sorted({d for n in nodes.values() for d in n.depends} - set(nodes))
    if missing:
        raise ConfigError(f"lock file target {locked.id} lists dependencies it does not lock: "
                          f"{', '.join(missing)}")
    return Plan(target_id=target.id, nodes=nodes, order=topological_order(nodes), dropped=())
