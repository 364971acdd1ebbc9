"""`repack sync`: make the published repository hold what ``[repository]`` of repack.toml
asks for, building only what is missing.

The desired state is resolved per target into (project, version, sdist sha256) triples: a
lock file's are read from the file (no network), requirements are resolved as `build
--with-deps` does (the target's own packages dropped).  What the repository holds comes from
nothing but the provenance records of its published binary packages (read as `repo list`
reads them, and kept in the cache by file identity); a package without a readable, valid
record is reported and never counts as holding anything.  A wanted triple the repository
holds is current; one whose version it holds from *another* sdist is refused
(IntegrityError, exit 4: the index or the lock changed a published file); anything else is
built (with the trust policy, dependencies first) and every new artifact published in one
transaction, so one generation.  Nothing missing: no build, no publish, no new generation.

All or nothing per run: a failed build (or refused file) stops the run with its own exit
code before anything is published, so the repository never holds half a closure.  The run
holds REPO/.repack/sync-lock throughout (a second sync waits; publish keeps its own lock), a
kill leaves the live generation whole (repack.publish.tree), and a rerun resumes from the
build cache, where finished builds are kept.

The planning functions (`held`, `compare`, `security_only`, `wanted_from_*`) are pure; `run`
does the reading, resolving, building and publishing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack import buildrun, config, log, publishing
from repack.errors import ConfigError, IntegrityError
from repack.files import exclusive
from repack.model import Advisory, Target
from repack.publish.listing import record_problem

if TYPE_CHECKING:
    from repack.context import Context
    from repack.pipeline import BuildResult
    from repack.plan.closure import Plan
    from repack.plan.lockfile import Lockfile
    from repack.publish.publisher import Options

__all__ = ["Comparison", "Held", "Outcome", "Request", "Skip", "Update", "Wanted", "compare",
           "held", "restrict", "run", "security_only", "wanted_from_lock", "wanted_from_plans"]

LOCK_NAME = "sync-lock"
_SHA256 = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True, kw_only=True)
class Wanted:
    """One project release the desired state asks for on one target."""

    project: str                  # PEP 503 name
    version: str                  # PEP 440 text
    sha256: str                   # of the sdist
    target: str
    depends: tuple[str, ...] = ()   # projects of the same target it needs (built first)


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """What one published binary package's provenance record says it was built from."""

    project: str
    version: str
    sha256: str
    target: str
    package: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """One published binary package and what its provenance record says (`record`: "ok",
    "missing" or "unreadable: <why>"; the other fields None unless "ok").  Not a
    repack.publish.listing.Entry: sync needs the record's sdist sha256, which `repo list`
    does not show, and reads records through its cache by file identity (`_holding`)
    instead of opening every published file on each run."""

    name: str
    version: str                  # the distro version
    target: str
    record: str
    project: str | None = None
    upstream_version: str | None = None
    sdist_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    """Something sync reports and leaves alone (a package it cannot read, an update it was
    told not to take)."""

    package: str                  # a package name, or a project's name for a release
    version: str
    target: str
    why: str

    def line(self) -> str:
        return f"skip {self.package} {self.version} {self.target}: {self.why}"

    def as_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "target": self.target,
                "why": self.why}


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """A wanted release the repository lacks; `published` is the newest version of the
    project it does hold for the target (None: a new project there)."""

    wanted: Wanted
    published: str | None = None
    fixes: tuple[Advisory, ...] = ()    # advisories of `published` it fixes (--security-only)

    def line(self) -> str:
        w = self.wanted
        why = f"update from {self.published}" if self.published else "new"
        if self.fixes:
            why = f"security {why}: fixes {', '.join(a.id for a in self.fixes)}"
        return f"build {w.project} {w.version} {w.target} ({why})"

    def as_json(self) -> dict[str, Any]:
        w = self.wanted
        return {"project": w.project, "version": w.version, "sha256": w.sha256,
                "target": w.target, "published": self.published,
                "security": bool(self.fixes), "fixes": [a.id for a in self.fixes]}


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The desired state against the repository: what to build, what is there already."""

    updates: tuple[Update, ...]
    current: tuple[Wanted, ...]
    skipped: tuple[Skip, ...] = ()


def _valid(e: Found) -> str | None:
    """Why a published package's record cannot say what it holds (None: it can): as for
    `repack outdated` (repack.publish.listing.record_problem), and sync needs the sdist."""
    why = record_problem(e.record, e.project, e.upstream_version)
    if why is not None:
        return why
    if e.sdist_sha256 is None:
        return "its provenance record is incomplete"
    if len(e.sdist_sha256) != 64 or not set(e.sdist_sha256) <= _SHA256:
        return "its provenance record has no valid sdist sha256"
    return None


def held(entries: Iterable[Found]) -> tuple[list[Held], list[Skip]]:
    """What the published packages hold, by their records; the unusable ones as skips (the
    repository's own packages are never rebuilt on a guess)."""
    found, skipped = [], []
    for e in entries:
        why = _valid(e)
        if why is not None:
            skipped.append(Skip(package=e.name, version=e.version, target=e.target, why=why))
            continue
        assert e.project is not None and e.upstream_version is not None
        assert e.sdist_sha256 is not None
        found.append(Held(project=canonicalize_name(e.project), version=e.upstream_version,
                          sha256=e.sdist_sha256, target=e.target, package=e.name))
    return found, skipped


def compare(wanted: Sequence[Wanted], have: Sequence[Held]) -> Comparison:
    """Each wanted release is current (the repository holds it from the same sdist) or an
    update.  The same version held from another sdist is refused: that file changed on the
    index after it was published, and a rebuild would replace a published package."""
    by_key: dict[tuple[str, str], list[Held]] = {}
    for h in have:
        by_key.setdefault((h.project, h.target), []).append(h)
    updates, current = [], []
    for w in wanted:
        there = by_key.get((w.project, w.target), [])
        same = [h for h in there if Version(h.version) == Version(w.version)]
        if any(h.sha256 == w.sha256 for h in same):
            current.append(w)
            continue
        if same:
            raise IntegrityError(
                f"{w.target}: the repository publishes {same[0].package} of {w.project} "
                f"{w.version} built from sdist sha256:{same[0].sha256}; [repository] now "
                f"asks for sha256:{w.sha256}", project=w.project,
                hint="find out why the file changed (on the index, or in the lock file); "
                     "nothing was built or published")
        newest = max((h.version for h in there), key=Version, default=None)
        updates.append(Update(wanted=w, published=newest))
    return Comparison(updates=tuple(updates), current=tuple(current))


def security_only(comparison: Comparison,
                  fixes: Mapping[tuple[str, str], tuple[Advisory, ...]]) -> Comparison:
    """`--security-only`: only the updates that fix an advisory of the published version
    (`fixes`, by (project, target); `repack outdated`'s rule), and what they need of the
    rest (their missing dependencies); the others become skips."""
    keep = {(u.wanted.project, u.wanted.target) for u in comparison.updates
            if fixes.get((u.wanted.project, u.wanted.target))}
    by_key = {(u.wanted.project, u.wanted.target): u for u in comparison.updates}
    todo = list(keep)
    while todo:
        project, target = todo.pop()
        for dep in by_key[project, target].wanted.depends:
            if (dep, target) in by_key and (dep, target) not in keep:
                keep.add((dep, target))
                todo.append((dep, target))
    updates, skipped = [], list(comparison.skipped)
    for key, u in by_key.items():
        if key in keep:
            updates.append(dataclasses.replace(u, fixes=fixes.get(key, ())))
        else:
            why = (f"not a security update ({u.published} published)" if u.published
                   else "not a security update (not published yet)")
            skipped.append(Skip(package=u.wanted.project, version=u.wanted.version,
                                target=u.wanted.target, why=why))
    return Comparison(updates=tuple(updates), current=comparison.current,
                      skipped=tuple(skipped))


def wanted_from_lock(lock: Lockfile, target_ids: Sequence[str]) -> list[Wanted]:
    """The lock file's releases for each target: read from the file, nothing asked."""
    by_id = {t.id: t for t in lock.targets}
    missing = [t for t in target_ids if t not in by_id]
    if missing:
        raise ConfigError(f"the lock file has no target {', '.join(missing)}",
                          hint=f"it locks: {', '.join(by_id) or 'nothing'}; run `repack lock` "
                               "with the targets of [repository]")
    return [Wanted(project=p.name, version=str(p.version), sha256=p.sha256, target=tid,
                   depends=tuple(p.depends))
            for tid in target_ids for p in by_id[tid].packages]


def wanted_from_plans(plans: Sequence[Plan]) -> list[Wanted]:
    """The resolved closures' releases (each plan's in build order)."""
    return [Wanted(project=name, version=str(plan.nodes[name].release.version),
                   sha256=plan.nodes[name].release.sha256, target=plan.target_id,
                   depends=tuple(plan.nodes[name].depends))
            for plan in plans for name in plan.order]


def restrict(plan: Plan, names: Iterable[str]) -> Plan:
    """The plan with only `names` (its dependencies on the others, already published,
    dropped): what one target builds."""
    from repack.plan.closure import Plan as PlanType

    keep = set(names)
    nodes = {n: dataclasses.replace(node, depends=tuple(d for d in node.depends if d in keep))
             for n, node in plan.nodes.items() if n in keep}
    return PlanType(target_id=plan.target_id, nodes=nodes,
                    order=tuple(n for n in plan.order if n in keep), dropped=())


# -- the run -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What `repack sync` was asked (its command-line options)."""

    channel: str | None = None
    dry_run: bool = False
    security_only: bool = False
    jobs: int = 2
    gnupghome: Path | None = None
    passphrase_file: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    repo: Path
    channel: str | None
    comparison: Comparison
    published: tuple[tuple[str, str, str], ...] = ()    # (package, version, target)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        c = self.comparison
        return {"repository": str(self.repo), "channel": self.channel,
                "dry_run": self.dry_run,
                "add": [u.as_json() for u in c.updates],
                "current": [{"project": w.project, "version": w.version, "target": w.target}
                            for w in c.current],
                "skipped": [s.as_json() for s in c.skipped],
                "published": [{"package": p, "version": v, "target": t}
                              for p, v, t in self.published]}


def _channel(settings: config.Settings, channel: str | None) -> config.Channel:
    desired = settings.repository
    if desired is None:
        raise ConfigError("no [repository] table in the project's repack.toml: nothing to sync",
                          hint="see `Keeping a repository current` in README.md")
    from repack.publish import channels

    for configured in desired.channels:
        if configured is not None and channels.check(configured) is None:
            raise ConfigError(f"[repository.channels.{configured}]: {configured} is the default "
                              "channel", hint="its requirements go in [repository] itself")
    channel = channels.check(channel)       # "stable" is the default one; bad names: exit 2
    if channel not in desired.channels:
        known = ", ".join(sorted(channels.name(c) for c in desired.channels))
        raise ConfigError(f"no channel {channels.name(channel)} in [repository]",
                          hint=f"its channels: {known}")
    return desired.channels[channel]


def _repo(settings: config.Settings) -> Path:
    desired = settings.repository
    assert desired is not None
    path = desired.path or settings.publish.repo
    if path is None:
        raise ConfigError("no repository: set path in [repository] or repo in [publish]")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path}: the repository is not a directory")
    return path


@contextlib.contextmanager
def _locked(repo: Path) -> Iterator[None]:
    """REPO/.repack/sync-lock for the whole run: one sync at a time (from cron and CI
    alike); the kernel releases it when the process dies, however it dies."""
    with exclusive(repo / ".repack" / LOCK_NAME, f"waiting for another sync of {repo}"):
        yield


def _read_record(path: Path) -> dict[str, str | None]:
    """What `Found` needs of one package's provenance record (cleaned: package text)."""
    from repack.errors import MetadataError
    from repack.trust import provenance

    try:
        rec = provenance.read(path)
    except MetadataError as exc:
        return {"record": f"unreadable: {provenance.clean_text(exc, limit=200)}"}
    except OSError as exc:
        return {"record": f"unreadable: {provenance.clean_text(exc.strerror or exc, limit=200)}"}
    if rec is None:
        return {"record": "missing"}
    return {"record": "ok", "project": rec.project, "upstream_version": rec.version,
            "sdist_sha256": rec.sha256}


def _records_cache(repo: Path, cache_dir: Path) -> Path:
    import hashlib

    key = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:24]
    return cache_dir / "sync" / f"records-{key}.json"


def _holding(repo: Path, targets: Sequence[Target], cache_dir: Path,
             channel: str | None = None) -> tuple[list[Held], list[Skip]]:
    """What the live generation's packages hold, by their records.  Reading a .deb's record
    costs a few ms, so what was read is kept in the cache (<cache>/sync/) by the file's
    path in the generation and its identity (device, inode, size, mtime): published files
    are hard links that are never modified in place, so an unchanged identity is the same
    file, and anything else is read again.  Only the channel's packages count (None: the
    default one): what testing holds is not yet in stable."""
    import json

    from repack.files import write_file
    from repack.publish import channels
    from repack.publish.families import PUBLISHERS
    from repack.publish.tree import current

    root = current(repo)
    if root is None:      # nothing published yet
        return [], []
    cache = _records_cache(repo, cache_dir)
    try:
        old = json.loads(cache.read_text())
    except (OSError, ValueError):
        old = {}
    old = old if isinstance(old, dict) else {}
    new: dict[str, Any] = {}
    found = []
    for t in targets:
        for p in PUBLISHERS[t.family].packages(root, t.id):
            if p.channel_name != channels.name(channel):
                continue
            try:
                st = p.path.stat()
                ident = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
            except OSError:
                ident = None
            hit = old.get(p.rel)
            fields = (hit[1] if ident is not None and isinstance(hit, list) and len(hit) == 2
                      and hit[0] == ident and isinstance(hit[1], dict)
                      and all(v is None or isinstance(v, str) for v in hit[1].values())
                      else _read_record(p.path))
            if ident is not None:
                new[p.rel] = [ident, fields]
            found.append(Found(name=p.name, version=p.version, target=t.id,
                               record=str(fields.get("record")),
                               project=fields.get("project"),
                               upstream_version=fields.get("upstream_version"),
                               sdist_sha256=fields.get("sdist_sha256")))
    if new != old:
        with contextlib.suppress(OSError):     # a cache that cannot be written costs time only
            write_file(cache, json.dumps(new).encode())
    return held(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Desired:
    """The wanted releases and where they came from: the lock, or the plans resolved in
    `ctx` (which the builds then reuse: one session, the metadata already read)."""

    wanted: list[Wanted]
    lock_path: Path | None = None
    plans: Sequence[Plan] = ()
    ctx: Context | None = None


def read_lock(path: Path, target_ids: Sequence[str]) -> list[Wanted] | None:
    """The wanted releases of a lock file, read with tomllib alone: repack.plan.lockfile
    imports the index client (about a second of start-up a no-op sync must not pay).  None
    when the file is not plainly well-formed: then `lockfile.load` reads it and names the
    problem.  A lock that needs a build is always loaded by `lockfile.load` as well."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("version") not in (1, 2):
            return None
        by_id = {t["id"]: t["packages"] for t in data["targets"]}
        missing = [t for t in target_ids if t not in by_id]
        if missing:
            raise ConfigError(f"the lock file has no target {', '.join(missing)}",
                              hint=f"it locks: {', '.join(by_id) or 'nothing'}; run `repack "
                                   "lock` with the targets of [repository]")
        out = []
        for tid in target_ids:
            for p in by_id[tid]:
                sha = p["sha256"]
                if not (isinstance(sha, str) and len(sha) == 64 and set(sha) <= _SHA256):
                    return None
                out.append(Wanted(
                    project=canonicalize_name(p["name"], validate=True),
                    version=str(Version(p["version"])), sha256=sha, target=tid,
                    depends=tuple(canonicalize_name(d, validate=True) for d in p["depends"])))
        return out
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError,
            ValueError, AttributeError, InvalidName, InvalidVersion):
        return None


def _desired(channel: config.Channel, targets: Sequence[Target],
             settings: config.Settings) -> _Desired:
    if channel.lock is not None:
        ids = [t.id for t in targets]
        wanted = read_lock(channel.lock, ids)
        if wanted is not None:
            return _Desired(wanted=wanted, lock_path=channel.lock)
        from repack.plan import lockfile

        lock = lockfile.load(channel.lock)     # raises, naming the problem, or reads it
        return _Desired(wanted=wanted_from_lock(lock, ids), lock_path=channel.lock)
    from repack.plan import plans as buildplan

    requests = buildrun.build_requests(channel.requirements, channel.requirements_file, ())
    ctx = buildrun.checked_context(settings, None)
    plans = buildplan.resolve_plans(requests, targets, ctx)
    return _Desired(wanted=wanted_from_plans(plans), plans=plans, ctx=ctx)


def _fixes(comparison: Comparison, ctx: Context,
           targets: Sequence[Target]) -> dict[tuple[str, str], tuple[Advisory, ...]]:
    """For each update of a published project, the advisories of the published version it
    fixes, by the index's data today (`repack outdated`'s rule)."""
    from packaging.requirements import Requirement

    from repack.resolve import resolve
    from repack.trust.advisories import lookup

    by_id = {t.id: t for t in targets}
    out = {}
    for u in comparison.updates:
        if u.published is None:
            continue
        w = u.wanted
        with log.quiet():
            release = resolve(Requirement(f"{w.project}=={w.version}"),
                              python_full_version=by_id[w.target].python_full_version,
                              index=ctx.index, session=ctx.session)
        out[w.project, w.target] = lookup(release, ctx.session,
                                          since=Version(u.published)).fixes
    return out


def _build(comparison: Comparison, targets: Sequence[Target], desired: _Desired,
           ctx: Context, jobs: int) -> BuildResult:
    """Build the updates (dependencies first, the trust policy on every file); the whole
    desired closure counts as planned, so no "build it too" warning for published ones."""
    from repack import pipeline
    from repack.plan import lockfile
    from repack.plan import plans as buildplan

    names: dict[str, set[str]] = {}
    for u in comparison.updates:
        names.setdefault(u.wanted.target, set()).add(u.wanted.project)
    building = [t for t in targets if t.id in names]
    everything = frozenset(w.project for w in comparison.current) | frozenset(
        u.wanted.project for u in comparison.updates)
    ctx = dataclasses.replace(ctx, planned=everything)
    if desired.lock_path is not None:
        lock = lockfile.load(desired.lock_path)
        narrowed = dataclasses.replace(lock, targets=tuple(
            dataclasses.replace(t, packages=tuple(p for p in t.packages
                                                  if p.name in names.get(t.id, ())))
            for t in lock.targets))
        chosen = [restrict(p, names[t.id]) for p, t in zip(
            buildplan.locked_plans(narrowed, building, ctx), building, strict=True)]
        ctx = dataclasses.replace(ctx, tool_pins=lockfile.tool_pins(lock))
    else:
        by_target = {p.target_id: p for p in desired.plans}
        chosen = [restrict(by_target[t.id], names[t.id]) for t in building]
    return pipeline.build_plans(chosen, building, ctx, jobs=jobs)


def run(request: Request, settings: config.Settings) -> Outcome:
    """One `repack sync` of one channel; see the module docstring."""
    from repack import targets as target_files  # not the pipeline: a no-op stays light
    from repack.publish import channels

    channel = _channel(settings, request.channel)
    into = channels.check(request.channel)      # None: the default channel, "stable"
    repo = _repo(settings)
    table = settings.repository
    assert table is not None
    targets = [target_files.load(t) for t in table.targets]
    lock_held = contextlib.nullcontext() if request.dry_run else _locked(repo)
    with lock_held:
        have, unusable = _holding(repo, targets, settings.cache_dir,
                                  into)
        desired = _desired(channel, targets, settings)
        comparison = compare(desired.wanted, have)
        comparison = dataclasses.replace(comparison, skipped=tuple(unusable))
        if request.security_only and comparison.updates:
            ctx = desired.ctx or buildrun.context(settings, None)
            desired = dataclasses.replace(desired, ctx=ctx)
            comparison = security_only(comparison, _fixes(comparison, ctx, targets))
        outcome = Outcome(repo=repo, channel=request.channel, comparison=comparison,
                          dry_run=request.dry_run)
        if request.dry_run or not comparison.updates:
            return outcome
        return dataclasses.replace(outcome, published=_build_and_publish(
            comparison, targets, desired, request, settings))


def _build_and_publish(comparison: Comparison, targets: Sequence[Target], desired: _Desired,
                       request: Request,
                       settings: config.Settings) -> tuple[tuple[str, str, str], ...]:
    """Build every update into a work directory, then publish all of it at once: one
    transaction, one generation (nothing when a build fails)."""
    from repack import keys, steps
    from repack.publish import channels
    from repack.republish import Published

    table = settings.repository
    assert table is not None
    repo = _repo(settings)
    given = publishing.PublishArgs(repo=repo, url=table.url, name=table.name,
                                   gnupghome=request.gnupghome,
                                   passphrase_file=request.passphrase_file)
    # the key (and the keyring packages' builder), before any build ...
    opts = publishing.options(given, settings.publish, settings=settings)
    for target in targets:      # ... and one every target's clients verify (not ed25519 for el9)
        keys.for_target(opts.signer, target)
    settings = config.resolve_maintainer(settings, opts.gnupghome, settings.publish.key)
    ctx = desired.ctx or buildrun.checked_context(settings, None)
    ctx = dataclasses.replace(ctx, settings=settings)
    for u in comparison.updates:
        log.info(u.line())
    with steps.work_dir(ctx, "sync-") as work:
        ctx = dataclasses.replace(ctx, output_dir=work)
        if repo.is_dir() and (repo / ".repack" / "current").is_symlink():
            ctx = dataclasses.replace(ctx, against=Published.parse(str(repo), ctx.session))
        result = _build(comparison, targets, desired, ctx, request.jobs)
        dirs = sorted({a.path.parent for a in result.artifacts})
        publish(dirs, opts, channel=channels.check(request.channel))
    return tuple(sorted(((a.package, a.version, a.target) for a in result.artifacts
                         if a.format in ("deb", "rpm")), key=lambda p: (p[2], p[0], p[1])))


def publish(dirs: Sequence[Path], opts: Options, *, channel: str | None) -> list[str]:
    """The one publish of a sync: every new artifact in one transaction, into the channel
    (None: the default one)."""
    from repack.publish import publisher

    return publisher.publish(list(dirs), opts, channel=channel)
