"""Keys in repack's own GnuPG home, with real gpg: generation, passphrases, rotation
(two signatures, either key verifies), import, export; and debsign-style signing of
.dsc/.buildinfo/.changes checked with gpgv."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from debian import deb822
from repotools import gnupg_home, new_key, source_upload  # type: ignore[import-not-found]

from repack import keys
from repack.deb.sign import sign_files, unsigned_text
from repack.errors import ConfigError
from repack.gpg import Signer

ROOT = Path(__file__).resolve().parents[2]


def gpgv(keyring: bytes, tmp: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    ring = tmp / f"ring-{hashlib.sha256(keyring).hexdigest()[:8]}.gpg"
    ring.write_bytes(keyring)
    return subprocess.run(["gpgv", "--keyring", str(ring), *map(str, files)],
                          capture_output=True, text=True, check=False)


def no_cache(home: Path) -> None:
    """Make gpg-agent forget passphrases at once, so a wrong one is really refused."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\n")


@pytest.mark.process
def test_generate_lists_and_exports(tmp_path: Path) -> None:
    with gnupg_home() as home:
        fpr = new_key(home)
        (info,) = keys.list_keys(home)
        assert info.fingerprint == fpr and info.algorithm == "ed25519"
        assert info.secret and info.published and "repo@example.org" in info.uid
        assert info.expires is not None
        assert timedelta(days=700) < info.expires - datetime.now(UTC) < timedelta(days=740)
        armored = keys.export(home)
        assert armored.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        packets = subprocess.run(["gpg", "--list-packets"], input=keys.export(home, armor=False),
                                 capture_output=True, check=True).stdout
        assert b":public key packet:" in packets and b"secret" not in packets
        assert keys.resolve(home, fpr[-16:].lower()) == fpr
        with pytest.raises(ConfigError):
            keys.resolve(home, "0123456789ABCDEF")


@pytest.mark.process
def test_rsa4096_is_the_default(tmp_path: Path) -> None:
    """RSA-4096 (as RHEL's and Fedora's own keys): every target's clients verify it."""
    with gnupg_home() as home:
        keys.generate(home, name="r", email="r@example.org", expire="1y")
        (info,) = keys.list_keys(home)
        assert info.algorithm == "rsa4096"


@pytest.mark.process
def test_passphrase_is_needed_and_never_in_argv(tmp_path: Path) -> None:
    with gnupg_home() as home:
        no_cache(home)
        fpr = new_key(home, passphrase="correct horse")
        data = tmp_path / "data"
        data.write_text("x\n")
        Signer(gnupghome=home, fingerprint=fpr, passphrase="correct horse").clearsign(
            data, tmp_path / "good.asc")
        assert gpgv(keys.export(home, armor=False), tmp_path, tmp_path / "good.asc") \
            .returncode == 0
        # the CLI takes it from a file or REPACK_PASSPHRASE, and refuses a wrong one
        pw = tmp_path / "pw"
        pw.write_text("correct horse\n")
        info = tmp_path / "x.buildinfo"
        for extra, env, code in ((["--passphrase-file", str(pw)], {}, 0),
                                 ([], {"REPACK_PASSPHRASE": "correct horse"}, 0),
                                 ([], {"REPACK_PASSPHRASE": "wrong horse"}, 10)):
            info.write_text("Format: 1.0\nSource: x\n")
            proc = subprocess.run([sys.executable, "-m", "repack", "sign", str(info),
                                   "--gnupghome", str(home), *extra], cwd=ROOT,
                                  capture_output=True, text=True,
                                  env={**os.environ, **env}, check=False)
            assert proc.returncode == code, proc.stderr
            assert "horse" not in proc.stderr + proc.stdout
            signed = gpgv(keys.export(home, armor=False), tmp_path, info).returncode == 0
            assert signed == (code == 0)


@pytest.mark.process
def test_rotate_signs_with_both_and_retire(tmp_path: Path) -> None:
    with gnupg_home() as home:
        old = new_key(home)
        new = keys.rotate(home, name="repack test", email="repo2@example.org",
                          algorithm="ed25519")
        assert keys.published(home) == [old, new]
        signer = keys.signer(home)
        assert (signer.fingerprint, signer.also) == (new, (old,))
        data = tmp_path / "Release"
        data.write_text("Origin: x\n")
        signer.clearsign(data, tmp_path / "InRelease")
        # a client holding either key alone accepts the metadata
        for fpr in (old, new):
            proc = gpgv(keys.export(home, [fpr], armor=False), tmp_path, tmp_path / "InRelease")
            assert f"using EDDSA key {fpr}" in proc.stderr and "Good signature" in proc.stderr
        both = subprocess.run(["gpg", "--list-packets"], input=keys.export(home, armor=False),
                              capture_output=True, check=True).stdout
        assert both.count(b":public key packet:") == 2
        keys.retire(home, old)
        assert keys.published(home) == [new] and keys.signer(home).also == ()
        with pytest.raises(ConfigError, match="last published key"):
            keys.retire(home, new)


@pytest.mark.process
def test_import_secret_key_becomes_published(tmp_path: Path) -> None:
    with gnupg_home() as a, gnupg_home() as b:
        fpr = new_key(a)
        secret = subprocess.run(["gpg", "--homedir", str(a), "--batch", "--armor",
                                 "--export-secret-keys", fpr], capture_output=True,
                                check=True).stdout
        assert keys.import_key(b, secret) == [fpr]
        assert keys.published(b) == [fpr] and keys.signer(b).fingerprint == fpr


@pytest.mark.process
def test_debsign_style_signing(tmp_path: Path) -> None:
    with gnupg_home() as home:
        new_key(home)
        changes = source_upload(tmp_path)
        signed = sign_files([changes], keys.signer(home))
        names = sorted(p.name for p in signed)
        assert names == ["hello_1.0.dsc", "hello_1.0_amd64.buildinfo",
                         "hello_1.0_source.changes"]
        ring = keys.export(home, armor=False)
        for f in signed:
            assert gpgv(ring, tmp_path, f).returncode == 0, f
        # the .changes now carries the signed files' sizes and checksums
        fields = deb822.Changes(unsigned_text(changes).decode())
        for item in fields["Checksums-Sha256"]:
            data = (tmp_path / item["name"]).read_bytes()
            assert item["sha256"] == hashlib.sha256(data).hexdigest()
            assert item["size"] == str(len(data))
        for item in fields["Files"]:
            data = (tmp_path / item["name"]).read_bytes()
            assert item["md5sum"] == hashlib.md5(data).hexdigest()
        # dpkg-source accepts the signed .dsc, and signing again is stable
        subprocess.run(["dpkg-source", "-x", "hello_1.0.dsc", "x"], cwd=tmp_path, check=True,
                       capture_output=True)
        before = unsigned_text(tmp_path / "hello_1.0.dsc")
        sign_files([tmp_path / "hello_1.0.dsc"], keys.signer(home))
        assert unsigned_text(tmp_path / "hello_1.0.dsc") == before
        assert gpgv(ring, tmp_path, changes).returncode == 0


@pytest.mark.process
def test_key_cli_generate_list_export_rotate_retire() -> None:
    from click.testing import CliRunner

    from repack.cli import cli

    runner = CliRunner()
    with gnupg_home() as home:
        def run(*args: str) -> str:
            result = runner.invoke(cli, [*args, "--gnupghome", str(home)])
            assert result.exit_code == 0, result.output
            return result.output

        old = run("key", "generate", "--email", "a@example.org", "--algorithm",
                  "ed25519", "--no-passphrase").strip()
        assert f"{old} ed25519" in run("key", "list")
        assert run("key", "export").startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        rotated = run("key", "rotate", "--email", "b@example.org", "--algorithm", "ed25519",
                      "--no-passphrase")
        new = rotated.splitlines()[0].strip()
        # without keyring packages, the new key reaches clients only if they fetch it
        assert "clients do not get the new key by themselves" in rotated
        listing = run("key", "list")
        assert listing.count("secret,published") == 2, listing
        run("key", "retire", old)
        assert f"{old} ed25519  expires" in run("key", "list")
        assert keys.published(home) == [new]
        bad = runner.invoke(cli, ["key", "retire", new, "--gnupghome", str(home)])
        assert bad.exit_code == 2 and "last published key" in bad.output


@pytest.mark.process
def test_a_new_key_needs_a_passphrase_or_no_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret key is created unprotected by default; --no-passphrase says so explicitly."""
    from click.testing import CliRunner

    from repack.cli import cli

    monkeypatch.delenv("REPACK_PASSPHRASE", raising=False)
    runner = CliRunner()
    with gnupg_home() as home:
        for verb in ("generate", "rotate"):
            result = runner.invoke(cli, ["key", verb, "--email", "a@example.org",
                                         "--algorithm", "ed25519", "--gnupghome", str(home)])
            assert result.exit_code == 2, result.output
            assert "refusing to create a secret key without a passphrase" in result.output
            assert "--no-passphrase" in result.output
        assert keys.list_keys(home) == []
        monkeypatch.setenv("REPACK_PASSPHRASE", "secret")
        both = runner.invoke(cli, ["key", "generate", "--email", "a@example.org",
                                   "--no-passphrase", "--gnupghome", str(home)])
        assert both.exit_code == 2 and "contradict" in both.output
        made = runner.invoke(cli, ["key", "generate", "--email", "a@example.org",
                                   "--algorithm", "ed25519", "--gnupghome", str(home)])
        assert made.exit_code == 0, made.output


def test_accepts_reads_minimum_sizes_and_curves() -> None:
    assert keys.accepts(("rsa>=2048",), "rsa4096") and keys.accepts(("rsa>=2048",), "rsa2048")
    assert not keys.accepts(("rsa>=2048",), "rsa1024")
    assert not keys.accepts(("rsa>=2048",), "ed25519")
    assert keys.accepts(("rsa4096", "ed25519"), "ed25519")
    assert not keys.accepts(("rsa4096",), "rsa3072")
    assert not keys.accepts(("rsa>=2048",), "dsa2048")


@pytest.mark.process
def test_an_ed25519_key_is_refused_for_el9_and_left_out_beside_an_rsa_key(
        tmp_path: Path) -> None:
    """el9's rpm 4.16 cannot verify EdDSA: exit 10 naming the target and the algorithm;
    during a rotation the RSA key alone signs for el9, both sign for Debian."""
    from repack import targets
    from repack.errors import SignError

    with gnupg_home() as home:
        ed = new_key(home)
        with pytest.raises(SignError) as e:
            keys.for_target(keys.signer(home), targets.load("el9"))
        assert e.value.exit_code == 10
        assert "el9" in str(e.value) and "ed25519" in str(e.value) and "rsa>=2048" in str(e.value)
        rsa = keys.rotate(home, name="repack test", email="rsa@example.org",
                          algorithm="rsa4096")
        el9 = keys.for_target(keys.signer(home), targets.load("el9"))
        assert (el9.fingerprint, el9.also) == (rsa, ())
        deb = keys.for_target(keys.signer(home), targets.load("debian-12"))
        assert (deb.fingerprint, deb.also) == (rsa, (ed,))


def test_an_empty_passphrase_is_none(tmp_path: Path) -> None:
    """python-gnupg announces a passphrase on stdin for "" and writes nothing: gpg would
    take the data's first line for it."""
    from repack.gpg import read_passphrase

    assert read_passphrase(environ={"REPACK_PASSPHRASE": ""}) is None
    assert read_passphrase(environ={"REPACK_PASSPHRASE": "s3cret"}) == "s3cret"
    assert read_passphrase(environ={}) is None
    for text, want in (("", None), ("\n", None), ("\nsecond", None), ("pw\nrest", "pw")):
        f = tmp_path / "pass"
        f.write_text(text)
        assert read_passphrase(f, environ={"REPACK_PASSPHRASE": "ignored"}) == want, text


@pytest.mark.process
def test_signatures_are_checked_before_use(tmp_path: Path) -> None:
    """A Signer given an empty passphrase still signs what it was given (it is none), and
    a signature by a key the check does not know is refused before it replaces anything."""
    from repack.errors import SignError

    with gnupg_home() as home:
        fpr = new_key(home)
        data = tmp_path / "Release"
        data.write_text("Origin: repack\nLabel: repack\n")
        Signer(gnupghome=home, fingerprint=fpr, passphrase="").clearsign(
            data, tmp_path / "InRelease")
        assert "\nOrigin: repack\n" in (tmp_path / "InRelease").read_text()
        other = keys.rotate(home, name="o", email="o@example.org", algorithm="ed25519")
        signer = Signer(gnupghome=home, fingerprint=fpr)
        both = Signer(gnupghome=home, fingerprint=fpr, also=(other,))
        with pytest.raises(SignError, match="does not verify"):
            both.verify(data, tmp_path / "InRelease", clearsigned=True)   # one is missing
        (tmp_path / "Changed").write_text("Origin: someone else\n")
        with pytest.raises(SignError, match="does not carry the text"):
            signer.verify(tmp_path / "Changed", tmp_path / "InRelease", clearsigned=True)
