"""An arch-specific rpm: a tiny sdist with a C extension, built for el9 with the real CLI.

The project is served from the loopback index; its setup.py builds one extension module
with the builder's gcc against Debian 11's glibc 2.31 and CPython 3.9 headers.  The rpm must
be x86_64, install the module to /usr/lib64/python3.9/site-packages (%{python3_sitearch}),
carry rpm's ELF dependencies on libc beside python(abi) = 3.9, pass rpmlint, install with dnf,
and the module must import and run under the builder's Python 3.9 (no EL9 image here).
"""

from __future__ import annotations

import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from rpmcheck import dnf_install, rpm_q, rpmlint
from sdists import make_sdist

from repack import config, targets
from repack.container import images
from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration

NAME = "tiny-native"
SITEARCH = "/usr/lib64/python3.9/site-packages"
# setuptools 52 (bullseye's) reads no [project] table: the metadata is setup.py's.
PYPROJECT = b"""\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
SETUP_PY = b"""\
from setuptools import Extension, setup

setup(
    name="tiny-native",
    version="1.0",
    description="A tiny test package with a C extension",
    license="MIT",
    packages=["tiny_native"],
    ext_modules=[Extension("tiny_native._native", ["tiny_native/_native.c"])],
    python_requires=">=3.8",
)
"""
NATIVE_C = b"""\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>

/* greet(n) -> "native 2*n": formatted by libc's snprintf, so the object needs libc. */
static PyObject *greet(PyObject *self, PyObject *args) {
    long n;
    char buf[64];
    if (!PyArg_ParseTuple(args, "l", &n))
        return NULL;
    snprintf(buf, sizeof buf, "native %ld", 2 * n);
    return PyUnicode_FromString(buf);
}

static PyMethodDef methods[] = {
    {"greet", greet, METH_VARARGS, "Format 2*n in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""
INIT_PY = b'''\
"""tiny-native: a tiny test package with a C extension."""

from tiny_native._native import greet

__version__ = "1.0"
__all__ = ["greet"]
'''
PROBE = ("import sys, tiny_native, tiny_native._native as m; "
         "print(sys.version.split()[0], tiny_native.greet(21), m.__file__)")


@pytest.fixture(scope="module")
def native_rpm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("native")
    # A unique sdist each run, so that the build cache never answers instead of a build.
    sdist = make_sdist(tmp / "sdists", NAME, "1.0", {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY,
        "tiny_native/__init__.py": INIT_PY, "tiny_native/_native.c": NATIVE_C,
        "NONCE": str(time.time_ns()).encode()},
        summary="A tiny test package with a C extension")
    with LocalIndex() as index:
        index.add(NAME, sdist.name, sdist.read_bytes())
        proc = run_repack(["build", f"{NAME}==1.0", "-t", "el9", "-o", str(tmp / "out"), "-v"],
                          env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    (rpm,) = (tmp / "out" / "el9").glob("*.x86_64.rpm")
    (srpm,) = (tmp / "out" / "el9").glob("*.src.rpm")
    return {"rpm": rpm, "srpm": srpm, "log": proc.stderr}


def test_arch_specific_rpm_in_sitearch(native_rpm: dict[str, Any]) -> None:
    rpm = native_rpm["rpm"]
    assert rpm.name == "python3-tiny-native-1.0-0.repack1.el9.x86_64.rpm"
    assert rpm_q(rpm, "--queryformat", "%{ARCH}") == ["x86_64"]
    assert not list(rpm.parent.glob("*debug*")), "no -debuginfo/-debugsource packages"
    files = rpm_q(rpm, "--list")
    (so,) = [f for f in files if f.endswith(".so")]
    assert so == f"{SITEARCH}/tiny_native/_native.cpython-39-x86_64-linux-gnu.so"
    assert f"{SITEARCH}/tiny_native/__init__.py" in files
    assert any(f.startswith(f"{SITEARCH}/tiny_native-1.0.dist-info/") for f in files)
    assert not any(f.startswith("/usr/lib/python3.9/") for f in files)
    # Built as arch-specific from the start: the sources said so (Project.has_native_code).
    assert "building tiny-native again" not in native_rpm["log"]


def test_elf_and_python_requires(native_rpm: dict[str, Any]) -> None:
    requires = rpm_q(native_rpm["rpm"], "--requires")
    assert "python(abi) = 3.9" in requires
    assert "libc.so.6()(64bit)" in requires, requires
    assert any(r.startswith("libc.so.6(GLIBC_2.") and r.endswith(")(64bit)")
               for r in requires), requires
    assert "rtld(GNU_HASH)" in requires, requires
    build_requires = rpm_q(native_rpm["srpm"], "--requires")
    assert "gcc" in build_requires


def test_rpmlint_no_errors(native_rpm: dict[str, Any]) -> None:
    for path in (native_rpm["rpm"], native_rpm["srpm"]):
        proc = rpmlint(path)
        assert " 0 errors" in proc.stdout, f"{path.name}:\n{proc.stdout}\n{proc.stderr}"
        assert "unstripped-binary-or-object" not in proc.stdout, proc.stdout


def test_extension_imports_and_runs(native_rpm: dict[str, Any], container_engine: Engine,
                                    tmp_path: Path) -> None:
    """The payload, extracted on the host, imported by the el9 builder's Python 3.9 (Debian
    11's glibc 2.31, the oldest glibc the object can meet: EL9 has 2.34)."""
    rpm = tmp_path / native_rpm["rpm"].name
    rpm.write_bytes(native_rpm["rpm"].read_bytes())
    subprocess.run(["rpm2archive", "-n", rpm], check=True, capture_output=True)
    root = tmp_path / "root"
    with tarfile.open(f"{rpm}.tar") as tar:
        tar.extractall(root, filter="data")
    image = images.image_for(targets.load("el9"), "builder", config.load().cache_dir)
    argv = container_engine.run_argv(
        image.tag, ["python3.9", "-c", PROBE],
        mounts=[Mount(source=root, target="/payload", readonly=True)],
        env={"PYTHONPATH": f"/payload{SITEARCH}"})
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    python, word, number, path = proc.stdout.split()
    assert python.startswith("3.9.") and (word, number) == ("native", "42")
    assert path == f"/payload{SITEARCH}/tiny_native/_native.cpython-39-x86_64-linux-gnu.so"


GLIBC_STUB = """\
Name: repack-test-glibc-stub
Version: 2.34
Release: 1
Summary: Test stub: the glibc symbol versions the package requires
License: MIT
BuildArch: noarch
{provides}

%description
Stands in for EL9's glibc in an empty installroot.

%files
"""


def glibc_stub(tmp: Path, requires: list[str]) -> Path:
    """A package providing the ELF requirements (libc.so.6(GLIBC_2.x)(64bit), rtld(...)):
    the installroot has no EL9 glibc, whose provides these are."""
    elf = [r for r in requires if r.startswith(("libc.so.", "rtld("))]
    (tmp / "glibc.spec").write_text(GLIBC_STUB.format(
        provides="\n".join(f"Provides: {r}" for r in elf)))
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp / 'glibc'}",
                    tmp / "glibc.spec"], check=True, capture_output=True)
    (rpm,) = (tmp / "glibc" / "RPMS" / "noarch").glob("*.rpm")
    return rpm


def test_installs_with_dnf(native_rpm: dict[str, Any], tmp_path: Path) -> None:
    """dnf resolves and installs it in an installroot: the interpreter stub provides
    python(abi) = 3.9, a glibc stub the ELF dependencies (tests/rpmcheck.py)."""
    rpm = native_rpm["rpm"]
    stub = glibc_stub(tmp_path, rpm_q(rpm, "--requires"))
    root = dnf_install([rpm, stub], ["python3-tiny-native"], tmp_path)
    assert (root / SITEARCH.lstrip("/") / "tiny_native" /
            "_native.cpython-39-x86_64-linux-gnu.so").is_file()


# No C sources, so repack first maps it noarch; its distclass makes the wheel a platform one.
PLATFORM_SETUP_PY = b"""\
from setuptools import setup
from setuptools.dist import Distribution


class PlatformDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(name="tiny-platform", version="1.0", license="MIT", packages=["tiny_platform"],
      distclass=PlatformDistribution)
"""


def test_platform_wheel_without_c_sources_is_built_arch_specific(tmp_path: Path) -> None:
    """The sources decide first (Project.has_native_code); the built wheel has the last word:
    a platform wheel refused in the noarch package is built again as x86_64."""
    sdist = make_sdist(tmp_path / "sdists", "tiny-platform", "1.0", {
        "pyproject.toml": PYPROJECT, "setup.py": PLATFORM_SETUP_PY,
        "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as index:
        index.add("tiny-platform", sdist.name, sdist.read_bytes())
        proc = run_repack(["build", "tiny-platform==1.0", "-t", "el9", "-o",
                           str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    assert "building tiny-platform again as arch-specific" in proc.stderr
    names = sorted(p.name for p in (tmp_path / "out" / "el9").glob("*.rpm"))
    assert names == ["python3-tiny-platform-1.0-0.repack1.el9.src.rpm",
                     "python3-tiny-platform-1.0-0.repack1.el9.x86_64.rpm"]
    rpm = tmp_path / "out" / "el9" / names[1]
    files = rpm_q(rpm, "--list")
    # The wheel's root (its .dist-info) goes to sitearch; setuptools put the pure module
    # under .data/purelib/, which goes to sitelib, as pip installs it.
    assert f"{SITEARCH}/tiny_platform-1.0.dist-info/METADATA" in files
    assert "/usr/lib/python3.9/site-packages/tiny_platform/__init__.py" in files
