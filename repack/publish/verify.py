"""`repack repo verify`: check a repository the way a client does, report every problem.

The signatures are checked with gpgv against a keyring made only of REPO/keys (or the
keyring a client was given, --keyring), the hashes of every file Release names and of
every package the indexes name, and the expiry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath

from debian import deb822

from repack.digest import sha256_file
from repack.publish import optional_hook
from repack.run import run


def _escapes(root: Path, base: Path, rel: str) -> bool:
    """Whether a path the metadata names leaves the repository: absolute, with a `..`
    component, or resolving (symlinks followed) outside REPO.  A client given such a path
    would fetch whatever the web server has there; repack never writes one."""
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts or "\\" in rel:
        return True
    return not (base / rel).resolve().is_relative_to(root.resolve())


def _gpgv(keyring: Path, *files: Path) -> tuple[bool, bytes]:
    """(good, signed payload); --output - gives the payload of a clearsigned file."""
    args: list[str | Path] = ["gpgv", "--keyring", keyring]
    if len(files) == 1:
        args += ["--output", "-"]
    proc = run([*args, *files], check=False)
    return proc.returncode == 0, proc.stdout


def verify_apt(root: Path, keyring: Path, now: datetime) -> list[str]:
    problems: list[str] = []
    apt = root / "apt"
    dists = apt / "dists"
    if not dists.is_dir():
        return problems
    for dist in sorted(p for p in dists.iterdir() if p.is_dir()):
        where = f"apt/dists/{dist.name}"
        inrelease, release = dist / "InRelease", dist / "Release"
        if not inrelease.is_file():
            problems.append(f"{where}/InRelease: missing")
            continue
        good, payload = _gpgv(keyring, inrelease)
        if not good:
            problems.append(f"{where}/InRelease: no good signature by a repository key")
        if not release.is_file() or not (dist / "Release.gpg").is_file():
            problems.append(f"{where}/Release or Release.gpg: missing")
        else:
            if not _gpgv(keyring, dist / "Release.gpg", release)[0]:
                problems.append(f"{where}/Release.gpg: no good signature of Release")
            if good and payload.strip() != release.read_bytes().strip():
                problems.append(f"{where}: InRelease and Release differ")
        fields = deb822.Release(payload.decode() if good else inrelease.read_text())
        problems += _check_dates(where, fields, now)
        for item in fields.get("SHA256", []):
            path = dist / item["name"]
            if _escapes(root, dist, item["name"]):
                problems.append(f"{where}: Release names {item['name']!r}, a path outside "
                                "the distribution")
            elif not path.is_file():
                problems.append(f"{where}/{item['name']}: missing")
            elif (str(path.stat().st_size), sha256_file(path)) != (item["size"], item["sha256"]):
                problems.append(f"{where}/{item['name']}: size or SHA256 differs from Release")
            elif fields.get("Acquire-By-Hash") == "yes" and not (
                    path.parent / "by-hash" / "SHA256" / item["sha256"]).is_file():
                problems.append(f"{where}/{item['name']}: by-hash copy missing")
            elif path.suffix in ("", ".gz", ".xz") and path.name in ("Packages", "Sources"):
                problems += _check_index(root, apt, path, f"{where}/{item['name']}")
    return problems


def _check_dates(where: str, fields: deb822.Release, now: datetime) -> list[str]:
    if "Valid-Until" not in fields:
        return [f"{where}/Release: no Valid-Until (a frozen mirror would go unnoticed)"]
    until = parsedate_to_datetime(fields["Valid-Until"])
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until <= now:
        return [f"{where}/Release: expired (Valid-Until {fields['Valid-Until']})"]
    return []


def _check_index(root: Path, apt: Path, path: Path, where: str) -> list[str]:
    problems = []
    text = path.read_text()
    if path.name == "Packages":
        for pkg in deb822.Packages.iter_paragraphs(text, use_apt_pkg=False):
            f = apt / pkg["Filename"]
            what = f"{where}: {pkg['Package']} {pkg['Version']}"
            if _escapes(root, apt, pkg["Filename"]):
                problems.append(f"{what}: Filename {pkg['Filename']!r} leaves the repository")
            elif not f.is_file():
                problems.append(f"{what}: {pkg['Filename']} missing")
            elif (str(f.stat().st_size), sha256_file(f)) != (pkg["Size"], pkg["SHA256"]):
                problems.append(f"{what}: {pkg['Filename']} size or SHA256 differs")
    else:
        for src in deb822.Sources.iter_paragraphs(text, use_apt_pkg=False):
            for item in src.get("Checksums-Sha256", []):
                f = apt / src["Directory"] / item["name"]
                rel = f"{src['Directory']}/{item['name']}"
                if _escapes(root, apt, rel) or "/" in item["name"]:
                    problems.append(f"{where}: {src['Package']} {src['Version']}: {rel!r} "
                                    "leaves the repository")
                elif not f.is_file() or sha256_file(f) != item["sha256"]:
                    problems.append(f"{where}: {src['Package']} {src['Version']}: "
                                    f"{item['name']} missing or SHA256 differs")
    return problems


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
    given = keyring
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
        if keyring is None:
            keyring = Path(tmp) / "keyring.gpg"
            keys = sorted((root / "keys").glob("*.gpg")) if (root / "keys").is_dir() else []
            if not keys:
                problems.append("keys/: no .gpg keyring to check the signatures with")
            keyring.write_bytes(b"".join(k.read_bytes() for k in keys))
        problems += _check_keys(keyring, now)
        problems += verify_apt(root, keyring, now)
    verify_yum = optional_hook("repack.publish.yum", "verify_yum")
    if callable(verify_yum):
        problems += _yum(verify_yum, root, given)
    if not (root / "apt" / "dists").is_dir() and not (root / "yum").is_dir():
        problems.append(f"{root}: not a repack repository (no apt/ or yum/)")
    return problems


def _yum(func: Callable[..., object], root: Path, keyring: Path | None) -> list[str]:
    result = func(root, keyring) if keyring is not None else func(root)
    return [str(p) for p in result] if isinstance(result, list) else []
