#!/usr/bin/env python3
"""Write benchmarks/breadth-corpus.tsv: classify projects of a PyPI download ranking by
their newest sdist, read from the index and never built or run.

    python3 benchmarks/breadth_inspect.py RANKING.tsv [--first 121] [--last 300] [-o FILE]

RANKING.tsv is a tab-separated list with a header naming `name` and
`rank_among_15000_most_downloaded` columns (the package list of the machine's tool library,
a monthly PyPI download ranking).  For each project ranked FIRST..LAST, the index's page
gives the newest final release with an sdist; the sdist is downloaded (sha256-checked) and
its member names and build files (pyproject.toml, setup.py, setup.cfg, meson.build,
CMakeLists.txt) are read as text, nothing extracted or executed.  The kind and the reason
come from `breadth.classify` and `breadth.reason`; edit the TSV by hand where the heuristic
is wrong (say so in the reason).  Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from breadth import BUILD_FILES, CorpusEntry, Sdist, classify, reason, write_corpus

from repack import http, resolve
from repack.errors import RepackError

MAX_SDIST = 200 * 1024 * 1024
MAX_TEXT = 512 * 1024
# Where reading the build files misjudges a project: (kind, libs, why), checked by hand.
OVERRIDES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mypy": ("pure", (), "pure unless MYPY_USE_MYPYC=1; its C++ is googletest for mypyc"),
    "librt": ("c-vendored", (), "its googletest is for its own tests"),
    "xxhash": ("c-vendored", (), "builds its bundled xxhash unless XXHASH_LINK_SO is set"),
    "rapidfuzz": ("c-vendored", (), "the CUDA sources of its vendored taskflow are not built"),
    "matplotlib": ("c-newer-libs", ("freetype", "qhull", "raqm"),
                   ("3.11 builds HarfBuzz and libraqm as meson subprojects (a download) unless "
                    "-Dsystem-libraqm=true, which needs libraqm >= 0.10.4: Debian 12 has 0.7.0, "
                    "Debian 13 0.10.2")),
}


def ranking(path: Path, first: int, last: int) -> list[tuple[int, str, str]]:
    """(rank, name, summary) of the ranking's rows ranked first..last, by rank."""
    rows: list[tuple[int, str, str]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            rank = (row.get("rank_among_15000_most_downloaded") or "").strip()
            if rank.isdigit() and first <= int(rank) <= last:
                rows.append((int(rank), row["name"], row.get("summary") or ""))
    return sorted(rows)


def read_members(data: bytes, filename: str) -> Sdist:
    """Member names (top directory stripped) and the build files' text of one sdist."""
    names: list[str] = []
    texts: dict[str, str] = {}
    if filename.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                inner = info.filename.partition("/")[2]
                names.append(inner)
                if inner in BUILD_FILES and info.file_size <= MAX_TEXT:
                    texts[inner] = zf.read(info).decode("utf-8", "replace")
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for member in tf:
                inner = member.name.partition("/")[2]
                names.append(inner)
                if inner in BUILD_FILES and member.isfile() and member.size <= MAX_TEXT:
                    fh = tf.extractfile(member)
                    if fh is not None:
                        texts[inner] = fh.read().decode("utf-8", "replace")
    return Sdist(filename=filename, members=tuple(names), texts=texts)


def inspect(name: str, index: str, session: object) -> tuple[str, Sdist | None, str]:
    """(version, sdist or None, requires_python) of the newest final release with an sdist."""
    page = resolve.project_page(name, index=index, session=session)  # type: ignore[arg-type]
    by_version = resolve.files_by_version(page, canonicalize_name(name))
    # pip's rule: pre-releases only when the project has nothing else
    finals = sorted((v for v in by_version if not v.is_prerelease), reverse=True) or \
        sorted(by_version, reverse=True)
    for version in finals:
        sdists = [f.package for f in by_version[version]
                  if f.package.package_type == "sdist" and not f.package.is_yanked]
        if sdists:
            pkg = sdists[0]
            data = http.get_small(pkg.url, session, project=name,  # type: ignore[arg-type]
                                  what="the sdist", limit=MAX_SDIST)
            assert data is not None
            want = (pkg.digests or {}).get("sha256")
            if want and hashlib.sha256(data).hexdigest() != want:
                raise RepackError(f"{pkg.filename}: sha256 mismatch", project=name)
            return str(version), read_members(data, pkg.filename), pkg.requires_python or ""
    newest = str(max(finals, default=Version("0")))
    return newest, None, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ranking", type=Path)
    parser.add_argument("--first", type=int, default=121)
    parser.add_argument("--last", type=int, default=300)
    parser.add_argument("-o", "--output", type=Path, default=HERE / "breadth-corpus.tsv")
    args = parser.parse_args()
    index = resolve.index_url()
    session = http.session()
    entries: list[CorpusEntry] = []
    for rank, name, summary in ranking(args.ranking, args.first, args.last):
        try:
            version, sdist, _ = inspect(name, index, session)
        except RepackError as exc:
            print(f"[inspect] {rank} {name}: {exc}", file=sys.stderr, flush=True)
            entries.append(CorpusEntry(rank, name, "not-on-index", (), f"the index: {exc}"))
            continue
        kind, libs, backend = classify(sdist)
        why = reason(kind, libs, backend, summary, version)
        if name in OVERRIDES:
            kind, libs, note = OVERRIDES[name]
            why = f"{reason(kind, libs, backend, summary, version)} (by hand: {note})"
        entries.append(CorpusEntry(rank, name, kind, libs, why))
        print(f"[inspect] {rank} {name} {version}: {kind} {' '.join(libs)}", file=sys.stderr,
              flush=True)
    write_corpus(args.output, entries, source=args.ranking.name, first=args.first,
                 last=args.last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
