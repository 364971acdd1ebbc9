"""Signing build artifacts, dispatched on the file type.

Debian source uploads are signed the way debsign does it: the .dsc and .buildinfo are
clearsigned, the .changes is updated for their new sizes and checksums (python-debian's
Changes) and clearsigned last.  .deb files carry no signature of their own: the signed
repository metadata covers them.  .rpm files go to repack.rpm.sign.sign_rpm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from debian import deb822

from repack import keys, log
from repack import targets as target_files
from repack.errors import ConfigError
from repack.files import write_file
from repack.gpg import Signer
from repack.rpm.sign import sign_rpm

HASHES = (("Files", "md5sum", hashlib.md5), ("Checksums-Sha1", "sha1", hashlib.sha1),
          ("Checksums-Sha256", "sha256", hashlib.sha256))


def unsigned_text(path: Path) -> bytes:
    """The payload of a (maybe already) clearsigned deb822 file, so re-signing is stable."""
    data = path.read_bytes()
    if not data.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----"):
        return data
    _, body, _ = deb822.Deb822.split_gpg_and_payload(iter(data.splitlines()))
    return b"".join((line[2:] if line.startswith(b"- ") else line) + b"\n" for line in body)


def clearsign(path: Path, signer: Signer) -> None:
    """Replace path by its clearsigned form (dropping an older signature first)."""
    plain = path.with_name(f".{path.name}.unsigned")
    write_file(plain, unsigned_text(path))
    try:
        signer.clearsign(plain, path)
    finally:
        plain.unlink(missing_ok=True)


def sign_changes(changes: Path, signer: Signer) -> list[Path]:
    """debsign: sign the .dsc/.buildinfo it lists, update its checksums, sign it."""
    fields = deb822.Changes(unsigned_text(changes).decode())
    signed = []
    for item in fields.get("Files", []):
        part = changes.parent / item["name"]
        if part.suffix in (".dsc", ".buildinfo") and part.is_file():
            clearsign(part, signer)
            signed.append(part)
    for field, key, algo in HASHES:
        for item in fields.get(field, []):
            part = changes.parent / item["name"]
            if part in signed:
                data = part.read_bytes()
                item[key] = algo(data).hexdigest()
                item["size"] = str(len(data))
    write_file(changes, fields.dump().encode())
    clearsign(changes, signer)
    return [*signed, changes]


def _changes_listing(part: Path) -> list[Path]:
    out = []
    for changes in part.parent.glob("*.changes"):
        fields = deb822.Changes(unsigned_text(changes).decode())
        if any(i["name"] == part.name for i in fields.get("Files", [])):
            out.append(changes)
    return out


def sign_files(paths: Sequence[Path], signer: Signer, *, target: str | None = None
               ) -> list[Path]:
    """Sign each file by its type; returns every file that was (re)signed.

    Each file is signed only with the keys its target's clients verify (the target is
    `target`, else told by the file: repack.targets.of_file); SignError when none is."""
    done: list[Path] = []
    changes: list[Path] = []
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    if target is not None:
        target_files.load(target)          # an unknown --target is a usage error
    signers = {p: _for_file(p, signer, target) for p in paths}
    for path in paths:
        file_signer = signers[path]
        if path.suffix == ".changes":
            changes.append(path)
        elif path.suffix in (".dsc", ".buildinfo"):
            listing = _changes_listing(path)
            if listing:
                changes += listing
            else:
                clearsign(path, file_signer)
                done.append(path)
        elif path.suffix == ".rpm":
            sign_rpm(path, file_signer)
            done.append(path)
        elif path.suffix == ".deb":
            log.debug(f"{path.name}: .deb files are covered by the signed repository metadata")
        else:
            raise ConfigError(f"{path.name}: do not know how to sign this kind of file")
    for c in dict.fromkeys(changes):
        done += sign_changes(c, signers.get(c) or _for_file(c, signer, target))
    return list(dict.fromkeys(done))


def _for_file(path: Path, signer: Signer, target: str | None) -> Signer:
    tid = target or target_files.of_file(path)
    if tid is None:
        log.debug(f"{path.name}: target unknown; signing with every key")
        return signer
    return keys.for_target(signer, target_files.load(tid))