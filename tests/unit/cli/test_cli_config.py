"""--config, ./repack.toml and the user's config.toml reach the repository commands: the
[publish] table supplies --repo, --url, --name, --valid-days, --gnupghome and --key when
they are not given (real CLI, real dpkg-deb packages, real gpg keys)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from debian import deb822
from repotools import make_deb  # type: ignore[import-not-found]

from repack import cli

URL = "https://packages.example.org/team"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path) -> Path:
    """A project directory (the working directory) whose repack.toml sets [publish]; no
    user config, no passphrase from the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REPACK_PASSPHRASE", raising=False)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "repack.toml").write_text(
        f'[publish]\nrepo = "srv/repo"\nurl = "{URL}"\nname = "team"\nvalid-days = 3\n'
        f'gnupghome = "{home}"\n')
    monkeypatch.chdir(root)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, list(args))


def release(repo: Path) -> deb822.Release:
    return deb822.Release((repo / "apt/dists/bookworm/Release").read_text())


def valid_for(repo: Path) -> timedelta:
    rel = release(repo)
    return parsedate_to_datetime(rel["Valid-Until"]) - parsedate_to_datetime(rel["Date"])


def names(repo: Path) -> list[str]:
    text = (repo / "apt/dists/bookworm/main/binary-amd64/Packages").read_text()
    return sorted(p["Package"] for p in deb822.Packages.iter_paragraphs(text,
                                                                         use_apt_pkg=False))


@pytest.mark.process
def test_publish_uses_the_project_config(project: Path) -> None:
    deb = make_deb(project / "out/debian-12", "python3-a", "1.0-1")
    result = run("publish", str(deb))
    assert result.exit_code == 0, result.stderr
    repo = project / "srv/repo"
    assert names(repo) == ["python3-a"] and valid_for(repo) == timedelta(days=3)
    sources = (repo / "client/team-bookworm.sources").read_text()
    assert f"URIs: {URL}/apt\n" in sources and "/etc/apt/keyrings/team.gpg" in sources
    listed = run("repo", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "python3-a" in listed.stdout
    clients = run("repo", "client-config")
    assert clients.exit_code == 0, clients.stderr
    assert f"URIs: {URL}/apt" in clients.stdout


@pytest.mark.process
def test_command_line_beats_the_config(project: Path, tmp_path: Path) -> None:
    deb = make_deb(project / "out/debian-12", "python3-a", "1.0-1")
    other = tmp_path / "other"
    result = run("publish", str(deb), "--repo", str(other), "--url", "https://x.example.org",
                 "--name", "mine", "--valid-days", "2")
    assert result.exit_code == 0, result.stderr
    assert not (project / "srv/repo").exists()
    assert names(other) == ["python3-a"] and valid_for(other) == timedelta(days=2)
    sources = (other / "client/mine-bookworm.sources").read_text()
    assert "URIs: https://x.example.org/apt\n" in sources


@pytest.mark.process
def test_config_option_names_the_file(project: Path, tmp_path: Path) -> None:
    """--config FILE replaces ./repack.toml; its paths are beside FILE, not the cwd."""
    team = tmp_path / "team"
    team.mkdir()
    text = (project / "repack.toml").read_text()
    (team / "ci.toml").write_text(text.replace('"srv/repo"', '"published"')
                                  .replace("valid-days = 3", "valid-days = 5"))
    deb = make_deb(project / "out/debian-12", "python3-a", "1.0-1")
    result = run("publish", "--config", str(team / "ci.toml"), str(deb))
    assert result.exit_code == 0, result.stderr
    assert not (project / "srv/repo").exists()
    assert valid_for(team / "published") == timedelta(days=5)


@pytest.mark.process
def test_remove_and_refresh_use_the_configured_repo(project: Path) -> None:
    debs = [make_deb(project / "out/debian-12", n, "1.0-1") for n in ("python3-a", "python3-b")]
    assert run("publish", *map(str, debs)).exit_code == 0
    repo = project / "srv/repo"
    dry = run("repo", "remove", "--dry-run", "python3-b")
    assert dry.exit_code == 0, dry.stderr
    assert "would remove" in dry.stdout and names(repo) == ["python3-a", "python3-b"]
    removed = run("repo", "remove", "python3-b")
    assert removed.exit_code == 0, removed.stderr
    assert names(repo) == ["python3-a"]
    config = project / "repack.toml"
    config.write_text(config.read_text().replace("valid-days = 3", "valid-days = 9"))
    refreshed = run("repo", "refresh")
    assert refreshed.exit_code == 0, refreshed.stderr
    assert valid_for(repo) == timedelta(days=9)
    assert run("repo", "verify", str(repo)).exit_code == 0


@pytest.mark.parametrize("args", [
    ["repo", "refresh"], ["repo", "prune", "--keep", "1"], ["repo", "list"],
    ["repo", "client-config"], ["repo", "remove", "python3-a"],
])
def test_no_repository_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                args: list[str]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "give --repo DIR or set [publish] repo" in errors[0]


@pytest.mark.parametrize("args", [
    ["publish", "x.deb"], ["repo", "refresh"], ["repo", "list"], ["repo", "verify", "."],
    ["repo", "client-config"], ["serve", "."], ["key", "list"], ["key", "export"],
    ["sign", "repack.toml"], ["explain", "repack.toml"], ["targets"],
])
def test_a_misspelled_publish_key_is_refused_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repack.toml").write_text('[publish]\nrepo = "r"\nvalid_days = 3\n')
    result = run(*args)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "'valid_days' (did you mean 'valid-days'?)" in errors[0]
    assert not (tmp_path / "r").exists()
