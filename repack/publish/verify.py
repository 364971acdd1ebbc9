"""`repack repo verify`: check a repository the way a client does, report every problem.

The signatures are checked with gpgv against a keyring made only of REPO/keys (or the
keyring a client was given, --keyring), the hashes of every file Release names and of
every package the indexes name, and the expiry.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from repack.publish.families import PUBLISHERS
from repack.run import run


def _check_keys(keyring: Path, now: datetime) -> list[str]:
    """An expired or revoked signing key makes apt and dnf refuse everything it signed."""
    if not keyring.is_file() or not keyring.stat().st_size:
        return []
    proc = run(["gpg", "--batch", "--show-keys", "--with-colons", keyring], check=False)
    problems = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        f = line.split(":")
        if f[0] != "pub":
            continue
        expires = datetime.fromtimestamp(int(f[6]), UTC) if f[6] else None
        if f[1] in ("e", "r") or (expires is not None and expires <= now):
            problems.append(f"keys: key {f[4]} is expired or revoked")
        elif expires is not None and expires - now < timedelta(days=30):
            problems.append(f"keys: key {f[4]} expires on {expires.date()}; rotate it now")
    return problems


def verify(root: Path, keyring: Path | None = None, now: datetime | None = None) -> list[str]:
    """Every problem found, one line each; [] for a sound repository."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
        published = keyring
        if published is None:
            published = Path(tmp) / "keyring.gpg"
            keys = sorted((root / "keys").glob("*.gpg")) if (root / "keys").is_dir() else []
            if not keys:
                problems.append("keys/: no .gpg keyring to check the signatures with")
            published.write_bytes(b"".join(k.read_bytes() for k in keys))
        problems += _check_keys(published, now)
    for publisher in PUBLISHERS.values():
        problems += publisher.verify(root, keyring, now)
    if not (root / "apt" / "dists").is_dir() and not (root / "yum").is_dir():
        problems.append(f"{root}: not a repack repository (no apt/ or yum/)")
    return problems
