"""The [trust] policy of repack.toml: what parses, and every malformed file refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from repack import config
from repack.errors import ConfigError

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def load(tmp_path: Path, text: str) -> config.Settings:
    (tmp_path / "repack.toml").write_text(text)
    return config.load(None, environ={}, cwd=tmp_path)


def test_no_file_means_hashes_only(tmp_path: Path) -> None:
    settings = config.load(None, environ={}, cwd=tmp_path)
    assert settings.project_file is None
    assert settings.policy.projects == {} and not settings.policy.require_signature


def test_full_policy(tmp_path: Path) -> None:
    settings = load(tmp_path, f"""
[maintainer]
name = "Team"
email = "team@example.org"

[trust]
require-signature = true
require = "all"
keyring = "keys"

[trust.projects.Django]
pgp = ["{FPR[:20]} {FPR[20:].lower()}"]
hash = true

[trust.projects.pypi-attestations]
attestation = {{ repository = "trailofbits/pypi-attestations", workflow = "release.yml" }}
pgp = ["{FPR}"]
require = "any"
""")
    policy = settings.policy
    assert settings.maintainer == "Team <team@example.org>"
    assert policy.source == tmp_path / "repack.toml" and policy.keyring == tmp_path / "keys"
    assert policy.require_signature and not policy.deny_vulnerable
    django = policy.rule("DJANGO")
    assert django is not None and django.pgp == (FPR,) and django.require == "all"
    assert django.checks == ("pgp",)
    attested = policy.rule("pypi_attestations")
    assert attested is not None and attested.require == "any"
    assert str(attested.attestation) == "github:trailofbits/pypi-attestations/release.yml"
    assert attested.checks == ("pgp", "attestation")
    assert policy.rule("flask") is None


def test_command_line_only_tightens(tmp_path: Path) -> None:
    policy = load(tmp_path, "[trust]\ndeny-vulnerable = true\n").policy
    looser = policy.with_flags(require_signature=False, deny_vulnerable=False)
    assert looser.deny_vulnerable and not looser.require_signature
    assert policy.with_flags(require_signature=True, deny_vulnerable=False).require_signature


def test_config_option_replaces_the_working_directory_file(tmp_path: Path) -> None:
    (tmp_path / "repack.toml").write_text("[trust]\nrequire-signature = true\n")
    other = tmp_path / "other.toml"
    other.write_text("[trust]\n")
    assert not config.load(other, environ={}, cwd=tmp_path).policy.require_signature
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "missing.toml", environ={}, cwd=tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("[trust\n", "not valid TOML"),
    ("[trusts]\n", r"unknown section\(s\) 'trusts' \(did you mean 'trust'\?\)"),
    ("trust = 1\n", "trust: must be a table"),
    ("[trust]\nrequire = \"most\"\n", 'trust.require: must be "any" or "all"'),
    ("[trust]\nrequire-signature = \"yes\"\n", "require-signature: must be true or false"),
    ("[trust]\nsignature = true\n",
     r"unknown key\(s\) 'signature' \(did you mean 'require-signature'\?\)"),
    ("[trust.projects.django]\n", "names neither pgp keys nor an attestation publisher"),
    ("[trust.projects.django]\npgp = []\n", "non-empty list of key fingerprints"),
    ("[trust.projects.django]\npgp = [\"DEADBEEF\"]\n", "not a full key fingerprint"),
    ("[trust.projects.django]\npgp = \"" + FPR + "\"\n", "non-empty list"),
    (f"[trust.projects.django]\npgp = [\"{FPR}\"]\nhash = false\n", "cannot be disabled"),
    (f"[trust.projects.django]\npgp = [\"{FPR}\"]\ngpg = 1\n",
     r"unknown key\(s\) 'gpg' \(did you mean 'pgp'\?\)"),
    ("[trust.projects.django]\nattestation = \"django/django\"\n", "must be a table like"),
    ("[trust.projects.django]\nattestation = { repository = \"django\" }\n",
     "trust.projects.django.attestation"),
    (f"[trust.projects.\"bad name!\"]\npgp = [\"{FPR}\"]\n", "is not a valid project name"),
    (f"[trust.projects.Django]\npgp = [\"{FPR}\"]\n[trust.projects.django]\npgp = [\"{FPR}\"]\n",
     "names the same project as another rule"),
])
def test_malformed_policies_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, text)
    assert str(tmp_path / "repack.toml") in str(info.value)
    assert "\n" not in str(info.value)


def test_0x_prefixed_fingerprints_are_accepted(tmp_path: Path) -> None:
    """As `repack trust` and gpg accept them."""
    policy = load(tmp_path, f'[trust.projects.demo]\npgp = ["0x{FPR.lower()}"]\n').policy
    assert policy.projects["demo"].pgp == (FPR,)


@pytest.mark.parametrize(("user", "project", "expected"), [
    ("require-signature = true\ndeny-vulnerable = true\n", "", (True, True)),
    ("require-signature = true\n", "deny-vulnerable = true\n", (True, True)),
    ("require-signature = true\n", "require-signature = false\n", (False, False)),
    ("", "require-signature = true\n", (True, False)),
])
def test_user_trust_keys_merge_with_the_projects(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, user: str,
                                                 project: str,
                                                 expected: tuple[bool, bool]) -> None:
    """A user's require-signature/deny-vulnerable survive a project [trust] table that does
    not set them (the project's keys win); the rules come from the project's file."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config.config_path().parent.mkdir(parents=True)
    config.config_path().write_text(f"[trust]\n{user}\n[trust.projects.other]\npgp = [\"{FPR}\"]\n")
    policy = load(tmp_path, f'[trust]\n{project}\n[trust.projects.demo]\npgp = ["{FPR}"]\n'
                  ).policy
    assert (policy.require_signature, policy.deny_vulnerable) == expected
    assert list(policy.projects) == ["demo"] and policy.source == tmp_path / "repack.toml"
