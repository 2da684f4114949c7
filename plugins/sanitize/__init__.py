"""Pelican plugin: sanitize the rendered HTML of every aggregated post once more.

Defence in depth. The aggregator writes Markdown made from sanitized HTML, but Markdown passes
raw HTML through and does not check link schemes; whatever that step let through, the page
never gets. Only articles with a `Member` key (aggregated posts) are touched: the site's own
pages may embed what they like.

Where: every reader is wrapped (`readers_init`) so that an aggregated post's HTML is cleaned
right after it is rendered, before Pelican's reader cache keeps it: a rebuild reuses the clean
HTML instead of cleaning 20,000 posts again. The reader marks what it cleaned with the
sanitizer's signature under a key no file header can carry (a space is not allowed in one);
`content_object_init` cleans any aggregated article without the current signature (a cache
from an older sanitizer or from a build without this plugin), and `article_generator_finalized`
any article that got past both. All use `aggregator.clean.sanitize_html`, the aggregator's own
allowlist.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from importlib.metadata import version
from itertools import chain
from pathlib import Path
from typing import Any

from pelican import signals

import aggregator.clean
from aggregator.clean import sanitize_html

logger = logging.getLogger(__name__)

_MARK = "_member_html_sanitized"
SIGNED = "sanitized by"  # metadata key; Markdown and reST header keys cannot hold a space


@cache
def signature() -> str:
    """Which sanitizer cleaned a body: the allowlist's code and nh3's version."""
    code = Path(aggregator.clean.__file__).read_bytes() + Path(__file__).read_bytes()
    return hashlib.blake2b(code + version("nh3").encode(), digest_size=12).hexdigest()


def _base_url(metadata: dict[str, Any]) -> str | None:
    """Relative links in a post resolve against its original URL."""
    base = metadata.get("original_url")
    return base if isinstance(base, str) else None


def _clean_metadata(metadata: dict[str, Any], content: str | None) -> str | None:
    """Clean an aggregated post's body and `summary` metadata; sign the metadata."""
    base_url = _base_url(metadata)
    if isinstance(metadata.get("summary"), str):
        metadata["summary"] = sanitize_html(metadata["summary"], base_url=base_url)
    metadata[SIGNED] = signature()
    return sanitize_html(content, base_url=base_url) if isinstance(content, str) else content


@cache
def _sanitizing(reader_class: type) -> type:
    """A subclass of a Pelican reader whose `read` returns aggregated posts cleaned."""

    def read(self: Any, source_path: str) -> tuple[Any, dict[str, Any]]:
        content, metadata = reader_class.read(self, source_path)  # type: ignore[attr-defined]
        if isinstance(metadata, dict) and "member" in metadata:
            content = _clean_metadata(metadata, content)
        return content, metadata

    return type(reader_class.__name__, (reader_class,), {"read": read,
                                                         "__module__": reader_class.__module__})


def wrap_readers(readers: Any) -> None:
    """readers_init: every reader class (Markdown, HTML, reST, a plugin's) cleans what it reads."""
    for ext, reader_class in list(readers.reader_classes.items()):
        if isinstance(reader_class, type):
            readers.reader_classes[ext] = _sanitizing(reader_class)


def sanitize_content(content: Any) -> None:
    """Clean an aggregated article's body and summary in place; leave other content alone."""
    metadata = getattr(content, "metadata", None)
    if not isinstance(metadata, dict) or "member" not in metadata:
        return
    base_url = _base_url(metadata)
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
    metadata = getattr(content, "metadata", None)
    if isinstance(metadata, dict) and metadata.get(SIGNED) == signature():
        setattr(content, _MARK, True)  # cleaned by this sanitizer when it was read
        return
    sanitize_content(content)


def _on_articles_finalized(generator: Any) -> None:
    lists = ("articles", "translations", "drafts", "drafts_translations", "hidden_articles",
             "hidden_translations")
    for article in chain.from_iterable(getattr(generator, name, ()) for name in lists):
        if not getattr(article, _MARK, False):
            sanitize_content(article)


def register() -> None:
    """Pelican's entry point for namespace-less plugins."""
    signals.readers_init.connect(wrap_readers)
    signals.content_object_init.connect(_on_content_init)
    signals.article_generator_finalized.connect(_on_articles_finalized)
