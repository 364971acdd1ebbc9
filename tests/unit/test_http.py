"""repack.http's bounds against a misbehaving loopback index: an overall deadline however
slowly the bytes come, Retry-After cut short, documents of bounded size; each a one-line
error with exit code 3 (index trouble)."""

from __future__ import annotations

import time

import pytest
from localindex import Answer, LocalIndex  # type: ignore[import-not-found]

from repack import http, resolve
from repack.errors import ResolveError, TrustError
from repack.trust.pgp import fetch_signature


def test_a_dripping_page_hits_the_deadline(local_index: LocalIndex) -> None:
    """One byte every 0.2 s never trips the read timeout; the overall deadline ends it."""
    local_index.answers["/simple/demo/"] = Answer(body=b"x" * 1000, drip=0.2)
    with http.session(deadline=1.0, retries=0) as s, pytest.raises(ResolveError) as err:
        resolve.project_page("demo", index=local_index.url, session=s)
    message = str(err.value)
    assert message.startswith("demo: ") and "within 1 s" in message, message
    assert err.value.exit_code == 3


def test_a_dripping_signature_hits_the_deadline(local_index: LocalIndex) -> None:
    local_index.answers["/files/demo/demo-1.0.tar.gz.asc"] = Answer(body=b"s" * 1000, drip=0.2)
    url = local_index.file_url("demo", "demo-1.0.tar.gz") + ".asc"
    with http.session(deadline=1.0, retries=0) as s, pytest.raises(ResolveError) as err:
        fetch_signature(url, s, "demo")
    assert "within 1 s" in str(err.value) and err.value.exit_code == 3


def test_retry_after_is_cut_short(local_index: LocalIndex) -> None:
    """503 with Retry-After: 3600 is retried after max_retry_after seconds, then reported."""
    local_index.answers["/simple/demo/"] = Answer(status=503, headers={"Retry-After": "3600"})
    start = time.monotonic()
    with http.session(retries=1, max_retry_after=0.1, deadline=60) as s, \
            pytest.raises(ResolveError) as err:
        resolve.project_page("demo", index=local_index.url, session=s)
    assert time.monotonic() - start < 30     # not an hour, nor the deadline
    assert "503" in str(err.value) and err.value.exit_code == 3
    assert local_index.requests.count("/simple/demo/") == 2   # retried once


def test_a_project_page_has_a_size_limit(local_index: LocalIndex) -> None:
    for n in range(30):
        local_index.add("demo", f"demo-1.{n}.tar.gz", b"x")
    with http.session(max_document=2000) as s, pytest.raises(ResolveError) as err:
        resolve.project_page("demo", index=local_index.url, session=s)
    assert "bigger than 2000 bytes" in str(err.value) and err.value.exit_code == 3
    with http.session() as s:      # the default limit (64 MiB) reads it
        assert len(resolve.project_page("demo", index=local_index.url, session=s).packages) == 30


@pytest.mark.parametrize("status", [500, 403])
def test_a_signature_the_index_refuses_is_a_trust_failure(local_index: LocalIndex,
                                                          status: int) -> None:
    """404 is "no signature"; any other answer means the check cannot be done (exit 11)."""
    local_index.answers["/files/demo/demo-1.0.tar.gz.asc"] = Answer(status=status)
    url = local_index.file_url("demo", "demo-1.0.tar.gz") + ".asc"
    with http.session(retries=0) as s, pytest.raises(TrustError) as err:
        fetch_signature(url, s, "demo")
    assert f"HTTP {status}" in str(err.value) and err.value.exit_code == 11


def test_describe_error_is_one_line() -> None:
    exc = http.DeadlineExceeded("no complete answer from http://x/\n within 1 s")
    assert http.describe_error(exc) == "no complete answer from http://x/ within 1 s"
