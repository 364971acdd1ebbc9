"""The numpy a package compiled against the index's numpy needs at run time.

Compiled against the archive's numpy, a package gets its ABI dependency from dh_numpy3
(python3-numpy-abi9, python3-numpy2-abi0), which reads the archive package's own version
file.  Compiled against a numpy wheel from the index (Debian 12's for scikit-learn's
`numpy>=2`), there is no such file: the package depended on no numpy ABI at all, and lintian
refused it (missing-dependency-on-numpy-abi, an error).  The wheel itself says what its
headers build for: numpy >= 1.25 builds for an older C-API by default (NPY_FEATURE_VERSION,
numpyconfig.h), and a module built against numpy 2 imports on 1.x down to that version as
well; older headers build for their own release and later 1.x only.  So the package depends
on a numpy in [that version, the wheel's next major): the versioned pair lintian accepts in
place of the abiN virtual package, met by the archive's numpy and by one repack builds.

A project that sets NPY_TARGET_VERSION itself builds for an older numpy than this says (the
bound is then stricter than needed) or a newer one (the import check, run against the
archive's numpy, fails on it)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from repack.buildreqs import BuildTool

# numpyconfig.h in a numpy wheel: numpy/_core since 2.0, numpy/core before.
_CONFIG = ("numpy/_core/include/numpy/numpyconfig.h", "numpy/core/include/numpy/numpyconfig.h")
_CONFIG_LIMIT = 256 * 1024       # numpy 2.4's is 7 kB: a bigger one is not numpy's header
# The default branch: `#define NPY_FEATURE_VERSION NPY_1_23_API_VERSION` (the others define
# it as NPY_API_VERSION or NPY_TARGET_VERSION).
_DEFAULT_TARGET = re.compile(
    rb"^\s*#\s*define\s+NPY_FEATURE_VERSION\s+NPY_(\d+)_(\d+)_API_VERSION\b", re.MULTILINE)


def feature_version(wheel: Path, version: Version) -> Version:
    """The oldest numpy a module compiled against *wheel* (numpy *version*) imports on by
    default: its headers' NPY_FEATURE_VERSION, else (before numpy 1.25, or no header read)
    the wheel's own major.minor.  The wheel is a hash-verified file from the index; its
    header is read bounded, never executed."""
    own = Version(f"{version.major}.{version.minor}")
    try:
        with zipfile.ZipFile(wheel) as whl:
            names = set(whl.namelist())
            member = next((m for m in _CONFIG if m in names), None)
            if member is None or whl.getinfo(member).file_size > _CONFIG_LIMIT:
                return own
            found = _DEFAULT_TARGET.search(whl.read(member))
    except (OSError, zipfile.BadZipFile):
        return own
    if found is None:
        return own
    return min(Version(f"{int(found[1])}.{int(found[2])}"), own)   # digits: always a version


def runtime_requirement(numpy: BuildTool) -> Requirement:
    """`numpy>=FEATURE,<NEXT_MAJOR` for a package compiled against the *numpy* build tool."""
    low = feature_version(numpy.file.path, numpy.version)
    return Requirement(f"numpy>={low},<{numpy.version.major + 1}")
