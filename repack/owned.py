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
"""

from __future__ import annotations

import gzip
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from debian.debfile import DebError, DebFile

from repack.container import images
from repack.container.engine import Engine, Mount
from repack.errors import BuildError, MappingError
from repack.model import Artifact, Target

__all__ = ["Conflict", "Owned", "check_artifacts", "check_scripts", "conflicts", "deb_files",
           "normalise", "parse_owned"]

# Top-level directories that merged /usr turns into symlinks into /usr.
MERGED_USR = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32"})

Owned = Mapping[str, tuple[str, tuple[str, ...]]]
"""normalised path -> (the path as the archive lists it, the binary packages shipping it)"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    path: str                    # as the built package ships it: "/usr/bin/su"
    archive_path: str            # as the archive ships it: "/bin/su"
    owners: tuple[str, ...]      # the archive's packages shipping it: ("util-linux",)


def normalise(path: str) -> str:
    """The file a path names on a merged-/usr system: "./bin/su" and "/usr/bin/su" are both
    "/usr/bin/su"."""
    rel = path[2:] if path.startswith("./") else path.lstrip("/")
    rel = posixpath.normpath(rel).lstrip("/")
    if rel.split("/", 1)[0] in MERGED_USR:
        rel = "usr/" + rel
    return "/" + rel


def parse_owned(data: bytes) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Contents lines (gzip): ``path  section/package,section/package``; the path may hold
    spaces, the package list never does."""
    owned: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in gzip.decompress(data).decode("utf-8", errors="replace").splitlines():
        path, _, where = line.rstrip().rpartition(" ")
        path = path.rstrip()
        if not path or not where:
            continue
        owners = tuple(loc.rsplit("/", 1)[-1] for loc in where.split(",") if loc)
        key = normalise(path)
        shown, before = owned.get(key, ("/" + path, ()))
        owned[key] = (shown, before + tuple(o for o in owners if o not in before))
    return owned


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
        hint=f"if replacing it is intended, allow it in repack.toml: [packages.{project}] "
             f"allow-paths = [{paths}]")


def check_scripts(scripts: Sequence[str], package: str, target: Target, image: images.Image, *,
                  project: str, allowed: Collection[str] = ()) -> None:
    """The early half, from metadata before anything is built: console scripts become
    /usr/bin/<name>.  The built file list (`check_artifacts`) stays the guarantee: scripts,
    data files and modules of a build can differ from what the metadata announces."""
    loaded = images.load_owned_files(image)
    if loaded is None or not scripts:
        return
    data, source = loaded
    found = conflicts([f"/usr/bin/{s}" for s in scripts], parse_owned(data), package=package,
                      allowed=allowed)
    if found:
        raise refusal(project, package, found, target, source)


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


def check_artifacts(artifacts: Sequence[Artifact], target: Target, image: images.Image, *,
                    project: str, allowed: Collection[str] = (),
                    engine: Engine | None = None) -> None:
    """Refuse (MappingError, exit 7) built packages that ship a file the target system's
    packages ship: .debs by their data archive, .rpms (with *engine*) by the builder's rpm.
    An image made before repack recorded the owned files is not checked."""
    loaded = images.load_owned_files(image)
    if loaded is None:
        return
    data, source = loaded
    owned = parse_owned(data)
    for a in artifacts:
        if a.format == "deb":
            files = deb_files(a.path)
        elif a.format == "rpm" and engine is not None:
            files = rpm_files(engine, image, a.path)
        else:
            continue
        found = conflicts(files, owned, package=a.package, allowed=allowed)
        if found:
            raise refusal(project, a.package, found, target, source)
