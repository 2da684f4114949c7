"""Pelican plugin: every feed entry links to the original post and keeps its plain title.

Pelican's writer links entries to our page and runs `striptags` on titles (a plain-text title
such as "Why <b> is bold" loses words). On feed_generated we point `link` at the member's
original post (the entry id stays the tag: URI of our page) and restore the title text;
feedgenerator escapes both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pelican import signals


def _is_http(url: Any) -> bool:
    return (isinstance(url, str) and urlsplit(url).scheme in ("http", "https")
            and not any(ch.isspace() for ch in url))


def point_entries_at_originals(context: dict[str, Any], feed: Any) -> None:
    by_url = {article.url: article for article in context.get("articles") or []}
    site = str(feed.feed.get("link") or "")
    for item in feed.items:
        link = str(item.get("link") or "")
        path = link[len(site):] if site and link.startswith(site) else link.lstrip("./")
        article = by_url.get(path.lstrip("/"))
        if article is None:
            continue
        item["title"] = str(article.title)
        original = getattr(article, "original_url", None)
        if _is_http(original):
            item["link"] = original


def register() -> None:
    signals.feed_generated.connect(point_entries_at_originals)
