"""fetch() against a real HTTP index on loopback: the cache, the digests, the pins."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from localindex import Answer, LocalIndex  # tests/ is on sys.path (see conftest.py)
from packaging.requirements import Requirement

import repack.fetch
from repack import http
from repack.errors import ConfigError, IntegrityError, ResolveError
from repack.fetch import cache_path, fetch
from repack.model import Release, Sdist
from repack.resolve import DEFAULT_INDEX_URL, resolve

PY = "3.11.2"
DATA = b"pretend this is demo-1.0.tar.gz\n" * 100
SHA = hashlib.sha256(DATA).hexdigest()
OTHER = hashlib.sha256(b"something else").hexdigest()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = http.session(retries=0, timeout=(5, 10))
    yield s
    s.close()


def release_of(index: LocalIndex, session: requests.Session, req: str = "demo") -> Release:
    return resolve(Requirement(req), python_full_version=PY, index=index.url, session=session)


def files_in(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_download_into_content_addressed_cache(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    sdist = fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert isinstance(sdist, Sdist)
    assert sdist.path == tmp_path / "sdists" / SHA / "demo-1.0.tar.gz"
    assert sdist.path.read_bytes() == DATA
    assert sdist.sha256 == SHA
    assert sdist.release == release
    assert sdist.verified == ("sha256:index",)  # plain http: no "tls"
    # no .unverified-* left behind; how the bytes arrived is recorded beside them
    assert files_in(tmp_path) == [sdist.path.parent / ".provenance.json", sdist.path]
    assert sdist.path == cache_path(release, tmp_path)
    again = fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert again.verified == sdist.verified


def test_cache_hit_reports_tls_recorded_at_download(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    fetch(release, pins=[], cache_dir=tmp_path, session=session)
    (cache_path(release, tmp_path).parent / ".provenance.json").write_text('{"tls": true}')
    hit = fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert hit.verified == ("tls", "sha256:index")


def test_cache_hit_does_not_download_again(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    first = fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert len(local_index.downloads()) == 1
    second = fetch(release, pins=[f"sha256:{SHA}"], cache_dir=tmp_path, session=session)
    assert len(local_index.downloads()) == 1
    assert second.path == first.path
    assert second.verified == ("sha256:index", "sha256:pin")
    local_index.stop()  # nothing is listening now: a hit must not touch the network
    assert fetch(release, pins=[], cache_dir=tmp_path, session=session).path == first.path


def test_index_hash_mismatch_leaves_nothing(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA, sha256=OTHER)
    release = release_of(local_index, session)
    with pytest.raises(IntegrityError) as info:
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    message = str(info.value)
    assert message.startswith("demo: sha256 mismatch for demo-1.0.tar.gz")
    assert f"expected sha256:{OTHER}" in message and f"got sha256:{SHA}" in message
    assert release.url in message
    assert info.value.exit_code == 4 and info.value.project == "demo"
    assert files_in(tmp_path) == []
    assert not (tmp_path / "sdists" / OTHER / "demo-1.0.tar.gz").exists()


def test_size_mismatch_is_refused(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA, size=len(DATA) + 1)
    release = release_of(local_index, session)
    with pytest.raises(IntegrityError, match="bytes, the index says"):
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_oversized_stream_is_cut_short(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA, size=10)
    release = release_of(local_index, session)
    with pytest.raises(IntegrityError, match="bigger than the 10 bytes"):
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_pin_match(local_index: LocalIndex, session: requests.Session, tmp_path: Path) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    pins = [f"sha256:{OTHER}", f"SHA256:{SHA.upper()}"]  # any one of the set will do
    sdist = fetch(release, pins=pins, cache_dir=tmp_path, session=session)
    assert sdist.verified == ("sha256:index", "sha256:pin")
    assert sdist.path.read_bytes() == DATA


def test_pin_mismatch_refuses_without_downloading(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    with pytest.raises(IntegrityError) as info:
        fetch(release, pins=[f"sha256:{OTHER}"], cache_dir=tmp_path, session=session)
    assert f"sha256:{SHA}" in str(info.value) and f"sha256:{OTHER}" in str(info.value)
    assert release.url in str(info.value)
    assert local_index.downloads() == []
    assert files_in(tmp_path) == []


def test_pin_mismatch_on_cache_hit(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    fetch(release, pins=[], cache_dir=tmp_path, session=session)
    with pytest.raises(IntegrityError, match="none of the pinned hashes"):
        fetch(release, pins=[f"sha256:{OTHER}"], cache_dir=tmp_path, session=session)


def test_file_that_lies_about_both_index_and_pin(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    # the index and the pin agree, the bytes do not: refused, nothing cached
    local_index.add("demo", "demo-1.0.tar.gz", DATA, sha256=OTHER)
    release = release_of(local_index, session)
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        fetch(release, pins=[f"sha256:{OTHER}"], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_malformed_pin_is_a_config_error(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    with pytest.raises(ConfigError):
        fetch(release, pins=["md5:abc"], cache_dir=tmp_path, session=session)


def test_interrupted_download_leaves_nothing(
    local_index: LocalIndex,
    session: requests.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)

    @contextlib.contextmanager
    def interrupting(filename: str, total: int | None) -> Iterator[object]:
        def advance(n: int) -> None:
            raise KeyboardInterrupt

        yield advance

    monkeypatch.setattr(repack.fetch, "_progress", interrupting)
    with pytest.raises(KeyboardInterrupt):
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_missing_file_is_a_resolve_error(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = dataclasses.replace(
        release_of(local_index, session), url=local_index.file_url("demo", "gone.tar.gz")
    )
    with pytest.raises(ResolveError, match="HTTP 404"):
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_unreachable_server_is_a_resolve_error(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    local_index.stop()
    with pytest.raises(ResolveError, match="download of .* failed"):
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert files_in(tmp_path) == []


def test_unknown_size_from_html_index(session: requests.Session, tmp_path: Path) -> None:
    with LocalIndex(json=False) as index:
        index.add("demo", "demo-1.0.tar.gz", DATA)
        release = release_of(index, session)
        assert release.size is None
        assert fetch(release, pins=[], cache_dir=tmp_path, session=session).path.read_bytes() == (
            DATA
        )


def test_truncated_cache_entry_is_fetched_again(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = release_of(local_index, session)
    path = fetch(release, pins=[], cache_dir=tmp_path, session=session).path
    path.write_bytes(DATA[:10])
    assert fetch(release, pins=[], cache_dir=tmp_path, session=session).path.read_bytes() == DATA
    assert len(local_index.downloads()) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"filename": "../../evil.tar.gz"},
        {"filename": ".hidden.tar.gz"},
        {"filename": "a\\b.tar.gz"},
        {"sha256": "../" + "0" * 61},
        {"sha256": SHA.upper()},
    ],
)
def test_index_text_cannot_escape_the_cache(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path, change: dict[str, Any]
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    release = dataclasses.replace(release_of(local_index, session), **change)
    with pytest.raises(IntegrityError):
        fetch(release, pins=[], cache_dir=tmp_path / "cache", session=session)
    assert files_in(tmp_path) == []


@pytest.mark.network
def test_fetch_from_pypi_over_tls(tmp_path: Path) -> None:
    with http.session() as s:
        release = resolve(Requirement("six==1.16.0"), python_full_version=PY,
                          index=DEFAULT_INDEX_URL, session=s)
        sdist = fetch(release, pins=[f"sha256:{release.sha256}"], cache_dir=tmp_path, session=s)
    assert sdist.verified == ("tls", "sha256:index", "sha256:pin")
    assert hashlib.sha256(sdist.path.read_bytes()).hexdigest() == release.sha256


def test_stale_partial_downloads_are_swept(tmp_path: Path) -> None:
    """A download killed by SIGKILL leaves its .unverified- file; the next download
    removes it once it has been idle for an hour, and leaves live ones alone."""
    stale, live = tmp_path / ".unverified-old", tmp_path / ".unverified-new"
    for f in (stale, live):
        f.write_bytes(b"partial")
    hour_ago = time.time() - repack.fetch.STALE_SECONDS - 10
    os.utime(stale, (hour_ago, hour_ago))
    repack.fetch.sweep_stale(tmp_path)
    assert not stale.exists() and live.exists()


def test_a_dripping_download_hits_its_deadline(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """One byte every 0.2 s never trips a read timeout; the download's deadline (here 1 s
    plus nothing per byte) ends it, and nothing is left in the cache."""
    local_index.add("demo", "demo-1.0.tar.gz", DATA)
    path = urlparse(local_index.file_url("demo", "demo-1.0.tar.gz")).path
    local_index.answers[path] = Answer(body=DATA, drip=0.2)
    monkeypatch.setattr(repack.fetch, "DEFAULT_DEADLINE", 1.0)
    monkeypatch.setattr(repack.fetch, "MIN_RATE", 10**12)
    release = release_of(local_index, session)
    with pytest.raises(ResolveError, match="took longer than 1 s") as err:
        fetch(release, pins=[], cache_dir=tmp_path, session=session)
    assert err.value.exit_code == 3
    assert files_in(tmp_path) == []
