"""repack.plan.shards and `repack plan`: a lock file as waves x targets x shards of jobs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from repack import cli
from repack.errors import ConfigError, CycleError
from repack.plan import lockfile
from repack.plan.shards import jobs, plan_json, restrict, waves

SHA = "ab" * 32
DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def lock_text(targets: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    """A version 2 lock file: target id -> project -> its locked dependencies."""
    lines = ["version = 2", 'index = "https://pypi.org/simple/"', 'requested = ["d"]']
    for target_id, packages in targets.items():
        lines += ["", "[[targets]]", f'id = "{target_id}"', "provided = []"]
        for name, depends in packages.items():
            lines += ["", "[[targets.packages]]", f'name = "{name}"', 'version = "1.0"',
                      f'filename = "{name}-1.0.tar.gz"', f'sha256 = "{SHA}"',
                      f"depends = {json.dumps(list(depends))}"]
    return "\n".join(lines) + "\n"


def load(tmp_path: Path, targets: Mapping[str, Mapping[str, Sequence[str]]]
         ) -> lockfile.Lockfile:
    path = tmp_path / "repack.lock"
    path.write_text(lock_text(targets))
    return lockfile.load(path)


def names(packages: Sequence[lockfile.LockedPackage]) -> list[str]:
    return [str(p.name) for p in packages]


def test_waves_of_a_diamond(tmp_path: Path) -> None:
    lock = load(tmp_path, {"debian-12": DIAMOND})
    assert [names(w) for w in waves(lock.targets[0])] == [["a"], ["b", "c"], ["d"]]


def test_a_wave_waits_for_its_deepest_dependency(tmp_path: Path) -> None:
    lock = load(tmp_path, {"t": {"x": ["a", "c"], "a": [], "b": ["a"], "c": ["b"]}})
    assert [names(w) for w in waves(lock.targets[0])] == [["a"], ["b"], ["c"], ["x"]]


def test_a_cycle_is_an_error_naming_it(tmp_path: Path) -> None:
    lock = load(tmp_path, {"t": {"a": ["b"], "b": ["a"], "c": []}})
    with pytest.raises(CycleError, match=r"a -> b -> a") as info:
        waves(lock.targets[0])
    assert info.value.exit_code == 7


def test_an_unlocked_dependency_is_an_error(tmp_path: Path) -> None:
    lock = load(tmp_path, {"t": {"a": ["zz"]}})
    with pytest.raises(ConfigError, match="a depends on zz"):
        waves(lock.targets[0])


def test_shards_are_balanced_deterministic_and_cover_each_wave_once(tmp_path: Path) -> None:
    wide = {f"p{i:02}": [] for i in range(7)} | {"top": [f"p{i:02}" for i in range(7)]}
    lock = load(tmp_path, {"t": wide})
    plan = jobs(lock, shards=3)
    assert [[j.id for j in wave] for wave in plan] == [["w0-t-s1", "w0-t-s2", "w0-t-s3"],
                                                       ["w1-t-s1"]]
    sizes = [len(j.packages) for j in plan[0]]
    assert sorted(sizes) == [2, 2, 3]
    assert sorted(n for j in plan[0] for n in names(j.packages)) == sorted(
        f"p{i:02}" for i in range(7))
    assert names(plan[0][0].packages) == ["p00", "p03", "p06"]
    assert plan == jobs(load(tmp_path, {"t": dict(reversed(wide.items()))}), shards=3)


def test_more_shards_than_projects_gives_one_job_each(tmp_path: Path) -> None:
    plan = jobs(load(tmp_path, {"t": DIAMOND}), shards=10)
    assert [[names(j.packages) for j in wave] for wave in plan] == [
        [["a"]], [["b"], ["c"]], [["d"]]]


def test_targets_are_filtered_and_their_waves_aligned(tmp_path: Path) -> None:
    lock = load(tmp_path, {"debian-12": DIAMOND, "el9": {"a": [], "b": ["a"]}})
    plan = jobs(lock)
    assert [[j.id for j in wave] for wave in plan] == [
        ["w0-debian-12-s1", "w0-el9-s1"], ["w1-debian-12-s1", "w1-el9-s1"],
        ["w2-debian-12-s1"]]
    only_el9 = jobs(lock, target_ids=["el9"])
    assert [[j.id for j in wave] for wave in only_el9] == [["w0-el9-s1"], ["w1-el9-s1"]]
    with pytest.raises(ConfigError, match="no target el8"):
        jobs(lock, target_ids=["el8"])
    with pytest.raises(ConfigError, match="at least 1"):
        jobs(lock, shards=0)


def test_json_shape_and_build_command(tmp_path: Path) -> None:
    lock = load(tmp_path, {"debian-12": DIAMOND})
    out = plan_json(jobs(lock, shards=2), lock_path="ci/repack.lock", lock_sha256=SHA)
    assert out["lock"] == SHA
    wave1 = out["waves"][1]   # type: ignore[index]
    assert wave1[1] == {
        "id": "w1-debian-12-s2", "wave": 1, "target": "debian-12", "shard": 2,
        "projects": ["c==1.0"],
        "build": ["repack", "build", "--lock", "ci/repack.lock", "-t", "debian-12",
                  "--only", "c"]}


def test_restrict_keeps_only_the_named_projects(tmp_path: Path) -> None:
    lock = load(tmp_path, {"debian-12": DIAMOND, "el9": {"a": [], "b": ["a"]}})
    small = restrict(lock, ["B", "d"])
    assert [(t.id, names(t.packages)) for t in small.targets] == [
        ("debian-12", ["b", "d"]), ("el9", ["b"])]
    assert [list(p.depends) for p in small.targets[0].packages] == [[], ["b"]]
    with pytest.raises(ConfigError, match="--only zz: not in the lock file"):
        restrict(lock, ["zz"])


def test_plan_command_prints_the_jobs_and_refuses_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "repack.lock"
    path.write_text(lock_text({"debian-12": DIAMOND}))
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["plan", "--lock", str(path), "--shards", "2"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["lock"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [[j["id"] for j in wave] for wave in out["waves"]] == [
        ["w0-debian-12-s1"], ["w1-debian-12-s1", "w1-debian-12-s2"], ["w2-debian-12-s1"]]
    for args in (["--lock", str(tmp_path / "missing.lock")], ["--lock", str(path), "--shards", "0"],
                 ["--lock", str(path), "-t", "el9"]):
        bad = runner.invoke(cli.cli, ["plan", *args])
        assert bad.exit_code == 2, bad.output
        assert bad.output.startswith("error: ")
    (tmp_path / "bad.lock").write_text("version = 2\n")
    bad = runner.invoke(cli.cli, ["plan", "--lock", str(tmp_path / "bad.lock")])
    assert bad.exit_code == 2 and "malformed" in bad.output


def test_build_only_needs_lock() -> None:
    result = CliRunner().invoke(cli.cli, ["build", "--only", "a"])
    assert result.exit_code == 2
    assert "--only picks projects of a lock file" in result.output
