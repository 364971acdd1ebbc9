"""Helpers for the signing and publishing tests: throwaway keys and tiny real .debs."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from repack import keys


@contextlib.contextmanager
def gnupg_home() -> Iterator[Path]:
    """A short-lived GnuPG home (short path: gpg-agent's socket must fit), agent stopped
    afterwards."""
    home = Path(tempfile.mkdtemp(prefix="rk-"))
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def new_key(home: Path, email: str = "repo@example.org", passphrase: str | None = None,
            algorithm: keys.Algorithm = "ed25519") -> str:
    """ed25519 by default: generated at once (RSA-4096, the CLI's default, takes seconds);
    fine wherever the algorithm does not matter (not for el9's clients)."""
    return keys.generate(home, name="repack test", email=email, passphrase=passphrase,
                         algorithm=algorithm)


def make_deb(dest: Path, name: str, version: str, *, arch: str = "all",
             payload: bytes = b"hello\n", source: str | None = None) -> Path:
    """A real (tiny) .deb built with dpkg-deb."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        (root / "usr" / "share" / "doc" / name).mkdir(parents=True)
        (root / "usr" / "share" / "doc" / name / "payload").write_bytes(payload)
        control = (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
                   "Maintainer: Test <test@example.org>\n"
                   + (f"Source: {source}\n" if source else "")
                   + f"Description: test package {name}\n a package made by the tests\n")
        (root / "DEBIAN" / "control").write_text(control)
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{name}_{version.partition(':')[2] or version}_{arch}.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root),
                        str(out)], check=True, capture_output=True)
    return out
