"""How `repack rebuild` compares a package with its rebuild, on real tiny .deb and .rpm
files (dpkg-deb, rpmbuild, rpmsign on the host): the first difference, in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm, make_signer, stop_agent  # type: ignore[import-not-found]

from repack import compare, rebuild
from repack.errors import TargetError
from repack.rpm.sign import sign_rpm

pytestmark = pytest.mark.process   # every test here runs a real local command


def test_identical_debs(tmp_path: Path) -> None:
    a = make_deb(tmp_path / "a", "python3-x", "1.0-0repack1~deb12")
    b = make_deb(tmp_path / "b", "python3-x", "1.0-0repack1~deb12")
    assert compare.first_difference(a, b) is None


def test_deb_control_field_difference(tmp_path: Path) -> None:
    a = make_deb(tmp_path / "a", "python3-x", "1.0-1", source="python-x")
    b = make_deb(tmp_path / "b", "python3-x", "1.0-1", source="python-y")
    assert compare.first_difference(a, b) == "control field Source: python-x != python-y"


def test_deb_file_difference(tmp_path: Path) -> None:
    a = make_deb(tmp_path / "a", "python3-x", "1.0-1", payload=b"one\n")
    b = make_deb(tmp_path / "b", "python3-x", "1.0-1", payload=b"two\n")
    diff = compare.first_difference(a, b)
    assert diff is not None
    assert diff.startswith("file ./usr/share/doc/python3-x/payload: sha256 "), diff


def test_hostile_text_stays_on_one_line(tmp_path: Path) -> None:
    a = make_deb(tmp_path / "a", "python3-x", "1.0-1", source="python-x")
    b = make_deb(tmp_path / "b", "python3-x", "1.0-1", source="python-x\x1b[2Jforged")
    diff = compare.first_difference(a, b)
    assert diff is not None and "\x1b" not in diff and "\n" not in diff


def test_signed_rpm_matches_its_unsigned_rebuild(tmp_path: Path) -> None:
    """rpmsign adds signature tags only: the published (signed) file and an unsigned
    rebuild with the same header and payload are the same package."""
    unsigned = build_rpm(tmp_path, "python3-x", "1.0", release="0.repack1.el9")
    signed = tmp_path / "signed.rpm"
    shutil.copy2(unsigned, signed)
    try:
        sign_rpm(signed, make_signer(tmp_path / "gnupg"))
    finally:
        stop_agent(tmp_path / "gnupg")      # rpmsign's gpg started one: no daemon outlives the test
    assert signed.read_bytes() != unsigned.read_bytes()
    assert compare.first_difference(signed, unsigned) is None


def test_rpm_header_difference(tmp_path: Path) -> None:
    a = build_rpm(tmp_path / "a", "python3-x", "1.0", release="1")
    b = build_rpm(tmp_path / "b", "python3-x", "1.0", release="1",
                  files={"/usr/lib/python3.9/site-packages/x/__init__.py": "changed = True\n"})
    diff = compare.first_difference(a, b)
    assert diff is not None and diff.startswith(("header ", "file ")), diff


def test_target_of(tmp_path: Path) -> None:
    deb = make_deb(tmp_path, "python3-x", "3:1.0-0repack1~deb13")
    assert rebuild.target_of(deb).id == "debian-13"
    rpm = build_rpm(tmp_path, "python3-x", "1.0", release="0.repack1.el9")
    assert rebuild.target_of(rpm).id == "el9"
    other = make_deb(tmp_path / "o", "python3-x", "1.0-1")
    with pytest.raises(TargetError, match="names no known target"):
        rebuild.target_of(other)
