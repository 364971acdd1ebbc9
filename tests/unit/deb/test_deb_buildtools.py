"""Debian targets: which build requirements come as verified wheels, and how apt and the
builder's installer are told about them (the real build is
tests/integration/test_debian_buildreqs.py)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from examples import ARCHIVE, BASE, NUMPY_ARCHIVE, TARGET, deb_spec
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from repack import buildreqs
from repack.container.engine import Engine
from repack.container.images import Image
from repack.deb.aptlists import lists_source
from repack.deb.build import DebianBuild
from repack.deb.family import missing_build_requires
from repack.errors import IntegrityError
from repack.model import Project, Release, Sdist


def test_only_what_the_archive_lacks_or_has_too_old() -> None:
    project = dataclasses.replace(BASE, build_requires=(
        Requirement("setuptools>=61"),                 # bookworm: 66, satisfied
        Requirement("setuptools_scm>=8"),              # not in this archive at all
        Requirement("wheel>=0.40"),                    # bookworm: 0.38, too old
        Requirement('tomli; python_version < "3.11"'),  # inactive on Python 3.11
    ))
    missing = missing_build_requires(project, TARGET, ARCHIVE)
    assert [str(r) for r in missing] == ["setuptools_scm>=8", "wheel>=0.40"]


def test_what_the_archive_compiled_against_a_package_from_the_index_comes_from_there_too(
        ) -> None:
    """scikit-learn 1.9 on Debian 12: `numpy>=2` comes from the index, so bookworm's scipy
    (built against its numpy 1.24, "numpy.dtype size changed" beside numpy 2) and pythran,
    which Cython imports and which imports scipy, cannot be used: both from the index, and
    neither in Build-Depends."""
    sklearn = dataclasses.replace(BASE, build_requires=(
        Requirement("numpy>=2"), Requirement("scipy>=1.10"), Requirement("pythran"),
        Requirement("setuptools>=61")))
    missing = missing_build_requires(sklearn, TARGET, NUMPY_ARCHIVE)
    assert [str(r) for r in missing] == ["numpy>=2", "scipy>=1.10", "pythran"]
    build_depends = {r.name for alts in deb_spec(sklearn, NUMPY_ARCHIVE).build_depends
                     for r in alts}
    assert "python3-setuptools" in build_depends or "python3-pkg-resources" in build_depends
    assert not build_depends & {"python3-numpy", "python3-scipy", "python3-pythran"}


def test_the_archive_numpy_keeps_what_is_compiled_against_it() -> None:
    older = dataclasses.replace(BASE, build_requires=(
        Requirement("numpy>=1.22"), Requirement("scipy>=1.10")))
    assert missing_build_requires(older, TARGET, NUMPY_ARCHIVE) == []
    build_depends = {r.name for alts in deb_spec(older, NUMPY_ARCHIVE).build_depends
                     for r in alts}
    assert {"python3-numpy", "python3-scipy"} <= build_depends


def tool(tmp_path: Path, name: str, version: str) -> buildreqs.BuildTool:
    wheel = tmp_path / f"{name}-{version}-py3-none-any.whl"
    wheel.write_bytes(b"PK fake wheel")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    release = Release(name=NormalizedName(name), version=Version(version), filename=wheel.name,
                      url=f"https://example.invalid/{wheel.name}", sha256=digest, size=13,
                      requires_python=None, yanked=False, index_url="https://example.invalid/")
    file = Sdist(release=release, path=wheel, sha256=digest, verified=("sha256:index",))
    return buildreqs.BuildTool(name=canonicalize_name(name), version=Version(version), file=file)


def test_installer_joins_apt_only_when_wheels_are_installed(tmp_path: Path) -> None:
    engine = Engine(name="podman")
    image = Image(target=TARGET, kind="builder", tag="t", state_dir=tmp_path / "state")
    deb = DebianBuild(engine=engine, image=image, work=tmp_path / "work", project="x",
                      apt_cache=tmp_path / "apt")
    assert deb.apt_relations("debhelper-compat (= 13)") == "debhelper-compat (= 13)"
    flit = tool(tmp_path, "flit_core", "3.9.0")
    deb.use_build_tools([flit])
    assert deb.apt_relations("debhelper-compat (= 13)") == \
        "debhelper-compat (= 13), python3-installer"
    assert (tmp_path / "work" / "wheels" / flit.file.path.name).is_file()
    wheels = next(m for m in deb.mounts if m.target == "/wheels")
    assert wheels.readonly
    argv = buildreqs.installer_argv([flit], "/wheels")
    assert argv[:3] == ["python3", "-c", buildreqs.INSTALL_SCRIPT]
    assert argv[3:] == ["/wheels/flit_core-3.9.0-py3-none-any.whl"]


def test_a_cached_wheel_that_changed_is_refused(tmp_path: Path) -> None:
    engine = Engine(name="podman")
    image = Image(target=TARGET, kind="builder", tag="t", state_dir=tmp_path / "state")
    deb = DebianBuild(engine=engine, image=image, work=tmp_path / "work", project="x",
                      apt_cache=tmp_path / "apt")
    flit = tool(tmp_path, "flit_core", "3.9.0")
    flit.file.path.write_bytes(b"PK trojan one")      # same size, other bytes
    with pytest.raises(IntegrityError, match="no longer has the sha256 it was verified with"):
        deb.use_build_tools([flit])


def test_a_cache_without_lists_starts_from_the_images(tmp_path: Path) -> None:
    shared, snapshot = tmp_path / "shared", tmp_path / "snapshot"
    assert lists_source(shared, snapshot) is None
    snapshot.mkdir()
    (snapshot / "deb.debian.org_debian_dists_bookworm_InRelease").write_text("signed")
    assert lists_source(shared, snapshot) == snapshot
    shared.mkdir()
    assert lists_source(shared, snapshot) == snapshot          # empty: nothing refreshed yet
    (shared / "deb.debian.org_debian_dists_bookworm_InRelease").write_text("newer")
    assert lists_source(shared, snapshot) == shared
    assert lists_source(None, snapshot) == snapshot


def test_build_tool_wheels_bring_the_programs_they_run() -> None:
    """Beside the wheels: python3-installer, which unpacks them, ninja-build for a meson wheel
    (Debian's meson would have brought it) and cmake for scikit-build-core (rapidfuzz on
    Debian 12: "Could not find CMake with version >=3.15")."""
    from repack.deb.build import tool_packages

    assert tool_packages(["hatchling"]) == ["python3-installer"]
    assert tool_packages(["meson-python", "meson"]) == ["python3-installer", "ninja-build"]
    assert tool_packages(["scikit_build_core", "Cython"]) == ["python3-installer", "cmake"]


def test_a_second_download_reads_only_the_shared_lists(tmp_path: Path) -> None:
    """What an offline container left in the build's lists (an in-tree backend's hook ran
    upstream code with them mounted read-write) is gone before apt reads them again: a
    planted Packages file in another compression, a binary cache, a symlink."""
    shared = tmp_path / "shared"
    shared.mkdir()
    packages = "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    (shared / packages).write_text("Package: six\n")
    (shared / "pkgcache.bin").write_bytes(b"apt's")
    release = "deb.debian.org_debian_dists_bookworm_InRelease"
    (shared / release).write_text("signed")
    image = Image(target=TARGET, kind="builder", tag="t", state_dir=tmp_path / "state")
    deb = DebianBuild(engine=Engine(name="podman"), image=image, work=tmp_path / "work",
                      project="x", apt_cache=tmp_path / "apt", apt_lists=shared)
    (deb.lists / packages).write_text("Package: six\nFilename: http://evil.example/six.deb\n")
    (deb.lists / f"{packages}.lz4").write_bytes(b"planted")
    (deb.lists / "srcpkgcache.bin").write_bytes(b"planted")
    (deb.lists / "etc").symlink_to("/etc")
    (deb.lists / "partial" / "x").write_bytes(b"planted")
    mounted = deb.lists.stat().st_ino       # the network container has this directory mounted
    deb.reset_lists()
    assert deb.lists.stat().st_ino == mounted
    assert sorted(p.name for p in deb.lists.iterdir()) == [release, packages, "partial",
                                                           "pkgcache.bin"]
    assert (deb.lists / packages).read_text() == "Package: six\n"
    assert not any((deb.lists / "partial").iterdir())
    assert Path("/etc").is_dir()


def test_a_build_against_the_archive_numpy_runs_dh_numpy3() -> None:
    """scikit-learn on Debian 13 (numpy 2.2 from the archive): without dh_numpy3 the package
    lacks python3-numpy2-abi0 (lintian: missing-dependency-on-numpy-abi)."""
    def build_depends(p: Project) -> set[str]:
        return {r.name for alts in deb_spec(p, NUMPY_ARCHIVE).build_depends for r in alts}

    compiled = dataclasses.replace(BASE, has_native_code=True,
                                   build_requires=(Requirement("numpy>=1.22"),))
    assert {"python3-numpy", "dh-sequence-numpy3"} <= build_depends(compiled)
    pure = dataclasses.replace(compiled, has_native_code=False)
    assert "dh-sequence-numpy3" not in build_depends(pure)
    # the index's numpy: no archive numpy to depend on
    newer = dataclasses.replace(compiled, build_requires=(Requirement("numpy>=2"),))
    assert not build_depends(newer) & {"python3-numpy", "dh-sequence-numpy3"}
