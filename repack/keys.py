"""The repository signing keys in repack's own GnuPG home.

Which keys a repository publishes is a small state file beside the keyring
(``repack-keys.json``: fingerprints, oldest first).  Metadata is signed by every published
key whose secret is at hand, so a rotation works without a flag day: `rotate` adds a new
key, clients install a keyring holding both, and `retire` drops the old one later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from repack.errors import ConfigError, SignError
from repack.gpg import Signer, algorithm_name, gpg, key_states, listing, public_keys
from repack.model import Target

Algorithm = Literal["ed25519", "rsa4096"]
#: RSA-4096, as RHEL's and Fedora's own keys: every client of every target verifies it
#: (EL9's rpm 4.16 does not verify ed25519; see repack/targets/el9.toml).
DEFAULT_ALGORITHM: Algorithm = "rsa4096"
STATE_FILE = "repack-keys.json"
DEFAULT_EXPIRY = "2y"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyInfo:
    fingerprint: str
    uid: str
    algorithm: str
    created: datetime
    expires: datetime | None
    secret: bool
    published: bool


def published(gnupghome: Path) -> list[str]:
    """Fingerprints the repository carries in REPO/keys, oldest first."""
    path = gnupghome / STATE_FILE
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return [str(f) for f in data.get("published", [])]


def _save(gnupghome: Path, fingerprints: Sequence[str]) -> None:
    path = gnupghome / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"published": list(dict.fromkeys(fingerprints))}, indent=2) + "\n")
    os.replace(tmp, path)


def generate(gnupghome: Path, *, name: str, email: str, algorithm: Algorithm = DEFAULT_ALGORITHM,
             expire: str = DEFAULT_EXPIRY, passphrase: str | None = None) -> str:
    """A new signing-only primary key; published at once if it is the first one."""
    if any(c in name + email for c in "\n\r<>:") or "@" not in email:
        raise ConfigError(f"key user id {name!r} <{email!r}> must be a plain name and an e-mail")
    params: dict[str, object] = {"name_real": name, "name_email": email,
                                 "expire_date": expire, "key_usage": "sign"}
    if algorithm == "ed25519":
        params.update(key_type="EDDSA", key_curve="ed25519")
    else:
        params.update(key_type="RSA", key_length=4096)
    g = gpg(gnupghome)
    if passphrase:
        params["passphrase"] = passphrase   # goes to gpg on stdin, never argv
    else:
        params["no_protection"] = True
    result = g.gen_key(g.gen_key_input(**params))
    fingerprint = str(result.fingerprint or "")
    if not fingerprint:
        raise SignError(f"gpg could not generate a {algorithm} key: {result.stderr.strip()[-200:]}")
    if not published(gnupghome):
        _save(gnupghome, [fingerprint])
    return fingerprint


def rotate(gnupghome: Path, **kwargs: object) -> str:
    """A new key published beside the current ones; retire the old one once clients moved."""
    if not published(gnupghome):
        raise ConfigError(f"no published key in {gnupghome} to rotate; use `repack key generate`")
    fingerprint = generate(gnupghome, **kwargs)  # type: ignore[arg-type]
    _save(gnupghome, [*published(gnupghome), fingerprint])
    return fingerprint


def retire(gnupghome: Path, fingerprint: str) -> None:
    """Stop publishing and signing with a key (it stays in the keyring)."""
    fpr = resolve(gnupghome, fingerprint)
    keep = [f for f in published(gnupghome) if f != fpr]
    if not keep:
        raise ConfigError(f"{fpr} is the last published key; rotate before retiring it")
    _save(gnupghome, keep)


def import_key(gnupghome: Path, data: bytes, *, passphrase: str | None = None) -> list[str]:
    """Import armored or binary keys; imported secret keys become published."""
    result = gpg(gnupghome).import_keys(data, passphrase=passphrase)
    fingerprints = list(dict.fromkeys(str(f) for f in result.fingerprints))
    if not fingerprints:
        raise SignError(f"no key could be imported: {result.stderr.strip()[-200:]}")
    secret = {k.fingerprint for k in list_keys(gnupghome) if k.secret}
    new = [f for f in fingerprints if f in secret]
    if new:
        _save(gnupghome, [*published(gnupghome), *new])
    return fingerprints


def list_keys(gnupghome: Path) -> list[KeyInfo]:
    keys, secret = listing(gnupghome)
    pub = set(published(gnupghome))
    out = []
    for k in keys:
        fpr = str(k["fingerprint"])
        algo = algorithm_name(str(k["algo"]), str(k.get("length", "")), str(k.get("curve", "")))
        expires = k.get("expires")
        uids = k.get("uids")
        out.append(KeyInfo(
            fingerprint=fpr, uid=str(uids[0]) if isinstance(uids, list) and uids else "",
            algorithm=str(algo), created=datetime.fromtimestamp(int(str(k["date"])), UTC),
            expires=datetime.fromtimestamp(int(str(expires)), UTC) if expires else None,
            secret=fpr in secret, published=fpr in pub))
    return out


def resolve(gnupghome: Path, key: str) -> str:
    """A full fingerprint from a fingerprint or its (long) suffix."""
    wanted = key.upper().replace(" ", "").removeprefix("0X")
    matches = [k.fingerprint for k in list_keys(gnupghome) if k.fingerprint.endswith(wanted)]
    if len(matches) != 1 or len(wanted) < 16:
        raise ConfigError(f"key {key!r} does not name exactly one key in {gnupghome}",
                          hint="use the fingerprint shown by `repack key list`")
    return matches[0]


def export(gnupghome: Path, fingerprints: Sequence[str] | None = None, *,
           armor: bool = True) -> bytes:
    """Public keys only (default: the published ones): what a repository and clients get."""
    fprs = list(fingerprints) if fingerprints is not None else published(gnupghome)
    if not fprs:
        raise ConfigError(f"no published key in {gnupghome}",
                          hint="create one with `repack key generate`")
    raw = public_keys(gnupghome, fprs, armor=armor)
    if not raw:
        raise SignError(f"no public key {', '.join(fprs)} in {gnupghome}")
    return raw


def signer(gnupghome: Path, key: str | None = None, passphrase: str | None = None) -> Signer:
    """The Signer for repository metadata: the given key, else every published key with
    its secret here (the newest first)."""
    if key:
        return Signer(gnupghome=gnupghome, fingerprint=resolve(gnupghome, key),
                      passphrase=passphrase)
    usable = {k.fingerprint for k in list_keys(gnupghome) if k.secret}
    fprs = [f for f in reversed(published(gnupghome)) if f in usable]
    if not fprs:
        raise ConfigError(f"no published signing key with its secret in {gnupghome}",
                          hint="create one with `repack key generate` or `repack key import`")
    return Signer(gnupghome=gnupghome, fingerprint=fprs[0], also=tuple(fprs[1:]),
                  passphrase=passphrase)


def signing_uid(gnupghome: Path, key: str | None = None) -> tuple[str, str] | None:
    """(fingerprint, primary user id) of the key `signer` would sign with first; None when
    there is none (no home, no published key with its secret, `key` names none): a build
    that does not sign still names its maintainer after the key its repository uses."""
    if not (gnupghome / STATE_FILE).is_file() and not key:
        return None          # nothing published here (and gpg would create the home)
    if not gnupghome.is_dir():
        return None
    try:
        fingerprint = signer(gnupghome, key).fingerprint
    except (ConfigError, SignError):
        return None
    uids = {k.fingerprint: k.uid for k in list_keys(gnupghome)}
    return fingerprint, uids.get(fingerprint, "")


def accepts(allowed: Sequence[str], algorithm: str) -> bool:
    """Whether a key algorithm ("rsa4096", "ed25519") is one a target's clients verify
    (Target.signature_algorithms: "rsa>=2048", "rsa4096", "ed25519", ...)."""
    for spec in allowed:
        family, at_least, bits = spec.partition(">=")
        if at_least:
            size = algorithm.removeprefix(family)
            if algorithm.startswith(family) and size.isdigit() and int(size) >= int(bits):
                return True
        elif spec == algorithm:
            return True
    return False


def for_target(signer: Signer, target: Target) -> Signer:
    """The signer with only the keys the target's clients can verify (its first such key
    signs packages); SignError (exit 10) naming the target and the algorithm when none is.

    EdDSA signatures on el9 rpms would make every `gpgcheck=1` install fail on RHEL 9."""
    states = key_states(signer.gnupghome, signer.fingerprints)
    algos = {f: states[f].algorithm if f in states else "unknown" for f in signer.fingerprints}
    good = [f for f, a in algos.items() if accepts(target.signature_algorithms, a)]
    if not good:
        used = ", ".join(f"{a} (key {f})" for f, a in algos.items())
        raise SignError(f"{target.id}: its clients cannot verify signatures by {used}; "
                        f"they accept {', '.join(target.signature_algorithms)}",
                        hint="add an RSA key and publish with it: repack key rotate "
                             "--algorithm rsa4096 --email ... (then `repack key retire` "
                             "the old one)")
    return signer.only(good)
