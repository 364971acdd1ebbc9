"""Adding a release of an existing family is one data file (issue 12): a target file the user
puts in $REPACK_TARGETS_DIR is listed, loaded and validated like a shipped one."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from repack import cli, targets
from repack.errors import TargetError


def debian_14(debian_13: str) -> str:
    """debian-13's file as a user would copy it for the next release."""
    text = debian_13.replace("debian-13", "debian-14").replace("trixie", "forky")
    return text.replace("Debian 13", "Debian 14").replace("~deb13", "~deb14")


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "targets"
    d.mkdir()
    monkeypatch.setenv("REPACK_TARGETS_DIR", str(d))
    return d


@pytest.fixture
def shipped_13() -> str:
    return resources.files("repack.targets").joinpath("debian-13.toml").read_text()


def test_a_new_release_is_one_file(user_dir: Path, shipped_13: str) -> None:
    (user_dir / "debian-14.toml").write_text(debian_14(shipped_13))
    assert "debian-14" in targets.available()
    forky = targets.load("debian-14")
    trixie = targets.load("debian-13")
    assert (forky.id, forky.codename, forky.distribution, forky.family, forky.version_suffix) \
        == ("debian-14", "forky", "forky", "deb", "~deb14")
    assert forky.suites == tuple(s.replace("trixie", "forky") for s in trixie.suites)
    assert trixie.version_suffix < forky.version_suffix    # dist-upgrades move forward
    # a file its directory places under OUT/debian-14/ belongs to the new target
    assert targets.of_file(user_dir / "out" / "debian-14" / "x.deb") == "debian-14"


def test_the_default_directory_is_beside_the_user_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped_13: str) -> None:
    monkeypatch.delenv("REPACK_TARGETS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "repack" / "targets").mkdir(parents=True)
    (tmp_path / "repack" / "targets" / "debian-14.toml").write_text(debian_14(shipped_13))
    assert targets.user_dir() == tmp_path / "repack" / "targets"
    assert targets.load("debian-14").codename == "forky"


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda t: t.replace('codename = "forky"', "codename = 14"), "codename must be a string"),
    (lambda t: t.replace('"build-essential",', "1,"), "toolchain must be a list of strings"),
    (lambda t: t.replace('codename = "forky"\n', ""), "missing key 'codename'"),
    (lambda t: t + 'mirror = "x"\n', "unknown key 'mirror'"),
    (lambda t: t.replace('id = "debian-14"', 'id = "debian-15"'),
     "id 'debian-15' does not match the file name"),
    (lambda t: t.replace('family = "deb"', 'family = "apk"'), "family must be 'deb' or 'rpm'"),
    (lambda t: t + "[broken\n", "Expected ']'"),
])
def test_a_malformed_file_is_refused_naming_the_file_and_field(
        user_dir: Path, shipped_13: str, edit: object, problem: str) -> None:
    path = user_dir / "debian-14.toml"
    path.write_text(edit(debian_14(shipped_13)))  # type: ignore[operator]
    with pytest.raises(TargetError, match=f"^target file {path}: .*{problem}"):
        targets.load("debian-14")
    # the CLI: one line, exit 2, before any engine is asked (nothing else printed)
    result = CliRunner().invoke(cli.cli, ["targets"])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: target file {path}: "), lines
    assert problem.split("'")[0] in lines[0]


@pytest.mark.parametrize(("name", "problem"), [
    ("debian-13.toml", "debian-13 is a target repack ships"),
    ("Debian 14.toml", "the name must be <id>.toml"),
])
def test_a_user_file_cannot_replace_a_shipped_target_or_take_an_odd_name(
        user_dir: Path, shipped_13: str, name: str, problem: str) -> None:
    (user_dir / name).write_text(shipped_13)
    with pytest.raises(TargetError, match=problem):
        targets.available()


@pytest.mark.process       # `repack targets` asks the container engine about each image
def test_repack_targets_lists_the_new_release(user_dir: Path, shipped_13: str) -> None:
    (user_dir / "debian-14.toml").write_text(debian_14(shipped_13))
    result = CliRunner().invoke(cli.cli, ["targets"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("debian-14 "))
    assert "deb" in line and "python 3.13" in line and "Debian 14 (forky)" in line
