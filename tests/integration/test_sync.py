"""`repack sync` through the real CLI: repack.toml's [repository] made true.

Two tiny projects from the local index (sync-app and sync-lib, built side by side: -j 2), for
debian-12: the first sync builds both and publishes them in one generation; a second sync
builds nothing, publishes nothing and leaves the generation as it was; a new upstream release
of sync-app shows in `--dry-run --json` as exactly that update (the dry run changes nothing),
and the next sync builds and publishes exactly that.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

pytestmark = pytest.mark.integration

CONFIG = """[publish]
gnupghome = "gnupg"

[repository]
path = "repo"
name = "synctest"
targets = ["debian-12"]
requirements = ["sync-app", "sync-lib"]
"""


def generation(repo: Path) -> str:
    return os.readlink(repo / ".repack" / "current")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LocalIndex]]:
    work = tmp_path_factory.mktemp("sync").resolve()
    nonce = {"NONCE": str(time.time_ns()).encode()}   # never answered by an old build cache
    with LocalIndex() as index:
        for name in ("sync-lib", "sync-app"):
            sdist = make_sdist(work / "sdists", name, "1.0", nonce)
            index.add(name, sdist.name, sdist.read_bytes())
        (work / "repack.toml").write_text(CONFIG)
        proc = sync(work, index, "key", "generate", "--email", "packages@example.org",
                    "--no-passphrase")
        assert proc.returncode == 0, proc.stderr
        yield work, index


def sync(work: Path, index: LocalIndex, *args: str):  # type: ignore[no-untyped-def]
    return run_repack(list(args), env={"PIP_INDEX_URL": index.url, "REPACK_PASSPHRASE": ""},
                      cwd=work)


def listed(work: Path, index: LocalIndex) -> list[tuple[str, str]]:
    proc = sync(work, index, "repo", "list", "--repo", "repo", "--json")
    assert proc.returncode == 0, proc.stderr
    return sorted((e["name"], e["version"]) for e in json.loads(proc.stdout))


def test_sync_builds_what_is_missing_then_nothing(work: tuple[Path, LocalIndex]) -> None:
    root, index = work
    first = sync(root, index, "sync")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines() == [
        "add python3-sync-app 1.0-0repack1~deb12 debian-12",
        "add python3-sync-lib 1.0-0repack1~deb12 debian-12"], first.stdout + first.stderr
    assert listed(root, index) == [("python3-sync-app", "1.0-0repack1~deb12"),
                                   ("python3-sync-lib", "1.0-0repack1~deb12")]
    live = generation(root / "repo")

    again = sync(root, index, "sync")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == ""
    assert "nothing new: 2 up to date" in again.stderr, again.stderr
    assert "build sync-" not in again.stderr, again.stderr
    assert generation(root / "repo") == live        # no new generation

    # a new upstream release of sync-app: the plan is exactly that, and changes nothing
    nonce = {"NONCE": str(time.time_ns()).encode()}
    sdist = make_sdist(root / "sdists", "sync-app", "1.1", nonce)
    index.add("sync-app", sdist.name, sdist.read_bytes())
    dry = sync(root, index, "sync", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] is True and plan["channel"] is None
    assert [(a["project"], a["version"], a["target"], a["published"]) for a in plan["add"]] == [
        ("sync-app", "1.1", "debian-12", "1.0")]
    assert plan["add"][0]["sha256"] == sdist_sha256(sdist)
    assert [(c["project"], c["version"]) for c in plan["current"]] == [("sync-lib", "1.0")]
    assert plan["skipped"] == [] and plan["published"] == []
    assert "build sync-app 1.1 debian-12 (update from 1.0)" in dry.stderr
    assert generation(root / "repo") == live

    update = sync(root, index, "sync")
    assert update.returncode == 0, update.stdout + update.stderr
    assert update.stdout.splitlines() == ["add python3-sync-app 1.1-0repack1~deb12 debian-12"]
    assert generation(root / "repo") != live
    assert listed(root, index) == [("python3-sync-app", "1.0-0repack1~deb12"),
                                   ("python3-sync-app", "1.1-0repack1~deb12"),
                                   ("python3-sync-lib", "1.0-0repack1~deb12")]


def sdist_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
