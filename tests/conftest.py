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
