"""Parsing: every feed format members use, and broken feeds that still yield entries."""

from __future__ import annotations

import pytest

from aggregator.errors import ParseError
from aggregator.parse import parse_feed

URL = "https://blog.example/feed/"


def parse(body: bytes, content_type: str = "application/xml"):  # type: ignore[no-untyped-def]
    return parse_feed(body, {"content-type": content_type}, url=URL)


def test_rss_091() -> None:
    feed = parse(b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
      <link>https://blog.example/</link><item><title>First</title>
      <link>https://blog.example/1</link><description>Hello</description></item>
      </channel></rss>""")
    assert feed.format == "rss091u" or feed.format.startswith("rss09")
    assert [e.title for e in feed.entries] == ["First"]
    assert feed.entries[0].link == "https://blog.example/1"


def test_atom_03() -> None:
    feed = parse(b"""<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
      <title>Atom zero three</title><link rel="alternate" href="https://blog.example/"/>
      <entry><title>Old style</title><link rel="alternate" href="https://blog.example/a"/>
      <id>tag:a</id><issued>2005-01-01T00:00:00Z</issued><modified>2005-01-02T00:00:00Z</modified>
      <content type="text/html" mode="escaped">&lt;p&gt;Hi&lt;/p&gt;</content></entry></feed>""")
    assert feed.format == "atom03"
    entry = feed.entries[0]
    assert entry.id == "tag:a" and entry.published is not None
    assert entry.published.year == 2005


def test_json_feed_10_with_author_object() -> None:
    feed = parse(b"""{"version": "https://jsonfeed.org/version/1", "title": "J",
      "author": {"name": "Jo"}, "items": [{"id": 7, "content_text": "a <b> c",
      "date_published": "2020-02-02T10:00:00-05:00"}]}""", "application/json")
    entry = feed.entries[0]
    assert feed.format == "json10" and entry.id == "7" and entry.author == "Jo"
    assert entry.content_html == "<p>a &lt;b&gt; c</p>"
    assert entry.published is not None and entry.published.hour == 15


def test_json_feed_with_wrong_types_is_tolerated() -> None:
    feed = parse(b"""{"version": "https://jsonfeed.org/version/1.1", "title": ["x"],
      "items": [{"id": {"a": 1}, "title": 5, "tags": "notalist", "url": 3}, "junk"]}""",
                 "application/feed+json")
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.id is None and entry.title is None and entry.tags == ()


def test_mislabelled_encoding_is_read() -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9'
            '</title><item><title>R\xe9sum\xe9</title><guid>x</guid></item></channel></rss>'
            ).encode("latin-1")
    feed = parse(body, "application/rss+xml; charset=utf-8")
    assert len(feed.entries) == 1 and feed.entries[0].title is not None
    assert "sum" in feed.entries[0].title


def test_not_well_formed_but_usable_gives_a_warning() -> None:
    feed = parse(b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
      <item><title>Fine</title><guid>1</guid><description>a & b</description></item>
      <item><title>Also fine</title><guid>2</guid></item></channel></rss>""")
    assert [e.title for e in feed.entries] == ["Fine", "Also fine"]
    assert feed.warning and "not well formed" in feed.warning


@pytest.mark.parametrize(("body", "content_type", "words"), [
    (b"", "application/rss+xml", "empty"),
    (b"   \n", "application/rss+xml", "empty"),
    (b"<!DOCTYPE html><html><head><title>Blog</title></head><body>Hi</body></html>",
     "text/html", "HTML page"),
    (b"\x00\x01\x02garbage\xff\xfe", "application/octet-stream", "feed"),
    (b"<rss><channel><item><title>cut", "application/rss+xml", "feed"),
    (b'{"hello": "world"}', "application/json", "not a JSON Feed"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/json",
     "not valid JSON"),
    (b"[" * 100_000, "application/json", "JSON"),
])
def test_unreadable_bodies_are_clear_errors(body: bytes, content_type: str, words: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body, content_type)
    assert URL in str(caught.value) and words in str(caught.value)


def test_comment_metadata_is_found() -> None:
    feed = parse(b"""<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:t="http://purl.org/syndication/thread/1.0"><title>B</title>
      <entry><id>tag:b</id><title>P</title><link href="https://b.example/p"/>
      <link rel="replies" type="application/atom+xml" href="https://b.example/p/comments"
        t:count="5"/><t:total>5</t:total></entry></feed>""", "application/atom+xml")
    entry = feed.entries[0]
    assert entry.comment_feed == "https://b.example/p/comments" and entry.comment_count == 5
