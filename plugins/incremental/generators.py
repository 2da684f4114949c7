"""Pelican's ArticlesGenerator, with two costs that grow with the archive taken out.

1. For every tag, category and author, Pelican lists that group's posts in date order with
   `[a for a in self.dates if a in articles]`: a list scan inside a list scan, which at 20,000
   posts and 400 groups is tens of seconds. The groups' lists are given a set for `in` (by
   identity, as Pelican's Content has no `__eq__`), so the same lists come out in linear time.
2. `Article.url` and `save_as` are recomputed from URL patterns and dates on every access (a
   river page asks for dozens). Once the articles are final, each remembers its own.

The output is the same: same lists in the same order, same URLs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pelican.generators import ArticlesGenerator


class IdentityList(list[Any]):
    """A list whose `in` is a set lookup by identity (what `in` means for Pelican content)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self._ids = {id(item) for item in self}

    def __contains__(self, item: object) -> bool:
        return id(item) in self._ids


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


class NetworkArticlesGenerator(ArticlesGenerator):  # type: ignore[misc]
    """ArticlesGenerator with linear-time group pages and remembered URLs."""

    def generate_context(self) -> None:
        super().generate_context()
        for tag in list(self.tags):
            self.tags[tag] = IdentityList(self.tags[tag])
        for groups in (self.categories, self.authors):
            groups[:] = [(group, IdentityList(items)) for group, items in groups]
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
