"""Builder, base and check images, bootstrapped from the target's own archive.

No registry is assumed: an image is `mmdebstrap --variant=minbase` of the target's suites
(plus the toolchain for a builder), imported into the engine and tagged with a hash of its
recipe, so a changed recipe makes a new image and an unchanged one is built once.
While bootstrapping a deb target's builder we copy out the archive's package lists and
dh-python's dist map: they are the `ArchiveIndex` the mapping stage uses to depend on the
distribution's own packages.  An rpm target's builder is a Debian suite with the same rpm and
Python (see the target file): its archive says nothing about the RPM distribution, so its
index is empty: nothing is assumed present on RPM targets.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from debian.deb822 import Packages, PkgRelation
from debian.debian_support import version_compare
from packaging.utils import canonicalize_name

from repack import __version__, log
from repack.container import contents
from repack.container.engine import Engine
from repack.errors import BuildError, RepackError
from repack.files import exclusive
from repack.model import ArchiveIndex, Target
from repack.run import run

ImageKind = Literal["builder", "base", "check"]   # check: base + python3 (repack.check)
RECIPE_VERSION = 1  # bump when the way images are made changes
DIST_MAP = "/usr/share/dh-python/dist/cpython3_fallback"
ARCHIVE_IN_IMAGE = "/usr/share/repack/archive.json"
OWNED_FILES_VERSION = 2     # bump when CONTENTS_SCRIPT changes
ARCHIVE_INDEX_VERSION = 10  # bump when read_archive records more (2: sources, protected;
                            # 3: needed_by; 4: through the owner's own source;
                            # 5: needed_versions; 6: those met by name in a clause with
                            # a virtual alternative; 7: the image's installed packages;
                            # 8: Multi-Arch: allowed ones as name:any; 9: compiled_on;
                            # 10: provided)
DPKG_STATUS = "/var/lib/dpkg/status"
_INTERPRETER = re.compile(r"python3(?:\.\d+)?(?:-minimal)?")
# A Debian builder's py3compile does nothing: the python3-* packages a build installs
# byte-compile every module in their postinst, two thirds of the time installing them
# takes, in a container thrown away after one build whose Python compiles what it imports.
# Diverted, so that an upgraded python3-minimal does not bring it back.
NO_BYTE_COMPILE = (('--customize-hook=chroot "$1" dpkg-divert --quiet --local --rename '
                    '--add /usr/bin/py3compile'),
                   '--customize-hook=ln -s /bin/true "$1/usr/bin/py3compile"')
OWNED_IN_CHROOT = "/tmp/repack-owned.gz"
OWNED_SOURCE_IN_CHROOT = "/tmp/repack-owned.source"
# Runs in the new chroot (network on, during bootstrap) with "contents" or "installed".
# contents: apt fetches the Contents indices of the target's suites (apt-file's index
# targets, checked against the signed Release files like any list).  installed (rpm
# builders, whose Debian archive says nothing about the RPM distribution, and the fallback
# when a mirror serves Contents files that do not match its Release file): the files of the
# packages installed in the image, from dpkg's database, in the Contents format.  Only the
# lines for paths a repack package could collide with are kept: the merged-/usr aliases
# (/bin, /sbin, /lib*), the command directories, /etc, and the top two levels of
# dist-packages (modules and package __init__ files).  Everything else a package could ship
# under /usr has no alias: dpkg itself refuses a file another package owns.
CONTENTS_SCRIPT = r"""set -eu
KEEP='^((s?bin|lib[^/ ]*|usr/s?bin|usr/games|usr/libexec|etc)/|usr/lib/python3/dist-packages/[^/ ]+(/[^/ ]+)?[[:space:]])'
T=Acquire::IndexTargets::deb::Contents-deb
if [ "$1" = contents ] && apt-get update -q \
        -o "$T::MetaKey=\$(COMPONENT)/Contents-\$(ARCHITECTURE)" \
        -o "$T::ShortDescription=Contents-\$(ARCHITECTURE)" \
        -o "$T::Description=\$(RELEASE)/\$(COMPONENT) \$(ARCHITECTURE) Contents" \
        -o "$T::KeepCompressed=true" -o "$T::PDiffs=false"; then
    for f in /var/lib/apt/lists/*_Contents-*; do /usr/lib/apt/apt-helper cat-file "$f"; done \
        | grep -E "$KEEP" | gzip -1 > /tmp/repack-owned.gz
    echo contents > /tmp/repack-owned.source
else
    for f in /var/lib/dpkg/info/*.list; do
        p=${f##*/}; p=${p%.list}; p=${p%%:*}
        sed -n "s|^/\(.*[^/]\)\$|\1  installed/$p|p" "$f"
    done | grep -E "$KEEP" | gzip -1 > /tmp/repack-owned.gz
    echo installed > /tmp/repack-owned.source
fi
rm -f /var/lib/apt/lists/*_Contents-*
"""  # noqa: E501 (a shell regular expression, kept whole)


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    tag: str
    kind: ImageKind
    target: Target
    state_dir: Path              # holds archive.json for builder images

    @property
    def archive_file(self) -> Path:
        return self.state_dir / "archive.json"

    @property
    def lists_snapshot(self) -> Path:
        """A Debian builder's package lists as it was bootstrapped (apt checked them against
        the signed Release files then): the first `apt-get update` of a cache that has no
        lists of its own fetches only what changed since, not the whole archive's lists."""
        return self.state_dir / "apt-lists"

    @property
    def owned_index(self) -> Path:
        """The archive's files by name (repack.container.contents), made from archive.json
        once the image is found ready."""
        return self.state_dir / "owned.sqlite"

    @property
    def status_file(self) -> Path:
        """A Debian check image's dpkg status file, read out of the image once per cache: what
        its packages need is then known to be installed without a container (repack.check)."""
        return self.state_dir / "dpkg-status"


def recipe(target: Target, kind: ImageKind) -> dict[str, object]:
    spec: dict[str, object] = {
        "recipe_version": RECIPE_VERSION,
        "codename": target.bootstrap_codename,
        "suites": list(target.suites),
        "variant": "minbase",
        "packages": ["ca-certificates", *(target.toolchain if kind == "builder" else ()),
                     *(("python3",) if kind == "check" else ())],
    }
    if kind == "builder":
        spec["owned_files"] = OWNED_FILES_VERSION   # what the system owns (repack.owned)
        if target.family == "deb":                  # rpm builders record no archive index
            spec["archive_index"] = ARCHIVE_INDEX_VERSION
            spec["py3compile"] = "diverted"         # see NO_BYTE_COMPILE
    return spec


def image_for(target: Target, kind: ImageKind, cache_dir: Path) -> Image:
    digest = hashlib.sha256(json.dumps(recipe(target, kind), sort_keys=True).encode()).hexdigest()
    tag = f"localhost/repack-{kind}-{target.id}:{digest[:16]}"
    return Image(tag=tag, kind=kind, target=target,
                 state_dir=cache_dir / "images" / f"{kind}-{target.id}-{digest[:16]}")


def is_ready(engine: Engine, image: Image) -> bool:
    """The image exists; a builder's archive snapshot travels inside it (ARCHIVE_IN_IMAGE), so
    another cache directory on the same engine recovers it instead of re-bootstrapping."""
    if not engine.image_exists(image.tag):
        return False
    if image.kind == "builder" and not image.archive_file.is_file():
        try:
            data = engine.run(image.tag, ["cat", ARCHIVE_IN_IMAGE])
            json.loads(data)
        except (RepackError, ValueError):
            return False
        image.state_dir.mkdir(parents=True, exist_ok=True)
        staging = image.state_dir / f".archive.json.{os.getpid()}"
        staging.write_text(data)
        os.replace(staging, image.archive_file)
    if image.kind == "builder" and not image.owned_index.is_file() and (
            owned := load_owned_files(image)) is not None:
        contents.make(owned[0], image.owned_index)
    if image.kind == "check" and image.target.family == "deb" and not image.status_file.is_file():
        with contextlib.suppress(RepackError):      # without it, repack.check asks apt
            status = engine.run(image.tag, ["cat", DPKG_STATUS])
            image.state_dir.mkdir(parents=True, exist_ok=True)
            staging = image.state_dir / f".dpkg-status.{os.getpid()}"
            staging.write_text(status)
            os.replace(staging, image.status_file)
    return True


def ensure(engine: Engine, image: Image, *, rebuild: bool = False) -> Image:
    """Make the image unless it is already there (about 15 s for base, a minute or two
    for a builder, mostly downloading).  One run of a cache bootstraps it at a time: two
    at once (two terminals, CI jobs on one runner) would both download it and replace each
    other's tag, archive data and lists snapshot; the second waits and finds it made."""
    if not rebuild and is_ready(engine, image):
        return image
    with exclusive(image.state_dir.parent / f".{image.state_dir.name}.lock",
                   f"waiting for another repack run bootstrapping the {image.kind} image for "
                   f"{image.target.id}"):
        if not rebuild and is_ready(engine, image):
            return image
        with log.step(f"Bootstrapping {image.kind} image for {image.target.id} ({image.tag})"):
            _bootstrap(engine, image)
    return image


def _bootstrap(engine: Engine, image: Image) -> None:
    spec = recipe(image.target, image.kind)
    image.state_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="repack-image-", dir=image.state_dir.parent) as tmp:
        work = Path(tmp)
        tarball = work / "rootfs.tar"
        export = work / "export"
        export.mkdir()
        argv: list[str | os.PathLike[str]] = [
            "mmdebstrap", "--variant=minbase", "--mode=auto",
            "--include=" + ",".join(spec["packages"]),  # type: ignore[arg-type]
            "--aptopt=Acquire::Languages \"none\"",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
        ]
        copy_out = image.kind == "builder" and image.target.family == "deb"
        if any(c.isspace() for c in str(export)):
            raise BuildError(f"the cache path {export} contains white space; "
                             "set XDG_CACHE_HOME")
        if copy_out:
            # mmdebstrap's built-in copy-out hook; it runs before the lists are cleaned up.
            argv.append(f"--customize-hook=copy-out {DIST_MAP} /var/lib/apt/lists "
                        f"{DPKG_STATUS} {export}")
            argv += NO_BYTE_COMPILE
        if image.kind == "builder":
            script = work / "repack-contents.sh"
            script.write_text(CONTENTS_SCRIPT)
            mode = "contents" if image.target.family == "deb" else "installed"
            argv += [f"--customize-hook=copy-in {script} /tmp",
                     f'--customize-hook=chroot "$1" sh /tmp/repack-contents.sh {mode}',
                     ("--customize-hook=copy-out "
                      f"{OWNED_IN_CHROOT} {OWNED_SOURCE_IN_CHROOT} {export}"),
                     ('--customize-hook=rm -f "$1/tmp/repack-contents.sh" '
                      '"$1/tmp/repack-owned.gz" "$1/tmp/repack-owned.source"')]
        argv += [image.target.bootstrap_codename, tarball, *image.target.suites]
        run(argv, merge_output=True, heartbeat="mmdebstrap")     # minutes: say it is alive
        if image.kind == "builder":
            index = (read_archive(export / "lists", export / Path(DIST_MAP).name,
                                  export / Path(DPKG_STATUS).name) if copy_out
                     else ArchiveIndex())
            data: dict[str, object] = {"packages": index.packages, "dist_map": index.dist_map,
                                       "sources": index.sources,
                                       "protected": sorted(index.protected),
                                       "needed_by": index.needed_by,
                                       "needed_versions": index.needed_versions,
                                       "installed": index.installed,
                                       "installed_provides": index.installed_provides,
                                       "compiled_on": index.compiled_on,
                                       "provided": sorted(index.provided)}
            data["owned_files"] = owned_files_field(export / Path(OWNED_IN_CHROOT).name)
            source = (export / Path(OWNED_SOURCE_IN_CHROOT).name).read_text().strip()
            data["owned_source"] = source
            if source != "contents" and image.target.family == "deb":
                log.warn(f"{image.target.id}: the archive's Contents index could not be fetched "
                         "and verified (see the output above); the file-ownership check uses the "
                         "files installed in the builder image instead")
            staging = work / "archive.json"
            staging.write_text(json.dumps(data, sort_keys=True))
            with tarfile.open(tarball, "a") as tar:
                tar.add(staging, arcname=ARCHIVE_IN_IMAGE.lstrip("/"))
        # Importing under an existing tag re-tags; containers still using the old image keep it.
        engine.import_tarball(tarball, image.tag)
        if image.kind == "builder":
            image.state_dir.mkdir(parents=True, exist_ok=True)
            os.replace(staging, image.archive_file)
            if copy_out:
                shutil.rmtree(image.lists_snapshot, ignore_errors=True)
                image.lists_snapshot.mkdir()
                for path in (export / "lists").iterdir():
                    if path.is_file() and not path.is_symlink() and path.name != "lock":
                        shutil.copyfile(path, image.lists_snapshot / path.name)
        (image.state_dir.parent / "README").write_text(
            f"Created by repack {__version__}: state of the builder images (safe to delete).\n")
    # stale state of older recipes of this target is left alone: `repack image prune` later


def read_archive(lists_dir: Path, dist_map_file: Path,
                 status_file: Path | None = None) -> ArchiveIndex:
    """Highest version of every binary package in the archive's Packages lists, the source
    package and priority of that version, which of them packages of other sources need
    (`needed_by`) and in which versions (`needed_versions`), dh-python's map of dist
    names to Debian packages (normalised as PEP 503 names), which compiled Python packages
    depend on which Python packages (`compiled_on`), and the packages installed in the image
    (`read_installed`, from dpkg's status file)."""
    packages: dict[str, str] = {}
    sources: dict[str, str] = {}
    protected: set[str] = set()
    depends: dict[str, set[str]] = {}
    clauses: dict[str, set[Clause]] = {}
    provides: dict[str, set[str]] = {}
    compiled: set[str] = set()
    for path in sorted(lists_dir.glob("*_Packages")):
        with path.open("rb") as fh:
            for para in Packages.iter_paragraphs(
                    fh, use_apt_pkg=False,
                    fields=["Package", "Version", "Source", "Essential", "Priority",
                            "Depends", "Pre-Depends", "Provides", "Architecture"]):
                name, version = para.get("Package"), para.get("Version")
                if not name or not version:
                    continue
                if name not in packages or version_compare(version, packages[name]) > 0:
                    packages[name] = version
                    source = source_name(para.get("Source"), name)
                    if source != name:
                        sources[name] = source
                    else:
                        sources.pop(name, None)
                    if (para.get("Essential", "").strip() == "yes"
                            or para.get("Priority", "").strip() in ("required", "important")):
                        protected.add(name)
                    else:
                        protected.discard(name)
                    clauses[name] = (relation_clauses(para.get("Depends"))
                                     | relation_clauses(para.get("Pre-Depends")))
                    depends[name] = {a[0] for c in clauses[name] for a in c}
                    provides[name] = relation_names(para.get("Provides"))
                    if para.get("Architecture", "all").strip() == "all":
                        compiled.discard(name)
                    else:
                        compiled.add(name)
    if not packages:
        raise BuildError(f"no package lists found in {lists_dir}; cannot map dependencies")
    dist_map: dict[str, str] = {}
    for line in dist_map_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            dist_map.setdefault(canonicalize_name(parts[0]), parts[1])
    mapped = {sources.get(p, p) for p in dist_map.values() if p in packages}
    upgraded = set(dist_map.values())
    needed = needed_by(depends, provides, sources, mapped, upgraded=upgraded)
    installed, installed_provides = (read_installed(status_file.read_bytes())
                                     if status_file is not None else ({}, {}))
    # compiled on compiled: a dependency on a pure package (six, packaging, pkg-resources
    # for setuptools) is on its Python API, which a newer release keeps; the interpreter,
    # which dh-python's map names for stdlib backports, is the target's own
    extensions = {p for p in dist_map.values()
                  if p in packages and p in compiled and not _INTERPRETER.fullmatch(p)}
    compiled_on = {p: sorted(on) for p in sorted(extensions)
                   if (on := depends[p] & extensions - {p})}
    return ArchiveIndex(packages=packages, dist_map=dist_map, sources=sources,
                        protected=frozenset(protected), needed_by=needed,
                        needed_versions=needed_versions(clauses, provides, sources, needed,
                                                        upgraded=upgraded),
                        installed=installed, installed_provides=installed_provides,
                        compiled_on=compiled_on,
                        provided=frozenset(n for names in provides.values() for n in names))


def read_installed(status: bytes) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The packages dpkg's status file says are installed, name -> version, and the virtual
    packages they provide, name -> the provided versions ("" unversioned): what a build's
    dependencies are checked against before any container starts (repack.deb.build).  A
    ``Multi-Arch: allowed`` package also provides ``name:any`` at its version, as dpkg reads
    ``python3:any``."""
    installed: dict[str, str] = {}
    provided: dict[str, set[str]] = {}
    for para in Packages.iter_paragraphs(
            io.BytesIO(status), use_apt_pkg=False,
            fields=["Package", "Status", "Version", "Provides", "Multi-Arch"]):
        name, version = para.get("Package"), para.get("Version")
        if not name or not version or para.get("Status", "").split()[-1:] != ["installed"]:
            continue
        installed[name] = version
        if para.get("Multi-Arch") == "allowed":
            provided.setdefault(f"{name}:any", set()).add(version)
        for virtual, op, provided_version in relation_atoms(para.get("Provides")):
            # Policy 7.5: a Provides is unversioned or "(= version)"
            provided.setdefault(virtual, set()).add(provided_version if op == "=" else "")
    return installed, {v: sorted(versions) for v, versions in sorted(provided.items())}


def installed_relations(status: bytes, fields: Sequence[str]) -> dict[str, dict[str, str]]:
    """The relation *fields* ("Depends", "Breaks", ...) of each package dpkg's status file
    says is installed, by name; a field the package does not have is left out."""
    found: dict[str, dict[str, str]] = {}
    for para in Packages.iter_paragraphs(io.BytesIO(status), use_apt_pkg=False,
                                         fields=["Package", "Status", *fields]):
        name = para.get("Package")
        if name and para.get("Status", "").split()[-1:] == ["installed"]:
            found[name] = {f: para[f] for f in fields if para.get(f)}
    return found


def relation_names(field: str | None) -> set[str]:
    """The package names a relation field mentions, in any alternative (``a | b``) of any
    clause, without version or architecture (``python3:any`` is ``python3``)."""
    return {a[0] for a in relation_atoms(field)}


Atom = tuple[str, str, str]       # (name, operator or ":qualifier", version) of one alternative
Clause = tuple[Atom, ...]         # the alternatives of one clause: ``a (>= 1) | b``
"""(name, operator, version) of one alternative of a relation: ("alembic", ">=", "1.8.1");
("alembic", "", "") unversioned; an architecture-qualified one (``python3:any``) has the
qualifier as its operator (":any"), which no version satisfies (`repack.owned`)."""


def relation_clauses(field: str | None) -> set[Clause]:
    """Each clause of a relation field, as its alternatives (``a | b``)."""
    text = ",".join(c for c in (field or "").split(",") if c.strip())  # no empty clause
    if not text:
        return set()
    found = set()
    for clause in PkgRelation.parse_relations(text):
        alts = []
        for alt in clause:
            op, version = alt.get("version") or ("", "")
            qualifier = alt.get("archqual")
            alts.append((alt["name"], f":{qualifier}" if qualifier else op, version))
        found.add(tuple(alts))
    return found


def relation_atoms(field: str | None) -> set[Atom]:
    """Every alternative of every clause of a relation field."""
    return {atom for clause in relation_clauses(field) for atom in clause}


def needed_by(depends: Mapping[str, Collection[str]], provides: Mapping[str, Collection[str]],
              sources: Mapping[str, str], wanted: Collection[str],
              upgraded: Collection[str] = ()) -> dict[str, tuple[str, int]]:
    """For each binary package of the *wanted* sources that packages of another source
    depend on (Depends or Pre-Depends, in any alternative, by its name or a virtual package
    it Provides, or through a package of its own source that depends on it and so goes too,
    unless a build upgrades that one: *upgraded*, the packages dh-python's map names): the
    depender to name, the one most packages depend on themselves (python3-cffi-backend:
    python3-cryptography), and how many there are.  Breaks on such a package would make apt
    remove them all (repack.owned).  Recommends are left out: apt does not remove a package
    for them."""
    dependers = _dependers(depends)
    found: dict[str, tuple[str, int]] = {}
    for package in depends:
        if sources.get(package, package) not in wanted:
            continue
        others, _ = _reach(package, dependers, provides, sources, upgraded)
        if others:
            first = min(others, key=lambda d: (-len(dependers.get(d, ())), d))
            found[package] = (first, len(others))
    return found


def needed_versions(clauses: Mapping[str, Collection[Clause]],
                    provides: Mapping[str, Collection[str]], sources: Mapping[str, str],
                    needed: Collection[str], upgraded: Collection[str] = ()
                    ) -> dict[str, tuple[tuple[str, str], ...]]:
    """For each *needed* package (`needed_by`) whose dependers of other sources name it in
    every clause it meets for them: the (operator, version) they name it with, ("", "")
    unversioned.  A build that takes its files over may then Provide it in a version that
    satisfies them all, and apt keeps its dependers (repack.owned): lava-server's
    ``gunicorn (>= 19.9.0-4) | gunicorn3`` is met by a Provides of gunicorn.  One a clause
    needs only through a virtual package it Provides (python3-cffi-backend-api-min), or that
    is needed through a package of its own source that goes with it, is left out: no
    Provides of ours can honestly stand in for those."""
    dependers = _dependers({p: {a[0] for c in cs for a in c} for p, cs in clauses.items()})
    found: dict[str, tuple[tuple[str, str], ...]] = {}
    for package in needed:
        others, indirect = _reach(package, dependers, provides, sources, upgraded)
        virtual = set(provides.get(package, ()))
        named = [[(op, v) for n, op, v in clause if n == package]
                 for d in others for clause in clauses.get(d, ())
                 if any(n == package or n in virtual for n, _, _ in clause)]
        if others and not indirect and all(named):
            found[package] = tuple(sorted({atom for atoms in named for atom in atoms}))
    return found


def _dependers(depends: Mapping[str, Collection[str]]) -> dict[str, set[str]]:
    """name -> the packages that depend on it."""
    dependers: dict[str, set[str]] = {}
    for package, names in depends.items():
        for n in names:
            dependers.setdefault(n, set()).add(package)
    return dependers


def _reach(package: str, dependers: Mapping[str, Collection[str]],
           provides: Mapping[str, Collection[str]], sources: Mapping[str, str],
           upgraded: Collection[str]) -> tuple[set[str], bool]:
    """The packages of other sources that Breaks on *package* would make apt remove (see
    `needed_by`), and whether any of them is reached through another package of its source
    (one that would go with it)."""
    source = sources.get(package, package)
    gone, todo, others, indirect = {package}, [package], set(), False
    while todo:
        p = todo.pop()
        for n in {p, *provides.get(p, ())}:
            for d in dependers.get(n, ()):
                if sources.get(d, d) != source:
                    others.add(d)
                    indirect = indirect or p != package
                elif d not in gone and d not in upgraded:
                    gone.add(d)
                    todo.append(d)
    return others, indirect


def source_name(field: str | None, package: str) -> str:
    """The source package of a Packages record: its own name without a ``Source:`` field,
    else the field's name without the version dpkg adds when it differs
    (``Source: foo (1.2-1)``)."""
    name = (field or "").split("(", 1)[0].strip()
    return name or package


def owned_files_field(reduced: Path) -> str:
    """The reduced Contents lines (gzip) as archive.json carries them: base64 text.  An empty
    index is an error: it would let every file through."""
    data = reduced.read_bytes() if reduced.is_file() else b""
    try:
        lines = gzip.decompress(data).count(b"\n")
    except (OSError, EOFError):
        lines = 0
    if lines < 100:
        raise BuildError(f"the archive's Contents index could not be read ({lines} lines); "
                         "cannot check which files the target system owns")
    return base64.b64encode(data).decode()


def load_owned_files(image: Image) -> tuple[bytes, str] | None:
    """The gzip'd reduced Contents lines and where they come from ("contents": the target
    archive's index; "installed": the files installed in the builder image), None for an
    image made before repack recorded them."""
    return _loaded(image).owned


def load_archive(image: Image) -> ArchiveIndex:
    """The archive.json of a builder image."""
    return _loaded(image).archive


@dataclass(frozen=True, slots=True)
class _Loaded:
    archive: ArchiveIndex
    owned: tuple[bytes, str] | None


def _loaded(image: Image) -> _Loaded:
    """archive.json parsed once per process and content (some 6 MB of JSON that a build
    consults a dozen times; reading and hashing it costs a tenth of parsing it)."""
    raw = image.archive_file.read_bytes()
    digest = hashlib.sha256(raw).digest()
    with _LOADED_LOCK:          # builds of one run share it from their threads
        cached = _LOADED.get(image.archive_file)
        if cached is None or cached[0] != digest:
            while len(_LOADED) >= _KEEP_LOADED:
                del _LOADED[next(iter(_LOADED))]
            cached = _LOADED[image.archive_file] = (digest, _parse_archive_file(raw))
        return cached[1]


_LOADED: dict[Path, tuple[bytes, _Loaded]] = {}
_LOADED_LOCK = threading.Lock()
_KEEP_LOADED = 8        # images: a run has one per target


def _parse_archive_file(raw: bytes) -> _Loaded:
    """One made before repack recorded `needed_by` loses its sources too: without knowing
    who depends on what, no file is taken over."""
    data = json.loads(raw)
    known = "needed_by" in data
    archive = ArchiveIndex(
        packages=data["packages"], dist_map=data["dist_map"],
        sources=data.get("sources", {}) if known else {},
        protected=frozenset(data.get("protected", ())),
        needed_by={p: (d, n) for p, (d, n) in data.get("needed_by", {}).items()},
        needed_versions={p: tuple((op, v) for op, v in clauses)
                         for p, clauses in data.get("needed_versions", {}).items()},
        installed=data.get("installed", {}),
        installed_provides=data.get("installed_provides", {}),
        compiled_on=data.get("compiled_on", {}),
        provided=frozenset(data.get("provided", ())))
    owned, source = data.get("owned_files"), data.get("owned_source", "contents")
    if not isinstance(owned, str) or not isinstance(source, str):
        return _Loaded(archive=archive, owned=None)
    return _Loaded(archive=archive, owned=(base64.b64decode(owned), source))


def remove_state(image: Image) -> None:
    shutil.rmtree(image.state_dir, ignore_errors=True)


# -- repack image prune ------------------------------------------------------------------------

#: the tags image_for makes, and nothing else: prune never touches an image not repack's own
_OUR_TAG = re.compile(r"localhost/repack-(builder|base|check)-[a-z0-9][a-z0-9.+_-]*:[0-9a-f]{16}")


def current_tags(cache_dir: Path) -> set[str]:
    """The tag of every target's builder, base and check image as its recipe is today."""
    from repack import targets as target_files

    kinds: tuple[ImageKind, ...] = ("builder", "base", "check")
    return {image_for(target_files.load(t), kind, cache_dir).tag
            for t in target_files.available() for kind in kinds}


def stale_tags(tags: Iterable[str], current: Collection[str]) -> list[str]:
    """Of the engine's image tags, repack's own
    (localhost/repack-{builder,base,check}-TARGET:HASH) that are no current recipe's: images
    of older recipes, which no build uses again."""
    return sorted({t for t in tags if _OUR_TAG.fullmatch(t) and t not in current})


def engine_tags(engine: Engine) -> list[str]:
    """Every REPOSITORY:TAG the engine holds."""
    out = run([engine.name, "images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout
    return [line.strip() for line in out.decode(errors="replace").splitlines() if line.strip()]


def remove_images(engine: Engine, tags: Sequence[str]) -> list[str]:
    """`rmi` each tag (never forced: an image a container still uses stays); one line per
    tag that could not be removed."""
    failed = []
    for tag in tags:
        done = run([engine.name, "rmi", tag], check=False)
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()
            failed.append(f"{tag}: {why[-1][:200] if why else 'rmi failed'}")
    return failed
