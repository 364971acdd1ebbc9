"""Detached OpenPGP signatures of upstream files, checked against the keys a policy allows.

The policy's keyring is a directory beside the policy file, ``trusted-keys/``, with one
armored public key file per primary key, ``<FINGERPRINT>.asc`` (export-minimal):
reviewable in git, no GnuPG state committed.  Each check runs gpg in a throwaway GnuPG home
that holds only the keys allowed for *that* project, so a key allowed for another project,
or one the user happens to trust in ~/.gnupg, can never vouch for this one.  repack's own
signing home (repack.gpg / repack.keys) is never touched either.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urldefrag

import gnupg
import requests

from repack import log
from repack.errors import ConfigError, ToolMissing, TrustError
from repack.http import get_small
from repack.model import Release
from repack.run import clean_env, tool_hint
from repack.trust.provenance import clean_text

__all__ = [
    "MAX_KEYFILE_BYTES",
    "MAX_SIGNATURE_BYTES",
    "TrustedKey",
    "add_key",
    "fetch_signature",
    "list_keys",
    "normalize_fingerprint",
    "signature_url",
    "verify_detached",
]

#: A detached signature is a few hundred bytes; anything near this is not one.
MAX_SIGNATURE_BYTES = 256 * 1024
#: Keys with many third-party certifications get big; export-minimal shrinks what we store.
MAX_KEYFILE_BYTES = 16 * 1024 * 1024
_FPR_RE = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
# gpg's hash algorithm ids (RFC 4880 9.4) too weak for a signature made after
# 2013-02-01 (Sequoia's cut-off for SHA-1 data signatures): MD5, SHA-1, RIPEMD-160.
_WEAK_HASHES = {"1": "MD5", "2": "SHA-1", "3": "RIPEMD-160"}
_WEAK_HASH_CUTOFF = int(datetime(2013, 2, 1, tzinfo=UTC).timestamp())
#: Seconds a signature may be dated ahead of this machine's clock.
_CLOCK_SKEW = 3600
# gpg options for every call: never start gpg-agent or dirmngr, never fetch a key from the
# network.  Verification decides trust itself (by fingerprint), not by gpg's web of trust.
_GPG_OPTIONS = ["--no-autostart", "--no-auto-key-retrieve", "--no-auto-key-locate",
                "--no-permission-warning"]
_PUBKEY_ALGOS = {"1": "rsa", "2": "rsa", "3": "rsa", "16": "elgamal", "17": "dsa",
                 "18": "ecdh", "19": "ecdsa", "22": "eddsa"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedKey:
    """One primary key of a policy's keyring.  (Not repack.keys.KeyInfo: that one describes
    repack's own signing keys.)"""

    fingerprint: str
    uids: tuple[str, ...]
    algorithm: str               # "ed25519", "rsa4096", ...
    created: datetime
    expires: datetime | None
    revoked: bool
    status: Literal["added", "updated", "unchanged"]   # what add_key did to its file

    @property
    def existing(self) -> bool:
        """The key was in the keyring before (status "updated" or "unchanged")."""
        return self.status != "added"

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= datetime.now(UTC)


def normalize_fingerprint(value: str) -> str:
    """A full primary-key fingerprint, upper case without spaces; short or long key ids are
    refused (they can collide: anyone can make a key with a chosen 64-bit id)."""
    fpr = value.upper().replace(" ", "").removeprefix("0X")
    if not _FPR_RE.fullmatch(fpr):
        raise ConfigError(f"{value!r} is not an OpenPGP fingerprint (40 hex digits)",
                          hint="`repack trust add-key PROJECT KEYFILE` prints the fingerprint")
    return fpr


def signature_url(release: Release) -> str:
    """The detached signature the index announces, else ``<file URL>.asc``."""
    if release.signature_url:
        return release.signature_url
    return urldefrag(release.url).url + ".asc"


# ---------------------------------------------------------------------------------------
# The throwaway GnuPG home


@contextlib.contextmanager
def _scratch_home() -> Iterator[gnupg.GPG]:
    """A fresh GnuPG home (mode 0700, short path: gpg's socket paths have a length limit),
    removed afterwards.  gpg gets repack's clean environment, so GNUPGHOME and the user's
    agent are never seen."""
    home = tempfile.mkdtemp(prefix="rkp-")   # mkdtemp makes it 0700
    try:
        try:
            g = gnupg.GPG(gnupghome=home, options=list(_GPG_OPTIONS), env=clean_env())
        except (OSError, ValueError) as e:
            if shutil.which("gpg") is None:
                raise ToolMissing("gpg", hint=tool_hint("gpg")) from e
            raise TrustError(f"cannot run gpg: {' '.join(str(e).split())[:200]}") from e
        yield g
    finally:
        shutil.rmtree(home, ignore_errors=True)


_NOISE = ("keybox '", "trustdb", "Total number processed", "WARNING: no command")


def _stderr_tail(result: object) -> str:
    """gpg's last human-readable complaints (not its status lines), for one-line errors."""
    lines = [ln for ln in str(getattr(result, "stderr", "") or "").splitlines()
             if ln.startswith("gpg: ") and not any(n in ln for n in _NOISE)]
    return clean_text("; ".join(lines[-3:]), limit=300)


# ---------------------------------------------------------------------------------------
# The keyring: trusted-keys/<FPR>.asc


def _keyfile(keyring: Path, fingerprint: str) -> Path:
    return keyring / f"{normalize_fingerprint(fingerprint)}.asc"


def _algorithm(key: dict[str, object]) -> str:
    algo = _PUBKEY_ALGOS.get(str(key.get("algo", "")), f"algo{key.get('algo', '?')}")
    curve = str(key.get("curve") or "")
    if curve:
        return curve if algo == "eddsa" else f"{algo}-{curve}"
    return f"{algo}{key.get('length', '')}"


def _timestamp(value: object) -> datetime | None:
    text = str(value or "")
    if not text.isdigit():
        return None
    return datetime.fromtimestamp(int(text), UTC)


def _describe(g: gnupg.GPG, fingerprint: str,
              status: Literal["added", "updated", "unchanged"]) -> TrustedKey:
    (key,) = [k for k in g.list_keys(keys=[fingerprint]) if k["fingerprint"] == fingerprint]
    # user ids are the key owner's text: never let one steer the terminal showing it
    uids = tuple(clean_text(u, limit=200) for u in key.get("uids", []))
    return TrustedKey(fingerprint=fingerprint, uids=uids,
                      algorithm=_algorithm(key),
                      created=_timestamp(key.get("date")) or datetime.fromtimestamp(0, UTC),
                      expires=_timestamp(key.get("expires")),
                      revoked=str(key.get("trust", "")) == "r", status=status)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _read_keyfile(keyfile: Path) -> bytes:
    try:
        size = keyfile.stat().st_size
        if size > MAX_KEYFILE_BYTES:
            raise ConfigError(f"{keyfile} is {size} bytes; a public key file is far smaller")
        return keyfile.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read key file {keyfile}: {e.strerror}") from e


def add_key(keyring: Path, keyfile: Path) -> list[TrustedKey]:
    """Store each public primary key of `keyfile` (armored or binary) as
    ``keyring/<FPR>.asc``, merged with what is there (new subkeys, uids, a new expiry or a
    revocation), minimal and armored.  Refuses a file holding a secret key or no key.
    The keys are not yet allowed for anything: the policy names fingerprints per project."""
    data = _read_keyfile(keyfile)
    with _scratch_home() as g:
        scan = g.scan_keys_mem(data)
        scanned = list(scan)
        if any(k.get("type") in ("sec", "ssb") for k in scanned):
            raise ConfigError(f"{keyfile} holds a SECRET key; give repack the public key only",
                              hint="export it with `gpg --export --armor FINGERPRINT`, and "
                                   "keep the secret key out of the repository")
        fprs = list(dict.fromkeys(str(k["fingerprint"]) for k in scanned
                                  if k.get("type") == "pub"))
        if not fprs:
            why = _stderr_tail(scan)
            raise ConfigError(f"{keyfile} holds no OpenPGP public key"
                              + (f" ({why})" if why else ""))
        for fpr in fprs:
            normalize_fingerprint(fpr)
            existing = keyring / f"{fpr}.asc"
            if existing.is_file():
                g.import_keys(existing.read_bytes())
        result = g.import_keys(data)
        imported = {str(f) for f in result.fingerprints}
        missing = [f for f in fprs if f not in imported
                   and not g.list_keys(keys=[f])]
        if missing:
            raise ConfigError(f"gpg could not import key {', '.join(missing)} from {keyfile}: "
                              f"{_stderr_tail(result) or 'no usable self-signature'}")
        keyring.mkdir(parents=True, exist_ok=True)
        # export-clean, not export-minimal: minimal also drops expired and revoked subkeys,
        # and a signature by one would then be reported as made by an unknown key.
        g.options = [*(g.options or []), "--export-options", "export-clean"]
        out = []
        for fpr in fprs:
            armored = g.export_keys(fpr, armor=True)
            blob = armored.encode() if isinstance(armored, str) else bytes(armored)
            if not blob.strip():
                raise ConfigError(f"gpg exported nothing for key {fpr} from {keyfile}")
            path = keyring / f"{fpr}.asc"
            old = path.read_bytes() if path.is_file() else None
            status: Literal["added", "updated", "unchanged"] = (
                "added" if old is None else "unchanged" if old == blob else "updated")
            if status != "unchanged":
                _write_atomically(path, blob)
            out.append(_describe(g, fpr, status))
        return out


def list_keys(keyring: Path) -> list[TrustedKey]:
    """The keys stored in `keyring` (status "unchanged"), by fingerprint."""
    files = sorted(p for p in keyring.glob("*.asc") if _FPR_RE.fullmatch(p.stem))
    if not files:
        return []
    with _scratch_home() as g:
        for p in files:
            g.import_keys(p.read_bytes())
        return [_describe(g, p.stem, "unchanged") for p in files if g.list_keys(keys=[p.stem])]


def _owner_in_keyring(keyring: Path, key: str) -> str | None:
    """The primary fingerprint of the file in `keyring` holding (sub)key `key` (a key id or
    fingerprint), for error messages only: the key is then known, but not allowed here."""
    files = sorted(p for p in keyring.glob("*.asc") if _FPR_RE.fullmatch(p.stem))
    if not files or not key:
        return None
    key = key.upper()
    with _scratch_home() as g:
        for p in files:
            with contextlib.suppress(OSError):
                for k in g.scan_keys_mem(p.read_bytes()):
                    fprs = [str(k["fingerprint"]), *(str(s[2] or "") for s in
                                                     k.get("subkeys", []) if len(s) > 2)]
                    ids = [str(k.get("keyid", "")), *(str(s[0]) for s in k.get("subkeys", []))]
                    if any(f and f.endswith(key) for f in fprs) or key in ids:
                        return str(k["fingerprint"])
    return None


# ---------------------------------------------------------------------------------------
# Verification


_Outcome = Literal["good", "bad", "expired-sig", "expired-key", "revoked-key", "no-key", "error"]
# Status keywords that end a signature's check against a key we hold, in gpg's precedence.
_FAILURES: tuple[tuple[str, _Outcome], ...] = (
    ("BADSIG", "bad"), ("REVKEYSIG", "revoked-key"), ("EXPKEYSIG", "expired-key"),
    ("EXPSIG", "expired-sig"))


@dataclass(frozen=True, slots=True)
class _Sig:
    """One signature of a detached signature file, as gpg's status lines describe it."""

    outcome: _Outcome
    key: str                     # the signing (sub)key: fingerprint if known, else key id
    primary: str = ""            # the primary key's fingerprint (good signatures)
    hash_algo: str = ""
    created: int = 0
    code: str = ""               # gpg's error code (ERRSIG)


def _signatures(status_text: str) -> tuple[list[_Sig], set[str]]:
    """Per-signature outcomes (gpg starts each with NEWSIG) and every status keyword seen."""
    blocks: list[dict[str, list[str]]] = []
    seen: set[str] = set()
    for line in status_text.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        keyword, _, value = line[9:].partition(" ")
        seen.add(keyword)
        if keyword == "NEWSIG":
            blocks.append({})
        elif blocks:
            blocks[-1].setdefault(keyword, value.split())
    sigs = []
    for b in blocks:
        valid = b.get("VALIDSIG", [])
        signer = valid[0] if valid else ""
        primary = valid[9] if len(valid) > 9 else signer
        for keyword, outcome in _FAILURES:
            if keyword in b:
                sigs.append(_Sig(outcome, signer or (b[keyword] or [""])[0], primary))
                break
        else:
            if "ERRSIG" in b:
                err = b["ERRSIG"] + [""] * 7
                key = err[6] if err[6] not in ("", "-") else err[0]
                sigs.append(_Sig("no-key" if err[5] == "9" else "error", key, code=err[5]))
            elif "GOODSIG" in b and valid:
                created = valid[2] if len(valid) > 2 and valid[2].isdigit() else "0"
                sigs.append(_Sig("good", signer, primary, valid[7] if len(valid) > 7 else "",
                                 int(created)))
            else:
                sigs.append(_Sig("error", signer))
    return sigs, seen


def _primaries(g: gnupg.GPG) -> dict[str, str]:
    """Long key id of every (sub)key in the home -> its primary fingerprint."""
    out: dict[str, str] = {}
    for k in g.list_keys():
        out[str(k["keyid"])] = str(k["fingerprint"])
        for sub in k.get("subkeys", []):
            out[str(sub[0])] = str(k["fingerprint"])
    return out


def _import_allowed(g: gnupg.GPG, allowed: Sequence[str], keyring: Path, project: str) -> None:
    for fpr in allowed:
        path = keyring / f"{fpr}.asc"
        if not path.is_file():
            raise TrustError(f"the trust policy allows key {fpr} for {project}, but {path} "
                             "does not exist", project=project,
                             hint=f"run `repack trust add-key {project} KEYFILE` with "
                                  "upstream's public key")
        result = g.import_keys(path.read_bytes())
        got = sorted({str(f) for f in result.fingerprints})
        if got != [fpr]:
            raise TrustError(f"keyring file {path} holds key(s) {', '.join(got) or 'none'}, "
                             f"not {fpr}", project=project,
                             hint="re-create it with `repack trust add-key`")


def verify_detached(data: Path, signature: bytes, *, allowed: Sequence[str], keyring: Path,
                    project: str, filename: str) -> str:
    """Check that `signature` is a good detached OpenPGP signature of `data` by one of the
    `allowed` primary keys (or a subkey of one) and return ``"pgp:<PRIMARY FINGERPRINT>"``.

    Raises TrustError for a bad signature (another file's, or altered data), a key the
    policy does not allow for this project, an expired or revoked key, an expired signature,
    a weak digest, or bytes that are no detached signature.  Extra signatures by keys nobody
    allowed do not spoil a good one; a bad, expired or revoked one by an allowed key does.
    """
    wanted = list(dict.fromkeys(normalize_fingerprint(f) for f in allowed))
    if not wanted:
        raise ConfigError(f"the trust policy asks for OpenPGP signatures of {project} but "
                          "names no key", project=project)
    where = f"the OpenPGP signature of {filename}"
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise TrustError(f"{where} is {len(signature)} bytes, too big for a detached "
                         "signature", project=project)
    if not signature.strip():
        raise TrustError(f"{where} is empty", project=project)
    with _scratch_home() as g:
        _import_allowed(g, wanted, keyring, project)
        result = g.verify_file(io.BytesIO(signature), data_filename=str(data.resolve()),
                               extra_args=["--trust-model", "always"])
        sigs, seen = _signatures(str(result.stderr or ""))
        primaries = _primaries(g)
    log.debug(f"{project}: gpg verify {filename}: {[(s.outcome, s.key) for s in sigs]}")
    tail = _stderr_tail(result)
    if not sigs or "PLAINTEXT" in seen:
        raise TrustError(f"the signature file of {filename} is no detached OpenPGP signature"
                         + (f" ({tail})" if tail else ""), project=project)
    for s in sigs:
        _refuse_failed(s, primaries, filename, project)
    good = [s for s in sigs if s.outcome == "good" and s.primary in wanted]
    for s in good:
        _refuse_weak_or_future(s, where, project)
    if good:
        return f"pgp:{good[0].primary}"
    unknown = [s for s in sigs if s.outcome == "no-key"]
    if unknown:
        raise _not_allowed(unknown[0].key, keyring, wanted, filename, project)
    codes = ", ".join(sorted({s.code for s in sigs if s.code})) or "none"
    raise TrustError(f"{where} could not be checked (gpg error code {codes}"
                     + (f"; {tail})" if tail else ")"), project=project)


def _refuse_failed(s: _Sig, primaries: dict[str, str], filename: str, project: str) -> None:
    """TrustError for a signature that is bad, by a revoked or expired key, or expired."""
    where = f"the OpenPGP signature of {filename}"
    who = s.primary or primaries.get(s.key[-16:].upper(), s.key)
    if s.primary and s.key and s.key.upper() != s.primary:
        who = f"{who} (subkey {s.key})"
    if s.outcome == "bad":
        raise TrustError(f"BAD OpenPGP signature of {filename} by key {who}: the file is "
                         "not the one that key signed", project=project,
                         hint="the file or its signature was altered, or the signature "
                              "belongs to another file")
    if s.outcome == "revoked-key":
        raise TrustError(f"{where} was made by key {who}, which has been "
                         "revoked", project=project,
                         hint="a revoked key may be compromised: ask upstream which key "
                              "replaced it and verify that one out of band")
    if s.outcome == "expired-key":
        raise TrustError(f"{where} was made by key {who}, which has "
                         "expired", project=project,
                         hint="if upstream extended the key, run `repack trust add-key "
                              f"{project} KEYFILE` with the refreshed key")
    if s.outcome == "expired-sig":
        raise TrustError(f"{where} by key {who} has expired",
                         project=project)


def _refuse_weak_or_future(s: _Sig, where: str, project: str) -> None:
    """TrustError for a good signature with a broken digest, or dated in the future."""
    weak = _WEAK_HASHES.get(s.hash_algo)
    if weak and s.created >= _WEAK_HASH_CUTOFF:
        raise TrustError(f"{where} by key {s.primary} uses the broken {weak} digest",
                         project=project, hint="ask upstream to sign with SHA-256 or better")
    if s.created > time.time() + _CLOCK_SKEW:
        made = datetime.fromtimestamp(s.created, UTC)
        raise TrustError(f"{where} by key {s.primary} is dated {made:%Y-%m-%d %H:%M} UTC, "
                         "in the future", project=project,
                         hint="a signature cannot have been made later than now: it was "
                              "made with a wrong clock, or this machine's clock is wrong")


def _not_allowed(key: str, keyring: Path, wanted: Sequence[str], filename: str,
                 project: str) -> TrustError:
    """The error for a signature by a key the policy does not allow for the project,
    saying whether the keyring holds it (for another project) or nobody does."""
    owner = _owner_in_keyring(keyring, key)
    what = ("unknown" if owner is None else f"in {keyring.name}/" if owner.endswith(key)
            else f"a subkey of {owner} in {keyring.name}/")
    return TrustError(f"{filename} is signed by key {key} ({what}), which the trust policy "
                      f"does not allow for {project} (allowed: {', '.join(wanted)})",
                      project=project,
                      hint="if upstream really signs with this key, check it out of band "
                           f"and add its fingerprint to [trust.projects.{project}] pgp")


# ---------------------------------------------------------------------------------------
# Download


def fetch_signature(url: str, session: requests.Session, project: str) -> bytes | None:
    """The detached signature at `url`, or None when the server says it does not exist
    (404/410).  Any other HTTP answer (500, 403...) or an oversized one raises TrustError:
    the check the policy asks for cannot be done.  A network failure raises ResolveError."""
    return get_small(url, session, project=project, what="the signature",
                     limit=MAX_SIGNATURE_BYTES, missing_ok=True, too_large=TrustError,
                     refused=TrustError)
