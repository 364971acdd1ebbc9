"""Build requirements a builder lacks, as hash-verified wheels from the index.

A builder image carries its distribution's build tools, which may be missing (bullseye has
no hatchling) or too old (its flit_core is 3.0).  What the builder cannot satisfy is
resolved here with the target's marker environment, newest pure-Python wheel first,
together with its run-time requirements, fetched through the same verified cache as the
sdists, and later installed inside the build container with `pip --no-index` from a
read-only mount, before its network is cut or with none at all.  Wheels are fine for
build tools: they do not end up in the package as files.

But a build tool runs as the build backend and writes the package, so each wheel goes
through the same verify stage as the sdist (repack.trust.accept.accept: the policy's rules by
project name, --require-signature, advisories) before anything is installed, is recorded
in the package's provenance (repack.trust.provenance) and the build cache key, and is pinned
by a lock file (`ToolPin`): `repack build --lock` refuses any other wheel.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from typing import Literal

import requests
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from repack import log
from repack.container.engine import Container
from repack.digest import sha256_file
from repack.errors import IntegrityError, MetadataError, ResolveError, TrustError
from repack.fetch import fetch
from repack.model import Project, Release, Sdist, Target
from repack.resolve import (
    IndexFile,
    file_requires_python,
    files_by_version,
    project_page,
    release_from_file,
)
from repack.textsafe import one_line
from repack.trust.accept import AcceptKey, accept
from repack.trust.policy import Policy

__all__ = [
    "BACKEND_EXTRAS",
    "BACKEND_FLOORS",
    "BACKEND_PROJECTS",
    "BUILDER_GLIBC",
    "INSTALL_SCRIPT",
    "MESON",
    "PIP_ENV",
    "REQUIRES_SCRIPT",
    "BuildTool",
    "Floor",
    "ToolPin",
    "applicable",
    "backend_failure",
    "backend_path",
    "backend_project",
    "build_requirements",
    "builder_tags",
    "fallback_requirement",
    "fetch_locked",
    "floored",
    "hook_answer",
    "hook_requires",
    "installed_version",
    "installer_argv",
    "meson_required",
    "pip_install_argv",
    "resolve_wheels",
    "unsatisfied",
]

# pip inside a throwaway builder container, from a read-only wheel directory only.
# PIP_BREAK_SYSTEM_PACKAGES: Debian's python3 is "externally managed" (PEP 668) and pip
# refuses to install into it otherwise; that protects a real system's apt-managed files,
# while a builder container is discarded after the build, and pip writes to /usr/local.
PIP_ENV = {"PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_ROOT_USER_ACTION": "ignore",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}

_RELOCK_HINT = "if the new build tool is the one you want, run `repack lock` again and review it"
MAX_TOOLS = 60   # a build-tool closure larger than this is a resolver loop, not a real need
# The oldest builder's glibc (Debian 11, el9's stand-in): a manylinux wheel built for it or
# older runs in every builder (PEP 600: glibc keeps its old symbol versions).
BUILDER_GLIBC = (2, 31)
MANYLINUX_ALIASES = {"2014": 17, "2010": 12, "1": 5}     # PEP 599/571/513 -> glibc 2.N


@dataclass(frozen=True, slots=True, kw_only=True)
class Floor:
    """A backend version below which a build is known to fail for some projects: a build
    requirement naming `backend` is raised to `>=minimum` when `when` holds for the project
    (and the requirement admits `minimum`: an upstream cap is left alone), so that an
    archive's older backend is passed over for a verified wheel from the index."""

    backend: NormalizedName
    minimum: Version
    when: Literal["always", "classifiers", "pep621", "license-expression", "flat-discovery"]
    why: str


# Data, one entry per backend; each `why` is what goes wrong below the minimum.
BACKEND_FLOORS: tuple[Floor, ...] = (
    Floor(backend=canonicalize_name("hatchling"), minimum=Version("1.27"), when="classifiers",
          why="hatchling checks pyproject's classifiers against its trove-classifiers: Debian "
              "12's 1.12.2 and its list refuse newer ones (\"Programming Language :: Python :: "
              "3.13\"); a hatchling from the index brings the index's current list"),
    Floor(backend=canonicalize_name("setuptools"), minimum=Version("61"), when="pep621",
          why="setuptools before 61 ignores pyproject's [project] table: Debian 11's 52 (the "
              "el9 builder) builds pyasn1 as UNKNOWN 0.0.0"),
    Floor(backend=canonicalize_name("setuptools"), minimum=Version("77"),
          when="license-expression",
          why="a PEP 639 `license = \"MIT\"` string in [project] is an error before "
              "setuptools 77, even where the project requires plain `setuptools`"),
    Floor(backend=canonicalize_name("setuptools"), minimum=Version("68.1"),
          when="flat-discovery",
          why="setuptools' automatic discovery in a flat layout takes the rendered debian/ "
              "directory for a package before 68.1 (Debian bug 1041091): Debian 12's 66.1 "
              "stops with \"Multiple top-level packages discovered in a flat-layout: ['debian', "
              "'jaraco']\" (jaraco.classes), or packages debian/ instead of a lone module"),
    Floor(backend=canonicalize_name("flit-core"), minimum=Version("3.12"),
          when="license-expression",
          why="flit_core reads a PEP 639 license string from 3.11 and AND/OR expressions "
              "from 3.12; Debian 12's 3.8 stops with \"license field should be <class "
              "'dict'>, not <class 'str'>\" (threadpoolctl, matplotlib-inline)"),
)

# Data a backend checks a project against, which ages in an archive while projects move on:
# the distribution that holds it, and how the backend's error names it.  hatchling and
# setuptools check [project] classifiers against the installed trove-classifiers list
# ("Unknown classifier in field `project.classifiers`: Programming Language :: Python ::
# 3.15" beside Debian 13's hatchling 1.27.0, which babel pins with `~=1.27.0`): a newer
# list, not a newer backend, is what the build needs.
STALE_DATA: tuple[tuple[NormalizedName, re.Pattern[str]], ...] = (
    (canonicalize_name("trove-classifiers"),
     re.compile(r"Unknown classifier in field|must be trove[-_]classifier")),
)


def stale_data(why: str) -> NormalizedName | None:
    """The distribution whose data a backend's failure (`backend_failure`) says is too old
    for the project, or None when the failure is the backend's own."""
    return next((name for name, said in STALE_DATA if said.search(why)), None)


# Dependencies a backend needs beside it when it comes as a wheel.  setuptools (>= 71)
# imports its vendored dependencies only when no installed copy exists, so an older copy
# a distribution installs shadows them: beside Debian 12's `packaging` 23.0, setuptools
# >= 77 dies on `packaging.licenses`.  Its `core` extra lists those dependencies at the
# versions it needs; of them, only the ones a builder commonly has installed are fetched
# (not the whole extra: jaraco.text's closure reaches typer and pydantic's native core).
BACKEND_EXTRAS: Mapping[NormalizedName, tuple[str, frozenset[NormalizedName]]] = {
    canonicalize_name("setuptools"): ("core", frozenset(map(canonicalize_name, (
        "packaging", "wheel", "more-itertools", "tomli", "importlib-metadata")))),
}


# The project that provides each common build backend (PEP 517 `build-backend` object ->
# its distribution); any other backend is taken to be the project its top module names.
BACKEND_PROJECTS: Mapping[str, NormalizedName] = {
    module: canonicalize_name(project) for module, project in (
        ("setuptools.build_meta", "setuptools"), ("hatchling.build", "hatchling"),
        ("flit_core.buildapi", "flit-core"), ("poetry.core.masonry.api", "poetry-core"),
        ("pdm.backend", "pdm-backend"), ("pdm.pep517.api", "pdm-pep517"),
        ("mesonpy", "meson-python"), ("scikit_build_core.build", "scikit-build-core"),
        ("maturin", "maturin"), ("setuptools.build_meta:__legacy__", "setuptools"))}

# A traceback's last line: `ExceptionType: message` (a dotted type is a module's class).
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")
_TRACEBACK = "Traceback (most recent call last):"
# A traceback's frame line: the tail of a long traceback (run.py keeps 40 lines) starts at one.
_FRAME = re.compile(r'^ *File "[^"\n]*", line \d+', re.MULTILINE)
# Failures a newer backend does not fix: the compiler's and the machine's, not the API's.
_NOT_THE_BACKEND = frozenset({"CompileError", "LinkError", "CCompilerError",
                              "DistutilsExecError", "MemoryError", "OSError",
                              "PermissionError", "KeyboardInterrupt"})
_COMPILER_FAILED = re.compile(r"fatal error:|error: command '[^']*' failed with exit")


def backend_project(build_backend: str) -> NormalizedName:
    """The distribution that provides a PEP 517 backend object (`module:object`)."""
    module = build_backend.partition(":")[0]
    return BACKEND_PROJECTS.get(build_backend) or BACKEND_PROJECTS.get(module) or \
        canonicalize_name(module.split(".")[0])


def backend_failure(output: str, step: Literal["hook", "wheel"]) -> str | None:
    """Why a PEP 517 step failed, when it failed in a way a newer backend may fix: the
    exception line of the last Python traceback in `output` (or of the frames its tail
    kept), raised through the hook (a "hook" step is repack's script that only loads and
    calls it; for the wheel, pip's hook runner `_in_process` must be in the traceback: a
    crash of pip itself is not the backend's).  None for what a newer backend does not
    change: no traceback (a compiler or a command exits non-zero), a compile or link error,
    the machine's errors (OSError: a full disk, memory), or a compiler's `fatal error:` (a
    missing C header).

    An archive's old backend fails in setup.py or the hook with an AttributeError,
    ImportError or TypeError when the project uses an API that came later; that is the
    failure building again with the index's backend answers."""
    if _COMPILER_FAILED.search(output):
        return None
    start = output.rfind(_TRACEBACK)
    if start < 0:
        # a traceback longer than the output's tail lost its first lines (setuptools 52
        # importing a package for its `attr:` version: 40 lines of frames): it starts at
        # the first frame kept
        frame = _FRAME.search(output)
        if frame is None:
            return None
        start = frame.start()
    trace = output[start:].splitlines()
    for i, line in enumerate(trace[1:], 1):
        found = _EXCEPTION_LINE.match(line.strip())
        if found is None:
            continue
        kind = found.group(1).rsplit(".", 1)[-1]
        frames = "\n".join(trace[:i])
        if kind in _NOT_THE_BACKEND or (step == "wheel" and "_in_process" not in frames):
            return None
        return one_line(line)[:300]     # upstream's text, printed and put in a hint
    return None


def fallback_requirement(req: Requirement, archive: Version) -> Requirement:
    """`req` raised above the archive's failed version, so that a verified wheel from the
    index satisfies it (the newest one that does) and the archive's copy does not."""
    raised = Requirement(str(req))
    raised.specifier &= f">{archive}"
    return raised


def _floor_applies(floor: Floor, project: Project) -> bool:
    if floor.when == "always":
        return True
    if floor.when == "classifiers":
        return project.classifiers
    if floor.when == "pep621":
        return project.pep621
    if floor.when == "flat-discovery":
        return project.flat_discovery
    return bool(project.license_expression)


def floored(reqs: Iterable[Requirement], project: Project) -> list[Requirement]:
    """`reqs` with each backend requirement raised to its highest known-good minimum
    (BACKEND_FLOORS) that applies to `project`."""
    out = []
    for req in reqs:
        name = canonicalize_name(req.name)
        floors = [f for f in BACKEND_FLOORS
                  if f.backend == name and _floor_applies(f, project) and req.url is None
                  and req.specifier.contains(f.minimum, prereleases=True)]
        if floors:
            floor = max(floors, key=lambda f: f.minimum)
            raised = Requirement(str(req))
            raised.specifier &= f">={floor.minimum}"
            log.debug(f"{project.name}: build requirement {req} raised to {raised}: "
                      f"{floor.why}")
            req = raised
        out.append(req)
    return out


MESON = canonicalize_name("meson")
_MESON_BASED = frozenset({MESON, canonicalize_name("meson-python")})
_LOWER_BOUNDS = frozenset({">=", ">", "==", "~="})


def _implied(spec: Specifier, specifier: SpecifierSet) -> bool:
    """Whether `specifier` already says `spec`: the same clause, or for a lower bound
    (`>=1.9`, `>1.9`) a lower bound of its own at or above it."""
    if any(s == spec for s in specifier):     # (`in` would ask whether it admits a version)
        return True
    if spec.operator not in (">=", ">"):
        return False
    try:
        floor = Version(spec.version)
        bounds = [Version(s.version) for s in specifier if s.operator in _LOWER_BOUNDS]
    except InvalidVersion:             # a wildcard (==1.*): not read as a bound
        return False
    return any(b > floor or (b == floor and spec.operator == ">=") for b in bounds)


def meson_required(reqs: Sequence[Requirement], project: Project) -> list[Requirement]:
    """`reqs` with the meson that `project`'s meson.build asks for (Project.meson_version)
    when it builds with meson (meson-python's backend, or meson named in `reqs`): a `meson`
    requirement gets the clauses it does not already say, or one is added.  Without it a
    meson-python from the archive brings the archive's meson, which stops the build below
    that version (trixie's 1.7.0 for scikit-learn's `>= 1.9.0`)."""
    wanted = project.meson_version
    names = {canonicalize_name(r.name) for r in reqs}
    if wanted is None or not (names & _MESON_BASED or (
            project.build_backend is not None
            and backend_project(project.build_backend) in _MESON_BASED)):
        return list(reqs)
    why = f"meson.build's project() asks for meson {wanted}"
    if MESON not in names:
        added = Requirement(f"meson{wanted}")
        log.debug(f"{project.name}: build requirement {added} added: {why}")
        return [*reqs, added]
    out = []
    for req in reqs:
        missing = [s for s in wanted if not _implied(s, req.specifier)]
        if canonicalize_name(req.name) == MESON and req.url is None and missing:
            raised = Requirement(str(req))      # a copy: `reqs` are the project's own
            raised.specifier &= SpecifierSet(",".join(str(s) for s in missing))
            log.debug(f"{project.name}: build requirement {req} raised to {raised}: {why}")
            req = raised
        out.append(req)
    return out


def build_requirements(project: Project, target: Target) -> list[Requirement]:
    """The build requirements a frontend must satisfy for `project` on `target`: its
    active [build-system] requires, backends raised to their known-good minimums, the meson
    its meson.build asks for, and for a backend that builds itself (setuptools' in-tree
    backend) what BACKEND_EXTRAS says an installed older copy would shadow."""
    own = _shadowed(project.name, project.requires_dist, target)
    active = applicable(floored(project.build_requires, project), target)
    return meson_required(active, project) + own


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildTool:
    """One verified wheel to install in the builder before the build."""

    name: NormalizedName
    version: Version
    file: Sdist              # the verified and accepted wheel (fetch, then trust.accept)

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def locked(self) -> ToolPin:
        return ToolPin(name=self.name, version=self.version, filename=self.file.release.filename,
                       sha256=self.file.sha256)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolPin:
    """A build tool as a lock file pins it: exactly this wheel, with this sha256."""

    name: NormalizedName
    version: Version
    filename: str
    sha256: str


def applicable(reqs: Iterable[Requirement], target: Target,
               extras: Iterable[str] = ("",)) -> list[Requirement]:
    """The requirements whose markers hold on the target (for any of `extras`)."""
    env = target.marker_environment
    return [r for r in reqs
            if r.marker is None or any(_holds(r.marker, env, e) for e in extras)]


def _holds(marker: Marker, env: dict[str, str], extra: str) -> bool:
    return marker.evaluate({**env, "extra": extra})


def _is_pure_wheel(filename: str, python_version: str) -> bool:
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    major = python_version.split(".")[0]
    ok_interp = {f"py{major}", f"py{python_version.replace('.', '')}"}
    return any(_pure(t, ok_interp) for t in tags)


def _pure(tag: Tag, interpreters: set[str]) -> bool:
    return tag.interpreter in interpreters and tag.abi == "none" and tag.platform == "any"


def builder_tags(python_version: str, machine: str) -> frozenset[Tag]:
    """The tags of the binary wheels the builders' CPython `python_version` on `machine`
    installs: cpXY, abi3 (cp32 up to XY) and none ABIs on manylinux platforms up to
    BUILDER_GLIBC (PEP 600, with the manylinux1/2010/2014 aliases), and py3-none on them (a
    program in a wheel: uv_build's backend is a Rust binary)."""
    major, minor = (int(n) for n in python_version.split(".")[:2])
    glibc_major, glibc_minor = BUILDER_GLIBC
    platforms = [f"manylinux_{glibc_major}_{n}_{machine}" for n in range(glibc_minor, 4, -1)]
    platforms += [f"manylinux{alias}_{machine}" for alias, n in MANYLINUX_ALIASES.items()
                  if n <= glibc_minor]
    interpreter = f"cp{major}{minor}"
    program = [tag for tag in compatible_tags((major, minor), interpreter, platforms)
               if tag.platform != "any"]
    return frozenset([*cpython_tags((major, minor), platforms=platforms), *program])


def _is_builder_wheel(filename: str, tags: frozenset[Tag]) -> bool:
    try:
        _, _, _, wheel_tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return not wheel_tags.isdisjoint(tags)


def _choose(req: Requirement, target: Target, index: str,
            session: requests.Session) -> tuple[IndexFile, Version]:
    """The newest release of `req` with a wheel for the target's Python: a pure-Python wheel,
    or else a binary wheel the builder runs (builder_tags: MarkupSafe, which Jinja2 needs and
    uv-dynamic-versioning needs Jinja2, has no pure wheel).  A build tool is not packaged,
    so its being compiled code changes nothing in the package; it meets the same checks."""
    name = canonicalize_name(req.name)
    page = project_page(name, index=index, session=session)
    by_version = files_by_version(page, name)
    allow_pre = bool(req.specifier.prereleases)
    python = Version(target.python_full_version)
    binary = builder_tags(target.python_version, target.platform_machine)
    for version in sorted(by_version, reverse=True):
        if not req.specifier.contains(version, prereleases=allow_pre):
            continue
        files = sorted(by_version[version], key=lambda f: f.package.filename)
        pure = [f for f in files if _is_pure_wheel(f.package.filename, target.python_version)]
        compiled = [f for f in files if _is_builder_wheel(f.package.filename, binary)]
        for f in (*pure, *compiled):
            rp = file_requires_python(f.package)
            if not f.package.is_yanked and (rp is None or rp.contains(python, prereleases=True)):
                return f, version
    raise ResolveError(f"no wheel on the index (pure-Python, or binary for CPython "
                       f"{target.python_version} on manylinux {target.platform_machine}) "
                       f"satisfies the build requirement {req} for Python "
                       f"{target.python_full_version}", project=name)


def _wheel_requires(path: Path, project: str) -> list[Requirement]:
    """Requires-Dist of a verified wheel, read from its .dist-info/METADATA."""
    try:
        with zipfile.ZipFile(path) as whl:
            metas = [n for n in whl.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(metas) != 1:
                raise ResolveError(f"{path.name} has no single .dist-info/METADATA",
                                   project=project)
            msg = BytesParser().parsebytes(whl.read(metas[0]))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        # the index's sha256 matched at download: the cached copy was changed since
        raise IntegrityError(f"{path.name} is not a readable wheel ({exc})", project=project,
                             hint=f"delete {path.parent} from the cache and run again") from exc
    reqs = []
    for text in msg.get_all("Requires-Dist") or []:
        try:
            reqs.append(Requirement(text))
        except InvalidRequirement as exc:
            raise ResolveError(f"{path.name} has an invalid Requires-Dist {text!r}",
                               project=project) from exc
    return reqs


def resolve_wheels(reqs: Sequence[Requirement], target: Target, *, index: str,
                   session: requests.Session, cache_dir: Path, policy: Policy,
                   required_by: str, locked: Mapping[NormalizedName, ToolPin] | None = None,
                   accepted: MutableMapping[AcceptKey, Sdist] | None = None) -> list[BuildTool]:
    """The closure of `reqs` as verified wheels, each accepted by the trust `policy` before
    its metadata is even read: newest match each, no backtracking; a later requirement the
    chosen version does not satisfy is reported, not papered over.

    `required_by` names the project being built (for messages).  With `locked` (a lock
    file's pins), every tool must be one of them, that very file with that sha256
    (IntegrityError otherwise, as for a locked sdist).  `accepted`: the run's acceptances
    (Context.accepted)."""
    chosen: dict[NormalizedName, BuildTool] = {}
    extras_done: dict[NormalizedName, set[str]] = {}
    queue = list(applicable(reqs, target))
    while queue:
        req = queue.pop(0)
        name = canonicalize_name(req.name)
        if name in chosen:
            tool = chosen[name]
            if not req.specifier.contains(tool.version, prereleases=True):
                raise ResolveError(f"build requirement {req} conflicts with {tool.pin} chosen "
                                   "earlier", project=name)
            new_extras = set(req.extras) - extras_done[name]
            if not new_extras:
                continue
        else:
            if len(chosen) >= MAX_TOOLS:
                raise ResolveError(f"more than {MAX_TOOLS} build tools needed; giving up",
                                   project=name)
            if locked is None:
                f, version = _choose(req, target, index, session)
                pins: tuple[str, ...] = ()
            else:
                f, version = _choose_locked(req, locked, target, index, session, required_by)
                pins = (f"sha256:{locked[name].sha256}",)
            release = release_from_file(name, f, file_requires_python(f.package), False, req,
                                        pinned=True, index=index)
            file = fetch(release, pins=pins, cache_dir=cache_dir, session=session)
            file = _accept(file, policy, session, required_by, accepted)
            tool = BuildTool(name=name, version=version, file=file)
            chosen[name] = tool
            extras_done[name] = set()
            new_extras = set(req.extras) | {""}
            log.debug(f"build tool {tool.pin} ({file.path.name})")
        extras_done[name] |= new_extras
        deps = _wheel_requires(tool.file.path, name)
        queue += applicable(deps, target, sorted(new_extras))
        if "" in new_extras:
            queue += _shadowed(name, deps, target)
    return list(chosen.values())


def _shadowed(name: NormalizedName, deps: Sequence[Requirement],
              target: Target) -> list[Requirement]:
    """The requirements of `name`'s BACKEND_EXTRAS entry: its extra's dependencies that an
    installed older copy would shadow."""
    if name not in BACKEND_EXTRAS:
        return []
    extra, names = BACKEND_EXTRAS[name]
    return [_unmarked(r) for r in applicable(deps, target, (extra,))
            if canonicalize_name(r.name) in names]


def _unmarked(req: Requirement) -> Requirement:
    """`req` without its marker (evaluated already: it names the extra)."""
    plain = Requirement(str(req))
    plain.marker = None
    return plain


def _accept(wheel: Sdist, policy: Policy, session: requests.Session, required_by: str,
            accepted: MutableMapping[AcceptKey, Sdist] | None) -> Sdist:
    """The verify stage for a build tool: it runs as the build backend, so it writes the
    package; the sdist's policy is not enough."""
    release: Release = wheel.release
    try:
        return accept(wheel, policy, session=session, accepted=accepted)
    except TrustError as exc:
        raise TrustError(f"build tool {release.name} {release.version} refused: "
                         f"{exc.args[0]}", project=required_by, hint=exc.hint) from exc


def _choose_locked(req: Requirement, locked: Mapping[NormalizedName, ToolPin], target: Target,
                   index: str, session: requests.Session, required_by: str,
                   ) -> tuple[IndexFile, Version]:
    """The locked wheel of `req` as the index lists it; IntegrityError for anything else."""
    name = canonicalize_name(req.name)
    pin = locked.get(name)
    if pin is None:
        raise IntegrityError(f"build tool {req} is not in the lock file", project=required_by,
                             hint=_RELOCK_HINT)
    if not req.specifier.contains(pin.version, prereleases=True):
        raise IntegrityError(f"the lock file pins build tool {name}=={pin.version}, which does "
                             f"not satisfy {req}", project=required_by, hint=_RELOCK_HINT)
    return _locked_file(pin, target, index, session, required_by), pin.version


def _locked_file(pin: ToolPin, target: Target, index: str, session: requests.Session,
                 required_by: str) -> IndexFile:
    page = project_page(pin.name, index=index, session=session)
    for f in files_by_version(page, pin.name).get(pin.version, []):
        if f.package.filename != pin.filename:
            continue
        digest = (f.package.digests.get("sha256") or "").lower()
        if digest != pin.sha256:
            raise IntegrityError(
                f"the index offers build tool {f.package.filename} sha256:{digest}; the lock "
                f"file pins sha256:{pin.sha256}", project=required_by, hint=_RELOCK_HINT)
        if not (_is_pure_wheel(f.package.filename, target.python_version)
                or _is_builder_wheel(f.package.filename, builder_tags(
                    target.python_version, target.platform_machine))):
            raise IntegrityError(f"the locked build tool {pin.filename} is not a wheel for "
                                 f"the builder's Python {target.python_version}",
                                 project=required_by)
        return f
    raise ResolveError(f"the index does not offer the locked build tool {pin.filename}",
                       project=required_by, hint=_RELOCK_HINT)


def fetch_locked(pins: Sequence[ToolPin], target: Target, *, index: str,
                 session: requests.Session, cache_dir: Path, required_by: str) -> None:
    """Check a lock file's build tools against the index and fetch them, before anything
    is built (IntegrityError for another file); the policy accepts them when a build
    installs them."""
    for pin in pins:
        f = _locked_file(pin, target, index, session, required_by)
        req = Requirement(f"{pin.name}=={pin.version}")
        release = release_from_file(pin.name, f, file_requires_python(f.package), False, req,
                                    pinned=True, index=index)
        fetch(release, pins=(f"sha256:{pin.sha256}",), cache_dir=cache_dir, session=session)


def stage(tools: Sequence[BuildTool], dest: Path, *, project: str) -> None:
    """Copy the verified wheels into `dest` (a build's own read-only mount), each copy
    checked against the digest it was verified with: the cache trusts a file by its
    name, a build must not."""
    for t in tools:
        staged = dest / t.file.path.name
        shutil.copyfile(t.file.path, staged)
        if sha256_file(staged) != t.file.sha256:
            raise IntegrityError(f"the cached build tool {t.file.path} no longer has the "
                                 f"sha256 it was verified with ({t.file.sha256})",
                                 project=project, hint=f"delete {t.file.path}")


def pip_install_argv(tools: Sequence[BuildTool], wheel_dir: str) -> list[str]:
    """`pip install` of exactly these pins from `wheel_dir`: no index, no dependency
    resolution (the closure was resolved and verified here, on the host).
    --ignore-installed: a newer wheel of something apt installed (packaging, say) goes to
    /usr/local beside it; pip cannot uninstall apt's copy, which has no RECORD file."""
    return ["python3", "-m", "pip", "install", "--no-index", "--no-deps", "--ignore-installed",
            "--find-links", wheel_dir, "--no-warn-script-location", *(t.pin for t in tools)]


# Runs in a Debian builder, offline: the verified wheels unpacked into the interpreter's default
# scheme (/usr/local there, beside apt's copies, as pip puts them) with the library pybuild
# itself installs wheels with (python3-installer, which pybuild-plugin-pyproject brings): a
# quarter of pip's start-up, and nothing resolved or fetched.  A file two wheels ship (a
# pkgutil-style namespace's __init__.py) is replaced, as pip does, where installer (0.6 on
# Debian 12, 0.7 on Debian 13) refuses to write over an existing file.
INSTALL_SCRIPT = """\
import os, sys, sysconfig
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
class Replacing(SchemeDictionaryDestination):
    def write_to_fs(self, scheme, path, stream, is_executable):
        target = os.path.join(self.scheme_dict[scheme], path)
        if os.path.lexists(target) and not os.path.isdir(target):
            os.unlink(target)
        return super().write_to_fs(scheme, path, stream, is_executable)
dest = Replacing(sysconfig.get_paths(), interpreter=sys.executable, script_kind="posix")
for path in sys.argv[1:]:
    with WheelFile.open(path) as source:
        install(source, dest, {"INSTALLER": b"repack\\n"})
"""


def installer_argv(tools: Sequence[BuildTool], wheel_dir: str) -> list[str]:
    """Install exactly these staged wheels (`stage`) from `wheel_dir` with INSTALL_SCRIPT."""
    return ["python3", "-c", INSTALL_SCRIPT, *(f"{wheel_dir}/{t.file.path.name}" for t in tools)]


# --------------------------------------------------------------------------- in the builder

# Runs in a builder, offline: which build requirements its Python does not satisfy.
CHECK_SCRIPT = """\
import json, sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
missing = []
for text in sys.argv[1:]:
    req = Requirement(text)
    try:
        have = version(req.name)
    except PackageNotFoundError:
        missing.append(text)
        continue
    if not req.specifier.contains(have, prereleases=True):
        missing.append(text)
print(json.dumps(missing))
"""

# Runs in the builder, offline, in a throwaway copy of the tree: the backend's own
# get_requires_for_build_wheel hook, which may ask for more than [build-system] requires
# (yarl, propcache and frozenlist ask for Cython there).  Its answer is upstream text.
# The start of every script that calls a PEP 517 hook in the builder: copy the tree (src
# to copy), enter it, put the build tools' paths first and load the backend object as
# `hooks`.  The script names src, copy, backend and paths (a JSON list) first.
LOAD_BACKEND = """\
shutil.copytree(src, copy, symlinks=True)
os.chdir(copy)
sys.path[:0] = [os.path.abspath(p) for p in json.loads(paths)]
module, _, attrs = backend.partition(":")
hooks = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    hooks = getattr(hooks, attr)
"""
# The line REQUIRES_SCRIPT's answer is on.  Not simply the last line: the engine forwards the
# container's stdout and stderr as two streams, so under load a warning the backend printed to
# stderr (setuptools' "warning: no previously-included files ...") may come after it.
REQUIRES_MARK = "repack-requires:"
REQUIRES_SCRIPT = """\
import importlib, json, os, shutil, sys
src, copy, backend, paths = sys.argv[1:5]
settings = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
""" + LOAD_BACKEND + """\
hook = getattr(hooks, "get_requires_for_build_wheel", None)
answer = json.dumps([str(r) for r in (hook(settings) if hook is not None else [])])
print(""" + repr(REQUIRES_MARK) + """ + answer, flush=True)
"""
MAX_DYNAMIC = 64            # more requirements than this from the hook is hostile


def backend_path(tree: Path) -> list[str]:
    """pyproject's [build-system] backend-path: where an in-tree backend is imported from."""
    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    paths = data.get("build-system", {}).get("backend-path", [])
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


INSTALLED_SCRIPT = """\
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    print("")
"""


def installed_version(c: Container, name: str, *, project: str) -> Version | None:
    """The version of `name` the builder's Python imports (its archive's, or none)."""
    out = c.exec(["python3", "-c", INSTALLED_SCRIPT, name], project=project).strip()
    try:
        return Version(out.splitlines()[-1]) if out else None
    except InvalidVersion:
        return None


def unsatisfied(c: Container, reqs: Sequence[Requirement], *, project: str) -> list[str]:
    """The requirements (PEP 508 texts) the builder's Python does not satisfy."""
    if not reqs:
        return []
    out = c.exec(["python3", "-c", CHECK_SCRIPT, *(str(r) for r in reqs)], project=project)
    missing: list[str] = json.loads(out.strip().splitlines()[-1])
    return missing


def hook_requires(c: Container, src: str, backend: str, paths: Sequence[str], *,
                  project: str, config_settings: Mapping[str, object] | None = None,
                  env: Mapping[str, str] | None = None) -> list[Requirement]:
    """What the backend's get_requires_for_build_wheel hook asks for, run offline in a
    copy of the tree `src` (upstream code: its answer is checked like any upstream text),
    given the project's PEP 517 config settings and build environment (repack.overrides)."""
    settings = [json.dumps(dict(config_settings))] if config_settings else []
    with log.step("Asking the backend for its build requirements (in the container, offline)"):
        out = c.exec(["python3", "-c", REQUIRES_SCRIPT, src, "/tmp/requires-src", backend,
                      json.dumps(list(paths)), *settings],
                     env=dict(env) if env else None, project=project)
    return hook_answer(out, project=project)


def hook_answer(out: str, *, project: str) -> list[Requirement]:
    """The requirements on the last line REQUIRES_SCRIPT marked with REQUIRES_MARK (a JSON
    list of PEP 508 strings), wherever the hook's own output put it; anything else, or more
    than MAX_DYNAMIC of them, is a MetadataError."""
    marked = [ln for ln in out.splitlines() if ln.startswith(REQUIRES_MARK)]
    try:
        texts = json.loads(marked[-1].removeprefix(REQUIRES_MARK)) if marked else None
    except ValueError:
        texts = None
    if (not isinstance(texts, list) or len(texts) > MAX_DYNAMIC
            or not all(isinstance(t, str) and len(t) < 1000 for t in texts)):
        raise MetadataError("get_requires_for_build_wheel did not return a list of requirements",
                            project=project)
    reqs = []
    for text in texts:
        try:
            reqs.append(Requirement(text))
        except InvalidRequirement as exc:
            raise MetadataError(f"get_requires_for_build_wheel returned an invalid requirement "
                                f"{text[:200]!r}", project=project) from exc
    return reqs
