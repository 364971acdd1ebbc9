"""Download an sdist into a content-addressed cache, checking every byte.

Layout: ``<cache_dir>/sdists/<sha256>/<filename>``.  A file only ever gets there by
`os.replace` after its sha256 matched the index (and a pin, when pins are given), so a
cache hit is trusted without re-hashing: its key *is* the verified digest.  Downloads go
to ``<cache_dir>/sdists/.unverified-<random>`` on the same filesystem first and are
removed on any failure or interruption.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import requests
import urllib3
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from repack import log
from repack.errors import IntegrityError, ResolveError
from repack.http import DEFAULT_DEADLINE, describe_error
from repack.model import Release, Sdist
from repack.requirements import parse_hash_option
from repack.sourcedate import source_date_epoch

__all__ = ["MAX_UNSIZED_BYTES", "PROGRESS_MIN_BYTES", "cache_path", "fetch"]

PROGRESS_MIN_BYTES = 1024 * 1024
#: Refuse to stream more than this when the index does not say how big the file is.
MAX_UNSIZED_BYTES = 2 * 1024**3
_CHUNK = 64 * 1024
STALE_SECONDS = 3600     # an .unverified- file untouched this long lost its process
# A download may take DEFAULT_DEADLINE plus one second per MIN_RATE bytes: an index that
# drips a byte every few seconds never trips a read timeout, so the whole is bounded too.
MIN_RATE = 50_000
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def cache_path(release: Release, cache_dir: Path) -> Path:
    """Where `release` lives in the cache once verified.  Both path parts come from the
    index, so both are checked before they touch the filesystem."""
    if not _SHA256_RE.fullmatch(release.sha256):
        raise IntegrityError(
            f"malformed sha256 from the index: {release.sha256[:80]!r}", project=release.name
        )
    name = release.filename
    if (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(c in name for c in "/\\\0")
    ):
        raise IntegrityError(f"unsafe file name from the index: {name!r}", project=release.name)
    return cache_dir / "sdists" / release.sha256 / name


def _allowed(pins: Sequence[str]) -> set[str]:
    """Pins ("sha256:HEX") as a set of lowercase hex digests."""
    return {parse_hash_option(p).split(":", 1)[1] for p in pins}


def _pin_error(release: Release, actual: str, allowed: set[str], what: str) -> IntegrityError:
    expected = " or ".join(f"sha256:{h}" for h in sorted(allowed))
    return IntegrityError(
        f"{what} sha256:{actual} of {release.filename} matches none of the pinned hashes "
        f"(expected {expected}); url {release.url}",
        project=release.name,
        hint="if the new file is the one you want, update the --hash pins",
    )


def fetch(
    release: Release,
    *,
    pins: Sequence[str],
    cache_dir: Path,
    session: requests.Session,
) -> Sdist:
    """The verified sdist of `release`, from the cache or downloaded into it.

    `pins` are "sha256:HEX" strings (pip's --hash): when any are given, the file must
    match one of them as well as the index's sha256.  Raises IntegrityError on any
    mismatch (of digest or of the index's size) and ResolveError when the download fails.
    """
    dest = cache_path(release, cache_dir)
    allowed = _allowed(pins)
    if allowed and release.sha256 not in allowed:
        # The file must match the index too, so no download could satisfy both.
        raise _pin_error(release, release.sha256, allowed, "the index's")
    checks = ("sha256:index",) + (("sha256:pin",) if allowed else ())

    if dest.is_file():
        size = dest.stat().st_size
        if release.size is None or size == release.size:
            log.debug(f"cached {release.filename} ({dest})")
            # How the bytes arrived was recorded when they were downloaded and verified.
            tls = _provenance(dest).get("tls") is True
            return Sdist(release=release, path=dest, sha256=release.sha256,
                         verified=(("tls",) if tls else ()) + checks,
                         source_date_epoch=source_date_epoch(dest, release.upload_time))
        log.warn(f"cached {dest} has {size} bytes, the index says {release.size}; fetching again")
        dest.unlink()

    tls = _download(release, dest, allowed, session)
    return Sdist(
        release=release,
        path=dest,
        sha256=release.sha256,
        verified=(("tls",) if tls else ()) + checks,
        source_date_epoch=source_date_epoch(dest, release.upload_time),
    )


def _provenance_file(dest: Path) -> Path:
    return dest.parent / ".provenance.json"


def _provenance(dest: Path) -> dict[str, object]:
    try:
        data = json.loads(_provenance_file(dest).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sweep_stale(sdists: Path, *, now: float | None = None) -> None:
    """Remove the partial downloads of killed processes (SIGKILL skips every `finally`).
    A live download writes all the time, so only files idle for an hour go."""
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    for partial in sdists.glob(".unverified-*"):
        with contextlib.suppress(FileNotFoundError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
                log.debug(f"removed the stale partial download {partial}")


def _download(
    release: Release, dest: Path, allowed: set[str], session: requests.Session
) -> bool:
    """Stream release.url into dest via a temporary file; True if every hop was https."""
    sdists = dest.parent.parent
    sdists.mkdir(parents=True, exist_ok=True)
    sweep_stale(sdists)
    fd, tmp_name = tempfile.mkstemp(dir=sdists, prefix=".unverified-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, received, tls = _stream(release, out, session)
            out.flush()
            os.fsync(out.fileno())
        if release.size is not None and received != release.size:
            raise IntegrityError(
                f"{release.filename} is {received} bytes, the index says {release.size}; "
                f"url {release.url}",
                project=release.name,
            )
        if digest != release.sha256:
            raise IntegrityError(
                f"sha256 mismatch for {release.filename}: expected sha256:{release.sha256} "
                f"(index), got sha256:{digest}; url {release.url}",
                project=release.name,
                hint="the file or the index was altered, or a proxy rewrote the download",
            )
        if allowed and digest not in allowed:
            raise _pin_error(release, digest, allowed, "downloaded")
        os.chmod(tmp, 0o644)
        dest.parent.mkdir(exist_ok=True)
        _provenance_file(dest).write_text(json.dumps({"url": release.url, "tls": tls}))
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log.info(f"downloaded {release.filename} ({log.size(received)}, sha256 verified)")
    return tls


def _stream(
    release: Release, out: _Writer, session: requests.Session
) -> tuple[str, int, bool]:
    """GET the file, hashing as it is written; (sha256 hex, bytes, all hops https)."""
    limit = release.size if release.size is not None else MAX_UNSIZED_BYTES
    sha = hashlib.sha256()
    received = 0
    try:
        # identity: a server's Content-Encoding must not change the bytes we hash
        resp = session.get(release.url, stream=True, headers={"Accept-Encoding": "identity"})
        with resp:
            if resp.status_code != 200:
                raise ResolveError(
                    f"download of {release.url} failed: HTTP {resp.status_code} {resp.reason}",
                    project=release.name,
                )
            hops = [r.url for r in resp.history] + [resp.url]
            tls = all(urlparse(u).scheme == "https" for u in hops)
            total = _content_length(resp) or release.size
            allowed = DEFAULT_DEADLINE + limit / MIN_RATE
            deadline = time.monotonic() + allowed
            # read1: whatever has arrived (urllib3 >= 2.3), so a trickle is seen between bytes
            read = getattr(resp.raw, "read1", None) or resp.raw.read
            with _progress(release.filename, total) as advance:
                while chunk := read(_CHUNK, decode_content=False):
                    if time.monotonic() > deadline:
                        raise ResolveError(
                            f"download of {release.url} took longer than {allowed:.0f} s",
                            project=release.name, hint="the index or a proxy is too slow")
                    received += len(chunk)
                    if received > limit:
                        raise IntegrityError(
                            f"{release.filename} is bigger than the {limit} bytes expected; "
                            f"url {release.url}",
                            project=release.name,
                        )
                    sha.update(chunk)
                    out.write(chunk)
                    advance(len(chunk))
    except requests.exceptions.SSLError as exc:
        raise ResolveError(
            f"TLS verification failed downloading {release.url}: {describe_error(exc)}",
            project=release.name,
        ) from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise ResolveError(
            f"download of {release.url} failed: {describe_error(exc)}", project=release.name
        ) from exc
    return sha.hexdigest(), received, tls


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _content_length(resp: requests.Response) -> int | None:
    try:
        return int(resp.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


@contextlib.contextmanager
def _progress(filename: str, total: int | None) -> Iterator[_Advance]:
    if total is None or total < PROGRESS_MIN_BYTES or not log.console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        TextColumn("  {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=log.console,
        transient=True,
    ) as progress:
        task = progress.add_task(filename, total=total)
        yield lambda n: progress.advance(task, n)


class _Advance(Protocol):
    def __call__(self, n: int, /) -> None: ...
