"""Pelican plugin: each article learns its neighbours in the river (newer and older post).

article_generator_finalized fires for every article, cached ones too, with the final order.
Sets `article.newer_article` and `article.older_article` (None at either end).
"""

from __future__ import annotations

from typing import Any

from pelican import signals


def link_neighbours(generator: Any) -> None:
    """The river is newest first: the previous item is newer, the next one older."""
    articles = list(generator.articles)
    for index, article in enumerate(articles):
        article.newer_article = articles[index - 1] if index > 0 else None
        article.older_article = articles[index + 1] if index + 1 < len(articles) else None


def register() -> None:
    signals.article_generator_finalized.connect(link_neighbours)
