"""Serve the demo network's blogs from demo/feeds/ on 127.0.0.1, as the members' own sites would.

Each blog lives under its own path prefix (`/council-digital/`, `/nhs-nurse/`…). A URL names a
file under demo/feeds/, or a folder whose index file is served (`/council-digital/feed/` →
`council-digital/feed/index.xml`), so that feeds, comment feeds and post pages have the URLs
real blogs give them. Text files are templates: `{{BASE}}` becomes this server's
`http://127.0.0.1:PORT` at serving time (plain substitution, no template engine), so the feeds
carry absolute URLs that work on any port.

Replies carry an ETag and Last-Modified and honour conditional requests with 304, so a second
fetch of the demo network shows "not modified".
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"
PLACEHOLDER = "{{BASE}}"
# What a folder URL serves, first found wins.
INDEX_NAMES = ("index.html", "index.xml", "index.json")

_TYPES = {
    ".html": "text/html; charset=UTF-8",
    ".rdf": "application/rdf+xml; charset=UTF-8",
    ".json": "application/feed+json; charset=UTF-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=UTF-8",
    ".txt": "text/plain; charset=UTF-8",
}
_TEXT_SUFFIXES = frozenset({".html", ".xml", ".rdf", ".json", ".svg", ".css", ".txt"})


def content_type(path: Path, body: bytes) -> str:
    """The Content-Type a blog platform would send: `.xml` files by their root element."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        head = body[:1024]
        if b"<rss" in head:
            return "application/rss+xml; charset=UTF-8"
        if b"<feed" in head:
            return "application/atom+xml; charset=UTF-8"
        if b"<rdf:RDF" in head:
            return "application/rdf+xml; charset=UTF-8"
        return "application/xml; charset=UTF-8"
    return _TYPES.get(suffix, "application/octet-stream")


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under `root` that a URL path names, or None. Never a path outside `root`."""
    parts = [unquote(p) for p in urlsplit(url_path).path.split("/") if p]
    if any(p in (".", "..") or "/" in p or "\\" in p or "\0" in p for p in parts):
        return None
    root = root.resolve()
    target = root.joinpath(*parts).resolve()
    if not target.is_relative_to(root):
        return None
    if target.is_dir():
        for name in INDEX_NAMES:
            if (target / name).is_file():
                return target / name
        return None
    return target if target.is_file() else None


def render(path: Path, base_url: str) -> bytes:
    """The file's bytes, with the placeholder replaced in text files."""
    body = path.read_bytes()
    if path.suffix.lower() in _TEXT_SUFFIXES:
        body = body.replace(PLACEHOLDER.encode(), base_url.encode())
    return body


def _not_modified(headers: dict[str, str], etag: str, mtime: float) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False


@dataclass(frozen=True)
class Hit:
    """One request the feed server answered, for tests and the demo's report."""

    method: str
    path: str
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Background:
    """A ThreadingHTTPServer on 127.0.0.1 in a daemon thread, closed by close() or `with`."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FeedServer(_Background):
    """The demo blogs over HTTP. `port=0` picks a free port; `hits` records every request."""

    def __init__(self, root: Path = FEEDS_DIR, *, port: int = 0,
                 client_timeout: float = 10.0) -> None:
        self.root = root
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = client_timeout
            server_version = "DemoBlogs/1.0"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                logger.debug("feed server: " + format, *args)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._reply()

            do_HEAD = do_GET  # noqa: N815

            def _reply(self) -> int:
                path = resolve(outer.root, self.path)
                if path is None:
                    self._send(404, b"Not found\n", {"Content-Type": "text/plain; charset=UTF-8"})
                    return 404
                body = render(path, outer.base_url)
                mtime = path.stat().st_mtime
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                validators = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True),
                              "Cache-Control": "max-age=0, must-revalidate"}
                headers = {k.lower(): v for k, v in self.headers.items()}
                if _not_modified(headers, etag, mtime):
                    self._send(304, b"", validators)
                    return 304
                self._send(200, body, {"Content-Type": content_type(path, body), **validators})
                return 200

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                # Counted before the reply goes out: a client that has its answer must find
                # its request counted.
                with outer._lock:
                    outer.hits.append(Hit(self.command, self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and status != 304:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

        super().__init__(_Server(("127.0.0.1", port), _Handler))

    def url(self, path: str = "/") -> str:
        """An absolute URL on this server."""
        return self.base_url + path

    def count(self, path: str) -> int:
        """How many requests asked for `path` (query string included, as sent)."""
        with self._lock:
            return sum(1 for hit in self.hits if hit.path == path)


class SiteServer(_Background):
    """A built static site (Pelican's output/) over HTTP on 127.0.0.1."""

    def __init__(self, directory: Path, *, port: int = 0) -> None:
        class _Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                logger.debug("site server: " + format, *args)

        handler = functools.partial(_Handler, directory=str(directory))
        super().__init__(_Server(("127.0.0.1", port), handler))

