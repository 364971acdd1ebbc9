"""The archive-backend fallback both families share (issue 11): a build whose PEP 517 backend
came from the builder's archive and failed a PEP 517 step in a way a newer backend may fix
(`buildreqs.backend_failure`) runs once more, in a new container, with the newest verified
wheel of that backend from the index above the archive's version that the project's
requirement allows; or, when the failure says the data the backend checks the project
against is too old (buildreqs.STALE_DATA: a classifier newer than the archive's
trove-classifiers), with the index's copy of that data and the archive's backend.

What a family says is which of its failed commands was a PEP 517 step of the backend (its
`pep517_step`: rpmbuild's %build, pybuild's build step, repack's hook scripts) and what its
build requires; the decision (`decide`) and the second run (`with_fallback`) are here.
Under --lock the build tools are the lock file's: only a newer backend the lock pins for
the project is taken (`repack lock` pins the one `lock_requirement` names, as the package's
`fallback_tools`), else the first failure is raised with a hint saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from repack import buildreqs, log, steps
from repack.container.engine import Container
from repack.context import Context
from repack.errors import (
    CommandFailed,
    IntegrityError,
    MappingError,
    MissingToolchain,
    OfflineDownload,
    RepackError,
    ResolveError,
)
from repack.model import Project, Target

__all__ = ["LEGACY_BACKEND", "Fallback", "Step", "decide", "lock_requirement", "refused",
           "replaced", "with_fallback"]

_T = TypeVar("_T")

# The backend a PEP 517 frontend runs for a project without [build-system] build-backend.
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"

Step = Literal["hook", "wheel"]
"""How a failed PEP 517 step ran the backend (buildreqs.backend_failure): "hook" in repack's
own script that loads and calls it, "wheel" through a hook runner (pip's or pypa/build's
`_in_process`), whose frames must be in the traceback for the failure to be the backend's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fallback:
    """A first build the archive's backend failed, to be built again with `requirement`."""

    requirement: Requirement
    announce: str                # the line printed
    first: str                   # what failed, for the second build's error


def with_fallback(run: Callable[[Sequence[Requirement]], _T | Fallback]) -> _T:
    """`run()`, and when it returns a Fallback (the archive's backend failed), once more
    with the backend raised; that second run's error names the first failure.  A build that
    failed trying to download (OfflineDownload) or for want of a Rust or CUDA compiler
    (MissingToolchain) needs what the target does not provide: exit 7 (`refused`)."""
    try:
        outcome = run(())
    except (OfflineDownload, MissingToolchain) as exc:
        raise refused(exc) from exc
    if not isinstance(outcome, Fallback):
        return outcome
    log.info(outcome.announce)
    try:
        again = run((outcome.requirement,))
    except (OfflineDownload, MissingToolchain) as exc:
        raise refused(exc) from exc
    except RepackError as exc:
        exc.hint = "; ".join(filter(None, (exc.hint, f"before, {outcome.first}")))
        raise
    assert not isinstance(again, Fallback)      # a raised run never falls back again
    return again


def refused(exc: OfflineDownload | MissingToolchain) -> MappingError:
    """The one-line refusal of a build that tried to download or lacked a Rust or CUDA
    compiler (exit 7), with its hint."""
    if isinstance(exc, MissingToolchain):
        return MappingError(f"needs {exc.toolchain}, which the offline builder does not have: "
                            "its build failed for want of it",
                            project=exc.project, hint=exc.hint)
    what = exc.url or "something"
    return MappingError(f"the build tried to download {what}, which the offline builder "
                        "cannot: it needs what the target's archive does not provide",
                        project=exc.project, hint=exc.hint)


def replaced(reqs: Sequence[Requirement], raised: Sequence[Requirement]) -> list[Requirement]:
    """`reqs` with those of a project `raised` names replaced by `raised` (a failed
    archive backend's fallback requirement takes the place of the project's own)."""
    names = {canonicalize_name(r.name) for r in raised}
    return [*(r for r in reqs if canonicalize_name(r.name) not in names), *raised]


def decide(exc: CommandFailed, step: Step | None, c: Container, *, backend: str,
           requirements: Sequence[Requirement], from_index: Collection[str], target: Target,
           ctx: Context, project: str) -> Fallback | None:
    """The Fallback for a failed command `exc` that was a PEP 517 `step` of the archive's
    `backend` (a `module:object`) and failed in a way a newer one may fix (or a newer copy
    of the data it checks against, buildreqs.STALE_DATA: the archive's trove-classifiers
    for a classifier newer than its list); None when it was
    another step (`step` None) or another kind of failure, or the backend is among the
    wheels `from_index` already, or the builder `c` has no copy of it.  `requirements` are
    the project's build requirements: the fallback stays within its range for the backend.
    When no newer backend can be used (none on the index, or none pinned under --lock),
    `exc` gets a hint naming the first failure and None is returned."""
    why = step and buildreqs.backend_failure(exc.output_tail, step)
    if not why:
        return None
    # a failure over data the backend checks against (buildreqs.STALE_DATA) raises the data
    data = buildreqs.stale_data(why)
    name = data or buildreqs.backend_project(backend)
    if name in from_index:
        return None
    version = buildreqs.installed_version(c, name, project=project)
    if version is None:
        return None
    first = (f"the archive's {name} {version} is older than the project ({why})" if data
             else f"the archive's {name} {version} failed ({why})")
    req = next((r for r in requirements if canonicalize_name(r.name) == name),
               Requirement(name))
    raised = buildreqs.fallback_requirement(req, version)
    try:     # under --lock, only a newer backend the lock file pins for the project
        tool = next(t for t in steps.resolve_build_tools([raised], target, ctx, project=project)
                    if t.name == name)
    except (ResolveError, IntegrityError) as no_newer:
        locked = ("with --lock the build tools are the lock file's, and " if ctx.tool_pins
                  is not None else "")
        exc.hint = f"{first}; {locked}no newer {name} could be used: {no_newer}"
        return None
    return Fallback(requirement=raised, first=first,
                    announce=f"{project}: {first}; building again with {name} "
                             f"{tool.version} from the index")


def lock_requirement(project: Project, target: Target,
                     from_index: Collection[str]) -> Requirement | None:
    """What `repack lock` pins for a fallback of `project`'s build on `target`, without a
    build: its backend at the project's own requirement (the newest wheel the index has for
    it is what a fallback takes, when it is above the archive's version, which only the
    builder knows).  None when the backend comes from the index anyway (`from_index`: the
    build tools it lacks) or is not among its build requirements (an in-tree backend, a
    module whose project is not named there: a fallback cannot raise it)."""
    name = buildreqs.backend_project(project.build_backend or LEGACY_BACKEND)
    if name in from_index:
        return None
    return next((r for r in buildreqs.build_requirements(project, target)
                 if canonicalize_name(r.name) == name), None)
