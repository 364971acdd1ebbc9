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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822
from packaging.requirements import Requirement

from repack import config, pipeline
from repack import targets as target_files
from repack.compare import deb_control, first_difference
from repack.context import Context
from repack.errors import ConfigError, MetadataError, TargetError
from repack.model import BuildRequest, Provenance, Target
from repack.rpm.query import query
from repack.trust import provenance

__all__ = ["Outcome", "rebuild", "target_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    artifact: Path
    rebuilt: Path | None
    difference: str | None       # None: identical

    @property
    def identical(self) -> bool:
        return self.difference is None


def rebuild(artifacts: Sequence[Path], ctx: Context,
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
        maintainer = maintainer_of(artifact)
        key = (provenance.to_json(record), target.id, maintainer)
        if key not in builds:
            as_built = dataclasses.replace(ctx, settings=dataclasses.replace(
                ctx.settings, maintainer=maintainer, maintainer_source=artifact.name))
            builds[key] = _build_again(record, target, as_built)
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


def _build_again(record: Provenance, target: Target, ctx: Context) -> list[Path] | str:
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
    built, _ = pipeline.build_sdist(sdist, target, ctx)
    return [a.path for a in built]


def maintainer_of(artifact: Path) -> str:
    """The maintainer a package was built with (a .deb's Maintainer; an rpm's %changelog
    entry, "Name <email> - EVR", as it has no Packager tag): the rebuild uses it, whatever
    this machine's configuration or signing key would give."""
    if artifact.name.endswith(".deb"):
        value = str(Deb822(deb_control(artifact)).get("Maintainer", ""))
    else:
        value = query([artifact], "%{CHANGELOGNAME}\n")[0].rpartition(" - ")[0]
    try:
        return config.check_maintainer(value, artifact.name)
    except ConfigError as e:
        raise MetadataError(str(e)) from e


def target_of(artifact: Path) -> Target:
    """The target a package was built for, from the suffix repack gives its version
    (Debian revision ``~deb12``, rpm release ``.el9``)."""
    if artifact.name.endswith(".deb"):
        family = "deb"
        version = Deb822(deb_control(artifact))["Version"]
    else:
        family = "rpm"
        version = query([artifact], "%{RELEASE}\n")[0]
    for tid in target_files.available():
        target = target_files.load(tid)
        if target.family == family and version.endswith(target.version_suffix):
            return target
    raise TargetError(f"{artifact.name}: version {version!r} names no known target",
                      hint="give the target with -t")
