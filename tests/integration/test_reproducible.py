"""Reproducible builds through the real CLI: the build date is the release's upload time,
and `repack rebuild` rebuilds a .deb and a (signed) .rpm byte for byte, or names the
first difference of a tampered package (exit 4)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from rpmkit import make_signer  # type: ignore[import-not-found]
from sdists import make_sdist

from repack.rpm.sign import sign_rpm

pytestmark = pytest.mark.integration

NAME = "repro-demo"
UPLOADED = "2024-05-01T12:30:00Z"
EPOCH = 1714566600                     # UPLOADED in seconds
DAY = 1714521600                       # 2024-05-01T00:00:00Z: rpm's %changelog has days only
# setuptools, unversioned: bookworm and bullseye (the el9 builder) both have one
PYPROJECT = b"""[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
SETUP_PY = b"""from setuptools import setup
setup(name="repro-demo", version="1.0", packages=["repro_demo"], license="MIT",
      description="A tiny test package", python_requires=">=3.8")
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("repro")
    # unique per run, so that the build cache never answers instead of a build
    sdist = make_sdist(tmp / "sdists", NAME, "1.0", {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY, "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as idx:
        idx.add(NAME, sdist.name, sdist.read_bytes(), upload_time=UPLOADED)
        yield idx


@pytest.fixture(scope="module")
def built(index: LocalIndex, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    proc = run_repack(["build", "--no-check",
                       f"{NAME}==1.0", "-t", "debian-12", "-t", "el9", "-o", str(out)],
                      env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    (deb,) = (out / "debian-12").glob("*.deb")
    (rpm,) = (out / "el9").glob("*.noarch.rpm")
    return {"deb": deb, "rpm": rpm, "out": out}


def test_build_date_is_the_release_date(built: dict[str, Path]) -> None:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", built["deb"]], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        mtimes = {m.name: m.mtime for m in tar}
    assert max(mtimes.values()) <= EPOCH, mtimes
    changes = next(built["out"].glob("debian-12/*.changes")).read_text()
    assert "Date: Wed, 01 May 2024 12:30:00 +0000" in changes
    buildtime = subprocess.run(["rpm", "-qp", "--qf", "%{BUILDTIME}", built["rpm"]],
                               capture_output=True, text=True, check=True).stdout
    assert int(buildtime) == DAY


def test_rebuild_is_identical_and_tampering_is_named(built: dict[str, Path], index: LocalIndex,
                                                    tmp_path: Path) -> None:
    signed = tmp_path / "signed" / built["rpm"].name         # as `repack publish` serves it
    signed.parent.mkdir()
    shutil.copy2(built["rpm"], signed)
    sign_rpm(signed, make_signer(tmp_path / "gnupg"))

    tampered = tmp_path / "tampered" / built["deb"].name
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-R", built["deb"], unpacked], check=True)
    (module,) = unpacked.glob("usr/lib/python3/dist-packages/repro_demo/__init__.py")
    module.write_text(module.read_text() + "import os  # a backdoor would go here\n")
    tampered.parent.mkdir()
    # the attacker takes care to keep every file time: only the module's content differs
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", unpacked, tampered], check=True,
                   capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)})

    proc = run_repack(["rebuild", str(built["deb"]), str(signed), str(tampered)],
                      env={"PIP_INDEX_URL": index.url})
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout.splitlines() == [f"identical: {built['deb'].name}",
                                        f"identical: {signed.name}"]
    assert (f"warning: {tampered.name} differs from its rebuild: file "
            "./usr/lib/python3/dist-packages/repro_demo/__init__.py: ") in proc.stderr
    assert f"error: 1 of 3 packages differ from their rebuild: {tampered.name}" in proc.stderr
    # one rebuild per target served all three: the .deb, the tampered copy and the rpm
    assert proc.stderr.count("› Building") == 2, proc.stderr
