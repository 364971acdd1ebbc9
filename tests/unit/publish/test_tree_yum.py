"""The yum directories of a staged generation (repack.publish.tree): taken over from the
retired generation (or an abandoned stage's spare) and made the live one's by sync_links,
instead of one hard link per rpm; whatever the donor held, the stage ends up with exactly
the live generation's files, and the generations kept on disk are never changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repack.publish import tree


def files(d: Path) -> dict[str, tuple[int, bytes]]:
    """Each file under d (relative path) with its inode and content; symlinks as targets."""
    out = {}
    for p in sorted(d.rglob("*")):
        rel = p.relative_to(d).as_posix()
        if p.is_symlink():
            out[rel] = (0, os.readlink(p).encode())
        elif p.is_file():
            out[rel] = (p.stat().st_ino, p.read_bytes())
    return out


def put(d: Path, rel: str, text: str) -> None:
    """Replace d/rel by a new file (never written in place, as publishers do)."""
    path = d / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_sync_links_makes_a_directory_the_models_hard_links(tmp_path: Path) -> None:
    model, here = tmp_path / "model", tmp_path / "here"
    for rel, text in (("same.rpm", "s"), ("new.rpm", "n"), ("changed.rpm", "c2"),
                      ("repodata/repomd.xml", "r2"), ("sub/deep/x", "x")):
        put(model, rel, text)
    (model / "link").symlink_to("same.rpm")
    here.mkdir()
    os.link(model / "same.rpm", here / "same.rpm")
    for rel, text in (("changed.rpm", "c1"), ("gone.rpm", "g"), ("repodata/repomd.xml", "r1"),
                      ("repodata/old-primary.xml.gz", "p"), ("sub", "a file, not a dir"),
                      ("olddir/f", "f")):
        put(here, rel, text)
    (here / "link").symlink_to("gone.rpm")
    kept = files(model)
    tree.sync_links(here, model)
    assert files(here) == files(model) == kept
    assert not list(here.glob(".repack-sync-*"))


def publish(repo: Path, add: dict[str, str], drop: tuple[str, ...] = (),
            fail: bool = False) -> None:
    """One transaction writing yum/el9 as a publisher would."""
    with tree.transaction(repo, what="test") as stage:
        d = stage.root / "yum" / "el9"
        for rel, text in add.items():
            put(d, rel, text)
        for rel in drop:
            (d / rel).unlink()
        stage.changed = True
        if fail:
            raise RuntimeError("publish failed")


def live_yum(repo: Path) -> Path:
    gen = tree.current(repo)
    assert gen is not None
    return gen / "yum" / "el9"


def test_the_retired_generations_yum_directory_is_taken_over(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, {"a.rpm": "a", "repodata/repomd.xml": "1"})
    first = live_yum(repo).stat().st_ino
    publish(repo, {"b.rpm": "b", "repodata/repomd.xml": "2"})
    before = files(live_yum(repo))
    publish(repo, {"c.rpm": "c", "repodata/repomd.xml": "3"}, drop=("a.rpm",))
    assert live_yum(repo).stat().st_ino == first            # moved and synced, not linked
    now = files(live_yum(repo))
    assert {k: v[1] for k, v in now.items()} == {
        "b.rpm": b"b", "c.rpm": b"c", "repodata/repomd.xml": b"3"}
    assert now["b.rpm"][0] == before["b.rpm"][0]              # a hard link of the one before
    gens = sorted((repo / ".repack").glob("gen-*"))
    assert len(gens) == 2 and files(gens[0] / "yum" / "el9") == before   # kept as it was


def test_an_abandoned_stage_leaves_its_yum_directory_as_a_spare(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, {"a.rpm": "a", "repodata/repomd.xml": "1"})
    live = files(live_yum(repo))
    gen = os.readlink(repo / ".repack" / "current")
    with pytest.raises(RuntimeError):
        publish(repo, {"bad.rpm": "x", "repodata/repomd.xml": "bad"}, drop=("a.rpm",),
                fail=True)
    spare = repo / ".repack" / f"{tree.YUM_SPARE}{gen}"
    assert (spare / "el9" / "bad.rpm").is_file()
    assert files(live_yum(repo)) == live
    publish(repo, {"b.rpm": "b"})
    now = files(live_yum(repo))
    assert {k: v[1] for k, v in now.items()} == {
        "a.rpm": b"a", "b.rpm": b"b", "repodata/repomd.xml": b"1"}
    assert now["a.rpm"][0] == live["a.rpm"][0]
    assert not spare.exists() and not list((repo / ".repack").glob("stage-*"))


def test_a_publish_after_a_rollback_starts_from_the_restored_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    publish(repo, {"a.rpm": "a", "repodata/repomd.xml": "1"})
    publish(repo, {"b.rpm": "b", "repodata/repomd.xml": "2"})
    with tree.transaction(repo, what="rollback", rollback=True) as stage:
        stage.changed = True
    assert {k: v[1] for k, v in files(live_yum(repo)).items()} == {
        "a.rpm": b"a", "repodata/repomd.xml": b"1"}
    publish(repo, {"c.rpm": "c"})
    assert {k: v[1] for k, v in files(live_yum(repo)).items()} == {
        "a.rpm": b"a", "c.rpm": b"c", "repodata/repomd.xml": b"1"}
    publish(repo, {"d.rpm": "d"}, drop=("a.rpm",))
    assert {k: v[1] for k, v in files(live_yum(repo)).items()} == {
        "c.rpm": b"c", "d.rpm": b"d", "repodata/repomd.xml": b"1"}
