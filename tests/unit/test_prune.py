"""`repack cache prune` on a real cache directory, and `repack image prune`'s choice of
images (a pure function; the CLI against the real engine only with --dry-run, so the
suite's own images are never touched)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from repack import cli, prune
from repack.container import images
from repack.errors import RepackError

DAY = 86400
NOW = time.time()


def put(path: Path, data: bytes, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = NOW - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def age(path: Path, days: float) -> None:
    stamp = NOW - days * DAY
    os.utime(path, (stamp, stamp), follow_symlinks=False)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    c = tmp_path / "cache"
    put(c / "builds/old/result.json", b"x" * 100, 40)
    put(c / "builds/old/debian-12/a.deb", b"x" * 1000, 40)
    put(c / "builds/fresh/result.json", b"y" * 10, 1)
    put(c / "sdists/aaa/a-1.tar.gz", b"z" * 500, 45)
    put(c / "sdists/bbb/b-1.tar.gz", b"z" * 50, 45)
    put(c / "sdists/bbb/b-1.whl", b"z" * 5, 2)           # written lately: the entry stays
    put(c / "apt-archives/debian-12/dep_1_all.deb", b"d" * 300, 60)
    put(c / "apt-archives/debian-12/partial/x", b"p", 60)  # apt's own directory stays
    put(c / "metadata/aaa.METADATA", b"m" * 7, 31)
    put(c / "work/build-killed/build/log", b"w" * 3, 35)   # left by a killed build
    put(c / "work/build-running/build/log", b"w", 0)       # a build writing right now
    put(c / "images/builder-debian-12-0123/archive.json", b"{}", 90)  # image prune's
    outside = put(c.parent / "outside/keep.txt", b"precious", 90)
    os.symlink(outside.parent, c / "work/build-link")
    for d in sorted((p for p in c.rglob("*") if p.is_dir() and not p.is_symlink()),
                    reverse=True):
        newest = max((q.lstat().st_mtime for q in d.iterdir()), default=NOW)
        os.utime(d, (newest, newest))
    age(c / "work/build-link", 90)
    return c


def rel(cache: Path, found: list[prune.Entry]) -> list[str]:
    return [e.path.relative_to(cache).as_posix() for e in found]


def test_only_entries_untouched_for_n_days_are_chosen(cache: Path) -> None:
    found = prune.entries(cache)
    assert rel(cache, prune.stale(found, 30, NOW)) == [
        "apt-archives/debian-12/dep_1_all.deb", "builds/old", "metadata/aaa.METADATA",
        "sdists/aaa", "work/build-killed", "work/build-link"]
    assert rel(cache, prune.stale(found, 50, NOW)) == [
        "apt-archives/debian-12/dep_1_all.deb", "work/build-link"]
    assert {e.path.name: e.size for e in found}["old"] == 1100


def test_cli_dry_run_then_prune(cache: Path) -> None:
    env = {"REPACK_CACHE_DIR": str(cache)}
    before = sorted(p.as_posix() for p in cache.rglob("*"))
    result = CliRunner().invoke(cli.cli, ["cache", "prune", "--dry-run"], env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 7 and lines[-1].startswith("would free 1.9 KiB (1910 bytes) in 6 entries")
    assert f"would remove {cache}/builds/old (1.1 KiB)" in lines
    assert sorted(p.as_posix() for p in cache.rglob("*")) == before

    result = CliRunner().invoke(cli.cli, ["cache", "prune", "--older-than", "30"], env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("freed 1.9 KiB (1910 bytes) in 6 entries")
    left = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())
    assert left == ["apt-archives/debian-12/partial/x", "builds/fresh/result.json",
                    "images/builder-debian-12-0123/archive.json", "sdists/bbb/b-1.tar.gz",
                    "sdists/bbb/b-1.whl", "work/build-running/build/log"]
    assert (cache.parent / "outside/keep.txt").read_bytes() == b"precious"   # not followed
    assert not any(p.name.startswith(".pruning-") for p in cache.rglob("*"))


def test_cli_rejects_a_negative_age(cache: Path) -> None:
    result = CliRunner().invoke(cli.cli, ["cache", "prune", "--older-than", "-1"],
                                env={"REPACK_CACHE_DIR": str(cache)})
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_an_empty_cache_frees_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.cli, ["cache", "prune"],
                                env={"REPACK_CACHE_DIR": str(tmp_path / "none")})
    assert result.exit_code == 0 and result.stdout.startswith("freed 0 B (0 bytes) in 0 entries")


def test_stale_images_are_repacks_own_and_not_current() -> None:
    current = {"localhost/repack-builder-debian-12:0123456789abcdef",
               "localhost/repack-base-debian-12:fedcba9876543210"}
    tags = [*current,
            "localhost/repack-builder-debian-12:aaaaaaaaaaaaaaaa",     # an older recipe
            "localhost/repack-base-el9:bbbbbbbbbbbbbbbb",
            "localhost/repack-check-debian-12:cccccccccccccccc",       # the import check's
            "docker.io/library/debian:bookworm",                      # not ours
            "localhost/repack-builder-debian-12:latest",              # not a recipe tag
            "localhost/repackage-builder-x:aaaaaaaaaaaaaaaa",
            "<none>:<none>"]
    assert images.stale_tags(tags, current) == [
        "localhost/repack-base-el9:bbbbbbbbbbbbbbbb",
        "localhost/repack-builder-debian-12:aaaaaaaaaaaaaaaa",
        "localhost/repack-check-debian-12:cccccccccccccccc"]


def test_current_tags_are_every_targets_builder_base_and_check(tmp_path: Path) -> None:
    from repack import targets

    tags = images.current_tags(tmp_path)
    assert len(tags) == 3 * len(targets.available())
    assert images.image_for(targets.load("el9"), "builder", tmp_path).tag in tags
    assert images.image_for(targets.load("debian-12"), "check", tmp_path).tag in tags
    assert images.stale_tags(tags, tags) == []


@pytest.mark.process
def test_image_prune_dry_run_on_the_real_engine_spares_the_current_images(
        tmp_path: Path) -> None:
    from repack.container import engine

    try:
        eng = engine.detect()
    except RepackError:
        pytest.skip("no container engine")
    before = images.engine_tags(eng)
    result = CliRunner().invoke(cli.cli, ["image", "prune", "--dry-run"],
                                env={"REPACK_CACHE_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    named = [line.removeprefix("would remove ") for line in result.stdout.splitlines()]
    assert named == images.stale_tags(before, images.current_tags(tmp_path))
    assert not set(named) & images.current_tags(tmp_path)
    assert images.engine_tags(eng) == before                       # nothing removed


def test_help_explains_the_commands() -> None:
    for args in (["cache", "prune", "--help"], ["image", "prune", "--help"]):
        result = CliRunner().invoke(cli.cli, args)
        assert result.exit_code == 0 and "--dry-run" in result.stdout
