"""The bench's synthetic feed server: real feeds, stable bytes, honest validators."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import feedparser
import pytest

from bench.feedserver import FeedServerProcess, render_feed

FEEDS, POSTS = 5, 2


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServerProcess]:
    with FeedServerProcess(feeds=FEEDS, posts=POSTS, latency=0.0, hosts=2,
                           lifetime=60) as srv:
        yield srv


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_each_feed_is_wordpress_rss_with_its_posts(server: FeedServerProcess) -> None:
    assert len(server.urls) == FEEDS
    assert len({u.split("/feeds/")[0] for u in server.urls}) == 2  # spread over two addresses
    guids = set()
    for url in server.urls:
        status, headers, body = get(url)
        assert status == 200
        parsed = feedparser.parse(body, response_headers={"content-type": headers["Content-Type"]})
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == "rss20"
        assert parsed.feed.generator.startswith("https://wordpress.org/")
        assert len(parsed.entries) == POSTS
        for entry in parsed.entries:
            assert "?p=" in entry.id
            assert entry.content[0].value.startswith("<p>")
            assert entry.author and entry.tags and entry.published_parsed
            guids.add(entry.id)
    assert len(guids) == FEEDS * POSTS


def test_bytes_are_the_same_every_time(server: FeedServerProcess) -> None:
    _, _, served = get(server.urls[3])
    assert served == render_feed(3, posts=POSTS).body
    assert render_feed(3, posts=POSTS).body != render_feed(4, posts=POSTS).body


def test_conditional_requests_get_304_and_stats_count_them(server: FeedServerProcess) -> None:
    server.stats(reset=True)
    _, headers, _ = get(server.urls[0])
    assert headers["ETag"].startswith('"') and not headers["ETag"].startswith("W/")
    assert get(server.urls[0], **{"If-None-Match": headers["ETag"]})[0] == 304
    assert get(server.urls[0], **{"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(server.urls[0], **{"If-None-Match": '"something-else"'})[0] == 200
    stats = server.stats()
    assert (stats["requests"], stats["200"], stats["304"], stats["conditional"]) == (4, 2, 2, 3)


def test_ignoring_validators_sends_the_same_bytes_with_200(server: FeedServerProcess) -> None:
    _, headers, body = get(server.urls[1])
    server.set_ignore_validators(True)
    try:
        status, _, again = get(server.urls[1], **{"If-None-Match": headers["ETag"]})
    finally:
        server.set_ignore_validators(False)
    assert (status, again) == (200, body)


def test_unknown_feed_is_404(server: FeedServerProcess) -> None:
    base = server.urls[0].split("/feeds/")[0]
    assert get(f"{base}/feeds/{FEEDS}.xml")[0] == 404
