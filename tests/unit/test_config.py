from __future__ import annotations

from pathlib import Path

import pytest

from repack import config
from repack.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    s = config.load(None, environ={"REPACK_CACHE_DIR": str(tmp_path),
                                   "XDG_CONFIG_HOME": str(tmp_path)})
    assert s.cache_dir == tmp_path
    assert s.maintainer == config.DEFAULT_MAINTAINER


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('[maintainer]\nname = "Ops Team"\nemail = "ops@example.org"\n'
                 '[build]\nengine = "docker"\noutput = "dist"\n')
    s = config.load(f, environ={})
    assert s.maintainer == "Ops Team <ops@example.org>"
    assert (s.engine, s.output_dir) == ("docker", Path("dist"))
    s = config.load(f, environ={"DEBFULLNAME": "Ann", "DEBEMAIL": "ann@example.org",
                                "REPACK_ENGINE": "podman"})
    assert s.maintainer == "Ann <ann@example.org>" and s.engine == "podman"


@pytest.mark.parametrize("text, message", [
    ("[maintainer\n", "config.toml"),
    ("[surprise]\n", "unknown section"),
    ('[maintainer]\nemial = "a@example.org"\n',
     r"\[maintainer\] unknown key\(s\) 'emial' \(did you mean 'email'\?\)"),
    ('[build]\nengien = "podman"\n', r"'engien' \(did you mean 'engine'\?\)"),
    ('[maintainer]\nname = 3\n', "table of strings"),
    ('[maintainer]\nname = "A\\nDepends: x"\nemail = "a@example.org"\n', "one line"),
    ('[build]\ntimeout = "soon"\n', "whole numbers"),
    ('[build]\npids = true\n', "whole numbers"),
    ('[build]\nmemory = 8\n', "table of strings"),
    ('[build]\nmemory = "a lot"\n', "not a size"),
    ('[build]\ntimeout = 0\n', "positive"),
])
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "config.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(f, environ={})


def test_named_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "missing.toml", environ={})
    # a pipe (--config /dev/stdin, <(...)) or a directory: what it names has no "beside it"
    with pytest.raises(ConfigError, match="is not a regular file"):
        config.load(tmp_path, environ={})


def test_build_limits(tmp_path: Path) -> None:
    f = tmp_path / "repack.toml"
    f.write_text('[build]\ntimeout = 120\nmemory = "2g"\npids = 512\n')
    limits = config.load(f, environ={}).limits
    assert (limits.timeout, limits.memory, limits.pids) == (120, "2g", 512)


def test_packages_table(tmp_path: Path) -> None:
    f = tmp_path / "repack.toml"
    f.write_text('[packages.Some_Tool]\nname = "python3-some-tool-pypi"\n'
                 'allow-paths = ["/usr/bin/su"]\n[packages.other]\nname = "python3-other-x"\n')
    s = config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert s.package_names() == {"some-tool": "python3-some-tool-pypi", "other": "python3-other-x"}
    assert s.allowed_paths("some.tool") == {"/usr/bin/su"}
    assert s.allowed_paths("other") == frozenset()
    assert s.import_checked("other") and s.import_checked("not-listed")


def test_check_false_skips_the_import_check(tmp_path: Path) -> None:
    f = tmp_path / "repack.toml"
    f.write_text("[packages.Slow_Import]\ncheck = false\n")
    s = config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert not s.import_checked("slow.import") and s.import_checked("other")


def test_scripts_without_help(tmp_path: Path) -> None:
    f = tmp_path / "repack.toml"
    f.write_text('[packages.FontTools]\nscripts-without-help = ["pyftmerge", "ttx"]\n')
    s = config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert s.scripts_without_help("fonttools") == {"pyftmerge", "ttx"}
    assert s.scripts_without_help("other") == frozenset() and s.import_checked("fonttools")
    assert not s.packages["fonttools"].builds_differently()


@pytest.mark.parametrize("text, message", [
    ('[packages]\napt = 1\n', r"\[packages.apt\] must be a table"),
    ('[packages.apt]\nnmae = "x"\n', r"unknown key\(s\) 'nmae' \(did you mean 'name'\?\)"),
    ('[packages.apt]\nname = "Python3_Apt"\n', "name must be a package name"),
    ('[packages.apt]\nallow-paths = "/usr/bin/su"\n', "allow-paths must be a list"),
    ('[packages.apt]\nallow-paths = ["usr/bin/su"]\n', "allow-paths must be a list"),
    ('[packages.apt]\nallow-paths = ["/usr/bin/../bin/su"]\n', "normalised"),
    ('[packages.apt]\ncheck = "no"\n', "check must be true or false"),
    ('[packages.apt]\nchek = false\n', r"'chek' \(did you mean 'check'\?\)"),
    ('[packages.apt]\nscripts-without-help = "x"\n', "scripts-without-help must be a list"),
    ('[packages.apt]\nscripts-without-help = ["../x"]\n', "console script names"),
])
def test_bad_packages_table(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "repack.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})


def test_publish_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[publish]: paths beside the file that names them; the project's keys win key by key
    over the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg/repack/config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[publish]\nrepo = "user-repo"\nkey = "ABCD"\ngnupghome = "~/g"\n'
                    'valid-days = 30\n')
    project = tmp_path / "team/repack.toml"
    project.parent.mkdir()
    project.write_text('[publish]\nrepo = "../srv/repo"\nurl = "https://p.example.org/r"\n'
                       'name = "team"\nvalid-days = 3\n')
    p = config.load(project, environ={}).publish
    assert p.repo == tmp_path / "team/../srv/repo"
    assert (p.url, p.name, p.valid_days, p.key) == ("https://p.example.org/r", "team", 3, "ABCD")
    assert p.gnupghome == Path.home() / "g"
    only_user = config.load(None, environ={}, cwd=tmp_path).publish
    assert only_user.repo == user.parent / "user-repo" and only_user.valid_days == 30
    assert only_user.url is None
    assert not p.keyring_packages
    project.write_text('[publish]\nkeyring-packages = true\n')
    assert config.load(project, environ={}).publish.keyring_packages


@pytest.mark.parametrize("text, message", [
    ('[publish]\nrepo-dir = "r"\n', (r"\[publish\] unknown key\(s\) 'repo-dir' "
                                     r"\(did you mean 'repo'\?\)")),
    ('[publish]\nvalid_days = 3\n', r"'valid_days' \(did you mean 'valid-days'\?\)"),
    ('[publish]\nvalid-days = 0\n', "at least 1"),
    ('[publish]\nvalid-days = "7"\n', "at least 1"),
    ('[publish]\nvalid-days = true\n', "at least 1"),
    ('[publish]\nurl = 3\n', "url must be a non-empty one-line string"),
    ('[publish]\nname = "a\\nb"\n', "name must be a non-empty one-line string"),
    ('[publish]\nrepo = ""\n', "repo must be a non-empty"),
    ('publish = "r"\n', r"\[publish\] must be a table"),
    ('[publish]\nkeyring-packages = "yes"\n', "keyring-packages must be true or false"),
])
def test_bad_publish_table(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "repack.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
