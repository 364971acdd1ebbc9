"""Human output helpers: pure."""

from __future__ import annotations

import pytest

from repack import log


@pytest.mark.parametrize("n, binary, text", [
    (0, False, "0 B"), (717, False, "717 B"), (10_300_000, False, "10.3 MB"),
    (5 * 10**12, False, "5000.0 GB"), (1536, True, "1.5 KiB"), (3 * 1024**3, True, "3.0 GiB"),
])
def test_size(n: int, binary: bool, text: str) -> None:
    assert log.size(n, binary=binary) == text
