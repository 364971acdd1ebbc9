"""repack.trust.advisories against a real loopback index serving PyPI's JSON API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from localindex import Answer, LocalIndex  # type: ignore[import-not-found]
from packaging.utils import canonicalize_name
from packaging.version import Version

from repack import http
from repack.errors import ResolveError
from repack.model import Release
from repack.trust.advisories import Findings, json_api_url, lookup

GHSA = "GHSA-2hrw-hx67-34x6"


def release(index_url: str, version: str, name: str = "demo") -> Release:
    return Release(name=canonicalize_name(name), version=Version(version),
                   filename=f"{name}-{version}.tar.gz", url=f"{index_url}x", sha256="0" * 64,
                   size=1, requires_python=None, yanked=False, index_url=index_url)


@pytest.mark.parametrize(("index", "name", "version", "expected"), [
    ("https://pypi.org/simple/", "django", "4.2", "https://pypi.org/pypi/django/4.2/json"),
    ("https://pypi.org/simple", "django", None, "https://pypi.org/pypi/django/json"),
    ("https://u:p@mirror.example/py/simple/?x=1", "a", "1", "https://u:p@mirror.example/py/pypi/a/1/json"),
    ("https://m.example/root/pypi/+simple/", "a", None, "https://m.example/root/pypi/pypi/a/json"),
    ("https://mirror.example/python/index/", "a", "1.0", "https://mirror.example/python/pypi/a/1.0/json"),
    ("http://127.0.0.1:8080/", "a", None, "http://127.0.0.1:8080/pypi/a/json"),
    ("https://pypi.org/simple/", "a", "1.0+local/x", "https://pypi.org/pypi/a/1.0%2Blocal%2Fx/json"),
])
def test_json_api_url(index: str, name: str, version: str | None, expected: str) -> None:
    assert json_api_url(index, name, version) == expected


@pytest.fixture
def index() -> Iterator[LocalIndex]:
    with LocalIndex() as idx:
        for v in ("1.0", "1.1", "1.2rc1", "1.2", "2.0"):
            idx.add("demo", f"demo-{v}.tar.gz", f"demo {v}".encode())
        yield idx


def test_vulnerabilities_and_fixes(index: LocalIndex) -> None:
    index.add_vulnerability("demo", "1.1", id=GHSA, aliases=["CVE-2023-31047"],
                            fixed_in=["1.2"], summary="bad things")
    index.add_vulnerability("demo", "1.1", id="PYSEC-2023-1", fixed_in=["2.0"])
    index.add_vulnerability("demo", "1.2", id="PYSEC-2023-1", fixed_in=["2.0"])
    index.add_vulnerability("demo", "1.2rc1", id="PYSEC-2020-9", fixed_in=["1.2"])
    with http.session() as s:
        found = lookup(release(index.url, "1.2"), s)
    # previous final release is 1.1 (1.2rc1 is a pre-release); PYSEC-2023-1 still affects 1.2
    assert found.previous == "1.1"
    assert [a.id for a in found.vulnerabilities] == ["PYSEC-2023-1"]
    (fix,) = found.fixes
    assert (fix.id, fix.aliases, fix.fixed_in, fix.summary) == (
        GHSA, ("CVE-2023-31047",), ("1.2",), "bad things")
    assert len([p for p in index.requests if p.startswith("/pypi/")]) <= 3


def test_fixed_later_is_not_fixed_here(index: LocalIndex) -> None:
    index.add_vulnerability("demo", "1.0", id=GHSA, fixed_in=["2.0"])
    with http.session() as s:
        found = lookup(release(index.url, "1.1"), s)
    assert found == Findings(previous="1.0", checked=True)


def test_latest_release_needs_two_requests(index: LocalIndex) -> None:
    index.add_vulnerability("demo", "1.2", id=GHSA, fixed_in=["2.0"])
    with http.session() as s:
        found = lookup(release(index.url, "2.0"), s)
    assert [a.id for a in found.fixes] == [GHSA] and found.vulnerabilities == ()
    assert [p for p in index.requests if p.startswith("/pypi/")] == [
        "/pypi/demo/json", "/pypi/demo/1.2/json"]


def test_first_release_has_no_previous(index: LocalIndex) -> None:
    index.add_vulnerability("demo", "1.0", id=GHSA, fixed_in=["1.1"])
    with http.session() as s:
        found = lookup(release(index.url, "1.0"), s)
    assert found.previous is None and found.fixes == ()
    assert [a.id for a in found.vulnerabilities] == [GHSA]


def test_withdrawn_entries_are_skipped(index: LocalIndex) -> None:
    index.add_vulnerability("demo", "1.1", id=GHSA, fixed_in=["1.2"])
    index.add_vulnerability("demo", "1.1", id="PYSEC-2023-2", fixed_in=["1.2"])
    index.vulnerabilities[("demo", "1.1")][1]["withdrawn"] = "2024-01-01T00:00:00Z"
    with http.session() as s:
        found = lookup(release(index.url, "1.1"), s)
    assert [a.id for a in found.vulnerabilities] == [GHSA] and found.checked


@pytest.mark.parametrize(("entry", "problem"), [
    ({"id": "bad id\nX-Evil: 1", "fixed_in": ["1.2"]}, "advisory id 'bad id X-Evil: 1'"),
    ({"id": "PYSEC-1", "aliases": "notalist"}, "aliases must be a list"),
    ({"id": "PYSEC-1", "aliases": ["CVE 1"]}, "aliases entry 'CVE 1' is malformed"),
    ({"id": "PYSEC-1", "fixed_in": ["1.2\x1b[2K"]}, "fixed_in entry '1.2[2K' is malformed"),
    ({"id": "PYSEC-1", "fixed_in": "1.2"}, "fixed_in must be a list"),
    ({"id": "PYSEC-1", "summary": 7}, "summary and link must be strings"),
    ({"id": "PYSEC-1", "withdrawn": 5}, "withdrawn must be"),
    ("PYSEC-1", "must be a JSON object"),
])
def test_a_malformed_entry_is_an_error(index: LocalIndex, entry: object, problem: str) -> None:
    """Dropping a malformed entry would report a vulnerable release as clean."""
    index.add_vulnerability("demo", "1.1", id=GHSA, fixed_in=["1.2"])
    index.vulnerabilities[("demo", "1.1")].append(entry)  # type: ignore[arg-type]
    with http.session() as s, pytest.raises(ResolveError) as err:
        lookup(release(index.url, "1.1"), s)
    message = str(err.value)
    assert message.startswith("demo: the index's JSON API lists a malformed advisory for "
                              "demo 1.1 (entry 2): ") and problem in message, message
    assert "\x1b" not in message and "\n" not in message


@pytest.mark.parametrize("value", ["missing", None, {}, "none", 0])
def test_no_list_of_advisories_is_no_data(index: LocalIndex, value: object) -> None:
    """A document without a list of advisories says nothing: not "no vulnerabilities"."""
    doc: dict[str, Any] = {"info": {"name": "demo", "version": "1.1"}, "releases": {}}
    if value != "missing":
        doc["vulnerabilities"] = value
    index.answers["/pypi/demo/1.1/json"] = Answer(body=json.dumps(doc).encode())
    with http.session() as s:
        assert lookup(release(index.url, "1.1"), s) == Findings(checked=False)


def test_json_api_answer_is_bounded(index: LocalIndex) -> None:
    """The session reads a document whole up to its max_document bytes (64 MiB by default;
    here a few hundred), then refuses it with one line."""
    for n in range(20):
        index.add_vulnerability("demo", "1.1", id=f"PYSEC-2023-{n}", fixed_in=["1.2"])
    with http.session(max_document=600) as s, pytest.raises(ResolveError) as err:
        lookup(release(index.url, "1.1"), s)
    assert "is bigger than 600 bytes" in str(err.value), err.value
    assert str(err.value).startswith("demo: the index's JSON API (")


def test_index_without_json_api_gives_no_findings() -> None:
    with LocalIndex() as idx, http.session() as s:   # the project is unknown: 404
        assert lookup(release(idx.url, "1.0", name="absent"), s) == Findings(checked=False)


def test_mirror_without_per_release_documents_is_unchecked(index: LocalIndex) -> None:
    """Some mirrors serve /pypi/<name>/json but 404 for /pypi/<name>/<version>/json: that
    is no data, not "no vulnerabilities"."""
    index.add_vulnerability("demo", "1.0", id=GHSA, fixed_in=["1.1"])
    index.per_release_json = False
    with http.session() as s:
        assert lookup(release(index.url, "1.1"), s) == Findings(checked=False)


class _Broken(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html>maintenance</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_non_json_answer_is_an_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
        with http.session() as s, pytest.raises(ResolveError) as err:
            lookup(release(url, "1.0"), s)
    finally:
        server.shutdown()
        server.server_close()
    assert str(err.value).startswith("demo: ") and "JSON" in str(err.value)
    assert "\n" not in str(err.value)


def test_unreachable_index_is_an_error() -> None:
    with LocalIndex() as idx:
        url = idx.url
    with http.session(retries=0) as s, pytest.raises(ResolveError) as err:
        lookup(release(url, "1.0"), s)
    assert str(err.value).startswith("demo: cannot reach")


def test_json_document_round_trips(index: LocalIndex) -> None:
    """The API's entries parse with the provenance module's parser (same keys)."""
    index.add_vulnerability("demo", "1.0", id=GHSA, fixed_in=["1.1"], link="https://x/y")
    with http.session() as s:
        found = lookup(release(index.url, "1.1"), s)
    assert found.fixes[0].link == "https://x/y"


def test_since_compares_with_the_published_version(index: LocalIndex) -> None:
    """`since` (repack outdated): the fixes are counted from that version, not from the
    previous final release; without its data nothing is checked."""
    index.add_vulnerability("demo", "1.0", id=GHSA, fixed_in=["1.1"])
    index.add_vulnerability("demo", "1.0", id="PYSEC-2023-1", fixed_in=["2.0"])
    with http.session() as s:
        found = lookup(release(index.url, "2.0"), s, since=Version("1.0"))
        assert found.previous == "1.0" and found.checked
        assert [a.id for a in found.fixes] == [GHSA, "PYSEC-2023-1"]
        # the previous final release (1.2) has none of them
        assert lookup(release(index.url, "2.0"), s).fixes == ()
        gone = lookup(release(index.url, "2.0"), s, since=Version("0.9"))
    assert (gone.fixes, gone.checked) == ((), False)
