"""repack's RPM install helpers with a platform wheel (Root-Is-Purelib: false): the files go
to %{python3_sitearch}, %pyproject_save_files lists them, and a wheel whose kind disagrees
with the package's architecture is refused with the kind written down for repack.rpm.build.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from repack.deb import render

pytestmark = pytest.mark.process   # every test here runs a real local command

HELPERS = Path(str(render.builtin_templates().joinpath("rpm")))
SITELIB = "/usr/lib/python3.9/site-packages"
SITEARCH = "/usr/lib64/python3.9/site-packages"
SO = "_speed.cpython-39-x86_64-linux-gnu.so"
ELF = b"\x7fELF\x02\x01\x01" + bytes(9)


def make_wheel(path: Path, *, purelib: bool) -> Path:
    tag = "py3-none-any" if purelib else "cp39-cp39-linux_x86_64"
    whl = path / f"fast_pkg-1.0-{tag}.whl"
    info = "fast_pkg-1.0.dist-info"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("fast/__init__.py", "")
        if not purelib:
            z.writestr(f"fast/{SO}", ELF)
            z.writestr(SO, ELF)                       # a top-level extension module
        z.writestr("fast_pkg-1.0.data/purelib/fast_extra.py", "")
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: fast-pkg\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL",
                   f"Wheel-Version: 1.0\nRoot-Is-Purelib: {str(purelib).lower()}\n")
        z.writestr(f"{info}/RECORD", "")
    return whl


def install(tmp: Path, whl: Path, arch: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, HELPERS / "pyproject_install.py", "--buildroot", tmp / "root",
         "--sitelib", SITELIB, "--sitearch", SITEARCH, "--arch", arch,
         "--kind-file", tmp / "kind", "--bindir", "/usr/bin", "--shebang", "/usr/bin/python3 -s",
         "--record", tmp / "record", whl],
        capture_output=True, text=True, check=False)


def test_platform_wheel_goes_to_sitearch_and_is_listed(tmp_path: Path) -> None:
    proc = install(tmp_path, make_wheel(tmp_path, purelib=False), "x86_64")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "kind").read_text() == "platform\n"
    arch = tmp_path / "root" / SITEARCH.lstrip("/")
    assert (arch / "fast" / "__init__.py").is_file()
    assert (arch / "fast" / SO).stat().st_mode & 0o777 == 0o755      # as pip installs them
    assert (arch / "fast" / "__init__.py").stat().st_mode & 0o777 == 0o644
    assert (arch / "fast_pkg-1.0.dist-info" / "INSTALLER").read_text() == "rpm\n"
    assert (tmp_path / "root" / SITELIB.lstrip("/") / "fast_extra.py").is_file()   # purelib

    files = tmp_path / "files"
    proc = subprocess.run(
        [sys.executable, HELPERS / "pyproject_save_files.py", "--buildroot", tmp_path / "root",
         "--sitelib", SITELIB, "--sitearch", SITEARCH, "--record", tmp_path / "record",
         "--output", files, "--", "fast*", "_speed"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    listed = files.read_text().splitlines()
    assert f"{SITEARCH}/fast/" in listed and f"{SITEARCH}/{SO}" in listed
    assert f"%dir {SITEARCH}/fast_pkg-1.0.dist-info" in listed
    assert f"{SITELIB}/fast_extra.py" in listed
    assert not any(line.startswith(f"{SITELIB}/fast/") for line in listed)


def test_kind_disagreeing_with_the_architecture_is_refused(tmp_path: Path) -> None:
    proc = install(tmp_path, make_wheel(tmp_path, purelib=False), "noarch")
    assert proc.returncode == 3 and "platform-specific but the package is noarch" in proc.stderr
    assert (tmp_path / "kind").read_text() == "platform\n"
    assert not (tmp_path / "root").exists()

    proc = install(tmp_path, make_wheel(tmp_path, purelib=True), "x86_64")
    assert proc.returncode == 3 and "pure Python but the package is x86_64" in proc.stderr
    assert (tmp_path / "kind").read_text() == "pure\n"


def test_pure_wheel_in_noarch_package_stays_in_sitelib(tmp_path: Path) -> None:
    proc = install(tmp_path, make_wheel(tmp_path, purelib=True), "noarch")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "kind").read_text() == "pure\n"
    assert (tmp_path / "root" / SITELIB.lstrip("/") / "fast" / "__init__.py").is_file()
    assert not (tmp_path / "root" / SITEARCH.lstrip("/")).exists()
