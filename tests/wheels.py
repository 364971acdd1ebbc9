"""Write small pure wheels (py3-none-any) for tests: build tools served by a LocalIndex.

    from wheels import make_wheel
    whl = make_wheel(tmp_path, "flit_core", "3.9.1", {"flit_core/__init__.py": b""})
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["make_wheel"]


def make_wheel(dest: Path, name: str, version: str, files: Mapping[str, bytes], *,
               requires_dist: Sequence[str] = (), tag: str = "py3-none-any") -> Path:
    """A wheel holding `files`, with its METADATA, WHEEL and RECORD (real sha256s); pure
    unless `tag` (its compressed tag set, e.g. "cp311-cp311-manylinux_2_17_x86_64") says
    otherwise."""
    dist = f"{name}-{version}.dist-info"
    members = dict(files)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires_dist)
    members[f"{dist}/METADATA"] = meta.encode()
    purelib = "true" if tag.endswith("-none-any") else "false"
    members[f"{dist}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: "
                                f"{purelib}\nTag: {tag}\n").encode()
    lines = []
    for member, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{member},sha256={digest},{len(data)}")
    members[f"{dist}/RECORD"] = ("\n".join([*lines, f"{dist}/RECORD,,"]) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}-{tag}.whl"
    path.write_bytes(buf.getvalue())
    return path
