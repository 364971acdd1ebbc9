"""Signatures never expire silently: `repo verify` warns about a Valid-Until or a key that
runs out soon and exits 13 under --fail-within; `repo refresh` re-signs and changes nothing
else.  Real gpg, dpkg-deb and rpm (tests/rpmkit.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from debian import deb822
from repotools import gnupg_home, make_deb  # type: ignore[import-not-found]

from repack import keys
from repack.cli import cli
from repack.publish import publisher
from repack.publish.verify import Expiry, expiring, near, verify, warning

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_near_picks_what_expires_within_its_window_soonest_first() -> None:
    sig = Expiry(kind="signature", what="apt/dists/bookworm/Release",
                 until=NOW + timedelta(days=2))
    late = Expiry(kind="signature", what="apt/dists/trixie/Release",
                  until=NOW + timedelta(days=6))
    key = Expiry(kind="key", what="keys: key ABC", until=NOW + timedelta(days=20))
    gone = Expiry(kind="key", what="keys: key OLD", until=NOW - timedelta(days=1))
    every = [late, key, sig, gone]
    assert near(every, NOW, signature_days=3, key_days=30) == [sig, key]
    assert near(every, NOW, signature_days=7, key_days=7) == [sig, late]
    assert near(every, NOW, signature_days=0, key_days=0) == []    # expired: verify's job
    line = warning(sig, NOW)
    assert line.startswith("apt/dists/bookworm/Release: Valid-Until 2026-12-03 12:00 UTC")
    assert "in 2 day(s) 0 hour(s)" in line and "repo refresh" in line
    assert "rotate" in warning(key, NOW)


def _publish(tmp_path: Path, home: Path, valid_days: str) -> Path:
    repo = tmp_path / "repo"
    deb = make_deb(tmp_path / "debian-12", "p", "1")
    result = CliRunner().invoke(cli, ["publish", str(deb), "--repo", str(repo),
                                      "--gnupghome", str(home), "--valid-days", valid_days])
    assert result.exit_code == 0, result.output
    return repo


@pytest.mark.process
def test_verify_warns_and_fails_within(tmp_path: Path, home: Path) -> None:
    runner = CliRunner()
    repo = _publish(tmp_path, home, "2")
    ok = runner.invoke(cli, ["repo", "verify", str(repo)])
    assert ok.exit_code == 0, ok.output
    warned = [line for line in ok.output.splitlines() if line.startswith("warning: ")]
    # the suite and -security, soonest first: which one is a second older varies
    assert sorted(w.split(":")[1].strip() for w in warned) == [
        "apt/dists/bookworm-security/Release", "apt/dists/bookworm/Release"]
    quiet = runner.invoke(cli, ["repo", "verify", str(repo), "--warn-within", "1"])
    assert quiet.exit_code == 0 and "warning:" not in quiet.output
    soon = runner.invoke(cli, ["repo", "verify", str(repo), "--fail-within", "3"])
    assert soon.exit_code == 13, soon.output
    assert "expire within 3 day(s)" in soon.output and "Valid-Until" in soon.output
    later = runner.invoke(cli, ["repo", "verify", str(repo), "--fail-within", "1.5"])
    assert later.exit_code == 0, later.output
    (repo / "apt/dists/bookworm/Release.gpg").unlink()         # broken beats expiring
    broken = runner.invoke(cli, ["repo", "verify", str(repo), "--fail-within", "3"])
    assert broken.exit_code == 4


@pytest.mark.process
def test_verify_warns_about_expiring_keys(tmp_path: Path) -> None:
    with gnupg_home() as short:
        keys.generate(short, name="short", email="s@example.org", expire="10d",
                      algorithm="ed25519")
        repo = _publish(tmp_path, short, "7")
        assert verify(repo) == []                        # sound: expiring is not broken
        soon = near(expiring(repo), datetime.now(UTC), signature_days=0, key_days=30)
        assert soon and all(e.kind == "key" for e in soon)
        result = CliRunner().invoke(cli, ["repo", "verify", str(repo)])
        assert result.exit_code == 0 and "rotate" in result.output
        assert CliRunner().invoke(cli, ["repo", "verify", str(repo),
                                        "--fail-within", "11"]).exit_code == 13
        assert [p for p in verify(repo, now=datetime.now(UTC) + timedelta(days=11))
                if "expired or revoked" in p]


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.process
def test_refresh_re_signs_and_changes_nothing_else(tmp_path: Path, rsa_home: Path) -> None:
    from rpmkit import build_rpm  # type: ignore[import-not-found]

    (tmp_path / "el9").mkdir()
    rpm = build_rpm(tmp_path / "build", "python3-demo", "1.0")
    rpm = rpm.rename(tmp_path / "el9" / rpm.name)
    deb = make_deb(tmp_path / "debian-12", "python3-demo", "1.0-1")
    repo = tmp_path / "repo"
    opts = publisher.Options(repo=repo, gnupghome=rsa_home, signer=keys.signer(rsa_home),
                             valid_days=3)
    publisher.publish([rpm, deb], opts)
    before = {e: _digests(repo / e) for e in ("apt", "yum", "keys", "client")}
    release = deb822.Release((repo / "apt/dists/bookworm/Release").read_text())
    publisher.refresh(publisher.Options(repo=repo, gnupghome=rsa_home,
                                        signer=keys.signer(rsa_home), valid_days=9))
    after = {e: _digests(repo / e) for e in ("apt", "yum", "keys", "client")}
    signed = {f"dists/{d}/{n}" for d in ("bookworm", "bookworm-security")
              for n in ("Release", "InRelease", "Release.gpg")}
    changed = {name for name in before["apt"] if before["apt"][name] != after["apt"].get(name)}
    assert changed and changed <= signed                   # only the signed Release files
    assert set(after["apt"]) == set(before["apt"])
    for entry in ("yum", "keys", "client"):                # rpms, repodata, keys: identical
        assert after[entry] == before[entry], entry
    fresh = deb822.Release((repo / "apt/dists/bookworm/Release").read_text())
    assert fresh["SHA256"] == release["SHA256"]            # the same lists
    assert fresh["Valid-Until"] != release["Valid-Until"]
    until = datetime.strptime(fresh["Valid-Until"], "%a, %d %b %Y %H:%M:%S UTC")
    assert until.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(days=8)
    assert verify(repo) == []
