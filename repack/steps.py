"""Steps every package family's build takes the same way, on the host: the verify stage, a
work directory in the cache, the project read from an unpacked sdist, the build tools a
builder lacks (as verified, accepted wheels), and the changelog date."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from repack import buildreqs, clibs, log, metadata
from repack.config import Settings
from repack.context import Context
from repack.errors import RepackError
from repack.model import Project, Sdist, Target
from repack.trust.accept import accept as policy_accept
from repack.unpack import unpack_sdist

__all__ = ["accept", "changelog_date", "locked_tools", "read_project", "refuse_unbuildable",
           "resolve_build_tools", "work_dir"]


def accept(sdist: Sdist, ctx: Context) -> Sdist:
    """The verify stage (repack.trust.accept): the policy's signatures and attestations, and the
    index's advisories, checked and recorded before any upstream code runs; once per file in a
    run."""
    return policy_accept(sdist, ctx.settings.policy, session=ctx.session, accepted=ctx.accepted)


@contextmanager
def work_dir(ctx: Context, prefix: str) -> Iterator[Path]:
    """A fresh directory under <cache>/work (the same file system as the build cache),
    removed afterwards."""
    work_root = ctx.settings.cache_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=work_root) as tmp:
        yield Path(tmp)


def read_project(raw: bytes, tree: Path, sdist: Sdist, *, source: str, settings: Settings,
                 entry_points: str | None = None) -> Project:
    """The project of `raw` metadata, with its `[packages.<name>] requires-dist` after its
    own run-time requirements."""
    name = str(sdist.release.name)
    project = metadata.project_from_metadata(
        raw, tree, source=source, entry_points=entry_points,  # type: ignore[arg-type]
        expected_name=name, expected_version=sdist.release.version)
    added = settings.overrides(name).requires_dist
    more = tuple(r for r in map(Requirement, added) if r not in project.requires_dist)
    return dataclasses.replace(project, requires_dist=project.requires_dist + more) if more \
        else project


def refuse_unbuildable(sdist: Sdist, ctx: Context) -> None:
    """Exit 7 for an sdist that needs what no builder has (Rust crates, a CUDA SDK:
    clibs.refuse_unbuildable), read from its unpacked tree without running anything: for
    a run of several builds, before the first starts."""
    name = str(sdist.release.name)
    with work_dir(ctx, "scan-") as work:
        try:
            tree = unpack_sdist(sdist.path, work / "unpack", project=name)
            project = read_project(metadata.read_pkg_info(tree, project=name), tree, sdist,
                                   settings=ctx.settings,
                                   source="PKG-INFO")
        except RepackError:
            return      # a bad sdist: its build says so in its turn, after the ones before it
        clibs.refuse_unbuildable(project, clibs.scan(tree))


def resolve_build_tools(missing: Sequence[Requirement], target: Target, ctx: Context, *,
                        project: str, step: str | None = None) -> list[buildreqs.BuildTool]:
    """Build requirements the builder lacks as wheels from the index, resolved on the host
    before the build container's network is cut: hash-verified, accepted by the trust
    policy like the sdist (they run as its build backend), and under --lock exactly the
    locked files.  `step`: what is said, when the wheels are not what the builder lacks."""
    if not missing:
        return []
    with log.step(step or f"Fetching build tools {target.name} lacks: "
                          f"{', '.join(str(r) for r in missing)}"):
        return buildreqs.resolve_wheels(missing, target, index=ctx.index, session=ctx.session,
                                        cache_dir=ctx.settings.cache_dir,
                                        policy=ctx.settings.policy, required_by=project,
                                        locked=locked_tools(target, ctx, project),
                                        accepted=ctx.accepted)


def locked_tools(target: Target, ctx: Context,
                 project: str) -> Mapping[NormalizedName, buildreqs.ToolPin] | None:
    """The lock file's build-tool pins of `project` on `target` (none listed: none allowed);
    None without a lock file."""
    if ctx.tool_pins is None:
        return None
    return {t.name: t for t in ctx.tool_pins.get((target.id, canonicalize_name(project)), ())}


def changelog_date(epoch: int) -> str:
    """RFC 5322 date of the changelog entry: the release's own date (repack.sourcedate),
    never the build's, so that two builds give identical packages.  dpkg-buildpackage
    takes SOURCE_DATE_EPOCH from it, rpmbuild too (source_date_epoch_from_changelog)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
