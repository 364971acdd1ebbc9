"""`repack build --sign` (repack.buildrun.sign_result): each target's family signs what it
signs of a build's files, with real gpg, gpgv and rpm."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Literal

import pytest
from repotools import make_deb, source_upload  # type: ignore[import-not-found]
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack import keys
from repack.buildrun import sign_result
from repack.digest import sha256_file
from repack.model import Artifact
from repack.pipeline import BuildResult
from repack.rpm.sign import check_rpms

Format = Literal["deb", "dsc", "debian-tar", "orig-tar", "buildinfo", "changes", "rpm", "srpm"]


def artifact(target: str, fmt: Format, path: Path) -> Artifact:
    return Artifact(target=target, format=fmt, package=path.name.partition("_")[0],
                    version="1.0", path=path, sha256=sha256_file(path))


@pytest.mark.process
def test_each_family_signs_its_files(rsa_home: Path, tmp_path: Path) -> None:
    deb_dir, rpm_dir = tmp_path / "debian-12", tmp_path / "el9"
    deb_dir.mkdir()
    changes = source_upload(deb_dir)
    deb = make_deb(deb_dir, "python3-hello", "1.0-0repack1~deb12")
    rpm = build_rpm(rpm_dir, "python3-hello", "1.0")
    built = (artifact("debian-12", "deb", deb),
             artifact("debian-12", "dsc", deb_dir / "hello_1.0.dsc"),
             artifact("debian-12", "debian-tar", deb_dir / "hello_1.0.tar.xz"),
             artifact("debian-12", "buildinfo", deb_dir / "hello_1.0_amd64.buildinfo"),
             artifact("debian-12", "changes", changes), artifact("el9", "rpm", rpm))
    before = {a.path: a.sha256 for a in built}

    result = sign_result(BuildResult(artifacts=built, sources=(), warnings=()),
                         keys.signer(rsa_home))

    after = {a.path: a.sha256 for a in result.artifacts}
    assert [a.path for a in result.artifacts] == [a.path for a in built]
    for path, digest in after.items():
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    changed = {p.name for p in after if after[p] != before[p]}
    assert changed == {"hello_1.0.dsc", "hello_1.0_amd64.buildinfo", "hello_1.0_source.changes",
                       rpm.name}          # the .deb and the tarball are not signed
    ring = tmp_path / "ring.gpg"
    ring.write_bytes(keys.export(rsa_home, armor=False))
    for name in ("hello_1.0.dsc", "hello_1.0_amd64.buildinfo", "hello_1.0_source.changes"):
        subprocess.run(["gpgv", "--keyring", str(ring), str(deb_dir / name)], check=True,
                       capture_output=True)
    assert check_rpms([rpm], ring) == []
