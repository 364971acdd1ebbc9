"""`repack serve`: the repository over plain HTTP on 127.0.0.1, read-only.

For tests and small teams; any static web server does the same in production.  Only GET
and HEAD; no directory listings; only the published entry points (apt/ yum/ keys/
client/) of the repository (or of the repositories in the served directory), never a dot
file (the lock and the generations stay private) or anything else that happens to lie
there; a path must resolve, symlinks followed, to a file inside the served directory.
"""

from __future__ import annotations

import http.server
import os
import posixpath
import urllib.parse
from functools import partial
from pathlib import Path

from repack.publish.tree import ENTRY_POINTS, META


class Handler(http.server.SimpleHTTPRequestHandler):
    root: Path

    def __init__(self, *args: object, root: Path, **kwargs: object) -> None:
        self.root = root
        super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    def translate_path(self, path: str) -> str:
        """The real file under root, or a path that does not exist (-> 404)."""
        missing = str(self.root / ".repack" / "nonexistent")
        rel = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(path).path))
        parts = [p for p in rel.split("/") if p]
        if any(p.startswith(".") for p in parts):
            return missing
        # the repository is the root or a directory below it (several served side by side);
        # below a repository only its entry points are served
        base, i = self.root, 0
        while not (base / META).is_dir() and i < len(parts) - 1:
            base, i = base / parts[i], i + 1
        if not (base / META).is_dir() or i >= len(parts) or parts[i] not in ENTRY_POINTS:
            return missing
        real = Path(os.path.realpath(self.root.joinpath(*parts)))
        if real != self.root and self.root not in real.parents:
            return missing
        return str(real) if real.is_file() else missing

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)

    def do_POST(self) -> None:
        self.send_error(405)

    do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("REPACK_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def server(root: Path, port: int = 0, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """A server bound to host:port (0: any free port; see server_address)."""
    handler = partial(Handler, root=Path(os.path.realpath(root)))
    return http.server.ThreadingHTTPServer((host, port), handler)
