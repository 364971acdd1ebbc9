"""The command line: help, usage errors and their exit codes (nothing is built here)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import signal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from repack import cli, pipeline
from repack.cli.build import result_json
from repack.errors import EXIT_CODES, RepackError
from repack.model import Artifact


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_explains_the_verbs(runner: CliRunner) -> None:
    result = runner.invoke(cli.cli, ["--help"])
    assert result.exit_code == 0
    for verb in ("build", "render", "targets", "image", "doctor"):
        assert verb in result.output
    build_help = runner.invoke(cli.cli, ["build", "--help"]).output
    assert "--hash" in build_help and "--json" in build_help and "debian-12" in build_help


def test_each_command_is_found_in_the_module_the_table_names() -> None:
    """cli.COMMAND_MODULES, the table the group imports a command's module from, names
    every command of every command module, and each in its own module."""
    found = {}
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"repack.cli.{info.name}")
        found |= {c.name: info.name for c in getattr(module, "COMMANDS", ())}
    assert found == cli.COMMAND_MODULES
    assert cli.cli.list_commands(click.Context(cli.cli)) == sorted(found)
    assert cli.cli.get_command(click.Context(cli.cli), "no-such-command") is None


@pytest.mark.parametrize("args, message", [
    (["build", "django", "-t", "debian-99"], "error: unknown target 'debian-99'"),
    (["build", "django==", "-t", "debian-12"], "is not a valid PEP 508 requirement"),
    (["build", "a", "b", "--hash", "sha256:" + "0" * 64], "--hash applies to exactly one REQ"),
    (["build", "a", "--hash", "md5:abc"], "error:"),
    (["build"], "nothing to build"),
    (["build", "a", "--revision", "0"], "--revision 0: a whole number from 1 to 999"),
    (["build", "a", "--revision", "2", "--against", "repo"], "--revision and --against both"),
    (["build", "a", "--against", "/nonexistent/repo"], "--against /nonexistent/repo: no such"),
    (["build", "a", "--against", "ftp://example.org/"], "a directory or an http(s) URL"),
])
def test_usage_errors_exit_2_with_one_line(runner: CliRunner, args: list[str],
                                           message: str) -> None:
    result = runner.invoke(cli.cli, args)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert result.stdout == ""


def test_json_shape() -> None:
    from pathlib import Path

    from packaging.version import Version

    from repack.model import Release, Sdist

    release = Release(name="demo", version=Version("1.0"), filename="demo-1.0.tar.gz",  # type: ignore[arg-type]
                      url="https://example.org/demo-1.0.tar.gz", sha256="a" * 64, size=1,
                      requires_python=None, yanked=False, index_url="https://example.org/simple/")
    result = pipeline.BuildResult(
        artifacts=(Artifact(target="debian-12", format="deb", package="python3-demo",
                            version="1-0repack1~deb12", path=Path("out/x.deb"), sha256="b" * 64),),
        sources=(Sdist(release=release, path=Path("c"), sha256="a" * 64,
                       verified=("tls", "sha256:index")),),
        warnings=())
    data = json.loads(json.dumps(result_json(result)))
    assert data["artifacts"] == [{"target": "debian-12", "format": "deb", "package": "python3-demo",
                                  "version": "1-0repack1~deb12", "path": "out/x.deb",
                                  "sha256": "b" * 64}]
    assert data["sources"] == [{"project": "demo", "version": "1.0",
                                "url": "https://example.org/demo-1.0.tar.gz", "sha256": "a" * 64,
                                "verified": ["tls", "sha256:index"]}]


def test_doctor_names_missing_tools(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = runner.invoke(cli.cli, ["doctor"])
    assert result.exit_code == 9
    assert "mmdebstrap" in result.output and "apt-get install" in result.output
    # every tool says which commands it disables; the install line names their packages
    assert "rpmsign            MISSING: disables sign and publish of .rpm" in result.output
    assert "createrepo-c" in result.output and "gpgv" in result.output


@pytest.mark.process
def test_doctor_does_not_count_a_docker_client_without_engine(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    docker = tmp_path / "docker"      # what `docker info` does when no daemon answers
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(cli.cli, ["doctor"])
    assert result.exit_code == 9
    assert "client only: no engine answers" in result.output
    assert "podman" in result.output.split("missing:")[1]


def _error_classes(cls: type[RepackError]) -> list[type[RepackError]]:
    return [cls] + [c for sub in cls.__subclasses__() for c in _error_classes(sub)]


def test_every_exit_code_has_one_source() -> None:
    """errors.EXIT_CODES is the table: every error's code and every interrupt is in it,
    `repack --help` prints it and README.md documents each code."""
    import repack.gpg  # noqa: F401 - SignError is defined there

    for cls in _error_classes(RepackError):
        assert cls.exit_code in EXIT_CODES, cls
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        assert 128 + sig in EXIT_CODES
    help_text = " ".join(CliRunner().invoke(cli.cli, ["--help"]).output.split())
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    documented = " ".join(readme.split("- Exit codes")[1].split("\n-")[0].split())
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in help_text
        assert code == 0 or re.search(rf"\b{code}\b", documented), code


def test_help_names_both_families(runner: CliRunner) -> None:
    text = runner.invoke(cli.cli, ["--help"]).output
    for word in (".deb", ".rpm", "apt", "yum", "Debian", "Fedora", "el9"):
        assert word in text


@pytest.mark.process
def test_a_refused_file_operation_is_exit_12(tmp_path: Path, home: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError from the library (here: the policy's keyring lies under a regular file)
    becomes one `error:` line naming the path, a hint and exit 12, with no traceback."""
    from repack import keys

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a directory\n")
    (tmp_path / "repack.toml").write_text('[trust]\nkeyring = "blocker/keys"\n')
    (tmp_path / "key.asc").write_bytes(keys.export(home, None, armor=True))
    result = CliRunner().invoke(cli.cli, ["trust", "add-key", "demo", "key.asc"])
    assert result.exit_code == 12, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "blocker/keys: Not a directory" in errors[0], result.stderr
    assert "hint: check permissions" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_is_one_line_and_its_traceback_only_on_debug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug: bool) -> None:
    """The last net: an exception no library code meant (injected here) is exit 1 with the
    way to report it; --debug adds the traceback."""
    from repack import housekeeping

    def broken(settings: object) -> None:
        raise ValueError("a\nbug")

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(housekeeping, "target_states", broken)
    result = CliRunner().invoke(cli.cli, ["targets", *(["--debug"] if debug else [])])
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert errors == ["error: internal error: ValueError: a bug"]
    assert "hint: this is a bug in repack; run again with --debug" in result.stderr
    assert ("Traceback" in result.stderr) is debug
