"""Pelican plugin: sanitize the rendered HTML of every aggregated post once more.

Defence in depth. The aggregator writes Markdown made from sanitized HTML, but Markdown passes
raw HTML through and does not check link schemes; whatever that step let through, the page
never gets. Only articles with a `Member` key (aggregated posts) are touched: the site's own
pages may embed what they like.

Signals: `content_object_init` cleans each article as it is read, before Pelican caches it or
expands `{filename}` links (it does so lazily, when `content` is first read). With the
generator-level content cache, cached articles are not re-read; `article_generator_finalized`
cleans any article that was cached without being cleaned (a cache from a build without this
plugin). Both steps use `aggregator.clean.sanitize_html`, the aggregator's own allowlist.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Any

from pelican import signals

from aggregator.clean import sanitize_html

logger = logging.getLogger(__name__)

_MARK = "_member_html_sanitized"


def sanitize_content(content: Any) -> None:
    """Clean an aggregated article's body and summary in place; leave other content alone."""
    metadata = getattr(content, "metadata", None)
    if not isinstance(metadata, dict) or "member" not in metadata:
        return
    base = metadata.get("original_url")
    base_url = base if isinstance(base, str) else None
    body = getattr(content, "_content", None)
    if isinstance(body, str):
        content._content = sanitize_html(body, base_url=base_url)
    summary = metadata.get("summary")
    if isinstance(summary, str):
        cleaned = sanitize_html(summary, base_url=base_url)
        metadata["summary"] = cleaned
        content._summary = cleaned
    elif isinstance(getattr(content, "_summary", None), str):
        content._summary = sanitize_html(content._summary, base_url=base_url)
    setattr(content, _MARK, True)
    logger.debug("sanitized %s", getattr(content, "source_path", "?"))


def _on_content_init(content: Any) -> None:
    sanitize_content(content)


def _on_articles_finalized(generator: Any) -> None:
    lists = ("articles", "translations", "drafts", "drafts_translations", "hidden_articles",
             "hidden_translations")
    for article in chain.from_iterable(getattr(generator, name, ()) for name in lists):
        if not getattr(article, _MARK, False):
            sanitize_content(article)


def register() -> None:
    """Pelican's entry point for namespace-less plugins."""
    signals.content_object_init.connect(_on_content_init)
    signals.article_generator_finalized.connect(_on_articles_finalized)
