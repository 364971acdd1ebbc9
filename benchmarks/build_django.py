#!/usr/bin/env python3
"""Benchmark: django==4.2 -> debian-12 with repack (cold and warm) against stdeb's py2dsc-deb.

    python3 benchmarks/build_django.py [--sdist-version 4.2] [--skip-stdeb] [--check] [--keep]

Figures (progress goes to stderr, the figures to stdout):

1. cold  - `python3 -m repack build django==V -t debian-12 -o OUT -v` with an empty download
           and build cache (a fresh REPACK_CACHE_DIR in a temp dir) but the builder image
           present: the podman image is global, and its state dir (<cache>/images/...) is
           copied from the normal cache, so nothing is bootstrapped.  Wall time, plus the
           per-step durations repack's log.step prints with -v ("  (<title>: N.Ns)").
2. warm  - the same command again with the same cache (target: < 1 s).
3. stdeb - the same verified sdist (taken from the temp cache) built with `py2dsc-deb` in a
           container of the same builder image.  python3-stdeb and fakeroot are installed
           first (network on, not timed); only the py2dsc-deb step is timed.  Both builds
           run with DEB_BUILD_OPTIONS=nocheck (repack always does).
4. a table: cold, warm, stdeb and cold/stdeb (target: <= 0.5), and whether each target is met.

Needs the builder image: run `python3 -m repack build django==4.2 -t debian-12` once first.
Not part of the test suite (pytest only collects tests/).  Exit status: 0 when every figure
was measured (with --check: and every target met), 1 when a target was missed under
--check, 2 when something could not be measured.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from repack import config
from repack import targets as target_files
from repack.container import images
from repack.container.engine import Engine, Mount, detect
from repack.errors import CommandFailed, RepackError
from repack.run import run

TARGET = "debian-12"
WARM_TARGET_S = 1.0
RATIO_TARGET = 0.5
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
APT_INSTALL = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "-o", "APT::Sandbox::User=root"]
# stdeb 0.10 runs `dpkg-buildpackage -rfakeroot`, and python3-stdeb does not pull fakeroot in.
STDEB_PACKAGES = ["python3-stdeb", "fakeroot"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# log.step lines, optionally behind the "[label] " that log.prefix adds for parallel builds.
STEP_START = re.compile(r"^(?:\[[^\]]*\] )?(?P<indent> *)› (?P<title>.+?)\s*$")
STEP_END = re.compile(
    r"^(?:\[[^\]]*\] )?(?P<indent> *)\((?P<title>.+): (?P<secs>\d+(?:\.\d+)?)s\)\s*$")


class BenchError(Exception):
    pass


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Step:
    title: str
    depth: int
    seconds: float | None = None
    children: list[Step] = field(default_factory=list)


@dataclass
class RepackRun:
    wall: float
    output: str
    steps: list[Step]            # top-level steps, children nested, in start order


def parse_steps(output: str) -> list[Step]:
    """Rebuild the step tree from log.step's lines: info "› title" at 2*depth spaces when a
    step starts, debug "  (title: N.Ns)" at 2*depth+2 spaces when it ends."""
    roots: list[Step] = []
    open_steps: list[Step] = []
    for raw in output.splitlines():
        line = ANSI.sub("", raw)
        if m := STEP_START.match(line):
            depth = len(m["indent"]) // 2
            del open_steps[depth:]
            step = Step(title=m["title"], depth=depth)
            (open_steps[-1].children if open_steps else roots).append(step)
            open_steps.append(step)
        elif (m := STEP_END.match(line)) and len(m["indent"]) >= 2:
            depth = (len(m["indent"]) - 2) // 2
            for step in reversed(open_steps):
                if step.title == m["title"] and step.depth == depth:
                    step.seconds = float(m["secs"])
                    del open_steps[open_steps.index(step):]
                    break
    return roots


def timed_repack(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run `python -m repack ARGS -v`; its wall time and merged output (BenchError if it
    fails)."""
    argv = [sys.executable, "-m", "repack", *args, "-v"]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - start
    output = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        raise BenchError(f"repack exited {proc.returncode}: {' '.join(argv)}\n{tail}")
    return wall, output


def run_repack(requirement: str, out_dir: Path, env: dict[str, str]) -> RepackRun:
    wall, output = timed_repack(["build", requirement, "-t", TARGET, "-o", str(out_dir)], env)
    return RepackRun(wall=wall, output=output, steps=parse_steps(output))


def print_steps(steps: list[Step], wall: float) -> None:
    def show(step: Step, indent: int) -> None:
        secs = f"{step.seconds:7.1f}s" if step.seconds is not None else "      ?s"
        print(f"    {secs}  {'  ' * indent}{step.title}")
        if step.children and step.seconds is not None:
            for child in step.children:
                show(child, indent + 1)
            known = sum(c.seconds or 0.0 for c in step.children)
            print(f"    {step.seconds - known:7.1f}s  {'  ' * (indent + 1)}"
                  "(not in a sub-step: image check, metadata, containers start/stop, "
                  "cache store, delivery)")

    for step in steps:
        show(step, 0)
    top = sum(s.seconds or 0.0 for s in steps)
    print(f"    {wall - top:7.1f}s  (outside any step: interpreter start-up and imports, "
          "resolve on the index, sdist fetch + verify)")


def debs_in(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.deb")) if directory.is_dir() else []


def prepare_cache(source_cache: Path, cache: Path, engine: Engine, image: images.Image) -> None:
    """An empty cache except the builder image's state (archive.json); the image is global."""
    src = source_cache / "images"
    shutil.copytree(src, cache / "images", symlinks=True,
                    ignore=shutil.ignore_patterns("repack-image-*"))
    target = target_files.load(TARGET)
    if not images.is_ready(engine, images.image_for(target, "builder", cache)):
        raise BenchError(f"copying {src} did not make {image.tag} ready in the temp cache")


def find_sdist(cache: Path, version: str) -> Path:
    wanted = f"django-{version}.tar.gz"
    found = [p for p in (cache / "sdists").glob("*/*") if p.name.lower() == wanted]
    if len(found) != 1:
        raise BenchError(f"expected one {wanted} under {cache / 'sdists'}, found {found}")
    return found[0]


@dataclass
class StdebRun:
    setup: float
    seconds: float
    debs: list[Path]


def run_stdeb(engine: Engine, image: images.Image, sdist: Path, work: Path) -> StdebRun:
    work.mkdir()
    # stdeb hard-links the sdist next to its output, so it lives in the writable work dir.
    shutil.copy2(sdist, work / sdist.name)
    with engine.container(image.tag, mounts=[Mount(source=work, target="/stdeb")],
                          network=True, env=APT_ENV) as c:
        progress(f"stdeb: installing {' '.join(STDEB_PACKAGES)} in {c.name} (not timed)")
        start = time.monotonic()
        c.exec(["apt-get", "update", "-q"])
        c.exec([*APT_INSTALL, *STDEB_PACKAGES])
        setup = time.monotonic() - start
        version = c.exec(["dpkg-query", "-W", "-f", "${Version}", "python3-stdeb"]).strip()
        progress(f"stdeb: py2dsc-deb (python3-stdeb {version}) on {sdist.name} (timed)")
        start = time.monotonic()
        c.exec(["py2dsc-deb", "--with-python3=True", sdist.name], workdir="/stdeb",
               env={**APT_ENV, "DEB_BUILD_OPTIONS": "nocheck"})
        seconds = time.monotonic() - start
    debs = debs_in(work / "deb_dist")
    if not debs:
        raise BenchError(f"py2dsc-deb succeeded but wrote no .deb under {work / 'deb_dist'}")
    return StdebRun(setup=setup, seconds=seconds, debs=debs)


def image_id(engine: Engine, tag: str) -> str:
    proc = run([engine.name, "image", "inspect", "--format", "{{.Id}}", tag], check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else "(missing)"


def in_workspace(prefix: str, keep: bool, measure: Callable[[Path], int]) -> int:
    """measure(tmp) in a fresh temporary directory (removed unless keep); a failure is one
    line on stderr and exit code 2."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return measure(tmp)
    except CommandFailed as e:
        progress(f"{e}\n{e.output_tail}")
        return 2
    except (BenchError, RepackError) as e:
        progress(f"error: {e}")
        return 2
    finally:
        if keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist-version", default="4.2", help="Django version (default 4.2)")
    parser.add_argument("--skip-stdeb", action="store_true", help="skip the stdeb comparison")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = parser.parse_args()
    requirement = f"django=={args.sdist_version}"

    settings = config.load()
    engine = detect(settings.engine)
    target = target_files.load(TARGET)
    image = images.image_for(target, "builder", settings.cache_dir)
    if not images.is_ready(engine, image):
        progress(f"the builder image {image.tag} (state in {image.state_dir}) is not ready; "
                 f"run `python3 -m repack build {requirement} -t {TARGET}` once first")
        return 2

    def measure(tmp: Path) -> int:
        cache, out = tmp / "cache", tmp / "out"
        prepare_cache(settings.cache_dir, cache, engine, image)
        env = {**os.environ, "REPACK_CACHE_DIR": str(cache)}
        progress(f"{engine.name}, image {image.tag}, temp cache {cache}")
        # Anything else using the same global image tag (a concurrent test run re-bootstraps
        # it) or the CPUs disturbs the figures: say so rather than print them silently.
        id_before = image_id(engine, image.tag)
        load_before = os.getloadavg()[0]

        progress(f"cold: repack build {requirement} -t {TARGET} (empty cache, image present)")
        cold = run_repack(requirement, out, env)
        if any(s.title.startswith("Bootstrapping") for s in cold.steps):
            raise BenchError("the cold run bootstrapped an image: the image was not reused")
        cold_debs = debs_in(out / TARGET)
        if not cold_debs:
            raise BenchError(f"the cold run produced no .deb in {out / TARGET}")

        progress("warm: the same command again, same cache")
        warm = run_repack(requirement, out, env)
        if "up to date" not in warm.output:
            raise BenchError("the warm run did not reuse the cached build")

        stdeb: StdebRun | None = None
        if not args.skip_stdeb:
            stdeb = run_stdeb(engine, image, find_sdist(cache, args.sdist_version), tmp / "stdeb")

        id_after = image_id(engine, image.tag)
        print(f"repack build {requirement} -> {TARGET}  (engine {engine.name}, image {image.tag})")
        print(f"host: {os.cpu_count()} CPUs, 1-min load average {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after")
        if id_after != id_before:
            print(f"WARNING: {image.tag} changed during the run ({id_before[:12]} -> "
                  f"{id_after[:12]}): something else re-created it; the figures are suspect")
        print()
        print(f"1. cold (empty download + build cache, image present): {cold.wall:.1f}s wall")
        print_steps(cold.steps, cold.wall)
        print(f"    built: {', '.join(p.name for p in cold_debs)}")
        print()
        print(f"2. warm (same command, same cache): {warm.wall:.2f}s wall")
        print_steps(warm.steps, warm.wall)
        print()
        if stdeb is None:
            print("3. stdeb: skipped (--skip-stdeb)")
        else:
            print(f"3. stdeb py2dsc-deb in the builder image: {stdeb.seconds:.1f}s "
                  f"(apt-get update + install {' '.join(STDEB_PACKAGES)} before it, "
                  f"not counted: {stdeb.setup:.1f}s)")
            print(f"    built: {', '.join(p.name for p in stdeb.debs)}")
        print()

        ratio = cold.wall / stdeb.seconds if stdeb else None
        warm_ok = warm.wall < WARM_TARGET_S
        ratio_ok = None if ratio is None else ratio <= RATIO_TARGET
        rows = [
            ("cold (repack)", f"{cold.wall:.1f}s", "", None),
            ("warm (repack)", f"{warm.wall:.2f}s", f"< {WARM_TARGET_S:g} s", warm_ok),
            ("stdeb (py2dsc-deb)", f"{stdeb.seconds:.1f}s" if stdeb else "skipped", "", None),
            ("cold / stdeb", f"{ratio:.2f}" if ratio is not None else "n/a",
             f"<= {RATIO_TARGET:g}", ratio_ok),
        ]
        print(f"  {'figure':<20} {'value':>9}  {'target':<8}  met")
        print(f"  {'-' * 20} {'-' * 9}  {'-' * 8}  ---")
        for name, value, goal, ok in rows:
            print(f"  {name:<20} {value:>9}  {goal:<8}  {verdict(ok) if goal else ''}")
        missed = not warm_ok or ratio_ok is False
        return 1 if args.check and missed else 0

    return in_workspace("repack-bench-", args.keep, measure)


if __name__ == "__main__":
    sys.exit(main())
