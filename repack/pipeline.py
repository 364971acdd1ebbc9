"""The build pipeline, one stage call after another.

    resolve -> fetch (+verify hashes) -> accept (signatures, attestations, advisories)
            -> unpack -> metadata -> map -> render -> build

Reading `build_for_target` tells what repack does, in order.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from repack import buildreqs, log, metadata, owned
from repack import revision as revision_
from repack import targets as target_files
from repack.config import Settings
from repack.container import images
from repack.container.engine import Container, Engine
from repack.container.outputs import read_beneath
from repack.deb import naming, render
from repack.deb.build import DebianBuild, relations_text
from repack.digest import key as cache_key
from repack.digest import sha256_file, tree_digest
from repack.errors import BuildError, ConfigError, MappingError, RepackError
from repack.fetch import fetch
from repack.model import (
    ArchiveIndex,
    Artifact,
    BuildRequest,
    DebSpec,
    Project,
    Release,
    Sdist,
    Target,
)
from repack.resolve import resolve
from repack.rpm import naming as naming_rpm
from repack.rpm.build import build_rpm
from repack.trust import accept as trust
from repack.trust import provenance
from repack.unpack import unpack_sdist


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    settings: Settings
    engine: Engine
    session: requests.Session
    index: str
    output_dir: Path
    planned: frozenset[str] = frozenset()   # projects this run builds too (--with-deps, --lock)
    fresh: bool = False                     # build again, never from the build cache (rebuild)
    # --lock: the build tools each (target id, project) may use; None: resolve freely
    tool_pins: Mapping[tuple[str, str], Sequence[buildreqs.ToolPin]] | None = None
    revision: int | None = None             # --revision N: every package is 0repackN
    against: revision_.Published | None = None   # --against REPO: the revision REPO calls for


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildResult:
    artifacts: tuple[Artifact, ...]
    sources: tuple[Sdist, ...]
    warnings: tuple[str, ...]


def load_targets(target_ids: Sequence[str]) -> list[Target]:
    """Every target is validated before anything is downloaded or built."""
    loaded = [target_files.load(t) for t in dict.fromkeys(target_ids)]
    unsupported = [t.id for t in loaded if t.family not in FAMILY_BUILDS]
    if unsupported:
        raise ConfigError(f"target(s) {', '.join(unsupported)}: no builder for their family")
    return loaded


def build_all(requests_: Sequence[BuildRequest], targets: Sequence[Target],
              ctx: Context) -> BuildResult:
    artifacts: list[Artifact] = []
    sources: dict[str, Sdist] = {}
    warnings: list[str] = []
    for request in requests_:
        for target in targets:
            sdist = fetch_sdist(request, target, ctx)
            sources.setdefault(sdist.sha256, sdist)
            built, warned = build_for_target(sdist, target, ctx)
            artifacts += built
            warnings += warned
    return BuildResult(artifacts=tuple(artifacts), sources=tuple(sources.values()),
                       warnings=tuple(warnings))


def fetch_sdist(request: BuildRequest, target: Target, ctx: Context) -> Sdist:
    release: Release = resolve(request.requirement, python_full_version=target.python_full_version,
                               index=ctx.index, session=ctx.session)
    return accept(fetch(release, pins=request.hashes, cache_dir=ctx.settings.cache_dir,
                        session=ctx.session), ctx)


def accept(sdist: Sdist, ctx: Context) -> Sdist:
    """The verify stage (repack.trust.accept): the policy's signatures and attestations, and the
    index's advisories, checked and recorded before any upstream code runs."""
    return trust.accept(sdist, ctx.settings.policy, session=ctx.session)


def build_for_target(sdist: Sdist, target: Target, ctx: Context) -> tuple[list[Artifact], list[str]]:
    """Build one sdist for one target with its family's builder, as the revision
    --revision or --against asks for (repack.revision), else as the sdist's own."""
    family_build = FAMILY_BUILDS[target.family]
    if ctx.revision is not None:
        sdist = dataclasses.replace(sdist, revision=ctx.revision, rebuilt=(
            revision_.asked_reason(ctx.revision) if ctx.revision > 1 else None))
    elif ctx.against is not None:
        return revision_.build_against(sdist, target, lambda s: family_build(s, target, ctx),
                                       ctx.against)
    return family_build(sdist, target, ctx)


def build_deb_for_target(sdist: Sdist, target: Target,
                         ctx: Context) -> tuple[list[Artifact], list[str]]:
    """The cache is asked once the build's inputs are known (the build dependencies apt
    would install, with their SHA256, and the build-tool wheels, accepted by today's trust
    policy): a build is reused only if it was made from exactly those (never when
    ctx.fresh: `repack rebuild`)."""
    name = f"{sdist.release.name} {sdist.release.version}"
    with log.step(f"Building {name} for {target.id}"):
        image = images.image_for(target, "builder", ctx.settings.cache_dir)
        entry: list[Path] = []

        def reuse(deb: DebianBuild) -> bool:
            entry.append(cache_entry(sdist, target, image, ctx.settings, tools=deb.tools,
                                     inputs=deb.inputs()))
            if ctx.fresh or not (entry[0] / "result.json").is_file():
                return False
            log.info(f"up to date: reusing the build cached under {entry[0]}")
            return True

        def finish(deb: DebianBuild, container: Container, srcdir: str, spec: DebSpec,
                   warnings: list[str]) -> None:
            artifacts = deb.dpkg_buildpackage(container, srcdir, spec,
                                              orig=orig_name(spec, sdist),
                                              orig_sha256=sdist.sha256)
            owned.check_artifacts(artifacts, target, image, project=str(sdist.release.name),
                                  allowed=ctx.settings.allowed_paths(sdist.release.name))
            store(artifacts, warnings, deb.work / "build.log", entry[0])

        prepare(sdist, target, image, ctx, finish, reuse=reuse)
        return deliver(entry[0], target, ctx.output_dir)


def build_rpm_for_target(sdist: Sdist, target: Target,
                         ctx: Context) -> tuple[list[Artifact], list[str]]:
    """The .rpm and .src.rpm, built offline in the target's builder (repack.rpm.build).
    The cache is asked once the build-tool wheels are known: a build is reused only if it
    was made with exactly those."""
    name = f"{sdist.release.name} {sdist.release.version}"
    with log.step(f"Building {name} for {target.id} (builder {target.builder})"):
        image = images.image_for(target, "builder", ctx.settings.cache_dir)
        chosen = ctx.settings.package_names().get(sdist.release.name)
        naming_rpm.rpm_name(sdist.release.name, target, chosen=chosen)  # refused before building
        images.ensure(ctx.engine, image)
        entry: list[Path] = []

        def reuse(tools: Sequence[buildreqs.BuildTool]) -> bool:
            inputs = {"tools": sorted(f"{t.file.path.name} {t.file.sha256}" for t in tools)}
            entry.append(cache_entry(sdist, target, image, ctx.settings, tools=tools,
                                     inputs=inputs))
            if ctx.fresh or not (entry[0] / "result.json").is_file():
                return False
            log.info(f"up to date: reusing the build cached under {entry[0]}")
            return True

        work_root = ctx.settings.cache_dir / "work"
        work_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="build-", dir=work_root) as tmp:
            result = build_rpm(sdist, target, image, engine=ctx.engine,
                               fetch_tools=tool_fetcher(target, ctx, str(sdist.release.name)),
                               cache_dir=ctx.settings.cache_dir,
                               packager=ctx.settings.maintainer,
                               date=changelog_date(sdist.source_date_epoch),
                               work=Path(tmp), chosen_name=chosen, reuse=reuse)
            if result is not None:
                owned.check_artifacts(result.artifacts, target, image,
                                      project=str(sdist.release.name), engine=ctx.engine,
                                      allowed=ctx.settings.allowed_paths(sdist.release.name))
                store(list(result.artifacts), [], result.log_file, entry[0])
        return deliver(entry[0], target, ctx.output_dir)


FAMILY_BUILDS: dict[str, Callable[[Sdist, Target, Context], tuple[list[Artifact], list[str]]]] = {
    "deb": build_deb_for_target,
    "rpm": build_rpm_for_target,
}


def render_only(sdist: Sdist, target: Target, ctx: Context, dest: Path) -> Path:
    """Write the generated debian/ directory to dest for review, without building."""
    if target.family != "deb":
        raise ConfigError(f"target {target.id}: render writes debian/ only; use build for rpm")
    image = images.image_for(target, "builder", ctx.settings.cache_dir)
    result: list[Path] = []

    def finish(deb: DebianBuild, container: Container, srcdir: str, spec: DebSpec,
               warnings: list[str]) -> None:
        out = dest / srcdir / "debian"
        if out.exists():
            raise ConfigError(f"{out} already exists; remove it or choose another -o")
        shutil.copytree(deb.rendered / srcdir / "debian", out)
        result.append(out)

    prepare(sdist, target, image, ctx, finish)
    return result[0]


Finish = Callable[[DebianBuild, Container, str, DebSpec, list[str]], None]


def prepare(sdist: Sdist, target: Target, image: images.Image, ctx: Context,
            finish: Finish, *, reuse: Callable[[DebianBuild], bool] | None = None) -> None:
    """Unpack, read metadata, map and render inside a work dir, then call finish in the
    offline builder container with the build dependencies installed.  A bad sdist is
    refused before the builder image is even bootstrapped.  `reuse`, asked once the build
    dependencies are downloaded and verified, may stop there (a cached build)."""
    project_name = str(sdist.release.name)
    orig_suffix(sdist)
    work_root = ctx.settings.cache_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=work_root) as tmp:
        work = Path(tmp)
        with log.step("Unpacking the sdist safely"):
            tree = unpack_sdist(sdist.path, work / "unpack", project=project_name)
        pkg_info = metadata.read_pkg_info(tree, project=project_name)
        first = read_project(pkg_info, tree, sdist, source="PKG-INFO")
        images.ensure(ctx.engine, image)
        archive = images.load_archive(image)
        # Build-Depends come from pyproject's [build-system], which is static even when the
        # core metadata is not, so they are known before any upstream code runs.
        first_spec = make_spec(first, sdist, target, archive, ctx.settings)
        note = revision_.archive_note(project_name, str(first.version), first_spec, target,
                                      archive)
        if note is not None:
            log.warn(note)
        owned.check_scripts(first.console_scripts, first_spec.binary_name, target, image,
                            project=project_name, allowed=ctx.settings.allowed_paths(project_name))
        srcdir = f"{first_spec.source_name}-{debian_upstream(first_spec)}"
        build_dir = work / "build"
        build_dir.mkdir()
        # A copy: upstream code may rewrite the one in build_dir (symlinks included); the
        # host reads the metadata's tree and license files from its own.
        shutil.copytree(tree, build_dir / srcdir, symlinks=True)
        shutil.copyfile(sdist.path, build_dir / orig_name(first_spec, sdist))
        deb = DebianBuild(engine=ctx.engine, image=image, work=work, project=project_name,
                          apt_cache=ctx.settings.cache_dir / "apt-archives" / target.id,
                          apt_lists=ctx.settings.cache_dir / "apt-lists" / target.id)
        build_depends = relations_text(first_spec.build_depends)
        # Accepted by the trust policy here, before any upstream code runs.
        missing = missing_build_requires(first, target, archive)
        tools = resolve_build_tools(missing, target, ctx, project=project_name)
        deb.use_build_tools(tools)
        deb.download_build_deps(build_depends)
        if reuse is not None and reuse(deb):
            return

        def offline(container: Container) -> None:
            project = first
            if not metadata.is_static(pkg_info):
                meta = deb.pep517_metadata(container, srcdir)
                project = read_project(meta.metadata, tree, sdist,
                                       source="PEP 517", entry_points=meta.entry_points)
            spec = make_spec(project, sdist, target, archive, ctx.settings, tools)
            from_wheels = {str(r) for r in missing}
            warnings = [note] if note is not None else []
            warnings += [f"{project_name}: {req} is not satisfied by {target.name}; "
                        "build it with repack too" for req in spec.unsatisfied
                        if req not in from_wheels and not _planned(req, ctx)]
            for w in warnings[1 if note is not None else 0:]:
                log.warn(w)
            with log.step("Rendering debian/"):
                deb.render(container, srcdir, spec,
                           license_text=license_text(tree, project))
            finish(deb, container, srcdir, spec, warnings)

        deb.offline(build_depends, offline)


def _planned(requirement: str, ctx: Context) -> bool:
    """A dependency this run builds as well needs no "build it too" warning."""
    return canonicalize_name(Requirement(requirement).name) in ctx.planned


def missing_build_requires(project: Project, target: Target,
                           archive: ArchiveIndex) -> list[Requirement]:
    """The active build-system requirements the target's archive lacks or has too old
    (make_deb_spec leaves them out of Build-Depends)."""
    name = str(project.name)
    return [r for r in buildreqs.applicable(project.build_requires, target)
            if not naming.map_requirement(r, target, archive, project=name, build=True).satisfied]


def lacking_build_requires(projects: Sequence[Project], target: Target,
                           ctx: Context) -> dict[NormalizedName, list[Requirement]]:
    """What each project's build would fetch from the index as build tools on `target`,
    found as its build finds it: the Debian archive's packages, or (rpm) the builder's
    Python, asked once in one offline container."""
    image = images.image_for(target, "builder", ctx.settings.cache_dir)
    images.ensure(ctx.engine, image)
    if target.family == "deb":
        archive = images.load_archive(image)
        return {p.name: missing_build_requires(p, target, archive) for p in projects}
    from repack.rpm.build import RpmBuild

    work_root = ctx.settings.cache_dir / "work"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tools-", dir=work_root) as tmp:
        build = RpmBuild(engine=ctx.engine, image=image, work=Path(tmp), project=target.id)
        with ctx.engine.container(image.tag, mounts=build.mounts, network=False) as c:
            return {p.name: [Requirement(m) for m in build.missing_build_requires(
                        c, buildreqs.applicable(p.build_requires, target))]
                    for p in projects}


def resolve_build_tools(missing: Sequence[Requirement], target: Target, ctx: Context, *,
                        project: str) -> list[buildreqs.BuildTool]:
    """Build requirements the builder lacks as wheels from the index, resolved on the host
    before the build container's network is cut: hash-verified, accepted by the trust
    policy like the sdist (they run as its build backend), and under --lock exactly the
    locked files."""
    if not missing:
        return []
    with log.step(f"Fetching build tools {target.name} lacks: "
                  f"{', '.join(str(r) for r in missing)}"):
        return buildreqs.resolve_wheels(missing, target, index=ctx.index, session=ctx.session,
                                        cache_dir=ctx.settings.cache_dir,
                                        policy=ctx.settings.policy, required_by=project,
                                        locked=locked_tools(target, ctx, project))


def locked_tools(target: Target, ctx: Context,
                 project: str) -> Mapping[NormalizedName, buildreqs.ToolPin] | None:
    """The lock file's build-tool pins of `project` on `target` (none listed: none allowed);
    None without a lock file."""
    if ctx.tool_pins is None:
        return None
    return {t.name: t for t in ctx.tool_pins.get((target.id, canonicalize_name(project)), ())}


def tool_fetcher(target: Target, ctx: Context,
                 project: str) -> Callable[[Sequence[Requirement]], list[buildreqs.BuildTool]]:
    """resolve_build_tools for a builder that finds out itself what it lacks (rpm)."""
    return lambda missing: resolve_build_tools(missing, target, ctx, project=project)


def read_project(raw: bytes, tree: Path, sdist: Sdist, *, source: str,
                 entry_points: str | None = None) -> Project:
    return metadata.project_from_metadata(
        raw, tree, source=source, entry_points=entry_points,  # type: ignore[arg-type]
        expected_name=str(sdist.release.name), expected_version=sdist.release.version)


def make_spec(project: Project, sdist: Sdist, target: Target, archive: ArchiveIndex,
              settings: Settings, tools: Sequence[buildreqs.BuildTool] = ()) -> DebSpec:
    return naming.make_deb_spec(project, source_url=sdist.release.url, target=target,
                                archive=archive, maintainer=settings.maintainer,
                                date=changelog_date(sdist.source_date_epoch),
                                provenance=provenance.of(sdist, [t.file for t in tools]),
                                names=settings.package_names())


def changelog_date(epoch: int) -> str:
    """RFC 5322 date of the changelog entry: the release's own date (repack.sourcedate),
    never the build's, so that two builds give identical packages.  dpkg-buildpackage
    takes SOURCE_DATE_EPOCH from it, rpmbuild too (source_date_epoch_from_changelog)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def orig_name(spec: DebSpec, sdist: Sdist) -> str:
    """dpkg-source takes the verified sdist itself as the orig tarball, byte for byte."""
    return f"{spec.source_name}_{debian_upstream(spec)}.orig{orig_suffix(sdist)}"


def orig_suffix(sdist: Sdist) -> str:
    """The sdist's compression suffix, or refused: a .zip cannot be a Debian orig."""
    suffix = next((s for s in (".tar.gz", ".tar.xz", ".tar.bz2") if sdist.path.name.endswith(s)),
                  None)
    if suffix is None:
        raise MappingError(f"{sdist.path.name}: only .tar.gz/.tar.xz/.tar.bz2 sdists can be the "
                           "orig tarball of a Debian source package",
                           project=str(sdist.release.name),
                           hint="the release has no tarball sdist; pin a release that has one "
                                "(PEP 625 sdists are .tar.gz), or build it for an rpm target")
    return suffix


def debian_upstream(spec: DebSpec) -> str:
    """The upstream part of the Debian version ("2.3" for 2.3.0): dpkg-source looks for the
    orig tarball and the source directory under this name."""
    return spec.version.partition(":")[2 if ":" in spec.version else 0].rpartition("-")[0]


LICENSE_TEXT_LIMIT = 256 * 1024


def license_text(tree: Path, project: Project) -> str | None:
    """The license files the metadata names (which may come from upstream code: no symlink
    followed, no file other than a regular one)."""
    texts = []
    for rel in project.license_files:
        try:
            data = read_beneath(tree, rel, limit=LICENSE_TEXT_LIMIT,
                                truncate=True, project=str(project.name))
        except BuildError:
            data = None     # not a regular file: like a missing one
        if data is not None:
            texts.append(data.decode("utf-8", errors="replace"))
    return "\n\n".join(texts) or None


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
    overrides), the maintainer, the [packages] settings, repack's version and code, the
    provenance record the packages carry (what was verified; advisories known at build
    time; the build tools with their sha256 and what verified them), and `inputs`: what
    the build installed besides the image (apt packages and build-tool wheels, by
    SHA256)."""
    templates = [Path(str(render.builtin_templates()))]
    templates += [d for d in render.user_template_dirs() if d.is_dir()]
    record = provenance.of(sdist, [t.file for t in tools])
    key = cache_key(
        sdist=sdist.sha256, provenance=provenance.to_json(record),
        target=str(target), image=image.tag,
        archive=sha256_file(image.archive_file), maintainer=settings.maintainer,
        packages=sorted((k, v.name, sorted(v.allow_paths)) for k, v in settings.packages.items()),
        templates=[tree_digest(t) for t in templates], code=code_digest(),
        inputs=dict(inputs or {}),
    )
    return settings.cache_dir / "builds" / key


def store(artifacts: list[Artifact], warnings: list[str], log_file: Path, cached: Path) -> None:
    """Move a finished build into the cache in one rename: a cache entry is whole or absent."""

    staging = cached.with_name(f".partial-{cached.name}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for a in artifacts:
        shutil.copy2(a.path, staging / a.path.name)
    if log_file.is_file():
        shutil.copy2(log_file, staging / "build.log")
    records = [{"target": a.target, "format": a.format, "package": a.package,
                "version": a.version, "file": a.path.name, "sha256": a.sha256} for a in artifacts]
    (staging / "result.json").write_text(json.dumps({"artifacts": records, "warnings": warnings,
                                                     "built": time.time()}, indent=2))
    shutil.rmtree(cached, ignore_errors=True)
    os.replace(staging, cached)


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
                raise RepackError(f"cached artifact {src} was modified; delete {cached} and rebuild")
            shutil.copy2(src, staging / rec["file"])
            artifacts.append(Artifact(target=rec["target"], format=rec["format"],
                                      package=rec["package"], version=rec["version"],
                                      path=dest / rec["file"], sha256=rec["sha256"]))
        for a in artifacts:
            os.replace(staging / a.path.name, a.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return artifacts, list(data["warnings"])

