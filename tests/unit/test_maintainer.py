"""Who a build names as maintainer: DEBFULLNAME/DEBEMAIL, then [maintainer], then the user
id of the key repack would sign with, then the default; said in one log line.  Real keys
in throw-away GnuPG homes; real .debs for what `rebuild` reads back."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from repotools import gnupg_home, make_deb, new_key  # type: ignore[import-not-found]

from repack import config, keys
from repack.config import PublishSettings, Settings
from repack.errors import ConfigError, MetadataError
from repack.rebuild import maintainer_of


def settings(tmp_path: Path, text: str = "", environ: dict[str, str] | None = None,
             ) -> Settings:
    f = tmp_path / "repack.toml"
    f.write_text(text)
    return config.load(f, environ=environ or {})


@pytest.fixture(scope="module")
def two_keys() -> Iterator[tuple[Path, str, str]]:
    """A home whose first key is 'repack test <repo@example.org>' and whose newer,
    published one (a rotation) is 'Ops Team <ops@example.org>'."""
    with gnupg_home() as home:
        old = new_key(home)
        new = keys.rotate(home, name="Ops Team", email="ops@example.org",
                          algorithm="ed25519")
        yield home, old, new


@pytest.mark.parametrize("value", [
    "Team <ops@example.org>", "Ops Team (CI) <ops@example.org>", "José Ñoño <j@example.org>",
    "A. N. Other <a+b@example.org>",
])
def test_good_maintainers(value: str) -> None:
    assert config.check_maintainer(value, "here") == value


@pytest.mark.parametrize("value", [
    "<ops@example.org>", "Team", "Team ops@example.org", " Team <ops@example.org>",
    "Team <ops@example.org> ", "Team\n <ops@example.org>", "Team <ops@example.org>\nX: y",
    "Team\x1b[31m <ops@example.org>", "Team\u202e <ops@example.org>", 'Team "x" <ops@example.org>',
    "Team, Other <ops@example.org>", "Team <ops example.org>", "Team <ops@a@b>",
    "Team <ops@example.org>, Other <o@example.org>", "Team <ops>", "Te\\am <ops@example.org>",
])
def test_bad_maintainers(value: str) -> None:
    with pytest.raises(ConfigError, match="here: maintainer .* must be one line like"):
        config.check_maintainer(value, "here")


def test_sources(tmp_path: Path) -> None:
    assert (settings(tmp_path).maintainer, settings(tmp_path).maintainer_source) == (
        config.DEFAULT_MAINTAINER, "the default")
    s = settings(tmp_path, '[maintainer]\nname = "Team"\nemail = "t@example.org"\n')
    assert s.maintainer == "Team <t@example.org>"
    assert s.maintainer_source == f"{tmp_path / 'repack.toml'} [maintainer]"
    s = settings(tmp_path, '[maintainer]\nname = "Team"\nemail = "t@example.org"\n',
                 {"DEBEMAIL": "Ann <ann@example.org>", "DEBFULLNAME": "Ignored"})
    assert (s.maintainer, s.maintainer_source) == ("Ann <ann@example.org>",
                                                   "DEBFULLNAME/DEBEMAIL")
    # only a name: not a maintainer, so the default (or later the key) applies
    s = settings(tmp_path, "", {"DEBFULLNAME": "Ann"})
    assert s.maintainer_source == "the default"


@pytest.mark.parametrize("text, environ", [
    ('[maintainer]\nname = "Team, Inc"\nemail = "t@example.org"\n', {}),
    ('[maintainer]\nname = "Team"\nemail = "t@example.org>\\nX-Evil: 1"\n', {}),
    ("", {"DEBFULLNAME": "Ann", "DEBEMAIL": "not an address"}),
])
def test_bad_configured_maintainer_is_exit_2(tmp_path: Path, text: str,
                                             environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="must be one line like") as e:
        settings(tmp_path, text, environ)
    assert e.value.exit_code == 2


@pytest.mark.process
def test_the_signing_key_names_the_maintainer(
        tmp_path: Path, two_keys: tuple[Path, str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    home, old, new = two_keys
    s = config.resolve_maintainer(settings(tmp_path), home)
    assert s.maintainer == "Ops Team <ops@example.org>"      # the newest published key
    assert s.maintainer_source == f"the signing key {new}"
    err = " ".join(capsys.readouterr().err.split())
    assert f"maintainer: Ops Team <ops@example.org> (from the signing key {new})" in err
    # --key (or [publish] key) picks the key, as signing would
    assert config.resolve_maintainer(settings(tmp_path), home, old[-16:]).maintainer == (
        "repack test <repo@example.org>")
    from_config = dataclasses.replace(settings(tmp_path), publish=PublishSettings(
        gnupghome=home, key=old))
    assert config.resolve_maintainer(from_config).maintainer == "repack test <repo@example.org>"


@pytest.mark.process
def test_the_configured_maintainer_beats_the_key(
        tmp_path: Path, two_keys: tuple[Path, str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    home, _, _ = two_keys
    s = settings(tmp_path, '[maintainer]\nname = "Team"\nemail = "t@example.org"\n')
    assert config.resolve_maintainer(s, home).maintainer == "Team <t@example.org>"
    assert "maintainer: Team <t@example.org> (from " in " ".join(capsys.readouterr().err.split())


def test_no_key_gives_the_default_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "no-such-home"
    s = config.resolve_maintainer(settings(tmp_path), home)
    assert (s.maintainer, s.maintainer_source) == (config.DEFAULT_MAINTAINER, "the default")
    assert not home.exists()
    assert f"maintainer: {config.DEFAULT_MAINTAINER} (from the default)" in capsys.readouterr().err
    assert config.resolve_maintainer(settings(tmp_path), home, "0" * 40).maintainer == (
        config.DEFAULT_MAINTAINER)


@pytest.mark.process
def test_a_key_uid_unfit_for_a_control_field_is_passed_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with gnupg_home() as home:
        keys.generate(home, name="Evil, Inc", email="e@example.org", algorithm="ed25519")
        s = config.resolve_maintainer(settings(tmp_path), home)
    assert s.maintainer == config.DEFAULT_MAINTAINER
    err = " ".join(capsys.readouterr().err.split())
    assert "'Evil, Inc <e@example.org>' must be one line like" in err
    assert f"using {config.DEFAULT_MAINTAINER}" in err


@pytest.mark.process
def test_rebuild_uses_the_packages_own_maintainer(tmp_path: Path) -> None:
    assert maintainer_of(make_deb(tmp_path, "python3-demo", "1.0-0repack1~deb12")) == (
        "Test <test@example.org>")
    root = tmp_path / "evil"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: evil\nVersion: 1\nArchitecture: all\nMaintainer: Evil, Inc <e@example.org>\n"
        "Description: x\n x\n")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(tmp_path / "evil_1_all.deb")], check=True, capture_output=True)
    with pytest.raises(MetadataError, match="evil_1_all.deb: maintainer 'Evil, Inc"):
        maintainer_of(tmp_path / "evil_1_all.deb")


@pytest.mark.process
def test_rebuild_reads_an_rpms_changelog_maintainer(tmp_path: Path) -> None:
    """repack's rpms have no Packager tag (Fedora forbids it): the %changelog names him."""
    spec = tmp_path / "demo.spec"
    spec.write_text("Name: python3-demo\nVersion: 1.0\nRelease: 0.repack1.el9\n"
                    "Summary: s\nLicense: MIT\nBuildArch: noarch\n%description\nd\n"
                    "%files\n%changelog\n* Mon Jan 01 2024 Ops Team <ops@example.org> - 1.0-0."
                    "repack1.el9\n- Built by repack.\n")
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {tmp_path}", "--quiet", str(spec)],
                   check=True, capture_output=True)
    (rpm,) = (tmp_path / "RPMS" / "noarch").glob("*.rpm")
    assert maintainer_of(rpm) == "Ops Team <ops@example.org>"
