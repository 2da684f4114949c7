"""A real HTTP server on 127.0.0.1 for the tests: routes map a path to a canned or computed reply.

Every test that fetches talks to one of these over real sockets. The server runs in a daemon
thread, serves until the fixture closes it, and never waits on a client for longer than
`client_timeout` seconds, so that no test can hang on it.
"""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Reply:
    """A canned reply. `body` may be bytes or an iterable of chunks (sent with `delay` between)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before each chunk (slow-drip servers)


@dataclass
class Request:
    """What the server received, for assertions."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Reply]


class _QuietServer(ThreadingHTTPServer):
    """A backlog big enough for bursts of connections; client disconnects are not errors."""

    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class LoopbackServer:
    """Serve `routes` on 127.0.0.1 at a free port. Use as a context manager or call close()."""

    def __init__(self, routes: dict[str, Reply | Handler] | None = None, *,
                 client_timeout: float = 10.0) -> None:
        self.routes: dict[str, Reply | Handler] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = client_timeout

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                with outer._lock:
                    outer.requests.append(request)
                route = outer.routes.get(self.path)
                if route is None:
                    route = outer.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                elif isinstance(route, Reply):
                    reply = route
                else:
                    reply = route(request)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                chunks: Iterable[bytes]
                if isinstance(reply.body, bytes):
                    chunks = [reply.body]
                    headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                else:
                    chunks = reply.body
                    headers = {**reply.headers}
                    headers.setdefault("Connection", "close")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    for chunk in chunks:
                        if reply.delay:
                            time.sleep(reply.delay)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if "Content-Length" not in headers:
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = _serve

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def static_site(directory: Path, *, sub_path: str = "") -> Iterator[str]:
    """Serve a built site's folder on 127.0.0.1; yields its base URL (ending in "/").

    With `sub_path` ("network"), the site appears under that path, as a project site does,
    so that tests prove it works from any sub-path.
    """
    root = directory
    if sub_path:
        root = Path(tempfile.mkdtemp(prefix="site-"))
        (root / sub_path).symlink_to(directory.resolve(), target_is_directory=True)
    server = _QuietServer(("127.0.0.1", 0),
                          functools.partial(_QuietFiles, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/" + (f"{sub_path}/" if sub_path
                                                                  else "")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
