"""Bytes and response headers → ParsedFeed. feedparser for XML feeds, our own JSON Feed reader.

feedparser is always given bytes (a string would be read as a path or URL). Its own sanitizer
and relative-URI pass are switched off: clean.py does both, on every field, faster and
stricter (DESIGN.md lists what feedparser's sanitizer misses).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from typing import Any

from aggregator.clean import without_emails
from aggregator.dates import from_struct
from aggregator.errors import ParseError
from aggregator.fastparse import load_feedparser, parse_rss20
from aggregator.jsonfeed import looks_like_json_feed, parse_json_feed
from aggregator.models import ParsedFeed, RawEntry

logger = logging.getLogger(__name__)

_WP_POST_ID = re.compile(r"[?&]p=(\d+)(?:&|#|$)")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)


def wp_post_id(guid: str) -> str | None:
    """WordPress's post number from its `?p=<id>` guid, which its comment sources need."""
    match = _WP_POST_ID.search(guid)
    return match.group(1) if match else None


def run_feedparser(body: bytes, headers: Mapping[str, str], *, url: str) -> Any:
    """feedparser on bytes, with the response headers (content-location set so that relative
    links resolve), and without its own sanitizer and relative-URI pass: clean.py does both."""
    feedparser = load_feedparser()

    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", url)
    try:
        return feedparser.parse(body, response_headers=response_headers, sanitize_html=False,
                                resolve_relative_uris=False)
    except RecursionError as exc:
        raise ParseError(url, "the document is nested too deeply to read") from exc


def parse_feed(body: bytes, headers: Mapping[str, str], *, url: str,
               fast: bool = True) -> ParsedFeed:
    """Parse one feed body. ParseError names `url` when nothing usable comes out.

    Well-formed RSS 2.0 goes through fastparse.py, which gives the same values as feedparser
    several times faster; everything else (and everything with `fast=False`) through
    feedparser itself.
    """
    if not body.strip():
        raise ParseError(url, "empty response body")
    content_type = headers.get("content-type", "")
    if looks_like_json_feed(body, content_type):
        return parse_json_feed(body, url=url)
    doc = parse_rss20(body, headers, url=url) if fast else None
    if doc is None:
        doc = run_feedparser(body, headers, url=url)
    version = doc.get("version") or ""
    # A truncated document can leave an entry with nothing in it: that is not a post.
    entries = [e for e in doc.get("entries") or []
               if any(e.get(k) for k in ("id", "link", "title", "summary", "content"))]
    if not entries:
        if _HTML_START.match(body[:4096]):
            raise ParseError(url, "this is an HTML page, not a feed (is the feed URL right?)")
        if doc.get("bozo"):
            raise ParseError(url, f"not a readable feed: {_bozo_reason(doc)}")
        if not version:
            raise ParseError(url, "not a feed: no RSS, Atom or JSON Feed found")
    non_xml = load_feedparser().exceptions.NonXMLContentType

    warning = None
    if doc.get("bozo") and entries and not isinstance(doc.get("bozo_exception"),
                                                      non_xml):
        warning = f"feed is not well formed, used anyway: {_bozo_reason(doc)}"
        logger.warning("%s: %s", url, warning)
    feed = doc.get("feed", {})
    feed_base = url
    title_detail = feed.get("title_detail") or {}
    if title_detail.get("base"):
        feed_base = title_detail["base"]
    return ParsedFeed(
        title=_html_of(feed, "title"),
        link=feed.get("link") or None,
        generator=feed.get("generator") or None,
        entries=tuple(_entry(e, feed_base) for e in entries),
        warning=warning,
        format=version,
    )


def _bozo_reason(doc: Any) -> str:
    exc = doc.get("bozo_exception")
    text = str(exc) if exc is not None else "unknown error"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _html_of(obj: Mapping[str, Any], key: str) -> str | None:
    """A text construct as an HTML fragment (plain-text constructs are escaped)."""
    value = obj.get(key)
    if not value:
        return None
    detail = obj.get(f"{key}_detail") or {}
    if detail.get("type", "text/html") in ("text/plain", "text"):
        return html.escape(str(value))
    return str(value)


def _entry(entry: Any, feed_base: str) -> RawEntry:
    content_html = None
    base = feed_base
    contents = entry.get("content") or []
    if contents:
        chosen = next((c for c in contents if "html" in c.get("type", "")), contents[0])
        value = chosen.get("value") or ""
        content_html = html.escape(value) if chosen.get("type") == "text/plain" else value
        base = chosen.get("base") or base
    summary_html = _html_of(entry, "summary")
    if summary_html is not None and not contents:
        base = (entry.get("summary_detail") or {}).get("base") or base
    tags = tuple(str(t.get("term") or t.get("label") or "") for t in entry.get("tags") or []
                 if (t.get("term") or t.get("label")))
    entry_id = entry.get("id") or None
    extra: dict[str, str] = {}
    if entry_id and (post_id := wp_post_id(entry_id)):
        extra["wp_post_id"] = post_id
    comment_feed, comment_count = _comment_links(entry)
    return RawEntry(
        id=entry_id,
        link=entry.get("link") or None,
        title=_html_of(entry, "title"),
        published=from_struct(dict.get(entry, "published_parsed")),
        updated=from_struct(dict.get(entry, "updated_parsed")),
        author=_author(entry),
        summary_html=summary_html,
        content_html=content_html,
        tags=tags,
        base_url=base,
        comment_feed=comment_feed,
        comment_count=comment_count,
        comments_page=entry.get("comments") or None,
        extra=extra,
    )


def _author(entry: Any) -> str | None:
    """The author's name only, never an e-mail address or a piece of one.

    feedparser's `author` can read "Name (email)" (Atom) or "email (Name)" (RSS), and for the
    latter its `author_detail` name can hold a fragment of the address: when an address is
    present, the name is what is left once it is removed.
    """
    raw = str(entry.get("author") or "")
    if "@" in raw:
        name = without_emails(raw)
    else:
        detail = entry.get("author_detail") or {}
        name = str(detail.get("name") or raw)
    if not raw and not name.strip(" ()<>"):
        creators = entry.get("authors") or []
        name = next((str(a.get("name")) for a in creators if a.get("name")), "")
    name = without_emails(name).strip(" ()<>,")
    return name or None


def _suffix(entry: Mapping[str, Any], suffix: str) -> Any:
    """A value under any namespace prefix (feedparser keeps whatever prefix the feed used)."""
    for key, value in entry.items():
        if key.endswith(suffix):
            return value
    return None


def _count(value: Any) -> int | None:
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return count if 0 <= count < 10_000_000 else None


def _comment_links(entry: Any) -> tuple[str | None, int | None]:
    """The comment feed URL and the comment count, from RSS or RFC 4685 Atom markup."""
    feed_url = entry.get("wfw_commentrss") or None
    count = _count(entry.get("slash_comments"))
    for link in entry.get("links") or []:
        if link.get("rel") == "replies" and "atom" in (link.get("type") or "atom"):
            feed_url = feed_url or link.get("href") or None
            if count is None:
                count = _count(_suffix(link, "_count") or link.get("count"))
    if count is None:
        count = _count(_suffix(entry, "_total"))
    return feed_url, count
