#!/usr/bin/env python3
"""Benchmark: django==4.2 with its dependencies for debian-12 and el9 in one command,
two builds at a time against one at a time, and against stdeb's django .deb alone.

    python3 benchmarks/build_closure.py [--skip-stdeb] [--check] [--keep]

Figures (progress goes to stderr, the figures to stdout):

1. cold   - `repack build django==4.2 --with-deps -t debian-12 -t el9 -o OUT -v` (-j 2, the
            default) with an empty download + build cache (a fresh REPACK_CACHE_DIR) but the
            builder images present (their state dirs are copied, as build_django.py does).
2. warm   - the same command again with the same cache.
3. serial - the cold command with `-j 1`, in another fresh cache: the speed-up of two
            builds at a time is serial / cold.
4. stdeb  - `py2dsc-deb` on the same verified django sdist in the debian-12 builder
            (build_django.run_stdeb); target: cold (both closures) < stdeb (django alone).

Needs both builder images: run the command once first.  Not part of the test suite.
Exit status: 0 when measured (with --check: and the target met), 1 when missed under
--check, 2 when something could not be measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_django import (
    BenchError,
    StdebRun,
    find_sdist,
    image_id,
    in_workspace,
    progress,
    run_stdeb,
    timed_repack,
)

from repack import config
from repack import targets as target_files
from repack.container import images
from repack.container.engine import detect

REQUIREMENT = "django==4.2"
TARGETS = ("debian-12", "el9")


@dataclass
class Run:
    wall: float
    output: str
    built: list[str]


def repack_build(out: Path, env: dict[str, str], jobs: int) -> Run:
    wall, output = timed_repack(["build", REQUIREMENT, "--with-deps",
                                 *(a for t in TARGETS for a in ("-t", t)), "-j", str(jobs),
                                 "-o", str(out)], env)
    built = sorted(p.name for t in TARGETS for p in (out / t).glob("*.*rpm"))
    built += sorted(p.name for p in (out / "debian-12").glob("*.deb"))
    return Run(wall=wall, output=output, built=built)


def fresh_cache(source_cache: Path, cache: Path) -> None:
    """An empty cache except the builder images' state; the images themselves are global."""
    shutil.copytree(source_cache / "images", cache / "images", symlinks=True,
                    ignore=shutil.ignore_patterns("repack-image-*"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-stdeb", action="store_true", help="skip the stdeb comparison")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = parser.parse_args()

    settings = config.load()
    engine = detect(settings.engine)
    builders = {t: images.image_for(target_files.load(t), "builder", settings.cache_dir)
                for t in TARGETS}
    missing = [t for t, img in builders.items() if not images.is_ready(engine, img)]
    if missing:
        progress(f"builder image(s) of {', '.join(missing)} not ready; run `python3 -m repack "
                 f"build {REQUIREMENT} --with-deps -t debian-12 -t el9` once first")
        return 2

    def measure(tmp: Path) -> int:
        ids_before = {t: image_id(engine, img.tag) for t, img in builders.items()}
        load_before = os.getloadavg()[0]
        runs: dict[str, Run] = {}
        for label, jobs, cache_name in (("cold", 2, "cache"), ("warm", 2, "cache"),
                                        ("serial", 1, "cache-serial")):
            cache = tmp / cache_name
            if not cache.exists():
                fresh_cache(settings.cache_dir, cache)
            env = {**os.environ, "REPACK_CACHE_DIR": str(cache)}
            progress(f"{label}: repack build {REQUIREMENT} --with-deps -t debian-12 -t el9 "
                     f"-j {jobs} ({'same cache' if label == 'warm' else 'empty cache'})")
            runs[label] = repack_build(tmp / f"out-{label}", env, jobs)
            if "Bootstrapping" in runs[label].output:
                raise BenchError(f"the {label} run bootstrapped an image: not reused")
        if runs["warm"].output.count("up to date") < len(runs["cold"].built) // 2:
            raise BenchError("the warm run did not reuse the cached builds")

        stdeb: StdebRun | None = None
        if not args.skip_stdeb:
            stdeb = run_stdeb(engine, builders["debian-12"],
                              find_sdist(tmp / "cache", "4.2"), tmp / "stdeb")
        changed = [t for t, img in builders.items() if image_id(engine, img.tag) != ids_before[t]]

        cold, warm, serial = runs["cold"], runs["warm"], runs["serial"]
        print(f"repack build {REQUIREMENT} --with-deps -t debian-12 -t el9  (engine {engine.name})")
        print(f"host: {os.cpu_count()} CPUs, 1-min load average {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after")
        if changed:
            print(f"WARNING: image(s) of {', '.join(changed)} changed during the run: "
                  "something else re-created them; the figures are suspect")
        print(f"built ({len(cold.built)}): {', '.join(cold.built)}")
        print()
        speedup = serial.wall / cold.wall
        ratio = cold.wall / stdeb.seconds if stdeb else None
        rows = [
            ("cold, -j 2 (default)", f"{cold.wall:.1f}s", ""),
            ("warm, -j 2", f"{warm.wall:.2f}s", ""),
            ("cold, -j 1 (serial)", f"{serial.wall:.1f}s", ""),
            ("speed-up serial/-j 2", f"{speedup:.2f}x", ""),
            ("stdeb, django .deb", f"{stdeb.seconds:.1f}s" if stdeb else "skipped",
             f"(apt setup before it not counted: {stdeb.setup:.1f}s)" if stdeb else ""),
            ("cold / stdeb", f"{ratio:.3f}" if ratio is not None else "n/a",
             "target < 1: " + ("n/a" if ratio is None else "met" if ratio < 1 else "MISSED")),
        ]
        for name, value, note in rows:
            print(f"  {name:<22} {value:>9}  {note}")
        return 1 if args.check and ratio is not None and ratio >= 1 else 0

    return in_workspace("repack-bench-closure-", args.keep, measure)


if __name__ == "__main__":
    sys.exit(main())
