"""The RPM family (targets el9, fedora-42): an .rpm and its .src.rpm, built with rpmbuild in
the target's builder image (repack.rpm.build), from the spec repack renders
(repack.rpm.naming maps the metadata, repack.rpm.render writes it).

One build, in order (`build`), in one container with the network off from its start (a
native build's C library -dev packages, from the stand-in builder's own Debian archive, are
downloaded and checked before it, in a container without upstream code: `StandInDev`):
  unpack the sdist safely -> PKG-INFO -> install the -dev packages -> which build
  requirements the builder's Python lacks -> those as accepted wheels (resolved on the host);
  the build cache is asked here, once every input is known;
  install them -> the PEP 517 metadata hook if PKG-INFO is dynamic -> map -> render the
  spec -> rpmbuild (once more with the wheel's architecture if it has the last word) ->
  check the artifacts -> into the cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName

from repack import buildcache, buildreqs, clibs, fallback, log, metadata, owned, steps
from repack.buildreqs import backend_path
from repack.container import images
from repack.container.engine import Container, Mount
from repack.context import Context
from repack.deb.build import DebianBuild
from repack.errors import CommandFailed, ConfigError
from repack.fallback import Fallback, Step, replaced, with_fallback
from repack.gpg import Signer
from repack.keys import for_target
from repack.model import Project, RpmSpec, Sdist, Target
from repack.rpm import naming
from repack.rpm.build import (
    CONFIG_SETTINGS_FRONTEND,
    DEFAULT_BACKEND,
    METADATA_SCRIPT,
    TOML10_FRONTEND,
    RpmBuild,
)
from repack.rpm.sign import sign_rpms
from repack.trust import provenance
from repack.unpack import unpack_sdist

__all__ = ["archive_fallback", "attempt", "build", "lacking_build_requires", "pep517_step",
           "provided", "read_metadata", "render", "sign", "warm"]


# --------------------------------------------------------------------------- the protocol

def provided(target: Target, ctx: Context) -> Callable[[Requirement], bool]:
    """No RPM distribution repository can be reached, so nothing is assumed present."""
    return lambda req: False


def read_metadata(sdist: Sdist, target: Target, ctx: Context) -> bytes:
    """METADATA as the PEP 517 hook writes it, in the target's builder (the target's
    Python), offline, with the C libraries and the build tools it lacks installed (-dev
    packages, verified wheels), as the build runs it (and as it, again with the index's
    backend when the archive's fails).  The trust policy first: the hook runs upstream
    code."""
    sdist = steps.accept(sdist, ctx)
    image = images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))

    def hook(raised: Sequence[Requirement]) -> bytes | Fallback:
        with steps.work_dir(ctx, "deps-") as work:
            p = unpack(sdist, image, ctx, work)
            # the C libraries too: a backend without a metadata hook builds the wheel
            # (meson-python: matplotlib's setup finds FreeType through pkg-config)
            dev = StandInDev.prepare(p, image, target, ctx, work)
            with ctx.engine.container(image.tag, mounts=[*p.build.mounts, *dev.mounts],
                                      network=False) as c:
                dev.install(c)
                try:
                    install_tools(p, c, target, ctx, raised=raised)
                    raw, _ = p.build.pep517_metadata(
                        c, p.srcdir, p.first.build_backend or DEFAULT_BACKEND, p.backend_path)
                except CommandFailed as exc:
                    fallback = None if raised else archive_fallback(exc, p, c, target, ctx)
                    if fallback is None:
                        raise
                    return fallback
        return raw

    return with_fallback(hook)


def lacking_build_requires(projects: Sequence[Project], target: Target, ctx: Context,
                           trees: Mapping[NormalizedName, Path],
                           ) -> dict[NormalizedName, list[Requirement]]:
    """What each project's build would fetch from the index as build tools: what the
    builder's Python lacks, asked once in one offline container, with the pip its build
    needs when the builder's cannot read the project's pyproject.toml (only that file of
    its tree is copied in, as RpmBuild.pip_reads_pyproject reads it in a build)."""
    image = images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))
    with steps.work_dir(ctx, "tools-") as work:
        rpm = RpmBuild(engine=ctx.engine, image=image, work=work, project=target.id)
        for p in projects:
            if (trees[p.name] / "pyproject.toml").is_file():
                (rpm.src_dir / p.name).mkdir(parents=True)
                shutil.copyfile(trees[p.name] / "pyproject.toml",
                                rpm.src_dir / p.name / "pyproject.toml")
        with ctx.engine.container(image.tag, mounts=rpm.mounts, network=False) as c:
            return {p.name: [Requirement(m) for m in rpm.missing_build_requires(
                        c, frontend_requirements(
                            p, target, config_settings=bool(
                                ctx.settings.overrides(str(p.name)).config_settings),
                            toml10=p.toml10 or not rpm.pip_reads_pyproject(c, p.name)))]
                    for p in projects}


def warm(target: Target, ctx: Context) -> contextlib.AbstractContextManager[None]:
    """Nothing: an rpm build installs what its builder image has and verified wheels; only
    a C project's stand-in -dev packages come from apt, whose lists that build refreshes."""
    return contextlib.nullcontext()


def build(sdist: Sdist, target: Target, ctx: Context) -> Path:
    """Build an accepted sdist into the build cache; returns its entry.  The cache is asked
    once the build-tool wheels are known: a build is reused only if it was made with exactly
    those (never when ctx.fresh: `repack rebuild`).

    When the archive's backend failed a PEP 517 step in a way a newer one may fix
    (`buildreqs.backend_failure`), the sdist is built once more, in a new container, with
    the backend raised above the archive's version: the newest verified wheel from the index
    that satisfies the project's requirement, through the path the backend floors take."""
    name = f"{sdist.release.name} {sdist.release.version}"
    with log.step(f"Building {name} for {target.id} (builder {target.builder})"):
        return with_fallback(lambda raised: attempt(sdist, target, ctx, raised=raised))


def attempt(sdist: Sdist, target: Target, ctx: Context, *,
            raised: Sequence[Requirement] = ()) -> Path | Fallback:
    """One build in its own work directory and container: the cache entry, or the
    Fallback when the archive's backend failed (only when nothing was `raised` yet)."""
    image = images.image_for(target, "builder", ctx.settings.cache_dir)
    chosen = ctx.settings.package_names().get(sdist.release.name)
    naming.rpm_name(sdist.release.name, target, chosen=chosen)  # refused before building
    with steps.work_dir(ctx, "build-") as work:
        p = unpack(sdist, image, ctx, work)     # refuses Rust and CUDA before the image
        images.ensure(ctx.engine, image)
        dev = StandInDev.prepare(p, image, target, ctx, work)
        with ctx.engine.container(image.tag, mounts=[*p.build.mounts, *dev.mounts],
                                  network=False) as c:
            dev.install(c)
            try:
                tools = install_tools(p, c, target, ctx, raised=raised)
                entry = buildcache.cache_entry(
                    sdist, target, image, ctx.settings, tools=tools,
                    inputs={"tools": sorted(f"{t.file.path.name} {t.file.sha256}"
                                            for t in tools),
                            **({"apt": dev.inputs()} if dev.packages else {})})
                if buildcache.reusable(entry, ctx):
                    return entry
                spec = rpmbuild(p, c, sdist, target, ctx, tools=tools, chosen=chosen,
                                devel=dev.build_requires)
            except CommandFailed as exc:
                fallback = None if raised else archive_fallback(exc, p, c, target, ctx)
                if fallback is None:
                    raise
                return fallback
        artifacts = p.build.collect(spec)
        owned.check_artifacts(artifacts, target, image, project=str(sdist.release.name),
                              engine=ctx.engine,
                              allowed=ctx.settings.allowed_paths(sdist.release.name))
        buildcache.store(artifacts, dev.warnings, p.build.log_file, entry)
    return entry


def pep517_step(argv: Sequence[str], output: str) -> Step | None:
    """Which PEP 517 step a failed command was: "hook" for repack's scripts that call
    get_requires_for_build_wheel or the metadata hook, "wheel" for rpmbuild failing in
    %build (only %pyproject_wheel, `pip wheel`, is there); None for anything else (pip
    installing the tools, %install, repack's checks).  `argv` is the engine's: `podman exec
    <container> python3 -c SCRIPT ...`."""
    script = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else None
    if script in (METADATA_SCRIPT, buildreqs.REQUIRES_SCRIPT):
        return "hook"
    return "wheel" if "rpmbuild" in argv and "(%build)" in output else None


def archive_fallback(exc: CommandFailed, p: Unpacked, c: Container, target: Target,
                     ctx: Context) -> Fallback | None:
    """The Fallback (repack.fallback) for a PEP 517 step of this build (`pep517_step`) that
    the archive's backend failed in a way a newer one may fix; None otherwise."""
    return fallback.decide(exc, pep517_step(exc.argv, exc.output_tail), c,
                           backend=p.first.build_backend or DEFAULT_BACKEND,
                           requirements=frontend_requirements(
                               p.first, target,
                               config_settings=p.build.config_settings is not None),
                           from_index={t.name for t in p.build.tools}, target=target, ctx=ctx,
                           project=p.build.project)


def render(sdist: Sdist, target: Target, ctx: Context, dest: Path) -> Path:
    raise ConfigError(f"target {target.id}: render writes debian/ only; use build for rpm")


def sign(paths: Sequence[Path], signer: Signer, target: Target) -> list[Path]:
    """Sign a build's .rpm and .src.rpm with rpmsign, with the keys the target's clients
    verify (repack.rpm.sign); the other files are left as they are.  Returns the files
    signed."""
    rpms = [p for p in paths if p.suffix == ".rpm"]
    sign_rpms(rpms, for_target(signer, target))
    return rpms


# --------------------------------------------------------------------------- the steps

@dataclass(frozen=True, slots=True, kw_only=True)
class Unpacked:
    """A build directory with the sdist unpacked (the host's copy and the builder's) and
    its PKG-INFO read."""

    build: RpmBuild
    tree: Path                   # the host's own copy
    srcdir: str                  # the builder's copy, under /build/src
    pkg_info: bytes
    first: Project               # from PKG-INFO
    backend_path: list[str]
    needs: clibs.NativeNeeds    # the C libraries its sources name


def unpack(sdist: Sdist, image: images.Image, ctx: Context, work: Path) -> Unpacked:
    name = str(sdist.release.name)
    with log.step("Unpacking the sdist safely"):
        tree = unpack_sdist(sdist.path, work / "unpack", project=name)
    pkg_info = metadata.read_pkg_info(tree, project=name)
    first = steps.read_project(pkg_info, tree, sdist, source="PKG-INFO",
                               settings=ctx.settings)
    needs = clibs.scan(tree)
    clibs.refuse_unbuildable(first, needs)      # Rust, CUDA: exit 7 before a build
    rpm = RpmBuild(engine=ctx.engine, image=image, work=work, project=name,
                   config_settings=ctx.settings.overrides(name).hook_config_settings(),
                   hook_env=dict(ctx.settings.overrides(name).env))
    rpm.src_dir.mkdir()
    # A copy: upstream code may rewrite the one in the builder; the host reads its own.
    shutil.copytree(tree, rpm.src_dir / tree.name, symlinks=True)
    return Unpacked(build=rpm, tree=tree, srcdir=tree.name, pkg_info=pkg_info, first=first,
                    backend_path=backend_path(tree), needs=needs)


@dataclass(frozen=True, slots=True, kw_only=True)
class StandInDev:
    """The C libraries a native build links, for both audiences of an rpm build: the Debian
    -dev packages of the stand-in builder's own archive (repack.clibs, from its Contents
    index), downloaded with the network on (no upstream code; each .deb checked against the
    signed lists, as the Debian family does) and installed in the offline build; and the
    spec's BuildRequires in the rpm world's names (repack.rpm.naming.devel_requires)."""

    packages: tuple[str, ...] = ()
    apt: DebianBuild | None = None
    build_requires: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def prepare(cls, p: Unpacked, image: images.Image, target: Target, ctx: Context,
                work: Path) -> StandInDev:
        chosen = clibs.for_build(p.first, p.needs, image, engine=ctx.engine,
                                 cache_dir=ctx.settings.cache_dir, notes=p.build.notes)
        name = p.build.project
        build_requires, unknown = naming.devel_requires(chosen, target)
        warnings = tuple(f"{name}: no {target.name} package is known for {d} (not in the "
                         f"target's devel_packages table): the .src.rpm lacks its BuildRequires"
                         for d in unknown)
        for w in warnings:
            log.warn(w)
        if not chosen.packages:
            return cls(warnings=warnings)
        apt = DebianBuild(engine=ctx.engine, image=image, work=work / "stand-in", project=name,
                          apt_cache=ctx.settings.cache_dir / "apt-archives" / target.id,
                          apt_lists=ctx.settings.cache_dir / "apt-lists" / target.id)
        apt.download_build_deps(", ".join(chosen.packages))
        return cls(packages=chosen.packages, apt=apt, build_requires=build_requires,
                   warnings=warnings)

    @property
    def mounts(self) -> list[Mount]:
        return self.apt.apt_mounts if self.apt is not None else []

    def install(self, c: Container) -> None:
        if self.apt is None:
            return
        self.apt.install(c, ", ".join(self.packages),
                         title=f"Installing {', '.join(self.packages)} in the stand-in builder "
                               "(network off)")

    def inputs(self) -> list[str]:
        """The .debs installed: part of the build cache key."""
        return self.apt.inputs()["apt"] if self.apt is not None else []


def build_tools(p: Unpacked, c: Container, target: Target, ctx: Context,
                raised: Sequence[Requirement] = ()) -> tuple[list[str], list[buildreqs.BuildTool]]:
    """What the builder lacks of the build requirements (PEP 508 texts), and those as
    verified wheels accepted by the trust policy (resolved on the host)."""
    toml10 = p.first.toml10 or not p.build.pip_reads_pyproject(c, p.srcdir)
    missing = p.build.missing_build_requires(c, frontend_requirements(
        p.first, target, raised, config_settings=p.build.config_settings is not None,
        toml10=toml10))
    tools = steps.resolve_build_tools([Requirement(m) for m in missing], target, ctx,
                                      project=p.build.project)
    return missing, tools


def install_tools(p: Unpacked, c: Container, target: Target, ctx: Context, *,
                  raised: Sequence[Requirement] = ()) -> list[buildreqs.BuildTool]:
    """Install what the builder lacks, as a PEP 517 frontend would: the static build
    requirements first, then what the backend's get_requires_for_build_wheel asks for with
    those installed (Cython for yarl), each as verified wheels resolved on the host; returns
    them all (the build cache key and the provenance name each).  `raised`: requirements
    that replace the project's of the same name (a failed archive backend's fallback)."""
    _, tools = build_tools(p, c, target, ctx, raised)
    p.build.install_build_tools(c, tools)
    asked = buildreqs.applicable(p.build.dynamic_requires(
        c, p.srcdir, p.first.build_backend or DEFAULT_BACKEND, p.backend_path), target)
    missing = p.build.missing_build_requires(c, asked)
    if not missing:
        return tools
    have = {t.name for t in tools}
    more = [t for t in steps.resolve_build_tools([Requirement(m) for m in missing], target, ctx,
                                                 project=p.build.project)
            if t.name not in have]
    p.build.install_build_tools(c, more)
    return [*tools, *more]


def frontend_requirements(project: Project, target: Target,
                          raised: Sequence[Requirement] = (), *,
                          config_settings: bool = False,
                          toml10: bool | None = None) -> list[Requirement]:
    """What the builder must satisfy to build `project`: its build requirements (backends
    at their known-good minimums, or `raised` in their place) and what %pyproject_wheel's
    pip needs itself: to read its pyproject.toml (`toml10`: the builder's pip cannot, as
    RpmBuild.pip_reads_pyproject found; by default, when it holds a mixed array), and to pass
    the project's config settings (`config_settings`: it has some) as the hooks get them."""
    toml10 = project.toml10 if toml10 is None else toml10
    frontend = [*(TOML10_FRONTEND if toml10 else ()),
                *(CONFIG_SETTINGS_FRONTEND if config_settings else ())]
    return [*replaced(buildreqs.build_requirements(project, target), raised), *frontend]


def rpmbuild(p: Unpacked, c: Container, sdist: Sdist, target: Target, ctx: Context, *,
             tools: Sequence[buildreqs.BuildTool], chosen: str | None,
             devel: Sequence[str] = ()) -> RpmSpec:
    """The final metadata (the PEP 517 hook when PKG-INFO is dynamic), mapped, rendered and
    built; built again with the other architecture when the wheel turns out to be of it.
    Returns the spec built."""
    name = str(sdist.release.name)
    project = p.first
    if not metadata.is_static(p.pkg_info):
        raw, entry_points = p.build.pep517_metadata(
            c, p.srcdir, project.build_backend or DEFAULT_BACKEND, p.backend_path)
        project = steps.read_project(raw, p.tree, sdist, source="PEP 517",
                                     entry_points=entry_points, settings=ctx.settings)
    spec = make_spec(project, sdist, target, ctx, tools, chosen, devel=devel,
                     source_dir=p.srcdir)
    spec_file = p.build.render(c, spec, sdist)
    try:
        p.build.rpmbuild(c, spec_file, target)
    except CommandFailed:
        kind = p.build.wheel_kind()
        if kind is None or (kind == "platform") == project.has_native_code:
            raise
        log.info(f"The built wheel is {'platform-specific' if kind == 'platform' else 'pure'}"
                 f"; building {name} again as "
                 f"{'arch-specific' if kind == 'platform' else 'noarch'}")
        p.build.clean(c)
        project = dataclasses.replace(project, has_native_code=kind == "platform")
        spec = make_spec(project, sdist, target, ctx, tools, chosen, devel=devel,
                         source_dir=p.srcdir)
        spec_file = p.build.render(c, spec, sdist)
        p.build.rpmbuild(c, spec_file, target)
    return spec


def make_spec(project: Project, sdist: Sdist, target: Target, ctx: Context,
              tools: Sequence[buildreqs.BuildTool] = (), chosen: str | None = None, *,
              devel: Sequence[str] = (), source_dir: str | None = None) -> RpmSpec:
    """The spec, with the C libraries' BuildRequires (`devel`, rpm names) and the project's
    `[packages.<name>]` overrides: their Requires and BuildRequires after the mapped ones,
    and the patches, excludes and environment for the renderer.  (The builder is a Debian
    system: BuildRequires are recorded in the .src.rpm, not installed.)  `source_dir`: the
    directory the sdist unpacked to, which %autosetup -n enters; its file name need not say
    it (psycopg2_binary-2.9.12.tar.gz holds psycopg2-binary-2.9.12/)."""
    spec = naming.make_rpm_spec(project, sdist_filename=sdist.path.name, source_dir=source_dir,
                                source_url=sdist.release.url, target=target,
                                packager=ctx.settings.maintainer,
                                date=steps.changelog_date(sdist.source_date_epoch),
                                provenance=provenance.of(sdist, [t.file for t in tools]),
                                chosen_name=chosen)
    extra = ctx.settings.overrides(str(sdist.release.name))
    return dataclasses.replace(spec, requires=spec.requires + extra.requires,
                               build_requires=(*spec.build_requires, *devel,
                                               *extra.build_requires),
                               recommends=extra.rpm_recommends,
                               conflicts=extra.rpm_conflicts, overrides=extra)
