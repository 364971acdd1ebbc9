#!/usr/bin/env python3
"""Benchmark: the time to add one package to a signed repository holding N packages.

    python3 benchmarks/publish.py [--sizes 100,1000,10000] [--repeat 3] [--check] [--keep]

For each N it builds three equivalent repositories from the same N synthetic .debs and N
synthetic .rpms (setup, not timed), then times adding one new package (the median of
--repeat additions, each a new package):

- repack      `python3 -m repack publish OUT --repo REPO` with one new .deb (debian-12) and
              one new .rpm (el9): the whole CLI run, Python start-up, lock, staged generation,
              signed InRelease/Release.gpg and repomd.xml.asc, keys/ and client/ included.
- repack apt  the same with only the .deb;  repack yum: only the .rpm.
- reprepro    `reprepro -b R includedeb bookworm NEW.deb` on a reprepro repository with the
              same .debs, signing its Release with the same key (SignWith).
- createrepo  copy NEW.rpm in, then `createrepo_c --update DIR` (its default incremental
              mode; unsigned, as createrepo_c does not sign).

The synthetic packages are real (dpkg-deb, rpm, createrepo_c and dnf read them), tiny and
distinct (python3-bench-NNNNN 1.0, one file and a provenance record each): the .debs are
written directly as ar archives (control.tar.gz + data.tar.gz, what dpkg-deb -b produces,
without a process per package);
the .rpms come from rpmbuild building 500 subpackages per spec, two specs at a time, then
rpmsign'd in batches with the benchmark's passphrase-less key.  Packages and key are cached
under $XDG_CACHE_HOME/repack/benchmarks/publish/ (generation time is printed when they are
made: for 10,000 on two cores the .debs take ~4 s, the .rpms ~5 min, nearly all of it rpmsign
starting one gpg per package).  Setting up the three repositories is not cached: for 10,000
packages ~2 min for repack (one dpkg-deb per .deb), ~10 s for reprepro, ~2 s for createrepo_c.

Then the case a nightly `repack sync` produces: 100 new .debs and 100 new .rpms added in one
`repack publish`, against reprepro's one `includedeb` of all 100 plus linking the 100 .rpms in
and `createrepo_c --update`, timed in the same run (median of --repeat, each a new batch).

Targets (issue 13, for the largest N, 10,000 by default): repack adds one package in under 1 s,
and adds the nightly 100 + 100 at least 2x faster than reprepro and createrepo_c together.
The nightly .rpms come signed by the repository key, as `repack sync` builds them (it holds
the key; neither reprepro nor createrepo_c signs packages); the table also shows the time
when publish must sign each unsigned .rpm itself (CI builds that never see the key): one
RSA-4096 signature per file, ~10-20 ms each, run two at a time on two cores.
The table prints each speed-up (other / repack) and the targets say met or MISSED.  Being 5x
faster than reprepro at adding ONE package is no longer a target: one publish has a floor of
~0.3 s (Python start-up and imports ~0.15 s, then about ten gpg, rpm, dpkg-deb and
createrepo_c runs: six signatures, the apt suite and its -security suite, repomd.xml.asc and
rpmsign), against reprepro's 0.03-0.13 s.

repack's modules are byte-compiled first (compileall into repack/__pycache__, as pip does
when it installs repack): an editable checkout run with PYTHONDONTWRITEBYTECODE set would
otherwise compile every module it imports on each run (~0.07 s of each publish here), which
no installed repack does.

Needs rpmbuild, rpmsign, createrepo_c and reprepro (`apt-get install reprepro`; the reprepro
column is skipped without it).
Not part of the test suite.  Exit status: 0 when measured (with --check: and the targets
met), 1 when a target was missed under --check, 2 when something could not be measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHUNK = 500                  # rpm subpackages per rpmbuild run
TARGET_S = 1.0          # adding one package
NIGHTLY = 100           # the nightly case: this many new .debs and .rpms in one publish
NIGHTLY_RATIO = 2.0     # ... at least this much faster than reprepro + createrepo_c together
CODENAME = "bookworm"


def say(msg: str) -> None:
    print(f"publish-bench: {msg}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "repack" / "benchmarks" / "publish"


def sh(argv: list[str | Path], **kw: object) -> subprocess.CompletedProcess[bytes]:
    proc: subprocess.CompletedProcess[bytes] = subprocess.run(
        [str(a) for a in argv], check=True, capture_output=True,
        **kw)  # type: ignore[call-overload]
    return proc


# -- synthetic packages ---------------------------------------------------------------------

def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = sorted({str(Path(n).parent) for n in members} - {"."})
        for d in dirs:
            info = tarfile.TarInfo(f"./{d}")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        out.append(f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode())
        out.append(data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


def record(name: str, version: str) -> tuple[str, bytes, dict[str, str]]:
    """The provenance record `repack publish` requires, as repack build writes it: its
    path in the package, the document, and a .deb's Repack-* control fields."""
    from packaging.utils import canonicalize_name

    from repack.model import Provenance
    from repack.trust import provenance

    project = name.removeprefix("python3-")
    prov = Provenance(project=canonicalize_name(project), version=version,
                      filename=f"{project}-{version}.tar.gz",
                      url=f"https://files.example.org/{project}-{version}.tar.gz",
                      sha256=hashlib.sha256(project.encode()).hexdigest(),
                      verified=("tls", "sha256:index"))
    return (provenance.doc_path(name), provenance.to_json(prov).encode(),
            provenance.control_fields(prov))


def write_deb(dest: Path, name: str, version: str) -> Path:
    """A real binary .deb (what dpkg-deb -b makes of a one-file package and its record)."""
    payload = f"{name} {version}\n".encode()
    path = f"usr/share/bench/{name}"
    doc, doc_data, fields = record(name, version)
    control = (f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
               "Maintainer: repack benchmark <bench@example.org>\nInstalled-Size: 1\n"
               "Section: misc\nPriority: optional\n"
               + "".join(f"{k}: {v}\n" for k, v in fields.items())
               + f"Description: synthetic package {name}\n A package for the publish "
               "benchmark.\n").encode()
    md5sums = (f"{hashlib.md5(payload).hexdigest()}  {path}\n"
               f"{hashlib.md5(doc_data).hexdigest()}  {doc}\n").encode()
    deb = dest / f"{name}_{version}_all.deb"
    deb.write_bytes(_ar([("debian-binary", b"2.0\n"),
                         ("control.tar.gz", _tar_gz({"control": control, "md5sums": md5sums})),
                         ("data.tar.gz", _tar_gz({path: payload, doc: doc_data}))]))
    return deb


def _rpm_chunk(top: Path, names: list[str], version: str) -> list[Path]:
    """Build one noarch rpm per name with a single rpmbuild run (subpackages)."""
    lines = ["Name: bench-chunk", f"Version: {version}", "Release: 1", "Summary: bench",
             "License: MIT", "BuildArch: noarch", "%description", "bench", ""]
    for n in names:
        lines += [f"%package -n {n}", f"Summary: synthetic package {n}",
                  f"%description -n {n}", "A package for the publish benchmark.", ""]
    top.mkdir(parents=True, exist_ok=True)
    docs = top / "docs"
    docs.mkdir(exist_ok=True)
    lines += ["%install", "mkdir -p %{buildroot}/usr/share/bench"]
    for n in names:
        doc, doc_data, _ = record(n, version)
        (docs / n).write_bytes(doc_data)
        lines += [f"echo {n} > %{{buildroot}}/usr/share/bench/{n}",
                  f"mkdir -p %{{buildroot}}/{Path(doc).parent}",
                  f"cp {docs / n} %{{buildroot}}/{doc}"]
    for n in names:
        lines += [f"%files -n {n}", f"/usr/share/bench/{n}", f"/{record(n, version)[0]}", ""]
    spec = top / "bench.spec"
    spec.write_text("\n".join(lines) + "\n")
    sh(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none",
        "--quiet", spec])
    return [top / "RPMS" / "noarch" / f"{n}-{version}-1.noarch.rpm" for n in names]


def make_key(home: Path) -> str:
    """A passphrase-less RSA-4096 key made by `repack key generate` (the default, and what
    el9's clients verify; cached with the packages)."""
    marker = home / "fpr-rsa4096"
    if not marker.is_file():
        shutil.rmtree(home, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k != "REPACK_PASSPHRASE"}
        out = sh(repack_argv("key", "generate", "--email", "bench@example.org", "--expire",
                             "1y", "--algorithm", "rsa4096", "--no-passphrase", "--gnupghome",
                             home),
                 env=env, cwd=REPO).stdout
        marker.write_text(out.decode().strip().splitlines()[-1])
    return marker.read_text().strip()


def sign_rpms(rpms: list[Path], home: Path, fpr: str) -> None:
    """One rpmsign for many files (the key has no passphrase, so no pipe to drain)."""
    gpg_cmd = (f"/usr/bin/gpg gpg --batch --no-tty --no-verbose --no-armor --homedir {home} "
               f"--pinentry-mode loopback --digest-algo sha256 -u {fpr} "
               "-sbo %{__signature_filename} -- %{__plaintext_filename}")
    sh(["rpmsign", "--define", f"_gpg_name {fpr}", "--define", f"_gpg_path {home}",
        "--define", f"__gpg_sign_cmd {gpg_cmd}", "--addsign", *rpms], stdin=subprocess.DEVNULL)


def packages(n: int, key_home: Path, fpr: str) -> tuple[Path, Path]:
    """(dir of n .debs, dir of n signed .rpms), python3-bench-00000 .. -{n-1}, cached."""
    root = cache_root() / "packages"
    debs, rpms = root / "deb", root / "rpm"
    debs.mkdir(parents=True, exist_ok=True)
    rpms.mkdir(parents=True, exist_ok=True)
    names = [f"python3-bench-{i:05d}" for i in range(n)]
    t0 = time.monotonic()
    todo = [nm for nm in names if not (debs / f"{nm}_1.0_all.deb").is_file()]
    for nm in todo:
        write_deb(debs, nm, "1.0")
    if todo:
        say(f"wrote {len(todo)} .debs in {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    todo = [nm for nm in names if not (rpms / f"{nm}-1.0-1.noarch.rpm").is_file()]
    if todo:
        with tempfile.TemporaryDirectory(prefix="bench-rpmbuild-") as tmp, \
                concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]

            def build(i: int) -> None:
                built = _rpm_chunk(Path(tmp) / str(i), chunks[i], "1.0")
                sign_rpms(built, key_home, fpr)
                for rpm in built:
                    os.replace(rpm, rpms / rpm.name)
            list(pool.map(build, range(len(chunks))))
        say(f"built and signed {len(todo)} .rpms in {time.monotonic() - t0:.1f} s")
    return debs, rpms


def new_packages(work: Path, count: int, prefix: str = "new") -> list[tuple[Path, Path]]:
    """`count` new (.deb, .rpm) pairs, bench-PREFIX-K, as a user would publish them."""
    names = [f"python3-bench-{prefix}-{k}" for k in range(count)]
    work.mkdir(parents=True, exist_ok=True)
    debs = [write_deb(work, nm, "1.0") for nm in names]
    rpms = _rpm_chunk(work / "rpmbuild", names, "1.0")
    return list(zip(debs, rpms, strict=True))


# -- the three repositories ----------------------------------------------------------------

def timed(argv: list[str | Path], **kw: object) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([str(a) for a in argv], capture_output=True, check=False,
                          **kw)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} … failed:\n"
                           f"{proc.stdout.decode()}{proc.stderr.decode()}")
    return elapsed


def repack_argv(*args: str | Path) -> list[str | Path]:
    return [sys.executable, "-m", "repack", *args]


def publish_argv(key_home: Path, *args: str | Path) -> list[str | Path]:
    return repack_argv("publish", *args, "--gnupghome", key_home)


def linked_dir(dest: Path, files: list[Path]) -> Path:
    dest.mkdir(parents=True)
    for f in files:
        os.link(f, dest / f.name)
    return dest


def setup_repack(work: Path, debs: list[Path], rpms: list[Path], env: dict[str, str]) -> Path:
    repo = work / "repack-repo"
    out = work / "repack-in"
    linked_dir(out / "debian-12", debs)
    linked_dir(out / "el9", rpms)
    timed(publish_argv(Path(env["GNUPGHOME"]), out, "--repo", repo), env=env, cwd=REPO)
    shutil.rmtree(out)
    return repo


def setup_reprepro(work: Path, debs: list[Path], fpr: str, env: dict[str, str]) -> Path:
    base = work / "reprepro"
    (base / "conf").mkdir(parents=True)
    (base / "conf" / "distributions").write_text(
        f"Origin: bench\nLabel: bench\nCodename: {CODENAME}\nArchitectures: amd64 source\n"
        f"Components: main\nDescription: benchmark\nSignWith: {fpr}\n")
    (base / "conf" / "options").write_text("ignore wrongdistribution\n")
    for i in range(0, len(debs), 2000):      # argv length
        timed(["reprepro", "-b", base, "includedeb", CODENAME, *debs[i:i + 2000]], env=env)
    return base


def setup_createrepo(work: Path, rpms: list[Path]) -> Path:
    d = linked_dir(work / "createrepo", rpms)
    timed(["createrepo_c", "--quiet", d])
    return d


def bench_size(n: int, repeat: int, key_home: Path, fpr: str, env: dict[str, str],
               keep: bool) -> dict[str, float]:
    debs_dir, rpms_dir = packages(n, key_home, fpr)
    debs = [debs_dir / f"python3-bench-{i:05d}_1.0_all.deb" for i in range(n)]
    rpms = [rpms_dir / f"python3-bench-{i:05d}-1.0-1.noarch.rpm" for i in range(n)]
    work = Path(tempfile.mkdtemp(prefix=f"repack-publish-bench-{n}-"))
    try:
        fresh = new_packages(work / "new", 3 * repeat)
        # two nightly batches per round: .rpms signed at build time (`repack sync` holds the
        # key and builds with it, as `build --sign` does) and unsigned ones (CI builds that
        # never see the key: publish signs each .rpm, one RSA-4096 signature per file)
        nightly = [new_packages(work / f"nightly-{r}", NIGHTLY, f"night{r}")
                   for r in range(repeat)]
        for batch in nightly:
            sign_rpms([p for _, p in batch], key_home, fpr)
        unsigned = [new_packages(work / f"unsigned-{r}", NIGHTLY, f"unsigned{r}")
                    for r in range(repeat)]
        t0 = time.monotonic()
        repo = setup_repack(work, debs, rpms, env)
        say(f"N={n}: repack repository set up in {time.monotonic() - t0:.1f} s")
        have_reprepro = shutil.which("reprepro") is not None
        if have_reprepro:
            t0 = time.monotonic()
            rr = setup_reprepro(work, debs, fpr, env)
            say(f"N={n}: reprepro repository set up in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        cr = setup_createrepo(work, rpms)
        say(f"N={n}: createrepo_c repository set up in {time.monotonic() - t0:.1f} s")

        times: dict[str, list[float]] = {}
        for r in range(repeat):
            (deb, rpm), (deb_a, _), (_, rpm_y) = fresh[3 * r: 3 * r + 3]
            both = work / f"in-{r}"
            linked_dir(both / "debian-12", [deb])
            linked_dir(both / "el9", [rpm])
            times.setdefault("repack", []).append(
                timed(publish_argv(key_home, both, "--repo", repo), env=env, cwd=REPO))
            times.setdefault("repack apt", []).append(timed(
                publish_argv(key_home, deb_a, "-t", "debian-12", "--repo", repo),
                env=env, cwd=REPO))
            times.setdefault("repack yum", []).append(timed(
                publish_argv(key_home, rpm_y, "-t", "el9", "--repo", repo), env=env,
                cwd=REPO))
            if have_reprepro:
                times.setdefault("reprepro", []).append(
                    timed(["reprepro", "-b", rr, "includedeb", CODENAME, deb], env=env))
            os.link(rpm, cr / rpm.name)
            times.setdefault("createrepo_c", []).append(timed(["createrepo_c", "--update",
                                                               "--quiet", cr]))
        for r, batch in enumerate(nightly):
            # what a nightly sync publishes: NIGHTLY new .debs and .rpms in one run,
            # against reprepro's one includedeb of them all plus createrepo_c --update
            both = work / f"nightly-in-{r}"
            linked_dir(both / "debian-12", [d for d, _ in batch])
            linked_dir(both / "el9", [p for _, p in batch])
            times.setdefault("repack 100", []).append(
                timed(publish_argv(key_home, both, "--repo", repo), env=env, cwd=REPO))
            if have_reprepro:
                times.setdefault("reprepro 100", []).append(timed(
                    ["reprepro", "-b", rr, "includedeb", CODENAME, *(d for d, _ in batch)],
                    env=env))
            t0 = time.perf_counter()
            for _, rpm in batch:
                os.link(rpm, cr / rpm.name)
            times.setdefault("createrepo 100", []).append(
                time.perf_counter() - t0 + timed(["createrepo_c", "--update", "--quiet", cr]))
            both = work / f"unsigned-in-{r}"
            linked_dir(both / "debian-12", [d for d, _ in unsigned[r]])
            linked_dir(both / "el9", [p for _, p in unsigned[r]])
            times.setdefault("repack 100 unsigned", []).append(
                timed(publish_argv(key_home, both, "--repo", repo), env=env, cwd=REPO))
        verify = subprocess.run(repack_argv("repo", "verify", repo), capture_output=True,
                                text=True, env=env, cwd=REPO, check=False)
        if verify.returncode != 0:
            raise RuntimeError(f"repack repo verify failed:\n{verify.stdout}{verify.stderr}")
        return {k: statistics.median(v) for k, v in times.items()}
    finally:
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--keep", action="store_true", help="keep the repositories")
    args = ap.parse_args()
    for tool in ("rpmbuild", "rpmsign", "createrepo_c", "gpg"):
        if not shutil.which(tool):
            say(f"{tool} is missing: run ./x.py setup")
            return 2
    if not shutil.which("reprepro"):
        say("reprepro is missing (apt-get install reprepro): its column is left out")
    sizes = [int(s) for s in args.sizes.split(",")]
    # what an installed repack has: its bytecode (pip compiles at install)
    subprocess.run([sys.executable, "-m", "compileall", "-q", REPO / "repack"], check=True)
    key_home = cache_root() / "gnupg"
    fpr = make_key(key_home)
    env = {k: v for k, v in os.environ.items() if k != "REPACK_PASSPHRASE"}
    env["GNUPGHOME"] = str(key_home)          # reprepro signs with the same key

    results: dict[int, dict[str, float]] = {}
    try:
        for n in sizes:
            results[n] = bench_size(n, args.repeat, key_home, fpr, env, args.keep)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        say(f"could not measure: {e}")
        return 2
    finally:
        subprocess.run(["gpgconf", "--homedir", str(key_home), "--kill", "gpg-agent"],
                       check=False, capture_output=True)

    cols = ["repack", "repack apt", "repack yum", "reprepro", "createrepo_c"]
    # speed-ups: the other tool's time over repack's; "apt"/"yum": repack adding only a .deb
    # (what reprepro does) or only an .rpm (what createrepo_c does)
    pairs = [("reprepro", "repack"), ("createrepo_c", "repack"), ("reprepro", "repack apt"),
             ("createrepo_c", "repack yum")]
    heads = ["vs reprepro", "vs createrepo", "apt vs rr", "yum vs cr"]
    print(f"\nadd one package (median of {args.repeat}), seconds; speed-up = other / repack:")
    print(f"{'packages':>9} " + " ".join(f"{c:>13}" for c in cols)
          + "".join(f" {h:>13}" for h in heads))
    for n, t in results.items():
        ratio = [f"{t[o] / t[r]:.2f}x" if o in t else "-" for o, r in pairs]
        print(f"{n:>9} " + " ".join(f"{t[c]:>13.3f}" if c in t else f"{'-':>13}" for c in cols)
              + "".join(f" {x:>13}" for x in ratio))
    print(f"\n{NIGHTLY} new packages of each family in one publish (median of "
          f"{args.repeat}), seconds:")
    print(f"{'packages':>9} {'repack':>13} {'reprepro':>13} {'createrepo_c':>13} {'rr + cr':>13}"
          f" {'speed-up':>13} {'repack, signs':>14}")
    for n, t in results.items():
        both = t["reprepro 100"] + t["createrepo 100"] if "reprepro 100" in t else None
        print(f"{n:>9} {t['repack 100']:>13.3f} "
              + (f"{t['reprepro 100']:>13.3f}" if both else f"{'-':>13}")
              + f" {t['createrepo 100']:>13.3f} "
              + (f"{both:>13.3f} {both / t['repack 100']:>12.2f}x" if both
                 else f"{'-':>13} {'-':>13}")
              + f" {t['repack 100 unsigned']:>14.3f}")
    print("(repack: the .rpms signed at build time, as `repack sync` builds them; repack, signs:"
          " unsigned .rpms, one signature each at publish, as after CI builds without the key)")
    largest = max(results)
    t = results[largest]
    print(f"targets at N={largest} (issue 13: one package under {TARGET_S:.0f} s; {NIGHTLY} new "
          f".debs and .rpms at least {NIGHTLY_RATIO:.0f}x faster than reprepro includedeb plus "
          "createrepo_c --update):")
    met: dict[str, bool] = {}
    for col in ("repack", "repack apt", "repack yum"):
        met[f"{col} adds one package in {t[col]:.3f} s (< {TARGET_S:.0f} s)"] = \
            t[col] < TARGET_S
    if "reprepro 100" in t:
        both = t["reprepro 100"] + t["createrepo 100"]
        met[f"repack adds {NIGHTLY} + {NIGHTLY} packages in {t['repack 100']:.3f} s, "
            f"{both / t['repack 100']:.2f}x as fast as reprepro + createrepo_c "
            f"({both:.3f} s; target >= {NIGHTLY_RATIO:.0f}x)"] = \
            both / t["repack 100"] >= NIGHTLY_RATIO
    else:
        print(f"  not measured: the {NIGHTLY}-package target needs reprepro")
    for what, ok in met.items():
        print(f"  {'met' if ok else 'MISSED'}: {what}")
    return 1 if args.check and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
