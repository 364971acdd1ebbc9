"""Content-addressed helpers: a stage's cache key is the sha256 of canonical JSON of its inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from repack import __version__


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's content, read in chunks (packages can be large); `algorithm`
    is a hashlib name (yum metadata may name sha1 or sha512)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def sha256_file(path: Path) -> str:
    """The one sha256-of-a-file helper: pool files, sdists, outputs, rebuild comparisons."""
    return file_digest(path, "sha256")


def key(**inputs: object) -> str:
    """sha256 of canonical JSON of the inputs plus repack's version (osbuild's Stage.id idea)."""
    blob = json.dumps({"repack": __version__, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def tree_digest(root: Path) -> str:
    """Digest of every file's relative path, mode and content below root."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(oct(path.stat().st_mode & 0o777).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()
