"""The engine's argv: pure, no container is started here."""

from __future__ import annotations

from pathlib import Path

from repack.build.engine import Engine, Mount


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
