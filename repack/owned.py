"""No file of the target system is replaced: every built package's file list against the files
the target distribution's archive already ships.

dpkg refuses a file that another package owns *at the same path*, but not the same file under
another name: on merged-/usr Debian 12, /bin is /usr/bin, so a console script named ``su``
shipped as /usr/bin/su silently replaces util-linux's /bin/su.  The builder image carries the
archive's Contents index (reduced to the paths a Python package could collide with, see
`repack.container.images.CONTENTS_SCRIPT`), so this check needs no network.  It runs on the
packages as built, before they are cached or delivered; a refusal is exit 7 naming the
package, the path and its owner, and a project may allow named paths in ``repack.toml``
(``[packages.<name>] allow-paths``).

One case is no conflict but an upgrade (`same_project`): a newer release of a project the
archive ships, built as the very package dh-python's dist map gives it, may take files over
from the archive's binary packages of the same Debian source (python3-sqlparse takes
/usr/bin/sqlformat from ``sqlformat``, both built from source ``sqlparse``), declared with
Replaces and Breaks (`takeover_relations`).  When packages of other sources depend on that
owner, Breaks alone would make apt remove them too; the package then also Provides the owner
in its own version (Policy 7.5 and 7.6), which keeps them installed, when every one of them
depends on it by name in a version ours satisfies (`why_not_provided`: python3-alembic
provides alembic for python3-oslo.db and 22 more).  An owner needed through a virtual package it
Provides (python3-cffi-backend, which python3-cryptography needs as
python3-cffi-backend-api-min) is refused.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import posixpath
import re
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from debian.debfile import DebError, DebFile
from debian.debian_support import Version, version_compare
from packaging.utils import canonicalize_name

from repack.container import contents, images
from repack.container.engine import Engine, Mount
from repack.deb.naming import INTERPRETER_PACKAGES, satisfies
from repack.errors import BuildError, MappingError
from repack.model import ArchiveIndex, Artifact, DebName, DebVersion, Relation, Target

__all__ = ["Conflict", "Owned", "Takeover", "breaks_below", "check_artifacts", "check_scripts",
           "conflicting", "conflicts", "deb_files", "may_take_over", "normalise", "parse_owned",
           "same_project", "takeover_provides", "takeover_relations",
           "takeovers_line", "undeclared_takeovers", "why_not_provided"]

# The interpreter's source packages: python3-defaults (python3, python3-minimal, ...),
# python3.X (python3.11, libpython3.11-stdlib, ...) and python3-stdlib-extensions.
INTERPRETER_SOURCE = re.compile(r"python3-defaults|python3\.[0-9]+|python3-stdlib-extensions")

# Where Debian's module packages install; a file there is another build's module.
DIST_PACKAGES = "/usr/lib/python3/dist-packages/"

# Top-level directories that merged /usr turns into symlinks into /usr.
MERGED_USR = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32"})

Owned = Mapping[str, tuple[str, tuple[str, ...]]]
"""normalised path -> (the path as the archive lists it, the binary packages shipping it)"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    path: str                    # as the built package ships it: "/usr/bin/su"
    archive_path: str            # as the archive ships it: "/bin/su"
    owners: tuple[str, ...]      # the archive's packages shipping it: ("util-linux",)
    # of the same project, but (owner, a depender of another source, how many there are):
    # ("python3-cffi-backend", "python3-cryptography", 45)
    needed_by: tuple[str, str, int] | None = None
    unprovided: str = ""         # why the package cannot Provide that owner instead


def normalise(path: str) -> str:
    """The file a path names on a merged-/usr system: "./bin/su" and "/usr/bin/su" are both
    "/usr/bin/su"."""
    rel = path[2:] if path.startswith("./") else path.lstrip("/")
    rel = posixpath.normpath(rel).lstrip("/")
    if rel.split("/", 1)[0] in MERGED_USR:
        rel = "usr/" + rel
    return "/" + rel


def parse_owned(data: bytes, wanted: Iterable[str] | None = None, *,
                index: Path | None = None) -> Owned:
    """Contents lines (gzip): ``path  section/package,section/package``; the path may hold
    spaces, the package list never does.  With *wanted* (paths, either spelling), only the
    lines whose file name one of them has are read: the index has some 165,000 lines and a
    build asks about a few hundred files, several times (the scripts before the build, the
    files after it, the takeover check), so the lines come by file name from the image's
    *index* (repack.container.contents), else grouped once per process (`_by_name`), and
    each question normalises only its own candidates."""
    keys = None if wanted is None else frozenset(map(normalise, wanted))
    if keys is None:
        lines = _by_name(data)[0]
    else:     # the candidates, in the index's order as the whole parse reads them
        names = {_name(k) for k in keys} | _UNSURE
        found = None if index is None else contents.lines_named(data, names, index)
        if found is None:
            every, by_name = _by_name(data)
            found = [every[i] for i in sorted(i for n in names for i in by_name.get(n, ()))]
        lines = found
    owned: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in lines:
        path, _, where = line.rstrip().rpartition(" ")
        path = path.rstrip()
        key = normalise(path)
        if keys is not None and key not in keys:
            continue
        owners = tuple(loc.rsplit("/", 1)[-1] for loc in where.split(",") if loc)
        shown, before = owned.get(key, ("/" + path, ()))
        owned[key] = (shown, before + tuple(o for o in owners if o not in before))
    return types.MappingProxyType(owned)


def _name(path: str) -> str:
    return path.rpartition("/")[2]


# Normalising a path changes its last component only when that is one of these ("a/b/.."
# is "a"): such lines are read for every question.
_UNSURE = frozenset({"", ".", ".."})


@functools.lru_cache(maxsize=4)     # a run builds for at most the four targets
def _by_name(data: bytes) -> tuple[Sequence[str], Mapping[str, tuple[int, ...]]]:
    """The index's lines that have a path and a package list, and their positions by their
    path's last component."""
    lines: list[str] = []
    grouped: dict[str, list[int]] = {}
    for name, line in contents.entries(data):
        grouped.setdefault(name, []).append(len(lines))
        lines.append(line)
    return tuple(lines), types.MappingProxyType({n: tuple(at) for n, at in grouped.items()})


def conflicts(files: Iterable[str], owned: Owned, *, package: str,
              allowed: Collection[str] = ()) -> list[Conflict]:
    """The files of *package* that the archive ships in another package.  A file of the
    archive's package of the same name is no conflict: repack's build of python3-django
    replaces Debian's python3-django, file for file, as an upgrade.  *allowed* paths (either
    spelling of a merged-/usr alias) are let through."""
    allowed_keys = {normalise(p) for p in allowed}
    found = []
    for f in files:
        key = normalise(f)
        hit = owned.get(key)
        if hit is None or key in allowed_keys:
            continue
        others = tuple(o for o in hit[1] if o != package)
        if others:
            found.append(Conflict(path=key, archive_path=hit[0], owners=others))
    return found


def conflicting(found: Sequence[Conflict], declared: Collection[Relation],
                archive: ArchiveIndex) -> list[Conflict]:
    """*found* without the files whose every owner the package declares Conflicts with
    (*declared*, `[packages.<name>] conflicts`) in the archive's version: apt removes such
    an owner before it installs the package, so nothing is overwritten (psycopg2-binary's
    modules are Debian's python3-psycopg2's).  An owner of the base system (Essential,
    Priority required or important) or the interpreter's is never given up that way."""
    def gives_up(owner: str) -> bool:
        return (_may_give_up(owner, archive)
                and any(r.name == owner and satisfies(archive.packages[owner], r.op or "",
                                                      r.version or "") for r in declared))
    return [c for c in found if not all(gives_up(o) for o in c.owners)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Takeover:
    """A file the built package takes over from a binary package of the same source."""

    path: str                    # as the built package ships it
    archive_path: str            # as the archive ships it
    owner: str                   # the archive's binary package shipping it: "sqlformat"
    source: str                  # the Debian source package of both: "sqlparse"
    version: str                 # the owner's highest version in the archive
    # packages of other sources depend on the owner: the package Provides it for them,
    # (a depender to name, how many there are): ("python3-oslo.db", 23)
    provides_for: tuple[str, int] | None = None


def _interpreter(package: str, archive: ArchiveIndex) -> bool:
    return (package in INTERPRETER_PACKAGES
            or INTERPRETER_SOURCE.fullmatch(archive.source_of(package)) is not None)


def _may_give_up(owner: str, archive: ArchiveIndex) -> bool:
    """*owner* is a package of the archive and neither the interpreter's nor a base
    system's (Essential, Priority required or important): those never give up a file."""
    return (owner in archive.packages and owner not in archive.protected
            and not _interpreter(owner, archive))


def _sibling(owner: str, source: str, archive: ArchiveIndex) -> bool:
    """*owner* is a binary of *source* in the archive that may give its files up."""
    return _may_give_up(owner, archive) and archive.source_of(owner) == source


def _own_package(package: str, project: str, archive: ArchiveIndex) -> bool:
    """*package* is the very name dh-python's map gives *project*, in the archive, and not
    the interpreter's."""
    return (archive.dist_map.get(canonicalize_name(project)) == package
            and package in archive.packages and not _interpreter(package, archive))


def same_project(found: Sequence[Conflict], *, package: str, project: str,
                 archive: ArchiveIndex, version: str | None = None
                 ) -> tuple[list[Takeover], list[Conflict]]:
    """Split conflicts into the files *package* may take over and the ones it may not.

    A file may be taken over only when *package* is the archive's own package of *project*
    (dh-python's dist map gives it this very name, so a configured other name never
    qualifies), a module package of the archive that is not the interpreter's, and every
    owner of the file is a binary package built from the same Debian source, neither the
    interpreter's nor Essential or Priority required/important.  That is a newer release of
    the project Debian ships: its script moving into the module package is an upgrade, not a
    hostile upstream taking someone else's file.  Everything else is refused as before.
    An owner that a package of another source depends on (`ArchiveIndex.needed_by`) is
    taken over only when *package*, in its Debian *version*, may Provide it
    (`why_not_provided`; `Takeover.provides_for`), else refused, saying so
    (`Conflict.needed_by`): Breaks on it would make apt remove that package as well, which
    nobody installing a newer python3-cffi expects.
    """
    if not _own_package(package, project, archive):
        return [], list(found)
    source = archive.source_of(package)
    taken: list[Takeover] = []
    refused: list[Conflict] = []
    for c in found:
        unprovided = [(o, why) for o in c.owners if o in archive.needed_by
                      and (why := why_not_provided(o, version, archive))]
        if not all(_sibling(o, source, archive) for o in c.owners):
            refused.append(c)
        elif unprovided:
            owner, why = unprovided[0]
            depender, count = archive.needed_by[owner]
            refused.append(dataclasses.replace(c, needed_by=(owner, depender, count),
                                               unprovided=why))
        else:
            taken += [Takeover(path=c.path, archive_path=c.archive_path, owner=o, source=source,
                               version=archive.packages[o],
                               provides_for=archive.needed_by.get(o)) for o in c.owners]
    return taken, refused


def why_not_provided(owner: str, version: str | None, archive: ArchiveIndex) -> str:
    """Why *owner*, which packages of other sources depend on, cannot be provided by our
    package of Debian *version* so that apt keeps them; "" when it can: every one of them
    depends on it by its name (`ArchiveIndex.needed_versions`) in a version ours satisfies,
    and ours is newer than every revision of the owner's release (`breaks_below`): a
    downgrade never takes over."""
    clauses = archive.needed_versions.get(owner)
    if clauses is None:
        return ("some need it through a virtual package it provides or through a package of "
                "its own source, which a package of another release cannot stand in for")
    if version is None:
        return "the version of the package is not known yet"
    below = breaks_below(archive.packages[owner])
    if version_compare(version, below) <= 0:
        return f"{version} is not newer than {owner} {archive.packages[owner]}"
    unmet = [f"{owner}{op}" if op.startswith(":") else f"{owner} ({op} {v})"
             for op, v in clauses if not satisfies(version, op, v)]
    if unmet:
        return f"some need {', '.join(unmet)}, which {version} does not satisfy"
    return ""


def may_take_over(package: str, project: str, archive: ArchiveIndex) -> bool:
    """Whether *package* is the archive's own package of *project* and its source builds
    other binaries, whose files a build might take over (`same_project`)."""
    if not _own_package(package, project, archive):
        return False
    source = archive.source_of(package)
    return ((source != package and source in archive.packages)
            or any(s == source and b != package for b, s in archive.sources.items()))


def undeclared_takeovers(artifacts: Sequence[Artifact], image: images.Image, *, project: str,
                         allowed: Collection[str] = (), replaces: Collection[str] = (),
                         provides: Collection[str] = (),
                         conflicts_with: Collection[Relation] = ()) -> list[Takeover]:
    """Files of the built .debs that only their own project's other binaries ship and whose
    owners the package does not declare yet (in Replaces, and in Provides when other sources
    need them: a module or data file the metadata did not announce, such as python3-cffi's
    _cffi_backend of python3-cffi-backend); none when another file is refused anyway
    (`check_artifacts` says which)."""
    loaded = images.load_owned_files(image)
    if loaded is None:
        return []
    debs = {a: deb_files(a.path) for a in artifacts if a.format == "deb"}
    owned = parse_owned(loaded[0], wanted=[f for files in debs.values() for f in files],
                        index=image.owned_index)
    archive = images.load_archive(image)
    new: list[Takeover] = []
    for a, files in debs.items():
        found = conflicting(conflicts(files, owned, package=a.package, allowed=allowed),
                            conflicts_with, archive)
        taken, refused = same_project(found, package=a.package, project=project,
                                      archive=archive, version=a.version)
        if refused:
            return []
        new += [t for t in taken if not _declared(t, replaces, provides)]
    return new


def _declared(taken: Takeover, replaces: Collection[str], provides: Collection[str]) -> bool:
    """The package declares what taking *taken* over needs: Replaces on its owner, and
    Provides too when other sources need the owner."""
    return taken.owner in replaces and (taken.provides_for is None or taken.owner in provides)


def breaks_below(version: str) -> str:
    """A version above every Debian revision of the archive version's upstream release:
    ``1.8.1-2`` -> ``1.8.1+repack~``, above 1.8.1-2, 1.8.1-2+deb12u1 and 1.8.1-3 alike
    (stable and security updates keep the upstream version), below 1.8.2 and 1.8.1.1.  A
    later Debian release that moves past this upstream version is not broken by it."""
    v = Version(version)
    epoch = f"{v.epoch}:" if v.epoch else ""
    return f"{epoch}{v.upstream_version}+repack~"


def takeover_relations(taken: Sequence[Takeover]) -> tuple[tuple[Relation, ...],
                                                           tuple[Relation, ...]]:
    """(Replaces, Breaks) for the owners of taken-over files, Debian Policy 7.6.1's way: both
    ``owner (<< V)`` with V above every archive version of the owner (`breaks_below`).
    Breaks, not Conflicts: dpkg may unpack our package before the owner is gone (the owner
    is deconfigured, then apt removes it, or upgrades it to a version that no longer ships
    the file), where Conflicts forces a removal first; Replaces lets dpkg hand the file over
    without "trying to overwrite ..., which is also in package ...".  Conflicts+Replaces is
    for replacing a whole package (Policy 7.6.2), which this is not."""
    owners = sorted({(t.owner, t.version) for t in taken})
    rels = tuple(Relation(name=DebName(o), op="<<", version=DebVersion(breaks_below(v)))
                 for o, v in owners)
    return rels, rels


def takeover_provides(taken: Sequence[Takeover], version: str) -> tuple[Relation, ...]:
    """Provides for the owners that packages of other sources depend on: ``owner (= V)``, V
    the package's own Debian *version*, so that their dependencies, versioned or not, stay
    met once apt removes the owner (Policy 7.5: a versioned Provides satisfies versioned
    dependencies)."""
    owners = sorted({t.owner for t in taken if t.provides_for is not None})
    return tuple(Relation(name=DebName(o), op="=", version=DebVersion(version)) for o in owners)


def takeovers_line(package: str, taken: Sequence[Takeover], target: Target) -> list[str]:
    """One line per owner: "python3-sqlparse takes /usr/bin/sqlformat over from Debian 12
    (bookworm)'s sqlformat (the same project: source package sqlparse)", and "and provides
    alembic for python3-oslo.db and 22 more" when it Provides the owner."""
    lines = []
    for owner in sorted({t.owner for t in taken}):
        mine = [t for t in taken if t.owner == owner]
        paths = ", ".join(sorted({t.archive_path for t in mine}))
        line = (f"{package} takes {paths} over from {target.name}'s {owner} "
                f"(the same project: source package {mine[0].source})")
        if (needed := mine[0].provides_for) is not None:
            depender, count = needed
            more = f" and {count - 1} more" if count > 1 else ""
            line += f" and provides {owner} for {depender}{more}"
        lines.append(line)
    return lines


def deb_files(deb: Path) -> list[str]:
    """Every non-directory member of a .deb's data archive ("./usr/bin/su")."""
    try:
        tar = DebFile(str(deb)).data.tgz()
        return [m.name for m in tar.getmembers() if not m.isdir()]
    except (DebError, OSError, EOFError, ValueError) as e:
        raise BuildError(f"cannot read the file list of {deb.name}: {e}") from e


def refusal(project: str, package: str, found: Sequence[Conflict], target: Target,
            source: str = "contents") -> MappingError:
    first = found[0]
    where = first.archive_path if first.archive_path == first.path else (
        f"{first.archive_path} (the same file as {first.path} on merged /usr)")
    if first.needed_by is not None:
        return needed_refusal(project, package, where, first.needed_by, target,
                              unprovided=first.unprovided)
    owners = ", ".join(first.owners)
    if source == "contents":
        whose = f"of {target.name}'s {owners}"
    elif target.family == "rpm":
        whose = (f"which {target.name}'s base system ships (as {owners} of the "
                 f"{target.builder or 'builder'} image standing in for its file lists)")
    else:
        whose = f"of {target.name}'s {owners} (installed in the builder image)"
    more = f", and {len(found) - 1} more file(s) the system owns" if len(found) > 1 else ""
    paths = ", ".join(f'"{c.path}"' for c in found[:10])
    return MappingError(
        f"{package} would replace {where} {whose}{more}",
        project=project,
        hint=f"if it is another program of the same name, leave it out in repack.toml: "
             f"[packages.{project}] exclude = [{paths}]; if replacing it is intended, allow "
             f"it: allow-paths = [{paths}]"
             + (f"; if the package is another build of {owners}'s modules, conflict with it "
                f"(apt then removes it): conflicts = {{ deb = [\"{first.owners[0]}\"] }}"
                if target.family == "deb" and source == "contents" and len(first.owners) == 1
                and first.path.startswith(DIST_PACKAGES) else ""))


def needed_refusal(project: str, package: str, where: str, needed: tuple[str, str, int],
                   target: Target, *, unprovided: str = "") -> MappingError:
    """A file of the project's own other binary that packages of other sources need and that
    the package may not Provide (*unprovided* says why, `why_not_provided`): no setting makes
    the takeover safe, so the hint says what is left."""
    owner, depender, count = needed
    more = f" and {count - 1} more package(s) of other sources" if count > 1 else ""
    why = f"; {package} cannot provide {owner} for them: {unprovided}" if unprovided else ""
    return MappingError(
        f"{package} would replace {where} of {target.name}'s {owner}, which {depender} "
        "(another source) depends on",
        project=project,
        hint=f"taking the file over would make apt remove {owner} and with it {depender}"
             f"{more}{why}; allow-paths does not help (dpkg would refuse to overwrite the file of "
             f"an installed {owner}): keep {target.name}'s own {package}, or install this "
             f"release of {project} in a virtual environment")


def check_scripts(scripts: Sequence[str], package: str, target: Target, image: images.Image, *,
                  project: str, allowed: Collection[str] = (), excluded: Collection[str] = (),
                  version: str | None = None) -> list[Takeover]:
    """The early half, from metadata before anything is built: console scripts become
    /usr/bin/<name>, less those an `exclude` glob leaves out (mcp's `/usr/bin/mcp`, another
    program than Debian's mmv's).  The built file list (`check_artifacts`) stays the
    guarantee: scripts, data files and modules of a build can differ from what the metadata
    announces, and a glob the build's shell matches otherwise is caught there.  Returns
    the files *package* takes over from its own project's other binaries (`same_project`),
    which the spec declares (`takeover_relations`; `takeover_provides` for the owners
    other sources need, given the package's Debian *version*)."""
    loaded = images.load_owned_files(image)
    paths = [path for path in (f"/usr/bin/{s}" for s in scripts)
             if not any(fnmatch.fnmatchcase(path, glob) for glob in excluded)]
    if loaded is None or not paths:
        return []
    data, source = loaded
    found = conflicts(paths, parse_owned(data, wanted=paths, index=image.owned_index),
                      package=package, allowed=allowed)
    taken, refused = same_project(found, package=package, project=project,
                                  archive=images.load_archive(image), version=version)
    if refused:
        raise refusal(project, package, refused, target, source)
    return taken


# rpm's query format: one "<mode> <path>" line per file of the package
_RPM_FILES_QF = "[%{FILEMODES:perms} %{FILENAMES}\\n]"


def rpm_files(engine: Engine, image: images.Image, rpm: Path) -> list[str]:
    """Every non-directory file of an .rpm, listed by the builder's rpm (offline, read-only
    mount): the host need not have rpm."""
    out = engine.run(image.tag, ["rpm", "-qp", "--nosignature", "--qf", _RPM_FILES_QF,
                                 f"/check/{rpm.name}"],
                     mounts=[Mount(source=rpm.parent, target="/check", readonly=True)])
    files = []
    for line in out.splitlines():
        perms, _, path = line.partition(" ")
        if path.startswith("/") and not perms.startswith("d"):
            files.append(path)
    return files


def _files(artifact: Artifact, image: images.Image, engine: Engine | None) -> list[str] | None:
    """The files a built package ships; None for an .rpm without an engine to list it."""
    if artifact.format == "deb":
        return deb_files(artifact.path)
    if artifact.format == "rpm" and engine is not None:
        return rpm_files(engine, image, artifact.path)
    return None


def check_artifacts(artifacts: Sequence[Artifact], target: Target, image: images.Image, *,
                    project: str, allowed: Collection[str] = (),
                    engine: Engine | None = None, replaces: Collection[str] = (),
                    provides: Collection[str] = (),
                    conflicts_with: Collection[Relation] = ()) -> None:
    """Refuse (MappingError, exit 7) built packages that ship a file the target system's
    packages ship: .debs by their data archive, .rpms (with *engine*) by the builder's rpm.
    A .deb may keep a file of its own project's other binaries (`same_project`) only when it
    declares Replaces on that owner (*replaces*: the names its spec declares), and Provides
    (*provides*) when other sources need the owner; and one of a package it declares
    Conflicts with (*conflicts_with*, `conflicting`).  An image
    made before repack recorded the owned files is not checked."""
    loaded = images.load_owned_files(image)
    if loaded is None:
        return
    data, source = loaded
    listed = {a: files for a in artifacts
              if (files := _files(a, image, engine)) is not None}
    owned = parse_owned(data, wanted=[f for files in listed.values() for f in files],
                        index=image.owned_index)
    archive = images.load_archive(image)
    for a, files in listed.items():
        found = conflicts(files, owned, package=a.package, allowed=allowed)
        if a.format == "deb":
            found = conflicting(found, conflicts_with, archive)
            taken, refused = same_project(found, package=a.package, project=project,
                                          archive=archive, version=a.version)
            declared = {t.path for t in taken if _declared(t, replaces, provides)}
            undeclared = {t.path for t in taken} - declared
            why = {c.path: c for c in refused}      # with the reason, when it has one
            found = [why.get(c.path, c) for c in found
                     if c.path not in declared or c.path in undeclared]
        if found:
            raise refusal(project, a.package, found, target, source)
