"""Resolve closure plans (or read them from a lock file) and build them.

Every sdist is fetched and verified first; then the builds run in dependency order, `jobs`
at a time across all targets, through the same per-target path as `repack build`."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import NormalizedName

from repack import buildreqs, log, metadata, pipeline
from repack.buildreqs import ToolPin
from repack.container import images
from repack.errors import CommandFailed, ConfigError
from repack.fetch import fetch
from repack.model import Artifact, BuildRequest, Project, Sdist, Target
from repack.plan import lockfile
from repack.plan.closure import Plan, resolve_closure
from repack.plan.schedule import PlanFailed, run_graph
from repack.provided import metadata_hook, provided_by
from repack.unpack import unpack_sdist

__all__ = ["build_plan", "build_plans", "describe", "lock_tools", "locked_plans",
           "resolve_plans"]


def describe(plan: Plan, target: Target) -> None:
    """Tell the user what will be built and what the distribution already has."""
    for d in plan.dropped:
        log.info(f"{d.requirement} (required by {d.required_by}): provided by {target.name}")
    shown = ", ".join(f"{plan.nodes[n].release.name} {plan.nodes[n].release.version}"
                      for n in plan.order)
    log.info(f"build order for {target.id}: {shown or 'nothing'}")


def build_plan(plan: Plan, target: Target, ctx: pipeline.Context, *,
               jobs: int = 2) -> pipeline.BuildResult:
    """Build one target's plan; see `build_plans`."""
    return build_plans([plan], [target], ctx, jobs=jobs)


def build_plans(plans: Sequence[Plan], targets: Sequence[Target], ctx: pipeline.Context, *,
                jobs: int = 2) -> pipeline.BuildResult:
    """Build the plans of several targets as one graph, so that `jobs` builds run at once
    across targets.  Every sdist is fetched and verified before the first build starts.

    Raises PlanFailed (with the exit code of the failed build) naming what failed, what was
    built (kept in the output directory) and what was not."""
    ctx = dataclasses.replace(ctx, planned=frozenset(
        str(name) for plan in plans for name in plan.order))
    jobs_order: list[str] = []
    depends: dict[str, Sequence[str]] = {}
    work: dict[str, tuple[Sdist, Target, str]] = {}
    for plan, target in zip(plans, targets, strict=True):
        for name in plan.order:
            node = plan.nodes[name]
            key = f"{target.id}/{name}"
            sdist = pipeline.accept(fetch(node.release, pins=node.pins,
                                          cache_dir=ctx.settings.cache_dir,
                                          session=ctx.session), ctx)
            work[key] = (sdist, target, f"{name} {node.release.version} for {target.id}")
            jobs_order.append(key)
            depends[key] = [f"{target.id}/{d}" for d in node.depends]
        if plan.order:
            # Made once here, so that parallel builds never bootstrap the same image twice.
            images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))

    def job(key: str) -> tuple[list[Artifact], list[str]]:
        sdist, target, _ = work[key]
        return pipeline.build_for_target(sdist, target, ctx)

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
    return pipeline.BuildResult(artifacts=tuple(artifacts), sources=tuple(sources.values()),
                                warnings=tuple(warnings))


def resolve_plans(requests_: Sequence[BuildRequest], targets: Sequence[Target],
                  ctx: pipeline.Context) -> list[Plan]:
    """One plan per target, in the given target order.  Deb targets resolve first: their
    builder can run the metadata hook, and what it reads is cached per sdist for the rest."""
    plans: dict[str, Plan] = {}
    for target in sorted(targets, key=lambda t: t.family != "deb"):
        with log.step(f"Resolving the dependencies for {target.id}"):
            plan = resolve_closure(requests_, target, index=ctx.index,
                                   session=ctx.session, provided=provided_by(target, ctx),
                                   cache_dir=ctx.settings.cache_dir,
                                   hook=metadata_hook(target, ctx))
            describe(plan, target)
        plans[target.id] = plan
    return [plans[t.id] for t in targets]


def lock_tools(plans: Sequence[Plan], targets: Sequence[Target],
               ctx: pipeline.Context) -> dict[tuple[str, str], tuple[ToolPin, ...]]:
    """The build tools each package of each plan would fetch from the index, resolved and
    accepted by the trust policy as its build would: what `repack lock` pins."""
    out: dict[tuple[str, str], tuple[ToolPin, ...]] = {}
    for plan, target in zip(plans, targets, strict=True):
        if not plan.order:
            continue
        with log.step(f"Resolving the build tools for {target.id}"):
            projects = [_build_system(plan, name, ctx) for name in plan.order]
            lacking = pipeline.lacking_build_requires(projects, target, ctx)
            for project in projects:
                tools = pipeline.resolve_build_tools(lacking[project.name], target, ctx,
                                                     project=str(project.name))
                out[(target.id, project.name)] = tuple(t.locked for t in tools)
    return out


def _build_system(plan: Plan, name: NormalizedName, ctx: pipeline.Context) -> Project:
    """The project of a plan's verified, accepted sdist, as far as its PKG-INFO and
    pyproject.toml say (the [build-system] table is static); no upstream code runs."""
    node = plan.nodes[name]
    sdist = pipeline.accept(fetch(node.release, pins=node.pins, cache_dir=ctx.settings.cache_dir,
                                  session=ctx.session), ctx)
    work_root = ctx.settings.cache_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lock-", dir=work_root) as tmp:
        tree = unpack_sdist(sdist.path, Path(tmp) / "unpack", project=name)
        return pipeline.read_project(metadata.read_pkg_info(tree, project=name), tree, sdist,
                                     source="PKG-INFO")


def locked_plans(lock: lockfile.Lockfile, targets: Sequence[Target],
                 ctx: pipeline.Context) -> list[Plan]:
    """The plans of a lock file for `targets` (all of the file's when none are given);
    every file, sdist or build tool, is checked against its pin before anything is built."""
    by_id = {t.id: t for t in lock.targets}
    missing = [t.id for t in targets if t.id not in by_id]
    if missing:
        raise ConfigError(f"the lock file has no target {', '.join(missing)}",
                          hint=f"it locks: {', '.join(by_id) or 'nothing'}; run `repack lock` "
                               "with those targets")
    if lock.index.rstrip("/") != ctx.index.rstrip("/"):
        log.warn(f"the lock was resolved on {lock.index}; using {ctx.index} (the sha256 pins "
                 "still decide)")
    plans = [lockfile.plan_from_lock(by_id[t.id], t, index=ctx.index, session=ctx.session)
             for t in targets]
    for plan, target in zip(plans, targets, strict=True):
        for name in plan.order:
            node = plan.nodes[name]
            fetch(node.release, pins=node.pins, cache_dir=ctx.settings.cache_dir,
                  session=ctx.session)
        for package in by_id[target.id].packages:
            buildreqs.fetch_locked(package.build_tools, target, index=ctx.index,
                                   session=ctx.session, cache_dir=ctx.settings.cache_dir,
                                   required_by=package.name)
    return plans
