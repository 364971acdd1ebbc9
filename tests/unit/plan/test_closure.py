"""Dependency closure, lock files and the parallel executor, against a real local index."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from closureindex import DEBIAN_12, Index, nothing
from localindex import LocalIndex
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from sdists import pkg_info_text

from repack import cli
from repack.errors import IntegrityError, MetadataError, RepackError
from repack.model import BuildRequest
from repack.plan import lockfile
from repack.plan.closure import ConflictError, CycleError, Plan, resolve_closure
from repack.plan.schedule import PlanFailed, run_graph


@pytest.fixture
def index(local_index: LocalIndex, tmp_path: Path) -> Index:
    return Index(local_index, tmp_path)


def versions(plan: Plan) -> dict[str, str]:
    return {n: str(plan.nodes[n].release.version) for n in plan.order}


def test_chain_is_built_dependencies_first(index: Index) -> None:
    index.add("a", requires=["b>=1"])
    index.add("b", requires=["c"])
    index.add("c")
    plan = index.plan("a")
    assert plan.order == ("c", "b", "a")
    assert plan.nodes[canonicalize_name("a")].depends == ("b",)
    assert plan.dropped == ()


def test_diamond_has_each_project_once(index: Index) -> None:
    index.add("top", requires=["left", "right"])
    index.add("left", requires=["base"])
    index.add("right", requires=["base>=1.0"])
    index.add("base")
    plan = index.plan("top")
    assert plan.order[0] == "base" and plan.order[-1] == "top"
    assert sorted(plan.order) == ["base", "left", "right", "top"]


def test_markers_are_evaluated_for_the_target(index: Index) -> None:
    index.add("app", requires=['backport; python_version < "3.10"', "always"])
    index.add("backport")
    index.add("always")
    assert index.plan("app").order == ("always", "app")          # debian-12: Python 3.11
    old = dataclasses.replace(DEBIAN_12, python_version="3.9", python_full_version="3.9.2")
    assert set(index.plan("app", target=old).order) == {"always", "backport", "app"}


def test_requirements_the_metadata_lacks_join_the_closure(index: Index) -> None:
    """`[packages.librt] requires-dist`: librt 0.16's vecs imports mypy_extensions, which
    its metadata does not name; the added requirement is resolved, markers and all, and
    built first, as its own would be."""
    index.add("librt")
    index.add("mypy-extensions", "0.4.3")
    index.add("mypy-extensions", "1.1.0")
    index.add("backport")
    plan = index.plan("librt", added={
        "librt": ["mypy-extensions>=1.0", 'backport; python_version < "3.10"']})
    assert plan.order == ("mypy-extensions", "librt")           # debian-12: Python 3.11
    assert versions(plan)["mypy-extensions"] == "1.1.0"
    assert plan.nodes[canonicalize_name("librt")].depends == ("mypy-extensions",)
    assert index.plan("librt").order == ("librt",)


def test_extras_only_when_requested(index: Index) -> None:
    index.add("app", requires=["core", 'speedup>=1; extra == "fast"'])
    index.add("core")
    index.add("speedup")
    assert index.plan("app").order == ("core", "app")
    plan = index.plan("app[fast]")
    assert set(plan.order) == {"core", "speedup", "app"}
    assert plan.nodes[canonicalize_name("app")].extras == ("fast",)


def test_cycle_is_reported_with_its_path(index: Index) -> None:
    index.add("a", requires=["b"])
    index.add("b", requires=["a"])
    with pytest.raises(CycleError, match=r"dependency cycle: a -> b -> a"):
        index.plan("a")


def test_conflicting_pins_name_both_requirers(index: Index) -> None:
    index.add("app", requires=["lib==1.0", "other"])
    index.add("other", requires=["lib==2.0"])
    index.add("lib", "1.0")
    index.add("lib", "2.0")
    with pytest.raises(ConflictError) as exc:
        index.plan("app")
    assert "app requires lib==1.0" in str(exc.value)
    assert "other requires lib==2.0" in str(exc.value)
    assert exc.value.exit_code == 3


def test_a_later_narrower_requirement_re_resolves(index: Index) -> None:
    index.add("app", requires=["lib", "other"])
    index.add("other", requires=["lib<2"])
    index.add("lib", "1.0", requires=["old-helper"])
    index.add("lib", "2.0", requires=["new-helper"])
    index.add("old-helper")
    index.add("new-helper")
    plan = index.plan("app")
    assert versions(plan)["lib"] == "1.0"
    assert "new-helper" not in plan.nodes and "old-helper" in plan.nodes


def test_provided_dependency_is_dropped_and_listed(index: Index) -> None:
    index.add("app", requires=["django-ish>=1", "mine"])
    index.add("mine")
    # django-ish is not even on the index: it is never resolved, and its own
    # dependencies are the distribution's business.
    plan = index.plan("app", provided=lambda r: r.name == "django-ish")
    assert plan.order == ("mine", "app")
    assert [(str(d.requirement), d.required_by) for d in plan.dropped] == [
        ("django-ish>=1", "app")]


def test_a_requested_project_is_built_even_if_provided(index: Index) -> None:
    index.add("app")
    assert index.plan("app", provided=lambda r: True).order == ("app",)


def test_dynamic_metadata_without_a_hook_asks_for_the_dependencies(index: Index) -> None:
    index.add("legacy", requires=["x"], dynamic=True)
    with pytest.raises(MetadataError, match="legacy: .*dynamic metadata") as exc:
        index.plan("legacy")
    assert exc.value.hint and "REQ" in exc.value.hint


def test_hook_metadata_is_kept_for_later_commands(index: Index) -> None:
    """The PEP 517 hook (a container in real use) runs once per sdist, not once per command:
    its METADATA is kept on disk under the sdist's sha256."""
    sha = index.add("legacy", requires=["helper"], dynamic=True)
    index.add("helper")
    calls: list[str] = []

    def hook(sdist: object) -> bytes:
        calls.append("hook")
        return pkg_info_text("legacy", "1.0", requires_dist=["helper"]).encode()

    def plan() -> Plan:   # each call as in a new process: nothing known in memory
        return resolve_closure([BuildRequest(requirement=Requirement("legacy"))], DEBIAN_12,
                               index=index.local.url, session=index.session,
                               provided=nothing, cache_dir=index.cache, hook=hook, known={})

    assert plan().order == ("helper", "legacy")
    assert (index.cache / "metadata" / f"{sha}.METADATA").is_file()
    assert plan().order == ("helper", "legacy")
    assert calls == ["hook"]


def test_index_metadata_is_preferred_and_checked(index: Index) -> None:
    # PKG-INFO is dynamic: only the PEP 658 file can say that it needs "helper".
    meta = pkg_info_text("legacy", "1.0", requires_dist=["helper"]).encode()
    index.add("legacy", requires=["helper"], dynamic=True, metadata=meta)
    index.add("helper")
    assert index.plan("legacy").order == ("helper", "legacy")
    assert "/files/legacy/legacy-1.0.tar.gz" not in index.local.downloads()


def test_index_metadata_with_a_wrong_sha256_is_ignored(index: Index) -> None:
    meta = pkg_info_text("liar", "1.0", requires_dist=["evil"]).encode()
    index.add("liar", metadata=meta, metadata_sha256="0" * 64)   # static PKG-INFO: no deps
    assert index.plan("liar").order == ("liar",)


def test_metadata_is_read_once_per_sdist(index: Index, tmp_path: Path) -> None:
    index.add("app", requires=["lib"])
    index.add("lib")
    index.plan("app")
    downloads = len(index.local.downloads())
    index.cache = tmp_path / "another-cache"     # the download cache cannot be what helps
    other = dataclasses.replace(DEBIAN_12, id="other", python_full_version="3.11.9")
    assert index.plan("app", target=other).order == ("lib", "app")
    assert len(index.local.downloads()) == downloads


# ------------------------------------------------------------------------- lock files

def test_lock_file_round_trip(index: Index, tmp_path: Path) -> None:
    sha_a = index.add("a", requires=["b"])
    sha_b = index.add("b")
    plan = index.plan("a", provided=lambda r: r.name == "zzz")
    path = tmp_path / "repack.lock"
    lockfile.write(path, [plan], index=index.local.url, requested=["a"])
    lock = lockfile.load(path)
    assert lock.requested == ("a",) and [t.id for t in lock.targets] == ["debian-12"]
    assert [(p.name, p.sha256) for p in lock.targets[0].packages] == [("b", sha_b),
                                                                       ("a", sha_a)]
    again = lockfile.plan_from_lock(lock.targets[0], DEBIAN_12, index=index.local.url,
                                    session=index.session)
    assert again.order == plan.order
    assert again.nodes[canonicalize_name("a")].pins == (f"sha256:{sha_a}",)
    assert again.nodes[canonicalize_name("a")].release == plan.nodes[
        canonicalize_name("a")].release


def _tampered_lock(index: Index, tmp_path: Path) -> Path:
    sha = index.add("a")
    path = tmp_path / "repack.lock"
    lockfile.write(path, [index.plan("a")], index=index.local.url, requested=["a"])
    path.write_text(path.read_text().replace(sha, "f" * 64))
    return path


def test_tampered_hash_is_refused(index: Index, tmp_path: Path) -> None:
    lock = lockfile.load(_tampered_lock(index, tmp_path))
    with pytest.raises(IntegrityError, match="the lock file pins"):
        lockfile.plan_from_lock(lock.targets[0], DEBIAN_12, index=index.local.url,
                                session=index.session)


def test_build_lock_with_a_tampered_hash_exits_4(index: Index, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = _tampered_lock(index, tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", index.local.url)
    monkeypatch.setenv("REPACK_CACHE_DIR", str(index.cache))
    result = CliRunner().invoke(cli.cli, ["build", "--lock", str(path), "-o",
                                          str(tmp_path / "out")])
    assert result.exit_code == 4, result.output
    assert "the lock file pins" in result.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_lock_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "repack.lock"
    path.write_text('version = 1\nindex = "x"\nrequested = []\n[[targets]]\nid = "debian-12"\n'
                    '[[targets.packages]]\nname = "a"\nversion = "1"\nfilename = "a-1.tar.gz"\n'
                    'sha256 = "nothex"\ndepends = []\n')
    with pytest.raises(RepackError, match="malformed") as exc:
        lockfile.load(path)
    assert exc.value.exit_code == 2


# ------------------------------------------------------------------------- the executor

def test_independent_jobs_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)   # breaks unless both run at once

    def job(name: str) -> str:
        barrier.wait()
        return name.upper()

    outcome = run_graph(["x", "y"], {}, job, jobs=2)
    assert outcome.done == {"x": "X", "y": "Y"} or outcome.done == {"y": "Y", "x": "X"}
    assert outcome.failed == () and outcome.not_run == ()


def test_a_job_starts_after_its_dependencies() -> None:
    finished: list[str] = []
    lock = threading.Lock()

    def job(name: str) -> None:
        time.sleep(0.05 if name == "c" else 0.01)
        with lock:
            finished.append(name)
        if name == "a":
            assert {"b", "c"} <= set(finished)

    run_graph(["b", "c", "a"], {"a": ["b", "c"]}, job, jobs=2)
    assert finished[-1] == "a"


def test_failure_stops_new_jobs_and_lets_running_ones_finish() -> None:
    started: list[str] = []
    release_slow = threading.Event()

    def job(name: str) -> str:
        started.append(name)
        if name == "bad":
            release_slow.set()
            raise RepackError("boom", project=name)
        if name == "slow":
            release_slow.wait(5)
            time.sleep(0.05)
        return name

    order = ["slow", "bad", "after-bad", "independent"]
    outcome = run_graph(order, {"after-bad": ["bad"]}, job, jobs=2)
    assert set(started) == {"slow", "bad"}
    assert list(outcome.done) == ["slow"]                       # finished, kept
    assert [n for n, _ in outcome.failed] == ["bad"]
    assert outcome.not_run == ("after-bad", "independent")


def test_plan_failed_reports_built_and_not_built() -> None:
    cause = IntegrityError("bad hash", project="leaf")
    err = PlanFailed("leaf 1.0 for debian-12", cause, done=["other 2.0"],
                     not_run=["top 1.0"], where="out/debian-12")
    assert err.exit_code == 4
    text = str(err)
    assert "leaf 1.0 for debian-12 failed" in text and "leaf: bad hash" in text
    assert "built and kept other 2.0" in text and "not built top 1.0" in text
    assert "\n" not in text
