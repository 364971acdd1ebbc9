"""Build a Debian source and binary package inside a container of the target's builder image.

Two containers per build:
  1. network on: refresh the package lists and *download* the build dependencies;
  2. network off (`--network none`): install those downloads, then the build tools the
     archive lacks or has too old (verified wheels from repack.buildreqs, read-only mount,
     `pip --no-index`), run the PEP 517 metadata hook when the sdist's PKG-INFO is not
     static, then `dpkg-buildpackage`.
The second proves the build is hermetic: upstream code never runs with the network on,
and never runs on the host.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from repack import buildreqs, log
from repack.build.engine import Container, Engine, Mount
from repack.build.images import Image
from repack.cache import sha256_file
from repack.errors import BuildError, MetadataError
from repack.model import Alternatives, Artifact, DebSpec

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
APT_OPTS = ["-y", "-q", "--no-install-recommends", "-o", "APT::Sandbox::User=root"]

# Runs inside the builder, offline, in a throwaway copy of the tree: the backend may write
# build files (egg-info) that must not end up in the source package.
METADATA_SCRIPT = """\
import shutil, sys, build
src, copy, out = sys.argv[1:4]
shutil.copytree(src, copy, symlinks=True)
print(build.ProjectBuilder(copy).metadata_path(out))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pep517Metadata:
    metadata: bytes
    entry_points: str | None


def relations_text(groups: tuple[Alternatives, ...]) -> str:
    return ", ".join(" | ".join(str(r) for r in group) for group in groups)


class DebianBuild:
    """One build directory `work` holding `src/<source>-<version>/` and the orig tarball."""

    def __init__(self, *, engine: Engine, image: Image, work: Path, apt_cache: Path,
                 project: str) -> None:
        self.engine = engine
        self.image = image
        self.work = work
        self.project = project
        self.lists = work / "apt-lists"
        self.archives = apt_cache
        self.wheels = work / "wheels"
        self.tools: tuple[buildreqs.BuildTool, ...] = ()
        for d in (self.lists / "partial", self.archives / "partial", work / "build",
                  self.wheels):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def mounts(self) -> list[Mount]:
        return [
            Mount(source=self.work / "build", target="/build"),
            Mount(source=self.lists, target="/var/lib/apt/lists"),
            Mount(source=self.archives, target="/var/cache/apt/archives"),
            Mount(source=self.wheels, target="/wheels", readonly=True),
        ]

    def use_build_tools(self, tools: Sequence[buildreqs.BuildTool]) -> None:
        """Build requirements the archive cannot satisfy, as verified wheels: staged for
        the read-only /wheels mount, installed by `offline` after the apt packages."""
        self.tools = tuple(tools)
        for t in tools:
            shutil.copyfile(t.file.path, self.wheels / t.file.path.name)

    def apt_relations(self, build_depends: str) -> str:
        """What apt installs: the Build-Depends, plus pip when wheels are to be installed
        (pip is a tool of this build only, never a Build-Depends of the source package)."""
        return f"{build_depends}, python3-pip" if self.tools else build_depends

    @contextlib.contextmanager
    def archives_lock(self) -> Iterator[None]:
        """The downloaded-packages cache is shared by builds of one target; apt inside each
        container locks it and fails at once when another holds it, so we queue here."""
        with open(self.archives / ".repack.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def download_build_deps(self, build_depends: str) -> None:
        with (log.step("Downloading build dependencies (network on)"),
              self.engine.container(self.image.tag, mounts=self.mounts, network=True) as c):
            c.exec(["apt-get", "update", "-q"], env=APT_ENV, project=self.project)
            with self.archives_lock():
                c.exec(["apt-get", "satisfy", *APT_OPTS, "--download-only",
                        self.apt_relations(build_depends)], env=APT_ENV, project=self.project)

    def offline(self, build_depends: str, body: Callable[[Container], None]) -> None:
        """Run body in a network-less container with the build dependencies installed."""
        with self.engine.container(self.image.tag, mounts=self.mounts, network=False) as c:
            with log.step("Installing build dependencies (network off)"), self.archives_lock():
                c.exec(["apt-get", "satisfy", *APT_OPTS, "--no-download",
                        self.apt_relations(build_depends)], env=APT_ENV, project=self.project)
            if self.tools:
                with log.step(f"Installing build tools {', '.join(t.pin for t in self.tools)} "
                              "(verified wheels, network off)"):
                    c.exec(buildreqs.pip_install_argv(self.tools, "/wheels"),
                           env=buildreqs.PIP_ENV, project=self.project)
            body(c)

    def pep517_metadata(self, c: Container, srcdir: str) -> Pep517Metadata:
        with log.step("Reading metadata through the PEP 517 hook (in the container, offline)"):
            out = self.work / "build" / "metadata"
            c.exec(["python3", "-c", METADATA_SCRIPT, f"/build/{srcdir}", "/tmp/metadata-src",
                    "/build/metadata"], project=self.project)
            found = sorted(out.glob("*.dist-info/METADATA"))
            if len(found) != 1:
                raise MetadataError("the PEP 517 hook produced no single .dist-info/METADATA",
                                    project=self.project)
            entry_points = found[0].parent / "entry_points.txt"
            return Pep517Metadata(
                metadata=found[0].read_bytes(),
                entry_points=entry_points.read_text() if entry_points.is_file() else None,
            )

    def dpkg_buildpackage(self, c: Container, srcdir: str, spec: DebSpec) -> list[Artifact]:
        with log.step(f"dpkg-buildpackage {spec.source_name} {spec.version} (network off)"):
            output = c.exec(["dpkg-buildpackage", "-us", "-uc", "-sa"], workdir=f"/build/{srcdir}",
                            env={**APT_ENV, "DEB_BUILD_OPTIONS": "nocheck"},
                            project=self.project)
            (self.work / "build.log").write_text(output)
        return collect_artifacts(self.work / "build", spec)


_KINDS = {".deb": "deb", ".dsc": "dsc", ".buildinfo": "buildinfo", ".changes": "changes"}


def collect_artifacts(build_dir: Path, spec: DebSpec) -> list[Artifact]:
    """The files dpkg-buildpackage wrote next to the source tree, as Artifacts."""
    artifacts = []
    for path in sorted(p for p in build_dir.iterdir() if p.is_file()):
        name = path.name
        kind = _KINDS.get(path.suffix)
        if ".debian.tar." in name:
            kind = "debian-tar"
        elif ".orig.tar." in name:
            kind = "orig-tar"
        if kind is None:
            continue
        package = name.split("_", 1)[0]
        artifacts.append(Artifact(target=spec.target_id, format=kind,  # type: ignore[arg-type]
                                  package=package, version=spec.version, path=path,
                                  sha256=sha256_file(path)))
    if not any(a.format == "deb" for a in artifacts):
        raise BuildError("dpkg-buildpackage produced no .deb", project=spec.binary_name)
    return artifacts
