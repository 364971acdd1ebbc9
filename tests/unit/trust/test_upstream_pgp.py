"""Detached OpenPGP signatures of upstream files, with real gpg keys: good (primary and
subkey), another file's, another project's key, unknown, expired, revoked, garbage; and the
policy keyring that `repack trust add-key` maintains."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localindex import LocalIndex  # type: ignore[import-not-found]
from repotools import gnupg_home  # type: ignore[import-not-found]

from repack.errors import ConfigError, TrustError
from repack.http import session
from repack.trust import pgp
from repack.trust.policy import DEFAULT_KEYRING

PAST = "20230101T000000"          # keys "created" then, with gpg's --faked-system-time
PAST_SIGN = "20230601T000000"


def gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--no-tty",
                           "--pinentry-mode", "loopback", "--passphrase", "", *args],
                          input=input, capture_output=True, check=True).stdout


def new_key(home: Path, uid: str, *, usage: str = "sign", expire: str = "1y",
            faked: str | None = None) -> str:
    extra = ["--faked-system-time", faked] if faked else []
    gpg(home, *extra, "--quick-gen-key", uid, "ed25519", usage, expire)
    listing = gpg(home, "--with-colons", "--list-keys", uid).decode()
    return next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))


@dataclass(frozen=True)
class Keys:
    home: Path        # the upstream maintainers' GnuPG home (secret keys)
    a: str            # project "alpha": primary (cert only) ...
    a_sub: str        # ... signs with this subkey
    a2: str           # alpha's second allowed key (sign-capable primary)
    b: str            # allowed for project "beta" only
    unknown: str      # in no keyring
    expired: str      # expired key (made and used in the past)
    old: str          # never expires; used for an expired signature
    revoked: str
    revoked_sig: bytes      # of DATA, made before the revocation
    revoked_before: bytes   # the public key before the revocation

    def sign(self, key: str, data: bytes, *, armor: bool = True, faked: str | None = None,
             extra: tuple[str, ...] = ()) -> bytes:
        opts = ["--faked-system-time", faked] if faked else []
        return gpg(self.home, *opts, *extra, "--local-user", f"{key}!", "--detach-sign",
                   *(["--armor"] if armor else []), "--output", "-", input=data)

    def public(self, *fprs: str, armor: bool = True) -> bytes:
        return gpg(self.home, "--export", *(["--armor"] if armor else []), *fprs)


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    with gnupg_home() as home:
        a = new_key(home, "Alpha <alpha@example.org>", usage="cert")
        gpg(home, "--quick-add-key", a, "ed25519", "sign", "1y")
        listing = gpg(home, "--with-colons", "--list-keys", a).decode().splitlines()
        a_sub = [ln.split(":")[9] for ln in listing if ln.startswith("fpr:")][1]
        revoked = new_key(home, "Revoked <rev@example.org>")
        before = gpg(home, "--export", "--armor", revoked)
        sig = gpg(home, "--local-user", revoked, "--detach-sign", "--armor", "--output", "-",
                  input=DATA)
        rev = (home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
        gpg(home, "--import", input=rev.replace(":-----BEGIN", "-----BEGIN").encode())
        yield Keys(home=home, a=a, a_sub=a_sub, revoked_sig=sig, revoked_before=before,
                   a2=new_key(home, "Alpha Two <alpha2@example.org>"),
                   b=new_key(home, "Beta <beta@example.org>"),
                   unknown=new_key(home, "Stranger <stranger@example.org>"),
                   expired=new_key(home, "Expired <exp@example.org>", faked=PAST),
                   old=new_key(home, "Old <old@example.org>", expire="never", faked=PAST),
                   revoked=revoked)


@pytest.fixture(scope="module")
def keyring(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policy's trusted-keys/ with every key but `unknown`; `revoked` is stored first
    and then updated with its revocation, as a re-run of add-key would do."""
    ring = tmp_path_factory.mktemp("policy") / DEFAULT_KEYRING
    src = tmp_path_factory.mktemp("keyfiles")
    for fpr in (keys.a, keys.a2, keys.b, keys.expired, keys.old):
        (src / fpr).write_bytes(keys.public(fpr))
        pgp.add_key(ring, src / fpr)
    (src / "before").write_bytes(keys.revoked_before)
    (first,) = pgp.add_key(ring, src / "before")
    assert first.status == "added" and not first.revoked
    (src / "revoked").write_bytes(keys.public(keys.revoked))
    (info,) = pgp.add_key(ring, src / "revoked")
    assert info.status == "updated" and info.revoked
    return ring


@pytest.fixture(autouse=True)
def users_gnupg_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The user's GnuPG home and ~ stay empty: repack never uses the user's keyring."""
    user_home = tmp_path / "user-gnupg"
    user_home.mkdir(mode=0o700)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("GNUPGHOME", str(user_home))
    monkeypatch.setenv("HOME", str(home))
    yield
    assert list(user_home.iterdir()) == []
    assert list(home.iterdir()) == []


DATA = b"demo-1.0.tar.gz bytes\n" * 100


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    path = tmp_path / "demo-1.0.tar.gz"
    path.write_bytes(DATA)
    return path


def verify(sdist: Path, signature: bytes, keyring: Path, allowed: list[str],
           project: str = "alpha") -> str:
    return pgp.verify_detached(sdist, signature, allowed=allowed, keyring=keyring,
                               project=project, filename=sdist.name)


def refused(sdist: Path, signature: bytes, keyring: Path, allowed: list[str]) -> TrustError:
    with pytest.raises(TrustError) as info:
        verify(sdist, signature, keyring, allowed)
    err = info.value
    text = str(err)
    assert text.startswith("alpha: ") and "\n" not in text and err.exit_code == 11
    return err


# --- verification -----------------------------------------------------------------------

@pytest.mark.process
def test_good_signature_by_subkey_returns_primary(keys: Keys, keyring: Path,
                                                  sdist: Path) -> None:
    sig = keys.sign(keys.a_sub, DATA)
    assert verify(sdist, sig, keyring, [keys.a, keys.a2]) == f"pgp:{keys.a}"
    # binary signatures too, and fingerprints as people write them
    spaced = " ".join(keys.a[i:i + 4] for i in range(0, 40, 4)).lower()
    assert verify(sdist, keys.sign(keys.a_sub, DATA, armor=False), keyring, [spaced]) \
        == f"pgp:{keys.a}"


@pytest.mark.process
def test_good_signature_by_primary_and_second_key(keys: Keys, keyring: Path,
                                                  sdist: Path) -> None:
    assert verify(sdist, keys.sign(keys.a2, DATA), keyring, [keys.a, keys.a2]) \
        == f"pgp:{keys.a2}"


@pytest.mark.process
def test_signature_of_another_file(keys: Keys, keyring: Path, sdist: Path) -> None:
    sig = keys.sign(keys.a_sub, b"demo-1.1.tar.gz bytes\n")
    err = refused(sdist, sig, keyring, [keys.a])
    assert "BAD" in str(err) and sdist.name in str(err) and "another file" in str(err.hint)


@pytest.mark.process
def test_signature_by_another_projects_key(keys: Keys, keyring: Path, sdist: Path) -> None:
    assert verify(sdist, keys.sign(keys.b, DATA), keyring, [keys.b], project="beta") \
        == f"pgp:{keys.b}"
    err = refused(sdist, keys.sign(keys.b, DATA), keyring, [keys.a, keys.a2])
    assert keys.b in str(err) and "(in trusted-keys/)" in str(err)
    assert "not allow" in str(err) and keys.a in str(err)


@pytest.mark.process
def test_signature_by_unknown_key(keys: Keys, keyring: Path, sdist: Path) -> None:
    err = refused(sdist, keys.sign(keys.unknown, DATA), keyring, [keys.a])
    assert keys.unknown in str(err) and "(unknown)" in str(err)
    assert "[trust.projects.alpha]" in str(err.hint)


@pytest.mark.process
def test_expired_key(keys: Keys, keyring: Path, sdist: Path) -> None:
    sig = keys.sign(keys.expired, DATA, faked=PAST_SIGN)
    err = refused(sdist, sig, keyring, [keys.expired])
    assert "expired" in str(err) and keys.expired in str(err) and "add-key" in str(err.hint)


@pytest.mark.process
def test_expired_signature(keys: Keys, keyring: Path, sdist: Path) -> None:
    sig = keys.sign(keys.old, DATA, faked=PAST_SIGN, extra=("--default-sig-expire", "1d"))
    err = refused(sdist, sig, keyring, [keys.old])
    assert "signature" in str(err) and "has expired" in str(err)


@pytest.mark.process
def test_expired_signing_subkey(keys: Keys, tmp_path: Path, sdist: Path) -> None:
    """A signature by a signing subkey that has since expired is refused as made by an
    expired key, not an unknown one: add-key keeps expired subkeys (export-clean)."""
    primary = new_key(keys.home, "Old Sub <oldsub@example.org>", usage="cert",
                      expire="never", faked=PAST)
    gpg(keys.home, "--faked-system-time", PAST, "--quick-add-key", primary, "ed25519",
        "sign", "30d")
    listing = gpg(keys.home, "--with-colons", "--list-keys", primary).decode().splitlines()
    subkey = [ln.split(":")[9] for ln in listing if ln.startswith("fpr:")][1]
    sig = keys.sign(subkey, DATA, faked="20230110T000000")
    ring = tmp_path / DEFAULT_KEYRING
    (tmp_path / "key.asc").write_bytes(keys.public(primary))
    pgp.add_key(ring, tmp_path / "key.asc")
    err = refused(sdist, sig, ring, [primary])
    assert "which has expired" in str(err) and f"{primary} (subkey {subkey})" in str(err)
    assert "unknown" not in str(err)


@pytest.mark.process
def test_signature_dated_in_the_future(keys: Keys, keyring: Path, sdist: Path) -> None:
    ahead = int(time.time()) + 30 * 86400
    err = refused(sdist, keys.sign(keys.a2, DATA, faked=f"{ahead}!"), keyring, [keys.a2])
    assert "in the future" in str(err) and keys.a2 in str(err)
    soon = int(time.time()) + 60          # a clock a minute fast is tolerated
    assert verify(sdist, keys.sign(keys.a2, DATA, faked=f"{soon}!"), keyring, [keys.a2]) \
        == f"pgp:{keys.a2}"


@pytest.mark.process
def test_revoked_key(keys: Keys, keyring: Path, sdist: Path) -> None:
    # a signature made before the revocation: the revoked key vouches for nothing now
    err = refused(sdist, keys.revoked_sig, keyring, [keys.revoked])
    assert "revoked" in str(err) and keys.revoked in str(err)


@pytest.mark.process
def test_weak_digest(keys: Keys, keyring: Path, sdist: Path) -> None:
    sig = keys.sign(keys.a2, DATA, extra=("--digest-algo", "SHA1"))
    assert "SHA-1" in str(refused(sdist, sig, keyring, [keys.a2]))


@pytest.mark.process
def test_garbage_and_non_detached_signatures(keys: Keys, keyring: Path, sdist: Path) -> None:
    for junk in (b"", b"not a signature\n", b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
                 keys.public(keys.a),
                 # an inline-signed message of other content must not pass as detached
                 gpg(keys.home, "--local-user", f"{keys.a2}!", "--sign", "--armor",
                     "--output", "-", input=b"other\n")):
        err = refused(sdist, junk, keyring, [keys.a, keys.a2])
        assert "no detached OpenPGP signature" in str(err) or "is empty" in str(err)
    with pytest.raises(TrustError, match="too big"):
        verify(sdist, b"x" * (pgp.MAX_SIGNATURE_BYTES + 1), keyring, [keys.a])


@pytest.mark.process
def test_several_signatures_in_one_file(keys: Keys, keyring: Path, sdist: Path) -> None:
    good = keys.sign(keys.a_sub, DATA)
    # a good allowed signature next to one by a key nobody allowed: accepted
    assert verify(sdist, keys.sign(keys.unknown, DATA) + good, keyring, [keys.a]) \
        == f"pgp:{keys.a}"
    # next to a BAD one by an allowed key: refused
    bad = keys.sign(keys.a2, b"something else")
    assert "BAD" in str(refused(sdist, good + bad, keyring, [keys.a, keys.a2]))


@pytest.mark.process
def test_allowed_key_missing_from_keyring(keys: Keys, keyring: Path, sdist: Path) -> None:
    err = refused(sdist, keys.sign(keys.unknown, DATA), keyring, [keys.a, keys.unknown])
    assert keys.unknown in str(err) and "repack trust add-key alpha" in str(err.hint)


@pytest.mark.process
def test_keyring_file_holding_another_key(keys: Keys, tmp_path: Path, sdist: Path) -> None:
    ring = tmp_path / "ring"
    ring.mkdir()
    (ring / f"{keys.a}.asc").write_bytes(keys.public(keys.unknown))
    err = refused(sdist, keys.sign(keys.unknown, DATA), ring, [keys.a])
    assert f"holds key(s) {keys.unknown}" in str(err)


def test_policy_fingerprints_must_be_full() -> None:
    with pytest.raises(ConfigError):
        pgp.normalize_fingerprint("0x1234567890ABCDEF")
    assert pgp.normalize_fingerprint("0x" + "ab" * 20) == "AB" * 20


# --- the keyring --------------------------------------------------------------------------

@pytest.mark.process
def test_add_key_stores_by_fingerprint_idempotently(keys: Keys, tmp_path: Path) -> None:
    ring = tmp_path / "policy" / DEFAULT_KEYRING
    keyfile = tmp_path / "alpha.gpg"
    keyfile.write_bytes(keys.public(keys.a, armor=False))      # binary works too
    (info,) = pgp.add_key(ring, keyfile)
    assert info.fingerprint == keys.a and info.status == "added" and not info.existing
    assert info.uids == ("Alpha <alpha@example.org>",) and info.algorithm == "ed25519"
    assert info.expires is not None and not info.expired and not info.revoked
    stored = ring / f"{keys.a}.asc"
    assert [p.name for p in ring.iterdir()] == [stored.name]
    text = stored.read_bytes()
    assert text.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    packets = gpg(keys.home, "--list-packets", input=text).decode()
    assert packets.count(":public sub key packet:") == 1     # the signing subkey came along
    (again,) = pgp.add_key(ring, keyfile)
    assert again.status == "unchanged" and again.existing and stored.read_bytes() == text
    assert [k.fingerprint for k in pgp.list_keys(ring)] == [keys.a]


@pytest.mark.process
def test_add_key_with_several_keys(keys: Keys, tmp_path: Path) -> None:
    keyfile = tmp_path / "team.asc"
    keyfile.write_bytes(keys.public(keys.a2, keys.b))
    infos = pgp.add_key(tmp_path / "ring", keyfile)
    assert sorted(k.fingerprint for k in infos) == sorted([keys.a2, keys.b])
    assert sorted(p.name for p in (tmp_path / "ring").iterdir()) \
        == sorted(f"{f}.asc" for f in (keys.a2, keys.b))


@pytest.mark.process
def test_add_key_refuses_secret_and_non_keys(keys: Keys, tmp_path: Path) -> None:
    ring = tmp_path / "ring"
    secret = tmp_path / "secret.asc"
    secret.write_bytes(gpg(keys.home, "--export-secret-keys", "--armor", keys.a2))
    with pytest.raises(ConfigError, match="SECRET") as info:
        pgp.add_key(ring, secret)
    assert "--export" in str(info.value.hint)
    for name, junk in (("notakey.asc", b"hello\n"), ("sig.asc", keys.sign(keys.a2, DATA)),
                       ("empty", b"")):
        (tmp_path / name).write_bytes(junk)
        with pytest.raises(ConfigError, match="no OpenPGP public key"):
            pgp.add_key(ring, tmp_path / name)
    with pytest.raises(ConfigError, match="cannot read"):
        pgp.add_key(ring, tmp_path / "missing.asc")
    assert not ring.exists() or list(ring.iterdir()) == []


# --- download -----------------------------------------------------------------------------

@pytest.mark.process
def test_fetch_signature(keys: Keys, local_index: LocalIndex) -> None:
    sig = keys.sign(keys.a_sub, DATA)
    local_index.add("demo", "demo-1.0.tar.gz", DATA, signature=sig)
    local_index.add("demo", "demo-1.1.tar.gz", DATA)
    s = session(retries=0)
    url = local_index.file_url("demo", "demo-1.0.tar.gz")
    assert pgp.fetch_signature(url + ".asc", s, "demo") == sig
    assert pgp.fetch_signature(local_index.file_url("demo", "demo-1.1.tar.gz") + ".asc",
                               s, "demo") is None
