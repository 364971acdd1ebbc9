"""A tiny simple-repository index on loopback, for tests that need real HTTP.

PEP 691 JSON when the Accept header asks for ``application/vnd.pypi.simple.v1+json``
(at least as much as for HTML), PEP 503 HTML otherwise.  Files are served from a
temporary directory under ``/files/<project>/<filename>``.

    with LocalIndex() as index:
        index.add("demo", "demo-1.0.tar.gz", b"...", requires_python=">=3.8")
        resolve(Requirement("demo"), index=index.url, ...)
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"

__all__ = ["Answer", "IndexFile", "LocalIndex"]


@dataclass
class IndexFile:
    filename: str
    path: Path
    hashes: dict[str, str]
    size: int
    version: str | None
    requires_python: str | None
    yanked: bool | str
    metadata: bytes | None = None          # PEP 658 core metadata served at <url>.metadata
    metadata_sha256: str | None = None
    signature: bytes | None = None         # detached OpenPGP signature served at <url>.asc
    provenance: bytes | None = None        # PEP 740 provenance object (JSON) served by URL
    upload_time: str | None = None         # PEP 700 "upload-time" (ISO 8601), JSON only
    fragment: str | None = None            # appended to the file's URL as "#<fragment>"


@dataclass
class Answer:
    """A canned answer for one path (`LocalIndex.answers`), to make the index misbehave:
    any status, headers and body, the body optionally dripped one byte every `drip`
    seconds."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0


@dataclass
class _Project:
    name: str
    files: list[IndexFile] = field(default_factory=list)


class LocalIndex:
    """A simple index served by a ThreadingHTTPServer on 127.0.0.1 (port chosen by the OS).

    `requests` records every request path, in order (e.g. to prove a cache hit made no
    download).  With ``json=False`` only HTML is served, whatever the client asks.
    """

    def __init__(self, *, json: bool = True) -> None:
        self.serve_json = json
        self.requests: list[str] = []
        self._projects: dict[str, _Project] = {}
        #: (normalised name, version) -> OSV-style entries served by the JSON API
        #: (``/pypi/<name>/<version>/json``'s "vulnerabilities"), as PyPI does.
        self.vulnerabilities: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: False: 404 for ``/pypi/<name>/<version>/json``, as some mirrors answer.
        self.per_release_json = True
        #: request path -> a canned answer served instead of the real one (hostile index)
        self.answers: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="repack-localindex-"))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        index: LocalIndex = self

        class Handler(_Handler):
            owner = index

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="LocalIndex",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (the port then refuses connections); files stay until close()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- content -----------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/simple/"

    def file_url(self, project: str, filename: str) -> str:
        return f"{self.root}/files/{canonicalize_name(project)}/{quote(filename)}"

    def add(  # noqa: PLR0913 -- keyword-only: one per field a PEP 691 file can carry
        self,
        project: str,
        filename: str,
        data: bytes,
        *,
        version: str | None = None,
        requires_python: str | None = None,
        yanked: bool | str = False,
        sha256: str | None = None,
        size: int | None = None,
        hashes: Mapping[str, str] | None = None,
        metadata: bytes | None = None,
        metadata_sha256: str | None = None,
        signature: bytes | None = None,
        provenance: bytes | None = None,
        upload_time: str | None = None,
        fragment: str | None = None,
    ) -> IndexFile:
        """Publish `data` as `filename` of `project`.

        sha256 overrides the advertised digest (to make the index lie); hashes replaces
        the whole digest mapping (``{}`` publishes a file without any digest); size
        overrides the advertised size; yanked may be a reason string ("" = no reason).
        metadata: core metadata served beside the file (PEP 658/714), advertised with its
        sha256 (metadata_sha256 overrides it, to make the index lie).
        signature: a detached OpenPGP signature, served at ``<url>.asc`` and announced
        (PEP 691 ``gpg-sig``, HTML ``data-gpg-sig``).  provenance: a PEP 740 provenance
        object, served at ``/integrity/<project>/<version>/<filename>/provenance`` and
        announced with its URL as PyPI does.  fragment: added to the file's URL (never sent
        by a client, so the download and its hash still pass), in the JSON page only.
        """
        name = canonicalize_name(project)
        if "/" in filename:
            raise ValueError(filename)
        folder = self._tmp / "files" / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / filename
        path.write_bytes(data)
        if hashes is not None:
            digests = dict(hashes)
        else:
            digests = {"sha256": sha256 or hashlib.sha256(data).hexdigest()}
        entry = IndexFile(
            filename=filename,
            path=path,
            hashes=digests,
            size=len(data) if size is None else size,
            version=version or _version_of(filename),
            requires_python=requires_python,
            yanked=yanked,
            metadata=metadata,
            metadata_sha256=None if metadata is None
            else metadata_sha256 or hashlib.sha256(metadata).hexdigest(),
            signature=signature,
            provenance=provenance,
            upload_time=upload_time,
            fragment=fragment,
        )
        with self._lock:
            self._projects.setdefault(name, _Project(project)).files.append(entry)
        return entry

    def provenance_url(self, project: str, version: str, filename: str) -> str:
        return (f"{self.root}/integrity/{canonicalize_name(project)}/{quote(version)}/"
                f"{quote(filename)}/provenance")

    def add_vulnerability(self, project: str, version: str, *, id: str,
                          fixed_in: list[str], aliases: list[str] | None = None,
                          summary: str = "", link: str | None = None) -> None:
        """Make the JSON API list an OSV-style advisory for `project` `version`."""
        key = (canonicalize_name(project), version)
        self.vulnerabilities.setdefault(key, []).append({
            "id": id, "aliases": aliases or [], "details": summary, "summary": summary,
            "fixed_in": fixed_in, "link": link or f"https://osv.dev/vulnerability/{id}",
            "source": "osv", "withdrawn": None,
        })

    def downloads(self) -> list[str]:
        """The /files/ paths requested so far."""
        return [p for p in self.requests if p.startswith("/files/")]

    # -- rendering ---------------------------------------------------------------------

    def project(self, name: str) -> _Project | None:
        with self._lock:
            return self._projects.get(name)

    def project_json(self, project: _Project, name: str) -> bytes:
        files: list[dict[str, Any]] = []
        for f in project.files:
            entry: dict[str, Any] = {
                "filename": f.filename,
                "url": self.file_url(name, f.filename)
                + (f"#{f.fragment}" if f.fragment is not None else ""),
                "hashes": f.hashes,
                "size": f.size,
            }
            if f.requires_python is not None:
                entry["requires-python"] = f.requires_python
            if f.yanked is not False:
                entry["yanked"] = f.yanked or True  # PEP 691: a reason is never ""
            if f.metadata is not None:
                entry["core-metadata"] = {"sha256": f.metadata_sha256}
            if f.signature is not None:
                entry["gpg-sig"] = True
            if f.provenance is not None and f.version:
                entry["provenance"] = self.provenance_url(name, f.version, f.filename)
            if f.upload_time is not None:
                entry["upload-time"] = f.upload_time
            files.append(entry)
        versions = sorted({f.version for f in project.files if f.version})
        doc = {
            "meta": {"api-version": "1.1"},
            "name": name,
            "files": files,
            "versions": versions,
        }
        return json.dumps(doc).encode()

    def project_html(self, project: _Project, name: str) -> bytes:
        links = []
        for f in project.files:
            url = self.file_url(name, f.filename)
            if f.hashes:
                algo, digest = next(iter(f.hashes.items()))
                if "sha256" in f.hashes:
                    algo, digest = "sha256", f.hashes["sha256"]
                url += f"#{algo}={digest}"
            attrs = f' href="{html.escape(url)}"'
            if f.requires_python is not None:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if f.yanked is not False:
                reason = f.yanked if isinstance(f.yanked, str) else ""
                attrs += f' data-yanked="{html.escape(reason)}"'
            if f.signature is not None:
                attrs += ' data-gpg-sig="true"'
            if f.provenance is not None and f.version:
                prov = self.provenance_url(name, f.version, f.filename)
                attrs += f' data-provenance="{html.escape(prov)}"'
            links.append(f"    <a{attrs}>{html.escape(f.filename)}</a><br/>")
        body = "\n".join(links)
        return (
            "<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            f"    <title>Links for {html.escape(name)}</title>\n  </head>\n  <body>\n"
            f"    <h1>Links for {html.escape(name)}</h1>\n{body}\n  </body>\n</html>\n"
        ).encode()

    def json_api(self, name: str, version: str | None) -> bytes | None:
        """PyPI's JSON API (``/pypi/<name>[/<version>]/json``): releases and advisories."""
        project = self.project(name)
        if project is None:
            return None
        versions = sorted({f.version for f in project.files if f.version})
        if version is not None and (version not in versions or not self.per_release_json):
            return None
        shown = version or (versions[-1] if versions else "")
        doc = {
            "info": {"name": project.name, "version": shown},
            "releases": {v: [] for v in versions},
            "urls": [],
            "vulnerabilities": self.vulnerabilities.get((name, shown), []),
        }
        return json.dumps(doc).encode()

    def root_json(self) -> bytes:
        with self._lock:
            names = sorted(self._projects)
        return json.dumps(
            {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
        ).encode()

    def root_html(self) -> bytes:
        with self._lock:
            names = sorted(self._projects)
        links = "\n".join(f'    <a href="{quote(n)}/">{html.escape(n)}</a><br/>' for n in names)
        return (
            '<!DOCTYPE html>\n<html>\n  <head>\n'
            '    <meta name="pypi:repository-version" content="1.1">\n'
            "    <title>Simple index</title>\n  </head>\n  <body>\n"
            f"{links}\n  </body>\n</html>\n"
        ).encode()


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidSdistFilename, InvalidWheelFilename):
        return None


def _wants_json(accept: str) -> bool:
    """True when the Accept header rates the PEP 691 JSON type at least as high as HTML."""
    best_json = 0.0
    best_html = 0.0
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            key, _, val = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if media == JSON_TYPE:
            best_json = max(best_json, q)
        elif media in (HTML_TYPE, "text/html", "*/*"):
            best_html = max(best_html, q)
    return best_json > 0 and best_json >= best_html


class _Handler(BaseHTTPRequestHandler):
    owner: LocalIndex
    server_version = "LocalIndex/1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._handle(body=False)

    def do_GET(self) -> None:
        self._handle(body=True)

    def _handle(self, *, body: bool) -> None:  # noqa: C901 -- one branch per route of the index
        path = unquote(urlsplit(self.path).path)
        self.owner.requests.append(path)
        answer = self.owner.answers.get(path)
        if answer is not None:
            return self._answer(answer, body)
        parts = [p for p in path.split("/") if p]
        if parts == ["simple"]:
            if not path.endswith("/"):
                return self._redirect("/simple/")
            if self._json():
                return self._send(200, JSON_TYPE, self.owner.root_json(), body)
            return self._send(200, "text/html", self.owner.root_html(), body)
        if len(parts) == 2 and parts[0] == "simple":
            name = canonicalize_name(parts[1])
            if parts[1] != name or not path.endswith("/"):
                return self._redirect(f"/simple/{name}/")
            project = self.owner.project(name)
            if project is None:
                return self._send(404, "text/plain", b"not found\n", body)
            if self._json():
                return self._send(200, JSON_TYPE, self.owner.project_json(project, name), body)
            return self._send(200, "text/html", self.owner.project_html(project, name), body)
        if len(parts) == 3 and parts[0] == "files":
            project = self.owner.project(parts[1])
            for f in project.files if project else []:
                if f.filename == parts[2]:
                    data = f.path.read_bytes()
                    return self._send(200, "application/octet-stream", data, body)
                if f.metadata is not None and f"{f.filename}.metadata" == parts[2]:
                    return self._send(200, "application/octet-stream", f.metadata, body)
                if f.signature is not None and f"{f.filename}.asc" == parts[2]:
                    return self._send(200, "application/pgp-signature", f.signature, body)
        if len(parts) == 5 and parts[0] == "integrity" and parts[4] == "provenance":
            project = self.owner.project(parts[1])
            for f in project.files if project else []:
                if f.filename == parts[3] and f.version == parts[2] and f.provenance is not None:
                    return self._send(200, "application/json", f.provenance, body)
        if parts and parts[0] == "pypi" and parts[-1] == "json" and len(parts) in (3, 4):
            doc = self.owner.json_api(canonicalize_name(parts[1]),
                                       parts[2] if len(parts) == 4 else None)
            if doc is not None:
                return self._send(200, "application/json", doc, body)
        return self._send(404, "text/plain", b"not found\n", body)

    def _json(self) -> bool:
        return self.owner.serve_json and _wants_json(self.headers.get("Accept", ""))

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, answer: Answer, body: bool) -> None:
        self.send_response(answer.status)
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Length": str(len(answer.body)), **answer.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not body:
            return
        if not answer.drip:
            self.wfile.write(answer.body)
            return
        try:
            for i in range(len(answer.body)):
                self.wfile.write(answer.body[i:i + 1])
                self.wfile.flush()
                time.sleep(answer.drip)
        except OSError:     # the client gave up: what a deadline is for
            pass

    def _send(self, status: int, content_type: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)
