"""The fast RSS 2.0 reader gives exactly what feedparser gives, or steps aside.

Every feed we have (the demo network, the test fixtures, the security payload feeds, the
benchmark's synthetic WordPress feeds) and a few hundred generated variants go through
parse_feed twice, with and without the fast reader; the two ParsedFeeds must agree field by
field, entry by entry. The fast reader must actually be used for the feeds it was written for,
or this would prove nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

from aggregator.errors import ParseError
from aggregator.fastparse import parse_rss20
from aggregator.models import ParsedFeed
from aggregator.parse import parse_feed
from bench.feedserver import _Text, render_feed
from tests.security import payloads

ROOT = Path(__file__).resolve().parents[2]
URL = "https://blog.example/feed/"
RSS = {"content-type": "application/rss+xml; charset=UTF-8"}
FEED_SUFFIXES = (".xml", ".rdf", ".rss", ".atom")


def corpus_files() -> list[Path]:
    files = [p for folder in (ROOT / "demo" / "feeds", ROOT / "tests" / "data")
             for p in sorted(folder.rglob("*")) if p.suffix in FEED_SUFFIXES]
    assert len(files) >= 20, "the demo feeds and fixtures should be there"
    return files


def outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> ParsedFeed | str:
    try:
        return parse_feed(body, headers, url=URL, fast=fast)
    except ParseError as exc:
        return f"ParseError: {exc}"


def assert_same(body: bytes, headers: dict[str, str], label: str) -> None:
    """feedparser's ParsedFeed and the fast path's, compared field by field."""
    slow = outcome(body, headers, fast=False)
    fast = outcome(body, headers, fast=True)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow, label
        return
    for name in ("title", "link", "generator", "warning", "format"):
        assert getattr(fast, name) == getattr(slow, name), f"{label}: feed.{name}"
    assert len(fast.entries) == len(slow.entries), f"{label}: number of entries"
    for index, (a, b) in enumerate(zip(fast.entries, slow.entries, strict=True)):
        for field in dataclasses.fields(a):
            assert getattr(a, field.name) == getattr(b, field.name), \
                f"{label}: entry {index}, {field.name}"
    assert fast == slow, label


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_demo_feeds_and_fixtures(path: Path) -> None:
    body = path.read_bytes()
    for headers in ({"content-type": "application/xml"}, RSS, {}):
        assert_same(body, headers, f"{path} with {headers}")


def test_the_fast_reader_is_used_for_the_wordpress_feeds() -> None:
    taken = [p.name for p in corpus_files()
             if parse_rss20(p.read_bytes(), RSS, url=URL) is not None]
    assert "wordpress.xml" in taken
    assert "flat.rss" in taken and "wordpress-rss.xml" in taken
    for name in ("atom.xml", "rss1.xml", "blogger.xml", "index.rdf"):
        assert name not in taken  # other formats are feedparser's


def test_the_benchmark_feeds() -> None:
    text = _Text(0)
    for index in (0, 1, 7, 42, 999):
        body = render_feed(index, posts=50, text=text).body
        assert parse_rss20(body, RSS, url=URL) is not None, "the fast reader steps aside"
        assert_same(body, RSS, f"bench feed {index}")


def test_the_hostile_payload_feeds() -> None:
    base = "https://evil.example"
    feeds = {"rss posts": payloads.rss_posts_feed(base),
             "rss comments": payloads.wp_rss_comment_feed(base, 101),
             "atom comments": payloads.wp_atom_comment_feed(base, 101),
             "atom posts": payloads.atom_posts_feed(base)}
    for label, body in feeds.items():
        for headers in (RSS, {"content-type": "text/html"}, {}):
            assert_same(body, headers, f"{label} with {headers}")


# --- Generated variants: each a WordPress-like feed with one or more twists ------------------

TRICKY_TEXT = ["Plain words", "Caf\u00e9 cr\u00e8me", "A &amp; B", "&lt;b&gt;bold&lt;/b&gt;",
               "5 &lt; 6", "caf\u00c3\u00a9 mojibake", "smart \u0093quotes\u0094",
               "  padded  ", "", "x &amp;amp; y", "&#8217;tis", "<![CDATA[<em>cdata</em>]]>",
               "Tom &amp; Jerry &copy;", "line\nbreak", "\u2028sep", "emoji \U0001F600"]
LINKS = ["https://blog.example/a/", "/relative/path", "relative", "", "?p=12",
         "https://blog.example/a?x=1&amp;y=2", "https://blog.example/a?x=1&amp;amp;y=2",
         "javascript:alert(1)", "//other.example/x"]
DATES = ["Mon, 02 Mar 2026 10:00:00 +0000", "2026-03-02T10:00:00Z", "not a date", "",
         "Tue, 31 Feb 2026 10:00:00 GMT", "Mon, 02 Mar 2026 10:00:00 BST"]


def _maybe(rng: random.Random, tag: str, choices: list[str], attrs: str = "") -> str:
    if rng.random() < 0.3:
        return ""
    return f"<{tag}{attrs}>{rng.choice(choices)}</{tag}>"


def variant(rng: random.Random) -> bytes:
    items = []
    for _ in range(rng.randint(0, 5)):
        parts = [
            _maybe(rng, "title", TRICKY_TEXT),
            _maybe(rng, "link", LINKS),
            _maybe(rng, "comments", LINKS),
            _maybe(rng, "dc:creator", TRICKY_TEXT + ["Ann (ann@example.org)",
                                                     "bob@example.org (Bob)"]),
            _maybe(rng, "author", ["carol@example.org (Carol)", "Dan", "eve@example.org"]),
            _maybe(rng, "pubDate", DATES),
            _maybe(rng, "guid", LINKS + ["tag:x,2026:1"],
                   rng.choice(["", ' isPermaLink="false"', ' isPermaLink="true"'])),
            _maybe(rng, "description", TRICKY_TEXT + ["&lt;p&gt;Para&lt;/p&gt;"]),
            _maybe(rng, "content:encoded", TRICKY_TEXT + ["<![CDATA[<p>Body</p>]]>"]),
            _maybe(rng, "wfw:commentRss", LINKS),
            _maybe(rng, "slash:comments", ["3", " 7 ", "x", ""]),
        ]
        for _ in range(rng.randint(0, 3)):
            parts.append(_maybe(rng, "category", TRICKY_TEXT[:6] + ["News", "News"],
                                rng.choice(["", ' domain="https://blog.example/tags"'])))
        if rng.random() < 0.2:
            parts.append('<enclosure url="https://blog.example/a.mp3" length="1" '
                         'type="audio/mpeg"/>')
        if rng.random() < 0.1:  # twists the fast reader leaves to feedparser
            parts.append(rng.choice(["<source url='https://x.example/'>X</source>",
                                     "<media:thumbnail url='https://x.example/t.png'/>",
                                     "<description>second</description>",
                                     "<title xml:lang='en'>lang</title>"]))
        rng.shuffle(parts)
        items.append("<item>" + "".join(parts) + "</item>")
    channel = [_maybe(rng, "title", TRICKY_TEXT), _maybe(rng, "link", LINKS),
               _maybe(rng, "description", TRICKY_TEXT), _maybe(rng, "generator", TRICKY_TEXT),
               _maybe(rng, "language", ["en-GB"]), _maybe(rng, "sy:updatePeriod", ["hourly"])]
    if rng.random() < 0.3:
        channel.append(f"<atom:link href={quoteattr(rng.choice(LINKS))} "
                       f"rel={quoteattr(rng.choice(['self', 'alternate', 'ALTERNATE']))} "
                       f"type={quoteattr(rng.choice(['text/html', 'application/rss+xml']))}/>")
    if rng.random() < 0.3:
        channel.append("<image><url>https://blog.example/i.png</url><title>"
                       f"{escape(rng.choice(['Logo', '']))}</title><link>/</link></image>")
    rng.shuffle(channel)
    if rng.random() < 0.2:
        channel.append(_maybe(rng, "title", TRICKY_TEXT))  # a title after the items
    version = rng.choice(["2.0"] * 8 + ["0.92", "2.01"])
    encoding = rng.choice(["UTF-8"] * 4 + ["utf-8", "ISO-8859-1", "windows-1252"])
    xml = (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="{version}" '
           'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
           'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
           'xmlns:media="http://search.yahoo.com/mrss/" '
           'xmlns:atom="http://www.w3.org/2005/Atom">'
           f'<channel>{"".join(channel[:3])}{"".join(items)}{"".join(channel[3:])}'
           '</channel></rss>')
    codec = "utf-8" if encoding.lower() == "utf-8" else encoding
    return xml.encode(codec, errors="xmlcharrefreplace")


def variants(count: int) -> Iterator[tuple[int, bytes]]:
    rng = random.Random(20261127)
    for number in range(count):
        yield number, variant(rng)


def test_generated_variants() -> None:
    fast_used = 0
    for number, body in variants(400):
        headers = random.Random(number).choice(
            [RSS, {"content-type": "application/xml"}, {"content-type": "text/xml"}, {},
             {"content-type": "application/rss+xml; charset=ISO-8859-1"}])
        assert_same(body, headers, f"variant {number} with {headers}:\n{body.decode('latin-1')}")
        fast_used += parse_rss20(body, headers, url=URL) is not None
    assert fast_used > 100, "the variants should mostly be the fast reader's"
