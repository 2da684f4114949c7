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


_BY_URL = "_syndication_articles_by_url"  # context key: the map, built once per build


def _articles_by_url(context: dict[str, Any]) -> dict[str, Any]:
    """Articles by their URL. Built once per article list, not once per feed: a network writes
    two feeds per member and sector, and `Article.url` is slow to compute."""
    articles = context.get("articles") or []
    cached = context.get(_BY_URL)
    if cached is not None and cached[0] is articles and cached[1] == len(articles):
        return cached[2]  # type: ignore[no-any-return]
    by_url = {article.url: article for article in articles}
    context[_BY_URL] = (articles, len(articles), by_url)
    return by_url


def point_entries_at_originals(context: dict[str, Any], feed: Any) -> None:
    by_url = _articles_by_url(context)
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
