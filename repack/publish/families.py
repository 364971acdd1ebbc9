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

import functools
import json
import tempfile
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from packaging.utils import canonicalize_name

from repack import log
from repack import targets as target_files
from repack.files import write_file
from repack.gpg import Signer
from repack.publish import apt, channels, security, yum
from repack.publish.tree import Stage
from repack.rpm import naming as rpm_naming
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
    channel_name: str = channels.DEFAULT   # repack.publish.channels: stable, testing, ...


class FamilyPublisher(Protocol):
    """The side of a repository that serves one package family's clients.

    `only` is the target ids (of this family) a command is limited to, None for all;
    every method returns one line per change or problem ([]: none)."""

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer, channel: str | None = None, *,
            verified: Collection[Path] | None = None) -> list[str]:
        """Add a target's packages (checked to exist, with their provenance checked) to
        the staged generation, in a channel (None: the default one,
        repack.publish.channels); what was new, security updates included.  verified:
        the files whose signature by signer the caller checked (None: not checked)."""
        ...

    def add_signed(self, stage: Stage, target_id: str, files: Sequence[Path],
                   signer: Signer, signing: Signing, *,
                   verified: Collection[Path] | None = None) -> list[str]:
        """`add` (to the default channel) then, if it added anything, `sign`: for a
        transaction that changes nothing of this family after its one add, so that its
        signatures are made while the other families still work.  What was new."""
        ...

    def promote(self, stage: Stage, target_id: str, *, project: str, version: str | None,
                source: str | None, dest: str | None,
                signer_for: SignerFor) -> tuple[int, list[str]]:
        """List in channel `dest` the very files channel `source` publishes of the project
        (that PEP 440 version, else its newest) for one target: (how many binary packages
        source has of it, what was new in dest)."""
        ...

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None, *, channel: str | None = None) -> list[str]:
        """What `remove` would drop from the generation at root (a dry run): the matching
        binaries and the source packages only they came from (in every channel, or the one
        named: "stable" is the default one).  Reads only."""
        ...

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor, *,
               channel: str | None = None) -> list[str]:
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


def _deb_targets() -> dict[str, str]:
    """Codename -> the first deb target of it."""
    debs: dict[str, str] = {}
    for t in target_files.available():
        if (tgt := target_files.load(t)).family == "deb":
            debs.setdefault(tgt.codename, t)
    return debs


def _suite_signer(signing: Signing, codename: str | None) -> Signer:
    """The keys of the deb target of a codename; every key for a codename no target has."""
    tid = None if codename is None else _deb_targets().get(codename)
    return signing.every_key if tid is None else signing.signer_for(tid)


class AptPublisher:
    """REPO/apt: one distribution per codename (repack.publish.apt), its -security suite
    (repack.publish.security); the distributions are signed when the transaction ends."""

    def _codenames(self, root: Path, only: Sequence[str] | None,
                   channel: str | None = None) -> list[str] | None:
        """The suites of the targets `only` (None: all) in the channel named (None:
        every channel's); None for every suite."""
        if only is None and channel is None:
            return None
        wanted = [target_files.load(t).codename
                  for t in (target_files.available() if only is None else only)]
        return [s for s in apt.codenames(root)
                if (split := channels.split_suite(s, wanted)) is not None
                and (channel is None or channels.name(split[1]) == channel)]

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer, channel: str | None = None, *,
            verified: Collection[Path] | None = None) -> list[str]:
        added = apt.add(stage, target_id, files, channel)
        if channel is not None:        # security suites are the default channel's
            codename = target_files.load(target_id).codename
            if added and not apt.codenames(stage.root).count(codename):
                # the default channel's suite exists (empty) once another channel does:
                # its clients can be configured before the first promotion
                apt.save_db(stage.root, codename, {"packages": [], "sources": []})
            return added
        return added + security.note_apt(stage, target_id, files)

    def add_signed(self, stage: Stage, target_id: str, files: Sequence[Path],
                   signer: Signer, signing: Signing, *,
                   verified: Collection[Path] | None = None) -> list[str]:
        """The security suite is noted and signed as soon as the db holds the new packages,
        beside the rendering of the main suite's lists; then every other suite is signed."""
        codename = target_files.load(target_id).codename

        def security_suite() -> list[str]:
            noted = security.note_apt(stage, target_id, files)
            security.write_apt(stage, codename, _suite_signer(signing, codename),
                               origin=signing.origin, valid_days=signing.valid_days)
            return noted

        with ThreadPoolExecutor(max_workers=1) as side:
            early: list[Future[list[str]]] = []
            added = apt.add(stage, target_id, files,
                            saved=lambda: early.append(side.submit(security_suite)))
            # the first error raises
            noted = early[0].result() if early else security.note_apt(stage, target_id, files)
        if added or noted:   # signed when something changed, as _finish would
            self.sign(stage, signing, skip=(security.suite(codename),) if early else ())
        return added + noted

    def promote(self, stage: Stage, target_id: str, *, project: str, version: str | None,
                source: str | None, dest: str | None,
                signer_for: SignerFor) -> tuple[int, list[str]]:
        codename = target_files.load(target_id).codename
        found, added = apt.promote(stage, channels.apt_suite(codename, source),
                                   channels.apt_suite(codename, dest), project, version)
        if added and dest is None:
            added += security.note_apt(stage, target_id,
                                       [Path(r["Filename"]) for r in found])
        return len(found), added

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None, *, channel: str | None = None) -> list[str]:
        out = []
        suites = self._codenames(root, only, channel)
        for codename, (binaries, sources) in apt.removal(root, package, version,
                                                         suites).items():
            for rec in binaries + sources:
                kind = "" if rec in binaries else "source "
                out.append(f"{codename}: {kind}{rec['Package']} {rec['Version']} "
                           f"({', '.join(apt.files_of(rec))})")
        return out

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor, *,
               channel: str | None = None) -> list[str]:
        return apt.remove(stage, package, version,
                          self._codenames(stage.root, only, channel))

    def prune(self, stage: Stage, keep: int, signer_for: SignerFor) -> list[str]:
        return apt.prune(stage, keep)

    def sign(self, stage: Stage, signing: Signing, *, skip: Collection[str] = ()) -> None:
        """Every distribution and its -security suite, with the keys of the deb target of
        its codename (every key for a codename no target has); but the suites in `skip`
        (add_signed signed them a moment ago)."""
        debs = _deb_targets()
        jobs: list[Callable[[], None]] = []
        for suite in apt.codenames(stage.root):
            split = channels.split_suite(suite, debs)
            signer = _suite_signer(signing, None if split is None else split[0])
            jobs.append(functools.partial(apt.write_dist, stage, suite, signer,
                                          origin=signing.origin, valid_days=signing.valid_days))
            if (split is None or split[1] is None) and security.suite(suite) not in skip:
                # channels have no -security suite
                jobs.append(functools.partial(security.write_apt, stage, suite, signer,
                                              origin=signing.origin,
                                              valid_days=signing.valid_days))
        # each suite writes only its own dists/<suite>: side by side (gpg runs, mostly)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(lambda job: job(), jobs):
                pass                                   # the first error raises

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
        state = root.joinpath(*security.STATE, f"apt-{codename}.json")
        listed = {tuple(k) for k in _json_list(state)}
        out = []
        for suite in apt.codenames(root):
            split = channels.split_suite(suite, [codename])
            if split is None:
                continue
            for rec in apt.load_db(root, suite)["packages"]:
                sec = split[1] is None and (rec["Package"], rec["Version"],
                                            rec["Architecture"]) in listed
                rel = f"apt/{rec['Filename']}"
                out.append(Published(name=rec["Package"], version=rec["Version"],
                                     arch=rec["Architecture"], target=target_id,
                                     channel=f"{suite}{'+security' if sec else ''}",
                                     security=sec, path=root / rel, rel=rel,
                                     newer_than=rec["Version"],
                                     channel_name=channels.name(split[1])))
        return out


class YumPublisher:
    """REPO/yum/<target>: the rpms and their signed repodata (repack.publish.yum), whose
    security updates go into updateinfo.xml (repack.publish.security)."""

    def _targets(self, root: Path, only: Sequence[str] | None,
                 channel: str | None = None) -> list[str]:
        """The directories under yum/ of the targets `only` (None: all) in the channel
        named (None: every channel's)."""
        found = root / "yum"
        names = sorted(p.name for p in found.iterdir() if p.is_dir()) if found.is_dir() else []
        split = {t: channels.split_yum_dir(t) for t in names}
        return [t for t in names if (only is None or split[t][0] in only)
                and (channel is None or channels.name(split[t][1]) == channel)]

    def add(self, stage: Stage, target_id: str, files: Sequence[Path],
            signer: Signer, channel: str | None = None, *,
            verified: Collection[Path] | None = None) -> list[str]:
        where = channels.yum_dir(target_id, channel)
        done = yum.add_rpms(stage.root, target_id, files, signer, channel, verified=verified)
        if not done.changed:
            return []
        default = stage.root / "yum" / target_id
        if channel is not None and not (default / "repodata" / "repomd.xml").is_file():
            default.mkdir(exist_ok=True)      # as for apt: the default channel, empty
            yum.write_repodata(default, signer)
        stage.changed = True
        return ([f"{where}: {f.name}" for f in files]
                + [f"{where} updateinfo (security): {name}" for name in done.updates])

    def add_signed(self, stage: Stage, target_id: str, files: Sequence[Path],
                   signer: Signer, signing: Signing, *,
                   verified: Collection[Path] | None = None) -> list[str]:
        added = self.add(stage, target_id, files, signer, verified=verified)
        if added:
            self.sign(stage, signing)
        return added

    def promote(self, stage: Stage, target_id: str, *, project: str, version: str | None,
                source: str | None, dest: str | None,
                signer_for: SignerFor) -> tuple[int, list[str]]:
        """The binaries of the newest matching EVR, with the .src.rpm they name."""
        src = channels.yum_dir(target_id, source)
        repo = stage.root / "yum" / src
        if not (repo / "repodata" / "repomd.xml").is_file():
            return 0, []
        target = target_files.load(target_id)
        name = rpm_naming.rpm_name(canonicalize_name(project), target)
        caret = rpm_naming.has_caret(target)
        listed = list(yum.packages(repo))
        matched = [p for p in listed if p.arch != "src" and p.name == name and (
            version is None or channels.same_version(
                p.ver, version, lambda v: rpm_naming.rpm_upstream_version(v, caret=caret)))]
        if not matched:
            return 0, []
        newest = max(matched, key=lambda p: EVR(epoch=p.epoch, version=p.ver, release=p.rel))
        chosen = [p for p in matched if (p.epoch, p.ver, p.rel)
                  == (newest.epoch, newest.ver, newest.rel)]
        wanted = {p.sourcerpm for p in chosen}
        chosen += [p for p in listed if p.arch == "src" and Path(p.href).name in wanted]
        dest_dir = channels.yum_dir(target_id, dest)
        added = yum.promote_yum(stage.root, src, dest_dir, chosen, signer_for(target_id))
        if added:
            stage.changed = True
        return len(matched), [f"{dest_dir}: {n}" for n in added]

    def removal(self, root: Path, package: str, version: str | None,
                only: Sequence[str] | None, *, channel: str | None = None) -> list[str]:
        return [f"{t}: {Path(p.href).name}" for t in self._targets(root, only, channel)
                for p in yum.removal(root / "yum" / t, package, version)]

    def remove(self, stage: Stage, package: str, version: str | None,
               only: Sequence[str] | None, signer_for: SignerFor, *,
               channel: str | None = None) -> list[str]:
        out = []
        for t in self._targets(stage.root, only, channel):
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
            target_id = channels.split_yum_dir(tid)[0]
            if target_id not in target_files.available():
                continue
            signer = signing.signer_for(target_id)
            state[tid] = {"trusted": signing.trusted_for(target_id),
                          "signers": list(signer.fingerprints)}
            if stored.get(tid) != state[tid]:
                for rpm in yum.resign_yum(stage.root, tid, signer, state[tid]["trusted"]):
                    log.info(f"{tid}: re-signed {rpm} with key {signer.fingerprint}")
        if state != stored:
            write_file(path, json.dumps(state, indent=2).encode())

    def verify(self, root: Path, keyring: Path | None, now: datetime) -> list[str]:
        return yum.verify_yum(root, keyring)

    def packages(self, root: Path, target_id: str) -> list[Published]:
        return [p for d in self._targets(root, None)
                if channels.split_yum_dir(d)[0] == target_id
                for p in self._packages(root, target_id, d)]

    def _packages(self, root: Path, target_id: str, dirname: str) -> list[Published]:
        repo = root / "yum" / dirname
        if not (repo / "repodata" / "repomd.xml").is_file():
            return []
        state = root.joinpath(*security.STATE, f"yum-{dirname}.json")
        sec_files = {p.get("filename") for e in _json_list(state) if isinstance(e, dict)
                     for p in e.get("packages", []) if isinstance(p, dict)}
        out = []
        for pkg in yum.packages(repo):
            if pkg.arch == "src":          # source rpms: listed with their binaries' removal
                continue
            rel = f"yum/{dirname}/{pkg.href}"
            sec = Path(pkg.href).name in sec_files
            epoch = "" if pkg.epoch in ("", "0") else f"{pkg.epoch}:"
            out.append(Published(
                name=pkg.name, version=f"{epoch}{pkg.ver}-{pkg.rel}", arch=pkg.arch,
                target=target_id, channel=f"{dirname}{'+security' if sec else ''}",
                security=sec, path=repo / pkg.href, rel=rel,
                newer_than=EVR(epoch=pkg.epoch, version=pkg.ver, release=pkg.rel),
                channel_name=channels.name(channels.split_yum_dir(dirname)[1])))
        return out



PUBLISHERS: dict[str, FamilyPublisher] = {"deb": AptPublisher(), "rpm": YumPublisher()}
