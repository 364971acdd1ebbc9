from __future__ import annotations

import pytest

from repack import targets
from repack.errors import TargetError


def test_shipped_targets_load() -> None:
    assert {"debian-12", "debian-13"} <= set(targets.available())
    bookworm = targets.load("debian-12")
    assert (bookworm.codename, bookworm.python_version, bookworm.family) == ("bookworm", "3.11", "deb")
    trixie = targets.load("debian-13")
    assert (trixie.codename, trixie.python_version) == ("trixie", "3.13")
    # the revision suffix orders releases of one build for a dist-upgrade
    assert bookworm.version_suffix < trixie.version_suffix


def test_marker_environment_is_the_targets_python() -> None:
    env = targets.load("debian-13").marker_environment
    assert env["python_version"] == "3.13" and env["sys_platform"] == "linux"


def test_unknown_target_lists_known_ones() -> None:
    with pytest.raises(TargetError) as e:
        targets.load("debian-99")
    assert "unknown target 'debian-99'" in str(e.value)
    assert e.value.hint is not None and "debian-12" in e.value.hint


def test_malformed_target_reports_every_problem() -> None:
    with pytest.raises(TargetError) as e:
        targets.parse("x", {"id": "y", "family": "exe", "bogus": 1})
    msg = str(e.value)
    assert "unknown key 'bogus'" in msg and "missing key 'codename'" in msg
    assert "does not match the file name" in msg and "family must be" in msg
