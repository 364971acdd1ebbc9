#!/usr/bin/env python3
"""Benchmark: the share of a corpus whose packages rebuild byte for byte (`repack rebuild`).

    python3 benchmarks/rebuild.py [-t TARGET]... [--corpus FILE] [PROJECT...]

For each project (newest release, or PROJECT==VERSION) and target: `repack build`, then
`repack rebuild` of every .deb/.rpm it made (a fresh build, never the build cache, from the
package's own provenance record).  Prints per target how many built, how many rebuilt
identically, the share, and the first difference of each that did not; then the goal (every
package that builds rebuilds identically) as met or MISSED.

The corpus is one requirement per line (`#` comments) in --corpus, default
benchmarks/corpus.txt when it exists, else a short built-in list of small pure-Python
projects.  Needs the builder images of the targets.  Not part of the test suite.
Exit status: 0 measured (goal met or not), 2 nothing could be measured.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = ("six==1.16.0", "idna==3.7", "packaging==24.1", "sqlparse==0.5.1",
                  "asgiref==3.8.1", "typing-extensions==4.12.2")


def repack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repack", *args], capture_output=True,
                          text=True, check=False, cwd=HERE.parent)


def corpus(path: Path | None, given: list[str]) -> list[str]:
    if given:
        return given
    path = path or (HERE / "corpus.txt")
    if not path.is_file():
        return list(DEFAULT_CORPUS)
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("projects", nargs="*", metavar="PROJECT")
    parser.add_argument("-t", "--target", dest="targets", action="append")
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    targets = args.targets or ["debian-12", "el9"]
    projects = corpus(args.corpus, args.projects)
    built: dict[str, int] = defaultdict(int)
    same: dict[str, int] = defaultdict(int)
    failed: dict[str, list[str]] = defaultdict(list)
    differ: dict[str, list[str]] = defaultdict(list)
    for project in projects:
        for target in targets:
            with tempfile.TemporaryDirectory(prefix="repack-bench-") as out:
                print(f"{project} for {target}: building", file=sys.stderr, flush=True)
                proc = repack("build", project, "-t", target, "-o", out)
                if proc.returncode != 0:
                    error = next((line for line in proc.stderr.splitlines()
                                  if line.startswith("error:")), f"exit {proc.returncode}")
                    failed[target].append(f"{project}: {error}")
                    continue
                files = sorted(str(p) for p in Path(out, target).iterdir()
                               if p.suffix in (".deb", ".rpm") and not p.name.endswith(".src.rpm"))
                built[target] += len(files)
                check = repack("rebuild", *files)
                same[target] += sum(line.startswith("identical: ")
                                    for line in check.stdout.splitlines())
                differ[target] += [line.removeprefix("warning: ")
                                   for line in check.stderr.splitlines()
                                   if "differs from its rebuild" in line]
    if not any(built.values()):
        print("nothing was built: no figure", file=sys.stderr)
        return 2
    print(f"{'target':12} {'packages':>9} {'identical':>10} {'share':>7}  (corpus: "
          f"{len(projects)} projects)")
    for target in targets:
        share = same[target] / built[target] if built[target] else 0.0
        print(f"{target:12} {built[target]:9d} {same[target]:10d} {share:7.1%}")
    for target in targets:
        for line in failed[target]:
            print(f"  {target}: did not build: {line}")
        for line in differ[target]:
            print(f"  {target}: {line}")
    for target in targets:
        verdict = "met" if built[target] and same[target] == built[target] else "MISSED"
        print(f"{verdict}: {target}: {same[target]} of {built[target]} packages rebuild "
              "identically (goal: all that build)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
