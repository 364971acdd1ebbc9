"""The Debian family (targets debian-12, debian-13): a source package and .debs, built with
dpkg-buildpackage in the target's builder image (repack.deb.build), from the debian/
directory repack renders (repack.deb.naming maps the metadata, repack.deb.render writes it).

One build, in order (`build`):
  prepare: unpack the sdist safely -> PKG-INFO -> map it (Build-Depends are static) ->
           refuse console scripts that would replace system files -> the build tools the
           archive lacks, as accepted wheels -> download and verify the build dependencies
           (network on, no upstream code);
  the build cache is asked here, once every input is known;
  offline: install them -> the PEP 517 metadata hook if PKG-INFO is dynamic -> map ->
           render debian/ -> dpkg-buildpackage -> check the artifacts -> into the cache.
When the archive's backend fails the metadata hook or pybuild's build step (`pep517_step`),
the whole build runs once more with the index's newer backend (repack.fallback).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from repack import (
    buildcache,
    buildreqs,
    clibs,
    fallback,
    log,
    metadata,
    owned,
    sourcedate,
    steps,
)
from repack.config import Settings
from repack.container import images
from repack.container.engine import Container
from repack.container.outputs import read_beneath
from repack.context import Context
from repack.deb import aptlists, naming, numpyabi
from repack.deb.build import (
    METADATA_SCRIPT,
    DebianBuild,
    has_compiled_code,
    relations_text,
)
from repack.deb.sign import sign_files
from repack.errors import BuildError, CommandFailed, ConfigError, MappingError
from repack.fallback import LEGACY_BACKEND, Fallback, Step, replaced, with_fallback
from repack.gpg import Signer
from repack.model import ArchiveIndex, Artifact, DebSpec, Project, Sdist, Target
from repack.trust import provenance
from repack.unpack import unpack_sdist

__all__ = ["archive_fallback", "attempt", "build", "lacking_build_requires",
           "missing_build_requires", "pep517_step", "provided", "read_metadata", "render",
           "sign", "warm"]

LICENSE_TEXT_LIMIT = 256 * 1024


# --------------------------------------------------------------------------- the protocol

def provided(target: Target, ctx: Context) -> Callable[[Requirement], bool]:
    """A requirement is provided when the archive's package index (read from the builder
    image) satisfies it, as `naming.map_requirement` maps it."""
    image = images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))
    archive = images.load_archive(image)

    def satisfied(req: Requirement) -> bool:
        try:
            return naming.map_requirement(req, target, archive,
                                          names=ctx.settings.package_names()).satisfied
        except MappingError:
            return False
    return satisfied


def read_metadata(sdist: Sdist, target: Target, ctx: Context) -> bytes:
    """METADATA as the PEP 517 hook writes it, in the offline builder with the build
    dependencies installed, as the build would run it (and as it, again with the index's
    backend when the archive's fails).  The trust policy first: the hook runs upstream
    code."""
    sdist = steps.accept(sdist, ctx)
    image = images.image_for(target, "builder", ctx.settings.cache_dir)

    def hook(raised: Sequence[Requirement]) -> bytes | Fallback:
        with (prepare(sdist, target, image, ctx, raised=raised) as p,
              p.deb.offline(p.build_depends) as c):
            try:
                return p.deb.pep517_metadata(c, p.srcdir).metadata
            except CommandFailed as exc:
                found = None if raised else archive_fallback(exc, p, c, target, ctx)
                if found is None:
                    raise
                return found

    return with_fallback(hook)


def lacking_build_requires(projects: Sequence[Project], target: Target, ctx: Context,
                           trees: Mapping[NormalizedName, Path],
                           ) -> dict[NormalizedName, list[Requirement]]:
    """What each project's build would fetch from the index as build tools: the build
    requirements the Debian archive lacks or has too old (the trees are not needed)."""
    image = images.ensure(ctx.engine, images.image_for(target, "builder", ctx.settings.cache_dir))
    archive = images.load_archive(image)
    return {p.name: missing_build_requires(p, target, archive) for p in projects}


def warm(target: Target, ctx: Context) -> AbstractContextManager[None]:
    """apt's lists refreshed while the run resolves and fetches (repack.deb.aptlists)."""
    cache = ctx.settings.cache_dir
    return aptlists.refreshing(ctx.engine, images.image_for(target, "builder", cache),
                               cache / "apt-lists" / target.id, cache / "work")


def build(sdist: Sdist, target: Target, ctx: Context) -> Path:
    """Build an accepted sdist into the build cache; returns its entry.  The cache is asked
    once the build's inputs are known (the build dependencies apt would install, with their
    SHA256, and the build-tool wheels, accepted by today's trust policy): a build is reused
    only if it was made from exactly those (never when ctx.fresh: `repack rebuild`).

    When the archive's backend failed a PEP 517 step (`pep517_step`) in a way a newer one
    may fix, the sdist is built once more, in a new container, with the backend raised
    above the archive's version (repack.fallback), as for rpm targets."""
    name = f"{sdist.release.name} {sdist.release.version}"
    with log.step(f"Building {name} for {target.id}"):
        return with_fallback(lambda raised: attempt(sdist, target, ctx, raised=raised))


def attempt(sdist: Sdist, target: Target, ctx: Context, *,
            raised: Sequence[Requirement] = ()) -> Path | Fallback:
    """One build in its own work directory and containers: the cache entry, or the
    Fallback when the archive's backend failed (only when nothing was `raised` yet)."""
    image = images.image_for(target, "builder", ctx.settings.cache_dir)
    with prepare(sdist, target, image, ctx, raised=raised) as p:
        entry = buildcache.cache_entry(sdist, target, image, ctx.settings, tools=p.tools,
                                       inputs=p.deb.inputs())
        if buildcache.reusable(entry, ctx):
            return entry
        with p.deb.offline(p.build_depends) as c:
            try:
                spec, warnings = map_and_render(p, c, sdist, target, ctx)
                spec, artifacts = dpkg_buildpackage(p, c, spec, sdist)
                spec, artifacts = take_over(p, c, spec, sdist, artifacts, ctx)
            except CommandFailed as exc:
                found = None if raised else archive_fallback(exc, p, c, target, ctx)
                if found is None:
                    raise
                return found
            owned.check_artifacts(artifacts, target, image, project=str(sdist.release.name),
                                  allowed=ctx.settings.allowed_paths(sdist.release.name),
                                  replaces=[r.name for r in spec.replaces],
                                  provides=[r.name for r in spec.provides],
                                  conflicts_with=spec.conflicts)
            buildcache.store(artifacts, warnings, p.deb.work / "build.log", entry)
    return entry


# pybuild's error line when the pyproject plugin's build step failed: the step that runs
# `python3 -m build --no-isolation --wheel`, pypa/build calling the backend's build_wheel
# through its hook runner.  (Its other steps run no backend hook: configure is a no-op,
# install copies the unpacked wheel; the distutils plugin, for a project without a
# build-backend, runs `setup.py build` and is not a PEP 517 step.)
_PYBUILD_BUILD_FAILED = re.compile(r"^E: pybuild pybuild:[0-9]+: build: plugin pyproject failed",
                                   re.MULTILINE)


def pep517_step(argv: Sequence[str], output: str) -> Step | None:
    """Which PEP 517 step of the backend a failed command was: "wheel" (the backend run
    through pypa/build's hook runner, `_in_process`, whose frames its traceback must show)
    for repack's metadata script and for dpkg-buildpackage failing in pybuild's build step
    of the pyproject plugin (`_PYBUILD_BUILD_FAILED`); None for anything else (apt, the script
    installing the tools, dh_auto_install, dpkg-source, repack's checks).  `argv` is the
    engine's: `podman exec <container> python3 -c SCRIPT ...`."""
    script = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else None
    if script == METADATA_SCRIPT:
        return "wheel"
    if "dpkg-buildpackage" in argv and _PYBUILD_BUILD_FAILED.search(output):
        return "wheel"
    return None


def archive_fallback(exc: CommandFailed, p: Prepared, c: Container, target: Target,
                     ctx: Context) -> Fallback | None:
    """The Fallback (repack.fallback) for a PEP 517 step of this build (`pep517_step`) that
    the archive's backend failed in a way a newer one may fix; None otherwise."""
    return fallback.decide(exc, pep517_step(exc.argv, exc.output_tail), c,
                           backend=p.first.build_backend or LEGACY_BACKEND,
                           requirements=buildreqs.build_requirements(p.first, target),
                           from_index={t.name for t in p.tools}, target=target, ctx=ctx,
                           project=p.deb.project)


def dpkg_buildpackage(p: Prepared, c: Container, spec: DebSpec,
                      sdist: Sdist) -> tuple[DebSpec, list[Artifact]]:
    """Build; a package rendered Architecture: any whose .deb holds no compiled code (an
    optional extension that did not build: PyYAML's without libyaml) is built again as
    Architecture: all, so that no amd64 package ships only Python.  Returns the spec built."""
    orig = orig_name(spec, sdist)
    artifacts = p.deb.dpkg_buildpackage(c, p.srcdir, spec, orig=orig, orig_sha256=sdist.sha256)
    if spec.architecture == "all" or any(has_compiled_code(a.path, project=p.deb.project)
                                         for a in artifacts if a.format == "deb"):
        return spec, artifacts
    log.warn(f"{p.deb.project}: the build compiled no extension (its sources are optional or "
             "a library is missing); building it again as Architecture: all")
    return rebuild(p, c, spec, dataclasses.replace(spec, architecture="all"), sdist)


def rebuild(p: Prepared, c: Container, built: DebSpec, spec: DebSpec,
            sdist: Sdist) -> tuple[DebSpec, list[Artifact]]:
    """Discard what *built* made, render *spec* and build again from the pristine tree."""
    orig = orig_name(spec, sdist)
    p.deb.discard(c, built, p.srcdir, orig=orig)
    p.deb.render(c, p.srcdir, spec, license_text=p.deb.license_text)
    return spec, p.deb.dpkg_buildpackage(c, p.srcdir, spec, orig=orig, orig_sha256=sdist.sha256)


def take_over(p: Prepared, c: Container, spec: DebSpec, sdist: Sdist,
              artifacts: list[Artifact], ctx: Context) -> tuple[DebSpec, list[Artifact]]:
    """Files the metadata did not announce that the build put where only the project's own
    other binaries in the archive have them (repack.owned.same_project): built again with
    Replaces and Breaks on those owners too, so that the check after the build lets them
    through.  Anything else is left to that check."""
    project = str(sdist.release.name)
    taken = owned.undeclared_takeovers(artifacts, p.deb.image, project=project,
                                       allowed=ctx.settings.allowed_paths(project),
                                       replaces={r.name for r in spec.replaces},
                                       provides={r.name for r in spec.provides},
                                       conflicts_with=spec.conflicts)
    if not taken:
        return spec, artifacts
    for line in owned.takeovers_line(spec.binary_name, taken, p.deb.image.target):
        log.info(line)
    log.info(f"{project}: building it again with Replaces and Breaks on them")
    replaces, breaks = owned.takeover_relations(taken)
    provides = owned.takeover_provides(taken, spec.version)
    return rebuild(p, c, spec, dataclasses.replace(
        spec, replaces=tuple(sorted({*spec.replaces, *replaces}, key=lambda r: r.name)),
        breaks=tuple(sorted({*spec.breaks, *breaks}, key=lambda r: r.name)),
        provides=tuple(sorted({*spec.provides, *provides}, key=lambda r: r.name))), sdist)


def render(sdist: Sdist, target: Target, ctx: Context, dest: Path) -> Path:
    """Write the generated debian/ directory to dest for review, without building."""
    image = images.image_for(target, "builder", ctx.settings.cache_dir)
    with prepare(sdist, target, image, ctx) as p:
        out = dest / p.srcdir / "debian"
        if out.exists():            # refused before the build container starts
            raise ConfigError(f"{out} already exists; remove it or choose another -o")
        with p.deb.offline(p.build_depends) as c:
            map_and_render(p, c, sdist, target, ctx)
            shutil.copytree(p.deb.rendered / p.srcdir / "debian", out)
        return out


def sign(paths: Sequence[Path], signer: Signer, target: Target) -> list[Path]:
    """Sign a build's .dsc and .changes the way debsign does (repack.deb.sign: the .dsc and
    .buildinfo clearsigned, the .changes updated and clearsigned), with the keys the
    target's clients verify; the other files are left as they are (.debs are covered by the
    signed repository metadata).  Returns the files (re)signed."""
    signed = [p for p in paths if p.suffix in (".dsc", ".changes")]
    return sign_files(signed, signer, target=target.id)


# --------------------------------------------------------------------------- the steps

@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A build directory with the sdist unpacked, mapped from its PKG-INFO, and the build
    dependencies downloaded and verified: what the offline container starts from."""

    deb: DebianBuild
    tree: Path                  # the host's own copy of the unpacked sdist
    srcdir: str                 # the source tree's name under /build
    pkg_info: bytes
    first: Project              # from PKG-INFO
    archive: ArchiveIndex
    missing: tuple[Requirement, ...]             # build requirements the archive lacks
    tools: tuple[buildreqs.BuildTool, ...]       # those as accepted wheels
    build_depends: str
    archive_note: str | None    # the archive already ships this upstream version
    dev_packages: tuple[str, ...] = ()           # C libraries' -dev packages (repack.clibs)


@contextmanager
def prepare(sdist: Sdist, target: Target, image: images.Image, ctx: Context, *,
            raised: Sequence[Requirement] = ()) -> Iterator[Prepared]:
    """Unpack, read metadata, map, and download the build dependencies inside a work dir
    (removed afterwards).  A bad sdist is refused before the builder image is even
    bootstrapped.  `raised`: requirements that replace the project's of the same name (a
    failed archive backend's fallback)."""
    project_name = str(sdist.release.name)
    orig_suffix(sdist)          # a .zip sdist is refused before anything is unpacked
    with steps.work_dir(ctx, "build-") as work:
        with log.step("Unpacking the sdist safely"):
            tree = unpack_sdist(sdist.path, work / "unpack", project=project_name)
        pkg_info = metadata.read_pkg_info(tree, project=project_name)
        first = steps.read_project(pkg_info, tree, sdist, source="PKG-INFO",
                                   settings=ctx.settings)
        needs = clibs.scan(tree)
        clibs.refuse_unbuildable(first, needs)      # Rust, CUDA: before any image or build
        images.ensure(ctx.engine, image)
        archive = images.load_archive(image)
        deb = DebianBuild(engine=ctx.engine, image=image, work=work, project=project_name,
                          apt_cache=ctx.settings.cache_dir / "apt-archives" / target.id,
                          apt_lists=ctx.settings.cache_dir / "apt-lists" / target.id,
                          config_settings=ctx.settings.overrides(
                              project_name).hook_config_settings(),
                          hook_env=dict(ctx.settings.overrides(project_name).env))
        dev = clibs.for_build(first, needs, image, engine=ctx.engine,
                              cache_dir=ctx.settings.cache_dir, notes=deb.notes)
        # Build-Depends come from pyproject's [build-system], which is static even when the
        # core metadata is not, so they are known before any upstream code runs.
        first_spec = make_spec(first, sdist, target, archive, ctx.settings, dev=dev.packages)
        note = naming.archive_note(project_name, str(first.version), first_spec, target, archive)
        if note is not None:
            log.warn(note)
        if (bundled := naming.bundle_note(project_name, first_spec, target, archive)) is not None:
            log.warn(bundled)
        if (app := naming.application_note(project_name, first_spec, target, archive)):
            log.info(app)
        taken = owned.check_scripts(first.console_scripts, first_spec.binary_name, target, image,
                                    project=project_name,
                                    allowed=ctx.settings.allowed_paths(project_name),
                                    excluded=ctx.settings.overrides(project_name).exclude,
                                    version=first_spec.version)
        for line in owned.takeovers_line(first_spec.binary_name, taken, target):
            log.info(line)
        srcdir = f"{first_spec.source_name}-{debian_upstream(first_spec)}"
        build_dir = work / "build"            # made by DebianBuild
        # Members dated 1970 would reach the .deb as they are: dpkg only clamps newer files.
        if ancient := sourcedate.raise_ancient(tree, sdist.source_date_epoch):
            log.debug(f"{project_name}: {ancient} files of the sdist dated before 1980 set "
                      "to SOURCE_DATE_EPOCH")
        # A copy: upstream code may rewrite the one in build_dir (symlinks included); the
        # host reads the metadata's tree and license files from its own, which is also
        # where a build that runs again starts from (DebianBuild.discard).
        shutil.copytree(tree, build_dir / srcdir, symlinks=True)
        shutil.copyfile(sdist.path, build_dir / orig_name(first_spec, sdist))
        deb.pristine = tree
        build_depends = relations_text(first_spec.build_depends)
        # Accepted by the trust policy here, before any upstream code runs.
        missing = missing_build_requires(first, target, archive, raised)
        tools = steps.resolve_build_tools(missing, target, ctx, project=project_name)
        deb.use_build_tools(tools)
        deb.download_build_deps(build_depends)
        if first.build_backend and (paths := buildreqs.backend_path(tree)):
            tools += asked_tools(deb, build_depends, srcdir, backend=(first.build_backend, paths),
                                 target=target, ctx=ctx, tools=tools)
        yield Prepared(deb=deb, tree=tree, srcdir=srcdir, pkg_info=pkg_info, first=first,
                       archive=archive, missing=tuple(missing), tools=tuple(tools),
                       build_depends=build_depends, archive_note=note,
                       dev_packages=dev.packages)


def asked_tools(deb: DebianBuild, build_depends: str, srcdir: str, *,
                backend: tuple[str, list[str]], target: Target, ctx: Context,
                tools: Sequence[buildreqs.BuildTool]) -> list[buildreqs.BuildTool]:
    """What an in-tree backend's get_requires_for_build_wheel asks for beyond what is
    installed (yarl, propcache and frozenlist ask for Cython there), asked in an offline
    container with the build dependencies and tools in, as verified wheels; staged beside
    `tools`.  `backend`: its name and backend-path.  Only in-tree backends are asked, before
    the build cache is: a container more for them, none for the others."""
    with deb.offline(build_depends) as c:
        asked = buildreqs.applicable(buildreqs.hook_requires(
            c, f"/build/{srcdir}", *backend, project=deb.project,
            config_settings=deb.config_settings, env=deb.hook_env), target)
        missing = buildreqs.unsatisfied(c, asked, project=deb.project)
    if not missing:
        return []
    have = {t.name for t in tools}
    more = [t for t in steps.resolve_build_tools([Requirement(m) for m in missing], target, ctx,
                                                 project=deb.project) if t.name not in have]
    had_tools = bool(deb.tools)
    deb.use_build_tools([*tools, *more])
    if not had_tools:
        deb.download_build_deps(build_depends)    # python3-installer joins the apt packages
    return more


def map_and_render(p: Prepared, c: Container, sdist: Sdist, target: Target,
                  ctx: Context) -> tuple[DebSpec, list[str]]:
    """In the offline container `c`: the final metadata (the PEP 517 hook when PKG-INFO is
    dynamic), mapped and rendered into the source tree's debian/; returns the spec and the
    warnings about dependencies the target lacks."""
    project_name = str(sdist.release.name)
    project = p.first
    if not metadata.is_static(p.pkg_info):
        meta = p.deb.pep517_metadata(c, p.srcdir)
        project = steps.read_project(meta.metadata, p.tree, sdist,
                                     source="PEP 517", entry_points=meta.entry_points,
                                     settings=ctx.settings)
    spec = make_spec(project, sdist, target, p.archive, ctx.settings, p.tools,
                     dev=p.dev_packages)
    # the final metadata's console scripts: the files taken over get Replaces and Breaks,
    # and Provides when other sources need their owner
    taken = owned.check_scripts(project.console_scripts, spec.binary_name, target, p.deb.image,
                                project=project_name,
                                allowed=ctx.settings.allowed_paths(project_name),
                                excluded=ctx.settings.overrides(project_name).exclude,
                                version=spec.version)
    if project is not p.first:       # read again: what the first check did not see
        for line in owned.takeovers_line(spec.binary_name, taken, target):
            log.info(line)
    replaces, breaks = owned.takeover_relations(taken)
    spec = dataclasses.replace(spec, replaces=replaces, breaks=breaks,
                               provides=(*spec.provides,
                                         *owned.takeover_provides(taken, spec.version)))
    from_wheels = {str(r) for r in p.missing}
    lacking = [f"{project_name}: {req} is not satisfied by {target.name}; "
               "build it with repack too" for req in spec.unsatisfied
               if req not in from_wheels and not planned(req, ctx)]
    lacking += [f"{project_name}: {why}" for why in spec.left_out]
    for w in lacking:
        log.warn(w)
    warnings = [p.archive_note, *lacking] if p.archive_note is not None else lacking
    with log.step("Rendering debian/"):
        p.deb.render(c, p.srcdir, spec, license_text=license_text(p.tree, project))
    return spec, warnings


def planned(requirement: str, ctx: Context) -> bool:
    """A dependency this run builds as well needs no "build it too" warning."""
    return canonicalize_name(Requirement(requirement).name) in ctx.planned


def missing_build_requires(project: Project, target: Target, archive: ArchiveIndex,
                           raised: Sequence[Requirement] = ()) -> list[Requirement]:
    """The active build-system requirements the target's archive lacks or has too old,
    backends below their known-good minimum included (buildreqs.BACKEND_FLOORS; make_deb_spec
    leaves the unsatisfied ones out of Build-Depends, a floored one stays there harmlessly:
    the wheel installs to /usr/local, which comes first on sys.path), `raised` in place of
    the project's own (a fallback above the archive's backend, kept in Build-Depends the
    same way), and those the archive has compiled against one of them
    (naming.compiled_on_index: left out of Build-Depends)."""
    name = str(project.name)
    mapped = [naming.map_requirement(r, target, archive, project=name, build=True)
              for r in replaced(buildreqs.build_requirements(project, target), raised)]
    coupled = naming.compiled_on_index(mapped, archive)
    return [m.requirement for m in mapped if not m.satisfied or m.requirement in coupled]


def make_spec(project: Project, sdist: Sdist, target: Target, archive: ArchiveIndex,
              settings: Settings, tools: Sequence[buildreqs.BuildTool] = (), *,
              dev: Sequence[str] = ()) -> DebSpec:
    """The spec, with the C library -dev packages the sdist needs (`dev`) and the project's
    `[packages.<name>]` overrides: their relations after the mapped ones (so apt downloads
    the extra Build-Depends with the others), and the patches, excludes and environment for
    the renderer.  Compiled against a numpy among `tools`, it depends on that numpy's ABI
    (repack.deb.numpyabi)."""
    names = settings.package_names()
    spec = naming.make_deb_spec(project, source_url=sdist.release.url, target=target,
                                archive=archive, maintainer=settings.maintainer,
                                date=steps.changelog_date(sdist.source_date_epoch),
                                provenance=provenance.of(sdist, [t.file for t in tools]),
                                names=names, dev_packages=dev)
    depends = spec.depends
    numpy = next((t for t in tools if t.name == "numpy"), None)
    if numpy is not None and project.has_native_code:
        abi = naming.map_requirement(numpyabi.runtime_requirement(numpy), target, archive,
                                     project=str(project.name), names=names)
        depends += tuple(g for g in abi.relations if g not in depends)
    extra = settings.overrides(str(sdist.release.name))
    return dataclasses.replace(spec, depends=depends + extra.depends,
                               build_depends=spec.build_depends + extra.build_depends,
                               recommends=spec.recommends + extra.recommends,
                               conflicts=extra.conflicts, overrides=extra)


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
    """The upstream part of the Debian version ("2.3.0", "1~rc1" for 1.0rc1): dpkg-source
    looks for the orig tarball and the source directory under this name."""
    return spec.version.partition(":")[2 if ":" in spec.version else 0].rpartition("-")[0]


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
