"""A C extension on numpy's C API, built against the index's numpy (issue 11: scikit-learn on
Debian 12, whose `numpy>=2` build requirement bookworm's numpy 1.24 does not meet).

A tiny sdist from the loopback index, whose extension includes <numpy/arrayobject.h> and
calls import_array(), is built for debian-12 with the real CLI; the loopback index serves
the real numpy wheel for Python 3.11 beside it.  dh_numpy3 has no archive numpy to write
python3-numpy-abi9 from, so repack must make the .deb depend on the numpy range the wheel's
headers build for (repack.deb.numpyabi); lintian must not report
missing-dependency-on-numpy-abi (it did before); and the import check (on by default) must
install Debian 12's own numpy 1.24 beside it and import the extension, which calls numpy.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from conftest import Wheels, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import default_files, make_sdist

pytestmark = [pytest.mark.integration, pytest.mark.network]

NAME = "np-abi-demo"
SUMMARY = "A tiny test package on numpy's C API"
# sdists' default pyproject.toml (setuptools, the package, `numpy>=1.22` at run time), with
# numpy 2 to build against
PYPROJECT = default_files(NAME, "1.0", summary=SUMMARY, requires_dist=["numpy>=1.22"],
                          requires_python=">=3.9")["pyproject.toml"].replace(
    b'requires = ["setuptools>=61"]', b'requires = ["setuptools>=61", "numpy>=2"]')
SETUP_PY = b"""\
import numpy
from setuptools import Extension, setup

setup(ext_modules=[Extension("np_abi_demo._zeros", ["np_abi_demo/_zeros.c"],
                             include_dirs=[numpy.get_include()])])
"""
ZEROS_C = b"""\
#define PY_SSIZE_T_CLEAN
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <Python.h>
#include <numpy/arrayobject.h>

/* zeros(n) -> a float64 array of n zeros, made through numpy's C API */
static PyObject *zeros(PyObject *self, PyObject *arg) {
    npy_intp n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred()) return NULL;
    return PyArray_ZEROS(1, &n, NPY_DOUBLE, 0);
}

static PyMethodDef methods[] = {{"zeros", zeros, METH_O, "n zeros."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_zeros", NULL, -1, methods};

PyMODINIT_FUNC PyInit__zeros(void) {
    import_array();
    return PyModule_Create(&module);
}
"""
# The import check imports the top-level module: this one loads the extension, which imports
# numpy's C API, and calls it.
INIT_PY = (b'"""np-abi-demo: a tiny test package on numpy\'s C API."""\n\n'
           b"from np_abi_demo._zeros import zeros\n\nassert zeros(3).sum() == 0.0\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, pypi_wheels: Wheels) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("numpyabi")
    (numpy,) = pypi_wheels("3.11", "--no-deps", "numpy>=2")
    assert b'"numpy>=2"' in PYPROJECT
    # a unique sdist each run, so that the build cache never answers instead of a build
    sdist = make_sdist(tmp / "sdists", NAME, "1.0", {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY, "np_abi_demo/__init__.py": INIT_PY,
        "np_abi_demo/_zeros.c": ZEROS_C, "NONCE": str(time.time_ns()).encode()},
        summary=SUMMARY, requires_dist=["numpy>=1.22"], requires_python=">=3.9")
    with LocalIndex() as index:
        index.add(NAME, sdist.name, sdist.read_bytes())
        index.add("numpy", numpy.name, numpy.read_bytes())
        proc = run_repack(["build", f"{NAME}==1.0", "-t", "debian-12", "-o", str(tmp / "out"),
                           "-v"], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr[-4000:]
    (deb,) = (tmp / "out" / "debian-12").glob("*.deb")
    (changes,) = (tmp / "out" / "debian-12").glob("*.changes")
    return {"deb": deb, "changes": changes, "log": proc.stderr, "numpy": numpy}


def test_built_against_the_index_numpy_and_imported_with_the_archive_one(
        built: dict[str, Any]) -> None:
    version = built["numpy"].name.split("-")[1]
    assert f"Installing build tools numpy=={version}" in built["log"]
    assert "Import check on debian-12" in built["log"]
    depends = subprocess.run(["dpkg-deb", "-f", built["deb"], "Depends"], capture_output=True,
                             text=True, check=True).stdout
    groups = [g.strip() for g in depends.split(",")]
    # numpy 2's default C-API (dpkg-gencontrol folds the project's own `>= 1:1.22` into it),
    # and the wheel's next major
    assert "python3-numpy (>= 1:1.23)" in groups, groups
    assert "python3-numpy (<< 1:3~~)" in groups, groups


def test_lintian_finds_the_numpy_abi_dependency(built: dict[str, Any]) -> None:
    proc = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                           built["changes"]], capture_output=True, text=True, check=False)
    report = proc.stdout + proc.stderr
    assert "missing-dependency-on-numpy-abi" not in report, report
    assert proc.returncode == 0, report
