"""Sign .rpm and .src.rpm files with rpmsign, and check them as rpm itself would (rpm -K).

rpmsign runs gpg on its own, through the `%__gpg_sign_cmd` macro.  We define that macro so
that gpg signs with one key of repack's GnuPG home and reads the passphrase from a pipe the
child inherits (`--passphrase-fd`): the passphrase never reaches argv, the environment, a
file or a log.  Signatures are V4 header signatures with SHA-256 digests.  Which key
algorithms a target's rpm verifies is target data (Target.signature_algorithms): EL9's
rpm 4.16 verifies RSA but not EdDSA (ed25519) signatures, Fedora's rpm-sequoia both; the
caller picks the key (repack.keys.for_target).  Every signed file is checked with rpm -K
against the signing key before it is used.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path

from repack import run
from repack.errors import CommandFailed, SignError
from repack.gpg import Signer, gpg

_MAX_PASSPHRASE = 4096  # far below a pipe's buffer, so writing it can never block


def _macro_quote(value: str) -> str:
    """Quote one word for rpm's macro expansion and popt's argv splitting."""
    return shlex.quote(value).replace("%", "%%")


def _sign_cmd(gpg_bin: str, fingerprint: str, passphrase_fd: int | None) -> str:
    words = [gpg_bin, "gpg", "--batch", "--no-tty", "--no-verbose", "--no-armor",
             "--no-secmem-warning", "--pinentry-mode", "loopback", "--digest-algo", "sha256"]
    if passphrase_fd is not None:
        words += ["--passphrase-fd", str(passphrase_fd)]
    words += ["-u", fingerprint]
    return (" ".join(_macro_quote(w) for w in words)
            + " -sbo %{__signature_filename} -- %{__plaintext_filename}")


def _passphrase_pipe(passphrase: str) -> int:
    """The read end of a pipe already holding the passphrase (the write end is closed)."""
    data = passphrase.encode() + b"\n"
    if len(data) > _MAX_PASSPHRASE:
        raise SignError("the passphrase is longer than 4096 bytes")
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
    finally:
        os.close(write_fd)
    return read_fd


def sign_rpm(path: Path, signer: Signer, *, check: bool = True, replace: bool = False) -> None:
    """Add a header signature to one .rpm or .src.rpm (rpmsign rewrites it, then renames),
    and check it with rpm -K against the signing key (check=False: the caller checks a
    batch with check_signed before using any).  replace=True (`rpmsign --resign`) drops
    the signatures already there: a key rotation re-signs with the current key."""
    gpg_bin = run.find_tool("gpg")
    signer.check_usable()
    fd = _passphrase_pipe(signer.passphrase) if signer.passphrase else None
    try:
        argv = ["rpmsign",
                "--define", f"_gpg_name {signer.fingerprint}",
                "--define", f"_gpg_path {str(signer.gnupghome).replace('%', '%%')}",
                "--define", f"__gpg_sign_cmd {_sign_cmd(gpg_bin, signer.fingerprint, fd)}",
                "--resign" if replace else "--addsign", str(path)]
        run.run(argv, pass_fds=() if fd is None else (fd,), merge_output=True)
    except CommandFailed as e:
        reason = next((line for line in reversed(e.output_tail.splitlines())
                       if "gpg:" in line or "error:" in line), f"exit code {e.returncode}")
        raise SignError(f"{path.name}: rpmsign with key {signer.fingerprint} failed: {reason}",
                        hint="check the key and its passphrase (REPACK_PASSPHRASE or "
                             "--passphrase-file)") from e
    finally:
        if fd is not None:
            os.close(fd)
    if check:
        check_signed([path], signer)


def check_signed(paths: Sequence[Path], signer: Signer) -> None:
    """rpm -K each file against the signer's key alone; SignError for the first it does
    not verify (a signature that does not verify is never published)."""
    if not paths:
        return
    results = rpm_check_armored(paths, signer.export_public(armor=True))
    for path, why in results.items():
        if why is not None:
            raise SignError(f"{path.name}: rpm does not verify the signature of key "
                            f"{signer.fingerprint}: {why}",
                            hint="check the key and its passphrase (REPACK_PASSPHRASE or "
                                 "--passphrase-file)")


def sign_rpms(paths: Sequence[Path], signer: Signer) -> None:
    """Sign each file; one rpmsign per file, since each gpg run drains its passphrase pipe."""
    for path in paths:
        sign_rpm(path, signer)


def armored_keys(keyring: Path) -> bytes:
    """Every public key of a keyring file (armored or binary), as one armored block."""
    with tempfile.TemporaryDirectory(prefix="repack-keys-") as tmp:
        g = gpg(Path(tmp) / "gnupg")
        imported = g.import_keys(keyring.read_bytes())
        fingerprints = [f for f in imported.fingerprints if f]
        if not fingerprints:
            raise SignError(f"no public key in keyring {keyring}")
        data = g.export_keys(fingerprints, armor=True)
    return data.encode() if isinstance(data, str) else bytes(data)


_HEADER = re.compile(r"^(?P<path>\S.*):\s*$")
_BAD = ("NOT OK", "NOKEY", "BAD", "NOTTRUSTED", "NOTFOUND")


def check_rpms(paths: Sequence[Path], keyring: Path) -> list[str]:
    """rpm -K each package against an rpmdb holding only the keyring's keys.

    Returns one problem per line: a bad digest, a bad signature, an unknown key, or no
    signature at all (rpm -K alone passes unsigned packages, a client with gpgcheck does not).
    """
    return [f"{path.name}: {why}" for path, why in rpm_check(paths, keyring).items() if why]


def rpm_check(paths: Sequence[Path], keyring: Path) -> dict[Path, str | None]:
    """Each path (as given) with its problem, or None when rpm verifies its signature."""
    if not paths:
        return {}
    return rpm_check_armored(paths, armored_keys(keyring))


def rpm_check_armored(paths: Sequence[Path], armored: bytes) -> dict[Path, str | None]:
    """rpm_check against `armored`, one armored key block as gpg exports it (the signer's
    Signer.export_public): no keyring to normalise through a scratch GnuPG home."""
    if not paths:
        return {}
    results: dict[Path, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="repack-rpmdb-") as tmp:
        keyfile = Path(tmp) / "keys.asc"
        keyfile.write_bytes(armored)
        dbpath = Path(tmp) / "db"
        dbpath.mkdir()
        run.run(["rpm", "--dbpath", dbpath, "--import", keyfile])
        for start in range(0, len(paths), 200):
            chunk = list(paths[start:start + 200])
            out = run.run(["rpm", "--dbpath", dbpath, "-Kv", *(p.resolve() for p in chunk)],
                          check=False)
            results.update(_parse_check(chunk, out.stdout.decode(errors="replace"),
                                        out.stderr.decode(errors="replace")))
    return results


def _parse_check(paths: Sequence[Path], stdout: str, stderr: str) -> dict[Path, str | None]:
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        header = _HEADER.match(line)
        if header and not line.startswith((" ", "\t")):
            current = blocks.setdefault(header["path"], [])
        elif current is not None and line.strip():
            current.append(line.strip())
    results: dict[Path, str | None] = {}
    for path in paths:
        lines = blocks.get(str(path.resolve()))
        if lines is None:
            results[path] = next((line for line in stderr.splitlines() if path.name in line),
                                 "rpm could not read it")
            continue
        bad = [line for line in lines if any(word in line for word in _BAD)]
        if bad:
            results[path] = "; ".join(bad)
        elif not any("Signature" in line and line.endswith(": OK") for line in lines):
            results[path] = "not signed"
        else:
            results[path] = None
    return results
