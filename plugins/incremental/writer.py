"""A Pelican writer that paginates from the oldest post and skips pages whose inputs are unchanged.

The output that makes up almost all of a large site is keyed (plugins/incremental/keys.py):
article pages, the numbered pages of lists, the first pages of lists whose template is in
INCREMENTAL_FRONT_TEMPLATES, and feeds. For each, the writer computes a key from what the page
shows; if the previous build wrote the same key to the same file and the file is still there
with its size, the page is not rendered again. Everything else (the home and sector pages, the
directories, the network and health pages, pages) is rendered on every build: a few dozen
pages, whatever the archive's size.

In a publish, most of those pages are not even keyed: an article page whose signature (its
post's and neighbours' own digests, its thread's digest) and a list whose posts and count are
as the last build recorded them keep their manifest entries as they are (changes.py); the
article pages of posts where the last build's river had them are found and carried over all
at once (river.py).

A full build (no manifest) renders everything, so a full and an incremental build write the
same bytes as long as the keys cover every input; the build benchmark compares the two trees.
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pelican.utils import sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from aggregator.atomic import write_atomic

from .changes import (
    IN_PLACE_KEY,
    LOST_DATES_KEY,
    PART,
    article_signature,
    dirty_pages,
    unchanged_posts,
)
from .keys import (
    Unkeyable,
    _hash,
    article_digest,
    canonical,
    neighbour_digest,
    thread_digest,
    value_digest,
)
from .outputs import OutputCheck
from .pagination import StablePage, StablePaginator
from .render import (
    MIN_PAGES_PER_PROCESS,
    Background,
    FeedJob,
    Job,
    RenderError,
    render_all,
    render_page,
)
from .river import STORED_KEY, River, carried_posts, comment_digests, river_of
from .store import NAMES_ATTRIBUTE

logger = logging.getLogger(__name__)

LIST_KEYS = frozenset({"articles", "dates", "all_articles"})  # numbered pages show their slice
# A write_file argument a generator may give: what the page shows besides the site and its
# `articles`, as text (a key: the page is rendered only when it changes). Not passed on to the
# template.
SHOWS = "incremental_shows"


@dataclass
class WriteLog:
    """What this build produced: output path (relative, '/'-separated) → [key or None, size],
    and for article pages and lists' first pages a third field (changes.py)."""

    pages: dict[str, list[Any]] = field(default_factory=dict)
    rendered: int = 0
    skipped: int = 0


class IncrementalWriter(Writer):  # type: ignore[misc]
    """Pelican's Writer, with stable pagination and skipping by key.

    `previous` maps output paths to the [key, size] the last successful build wrote there.
    `site_key` covers everything every page depends on (settings, theme, code, versions);
    the registry and avatars are added from the build's context on first use.
    `previous_site` and `previous_today`: the last build's `site_key(context)` and date; while
    the site key is the same, pages that cannot have changed keep their entries without being
    keyed (changes.py). `previous_river`: gives the river the last build recorded, if any
    (river.py; read only when pages may be carried over)."""

    def __init__(self, output_path: str, settings: Mapping[str, Any] | None = None, *,
                 previous: Mapping[str, list[Any]] | None = None, site_key: str = "",
                 check: OutputCheck | None = None, previous_site: str = "",
                 previous_today: str = "",
                 previous_river: Callable[[], River | None] | None = None) -> None:
        super().__init__(output_path, settings=settings)
        self.previous = dict(previous or {})
        self.base_key = site_key
        self._site_key: str | None = None
        self._date: str | None = None
        self._previous_site = previous_site
        self._previous_today = previous_today
        self._unchanged: tuple[set[int], set[int], dict[int, tuple[str, list[Any]]]] | None \
            = None
        self._previous_river = previous_river
        self._as_recorded: dict[int, tuple[str, list[Any]]] = {}  # found by the river
        self._pages_of: dict[int, str] = {}  # id(article) → its page, recorded with a signature
        self._comments: tuple[list[Any], list[Any]] | None = None  # the river's, if looked at
        self.log = WriteLog()
        self.deferred: list[tuple[Job | FeedJob, str, str | None, Any]] | None = None
        self._output_root = os.path.abspath(self.output_path)
        self._writing_claimed = False  # a feed write_feed queued is being written
        self.apart = False  # build.py: a publish may write some pages in another process
        self._apart: list[tuple[Background, Callable[[], None]]] = []
        # is each file the last build wrote still as it left it (looked at when asked)
        self.check = check if check is not None else OutputCheck(self.output_path,
                                                                 self.previous)

    # --- keys -------------------------------------------------------------------------------
    def site_key(self, context: Mapping[str, Any]) -> str:
        """The base key plus the member registry and avatars, which article and list pages
        show (a member's organisation, their picture)."""
        if self._site_key is None:
            by_id = context.get("network_members_by_id") or {}
            members = {key: getattr(entry, "member", None) for key, entry in by_id.items()}
            try:
                extra = canonical([members, context.get("network_avatars") or {}])
            except Unkeyable as exc:
                logger.warning("incremental: registry or avatars not digestible (%s); every "
                               "page is rendered", exc)
                extra = None
            self._site_key = _hash(self.base_key, extra) if extra is not None else ""
        return self._site_key

    def _relative(self, name: str) -> str:
        """The page's path under the output folder, '/'-separated (the manifest's key). Names
        that could leave the folder are refused by sanitised_join, as Pelican does."""
        rel = posixpath.normpath(str(name).replace(os.sep, "/"))
        if rel.startswith(("/", "../")) or rel == "..":
            path = str(sanitised_join(self.output_path, name))  # raises for a path outside
            return os.path.relpath(path, self.output_path).replace(os.sep, "/")
        return rel

    def _rel(self, name: str) -> str:
        """`_relative`, without normalising a name that is normal already (most are)."""
        return name if _normal(name) else self._relative(name)

    def _record(self, rel: str, key: str | None, extra: Any = None) -> None:
        try:
            size = os.stat(os.path.join(self.output_path, rel)).st_size
        except OSError:
            size = -1
        self.log.pages[rel] = [key, size] if extra is None else [key, size, extra]

    def _claim(self, rel: str, override: bool) -> bool:
        """Pelican's rule: a file is written once, unless one (and only one) write overrides
        it. False: an earlier write overrode this file, leave it (Pelican writes to devnull).
        `rel` comes from `_relative` (inside the output folder, normalised): joined, it is
        the path Pelican's sanitised_join gives, without its cost per page."""
        path = os.path.join(self._output_root, rel)
        if path in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" a second time (was previously overwritten)')
            logger.info('Skipping "%s", not overwriting', path)
            return False
        if path in self._written_files and not override:
            raise FileOverwriteFailedError(
                f'Failed to overwrite "{path}" as Pelican has already written to it previously '
                "(set `override=True` if intended)")
        if override:
            self._overridden_files.add(path)
        self._written_files.add(path)
        return True

    def _skip(self, rel: str, key: str | None, extra: Any = None) -> bool:
        """True if the last build wrote `key` to `rel` and the file is still as it left it:
        the page is counted as written, not rendered."""
        if not key or self.previous.get(rel, [None])[0] != key:
            return False
        before = self._kept(rel)
        if before is None:
            return False
        self._keep(rel, before, extra)
        return True

    def _kept(self, rel: str) -> list[Any] | None:
        """The last build's entry for `rel`, if it keyed the page and the file is still as it
        left it."""
        before = self.previous.get(rel)
        return before if before and before[0] and self.check.intact(rel) else None

    def _keep(self, rel: str, before: list[Any], extra: Any = None) -> None:
        """The page is counted as written, as the last build left it, not rendered."""
        self.log.pages[rel] = before[:2] if extra is None else [*before[:2], extra]
        self.log.skipped += 1

    # --- carrying over (changes.py) ---------------------------------------------------------
    def _carries(self, context: Mapping[str, Any]) -> bool:
        """Pages may keep their entries unkeyed: the last build's site key is this one's."""
        return bool(self.previous and self._previous_site
                    and self.site_key(context) == self._previous_site)

    def _recorded(self, rel: str, value: Any, context: Mapping[str, Any]) -> list[Any] | None:
        """The last build's entry for `rel` if pages may be carried over and it recorded
        `value` beside the page (an article's signature, a list's length): the page need not
        be keyed. None otherwise."""
        if value is None or not self._carries(context):
            return None
        before = self.previous.get(rel)
        if not before or len(before) < 3 or before[2] != value:
            return None
        return self._kept(rel)

    def _unchanged_posts(self, context: Mapping[str, Any]
                         ) -> tuple[set[int], set[int], dict[int, tuple[str, list[Any]]]]:
        """changes.unchanged_posts for this build's published posts, worked out once: the
        posts where the last build's river had them are found at once (river.py), the
        others compared one by one."""
        if self._unchanged is None:
            articles = context.get("articles") or []
            found = self._as_recorded = self._found_in_river(articles)
            rest = [a for a in articles if id(a) not in found] if found else articles
            same_own, same, pages = unchanged_posts(rest, self.previous, self._rel)
            same_own.update(found)
            same.update(found)
            pages.update(found)
            self._unchanged = (same_own, same, pages)
            if found:
                logger.info("Posts where the last build's river had them (pages carried over "
                            "at once): %d of %d", len(found), len(articles))
        return self._unchanged

    def _found_in_river(self, articles: list[Any]) -> dict[int, tuple[str, list[Any]]]:
        """id → (page, entry) for the posts river.carried_posts finds where the recorded
        river had them, whose page the last build recorded with a signature and a key."""
        stored = self.settings.get(STORED_KEY)
        recorded = self._previous_river() if self._previous_river is not None else None
        if recorded is None or not isinstance(stored, tuple):
            return {}
        comments = comment_digests(articles)
        self._comments = (articles, comments)  # the same when the river is recorded
        previous, size = self.previous, 4 * PART
        return {ident: (rel, before) for ident, rel in
                carried_posts(articles, comments, *stored, recorded).items()
                if (before := previous.get(rel)) is not None and len(before) == 3
                and before[0] and isinstance(before[2], str) and len(before[2]) == size}

    def river(self, articles: list[Any], names: Mapping[int, Any]) -> River:
        """This build's river (its published posts `articles`, `names` from the article
        store), for the next build (river.py)."""
        known = self._comments
        return river_of(articles, names, self._pages_of, known[1] if known is not None
                        and known[0] is articles and len(known[1]) == len(articles) else None)

    def new_day(self) -> bool:
        return self._today() != self._previous_today

    def carried_from(self) -> tuple[str, str]:
        """This build's site key (if any page asked for it) and date, for the manifest: the
        next build's `previous_site` and `previous_today`."""
        return self._site_key or "", self._today()

    def _article_key(self, name: str, template: Any, context: Mapping[str, Any],
                     relative_urls: bool, article: Any) -> str | None:
        site = self.site_key(context)
        if not site:
            return None
        return _hash(site, "article", name, str(template.name), str(relative_urls),
                     article_digest(article), _thread_key(article),
                     neighbour_digest(getattr(article, "newer_article", None)),
                     neighbour_digest(getattr(article, "older_article", None)))

    def _list_digest(self, kwargs: Mapping[str, Any]) -> str | None:
        """A list's own variables (the tag, the member, the period…), the same on each of its
        pages; None if one cannot be digested (its pages are then always rendered)."""
        try:
            return _hash(*(f"{key}={value_digest(value)}" for key, value in sorted(kwargs.items())
                           if key not in LIST_KEYS and not key.endswith(
                               ("_paginator", "_page", "_previous_page", "_next_page"))))
        except Unkeyable:
            return None

    def _page_key(self, name: str, template: Any, context: Mapping[str, Any],
                  relative_urls: bool, page: StablePage, own: str | None,
                  items: list[Any]) -> str | None:
        """A numbered page: its posts and links. A first page (`items`: the whole list) only
        for INCREMENTAL_FRONT_TEMPLATES: whatever else it shows must follow from the whole
        list, the registry and today's date (a member's profile, chart and totals)."""
        site = self.site_key(context)
        if not site or own is None:
            return None
        newer, older = page.newer, page.older
        if page.is_front:
            fronts = self.settings.get("INCREMENTAL_FRONT_TEMPLATES") or ()
            if os.path.splitext(str(template.name))[0] not in fronts:
                return None  # the home page and sector pages show more: always rendered
            return _hash(site, "front", self._today(), name, str(template.name),
                         str(relative_urls), older.url if older else "-", own,
                         *(article_digest(a) for a in items))
        return _hash(site, "page", name, str(template.name), str(relative_urls),
                     str(page.number), newer.url if newer else "-", older.url if older else "-",
                     own, *(article_digest(a) for a in page.object_list))

    def _shown_key(self, name: str, template: Any, context: Mapping[str, Any],
                   relative_urls: bool, shows: Any, articles: Any) -> str | None:
        """A page whose generator says what it shows besides the site (SHOWS: a text, such as
        a group's members with their latest post dates) and its `articles`: keyed by those,
        the build's date and the articles as lists show them. None: rendered every build."""
        site = self.site_key(context)
        if not site or not isinstance(shows, str):
            return None
        return _hash(site, "shown", self._today(), name, str(template.name), str(relative_urls),
                     shows, *(article_digest(a) for a in articles or ()))

    def _today(self) -> str:
        """The build's date (build.today): first pages say "quiet for a year" and chart the
        last 12 months."""
        if self._date is None:
            from .build import today

            self._date = today(self.settings)
        return self._date

    # --- work in another process (a publish) -----------------------------------------------
    def start_apart(self, work: Callable[[], None], context: Mapping[str, Any]) -> bool:
        """In a publish on more than one core (`apart`), run `work` (the articles generator's
        feeds and topics) in a forked process, which renders the pages it queues itself,
        while this one goes on with the other pages and generators: at 20,000 posts the
        feeds' and topics' checks and pages cost half a second, on a core that had nothing
        else to do. `flush` merges what it wrote, or runs `work` here if it failed. False:
        run `work` here now."""
        if not self.apart or not hasattr(os, "fork") or self.deferred is None \
                or not self._carries(context):
            return False
        # What both sides need, worked out once, before the fork (and kept by this side:
        # the manifest records the site key); the output check's answer from the publish's
        # other process is taken here (ahead.py: only this process may read its pipe).
        self._unchanged_posts(context)
        self._today()
        self.check.settle()
        queued = len(self.deferred)

        def apart() -> tuple[dict[str, list[Any]], int, int, set[str], set[str]]:
            """In the forked process: the work, its pages rendered, and what it added to this
            writer's records."""
            self.log, self._apart = WriteLog(), []  # (not this process's to wait for)
            written, overridden = set(self._written_files), set(self._overridden_files)
            work()
            mine = (self.deferred or [])[queued:]
            self.deferred = mine
            self.flush(1)
            return (self.log.pages, self.log.rendered, self.log.skipped,
                    self._written_files - written, self._overridden_files - overridden)

        self._apart.append((Background(apart), work))
        return True

    def close_apart(self) -> None:
        """Wait for any process `start_apart` began that `flush` did not merge (the build
        failed before it) and remove its files."""
        jobs, self._apart = self._apart, []
        for job, _work in jobs:
            job.close()

    def _take_apart(self) -> None:
        """Merge what `start_apart`'s processes wrote (waiting for them); the work of one that
        failed is done here (what it wrote was written atomically, and is written again)."""
        jobs, self._apart = self._apart, []
        for job, work in jobs:
            try:
                pages, rendered, skipped, written, overridden = job.result()
            except RenderError as exc:
                logger.warning("feeds and topics not written in another process, written "
                               "here: %s", exc)
                work()
                continue
            both = written & self._written_files
            if both:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{min(both)}" as Pelican has already written to it '
                    "previously (once in each of two processes)")
            self.log.pages.update(pages)
            self.log.rendered += rendered
            self.log.skipped += skipped
            self._written_files |= written
            self._overridden_files |= overridden

    # --- Pelican's interface ----------------------------------------------------------------
    def write_feed(self, elements: Any, context: Any, path: Any = None, url: Any = None,
                   feed_type: str = "atom", override_output: bool = False,
                   feed_title: Any = None) -> Any:
        """Feeds list the newest FEED_MAX_ITEMS posts: keyed by those posts."""
        if not path:
            return super().write_feed(elements, context, path, url, feed_type,
                                      override_output, feed_title)
        rel = self._relative(path)
        count = len(elements)
        before = self._recorded(rel, count, context)
        if before is not None and self._unchanged_posts(context)[1].issuperset(map(id, elements)):
            # the same posts as last time, none changed: the same newest ones (changes.py)
            if self._claim(rel, override_output):
                self._keep(rel, before, count)
            return None
        site = self.site_key(context)
        shown = list(elements[: self.settings["FEED_MAX_ITEMS"]])
        key = (_hash(site, "feed", str(path), str(url), feed_type, str(feed_title),
                     *(article_digest(a) for a in shown)) if site else None)
        if self._skip(rel, key, count):
            self._claim(rel, override_output)
            return None
        if self.deferred is not None:  # written with the pages, on every core
            if self._claim(rel, override_output):
                write = partial(self._write_claimed_feed, shown, context, path, url, feed_type,
                                feed_title)
                self.deferred.append((FeedJob(str(path), write), rel, key, count))
            return None
        feed = super().write_feed(elements, context, path, url, feed_type, override_output,
                                  feed_title)
        self.log.rendered += 1
        self._record(rel, key, count)
        return feed

    def _write_claimed_feed(self, elements: Any, context: Any, path: Any, url: Any,
                            feed_type: str, feed_title: Any) -> None:
        """Pelican's write_feed for a path `write_feed` claimed when it queued it."""
        self._writing_claimed = True
        try:
            super().write_feed(elements, context, path, url, feed_type, False, feed_title)
        finally:
            self._writing_claimed = False

    def _open_w(self, filename: str, encoding: str, override: bool = False) -> Any:
        """Pelican's own writes (the feeds): its rule that a file is written once (`_claim`),
        then a file that is whole or not there, as every page is (render.py): Pelican's
        `open(filename, "w")` left a killed build's feed cut short."""
        if not self._writing_claimed and not self._claim(
                self._relative(os.path.relpath(filename, self.output_path)), override):
            return open(os.devnull, "w", encoding=encoding)  # as Pelican does
        return _AtomicText(Path(filename))

    def write_file(self, name: Any, template: Any, context: Any, relative_urls: bool = False,
                   paginated: Any = None, template_name: Any = None,
                   override_output: bool = False, url: Any = None, **kwargs: Any) -> None:
        if not name:
            return
        shows = kwargs.pop(SHOWS, None)  # for the key, not for the template
        if paginated is None:
            paginated = {key: val for key, val in kwargs.items() if key in {"articles", "dates"}}
        if paginated and template_name in self.settings["PAGINATED_TEMPLATES"]:
            per_page = (self.settings["PAGINATED_TEMPLATES"][template_name]
                        or self.settings["DEFAULT_PAGINATION"])
            self._write_pages(name, template, context, relative_urls, paginated, per_page,
                              override_output, url, kwargs)
            return
        article = kwargs.get("article")
        if article is None or "page" in kwargs:
            key = self._shown_key(name, template, context, relative_urls, shows,
                                  kwargs.get("articles"))
            self._render(name, template, context, relative_urls, override_output, kwargs, key)
            return
        rel = self._relative(name)
        if not self._claim(rel, override_output):
            return
        signature = article_signature(article)
        if signature is not None and not override_output:
            self._pages_of[id(article)] = rel
        before = self._recorded(rel, signature, context)
        if before is not None:
            self._keep(rel, before, signature)
            return
        key = self._article_key(name, template, context, relative_urls, article)
        if not self._skip(rel, key, signature):
            self._queue(name, rel, template, context, relative_urls, kwargs, key, signature)

    def carry_articles(self, articles: Iterable[Any], context: Mapping[str, Any]) -> set[int]:
        """The article pages that can be carried over as the last build left them (what
        write_file would do for each, without the template, the page's variables or a key),
        in one pass before Pelican's loop over them (generate_articles): at 20,000 posts, a
        call per page cost more than the carrying. The ids of the articles carried over; the
        others go through write_file as usual (so does any article with a save_as of its
        own)."""
        carried: set[int] = set()
        if not self._carries(context):
            return carried
        written, overridden = self._written_files, self._overridden_files
        same_pages = self._unchanged_posts(context)[2]  # the published posts' pages
        carried.update(self._carry_as_recorded())
        for article in [a for a in articles if id(a) not in carried] if carried else articles:
            state = article.__dict__
            if "override_save_as" in state or "override_save_as" in state.get(
                    NAMES_ATTRIBUTE, ()):  # set, or still in the article store
                continue
            found = same_pages.get(id(article))
            if found is not None:  # its signature is the recorded one
                rel, before = found[0], self._kept(found[0])
            else:  # a hidden post, a translation
                rel = self._rel(article.save_as)
                before = self._recorded(rel, article_signature(article), context)
            if before is None:
                continue
            path = os.path.join(self._output_root, rel)
            if path in written or path in overridden:
                continue  # write_file says what Pelican says of a second write
            written.add(path)
            self._keep(rel, before, before[2])
            carried.add(id(article))
            self._pages_of[id(article)] = rel
        return carried

    def _carry_as_recorded(self) -> list[int]:
        """Carry over, at once, the pages of the posts found where the recorded river had
        them (`_found_in_river`): what carry_articles does for each, with set operations
        (`_keep_all`). A page whose file is not as it was, or whose path something wrote
        already, is left to carry_articles (which says what Pelican says of a second
        write)."""
        found = self._as_recorded
        kept = self._keep_all(list(found.values()), signatures=True)
        ids = [ident for ident, (rel, _) in found.items() if rel in kept]
        self._pages_of.update((ident, found[ident][0]) for ident in ids)
        return ids

    def _keep_all(self, entries: list[tuple[str, list[Any]]], *, signatures: bool) -> set[str]:
        """`_claim` and `_keep` for many pages at once, with set operations: each page (rel)
        keeps the last build's entry given beside it (with its third field if `signatures`).
        The pages kept; those whose file is not as it was, or whose path something wrote
        already, are not (their generator's own path then keys them, or says what Pelican
        says of a second write)."""
        if not entries:
            return set()
        root = self._output_root
        rels = [rel for rel, _ in entries]
        paths = [f"{root}/{rel}" if root != "/" else f"/{rel}" for rel in rels]
        if len(set(paths)) != len(paths):
            return set()  # two pages, one path: as each one's write says
        left = self.check.damaged_among(rels)
        clash = self._written_files.intersection(paths) | \
            self._overridden_files.intersection(paths)
        if clash:
            left.update(rel for rel, path in zip(rels, paths, strict=True) if path in clash)
        if left:
            entries = [entry for entry in entries if entry[0] not in left]
            paths = [path for rel, path in zip(rels, paths, strict=True) if rel not in left]
        width = 3 if signatures else 2
        self._written_files.update(paths)
        self.log.pages.update((rel, before[:width]) for rel, before in entries)
        self.log.skipped += len(entries)
        return {rel for rel, _ in entries}

    def _write_pages(self, name: str, template: Any, context: Mapping[str, Any],
                     relative_urls: bool, paginated: Mapping[str, Any], per_page: int,
                     override: bool, url: Any, kwargs: Mapping[str, Any]) -> None:
        lists = {key: list(value) for key, value in paginated.items()}
        count = len(next(iter(lists.values())))
        paginator = StablePaginator.for_list(name, url or "", count, per_page, self.settings)
        orders = {key: _oldest_first(items) for key, items in lists.items()}
        own = self._list_digest(kwargs)
        first = next(iter(lists))
        dirty: set[int | None] | None = None
        if self._carries(context):
            before = self.previous.get(self._relative(name))
            items = lists[first] if orders[first] else lists[first][::-1]
            dirty = dirty_pages(items, paginator.per_page, paginator.archive_pages,
                                before[2] if before and len(before) > 2 else None,
                                self._unchanged_posts(context)[:2],
                                self.settings.get(LOST_DATES_KEY), self.new_day(),
                                self.settings.get(IN_PLACE_KEY) or frozenset())
        numbers = paginator.numbers()
        carried = self._carry_numbered(paginator, [  # (the first page keeps its count)
            number for number in numbers if number is not None and number not in dirty],
            override) if dirty is not None else set()
        for number in numbers:
            if number in carried:
                continue
            blank = StablePage(paginator, number)
            rel = self._rel(blank.save_as)
            if not self._claim(rel, override):
                continue
            extra = count if blank.is_front else None
            before = self._kept(rel) if dirty is not None and blank.number not in dirty else None
            if before is not None:
                self._keep(rel, before, extra)
                continue
            # The key needs only the page's own posts: a page left as it was costs no more.
            main = StablePage(paginator, blank.number,
                              paginator.slice(lists[first], blank.number,
                                              oldest_first=orders[first]))
            key = self._page_key(name, template, context, relative_urls, main, own,
                                 lists[first])
            if self._skip(rel, key, extra):
                continue
            page_kwargs = dict(kwargs)
            for list_key, items in lists.items():
                page = main if list_key == first else StablePage(
                    paginator, blank.number,
                    paginator.slice(items, blank.number, oldest_first=orders[list_key]))
                newer, older = page.newer, page.older
                page_kwargs.update({
                    f"{list_key}_paginator": paginator,
                    f"{list_key}_page": page,
                    f"{list_key}_previous_page": _filled(newer, paginator, items,
                                                         orders[list_key]),
                    f"{list_key}_next_page": _filled(older, paginator, items, orders[list_key]),
                })
            self._queue(main.save_as, rel, template, context, relative_urls, page_kwargs, key,
                        extra)

    def _carry_numbered(self, paginator: StablePaginator, numbers: list[int],
                        override: bool) -> set[int]:
        """Carry over, at once, the numbered pages `numbers` of a list (none of their posts
        changed: changes.dirty_pages) that the last build keyed and left as they are: what
        _write_pages does for each, without a page object, a claim and a lookup per page
        (a 20,000-post site has 15,000 numbered pages). Pages whose file is not as it was,
        or whose path something wrote already, are left to _write_pages."""
        if override or not numbers:
            return set()
        rels = {number: self._rel(paginator.numbered("SAVE_AS", number)) for number in numbers}
        previous = self.previous
        kept = self._keep_all([(rel, before) for rel in rels.values()
                               if (before := previous.get(rel)) and before[0]],
                              signatures=False)
        return {number for number, rel in rels.items() if rel in kept}

    def _render(self, name: str, template: Any, context: Any, relative_urls: bool,
                override: bool, kwargs: Mapping[str, Any], key: str | None) -> None:
        rel = self._relative(name)
        if self._claim(rel, override) and not self._skip(rel, key):
            self._queue(name, rel, template, context, relative_urls, kwargs, key)

    def _queue(self, name: str, rel: str, template: Any, context: Any, relative_urls: bool,
               kwargs: Mapping[str, Any], key: str | None, extra: Any = None) -> None:
        """Render the page now, or later with the others (`defer`)."""
        job = Job(name, template, context, relative_urls, kwargs)
        if self.deferred is not None:
            self.deferred.append((job, rel, key, extra))
            return
        render_page(self.output_path, job)
        self.log.rendered += 1
        self._record(rel, key, extra)

    def defer(self) -> None:
        """From now on, queue pages instead of rendering them; `flush` renders the queue."""
        if self.deferred is None:
            self.deferred = []

    def flush(self, processes: int, *, min_pages: int = MIN_PAGES_PER_PROCESS) -> None:
        """Render every queued page over `processes` processes, then record what was written;
        then merge what other processes wrote (start_apart), rendering what any work that had
        to be done here queued."""
        while True:
            queued, self.deferred = self.deferred or [], None
            render_all(self.output_path, [job for job, *_ in queued], processes,
                       min_pages=min_pages)
            for _job, rel, key, extra in queued:
                self.log.rendered += 1
                self._record(rel, key, extra)
            if not self._apart:
                return
            self.deferred = []
            self._take_apart()


class _AtomicText(io.StringIO):
    """A text file written with `write_atomic` when its `with` block ends without error."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if kind is None:
            write_atomic(self.path, self.getvalue())
        super().__exit__(kind, *rest)


def _normal(name: str) -> bool:
    """`name` is a relative '/'-separated path that normalising leaves as it is (checked
    without normalising it, which costs more: `_relative` does that for the rest)."""
    return bool(name) and os.sep == "/" and "//" not in name and "/./" not in name \
        and "/../" not in name and not name.startswith(("/", "./", "../")) \
        and not name.endswith(("/", "/.", "/..")) and name not in (".", "..")


def _thread_key(article: Any) -> str:
    """The article's comment thread: the digest of its files where the plugin that attached
    it gives one (`comments_digest`), else a digest of the tree itself."""
    given = getattr(article, "comments_digest", None)
    if isinstance(given, str) and given:
        return "files:" + given
    return thread_digest(getattr(article, "comments", None))


def _oldest_first(items: list[Any]) -> bool:
    """Pelican passes `articles` newest first and `dates` in NEWEST_FIRST_ARCHIVES order."""
    if len(items) < 2:
        return False
    first, last = getattr(items[0], "date", None), getattr(items[-1], "date", None)
    try:
        return bool(first is not None and last is not None and first < last)
    except TypeError:
        return False


def _filled(page: StablePage | None, paginator: StablePaginator, items: list[Any],
            oldest_first: bool) -> StablePage | None:
    if page is None:
        return None
    return StablePage(paginator, page.number,
                      paginator.slice(items, page.number, oldest_first=oldest_first))

