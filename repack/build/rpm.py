"""Build an RPM and its source RPM inside a container of the target's builder image.

One container, network off (`--network none`) from its start: build tools the builder
lacks are resolved and fetched on the host as hash-verified wheels, accepted by the trust
policy (repack.buildreqs, through `fetch_tools`), and installed from a read-only mount with
`pip --no-index`; the PEP 517 metadata hook runs when PKG-INFO is not static; then
`rpmbuild -ba` with the verified sdist as Source0 and repack's macro file
(templates/rpm/macros.repack-python) standing in for Fedora's Python macros, with the
target's paths.  Upstream code never runs with the network on, and never
runs on the host.  `--nodeps`: the builder is a Debian system whose rpm database is empty;
the BuildRequires are met by its Debian toolchain and the verified wheels instead.

The architecture (BuildArch: noarch, or the builder's x86_64 for native code) is decided
before building, from the sources (`Project.has_native_code`).  The built wheel has the last
word: when it is platform-specific (Root-Is-Purelib: false) in a noarch package, or pure in
an arch-specific one, %pyproject_install refuses it and says which it is, and the package is
built once more with the architecture of the wheel.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from repack import buildreqs, log, metadata, naming_rpm, provenance, render, render_rpm
from repack.build.engine import Container, Engine, Mount
from repack.build.images import Image
from repack.cache import sha256_file
from repack.errors import BuildError, CommandFailed, MetadataError
from repack.model import Artifact, Project, RpmSpec, Sdist, Target
from repack.unpack import unpack_sdist

__all__ = ["MACRO_FILE", "RpmResult", "build_rpm", "collect_artifacts", "helper_files"]

MACRO_FILE = "macros.repack-python"
HELPERS = (MACRO_FILE, "pyproject_install.py", "pyproject_save_files.py", "brp-strip-shared.sh")
PIP_ENV = {"PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_ROOT_USER_ACTION": "ignore",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}

# Runs in the builder, offline: which build requirements its Python does not satisfy.
CHECK_SCRIPT = """\
import json, sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
missing = []
for text in sys.argv[1:]:
    req = Requirement(text)
    try:
        have = version(req.name)
    except PackageNotFoundError:
        missing.append(text)
        continue
    if not req.specifier.contains(have, prereleases=True):
        missing.append(text)
print(json.dumps(missing))
"""

# Runs in the builder, offline, in a throwaway copy of the tree: the backend's own
# prepare_metadata_for_build_wheel hook (the builder need not have `build`).
METADATA_SCRIPT = """\
import importlib, json, os, shutil, sys, tempfile, zipfile
src, copy, out, backend, paths = sys.argv[1:6]
shutil.copytree(src, copy, symlinks=True)
os.chdir(copy)
sys.path[:0] = [os.path.abspath(p) for p in json.loads(paths)]
module, _, attrs = backend.partition(":")
hooks = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    hooks = getattr(hooks, attr)
os.makedirs(out, exist_ok=True)
prepare = getattr(hooks, "prepare_metadata_for_build_wheel", None)
if prepare is not None:
    print(prepare(out))
else:
    tmp = tempfile.mkdtemp()
    with zipfile.ZipFile(os.path.join(tmp, hooks.build_wheel(tmp))) as whl:
        names = [n for n in whl.namelist() if n.split("/")[0].endswith(".dist-info")]
        whl.extractall(out, names)
"""

DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
WHEEL_KIND = "wheel-kind"   # under /build: "pure" or "platform", from %pyproject_install


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmResult:
    artifacts: tuple[Artifact, ...]
    spec: RpmSpec
    log_file: Path
    build_tools: tuple[str, ...]     # "name==version" of the wheels installed for the build
    tools: tuple[buildreqs.BuildTool, ...] = ()   # those wheels, verified and accepted
    build_requires: tuple[str, ...] = ()          # what the builder lacked (PEP 508)


def helper_files() -> dict[str, bytes]:
    """The macro file and its helper scripts, as shipped in repack's templates."""
    root = render.builtin_templates().joinpath("rpm")
    return {name: root.joinpath(name).read_bytes() for name in HELPERS}


def _backend_path(tree: Path) -> list[str]:
    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    paths = data.get("build-system", {}).get("backend-path", [])
    return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


class RpmBuild:
    """The work directory `work`, mounted at /build in the builder container:
    src/ (the unpacked tree), rpmbuild/ (the topdir), helpers/, and wheels/ (read-only)."""

    def __init__(self, *, engine: Engine, image: Image, work: Path, project: str) -> None:
        self.engine = engine
        self.image = image
        self.work = work
        self.project = project
        self.topdir = work / "rpmbuild"
        self.wheels = work / "wheels"
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS"):
            (self.topdir / d).mkdir(parents=True, exist_ok=True)
        self.wheels.mkdir(exist_ok=True)
        helpers = work / "helpers"
        helpers.mkdir(exist_ok=True)
        for name, data in helper_files().items():
            (helpers / name).write_bytes(data)

    @property
    def mounts(self) -> list[Mount]:
        return [Mount(source=self.work, target="/build"),
                Mount(source=self.wheels, target="/wheels", readonly=True)]

    def missing_build_requires(self, c: Container, reqs: Sequence[Requirement]) -> list[str]:
        if not reqs:
            return []
        out = c.exec(["python3", "-c", CHECK_SCRIPT, *(str(r) for r in reqs)],
                     project=self.project)
        missing: list[str] = json.loads(out.strip().splitlines()[-1])
        return missing

    def install_build_tools(self, c: Container, tools: Sequence[buildreqs.BuildTool]) -> None:
        if not tools:
            return
        with log.step(f"Installing build tools {', '.join(t.pin for t in tools)} "
                      "(verified wheels, network off)"):
            for t in tools:
                shutil.copyfile(t.file.path, self.wheels / t.file.path.name)
            c.exec(buildreqs.pip_install_argv(tools, "/wheels"), env=PIP_ENV,
                   project=self.project)

    def pep517_metadata(self, c: Container, srcdir: str, backend: str,
                        backend_path: list[str]) -> tuple[bytes, str | None]:
        with log.step("Reading metadata through the PEP 517 hook (in the container, offline)"):
            c.exec(["python3", "-c", METADATA_SCRIPT, f"/build/src/{srcdir}", "/tmp/metadata-src",
                    "/build/metadata", backend, json.dumps(backend_path)], project=self.project)
            found = sorted((self.work / "metadata").glob("*.dist-info/METADATA"))
            if len(found) != 1:
                raise MetadataError("the PEP 517 hook produced no single .dist-info/METADATA",
                                    project=self.project)
            entry_points = found[0].parent / "entry_points.txt"
            return (found[0].read_bytes(),
                    entry_points.read_text() if entry_points.is_file() else None)

    def rpmbuild(self, c: Container, spec_file: Path, target: Target) -> str:
        with log.step(f"rpmbuild -ba {spec_file.name} (network off)"):
            c.exec(["install", "-D", "-m", "644", f"/build/helpers/{MACRO_FILE}", f"/etc/rpm/{MACRO_FILE}"],
                   project=self.project)
            output = c.exec([
                "rpmbuild", "-ba", "--nodeps",
                "--define", "_topdir /build/rpmbuild",
                "--define", f"python3_version {target.python_version}",
                "--define", f"_buildhost {target.builder}",
                # reproducible: build time, file times and .pyc (hash-based under
                # SOURCE_DATE_EPOCH) from the %changelog date, which is the release's
                "--define", "source_date_epoch_from_changelog 1",
                "--define", "use_source_date_epoch_as_buildtime 1",
                "--define", "clamp_mtime_to_source_date_epoch 1",
                "--define", "_repack_helpers /build/helpers",
                "--define", f"_repack_wheel_kind /build/{WHEEL_KIND}",
                f"/build/rpmbuild/SPECS/{spec_file.name}",
            ], project=self.project)
            (self.work / "build.log").write_text(output)
            return output

    def wheel_kind(self) -> str | None:
        """What %pyproject_install found the built wheel to be: "pure", "platform" or None."""
        path = self.work / WHEEL_KIND
        text = path.read_text().strip() if path.is_file() else ""
        return text if text in ("pure", "platform") else None

    def clean(self, c: Container) -> None:
        """Forget a failed attempt (its files are the container's, so removed there)."""
        c.exec(["rm", "-rf", f"/build/{WHEEL_KIND}", "/build/rpmbuild/BUILD",
                "/build/rpmbuild/BUILDROOT", "/build/rpmbuild/RPMS", "/build/rpmbuild/SRPMS"],
               project=self.project)
        for d in ("BUILD", "RPMS", "SRPMS"):
            (self.topdir / d).mkdir(parents=True, exist_ok=True)


FetchTools = Callable[[Sequence[Requirement]], list[buildreqs.BuildTool]]


def build_rpm(sdist: Sdist, target: Target, image: Image, *, engine: Engine,
              fetch_tools: FetchTools, cache_dir: Path, packager: str,
              date: str, work: Path, chosen_name: str | None = None) -> RpmResult:
    """Unpack, read metadata, map, render and build; the artifacts are left under `work`.
    `fetch_tools` turns what the builder lacks into accepted wheels
    (pipeline.resolve_build_tools); `chosen_name` is the package name the configuration
    gives the project."""
    name = str(sdist.release.name)
    with log.step("Unpacking the sdist safely"):
        tree = unpack_sdist(sdist.path, work / "unpack", project=name)
    pkg_info = metadata.read_pkg_info(tree, project=name)
    project = _project(pkg_info, tree, sdist, "PKG-INFO")
    srcdir = tree.name
    build = RpmBuild(engine=engine, image=image, work=work, project=name)
    (work / "src").mkdir()
    tree = tree.rename(work / "src" / srcdir)
    build_reqs = buildreqs.applicable(project.build_requires, target)
    with engine.container(image.tag, mounts=build.mounts, network=False) as c:
        missing = build.missing_build_requires(c, build_reqs)
        tools = fetch_tools([Requirement(m) for m in missing])
        build.install_build_tools(c, tools)
        if not metadata.is_static(pkg_info):
            raw, entry_points = build.pep517_metadata(
                c, srcdir, project.build_backend or DEFAULT_BACKEND, _backend_path(tree))
            project = _project(raw, tree, sdist, "PEP 517", entry_points)
        spec, spec_file = _render(build, project, sdist, target, packager, date, tools,
                                  chosen_name)
        try:
            build.rpmbuild(c, spec_file, target)
        except CommandFailed:
            kind = build.wheel_kind()
            if kind is None or (kind == "platform") == project.has_native_code:
                raise
            log.info(f"The built wheel is {'platform-specific' if kind == 'platform' else 'pure'}"
                     f"; building {name} again as "
                     f"{'arch-specific' if kind == 'platform' else 'noarch'}")
            build.clean(c)
            project = dataclasses.replace(project, has_native_code=kind == "platform")
            spec, spec_file = _render(build, project, sdist, target, packager, date, tools,
                                      chosen_name)
            build.rpmbuild(c, spec_file, target)
    return RpmResult(artifacts=tuple(collect_artifacts(build.topdir, spec)), spec=spec,
                     log_file=work / "build.log", build_tools=tuple(t.pin for t in tools),
                     tools=tuple(tools), build_requires=tuple(missing))


def _render(build: RpmBuild, project: Project, sdist: Sdist, target: Target, packager: str,
            date: str, tools: Sequence[buildreqs.BuildTool] = (),
            chosen_name: str | None = None) -> tuple[RpmSpec, Path]:
    """Map the project; write the spec and its sources into the topdir."""
    spec = naming_rpm.make_rpm_spec(project, sdist_filename=sdist.path.name,
                                    source_url=sdist.release.url, target=target,
                                    packager=packager, date=date,
                                    provenance=provenance.of(sdist, [t.file for t in tools]),
                                    chosen_name=chosen_name)
    shutil.copyfile(sdist.path, build.topdir / "SOURCES" / spec.source0)
    render_rpm.write_sources(spec, build.topdir / "SOURCES")
    return spec, render_rpm.render_spec(spec, build.topdir / "SPECS")


def _project(raw: bytes, tree: Path, sdist: Sdist, source: str,
             entry_points: str | None = None) -> Project:
    return metadata.project_from_metadata(
        raw, tree, source=source, entry_points=entry_points,  # type: ignore[arg-type]
        expected_name=str(sdist.release.name), expected_version=sdist.release.version)


def collect_artifacts(topdir: Path, spec: RpmSpec) -> list[Artifact]:
    """The .rpm files under RPMS/<arch>/ and the .src.rpm under SRPMS/, as Artifacts."""
    evr = f"{spec.epoch}:" if spec.epoch else ""
    evr += f"{spec.version}-{spec.release}"
    found = [(p, "rpm") for p in sorted((topdir / "RPMS").glob("*/*.rpm"))]
    found += [(p, "srpm") for p in sorted((topdir / "SRPMS").glob("*.src.rpm"))]
    artifacts = [Artifact(target=spec.target_id, format=kind,  # type: ignore[arg-type]
                          package=spec.name, version=evr, path=path, sha256=sha256_file(path))
                 for path, kind in found]
    if not any(a.format == "rpm" for a in artifacts):
        raise BuildError("rpmbuild produced no binary .rpm", project=spec.name)
    if not any(a.format == "srpm" for a in artifacts):
        raise BuildError("rpmbuild produced no .src.rpm", project=spec.name)
    return artifacts
