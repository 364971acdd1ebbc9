"""repack.buildcache.store: an entry is whole or absent, also when two runs of the same build
store it at once (two CI jobs of one runner, two terminals)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repack import buildcache
from repack.model import Artifact


def _built(tmp_path: Path, name: str, data: bytes) -> list[Artifact]:
    out = tmp_path / f"out-{name}"
    out.mkdir()
    path = out / "python3-x_1.0-0repack1~deb12_all.deb"
    path.write_bytes(data)
    return [Artifact(target="debian-12", format="deb", package="python3-x", version="1.0",
                     path=path, sha256="0" * 64)]


def test_store_replaces_an_unusable_entry_whole(tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "builds" / "key"
    cached.mkdir(parents=True)
    (cached / "stale").write_text("half a build")
    buildcache.store(_built(tmp_path, "a", b"ours"), ["w"], tmp_path / "no.log", cached)
    assert sorted(p.name for p in cached.iterdir()) == [
        "python3-x_1.0-0repack1~deb12_all.deb", "result.json"]
    assert json.loads((cached / "result.json").read_text())["warnings"] == ["w"]
    assert [p.name for p in cached.parent.iterdir()] == ["key"]    # nothing staged left


def test_another_runs_entry_stored_meanwhile_is_kept(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The other run's rename lands between ours moving the old entry away and our own
    rename (which then finds a whole directory there): theirs stays, ours is dropped."""
    cached = tmp_path / "cache" / "builds" / "key"
    cached.parent.mkdir(parents=True)
    real_rmtree = shutil.rmtree

    def other_run_stores(path: Path, *args: object, **kw: object) -> None:
        real_rmtree(path, ignore_errors=True)
        if Path(path).name.startswith(".old-"):
            cached.mkdir()
            (cached / "result.json").write_text('{"artifacts": [], "warnings": ["theirs"]}')

    monkeypatch.setattr(buildcache.shutil, "rmtree", other_run_stores)
    buildcache.store(_built(tmp_path, "a", b"ours"), [], tmp_path / "no.log", cached)
    assert json.loads((cached / "result.json").read_text())["warnings"] == ["theirs"]
    assert [p.name for p in cached.parent.iterdir()] == ["key"]
