"""JSON Feed 1.0 and 1.1 (jsonfeed.org), which feedparser does not read.

Every field is type-checked: a JSON feed is as hostile as any XML one.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from aggregator.dates import from_iso
from aggregator.errors import ParseError
from aggregator.models import ParsedFeed, RawEntry

VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


def looks_like_json_feed(body: bytes, content_type: str) -> bool:
    """JSON Content-Type, or a body that opens with `{` and names a JSON Feed version."""
    if "json" in content_type.lower():
        return True
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version" in body[:4096]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _author_name(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    for source in (item, feed):
        authors = source.get("authors")
        if isinstance(authors, list):
            for author in authors:
                if isinstance(author, Mapping) and _text(author.get("name")):
                    return str(author["name"])
        author = source.get("author")  # JSON Feed 1.0
        if isinstance(author, Mapping) and _text(author.get("name")):
            return str(author["name"])
    return None


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """Parse JSON Feed bytes; ParseError (naming `url`) when it is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(url, f"not valid JSON: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ParseError(url, "JSON but not a JSON Feed (no top-level object)")
    version = data.get("version")
    if version not in VERSIONS:
        raise ParseError(url, f"JSON but not a JSON Feed (version {str(version)[:80]!r})")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "JSON Feed without an 'items' list")
    entries: list[RawEntry] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        raw_id = item.get("id")
        entry_id = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id).strip() else None
        content_html = _text(item.get("content_html"))
        if content_html is None and _text(item.get("content_text")):
            content_html = "<p>" + html.escape(str(item["content_text"])).replace(
                "\n\n", "</p><p>") + "</p>"
        summary = _text(item.get("summary"))
        tags = item.get("tags")
        entries.append(RawEntry(
            id=entry_id,
            link=_text(item.get("url")) or _text(item.get("external_url")),
            title=html.escape(str(item["title"])) if _text(item.get("title")) else None,
            published=from_iso(item.get("date_published")),
            updated=from_iso(item.get("date_modified")),
            author=_author_name(item, data),
            summary_html=html.escape(summary) if summary else None,
            content_html=content_html,
            tags=tuple(str(t) for t in tags if isinstance(t, str)) if isinstance(tags, list)
            else (),
            base_url=_text(item.get("url")) or url,
        ))
    return ParsedFeed(
        title=_text(data.get("title")),
        link=_text(data.get("home_page_url")),
        generator=None,
        entries=tuple(entries),
        format="json11" if version.endswith("1.1") else "json10",
    )
