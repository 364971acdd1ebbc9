"""Resolve closure plans (or read them from a lock file), and the build tools a lock pins.

What a target provides and what a builder reads from dynamic metadata are its family's
answers (repack.family.FAMILIES); the plans are built by repack.pipeline.build_plans."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName

from repack import buildreqs, fallback, log, metadata, steps
from repack.buildreqs import ToolPin
from repack.context import Context
from repack.errors import (
    ConfigError,
    IntegrityError,
    MetadataError,
    ResolveError,
    TrustError,
)
from repack.family import FAMILIES
from repack.fetch import fetch
from repack.model import BuildRequest, Project, Target
from repack.plan import lockfile
from repack.plan.closure import Plan, resolve_closure
from repack.unpack import unpack_sdist

__all__ = ["LockedTools", "describe", "fallback_pins", "lock_tools", "locked_plans",
           "resolve_plans"]


def describe(plan: Plan, target: Target) -> None:
    """Tell the user what will be built and what the distribution already has."""
    for d in plan.dropped:
        log.info(f"{d.requirement} (required by {d.required_by}): provided by {target.name}")
    shown = ", ".join(f"{plan.nodes[n].release.name} {plan.nodes[n].release.version}"
                      for n in plan.order)
    log.info(f"build order for {target.id}: {shown or 'nothing'}")


def resolve_plans(build_requests: Sequence[BuildRequest], targets: Sequence[Target],
                  ctx: Context) -> list[Plan]:
    """One plan per target, in the given target order.  Deb targets resolve first: their
    builder can run the metadata hook, and what it reads is cached per sdist for the rest."""
    plans: dict[str, Plan] = {}
    for target in sorted(targets, key=lambda t: t.family != "deb"):
        with log.step(f"Resolving the dependencies for {target.id}"):
            family = FAMILIES[target.family]
            plan = resolve_closure(build_requests, target, index=ctx.index, session=ctx.session,
                                   provided=family.provided(target, ctx),
                                   cache_dir=ctx.settings.cache_dir,
                                   hook=functools.partial(family.read_metadata, target=target,
                                                          ctx=ctx),
                                   known=ctx.requires,
                                   added=lambda name: ctx.settings.overrides(name).requires_dist)
            describe(plan, target)
        plans[target.id] = plan
    return [plans[t.id] for t in targets]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedTools:
    """What `repack lock` pins per (target id, project): the build tools its build fetches
    from the index, and the backend a fallback would (repack.fallback)."""

    build: dict[tuple[str, str], tuple[ToolPin, ...]]
    fallback: dict[tuple[str, str], tuple[ToolPin, ...]]


def lock_tools(plans: Sequence[Plan], targets: Sequence[Target], ctx: Context) -> LockedTools:
    """The build tools each package of each plan would fetch from the index, resolved and
    accepted by the trust policy as its build would, and the index's backend a fallback
    of its build would take (`fallback_pins`): what `repack lock` pins."""
    out = LockedTools(build={}, fallback={})
    for plan, target in zip(plans, targets, strict=True):
        if not plan.order:
            continue
        with (log.step(f"Resolving the build tools for {target.id}"),
              steps.work_dir(ctx, "lock-") as work):
            unpacked = [_build_system(plan, name, ctx, work) for name in plan.order]
            projects = [project for project, _ in unpacked]
            trees = {project.name: tree for project, tree in unpacked}
            lacking = FAMILIES[target.family].lacking_build_requires(projects, target, ctx,
                                                                     trees)
            for project in projects:
                tools = steps.resolve_build_tools(lacking[project.name], target, ctx,
                                                  project=str(project.name))
                out.build[(target.id, project.name)] = tuple(t.locked for t in tools)
                out.fallback[(target.id, project.name)] = fallback_pins(
                    project, target, ctx, from_index={t.name for t in tools})
    return out


def fallback_pins(project: Project, target: Target, ctx: Context, *,
                  from_index: Collection[str]) -> tuple[ToolPin, ...]:
    """The wheels a fallback of `project`'s build would take (repack.fallback), resolved
    and accepted as the build would; none when the index has none the trust policy accepts
    (said on stderr: `repack build --lock` then cannot fall back for it)."""
    req = fallback.lock_requirement(project, target, from_index)
    if req is None:
        return ()
    try:
        tools = steps.resolve_build_tools(
            [req], target, ctx, project=str(project.name),
            step=f"Pinning {req} from the index for {project.name}, should the archive's "
                 "fail its build")
    except (ResolveError, IntegrityError, TrustError, MetadataError) as exc:
        log.info(f"{project.name}: no fallback backend pinned for {target.id} ({req}): {exc}")
        return ()
    return tuple(t.locked for t in tools if t.name not in from_index)


def _build_system(plan: Plan, name: NormalizedName, ctx: Context,
                  work: Path) -> tuple[Project, Path]:
    """The project of a plan's verified, accepted sdist, as far as its PKG-INFO and
    pyproject.toml say (the [build-system] table is static), and its tree unpacked under
    `work`; no upstream code runs."""
    node = plan.nodes[name]
    sdist = steps.accept(fetch(node.release, pins=node.pins, cache_dir=ctx.settings.cache_dir,
                               session=ctx.session), ctx)
    tree = unpack_sdist(sdist.path, work / name, project=name)
    return steps.read_project(metadata.read_pkg_info(tree, project=name), tree, sdist,
                              source="PKG-INFO", settings=ctx.settings), tree


def locked_plans(lock: lockfile.Lockfile, targets: Sequence[Target],
                 ctx: Context) -> list[Plan]:
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
