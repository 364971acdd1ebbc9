"""The shared apt pool (repack.publish.tree): generations hold metadata and one symlink,
the pool holds each file once, and what a failed or killed transaction put there or meant
to delete is settled by the next one.  Real gpg and dpkg-deb; kills are real SIGKILLs of
a forked publisher at chosen points."""

from __future__ import annotations

import lzma
import multiprocessing
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from repotools import make_deb  # type: ignore[import-not-found]

from repack import keys
from repack.errors import IntegrityError
from repack.publish import apt, publisher, tree
from repack.publish.verify import verify

pytestmark = pytest.mark.process   # every test here runs a real local command


def options(repo: Path, home: Path) -> publisher.Options:
    return publisher.Options(repo=repo, gnupghome=home, signer=keys.signer(home))


def debs(tmp: Path, *specs: tuple[str, str]) -> list[Path]:
    return [make_deb(tmp / "debian-12", name, version) for name, version in specs]


def pool_files(repo: Path) -> set[str]:
    pool = repo / ".repack" / "pool"
    return {p.relative_to(pool).as_posix() for p in pool.rglob("*") if p.is_file()}


def named(repo: Path) -> set[str]:
    """The pool files the live indexes name (pool-relative)."""
    live = tree.current(repo)
    assert live is not None
    db = apt.load_db(live, "bookworm")
    return {r["Filename"].removeprefix("pool/") for r in db["packages"]}


def test_generations_share_one_pool(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("a", "1")), options(repo, home))
    first = repo / "apt/pool/main/a/a/a_1_all.deb"
    inode = first.stat().st_ino
    publisher.publish(debs(tmp_path, ("b", "1")), options(repo, home))
    live = tree.current(repo)
    assert live is not None
    assert os.readlink(live / "apt" / "pool") == "../../pool"      # relative: copies work
    assert not list(live.rglob("*.deb"))              # no package file in a generation
    assert first.stat().st_ino == inode               # stored once, never re-linked
    assert pool_files(repo) == named(repo) == {"main/a/a/a_1_all.deb", "main/b/b/b_1_all.deb"}
    assert verify(repo) == []
    copy = tmp_path / "copy"                          # the tree is relocatable
    shutil.copytree(repo, copy, symlinks=True)
    assert verify(copy) == []


def test_failed_publish_takes_its_new_files_back(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    gen = os.readlink(repo / ".repack" / "current")
    other = make_deb(tmp_path / "other" / "debian-12", "p", "1", payload=b"different\n")
    fresh = make_deb(tmp_path / "other" / "debian-12", "a-new", "1")   # sorted first: added
    with pytest.raises(IntegrityError):
        publisher.publish([fresh, other], options(repo, home))
    assert os.readlink(repo / ".repack" / "current") == gen
    assert pool_files(repo) == named(repo) == {"main/p/p/p_1_all.deb"}
    assert not list((repo / ".repack").glob("stage-*"))


def _killed_in(body: Callable[[], object]) -> None:
    """Run body in a forked process that SIGKILLs itself where the test patched it to."""
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=body)
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL


def _die(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_kill_before_the_swap_leaves_new_files_that_the_next_publish_removes(
        tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))
    gen = os.readlink(repo / ".repack" / "current")
    batch = debs(tmp_path / "k", ("k1", "1"), ("k2", "1"))

    def body() -> None:
        apt.write_dist = _die            # type: ignore[assignment]   # after the pool copies
        publisher.publish(batch, options(repo, home))

    _killed_in(body)
    assert os.readlink(repo / ".repack" / "current") == gen
    assert verify(repo) == []                               # the old state, whole
    assert "main/k/k1/k1_1_all.deb" in pool_files(repo)      # debris, named by no index
    publisher.publish(debs(tmp_path, ("after", "1")), options(repo, home))
    assert pool_files(repo) == named(repo) == {"main/b/base/base_1_all.deb",
                                               "main/a/after/after_1_all.deb"}
    assert not (repo / ".repack/pool/main/k").exists()       # empty directories go too
    assert verify(repo) == []


def test_removed_files_go_after_the_swap_even_if_killed_there(tmp_path: Path,
                                                               home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1"), ("q", "1")), options(repo, home))

    def body() -> None:
        # fault injection: killed in the step that deletes what the swap made garbage
        real = tree._settle  # noqa: SLF001 -- the step the kill must hit

        def settle(gen: Path, *, went_live: bool) -> None:
            if went_live and (gen / tree.JOURNAL).is_file():    # the removal's generation
                _die()
            real(gen, went_live=went_live)
        tree._settle = settle  # type: ignore[assignment]  # noqa: SLF001
        publisher.remove(options(repo, home), "q", None)

    _killed_in(body)
    assert named(repo) == {"main/p/p/p_1_all.deb"}                # the removal went live
    assert "main/q/q/q_1_all.deb" in pool_files(repo)            # not yet deleted
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("r", "1")), options(repo, home))
    assert pool_files(repo) == named(repo) == {"main/p/p/p_1_all.deb", "main/r/r/r_1_all.deb"}


def test_remove_keeps_the_file_until_the_swap(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1"), ("q", "1")), options(repo, home))
    served = repo / "apt/pool/main/q/q/q_1_all.deb"
    seen = []
    real = apt.write_dist

    def watch(*args: object, **kw: object) -> None:
        seen.append(served.is_file())                # still served while staging
        real(*args, **kw)                            # type: ignore[arg-type]

    apt.write_dist = watch                           # type: ignore[assignment]
    try:
        publisher.remove(options(repo, home), "q", None)
    finally:
        apt.write_dist = real                        # type: ignore[assignment]
    assert seen and all(seen)
    assert not served.exists() and not (repo / ".repack/pool/main/q").exists()
    assert pool_files(repo) == named(repo)


def test_a_repository_from_before_the_shared_pool_moves_over(tmp_path: Path,
                                                             home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    live = tree.current(repo)
    assert live is not None
    (live / "apt" / "pool").unlink()                 # the old layout: a pool per generation
    shutil.copytree(repo / ".repack" / "pool", live / "apt" / "pool")
    shutil.rmtree(repo / ".repack" / "pool")
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    live = tree.current(repo)
    assert live is not None and (live / "apt" / "pool").is_symlink()
    assert pool_files(repo) == named(repo) == {"main/p/p/p_1_all.deb", "main/q/q/q_1_all.deb"}
    assert verify(repo) == []


def test_lists_of_an_untouched_db_are_re_signed_not_rewritten(tmp_path: Path,
                                                              home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    lists = repo / "apt/dists/bookworm/main/binary-amd64/Packages.xz"
    inode = lists.stat().st_ino
    gen = os.readlink(repo / ".repack" / "current")
    publisher.refresh(options(repo, home))           # a new generation, the same db
    assert os.readlink(repo / ".repack" / "current") != gen
    assert lists.stat().st_ino == inode
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    assert lists.stat().st_ino != inode
    assert b"Package: q\n" in lzma.decompress(lists.read_bytes())
    assert verify(repo) == []


def test_the_generation_before_the_live_one_goes_while_the_next_is_staged(
        tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    meta = repo / ".repack"
    for name in ("a", "b", "c"):
        publisher.publish(debs(tmp_path, (name, "1")), options(repo, home))
    assert len(list(meta.glob("gen-*"))) == 2 and not list(meta.glob("trash-*"))

    def body() -> None:
        real = shutil.rmtree

        def rmtree(path: Path, **kw: object) -> None:
            if Path(path).name.startswith("trash-"):
                _die()                                   # the sweeper, as it starts
            real(path, **kw)                             # type: ignore[arg-type]
        shutil.rmtree = rmtree                           # type: ignore[assignment]
        publisher.publish(debs(tmp_path / "k", ("k", "1")), options(repo, home))

    _killed_in(body)
    assert list(meta.glob("trash-*"))                        # the renamed generation
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("d", "1")), options(repo, home))
    assert len(list(meta.glob("gen-*"))) == 2 and not list(meta.glob("trash-*"))
    assert pool_files(repo) == named(repo)
    assert verify(repo) == []
