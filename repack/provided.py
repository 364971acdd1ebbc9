"""What a target distribution already provides, and how its builder reads dynamic metadata.

Per family:
* deb: the archive's package index, read from the builder image (`ArchiveIndex`); a
  requirement is provided when `naming.map_requirement` finds it satisfied there.  Dynamic
  metadata is read by the PEP 517 hook in the offline builder container (the same path a
  build takes, stopped before dpkg-buildpackage).
* rpm: no RPM distribution repository can be reached, so nothing is assumed present.
  Dynamic metadata is read by the PEP 517 hook in the target's builder (same Python as the
  target), offline, with missing build tools installed from verified wheels, as
  `repack.rpm.build.build_rpm` does before rpmbuild.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import Requirement

from repack import buildreqs, metadata, pipeline
from repack.container import images
from repack.container.engine import Container
from repack.deb.build import DebianBuild
from repack.deb.naming import map_requirement
from repack.errors import MappingError, MetadataError
from repack.model import DebSpec, Sdist, Target
from repack.plan.closure import MetadataHook
from repack.rpm import build as rpm
from repack.unpack import unpack_sdist

__all__ = ["metadata_hook", "provided_by"]


def provided_by(target: Target, ctx: pipeline.Context) -> Callable[[Requirement], bool]:
    if target.family != "deb":
        return lambda req: False
    image = images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))
    archive = images.load_archive(image)

    def provided(req: Requirement) -> bool:
        try:
            return map_requirement(req, target, archive,
                                   names=ctx.settings.package_names()).satisfied
        except MappingError:
            return False
    return provided


def metadata_hook(target: Target, ctx: pipeline.Context) -> MetadataHook | None:
    if target.family == "rpm":
        return _rpm_hook(target, ctx)
    if target.family != "deb":
        return None
    image = images.image_for(target, "builder", ctx.settings.cache_dir)

    def hook(sdist: Sdist) -> bytes:
        sdist = pipeline.accept(sdist, ctx)   # the policy first: the hook runs upstream code
        found: list[bytes] = []

        def finish(deb: DebianBuild, container: Container, srcdir: str, spec: DebSpec,
                   warnings: list[str]) -> None:
            # pipeline.prepare ran DebianBuild.pep517_metadata, which kept what it read.
            if deb.pep517 is not None:
                found.append(deb.pep517.metadata)

        pipeline.prepare(sdist, target, image, ctx, finish)
        if not found:
            raise MetadataError("the PEP 517 metadata hook wrote no METADATA",
                                project=str(sdist.release.name))
        return found[0]
    return hook


def _rpm_hook(target: Target, ctx: pipeline.Context) -> MetadataHook:
    image = images.image_for(target, "builder", ctx.settings.cache_dir)

    def hook(sdist: Sdist) -> bytes:
        sdist = pipeline.accept(sdist, ctx)   # the policy first: the hook runs upstream code
        name = str(sdist.release.name)
        images.ensure(ctx.engine, image)
        work_root = ctx.settings.cache_dir / "work"
        work_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="deps-", dir=work_root) as tmp:
            work = Path(tmp)
            tree = unpack_sdist(sdist.path, work / "unpack", project=name)
            project = pipeline.read_project(metadata.read_pkg_info(tree, project=name), tree,
                                            sdist, source="PKG-INFO")
            build = rpm.RpmBuild(engine=ctx.engine, image=image, work=work, project=name)
            build.src_dir.mkdir()
            tree = tree.rename(build.src_dir / tree.name)
            reqs = buildreqs.applicable(project.build_requires, target)
            with ctx.engine.container(image.tag, mounts=build.mounts, network=False) as c:
                missing = build.missing_build_requires(c, reqs)
                # accepted by the policy like the sdist: the hook runs them
                tools = pipeline.resolve_build_tools([Requirement(m) for m in missing], target,
                                                     ctx, project=name)
                build.install_build_tools(c, tools)
                raw, _ = build.pep517_metadata(c, tree.name,
                                               project.build_backend or rpm.DEFAULT_BACKEND,
                                               rpm._backend_path(tree))
        return raw
    return hook
