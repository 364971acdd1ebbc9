"""Tiny real .debs and .rpms that carry a repack provenance record, for the security-update
tests: the doc file ``usr/share/doc/<pkg>/repack-provenance.json`` (both formats) and, in a
.deb, the ``Repack-*`` control fields, made by repack.trust.provenance itself.

    from securitykit import FIX, deb_with_record, record, rpm_with_record
    deb = deb_with_record(tmp / "debian-12", "python3-demo", "1.1-1", record("1.1", FIX))
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from rpmkit import PY, build_rpm  # type: ignore[import-not-found]

from repack.model import Advisory, Provenance
from repack.trust import provenance

GHSA = "GHSA-2hrw-hx67-34x6"
CVE = "CVE-2023-31047"
FIX = Advisory(id=GHSA, aliases=(CVE,), summary="demo: a <dangerous> & bad bug\x07",
               fixed_in=("1.1",), link=f"https://osv.dev/vulnerability/{GHSA}")


def record(version: str, fixes: Sequence[Advisory] = (), project: str = "demo") -> Provenance:
    return Provenance(project=canonicalize_name(project), version=version,
                      filename=f"{project}-{version}.tar.gz",
                      url=f"https://files.example.org/{project}-{version}.tar.gz",
                      sha256="0" * 64, verified=("tls", "sha256:index"), fixes=tuple(fixes))


def deb_with_record(dest: Path, name: str, version: str, prov: Provenance) -> Path:
    """An arch-all .deb built with dpkg-deb, carrying `prov`."""
    fields = {"Package": name, "Version": version, "Architecture": "all",
              "Maintainer": "Test <test@example.org>", **provenance.control_fields(prov)}
    control = "".join(f"{k}: {v}\n" for k, v in fields.items())
    control += f"Description: test package {name}\n a package made by the tests\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        (root / "DEBIAN" / "control").write_text(control)
        doc = root / provenance.doc_path(name)
        doc.parent.mkdir(parents=True)
        doc.write_text(provenance.to_json(prov))
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{name}_{version.partition(':')[2] or version}_all.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root),
                        str(out)], check=True, capture_output=True)
    return out


def rpm_with_record(workdir: Path, name: str, version: str, prov: Provenance) -> Path:
    """A noarch rpm (tests/rpmkit.py) carrying `prov` as its doc file."""
    module = name.removeprefix("python3-").replace("-", "_")
    return build_rpm(workdir, name, version, files={
        f"{PY}/{module}/__init__.py": f"__version__ = {version!r}\n",
        f"/{provenance.doc_path(name)}": provenance.to_json(prov)})
