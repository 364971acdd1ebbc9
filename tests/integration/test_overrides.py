"""[packages.<name>] overrides in real builds (issue 11 item 2): one tiny project from a
LocalIndex, built once for debian-12 and el9 with a patch, an excluded file, an extra
run-time dependency, run-time requirements its metadata lacks and a conflict, an
environment variable its setup.py writes into the package, and PEP 517 config settings its
in-tree backend insists on in every hook and writes into it too."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Wheels, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

pytestmark = pytest.mark.integration

NAME, VERSION = "tiny-over", "1.0"
FLAVOUR = "100% seen, it's $set"      # % for rpm, $ for make, ' for the shell
PATCH = b"""\
--- a/tiny_over/greet.py
+++ b/tiny_over/greet.py
@@ -1 +1 @@
-GREETING = "unpatched"
+GREETING = "patched"
"""
# No [project] table: the builders' own setuptools (52 for el9) build it, through an in-tree
# backend; only el9's pip (20.3 has no --config-settings) is fetched, as a verified wheel.
PYPROJECT = b"""\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "backend"
backend-path = ["_build"]
"""
# Every hook a frontend may call refuses to run without the config settings (as a meson
# subproject would download without matplotlib's setup-args) or the environment (as
# pytokens compiles with mypyc without PYTOKENS_USE_MYPYC=0); build_wheel writes them in.
SETTINGS = {"single": "x", "tiny-flavour": ["a=1", "b"]}    # as the hooks get them
BACKEND = b"""\
import json, os
from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F403

WANT = %s
FLAVOUR = %s


def _check(hook, config_settings):
    if config_settings != WANT:
        raise SystemExit(f"{hook}: config settings {config_settings!r}")
    if os.environ.get("TINY_FLAVOUR") != FLAVOUR:
        raise SystemExit(f"{hook}: TINY_FLAVOUR {os.environ.get('TINY_FLAVOUR')!r}")


def get_requires_for_build_wheel(config_settings=None):
    _check("get_requires_for_build_wheel", config_settings)
    return _meta.get_requires_for_build_wheel()


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _check("prepare_metadata_for_build_wheel", config_settings)
    return _meta.prepare_metadata_for_build_wheel(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _check("build_wheel", config_settings)
    with open(os.path.join("tiny_over", "settings.py"), "w") as f:
        f.write("SETTINGS = %%r\\n" %% (config_settings,))
    return _meta.build_wheel(wheel_directory, None, metadata_directory)
""" % (json.dumps(SETTINGS, sort_keys=True).encode(), json.dumps(FLAVOUR).encode())
# build_py writes what the build's environment says into the package
SETUP_PY = b"""\
import os
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        with open(os.path.join(self.build_lib, "tiny_over", "flavour.txt"), "w") as f:
            f.write(os.environ.get("TINY_FLAVOUR", "unset"))


setup(name="tiny-over", version="1.0", description="A tiny test package", license="MIT",
      packages=["tiny_over"], cmdclass={"build_py": BuildPy})
"""
CONFIG = f"""\
[packages.tiny_over]
depends = {{ deb = ["libpq5 (>= 14)"], rpm = ["libpq >= 14"] }}
conflicts = {{ deb = ["python3-tiny-over-old"], rpm = ["python3-tiny-over-old < 2"] }}
recommends.deb = ["python3-numpy (>= 1:1.20) | python3-scipy"]
recommends.rpm = ["python3dist(numpy) >= 1.20"]
exclude = ["/usr/lib/python3*/*/tiny_over/debug_helper.py"]
patches = ["patches/0001-greet.patch"]
env = {{ TINY_FLAVOUR = {json.dumps(FLAVOUR)} }}
config-settings = {{ tiny-flavour = ["a=1", "b"], single = "x" }}
requires-dist = ["packaging>=20", 'tomli; python_version < "3.11"']
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory,
          pypi_wheels: Wheels) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("overrides")
    archive = make_sdist(tmp / "sdist", NAME, VERSION, {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY, "_build/backend.py": BACKEND,
        "tiny_over/greet.py": b'GREETING = "unpatched"\n',
        "tiny_over/debug_helper.py": b"DEBUG = True\n",
    })
    (tmp / "patches").mkdir()
    (tmp / "patches" / "0001-greet.patch").write_bytes(PATCH)
    (tmp / "repack.toml").write_text(CONFIG)
    with LocalIndex() as index:
        index.add(NAME, archive.name, archive.read_bytes())
        for whl in pypi_wheels("3.9", "--no-deps", "pip"):     # el9: pip >= 23.1
            index.add("pip", whl.name, whl.read_bytes())
        # --no-check: the test reads the packages' files, it installs nothing
        proc = run_repack(["build", "--json", "--no-check", f"{NAME}=={VERSION}",
                           "-t", "debian-12", "-t", "el9",
                           "--config", str(tmp / "repack.toml"), "-o", str(tmp / "out")],
                          env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    paths = {a["format"]: Path(a["path"]) for a in result["artifacts"]
             if a["format"] in ("deb", "rpm")}
    unpacked = {}
    for fmt, path in paths.items():
        dest = tmp / f"unpacked-{fmt}"
        dest.mkdir()
        if fmt == "deb":
            subprocess.run(["dpkg-deb", "-x", str(path), str(dest)], check=True)
        else:
            cpio = subprocess.run(["rpm2cpio", str(path)], capture_output=True,
                                  check=True).stdout
            subprocess.run(["cpio", "-idm", "--quiet"], input=cpio, cwd=dest, check=True)
        unpacked[fmt] = dest
    yield {"paths": paths, "unpacked": unpacked, "debian_tar": next(
        Path(a["path"]) for a in result["artifacts"] if a["format"] == "debian-tar")}


SITE = {"deb": "usr/lib/python3/dist-packages", "rpm": "usr/lib/python3.9/site-packages"}


@pytest.mark.parametrize("fmt", ["deb", "rpm"])
def test_the_installed_files(built: dict[str, Any], fmt: str) -> None:
    module = built["unpacked"][fmt] / SITE[fmt] / "tiny_over"
    assert (module / "greet.py").read_text() == 'GREETING = "patched"\n'
    assert (module / "__init__.py").is_file()
    assert not (module / "debug_helper.py").exists()
    assert (module / "flavour.txt").read_text() == FLAVOUR
    assert (module / "settings.py").read_text() == f"SETTINGS = {SETTINGS!r}\n"


def test_the_extra_relations(built: dict[str, Any]) -> None:
    deb = subprocess.run(["dpkg-deb", "-f", str(built["paths"]["deb"]), "Depends", "Conflicts",
                          "Recommends"], capture_output=True, text=True, check=True).stdout
    fields = dict(ln.split(": ", 1) for ln in deb.splitlines())
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert "libpq5 (>= 14)" in depends
    # requires-dist, mapped for the target: Debian 12's Python 3.11 needs no tomli
    assert "python3-packaging (>= 20)" in depends
    assert not any(d.startswith("python3-tomli") for d in depends)
    assert fields["Conflicts"] == "python3-tiny-over-old"
    assert fields["Recommends"] == "python3-numpy (>= 1:1.20) | python3-scipy"
    rpm = subprocess.run(["rpm", "-qp", "--recommends", str(built["paths"]["rpm"])],
                         capture_output=True, text=True, check=True).stdout
    assert rpm.splitlines() == ["python3dist(numpy) >= 1.20"]
    rpm = subprocess.run(["rpm", "-qp", "--requires", str(built["paths"]["rpm"])],
                         capture_output=True, text=True, check=True).stdout
    assert "libpq >= 14" in rpm.splitlines()
    assert {"python3dist(packaging) >= 20", "python3dist(tomli)"} <= set(rpm.splitlines())
    rpm = subprocess.run(["rpm", "-qp", "--conflicts", str(built["paths"]["rpm"])],
                         capture_output=True, text=True, check=True).stdout
    assert rpm.splitlines() == ["python3-tiny-over-old < 2"]


def test_the_source_packages_carry_the_patch(built: dict[str, Any]) -> None:
    listing = subprocess.run(["tar", "-tJf", str(built["debian_tar"])], capture_output=True,
                             text=True, check=True).stdout.split()
    assert {"debian/patches/series", "debian/patches/0001-greet.patch"} <= set(listing)
    srpm = built["paths"]["rpm"].parent.glob("*.src.rpm")
    files = subprocess.run(["rpm", "-qpl", str(next(srpm))], capture_output=True, text=True,
                           check=True).stdout.split()
    assert "0001-greet.patch" in files
