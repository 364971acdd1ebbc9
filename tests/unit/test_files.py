"""repack.files: whole-file writes and copies, also from several threads of one run, and the
lock that lets one process at a time do a job."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from repack import log
from repack.files import copy_file, exclusive, write_file


def test_write_and_copy_replace_whole(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_file(src, b"new")
    dest = tmp_path / "cache" / "dest"
    dest.parent.mkdir()
    dest.write_bytes(b"old, longer")
    copy_file(src, dest)
    assert dest.read_bytes() == b"new"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["dest"]     # no temp left


def test_threads_copying_into_one_cache(tmp_path: Path) -> None:
    """Two builds of one run (--with-deps -j 2) keep their apt lists in the shared cache at
    the same moment: a temp name per process only made one thread's rename fail with
    FileNotFoundError."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"list{i}").write_bytes(bytes(64 * 1024))
    shared = tmp_path / "shared"
    shared.mkdir()
    errors: list[BaseException] = []

    def keep() -> None:
        try:
            for _ in range(40):
                for f in sorted(src.iterdir()):
                    copy_file(f, shared / f.name)
        except OSError as e:            # pragma: no cover - the failure this test is about
            errors.append(e)

    threads = [threading.Thread(target=keep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in shared.iterdir()) == [f"list{i}" for i in range(4)]


def test_one_holder_of_an_exclusive_lock_at_a_time(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A second holder says it waits, once, and gets the lock only when the first is done."""
    events: list[str] = []
    waiting = threading.Event()
    monkeypatch.setattr(log, "info", lambda message: (events.append(message), waiting.set()))
    lock = tmp_path / "sub" / ".x.lock"

    def second() -> None:
        with exclusive(lock, "waiting for the first"):
            events.append("second holds it")

    with exclusive(lock, "unused"):
        t = threading.Thread(target=second)
        t.start()
        assert waiting.wait(10)
        events.append("first lets go")
    t.join(10)
    assert events == ["waiting for the first", "first lets go", "second holds it"]
