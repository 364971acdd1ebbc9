from __future__ import annotations

import pytest

from repack import targets
from repack.errors import TargetError


def test_shipped_targets_load() -> None:
    assert {"debian-12", "debian-13"} <= set(targets.available())
    bookworm = targets.load("debian-12")
    assert (bookworm.codename, bookworm.python_version, bookworm.family) == ("bookworm", "3.11",
                                                                             "deb")
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


def test_signature_algorithms_are_target_data() -> None:
    """What each target's clients verify (sources in the target files): EL9's rpm 4.16
    not EdDSA; apt and Fedora's rpm-sequoia RSA and ed25519."""
    from repack.keys import accepts

    algos = {t: targets.load(t).signature_algorithms for t in targets.available()}
    assert algos["el9"] == ("rsa>=2048",)
    for t in ("debian-12", "debian-13", "fedora-42"):
        assert accepts(algos[t], "ed25519") and accepts(algos[t], "rsa4096"), t
    assert not accepts(algos["el9"], "ed25519") and accepts(algos["el9"], "rsa4096")
    assert not accepts(algos["el9"], "rsa1024") and not accepts(algos["debian-13"], "nistp256")


def test_malformed_signature_algorithms_are_refused() -> None:
    data = tomllib_load("el9")
    for bad in ([], ["rsa"], ["ed25519; rm -rf"], "rsa>=2048"):
        with pytest.raises(TargetError, match="signature_algorithms"):
            targets.parse("el9", {**data, "signature_algorithms": bad})


def test_contents_fallback_is_apt_sources_lines() -> None:
    """The stand-in suites for an unverifiable Contents index are written into a
    sources.list: one `deb URI SUITE COMPONENT` line each, nothing else."""
    data = tomllib_load("fedora-42")
    assert targets.parse("fedora-42", data).contents_fallback == (
        "deb http://deb.debian.org/debian bookworm main",)
    for bad in (["deb http://x/debian bookworm main\ndeb http://evil/ sid main"],
                ["deb-src http://x/debian bookworm main"], ["deb http://x/debian"], "deb"):
        with pytest.raises(TargetError, match="contents_fallback"):
            targets.parse("fedora-42", {**data, "contents_fallback": bad})


def tomllib_load(target_id: str) -> dict[str, object]:
    import tomllib
    from importlib import resources

    return tomllib.loads(resources.files(targets).joinpath(f"{target_id}.toml").read_text())
