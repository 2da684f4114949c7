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

import fnmatch
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache, partial
from itertools import chain
from operator import attrgetter, lt
from pathlib import Path
from typing import Any

from pelican import signals
from pelican.generators import ArticlesGenerator, PagesGenerator
from pelican.urlwrappers import URLWrapper
from pelican.writers import FileOverwriteFailedError

from .changes import IN_PLACE_KEY, LOST_DATES_KEY
from .keys import SAVE_AS_ATTRIBUTE, URL_ATTRIBUTE
from .listing import LISTING_KEY, ContentListing
from .preread import PREREAD_KEY
from .river import STORED_KEY
from .store import (
    LINKS_ATTRIBUTE,
    PLAIN_ATTRIBUTE,
    ArticleStore,
    defer_refresh,
    load_whole,
)

logger = logging.getLogger(__name__)

BUILD_ATTRIBUTE_PREFIX = "_incremental_"  # what one build remembers on an article
STORE_KEYS = "_incremental_store_keys"  # settings: (articles key, extras key), set by build.py


@cache
def _remembering(cls: type) -> type:
    """A subclass of an article class whose url and save_as are computed once."""

    def url(self: Any) -> str:
        try:
            return str(self.__dict__[URL_ATTRIBUTE])
        except KeyError:
            value = self.__dict__[URL_ATTRIBUTE] = cls.url.fget(self)  # type: ignore[attr-defined]
            return str(value)

    def save_as(self: Any) -> str:
        try:
            return str(self.__dict__[SAVE_AS_ATTRIBUTE])
        except KeyError:
            value = cls.save_as.fget(self)  # type: ignore[attr-defined]
            self.__dict__[SAVE_AS_ATTRIBUTE] = value
            return str(value)

    def __reduce_ex__(self: Any, protocol: Any) -> tuple[Any, ...]:
        """Pickled (Pelican's content caches) as the plain class, without what this build
        remembered: a later build must compute its own."""
        load_whole(self)  # what a kept article left in the store (store.py): read it now
        getattr(self, "_content", None)
        state = {key: value for key, value in self.__dict__.items()
                 if not key.startswith(BUILD_ATTRIBUTE_PREFIX)}
        return (_restore, (getattr(cls, PLAIN_ATTRIBUTE, cls), state))

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
    """ArticlesGenerator with linear-time group pages, remembered URLs, the article store as
    its generator-level cache (store.py) and the posts pre-read on every core (preread.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (ARTICLE_PATHS, excludes) → the files the listing gives for them (get_files)
        self._candidates_made: dict[tuple[tuple[str, ...], tuple[str, ...]],
                                    list[str] | None] = {}
        settings = self.settings
        keys = settings.get(STORE_KEYS)
        use = (isinstance(keys, tuple) and settings.get("CACHE_CONTENT")
               and settings.get("CONTENT_CACHING_LAYER") == "generator")
        key, extras_key = keys if use else ("", "")
        self.store = ArticleStore(Path(str(settings["CACHE_PATH"])) if use else None,
                                  str(key), str(extras_key),
                                  {"settings": settings, "context": self.context},
                                  load=bool(settings.get("LOAD_CONTENT_CACHE")),
                                  listing=self._listing())
        prepared = settings.pop(PREREAD_KEY, None)
        if prepared:
            read_before = self.readers.get_cached_data

            def get_cached_data(path: str, default: Any = None) -> Any:
                """What the pre-read processes made of the file, else the readers' cache."""
                found = prepared.pop(path, None)
                return found if found is not None else read_before(path, default)

            self.readers.get_cached_data = get_cached_data

    def _listing(self) -> ContentListing | None:
        """The build's listing of this content folder (listing.py), if it made one."""
        listing = self.settings.get(LISTING_KEY)
        if isinstance(listing, ContentListing) and \
                listing.root == os.path.normpath(str(self.path)):
            return listing
        return None

    def get_files(self, paths: Any, exclude: list[str] | None = None,
                  extensions: Any = None) -> set[str]:
        """Pelican's rules (excluded folders, IGNORE_FILES, reader extensions) applied to the
        build's listing instead of walking the folder again."""
        paths = [paths] if isinstance(paths, str) else list(paths)
        candidates = self._candidates(paths, exclude)
        if candidates is None:
            return set(super().get_files(paths, exclude=exclude, extensions=extensions))
        if extensions is None:
            extensions = tuple(self.readers.extensions)
        if extensions is False:
            return set(candidates)
        return {path for path in candidates
                if os.path.splitext(path)[1][1:] in extensions}  # type: ignore[operator]

    def _candidates(self, paths: list[str], exclude: list[str] | None) -> list[str] | None:
        """The listed files under `paths` that Pelican's folder excludes and IGNORE_FILES let
        through, whatever their extension (Pelican asks twice: for its readers' extensions and
        for the disabled ones); None if the listing cannot say. Each folder is judged once."""
        cache = self._candidates_made
        key = (tuple(paths), tuple(exclude or ()))
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
        listing = self._listing()
        listed = listing.files_under(paths) if listing is not None else None
        if listed is None or any(listing.file(p) is not None  # type: ignore[union-attr]
                                 for p in paths):
            cache[key] = None
            return None
        excluded = {os.path.normpath(e).replace(os.sep, "/") for e in exclude or []}
        patterns = list(self.settings["IGNORE_FILES"])
        # fnmatch.fnmatch's rule for each pattern, as one expression (names are POSIX here)
        ignored = re.compile("|".join(fnmatch.translate(p) for p in patterns)).match \
            if patterns else (lambda _name: None)
        roots = {os.path.normpath(p).replace(os.sep, "/").strip("/") for p in paths}
        judged: dict[str, bool] = {}

        def folder_kept(head: str) -> bool:
            folders = head.split("/") if head else []
            for depth in range(len(folders), 0, -1):
                folder = "/".join(folders[:depth])
                if folder in roots:
                    return True  # folders above a walked root are not Pelican's to exclude
                if folder in excluded or ignored(folders[depth - 1]):
                    return False
            return True

        files = []
        for rel in listed:
            head, _, name = rel.rpartition("/")
            kept = judged.get(head)
            if kept is None:
                kept = judged[head] = folder_kept(head)
            if kept and not ignored(name):
                files.append(rel.replace("/", os.sep))
        cache[key] = files
        return files

    def refresh_metadata_intersite_links(self) -> None:
        """Pelican's, but a kept article not read whole is refreshed when it is (store.py):
        the refresh rewrites its summary, which is in the part left in the store."""
        for article in self.every_article():
            if not defer_refresh(article) and hasattr(article, "refresh_metadata_intersite_links"):
                article.refresh_metadata_intersite_links()

    def add_static_links(self, content: Any) -> None:
        """Pelican's, with the links a kept article's body had (the body is not read)."""
        links = content.__dict__.get(LINKS_ATTRIBUTE)
        if links is None:
            super().add_static_links(content)
        else:
            self.context["static_links"] |= links

    # The generator-level cache (CONTENT_CACHING_LAYER = "generator"): the article store.
    def get_cached_data(self, filename: str, default: Any = None) -> Any:
        if not self.store.active:
            return default
        found = self.store.get(filename, os.path.join(self.path, filename))
        return default if found is None else found

    def cache_data(self, filename: str, data: Any) -> None:
        if self.store.active:
            for value in getattr(data, "metadata", {}).values():  # slugs kept, not redone
                for item in value if isinstance(value, list) else (value,):
                    if isinstance(item, URLWrapper):
                        item.slug  # noqa: B018 - computed and remembered by the property
            self.store.put(filename, data)

    def add_source_path(self, content: Any, static: bool = False) -> None:
        """Pelican's, with the path an article worked out when it was made (Pelican works it
        out again with three path normalisations per post)."""
        location = content.__dict__.get("relative_source_path")
        if not isinstance(location, str) or static:
            super().add_source_path(content, static)
            return
        self.context["generated_content"][location] = content

    def save_cache(self) -> None:
        self.store.save()

    def _build_period_archives(self, sorted_articles: Sequence[Any], articles: Sequence[Any],
                               settings: Any) -> Any:
        """Pelican's, with each period's `articles` (in `articles` order) made in one pass."""
        archives = super()._build_period_archives(sorted_articles, [], settings)
        wanted = [granularity for granularity in _PERIOD_KEYS if archives.get(granularity)]
        grouped: dict[str, dict[Any, list[Any]]] = {g: defaultdict(list) for g in wanted}
        keys = [(_PERIOD_KEYS[g], grouped[g]) for g in wanted]
        for article in articles:  # one pass for every granularity
            for key, periods_of in keys:
                periods_of[key(article)].append(article)
        for granularity in wanted:
            for archive in archives[granularity]:
                number = archive["period_num"]
                archive["articles"] = grouped[granularity].get(
                    number[0] if granularity == "year" else tuple(number), [])
        return archives

    def _in_date_order(self, articles: Sequence[Any]) -> list[Any]:
        """`[a for a in self.dates if a in articles]`, by position instead of by scanning;
        a list already in that order (Pelican groups the posts in river order, which is
        the date order) is only checked, with C loops."""
        position = getattr(self, "_date_positions", None)
        if position is None or len(position) != len(self.dates):
            position = self._date_positions = {id(a): i for i, a in enumerate(self.dates)}
        places = list(map(position.get, map(id, articles)))
        if None not in places and all(map(lt, places, places[1:])):
            return list(articles)
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

    def generate_articles(self, write: Any) -> None:
        """Pelican's loop over the article pages (same order, same signal for each), with the
        pages that cannot have changed carried over by the writer at once (changes.py): at
        20,000 posts, making each page's variables for nothing cost a tenth of a second."""
        writer = getattr(getattr(write, "func", None), "__self__", None)
        articles = list(chain(self.translations, self.articles, self.hidden_translations,
                              self.hidden_articles))
        carry = getattr(writer, "carry_articles", None)
        carried = carry(articles, self.context) if carry is not None else set()
        signal = signals.article_generator_write_article
        if carried and not signal.receivers:  # nobody to tell of the pages carried over
            articles = [article for article in articles if id(article) not in carried]
        for article in articles:
            signal.send(self, content=article)
            if id(article) in carried:
                continue
            write(article.save_as, self.get_template(article.template), self.context,
                  article=article, category=getattr(article, "category", None),
                  override_output=hasattr(article, "override_save_as"), url=article.url,
                  blog=True)

    def generate_output(self, writer: Any) -> None:
        """Pelican's: the feeds, then the pages. In a publish on more than one core, the
        feeds and the topics' pages are written in another process (writer.start_apart)
        while this one writes the rest (about as long: measured at 20,000 posts) and the
        other generators go on."""
        write = partial(writer.write_file, relative_urls=self.settings["RELATIVE_URLS"])
        start = getattr(writer, "start_apart", None)
        apart = start is not None and start(partial(self._feeds_and_topics, writer, write),
                                            self.context)
        if not apart:
            self.generate_feeds(writer)
        self.generate_articles(write)
        self.generate_period_archives(write)
        self.generate_direct_templates(write)
        if not apart:
            self.generate_tags(write)
        self.generate_categories(write)
        self.generate_authors(write)
        self.generate_drafts(write)
        signals.article_writer_finalized.send(self, writer=writer)

    def _feeds_and_topics(self, writer: Any, write: Any) -> None:
        self.generate_feeds(writer)
        self.generate_tags(write)

    def generate_tags(self, write: Any) -> None:
        self._write_groups(write, self.tags.items(), "tag", "tag")

    def generate_categories(self, write: Any) -> None:
        self._write_groups(write, self.categories, "category", "category")

    def generate_authors(self, write: Any) -> None:
        self._write_groups(write, self.authors, "author", "author")

    def generate_context(self) -> None:
        super().generate_context()
        if self.store.active:
            logger.info("Posts: %d read, %d unchanged since the last build", self.store.read,
                        self.store.kept)
        # where lists may have lost a post (changes.py); not known without the store
        self.settings[LOST_DATES_KEY] = self.store.lost_dates if self.store.active else None
        self.settings[IN_PLACE_KEY] = self.store.in_place
        # which post is which file (river.py): the writer finds the posts the last build had
        self.settings[STORED_KEY] = (self.store.names, self.store.unchanged) \
            if self.store.active else None
        remembering: dict[type, type | None] = {}  # each class looked at once
        for article in self.every_article():
            cls = type(article)
            kind = remembering.get(cls, cls)
            if kind is cls:
                kind = remembering[cls] = _remembering(cls) if isinstance(
                    getattr(cls, "url", None), property) and isinstance(
                    getattr(cls, "save_as", None), property) else None
            if kind is not None:
                article.__class__ = kind

    def every_article(self) -> list[Any]:
        """Published, hidden and draft articles and their translations, each once."""
        unique = {id(a): a for a in chain(self.articles, self.translations,
                                          self.hidden_articles, self.hidden_translations,
                                          self.drafts, self.drafts_translations)}
        return list(unique.values())


class NetworkPagesGenerator(PagesGenerator):  # type: ignore[misc]
    """Pelican's PagesGenerator without a generator-level cache: Pelican's pickles each page
    with the whole build context (every article, through their neighbour links). The site has
    a handful of pages, read on every build."""

    def get_cached_data(self, filename: str, default: Any = None) -> Any:
        return default

    def cache_data(self, filename: str, data: Any) -> None:
        return None

    def save_cache(self) -> None:
        return None
