"""The build pipeline, one stage call after another.

    resolve -> fetch (+verify hashes) -> accept (signatures, attestations, advisories)
            -> FAMILIES[target.family].build (unpack, metadata, map, render, build, check)
            -> the build cache -> OUTPUT/<target>/

Reading `build_one` tells what repack does, in order; one family's folder (repack/deb/,
repack/rpm/, starting at its `family` module, the Family protocol of repack.family) tells
how a build is done.  The run that calls these (its requests, context, --sign) is
repack.buildrun's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from repack import buildcache, log, republish, revision, steps
from repack import targets as target_files
from repack.container import images
from repack.context import Context
from repack.errors import CommandFailed, ConfigError, MappingError
from repack.family import FAMILIES
from repack.fetch import fetch
from repack.model import Artifact, BuildRequest, Sdist, Target
from repack.plan.closure import Plan
from repack.plan.schedule import PlanFailed, run_graph
from repack.resolve import resolve

__all__ = ["BuildResult", "build_all", "build_family", "build_one", "build_plans",
           "build_sdist", "fetch_sdist", "load_targets", "render_only", "warmed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildResult:
    """What a run delivered to OUTPUT/<target>/, the verified sdists it was built from, and
    the warnings to repeat at the end."""

    artifacts: tuple[Artifact, ...]
    sources: tuple[Sdist, ...]
    warnings: tuple[str, ...]


def load_targets(target_ids: Sequence[str]) -> list[Target]:
    """Every target is validated before anything is downloaded or built."""
    loaded = [target_files.load(t) for t in dict.fromkeys(target_ids)]
    unsupported = [t.id for t in loaded if t.family not in FAMILIES]
    if unsupported:
        raise ConfigError(f"target(s) {', '.join(unsupported)}: no builder for their family")
    return loaded


@contextlib.contextmanager
def warmed(targets: Sequence[Target], ctx: Context) -> Iterator[None]:
    """A run's builds, with what each target's builds wait for started first, in the
    background (`Family.warm`: Debian refreshes apt's lists while the run resolves)."""
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(FAMILIES[target.family].warm(target, ctx))
        yield


def build_all(build_requests: Sequence[BuildRequest], targets: Sequence[Target],
              ctx: Context) -> BuildResult:
    """`repack build REQ...`: each request for each target, one after another."""
    artifacts: list[Artifact] = []
    sources: dict[str, Sdist] = {}
    warnings: list[str] = []
    for request in build_requests:
        for target in targets:
            sdist, built, warned = build_one(request, target, ctx)
            sources.setdefault(sdist.sha256, sdist)
            artifacts += built
            warnings += warned
    return BuildResult(artifacts=tuple(artifacts), sources=tuple(sources.values()),
                       warnings=tuple(warnings))


def build_one(request: BuildRequest, target: Target,
              ctx: Context) -> tuple[Sdist, list[Artifact], list[str]]:
    """One requirement for one target: the sdist it resolved to, the artifacts delivered to
    OUTPUT/<target>/, and the warnings."""
    sdist = fetch_sdist(request, target, ctx)
    artifacts, warnings = build_sdist(sdist, target, ctx)
    return sdist, artifacts, warnings


def fetch_sdist(request: BuildRequest, target: Target, ctx: Context) -> Sdist:
    """The sdist a request resolves to for the target's Python, downloaded, checked against
    the index's sha256 and the request's pins, and accepted by the trust policy."""
    release = resolve(request.requirement, python_full_version=target.python_full_version,
                      index=ctx.index, session=ctx.session, target_name=target.name)
    sdist = fetch(release, pins=request.hashes, cache_dir=ctx.settings.cache_dir,
                  session=ctx.session)
    return steps.accept(sdist, ctx)


def build_sdist(sdist: Sdist, target: Target, ctx: Context) -> tuple[list[Artifact], list[str]]:
    """An accepted sdist built as the revision --revision or --against asks for
    (repack.revision, repack.republish), else as the sdist's own (1, or what `repack
    rebuild` read from the published package's record)."""
    if ctx.revision is not None:
        sdist = dataclasses.replace(sdist, revision=ctx.revision, rebuilt=(
            revision.asked_reason(ctx.revision) if ctx.revision > 1 else None))
    elif ctx.against is not None:
        return republish.build_against(sdist, target, lambda s: build_family(s, target, ctx),
                                       ctx.against)
    return build_family(sdist, target, ctx)


def build_family(sdist: Sdist, target: Target,
                 ctx: Context) -> tuple[list[Artifact], list[str]]:
    """The target's family builds the sdist into the build cache (or finds it there); the
    artifacts are copied to OUTPUT/<target>/."""
    entry = FAMILIES[target.family].build(sdist, target, ctx)
    return buildcache.deliver(entry, target, ctx.output_dir)


def render_only(sdist: Sdist, target: Target, ctx: Context, dest: Path) -> Path:
    """`repack render`: the generated packaging files under dest, for review, not built."""
    return FAMILIES[target.family].render(sdist, target, ctx, dest)


def _refuse_unbuildable(work: Mapping[str, tuple[Sdist, Target, str]],
                        depends: Mapping[str, Sequence[str]], ctx: Context) -> None:
    """A dependency that no builder can build (pyopenssl's newer cryptography: Rust) stops
    the run before anything is built, naming who needs it, instead of after the builds
    before it in the order (and their failures) have run."""
    seen: set[str] = set()
    for key, (sdist, _, _) in work.items():
        if sdist.sha256 in seen:
            continue
        seen.add(sdist.sha256)
        try:
            steps.refuse_unbuildable(sdist, ctx)
        except MappingError as e:
            needers = sorted(work[k][2] for k, deps in depends.items() if key in deps)
            e.hint = "; ".join(filter(None, (
                e.hint, f"needed by {', '.join(needers)}" if needers else None,
                "nothing was built")))
            raise


def build_plans(plans: Sequence[Plan], targets: Sequence[Target], ctx: Context, *,
                jobs: int = 2) -> BuildResult:
    """Build the plans of several targets (repack.plan) as one graph, dependencies first,
    so that `jobs` builds run at once across targets.  Every sdist is fetched and verified
    before the first build starts; each build is `build_sdist`.

    Raises PlanFailed (with the exit code of the failed build) naming what failed, what was
    built (kept in the output directory) and what was not."""
    ctx = dataclasses.replace(ctx, planned=ctx.planned | frozenset(
        str(name) for plan in plans for name in plan.order))
    jobs_order: list[str] = []
    depends: dict[str, Sequence[str]] = {}
    work: dict[str, tuple[Sdist, Target, str]] = {}
    for plan, target in zip(plans, targets, strict=True):
        for name in plan.order:
            node = plan.nodes[name]
            key = f"{target.id}/{name}"
            sdist = steps.accept(fetch(node.release, pins=node.pins,
                                       cache_dir=ctx.settings.cache_dir,
                                       session=ctx.session), ctx)
            work[key] = (sdist, target, f"{name} {node.release.version} for {target.id}")
            jobs_order.append(key)
            depends[key] = [f"{target.id}/{d}" for d in node.depends]
    if len(work) > 1:       # before any image is bootstrapped for builds that cannot run
        _refuse_unbuildable(work, depends, ctx)
    for plan, target in zip(plans, targets, strict=True):
        if plan.order:
            # Made once here, so that parallel builds never bootstrap the same image twice.
            images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))

    def job(key: str) -> tuple[list[Artifact], list[str]]:
        sdist, target, _ = work[key]
        return build_sdist(sdist, target, ctx)

    outcome = run_graph(jobs_order, depends, job, jobs=jobs)
    artifacts: list[Artifact] = []
    warnings: list[str] = []
    for built, warned in outcome.done.values():
        artifacts += built
        warnings += warned
    if outcome.failed:
        for key, error in outcome.failed:
            if isinstance(error, CommandFailed) and error.output_tail:
                log.console.print(error.output_tail, markup=False, style="dim")
            if len(outcome.failed) > 1:
                log.warn(f"{work[key][2]} failed too: {error}")
        first, cause = outcome.failed[0]
        raise PlanFailed(work[first][2], cause, done=[work[k][2] for k in outcome.done],
                         not_run=[work[k][2] for k in outcome.not_run],
                         where=str(ctx.output_dir)) from cause
    sources: dict[str, Sdist] = {}
    for sdist, _, _ in work.values():
        sources.setdefault(sdist.sha256, sdist)
    return BuildResult(artifacts=tuple(artifacts), sources=tuple(sources.values()),
                       warnings=tuple(warnings))
