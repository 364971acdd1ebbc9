"""The build cache: a finished build is kept under <cache>/builds/<key>, whole or absent, and
copied from there to OUTPUT/<target>/.  The key covers everything that can change the
artifacts, so a family asks for its entry once the build's inputs are known."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from repack import buildreqs, log
from repack.config import Settings
from repack.container import images
from repack.context import Context
from repack.deb.render import builtin_templates, user_template_dirs
from repack.digest import key as cache_key
from repack.digest import sha256_file, tree_digest
from repack.errors import RepackError
from repack.model import Artifact, Sdist, Target
from repack.trust import provenance

__all__ = ["cache_entry", "code_digest", "deliver", "reusable", "store"]


@functools.cache
def code_digest() -> str:
    """Digest of repack's own code and target files: a changed repack builds anew."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_entry(sdist: Sdist, target: Target, image: images.Image, settings: Settings, *,
                tools: Sequence[buildreqs.BuildTool] = (),
                inputs: Mapping[str, object] | None = None) -> Path:
    """Where the build is cached, keyed by everything that can change the artifacts: the
    sdist, the target, the image and its archive snapshot, the templates (shipped and user
    overrides), the maintainer, the [packages] settings (overrides with their patches'
    sha256), repack's version and code, the
    provenance record the packages carry (what was verified; advisories known at build
    time; the build tools with their sha256 and what verified them), and `inputs`: what
    the build installed besides the image (apt packages and build-tool wheels, by
    SHA256)."""
    templates = [Path(str(builtin_templates()))]
    templates += [d for d in user_template_dirs() if d.is_dir()]
    record = provenance.of(sdist, [t.file for t in tools])
    key = cache_key(
        sdist=sdist.sha256, provenance=provenance.to_json(record),
        target=str(target), image=image.tag,
        archive=sha256_file(image.archive_file), maintainer=settings.maintainer,
        packages=sorted((k, v.cache_data()) for k, v in settings.packages.items()
                        if v.builds_differently()),      # `check` alone builds the same
        templates=[tree_digest(t) for t in templates], code=code_digest(),
        inputs=dict(inputs or {}),
    )
    return settings.cache_dir / "builds" / key


def reusable(entry: Path, ctx: Context) -> bool:
    """Whether the build cached under `entry` may stand in for building (never when
    ctx.fresh: `repack rebuild`)."""
    if ctx.fresh or not (entry / "result.json").is_file():
        return False
    log.info(f"up to date: reusing the build cached under {entry}")
    return True


def store(artifacts: Sequence[Artifact], warnings: Sequence[str], log_file: Path,
          cached: Path) -> None:
    """Move a finished build into the cache in one rename: a cache entry is whole or absent.
    An entry already there (unusable, or stored by another run of the same build since this
    one looked) is renamed away first, never emptied in place under a reader; when another
    run's entry lands between that and the rename, theirs is kept: the key is the same."""

    staging = cached.with_name(f".partial-{cached.name}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for a in artifacts:
        shutil.copy2(a.path, staging / a.path.name)
    if log_file.is_file():
        shutil.copy2(log_file, staging / "build.log")
    records = [{"target": a.target, "format": a.format, "package": a.package,
                "version": a.version, "file": a.path.name, "sha256": a.sha256} for a in artifacts]
    (staging / "result.json").write_text(json.dumps({"artifacts": records,
                                                     "warnings": list(warnings),
                                                     "built": time.time()}, indent=2))
    old = cached.with_name(f".old-{cached.name}-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(cached, old)
    shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(staging, cached)
    except OSError as e:                        # ENOTEMPTY: another run's entry, whole
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) \
                or not (cached / "result.json").is_file():
            raise
        shutil.rmtree(staging, ignore_errors=True)


def deliver(cached: Path, target: Target, output_dir: Path) -> tuple[list[Artifact], list[str]]:
    """Copy a cached build to OUTPUT/<target>/: staged beside, then renamed file by file, so
    the output never holds a half-written file."""

    data = json.loads((cached / "result.json").read_text())
    dest = output_dir / target.id
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".repack-partial-", dir=dest))
    try:
        artifacts = []
        for rec in data["artifacts"]:
            src = cached / rec["file"]
            if sha256_file(src) != rec["sha256"]:
                raise RepackError(f"cached artifact {src} was modified; delete {cached} "
                                  "and rebuild")
            shutil.copy2(src, staging / rec["file"])
            artifacts.append(Artifact(target=rec["target"], format=rec["format"],
                                      package=rec["package"], version=rec["version"],
                                      path=dest / rec["file"], sha256=rec["sha256"]))
        for a in artifacts:
            os.replace(staging / a.path.name, a.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return artifacts, list(data["warnings"])
