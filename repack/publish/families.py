"""One contract for each package family's side of a repository: apt for "deb", yum for "rpm".

repack.publish.publisher (publish, remove, prune), repack.publish.verify and
repack.publish.listing know no family: they look the publisher up in PUBLISHERS by the
target's family and call these methods; `sign` runs once at the end of each transaction
that changed something.

RULE for every method that writes: files in a stage are HARD LINKS shared with the live
generation (repack.publish.tree): never modify an existing file in place (no
open(..., "w"/"a"), no rpmsign --addsign on a staged file); write a new file and
os.replace() it over the old name (repack.files.write_file), or unlink first.  A
different file under a published name is an IntegrityError.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from repack import log
from repack import targets as target_files
from repack.files import write_file
from repack.gpg import Signer
from repack.publish import apt, security, yum
from repack.publish.tree import Stage
from repack.rpm.vercmp import EVR

SignerFor = Callable[[str], Signer]     # target id -> the keys its clients verify


@dataclass(frozen=True, slots=True, kw_only=True)
class Signing:
    """What the end of a transaction signs with (FamilyPublisher.sign)."""

    every_key: Signer                        # for metadata of no known target
    signer_for: SignerFor                    # a known target id -> the keys that sign for it
    trusted_for: Callable[[str], list[str]]  # ... -> the published keys its clients verify
    origin: str                              # the repository's name (Origin, Label)
    valid_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """One binary package a live generation publishes for one target (`repo list`)."""

    name: str
    version: str                  # the distro version (dpkg's, or rpm's [E:]V-R)
    arch: str
    target: str
    channel: str                  # apt suite / yum target, "+security" when also a
    security: bool                # security update (<suite>-security / updateinfo)
    path: Path
    rel: str                      # relative to the generation (REPO)
    newer_than: Any               # a key ordering versions of one name (dpkg's or rpm's)


class FamilyPublisher(Protocol):
    """The side of a repository that serves one package family's clients.

    `only` is the target ids (of this family) a command is limited to, None for all;
    every method returns one line per change or problem ([]: none)."""

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer) -> list[str]:
        """Add a target's packages (checked to exist, with their provenance checked) to
        the staged generation; what was new, security updates included."""
        ...

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None) -> list[str]:
        """What `remove` would drop from the generation at root (a dry run): the matching
        binaries and the source packages only they came from.  Reads only."""
        ...

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor) -> list[str]:
        """Drop what `removal` names from the stage."""
        ...

    def prune(self, stage: Stage, keep: int, signer_for: SignerFor) -> list[str]:
        """Keep the newest `keep` versions of each package (the family's version order)."""
        ...

    def sign(self, stage: Stage, signing: Signing) -> None:
        """At the end of every transaction that changed something: sign the family's
        metadata anew where it must be (every apt distribution: a fresh Valid-Until; a yum
        target whose keys changed, its rpms no trusted key signed included)."""
        ...

    def verify(self, root: Path, keyring: Path | None, now: datetime) -> list[str]:
        """Every check a client makes on the served tree REPO; keyring None: the keys
        REPO/keys publishes."""
        ...

    def packages(self, root: Path, target_id: str) -> list[Published]:
        """The binary packages the generation at root publishes for one target."""
        ...


def _json_list(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


class AptPublisher:
    """REPO/apt: one distribution per codename (repack.publish.apt), its -security suite
    (repack.publish.security); the distributions are signed when the transaction ends."""

    def _codenames(self, only: Sequence[str] | None) -> list[str] | None:
        return None if only is None else [target_files.load(t).codename for t in only]

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer) -> list[str]:
        return apt.add(stage, target_id, files) + security.note_apt(stage, target_id, files)

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None) -> list[str]:
        out = []
        for codename, (binaries, sources) in apt.removal(root, package, version,
                                                         self._codenames(only)).items():
            for rec in binaries + sources:
                kind = "" if rec in binaries else "source "
                out.append(f"{codename}: {kind}{rec['Package']} {rec['Version']} "
                           f"({', '.join(apt.files_of(rec))})")
        return out

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor) -> list[str]:
        return apt.remove(stage, package, version, self._codenames(only))

    def prune(self, stage: Stage, keep: int, signer_for: SignerFor) -> list[str]:
        return apt.prune(stage, keep)

    def sign(self, stage: Stage, signing: Signing) -> None:
        """Every distribution and its -security suite, with the keys of the deb target of
        its codename (every key for a codename no target has)."""
        debs: dict[str, str] = {}
        for t in target_files.available():
            if (tgt := target_files.load(t)).family == "deb":
                debs.setdefault(tgt.codename, t)
        for codename in apt.codenames(stage.root):
            tid = debs.get(codename)
            signer = signing.every_key if tid is None else signing.signer_for(tid)
            apt.write_dist(stage, codename, signer, origin=signing.origin,
                           valid_days=signing.valid_days)
            security.write_apt(stage, codename, signer, origin=signing.origin,
                               valid_days=signing.valid_days)

    def verify(self, root: Path, keyring: Path | None, now: datetime) -> list[str]:
        if keyring is not None:
            return apt.verify_apt(root, keyring, now)
        with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
            published = Path(tmp) / "keyring.gpg"
            keys = sorted((root / "keys").glob("*.gpg")) if (root / "keys").is_dir() else []
            published.write_bytes(b"".join(k.read_bytes() for k in keys))
            return apt.verify_apt(root, published, now)

    def packages(self, root: Path, target_id: str) -> list[Published]:
        codename = target_files.load(target_id).codename
        db = apt.load_db(root, codename)
        state = root.joinpath(*security.STATE, f"apt-{codename}.json")
        listed = {tuple(k) for k in _json_list(state)}
        out = []
        for rec in db["packages"]:
            sec = (rec["Package"], rec["Version"], rec["Architecture"]) in listed
            rel = f"apt/{rec['Filename']}"
            out.append(Published(name=rec["Package"], version=rec["Version"],
                                 arch=rec["Architecture"], target=target_id,
                                 channel=f"{codename}{'+security' if sec else ''}",
                                 security=sec, path=root / rel, rel=rel,
                                 newer_than=rec["Version"]))
        return out


class YumPublisher:
    """REPO/yum/<target>: the rpms and their signed repodata (repack.publish.yum), whose
    security updates go into updateinfo.xml (repack.publish.security)."""

    def _targets(self, root: Path, only: Sequence[str] | None) -> list[str]:
        found = root / "yum"
        names = sorted(p.name for p in found.iterdir() if p.is_dir()) if found.is_dir() else []
        return [t for t in names if only is None or t in only]

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer) -> list[str]:
        before = _snapshot(stage.root / "yum" / target_id)
        updates = yum.publish_yum(stage.root, target_id, files, signer)
        if _snapshot(stage.root / "yum" / target_id) == before:
            return []
        stage.changed = True
        return ([f"{target_id}: {f.name}" for f in files]
                + [f"{target_id} updateinfo (security): {name}" for name in updates])

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None) -> list[str]:
        return [f"{t}: {Path(p.href).name}" for t in self._targets(root, only)
                for p in yum.removal(root / "yum" / t, package, version)]

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor) -> list[str]:
        out = []
        for t in self._targets(stage.root, only):
            doomed = yum.removal(stage.root / "yum" / t, package, version)
            if doomed:
                yum.remove_listed(stage.root / "yum" / t, doomed, signer_for(t))
                stage.changed = True
                out += [f"{t}: {Path(p.href).name}" for p in doomed]
        return out

    def prune(self, stage: Stage, keep: int, signer_for: SignerFor) -> list[str]:
        out = []
        for t in self._targets(stage.root, None):
            if n := yum.prune_yum(stage.root, t, keep, signer_for(t)):
                stage.changed = True
                out.append(f"{t}: {n} older rpm(s)")
        return out

    def sign(self, stage: Stage, signing: Signing) -> None:
        """When the keys a target's clients trust, or the keys that sign for it, changed
        since the last transaction (db/yum-keys.json): re-sign the rpms no trusted key
        signed, and the metadata (repack.publish.yum.resign_yum).  After `key retire`
        nothing in the tree is left signed by the retired key alone; dnf would refuse it."""
        if not (stage.root / "yum").is_dir():
            return
        path = stage.root / "db" / "yum-keys.json"
        stored = json.loads(path.read_text()) if path.is_file() else {}
        state = {}
        for tid in self._targets(stage.root, None):
            if tid not in target_files.available():
                continue
            signer = signing.signer_for(tid)
            state[tid] = {"trusted": signing.trusted_for(tid),
                          "signers": list(signer.fingerprints)}
            if stored.get(tid) != state[tid]:
                for rpm in yum.resign_yum(stage.root, tid, signer, state[tid]["trusted"]):
                    log.info(f"{tid}: re-signed {rpm} with key {signer.fingerprint}")
        if state != stored:
            write_file(path, json.dumps(state, indent=2).encode())

    def verify(self, root: Path, keyring: Path | None, now: datetime) -> list[str]:
        return yum.verify_yum(root, keyring)

    def packages(self, root: Path, target_id: str) -> list[Published]:
        repo = root / "yum" / target_id
        if not (repo / "repodata" / "repomd.xml").is_file():
            return []
        state = root.joinpath(*security.STATE, f"yum-{target_id}.json")
        sec_files = {p.get("filename") for e in _json_list(state) if isinstance(e, dict)
                     for p in e.get("packages", []) if isinstance(p, dict)}
        out = []
        for pkg in yum.packages(repo):
            if pkg.arch == "src":          # source rpms: listed with their binaries' removal
                continue
            rel = f"yum/{target_id}/{pkg.href}"
            sec = Path(pkg.href).name in sec_files
            epoch = "" if pkg.epoch in ("", "0") else f"{pkg.epoch}:"
            out.append(Published(
                name=pkg.name, version=f"{epoch}{pkg.ver}-{pkg.rel}", arch=pkg.arch,
                target=target_id, channel=f"{target_id}{'+security' if sec else ''}",
                security=sec, path=repo / pkg.href, rel=rel,
                newer_than=EVR(epoch=pkg.epoch, version=pkg.ver,
                               release=pkg.rel)))
        return out


def _snapshot(tree: Path) -> set[tuple[str, int]]:
    """(path, inode) of every file: staged files are hard links, so an untouched tree
    keeps every inode and a publish that changed nothing is recognised."""
    if not tree.is_dir():
        return set()
    found = set()
    todo = [os.fspath(tree)]
    while todo:              # readdir gives type and inode: no stat of 10,000s of files
        with os.scandir(todo.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    todo.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    found.add((e.path, e.inode()))
    return found


PUBLISHERS: dict[str, FamilyPublisher] = {"deb": AptPublisher(), "rpm": YumPublisher()}
