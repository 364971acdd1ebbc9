"""The commands that keep repack's own state: the targets' builder images and the cache
(`repack targets`, `image build`, `image prune`, `cache prune`).

The command line (repack.cli.build) only prints what these return.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from repack import config, prune
from repack import targets as target_files
from repack.container import engine, images
from repack.errors import HostError, RepackError
from repack.model import Target

T = TypeVar("T")


def target_states(settings: config.Settings) -> Iterator[tuple[Target, str]]:
    """Each known target and whether its builder image is ready: "ready", "no engine" or
    "not built (...)"."""
    loaded = [target_files.load(tid) for tid in target_files.available()]   # all or none
    try:
        eng: engine.Engine | None = engine.detect(settings.engine, settings.limits)
    except RepackError:
        eng = None
    for t in loaded:
        tid = t.id
        img = images.image_for(t, "builder", settings.cache_dir)
        yield t, "no engine" if eng is None else (
            "ready" if images.is_ready(eng, img) else f"not built (repack image build {tid})")


def build_images(settings: config.Settings, target_ids: Sequence[str], *, rebuild: bool,
                 base: bool) -> Iterator[str]:
    """Prepare the builder (and on `base` the base) image of each target; yields each tag
    once it is ready."""
    from repack import pipeline

    eng = engine.detect(settings.engine, settings.limits)
    for t in pipeline.load_targets(target_ids):
        for kind in ("builder", "base") if base else ("builder",):
            yield images.ensure(eng, images.image_for(t, kind, settings.cache_dir),
                                rebuild=rebuild).tag


@dataclass(frozen=True, slots=True, kw_only=True)
class Pruned(Generic[T]):
    """What a prune removed (dry run: would remove), what it could not ("<what>: <why>",
    one line each) and the error (exit 12) to raise once that is printed."""

    gone: tuple[T, ...]
    failed: tuple[str, ...]
    nothing: bool                  # nothing was stale
    error: HostError | None = None


def prune_images(settings: config.Settings, *, dry_run: bool) -> Pruned[str]:
    """Remove repack's images that are no target's current recipe (rmi never forced)."""
    eng = engine.detect(settings.engine, settings.limits)
    doomed = images.stale_tags(images.engine_tags(eng), images.current_tags(settings.cache_dir))
    failed = [] if dry_run else images.remove_images(eng, doomed)
    gone = [tag for tag in doomed if not any(f.startswith(f"{tag}:") for f in failed)]
    return Pruned(gone=tuple(gone), failed=tuple(failed), nothing=not doomed,
                  error=HostError(f"{len(failed)} image(s) could not be removed")
                  if failed else None)


def prune_cache(settings: config.Settings, days: int, *, dry_run: bool) -> Pruned[prune.Entry]:
    """Remove cache entries nothing was written into for `days` days."""
    doomed, failed = prune.prune(settings.cache_dir, days, dry_run=dry_run)
    gone = [e for e in doomed if not any(f.startswith(f"{e.path}:") for f in failed)]
    entries = f"entr{'y' if len(failed) == 1 else 'ies'}"
    return Pruned(gone=tuple(gone), failed=tuple(failed), nothing=not doomed,
                  error=HostError(f"{len(failed)} cache {entries} could not be removed")
                  if failed else None)
