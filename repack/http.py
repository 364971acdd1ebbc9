"""The one HTTP session repack uses: system trust store, a User-Agent, timeouts and bounds.

TLS is verified against the operating system's trust store through `truststore` (the same
CAs apt and curl trust, including any a site administrator added), not certifi's bundle.
The SSL context is handed to urllib3 by our adapter only; `truststore.inject_into_ssl()`
is never called, so nothing else in the process changes behaviour.

The index is not trusted to be reasonable either.  A read timeout only bounds the silence
between two bytes, so every request also has an overall deadline (connection, retries,
headers and, for a document read whole, its body: an index dripping a byte every few
seconds fails instead of hanging); a Retry-After longer than `MAX_RETRY_AFTER` is cut to
it; and a document read whole (project page, JSON API answer) may hold at most
`MAX_DOCUMENT_BYTES`.  Streamed downloads bound their own size (repack.fetch, `get_small`).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

import requests
import truststore
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from repack import __version__
from repack.errors import RepackError, ResolveError

USER_AGENT = f"repack/{__version__}"

#: (connect, read) seconds; read is the longest silence tolerated between two bytes.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
#: Seconds a whole request may take, from connecting to the last byte read whole.
DEFAULT_DEADLINE = 300.0
#: The longest Retry-After (seconds) waited for; a longer one is cut to this.
MAX_RETRY_AFTER = 10.0
#: The most a document read whole may hold (PyPI's biggest project pages and JSON API
#: answers are a few MB; a hostile index could send gigabytes).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024

__all__ = ["DEFAULT_DEADLINE", "DEFAULT_TIMEOUT", "MAX_DOCUMENT_BYTES", "MAX_RETRY_AFTER",
           "USER_AGENT", "DeadlineExceeded", "ResponseTooLarge", "TruststoreAdapter",
           "describe_error", "get_small", "read_body", "session"]

T = TypeVar("T")


class DeadlineExceeded(requests.exceptions.Timeout):
    """The whole request took longer than its deadline (a requests error, so every caller
    that reports an unreachable index reports this too)."""


class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer is bigger than what is read of it whole."""


class _CappedRetry(Retry):
    """urllib3's Retry with Retry-After cut to `max_retry_after` seconds: an index answering
    503 with ``Retry-After: 3600`` must not stall a build for an hour."""

    def __init__(self, *args: Any, max_retry_after: float = MAX_RETRY_AFTER,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_retry_after)


def _within(seconds: float, url: str, work: Callable[[threading.Event], T]) -> T:
    """work(cancelled) run in a worker thread, its result or exception; DeadlineExceeded when
    it takes longer than `seconds` (a socket timeout only bounds one read).  The worker is
    told through `cancelled` and stops at its next read; it is a daemon, so a server that
    never answers cannot keep the process alive."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work(cancelled)))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append((False, exc))

    cancelled = threading.Event()
    worker = threading.Thread(target=run, name="repack-http", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive() or not outcome:
        cancelled.set()
        raise DeadlineExceeded(f"no complete answer from {url} within {seconds:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value   # type: ignore[no-any-return]


def read_body(resp: requests.Response, *, limit: int, cancelled: threading.Event | None = None,
              decode: bool = True) -> bytes:
    """The body of a streamed response, read as it arrives (one socket read at a time, so
    `cancelled` is seen between bytes that trickle in); ResponseTooLarge past `limit` bytes.
    urllib3's errors become requests' (what callers catch)."""
    raw = resp.raw
    read = getattr(raw, "read1", None) or raw.read    # read1: urllib3 >= 2.3
    body = bytearray()
    while cancelled is None or not cancelled.is_set():
        try:
            chunk = read(_CHUNK, decode_content=decode)
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge(f"the answer from {resp.url} is bigger than {limit} bytes")
    raise DeadlineExceeded(f"no complete answer from {resp.url} in time")


class TruststoreAdapter(HTTPAdapter):
    """An HTTPAdapter that verifies TLS with the system trust store and applies a default
    timeout to every request that did not pass its own."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 2,
        deadline: float = DEFAULT_DEADLINE,
        max_document: int = MAX_DOCUMENT_BYTES,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.max_document = max_document
        self._ssl_context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        retry = _CappedRetry(
            max_retry_after=max_retry_after,
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,  # the caller sees the last response and reports it
            respect_retry_after_header=True,
        )
        super().__init__(max_retries=retry)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """HTTPAdapter.send within the deadline.  A streamed response is handed over once its
        headers are in (its reader bounds the body); any other is read here, whole, to at
        most max_document bytes."""
        def work(cancelled: threading.Event) -> requests.Response:
            resp = HTTPAdapter.send(self, request, stream=True,
                                    timeout=self.timeout if timeout is None else timeout,
                                    verify=verify, cert=cert,
                                    proxies=dict(proxies) if proxies is not None else None)
            if stream and not cancelled.is_set():
                return resp
            try:
                body = read_body(resp, limit=self.max_document, cancelled=cancelled)
            finally:
                resp.close()
            resp._content = body              # what Response.content would have read  # noqa: SLF001 -- requests has no public way to set a read body
            resp._content_consumed = True  # noqa: SLF001
            return resp

        return _within(self.deadline, str(request.url), work)


def session(
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 2,
    deadline: float = DEFAULT_DEADLINE,
    max_document: int = MAX_DOCUMENT_BYTES,
    max_retry_after: float = MAX_RETRY_AFTER,
) -> requests.Session:
    """A new `requests.Session` for talking to package indexes.

    HTTPS is verified with the system trust store; requests without an explicit timeout
    get `timeout`; idempotent requests are retried `retries` times on connection errors
    and 429/5xx answers, waiting at most `max_retry_after` seconds however long the server
    asks; every request ends within `deadline` seconds; a document read whole holds at most
    `max_document` bytes.  Proxy environment variables are honoured as requests does.
    """
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    adapter = TruststoreAdapter(timeout=timeout, retries=retries, deadline=deadline,
                                max_document=max_document, max_retry_after=max_retry_after)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def get_small(url: str, session: requests.Session, *, project: str, what: str, limit: int,
              missing_ok: bool = False, headers: Mapping[str, str] | None = None,
              too_large: type[RepackError] = ResolveError,
              refused: type[RepackError] = ResolveError,
              hint_404: str | None = None) -> bytes | None:
    """A small document (a signature, a provenance object) whole, or None when missing_ok and
    the server says it does not exist (404/410).  More than `limit` bytes raises too_large,
    an HTTP answer other than 200 `refused`, a network failure or the session's deadline
    passing ResolveError; each names `what` ("the signature") and the URL."""
    def work(cancelled: threading.Event) -> bytes | None:
        resp = session.get(url, stream=True,
                           headers={"Accept-Encoding": "identity", **(headers or {})})
        with resp:
            if missing_ok and resp.status_code in (404, 410):
                return None
            if resp.status_code != 200:
                raise refused(
                    f"download of {what} {url} failed: HTTP {resp.status_code} {resp.reason}",
                    project=project, hint=hint_404 if resp.status_code == 404 else None)
            return read_body(resp, limit=limit, cancelled=cancelled, decode=False)

    deadline = getattr(session.get_adapter(url), "deadline", DEFAULT_DEADLINE)
    try:
        return _within(deadline, url, work)
    except ResponseTooLarge as exc:
        raise too_large(f"{what} {url} is bigger than {limit} bytes", project=project) from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise ResolveError(f"download of {what} {url} failed: {describe_error(exc)}",
                           project=project) from exc


def describe_error(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception, on one line
    (MaxRetryError -> NewConnectionError -> "[Errno 111] Connection refused")."""
    inner: BaseException = exc
    for _ in range(10):  # bounded: exception chains are short, but never trust a cycle
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
            continue
        arg = inner.args[0] if inner.args else None
        if isinstance(arg, BaseException) and arg is not inner:
            inner = arg
            continue
        break
    return " ".join(str(inner).split()) or type(inner).__name__
