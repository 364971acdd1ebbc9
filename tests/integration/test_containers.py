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


def _removed_in_the_background(name: str) -> bool:
    """Whether the container is gone once its removal thread, if still running, ended; that
    thread is no daemon (the interpreter would not wait for a daemon at exit)."""
    for removal in threading.enumerate():      # none left when it was that quick
        if removal.name == f"rm-{name}":
            assert not removal.daemon
            removal.join()
    return not _exists(name)


def test_containers_are_removed_a_trusted_one_in_the_background(
        container_engine: engine.Engine, base_image: Callable[[str], str]) -> None:
    tag = base_image("debian-12")
    with container_engine.container(tag) as c:
        assert c.exec(["echo", "ran"]).strip() == "ran"
    assert not _exists(c.name)          # removed before the caller goes on
    with container_engine.container(tag, network=True, trusted=True) as t:
        assert _exists(t.name)
    assert _removed_in_the_background(t.name)
    # from a daemon thread, as the run's apt lists refresh (repack.deb.aptlists) is one
    names: list[str] = []

    def refresh() -> None:
        with container_engine.container(tag, trusted=True) as d:
            names.append(d.name)
    daemon = threading.Thread(target=refresh, daemon=True)
    daemon.start()
    daemon.join()
    assert _removed_in_the_background(names[0])
