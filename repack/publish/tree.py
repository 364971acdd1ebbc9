"""Atomic, serialised changes to a repository tree (see repack.publish for the layout).

One publisher at a time (an fcntl lock, released by the kernel even on SIGKILL); the new
state is staged beside the live generation and made visible by one symlink rename, so a
reader sees the old tree or the new one, never a mix.

Storage.  A generation is self-contained: its apt/ holds its own pool, so every directory
clients are served (apt/, yum/<target>/, keys/, client/) copies (``rsync -a``, ``cp -a``)
and serves like plain files, with no symlink leaving it.  Its files are hard links to the
previous generation's (files are replaced, never modified in place), so staging costs one
link per metadata file and rpm.  The apt pool, a directory per source package, is not
copied at all on the usual path: the stage takes over the pool directory of the generation
before the live one (about to be deleted anyway) and replays the live generation's
``pool-delta`` (its first line "base gen-N", then one "+ REL" or "- REL" per pool path it
added or dropped, REL under apt/) on it, which makes it the live pool in as many links as
the last publish changed; a transaction that changes nothing, or fails, reverts its own
delta and keeps its pool as REPO/.repack/spare-pool-gen-N for the next one.  Without
either (the first publish after a kill, or after a repository of the previous layout)
the live pool is hard-link copied once.  The stage's pool is private, so adds and drops
happen at once and a kill at any point leaves the live generation untouched; leftovers
are deleted by the next publish.  Each yum/<dir> (10,000 rpms beside their repodata) is
taken over too: the retired generation's (or, after a stage was abandoned, its yum/ kept
as REPO/.repack/spare-yum-gen-N) is made the live one's by sync_links, which compares the
two directories by inode, so it needs no delta and survives a rollback.  Between
publishes two generations stay on disk, the live one and the one before; a publish
deletes the one before (in a thread, while it stages the next), and after its swap the
old live one takes that place.

Rollback.  transaction(rollback=True) stages a whole hard-linked copy of a kept older
generation (pool included) instead of the live one; it goes live as a new generation, so
the history only grows.  Its empty pool-delta names no base: the next publish links the
pool whole once.  Each generation records when and by what it was made
(``generation.json``, read by `repo generations`).

Migration.  Repositories of the previous layout (every generation's apt/pool a symlink
``../../pool`` to one shared REPO/.repack/pool) keep working as they are; the next publish
gives its generation a real pool (hard links to the shared one, once), and the shared
pool is deleted when no generation links to it any more.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from repack.errors import ConfigError

META = ".repack"
ENTRY_POINTS = ("apt", "yum", "keys", "client")
POOL = "pool"                      # STAGE/apt/pool: each generation's own apt pool
DELTA = "pool-delta"               # STAGE/pool-delta: "base gen-N", then "+ REL" / "- REL"
SPARE = "spare-pool-"              # REPO/.repack/spare-pool-gen-N: a copy of gen-N's pool
YUM_SPARE = "spare-yum-"           # REPO/.repack/spare-yum-gen-N: an abandoned stage's yum/
LEGACY_POOL = "pool"               # REPO/.repack/pool: the shared pool of the old layout
LEGACY_JOURNAL = "pool-journal"    # the old layout's journal of the shared pool
GENERATION = "generation.json"     # GEN/generation.json: when and by what it was made
_GEN = re.compile(r"gen-(\d{6,})")


@dataclass(slots=True, kw_only=True)
class Stage:
    """The staged next generation; publishers mark it changed when they alter it."""

    root: Path
    previous: Path | None
    restored: Path | None = None     # rollback: the generation the stage is a copy of
    changed: bool = False
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def locked(repo: Path) -> Iterator[Path]:
    """Hold REPO/.repack/lock; concurrent publishers wait here, one after another."""
    meta = repo / META
    meta.mkdir(parents=True, exist_ok=True)
    fd = os.open(meta / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield meta
    finally:
        os.close(fd)


def current(repo: Path) -> Path | None:
    link = repo / META / "current"
    if not link.is_symlink():
        return None
    target = link.parent / os.readlink(link)
    return target if target.is_dir() else None


def _generations(meta: Path) -> list[tuple[int, Path]]:
    gens = [(int(m.group(1)), p) for p in meta.iterdir() if (m := _GEN.fullmatch(p.name))]
    return sorted(gens)


# -- the apt pool ----------------------------------------------------------------------------

def _pool_rel(rel: str) -> tuple[str, ...] | None:
    """The parts of a pool path ("pool/main/..."), None for anything else."""
    parts = tuple(rel.split("/"))
    if len(parts) < 2 or parts[0] != POOL or any(p in ("", ".", "..") for p in parts):
        return None
    return parts


def _unlink_pool_file(pool: Path, parts: tuple[str, ...]) -> None:
    """Delete pool/<parts[1:]> and the source and prefix directories it leaves empty."""
    path = pool.joinpath(*parts[1:])
    path.unlink(missing_ok=True)
    for parent in path.parents:
        if parent == pool or not parent.is_relative_to(pool):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _record(stage_root: Path, sign: str, rel: str) -> None:
    if "\n" in rel or _pool_rel(rel) is None:
        raise ConfigError(f"{rel!r}: not a pool path")
    with open(stage_root / DELTA, "a") as fh:     # the stage's own file, never shared
        fh.write(f"{sign} {rel}\n")


def pool_add(stage_root: Path, rel: str, src: Path) -> None:
    """Copy src to STAGE/apt/<rel> ("pool/..."), which must not exist yet (recorded in the
    stage's pool-delta: the next publish replays it)."""
    dest = stage_root / "apt" / rel
    tmp = stage_root / f".pool-add-{os.getpid()}"     # in the stage: a kill leaves no debris
    shutil.copyfile(src, tmp)
    _record(stage_root, "+", rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)


def pool_drop(stage_root: Path, rel: str) -> None:
    """Remove STAGE/apt/<rel> (the stage's pool is its own: the live one keeps its file)."""
    _record(stage_root, "-", rel)
    (stage_root / "apt" / rel).unlink(missing_ok=True)


def _delta(gen: Path) -> tuple[str | None, list[tuple[str, ...]]]:
    """The base generation and the pool paths a generation's pool-delta names."""
    path = gen / DELTA
    if not path.is_file():
        return None, []
    base, touched = None, []
    for i, line in enumerate(path.read_text().splitlines()):
        sign, _, rel = line.partition(" ")
        if i == 0 and sign == "base":
            base = rel
        elif sign in "+-" and (parts := _pool_rel(rel)) is not None:
            touched.append(parts)
    return base, list(dict.fromkeys(touched))


def _replay(pool: Path, model: Path, touched: list[tuple[str, ...]]) -> None:
    """Make each touched path of pool what it is in model (another pool): a hard link to
    model's file, or absent."""
    for parts in touched:
        there = model.joinpath(*parts[1:])
        if there.is_file() and not there.is_symlink():
            here = pool.joinpath(*parts[1:])
            here.parent.mkdir(parents=True, exist_ok=True)
            tmp = here.with_name(f".{here.name}.link")
            tmp.unlink(missing_ok=True)
            os.link(there, tmp)
            os.replace(tmp, here)
        else:
            _unlink_pool_file(pool, parts)


def _take_pool(meta: Path, prev: Path | None, retired: list[Path], into: Path) -> None:
    """Give the stage (into: STAGE/apt/pool, not there yet) prev's pool at the least cost:
    a spare of prev's pool as it is, the pool of the generation prev was made from with
    prev's delta replayed, else a hard-linked copy (of the old layout's shared pool too)."""
    if prev is None:
        into.mkdir()
        return
    prev_pool = prev / "apt" / POOL
    spare = meta / f"{SPARE}{prev.name}"
    base, touched = _delta(prev)
    donor = next((r / "apt" / POOL for r in retired if base and r.name == f"trash-{base}"),
                 None)
    if donor is not None and donor.is_symlink():    # prev was made from the old layout:
        donor = meta / LEGACY_POOL                  # its shared pool is that one's pool
    if spare.is_dir():
        os.rename(spare, into)
    elif prev_pool.is_dir() and not prev_pool.is_symlink() and donor is not None and \
            donor.is_dir() and not donor.is_symlink():
        os.rename(donor, into)
        _replay(into, prev_pool, touched)
    elif prev_pool.is_symlink():                    # the old layout: the shared pool
        store = meta / LEGACY_POOL
        if store.is_dir():
            hardlink_copy(store, into)
        else:
            into.mkdir()
    elif prev_pool.is_dir():
        hardlink_copy(prev_pool, into)
    else:
        into.mkdir()


def _keep_spare(meta: Path, stage_dir: Path, prev: Path | None) -> bool:
    """Revert an abandoned stage's pool to prev's (its delta, replayed from prev's pool)
    and keep it as prev's spare; False if there is nothing to keep."""
    pool = stage_dir / "apt" / POOL
    if prev is None or not pool.is_dir() or pool.is_symlink():
        return False
    prev_pool = prev / "apt" / POOL
    if not prev_pool.is_dir() or prev_pool.is_symlink():
        return False
    _replay(pool, prev_pool, _delta(stage_dir)[1])
    os.rename(pool, meta / f"{SPARE}{prev.name}")
    return True


# -- the yum directories ---------------------------------------------------------------------

def _kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "link"
    return "dir" if entry.is_dir(follow_symlinks=False) else "file"


def _put(here: Path, name: str, make: str, source: str) -> None:
    """Replace here/name by a symlink to source (make "link") or a hard link of it."""
    tmp = here / f".repack-sync-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    if make == "link":
        os.symlink(source, tmp)
    else:
        os.link(source, tmp)
    os.replace(tmp, here / name)


def sync_links(here: Path, model: Path) -> None:
    """Make directory `here` a hard-linked copy of `model`, touching only what differs: a
    file is the same when both names are links to one inode (scandir gives the inode with
    the name, no stat per file), which holds because files are replaced, never modified.
    Each entry's kind is taken once (10,000 rpms: this runs before every publish's adds)."""
    with os.scandir(model) as entries:
        model_entries = {e.name: e for e in entries}
    with os.scandir(here) as entries:
        here_entries = {e.name: e for e in entries}
    # one inode under one name in both is one file (or symlink) already in place: only
    # the other names' kinds are taken (directories are never one inode in two trees)
    same = {name for name, e in here_entries.items()
            if (m := model_entries.get(name)) is not None and m.inode() == e.inode()}
    want = {n: (_kind(e), e) for n, e in model_entries.items() if n not in same}
    have = {n: (_kind(e), e) for n, e in here_entries.items() if n not in same}
    for name, (kind, h) in list(have.items()):
        wanted = want.get(name)
        if wanted is None or wanted[0] != kind:
            if kind == "dir":
                shutil.rmtree(h.path)
            else:
                os.unlink(h.path)
            del have[name]
    for name, (kind, entry) in want.items():
        old = have.get(name)
        if kind == "file":
            if old is None or old[1].inode() != entry.inode():
                _put(here, name, "file", entry.path)
        elif kind == "dir":
            if old is None:
                hardlink_copy(Path(entry.path), here / name)
            else:
                sync_links(here / name, Path(entry.path))
        else:
            link = os.readlink(entry.path)
            if old is None or os.readlink(old[1].path) != link:
                _put(here, name, "link", link)


def _take_yum(prev: Path | None, donors: list[Path], into: Path) -> list[str]:
    """Move into `into` (made here) a donor's copy of each of prev's yum/<dir> (an abandoned
    stage's spare, else a retired generation's), made prev's by sync_links: as many links
    as the directories differ instead of one per rpm.  The names of the directories taken;
    the others are hard-link copied with the rest of the stage."""
    prev_yum = None if prev is None else prev / "yum"
    if prev_yum is None or not prev_yum.is_dir() or prev_yum.is_symlink():
        return []
    with os.scandir(prev_yum) as entries:
        names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    taken: list[str] = []
    for name in names:
        donor = next((d / name for d in donors
                      if (d / name).is_dir() and not (d / name).is_symlink()), None)
        if donor is None:
            continue
        if not taken:
            into.mkdir()
        os.rename(donor, into / name)
        sync_links(into / name, prev_yum / name)
        taken.append(name)
    return taken


def _settle_legacy(gen: Path, *, went_live: bool) -> None:
    """The old layout's journal of its shared pool, left by a publisher killed mid-way:
    delete the files of the side that lost, then the journal."""
    journal = gen / LEGACY_JOURNAL
    if not journal.is_file():
        return
    pool = gen.parent / LEGACY_POOL
    doomed = "-" if went_live else "+"
    for line in journal.read_text().splitlines():
        sign, _, rel = line.partition(" ")
        parts = _pool_rel(rel)
        if sign == doomed and parts is not None and pool.is_dir():
            _unlink_pool_file(pool, parts)
    journal.unlink()


# -- generations ---------------------------------------------------------------------------

def repair(meta: Path) -> None:
    """Delete what a killed publisher left: stages, a half-made symlink, generations that
    never went live, generations older than the one before current, spares of another
    generation, and the old layout's shared pool once no generation links to it."""
    cur = current(meta.parent)
    live = -1 if cur is None else int(cur.name.removeprefix("gen-"))
    for p in meta.iterdir():
        if p.name.startswith("stage-") and p.is_dir() and not p.is_symlink():
            _settle_legacy(p, went_live=False)
    for n, p in _generations(meta):
        if n >= live:
            _settle_legacy(p, went_live=n == live)
    spares = set() if cur is None else {f"{SPARE}{cur.name}", f"{YUM_SPARE}{cur.name}"}
    for p in meta.iterdir():
        if p.name.startswith(("stage-", "current.tmp", "trash-", SPARE, YUM_SPARE)) and \
                p.name not in spares:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    older = [n for n, _ in _generations(meta) if n < live]
    keep = {live, max(older, default=-1)}
    for n, p in _generations(meta):
        if n not in keep:
            shutil.rmtree(p)
    store = meta / LEGACY_POOL
    if store.is_dir() and not any((p / "apt" / POOL).is_symlink()
                                  for _, p in _generations(meta)):
        shutil.rmtree(store)


def hardlink_copy(src: Path, dest: Path, skip: frozenset[str] = frozenset()) -> None:
    """A copy whose files are hard links (symlinks stay symlinks), but for the paths in skip
    (relative to src): cheap, and safe as long as files are replaced, never modified."""
    os.mkdir(dest)
    top = os.fspath(src)
    todo = [(top, os.fspath(dest))]
    while todo:                     # scandir: the type comes with the name, no stat per file
        there, here = todo.pop()
        with os.scandir(there) as entries:
            for e in entries:
                if skip and e.path[len(top) + 1:] in skip:
                    continue
                target = f"{here}/{e.name}"
                if e.is_symlink():
                    os.symlink(os.readlink(e.path), target)
                elif e.is_dir():
                    os.mkdir(target)
                    todo.append((e.path, target))
                else:
                    os.link(e.path, target)


def _retire(meta: Path, live: Path | None) -> list[Path]:
    """Rename the generations before the live one to trash-*: they serve no reader that
    resolved its paths after the last swap, and a kill leaves debris that repair() knows."""
    doomed = []
    if live is not None:
        for n, gen in _generations(meta):
            if n < int(live.name.removeprefix("gen-")):
                trash = meta / f"trash-{gen.name}"
                os.rename(gen, trash)
                doomed.append(trash)
    return doomed


@contextlib.contextmanager
def _sweeping(doomed: list[Path]) -> Iterator[None]:
    """Delete the retired generations while the next is staged (a thread: the unlinks
    overlap the staging work; 10,000 rpms take 0.06 s) rather than after the swap."""
    def sweep() -> None:
        for p in doomed:
            shutil.rmtree(p, ignore_errors=True)
    sweeper = threading.Thread(target=sweep, name="repack-sweep")
    sweeper.start()
    try:
        yield
    finally:
        sweeper.join()


def _discard(meta: Path, stage: Stage) -> None:
    """A stage that will not go live: an ordinary one keeps its pool as the spare of the
    generation it was made from; a restored one holds another generation's pool."""
    if stage.restored is None:
        _abandon(meta, stage.root, stage.previous)
    else:
        shutil.rmtree(stage.root, ignore_errors=True)


def _abandon(meta: Path, stage_dir: Path, prev: Path | None) -> None:
    with contextlib.suppress(OSError):
        _keep_spare(meta, stage_dir, prev)
    yum = stage_dir / "yum"
    if prev is not None and yum.is_dir() and not yum.is_symlink():
        with contextlib.suppress(OSError):     # whatever it holds: sync_links makes it prev's
            os.rename(yum, meta / f"{YUM_SPARE}{prev.name}")
    shutil.rmtree(stage_dir, ignore_errors=True)


def _stage(meta: Path, prev: Path | None, later: contextlib.ExitStack) -> Path:
    """The staging directory: prev's tree hard-linked, with a pool of its own."""
    stage_dir = meta / f"stage-{os.getpid()}-{secrets.token_hex(4)}"
    retired = _retire(meta, prev)
    pool = meta / f"{stage_dir.name}.pool"        # "stage-*": repair() deletes it after a kill
    _take_pool(meta, prev, retired, pool)
    yum = meta / f"{stage_dir.name}.yum"
    spare = []          # renamed first: a stage abandoned later keeps its yum/ under that name
    if prev is not None and (meta / f"{YUM_SPARE}{prev.name}").is_dir():
        spare = [meta / f"{stage_dir.name}.spare-yum"]
        os.rename(meta / f"{YUM_SPARE}{prev.name}", spare[0])
    taken = _take_yum(prev, [*spare, *(r / "yum" for r in retired)], yum)
    later.enter_context(_sweeping([*retired, *spare]))
    if prev is not None:
        hardlink_copy(prev, stage_dir, skip=frozenset(
            {f"apt/{POOL}", DELTA, LEGACY_JOURNAL, *(f"yum/{name}" for name in taken)}))
    else:
        stage_dir.mkdir()
    for name in (*ENTRY_POINTS, "db"):
        (stage_dir / name).mkdir(exist_ok=True)
    os.rename(pool, stage_dir / "apt" / POOL)
    for name in taken:
        os.rename(yum / name, stage_dir / "yum" / name)
    if taken:
        yum.rmdir()
    (stage_dir / DELTA).write_text(f"base {prev.name}\n" if prev is not None else "")
    return stage_dir


def _restorable(meta: Path, live: Path | None, to: str | None) -> Path:
    """The kept generation a rollback restores: `to` ("gen-000004" or "4"), else the one
    before the live one."""
    kept = [p for n, p in _generations(meta) if live is None or p != live]
    if to is None:
        older = [p for p in kept if live is None or p.name < live.name]
        if not older:
            raise ConfigError(f"{meta.parent}: no earlier generation to roll back to",
                              hint="`repack repo generations` lists the kept ones")
        return older[-1]
    name = to if to.startswith("gen-") else f"gen-{to.zfill(6)}"
    if live is not None and name == live.name:
        raise ConfigError(f"{name} is the live generation already")
    for p in kept:
        if p.name == name:
            return p
    raise ConfigError(f"{to[:40]!r}: no such generation kept in {meta.parent}",
                      hint="one of: " + (", ".join(p.name for p in kept) or "none"))


def _restage(meta: Path, source: Path) -> Path:
    """A stage that is a hard-linked copy of an older generation, pool included; its
    empty pool-delta names no base, so the next publish links this pool whole once.
    Nothing is retired: should the rollback fail, what it restores is still there (the
    repair() after the swap deletes it once it is neither live nor the one before)."""
    stage_dir = meta / f"stage-{os.getpid()}-{secrets.token_hex(4)}"
    hardlink_copy(source, stage_dir, skip=frozenset({DELTA, LEGACY_JOURNAL, GENERATION}))
    for name in (*ENTRY_POINTS, "db"):
        (stage_dir / name).mkdir(exist_ok=True)
    (stage_dir / "apt" / POOL).mkdir(exist_ok=True)
    (stage_dir / DELTA).write_text("")
    return stage_dir


def generations(repo: Path) -> list[tuple[str, dict[str, str], bool]]:
    """The generations kept on disk, oldest first: (name, what made it, whether live)."""
    meta = repo / META
    if not meta.is_dir():
        return []
    live = current(repo)
    out = []
    for _, p in _generations(meta):
        try:
            made = json.loads((p / GENERATION).read_text())
        except (OSError, ValueError):
            made = {}
        info = {k: str(v) for k, v in made.items()} if isinstance(made, dict) else {}
        out.append((p.name, info, live is not None and p.name == live.name))
    return out


@contextlib.contextmanager
def transaction(repo: Path, *, what: str = "", rollback: bool = False,
                to: str | None = None) -> Iterator[Stage]:
    """Stage the next generation; on a clean exit with changes, make it live atomically.
    `what` is recorded in the generation (repo generations).  rollback: the stage starts
    as a copy of an older kept generation (`to`, else the one before the live one)
    instead of the live one, so the restored state becomes a new generation."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in ENTRY_POINTS:
        entry = repo / name
        if entry.exists() and not entry.is_symlink():
            raise ConfigError(f"{entry} is not a repack-managed entry point",
                              hint="publish into an empty directory or a repack repository")
    with locked(repo) as meta, contextlib.ExitStack() as later:
        repair(meta)
        prev = current(repo)
        source = _restorable(meta, prev, to) if rollback else None
        stage_dir = (_stage(meta, prev, later) if source is None
                     else _restage(meta, source))
        stage = Stage(root=stage_dir, previous=prev, restored=source)
        try:
            yield stage
        except BaseException:
            _discard(meta, stage)
            raise
        if not stage.changed:
            _discard(meta, stage)
            return
        gens = _generations(meta)
        number = (gens[-1][0] + 1) if gens else 1
        gen = meta / f"gen-{number:06d}"
        made = {"made": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "by": what}
        if source is not None:
            made["restores"] = source.name
        (stage_dir / GENERATION).unlink(missing_ok=True)     # a link to prev's
        (stage_dir / GENERATION).write_text(json.dumps(made) + "\n")
        os.rename(stage_dir, gen)
        tmp = meta / f"current.tmp-{os.getpid()}"
        os.symlink(gen.name, tmp)
        os.replace(tmp, meta / "current")           # the moment the new tree goes live
        for name in ENTRY_POINTS:
            entry = repo / name
            if not entry.is_symlink():
                link_tmp = repo / META / f"current.tmp-{name}"
                os.symlink(f"{META}/current/{name}", link_tmp)
                os.replace(link_tmp, entry)
        later.close()        # the sweeper is done with trash-*: repair() must not race it
        repair(meta)
