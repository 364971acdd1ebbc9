"""C libraries a native build links, found in the sdist and mapped to the target's -dev packages.

An sdist rarely says which system libraries it needs; its build scripts and sources do:
pkg-config names (meson `dependency()`, CMake `pkg_check_modules`, string literals of a
setup.py that runs pkg-config), `*-config` tools (`xml2-config`), `libraries=[...]` and the
`#include`s of headers the sdist does not ship.  `scan` reads them from the unpacked tree
(hostile text: bounded reads, regular files only, nothing executed), `choose` maps them
through the target archive's Contents index (`DevIndex`, fetched once per builder image
into the cache by `dev_index`, checked by apt against the signed Release files) to a
bounded list of packages that become Build-Depends.  What the built extension then links
is depended on by dh_shlibdeps (`${shlibs:Depends}`), not guessed here.

What no archive has is refused before any build starts (`refuse_unbuildable`, exit 7): a
Rust extension needs a toolchain and crates the offline builder cannot download, a CUDA
one an SDK no Debian main archive ships.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from repack import log
from repack.container.engine import Engine, Mount
from repack.container.images import Image, load_archive
from repack.errors import MappingError, RepackError
from repack.files import write_file
from repack.model import Project
from repack.textsafe import one_line

__all__ = ["Chosen", "DevIndex", "NativeNeeds", "choose", "dev_index", "for_build",
           "parse_dev_contents", "refuse_unbuildable", "scan", "soname_packages"]

MAX_DEV_PACKAGES = 12          # more than this is a scan gone wrong, not a build's needs
FILE_LIMIT = 1 << 20           # bytes read of one file
TOTAL_LIMIT = 64 << 20         # bytes read of one sdist
MAX_FILES = 5000               # files read of one sdist
MAX_SIGNALS = 200              # names kept per kind

# C, C++, Cython and CUDA (for its refusal); not Objective-C (.m, .mm): the builders compile
# C and C++ only (gcc, g++), and a Python project's .m is its macOS backend (Cocoa/Cocoa.h).
SOURCE_SUFFIXES = frozenset({".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx",
                             ".pyx", ".pxd", ".pxi", ".cu", ".cuh"})
BUILD_NAMES = frozenset({"setup.py", "setup.cfg", "pyproject.toml", "meson.build",
                         "meson.options", "meson_options.txt", "cmakelists.txt"})
# Directories of another platform's sources (a vendored library's Windows, macOS, BeOS glue:
# matplotlib's agg24 platform/win32, platform/BeOS) name headers no Linux archive needs.
PLATFORM_DIRS = frozenset({"win32", "win64", "windows", "msvc", "mac", "macos", "macosx",
                           "osx", "darwin", "cocoa", "ios", "android", "beos", "haiku",
                           "amigaos"})
# "test cases": meson's own test suite, which numpy vendors (vendored-meson/meson/test cases/
# rust/.../Cargo.toml made numpy 2.0 look like a Rust project).
SKIP_DIRS = frozenset({"tests", "test", "testing", "test cases", "docs", "doc", "examples",
                       "example", "benchmarks", "benchmark", "__pycache__", *PLATFORM_DIRS})
RUST_BUILD_REQUIRES = frozenset({"setuptools-rust", "maturin", "puccinialin"})
# Where an sdist keeps other projects' sources: their CUDA files (rapidfuzz's extern/taskflow
# and its 3rd-party Eigen) are theirs, for their optional GPU support, not the project's.
VENDORED_DIRS = frozenset({"extern", "external", "third_party", "third-party", "thirdparty",
                           "3rdparty", "3rd-party", "vendor", "vendored", "subprojects"})

_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*[<"]([A-Za-z0-9_./+-]{1,200})[>"]', re.MULTILINE)
_CYTHON_EXTERN = re.compile(r'cdef\s+extern\s+from\s+["\']([A-Za-z0-9_./+-]{1,200})["\']')
_NAME = re.compile(r"[A-Za-z0-9_.+-]{1,100}")
_LITERAL = re.compile(r'["\']([A-Za-z0-9_.+-]{1,100})["\']')
_LIBRARIES = re.compile(r'libraries\s*=\s*\[([^\]]{0,2000})\]')
_MESON_LIB = re.compile(r'find_library\(\s*["\']([A-Za-z0-9_.+-]{1,100})["\']')
_MESON_DEP = re.compile(r'dependency\(\s*["\']([A-Za-z0-9_.+-]{1,100})["\']')
_CMAKE_PKG = re.compile(r'pkg_(?:check|search)_modules?\s*\(\s*[A-Za-z0-9_]+([^)]{0,500})\)',
                        re.IGNORECASE)
_CONFIG_TOOL = re.compile(r'(?<![A-Za-z0-9_.+/-])([A-Za-z0-9_.+]+(?:-[A-Za-z0-9_.+]+)*-config)'
                          r'(?![A-Za-z0-9_.+-])')
_PKG_CONFIG_USE = re.compile(r'pkg[-_]?config', re.IGNORECASE)
_RUST_TEXT = re.compile(r'\b(?:setuptools_rust|RustExtension|RustBin)\b')
_CUDA_TEXT = re.compile(r'\b(?:CUDAExtension|nvcc)\b|find_package\(\s*CUDA', re.IGNORECASE)
_CMAKE_WORDS = frozenset({"REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                          "NO_CMAKE_ENVIRONMENT_PATH"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeNeeds:
    """What an sdist's build scripts and sources say they link, as names (not packages)."""

    pkgconfig: tuple[str, ...] = ()    # "libxml-2.0"
    tools: tuple[str, ...] = ()        # "xml2-config"
    libraries: tuple[str, ...] = ()    # "yaml" (-lyaml)
    headers: tuple[str, ...] = ()      # "yaml.h", "libxml/parser.h", not shipped in the sdist
    rust: str | None = None            # why the build needs Rust, if it does
    cuda: str | None = None            # why it needs CUDA


@dataclass(frozen=True, slots=True, kw_only=True)
class DevIndex:
    """The development files of a target's archive (from its Contents index): each name ->
    the binary packages shipping it, and the packages already in the builder."""

    pkgconfig: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    libraries: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)      # under usr/include
    subheaders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # one dir deeper
    sonames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)     # libyaml-0.so.2
    # PEP 503 dist name -> (package, version) of each package whose dist-packages carry it
    dists: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    installed: frozenset[str] = frozenset()
    builder_headers: frozenset[str] = frozenset()   # "stdatomic.h", "sys/types.h", "atomic"


@dataclass(frozen=True, slots=True, kw_only=True)
class Chosen:
    packages: tuple[str, ...]          # Build-Depends to add, in order found
    reasons: tuple[str, ...]           # "libyaml-dev (yaml.h)", one per package
    dropped: tuple[str, ...] = ()      # beyond MAX_DEV_PACKAGES, or ambiguous names
    # (package, pkg-config name) of the packages chosen for a pkg-config name: an rpm spec
    # requires those as pkgconfig(NAME)
    pkgconfig: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        text = ", ".join(self.reasons) if self.reasons else "none needed"
        if self.dropped:
            text += f"; not chosen: {', '.join(self.dropped[:10])}"
        return text


# --------------------------------------------------------------------------- the scanner

def _files(tree: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of the regular files under tree, symlinks not followed, the
    directories of tests, docs and examples and hidden ones left out."""
    for dirpath, dirnames, filenames in os.walk(tree, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d.lower() not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            yield path.relative_to(tree).as_posix(), path


def _read(path: Path) -> str | None:
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):
            return None
        with path.open("rb") as fh:
            return fh.read(FILE_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return None


def _is_build_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1].lower()
    return name in BUILD_NAMES or name.endswith(".cmake") or ("/" not in rel and
                                                              name.endswith(".py"))


def _suffixes(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[i:]) for i in range(max(0, len(parts) - 3), len(parts))]


def _add(found: dict[str, None], names: list[str]) -> None:
    for n in names:
        if len(found) < MAX_SIGNALS:
            found.setdefault(n, None)


def _pc_like(name: str) -> bool:
    """A string literal near pkg-config that could be a .pc name: not a plain word."""
    return name.startswith("lib") or any(c in name for c in "-._0123456789")


@dataclass(slots=True)
class _Found:
    """The names a scan collects, in the order found, each kind bounded."""

    pkgconfig: dict[str, None] = field(default_factory=dict)
    tools: dict[str, None] = field(default_factory=dict)
    libraries: dict[str, None] = field(default_factory=dict)
    headers: dict[str, None] = field(default_factory=dict)
    rust: str | None = None
    cuda: str | None = None

    def build_text(self, rel: str, text: str) -> None:
        _add(self.tools, _CONFIG_TOOL.findall(text))
        for group in _LIBRARIES.findall(text):
            _add(self.libraries, _LITERAL.findall(group))
        _add(self.libraries, _MESON_LIB.findall(text))
        _add(self.pkgconfig, _MESON_DEP.findall(text))
        for group in _CMAKE_PKG.findall(text):
            names = [re.split(r"[<>=]", w, maxsplit=1)[0] for w in group.split()
                     if w not in _CMAKE_WORDS]
            _add(self.pkgconfig, [n for n in names if _NAME.fullmatch(n)])
        if _PKG_CONFIG_USE.search(text):
            _add(self.pkgconfig, [s for s in _LITERAL.findall(text) if _pc_like(s)])
        if self.rust is None and (m := _RUST_TEXT.search(text)):
            self.rust = f"{one_line(rel)[:200]} uses {m.group(0)}"
        # nvcc named in a vendored library's build files (rapidfuzz's extern/taskflow) is
        # that library's optional CUDA support: only the sdist's own top-level build files
        # and torch's CUDAExtension anywhere say the project needs it
        if self.cuda is None and (m := _CUDA_TEXT.search(text)) and (
                "/" not in rel or m.group(0) == "CUDAExtension"):
            self.cuda = f"{one_line(rel)[:200]} uses {m.group(0)}"

    def source_text(self, text: str, shipped: Collection[str]) -> None:
        _add(self.headers, [h for h in [*_INCLUDE.findall(text), *_CYTHON_EXTERN.findall(text)]
                            if h.lstrip("./") == h and h not in shipped])


def scan(tree: Path) -> NativeNeeds:
    """What the sources and build scripts of an unpacked sdist link (see the module doc)."""
    shipped: set[str] = set()
    sources: list[tuple[str, Path]] = []
    build: list[tuple[str, Path]] = []
    cu_files = cargo = 0
    for count, (rel, path) in enumerate(_files(tree)):
        if count >= MAX_FILES * 4:
            break
        shipped.update(_suffixes(rel))
        suffix = os.path.splitext(rel)[1].lower()
        cu_files += suffix in (".cu", ".cuh") and not VENDORED_DIRS & set(rel.split("/")[:-1])
        cargo += rel.rsplit("/", 1)[-1] == "Cargo.toml"
        if suffix in SOURCE_SUFFIXES:
            sources.append((rel, path))
        elif _is_build_file(rel):
            build.append((rel, path))
    found = _Found()
    budget = TOTAL_LIMIT
    for kind, files in (("build", build), ("source", sources)):
        for rel, path in files[:MAX_FILES]:
            text = _read(path) if budget > 0 else None
            if text is None:
                continue
            budget -= len(text)
            if kind == "build":
                found.build_text(rel, text)
            else:
                found.source_text(text, shipped)
    rust = found.rust or ("it has a Cargo.toml" if cargo else None)
    cuda = found.cuda or (f"it has {cu_files} CUDA source file(s) (.cu)" if cu_files else None)
    return NativeNeeds(pkgconfig=tuple(found.pkgconfig), tools=tuple(found.tools),
                       libraries=tuple(found.libraries), headers=tuple(found.headers),
                       rust=rust, cuda=cuda)


def refuse_unbuildable(project: Project, needs: NativeNeeds) -> None:
    """Exit 7, before any build starts, for what no target archive has: Rust crates (the
    offline builder cannot download them) when the build declares them (a maturin backend,
    a setuptools-rust build requirement), and a CUDA SDK (CUDA sources, CUDAExtension, nvcc
    in a top-level build file).  Rust the sources only mention (zstandard's optional Rust
    backend beside its C one, a Cargo.toml) is tried: a build that then fails for want of
    cargo is refused with exit 7 too (repack.fallback, MissingToolchain)."""
    name = str(project.name)
    rust = None
    backend = (project.build_backend or "").split(".", 1)[0]
    wants = sorted({str(canonicalize_name(r.name)) for r in project.build_requires}
                   & RUST_BUILD_REQUIRES)
    if backend == "maturin":
        rust = "its build backend is maturin"
    elif wants:
        rust = f"its build requires {', '.join(wants)}"
    elif needs.rust is not None and project.has_native_code:
        log.info(f"{name}: {needs.rust}, but its build declares no Rust tool: built with its "
                 "C code; if it needs cargo after all, it is refused then (exit 7)")
    if rust is not None:
        raise MappingError(f"needs a Rust toolchain and crates ({rust}), which the offline "
                           "builder cannot download", project=name)
    if needs.cuda is not None:
        raise MappingError(f"needs the CUDA SDK ({needs.cuda}), which no target archive has",
                           project=name)


# --------------------------------------------------------------------------- the Contents index

_PC_PATH = re.compile(r"usr/(?:lib/(?:[^/]+/)?|share/)pkgconfig/([^/]+)\.pc")
_TOOL_PATH = re.compile(r"usr/bin/([^/]+-config)")
_LIB_PATH = re.compile(r"usr/lib/(?:[^/]+/)?lib([^/]+)\.so")
_SONAME_PATH = re.compile(r"(?:usr/)?lib/(?:[^/]+/)?(lib[^/]+\.so\.[0-9][^/]*)")
# A distribution's metadata in the archive's python3 packages: NAME-VERSION.dist-info/METADATA,
# NAME-VERSION.egg-info (a file) or NAME-VERSION.egg-info/PKG-INFO
_DIST_PATH = re.compile(r"usr/lib/python3/dist-packages/([A-Za-z0-9_.]+)-([A-Za-z0-9_.+!]+)"
                        r"(?:-py[0-9.]+)?\.(?:dist-info/METADATA|egg-info(?:/PKG-INFO)?)")
# What python3-all-dev (every native build's Build-Depends) brings, and its alternatives:
# <Python.h> is no library to look for.
_PYTHON_DEV = re.compile(r"(lib)?python3(\.[0-9]+)?-(dev|dbg)|pypy3-dev")
# The C libraries of other targets (embedded, Windows, musl): their headers stand in for
# glibc's on another system (newlib's ieeefp.h, which psycopg2 includes on Solaris only), so
# a native build of the builder's glibc never needs them.
_OTHER_LIBC = re.compile(r"libnewlib-dev|picolibc-.*|mingw-w64(-.*)?|avr-libc|dietlibc-dev|"
                         r"musl-dev|libklibc-dev|libc6-dev-.*-cross")
_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")     # Policy 5.6.1: nothing else reaches control


def _put(index: dict[str, tuple[str, ...]], key: str, owners: tuple[str, ...]) -> None:
    before = index.get(key, ())
    index[key] = before + tuple(o for o in owners if o not in before)


def _keys(path: str) -> list[tuple[str, str]]:
    """(kind, name) of a Contents path, by the DevIndex field it goes into."""
    if path.startswith("usr/include/"):
        rel = path.removeprefix("usr/include/")
        return [("headers", rel), *([("subheaders", rel.split("/", 1)[1])] if "/" in rel else [])]
    for kind, pattern in (("pkgconfig", _PC_PATH), ("tools", _TOOL_PATH),
                          ("libraries", _LIB_PATH), ("sonames", _SONAME_PATH)):
        if m := pattern.fullmatch(path):
            return [(kind, m[1])]
    return []


def parse_dev_contents(text: str, installed: Collection[str] = (),
                       builder_headers: Collection[str] = (), *,
                       wanted: Collection[str] | None = None) -> DevIndex:
    """Contents lines (``path  section/package,section/package``) -> DevIndex; lines for
    other paths are ignored, and with *wanted* those for other names (one build's names:
    a fraction of a second instead of seconds for the whole index).  *installed*: the
    builder's packages; *builder_headers*: the include names its compilers resolve."""
    maps: dict[str, dict[str, tuple[str, ...]]] = {
        k: {} for k in ("pkgconfig", "tools", "libraries", "headers", "subheaders", "sonames")}
    dists: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        path, _, where = line.rstrip().rpartition(" ")
        path = path.strip()
        if not path or not where:
            continue
        dist = _DIST_PATH.fullmatch(path)
        keys = [(k, n) for k, n in _keys(path) if wanted is None or n in wanted]
        if not keys and dist is None:
            continue
        owners = tuple(o for loc in where.split(",")
                       if _DEB_NAME.fullmatch(o := loc.rsplit("/", 1)[-1]))
        if dist is not None and owners and (wanted is None
                                            or canonicalize_name(dist[1]) in wanted):
            found = dists.setdefault(canonicalize_name(dist[1]), {})
            found.update((o, dist[2]) for o in owners if o not in found)
        for kind, name in keys if owners else ():
            _put(maps[kind], name, owners)
    return DevIndex(**maps, dists={n: tuple(d.items()) for n, d in dists.items()},
                    installed=frozenset(installed),
                    builder_headers=frozenset(builder_headers))


def _pick(candidates: Sequence[str], chosen: Collection[str], *, strong: bool) -> str | None:
    """One package of the candidates: one already chosen, the only -dev one, or (for a
    pkg-config name or a tool, which name their library exactly) the first -dev one."""
    for c in candidates:
        if c in chosen:
            return c
    dev = [c for c in candidates if c.endswith("-dev")] or list(candidates)
    if len(dev) == 1 or (strong and dev):
        return min(dev)
    return None


def _signals(needs: NativeNeeds, index: DevIndex
             ) -> Iterator[tuple[str, tuple[str, ...], bool, str | None]]:
    """(shown as, candidate packages, strong, pkg-config name) of each name in *needs*."""
    for name in needs.pkgconfig:
        yield f"{name}.pc", index.pkgconfig.get(name, ()), True, name
    for name in needs.tools:
        yield name, index.tools.get(name, ()), True, None
    for name in needs.libraries:
        yield f"-l{name}", index.libraries.get(name, ()), False, None
    for name in needs.headers:
        if name not in index.builder_headers:
            yield name, index.headers.get(name) or index.subheaders.get(name, ()), False, None


def choose(needs: NativeNeeds, index: DevIndex, *,
           available: Collection[str] = ()) -> Chosen:
    """The packages to install for *needs*: a name an installed package already provides
    needs nothing, one no package provides is left to the build (optional headers, other
    platforms'), as is one only another target's C library provides (_OTHER_LIBC); an
    ambiguous header is left out.  At most MAX_DEV_PACKAGES."""
    packages: dict[str, list[str]] = {}
    dropped: list[str] = []
    by_pc: dict[tuple[str, str], None] = {}
    for shown, candidates, strong, pc in _signals(needs, index):
        if not candidates or any(c in index.installed or _PYTHON_DEV.fullmatch(c)
                                 for c in candidates):
            continue
        if all(_OTHER_LIBC.fullmatch(c) for c in candidates):
            continue
        usable = [c for c in candidates if (not available or c in available)
                  and not _OTHER_LIBC.fullmatch(c)]
        pick = _pick(usable, packages, strong=strong)
        if pick is None:
            dropped.append(f"{shown} (ambiguous: {', '.join(sorted(usable)[:4])})")
            continue
        if pick not in packages and len(packages) >= MAX_DEV_PACKAGES:
            dropped.append(f"{pick} ({shown}; more than {MAX_DEV_PACKAGES} packages)")
            continue
        packages.setdefault(pick, []).append(shown)
        if pc is not None:
            by_pc[(pick, pc)] = None
    return Chosen(packages=tuple(packages),
                  reasons=tuple(f"{p} ({', '.join(w[:3])})" for p, w in packages.items()),
                  dropped=tuple(dropped), pkgconfig=tuple(by_pc))


def for_build(project: Project, needs: NativeNeeds, image: Image, *, engine: Engine,
              cache_dir: Path, notes: list[str]) -> Chosen:
    """The -dev packages a build of `project` installs: the one C-library step of both
    families (Debian targets, and rpm targets in their Debian stand-in builder), looked up
    in the Contents index of `image`'s archive among the packages that archive has.  What
    was chosen and why is said on stderr and added to `notes` (the lines the build log
    starts with).  A project without native code needs none: nothing is fetched or said."""
    if not project.has_native_code:
        return Chosen(packages=(), reasons=())
    index = dev_index(engine, image, cache_dir, needs)
    chosen = choose(needs, index, available=load_archive(image).packages)
    log.info(f"{project.name}: C libraries: {chosen.describe()}")
    notes.append(f"repack: C libraries: {chosen.describe()}")
    return chosen


def soname_packages(sonames: Collection[str], index: DevIndex) -> tuple[list[str], list[str]]:
    """The packages that ship *sonames* ("libyaml-0.so.2"), for those the builder lacks, and
    the sonames no package of the archive ships: what an rpm's ELF Requires need in the
    Debian stand-in.  One package per soname: the runtime library, not a -dev or -dbg one."""
    packages: dict[str, None] = {}
    unknown = []
    for name in sonames:
        owners = index.sonames.get(name, ())
        if any(o in index.installed for o in owners):
            continue
        runtime = sorted(o for o in owners if not re.search(r"-(dev|dbg|dbgsym)$", o))
        if runtime or owners:
            packages.setdefault((runtime or sorted(owners))[0], None)
        else:
            unknown.append(name)
    return list(packages), unknown


# --------------------------------------------------------------------------- fetching it

# Runs in the builder image, network on, no upstream code: apt fetches the Contents indices
# of the target's suites (checked against the signed Release files like any list); only the
# development files are kept (headers three levels deep, .pc files, *-config tools, lib*.so)
# and the shared libraries by soname (lib*.so.N: what an rpm's ELF Requires name) and the
# python3 packages' distribution metadata (what an rpm's python3dist() Requires name),
# with the packages already installed in the builder and the headers its compilers find
# (GCC's own <stdatomic.h>, <omp.h> and C++ headers are not under usr/include).
FETCH_SCRIPT = r"""set -eu
KEEP='^(usr/include/([^/ ]+/){0,2}[^/ ]+|usr/(lib/([^/ ]+/)?|share/)pkgconfig/[^/ ]+\.pc|usr/bin/[^/ ]+-config|usr/lib/([^/ ]+/)?lib[^/ ]+\.so|(usr/)?lib/([^/ ]+/)?lib[^/ ]+\.so\.[0-9][^/ ]*|usr/lib/python3/dist-packages/[^/ ]+\.(dist-info/METADATA|egg-info(/PKG-INFO)?))[[:space:]]'
T=Acquire::IndexTargets::deb::Contents-deb
set --
if [ -f /fetch/sources.list ]; then
    set -- -o Dir::Etc::SourceList=/fetch/sources.list -o Dir::Etc::SourceParts=/fetch/parts
fi
apt-get update -q "$@" -o "$T::MetaKey=\$(COMPONENT)/Contents-\$(ARCHITECTURE)" \
    -o "$T::ShortDescription=Contents-\$(ARCHITECTURE)" \
    -o "$T::Description=\$(RELEASE)/\$(COMPONENT) \$(ARCHITECTURE) Contents" \
    -o "$T::KeepCompressed=true" -o "$T::PDiffs=false"
ls /var/lib/apt/lists/*_Contents-* >/dev/null
for f in /var/lib/apt/lists/*_Contents-*; do /usr/lib/apt/apt-helper cat-file "$f"; done \
    | grep -E "$KEEP" | gzip -1 > /out/dev-contents.gz
dpkg-query -W -f '${Package}\n' > /out/installed
for d in /usr/include /usr/include/*-linux-gnu /usr/lib/gcc/*/*/include /usr/include/c++/* \
        /usr/include/*/c++/*; do
    [ -d "$d" ] && (cd "$d" && find . -maxdepth 3 \( -type f -o -type l \) | sed 's|^\./||')
done | sort -u > /out/headers
"""  # noqa: E501 (a shell regular expression, kept whole)


CACHE_VERSION = 4      # bump when FETCH_SCRIPT or the cached layout changes
RETRY_AFTER = 6 * 3600  # seconds before a Contents index that failed is fetched again


def cache_file(image: Image, cache_dir: Path) -> Path:
    name = image.tag.rsplit("/", 1)[-1].replace(":", "-")
    return cache_dir / "dev-contents" / f"{name}-v{CACHE_VERSION}.gz"


def dev_index(engine: Engine, image: Image, cache_dir: Path,
              needs: NativeNeeds | None = None, *, sonames: Collection[str] = (),
              dists: Collection[str] = ()) -> DevIndex:
    """The DevIndex of a deb target's archive (of an rpm target's Debian stand-in builder),
    fetched once per builder image into the cache (a few MB kept).  The installed packages
    and the builder's headers travel in the same gzip file, after the lines ``#installed``
    and ``#headers``."""
    path = cache_file(image, cache_dir)
    if not _fetched(engine, image, path):
        path = path.with_name(path.name + ".fallback")
        if not _fallback(engine, image, path):
            log.warn(f"{image.target.id}: the archive's Contents index could not be fetched "
                     "and verified (a mirror mid-sync?); C libraries are not looked up, a "
                     "build that needs one fails naming it (tried again after "
                     f"{RETRY_AFTER // 3600} hours)")
            return DevIndex()
    text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    contents, _, rest = text.partition("\n#installed\n")
    installed, _, headers = rest.partition("\n#headers\n")
    wanted = None if needs is None else {*needs.pkgconfig, *needs.tools, *needs.libraries,
                                         *needs.headers, *sonames, *dists}
    return parse_dev_contents(contents, installed.split(), headers.split(), wanted=wanted)


def _fetched(engine: Engine, image: Image, dest: Path, *, sources: Sequence[str] = ()) -> bool:
    """Whether *dest* holds the index (`_fetch`'s arguments), fetched now if it does not,
    unless that failed less than RETRY_AFTER ago; a failure is remembered beside it."""
    if dest.is_file():
        return True
    failed = dest.with_name(dest.name + ".unavailable")
    try:
        if time.time() - failed.stat().st_mtime < RETRY_AFTER:
            return False
    except OSError:
        pass
    if _fetch(engine, image, dest, sources=sources):
        return True
    failed.parent.mkdir(parents=True, exist_ok=True)
    failed.touch()
    return False


def _fallback(engine: Engine, image: Image, dest: Path) -> bool:
    """The Contents index of the target's `contents_fallback` suites (another release of
    the same archive, verified against its own signed Release) in *dest*, standing in for the
    builder's own that could not be verified: a -dev package keeps its name and files
    across releases, and `choose` picks only among the packages the builder's archive has
    (its verified Packages lists), so what is installed is still the builder's archive's.
    False when the target names no such suite or it failed too (tried again, as the own
    one, after RETRY_AFTER)."""
    suites = image.target.contents_fallback
    if not suites or not _fetched(engine, image, dest, sources=suites):
        return False
    log.warn(f"{image.target.id}: the archive's Contents index could not be fetched and "
             "verified (a mirror mid-sync?); C libraries are looked up in the Contents of "
             f"{', '.join(fallback_suites(suites))} instead, among the packages of "
             f"{image.target.bootstrap_codename} (tried again after {RETRY_AFTER // 3600} "
             "hours)")
    return True


def fallback_suites(lines: Sequence[str]) -> list[str]:
    """The suite names of apt sources lines ("deb URI SUITE COMPONENT..."), once each."""
    return list(dict.fromkeys(line.split()[2] for line in lines if len(line.split()) > 2))


def _fetch(engine: Engine, image: Image, dest: Path, *, sources: Sequence[str] = ()) -> bool:
    """Fetch and keep the development lines of the Contents index (of the builder's own
    suites, or of `sources`: apt sources lines); False when apt could not fetch or verify
    it (a mirror serving Contents files that do not match its Release file, as
    repack.container.images meets too)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    what = ', '.join(fallback_suites(sources)) if sources else image.target.id
    with (log.step(f"Fetching the Contents index of {what} for C libraries "
                   "(network on, once per builder image)"),
          tempfile.TemporaryDirectory(prefix="dev-contents-", dir=dest.parent) as tmp):
        work = Path(tmp)
        for d in ("lists/partial", "out", "parts"):
            (work / d).mkdir(parents=True)
        (work / "fetch.sh").write_text(FETCH_SCRIPT)
        mounts = [Mount(source=work / "lists", target="/var/lib/apt/lists"),
                  Mount(source=work / "out", target="/out"),
                  Mount(source=work / "fetch.sh", target="/fetch/fetch.sh", readonly=True)]
        if sources:
            (work / "sources.list").write_text("".join(f"{line}\n" for line in sources))
            mounts += [Mount(source=work / "sources.list", target="/fetch/sources.list",
                             readonly=True),
                       Mount(source=work / "parts", target="/fetch/parts", readonly=True)]
        started = time.monotonic()
        try:
            output = engine.run(image.tag, ["sh", "/fetch/fetch.sh"], network=True,
                                mounts=mounts)
        except RepackError as e:
            log.debug(f"{image.target.id}: fetching the Contents index failed: {e}")
            return False
        fetched = next((ln.strip() for ln in output.splitlines() if ln.startswith("Fetched ")),
                       "Fetched nothing new")
        log.info(f"{image.target.id}: Contents index: {fetched.rstrip('.')} in "
                 f"{time.monotonic() - started:.0f} s")
        data = gzip.decompress((work / "out" / "dev-contents.gz").read_bytes())
        installed = (work / "out" / "installed").read_bytes()
        headers = (work / "out" / "headers").read_bytes()
        write_file(dest, gzip.compress(data + b"\n#installed\n" + installed + b"\n#headers\n"
                                       + headers, compresslevel=1))
    return True
