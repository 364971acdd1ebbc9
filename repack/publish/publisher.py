"""`repack publish` / `repo remove|prune|refresh`: one transaction each (repack.publish.tree).

Every transaction re-signs each apt distribution (fresh Date and Valid-Until) and rewrites
keys/ and client/, so a repository never outlives its keys or its expiry unnoticed; when the
published keys changed (`key rotate`, `key retire`), each yum target's repomd.xml and the rpms
no published key signed are re-signed too.  With Options.keyring_builder (`[publish]
keyring-packages`) the keyring packages are rebuilt into the same generation when their
content changed (repack.publish.keyring).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from debian import deb822
from packaging.utils import canonicalize_name

from repack import keys, run
from repack import targets as target_files
from repack.compare import deb_paragraph
from repack.deb import naming as deb_naming
from repack.deb.sign import unsigned_text
from repack.errors import ConfigError, MetadataError
from repack.files import write_file
from repack.gpg import Signer, key_states
from repack.model import Provenance, Target
from repack.publish import channels, clients, yum
from repack.publish.families import PUBLISHERS, Signing
from repack.publish.tree import Stage, current, transaction
from repack.publish.yum import write_repodata
from repack.rpm import naming as rpm_naming
from repack.trust import provenance

if TYPE_CHECKING:  # imported where it builds: a publish without keyring packages needs
    from repack.publish import keyring  # none of its container code

DEB_SUFFIXES = (".deb", ".dsc")
RPM_SUFFIXES = (".rpm",)


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    repo: Path
    signer: Signer
    gnupghome: Path
    url: str | None = None       # default: the stored one, else file:// of the repository
    name: str | None = None      # default: the stored one, else "repack"
    valid_days: int = 7
    # builds the keyring packages (repack.publish.keyring); None: the tree has none
    keyring_builder: keyring.Builder | None = None

    def __post_init__(self) -> None:
        home, repo = self.gnupghome.resolve(), self.repo.resolve()
        if home.is_relative_to(repo):
            raise ConfigError(f"the GnuPG home {self.gnupghome} is inside the repository "
                              f"{self.repo}: its secret keys would be served",
                              hint="keep the keys outside the published tree (--gnupghome)")


def collect(paths: Sequence[Path], target: str | None = None) -> dict[tuple[str, str], list[Path]]:
    """(family, target id) -> files.  A file's target is --target, else the name of a
    directory it sits in (repack build writes OUT/<target>/), else the target whose
    version suffix (~deb12) its name carries."""
    known = {t: target_files.load(t) for t in target_files.available()}
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file()
                            and f.name.endswith(DEB_SUFFIXES + RPM_SUFFIXES))
        elif p.suffix == ".changes" and p.is_file():
            files += _listed_by(p)
        elif p.is_file():
            files.append(p)
        else:
            raise ConfigError(f"{p}: no such file or directory")
    groups: dict[tuple[str, str], list[Path]] = {}
    for f in files:
        if not f.name.endswith(DEB_SUFFIXES + RPM_SUFFIXES):
            raise ConfigError(f"{f.name}: only .deb, .dsc, .rpm and .changes files can be "
                              "published")
        tid = target or target_files.of_file(f, known)
        if tid is None or tid not in known:
            raise ConfigError(f"{f.name}: cannot tell its target",
                              hint="give --target, or publish the OUT/<target>/ directory")
        family = known[tid].family
        want = DEB_SUFFIXES if family == "deb" else RPM_SUFFIXES
        if not f.name.endswith(want):
            raise ConfigError(f"{f.name}: not a {family} file but its target is {tid}")
        groups.setdefault((family, tid), []).append(f)
    if not groups:
        raise ConfigError("nothing to publish: no .deb, .dsc or .rpm files given")
    return groups


def check_record(path: Path, target: Target,
                 rpm_head: tuple[str, str] | None = None) -> Provenance | None:
    """The provenance record of a binary package, which must be there and describe it:
    its project and version (and, for a .deb, the Repack-* fields and the sdist digest)
    are the package's own.  Source packages (.dsc, .src.rpm) carry none: None.
    rpm_head: an .rpm's (NAME, VERSION) when the caller read them already."""
    name = path.name
    if not name.endswith(".deb") and (not name.endswith(".rpm") or name.endswith(".src.rpm")):
        return None
    if name.endswith(".rpm") and rpm_head is None:
        out = run.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf",
                       "%{NAME}\\n%{VERSION}\\n", path]).stdout.decode().splitlines()
        rpm_head = ((out + ["", ""])[0], (out + ["", ""])[1])
    # a .deb's control file is parsed once: its Package names the record's path too
    control = deb_paragraph(path) if name.endswith(".deb") else None
    record = provenance.read(path, rpm_name=rpm_head[0] if rpm_head else None,
                             deb_package=control.get("Package") if control else None)
    if record is None:
        raise MetadataError(f"{name}: no provenance record ({provenance.DOC_NAME}); refusing "
                            "to publish it", hint="publish what `repack build` made")
    problems = []
    if control is not None:
        version = control.get("Version", "")
        upstream = version.partition(":")[2] or version
        upstream = upstream.rpartition("-")[0] or upstream
        if canonicalize_name(control.get("Repack-Project", "")) != record.project:
            problems.append(f"Repack-Project {control.get('Repack-Project', '')[:60]!r}")
        if control.get("Repack-Upstream-Version") != record.version:
            problems.append("Repack-Upstream-Version "
                            f"{control.get('Repack-Upstream-Version', '')[:60]!r}")
        if control.get("Repack-Source-Digest") != f"sha256:{record.sha256}":
            problems.append("Repack-Source-Digest")
        if not channels.same_version(upstream, record.version, deb_naming.deb_upstream_version):
            problems.append(f"version {version[:60]!r}")
    else:
        assert rpm_head is not None
        rpm_name, rpm_version = rpm_head
        if rpm_name != rpm_naming.rpm_name(record.project, target):
            problems.append(f"name {rpm_name[:60]!r}")
        caret = rpm_naming.has_caret(target)
        if not channels.same_version(rpm_version, record.version,
                             lambda v: rpm_naming.rpm_upstream_version(v, caret=caret)):
            problems.append(f"version {rpm_version[:60]!r}")
    if problems:
        raise MetadataError(f"{name}: its provenance record (of {record.project} "
                            f"{record.version[:60]}) does not describe it: "
                            f"{', '.join(problems)}; refusing to publish it")
    return record


def _listed_by(changes: Path) -> list[Path]:
    """The .deb and .dsc files an upload's .changes names (they sit beside it)."""
    fields = deb822.Changes(unsigned_text(changes).decode())
    return [changes.parent / i["name"] for i in fields.get("Files", [])
            if i["name"].endswith(DEB_SUFFIXES)]


def _wanted(stage: Stage, opts: Options) -> tuple[str, str, object]:
    """(name, URL, what db/repo.json holds): the name and URL given, else the stored ones."""
    path = stage.root / "db" / "repo.json"
    stored = json.loads(path.read_text()) if path.is_file() else {}
    name = opts.name or stored.get("name") or "repack"
    url = opts.url or stored.get("url") or opts.repo.resolve().as_uri()
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"repository name {name!r} must be letters, digits, - or _")
    return name, url, stored


def _settings(stage: Stage, opts: Options) -> tuple[str, str]:
    name, url, stored = _wanted(stage, opts)
    path = stage.root / "db" / "repo.json"
    if {"name": name, "url": url} != stored:
        write_file(path, json.dumps({"name": name, "url": url}, indent=2).encode())
        stage.changed = True
    return name, url


def signer_for(opts: Options, target_id: str) -> Signer:
    """The keys of opts.signer that the target's clients verify (repack.keys.for_target)."""
    return keys.for_target(opts.signer, target_files.load(target_id))


def _published(opts: Options) -> list[str]:
    """The fingerprints REPO/keys carries: the published keys and the signer's."""
    return list(dict.fromkeys([*keys.published(opts.gnupghome), opts.signer.fingerprint,
                               *opts.signer.also]))


def _signing(opts: Options, name: str, fprs: list[str] | None = None) -> Signing:
    """What a transaction signs with; fprs: _published(opts), when the caller has it."""
    fprs = _published(opts) if fprs is None else fprs
    return Signing(every_key=opts.signer, signer_for=lambda tid: signer_for(opts, tid),
                   trusted_for=lambda tid: _trusted(opts.gnupghome, fprs, tid),
                   origin=name, valid_days=opts.valid_days)


def _finish(stage: Stage, opts: Options, signed: Collection[str] = ()) -> None:
    """Sign each family's metadata (FamilyPublisher.sign; but the families in `signed`,
    whose add_signed did) and rewrite keys/ and client/ (only if something changed)."""
    if not stage.changed:
        return
    name, url = _settings(stage, opts)
    fprs = _published(opts)
    signing = _signing(opts, name, fprs)
    if opts.keyring_builder is not None:     # in this generation, before it is signed
        from repack.publish import keyring

        keyring.update(stage, opts.keyring_builder, keyring.Inputs(
            name=name, url=url, gnupghome=opts.gnupghome, trusted_for=signing.trusted_for,
            signer_for=signing.signer_for))
    for family, publisher in PUBLISHERS.items():
        if family not in signed:
            publisher.sign(stage, signing)
    armored = keys.export(opts.gnupghome, fprs)
    binary = keys.export(opts.gnupghome, fprs, armor=False)
    clients.write_keys(stage.root, name, armored, binary,
                       _target_keys(stage, opts.gnupghome, fprs))
    clients.write_clients(stage.root, name, url, armored)


def _trusted(gnupghome: Path, fprs: list[str], target_id: str) -> list[str]:
    """The published keys a target's clients verify (and are given: keys/)."""
    states = key_states(gnupghome, fprs)
    allowed = target_files.load(target_id).signature_algorithms
    return [f for f in fprs if f in states and keys.accepts(allowed, states[f].algorithm)]


def _target_keys(stage: Stage, gnupghome: Path, fprs: list[str]) -> dict[str, bytes]:
    """For each yum target whose clients cannot verify every published key (el9 during a
    rotation from ed25519), the armored keys they can: what its .repo names."""
    yum = stage.root / "yum"
    found = sorted(p.name for p in yum.iterdir() if p.is_dir()) if yum.is_dir() else []
    out = {}
    for tid in found:           # a directory: a target, or a target's channel
        if channels.split_yum_dir(tid)[0] not in target_files.available():
            continue
        ok = _trusted(gnupghome, fprs, channels.split_yum_dir(tid)[0])
        if ok and ok != fprs:
            out[tid] = keys.export(gnupghome, ok)
    return out


def publish(paths: Sequence[Path], opts: Options, *, target: str | None = None,
            channel: str | None = None) -> list[str]:
    """Add artifacts (to a channel: None or "stable" for the default one,
    repack.publish.channels); returns what was new (empty: the repository is unchanged)."""
    channel = channels.check(channel)
    groups = collect(paths, target)
    # before anything is written: a key a target's clients cannot verify is refused, and
    # so is a package whose provenance record is missing or of another package
    signers = {tid: signer_for(opts, tid) for _, tid in groups}
    loaded = {tid: target_files.load(tid) for _, tid in groups}
    checks = [(f, loaded[tid]) for (_, tid), files in groups.items() for f in files]
    rpms = [f for f, _ in checks if f.name.endswith(".rpm") and not f.name.endswith(".src.rpm")]
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        # rpm -K of each target's rpms against its signer's key runs beside the header
        # query and the record checks (Python): the yum add then only looks the results up
        checking = {tid: pool.submit(yum.verified_by, files, signers[tid])
                    for (family, tid), files in groups.items() if family == "rpm"}
        # read with the header digests and signers the yum add looks up (yum.read_heads),
        # while the .debs (first in `checks`) are checked
        reading = pool.submit(lambda: dict(zip(rpms, yum.read_heads(rpms), strict=True)))

        def check(path: Path, of: Target) -> Provenance | None:
            if path not in reading_for:
                return check_record(path, of)
            head = reading.result()[path].ident
            return check_record(path, of, (head.name, head.version) if head else ("", ""))
        reading_for = set(rpms)
        for _ in pool.map(lambda c: check(*c), checks):
            pass                                                      # first error raises
        verified = {tid: frozenset(future.result()) for tid, future in checking.items()}
    what = "publish" + ("" if channel is None else f" --channel {channel}")
    with transaction(opts.repo, what=what) as stage:
        # nothing is added to a family after its one group (no channel, no keyring
        # package): each family signs its metadata in its own thread, as soon as it is
        # written, beside the other's work (Origin: the name the transaction ends with)
        families = [family for family, _ in groups]
        early = channel is None and opts.keyring_builder is None and \
            len(families) == len(set(families))
        signing = _signing(opts, _wanted(stage, opts)[0]) if early else None
        added, signed = _add_groups(stage, groups, signers, channel, verified, signing)
        if not added:
            stage.changed = False    # identical artifacts: no new generation at all
        _settings(stage, opts)       # ... unless the name or URL changed
        _finish(stage, opts, signed)
    return added


def _add_groups(stage: Stage, groups: dict[tuple[str, str], list[Path]],
                signers: dict[str, Signer], channel: str | None,
                verified: dict[str, frozenset[Path]], signing: Signing | None = None
                ) -> tuple[list[str], set[str]]:
    """FamilyPublisher.add of each group; the families side by side, one thread each (apt
    renders its lists in Python while yum waits on createrepo_c, rpm and gpg: their trees,
    databases and state files are apart), a family's groups in order.  With `signing`
    (one group per family), FamilyPublisher.add_signed.  What was new, in the order of the
    groups, and the families that signed their metadata."""
    by_family: dict[str, list[tuple[str, str]]] = {}
    for key in sorted(groups):
        by_family.setdefault(key[0], []).append(key)

    def add(keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        if signing is not None and len(keys) == 1:
            k = keys[0]
            return {k: PUBLISHERS[k[0]].add_signed(stage, k[1], groups[k], signers[k[1]],
                                                   signing, verified=verified.get(k[1]))}
        return {k: PUBLISHERS[k[0]].add(stage, k[1], groups[k], signers[k[1]], channel,
                                        verified=verified.get(k[1]))
                for k in keys}

    done: dict[tuple[str, str], list[str]] = {}
    with ThreadPoolExecutor(max_workers=len(by_family)) as pool:
        for part in pool.map(add, by_family.values()):     # the first error raises
            done.update(part)
    signed = {family for family, keys in by_family.items()
              if signing is not None and len(keys) == 1 and done[keys[0]]}
    return [line for key in sorted(groups) for line in done[key]], signed


def _edit(opts: Options, body: Callable[[Stage], list[str]], what: str) -> list[str]:
    with transaction(opts.repo, what=what) as stage:
        out = body(stage)
        _finish(stage, opts)
    return out


def _target_signer(opts: Options, dirname: str) -> Signer:
    """signer_for the target of a yum directory (its channel's too), or every key for a
    directory of a target repack no longer knows."""
    target_id = channels.split_yum_dir(dirname)[0]
    return signer_for(opts, target_id) if target_id in target_files.available() else opts.signer


def _scope(target: str | None) -> dict[str, list[str] | None]:
    """Family -> the target ids `repo remove -t TARGET` may touch (None: all)."""
    if target is None:
        return dict.fromkeys(PUBLISHERS, None)
    if target not in target_files.available():
        raise ConfigError(f"unknown target {target!r}",
                          hint=f"one of: {', '.join(target_files.available())}")
    family = target_files.load(target).family
    return {f: [target] if f == family else [] for f in PUBLISHERS}


def removal(repo: Path, package: str, version: str | None,
            target: str | None = None, channel: str | None = None) -> list[str]:
    """What `remove` would drop from the live generation (`repo remove --dry-run`): one
    line per package, with its files.  Reads, changes nothing, needs no key."""
    root = _live(repo)
    scope = _scope(target)
    named = None if channel is None else channels.name(channels.check(channel))
    return [line for family, publisher in PUBLISHERS.items()
            for line in publisher.removal(root, package, version, scope[family],
                                          channel=named)]


def _live(repo: Path) -> Path:
    root = current(repo)
    if root is None:
        raise ConfigError(f"{repo}: not a repack repository (no published generation)")
    return root


def remove(opts: Options, package: str, version: str | None,
           target: str | None = None, channel: str | None = None) -> list[str]:
    """Drop a package (all versions, or one; of every target, or one; of every channel,
    or one) and the source packages only it came from, and re-sign."""
    _live(opts.repo)
    scope = _scope(target)
    named = None if channel is None else channels.name(channels.check(channel))

    def body(stage: Stage) -> list[str]:
        return [line for family, publisher in PUBLISHERS.items()
                for line in publisher.remove(stage, package, version, scope[family],
                                             lambda t: _target_signer(opts, t),
                                             channel=named)]
    return _edit(opts, body, f"remove {package}" + (f"={version}" if version else ""))


def prune(opts: Options, keep: int) -> list[str]:
    if keep < 1:
        raise ConfigError("--keep must be at least 1")
    def body(stage: Stage) -> list[str]:
        return [line for publisher in PUBLISHERS.values()
                for line in publisher.prune(stage, keep, lambda t: _target_signer(opts, t))]
    return _edit(opts, body, f"prune --keep {keep}")


def refresh(opts: Options) -> None:
    """Re-sign with a fresh Valid-Until (run it from cron well inside --valid-days)."""
    def body(stage: Stage) -> list[str]:
        stage.changed = True
        return []
    _edit(opts, body, "refresh")


def promote(opts: Options, spec: str, source: str, dest: str,
            target: str | None = None) -> list[str]:
    """`repo promote PROJECT[==VERSION] --from SOURCE --to DEST`: list in channel DEST
    the very files channel SOURCE publishes of the project (that version, else the newest
    there), per target (all, or `target`), in one transaction; DEST's metadata is signed
    anew, nothing is rebuilt or re-signed.  A ConfigError when SOURCE has none of it."""
    project, sep, version = spec.partition("==")
    project = project.strip()
    if not project or (sep and not version.strip()):
        raise ConfigError(f"{spec!r}: give PROJECT or PROJECT==VERSION")
    src, dst = channels.check(source), channels.check(dest)
    if src == dst:
        raise ConfigError(f"--from and --to are both {channels.name(src)!r}")
    _live(opts.repo)
    _scope(target)                      # an unknown target is refused
    tids = [target] if target is not None else sorted(target_files.available())
    found = 0

    def body(stage: Stage) -> list[str]:
        nonlocal found
        out = []
        for tid in tids:
            n, lines = PUBLISHERS[target_files.load(tid).family].promote(
                stage, tid, project=project, version=version.strip() or None, source=src,
                dest=dst, signer_for=lambda t: signer_for(opts, t))
            found += n
            out += lines
        if not found:
            raise ConfigError(f"{project}: {'version ' + version.strip() + ' ' if sep else ''}"
                              f"not in channel {channels.name(src)} of {opts.repo}"
                              + (f" for {target}" if target else ""),
                              hint="`repack repo list` shows each package's channel")
        return out
    return _edit(opts, body, f"promote {spec} --from {channels.name(src)} "
                             f"--to {channels.name(dst)}" + (f" -t {target}" if target else ""))


def rollback(opts: Options, to: str | None = None) -> str:
    """Make an older kept generation's content (`to`, else the one before the live one)
    live again as a new generation, re-signed as every transaction is: apt's Release files
    get a fresh Date and Valid-Until (apt refuses an expired one, and takes a Release file
    only when its Date moved on), each yum repository's repomd.xml a fresh revision and
    signature; the package lists are the restored ones.  Returns the restored name."""
    _live(opts.repo)
    with transaction(opts.repo, what="rollback", rollback=True, to=to) as stage:
        assert stage.restored is not None
        for repo in sorted(p for p in (stage.root / "yum").iterdir() if p.is_dir()):
            write_repodata(repo, _target_signer(opts, repo.name))
        stage.changed = True
        _finish(stage, opts)
    return stage.restored.name
