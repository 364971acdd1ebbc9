"""Shared pytest fixtures."""

from __future__ import annotations

import _posixsubprocess
import os
import shutil
import subprocess
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# pytest puts the directory of this conftest (tests/ has no __init__.py) on sys.path.
from localindex import LocalIndex
from repotools import gnupg_home, new_key


@pytest.fixture
def local_index() -> Iterator[LocalIndex]:
    """A PEP 691/503 simple index on 127.0.0.1, empty until the test `add()`s files."""
    with LocalIndex() as index:
        yield index


@pytest.fixture(scope="session")
def home_template() -> Iterator[Path]:
    """The key of `home`, generated once per session (the suite's time budget)."""
    with gnupg_home() as h:
        new_key(h)
        yield h


@pytest.fixture(scope="session")
def rsa_home_template() -> Iterator[Path]:
    """The key of `rsa_home`, generated once per session: RSA-4096 takes seconds."""
    with gnupg_home() as h:
        new_key(h, algorithm="rsa4096")
        yield h


@contextmanager
def copy_of(template: Path) -> Iterator[Path]:
    """A GnuPG home of its own holding the template's keys (a copy of its files, not of its
    agent's sockets): a module may add, rotate or retire keys without touching another's."""
    with gnupg_home() as h:
        shutil.copytree(template, h, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("S.*", "*.lock", ".#lk*"))
        yield h


@pytest.fixture(scope="module")
def home(home_template: Path) -> Iterator[Path]:
    """A throw-away GnuPG home holding one repository signing key (repotools.new_key)."""
    with copy_of(home_template) as h:
        yield h


@pytest.fixture(scope="module")
def rsa_home(rsa_home_template: Path) -> Iterator[Path]:
    """A GnuPG home with one RSA-4096 key (the default of `repack key generate`): what el9
    publishing needs, since EL9's rpm cannot verify the ed25519 key of `home`."""
    with copy_of(rsa_home_template) as h:
        yield h


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast unit tests first, then the integration tests (real containers) last."""
    items.sort(key=lambda item: "integration" in item.path.parts)


# The integration test modules that read conftest.django_closure's build or build django for
# debian-12 with its maintainer (the build cache then answers): on one worker together, so
# that the closure is built once before they read it.
DJANGO_GROUP = frozenset({"test_apt_repo", "test_debian", "test_django_closure",
                          "test_readme_blocks", "test_rpm", "test_yum_repo"})


def xdist_group(nodeid: str) -> str:
    """The work unit of a test under `--dist loadgroup` (x.py test runs the integration
    tests so): its module, whose module-scoped fixtures its tests share, or "django"."""
    module = nodeid.split("::", 1)[0]
    return "django" if Path(module).stem in DJANGO_GROUP else module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, grouping by `xdist_group`.  pytest-xdist's own reads
    `@pytest.mark.xdist_group` through a node id it rewrites, which pytest 9 no longer lets
    it rewrite (the marks have no effect); this one reads the node ids it is given."""
    if config.getvalue("dist") != "loadgroup":
        return None
    # imported here: only the controller of an xdist run schedules
    from xdist.scheduler import LoadScopeScheduling

    class Grouped(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return Grouped(config, log)


class ProcessForbidden(RuntimeError):
    """A unit test started a process without `@pytest.mark.process`."""


# Every way the standard library starts a process (subprocess, asyncio and multiprocessing go
# through the first three; os.system and the spawn* family through fork or posix_spawn).
SPAWNERS: list[tuple[object, str]] = [
    (subprocess.Popen, "_execute_child"), (_posixsubprocess, "fork_exec"),
    (os, "fork"), (os, "forkpty"), (os, "posix_spawn"), (os, "posix_spawnp"), (os, "system"),
]


@contextmanager
def no_processes(item: pytest.Item) -> Iterator[list[str]]:
    """Within: starting a process raises ProcessForbidden and is noted in the yielded list
    (so code that swallows the exception still fails the test)."""
    started: list[str] = []
    saved = [(owner, name, getattr(owner, name)) for owner, name in SPAWNERS
             if hasattr(owner, name)]

    def refuse(what: str) -> Callable[..., object]:
        def spawn(*args: object, **kwargs: object) -> object:
            argv = next((a for a in args if isinstance(a, list | tuple)), "")
            started.append(f"{what} {argv}".strip())
            raise ProcessForbidden(
                f"{item.nodeid} started a process ({what} {argv}); a unit test may run a real "
                "local command only when marked @pytest.mark.process")
        return spawn

    for owner, name, _ in saved:
        setattr(owner, name, refuse(f"{getattr(owner, '__name__', owner)}.{name}"))
    try:
        yield started
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _guarded(item: pytest.Item) -> bool:
    return item.get_closest_marker("integration") is None and \
        item.get_closest_marker("process") is None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Fixtures of a unit test (e.g. a GnuPG home) count as the test's own processes."""
    return (yield) if not _guarded(item) else (yield from _checked(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield) if not _guarded(item) else (yield from _checked(item))


def _checked(item: pytest.Item) -> Generator[None, None, None]:
    with no_processes(item) as started:
        result = yield
    if started:
        raise ProcessForbidden(f"{item.nodeid} started a process ({started[0]}); mark it "
                               "@pytest.mark.process if it must run a real local command")
    return result
