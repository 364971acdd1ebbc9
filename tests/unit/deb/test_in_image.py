"""Build dependencies the builder image already has, answered on the host from its dpkg
status (repack.container.images.read_installed, repack.deb.build.in_image), checked against
dpkg-checkbuilddeps itself on the same status file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from repack.container.images import read_installed
from repack.deb.build import in_image

# Real records of Debian 12's builder image (trimmed), with one package not installed.
STATUS = b"""\
Package: debhelper
Status: install ok installed
Priority: optional
Architecture: all
Version: 13.11.4
Provides: debhelper-compat (= 9), debhelper-compat (= 10), debhelper-compat (= 11), \
debhelper-compat (= 12), debhelper-compat (= 13)
Description: helper programs for debian/rules

Package: dh-python
Status: install ok installed
Architecture: all
Version: 5.20230130+deb12u1
Provides: dh-sequence-python3
Description: Debian helper tools for packaging Python libraries and applications

Package: python3-all
Status: install ok installed
Architecture: amd64
Version: 3.11.2-1+b1
Description: package depending on all supported Python 3 runtime versions

Package: python3
Status: install ok installed
Architecture: amd64
Multi-Arch: allowed
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language (default python3 version)

Package: python3-setuptools
Status: install ok installed
Architecture: all
Version: 66.1.1-1
Description: Python3 Distutils Enhancements

Package: python3-installer
Status: install ok installed
Architecture: all
Version: 0.6.0+dfsg1-1
Description: Python library for unpacking and installing wheels

Package: python3-hatchling
Status: deinstall ok config-files
Architecture: all
Version: 1.12.2-1
Description: removed, its configuration files left behind
"""

INSTALLED, PROVIDED = read_installed(STATUS)

CASES = [
    ("debhelper-compat (= 13), dh-sequence-python3, python3-all", True),
    ("debhelper-compat (= 13), python3-installer", True),
    ("debhelper-compat (= 14)", False),                    # no such versioned Provides
    ("debhelper-compat", True),                            # unversioned: any Provides
    ("dh-sequence-python3 (>= 1)", False),                 # unversioned Provides, versioned need
    ("python3-setuptools (>= 61)", True),
    ("python3-setuptools (>= 77)", False),
    ("python3-setuptools (<< 66.1.1-1~)", False),
    ("python3-hatchling", False),                          # only its config files are left
    ("python3-hatchling | python3-setuptools", True),
    ("python3-setuptools-scm, python3-all", False),
    ("python3-all (>= 3.11), python3-all (<< 3.12)", True),
    ("python3:any, python3-setuptools", True),             # Multi-Arch: allowed
    ("python3-all:any", False),                            # not Multi-Arch: allowed
]


def test_installed_and_provided() -> None:
    assert INSTALLED["debhelper"] == "13.11.4"
    assert "python3-hatchling" not in INSTALLED
    assert PROVIDED["debhelper-compat"] == ["10", "11", "12", "13", "9"]
    assert PROVIDED["dh-sequence-python3"] == [""]


@pytest.mark.parametrize(("relations", "met"), CASES)
def test_in_image(relations: str, met: bool) -> None:
    assert in_image(INSTALLED, PROVIDED, relations) is met


def test_multi_arch_allowed_provides_the_any_qualified_name() -> None:
    assert PROVIDED["python3:any"] == ["3.11.2-1+b1"]
    assert "python3-all:any" not in PROVIDED


def test_a_versioned_or_other_qualified_dependency_is_left_to_apt() -> None:
    """dpkg would say yes to both; the host says no, and apt is asked (a wrong "no" costs
    a container, never a wrong build)."""
    assert not in_image(INSTALLED, PROVIDED, "python3:any (>= 3.11)")
    assert not in_image(INSTALLED, PROVIDED, "python3:amd64")


@pytest.mark.process
@pytest.mark.skipif(shutil.which("dpkg-checkbuilddeps") is None, reason="needs dpkg-dev")
def test_dpkg_checkbuilddeps_answers_the_same(tmp_path: Path) -> None:
    """The host's answer is dpkg's, on the same status file."""
    (tmp_path / "status").write_bytes(STATUS)
    for relations, met in CASES:
        proc = subprocess.run(["dpkg-checkbuilddeps", f"--admindir={tmp_path}", "-d", relations,
                               "/dev/null"], capture_output=True, text=True, check=False)
        assert (proc.returncode == 0) is met, (relations, proc.stderr)
