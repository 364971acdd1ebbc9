"""Check a published package by building it again: `repack rebuild ARTIFACT`.

A package records where it came from (repack.trust.provenance: project, version, the sdist's
sha256, the build date).  `rebuild` fetches that very sdist (pinned by its sha256, through
the trust policy like any build), checks that every verification the record claims passed
here too, builds it afresh for the package's target, never from the build cache, with the
recorded date and advisories, and compares.  A second machine that gets the same
bytes has checked the one that signs; one that does not is told the first difference:

* .deb: byte for byte; else the first control field, then the first file (name, type,
  mode, owner, time, size, content) of the data and control archives that differs;
* .rpm: the header and payload digests, so a signed package (rpmsign only adds signature
  tags) matches its unsigned rebuild; else the first differing header tag, then the first
  differing file of ``rpm -qp --dump``.

Differences also come from the builder: an image bootstrapped on another day holds other
package versions (debhelper, rpm), which can change the output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822
from packaging.requirements import Requirement

from repack import pipeline
from repack import targets as target_files
from repack.errors import MetadataError, TargetError
from repack.model import BuildRequest, Provenance, Target
from repack.publish.yum import query
from repack.run import run
from repack.trust import provenance

__all__ = ["Outcome", "first_difference", "rebuild", "target_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    artifact: Path
    rebuilt: Path | None
    difference: str | None       # None: identical

    @property
    def identical(self) -> bool:
        return self.difference is None


def rebuild(artifacts: Sequence[Path], ctx: pipeline.Context,
            target_id: str | None = None) -> list[Outcome]:
    """Build each package's recorded sdist again (ctx must be fresh: no build cache) and
    compare; packages of one build (a .deb and its siblings) share one rebuild."""
    builds: dict[tuple[object, ...], list[Path] | str] = {}
    outcomes = []
    for artifact in artifacts:
        record = provenance.read(artifact)
        if record is None:
            raise MetadataError(f"{artifact.name} carries no repack provenance record; only "
                                "packages built by repack can be rebuilt")
        if record.source_date_epoch is None:
            raise MetadataError(f"{artifact.name} records no build date (built by a repack "
                                "before reproducible builds); it cannot be rebuilt "
                                "identically", project=record.project)
        target = target_files.load(target_id) if target_id else target_of(artifact)
        key = (provenance.to_json(record), target.id)
        if key not in builds:
            builds[key] = _build_again(record, target, ctx)
        built = builds[key]
        if isinstance(built, str):
            outcomes.append(Outcome(artifact=artifact, rebuilt=None, difference=built))
            continue
        twin = next((p for p in built if p.name == artifact.name), None)
        if twin is None:
            names = ", ".join(sorted(p.name for p in built if p.suffix in (".deb", ".rpm")))
            outcomes.append(Outcome(artifact=artifact, rebuilt=None,
                                    difference=f"the rebuild made no {artifact.name} (it made "
                                               f"{names})"))
            continue
        outcomes.append(Outcome(artifact=artifact, rebuilt=twin,
                                difference=first_difference(artifact, twin)))
    return outcomes


def _build_again(record: Provenance, target: Target, ctx: pipeline.Context) -> list[Path] | str:
    """The rebuilt files, or why nothing could be compared."""
    assert record.source_date_epoch is not None       # rebuild() refuses records without
    request = BuildRequest(requirement=Requirement(f"{record.project}=={record.version}"),
                           hashes=(f"sha256:{record.sha256}",))
    sdist = pipeline.fetch_sdist(request, target, ctx)
    missing = [check for check in record.verified if check not in sdist.verified]
    if missing:
        return (f"this machine could not verify {', '.join(missing)} of the sdist (its trust "
                "policy differs); nothing was compared")
    # Every check the record claims was done again; the record is reproduced as it was
    # written, with the advisories known at build time (the index may know more today).
    sdist = dataclasses.replace(sdist, verified=record.verified,
                                vulnerabilities=record.vulnerabilities, fixes=record.fixes,
                                advisories_checked=record.advisories_checked,
                                source_date_epoch=record.source_date_epoch,
                                revision=record.revision, rebuilt=record.rebuilt)
    built, _ = pipeline.build_for_target(sdist, target, ctx)
    return [a.path for a in built]


def target_of(artifact: Path) -> Target:
    """The target a package was built for, from the suffix repack gives its version
    (Debian revision ``~deb12``, rpm release ``.el9``)."""
    if artifact.name.endswith(".deb"):
        family = "deb"
        version = Deb822(_deb_control(artifact))["Version"]
    else:
        family = "rpm"
        version = query([artifact], "%{RELEASE}\n")[0]
    for tid in target_files.available():
        target = target_files.load(tid)
        if target.family == family and version.endswith(target.version_suffix):
            return target
    raise TargetError(f"{artifact.name}: version {version!r} names no known target",
                      hint="give the target with -t")


def first_difference(a: Path, b: Path) -> str | None:
    """None when the packages are the same; else what differs first, in one line."""
    if _sha256(a) == _sha256(b):
        return None
    if a.name.endswith(".rpm"):
        return _rpm_difference(a, b)
    return _deb_difference(a, b)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --------------------------------------------------------------------------- .deb

def _deb_control(path: Path) -> bytes:
    return run(["dpkg-deb", "-f", path]).stdout


def _deb_difference(a: Path, b: Path) -> str:
    ca, cb = Deb822(_deb_control(a)), Deb822(_deb_control(b))
    for field in dict.fromkeys([*ca.keys(), *cb.keys()]):
        if ca.get(field) != cb.get(field):
            return f"control field {field}: {_short(ca.get(field))} != {_short(cb.get(field))}"
    for what, option in (("file", "--fsys-tarfile"), ("control file", "--ctrl-tarfile")):
        ta, tb = (run(["dpkg-deb", option, p]).stdout for p in (a, b))
        if (diff := _tar_difference(ta, tb)) is not None:
            return f"{what} {diff}"
    return "the archives hold the same files but differ in compression or member order"


def _tar_members(data: bytes) -> Iterator[tuple[str, tuple[object, ...]]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            content = tar.extractfile(m) if m.isfile() else None
            digest = hashlib.sha256(content.read()).hexdigest()[:16] if content else ""
            yield m.name, (("type", m.type.decode()), ("mode", oct(m.mode)),
                           ("owner", f"{m.uname or m.uid}:{m.gname or m.gid}"),
                           ("time", m.mtime), ("size", m.size), ("link", m.linkname),
                           ("sha256", digest))


def _tar_difference(a: bytes, b: bytes) -> str | None:
    for ma, mb in itertools.zip_longest(_tar_members(a), _tar_members(b)):
        if ma is None or mb is None:
            extra = ma or mb
            assert extra is not None
            side = "only in the package" if mb is None else "only in the rebuild"
            return f"{extra[0]}: {side}"
        if ma[0] != mb[0]:
            return f"{ma[0]} != {mb[0]} (the file lists differ)"
        for (key, va), (_, vb) in zip(ma[1], mb[1], strict=True):
            if va != vb:
                return f"{ma[0]}: {key} {va} != {vb}"
    return None


# --------------------------------------------------------------------------- .rpm

_RPM_TAGS = ("NAME", "EPOCH", "VERSION", "RELEASE", "ARCH", "BUILDTIME", "BUILDHOST",
             "SOURCERPM", "SIZE", "LICENSE", "PAYLOADCOMPRESSOR")


def _rpm_difference(a: Path, b: Path) -> str | None:
    fmt = "%{SHA256HEADER}|%{PAYLOADDIGEST}\n"
    if query([a], fmt) == query([b], fmt):
        return None                       # same header and payload: only signatures differ
    tags = "|".join(f"%{{{t}}}" for t in _RPM_TAGS) + "\n"
    (va,), (vb,) = query([a], tags), query([b], tags)
    for tag, x, y in zip(_RPM_TAGS, va.split("|"), vb.split("|"), strict=True):
        if x != y:
            return f"header {tag}: {_short(x)} != {_short(y)}"
    with tempfile.TemporaryDirectory(prefix="repack-rpmdb-") as rpmdb:
        da, db = (run(["rpm", "--dbpath", rpmdb, "-qp", "--nosignature", "--nodigest", "--dump",
                       p]).stdout.decode(errors="replace").splitlines() for p in (a, b))
    for la, lb in itertools.zip_longest(da, db):
        if la != lb:
            name = (la or lb or "").split(" ", 1)[0]
            return f"file {name}: {_short(la)} != {_short(lb)}"
    return "the headers differ in a tag repack does not compare (rpm -qp --xml shows all)"


def _short(value: object, limit: int = 120) -> str:
    """Package text fit for one terminal line: the package checked may be hostile."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
