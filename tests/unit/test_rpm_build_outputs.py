"""What may leave an RPM build: the predicted paths, and each header checked against the
spec (repack.build.rpm).  Real packages made with the host's rpmbuild in tmp dirs; the real
builds are in tests/integration/test_hostile_build.py."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from test_render_rpm import spec  # type: ignore[import-not-found]

from repack.build import rpm
from repack.errors import BuildError

SPEC = spec()                                   # python3-django, noarch
NVR = f"{SPEC.name}-{SPEC.version}-{SPEC.release}"
needs_rpmbuild = pytest.mark.skipif(shutil.which("rpmbuild") is None,
                                    reason="needs rpmbuild (apt install rpm)")


def test_expected_paths_noarch_and_native() -> None:
    assert rpm.expected_files(SPEC, machine="x86_64") == {
        f"RPMS/noarch/{NVR}.noarch.rpm": "rpm", f"SRPMS/{NVR}.src.rpm": "srpm"}
    native = dataclasses.replace(SPEC, buildarch=None, epoch=2)
    assert rpm.expected_files(native, machine="x86_64") == {
        f"RPMS/x86_64/{NVR}.x86_64.rpm": "rpm", f"SRPMS/{NVR}.src.rpm": "srpm"}


def test_header_must_be_the_rendered_package() -> None:
    good = [SPEC.name, "(none)", SPEC.version, SPEC.release, "noarch", f"{NVR}.src.rpm"]
    assert rpm.check_header("p.rpm", "rpm", good, SPEC, "x86_64") == []
    srpm = [*good[:5], "(none)"]
    assert rpm.check_header("p.src.rpm", "srpm", srpm, SPEC, "x86_64") == []
    for index, value, key in [(0, "sudo", "Name"), (1, "99", "Epoch"), (2, "99.1", "Version"),
                              (4, "x86_64", "Arch"), (5, "sudo-1-1.src.rpm", "Source RPM")]:
        fields = list(good)
        fields[index] = value
        (problem,) = rpm.check_header("p.rpm", "rpm", fields, SPEC, "x86_64")
        assert problem.startswith(f"p.rpm {key} is {value!r}"), problem
    assert rpm.check_header("p.rpm", "rpm", ["x"], SPEC, "x86_64")[0].startswith(
        "p.rpm: unreadable header")
    with_epoch = dataclasses.replace(SPEC, epoch=1)
    assert rpm.check_header("p.rpm", "rpm", good, with_epoch, "x86_64") == [
        "p.rpm Epoch is '(none)', not '1'"]


def rpmbuild_ba(work: Path, name: str, version: str, release: str) -> Path:
    """A real noarch package and its source package under work/top (the topdir)."""
    top = work / "top"
    work.mkdir(parents=True)
    spec_file = work / f"{name}.spec"
    spec_file.write_text(f"Name: {name}\nVersion: {version}\nRelease: {release}\n"
                         "Summary: s\nLicense: MIT\nBuildArch: noarch\n%description\nd\n"
                         "%files\n")
    subprocess.run(["rpmbuild", "-ba", "--quiet", "--define", f"_topdir {top}", spec_file],
                   check=True, capture_output=True)
    return top


@needs_rpmbuild
def test_collect_checks_paths_and_headers(tmp_path: Path) -> None:
    top = rpmbuild_ba(tmp_path / "good", SPEC.name, SPEC.version, SPEC.release)
    artifacts = rpm.collect_artifacts(top, tmp_path / "out", SPEC, machine="x86_64",
                                      project="django")
    assert [(a.format, a.path.name) for a in artifacts] == [
        ("rpm", f"{NVR}.noarch.rpm"), ("srpm", f"{NVR}.src.rpm")]
    assert all(a.path.parent == tmp_path / "out" for a in artifacts)

    # a foreign package beside the real ones, wherever rpmbuild writes
    sudo = rpmbuild_ba(tmp_path / "sudo", "sudo", "99.1.0", "1")
    shutil.copy(next(sudo.glob("RPMS/noarch/*.rpm")), top / "RPMS" / "noarch")
    with pytest.raises(BuildError, match="left RPMS/noarch/sudo-99.1.0-1.noarch.rpm beside"):
        rpm.collect_artifacts(top, tmp_path / "out2", SPEC, machine="x86_64", project="django")
    (top / "RPMS" / "noarch" / "sudo-99.1.0-1.noarch.rpm").unlink()

    # the foreign package under the predicted name: its header gives it away
    (real,) = (top / "RPMS" / "noarch").glob("*.rpm")
    shutil.copy(next(sudo.glob("RPMS/noarch/*.rpm")), real)
    with pytest.raises(BuildError, match="Name is 'sudo', not 'python3-django'"):
        rpm.collect_artifacts(top, tmp_path / "out3", SPEC, machine="x86_64", project="django")

    # a symlink under the predicted name is not followed
    real.unlink()
    real.symlink_to("/etc/passwd")
    with pytest.raises(BuildError, match="symlink"):
        rpm.collect_artifacts(top, tmp_path / "out4", SPEC, machine="x86_64", project="django")
