"""Build a Debian source and binary package inside a container of the target's builder image.

Two containers per build:
  1. network on, no upstream code: refresh the package lists (unless the run did,
     repack.deb.aptlists) and *download* the build dependencies; the host checks each
     against the SHA256 of the signed lists (none of it when the builder image has them
     all, which the host tells from the packages the image recorded at bootstrap:
     `in_image`);
  2. network off (`--network none`): install those downloads, then the build tools the
     archive lacks or has too old (verified wheels from repack.buildreqs, read-only mount,
     unpacked by python3-installer), run the PEP 517 metadata hook when the sdist's PKG-INFO
     is not static, then `dpkg-buildpackage`.
The second proves the build is hermetic: upstream code never runs with the network on,
and never runs on the host.  It sees only directories of this build: nothing it writes
outlives the build except the files `collect_artifacts` predicted and checked.
"""

from __future__ import annotations

import contextlib
import io
import json
import lzma
import re
import shutil
import stat
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from debian.arfile import ArError
from debian.deb822 import BuildInfo, Changes, Deb822, Dsc
from debian.debfile import DebError, DebFile
from packaging.utils import canonicalize_name

from repack import buildreqs, log
from repack.container.engine import Container, Engine, Mount
from repack.container.images import Image, load_archive, relation_clauses, relation_names
from repack.container.outputs import (
    list_beneath,
    read_dist_info,
    take_predicted,
)
from repack.deb import render
from repack.deb.aptlists import (
    APT_CACHES,
    APT_ENV,
    APT_UPDATE,
    copy_lists,
    fresh,
    lists_source,
    refreshed,
)
from repack.deb.naming import satisfies
from repack.digest import sha256_file
from repack.errors import BuildError, CommandFailed, IntegrityError
from repack.files import copy_file
from repack.model import Alternatives, Artifact, DebSpec
from repack.run import run

APT_OPTS = ["-y", "-q", "--no-install-recommends", "-o", "APT::Sandbox::User=root", *APT_CACHES]
APT_HASH = ["-o", "Acquire::ForceHash=SHA256"]   # print and check the lists' SHA256, not MD5
UNSAFE_IO = ["-o", "Dpkg::Options::=--force-unsafe-io"]   # a throw-away container: no fsync
DPKG_INSTALL = ["dpkg", "--install", "--force-unsafe-io"]  # the same, without apt (dpkg_installs)

# Runs inside the builder, offline, in a throwaway copy of the tree: the backend may write
# build files (egg-info) that must not end up in the source package.  When the backend
# fails, its traceback (printed by the hook runner, _in_process) stays the last one in the
# output, as in pybuild's build step: build's own chained one would say nothing more and
# push it out of the error's tail (repack.deb.family.pep517_step reads it).  The project's
# PEP 517 config settings (repack.overrides), if any, are a JSON object in argv[4]: pypa/build's
# metadata_path takes none, so its two steps are spelled out (the wheel goes to a temp dir).
METADATA_SCRIPT = """\
import json, shutil, sys, tempfile, zipfile, build
src, copy, out = sys.argv[1:4]
settings = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
shutil.copytree(src, copy, symlinks=True)
try:
    builder = build.ProjectBuilder(copy)
    found = builder.prepare("wheel", out, settings)
    if found is None:
        with zipfile.ZipFile(builder.build("wheel", tempfile.mkdtemp(), settings)) as whl:
            names = [n for n in whl.namelist() if n.split("/")[0].endswith(".dist-info")]
            whl.extractall(out, names)
    print(found or out)
except build.BuildBackendException as exc:
    sys.exit(f"ERROR {exc}")
"""

PRISTINE = ".pristine-source"   # under rendered/: see DebianBuild.discard
DebKind = Literal["deb", "dsc", "debian-tar", "orig-tar", "buildinfo", "changes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pep517Metadata:
    metadata: bytes
    entry_points: str | None


def relations_text(groups: tuple[Alternatives, ...]) -> str:
    return ", ".join(" | ".join(str(r) for r in group) for group in groups)


@dataclass(frozen=True, slots=True, kw_only=True)
class AptFile:
    """One .deb apt needs for a build, as the signed package lists describe it."""

    name: str            # its file name in /var/cache/apt/archives
    size: int
    sha256: str
    uri: str = ""        # where apt would fetch it from


_PRINT_URI = re.compile(
    r"'(?P<uri>[a-z][a-z0-9+]*:[^'\s]+)' (?P<name>\S+) (?P<size>\d+) "
    r"SHA256:(?P<sha256>[0-9a-f]{64})")
_DEB_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+~%_-]*\.deb")


def parse_print_uris(text: str, *, project: str | None = None) -> list[AptFile]:
    """The files of `apt-get --print-uris` output (run with Acquire::ForceHash=SHA256, so
    that each line carries the SHA256 of the signed lists rather than an MD5)."""
    files = []
    for line in text.splitlines():
        if not line.startswith("'"):
            continue
        m = _PRINT_URI.fullmatch(line.strip())
        if m is None or not _DEB_FILE.fullmatch(m["name"]):
            raise BuildError(f"unexpected apt-get --print-uris line {line[:200]!r}",
                             project=project)
        files.append(AptFile(name=m["name"], size=int(m["size"]), sha256=m["sha256"],
                             uri=m["uri"]))
    return files


# The programs a build-tool wheel runs that Debian packages apart: meson's ninja (Debian's
# meson package depends on ninja-build), scikit-build-core's cmake (which it would otherwise
# ask the index for as a wheel: rapidfuzz, "Could not find CMake with version >=3.15").
TOOL_PROGRAMS = {buildreqs.MESON: "ninja-build", canonicalize_name("scikit-build-core"): "cmake"}


def tool_packages(tools: Iterable[str]) -> list[str]:
    """The archive packages a build installs beside its build-tool wheels (PEP 503 names):
    python3-installer, which unpacks them, and the programs they run (TOOL_PROGRAMS)."""
    names = {canonicalize_name(t) for t in tools}
    return ["python3-installer", *(p for t, p in TOOL_PROGRAMS.items() if t in names)]


def dpkg_installs(printed: str, debs: Sequence[Path]) -> bool:
    """Whether `dpkg --install` of exactly the .debs apt printed (`--print-uris`) does what
    apt would with them: apt removes nothing, and none pre-depends on another of them (dpkg
    unpacks them all, then configures; apt would order those).  It saves apt reading the
    lists once more, a second or two; a "no" leaves the install to apt."""
    if not debs or re.search(r"^The following packages will be REMOVED", printed, re.MULTILINE):
        return False
    controls = []
    for deb in debs:
        try:
            with contextlib.closing(DebFile(str(deb))) as f:
                controls.append(f.debcontrol())
        except (DebError, ArError, KeyError, OSError, EOFError, ValueError):
            return False
    names = {c.get("Package") for c in controls}
    return not any(relation_names(c.get("Pre-Depends")) & names for c in controls)


def download_argv(files: Sequence[AptFile]) -> list[str]:
    """apt's own downloader for exactly the files apt printed, into the archive directory,
    each checked against its SHA256 as it arrives (and by `keep_verified` after): one
    transfer of them all, where a second `apt-get --download-only` read the lists again
    (a second or more).  The URIs are apt's, from the signed lists, each one argv item."""
    argv = ["/usr/lib/apt/apt-helper", "download-file"]
    for f in files:
        argv += [f.uri, f"/var/cache/apt/archives/{f.name}", f"SHA256:{f.sha256}"]
    return argv


def matches(path: Path, f: AptFile) -> bool:
    """path is a regular file (not a symlink) with f's size and SHA256."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == f.size and sha256_file(path) == f.sha256)


def take_cached(shared: Path, archives: Path, f: AptFile, project: str) -> bool:
    """Copy f from the shared cache into archives if it is there and intact; a copy that
    is not is removed, with a warning, and downloaded again."""
    cached = shared / f.name
    if not matches(cached, f):
        if cached.is_symlink() or cached.exists():
            log.warn(f"{project}: the cached {f.name} does not match the SHA256 of the signed "
                     "package lists; downloading it again")
            cached.unlink()
        return False
    shutil.copyfile(cached, archives / f.name)
    return matches(archives / f.name, f)


def keep_verified(archives: Path, shared: Path, needed: Sequence[AptFile],
                  downloaded: Sequence[AptFile], project: str) -> None:
    """Leave in archives exactly the needed .debs, each matching the signed package lists
    (IntegrityError otherwise), and add the downloaded ones to the shared cache, each
    written whole: the one check every .deb from the archive passes before a container
    installs it."""
    names = {f.name for f in needed}
    for path in archives.iterdir():
        if path.name not in names and path.name not in ("lock", "partial"):
            path.unlink()
    for f in needed:
        if not matches(archives / f.name, f):
            raise IntegrityError(f"{f.name} from the archive does not match the SHA256 "
                                 "of the signed package lists", project=project)
    for f in downloaded:
        copy_file(archives / f.name, shared / f.name)


class DebianBuild:
    """One build directory `work`; upstream code sees only `work/build` (its tree and the
    orig tarball), the per-build apt directories and read-only copies of what repack made.

    Downloaded build dependencies are kept in `apt_cache`, shared by the builds of one
    target.  No container ever sees it: each file a build needs is checked against the
    SHA256 of the signed package lists and copied into this build's own archive directory,
    which is all the offline container gets (a writable shared cache let one build replace
    another's python3-hatchling with a same-size trojan, as apt trusts cached .debs by size).
    """

    def __init__(self, *, engine: Engine, image: Image, work: Path, apt_cache: Path,
                 project: str, apt_lists: Path | None = None,
                 config_settings: Mapping[str, object] | None = None,
                 hook_env: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        # the project's PEP 517 config settings and build environment (repack.overrides),
        # for the hooks repack runs as for the build itself
        self.config_settings = dict(config_settings) if config_settings else None
        self.hook_env = dict(hook_env) if hook_env else None
        self.image = image
        self.work = work
        self.project = project
        self.lists = work / "apt-lists"
        self.archives = work / "apt-archives"  # this build's: exactly the verified files
        self.shared = apt_cache                 # outlives builds: host only
        self.shared_lists = apt_lists           # the last refreshed lists: host only
        self.wheels = work / "wheels"
        self.rendered = work / "rendered"     # debian/ as rendered: host-written, mounted ro
        self.collected = work / "collected"   # the checked artifacts: never mounted
        self.debian_files: dict[str, bytes] = {}
        self.license_text: str | None = None   # as last rendered
        self.notes: list[str] = []              # lines repack adds to the top of build.log
        self.tools: tuple[buildreqs.BuildTool, ...] = ()
        self.apt_files: tuple[AptFile, ...] = ()
        self.preinstalled: str | None = None    # relations the builder image satisfies
        self.by_dpkg: str | None = None         # relations dpkg alone installs (dpkg_installs)
        # the host's unpacked sdist, untouched by upstream code: where a second build starts
        self.pristine: Path | None = None
        for d in (self.lists / "partial", self.archives / "partial", work / "build",
                  self.wheels, self.rendered, self.shared):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def apt_mounts(self) -> list[Mount]:
        return [Mount(source=self.lists, target="/var/lib/apt/lists"),
                Mount(source=self.archives, target="/var/cache/apt/archives")]

    @property
    def mounts(self) -> list[Mount]:
        return [
            Mount(source=self.work / "build", target="/build"),
            *self.apt_mounts,
            Mount(source=self.wheels, target="/wheels", readonly=True),
            Mount(source=self.rendered, target="/rendered", readonly=True),
        ]

    def use_build_tools(self, tools: Sequence[buildreqs.BuildTool]) -> None:
        """Build requirements the archive cannot satisfy, as verified wheels: staged for
        the read-only /wheels mount, installed by `offline` after the apt packages.  The
        staged copy is checked against the digest it was verified with."""
        self.tools = tuple(tools)
        buildreqs.stage(tools, self.wheels, project=self.project)

    def apt_relations(self, build_depends: str) -> str:
        """What apt installs: the Build-Depends, plus python3-installer when wheels are to be
        installed and the programs they run (`tool_packages`: ninja-build beside a meson
        wheel, as Debian's meson package, which depends on it, is then not installed:
        matplotlib on Debian 13, whose meson.build asks for a newer meson than trixie's):
        tools of this build only, never Build-Depends of the source package."""
        if not self.tools:
            return build_depends
        return ", ".join((build_depends, *tool_packages(t.name for t in self.tools)))

    def inputs(self) -> dict[str, list[str]]:
        """What this build installs besides the image: part of the build cache key."""
        return {"apt": sorted(f"{f.name} {f.sha256}" for f in self.apt_files),
                "tools": sorted(f"{t.file.path.name} {t.file.sha256}" for t in self.tools)}

    def download_build_deps(self, build_depends: str) -> None:
        """Refresh the lists and ask apt which files the build needs, with their SHA256
        from the signed lists; take verified copies from the shared cache, let apt
        download the rest (network on, no upstream code in this container), check every
        file and keep the new ones in the shared cache.  Nothing of that when the builder
        image has them all already (a setuptools project's usually): `install` then has
        nothing to do either."""
        relations = self.apt_relations(build_depends)
        self.preinstalled = self.by_dpkg = None
        archive = load_archive(self.image)
        if archive.installed and in_image(archive.installed, archive.installed_provides,
                                          relations):
            self._all_in_image(relations)
            return
        with self.engine.container(self.image.tag, mounts=self.apt_mounts, network=True,
                                   trusted=True) as c:      # apt alone runs in it
            if not archive.installed and self._in_image(c, relations):
                self._all_in_image(relations)
                return
            self._download(c, relations)

    def _all_in_image(self, relations: str) -> None:
        with log.step("Build dependencies: all in the builder image, nothing to download"):
            self.apt_files = ()
            self.preinstalled = relations

    def _in_image(self, c: Container, relations: str) -> bool:
        """dpkg's own check of the relations against the image's installed packages (virtual
        and versioned Provides included), for an image made before repack recorded them
        (`in_image` answers on the host otherwise)."""
        try:
            c.exec(["dpkg-checkbuilddeps", "-d", relations, "/dev/null"], project=self.project)
        except CommandFailed:
            return False
        return True

    def _download(self, c: Container, relations: str) -> None:
        with log.step("Downloading build dependencies (network on)"):
            refreshed_by_run = fresh(self.shared_lists)     # then no update of its own
            self.reset_lists()
            if not refreshed_by_run:
                c.exec(APT_UPDATE, env=APT_ENV, project=self.project)
            printed = c.exec(["apt-get", "satisfy", *APT_OPTS, *APT_HASH, "--print-uris",
                              relations], env=APT_ENV, project=self.project)
            needed = parse_print_uris(printed, project=self.project)
            missing = [f for f in needed if not self.take_from_cache(f)]
            if missing:
                c.exec(download_argv(missing), env=APT_ENV, project=self.project)
            keep_verified(self.archives, self.shared, needed, missing, self.project)
        self.apt_files = tuple(needed)
        if dpkg_installs(printed, [self.archives / f.name for f in needed]):
            self.by_dpkg = relations
        if not refreshed_by_run:
            copy_lists(self.lists, self.shared_lists)
            refreshed(self.shared_lists)

    def reset_lists(self) -> None:
        """This build's lists as the shared side has them, and nothing else.  An in-tree
        backend's hook (repack.deb.family.asked_tools) runs upstream code with them mounted
        read-write before a second download, and apt reads whatever list file its sources
        name, in any compression, and its binary caches (APT_CACHES) as they are, where
        `apt-get update` (no longer run when the run refreshed the lists) used to remove
        files it did not fetch."""
        for path in self.lists.iterdir():   # the directory itself stays: a container has it
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)         # fd-based on Linux: planted symlinks are unlinked
            else:
                path.unlink()
        (self.lists / "partial").mkdir()
        copy_lists(lists_source(self.shared_lists, self.image.lists_snapshot), self.lists)

    def take_from_cache(self, f: AptFile) -> bool:
        return take_cached(self.shared, self.archives, f, self.project)

    def install(self, c: Container, relations: str, *, title: str) -> None:
        """Install what `download_build_deps` fetched for *relations* (network off)."""
        if relations == self.preinstalled:
            return
        with log.step(title):
            if relations == self.by_dpkg:
                c.exec([*DPKG_INSTALL,
                        *(f"/var/cache/apt/archives/{f.name}" for f in self.apt_files)],
                       env=APT_ENV, project=self.project)
                return
            c.exec(["apt-get", "satisfy", *APT_OPTS, *UNSAFE_IO, "--no-download", relations],
                   env=APT_ENV, project=self.project)

    @contextlib.contextmanager
    def offline(self, build_depends: str) -> Iterator[Container]:
        """A network-less container with the build dependencies installed."""
        with self.engine.container(self.image.tag, mounts=self.mounts, network=False) as c:
            self.install(c, self.apt_relations(build_depends),
                         title="Installing build dependencies (network off)")
            if self.tools:
                with log.step(f"Installing build tools {', '.join(t.pin for t in self.tools)} "
                              "(verified wheels, network off)"):
                    c.exec(buildreqs.installer_argv(self.tools, "/wheels"),
                           project=self.project)
            yield c

    def pep517_metadata(self, c: Container, srcdir: str) -> Pep517Metadata:
        with log.step("Reading metadata through the PEP 517 hook (in the container, offline)"):
            c.exec(["python3", "-c", METADATA_SCRIPT, f"/build/{srcdir}", "/tmp/metadata-src",
                    "/build/metadata",
                    *([json.dumps(self.config_settings)] if self.config_settings else [])],
                   env=self.hook_env, project=self.project)
            # /build/metadata was written by upstream code: read beneath, bounded
            metadata, entry_points = read_dist_info(self.work / "build", "metadata",
                                                    project=self.project)
            return Pep517Metadata(metadata=metadata, entry_points=entry_points)

    def render(self, c: Container, srcdir: str, spec: DebSpec, *,
               license_text: str | None) -> None:
        """Render debian/ where only the host writes, remember it (the debian tar must hold
        exactly these files), and have the container copy it into the source tree: the host
        never writes into a tree that upstream code could have turned into symlinks."""
        self.license_text = license_text
        tree = self.rendered / srcdir
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir()
        self.debian_files = read_rendered(render.render_debian(spec, tree,
                                                               license_text=license_text))
        if (self.work / "build" / srcdir / "debian").is_symlink() or \
                (self.work / "build" / srcdir / "debian").exists():
            log.warn(f"{spec.source_name}: replacing the debian/ directory the source tree has")
        # one exec, not two (a podman exec is a fifth of a second); the paths are positional
        # parameters of a fixed script, never part of it
        c.exec(["sh", "-c", 'rm -rf -- "$1" && exec cp -a -- "$2" "$1"', "sh",
                f"/build/{srcdir}/debian", f"/rendered/{srcdir}/debian"], project=self.project)

    def dpkg_buildpackage(self, c: Container, srcdir: str, spec: DebSpec, *, orig: str,
                          orig_sha256: str) -> list[Artifact]:
        with log.step(f"dpkg-buildpackage {spec.source_name} {spec.version} (network off)"):
            # noautodbgsym: no -dbgsym package beside the one repack rendered.
            output = c.exec(["dpkg-buildpackage", "-us", "-uc", "-sa"], workdir=f"/build/{srcdir}",
                            env={**APT_ENV, "DEB_BUILD_OPTIONS": "nocheck noautodbgsym"},
                            project=self.project)
            (self.work / "build.log").write_text("".join(f"{n}\n" for n in self.notes) + output)
        with log.step("Checking the build's output against the rendered packages"):
            return collect_artifacts(
                self.work / "build", self.collected, spec, orig=orig, orig_sha256=orig_sha256,
                build_arch=deb_arch(self.image.target.platform_machine),
                rendered=self.debian_files, project=self.project)


    def discard(self, c: Container, spec: DebSpec, srcdir: str, *, orig: str) -> None:
        """Remove what a dpkg-buildpackage run of spec wrote (the orig tarball stays), in the
        build directory and among the collected copies, and put the source tree back as it
        was unpacked (a build writes generated sources into it: PyYAML's _yaml.c, which
        dpkg-source then refuses as an upstream change), so that the build can run again.
        The container does it: the host never writes where upstream code did."""
        names = [n for n in expected_files(spec, orig=orig,
                                           build_arch=deb_arch(self.image.target.platform_machine))
                 if n != orig]
        c.exec(["rm", "-rf", "--", f"/build/{srcdir}", *(f"/build/{n}" for n in names)],
               project=self.project)
        if self.pristine is None:
            raise BuildError("no pristine source tree to build again from", project=self.project)
        # copied only now, when a build runs again (as Architecture: all, or to take files
        # over), from the host's own unpacked tree, which no container ever saw
        if not (self.rendered / PRISTINE).exists():
            shutil.copytree(self.pristine, self.rendered / PRISTINE, symlinks=True)
        c.exec(["cp", "-a", f"/rendered/{PRISTINE}", f"/build/{srcdir}"], project=self.project)
        shutil.rmtree(self.collected, ignore_errors=True)


def in_image(installed: Mapping[str, str], provided: Mapping[str, Sequence[str]],
             relations: str) -> bool:
    """Whether the builder image's installed packages (`repack.container.images.read_installed`)
    meet every clause of *relations*, as dpkg-checkbuilddeps would answer in the image: by
    name in a version that satisfies, or through a Provides (a versioned dependency only by
    a versioned Provides that satisfies it).  An unversioned ``python3:any`` is met by a
    ``Multi-Arch: allowed`` python3 (`read_installed` records it as ``python3:any``); any other
    architecture-qualified alternative counts as unmet: apt, which knows, is asked.  A wrong
    "no" costs a container; a wrong "yes" cannot pass, as dpkg checks again."""
    def met(name: str, op: str, version: str) -> bool:
        if op.startswith(":"):
            return op == ":any" and not version and bool(provided.get(name + op))
        if name in installed and satisfies(installed[name], op, version):
            return True
        return any(not op or (v and satisfies(v, op, version)) for v in provided.get(name, ()))
    return all(any(met(*alt) for alt in clause) for clause in relation_clauses(relations))


def has_compiled_code(deb: Path, *, project: str | None = None) -> bool:
    """Whether a .deb's data archive holds an ELF file (a compiled extension)."""
    try:
        tar = DebFile(str(deb)).data.tgz()
        for member in tar:
            if member.isfile() and (f := tar.extractfile(member)) is not None \
                    and f.read(4) == b"\x7fELF":
                return True
    except (DebError, ArError, tarfile.TarError, lzma.LZMAError, EOFError, OSError,
            ValueError) as e:
        raise BuildError(f"{deb.name}: unreadable data archive ({e})", project=project) from e
    return False


def deb_arch(machine: str) -> str:
    """Debian's name for the builder's machine (the suffix of arch-specific files)."""
    return DEB_ARCHES.get(machine, machine)


DEB_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "i686": "i386", "ppc64le": "ppc64el"}


def without_epoch(version: str) -> str:
    return version.partition(":")[2] if ":" in version else version


def expected_files(spec: DebSpec, *, orig: str, build_arch: str) -> dict[str, DebKind]:
    """The file names dpkg-buildpackage -sa writes for spec, and nothing else: one .deb of
    the rendered binary package, the source package (.dsc, .debian.tar.xz, the orig tarball
    repack put there), and the .buildinfo and .changes of the build."""
    version = without_epoch(spec.version)
    arch = "all" if spec.architecture == "all" else build_arch
    source = f"{spec.source_name}_{version}"
    return {
        f"{spec.binary_name}_{version}_{arch}.deb": "deb",
        f"{source}.dsc": "dsc",
        f"{source}.debian.tar.xz": "debian-tar",
        orig: "orig-tar",
        f"{source}_{build_arch}.buildinfo": "buildinfo",
        f"{source}_{build_arch}.changes": "changes",
    }


def _mismatches(what: str, pairs: Sequence[tuple[str, object, object]]) -> list[str]:
    return [f"{what} {field} is {got!r}, not {want!r}" for field, got, want in pairs
            if got != want]


def check_deb_control(name: str, control: Mapping[str, str], spec: DebSpec,
                      build_arch: str) -> list[str]:
    """How the control record of a built .deb differs from the rendered spec."""
    source, _, source_version = control.get("Source", control.get("Package", "")).partition(" ")
    return _mismatches(name, [
        ("Package", control.get("Package"), spec.binary_name),
        ("Version", control.get("Version"), spec.version),
        ("Architecture", control.get("Architecture"),
         "all" if spec.architecture == "all" else build_arch),
        ("Source", source, spec.source_name),
        ("Source version", source_version.strip("()") or spec.version, spec.version),
    ])


#: What dh_python3 writes into postinst/prerm (Debian 12 and 13), PKG standing for the
#: package (with ":<arch>" for arch-specific ones); nothing else may be in a script.
_SCRIPT_LINES = frozenset({
    "#!/bin/sh", "set -e", "", "# Automatically added by dh_python3",
    "# End automatically added section", "fi", "else",
    "if command -v py3compile >/dev/null 2>&1; then", "\tpy3compile -p PKG ",
    "if command -v pypy3compile >/dev/null 2>&1; then", "\tpypy3compile -p PKG  || true",
    "if command -v py3clean >/dev/null 2>&1; then", "\tpy3clean -p PKG ",
    "\tdpkg -L PKG | sed -En -e '/^(.*)\\/(.+)\\.py$/s,,rm \"\\1/__pycache__/\\2\".*,e'",
    ("\tfind /usr/lib/python3/dist-packages/ -type d -name __pycache__ -empty -print0 | "
     "xargs --null --no-run-if-empty rmdir"),
})
CONTROL_MEMBERS = frozenset({"control", "md5sums", "postinst", "prerm"})


def check_control_members(name: str, members: Mapping[str, bytes], spec: DebSpec,
                          build_arch: str) -> list[str]:
    """The .deb's control archive holds only what dpkg and dh_python3 write: a maintainer
    script a build slipped in (debian/<package>.postinst written by setup.py, picked up by
    dh_installdeb) would run as root on every machine that installs the package."""
    problems = [f"{name} has a control member {m!r} repack does not make"
                for m in sorted(set(members) - CONTROL_MEMBERS)]
    package = spec.binary_name if spec.architecture == "all" else \
        f"{spec.binary_name}:{build_arch}"
    for script in ("postinst", "prerm"):
        if script not in members:
            continue
        lines = members[script].decode("utf-8", errors="replace").split("\n")
        bad = [ln for ln in lines if ln.replace(package, "PKG") not in _SCRIPT_LINES]
        if bad:
            problems.append(f"{name} {script} has {bad[0][:80]!r}, which dh_python3 does not "
                            "write")
    return problems


def read_control_members(deb: Path, *, project: str | None) -> dict[str, bytes]:
    """The files of a .deb's control archive (python-debian reads the ar and tar layers)."""
    members = {}
    try:
        with DebFile(filename=str(deb)) as pkg:
            for m in pkg.control.tgz().getmembers():
                path = m.name.removeprefix("./")
                if m.isdir():
                    continue
                f = pkg.control.tgz().extractfile(m) if m.isfile() else None
                members[path] = f.read(1 << 20) if f is not None else b""
    except (DebError, ArError, tarfile.TarError, lzma.LZMAError, EOFError, OSError,
            ValueError) as e:
        raise BuildError(f"{deb.name}: unreadable control archive ({e})", project=project) from e
    return members


def _listed(fields: Mapping[str, object]) -> dict[str, str]:
    """name -> sha256 of the files a .dsc/.changes/.buildinfo lists.  A name that only
    another checksum field lists (`Files`, which `sign` and `publish` read) maps to "": it
    can match no collected file."""
    listed: dict[str, str] = {}
    for key in ("Files", "Checksums-Md5", "Checksums-Sha1", "Checksums-Sha256"):
        entries = fields.get(key) or []
        for e in entries if isinstance(entries, list) else [{}]:
            name = str(e.get("name", f"<malformed {key}>"))
            listed.setdefault(name, "")
            if key == "Checksums-Sha256":
                listed[name] = str(e.get("sha256", ""))
    return listed


def check_dsc(name: str, dsc: Mapping[str, object], spec: DebSpec,
              files: Mapping[str, str]) -> list[str]:
    """The .dsc names the rendered source and exactly the orig tarball and debian tar,
    with the digests of the collected files (`files`: name -> sha256)."""
    return _mismatches(name, [
        ("Format", dsc.get("Format"), "3.0 (quilt)"),
        ("Source", dsc.get("Source"), spec.source_name),
        ("Version", dsc.get("Version"), spec.version),
        ("Binary", dsc.get("Binary"), spec.binary_name),
        ("Architecture", dsc.get("Architecture"), spec.architecture),
        ("files", _listed(dsc), dict(files)),
    ])


def check_changes(name: str, changes: Mapping[str, object], spec: DebSpec,
                  files: Mapping[str, str], build_arch: str) -> list[str]:
    """The .changes (what `publish` and `sign` take) lists exactly the other collected
    files, with their digests, and only the rendered source and binary package."""
    arches = str(changes.get("Architecture", "")).split()
    allowed = {"source", "all" if spec.architecture == "all" else build_arch}
    return _mismatches(name, [
        ("Source", changes.get("Source"), spec.source_name),
        ("Version", changes.get("Version"), spec.version),
        ("Binary", changes.get("Binary"), spec.binary_name),
        ("Architecture", sorted(set(arches) - allowed), []),
        ("files", _listed(changes), dict(files)),
    ])


def check_buildinfo(name: str, info: Mapping[str, object], spec: DebSpec,
                    files: Mapping[str, str]) -> list[str]:
    listed = _listed(info)
    return _mismatches(name, [
        ("Source", info.get("Source"), spec.source_name),
        ("Version", info.get("Version"), spec.version),
        ("Binary", info.get("Binary"), spec.binary_name),
        ("files", {n: h for n, h in listed.items() if files.get(n) != h}, {}),
    ])


def check_debian_tar(name: str, data: bytes, rendered: Mapping[str, bytes]) -> list[str]:
    """The debian tar holds exactly the files repack rendered (`rendered`: path under
    debian/ -> bytes), byte for byte, and nothing but those and their directories."""
    found: dict[str, bytes] = {}
    problems = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:xz") as tar:
            for member in tar:
                path = member.name.removeprefix("./").rstrip("/")
                if member.isdir() and (path + "/").startswith("debian/"):
                    continue
                f = tar.extractfile(member) if member.isfile() else None
                if f is None or not path.startswith("debian/"):
                    problems.append(f"{name} has {member.name!r}, which repack did not render")
                    continue
                found[path.removeprefix("debian/")] = f.read()
    except (tarfile.TarError, lzma.LZMAError, EOFError) as e:
        return [f"{name} is not a readable tar.xz ({e})"]
    for rel in sorted(set(found) | set(rendered)):
        if found.get(rel) != rendered.get(rel):
            problems.append(f"{name}: debian/{rel} is not the file repack rendered")
    return problems


def read_rendered(debian: Path) -> dict[str, bytes]:
    """Path under debian/ -> bytes, of a debian/ directory only the host writes."""
    return {p.relative_to(debian).as_posix(): p.read_bytes()
            for p in sorted(debian.rglob("*")) if p.is_file()}


def _text(data: bytes) -> str:
    """A control file the build wrote, as text whatever its bytes (the checks then fail)."""
    return data.decode("utf-8", errors="replace")


def collect_artifacts(build_dir: Path, dest: Path, spec: DebSpec, *, orig: str,
                      orig_sha256: str, build_arch: str, rendered: Mapping[str, bytes],
                      project: str) -> list[Artifact]:
    """Exactly the predicted files of `build_dir` (which upstream code could write), copied
    without following symlinks into `dest` (which it cannot), each checked against the
    spec.  Any other package file there, or any mismatch, fails the build."""
    expected = expected_files(spec, orig=orig, build_arch=build_arch)
    take_predicted(build_dir, list_beneath(build_dir, project=project), expected, dest,
                   tool="dpkg-buildpackage", project=project)
    digests = {name: sha256_file(dest / name) for name in expected}
    by_kind = {kind: name for name, kind in expected.items()}
    deb, dsc, changes, info = (by_kind[k] for k in ("deb", "dsc", "changes", "buildinfo"))
    problems = []
    if digests[orig] != orig_sha256:
        problems.append(f"{orig} is not the verified sdist (sha256 {digests[orig]})")
    control = Deb822(_text(run(["dpkg-deb", "-f", dest / deb], project=project).stdout))
    problems += check_deb_control(deb, control, spec, build_arch)
    problems += check_control_members(deb, read_control_members(dest / deb, project=project),
                                      spec, build_arch)
    problems += check_dsc(dsc, Dsc(_text((dest / dsc).read_bytes())), spec,
                          {n: digests[n] for n in (orig, by_kind["debian-tar"])})
    problems += check_changes(changes, Changes(_text((dest / changes).read_bytes())), spec,
                              {n: h for n, h in digests.items() if n != changes}, build_arch)
    problems += check_buildinfo(info, BuildInfo(_text((dest / info).read_bytes())), spec, digests)
    problems += check_debian_tar(by_kind["debian-tar"],
                                 (dest / by_kind["debian-tar"]).read_bytes(), rendered)
    if problems:
        raise BuildError(f"the build's output is not what repack rendered: "
                         f"{'; '.join(problems)}", project=project)
    return [Artifact(target=spec.target_id, format=kind,
                     package=spec.binary_name if kind == "deb" else spec.source_name,
                     version=spec.version, path=dest / name, sha256=digests[name])
            for name, kind in sorted(expected.items())]
