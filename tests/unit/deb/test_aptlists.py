"""repack.deb.aptlists: a run refreshes a target's lists once; builds wait for it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from repack import targets
from repack.container import images
from repack.container.engine import Engine
from repack.deb import aptlists


def test_lists_are_fresh_only_after_this_process_refreshed_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "apt-lists" / "debian-12"
    assert not aptlists.fresh(shared)
    assert not aptlists.fresh(None)
    aptlists.refreshed(shared)
    assert aptlists.fresh(shared)
    assert not aptlists.fresh(tmp_path / "apt-lists" / "debian-13")    # per target
    later = time.monotonic() + aptlists.FRESH_FOR + 1
    monkeypatch.setattr(aptlists.time, "monotonic", lambda: later)
    assert not aptlists.fresh(shared)       # a long run refreshes again


@pytest.mark.process
def test_no_refresh_without_the_builder_image(tmp_path: Path) -> None:
    """An image not bootstrapped yet: the thread gives up at once, the builds refresh."""
    image = images.Image(tag="localhost/repack-builder-debian-12:absent-in-this-test",
                         kind="builder", target=targets.load("debian-12"),
                         state_dir=tmp_path / "state")
    shared = tmp_path / "apt-lists" / "debian-12"
    with aptlists.refreshing(Engine(name="podman"), image, shared, tmp_path / "work"):
        assert not aptlists.fresh(shared)
    assert not shared.exists()
    assert not any((tmp_path / "work").glob("lists-*"))
