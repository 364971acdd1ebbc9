"""Each generation's own apt pool (repack.publish.tree): hard links to the previous one's
files, recycled from the retired generation by replaying the live one's pool-delta, so that
every served directory copies like plain files and adding one package stays cheap; what a
failed or killed transaction did is undone by the next one.  Real gpg and dpkg-deb; kills
are real SIGKILLs of a forked publisher at chosen points."""

from __future__ import annotations

import gzip
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


def pool_files(gen: Path) -> set[str]:
    """The files in a generation's (or a copy's) apt pool (pool-relative)."""
    pool = gen / "apt" / "pool"
    assert not pool.is_symlink()
    return {p.relative_to(pool).as_posix() for p in pool.rglob("*") if p.is_file()}


def named(gen: Path) -> set[str]:
    """The pool files a generation's indexes name (pool-relative)."""
    db = apt.load_db(gen, "bookworm")
    return {r["Filename"].removeprefix("pool/") for r in db["packages"]}


def live(repo: Path) -> Path:
    gen = tree.current(repo)
    assert gen is not None
    return gen


def generations(repo: Path) -> list[Path]:
    return sorted((repo / ".repack").glob("gen-*"))


def assert_pools_whole(repo: Path) -> None:
    """Every generation on disk has exactly the pool its indexes name; no directory
    clients are served holds a symlink; the old shared pool is gone."""
    for gen in generations(repo):
        assert pool_files(gen) == named(gen), gen.name
    for entry in tree.ENTRY_POINTS:
        assert not [p for p in (repo / entry).resolve().rglob("*") if p.is_symlink()]
    assert not (repo / ".repack" / tree.LEGACY_POOL).exists()


def test_a_copy_of_apt_alone_has_every_package(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("a", "1")), options(repo, home))
    first = repo / "apt/pool/main/a/a/a_1_all.deb"
    inode = first.stat().st_ino
    publisher.publish(debs(tmp_path, ("b", "1")), options(repo, home))
    assert first.stat().st_ino == inode               # a hard link, not a copy
    assert pool_files(live(repo)) == {"main/a/a/a_1_all.deb", "main/b/b/b_1_all.deb"}
    assert_pools_whole(repo)
    copy = tmp_path / "served"                        # cp -a REPO/apt/ elsewhere
    shutil.copytree(f"{repo / 'apt'}/", copy / "apt", symlinks=True)
    assert pool_files(copy) == named(live(repo))
    assert verify(repo) == []


def test_the_next_publish_recycles_the_retired_pool(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("a", "1")), options(repo, home))
    publisher.publish(debs(tmp_path, ("b", "1")), options(repo, home))
    first, second = ((g / "apt" / "pool").stat().st_ino for g in generations(repo))
    publisher.remove(options(repo, home), "a", None)
    assert (live(repo) / "apt" / "pool").stat().st_ino == first    # moved, not copied
    publisher.publish(debs(tmp_path, ("c", "1")), options(repo, home))
    assert (live(repo) / "apt" / "pool").stat().st_ino == second
    assert pool_files(live(repo)) == {"main/b/b/b_1_all.deb", "main/c/c/c_1_all.deb"}
    assert_pools_whole(repo)                          # the delta replayed: a gone, c there
    assert verify(repo) == []


def test_failed_publish_leaves_a_spare_pool_the_next_one_uses(tmp_path: Path,
                                                                home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    gen = os.readlink(repo / ".repack" / "current")
    other = make_deb(tmp_path / "other" / "debian-12", "p", "1", payload=b"different\n")
    fresh = make_deb(tmp_path / "other" / "debian-12", "a-new", "1")   # sorted first: added
    with pytest.raises(IntegrityError):
        publisher.publish([fresh, other], options(repo, home))
    assert os.readlink(repo / ".repack" / "current") == gen
    spare = repo / ".repack" / f"{tree.SPARE}{gen}"
    assert {p.relative_to(spare).as_posix() for p in spare.rglob("*") if p.is_file()} == \
        {"main/p/p/p_1_all.deb"}                      # its addition taken back
    assert not list((repo / ".repack").glob("stage-*"))
    assert_pools_whole(repo)
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    assert not spare.exists()
    assert pool_files(live(repo)) == {"main/p/p/p_1_all.deb", "main/q/q/q_1_all.deb"}
    assert_pools_whole(repo)


def _killed_in(body: Callable[[], object]) -> None:
    """Run body in a forked process that SIGKILLs itself where the test patched it to."""
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=body)
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL


def _die(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_kill_before_the_swap_leaves_debris_that_the_next_publish_removes(
        tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))
    publisher.publish(debs(tmp_path, ("two", "1")), options(repo, home))
    gen = os.readlink(repo / ".repack" / "current")
    batch = debs(tmp_path / "k", ("k1", "1"), ("k2", "1"))

    def body() -> None:
        apt.write_dist = _die            # type: ignore[assignment]   # after the pool copies
        publisher.publish(batch, options(repo, home))

    _killed_in(body)
    assert os.readlink(repo / ".repack" / "current") == gen
    assert verify(repo) == []                               # the old state, whole
    assert "main/k/k1/k1_1_all.deb" not in pool_files(live(repo))
    assert list((repo / ".repack").glob("stage-*"))          # debris
    publisher.publish(debs(tmp_path, ("after", "1")), options(repo, home))
    assert pool_files(live(repo)) == {"main/b/base/base_1_all.deb", "main/t/two/two_1_all.deb",
                                      "main/a/after/after_1_all.deb"}
    assert not list((repo / ".repack").glob("stage-*"))
    assert_pools_whole(repo)
    assert verify(repo) == []


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
    assert not served.exists() and not (repo / "apt/pool/main/q").exists()
    assert_pools_whole(repo)


def _old_layout(repo: Path) -> None:
    """Turn each generation into the previous layout: apt/pool -> ../../pool, one shared
    pool in .repack/pool holding the live generation's files."""
    meta = repo / ".repack"
    shutil.copytree(live(repo) / "apt" / "pool", meta / tree.LEGACY_POOL)
    for gen in generations(repo):
        shutil.rmtree(gen / "apt" / "pool")
        (gen / "apt" / "pool").symlink_to("../../pool")
        (gen / tree.DELTA).unlink(missing_ok=True)


def test_a_repository_of_the_shared_pool_layout_is_migrated(tmp_path: Path,
                                                             home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("o", "1")), options(repo, home))
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    _old_layout(repo)
    assert verify(repo) == []                        # the old layout still serves
    meta = repo / ".repack"                          # and an old publisher killed mid-way
    killed = meta / "stage-1-dead"                   # left a file its journal names
    (killed / "apt").mkdir(parents=True)
    (killed / "apt" / "pool").symlink_to("../../pool")
    (killed / tree.LEGACY_JOURNAL).write_text("+ pool/main/k/k/k_1_all.deb\n")
    (meta / "pool/main/k/k").mkdir(parents=True)
    (meta / "pool/main/k/k/k_1_all.deb").write_bytes(b"debris")
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    assert pool_files(live(repo)) == {"main/o/o/o_1_all.deb", "main/p/p/p_1_all.deb",
                                      "main/q/q/q_1_all.deb"}
    assert (repo / ".repack" / tree.LEGACY_POOL).is_dir()   # the one before still uses it
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("r", "1")), options(repo, home))
    assert pool_files(live(repo)) == {"main/o/o/o_1_all.deb", "main/p/p/p_1_all.deb",
                                      "main/q/q/q_1_all.deb", "main/r/r/r_1_all.deb"}
    assert_pools_whole(repo)                         # the shared pool is gone
    assert verify(repo) == []


def test_lists_of_an_untouched_db_are_re_signed_not_rewritten(tmp_path: Path,
                                                              home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    lists = repo / "apt/dists/bookworm/main/binary-amd64/Packages.gz"
    inode = lists.stat().st_ino
    gen = os.readlink(repo / ".repack" / "current")
    publisher.refresh(options(repo, home))           # a new generation, the same db
    assert os.readlink(repo / ".repack" / "current") != gen
    assert lists.stat().st_ino == inode
    assert verify(repo) == []
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    assert lists.stat().st_ino != inode
    assert b"Package: q\n" in gzip.decompress(lists.read_bytes())
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
    assert_pools_whole(repo)
    assert verify(repo) == []


def test_an_xz_list_of_an_earlier_version_goes_when_the_lists_are_rewritten(
        tmp_path: Path, home: Path) -> None:
    """Earlier versions also wrote Packages.xz; the next publish deletes it, so no list
    lies in dists/ that Release does not name (its by-hash copy stays while the live
    Release names it)."""
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    binary = live(repo) / "apt/dists/bookworm/main/binary-amd64"
    (binary / "Packages.xz").write_bytes(lzma.compress((binary / "Packages").read_bytes()))
    publisher.publish(debs(tmp_path, ("q", "1")), options(repo, home))
    binary = live(repo) / "apt/dists/bookworm/main/binary-amd64"
    assert {p.name for p in binary.iterdir()} == {"Packages", "Packages.gz", "by-hash"}
    assert verify(repo) == []
