"""SSRF: no request reaches a private address, however it is spelled or however it is reached.

A raw listening socket records every connection it accepts: "refused without a byte sent"
means it accepted none. For redirects, 127.0.0.1 (where the LoopbackServer plays the public
blog) is made to count as public by monkeypatching aggregator.netguard.is_public_address;
the recorder then listens on 127.0.0.2, which stays private in every spelling.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator import netguard
from aggregator.cli import main
from tests.aggregator.web.test_app import Site, WebServer
from tests.httpserver import LoopbackServer, Reply

RSS = {"Content-Type": "application/rss+xml"}


class Recorder:
    """A TCP listener that accepts, records and closes connections, in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", family: int = socket.AF_INET) -> None:
        self.accepted: list[object] = []
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, address = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(address)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def recorder2() -> Iterator[Recorder]:
    """On 127.0.0.2: private even when 127.0.0.1 is made to count as public."""
    rec = Recorder("127.0.0.2")
    yield rec
    rec.close()


@pytest.fixture
def recorder6() -> Iterator[Recorder | None]:
    try:
        rec = Recorder("::1", socket.AF_INET6)
    except OSError:
        yield None
        return
    yield rec
    rec.close()


@pytest.fixture
def loopback_one_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    real = netguard.is_public_address

    def pretend(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return ip == ipaddress.IPv4Address("127.0.0.1") or real(ip)

    monkeypatch.setattr(netguard, "is_public_address", pretend)


def disguises(port: int, last: int = 1) -> list[str]:
    """The same private host, spelled every way getaddrinfo would accept."""
    return [
        f"http://127.0.0.{last}:{port}/feed", f"http://127.{last}:{port}/feed",
        f"http://0x7f00000{last}:{port}/feed", f"http://{2130706432 + last}:{port}/feed",
        f"http://0177.0.0.{last}:{port}/feed", f"http://0x7f.0.0.{last}:{port}/feed",
        f"http://[::ffff:127.0.0.{last}]:{port}/feed", f"http://[::ffff:7f00:{last}]:{port}/feed",
        f"http://[64:ff9b::7f00:{last}]:{port}/feed", f"http://127.0.0.{last}.:{port}/feed",
    ]


def others(port: int) -> list[str]:
    return [f"http://0.0.0.0:{port}/feed", f"http://0:{port}/feed", f"http://[::]:{port}/",
            f"http://[::1]:{port}/feed", "http://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/feed", "http://[fe80::1]/feed", "http://10.0.0.1/feed",
            "http://192.168.1.1/feed", "http://100.64.0.1/feed", "http://[::ffff:a9fe:a9fe]/"]


def registry(path: Path, urls: list[str]) -> list[str]:
    ids = [f"m{i}" for i in range(len(urls))]
    path.write_text("members:\n" + "".join(
        f"  - name: Member {i}\n    id: {ident}\n    feed: \"{url}\"\n"
        for i, (ident, url) in enumerate(zip(ids, urls, strict=True))))
    return ids


def fetch(tmp: Path, members: Path) -> int:
    return main(["fetch", "--members", str(members), "--content", str(tmp / "content"),
                 "--state", str(tmp / "var" / "state.sqlite3")])


def errors(tmp: Path) -> dict[str, str]:
    db = sqlite3.connect(tmp / "var" / "state.sqlite3")
    rows = dict(db.execute("SELECT member_id, last_error FROM feeds"))
    db.close()
    return rows


def test_private_feed_addresses_in_any_spelling_are_refused_unsent(
        tmp_path: Path, recorder: Recorder, recorder6: Recorder | None) -> None:
    port6 = recorder6.port if recorder6 else recorder.port
    urls = [*disguises(recorder.port), f"http://localhost:{recorder.port}/feed",
            f"http://LOCALHOST.:{recorder.port}/feed", *others(recorder.port),
            f"http://[::1]:{port6}/feed", f"http://[0:0:0:0:0:0:0:1]:{port6}/"]
    ids = registry(tmp_path / "members.yaml", urls)
    assert fetch(tmp_path, tmp_path / "members.yaml") == 0
    assert recorder.accepted == []
    assert recorder6 is None or recorder6.accepted == []
    found = errors(tmp_path)
    for ident, url in zip(ids, urls, strict=True):
        assert found[ident], url
        assert ("not public" in found[ident] or "non-public" in found[ident]
                or "name not found" in found[ident]), (url, found[ident])
    assert not (tmp_path / "content").exists() or not any((tmp_path / "content").rglob("*.md"))


def test_redirects_from_a_public_feed_to_a_private_address_are_refused_unsent(
        tmp_path: Path, server: LoopbackServer, recorder2: Recorder,
        loopback_one_is_public: None) -> None:
    targets = [*disguises(recorder2.port, last=2), *others(recorder2.port)]
    urls = []
    for i, target in enumerate(targets):
        server.routes[f"/r{i}"] = Reply(302 if i % 2 else 301, b"", {"Location": target})
        urls.append(server.url(f"/r{i}"))
    server.routes["/chain"] = Reply(307, b"", {"Location": server.url("/r0")})
    urls.append(server.url("/chain"))
    ids = registry(tmp_path / "members.yaml", urls)
    assert fetch(tmp_path, tmp_path / "members.yaml") == 0
    assert recorder2.accepted == []
    found = errors(tmp_path)
    for ident, url in zip(ids, urls, strict=True):
        assert "redirect to" in found[ident] and "refused" in found[ident], (url, found[ident])
    assert len(server.requests) == len(urls) + 1  # the public hops only


def test_comment_feeds_on_private_addresses_are_refused_and_posts_still_written(
        tmp_path: Path, server: LoopbackServer, recorder2: Recorder,
        loopback_one_is_public: None) -> None:
    private = disguises(recorder2.port, last=2)
    items = []
    for i, url in enumerate(private):
        comment_feed = url if i % 2 else server.url(f"/c{i}")
        server.routes[f"/c{i}"] = Reply(302, b"", {"Location": url})
        items.append(f"""<item><title>Post {i}</title><link>{server.url(f'/p/{i}')}</link>
          <guid isPermaLink="false">post-{i}</guid>
          <pubDate>Mon, 02 Mar 2026 10:{i:02d}:00 +0000</pubDate>
          <description>hello</description>
          <wfw:commentRss>{comment_feed}</wfw:commentRss><slash:comments>2</slash:comments>
        </item>""")
    server.routes["/feed"] = Reply(200, f"""<?xml version="1.0"?><rss version="2.0"
      xmlns:wfw="http://wellformedweb.org/CommentAPI/"
      xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel><title>B</title>
      {''.join(items)}</channel></rss>""".encode(), RSS)
    registry(tmp_path / "members.yaml", [server.url("/feed")])
    assert fetch(tmp_path, tmp_path / "members.yaml") == 0
    assert recorder2.accepted == []
    assert len(list((tmp_path / "content" / "posts").rglob("*.md"))) == len(private)
    assert not (tmp_path / "content" / "comments").exists() or not any(
        (tmp_path / "content" / "comments").rglob("*.md"))
    assert errors(tmp_path) == {"m0": None}  # a comment feed's failure is not the member's


def test_a_missing_posts_page_on_a_private_address_is_not_asked_for(
        tmp_path: Path, server: LoopbackServer, recorder2: Recorder,
        loopback_one_is_public: None) -> None:
    """deletions.py asks for a post's page when it goes missing from its feed: a page a feed
    placed on a private address is refused unsent, and the post stays (not known gone)."""
    private = disguises(recorder2.port, last=2)

    def feed(numbers: list[int]) -> Reply:
        items = "".join(
            f"""<item><title>Post {k}</title><guid isPermaLink="false">post-{k}</guid>
            <link>{private[k] if 2 <= k <= 4 else server.url(f'/p/{k}')}</link>
            <pubDate>{k + 1:02d} Mar 2026 10:00:00 +0000</pubDate><description>hi</description>
            </item>""" for k in sorted(numbers, reverse=True))
        return Reply(200, f"""<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
            {items}</channel></rss>""".encode(), RSS)

    server.routes["/feed"] = feed(list(range(1, 7)))
    registry(tmp_path / "members.yaml", [server.url("/feed")])
    assert fetch(tmp_path, tmp_path / "members.yaml") == 0
    server.routes["/feed"] = feed([1, 5, 6])  # 2, 3 and 4 (private pages) go missing
    assert fetch(tmp_path, tmp_path / "members.yaml") == 0
    assert recorder2.accepted == []
    assert len(list((tmp_path / "content" / "posts").rglob("*.md"))) == 6


def test_avatars_on_private_addresses_are_refused_unsent(
        tmp_path: Path, server: LoopbackServer, recorder2: Recorder,
        loopback_one_is_public: None) -> None:
    fetching = pytest.importorskip("plugins.avatars.fetching",
                                   reason="no avatars plugin: avatars are not fetched")
    from aggregator.models import Member
    from plugins.avatars.store import AvatarStore

    urls = [u.replace("/feed", "/me.png") for u in disguises(recorder2.port, last=2)]
    for i, target in enumerate(list(urls)):
        server.routes[f"/a{i}.png"] = Reply(302, b"", {"Location": target})
        urls.append(server.url(f"/a{i}.png"))
    members = [Member(id=f"m{i}", name=f"M {i}", feed="https://x.example/feed", avatar=url)
               for i, url in enumerate(urls)]
    store = AvatarStore(tmp_path / "avatars", (96, 192))
    options = fetching.FetchOptions(user_agent="test", timeout=5.0)
    shown = asyncio.run(fetching.refresh_all(members, store, options))
    assert shown == set()
    assert recorder2.accepted == []
    assert len(server.requests) == len(urls) // 2  # only the public hops


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_the_submission_endpoint_refuses_private_addresses_unsent(
        site: Site, recorder: Recorder, server: LoopbackServer) -> None:
    app = WebServer(site.config(allow_private=False))
    try:
        for url in [*disguises(recorder.port), f"http://localhost:{recorder.port}/",
                    *others(recorder.port)]:
            status, _, page = app.post({"url": url, "name": "Mal"})
            assert status in (400, 422), (url, status, page)
            assert ("is not public" in page or "non-public" in page
                    or "not a valid web address" in page), (url, page)
    finally:
        app.close()
    assert recorder.accepted == []
    assert site.queued() == []


def test_the_submission_endpoint_refuses_redirects_to_private_addresses_unsent(
        site: Site, server: LoopbackServer, recorder2: Recorder,
        loopback_one_is_public: None) -> None:
    app = WebServer(site.config(allow_private=False))
    try:
        for i, target in enumerate(disguises(recorder2.port, last=2)[:5]):
            server.routes[f"/blog{i}/"] = Reply(302, b"", {"Location": target})
            status, _, body = app.post({"url": server.url(f"/blog{i}/")},
                                       accept="application/json")
            assert status == 422, (target, body)
            assert "refused" in body or "not public" in body, (target, body)
    finally:
        app.close()
    assert recorder2.accepted == []
    assert site.queued() == []
