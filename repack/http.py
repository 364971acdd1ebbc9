"""The one HTTP session repack uses: system trust store, a User-Agent, default timeouts.

TLS is verified against the operating system's trust store through `truststore` (the same
CAs apt and curl trust, including any a site administrator added), not certifi's bundle.
The SSL context is handed to urllib3 by our adapter only; `truststore.inject_into_ssl()`
is never called, so nothing else in the process changes behaviour.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

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

__all__ = ["DEFAULT_TIMEOUT", "USER_AGENT", "TruststoreAdapter", "describe_error", "get_small",
           "session"]


class TruststoreAdapter(HTTPAdapter):
    """An HTTPAdapter that verifies TLS with the system trust store and applies a default
    timeout to every request that did not pass its own."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 2,
    ) -> None:
        self.timeout = timeout
        self._ssl_context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        retry = Retry(
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
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=dict(proxies) if proxies is not None else None,
        )


def session(
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 2,
) -> requests.Session:
    """A new `requests.Session` for talking to package indexes.

    HTTPS is verified with the system trust store; requests without an explicit timeout
    get `timeout`; idempotent requests are retried `retries` times on connection errors
    and 429/5xx answers.  Proxy environment variables are honoured as requests does.
    """
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    adapter = TruststoreAdapter(timeout=timeout, retries=retries)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def get_small(url: str, session: requests.Session, *, project: str, what: str, limit: int,
              missing_ok: bool = False, headers: Mapping[str, str] | None = None,
              too_large: type[RepackError] = ResolveError,
              hint_404: str | None = None) -> bytes | None:
    """A small document (a signature, a provenance object) whole, or None when missing_ok and
    the server says it does not exist (404/410).  More than `limit` bytes raises too_large;
    an HTTP or network failure ResolveError, naming `what` ("the signature") and the URL."""
    try:
        resp = session.get(url, stream=True,
                           headers={"Accept-Encoding": "identity", **(headers or {})})
        with resp:
            if missing_ok and resp.status_code in (404, 410):
                return None
            if resp.status_code != 200:
                raise ResolveError(
                    f"download of {what} {url} failed: HTTP {resp.status_code} {resp.reason}",
                    project=project, hint=hint_404 if resp.status_code == 404 else None)
            body = bytearray()
            for chunk in resp.raw.stream(64 * 1024, decode_content=False):
                body += chunk
                if len(body) > limit:
                    raise too_large(f"{what} {url} is bigger than {limit} bytes",
                                    project=project)
            return bytes(body)
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
