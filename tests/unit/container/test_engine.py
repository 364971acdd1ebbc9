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


# matplotlib 3.9.4's meson setup in the offline el9 builder, as it failed (trimmed)
MESON_OFFLINE = """\
Downloading freetype-2.6.1 source from https://downloads.sourceforge.net/project/freetype/freetype2/2.6.1/freetype-2.6.1.tar.gz
<urlopen error [Errno -3] Temporary failure in name resolution>
ERROR: Subproject freetype-2.6.1 is buildable: NO

../extern/meson.build:19:18: ERROR: could not get https://downloads.sourceforge.net/project/freetype/freetype2/2.6.1/freetype-2.6.1.tar.gz; is the internet available?
"""  # noqa: E501 (meson's lines as printed)


def test_a_download_in_the_offline_build_is_named_in_the_hint() -> None:
    from repack.container.engine import download_hint

    hint = download_hint(MESON_OFFLINE, "matplotlib")
    assert hint is not None
    assert hint.startswith("the build tried to download (https://downloads.sourceforge.net/"
                           "project/freetype/freetype2/2.6.1/freetype-2.6.1.tar.gz), and "
                           "builds run offline: a [packages.matplotlib] override")
    assert "config-settings" in hint
    # hostile text: only a URL's characters are kept
    evil = download_hint("Could not resolve host: https://x.example/a'$(rm -rf ~)\n\x1b[31m")
    assert evil is not None and "(https://x.example/a)" in evil and "rm -rf" not in evil
    assert download_hint("error: Microsoft Visual C++ 14.0 is required") is None


def test_a_build_that_tried_to_download_is_refused_in_one_line() -> None:
    """repack.fallback: the offline build's download attempt (matplotlib 3.11's HarfBuzz
    subproject on fedora-42, whose libraqm is older than it takes) is exit 7, as Rust's
    crates are, naming the URL; the fallback's second run is not tried for it."""
    from repack.errors import CommandFailed, MappingError, OfflineDownload
    from repack.fallback import with_fallback

    failed = CommandFailed(["podman", "exec", "c", "python3", "-c", "..."], 1, MESON_OFFLINE,
                           project="matplotlib")
    hint = engine.download_hint(MESON_OFFLINE, "matplotlib")
    assert hint is not None
    runs: list[object] = []

    def run(raised: object) -> None:
        runs.append(raised)
        raise OfflineDownload(failed, engine.download_url(MESON_OFFLINE), hint)

    with pytest.raises(MappingError) as e:
        with_fallback(run)
    assert e.value.exit_code == 7 and runs == [()]
    assert str(e.value) == (
        "matplotlib: the build tried to download https://downloads.sourceforge.net/project/"
        "freetype/freetype2/2.6.1/freetype-2.6.1.tar.gz, which the offline builder cannot: it "
        "needs what the target's archive does not provide")
    assert e.value.hint == hint
    assert isinstance(e.value.__cause__, CommandFailed)     # the import check catches these


@pytest.mark.parametrize(("output", "toolchain"), [
    ("error: can't find Rust compiler\n\nIf you are using an outdated pip version", "a Rust"),
    ("FileNotFoundError: [Errno 2] No such file or directory: 'cargo'", "a Rust"),
    ("ModuleNotFoundError: No module named 'setuptools_rust'", "a Rust"),
    ("sh: 1: cargo: not found", "a Rust"),
    ("OSError: CUDA_HOME environment variable is not set. Please set it", "the CUDA SDK"),
    ("/bin/sh: 1: nvcc: not found", "the CUDA SDK"),
    ("CMake Error at CMakeLists.txt:3 (project):\n  No CMAKE_CUDA_COMPILER could be found.",
     "the CUDA SDK"),
    ("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory", None),
    ("cargo-culted comment: rustc is great", None),
])
def test_a_missing_rust_or_cuda_compiler_is_recognised(output: str,
                                                        toolchain: str | None) -> None:
    found = engine.missing_toolchain(output)
    assert (found is None) if toolchain is None else (found or "").startswith(toolchain)


def test_a_build_that_lacked_cargo_is_refused_in_one_line() -> None:
    """A project whose sources only mention Rust is built; when the build then fails for
    want of cargo, that is exit 7 (as a declared Rust build is before it starts), not a
    failed build, and the backend fallback is not tried for it."""
    from repack.errors import CommandFailed, MappingError, MissingToolchain
    from repack.fallback import with_fallback

    output = "error: can't find Rust compiler\n"
    failed = CommandFailed(["podman", "exec", "c", "dpkg-buildpackage"], 2, output,
                           project="zstd-like")
    runs: list[object] = []

    def run(raised: object) -> None:
        runs.append(raised)
        raise MissingToolchain(failed, engine.missing_toolchain(output) or "")

    with pytest.raises(MappingError) as e:
        with_fallback(run)
    assert e.value.exit_code == 7 and runs == [()]
    assert str(e.value) == ("zstd-like: needs a Rust toolchain and crates, which the offline "
                            "builder does not have: its build failed for want of it")
