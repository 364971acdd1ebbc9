"""A Debian target's apt lists: kept in the cache, refreshed once per run, early.

Every build whose dependencies the builder image lacks, and every import check that needs
the archive, asks apt which files to download, from lists that must be fresh (a security
upload replaces a file and the old one is gone).  `apt-get update` costs a second and a half
even when nothing changed (three InRelease files fetched and verified), and each build paid
it after resolving and fetching its sdist, with the network idle meanwhile; a run of twenty
packages paid it twenty times.  Now a run refreshes a target's lists once:

- `refreshing` (the run's start, repack.pipeline.warmed) runs `apt-get update` in a thread
  while the run resolves and fetches, and stops it at the run's end if no build waited;
- `fresh` waits for it: builds (repack.deb.build) and checks (repack.check) skip their own
  update when it succeeded less than `FRESH_FOR` seconds ago; `refreshed` records a build's
  own update the same way, for the builds after it.

Where lists may come from, and who writes them: the cache's copy (`cache/apt-lists/<target>`)
is written only by the host, from containers that run apt alone with the network on (never
upstream code); apt checked every file against the Release signature as it fetched it.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from repack import log
from repack.container.engine import Engine, Mount
from repack.container.images import Image
from repack.files import copy_file

__all__ = ["APT_CACHES", "APT_ENV", "APT_UPDATE", "FRESH_FOR", "copy_lists", "fresh",
           "lists_source", "refreshed", "refreshing"]

# apt's binary caches beside the lists they are made from: `apt-get update` writes them once
# and they travel with the lists, so that a build's apt maps them instead of parsing some
# 60 MB of Packages files again (0.6 s of each build's download step).  apt checks them
# against the lists' sizes and dates (copied with the files) and the dpkg status, and makes
# them again when they do not match: the check image's status, say.
APT_CACHES = ["-o", "Dir::Cache::pkgcache=/var/lib/apt/lists/pkgcache.bin",
              "-o", "Dir::Cache::srcpkgcache=/var/lib/apt/lists/srcpkgcache.bin"]
APT_UPDATE = ["apt-get", "update", "-q", *APT_CACHES]
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
FRESH_FOR = 30 * 60     # seconds: a long --with-deps run refreshes again, as a new run would


def copy_lists(src: Path | None, dest: Path | None) -> None:
    """apt's lists between the shared copy and a build's or check's, so that `apt-get update`
    fetches only what changed.  Copied, never shared: the offline container gets its own
    lists read-write.  Only the host and the network-on container (no upstream code) ever
    wrote either side, and a copy back to the shared side is made before any upstream code
    runs; apt checked them against the Release signature when it fetched them."""
    if src is None or dest is None or not src.is_dir():
        return
    dest.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():      # not another build's copy being written: .X.tmp-*
        if (path.is_file() and not path.is_symlink() and path.name != "lock"
                and not path.name.startswith(".")):
            with contextlib.suppress(FileNotFoundError):   # replaced meanwhile: skipped
                copy_file(path, dest / path.name)


def lists_source(shared: Path | None, snapshot: Path) -> Path | None:
    """Where a build's lists start from: the cache's last refreshed ones, else the builder
    image's as it was bootstrapped (`Image.lists_snapshot`), so that a cache's first
    `apt-get update` fetches what changed since rather than the whole archive's lists."""
    if shared is not None and any(shared.glob("*Release")):
        return shared
    return snapshot if snapshot.is_dir() else None


@dataclass(slots=True, eq=False)
class _Refresh:
    """One refresh of a shared lists directory in this process."""

    done_at: float | None = None          # time.monotonic() when it succeeded
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    # set once the lists are in place or the refresh failed: before its container is gone
    over: threading.Event = field(default_factory=threading.Event)
    container: str | None = None          # the refreshing container, while it runs
    waited: bool = False


_LOCK = threading.Lock()
_REFRESHES: dict[Path, _Refresh] = {}


def fresh(shared: Path | None) -> bool:
    """Whether this process refreshed `shared` less than FRESH_FOR seconds ago; waits for a
    refresh under way (`refreshing`)."""
    if shared is None:
        return False
    with _LOCK:
        record = _REFRESHES.get(shared)
        if record is None:
            return False
        record.waited = True
    if record.thread is not None:
        record.over.wait()
    return record.done_at is not None and time.monotonic() - record.done_at < FRESH_FOR


def refreshed(shared: Path | None) -> None:
    """A build's or check's own `apt-get update` refreshed `shared` just now."""
    if shared is not None:
        with _LOCK:
            _REFRESHES[shared] = _Refresh(done_at=time.monotonic())


@contextlib.contextmanager
def refreshing(engine: Engine, image: Image, shared: Path, work_root: Path) -> Iterator[None]:
    """Refresh `shared` in the background for the body's builds, once per process; at the
    end, a refresh no build waited for is stopped (a run whose builds were all cached must
    not wait on the network).  Nothing is started when the builder image is not there yet:
    the build that bootstraps it refreshes its own lists, as before."""
    record: _Refresh | None = None
    with _LOCK:
        if shared not in _REFRESHES:
            record = _REFRESHES[shared] = _Refresh()
            record.thread = threading.Thread(
                target=_refresh, args=(record, engine, image, shared, work_root),
                name=f"apt-lists-{image.target.id}", daemon=True)
            record.thread.start()
    try:
        yield
    finally:
        if record is not None:
            _settle(record, engine)


def _refresh(record: _Refresh, engine: Engine, image: Image, shared: Path,
             work_root: Path) -> None:
    """The thread: `apt-get update` on a copy of the lists, copied back when it succeeded.
    A failure only means each build runs its own update, which reports it."""
    try:
        if not engine.image_exists(image.tag) or record.stop.is_set():
            return
        work_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="lists-", dir=work_root) as tmp:
            lists = Path(tmp) / "lists"
            (lists / "partial").mkdir(parents=True)
            copy_lists(lists_source(shared, image.lists_snapshot), lists)
            with engine.container(image.tag, network=True, trusted=True,
                                  mounts=[Mount(source=lists, target="/var/lib/apt/lists")]
                                  ) as c:
                with _LOCK:
                    record.container = c.name
                if record.stop.is_set():
                    return
                c.exec(APT_UPDATE, env=APT_ENV)
                copy_lists(lists, shared)
                record.done_at = time.monotonic()
                record.over.set()       # the builds go on while the container is removed
    # a thread's exception would print a traceback: any failure here is the builds' to meet
    except Exception as e:  # noqa: BLE001
        log.debug(f"refreshing the apt lists of {image.target.id} in the background: {e}")
    finally:
        with _LOCK:
            record.container = None
        record.over.set()


def _settle(record: _Refresh, engine: Engine) -> None:
    with _LOCK:
        if not record.waited:
            record.stop.set()
        name = record.container if record.stop.is_set() else None
        thread = record.thread
    if name is not None:        # its exec fails at once; the thread's removal finds it gone
        engine.remove(name)
    if thread is not None:
        thread.join()
