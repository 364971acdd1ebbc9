"""The import check: what a run built, installed in a clean container of its target and used.

After a run's builds, for each target: every binary package the run built for it is installed
together (the run's other packages and the target's archive satisfy their dependencies), then,
with the network off (the imports run upstream code), every top-level module a package
installs is imported and every console_scripts entry point it puts in /usr/bin is run with
`--help` (SCRIPT_GATE says which are not), each in its own process.  A failure is
CheckFailed (exit 14) naming the package, target and module or script.  A build that
compiles but cannot be imported is caught here, not by its users.

What is checked comes from the package files repack built and checked, never from a listing
upstream wrote (top_level.txt, RECORD): the modules are the files the package installs
directly in site-packages (`x.py`, `x/__init__.py`, `x.cpython-311-x86_64-linux-gnu.so`, and
one level into a namespace directory), the scripts the files in /usr/bin; the installed
entry_points.txt and METADATA only narrow which scripts run (SCRIPT_GATE).  The verdict is
read from markers the driver prints at the start of a line, upstream output being indented
beneath them, so printed text cannot hide a failure.  This catches broken packages, not
hostile ones: code that runs at import can fake a clean import.

Debian targets: the check image (the target's minbase and python3, no toolchain, bootstrapped
once like the base image) installs the .debs with apt, offline; what they need from the
archive comes verified from the cache the builds share, else is downloaded first by a
container with the network on (no upstream code: apt only downloads; see AptDirs).
RPM targets: no RHEL/Fedora image is reachable, so the rpms are installed with `rpm --nodeps
--noscripts` into the Debian stand-in builder (the target's rpm and Python, but Debian's
stdlib and its build tools, which could hide a missing setuptools); dependency resolution is
not checked there, but the shared libraries their ELF Requires name (libyaml-0.so.2) are
installed as the stand-in archive's packages that ship them (`stand_in_libraries`), so an
extension that links a C library imports only if its library is there, and so are the
python3dist() requirements the run does not build, as the stand-in archive's python3 packages
that carry the distribution at a version the requirement admits (`stand_in_dists`: Debian's
python3-cryptography for Fedora's).  Packages that depend on something neither the target's
archive (Debian's, for the rpm targets' stand-in) nor the run provides are not checked, with
a warning (build with --with-deps).

A passed check is cached under the packages' sha256s and the image: a rebuild from the cache
does not run it again.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from debian.deb822 import PkgRelation
from debian.debfile import DebError, DebFile
from packaging.utils import canonicalize_name

from repack import clibs, log, steps
from repack.buildcache import code_digest
from repack.config import SCRIPT_NAME, Settings
from repack.container import images
from repack.container.engine import Container, Mount
from repack.context import Context
from repack.deb.aptlists import APT_ENV, APT_UPDATE, copy_lists, fresh, refreshed
from repack.deb.build import (
    APT_HASH,
    APT_OPTS,
    DPKG_INSTALL,
    UNSAFE_IO,
    AptFile,
    DebianBuild,
    download_argv,
    dpkg_installs,
    in_image,
    keep_verified,
    parse_print_uris,
    take_cached,
)
from repack.deb.naming import satisfies
from repack.digest import key as cache_key
from repack.digest import sha256_file
from repack.errors import CheckFailed, CommandFailed, MetadataError
from repack.model import Artifact, Target
from repack.rpm.query import query
from repack.rpm.vercmp import rpmvercmp
from repack.textsafe import clean_block, one_line
from repack.trust import provenance

__all__ = ["Check", "Package", "check_run", "console_scripts", "driver_argv", "elf_sonames",
           "failed_checks", "installable", "planned_checks", "site_dirs", "skipped_checks",
           "stand_in_declared", "stand_in_dists", "top_level_modules"]

CHECK_VERSION = 4               # bump when what the check does changes (its cache key)
STEP_TIMEOUT = 120              # seconds one import or one `--help` may take
DEB_SITE = "/usr/lib/python3/dist-packages"
FAILED_MARK = "repack-check-failed"
DONE_MARK = "repack-check-done"
SKIPPED_MARK = "repack-check-skipped"
_EXTENSION = re.compile(r"(?P<name>[^.]+)(\.[A-Za-z0-9_-]+)?\.so")
_PY3DIST = re.compile(r"python3dist\(([^()\s]+)\)")
# one clause of a Requires, plain or inside a rich dependency: python3dist(x) >= 1.2
_CLAUSE = re.compile(r"(python3dist\([^()\s]+\))(?:\s+(<=|>=|=|<|>)\s+([^\s()]+))?")
_RPM_OPS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0, "<=": lambda c: c <= 0, "=": lambda c: c == 0,
    ">=": lambda c: c >= 0, ">": lambda c: c > 0}
# A distribution's metadata directory; the name goes into the driver's argv (no `:` or `,`).
_METADATA_DIR = re.compile(r"[A-Za-z0-9_.+-]+\.(?:dist|egg)-info")
_SONAME = re.compile(r"(lib[A-Za-z0-9_.+-]+\.so(?:\.[0-9]+)*)\(")   # libyaml-0.so.2()(64bit)

# Which /usr/bin programs are run with --help, decided in the driver from the installed
# distributions' metadata (read, never imported: no upstream code runs for it).  Only a
# console_scripts entry point is: its function is a command-line program, and --help is the
# convention of the parsers such functions use (argparse, click).  A setup.py `scripts=` file
# is any executable (dill's undill opens "--help" as a pickle file), a gui_scripts one wants
# a display.  An entry point that declares extras (`tool = pkg.cli:main [cli]`) imports what
# those extras require, which installing the package does not bring (they are Recommends or
# Suggests at most): it is run only when every requirement of its extras is installed.
# stdlib only: the target's python3 runs it (el9's 3.9, whose EntryPoint.extras is broken,
# so the extras are read from the entry point's text).
SCRIPT_GATE = r"""
import importlib.metadata, os, re
def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
def _shown(text):
    return re.sub(r"[^A-Za-z0-9._-]", "?", text)[:60]
def _requirements(dist):
    # each Requires-Dist as (normalised name, the normalised extras its marker names)
    for line in dist.requires or []:
        req, _, marker = line.partition(";")
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if found:
            named = re.findall(r"extra\s*==\s*['\"]([^'\"]*)['\"]", marker)
            yield _norm(found.group(1)), {_norm(x) for x in named}
def _extra_requirements(dist, extras):
    return {name for name, named in _requirements(dist) if extras & named}
def script_skipped(name, sites, search):
    installed = None
    for dist in importlib.metadata.distributions(path=sites):
        for ep in dist.entry_points:
            if ep.group != "console_scripts" or ep.name != name:
                continue
            bracket = re.search(r"\[([^\]]*)\]\s*$", ep.value)
            listed = bracket.group(1) if bracket else ""
            extras = {_norm(x) for x in re.findall(r"[^\s,]+", listed)}
            if not extras:
                return None
            if installed is None:
                installed = {_norm(d.metadata["Name"] or "")
                             for d in importlib.metadata.distributions(path=search)}
            missing = sorted(_extra_requirements(dist, extras) - installed)
            if missing:
                return ("its entry point needs the extra [%s], and %s of it is not installed"
                        % (",".join(sorted(map(_shown, extras))), ", ".join(map(_shown, missing))))
            return None
    return "not a console_scripts entry point (a setup.py scripts= file or a GUI program)"
def _extras_only(dist):
    plain, extra = set(), {}
    for name, named in _requirements(dist):
        if named:
            extra.setdefault(name, set()).update(named)
        else:
            plain.add(name)
    return {name: extras for name, extras in extra.items() if name not in plain}
def import_skipped(name, output, sites, search, metadata):
    # metadata: the .dist-info/.egg-info directories the module's package installs, named by
    # repack from the package's files (dh-python and %pyproject_install drop RECORD)
    errors = re.findall(r"No module named '([A-Za-z0-9_]+)", output)
    if not errors:
        return None
    missing = _norm(errors[-1])
    installed = {_norm(d.metadata["Name"] or "")
                 for d in importlib.metadata.distributions(path=search)}
    if missing in installed:
        return None
    for site in sites:
        for entry in metadata:
            path = os.path.join(site, entry)
            if not os.path.isdir(path):
                continue
            extras = _extras_only(importlib.metadata.Distribution.at(path)).get(missing)
            if extras:
                return ("it imports %s, which only the extra [%s] requires, and it is not "
                        "installed" % (_shown(missing), ",".join(sorted(map(_shown, extras)))))
    return None
"""

# The driver: repack's own text, run by the target's python3 in the offline container.  Each
# check is a child process; its output is indented, so that only the driver starts a line.
DRIVER = SCRIPT_GATE + f"""\
import subprocess, sys, tempfile
timeout, sites, checks = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
code = "import importlib, sys; sys.path[0:0] = [p for p in sys.argv[1].split(':') if p]; \\
importlib.import_module(sys.argv[2])"
cwd = tempfile.mkdtemp()
site_list = [p for p in sites.split(":") if p]
for i, check in enumerate(checks):
    kind, _, name = check.partition(":")
    name, _, owned = name.partition(":")
    if kind == "import":
        argv = [sys.executable, "-I", "-c", code, sites, name]
    else:
        why = script_skipped(name, site_list, site_list + sys.path)
        if why is not None:
            print("{SKIPPED_MARK}", i, why)
            continue
        argv = ["/usr/bin/" + name, "--help"]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
        ok, out = p.returncode == 0, p.stdout + b"\\nexit status %d" % p.returncode
    except subprocess.TimeoutExpired:
        ok, out = False, b"did not finish within %d seconds" % timeout
    except OSError as e:
        ok, out = False, str(e).encode()
    if not ok and kind == "import":
        why = import_skipped(name, out.decode(errors="replace"), site_list,
                             site_list + sys.path, [m for m in owned.split(",") if m])
        if why is not None:
            print("{SKIPPED_MARK}", i, why)
            continue
    if not ok:
        print("{FAILED_MARK}", i)
        for line in out.decode(errors="replace").splitlines()[-40:]:
            print("  |", line)
    sys.stdout.flush()
print("{DONE_MARK}", len(checks))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    """One binary package of the run, as read from the file repack built."""

    path: Path
    name: str
    project: str                              # PEP 503 name
    files: tuple[str, ...]                    # absolute paths, as installed
    needs: tuple[tuple[str, ...], ...] = ()   # what it depends on that may be missing: OR groups
    provides: tuple[str, ...] = ()
    sonames: tuple[str, ...] = ()             # rpm: the shared libraries its ELF Requires name
    # rpm: the version clauses of its python3dist() Requires, (need, operator, version)
    clauses: tuple[tuple[str, str, str], ...] = ()
    version: str = ""                         # deb: its Version
    relations: tuple[tuple[str, str], ...] = ()   # deb: its relation fields, as written


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One thing the driver runs: `import NAME`, or `/usr/bin/NAME --help`."""

    kind: Literal["import", "script"]
    name: str                    # a dotted module name, or a file name in /usr/bin
    package: str
    # import: the metadata directories its package installs (metadata_dirs), which the
    # driver reads when the import fails for want of a module
    metadata: tuple[str, ...] = ()

    def arg(self) -> str:
        """`kind:name`, and for an import `:dir,dir` (the names hold no `:` or `,`)."""
        owned = f":{','.join(self.metadata)}" if self.metadata else ""
        return f"{self.kind}:{self.name}{owned}"

    def __str__(self) -> str:
        return f"import {self.name}" if self.kind == "import" else f"/usr/bin/{self.name} --help"


def site_dirs(target: Target) -> tuple[str, ...]:
    """Where the target's packages install modules."""
    if target.family == "deb":
        return (DEB_SITE,)
    lib = target.site_packages
    return (lib, lib.replace("/usr/lib/", "/usr/lib64/", 1))


def _module_name(entry: str, *, is_dir: bool) -> str | None:
    """The module a site-packages entry is (`x.py`, `x.<abi>.so`, a directory `x`), or None."""
    if is_dir:
        name = entry
    elif entry.endswith(".py"):
        name = entry[:-3]
    elif m := _EXTENSION.fullmatch(entry):
        name = m["name"]
    else:
        return None
    return name if name.isidentifier() and name.isascii() else None


def _installed_path(member: str) -> PurePosixPath:
    """A payload member (`./usr/bin/x`, `/usr/bin/x`) as the path it is installed at."""
    return PurePosixPath("/" + member.removeprefix(".").lstrip("/"))


def top_level_modules(files: Iterable[str], sites: Sequence[str]) -> tuple[str, ...]:
    """The importable top-level modules among a package's files: modules and packages directly
    in a site directory; for a namespace directory (no __init__), the modules one level in."""
    modules: set[str] = set()
    namespaces: dict[str, set[str]] = {}
    packages: set[str] = set()
    for path in files:
        p = _installed_path(path)
        site = next((s for s in sites if p.is_relative_to(s)), None)
        if site is None:
            continue
        parts = p.relative_to(site).parts
        if not parts:
            continue
        if len(parts) == 1:
            if (name := _module_name(parts[0], is_dir=False)) is not None:
                modules.add(name)
            continue
        top = _module_name(parts[0], is_dir=True)
        if top is None:                        # *.dist-info, __pycache__, a-b
            continue
        if len(parts) == 2 and _module_name(parts[1], is_dir=False) == "__init__":
            packages.add(top)
            continue
        child = _module_name(parts[1], is_dir=len(parts) > 2)
        if child is not None and child != "__init__" and (
                len(parts) == 2 or _module_name(parts[2], is_dir=False) == "__init__"):
            namespaces.setdefault(top, set()).add(child)
    modules |= packages
    for top, children in namespaces.items():
        if top not in packages:
            modules.update(f"{top}.{child}" for child in children)
    return tuple(sorted(modules))


def metadata_dirs(files: Iterable[str], sites: Sequence[str]) -> tuple[str, ...]:
    """The distribution metadata directories (`x-1.0.dist-info`, `x-1.0.egg-info`) a package
    installs directly in a site directory: which distribution its modules are, read from the
    package's own file list, since neither dh-python nor %pyproject_install keeps RECORD."""
    found = set()
    for path in files:
        p = _installed_path(path)
        if str(p.parent.parent) in sites and _METADATA_DIR.fullmatch(p.parent.name):
            found.add(p.parent.name)
    return tuple(sorted(found))


def console_scripts(files: Iterable[str]) -> tuple[str, ...]:
    """The programs a package puts in /usr/bin (console scripts and setup.py `scripts=`)."""
    found = set()
    for path in files:
        p = _installed_path(path)
        if p.parent == PurePosixPath("/usr/bin") and SCRIPT_NAME.fullmatch(p.name):
            found.add(p.name)
    return tuple(sorted(found))


def planned_checks(packages: Sequence[Package], sites: Sequence[str],
                   checked: Callable[[str], bool],
                   without_help: Callable[[str], Collection[str]] = lambda _: ()
                   ) -> tuple[Check, ...]:
    """Each module to import and script to run, package by package; a project whose
    `[packages.<name>] check` is false is installed but not checked, and the scripts its
    `scripts-without-help` names are not run (`unhelped` says which)."""
    out: list[Check] = []
    for pkg in packages:
        if checked(pkg.project):
            owned = metadata_dirs(pkg.files, sites)
            out += [Check(kind="import", name=m, package=pkg.name, metadata=owned)
                    for m in top_level_modules(pkg.files, sites)]
            skipped = without_help(pkg.project)
            out += [Check(kind="script", name=s, package=pkg.name)
                    for s in console_scripts(pkg.files) if s not in skipped]
    return tuple(out)


def unhelped(packages: Sequence[Package], checked: Callable[[str], bool],
             without_help: Callable[[str], Collection[str]]) -> list[str]:
    """One line per package whose scripts `planned_checks` leaves out by configuration."""
    lines = []
    for pkg in packages:
        names = sorted(set(console_scripts(pkg.files)) & set(without_help(pkg.project)))
        if names and checked(pkg.project):
            lines.append(f"{pkg.name}: {', '.join('/usr/bin/' + n for n in names)} not run with "
                         f"--help: scripts-without-help under [packages.{pkg.project}]")
    return lines


def installable(packages: Sequence[Package], available: Callable[[str], bool]
                ) -> tuple[list[Package], list[str]]:
    """The packages whose dependencies the target or the run's other installable packages
    provide, and for the others why not (a dependency neither has, or on such a package)."""
    kept = list(packages)
    why: list[str] = []
    while True:
        names = {n for p in kept for n in (p.name, *p.provides)}
        missing = {p.name: next((group for group in p.needs if not any(
            n in names or available(n) for n in group)), None) for p in kept}
        dropped = [p for p in kept if missing[p.name] is not None]
        if not dropped:
            return kept, why
        for p in dropped:
            why.append(f"{p.name}: not import-checked: it needs {' | '.join(missing[p.name] or ())}"
                       ", which neither the target nor this run provides (build it too, e.g. "
                       "with --with-deps)")
        kept = [p for p in kept if missing[p.name] is None]


def driver_argv(python: str, checks: Sequence[Check], sites: Sequence[str]) -> list[str]:
    """The one command that runs every check in the offline container (no shell: module
    and script names are argv items)."""
    return [python, "-I", "-c", DRIVER, str(STEP_TIMEOUT), ":".join(sites),
            *(c.arg() for c in checks)]


def failed_checks(output: str, checks: Sequence[Check]) -> list[Check] | None:
    """The checks the driver's output marks as failed; None if it did not finish."""
    failed: list[Check] = []
    done = False
    for line in output.splitlines():
        word, _, number = line.partition(" ")
        if word == FAILED_MARK and number.isdigit() and int(number) < len(checks):
            failed.append(checks[int(number)])
        elif word == DONE_MARK and number == str(len(checks)):
            done = True
    return failed if done else None


def skipped_checks(output: str, checks: Sequence[Check]) -> list[tuple[Check, str]]:
    """The checks the driver did not run or count (SCRIPT_GATE: a script whose entry point
    needs an extra not installed; a module whose import failed only for want of a module
    that just an extra requires, as blackd's aiohttp), each with its reason, one line of
    repack's text with upstream names reduced to [A-Za-z0-9._-]."""
    skipped = []
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        number, _, why = rest.partition(" ")
        if word == SKIPPED_MARK and number.isdigit() and int(number) < len(checks):
            skipped.append((checks[int(number)], one_line(why)))
    return skipped


def deb_package(path: Path) -> Package:
    try:
        deb = DebFile(str(path))
        try:
            control = deb.debcontrol()
            files = tuple(deb.data.tgz().getnames())
        finally:
            deb.close()
    except (DebError, KeyError, OSError, EOFError) as e:
        raise MetadataError(f"{path.name}: cannot read the .deb: {e}") from e
    needs = tuple(group for field in ("Pre-Depends", "Depends")
                  for group in _relations(control, field))
    provides = tuple(name for group in _relations(control, "Provides") for name in group)
    return Package(path=path, name=control["Package"],
                   project=canonicalize_name(control.get("Repack-Project", control["Package"])),
                   files=files, needs=needs, provides=provides,
                   version=control.get("Version", ""),
                   relations=tuple((f, control[f]) for f in _RELATION_FIELDS if f in control))


_RELATION_FIELDS = ("Pre-Depends", "Depends", "Provides", "Breaks", "Conflicts")


def installs_alone(packages: Sequence[Package], status: bytes) -> bool:
    """Whether dpkg alone installs the run's .debs in the check image whose dpkg *status*
    this is: every Pre-Depends and Depends met by a package the image has installed or by one
    of the run's, no Breaks or Conflicts naming an installed package, and none the other way
    round (`_objected`).  Then apt, which reads the archive's lists twice (seconds each), is
    not asked; a wrong "yes" fails the check the way a package that does not install does."""
    installed, provided = images.read_installed(status)
    fields = [dict(p.relations) for p in packages]
    if any(images.relation_names(f.get(k)) & (installed.keys() | provided.keys())
           for f in fields for k in ("Breaks", "Conflicts")):
        return False
    own = dict(installed)
    given = {name: list(versions) for name, versions in provided.items()}
    virtual: set[str] = set()
    for p, f in zip(packages, fields, strict=True):
        own[p.name] = p.version
        for name, op, version in images.relation_atoms(f.get("Provides")):
            given.setdefault(name, []).append(version if op == "=" else "")
            virtual.add(name)
    return (all(in_image(own, given, f.get(k, "")) for f in fields
                for k in ("Pre-Depends", "Depends"))
            and not _objected(status, {p.name: p.version for p in packages}, virtual,
                              own, given))


def _objected(status: bytes, run: Mapping[str, str], virtual: Collection[str],
              own: Mapping[str, str], given: Mapping[str, Sequence[str]]) -> bool:
    """Whether a package the image keeps installed objects to the *run*'s packages (name ->
    version; *virtual*: what they provide): it Breaks or Conflicts with one in the version
    the run brings (any relation on a virtual one counts), or one of its Depends or
    Pre-Depends that names one is no longer met once the run's are installed (*own*,
    *given*: the image's packages and provides after it), as an upgrade past ``(<< 2)``."""
    kept = images.installed_relations(status, ("Pre-Depends", "Depends", "Breaks", "Conflicts"))
    for name, fields in kept.items():
        if name in run:        # replaced by the run's own package, and its relations
            continue
        for k in ("Breaks", "Conflicts"):
            for other, op, version in images.relation_atoms(fields.get(k)):
                if other in virtual or (other in run and satisfies(run[other], op, version)):
                    return True
        if any(images.relation_names(fields.get(k)) & run.keys()
               and not in_image(own, given, fields.get(k, ""))
               for k in ("Pre-Depends", "Depends")):
            return True
    return False


def _relations(control: Mapping[str, str], field: str) -> list[tuple[str, ...]]:
    """The package names of a relation field, one tuple per OR group."""
    text = control.get(field, "").strip()
    groups = PkgRelation.parse_relations(text) if text else []
    return [tuple(str(alt["name"]) for alt in group) for group in groups]


def _rpm_packages(paths: Sequence[Path]) -> list[Package]:
    """The rpms' file lists, and their python3dist() requirements and provides: what the
    run can satisfy (the rest of a requirement set is the target system's)."""
    heads = query(paths, "%{NAME}\t[%{FILENAMES}\t]\t"
                         "[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}\t]\t"
                         "[%{PROVIDENAME}\t]\n")
    out = []
    for path, line in zip(paths, heads, strict=True):
        name, _, rest = line.partition("\t")
        files, _, rest = rest.partition("\t\t")
        requires, _, provides = rest.partition("\t\t")
        record = provenance.read(path)
        out.append(Package(
            path=path, name=name, project=canonicalize_name(record.project if record else name),
            files=tuple(f for f in files.split("\t") if f),
            needs=tuple((f"python3dist({n})",) for n in dict.fromkeys(_PY3DIST.findall(requires))),
            provides=tuple(p for p in provides.split("\t") if p),
            sonames=elf_sonames(requires.split("\t")),
            clauses=tuple((m[1], m[2], m[3]) for m in _CLAUSE.finditer(requires) if m[2])))
    return out


def elf_sonames(requires: Iterable[str]) -> tuple[str, ...]:
    """The sonames of an rpm's ELF Requires (``libyaml-0.so.2()(64bit)``, one per library
    whatever its symbol versions), in order."""
    return tuple(dict.fromkeys(m[1] for r in requires if (m := _SONAME.match(r))))


def check_run(artifacts: Sequence[Artifact], targets: Sequence[Target], ctx: Context) -> None:
    """The import check of a run's binary packages, target by target.  On a failure the
    run's files for that target are removed from the output directory (they stay in the
    build cache) and CheckFailed is raised."""
    for target in targets:
        paths = [a.path for a in artifacts if a.target == target.id and a.format in ("deb", "rpm")]
        if not paths:
            continue
        try:
            check_target(paths, target, ctx)
        except CheckFailed as e:
            for a in artifacts:
                if a.target == target.id:
                    a.path.unlink(missing_ok=True)
            e.hint = (f"{e.hint}; " if e.hint else "") + (
                f"this run's files for {target.id} were removed from {ctx.output_dir}")
            raise


def check_target(paths: Sequence[Path], target: Target, ctx: Context) -> None:
    """Install the packages at `paths` in a clean container of the target and run the
    checks, unless this very set passed before in the same image."""
    kind: images.ImageKind = "check" if target.family == "deb" else "builder"
    image = images.image_for(target, kind, ctx.settings.cache_dir)
    skipped = sorted(k for k, v in ctx.settings.packages.items() if not v.check)
    unrun = sorted((k, sorted(v.scripts_without_help))
                   for k, v in ctx.settings.packages.items() if v.scripts_without_help)
    builder = images.image_for(target, "builder", ctx.settings.cache_dir)
    archive_file = builder.archive_file       # what the archive offers decides what is checked
    key = cache_key(check=CHECK_VERSION, code=code_digest(), image=image.tag, target=target.id,
                    packages=sorted(sha256_file(p) for p in paths), unchecked=skipped,
                    without_help=unrun,
                    archive=sha256_file(archive_file) if archive_file.is_file() else None)
    marker = ctx.settings.cache_dir / "checks" / key
    if marker.is_file():
        log.info(f"import check for {target.id}: passed before for these packages")
        return
    packages = ([deb_package(p) for p in paths] if target.family == "deb"
                else _rpm_packages(paths))
    images.ensure(ctx.engine, image)
    modules: dict[str, str] = {}
    if target.family == "deb":
        archive = images.load_archive(builder)
        packages, why = installable(packages, archive.offers)
    else:
        modules = _stand_in_modules(packages, image, ctx)
        packages, why = installable(packages, modules.__contains__)
    for line in why:
        log.warn(line)
    sites = site_dirs(target)
    settings = ctx.settings
    checks = planned_checks(packages, sites, settings.import_checked,
                            settings.scripts_without_help)
    for line in unhelped(packages, settings.import_checked, settings.scripts_without_help):
        log.info(line)
    # A package with nothing to import or run (type stubs, data) is still installed: that its
    # dependencies install is half of what the check is for (types-requests on Debian 12
    # needs a newer urllib3).  A project whose check is off is not.
    if not checks and not any(settings.import_checked(p.project) for p in packages):
        return
    title = (f"Import check on {target.id}: {len(packages)} package(s), "
             f"{sum(c.kind == 'import' for c in checks)} module(s), "
             f"{sum(c.kind == 'script' for c in checks)} script(s) (network off)")
    wanted = sorted({modules[n] for p in packages for g in p.needs for n in g if n in modules})
    declared = stand_in_declared(packages, settings) if target.family == "rpm" else []
    with log.step(title), _installed(packages, target, image, ctx, wanted, declared) as c:
        env = {"PYTHONPATH": ":".join(sites)} if target.family == "rpm" else {}
        try:
            output = c.exec(driver_argv("/usr/bin/python3", checks, sites), env=env or None,
                            project=packages[0].project) if checks else ""
        except CommandFailed as e:      # the driver itself died: no verdict is a failure
            output = e.output_tail
    if checks:
        _verdict(output, checks, packages, target)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"target": target.id, "checks": [c.arg() for c in checks]}))


def _verdict(output: str, checks: Sequence[Check], packages: Sequence[Package],
             target: Target) -> None:
    for skipped, why in skipped_checks(output, checks):
        verdict = "failed, not counted" if skipped.kind == "import" else "not run"
        log.info(f"{skipped.package}: {skipped} {verdict} on {target.id}: {why}")
    failed = failed_checks(output, checks)
    project = {p.name: p.project for p in packages}
    if failed == []:
        return
    log.console.print("\n".join(clean_block(output)[-200:]), markup=False, style="dim")
    if failed is None:
        raise CheckFailed(f"the import check did not finish on {target.id}",
                          project=project[checks[0].package])
    first = failed[0]
    more = f" (and {len(failed) - 1} more: {', '.join(map(str, failed[1:4]))})" \
        if len(failed) > 1 else ""
    raise CheckFailed(f"the import check failed on {target.id}: {first.package}: {first} "
                      f"failed{more}", project=project[first.package],
                      hint="the output above says why; --no-check, or check = false under "
                           f"[packages.{project[first.package]}] in repack.toml, skips it")


@contextlib.contextmanager
def _installed(packages: Sequence[Package], target: Target, image: images.Image,
               ctx: Context, modules: Sequence[str] = (),
               declared: Sequence[str] = ()) -> Iterator[Container]:
    """An offline container of the target with the packages installed (rpm targets: with
    the stand-in archive's packages *modules* and *declared* too)."""
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(steps.work_dir(ctx, "check-"))
        staged = work / "artifacts"
        staged.mkdir()
        for p in packages:
            shutil.copyfile(p.path, staged / p.path.name)
        files = [f"/artifacts/{p.path.name}" for p in packages]
        project = packages[0].project
        mounts = [Mount(source=staged, target="/artifacts", readonly=True)]
        try:
            if target.family == "deb" and image.status_file.is_file() \
                    and installs_alone(packages, image.status_file.read_bytes()):
                log.info(f"{', '.join(p.name for p in packages)}: all they need is in the "
                         f"check image; installed by dpkg, apt not asked")
                c = stack.enter_context(ctx.engine.container(image.tag, mounts=mounts))
                c.exec([*DPKG_INSTALL, *files], env=APT_ENV,
                       project=project)
            elif target.family == "deb":
                apt = AptDirs(work=work, target=target, ctx=ctx, project=project)
                mounts += apt.mounts()
                c = stack.enter_context(ctx.engine.container(image.tag, mounts=mounts))
                apt.fetch(c, files)
                archived = [f"/var/cache/apt/archives/{f.name}" for f in apt.files]
                if dpkg_installs(apt.printed, [*(apt.archives / f.name for f in apt.files),
                                               *(staged / p.path.name for p in packages)]):
                    c.exec([*DPKG_INSTALL, *archived, *files],
                           env=APT_ENV, project=project)
                else:
                    # no --no-download: apt counts copying the run's local .debs as
                    # downloading; the container has no network, and every archive .deb
                    # is already there
                    c.exec(["apt-get", "install", *APT_OPTS, *UNSAFE_IO, *files],
                           env=APT_ENV, project=project)
            else:
                libs = stand_in_libraries(packages, target, image, ctx, work, modules,
                                          declared=declared)
                mounts += libs.apt_mounts if libs is not None else []
                c = stack.enter_context(ctx.engine.container(image.tag, mounts=mounts))
                if libs is not None:
                    c.exec(["apt-get", "install", *APT_OPTS, *UNSAFE_IO, "--no-download",
                            *libs.packages], env=APT_ENV, project=project)
                c.exec(["rpm", "-i", "--nodeps", "--noscripts", "--nosignature", "--excludedocs",
                        "--dbpath", "/tmp/repack-check-rpmdb", *files], project=project)
        except CommandFailed as e:
            if e.output_tail:
                log.console.print("\n".join(clean_block(e.output_tail)), markup=False,
                                  style="dim")
            raise CheckFailed(f"the import check failed on {target.id}: the packages "
                              f"{', '.join(p.name for p in packages)} do not install",
                              project=project,
                              hint="the output above says why; a dependency newer than the "
                                   "target archive's is built in the same run with "
                                   "--with-deps") from e
        yield c


def _stand_in_modules(packages: Sequence[Package], image: images.Image,
                      ctx: Context) -> dict[str, str]:
    """`stand_in_dists` of the stand-in builder's archive (its Contents index), for the
    python3dist() needs no package of the run provides."""
    provided = {n for p in packages for n in (p.name, *p.provides)}
    names = {_dist_name(n) for p in packages for g in p.needs for n in g if n not in provided}
    if not names:
        return {}
    index = clibs.dev_index(ctx.engine, image, ctx.settings.cache_dir, clibs.NativeNeeds(),
                            dists=names)
    return stand_in_dists(packages, index)


def _dist_name(need: str) -> str:
    """python3dist(foo[bar]) -> foo, PEP 503 normalised."""
    return canonicalize_name(need.removeprefix("python3dist(").removesuffix(")").split("[")[0])


def stand_in_dists(packages: Sequence[Package], index: clibs.DevIndex) -> dict[str, str]:
    """rpm targets: for each python3dist() need of the packages that none of them provides,
    the stand-in archive's package that ships that distribution at a version meeting every
    clause the packages put on it (rpm's comparison), one already in the builder first:
    need -> package.  The check installs those, so that a module the target's archive would
    bring (python3-cryptography) is imported as it would be; a need none meets is not
    "available" and the package it needs is not checked (`installable`)."""
    provided = {n for p in packages for n in (p.name, *p.provides)}
    out: dict[str, str] = {}
    for need in dict.fromkeys(n for p in packages for g in p.needs for n in g):
        if need in provided:
            continue
        clauses = [(op, v) for p in packages for n, op, v in p.clauses if n == need]
        met = [deb for deb, version in index.dists.get(_dist_name(need), ())
               if all(_RPM_OPS[op](rpmvercmp(version, v)) for op, v in clauses)]
        if met:
            out[need] = next((d for d in met if d in index.installed), met[0])
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class StandInLibraries:
    """The Debian packages of the shared libraries the rpms link, downloaded and verified."""

    packages: tuple[str, ...]
    apt_mounts: list[Mount]


def stand_in_declared(packages: Sequence[Package], settings: Settings) -> list[str]:
    """rpm targets: the run-time needs a project's `[packages.<name>] depends` declares for
    Debian (gitpython's `git`), as the stand-in archive's packages to install beside it: its
    rpm names (`git-core`) are not Debian's, and the stand-in is a Debian system.  Each
    group's first name, without its version: the stand-in's Debian release is not the one
    the versions were written for."""
    projects = dict.fromkeys(p.project for p in packages)
    return list(dict.fromkeys(group[0].name for project in projects
                              for group in settings.overrides(project).depends))


def stand_in_libraries(packages: Sequence[Package], target: Target, image: images.Image,
                       ctx: Context, work: Path, modules: Sequence[str] = (), *,
                       declared: Sequence[str] = ()) -> StandInLibraries | None:
    """rpm targets: the Debian stand-in installs the rpms with --nodeps, so the shared
    libraries their ELF Requires name (libyaml-0.so.2) are found in the builder's archive
    (its Contents index, repack.clibs) and installed as the Debian packages that ship them,
    with *modules* (the archive's python3 packages `stand_in_dists` chose), downloaded and
    checked against the signed lists first (no upstream code runs with the network on).  A
    soname no package ships is said; the import then fails naming it."""
    sonames = list(dict.fromkeys(s for p in packages for s in p.sonames))
    debs: list[str] = []
    if sonames:
        index = clibs.dev_index(ctx.engine, image, ctx.settings.cache_dir, clibs.NativeNeeds(),
                                sonames=sonames)
        if index.installed:     # else the Contents index could not be fetched: dev_index said so
            debs, unknown = clibs.soname_packages(sonames, index)
            for name in unknown:
                log.warn(f"import check on {target.id}: no package of the stand-in builder's "
                         f"archive ships {name}, which the packages require")
    debs += [m for m in (*modules, *declared) if m not in debs]
    if not debs:
        return None
    apt = DebianBuild(engine=ctx.engine, image=image, work=work / "stand-in",
                      project=packages[0].project,
                      apt_cache=ctx.settings.cache_dir / "apt-archives" / target.id,
                      apt_lists=ctx.settings.cache_dir / "apt-lists" / target.id)
    libs = [d for d in debs if d not in modules and d not in declared]
    if libs:
        log.info(f"import check on {target.id}: the libraries the packages link: "
                 f"{', '.join(libs)}")
    if modules:
        log.info(f"import check on {target.id}: the stand-in archive's python3 packages they "
                 f"need: {', '.join(modules)}")
    if declared:
        log.info(f"import check on {target.id}: what [packages.<name>] depends declares for "
                 f"Debian, from the stand-in archive: {', '.join(declared)}")
    apt.download_build_deps(", ".join(debs))
    return StandInLibraries(packages=tuple(debs), apt_mounts=apt.apt_mounts)


class AptDirs:
    """This check's apt lists and archive directory.  The archive's .debs the run's packages
    need are asked of apt in the offline container first, from the lists the run's builds
    refreshed (none when they needed no download: then from what the image has installed);
    verified copies come from the cache the builds share.  Only when apt cannot
    answer, or a file is not cached, does a container with the network on (no upstream
    code: apt only downloads) refresh the lists and download; every file is checked against
    the SHA256 of the signed lists before the offline container installs it."""

    def __init__(self, *, work: Path, target: Target, ctx: Context, project: str) -> None:
        self.lists, self.archives = work / "apt-lists", work / "apt-archives"
        for d in (self.lists / "partial", self.archives / "partial"):
            d.mkdir(parents=True)
        self.shared = ctx.settings.cache_dir / "apt-archives" / target.id
        self.shared.mkdir(parents=True, exist_ok=True)
        self.shared_lists = ctx.settings.cache_dir / "apt-lists" / target.id
        self.refreshed_by_run = fresh(self.shared_lists)    # waits for the run's refresh
        copy_lists(self.shared_lists, self.lists)
        self.image = images.image_for(target, "check", ctx.settings.cache_dir)
        self.engine = ctx.engine
        self.project = project
        self.printed = ""                   # apt's last --print-uris answer
        self.files: tuple[AptFile, ...] = ()    # the archive's .debs it named, verified

    def mounts(self) -> list[Mount]:
        return [Mount(source=self.lists, target="/var/lib/apt/lists"),
                Mount(source=self.archives, target="/var/cache/apt/archives")]

    def needed(self, c: Container, files: Sequence[str]) -> list[AptFile]:
        """The archive files apt would install with the run's .debs, with their SHA256."""
        self.printed = c.exec(["apt-get", "install", *APT_OPTS, *APT_HASH, "--print-uris",
                               *files], env=APT_ENV, project=self.project)
        return parse_print_uris("\n".join(line for line in self.printed.splitlines()
                                          if not line.startswith("'file:")),
                                project=self.project)

    def fetch(self, offline: Container, files: Sequence[str]) -> None:
        """Every archive .deb the run's packages need, verified, in the archive directory."""
        needed: list[AptFile] | None = None
        # lists too old for the run's packages, or none (the builds needed no download):
        # apt answers from what the image has installed, or fails and the lists are fetched
        with contextlib.suppress(CommandFailed):
            needed = self.needed(offline, files)
        missing = ([f for f in needed
                    if not take_cached(self.shared, self.archives, f, self.project)]
                   if needed is not None else None)
        if needed is None or missing:
            # --print-uris leaves out what the archive directory holds: the copies taken
            # above would be missing from the list, and keep_verified would remove them
            for f in needed or ():
                (self.archives / f.name).unlink(missing_ok=True)
            with log.step("Downloading what the packages need (network on)"), \
                    self.engine.container(self.image.tag, mounts=self.online_mounts(),
                                          network=True, trusted=True) as c:
                if not self.refreshed_by_run:
                    c.exec(APT_UPDATE, env=APT_ENV, project=self.project)
                needed = self.needed(c, files)
                missing = [f for f in needed
                           if not take_cached(self.shared, self.archives, f, self.project)]
                if missing:
                    c.exec(download_argv(missing), env=APT_ENV, project=self.project)
            # fresh lists for the next check's offline answer; no upstream code ran yet
            copy_lists(self.lists, self.shared_lists)
            if not self.refreshed_by_run:
                refreshed(self.shared_lists)
        keep_verified(self.archives, self.shared, needed, missing or [], self.project)
        self.files = tuple(needed)

    def online_mounts(self) -> list[Mount]:
        """The network-on container's: the lists, the archive directory and the run's
        .debs, read-only."""
        return [*self.mounts(), Mount(source=self.lists.parent / "artifacts",
                                      target="/artifacts", readonly=True)]


