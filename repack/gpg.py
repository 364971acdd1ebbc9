"""The only code that drives GnuPG (through python-gnupg).

repack keeps its own GnuPG home (default: $XDG_DATA_HOME/repack/gnupg, or --gnupghome),
never the user's keyring.  Passphrases come from gpg-agent, REPACK_PASSPHRASE or a file,
and reach gpg on a file descriptor (python-gnupg's --passphrase-fd), never argv or a log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gnupg
import platformdirs

from repack.errors import RepackError


class SignError(RepackError):
    exit_code = 10


def default_gnupghome() -> Path:
    return Path(platformdirs.user_data_dir("repack")) / "gnupg"


def read_passphrase(passphrase_file: Path | None = None,
                    environ: dict[str, str] | None = None) -> str | None:
    """REPACK_PASSPHRASE, else the first line of passphrase_file, else None (agent/no pass)."""
    env = os.environ if environ is None else environ
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text().splitlines()[0] if passphrase_file.stat().st_size else ""
        except OSError as e:
            raise SignError(f"cannot read passphrase file {passphrase_file}: {e.strerror}") from e
    return env.get("REPACK_PASSPHRASE")


def gpg(gnupghome: Path) -> gnupg.GPG:
    gnupghome.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(gnupghome, 0o700)
    return gnupg.GPG(gnupghome=str(gnupghome))


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """Signs files with one key of repack's GnuPG home."""

    gnupghome: Path
    fingerprint: str
    passphrase: str | None = None
    also: tuple[str, ...] = ()   # more keys signing beside it (a key rotation in progress)

    def _sign(self, data: Path, out: Path, **kwargs: object) -> None:
        g = gpg(self.gnupghome)
        tmp = out.with_name(f".{out.name}.tmp")
        with data.open("rb") as fh:
            result = g.sign_file(fh, keyid=self.fingerprint, passphrase=self.passphrase,
                                 output=str(tmp),
                                 extra_args=["--digest-algo", "SHA512", *self._users()],
                                 **kwargs)
        if not result or not tmp.is_file():
            tmp.unlink(missing_ok=True)
            raise SignError(f"signing {data.name} with {self.fingerprint} failed: "
                            f"{result.status or 'no signature'}",
                            hint="check the key and its passphrase (REPACK_PASSPHRASE or "
                                 "--passphrase-file)")
        os.replace(tmp, out)

    def _users(self) -> list[str]:
        if not self.also:
            return []
        return [a for f in (self.fingerprint, *self.also) for a in ("--local-user", f)]

    def detach_sign(self, data: Path, out: Path, *, armor: bool = True) -> None:
        """A detached signature (Release.gpg, repomd.xml.asc)."""
        self._sign(data, out, detach=True, binary=not armor)

    def clearsign(self, data: Path, out: Path) -> None:
        """An inline clear-text signature (InRelease, .dsc, .changes)."""
        self._sign(data, out, clearsign=True)

    def export_public(self, *, armor: bool = True) -> bytes:
        key = gpg(self.gnupghome).export_keys(self.fingerprint, armor=armor)
        data = key.encode() if isinstance(key, str) else key
        if not data:
            raise SignError(f"no public key {self.fingerprint} in {self.gnupghome}")
        return bytes(data)
