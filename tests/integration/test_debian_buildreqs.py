"""A Debian build whose build backend the archive has too old: the backend comes from the
index as a hash-verified wheel and is installed in the offline builder (issue 4, item 2).

The project requires `flit_core>=3.9`; Debian 12 has flit 3.8.  The LocalIndex is the only
index: it serves the crafted sdist and the real flit_core 3.9.0 wheel, downloaded from
PyPI during the setup (flit_core has no dependencies, the cheapest real backend).
"""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

from repack import buildreqs, config, targets
from repack.container import engine, images

pytestmark = pytest.mark.integration

FLIT_CORE = "flit_core==3.9.0"
PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "newflit-app"
version = "1.0"
description = "A tiny test package built with a flit_core newer than Debian 12's"
license = {text = "MIT"}
requires-python = ">=3.8"
dependencies = []
"""


@pytest.mark.network
def test_backend_too_old_in_debian_comes_as_verified_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                    ":all:", "--no-deps", "-d", wheels, FLIT_CORE], check=True)
    (wheel,) = wheels.glob("flit_core-3.9.0-*.whl")
    # A unique sdist each run, so that the build cache never answers instead of a build.
    sdist = make_sdist(tmp_path / "sdists", "newflit-app", "1.0",
                       {"pyproject.toml": PYPROJECT.encode(),
                        "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as index:
        index.add("newflit-app", sdist.name, sdist.read_bytes())
        index.add("flit-core", wheel.name, wheel.read_bytes())
        proc = run_repack(["build", "--no-check", "newflit-app==1.0", "-t", "debian-12",
                           "-o", str(tmp_path / "out"), "-v"],
                          env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "Fetching build tools Debian 12 (bookworm) lacks: flit_core<4,>=3.9" in err
    assert "Installing build tools flit-core==3.9.0 (verified wheels, network off)" in err
    # debhelper, dh-python and pip are in the builder image: no apt step at all
    assert "Build dependencies: all in the builder image, nothing to download" in err
    assert "Downloading build dependencies" not in err
    assert "is not satisfied" not in err
    (deb,) = (tmp_path / "out" / "debian-12").glob("*.deb")
    assert deb.name == "python3-newflit-app_1.0-0repack1~deb12_all.deb"
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    assert "./usr/lib/python3/dist-packages/newflit_app/__init__.py" in files
    (dsc,) = (tmp_path / "out" / "debian-12").glob("*.dsc")
    build_depends = next(ln for ln in dsc.read_text().splitlines()
                         if ln.startswith("Build-Depends:"))
    assert "flit" not in build_depends and "pip" not in build_depends, build_depends


def _wheel(dest: Path, name: str, files: dict[str, str]) -> Path:
    """A minimal pure wheel: the files, METADATA, WHEEL and RECORD."""
    dist_info = f"{name}-1.0.dist-info"
    files = {**files, f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\n"
             "Version: 1.0\n", f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
             "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},,\n" for path in [*files, f"{dist_info}/RECORD"])
    path = dest / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in {**files, f"{dist_info}/RECORD": record}.items():
            whl.writestr(member, text)
    return path


@pytest.mark.parametrize("target_id", ["debian-12", "debian-13"])
def test_wheels_sharing_a_namespace_file_install_as_with_pip(
        target_id: str, tmp_path: Path, container_engine: engine.Engine) -> None:
    """Two build tools of one pkgutil-style namespace both ship ns/__init__.py: the builder's
    python3-installer (which refuses to write over a file) installs both, as pip did."""
    init = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    for name in ("ns_one", "ns_two"):
        _wheel(tmp_path, name, {"ns/__init__.py": init, f"ns/{name}.py": "OK = True\n"})
    wheels = [f"/wheels/{w.name}" for w in sorted(tmp_path.glob("*.whl"))]
    image = images.ensure(container_engine, images.image_for(targets.load(target_id), "builder",
                                                             config.load().cache_dir))
    with container_engine.container(image.tag, mounts=[engine.Mount(
            source=tmp_path, target="/wheels", readonly=True)]) as c:
        c.exec(["python3", "-c", buildreqs.INSTALL_SCRIPT, *wheels])
        out = c.exec(["python3", "-c", ("import ns.ns_one, ns.ns_two, importlib.metadata as m; "
                                        "print(ns.ns_one.OK, ns.ns_two.OK, m.version('ns_two'))")])
    assert out.split() == ["True", "True", "1.0"]


@pytest.mark.parametrize("target_id", ["debian-12", "debian-13"])
def test_the_builder_does_not_byte_compile_what_a_build_installs(
        container_engine: engine.Engine, target_id: str) -> None:
    """The python3-* postinsts' py3compile (two thirds of installing a build's dependencies)
    is a no-op in a builder, diverted so that an upgraded python3-minimal keeps it one; the
    real one is kept beside it."""
    image = images.ensure(container_engine, images.image_for(targets.load(target_id), "builder",
                                                             config.load().cache_dir))
    out = container_engine.run(image.tag, ["sh", "-c", (
        "dpkg-divert --truename /usr/bin/py3compile; readlink -f /usr/bin/py3compile; "
        "test -x /usr/bin/py3compile.distrib && py3compile -p python3-setuptools && echo ok")])
    assert out.split() == ["/usr/bin/py3compile.distrib", "/usr/bin/true", "ok"]
