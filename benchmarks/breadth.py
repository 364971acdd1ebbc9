#!/usr/bin/env python3
"""Benchmark: how much of PyPI repack packages, on a corpus of projects ranked 121-600 by
downloads (benchmarks/breadth-corpus.tsv), for every target.

    python3 benchmarks/breadth.py [-t TARGET]... [--only NAME]... [--skip N] [--limit N]
                                  [--no-check] [--json] [--keep] [--stop-after MINUTES]
                                  [--build-timeout MINUTES] [--deps-cache DIR]
                                  [--deps-timeout MINUTES]
                                  [--record FILE [--resume | --retry-failed | --report]]

Each project is built alone, one build at a time, with `python -m repack build NAME -t TARGET
-o OUT --json --config benchmarks/breadth-repack.toml` (the per-project overrides a team would
write, each with its reason), in a fresh REPACK_CACHE_DIR (cold: no sdist, apt package or
build cached) into which the builder images' state is copied from the normal cache (their
archive index and package lists as bootstrapped), so images are reused and not bootstrapped.
A build is timed from start to exit.  Then:

- lint clean: lintian --fail-on error on the .changes (Debian targets) with the target's own
  lintian (in a container of the target's check image with lintian added from its archive,
  made once per image: Debian 13's lintian knows what its dh_numpy3 writes, Debian 12's does
  not), rpmlint with templates/rpm/repack.rpmlintrc on each .rpm and .src.rpm (RPM targets),
  the host's, as the integration tests run it;
- imported: the build's own import check (on by default where repack has it; a successful
  build passed it); with --no-check, or a repack without the check, "not checked".

A build whose import check fails because its packages do not install on the target (a
dependency the archive has too old, as sse-starlette's starlette and anyio on Debian 12) is
built again with --with-deps, as a team would: it counts as built when that build does, and
the table's "with deps" column and the goals say how many did so (their seconds, several
packages each, stay out of the medians).  With --deps-cache DIR those builds share DIR/TARGET
as their cache, kept across runs, as a team's cache is: a dependency that takes long to
compile (grpcio, for every google-cloud project on Debian) is built once, given
--deps-timeout, and reused by the next closure (the record says `warm`).

Printed per target: built / lint clean / imported counts, the failures grouped by cause (exit
code and repack's error line with names, versions and paths normalised), median and p90
build seconds, and the goals as met or MISSED:

- >= 95% of the pure-Python projects whose release admits the target's Python, and >= 80% of
  the projects with C code whose libraries the target archive has, built, lint clean and
  imported (kinds `pure`; `c-vendored` and `c-with-archive-libs`);
- a median cold build of at most 12 s per pure-Python package on debian-12.

Kinds `rust`, `cuda`, `no-sdist` and `c-newer-libs` are "cannot map" (repack builds no Rust
toolchain, CUDA or wheel-only project, and no library newer than the archive's: a project
whose newest release needs one is not among those "whose libraries the target archive has"),
and a project the index does not carry (exit 3, "not found"; with
--with-deps also a dependency it has only as wheels) is "not on the index": both are counted
apart, not as failures of a goal; so is a pure project whose
releases all exclude the target's Python (exit 7, "requires Python"), and one that repack
refuses because it or, with --with-deps, a dependency needs Rust crates or CUDA ("needs
Rust/CUDA": pyopenssl's newer cryptography on Debian 12), and a build someone stopped with a
signal (exit 129, 130, 143: "interrupted", a compile too long for the session, as
--build-timeout stops one).  A project with only
pre-releases is built again as the pin repack's hint names (exit 3, `NAME==VERSION`), and one
whose packages do not install alone (or were not import-checked: a dependency neither the
target nor the run has) again with --with-deps, as a user would; the goals say how many needed
either, and a build never import-checked counts as not imported.  Goals judged on a subset
(--only, --limit) say so.

The whole corpus on four targets takes longer than one sitting: --record FILE appends each
outcome as it ends (a JSON line with the repack tree, `git describe --dirty`, and the date),
--resume builds only what FILE has no outcome for, --retry-failed also what failed a goal
there (after a fix), --report builds nothing; the table then covers FILE's newest outcome
of every build asked, its header naming the trees and days they come from.

Progress goes to stderr, the table (or --json) to stdout.
Exit status: 0 when everything ran, 1 when a goal was MISSED, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "breadth-corpus.tsv"
# The per-project overrides (`[packages.<name>]`) every build is given, each with its reason.
OVERRIDES = Path(__file__).resolve().parent / "breadth-repack.toml"
sys.path.insert(0, str(REPO))

from packaging.version import InvalidVersion, Version

from repack import config
from repack import targets as target_files
from repack.container import images
from repack.container.engine import Mount, detect
from repack.errors import RepackError

RPMLINTRC = REPO / "templates" / "rpm" / "repack.rpmlintrc"
TARGETS = ("debian-12", "debian-13", "el9", "fedora-42")
RANKS = range(121, 601)
MIN_ENTRIES = 150
KINDS = {
    "pure": "pure Python",
    "c-vendored": "C/C++/Cython needing only libc and the Python headers (bundled sources)",
    "c-with-archive-libs": "C code linking libraries the targets' archives ship",
    "c-newer-libs": "C code needing a newer library than the targets' archives ship: cannot map",
    "rust": "Rust (maturin or setuptools-rust): cannot map",
    "cuda": "CUDA sources: cannot map",
    "no-sdist": "wheels only, no sdist: cannot map",
    "not-on-index": "not on the index",
}
GROUP_OF_KIND = {"pure": "pure", "c-vendored": "c", "c-with-archive-libs": "c",
                 "c-newer-libs": "cannot map", "rust": "cannot map", "cuda": "cannot map",
                 "no-sdist": "cannot map",
                 "not-on-index": "not on the index"}
GOAL_RATE = {"pure": 0.95, "c": 0.80}
PURE_MEDIAN_GOAL_S = 12.0
PURE_MEDIAN_TARGET = "debian-12"

# The files of an sdist that say how it builds (read as text, never run).
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "meson.build", "CMakeLists.txt")
NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx")
# Directories whose sources are not built into the package.
NOT_BUILT = {"test", "tests", "testing", "doc", "docs", "example", "examples", "benchmarks",
             "bench", "tools", "scripts", "ci", "pc", "fuzzing"}
# Libraries every target has with the compiler; linking them is not "a library beyond libc".
LIBC_LIKE = {"m", "c", "dl", "pthread", "rt", "stdc++", "util", "python", "gcc", "gcc_s"}
# Windows system libraries a setup.py names for that platform only.
WINDOWS_LIBS = {"ws2_32", "advapi32", "kernel32", "user32", "iphlpapi", "crypt32", "bcrypt",
                "secur32", "rpcrt4", "shell32", "ole32", "psapi", "winmm", "gdi32"}
_LIBRARIES = re.compile(r"libraries\s*=\s*\[([^\]]*)\]")
_LIB_CONFIGS = {"pg_config": "pq", "mysql_config": "mysqlclient", "xml2-config": "xml2",
                "xslt-config": "xslt", "krb5-config": "krb5", "curl-config": "curl"}
_PKG_CONFIG = re.compile(r"pkg[-_]?config[^\n]{0,80}?['\"]([A-Za-z0-9_.+-]+)['\"]")


class BenchError(Exception):
    pass


def progress(message: str) -> None:
    print(f"[breadth] {message}", file=sys.stderr, flush=True)


# --- the corpus --------------------------------------------------------------------------

@dataclass(frozen=True)
class Sdist:
    """What the inspector read of one sdist: member names (top directory stripped) and the
    build files' text."""

    filename: str
    members: tuple[str, ...]
    texts: Mapping[str, str]


@dataclass(frozen=True)
class CorpusEntry:
    rank: int
    name: str
    kind: str
    libs: tuple[str, ...]
    reason: str

    @property
    def group(self) -> str:
        return GROUP_OF_KIND[self.kind]


def _built_sources(members: Iterable[str]) -> list[str]:
    return [m for m in members
            if m.lower().endswith(NATIVE_SUFFIXES)
            and not NOT_BUILT.intersection(m.lower().split("/")[:-1])]


def backend_of(sdist: Sdist) -> str:
    """The PEP 517 backend the sdist names, or the legacy setuptools path."""
    text = sdist.texts.get("pyproject.toml")
    if text is not None:
        try:
            system = tomllib.loads(text).get("build-system", {})
        except tomllib.TOMLDecodeError:
            system = {}
        backend = system.get("build-backend") if isinstance(system, dict) else None
        if isinstance(backend, str) and backend:
            return backend.split(".")[0].split(":")[0]
    return "setuptools (setup.py)" if "setup.py" in sdist.texts else "setuptools (legacy)"


def linked_libraries(texts: Mapping[str, str]) -> tuple[str, ...]:
    """Libraries beyond libc the build files ask for: `libraries=[...]`, pkg-config names
    and the *-config scripts of well-known libraries.  A heuristic; the corpus is reviewed."""
    found: set[str] = set()
    for text in texts.values():
        for group in _LIBRARIES.findall(text):
            found.update(re.findall(r"['\"]([A-Za-z0-9_.+-]+)['\"]", group))
        found.update(_PKG_CONFIG.findall(text))
        found.update(lib for tool, lib in _LIB_CONFIGS.items() if tool in text)
    return tuple(sorted(lib.removeprefix("lib") for lib in found
                        if lib.removeprefix("lib").lower() not in LIBC_LIKE | WINDOWS_LIBS))


def classify(sdist: Sdist | None) -> tuple[str, tuple[str, ...], str]:
    """(kind, libraries, backend) of an sdist; kind "no-sdist" when there is none."""
    if sdist is None:
        return "no-sdist", (), ""
    backend = backend_of(sdist)
    build_text = "\n".join(sdist.texts.values())
    # a Cargo.toml alone is not enough: zstandard ships an optional Rust backend it does
    # not build by default
    if backend == "maturin" or re.search(r"setuptools[-_]rust", build_text):
        return "rust", (), backend
    if any(m.endswith(".cu") and not NOT_BUILT.intersection(m.lower().split("/")[:-1])
           for m in sdist.members):
        return "cuda", (), backend
    if not _built_sources(sdist.members):
        return "pure", (), backend
    libs = linked_libraries(sdist.texts)
    return ("c-with-archive-libs" if libs else "c-vendored"), libs, backend


def reason(kind: str, libs: Sequence[str], backend: str, summary: str, version: str) -> str:
    """One line: what kind of project the entry represents."""
    what = KINDS[kind]
    if libs:
        what += f" ({', '.join(libs)})"
    if backend:
        what += f", {backend} backend"
    if version:
        what += f", {version}"
    summary = " ".join(summary.split())[:70]
    return f"{what}: {summary}" if summary else what


def write_corpus(path: Path, entries: Sequence[CorpusEntry], *, source: str, first: int,
                 last: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(f"# The breadth benchmark's corpus: every PyPI project ranked {first}-{last} "
                 f"(a contiguous block, not picked) by the column\n# "
                 f"rank_among_15000_most_downloaded of {source}, a monthly PyPI download "
                 "ranking, classified on\n# "
                 f"{time.strftime('%Y-%m-%d', time.gmtime())} by benchmarks/breadth_inspect.py "
                 "from each newest sdist's members and build files\n# (kinds: "
                 "benchmarks/breadth.py; 'by hand:' marks a reviewed correction).\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["rank", "name", "kind", "libs", "reason"])
        for e in entries:
            writer.writerow([e.rank, e.name, e.kind, " ".join(e.libs),
                             " ".join(e.reason.split())])


def read_corpus(path: Path = CORPUS) -> list[CorpusEntry]:
    """The corpus, checked: ranks in 121-600, names unique, a known kind and a reason each."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    entries: list[CorpusEntry] = []
    seen: set[str] = set()
    for row in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
        name = (row.get("name") or "").strip()
        rank = (row.get("rank") or "").strip()
        kind = (row.get("kind") or "").strip()
        why = (row.get("reason") or "").strip()
        where = f"{path.name}: {name or '?'}"
        if not rank.isdigit() or int(rank) not in RANKS:
            raise BenchError(f"{where}: rank {rank!r} is not within 121-600")
        if kind not in KINDS:
            raise BenchError(f"{where}: unknown kind {kind!r}")
        if not why:
            raise BenchError(f"{where}: no reason")
        if name.lower() in seen:
            raise BenchError(f"{where}: listed twice")
        seen.add(name.lower())
        entries.append(CorpusEntry(int(rank), name, kind,
                                   tuple((row.get("libs") or "").split()), why))
    return entries


def select(entries: Sequence[CorpusEntry], only: Sequence[str],
           limit: int | None, skip: int = 0) -> list[CorpusEntry]:
    """--only NAME... (in the corpus's order), less the first --skip of them, then the first
    --limit of the rest: `--skip 25 --limit 30` is the corpus's rows 26 to 55."""
    chosen = list(entries)
    if only:
        wanted = {n.lower() for n in only}
        unknown = wanted - {e.name.lower() for e in entries}
        if unknown:
            raise BenchError(f"not in the corpus: {', '.join(sorted(unknown))}")
        chosen = [e for e in entries if e.name.lower() in wanted]
    chosen = chosen[skip:]
    return chosen[:limit] if limit is not None else chosen


# --- one build ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One project built for one target."""

    name: str
    target: str
    kind: str
    exit_code: int
    seconds: float
    error: str = ""                  # the first "error:" line, when it failed
    lint_clean: bool | None = None   # None: not linted (not built)
    lint_error: str = ""             # the first error tag of a linter
    imported: bool | None = None     # None: not checked
    bootstrapped: bool = False       # the build bootstrapped an image: not a cold figure
    with_deps: bool = False          # built again with --with-deps (needs_deps said so)
    alone_error: str = ""            # with_deps: the error of the build alone
    hint: str = ""                   # the "hint:" line, when it failed
    pinned: str = ""                 # built as NAME==VERSION: only pre-releases exist
    unchecked: str = ""              # built, but repack's "not import-checked" warning
    warm: bool = False               # with_deps built in --deps-cache (reusing what is there)

    @property
    def built(self) -> bool:
        return self.exit_code == 0

    @property
    def group(self) -> str:
        """The goal group, or why the build is counted apart."""
        if self.exit_code == 3 and ("not found" in self.error or (
                self.with_deps and WHEELS_ONLY in self.error)):
            return "not on the index"
        if self.exit_code == 7 and "requires Python" in self.error:
            return "python excluded"
        if self.exit_code == 7 and any(m in self.error for m in UNBUILDABLE):
            return "needs Rust/CUDA"
        if self.exit_code in INTERRUPTED or (self.exit_code == 137 and TIMED_OUT in self.error):
            return "interrupted"
        return GROUP_OF_KIND[self.kind]

    @property
    def ok(self) -> bool:
        return self.built and self.lint_clean is True and self.imported is not False


# A dependency the index carries only as wheels (exit 3 of a --with-deps build): this
# index's gap (langchain-core's certifi>=2026.10.19, whose sdists it lacks), as a project it
# does not carry at all.
WHEELS_ONLY = "has only wheels, no sdist"
# repack's exit-7 refusals of what no builder has (clibs.refuse_unbuildable), for the project
# or, with --with-deps, a dependency it cannot do without (pyopenssl's cryptography,
# pydantic-ai-slim's pydantic-core): as unbuildable here as a Rust project of the corpus.
UNBUILDABLE = ("needs a Rust toolchain and crates", "needs the CUDA SDK")
# A build stopped by a signal (repack's exit 128 + N: SIGHUP, SIGINT, SIGTERM), as one stops a
# compile too long for the session (scikit-learn's on a loaded 2-core machine), measured
# nothing: counted apart, not as a failure of a goal.
INTERRUPTED = frozenset({129, 130, 143})
# run_limited's line for a build past --build-timeout; one that had not ended a minute after
# SIGTERM was killed (137), still the benchmark's own stop, not a failure of the build.
TIMED_OUT = "(--build-timeout)"
APART = ("not on the index", "cannot map", "python excluded", "needs Rust/CUDA", "interrupted")


_VERSION = re.compile(r"\b\d+(?:[.\-_+~]\w+)*\b")
_HEX = re.compile(r"\b[0-9a-f]{8,}\b")
_PATH = re.compile(r"(?<![\w.])/[^\s:'\"),]+")


def normalise(line: str, name: str) -> str:
    """An error line with what differs between projects replaced, so that one cause
    groups: `error: foo: foo==2.0 requires Python >=3.12` -> `<name>==<v> requires ...`."""
    text = line.strip().removeprefix("error:").strip()
    for spelling in {name, name.lower(), name.replace("-", "_"), name.replace("_", "-")}:
        text = re.sub(rf"(?i)(?<![\w.]){re.escape(spelling)}(?![\w])", "<name>", text)
    text = text.removeprefix("<name>:").strip()
    text = _PATH.sub("<path>", text)
    text = _HEX.sub("<hex>", text)
    text = _VERSION.sub("<v>", text)
    return text[:120]


def cause(outcome: Outcome) -> str | None:
    """What a failing build is grouped by: exit code and normalised error line, or the
    linter's first error tag; None when it did not fail."""
    found = None
    if not outcome.built:
        found = f"exit {outcome.exit_code}: {normalise(outcome.error, outcome.name) or '?'}"
    elif outcome.lint_clean is False:
        found = f"lint: {outcome.lint_error or '?'}"
    elif outcome.imported is False:
        found = (f"not import-checked: {normalise(outcome.unchecked, outcome.name)}"
                 if outcome.unchecked else "import check failed")
    return f"with --with-deps: {found}" if found and outcome.with_deps else found


def needs_deps(exit_code: int, error: str) -> bool:
    """Whether a failed build is one --with-deps may fix: the import check's packages do not
    install (exit 14), as when the target archive's versions of a dependency are too old."""
    return exit_code == 14 and "do not install" in error


def not_checked(stderr: str) -> str:
    """repack's warning that a built package was not import-checked (a dependency neither the
    target nor the run provides): the build succeeded, but nothing showed that it imports, so
    it counts as not imported (and is built again with --with-deps, as the warning says)."""
    return next((ln.partition("warning: ")[2] for ln in stderr.splitlines()
                 if ln.startswith("warning: ") and ": not import-checked: " in ln), "")


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit)(?::|$)")


def first_error(stderr: str) -> str:
    """repack's "error:" line, the last one (rpmbuild's own "error: Bad exit status ..."
    in the build log's tail comes before it and names no package: a --with-deps run's says
    which dependency failed); when it only says a command failed, the exception the
    command's Python printed last comes first, so that causes group by it (the command
    line itself, a hook script, says nothing about the cause)."""
    lines = stderr.splitlines()
    at = next((i for i in reversed(range(len(lines))) if lines[i].startswith("error:")), None)
    if at is None:
        rest = [ln for ln in lines if ln.strip()]
        return rest[-1] if rest else ""
    line = lines[at]
    if ": command failed with exit code" in line:
        raised = [ln.strip() for ln in lines[:at] if _EXCEPTION.match(ln.strip())]
        if raised:
            head, _, _ = line.partition(": command failed")
            return f"{head}: {raised[-1]} (a command failed)"
    return line


_LINTIAN_TAG = re.compile(r"^E: [^:]+: (\S+)", re.MULTILINE)
_RPMLINT_TAG = re.compile(r"^\S+: E: (\S+)", re.MULTILINE)


def lint_tag(report: str) -> str:
    m = _LINTIAN_TAG.search(report) or _RPMLINT_TAG.search(report)
    return m[1] if m else ""


def lint(artifacts: Sequence[Mapping[str, Any]], target: str,
         lintian: str | None = None) -> tuple[bool, str]:
    """(clean, first error tag) of the build's artifacts: lintian in the image `lintian`
    (the target's: `lintian_image`; None: the host's), the host's rpmlint."""
    if target.startswith("debian"):
        paths = [Path(a["path"]) for a in artifacts if a.get("format") == "changes"]
        argv = [lintian_command(lintian, p) for p in paths]
    else:
        # one file at a time: rpmlint 2.4 mixes up the specs of several .src.rpm in one run
        rpms = [a["path"] for a in artifacts if str(a["path"]).endswith(".rpm")]
        argv = [["rpmlint", "--ignore-unused-rpmlintrc", "-r", str(RPMLINTRC), p]
                for p in rpms]
    if not argv:
        return False, "no package to lint"
    for args in argv:
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return False, lint_tag(proc.stdout + proc.stderr) or f"{args[0]} exit " \
                f"{proc.returncode}"
    return True, ""


LINTIAN_IMAGE = "localhost/breadth-lintian-{target}:{tag}"
# What the target's own lintian reads: the directory of the .changes, read-only.
LINTED = "/lint"


def lintian_image(target: str, cache: Path) -> str:
    """The tag of an image that is the target's check image (repack's, as current) with
    the target archive's lintian added, made once per check image: what lints that
    target's packages as its own release would."""
    engine = detect(config.load().engine)
    check = images.ensure(engine, images.image_for(target_files.load(target), "check", cache))
    tag = LINTIAN_IMAGE.format(target=target, tag=check.tag.rpartition(":")[2])
    if engine.image_exists(tag):
        return tag
    progress(f"adding lintian to {target}'s check image from its archive ({tag})")
    with engine.container(check.tag, network=True) as c:
        c.exec(["apt-get", "update", "-q"], project=target)
        c.exec(["apt-get", "install", "-y", "-q", "--no-install-recommends", "lintian"],
               env={"DEBIAN_FRONTEND": "noninteractive"}, project=target)
        subprocess.run([engine.name, "commit", "--quiet", c.name, tag], check=True,
                       stdout=subprocess.DEVNULL)
    return tag


def lintian_command(image: str | None, changes: Path) -> list[str]:
    """lintian on a .changes: the host's, or in `image`, offline, the .changes' directory
    mounted read-only."""
    options = ["--fail-on", "error", "--no-tag-display-limit"]
    if image is None:
        return ["lintian", *options, str(changes)]
    mount = Mount(source=changes.parent, target=LINTED, readonly=True)
    return detect(config.load().engine).run_argv(
        image, ["lintian", *options, f"{LINTED}/{changes.name}"], mounts=[mount])


def fresh_cache(source: Path, tmp: Path) -> Path:
    """An empty cache with the builder images' state (the images themselves are global)."""
    return images_state(source, tmp / "cache")


def images_state(source: Path, cache: Path) -> Path:
    """`cache` (made if missing, its other contents kept) with the builder images' state
    of `source` copied in, as it is now."""
    cache.mkdir(parents=True, exist_ok=True)
    if (source / "images").is_dir():
        shutil.copytree(source / "images", cache / "images", symlinks=True,
                        ignore=shutil.ignore_patterns("repack-image-*"), dirs_exist_ok=True)
    return cache


@dataclass(frozen=True)
class Options:
    """What every build of a run is given."""

    source_cache: Path                  # the builder images' state is copied from here
    no_check: bool = False
    check_supported: bool = True        # this repack has the import check
    keep: bool = False                  # keep each build's temp dir
    timeout: float | None = None        # seconds, then SIGTERM
    linters: Mapping[str, str] = field(default_factory=dict)   # Debian target: lintian image
    deps_cache: Path | None = None      # --with-deps builds' kept cache, per target below it
    deps_timeout: float | None = None   # seconds, for --with-deps builds (default timeout)


def build(entry: CorpusEntry, target: str, opts: Options) -> Outcome:
    """One project built alone, again as the pre-release repack's hint names when it has no
    final release, and again with --with-deps when needs_deps says so: what a user does
    after reading the error.  The --with-deps build uses deps_cache/TARGET as its cache
    when there is one (`warm`: what an earlier closure built there is reused)."""
    first = build_once(entry, target, opts)
    pin = prerelease_pin(first.exit_code, first.hint, entry.name)
    if pin:
        progress(f"{target} {entry.name}: only pre-releases; building {pin}")
        first = build_once(entry, target, opts, spec=pin)
    if not (needs_deps(first.exit_code, first.error) or first.unchecked):
        return first
    progress(f"{target} {entry.name}: {cause(first)}; building again with --with-deps")
    warm = opts.deps_cache / target if opts.deps_cache else None
    again = build_once(entry, target, opts, spec=first.pinned or None, with_deps=True,
                       cache=warm, timeout=opts.deps_timeout or opts.timeout)
    return Outcome(**{**asdict(again), "with_deps": True, "alone_error": first.error,
                      "warm": warm is not None})


_PRE_HINT = re.compile(r"hint: ask for a pre-release explicitly, e\.g\. (\S+)==(\S+)")


def prerelease_pin(exit_code: int, hint: str, name: str) -> str:
    """``NAME==VERSION`` when repack refused because only pre-releases exist (exit 3) and its
    hint names the newest; "" otherwise.  The version must parse, and the name is the
    corpus's own, so nothing repack printed reaches the command line but a version."""
    found = _PRE_HINT.fullmatch(hint.strip()) if exit_code == 3 else None
    if found is None:
        return ""
    try:
        version = Version(found.group(2))
    except InvalidVersion:
        return ""
    return f"{name}=={version}" if version.is_prerelease else ""


def run_limited(argv: Sequence[str], env: Mapping[str, str],
                timeout: float | None) -> subprocess.CompletedProcess[str]:
    """Run one build; past `timeout` seconds it gets SIGTERM, on which repack removes its
    containers and exits 143 (counted apart as interrupted), and SIGKILL a minute later."""
    with subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            minutes = (timeout or 0) / 60
            err += f"\nerror: stopped after {minutes:g} minutes {TIMED_OUT}\n"
        except BaseException:
            # Ctrl-C reached the build too: let it remove its containers (a second signal
            # could cut that short), and stop it only if it did not get the first one
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()
            raise
    # killed by a signal (-N): 128 + N, as a shell and repack itself say it
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return subprocess.CompletedProcess(argv, code, out, err)


def build_once(entry: CorpusEntry, target: str, opts: Options, *, with_deps: bool = False,
               spec: str | None = None, cache: Path | None = None,
               timeout: float | None = None) -> Outcome:
    """One `repack build` in a fresh cache, or in `cache` (kept) when given; `timeout`
    (default the run's) in seconds."""
    tmp = Path(tempfile.mkdtemp(prefix=f"breadth-{target}-"))
    try:
        cache = images_state(opts.source_cache, cache) if cache else \
            fresh_cache(opts.source_cache, tmp)
        env = {**os.environ, "REPACK_CACHE_DIR": str(cache)}
        argv = [sys.executable, "-m", "repack", "build", spec or entry.name, "-t", target,
                "-o", str(tmp / "out"), "--json", "--config", str(OVERRIDES)]
        if opts.no_check and opts.check_supported:
            argv.append("--no-check")
        if with_deps:
            argv.append("--with-deps")
        start = time.monotonic()
        proc = run_limited(argv, env, timeout or opts.timeout)
        seconds = time.monotonic() - start
        base = Outcome(entry.name, target, entry.kind, proc.returncode, seconds,
                       bootstrapped="Bootstrapping" in proc.stderr, pinned=spec or "")
        if proc.returncode != 0:
            # the build's temp dir ("built packages are in /tmp/breadth-...") says nothing
            # kept: <tmp>, so that a record names no path of the machine that ran it
            stderr = proc.stderr.replace(str(tmp), "<tmp>")
            hint = next((ln for ln in stderr.splitlines() if ln.startswith("hint:")), "")
            return Outcome(**{**asdict(base), "error": first_error(stderr), "hint": hint})
        try:
            artifacts = json.loads(proc.stdout).get("artifacts", [])
        except json.JSONDecodeError:
            return Outcome(**{**asdict(base), "exit_code": -1,
                              "error": "error: --json printed no JSON object"})
        clean, tag = lint(artifacts, target, opts.linters.get(target))
        unchecked = not_checked(proc.stderr)
        imported = None if (opts.no_check or not opts.check_supported) else not unchecked
        return Outcome(**{**asdict(base), "lint_clean": clean, "lint_error": tag,
                          "imported": imported, "unchecked": unchecked})
    finally:
        if opts.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def ready_images(targets: Sequence[str], cache: Path) -> dict[str, str]:
    """Have each target's builder image ready in `cache`, whose state every build's fresh
    cache copies: `repack image build` recovers it from the engine or bootstraps it once,
    before any build is timed.  Returns each Debian target's lintian image."""
    engine = detect(config.load().engine)
    for target in targets:
        # the check image's state too (its dpkg status), when the image is there already
        images.is_ready(engine, images.image_for(target_files.load(target), "check", cache))
        image = images.image_for(target_files.load(target), "builder", cache)
        if images.is_ready(engine, image):
            continue
        progress(f"the builder image for {target} is not ready in {cache}: repack image build")
        proc = subprocess.run([sys.executable, "-m", "repack", "image", "build", target],
                              cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise BenchError(f"repack image build {target} failed: {first_error(proc.stderr)}")
    return {t: lintian_image(t, cache) for t in targets if t.startswith("debian")}


def check_supported() -> bool:
    """Whether this repack has the import check (`build --no-check`)."""
    proc = subprocess.run([sys.executable, "-m", "repack", "build", "--help"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    return "--no-check" in proc.stdout


# --- the record: outcomes kept across runs ------------------------------------------------

RECORD_VERSION = 1


@dataclass(frozen=True)
class Recorded:
    """One outcome as --record keeps it: which tree built it, and when."""

    outcome: Outcome
    commit: str          # `git describe --always --dirty` of the tree that built it
    date: str            # UTC, ISO 8601, when the build ended
    cpu_s: float | None = None   # the run's cpu_seconds(): how fast the machine was

    @property
    def failed(self) -> bool:
        """Failed a goal's group (not ok, not counted apart): what --retry-failed builds."""
        return not self.outcome.ok and self.outcome.group not in APART


def cpu_seconds() -> float:
    """Seconds this machine takes for a fixed pure-Python loop (about 0.4 s on a 2024 desktop
    core): build seconds of runs on different days, or machines, compare only beside it."""
    start = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return round(time.process_time() - start, 2)


def tree_commit() -> str:
    """The repack tree the builds run from, as `git describe --always --dirty` says ("" when
    it is not a git checkout): outcomes of different trees are told apart in the table."""
    proc = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty",
                           "--abbrev=10"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def append_record(path: Path, outcome: Outcome, commit: str,
                  cpu: float | None = None) -> Recorded:
    """Append one outcome to the record as a JSON line, synced before the next build starts:
    a run stopped by any means keeps every build it finished."""
    kept = Recorded(outcome, commit, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), cpu)
    line = json.dumps({"v": RECORD_VERSION, "commit": commit, "date": kept.date,
                       "load": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                       "cpu_s": cpu, "outcome": asdict(outcome)}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return kept


def _recorded(line: str, kinds: Mapping[str, str]) -> Recorded:
    """One line of the record; ValueError (KeyError, TypeError) when it is not one."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("v") != RECORD_VERSION:
        raise ValueError("not a version-1 record")
    fields = dict(data["outcome"])
    # the corpus's kind now: a reviewed correction applies to outcomes recorded before it
    fields["kind"] = kinds[str(fields["name"]).lower()]
    cpu = data.get("cpu_s")
    return Recorded(Outcome(**fields), str(data["commit"]), str(data["date"]),
                    float(cpu) if isinstance(cpu, (int, float)) else None)


def read_record(path: Path, corpus: Sequence[CorpusEntry]) -> dict[tuple[str, str], Recorded]:
    """The newest recorded outcome of each (target, project), by the record's order (later
    lines win: building a project again replaces its outcome).  No file: nothing recorded.
    A line that is not a record (a run killed mid-write, a project no longer in the corpus)
    is skipped with a warning."""
    kinds = {e.name.lower(): e.kind for e in corpus}
    newest: dict[tuple[str, str], Recorded] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return newest
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            kept = _recorded(line, kinds)
        except (ValueError, KeyError, TypeError) as e:
            progress(f"warning: {path.name} line {number} skipped: not an outcome of this "
                     f"corpus ({type(e).__name__}: {str(e)[:80]})")
            continue
        newest[(kept.outcome.target, kept.outcome.name.lower())] = kept
    return newest


def provenance(kept: Iterable[Recorded]) -> str:
    """Which trees and days the reported outcomes come from, for the table's header."""
    kept = list(kept)
    if not kept:
        return ""
    commits = Counter(k.commit or "?" for k in kept)
    days = sorted(k.date[:10] for k in kept)
    span = days[0] if days[0] == days[-1] else f"{days[0]} to {days[-1]}"
    trees = ", ".join(f"{c} ({n})" for c, n in commits.most_common())
    cpu = sorted(k.cpu_s for k in kept if k.cpu_s is not None)
    loop = "" if not cpu else f", reference loop {cpu[0]:.2f}" + \
        ("" if cpu[0] == cpu[-1] else f" to {cpu[-1]:.2f}") + " s"
    return f"{len(kept)} recorded outcomes, built {span}, by repack {trees}{loop}"


# --- the summary -------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100), nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Goal:
    what: str
    target: str
    value: str
    met: bool | None          # None: not judged (nothing to judge, or imports not checked)
    note: str = ""

    @property
    def verdict(self) -> str:
        return "n/a" if self.met is None else ("met" if self.met else "MISSED")


@dataclass(frozen=True)
class TargetSummary:
    target: str
    builds: int
    built: int
    lint_clean: int
    imported: int | None                  # None: not checked
    apart: dict[str, int]                 # group -> builds counted apart
    causes: list[tuple[str, int]]         # failures by cause, most frequent first
    median_s: float | None
    p90_s: float | None
    pure_median_s: float | None
    goals: list[Goal] = field(default_factory=list)
    with_deps: int = 0                    # built, lint clean and imported only with --with-deps


def rate_goal(outcomes: Sequence[Outcome], group: str, target: str) -> Goal:
    eligible = [o for o in outcomes if o.group == group]
    rate = GOAL_RATE[group]
    what = (f">= {rate:.0%} of pure-Python projects admitting the target's Python"
            if group == "pure" else
            f">= {rate:.0%} of projects with C code whose libraries the archive has")
    what += " built, lint clean and imported"
    if not eligible:
        return Goal(what, target, "0 of 0", None, "none in this run")
    ok = sum(o.ok for o in eligible)
    value = f"{ok} of {len(eligible)} ({ok / len(eligible):.0%})"
    if deps := sum(o.ok and o.with_deps for o in eligible):
        value += f", {deps} of them with --with-deps"
    if pins := sum(o.ok and bool(o.pinned) for o in eligible):
        value += f", {pins} as the pre-release repack's hint names"
    met: bool | None = ok / len(eligible) >= rate
    note = ""
    if any(o.imported is None for o in eligible if o.built):
        note = "imports not checked"
        met = None if met else False
    return Goal(what, target, value, met, note)


def summarise(target: str, outcomes: Sequence[Outcome]) -> TargetSummary:
    mine = [o for o in outcomes if o.target == target]
    built = [o for o in mine if o.built]
    apart = Counter(o.group for o in mine if o.group in APART)
    causes = Counter(c for o in mine
                     if o.group in ("pure", "c") and (c := cause(o)) is not None)
    # one cold package each: no bootstrap, no --with-deps run of several packages
    single = [o for o in built if not o.bootstrapped and not o.with_deps]
    seconds = [o.seconds for o in single]
    pure_s = [o.seconds for o in single if o.group == "pure"]
    checked = [o.imported for o in built if o.imported is not None]
    summary = TargetSummary(
        target=target, builds=len(mine), built=len(built),
        lint_clean=sum(o.lint_clean is True for o in built),
        imported=sum(checked) if checked else None,
        apart=dict(sorted(apart.items())),
        causes=sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])),
        median_s=statistics.median(seconds) if seconds else None,
        p90_s=percentile(seconds, 90),
        pure_median_s=statistics.median(pure_s) if pure_s else None,
        with_deps=sum(o.ok and o.with_deps for o in mine))
    goals = [rate_goal(mine, "pure", target), rate_goal(mine, "c", target)]
    if target == PURE_MEDIAN_TARGET:
        med = summary.pure_median_s
        goals.append(Goal(f"median cold build of a pure-Python package <= "
                          f"{PURE_MEDIAN_GOAL_S:g} s", target,
                          "n/a" if med is None else f"{med:.1f} s",
                          None if med is None else med <= PURE_MEDIAN_GOAL_S))
    return TargetSummary(**{**summary.__dict__, "goals": goals})


def seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(summaries: Sequence[TargetSummary]) -> list[str]:
    lines = [("| target | builds | built | lint clean | imported | with deps | median s | p90 s "
             "| pure median s | apart |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        apart = ", ".join(f"{k} {v}" for k, v in s.apart.items()) or "-"
        imported = "not checked" if s.imported is None else str(s.imported)
        lines.append(f"| {s.target} | {s.builds} | {s.built} | {s.lint_clean} | {imported} | "
                     f"{s.with_deps} | {seconds_text(s.median_s)} | {seconds_text(s.p90_s)} | "
                     f"{seconds_text(s.pure_median_s)} | {apart} |")
    return lines


def report(summaries: Sequence[TargetSummary], *, subset: str) -> list[str]:
    lines = table(summaries)
    for s in summaries:
        lines.append("")
        lines.append(f"{s.target}: failures by cause")
        lines.extend(f"  {n:3d}  {c}" for c, n in s.causes) if s.causes else \
            lines.append("  none")
    lines.append("")
    lines.append(f"goals{subset}:")
    for s in summaries:
        for g in s.goals:
            note = f" ({g.note})" if g.note else ""
            lines.append(f"  {g.verdict:<6} {g.target}: {g.what}: {g.value}{note}")
    return lines


def as_json(summaries: Sequence[TargetSummary], outcomes: Sequence[Outcome],
            subset: str, recorded: Sequence[Recorded] = ()) -> dict[str, Any]:
    """The table as JSON; with the record's outcomes, each build names its tree and date."""
    trees = {id(k.outcome): {"commit": k.commit, "date": k.date} for k in recorded}
    return {
        "subset": subset.strip(" ()") or None,
        "targets": [{**asdict(s), "goals": [{**asdict(g), "verdict": g.verdict}
                                            for g in s.goals]} for s in summaries],
        "builds": [{**asdict(o), "group": o.group, "cause": cause(o),
                    **trees.get(id(o), {})} for o in outcomes],
    }


# --- main --------------------------------------------------------------------------------

class Stop:
    """When to start no further build: after --stop-after minutes, or once SIGTERM came (the
    build under way finishes, so no container is left behind; the table covers what ran).
    Ctrl-C stops the build under way as well (it gets the SIGINT too), which then does not
    count; the table covers the builds before it."""

    def __init__(self, minutes: float | None) -> None:
        self.deadline = None if minutes is None else time.monotonic() + 60 * minutes
        self.why = ""

    def term(self, signum: int, frame: object) -> None:
        """The SIGTERM handler."""
        self.why = "SIGTERM"
        progress("SIGTERM: stopping after the build under way")

    def now(self) -> bool:
        if not self.why and self.deadline is not None and time.monotonic() >= self.deadline:
            self.why = "--stop-after"
        return bool(self.why)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-t", "--target", action="append", choices=TARGETS,
                        help="a target (repeatable; default all four)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="build only this project of the corpus (repeatable)")
    parser.add_argument("--limit", type=int, help="build only the first N projects")
    parser.add_argument("--skip", type=int, default=0, metavar="N",
                        help="leave out the first N projects (before --limit): the next slice")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the import check (imported: not checked)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--keep", action="store_true", help="keep each build's temp dir")
    parser.add_argument("--stop-after", type=float, metavar="MINUTES",
                        help="start no build after this many minutes; the table covers "
                             "the builds done (SIGTERM does the same at once)")
    parser.add_argument("--build-timeout", type=float, metavar="MINUTES",
                        help="stop a build (SIGTERM) that runs longer: counted apart as "
                             "interrupted, a compile too long for this machine")
    parser.add_argument("--deps-cache", type=Path, metavar="DIR",
                        help="build --with-deps in DIR/TARGET as the cache, kept across "
                             "builds and runs: a dependency compiled once (grpcio) is reused "
                             "by the next closure, as a team's cache is (their seconds stay "
                             "out of the medians; builds alone are always cold)")
    parser.add_argument("--deps-timeout", type=float, metavar="MINUTES",
                        help="--build-timeout for --with-deps builds (default the same): "
                             "time for a closure's long compile, once with --deps-cache")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="append each build's outcome to FILE (JSON lines, with the "
                             "repack tree and date) as it ends; the table then covers FILE's "
                             "newest outcome of each project and target asked, so that runs "
                             "add up (e.g. benchmarks/breadth-record.jsonl)")
    parser.add_argument("--resume", action="store_true",
                        help="with --record: build only what FILE has no outcome for")
    parser.add_argument("--retry-failed", action="store_true",
                        help="with --record: also build again what failed a goal there "
                             "(implies --resume)")
    parser.add_argument("--report", action="store_true",
                        help="with --record: build nothing, print the table of what FILE "
                             "holds for the projects and targets asked")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.skip < 0:
        parser.error("--skip must not be negative")
    for option in ("build_timeout", "deps_timeout"):
        if getattr(args, option) is not None and getattr(args, option) <= 0:
            parser.error(f"--{option.replace('_', '-')} must be positive")
    if (args.resume or args.retry_failed or args.report) and args.record is None:
        parser.error("--resume, --retry-failed and --report need --record FILE")
    args.resume = args.resume or args.retry_failed
    return args


@dataclass(frozen=True)
class Plan:
    """What one run builds, in order, and what its table covers."""

    asked: list[tuple[str, CorpusEntry]]       # every (target, project) asked
    todo: list[tuple[str, CorpusEntry]]        # the ones built now
    corpus_size: int
    projects: int                              # projects asked


def plan(corpus: Sequence[CorpusEntry], chosen: Sequence[CorpusEntry], targets: Sequence[str],
         record: Mapping[tuple[str, str], Recorded], *, resume: bool,
         retry_failed: bool) -> Plan:
    """The builds asked, target by target, less with --resume those the record has an
    outcome for (with --retry-failed, but for those that failed a goal)."""
    asked = [(t, e) for t in targets for e in chosen]

    def wanted(target: str, entry: CorpusEntry) -> bool:
        kept = record.get((target, entry.name.lower()))
        return not resume or kept is None or (retry_failed and kept.failed)

    return Plan(asked, [(t, e) for t, e in asked if wanted(t, e)], len(corpus), len(chosen))


def coverage(run: Plan, reported: int, why_stopped: str) -> str:
    """The table's qualifier: "" for the whole corpus on every target asked, else what it
    covers."""
    asked = len(run.asked)
    if reported == asked:
        return "" if run.projects == run.corpus_size else \
            f" (subset: {run.projects} of the corpus's {run.corpus_size} projects)"
    head = "stopped" if why_stopped else "partial"
    return (f" ({head}: {reported} of {asked} builds, {run.projects} of the corpus's "
            f"{run.corpus_size} projects asked)")


def run_builds(run: Plan, args: argparse.Namespace, opts: Options, *, stop: Stop,
               ) -> list[Outcome]:
    """Build each of run.todo in turn, appending each outcome to --record as it ends."""
    commit = tree_commit() if args.record else ""
    cpu = cpu_seconds()
    progress(f"this machine's reference loop: {cpu:.2f} s of CPU (cpu_seconds)")
    outcomes: list[Outcome] = []
    for i, (target, entry) in enumerate(run.todo, 1):
        if stop.now():
            break
        try:
            o = build(entry, target, opts)
        except KeyboardInterrupt:   # Ctrl-C reached the build too: it does not count
            stop.why = f"interrupted during {entry.name}"
            break
        outcomes.append(o)
        if args.record:
            append_record(args.record, o, commit, cpu)
        state = (cause(o) or o.group) if not o.ok else \
            ("ok" if o.imported else "ok (import not checked)")
        if o.ok and o.with_deps:
            state += " with --with-deps"
        progress(f"{target} {i}/{len(run.todo)} {entry.name} ({entry.kind}): "
                 f"{o.seconds:.1f}s {state}")
    if len(outcomes) < len(run.todo):
        progress(f"stopped after {len(outcomes)} of {len(run.todo)} builds ({stop.why})")
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        corpus = read_corpus(args.corpus)
        chosen = select(corpus, args.only, args.limit, args.skip)
        record = read_record(args.record, corpus) if args.record else {}
    except (BenchError, OSError) as e:
        progress(f"error: {e}")
        return 2
    targets = args.target or list(TARGETS)
    run = plan(corpus, chosen, targets, record, resume=args.resume,
               retry_failed=args.retry_failed)
    if args.report:
        run = Plan(run.asked, [], run.corpus_size, run.projects)
    source_cache = config.load().cache_dir
    try:
        linters = ready_images(sorted({t for t, _ in run.todo}), source_cache)
    except (BenchError, RepackError) as e:
        progress(f"error: {e}")
        return 2
    supported = check_supported()
    if not supported:
        progress("this repack has no import check: imported is 'not checked'")
    progress(f"{len(run.todo)} builds of {len(run.asked)} asked ({len(chosen)} projects x "
             f"{', '.join(targets)}); images from {source_cache}")
    stop = Stop(args.stop_after)
    signal.signal(signal.SIGTERM, stop.term)
    opts = Options(source_cache=source_cache, no_check=args.no_check,
                   check_supported=supported, keep=args.keep,
                   timeout=60 * args.build_timeout if args.build_timeout else None,
                   linters=linters, deps_cache=args.deps_cache,
                   deps_timeout=60 * args.deps_timeout if args.deps_timeout else None)
    outcomes = run_builds(run, args, opts, stop=stop)
    kept: list[Recorded] = []
    if args.record:     # the record's newest outcome of each pair asked, this run's included
        record = read_record(args.record, corpus)
        kept = [k for t, e in run.asked if (k := record.get((t, e.name.lower())))]
        outcomes = [k.outcome for k in kept]
    subset = coverage(run, len(outcomes), stop.why)
    targets = [t for t in targets if any(o.target == t for o in outcomes)]
    summaries = [summarise(t, outcomes) for t in targets]
    if args.json:
        print(json.dumps(as_json(summaries, outcomes, subset, kept), indent=2))
    else:
        load = os.getloadavg()
        print(f"repack breadth{subset}, {time.strftime('%Y-%m-%d', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, load average {load[0]:.2f}, reference loop "
              f"{cpu_seconds():.2f} s")
        if args.record:
            print(f"{args.record.name}: {provenance(kept)}")
        print("\n".join(report(summaries, subset=subset)))
    missed = any(g.met is False for s in summaries for g in s.goals)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
