"""The RPM build directory and its container steps (the order is repack.rpm.family's), and
the check of what rpmbuild left against what repack rendered.

One container, network off (`--network none`) from its start: build tools the builder
lacks are resolved and fetched on the host as hash-verified wheels, accepted by the trust
policy (repack.buildreqs), and installed from a read-only mount with
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

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement

from repack import buildreqs, log
from repack.container.engine import Container, Engine, Mount
from repack.container.images import Image
from repack.container.outputs import (
    is_package_file,
    list_beneath,
    read_beneath,
    read_dist_info,
    take_predicted,
)
from repack.deb.render import builtin_templates
from repack.digest import sha256_file
from repack.errors import BuildError
from repack.model import Artifact, RpmSpec, Sdist, Target
from repack.rpm.query import query
from repack.rpm.render import render_spec, write_sources

__all__ = ["CONFIG_SETTINGS_FRONTEND", "DEFAULT_BACKEND", "MACRO_FILE", "METADATA_SCRIPT",
           "TOML10_FRONTEND", "RpmBuild", "collect_artifacts", "helper_files"]

MACRO_FILE = "macros.repack-python"
HELPERS = (MACRO_FILE, "pyproject_install.py", "pyproject_save_files.py", "brp-strip-shared.sh")
PIP_ENV = {"PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_ROOT_USER_ACTION": "ignore",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}

# What %pyproject_wheel (`pip wheel`) needs of the builder for a pyproject.toml in TOML 1.0
# (Project.toml10): pip before 21.2 parses it with `toml` 0.10, which refuses mixed-type
# arrays (PEP 735 dependency groups: attrs, wheel, tomli, exceptiongroup); Debian 11's pip
# (the el9 builder) is 20.3, so those el9 builds take a verified newer pip wheel.
TOML10_FRONTEND = (Requirement("pip>=21.2"),)
# Whether the builder's pip reads the tree's pyproject.toml: its vendored `toml` 0.10 (pip <
# 21.2) also trips over TOML 1.0 that holds no mixed array, such as a multi-line literal
# string holding a quote (the [tool.coverage.report] of mypy 1.19.1, el9's: "Key name found
# without value").
# Parsed in the builder by the very parser %pyproject_wheel would use; a newer pip's reads it.
PIP_TOML_SCRIPT = """\
import sys
try:
    from pip._vendor import toml
except ImportError:
    sys.exit(0)
try:
    toml.load(sys.argv[1])
except Exception as exc:
    print("repack-pip-toml: " + type(exc).__name__)
"""
# What %pyproject_wheel's pip needs for a project's config settings (repack.overrides):
# `--config-settings` repeated for one key gives the hooks a list from pip 23.1 on (Debian
# 11's pip 20.3, el9's builder, has no --config-settings at all).
CONFIG_SETTINGS_FRONTEND = (Requirement("pip>=23.1"),)

# Runs in the builder, offline, in a throwaway copy of the tree: the backend's own
# prepare_metadata_for_build_wheel hook (the builder need not have `build`).
METADATA_SCRIPT = """\
import importlib, json, os, shutil, sys, tempfile, zipfile
src, copy, out, backend, paths = sys.argv[1:6]
settings = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
""" + buildreqs.LOAD_BACKEND + """\
os.makedirs(out, exist_ok=True)
prepare = getattr(hooks, "prepare_metadata_for_build_wheel", None)
if prepare is not None:
    print(prepare(out, settings))
else:
    tmp = tempfile.mkdtemp()
    with zipfile.ZipFile(os.path.join(tmp, hooks.build_wheel(tmp, settings))) as whl:
        names = [n for n in whl.namelist() if n.split("/")[0].endswith(".dist-info")]
        whl.extractall(out, names)
"""

DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
WHEEL_KIND = "wheel-kind"   # under /build: "pure" or "platform", from %pyproject_install


def helper_files() -> dict[str, bytes]:
    """The macro file and its helper scripts, as shipped in repack's templates."""
    root = builtin_templates().joinpath("rpm")
    return {name: root.joinpath(name).read_bytes() for name in HELPERS}


class RpmBuild:
    """The work directory `work`: only its `build/` is mounted (at /build, read-write) in
    the builder: src/ (the unpacked tree), rpmbuild/ (the topdir), helpers/.  The verified
    wheels (`wheels/`, mounted read-only), the build log and the collected artifacts
    (`collected/`) are beside it, where upstream code cannot write."""

    def __init__(self, *, engine: Engine, image: Image, work: Path, project: str,
                 config_settings: Mapping[str, object] | None = None,
                 hook_env: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        # the project's PEP 517 config settings and build environment (repack.overrides),
        # for every hook it runs as for rpmbuild
        self.config_settings = dict(config_settings) if config_settings else None
        self.hook_env = dict(hook_env) if hook_env else None
        self.image = image
        self.work = work
        self.project = project
        self.tree = work / "build"
        self.topdir = self.tree / "rpmbuild"
        self.wheels = work / "wheels"
        self.collected = work / "collected"
        self.staging = work / "staging"         # the rendered spec and sources, mounted ro
        self.log_file = work / "build.log"
        self.tools: tuple[buildreqs.BuildTool, ...] = ()
        self.notes: list[str] = []              # lines repack adds to the top of build.log
        for d in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS"):
            (self.topdir / d).mkdir(parents=True, exist_ok=True)
        self.wheels.mkdir(exist_ok=True)
        self.staging.mkdir(exist_ok=True)
        helpers = self.tree / "helpers"
        helpers.mkdir(exist_ok=True)
        for name, data in helper_files().items():
            (helpers / name).write_bytes(data)

    @property
    def src_dir(self) -> Path:
        """Where the unpacked tree goes (/build/src in the builder)."""
        return self.tree / "src"

    @property
    def mounts(self) -> list[Mount]:
        return [Mount(source=self.tree, target="/build"),
                Mount(source=self.wheels, target="/wheels", readonly=True),
                Mount(source=self.staging, target="/staging", readonly=True)]

    def missing_build_requires(self, c: Container, reqs: Sequence[Requirement]) -> list[str]:
        return buildreqs.unsatisfied(c, reqs, project=self.project)

    def pip_reads_pyproject(self, c: Container, srcdir: str) -> bool:
        """Whether the builder's pip parses the tree's pyproject.toml (PIP_TOML_SCRIPT), in
        `c` before any upstream code ran; no pyproject.toml reads fine."""
        if not (self.src_dir / srcdir / "pyproject.toml").is_file():
            return True
        out = c.exec(["python3", "-I", "-c", PIP_TOML_SCRIPT,
                      f"/build/src/{srcdir}/pyproject.toml"], project=self.project)
        return "repack-pip-toml: " not in out

    def install_build_tools(self, c: Container, tools: Sequence[buildreqs.BuildTool]) -> None:
        if not tools:
            return
        with log.step(f"Installing build tools {', '.join(t.pin for t in tools)} "
                      "(verified wheels, network off)"):
            self.tools = (*self.tools, *tools)
            buildreqs.stage(tools, self.wheels, project=self.project)
            c.exec(buildreqs.pip_install_argv(tools, "/wheels"), env=PIP_ENV,
                   project=self.project)

    def dynamic_requires(self, c: Container, srcdir: str, backend: str,
                         backend_path: list[str]) -> list[Requirement]:
        return buildreqs.hook_requires(c, f"/build/src/{srcdir}", backend, backend_path,
                                       project=self.project,
                                       config_settings=self.config_settings,
                                       env=self.hook_env)

    def pep517_metadata(self, c: Container, srcdir: str, backend: str,
                        backend_path: list[str]) -> tuple[bytes, str | None]:
        with log.step("Reading metadata through the PEP 517 hook (in the container, offline)"):
            c.exec(["python3", "-c", METADATA_SCRIPT, f"/build/src/{srcdir}", "/tmp/metadata-src",
                    "/build/metadata", backend, json.dumps(backend_path),
                    *([json.dumps(self.config_settings)] if self.config_settings else [])],
                   env=self.hook_env, project=self.project)
            # /build/metadata was written by upstream code: read beneath, bounded
            return read_dist_info(self.tree, "metadata", project=self.project)

    def rpmbuild(self, c: Container, spec_file: str, target: Target) -> str:
        with log.step(f"rpmbuild -ba {spec_file} (network off)"):
            c.exec(["install", "-D", "-m", "644", f"/build/helpers/{MACRO_FILE}",
                    f"/etc/rpm/{MACRO_FILE}"],
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
                f"/build/rpmbuild/SPECS/{spec_file}",
            ], project=self.project)
            self.log_file.write_text("".join(f"{n}\n" for n in self.notes) + output)
            return output

    def wheel_kind(self) -> str | None:
        """What %pyproject_install found the built wheel to be: "pure", "platform" or None."""
        try:
            text = read_beneath(self.tree, WHEEL_KIND, limit=16, project=self.project)
        except BuildError:
            return None
        kind = text.decode(errors="replace").strip()
        return kind if kind in ("pure", "platform") else None

    def clean(self, c: Container) -> None:
        """Forget a failed attempt (its files are the container's, so removed there)."""
        c.exec(["rm", "-rf", f"/build/{WHEEL_KIND}", "/build/rpmbuild/BUILD",
                "/build/rpmbuild/BUILDROOT", "/build/rpmbuild/RPMS", "/build/rpmbuild/SRPMS"],
               project=self.project)
        c.exec(["mkdir", "-p", "/build/rpmbuild/BUILD", "/build/rpmbuild/RPMS",
                "/build/rpmbuild/SRPMS"], project=self.project)

    def render(self, c: Container, spec: RpmSpec, sdist: Sdist) -> str:
        """Write the spec and its sources where only the host writes (`staging/`, mounted
        read-only) and have the container copy them into the topdir: after upstream code
        ran, the host writes nothing into a tree it could have turned into symlinks.
        Returns the spec's file name."""
        for d in ("SOURCES", "SPECS"):     # the mounted directory itself stays
            shutil.rmtree(self.staging / d, ignore_errors=True)
            (self.staging / d).mkdir()
        shutil.copyfile(sdist.path, self.staging / "SOURCES" / spec.source0)
        write_sources(spec, self.staging / "SOURCES")
        spec_file = render_spec(spec, self.staging / "SPECS")
        for d in ("SOURCES", "SPECS"):
            c.exec(["cp", "-a", f"/staging/{d}/.", f"/build/rpmbuild/{d}/"],
                   project=self.project)
        return spec_file.name

    def collect(self, spec: RpmSpec) -> list[Artifact]:
        with log.step("Checking the build's output against the rendered packages"):
            sources = {p.name: sha256_file(p)
                       for d in ("SOURCES", "SPECS") for p in (self.staging / d).iterdir()}
            return collect_artifacts(self.topdir, self.collected, spec,
                                     machine=self.image.target.platform_machine,
                                     sources=sources, project=self.project)


RpmKind = Literal["rpm", "srpm"]
#: What rpm says of each collected package; `(none)` where the tag is absent.
HEADER_QUERY = "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{SOURCERPM}\\n"
#: The files a source package holds and their digests (algorithm 8: SHA256).
SOURCES_QUERY = "%{FILEDIGESTALGO}|[%{FILENAMES}:%{FILEDIGESTS} ]\\n"


def expected_files(spec: RpmSpec, *, machine: str) -> dict[str, RpmKind]:
    """The paths under the topdir that `rpmbuild -ba` writes for spec, and nothing else:
    one binary package of the rendered name and architecture, and its source package."""
    arch = spec.buildarch or machine
    nvr = f"{spec.name}-{spec.version}-{spec.release}"
    return {f"RPMS/{arch}/{nvr}.{arch}.rpm": "rpm", f"SRPMS/{nvr}.src.rpm": "srpm"}


def check_header(name: str, kind: RpmKind, fields: Sequence[str], spec: RpmSpec,
                 machine: str) -> list[str]:
    """How one package's header (HEADER_QUERY's fields) differs from the rendered spec."""
    keys = ("Name", "Epoch", "Version", "Release", "Arch", "Source RPM")
    if len(fields) != len(keys):
        return [f"{name}: unreadable header {'|'.join(fields)!r}"]
    srpm = f"{spec.name}-{spec.version}-{spec.release}.src.rpm"
    want = [spec.name, str(spec.epoch) if spec.epoch else "(none)", spec.version, spec.release,
            spec.buildarch or machine, srpm if kind == "rpm" else "(none)"]
    return [f"{name} {key} is {got!r}, not {exp!r}"
            for key, got, exp in zip(keys, fields, want, strict=True) if got != exp]


def check_srpm_files(name: str, line: str, sources: Mapping[str, str]) -> list[str]:
    """The source package holds exactly the spec and sources repack rendered (`sources`:
    file name -> sha256; the verified sdist among them), per the digests in its header
    (which rpm checks against the payload when it unpacks it)."""
    algo, _, entries = line.partition("|")
    if algo != "8":
        return [f"{name}: file digests are not SHA256 (algorithm {algo!r})"]
    files = dict(e.rpartition(":")[::2] for e in entries.split())
    if files == dict(sources):
        return []
    changed = sorted(n for n in set(files) | set(sources) if files.get(n) != sources.get(n))
    return [f"{name}: {', '.join(changed)} not the file(s) repack rendered or verified"]


def found_packages(topdir: Path, *, project: str | None) -> list[str]:
    """Every package-looking path rpmbuild's output directories hold (RPMS/<arch>/*,
    SRPMS/*), read without following symlinks."""
    found = []
    for entry in list_beneath(topdir, "RPMS", project=project):
        if is_package_file(entry):
            found.append(f"RPMS/{entry}")
            continue
        found += [f"RPMS/{entry}/{n}" for n in list_beneath(topdir, f"RPMS/{entry}",
                                                            project=project)]
    found += [f"SRPMS/{n}" for n in list_beneath(topdir, "SRPMS", project=project)]
    return found


def collect_artifacts(topdir: Path, dest: Path, spec: RpmSpec, *, machine: str,
                      sources: Mapping[str, str], project: str) -> list[Artifact]:
    """Exactly the predicted packages of `topdir` (which upstream code could write), copied
    without following symlinks into `dest` (which it cannot), each header checked against
    the spec, and the source package's files against `sources` (name -> sha256 of the
    rendered spec and sources).  Any other package file there, or any mismatch, fails the
    build."""
    expected = expected_files(spec, machine=machine)
    paths = take_predicted(topdir, found_packages(topdir, project=project), expected, dest,
                           tool="rpmbuild", project=project)
    heads = query(list(paths.values()), HEADER_QUERY)
    problems = [p for (rel, kind), line in zip(expected.items(), heads, strict=True)
                for p in check_header(paths[rel].name, kind, line.split("|"), spec, machine)]
    srpm = next(paths[rel] for rel, kind in expected.items() if kind == "srpm")
    problems += check_srpm_files(srpm.name, query([srpm], SOURCES_QUERY)[0], sources)
    if problems:
        raise BuildError(f"the build's output is not what repack rendered: "
                         f"{'; '.join(problems)}", project=project)
    evr = f"{spec.epoch}:" if spec.epoch else ""
    evr += f"{spec.version}-{spec.release}"
    return [Artifact(target=spec.target_id, format=kind, package=spec.name, version=evr,
                     path=paths[rel], sha256=sha256_file(paths[rel]))
            for rel, kind in expected.items()]
