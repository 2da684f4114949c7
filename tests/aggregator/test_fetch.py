"""The HTTP stage against a real server on 127.0.0.1: caps, conditional GET, redirects, limits."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import logging
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from aggregator import netguard
from aggregator.errors import (
    BlockedAddressError,
    FeedError,
    FetchTimeoutError,
    HttpStatusError,
    TooLargeError,
)
from aggregator.fetch import Fetcher, parse_retry_after
from aggregator.models import FetchResult
from tests.httpserver import LoopbackServer, Reply, Request

UA = "PublicSectorBlogs/0.1 (+https://example.org/about)"
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MiB = 1024 * 1024


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          **config: Any) -> FetchResult:
    """One GET through a fresh Fetcher; loopback allowed unless the test says otherwise."""
    settings: dict[str, Any] = {"user_agent": UA, "allow_private": True, "timeout": 5.0}
    settings.update(config)

    async def go() -> FetchResult:
        async with Fetcher(**settings) as fetcher:
            return await fetcher.get(url, etag=etag, last_modified=last_modified)

    return asyncio.run(go())


def redirect(status: int, location: str) -> Reply:
    return Reply(status, b"", {"Location": location})


# --- plain and conditional GETs -------------------------------------------------------------

def test_200_gives_the_body_and_lower_cased_headers(server: LoopbackServer) -> None:
    server.routes["/feed"] = Reply(200, RSS, {"Content-Type": "application/rss+xml",
                                              "ETag": '"v1"', "X-Custom": "yes"})
    result = fetch(server.url("/feed"))
    assert result.status == 200
    assert result.body == RSS
    assert result.final_url == result.url == server.url("/feed")
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-custom"] == "yes"
    assert result.headers["content-location"] == server.url("/feed")
    assert "content-length" not in result.headers
    assert result.etag == '"v1"'
    assert result.permanent_redirect is None
    sent = server.requests[0].headers
    assert sent["user-agent"] == UA
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in sent["accept"] and "application/feed+json" in sent["accept"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_304_when_the_validators_match(server: LoopbackServer) -> None:
    stamp = "Wed, 01 Jan 2025 10:00:00 GMT"

    def conditional(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"")
        return Reply(200, RSS, {"ETag": '"v1"', "Last-Modified": stamp})

    server.routes["/feed"] = conditional
    first = fetch(server.url("/feed"))
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', stamp)
    again = fetch(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert again.status == 304
    assert again.body is None
    assert again.etag == '"v1"' and again.last_modified == stamp  # kept for the next run
    sent = server.requests[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == stamp


# --- content encodings ------------------------------------------------------------------------

def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
    ("deflate", _raw_deflate),  # raw, as some servers send it
    ("gzip", lambda data: gzip.compress(data[:40]) + gzip.compress(data[40:])),  # two members
])
def test_compressed_bodies_are_decoded(server: LoopbackServer, encoding: str,
                                       encode: Any) -> None:
    body = RSS * 50
    server.routes["/feed"] = Reply(200, encode(body), {"Content-Encoding": encoding,
                                                       "Content-Type": "application/rss+xml"})
    result = fetch(server.url("/feed"))
    assert result.body == body
    assert "content-encoding" not in result.headers
    assert result.headers["content-type"] == "application/rss+xml"


def test_unknown_or_corrupt_encodings_are_feed_errors(server: LoopbackServer) -> None:
    server.routes["/br"] = Reply(200, b"\x1b\x00", {"Content-Encoding": "br"})
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    server.routes["/bad"] = Reply(200, gzip_header + b"\xff" * 20, {"Content-Encoding": "gzip"})
    server.routes["/cut"] = Reply(200, gzip.compress(RSS * 50)[:-20],
                                  {"Content-Encoding": "gzip"})
    with pytest.raises(FeedError, match="unsupported Content-Encoding 'br'"):
        fetch(server.url("/br"))
    with pytest.raises(FeedError, match="corrupt gzip"):
        fetch(server.url("/bad"))
    with pytest.raises(FeedError, match="cut short"):
        fetch(server.url("/cut"))


# --- size caps --------------------------------------------------------------------------------

def test_gzip_bomb_stops_at_the_cap(server: LoopbackServer) -> None:
    bomb = gzip.compress(b"\0" * (10 * MiB), compresslevel=9)
    assert len(bomb) < 20_000
    server.routes["/bomb"] = Reply(200, bomb, {"Content-Encoding": "gzip"})
    start = time.monotonic()
    with pytest.raises(TooLargeError, match="decompresses to more than the cap of 1048576 bytes"):
        fetch(server.url("/bomb"), max_bytes=MiB)
    assert time.monotonic() - start < 2


def _gigabyte_of_zeros_gzipped() -> bytes:
    """A single gzip stream inflating to 1 GiB, in about 1 MB, built in milliseconds.

    After a full flush the compressor forgets its history, so each further MiB of zeros
    compresses to the same bytes: repeat them. (No trailer: the bomb must go off first.)
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * MiB
    head = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + block * 1023


def test_gigabyte_gzip_bomb_is_stopped_with_bounded_memory(server: LoopbackServer) -> None:
    bomb = _gigabyte_of_zeros_gzipped()
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bomb, 3 * MiB) == b"\0" * 3 * MiB
    server.routes["/bomb"] = Reply(200, bomb, {"Content-Encoding": "gzip"})
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(TooLargeError):
            fetch(server.url("/bomb"))  # the default cap, 10 MiB
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5
    assert peak < 50 * MiB


def test_plain_body_over_the_cap_is_refused_while_streaming(server: LoopbackServer) -> None:
    server.routes["/big"] = Reply(200, (b"x" * 65536 for _ in range(64)))  # 4 MiB, no length
    with pytest.raises(TooLargeError, match="over the cap of 1048576 bytes"):
        fetch(server.url("/big"), max_bytes=MiB)


def test_body_at_the_cap_is_accepted(server: LoopbackServer) -> None:
    server.routes["/exact"] = Reply(200, b"x" * 1000)
    server.routes["/exact.gz"] = Reply(200, gzip.compress(b"x" * 1000),
                                       {"Content-Encoding": "gzip"})
    assert fetch(server.url("/exact"), max_bytes=1000).body == b"x" * 1000
    assert fetch(server.url("/exact.gz"), max_bytes=1000).body == b"x" * 1000
    with pytest.raises(TooLargeError):
        fetch(server.url("/exact.gz"), max_bytes=999)


def test_content_length_over_the_cap_is_refused_before_reading(server: LoopbackServer) -> None:
    server.routes["/huge"] = Reply(200, b"x" * 100, {"Content-Length": str(500 * MiB)})
    start = time.monotonic()
    with pytest.raises(TooLargeError, match="announces 524288000 bytes, over the cap"):
        fetch(server.url("/huge"), max_bytes=MiB)
    assert time.monotonic() - start < 1


# --- time cap ---------------------------------------------------------------------------------

def test_slow_drip_body_is_cut_at_the_time_cap(server: LoopbackServer) -> None:
    server.routes["/drip"] = Reply(200, (b"<" for _ in range(100)), delay=0.1)  # 10 s in all
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError, match="within 1 s"):
        fetch(server.url("/drip"), timeout=1.0)
    assert time.monotonic() - start < 2


def test_slow_headers_are_cut_at_the_time_cap(server: LoopbackServer) -> None:
    def stall(request: Request) -> Reply:
        time.sleep(2)
        return Reply(200, RSS)

    server.routes["/stall"] = stall
    start = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        fetch(server.url("/stall"), timeout=0.5)
    assert time.monotonic() - start < 1.5


# --- redirects --------------------------------------------------------------------------------

def test_redirect_chain_is_followed(server: LoopbackServer) -> None:
    server.routes["/a"] = redirect(302, server.url("/b"))
    server.routes["/b"] = redirect(307, "/c?x=1")  # relative Location
    server.routes["/c"] = Reply(200, RSS)
    result = fetch(server.url("/a"))
    assert result.body == RSS
    assert result.url == server.url("/a")
    assert result.final_url == server.url("/c?x=1")
    assert result.headers["content-location"] == server.url("/c?x=1")
    assert result.permanent_redirect is None
    assert [r.path for r in server.requests] == ["/a", "/b", "/c?x=1"]


def test_all_permanent_redirects_give_the_new_address(server: LoopbackServer) -> None:
    server.routes["/old"] = redirect(301, server.url("/older"))
    server.routes["/older"] = redirect(308, server.url("/new"))
    server.routes["/new"] = Reply(200, RSS)
    assert fetch(server.url("/old")).permanent_redirect == server.url("/new")


def test_a_temporary_hop_means_no_permanent_redirect(server: LoopbackServer) -> None:
    server.routes["/old"] = redirect(301, server.url("/mid"))
    server.routes["/mid"] = redirect(302, server.url("/new"))
    server.routes["/new"] = Reply(200, RSS)
    result = fetch(server.url("/old"))
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect is None


def test_304_after_a_redirect_keeps_the_final_url(server: LoopbackServer) -> None:
    server.routes["/old"] = redirect(301, server.url("/new"))
    server.routes["/new"] = Reply(304, b"")
    result = fetch(server.url("/old"), etag='"x"')
    assert (result.status, result.body, result.final_url) == (304, None, server.url("/new"))
    assert result.permanent_redirect == server.url("/new")
    assert server.requests[1].headers["if-none-match"] == '"x"'


def test_redirect_loop_is_reported(server: LoopbackServer) -> None:
    server.routes["/a"] = redirect(302, server.url("/b"))
    server.routes["/b"] = redirect(302, server.url("/a"))
    with pytest.raises(FeedError, match="redirect loop") as caught:
        fetch(server.url("/a"))
    assert caught.value.url == server.url("/a")
    assert len(server.requests) == 2


def test_too_many_redirects(server: LoopbackServer) -> None:
    for hop in range(10):
        server.routes[f"/{hop}"] = redirect(302, server.url(f"/{hop + 1}"))
    server.routes["/10"] = Reply(200, RSS)
    with pytest.raises(FeedError, match=r"too many redirects \(loop\?\)"):
        fetch(server.url("/0"))
    assert len(server.requests) == 6  # the first request and five redirects
    server.requests.clear()
    assert fetch(server.url("/5")).body == RSS  # exactly five hops is fine


def test_redirect_without_location_is_an_error(server: LoopbackServer) -> None:
    server.routes["/a"] = Reply(302, b"")
    with pytest.raises(FeedError, match="without a Location"):
        fetch(server.url("/a"))


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/",
                                      "ftp://example.org/feed"])
def test_redirect_to_another_scheme_is_refused(server: LoopbackServer, location: str) -> None:
    server.routes["/a"] = redirect(302, location)
    with pytest.raises(BlockedAddressError, match="redirect to .* refused: scheme") as caught:
        fetch(server.url("/a"))
    assert caught.value.url == server.url("/a")


@pytest.fixture
def loopback_one_is_public(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend 127.0.0.1 is a public server, so that a redirect from it can be checked."""
    real = netguard.is_public_address

    def pretend(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return ip == ipaddress.IPv4Address("127.0.0.1") or real(ip)

    monkeypatch.setattr(netguard, "is_public_address", pretend)
    yield


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/secret",
                                    "http://2130706434:{port}/secret",
                                    "http://[::ffff:10.0.0.1]:{port}/secret",
                                    "http://169.254.169.254/latest/meta-data/"])
def test_redirect_from_public_to_private_is_refused(server: LoopbackServer,
                                                    loopback_one_is_public: None,
                                                    target: str) -> None:
    server.routes["/feed"] = redirect(302, target.format(port=server.port))
    with pytest.raises(BlockedAddressError, match="redirect to .* refused.*not public") as caught:
        fetch(server.url("/feed"), allow_private=False)
    assert caught.value.url == server.url("/feed")
    assert [r.path for r in server.requests] == ["/feed"]


# --- error statuses ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 403, 404, 500, 502])
def test_error_statuses_raise(server: LoopbackServer, status: int) -> None:
    server.routes["/feed"] = Reply(status, b"nope")
    with pytest.raises(HttpStatusError) as caught:
        fetch(server.url("/feed"))
    assert caught.value.status == status
    assert caught.value.url == server.url("/feed")
    assert f"HTTP {status}" in str(caught.value)
    assert caught.value.retry_after is None


def test_410_gone(server: LoopbackServer) -> None:
    server.routes["/feed"] = Reply(410, b"gone")
    with pytest.raises(HttpStatusError, match="removed") as caught:
        fetch(server.url("/feed"))
    assert caught.value.status == 410


def test_429_retry_after_in_seconds(server: LoopbackServer) -> None:
    server.routes["/feed"] = Reply(429, b"", {"Retry-After": "120"})
    with pytest.raises(HttpStatusError) as caught:
        fetch(server.url("/feed"))
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)


def test_503_retry_after_as_an_http_date(server: LoopbackServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    server.routes["/feed"] = Reply(503, b"", {"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(HttpStatusError) as caught:
        fetch(server.url("/feed"))
    assert caught.value.status == 503
    assert caught.value.retry_after is not None
    assert 80 <= caught.value.retry_after <= 90


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(" 3600 ") == 3600.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:05:00 GMT", now=now) == 300.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0  # past
    for junk in (None, "", "soon", "-5", "1.5", "9" * 400, "Wed, 99 Foo 2025"):
        assert parse_retry_after(junk, now=now) is None


# --- network failures -------------------------------------------------------------------------

def test_connection_refused() -> None:
    with socket.socket() as sock:  # take a free port, then let it go: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FeedError, match="connection refused") as caught:
        fetch(f"http://127.0.0.1:{port}/feed")
    assert caught.value.url == f"http://127.0.0.1:{port}/feed"


def test_unknown_host_is_name_not_found() -> None:
    with pytest.raises(FeedError, match="name not found: no-such-host.invalid"):
        fetch("http://no-such-host.invalid/feed")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://exa mple.org/",
                                 "http://[::1/feed"])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(FeedError, match="invalid"):
        fetch(url)


def test_server_closing_mid_body(server: LoopbackServer) -> None:
    server.routes["/short"] = Reply(200, iter([b"<rss>"]), {"Content-Length": "1000"})
    with pytest.raises(FeedError, match="cut short|closed"):
        fetch(server.url("/short"))


# --- concurrency ------------------------------------------------------------------------------

class InFlight:
    """Counts the requests the server is serving at once."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.pause)
        with self._lock:
            self.now -= 1
        return Reply(200, request.path.encode())


def fetch_all(urls: list[str], **config: Any) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(user_agent=UA, allow_private=True, timeout=10, **config) as fetcher:
            return list(await asyncio.gather(*(fetcher.get(url) for url in urls)))

    return asyncio.run(go())


@pytest.fixture
def busy_server() -> Iterator[tuple[LoopbackServer, InFlight]]:
    counter = InFlight(0.3)
    with LoopbackServer({f"/{n}": counter for n in range(40)}) as srv:
        yield srv, counter


def test_requests_run_concurrently(busy_server: tuple[LoopbackServer, InFlight]) -> None:
    server, counter = busy_server
    start = time.monotonic()
    results = fetch_all([server.url(f"/{n}") for n in range(40)], concurrency=20, per_host=20)
    elapsed = time.monotonic() - start
    assert [r.body for r in results] == [f"/{n}".encode() for n in range(40)]
    assert elapsed < 3  # one at a time would take 12 s
    assert 10 <= counter.most <= 20


def test_per_host_limit_is_observed(busy_server: tuple[LoopbackServer, InFlight]) -> None:
    server, counter = busy_server
    fetch_all([server.url(f"/{n}") for n in range(6)], concurrency=20, per_host=2)
    assert counter.most == 2


def test_global_limit_is_observed(busy_server: tuple[LoopbackServer, InFlight]) -> None:
    server, counter = busy_server
    fetch_all([server.url(f"/{n}") for n in range(8)], concurrency=3, per_host=10)
    assert counter.most == 3


def test_each_request_is_logged_at_debug_level(server: LoopbackServer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    server.routes["/feed"] = Reply(200, RSS)
    with caplog.at_level(logging.DEBUG, logger="aggregator.fetch"):
        fetch(server.url("/feed"))
    summary = [r.getMessage() for r in caplog.records if r.name == "aggregator.fetch"][-1]
    assert server.url("/feed") in summary
    assert "200" in summary and f"{len(RSS)} bytes" in summary
