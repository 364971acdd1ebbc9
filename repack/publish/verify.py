"""`repack repo verify`: check a repository the way a client does, report every problem.

The signatures are checked with gpgv against a keyring made only of REPO/keys (or the
keyring a client was given, --keyring), the hashes of every file Release names and of
every package the indexes name, and the expiry.  What has not expired yet but soon will (a
Release's Valid-Until, a published key or signing subkey) is listed apart, by `expiring`:
`repo verify` warns about it, and fails with its own exit code under --fail-within.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from debian import deb822

from repack.publish.families import PUBLISHERS
from repack.run import run

SIGNATURE_WARN_DAYS = 3     # default window for a Valid-Until (refreshed daily: 7 days ahead)
KEY_WARN_DAYS = 30          # default window for a key: time to rotate (`repack key rotate`)


@dataclass(frozen=True, slots=True, kw_only=True)
class Expiry:
    """Something whose end makes clients refuse the repository: a signature's Valid-Until
    ("signature") or a key's expiry ("key")."""

    kind: str
    what: str
    until: datetime


def _keyring(root: Path, keyring: Path | None, tmp: Path) -> Path | None:
    """The keyring to check with: --keyring, else REPO/keys/*.gpg together (None: none)."""
    if keyring is not None:
        return keyring
    found = sorted((root / "keys").glob("*.gpg")) if (root / "keys").is_dir() else []
    if not found:
        return None
    path = tmp / "keyring.gpg"
    path.write_bytes(b"".join(k.read_bytes() for k in found))
    return path


def _key_lines(keyring: Path) -> list[tuple[str, str, str, datetime | None]]:
    """(record, validity, key id, expiry) of each primary key and signing subkey."""
    if not keyring.is_file() or not keyring.stat().st_size:
        return []
    proc = run(["gpg", "--batch", "--show-keys", "--with-colons", keyring], check=False)
    out = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        f = line.split(":")
        if f[0] == "pub" or (f[0] == "sub" and len(f) > 11 and "s" in f[11]):
            expires = datetime.fromtimestamp(int(f[6]), UTC) if f[6].isdigit() else None
            out.append((f[0], f[1], f[4], expires))
    return out


def key_expiries(keyring: Path) -> list[Expiry]:
    return [Expiry(kind="key", what=f"keys: {'key' if rec == 'pub' else 'signing subkey'} "
                                    f"{keyid}", until=until)
            for rec, _, keyid, until in _key_lines(keyring) if until is not None]


def release_expiries(root: Path) -> list[Expiry]:
    """The Valid-Until of each apt distribution's Release (yum metadata carries none)."""
    dists = root / "apt" / "dists"
    out = []
    for release in sorted(dists.glob("*/Release")) if dists.is_dir() else []:
        fields = deb822.Release(release.read_text(errors="replace"))
        if "Valid-Until" not in fields:
            continue
        try:
            until = parsedate_to_datetime(fields["Valid-Until"])
        except (TypeError, ValueError):
            continue                  # verify() reports the Release itself
        until = until if until.tzinfo is not None else until.replace(tzinfo=UTC)
        out.append(Expiry(kind="signature", what=f"apt/dists/{release.parent.name}/Release",
                          until=until))
    return out


def expiring(root: Path, keyring: Path | None = None) -> list[Expiry]:
    """Every expiry of the repository's signatures and keys (expired ones too)."""
    with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
        ring = _keyring(root, keyring, Path(tmp))
        keys = key_expiries(ring) if ring is not None else []
    return release_expiries(root) + keys


def near(expiries: list[Expiry], now: datetime, *, signature_days: float,
         key_days: float) -> list[Expiry]:
    """The ones not expired yet that will within the window of their kind, soonest first."""
    window = {"signature": timedelta(days=signature_days), "key": timedelta(days=key_days)}
    return sorted((e for e in expiries if now < e.until <= now + window[e.kind]),
                  key=lambda e: e.until)


def warning(e: Expiry, now: datetime) -> str:
    left = e.until - now
    hint = ("run `repack repo refresh`" if e.kind == "signature"
            else "rotate it (`repack key rotate`) or extend it")
    return (f"{e.what}: {'Valid-Until' if e.kind == 'signature' else 'expires'} "
            f"{e.until.strftime('%Y-%m-%d %H:%M UTC')}, in {left.days} day(s) "
            f"{left.seconds // 3600} hour(s); {hint}")


def _check_keys(keyring: Path, now: datetime) -> list[str]:
    """An expired or revoked signing key makes apt and dnf refuse everything it signed
    (one that soon will is a warning: `expiring`)."""
    return [f"keys: key {keyid} is expired or revoked"
            for rec, validity, keyid, until in _key_lines(keyring)
            if rec == "pub" and (validity in ("e", "r") or (until is not None and until <= now))]


def verify(root: Path, keyring: Path | None = None, now: datetime | None = None) -> list[str]:
    """Every problem found, one line each; [] for a sound repository."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
        published = _keyring(root, keyring, Path(tmp))
        if published is None:
            problems.append("keys/: no .gpg keyring to check the signatures with")
        else:
            problems += _check_keys(published, now)
    for publisher in PUBLISHERS.values():
        problems += publisher.verify(root, keyring, now)
    if not (root / "apt" / "dists").is_dir() and not (root / "yum").is_dir():
        problems.append(f"{root}: not a repack repository (no apt/ or yum/)")
    return problems
