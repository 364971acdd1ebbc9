"""The engine's argv: pure, no container is started here."""

from __future__ import annotations

from pathlib import Path

import pytest

from repack.container import engine
from repack.container.engine import Engine, Limits, Mount
from repack.errors import BuildError, ConfigError


def test_offline_by_default_and_limits_explicit() -> None:
    argv = Engine(name="podman").run_argv("img:1", ["true"])
    assert argv[:3] == ["podman", "run", "--rm"]
    assert argv[argv.index("--network") + 1] == "none"
    limits = [argv[i + 1] for i, a in enumerate(argv) if a == "--ulimit"]
    assert [v.split("=")[0] for v in limits] == ["nofile", "nproc"]
    for value in limits:
        soft, hard = value.split("=")[1].split(":")
        assert soft == hard and 0 < int(soft) <= 20000
    assert argv[-2:] == ["img:1", "true"]


def test_network_mounts_env_workdir() -> None:
    argv = Engine(name="docker").run_argv(
        "img", ["sh"], network=True, env={"A": "b c"}, workdir="/w", name="repack-x",
        detach=True, mounts=[Mount(source=Path("/src"), target="/build", readonly=True)])
    assert "--network" not in argv
    assert ["--volume", "/src:/build:ro"] == argv[argv.index("--volume"):argv.index("--volume") + 2]
    assert ["--env", "A=b c"] == argv[argv.index("--env"):argv.index("--env") + 2]
    assert {"--detach", "repack-x", "/w"} <= set(argv)


def test_resource_limits_are_passed() -> None:
    argv = Engine(name="podman", limits=Limits(timeout=60, memory="512m", pids=100)).run_argv(
        "img", ["true"])
    assert argv[argv.index("--memory") + 1] == "512m"
    assert argv[argv.index("--memory-swap") + 1] == "512m"
    assert argv[argv.index("--pids-limit") + 1] == "100"


@pytest.mark.parametrize("bad", [{"memory": "lots"}, {"memory": "0"}, {"timeout": 0},
                                 {"pids": -1}, {"memory": "8g; rm"}])
def test_bad_limits_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Limits(**bad)  # type: ignore[arg-type]


def test_after_stop_all_no_container_starts() -> None:
    live = engine.LiveContainers()
    live.add("podman", "repack-a")
    assert live.take_all() == {"repack-a": "podman"}
    with pytest.raises(BuildError, match="interrupted"):
        live.add("podman", "repack-b")
    assert live.take_all() == {}
