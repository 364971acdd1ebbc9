"""`repack plan --shards` as CI runs it: every job of the plan in its own process with its
own cache and output directory (as on separate runners), the waves in order, then one publish
of all the jobs' outputs.  The merged repository must equal a single-machine build of the same
lock: the same packages with the same sha256s (these builds are reproducible)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

pytestmark = pytest.mark.integration

TARGET = "debian-12"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """Two leaves and an app that needs both: wave 0 holds the leaves, wave 1 the app."""
    tmp = tmp_path_factory.mktemp("sdists")
    with LocalIndex() as idx:
        for name, requires in (("shard-leaf-a", []), ("shard-leaf-b", []),
                               ("shard-app", ["shard-leaf-a>=1.0", "shard-leaf-b"])):
            path = make_sdist(tmp, name, "1.0", {}, requires_dist=requires)
            idx.add(name, path.name, path.read_bytes())
        yield idx


def _env(index: LocalIndex, cache: Path) -> dict[str, str]:
    return {**os.environ, "PIP_INDEX_URL": index.url, "REPACK_CACHE_DIR": str(cache)}


def _packages(repo: Path) -> dict[str, str]:
    """filename -> sha256 of every package the published apt tree serves."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in (repo / "apt" / "pool").rglob("*.deb")}


def _publish(sources: list[Path], repo: Path, home: Path) -> str:
    proc = run_repack(["publish", *map(str, sources), "--repo", str(repo),
                       "--gnupghome", str(home), "--name", "shards"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_sharded_jobs_merge_into_the_single_machine_repository(
        index: LocalIndex, home: Path, tmp_path: Path) -> None:
    lock = tmp_path / "repack.lock"
    proc = run_repack(["lock", "shard-app", "-t", TARGET, "-o", str(lock)],
                      env={"PIP_INDEX_URL": index.url, "REPACK_CACHE_DIR": str(tmp_path / "c0")})
    assert proc.returncode == 0, proc.stderr

    proc = run_repack(["plan", "--lock", str(lock), "--shards", "2"])
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    shape = [[(j["id"], j["projects"]) for j in wave] for wave in plan["waves"]]
    assert shape == [[(f"w0-{TARGET}-s1", ["shard-leaf-a==1.0"]),
                      (f"w0-{TARGET}-s2", ["shard-leaf-b==1.0"])],
                     [(f"w1-{TARGET}-s1", ["shard-app==1.0"])]]

    # The single-machine build of the same lock, in its own cache, runs beside the jobs (it
    # shares nothing with them; the suite's time budget).  It is only compared with them, so
    # it skips the import check (--no-check: the packages are the same either way); the jobs
    # run the plan's argv as given, check and all.
    single = tmp_path / "single"
    single_machine = subprocess.Popen(
        [sys.executable, "-m", "repack", "build", "--no-check", "--lock", str(lock),
         "-t", TARGET, "-o", str(single)], cwd=ROOT, env=_env(index, tmp_path / "cache" / "single"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # Each job as a separate runner would run it: its own process, cache and output; the
        # jobs of a wave at once, the waves in order.  The job's argv is run as given.
        outputs = []
        for wave in plan["waves"]:
            running = []
            for job in wave:
                argv = job["build"]
                assert argv[0] == "repack"
                out = tmp_path / "jobs" / job["id"]
                outputs.append(out)
                running.append((job["id"], subprocess.Popen(
                    [sys.executable, "-m", "repack", *argv[1:], "-o", str(out)],
                    cwd=ROOT, env=_env(index, tmp_path / "cache" / job["id"]),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
            for job_id, p in running:
                _, err = p.communicate(timeout=1800)
                assert p.returncode == 0, f"{job_id}: {err}"
        built = sorted(f.name for out in outputs for f in (out / TARGET).glob("*.deb"))
        assert built == ["python3-shard-app_1.0-0repack1~deb12_all.deb",
                         "python3-shard-leaf-a_1.0-0repack1~deb12_all.deb",
                         "python3-shard-leaf-b_1.0-0repack1~deb12_all.deb"]

        _, err = single_machine.communicate(timeout=1800)
    finally:
        if single_machine.poll() is None:   # a job failed: SIGTERM stops the build's containers
            single_machine.terminate()
            single_machine.communicate()
    assert single_machine.returncode == 0, err

    # one publish merges every job's artifacts, in one generation
    merged_log = _publish(outputs, tmp_path / "merged", home)
    assert merged_log.count("added") >= 1, merged_log
    live = os.readlink(tmp_path / "merged" / ".repack" / "current")
    assert live.endswith("gen-000001"), live
    _publish([single], tmp_path / "one", home)

    merged, one = _packages(tmp_path / "merged"), _packages(tmp_path / "one")
    assert len(merged) == 3, merged
    assert merged == one
