"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# pytest puts the directory of this conftest (tests/ has no __init__.py) on sys.path.
from localindex import LocalIndex


@pytest.fixture
def local_index() -> Iterator[LocalIndex]:
    """A PEP 691/503 simple index on 127.0.0.1, empty until the test `add()`s files."""
    with LocalIndex() as index:
        yield index


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast unit tests first, then the integration tests (real containers) last."""
    items.sort(key=lambda item: "integration" in item.path.parts)
