"""Content-addressed helpers: a stage's cache key is the sha256 of canonical JSON of its inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from repack import __version__


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
