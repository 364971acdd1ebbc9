"""What may leave an RPM build: the predicted paths, and each header checked against the
spec (repack.rpm.build).  Real packages made with the host's rpmbuild in tmp dirs; the real
builds are in tests/integration/test_hostile_build.py."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from examples import rpm_spec  # type: ignore[import-not-found]

from repack.errors import BuildError
from repack.model import Artifact
from repack.rpm import build as rpm_build

SPEC = rpm_spec()                                   # python3-django, noarch
NVR = f"{SPEC.name}-{SPEC.version}-{SPEC.release}"
needs_rpmbuild = pytest.mark.skipif(shutil.which("rpmbuild") is None,
                                    reason="needs rpmbuild (apt install rpm)")


def test_expected_paths_noarch_and_native() -> None:
    assert rpm_build.expected_files(SPEC, machine="x86_64") == {
        f"RPMS/noarch/{NVR}.noarch.rpm": "rpm", f"SRPMS/{NVR}.src.rpm": "srpm"}
    native = dataclasses.replace(SPEC, buildarch=None, epoch=2)
    assert rpm_build.expected_files(native, machine="x86_64") == {
        f"RPMS/x86_64/{NVR}.x86_64.rpm": "rpm", f"SRPMS/{NVR}.src.rpm": "srpm"}


def test_header_must_be_the_rendered_package() -> None:
    good = [SPEC.name, "(none)", SPEC.version, SPEC.release, "noarch", f"{NVR}.src.rpm"]
    assert rpm_build.check_header("p.rpm", "rpm", good, SPEC, "x86_64") == []
    srpm = [*good[:5], "(none)"]
    assert rpm_build.check_header("p.src.rpm", "srpm", srpm, SPEC, "x86_64") == []
    assert rpm_build.check_header("p.src.rpm", "srpm", [*good[:4], "x86_64", "(none)"], SPEC,
                                  "x86_64") == ["p.src.rpm Arch is 'x86_64', not 'noarch'"]
    for index, value, key in [(0, "sudo", "Name"), (1, "99", "Epoch"), (2, "99.1", "Version"),
                              (4, "x86_64", "Arch"), (5, "sudo-1-1.src.rpm", "Source RPM")]:
        fields = list(good)
        fields[index] = value
        (problem,) = rpm_build.check_header("p.rpm", "rpm", fields, SPEC, "x86_64")
        assert problem.startswith(f"p.rpm {key} is {value!r}"), problem
    assert rpm_build.check_header("p.rpm", "rpm", ["x"], SPEC, "x86_64")[0].startswith(
        "p.rpm: unreadable header")
    with_epoch = dataclasses.replace(SPEC, epoch=1)
    assert rpm_build.check_header("p.rpm", "rpm", good, with_epoch, "x86_64") == [
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


def test_source_package_must_hold_exactly_the_rendered_files() -> None:
    sources = {"x.spec": "a" * 64, "Django-4.2.tar.gz": "b" * 64}
    line = f"8|x.spec:{'a' * 64} Django-4.2.tar.gz:{'b' * 64} "
    assert rpm_build.check_srpm_files("s", line, sources) == []
    assert rpm_build.check_srpm_files("s", line.replace("b" * 64, "c" * 64), sources) == [
        "s: Django-4.2.tar.gz not the file(s) repack rendered or verified"]
    assert rpm_build.check_srpm_files("s", line + f"evil.patch:{'d' * 64} ", sources) == [
        "s: evil.patch not the file(s) repack rendered or verified"]
    assert rpm_build.check_srpm_files("s", "1|" + line[2:], sources)[0].startswith(
        "s: file digests are not SHA256")


@pytest.mark.process
@needs_rpmbuild
def test_collect_checks_paths_and_headers(tmp_path: Path) -> None:
    top = rpmbuild_ba(tmp_path / "good", SPEC.name, SPEC.version, SPEC.release)
    spec_file = tmp_path / "good" / f"{SPEC.name}.spec"
    sources = {spec_file.name: hashlib.sha256(spec_file.read_bytes()).hexdigest()}

    def collect(dest: str) -> list[Artifact]:
        return rpm_build.collect_artifacts(top, tmp_path / dest, SPEC, machine="x86_64",
                                           sources=sources, project="django")

    artifacts = collect("out")
    assert [(a.format, a.path.name) for a in artifacts] == [
        ("rpm", f"{NVR}.noarch.rpm"), ("srpm", f"{NVR}.src.rpm")]
    assert all(a.path.parent == tmp_path / "out" for a in artifacts)

    # a foreign package beside the real ones, wherever rpmbuild writes
    sudo = rpmbuild_ba(tmp_path / "sudo", "sudo", "99.1.0", "1")
    shutil.copy(next(sudo.glob("RPMS/noarch/*.rpm")), top / "RPMS" / "noarch")
    with pytest.raises(BuildError, match="left RPMS/noarch/sudo-99.1.0-1.noarch.rpm beside"):
        collect("out2")
    (top / "RPMS" / "noarch" / "sudo-99.1.0-1.noarch.rpm").unlink()

    # the foreign package under the predicted name: its header gives it away
    (real,) = (top / "RPMS" / "noarch").glob("*.rpm")
    shutil.copy(next(sudo.glob("RPMS/noarch/*.rpm")), real)
    with pytest.raises(BuildError, match="Name is 'sudo', not 'python3-django'"):
        collect("out3")
    shutil.copy(tmp_path / "out" / real.name, real)

    # the source package holds a spec other than the rendered one
    sources[spec_file.name] = "0" * 64
    with pytest.raises(BuildError, match=f"{spec_file.name} not the file"):
        collect("out5")

    # a symlink under the predicted name is not followed
    real.unlink()
    real.symlink_to("/etc/passwd")
    with pytest.raises(BuildError, match="symlink"):
        collect("out4")
