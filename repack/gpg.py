"""The only code that drives GnuPG (through python-gnupg).

repack keeps its own GnuPG home (default: $XDG_DATA_HOME/repack/gnupg, or --gnupghome),
never the user's keyring.  Passphrases come from gpg-agent, REPACK_PASSPHRASE or a file,
and reach gpg on a file descriptor (python-gnupg's --passphrase-fd), never argv, a log or
the environment of gpg (and so of the gpg-agent it starts).  Every signature is checked
with gpgv against the signing keys before anyone can see it.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import gnupg
import platformdirs

from repack.errors import SignError
from repack.run import run

PASSPHRASE_ENV = "REPACK_PASSPHRASE"


def default_gnupghome() -> Path:
    return Path(platformdirs.user_data_dir("repack")) / "gnupg"


def read_passphrase(passphrase_file: Path | None = None,
                    environ: dict[str, str] | None = None) -> str | None:
    """REPACK_PASSPHRASE, else the first line of passphrase_file, else None (agent/no pass).

    An empty passphrase is no passphrase: python-gnupg would announce one on stdin and
    then write nothing, and gpg would take the first line of the data for it."""
    env = os.environ if environ is None else environ
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else "not text"
            raise SignError(f"cannot read passphrase file {passphrase_file}: {why}") from e
        return lines[0] if lines and lines[0] else None
    return env.get(PASSPHRASE_ENV) or None


def gpg_env() -> dict[str, str]:
    """repack's environment without the passphrase: gpg starts gpg-agent, which keeps
    the environment it was started with for as long as it runs."""
    return {k: v for k, v in os.environ.items() if k != PASSPHRASE_ENV}


def gpg(gnupghome: Path) -> gnupg.GPG:
    gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(gnupghome, 0o700)
    return _gpg(gnupghome, tuple(sorted(gpg_env().items())))


@functools.lru_cache(maxsize=8)
def _gpg(gnupghome: Path, env: tuple[tuple[str, str], ...]) -> gnupg.GPG:
    """One GPG object per home and environment: making one runs `gpg --list-config` (a
    publish made twelve); each call on it starts its own gpg, so threads may share it."""
    return gnupg.GPG(gnupghome=str(gnupghome), env=dict(env))


def algorithm_name(algo: str, length: str, curve: str) -> str:
    """A key's algorithm as GnuPG names it: rsa4096, dsa2048, ed25519, nistp256."""
    if algo in ("1", "2", "3"):
        return f"rsa{length}"
    if algo == "17":
        return f"dsa{length}"
    return curve or f"algorithm-{algo}"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyState:
    """What a signature by one key needs to know about it."""

    fingerprint: str
    algorithm: str
    expires: datetime | None
    revoked: bool
    secret: bool


def _keyring_stamp(gnupghome: Path) -> tuple[int, ...]:
    """Changes whenever gpg writes the keyring (a key added, expiry changed, a secret key
    added or deleted)."""
    stamp: list[int] = []
    for name in ("pubring.kbx", "pubring.gpg", "trustdb.gpg", "private-keys-v1.d"):
        try:
            st = (gnupghome / name).stat()
            stamp += [st.st_ino, st.st_mtime_ns, st.st_size]
        except OSError:
            stamp += [0, 0, 0]
    return tuple(stamp)


def listing(gnupghome: Path) -> tuple[tuple[dict[str, object], ...], frozenset[str]]:
    """(every public key as python-gnupg lists it, the fingerprints whose secret is here):
    two gpg runs per keyring state, however often a publish asks (the signer, each target's
    keys, the keys each signature needs)."""
    return _listing(gnupghome, _keyring_stamp(gnupghome))


@functools.lru_cache(maxsize=8)
def _listing(gnupghome: Path, stamp: tuple[int, ...]
             ) -> tuple[tuple[dict[str, object], ...], frozenset[str]]:
    g = gpg(gnupghome)
    secret = frozenset(str(k["fingerprint"]) for k in g.list_keys(secret=True))
    return tuple(dict(k) for k in g.list_keys()), secret


def key_states(gnupghome: Path, fingerprints: Sequence[str]) -> dict[str, KeyState]:
    """Algorithm, expiry, revocation and secret of each key (from `listing`)."""
    keys, secret = listing(gnupghome)
    wanted = set(fingerprints)
    out = {}
    for k in keys:
        fpr = str(k["fingerprint"])
        if fpr not in wanted:
            continue
        expires = k.get("expires")
        out[fpr] = KeyState(
            fingerprint=fpr,
            algorithm=algorithm_name(str(k["algo"]), str(k.get("length", "")),
                                     str(k.get("curve", ""))),
            expires=datetime.fromtimestamp(int(str(expires)), UTC) if expires else None,
            revoked=k.get("trust") == "r", secret=fpr in secret)
    return out


def public_keys(gnupghome: Path, fingerprints: Sequence[str], *, armor: bool) -> bytes:
    """The public keys exported (b"" when gpg has none of them): one gpg run per keyring
    state and set of keys (a publish exports them for rpm -K, gpgv, keys/ and client/)."""
    return _public_keys(gnupghome, tuple(fingerprints), armor, _keyring_stamp(gnupghome))


@functools.lru_cache(maxsize=8)
def _public_keys(gnupghome: Path, fingerprints: tuple[str, ...], armor: bool,
                 stamp: tuple[int, ...]) -> bytes:
    key = gpg(gnupghome).export_keys(list(fingerprints), armor=armor)
    return key.encode() if isinstance(key, str) else bytes(key)


def _cleartext(text: bytes) -> list[bytes]:
    """Text as a cleartext signature covers it: trailing blanks of each line do not count."""
    lines = [line.rstrip(b" \t\r") for line in text.split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """Signs files with one key of repack's GnuPG home."""

    gnupghome: Path
    fingerprint: str
    passphrase: str | None = None
    also: tuple[str, ...] = ()   # more keys signing beside it (a key rotation in progress)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return (self.fingerprint, *self.also)

    def only(self, fingerprints: Sequence[str]) -> Signer:
        """The same signer with only those of its keys (the first stays first)."""
        keep = [f for f in self.fingerprints if f in fingerprints]
        if not keep:
            raise SignError("none of the signing keys is left")
        return replace(self, fingerprint=keep[0], also=tuple(keep[1:]))

    def check_usable(self) -> None:
        """Name an expired, revoked or secret-less key, instead of gpg's 'sign failed'."""
        states = key_states(self.gnupghome, self.fingerprints)
        now = datetime.now(UTC)
        for fpr in self.fingerprints:
            state = states.get(fpr)
            if state is None or not state.secret:
                raise SignError(f"no secret key {fpr} in {self.gnupghome}",
                                hint="`repack key list` shows the keys at hand")
            if state.revoked:
                raise SignError(f"key {fpr} is revoked",
                                hint="rotate to a new key: repack key rotate --email ...")
            if state.expires is not None and state.expires <= now:
                raise SignError(f"key {fpr} expired on {state.expires.date()}",
                                hint=f"extend it (gpg --homedir {self.gnupghome} "
                                     f"--quick-set-expire {fpr} 2y) or rotate to a new key "
                                     "(repack key rotate --email ...)")

    def _sign(self, data: Path, out: Path, *, clearsigned: bool, **kwargs: object) -> None:
        self.check_usable()
        g = gpg(self.gnupghome)
        tmp = out.with_name(f".{out.name}.tmp")
        with data.open("rb") as fh:
            result = g.sign_file(fh, keyid=self.fingerprint, passphrase=self.passphrase or None,
                                 output=str(tmp),
                                 extra_args=["--digest-algo", "SHA512", *self._users()],
                                 **kwargs)
        if not result or not tmp.is_file():
            tmp.unlink(missing_ok=True)
            raise SignError(f"signing {data.name} with {self.fingerprint} failed: "
                            f"{result.status or 'no signature'}",
                            hint="check the key and its passphrase (REPACK_PASSPHRASE or "
                                 "--passphrase-file)")
        try:
            self.verify(data, tmp, clearsigned=clearsigned)
        except SignError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, out)

    def _users(self) -> list[str]:
        if not self.also:
            return []
        return [a for f in self.fingerprints for a in ("--local-user", f)]

    def verify(self, data: Path, signature: Path, *, clearsigned: bool) -> None:
        """gpgv, against only the signing keys: every key signed, and (clearsigned) the
        signed text is exactly data.  SignError otherwise."""
        with tempfile.TemporaryDirectory(prefix="repack-gpgv-") as tmp:
            ring = Path(tmp) / "keys.gpg"
            ring.write_bytes(self.export_public(armor=False, all_keys=True))
            argv: list[str | Path] = ["gpgv", "--homedir", tmp, "--status-fd", "1",
                                      "--keyring", ring]
            payload = Path(tmp) / "payload"
            if clearsigned:
                argv += ["--output", payload, signature]
            else:
                argv += [signature, data]
            proc = run(argv, check=False)
            status = [line.split() for line in proc.stdout.decode(errors="replace").splitlines()
                      if line.startswith("[GNUPG:] VALIDSIG ")]
            signed = {f for words in status for f in (words[2], words[-1])}
            missing = [f for f in self.fingerprints if f not in signed]
            if proc.returncode != 0 or missing:
                raise SignError(f"the signature of {data.name} does not verify with key "
                                f"{', '.join(missing) or self.fingerprint}; nothing was "
                                "published",
                                hint="check the key and its passphrase (REPACK_PASSPHRASE or "
                                     "--passphrase-file)")
            if clearsigned and _cleartext(payload.read_bytes()) != _cleartext(data.read_bytes()):
                raise SignError(f"the clearsigned {data.name} does not carry the text that "
                                "was to be signed; nothing was published",
                                hint="an empty passphrase is read as none; give the real one")

    def detach_sign(self, data: Path, out: Path, *, armor: bool = True) -> None:
        """A detached signature (Release.gpg, repomd.xml.asc)."""
        self._sign(data, out, clearsigned=False, detach=True, binary=not armor)

    def clearsign(self, data: Path, out: Path) -> None:
        """An inline clear-text signature (InRelease, .dsc, .changes)."""
        self._sign(data, out, clearsigned=True, clearsign=True)

    def export_public(self, *, armor: bool = True, all_keys: bool = False) -> bytes:
        """The public key (all_keys: of every signing key); never a secret."""
        wanted = self.fingerprints if all_keys else (self.fingerprint,)
        data = _public_keys(self.gnupghome, wanted, armor, _keyring_stamp(self.gnupghome))
        if not data:
            raise SignError(f"no public key {self.fingerprint} in {self.gnupghome}")
        return bytes(data)
