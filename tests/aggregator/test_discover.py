"""Feed autodiscovery: from a home page to its posts feed, over real HTTP on 127.0.0.1.

The page and feed builders here are shared by the submission and web tests.
"""

from __future__ import annotations

import asyncio
from html import escape

import pytest

from aggregator.discover import Discovered, common_feed_urls, discover_feed, find_feed_links
from aggregator.errors import BlockedAddressError, FeedError, FetchTimeoutError
from aggregator.fetch import Fetcher
from tests.httpserver import LoopbackServer, Reply

RSS = "application/rss+xml; charset=UTF-8"
HTML = "text/html; charset=UTF-8"


def rss_feed(base: str, *, title: str = "Council Digital Notes", posts: int = 4,
             comments: bool = True, prefix: str = "") -> bytes:
    """A WordPress-style posts feed for the blog at `base` (`prefix` tells blogs apart)."""
    items = []
    for n in range(1, posts + 1):
        link = f"{base}{prefix}/2026/03/post-{n}/"
        thread = (f"<wfw:commentRss>{link}feed/</wfw:commentRss><slash:comments>2"
                  "</slash:comments>") if comments else ""
        items.append(
            f"<item><title>{escape(prefix + ' ' if prefix else '')}Post number {n}</title>"
            f"<link>{link}</link>"
            f"<pubDate>Mon, {n:02d} Mar 2026 09:00:00 +0000</pubDate>"
            f"<guid isPermaLink=\"false\">{base}{prefix}/?p={n}</guid>"
            f"<description>Words of post {n}, about services for the public.</description>"
            f"{thread}</item>")
    return (f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
     xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>{escape(title)}</title><link>{base}{prefix}/</link>
<description>Notes</description><generator>https://wordpress.org/?v=6.6.2</generator>
{''.join(items)}</channel></rss>""").encode()


def wordpress_page(base: str, *, title: str = "Council Digital Notes") -> bytes:
    """A WordPress home page: it advertises the comments feed too (and first, to be mean)."""
    return (f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="UTF-8">
<title>{escape(title)}</title>
<link rel="alternate" type="application/rss+xml" title="{escape(title)} &raquo; Comments Feed"
      href="{base}/comments/feed/" />
<link rel="alternate" type="application/rss+xml" title="{escape(title)} &raquo; Feed"
      href="{base}/feed/" />
<link rel="https://api.w.org/" href="{base}/wp-json/" />
</head><body><h1>{escape(title)}</h1></body></html>""").encode()


def serve_wordpress(server: LoopbackServer, *, posts: int = 4) -> str:
    """A WordPress blog at the server's root; returns its home page address."""
    base = server.url("").rstrip("/")
    server.routes["/"] = Reply(200, wordpress_page(base), {"Content-Type": HTML})
    server.routes["/feed/"] = Reply(200, rss_feed(base, posts=posts), {"Content-Type": RSS})
    server.routes["/comments/feed/"] = Reply(
        200, rss_feed(base, title="Comments on Council Digital Notes", comments=False),
        {"Content-Type": RSS})
    return server.url("/")


def discover(url: str, *, timeout: float = 5.0) -> Discovered:
    async def go() -> Discovered:
        async with Fetcher(user_agent="test", allow_private=True, timeout=timeout) as fetcher:
            return await discover_feed(fetcher, url)
    return asyncio.run(go())


# --- reading a page's <link> elements ------------------------------------------------------

def test_posts_feed_comes_before_the_comments_feed() -> None:
    links = find_feed_links(wordpress_page("https://blog.example").decode(),
                            base_url="https://blog.example/")
    assert [link.url for link in links] == ["https://blog.example/feed/",
                                            "https://blog.example/comments/feed/"]
    assert [link.comments for link in links] == [False, True]


def test_relative_links_resolve_against_base_href_and_other_links_are_ignored() -> None:
    page = """<html><head><base href="https://cdn.example/blog/">
    <link rel="stylesheet" href="style.css">
    <link rel="alternate" type="text/html" href="/fr/">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="Alternate" type="application/atom+xml" href="atom.xml">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="alternate" type="application/rss+xml" title="Blogger comments"
          href="/feeds/comments/default"></head></html>"""
    links = find_feed_links(page, base_url="https://example.org/")
    assert [(link.url, link.comments) for link in links] == [
        ("https://cdn.example/blog/atom.xml", False),
        ("https://cdn.example/blog/feed.json", False),
        ("https://cdn.example/feeds/comments/default", True)]


def test_usual_paths_are_tried_under_the_blogs_folder_then_at_the_root() -> None:
    urls = common_feed_urls("https://example.org/blog/")
    assert urls[:2] == ["https://example.org/blog/feed/", "https://example.org/feed/"]
    assert "https://example.org/feeds/posts/default" in urls
    assert common_feed_urls("https://example.org/")[0] == "https://example.org/feed/"


# --- over HTTP ---------------------------------------------------------------------------------

def test_a_wordpress_home_page_gives_its_posts_feed(server: LoopbackServer) -> None:
    found = discover(serve_wordpress(server))
    assert found.feed_url == server.url("/feed/")
    assert found.page_url == server.url("/")
    assert found.found_by == "<link rel=alternate>"
    assert found.parsed.title == "Council Digital Notes"
    assert server.hits("/comments/feed/") == 0


def test_a_feed_address_is_its_own_answer(server: LoopbackServer) -> None:
    serve_wordpress(server)
    found = discover(server.url("/feed/"))
    assert (found.feed_url, found.page_url, found.found_by) == (
        server.url("/feed/"), None, "the address itself")
    assert [r.path for r in server.requests] == ["/feed/"]


def test_a_page_without_links_falls_back_to_the_usual_paths(server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    server.routes["/"] = Reply(200, b"<!doctype html><title>Hugo blog</title>",
                               {"Content-Type": HTML})
    server.routes["/index.xml"] = Reply(200, rss_feed(base), {"Content-Type": RSS})
    found = discover(server.url("/"))
    assert found.feed_url == server.url("/index.xml")
    assert found.found_by == "the usual path /index.xml"


def test_a_permanent_redirect_gives_the_new_feed_address(server: LoopbackServer) -> None:
    serve_wordpress(server)
    server.routes["/old-feed"] = Reply(301, b"", {"Location": "/feed/"})
    assert discover(server.url("/old-feed")).feed_url == server.url("/feed/")


def test_a_page_with_no_feed_says_what_was_tried(server: LoopbackServer) -> None:
    server.routes["/"] = Reply(200, b"<!doctype html><title>Just a page</title>",
                               {"Content-Type": HTML})
    with pytest.raises(FeedError) as caught:
        discover(server.url("/"))
    message = str(caught.value)
    assert message.startswith(server.url("/"))
    assert "no feed found" in message and "advertises no feed" in message
    assert "/feeds/posts/default (HTTP 404" in message


def test_a_comment_feed_is_never_chosen(server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    page = (f'<html><head><link rel="alternate" type="application/rss+xml" '
            f'title="Comments Feed" href="{base}/comments/feed/"></head></html>').encode()
    server.routes["/"] = Reply(200, page, {"Content-Type": HTML})
    server.routes["/comments/feed/"] = Reply(200, rss_feed(base), {"Content-Type": RSS})
    with pytest.raises(FeedError, match="only comment feeds"):
        discover(server.url("/"))
    assert server.hits("/comments/feed/") == 0


def test_a_slow_page_times_out(server: LoopbackServer) -> None:
    server.routes["/"] = Reply(200, [b"<html>", b"<head>"] * 10, {"Content-Type": HTML},
                               delay=0.2)
    with pytest.raises(FetchTimeoutError, match="within 0.5 s"):
        discover(server.url("/"), timeout=0.5)


def test_private_addresses_are_refused_without_a_request(server: LoopbackServer) -> None:
    serve_wordpress(server)

    async def go() -> None:
        async with Fetcher(user_agent="test", allow_private=False) as fetcher:
            await discover_feed(fetcher, server.url("/"))
    with pytest.raises(BlockedAddressError, match="not public"):
        asyncio.run(go())
    assert server.requests == []
