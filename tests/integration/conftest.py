"""Fixtures for the integration tests: the real repack CLI, real containers, real apt.

The builder and base images live in repack's normal cache (REPACK_CACHE_DIR or the XDG
cache dir) so that they are bootstrapped once and reused across runs; the first run of
the suite on a fresh machine bootstraps them (about a minute per target).

`repack build` runs the import check (repack.check) by default; the tests that are not about
installability pass --no-check (the suite's time budget), those that install packages keep it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from repack import config, targets
from repack.container import engine, images

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


def run_repack(args: Sequence[str], *, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "repack", *args], capture_output=True, check=False,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=1800)


@pytest.fixture(scope="session")
def container_engine() -> engine.Engine:
    try:
        return engine.detect()
    except Exception as e:  # noqa: BLE001 - report why integration tests cannot run
        pytest.fail(f"integration tests need a container engine: {e}")


@pytest.fixture(scope="session")
def base_image(container_engine: engine.Engine) -> Callable[[str], str]:
    """A clean minbase image of a target (no toolchain), for installing what we built."""
    settings = config.load()

    def get(target_id: str) -> str:
        img = images.image_for(targets.load(target_id), "base", settings.cache_dir)
        return images.ensure(container_engine, img).tag
    return get


def local_repo(debs: Sequence[Path], dest: Path) -> Path:
    """A flat apt repository of debs (dpkg-scanpackages), for `deb [trusted=yes] file:`.
    Signed repositories are the publishing stage's job; here we test the packages."""
    dest.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copy2(deb, dest / deb.name)
    packages = subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=dest,
                              capture_output=True, check=True).stdout
    (dest / "Packages").write_bytes(packages)
    return dest


def in_container(eng: engine.Engine, image: str, script: str, *,
                 mounts: Sequence[engine.Mount] = ()) -> str:
    """Run a test script (our own text) with the network on; return its output."""
    argv = eng.run_argv(image, ["sh", "-euxc", script], mounts=mounts, network=True)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"container script failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


Wheels = Callable[..., list[Path]]


@pytest.fixture(scope="session")
def pypi_wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    """`pypi_wheels(python, *pip_download_args)`: real wheels from PyPI (with their
    dependencies unless --no-deps) for Python `python`, downloaded once per session for each
    set: the backend floor and fallback tests serve the same setuptools to several builds."""
    got: dict[tuple[str, ...], list[Path]] = {}

    def get(python: str, *args: str) -> list[Path]:
        if (python, *args) not in got:
            dest = tmp_path_factory.mktemp("wheels")
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                            ":all:", "--python-version", python, "-d", dest, *args], check=True)
            got[(python, *args)] = sorted(dest.glob("*.whl"))
        return got[(python, *args)]
    return get


def build_json(args: Sequence[str], **kw: object) -> dict[str, object]:
    proc = run_repack(["build", "--json", *args], **kw)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


# The maintainer the README's publishing walk-through (test_readme_blocks.py) gets from its
# signing key (`repack key generate --email packages@example.org`, default name): the session's
# other django builds name it too, through the environment, so that one build of django for
# debian-12 serves the closure, test_apt_repo and the walk-through (the build cache key covers
# the maintainer; the suite's time budget).
README_MAINTAINER = {"DEBFULLNAME": "repack repository", "DEBEMAIL": "packages@example.org"}


@pytest.fixture(scope="session")
def django_closure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`repack build django==4.2 --with-deps -t debian-12 -t el9`, once per session: the
    closure test checks the whole set, test_rpm and test_debian read their details from it
    instead of building again (the suite's time budget).

    "lintian": the result of lintian on the debian-12 .changes (django's source and .deb),
    started here and run beside the tests until test_django_closure asks for it: it takes
    half a minute of its own (the suite's time budget)."""
    out = tmp_path_factory.mktemp("closure")
    result = build_json(["django==4.2", "--with-deps", "-t", "debian-12", "-t", "el9",
                         "-o", str(out)], env=README_MAINTAINER)
    artifacts: list[dict[str, str]] = result["artifacts"]  # type: ignore[assignment]
    (changes,) = [a["path"] for a in artifacts
                  if a["target"] == "debian-12" and a["format"] == "changes"]
    lintian = subprocess.Popen(["lintian", "--fail-on", "error", "--no-tag-display-limit",
                                changes], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)

    @functools.cache
    def lintian_result() -> subprocess.CompletedProcess[str]:
        stdout, stderr = lintian.communicate(timeout=1800)
        return subprocess.CompletedProcess(lintian.args, lintian.returncode, stdout, stderr)

    try:
        yield {"out": out, "result": result, "lintian": lintian_result}
    finally:
        if lintian.poll() is None:      # its test did not run (a -k selection)
            lintian.kill()
        lintian.communicate()
