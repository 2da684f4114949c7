"""The Join form's endpoint, served by uvicorn on 127.0.0.1 and posted to over real sockets."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn

from aggregator.cli import main
from aggregator.settings import load_settings
from aggregator.web import RateLimiter, WebConfig, create_app, web_config
from tests.aggregator.test_discover import HTML, RSS, rss_feed, serve_wordpress
from tests.aggregator.test_submit import serve_topical
from tests.httpserver import LoopbackServer, Reply

FORM = "application/x-www-form-urlencoded"


class WebServer:
    """The app under uvicorn in a thread, on a free port; closed within seconds."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning",
                                                     lifespan="on", backlog=512,
                                                     timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            assert self._thread.is_alive(), "uvicorn stopped while starting"
            time.sleep(0.01)

    def post(self, fields: dict[str, str] | bytes, *, accept: str = "text/html",
             content_type: str = FORM, headers: dict[str, str] | None = None,
             path: str = "/submit", method: str = "POST") -> tuple[int, dict[str, str], str]:
        """One request; returns the status, the headers (lower-case) and the body text."""
        body = fields if isinstance(fields, bytes) else (
            json.dumps(fields).encode() if content_type == "application/json"
            else urlencode(fields).encode())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body if method == "POST" else None,
                         headers={"Content-Type": content_type, "Accept": accept,
                                  **(headers or {})})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
                resp.read().decode()
        finally:
            conn.close()

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class Site:
    """Registry, content, state and queue in tmp_path; the settings the server runs with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.members = root / "members.yaml"
        self.members.write_text("members:\n  # maintained by hand\n"
                                "  - name: Existing Member\n"
                                "    feed: https://existing.example/feed/\n")
        self.content = root / "content"
        self.state = root / "var" / "state.sqlite3"
        self.queue = root / "submissions"
        self.settings = replace(load_settings(), members_file=self.members,
                                content_dir=self.content, state_path=self.state, timeout=2.0)

    def config(self, **changes: object) -> WebConfig:
        base = WebConfig(settings=self.settings, queue_dir=self.queue, allow_private=True,
                         rate_limit=100, join_url="https://network.example/join/")
        return replace(base, **changes)  # type: ignore[arg-type]

    def queued(self) -> list[dict[str, object]]:
        return [json.loads(p.read_text()) for p in sorted(self.queue.glob("*.json"))]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


@pytest.fixture
def web(site: Site) -> Iterator[WebServer]:
    server = WebServer(site.config())
    yield server
    server.close()


def test_a_form_post_is_queued_approved_and_fetched(site: Site, web: WebServer,
                                                    server: LoopbackServer) -> None:
    home = serve_wordpress(server)
    status, headers, page = web.post({"url": home, "name": "Ann Example",
                                      "email": "ann@example.org", "organisation": "Example",
                                      "sector": "local-government", "note": "Hello",
                                      "website": ""})
    assert status == 202 and headers["content-type"].startswith("text/html")
    assert '<html lang="en-GB">' in page and 'role="status"' in page
    assert "Council Digital Notes is queued for review" in page
    assert "Post number 4" in page and "Post number 1" not in page
    assert "Available: posts link their comment feeds" in page
    assert 'href="https://network.example/join/"' in page
    assert "ann@example.org" not in page
    [queued] = site.queued()
    assert queued["source"] == "web" and queued["email"] == "ann@example.org"

    assert main(["approve", str(queued["id"]), "--members", str(site.members),
                 "--submissions", str(site.queue)]) == 0
    assert main(["fetch", "--members", str(site.members), "--content", str(site.content),
                 "--state", str(site.state), "--allow-private-networks"]) == 0
    posts = sorted((site.content / "posts" / "ann-example").rglob("*.md"))
    assert len(posts) == 4
    assert "Title: Post number 1" in posts[0].read_text()
    everything = site.members.read_text() + "".join(
        p.read_text() for p in site.content.rglob("*") if p.is_file() and p.suffix == ".md")
    assert "ann@example.org" not in everything and "Hello" not in everything


def test_a_blog_on_many_subjects_joins_with_its_public_service_posts_only(
        site: Site, web: WebServer, server: LoopbackServer) -> None:
    feed = serve_topical(server)
    status, _, page = web.post({"url": feed, "name": "Jo",
                                "topics": "Housing, Allotmnet", "website": ""})
    assert status == 422 and "Please check the field <strong>Only posts on these " \
        "topics</strong>" in page
    assert "the topics its posts have are: Local Government, Allotment" in page
    status, _, page = web.post({"url": feed, "name": "Jo",
                                "topics": "Local government", "website": ""})
    assert status == 202 and "Council tax letters" in page and "Onions" not in page
    [queued] = site.queued()
    assert main(["approve", str(queued["id"]), "--members", str(site.members),
                 "--submissions", str(site.queue)]) == 0
    assert main(["fetch", "--members", str(site.members), "--content", str(site.content),
                 "--state", str(site.state), "--allow-private-networks"]) == 0
    titles = sorted(p.read_text().split("Title: ", 1)[1].split("\n", 1)[0]
                    for p in (site.content / "posts" / "jo").rglob("*.md"))
    assert titles == ["Bin rounds redesigned", "Council tax letters"]


def test_json_when_asked(site: Site, web: WebServer, server: LoopbackServer) -> None:
    serve_wordpress(server)
    status, headers, body = web.post({"url": server.url("/feed/"), "email": "a@b.example"},
                                     accept="application/json",
                                     content_type="application/json")
    assert status == 202 and headers["content-type"] == "application/json"
    data = json.loads(body)
    assert data["ok"] is True
    assert data["submission"]["feed"] == server.url("/feed/")
    assert [p["title"] for p in data["submission"]["posts"]] == [
        "Post number 4", "Post number 3", "Post number 2"]
    assert "a@b.example" not in body


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "cannot contain spaces"),
    ("javascript:alert(1)", "not javascript:"),
    ("file:///etc/passwd", "not file:"),
    ("ftp://ftp.example.org/feed", "not ftp:"),
    ("", "enter the address"),
])
def test_bad_addresses_get_a_clear_400(web: WebServer, site: Site, url: str,
                                       expected: str) -> None:
    status, _, page = web.post({"url": url, "name": "X"})
    assert status == 400
    assert 'role="alert"' in page and expected in page
    assert "Please check the field <strong>Blog or feed address</strong>" in page
    status, _, body = web.post({"url": url}, accept="application/json")
    assert status == 400 and json.loads(body)["field"] == "url"
    assert site.queued() == []


def test_blogs_that_cannot_join_get_a_clear_422(site: Site, server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    server.routes["/page"] = Reply(200, b"<!doctype html><title>No feed</title>",
                                   {"Content-Type": HTML})
    server.routes["/empty/feed/"] = Reply(200, rss_feed(base, posts=0), {"Content-Type": RSS})
    server.routes["/slow/feed/"] = Reply(200, [b"<rss>"] * 20, {"Content-Type": RSS},
                                         delay=0.2)
    app = WebServer(site.config(settings=replace(site.settings, timeout=0.5)))
    try:
        for path, expected in [("/page", "no feed found"),
                               ("/empty/feed/", "has no posts yet"),
                               ("/slow/feed/", "no complete answer within 0.5 s")]:
            status, _, body = app.post({"url": server.url(path)}, accept="application/json")
            assert status == 422, (path, body)
            assert json.loads(body)["error"].startswith(server.url(path))
            assert expected in json.loads(body)["error"]
    finally:
        app.close()
    assert site.queued() == []


def test_private_addresses_are_refused_without_a_request(site: Site,
                                                         server: LoopbackServer) -> None:
    serve_wordpress(server)
    app = WebServer(site.config(allow_private=False))
    try:
        for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):
            status, _, page = app.post({"url": f"http://{host}:{server.port}/"})
            assert status == 422, (host, page)
            assert "is not public" in page or "resolves to non-public address" in page
    finally:
        app.close()
    assert server.requests == []
    assert site.queued() == []


def test_repeats_and_members_get_a_409(site: Site, web: WebServer,
                                       server: LoopbackServer) -> None:
    home = serve_wordpress(server)
    assert web.post({"url": home})[0] == 202
    status, _, page = web.post({"url": server.url("/feed/")})
    assert status == 409 and "Already suggested" in page and "already waiting" in page
    status, _, page = web.post({"url": "https://existing.example/feed"})
    assert status == 409 and "member &#39;existing-member&#39;" in page
    assert len(site.queued()) == 1


def test_oversized_bodies_are_refused(site: Site, web: WebServer,
                                      server: LoopbackServer) -> None:
    serve_wordpress(server)
    big = {"url": server.url("/feed/"), "note": "x" * 20_000}
    status, _, page = web.post(big)
    assert status == 413 and "at most 16384" in page

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        yield b"url=" + server.url("/feed/").encode() + b"&note="
        for _ in range(40):
            yield b"y" * 1000

    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    conn.request("POST", "/submit", body=chunks(), encode_chunked=True,
                 headers={"Content-Type": FORM, "Accept": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 413 and "more than 16384 bytes" in json.loads(resp.read())["error"]
    conn.close()
    assert site.queued() == [] and server.requests == []


def test_other_content_types_and_methods(web: WebServer) -> None:
    status, _, body = web.post(b"--x--", content_type="multipart/form-data; boundary=x",
                               accept="application/json")
    assert status == 415 and "urlencoded" in json.loads(body)["error"]
    status, _, body = web.post(b"[1, 2]", content_type="application/json",
                               accept="application/json")
    assert status == 400 and "JSON object" in json.loads(body)["error"]
    assert web.post(b"", method="GET")[0] == 405
    assert web.post(b"", method="GET", path="/healthz")[0] == 200


def test_a_filled_honeypot_looks_accepted_and_queues_nothing(site: Site, web: WebServer,
                                                             server: LoopbackServer) -> None:
    home = serve_wordpress(server)
    status, _, page = web.post({"url": home, "name": "Bot", "website": "http://spam.example"})
    assert status == 202 and "Thank you" in page and 'role="status"' in page
    assert site.queued() == [] and server.requests == []


def test_a_burst_over_the_rate_limit_gets_429(site: Site, server: LoopbackServer) -> None:
    serve_wordpress(server)
    app = WebServer(site.config(rate_limit=3))
    try:
        statuses = [app.post({"url": "javascript:x"})[0] for _ in range(3)]
        status, headers, page = app.post({"url": server.url("/feed/")})
        _, _, body = app.post({"url": server.url("/feed/")}, accept="application/json")
    finally:
        app.close()
    assert statuses == [400, 400, 400]
    assert status == 429 and int(headers["retry-after"]) > 3000
    assert "Too many suggestions from your address: at most 3 every 60 minutes" in page
    assert json.loads(body)["ok"] is False
    assert site.queued() == [] and server.requests == []


def test_rate_limiter_window_slides() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, 60.0, max_addresses=2, clock=lambda: now[0])
    assert limiter.hit("a") is None and limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(60.0)
    now[0] += 30
    assert limiter.hit("a") == pytest.approx(30.0)
    now[0] += 31
    assert limiter.hit("a") is None
    limiter.hit("b")
    limiter.hit("c")  # "a" is forgotten: memory stays bounded
    assert limiter.hit("a") is None


def test_web_config_defaults(site: Site) -> None:
    config = web_config(replace(site.settings, site_url="https://network.example/"))
    assert (config.rate_limit, config.rate_window, config.max_body) == (5, 3600.0, 16384)
    assert config.join_url == "https://network.example/join/"
    assert config.queue_dir == site.settings.root / "submissions"
    assert web_config(replace(site.settings, site_url="")).join_url is None


@pytest.mark.timeout(60)
def test_200_simultaneous_posts_with_50_repeats_leave_150(site: Site) -> None:
    with LoopbackServer() as blogs:
        base = blogs.url("").rstrip("/")
        for n in range(150):
            blogs.routes[f"/b{n}/feed/"] = Reply(200, rss_feed(base, prefix=f"/b{n}", posts=2),
                                                 {"Content-Type": RSS})
        urls = [blogs.url(f"/b{n}/feed/") for n in range(150)]
        app = WebServer(site.config(rate_limit=1000,
                                    settings=replace(site.settings, per_host=16)))
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=64) as pool:
                statuses = list(pool.map(
                    lambda url: app.post({"url": url}, accept="application/json")[0],
                    [u for url in urls[:50] for u in (url, url)] + urls[50:], timeout=50))
        finally:
            app.close()
    assert statuses.count(202) == 150 and statuses.count(409) == 50, statuses
    assert len(site.queued()) == 150
    assert len({q["feed"] for q in site.queued()}) == 150
    assert time.monotonic() - started < 50
