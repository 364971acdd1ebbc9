"""[packages.<name>] overrides in real builds (issue 11 item 2): one tiny project from a
LocalIndex, built once for debian-12 and el9 with a patch, an excluded file, an extra
run-time dependency and an environment variable its setup.py writes into the package."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
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
# No [project] table: the builders' own setuptools (52 for el9) build it, no wheel is fetched.
PYPROJECT = b"""\
[build-system]
requires = ["setuptools>=40.8"]
build-backend = "setuptools.build_meta"
"""
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
exclude = ["/usr/lib/python3*/*/tiny_over/debug_helper.py"]
patches = ["patches/0001-greet.patch"]
env = {{ TINY_FLAVOUR = {json.dumps(FLAVOUR)} }}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("overrides")
    archive = make_sdist(tmp / "sdist", NAME, VERSION, {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY,
        "tiny_over/greet.py": b'GREETING = "unpatched"\n',
        "tiny_over/debug_helper.py": b"DEBUG = True\n",
    })
    (tmp / "patches").mkdir()
    (tmp / "patches" / "0001-greet.patch").write_bytes(PATCH)
    (tmp / "repack.toml").write_text(CONFIG)
    with LocalIndex() as index:
        index.add(NAME, archive.name, archive.read_bytes())
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


def test_the_extra_dependency(built: dict[str, Any]) -> None:
    deb = subprocess.run(["dpkg-deb", "-f", str(built["paths"]["deb"]), "Depends"],
                         capture_output=True, text=True, check=True).stdout
    assert "libpq5 (>= 14)" in [d.strip() for d in deb.split(",")]
    rpm = subprocess.run(["rpm", "-qp", "--requires", str(built["paths"]["rpm"])],
                         capture_output=True, text=True, check=True).stdout
    assert "libpq >= 14" in rpm.splitlines()


def test_the_source_packages_carry_the_patch(built: dict[str, Any]) -> None:
    listing = subprocess.run(["tar", "-tJf", str(built["debian_tar"])], capture_output=True,
                             text=True, check=True).stdout.split()
    assert {"debian/patches/series", "debian/patches/0001-greet.patch"} <= set(listing)
    srpm = built["paths"]["rpm"].parent.glob("*.src.rpm")
    files = subprocess.run(["rpm", "-qpl", str(next(srpm))], capture_output=True, text=True,
                           check=True).stdout.split()
    assert "0001-greet.patch" in files
