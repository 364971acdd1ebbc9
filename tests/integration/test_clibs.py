"""A C extension linking a system library (issue 11): libyaml, as PyYAML's speedups do.

A tiny sdist from the loopback index whose extension includes <yaml.h> and links -lyaml is
built for debian-12 with the real CLI.  repack must find libyaml-dev through the archive's
Contents index (fetched once per builder image into the cache), put it in Build-Depends and
install it in the offline build; dh_shlibdeps must make the .deb depend on libyaml-0-2; the
package must pass lintian, install in a clean Debian 12 container (apt pulls libyaml-0-2
from Debian) and the extension must import and call libyaml.

The same sdist built for el9: the Debian 11 stand-in builder must install bullseye's
libyaml-dev offline, the .src.rpm must BuildRequire libyaml-devel (the target's table), rpm's
ELF generator must make the rpm require libyaml-0.so.2, and the import check (on by
default) must install libyaml-0-2 beside it in the stand-in and import the extension.  There
its metadata is dynamic and its in-tree backend's metadata hook needs yaml.h, as
meson-python's (matplotlib's setup finds FreeType through pkg-config): `--with-deps` reads it
before the build, with the C libraries installed as the build has them.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import in_container, local_repo, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist, pkg_info_text

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration

NAME = "tiny-yaml"
# el9: an in-tree backend whose metadata hook needs the library's headers installed
HOOK_PYPROJECT = b"""\
[build-system]
requires = ["setuptools"]
build-backend = "backend"
backend-path = ["_build"]
"""
HOOK_BACKEND = b"""\
import os
from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F403


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    if not os.path.exists("/usr/include/yaml.h"):
        raise SystemExit("prepare_metadata_for_build_wheel: yaml.h is not installed")
    return _meta.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
"""
SETUP_PY = b"""\
from setuptools import Extension, setup

setup(
    name="tiny-yaml",
    version="1.0",
    description="A tiny test package linking libyaml",
    license="MIT",
    packages=["tiny_yaml"],
    ext_modules=[Extension("tiny_yaml._cyaml", ["tiny_yaml/_cyaml.c"], libraries=["yaml"])],
    python_requires=">=3.8",
)
"""
CYAML_C = b"""\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <yaml.h>

/* version() -> libyaml's version string, formatted by libc's snprintf: the module needs
   libyaml.so.0 and libc at run time. */
static PyObject *version(PyObject *self, PyObject *args) {
    char buf[64];
    snprintf(buf, sizeof buf, "libyaml %s", yaml_get_version_string());
    return PyUnicode_FromString(buf);
}

static PyMethodDef methods[] = {
    {"version", version, METH_NOARGS, "libyaml's version."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cyaml", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cyaml(void) { return PyModule_Create(&module); }
"""
# The import check imports top-level modules: this one loads the extension, and libyaml.
INIT_PY = (b'"""tiny-yaml: a tiny test package linking libyaml."""\n\n'
           b"from tiny_yaml._cyaml import version\n")


def build(tmp: Path, target: str, *args: str, files: dict[str, bytes] | None = None,
          pkg_info: str | None = None) -> subprocess.CompletedProcess[str]:
    # A unique sdist each run, so that the build cache never answers instead of a build.
    sdist = make_sdist(tmp / "sdists", NAME, "1.0", {
        "setup.py": SETUP_PY, "tiny_yaml/__init__.py": INIT_PY,
        "tiny_yaml/_cyaml.c": CYAML_C, "NONCE": str(time.time_ns()).encode(),
        **(files or {})}, summary="A tiny test package linking libyaml", pkg_info=pkg_info)
    started = time.monotonic()
    with LocalIndex() as index:
        index.add(NAME, sdist.name, sdist.read_bytes())
        proc = run_repack(["build", f"{NAME}==1.0", "-t", target, "-o", str(tmp / "out"),
                           "-v", *args], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    print(f"tiny-yaml built for {target} in {time.monotonic() - started:.0f} s")  # with -s
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("clibs")
    proc = build(tmp, "debian-12")
    (deb,) = (tmp / "out" / "debian-12").glob("*.deb")
    (changes,) = (tmp / "out" / "debian-12").glob("*.changes")
    (dsc,) = (tmp / "out" / "debian-12").glob("*.dsc")
    return {"deb": deb, "changes": changes, "dsc": dsc, "log": proc.stderr, "tmp": tmp}


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_libyaml_dev_found_and_runtime_library_depended_on(built: dict[str, Any]) -> None:
    deb = built["deb"]
    assert deb.name == "python3-tiny-yaml_1.0-0repack1~deb12_amd64.deb"
    assert "C libraries: libyaml-dev (-lyaml, yaml.h)" in built["log"]
    # the image lacks libyaml-dev: the network step runs (the image-has-them-all path is
    # test_debian_buildreqs's)
    assert "Downloading build dependencies (network on)" in built["log"]
    assert "Build dependencies: all in the builder image" not in built["log"]
    build_depends = next(line for line in built["dsc"].read_text().splitlines()
                         if line.startswith("Build-Depends:"))
    assert "libyaml-dev" in build_depends
    depends = [d.strip().split()[0] for d in field(deb, "Depends").split(",")]
    assert "libyaml-0-2" in depends           # ${shlibs:Depends}, from dh_shlibdeps
    assert "libc6" in depends


def test_lintian_clean(built: dict[str, Any]) -> None:
    proc = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                           built["changes"]], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_installs_and_imports_in_clean_container(built: dict[str, Any], container_engine: Engine,
                                                 base_image: Any) -> None:
    repo = local_repo([built["deb"]], built["tmp"] / "repo")
    script = """
echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/repack.list
apt-get update -q
apt-get install -y -q --no-install-recommends python3-tiny-yaml
dpkg-query -W -f='libyaml ${Version}\\n' libyaml-0-2
python3 -c 'import tiny_yaml._cyaml as m; print("libyaml says", m.version())'
"""
    out = in_container(container_engine, base_image("debian-12"), script,
                       mounts=[Mount(source=repo, target="/repo", readonly=True)])
    assert "libyaml 0.2.5" in out
    assert "libyaml says libyaml 0.2.5" in out


@pytest.fixture(scope="module")
def built_el9(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("clibs-el9")
    # setuptools 52 (bullseye's) reads no [project] table: the metadata is setup.py's, and
    # no newer setuptools is fetched
    proc = build(tmp, "el9", "--with-deps",
                 files={"pyproject.toml": HOOK_PYPROJECT, "_build/backend.py": HOOK_BACKEND},
                 pkg_info=pkg_info_text(NAME, "1.0", summary="A tiny test package linking "
                                        "libyaml", metadata_version="2.1"))
    (rpm,) = (tmp / "out" / "el9").glob("*.x86_64.rpm")
    (srpm,) = (tmp / "out" / "el9").glob("*.src.rpm")
    return {"rpm": rpm, "srpm": srpm, "log": proc.stderr}


def rpm_q(path: Path, *query: str) -> list[str]:
    return subprocess.run(["rpm", "-qp", *query, path], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_el9_headers_build_requires_and_elf_requires(built_el9: dict[str, Any]) -> None:
    assert "C libraries: libyaml-dev (-lyaml, yaml.h)" in built_el9["log"]
    assert "Installing libyaml-dev in the stand-in builder" in built_el9["log"]
    # the extension was compiled (against the stand-in's yaml.h) and links libyaml
    files = rpm_q(built_el9["rpm"], "--list")
    assert ("/usr/lib64/python3.9/site-packages/tiny_yaml/_cyaml.cpython-39-x86_64-linux-gnu.so"
            in files), files
    assert "libyaml-0.so.2()(64bit)" in rpm_q(built_el9["rpm"], "--requires")
    build_requires = rpm_q(built_el9["srpm"], "--requires")   # a .src.rpm's BuildRequires
    assert "libyaml-devel" in build_requires, build_requires
    assert not any(r.endswith("-dev") for r in build_requires), build_requires


def test_el9_import_check_loads_libyaml(built_el9: dict[str, Any]) -> None:
    """The check installs the rpm with --nodeps in the stand-in: the library its ELF
    Requires name comes from the stand-in's archive, and `import tiny_yaml` loads it."""
    assert "the libraries the packages link: libyaml-0-2" in built_el9["log"]
    assert "Import check on el9: 1 package(s), 1 module(s)" in built_el9["log"]
