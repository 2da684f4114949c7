"""Pelican's ArticlesGenerator, with two costs that grow with the archive taken out.

1. For every tag, category, author and period, Pelican lists that group's posts in another
   order with `[a for a in all_posts if a in group]`: a list scan inside a list scan, tens of
   seconds at 20,000 posts. Here each list is made once, by position (by identity, as
   Pelican's Content has no `__eq__`): the same lists in the same order, in linear time.
2. `Article.url` and `save_as` are recomputed from URL patterns and dates on every access (a
   river page asks for dozens). Once the articles are final, each remembers its own.

The output is the same: same lists in the same order, same URLs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from operator import attrgetter
from typing import Any

from pelican.generators import ArticlesGenerator
from pelican.writers import FileOverwriteFailedError

logger = logging.getLogger(__name__)

BUILD_ATTRIBUTE_PREFIX = "_incremental_"  # what one build remembers on an article


@cache
def _remembering(cls: type) -> type:
    """A subclass of an article class whose url and save_as are computed once."""

    def url(self: Any) -> str:
        try:
            return str(self.__dict__["_incremental_url"])
        except KeyError:
            value = self.__dict__["_incremental_url"] = cls.url.fget(self)  # type: ignore[attr-defined]
            return str(value)

    def save_as(self: Any) -> str:
        try:
            return str(self.__dict__["_incremental_save_as"])
        except KeyError:
            value = cls.save_as.fget(self)  # type: ignore[attr-defined]
            self.__dict__["_incremental_save_as"] = value
            return str(value)

    def __reduce_ex__(self: Any, protocol: Any) -> tuple[Any, ...]:
        """Pickled (Pelican's content caches) as the plain class, without what this build
        remembered: a later build must compute its own."""
        return (_restore, (cls, {key: value for key, value in self.__dict__.items()
                                 if not key.startswith(BUILD_ATTRIBUTE_PREFIX)}))

    return type(cls.__name__, (cls,), {"url": property(url), "save_as": property(save_as),
                                      "__reduce_ex__": __reduce_ex__,
                                      "__module__": cls.__module__,
                                      "__qualname__": cls.__qualname__})


def _restore(cls: Any, state: dict[str, Any]) -> Any:
    """Unpickle an article saved by `__reduce_ex__` above."""
    article = cls.__new__(cls)
    article.__dict__.update(state)
    return article


_PERIOD_KEYS: dict[str, Callable[[Any], Any]] = {
    "year": attrgetter("date.year"), "month": attrgetter("date.year", "date.month"),
    "day": attrgetter("date.year", "date.month", "date.day")}


class NetworkArticlesGenerator(ArticlesGenerator):  # type: ignore[misc]
    """ArticlesGenerator with linear-time group pages and remembered URLs."""

    def _build_period_archives(self, sorted_articles: Sequence[Any], articles: Sequence[Any],
                               settings: Any) -> Any:
        """Pelican's, with each period's `articles` (in `articles` order) made in one pass."""
        archives = super()._build_period_archives(sorted_articles, [], settings)
        for granularity, periods in archives.items():
            key = _PERIOD_KEYS[granularity]
            grouped: dict[Any, list[Any]] = defaultdict(list)
            for article in articles:
                grouped[key(article)].append(article)
            for archive in periods:
                number = archive["period_num"]
                archive["articles"] = grouped.get(number[0] if granularity == "year"
                                                  else tuple(number), [])
        return archives

    def _in_date_order(self, articles: Sequence[Any]) -> list[Any]:
        """`[a for a in self.dates if a in articles]`, by position instead of by scanning."""
        position = getattr(self, "_date_positions", None)
        if position is None or len(position) != len(self.dates):
            position = self._date_positions = {id(a): i for i, a in enumerate(self.dates)}
        return sorted((a for a in articles if id(a) in position), key=lambda a: position[id(a)])

    def _write_groups(self, write: Any, groups: Any, template_name: str, kind: str) -> None:
        """Pelican's generate_tags/categories/authors loop, with dates made by position."""
        template = self.get_template(template_name)
        for group, articles in groups:
            try:
                write(group.save_as, template, self.context, url=group.url, **{kind: group},
                      articles=articles, dates=self._in_date_order(articles),
                      template_name=template_name, blog=True, page_name=group.page_name,
                      all_articles=self.articles)
            except FileOverwriteFailedError:
                if not group.slug:
                    logger.info('%s "%s" has an invalid slug; skipping writing its page...',
                                kind.capitalize(), group)
                    continue
                logger.error('Failed to write %s page for "%s".', kind.capitalize(), group)
                raise

    def generate_tags(self, write: Any) -> None:
        self._write_groups(write, self.tags.items(), "tag", "tag")

    def generate_categories(self, write: Any) -> None:
        self._write_groups(write, self.categories, "category", "category")

    def generate_authors(self, write: Any) -> None:
        self._write_groups(write, self.authors, "author", "author")

    def generate_context(self) -> None:
        super().generate_context()
        seen: set[int] = set()
        for article in [*self.articles, *self.translations, *self.hidden_articles,
                        *self.hidden_translations, *self.drafts, *self.drafts_translations]:
            if id(article) in seen:
                continue
            seen.add(id(article))
            cls = type(article)
            if isinstance(getattr(cls, "url", None), property) and \
                    isinstance(getattr(cls, "save_as", None), property):
                article.__class__ = _remembering(cls)  # type: ignore[arg-type]
