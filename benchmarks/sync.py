#!/usr/bin/env python3
"""Benchmark: `repack sync` over a repository of N packages, with nothing to do and with one
new release to add.

    python3 benchmarks/sync.py [--packages 500] [--repeat 3] [--check] [--no-build]

Setup (not timed): N synthetic .debs (python3-bench-NNNNN 1.0, each with its provenance
record; benchmarks/publish.py's writer, no process per package) published into a signed
repository, and a repack.toml whose ``[repository]`` names a lock file locking exactly those
N releases (their sdist sha256 as the records say) for debian-12.

- no-op     `python3 -m repack sync` (the whole CLI run): the lock is read (no network),
            the N provenance records are compared (read from the packages on the first run,
            from the record cache after it), nothing is built or published.  Goal: under 2 s
            (the first run is printed too).
- add one   a tiny real project (sync-bench-new 1.0, tests/sdists.py) on a local index
            (tests/localindex.py), added to the lock; `repack build --lock --only` builds it
            once (untimed).  Then, --repeat times, `repack build` of it again and a sync that
            publishes it, both finding the build in the build cache (a cached build still
            fetches its build dependencies in a container: seconds, and noisy); the sync's
            cost beyond the build is the difference of the medians: resolving the one locked
            release, comparing the N records, one publish (one generation, signed).  Goal:
            the build plus under 1 s.  Needs podman and the debian-12 builder image
            (--no-build skips it).

Uses its own build cache (REPACK_CACHE_DIR, default a temporary directory) so that another
cache's entries never answer.  Not part of the test suite.  Exit status: 0 when measured (with
--check: and the goals met), 1 when a goal was missed under --check, 2 when something could not
be measured.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO / "tests")]

from publish import make_key, write_deb  # benchmarks/publish.py's helpers

NOOP_GOAL_S = 2.0
ADD_GOAL_S = 1.0
NEW = "sync-bench-new"


def say(msg: str) -> None:
    print(f"sync-bench: {msg}", file=sys.stderr, flush=True)


def repack(args: list[str | Path], env: dict[str, str], cwd: Path) -> float:
    """Run the CLI; its wall time, or RuntimeError with its output when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "repack", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"repack {' '.join(map(str, args))} failed:\n"
                           f"{proc.stdout}{proc.stderr}")
    return elapsed


def lock_entry(name: str, version: str, filename: str, sha256: str) -> str:
    return (f'\n[[targets.packages]]\nname = "{name}"\nversion = "{version}"\n'
            f'filename = "{filename}"\nsha256 = "{sha256}"\ndepends = []\nbuild_tools = []\n')


def write_lock(path: Path, index: str, entries: list[str]) -> None:
    path.write_text(f'version = 2\nindex = "{index}"\nrequested = []\n\n[[targets]]\n'
                    f'id = "debian-12"\nprovided = []\n' + "".join(entries))


def setup(work: Path, n: int, env: dict[str, str], key_home: Path) -> list[str]:
    """The published repository of n synthetic packages and its repack.toml; the lock
    entries of the n releases."""
    out = work / "in" / "debian-12"
    out.mkdir(parents=True)
    entries = []
    for i in range(n):
        name = f"python3-bench-{i:05d}"
        write_deb(out, name, "1.0")
        project = name.removeprefix("python3-")      # as publish.record writes it
        entries.append(lock_entry(project, "1.0", f"{project}-1.0.tar.gz",
                                  hashlib.sha256(project.encode()).hexdigest()))
    t = repack(["publish", work / "in", "--repo", work / "repo", "--gnupghome", key_home],
               env, work)
    say(f"published {n} packages in {t:.1f} s")
    shutil.rmtree(work / "in")
    (work / "repack.toml").write_text(
        f'[publish]\ngnupghome = "{key_home}"\n\n[repository]\npath = "repo"\n'
        'targets = ["debian-12"]\nlock = "repack.lock"\n')
    return entries


def add_one(work: Path, entries: list[str], env: dict[str, str],
            repeat: int) -> tuple[float, float, float]:
    """(the first build of the new release; the median `repack build` of it once cached;
    the median sync that publishes it, its build cached)."""
    from localindex import LocalIndex
    from sdists import make_sdist

    with LocalIndex() as index:
        sdist = make_sdist(work / "sdists", NEW, "1.0", {"NONCE": str(time.time_ns()).encode()})
        index.add(NEW, sdist.name, sdist.read_bytes())
        env = {**env, "PIP_INDEX_URL": index.url}
        write_lock(work / "repack.lock", index.url, [*entries, lock_entry(
            NEW, "1.0", sdist.name, hashlib.sha256(sdist.read_bytes()).hexdigest())])
        build = ["build", "--lock", "repack.lock", "--only", NEW, "-o"]
        first = repack([*build, "out-first"], env, work)
        say(f"built {NEW} in {first:.1f} s (untimed setup)")
        cached, syncs = [], []
        for i in range(repeat):     # each sync from the repository without the new package
            cached.append(repack([*build, f"out-{i}"], env, work))
            shutil.copytree(work / "repo", work / "repo-copy", symlinks=True)
            syncs.append(repack(["sync"], env, work))
            shutil.rmtree(work / "repo")
            (work / "repo-copy").rename(work / "repo")
        return first, statistics.median(cached), statistics.median(syncs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--no-build", action="store_true", help="time the no-op sync only")
    args = ap.parse_args()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key_home = base / "repack" / "benchmarks" / "publish" / "gnupg"
    make_key(key_home)
    met: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="repack-sync-bench-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "REPACK_PASSPHRASE"}
        env.setdefault("REPACK_CACHE_DIR", str(work / "cache"))
        env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple/"    # the no-op asks nothing
        try:
            entries = setup(work, args.packages, env, key_home)
            write_lock(work / "repack.lock", env["PIP_INDEX_URL"], entries)
            live = os.readlink(work / "repo" / ".repack" / "current")
            cold = repack(["sync"], env, work)     # reads every record, then keeps them
            noop = statistics.median(repack(["sync"], env, work) for _ in range(args.repeat))
            assert os.readlink(work / "repo" / ".repack" / "current") == live
            print(f"no-op sync over {args.packages} packages: {noop:.3f} s (median of "
                  f"{args.repeat}; the first, reading every record: {cold:.3f} s)")
            met[f"no-op sync in {noop:.3f} s (< {NOOP_GOAL_S:.0f} s)"] = noop < NOOP_GOAL_S
            if not args.no_build:
                first, cached, add = add_one(work, entries, env, args.repeat)
                beyond = add - cached
                print(f"sync adding one release: {add:.3f} s; `repack build` of it: {cached:.3f}"
                      f" s (both with the build cached, medians of {args.repeat}; uncached "
                      f"{first:.1f} s): the build plus {beyond:.3f} s")
                met[f"adding one costs the build plus {beyond:.3f} s (< {ADD_GOAL_S:.0f} s)"] = \
                    beyond < ADD_GOAL_S
        except (RuntimeError, subprocess.CalledProcessError) as e:
            say(f"could not measure: {e}")
            return 2
    for what, ok in met.items():
        print(f"  {'met' if ok else 'MISSED'}: {what}")
    return 1 if args.check and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
