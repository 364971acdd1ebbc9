"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest puts the directory of this conftest (tests/ has no __init__.py) on sys.path.
from localindex import LocalIndex
from repotools import gnupg_home, new_key


@pytest.fixture
def local_index() -> Iterator[LocalIndex]:
    """A PEP 691/503 simple index on 127.0.0.1, empty until the test `add()`s files."""
    with LocalIndex() as index:
        yield index


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """A throw-away GnuPG home holding one repository signing key (repotools.new_key)."""
    with gnupg_home() as h:
        new_key(h)
        yield h


@pytest.fixture(scope="module")
def rsa_home() -> Iterator[Path]:
    """A GnuPG home with one RSA-4096 key (the default of `repack key generate`): what el9
    publishing needs, since EL9's rpm cannot verify the ed25519 key of `home`."""
    with gnupg_home() as h:
        new_key(h, algorithm="rsa4096")
        yield h


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast unit tests first, then the integration tests (real containers) last."""
    items.sort(key=lambda item: "integration" in item.path.parts)
