"""A package compiled against the index's numpy depends on that numpy's ABI (the real build,
lintian and the import check: tests/integration/test_numpy_abi.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from pathlib import Path

from examples import BASE, NUMPY_ARCHIVE, TARGET
from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from repack import buildreqs
from repack.config import Settings
from repack.deb.family import make_spec
from repack.deb.numpyabi import feature_version, runtime_requirement
from repack.model import Release, Sdist

# numpy 2.4's default branch, as its numpyconfig.h has it
HEADER_24 = b"""\
#if defined(NPY_INTERNAL_BUILD) && NPY_INTERNAL_BUILD
    #define NPY_FEATURE_VERSION NPY_API_VERSION
#elif defined(NPY_TARGET_VERSION) && NPY_TARGET_VERSION
    #define NPY_FEATURE_VERSION NPY_TARGET_VERSION
#else
    /* Use the default (increase when dropping Python 3.11 support) */
    #define NPY_FEATURE_VERSION NPY_1_23_API_VERSION
#endif
"""


def numpy_wheel(tmp_path: Path, version: str, members: dict[str, bytes]) -> buildreqs.BuildTool:
    wheel = tmp_path / f"numpy-{version}-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as whl:
        for name, data in members.items():
            whl.writestr(name, data)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    release = Release(name=NormalizedName("numpy"), version=Version(version),
                      filename=wheel.name, url=f"https://example.invalid/{wheel.name}",
                      sha256=digest, size=wheel.stat().st_size, requires_python=None,
                      yanked=False, index_url="https://example.invalid/")
    file = Sdist(release=release, path=wheel, sha256=digest, verified=("sha256:index",))
    return buildreqs.BuildTool(name=NormalizedName("numpy"), version=Version(version), file=file)


def test_numpy_2_builds_for_its_default_feature_version_up_to_its_next_major(
        tmp_path: Path) -> None:
    numpy = numpy_wheel(tmp_path, "2.4.6", {"numpy/_core/include/numpy/numpyconfig.h": HEADER_24})
    assert feature_version(numpy.file.path, numpy.version) == Version("1.23")
    assert runtime_requirement(numpy) == Requirement("numpy>=1.23,<3")


def test_older_headers_build_for_their_own_release(tmp_path: Path) -> None:
    """numpy 1.24's header has no default branch: a module built against it needs 1.24."""
    numpy = numpy_wheel(tmp_path, "1.24.4", {
        "numpy/core/include/numpy/numpyconfig.h": b"#define NPY_FEATURE_VERSION NPY_API_VERSION\n"})
    assert runtime_requirement(numpy) == Requirement("numpy>=1.24,<2")


def test_a_header_that_is_not_numpys_says_nothing(tmp_path: Path) -> None:
    """No header, one too big to be numpy's, one naming a default above the wheel's own
    release, a file that is no zip at all: the wheel's own major.minor."""
    for members in ({}, {"numpy/_core/include/numpy/numpyconfig.h": HEADER_24 + b" " * 300_000},
                    {"numpy/_core/include/numpy/numpyconfig.h":
                     b"#define NPY_FEATURE_VERSION NPY_9_9_API_VERSION\n"}):
        numpy = numpy_wheel(tmp_path, "2.1.0", members)
        assert feature_version(numpy.file.path, numpy.version) == Version("2.1")
    numpy.file.path.write_bytes(b"not a zip")
    assert feature_version(numpy.file.path, numpy.version) == Version("2.1")


def depends(spec_depends: tuple[tuple[object, ...], ...]) -> list[str]:
    return [" | ".join(str(r) for r in group) for group in spec_depends]


def test_a_package_compiled_against_the_index_numpy_depends_on_its_abi(tmp_path: Path) -> None:
    """scikit-learn on Debian 12: `numpy>=2` comes from the index, so dh_numpy3 has no
    version file to write python3-numpy-abi9 from.  The package depends on the archive's
    epoch-1 python3-numpy in [1.23, 3) (`<< 1:3~~`: no 3.0 prerelease either), the pair lintian
    accepts; pure Python does not."""
    numpy = numpy_wheel(tmp_path, "2.4.6", {"numpy/_core/include/numpy/numpyconfig.h": HEADER_24})
    sklearn = dataclasses.replace(BASE, has_native_code=True, build_requires=(
        Requirement("numpy>=2"),), requires_dist=(Requirement("numpy>=1.22"),))
    settings = Settings(cache_dir=tmp_path, config_file=tmp_path / "c.toml",
                        maintainer="m <m@example.org>", engine=None,
                        output_dir=tmp_path / "out")
    sdist = numpy.file                      # any verified file: only its release URL is read
    lines = depends(make_spec(sklearn, sdist, TARGET, NUMPY_ARCHIVE, settings, [numpy]).depends)
    assert "python3-numpy (>= 1:1.22)" in lines
    assert "python3-numpy (>= 1:1.23)" in lines
    assert "python3-numpy (<< 1:3~~)" in lines
    pure = dataclasses.replace(sklearn, has_native_code=False)
    lines = depends(make_spec(pure, sdist, TARGET, NUMPY_ARCHIVE, settings, [numpy]).depends)
    assert "python3-numpy (<< 1:3~~)" not in lines
    lines = depends(make_spec(sklearn, sdist, TARGET, NUMPY_ARCHIVE, settings, []).depends)
    assert "python3-numpy (<< 1:3~~)" not in lines
