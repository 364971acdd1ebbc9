"""repack.container.engine's containers for real: gone when their block ends, a trusted one
(apt alone ran in it) in the background, before the process exits."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

import pytest

from repack.container import engine

pytestmark = pytest.mark.integration


def _exists(name: str) -> bool:
    return subprocess.run(["podman", "container", "exists", name], check=False).returncode == 0


def test_containers_are_removed_a_trusted_one_in_the_background(
        container_engine: engine.Engine, base_image: Callable[[str], str]) -> None:
    tag = base_image("debian-12")
    with container_engine.container(tag) as c:
        assert c.exec(["echo", "ran"]).strip() == "ran"
    assert not _exists(c.name)          # removed before the caller goes on
    with container_engine.container(tag, network=True, trusted=True) as t:
        assert _exists(t.name)
    for removal in threading.enumerate():      # none left when it was that quick
        if removal.name == f"rm-{t.name}":
            assert not removal.daemon       # the interpreter waits for it at exit
            removal.join()
    assert not _exists(t.name)
