"""Which pages of a publish can keep the last build's entry without their key being worked out.

Keying a page (keys.py) costs microseconds, but a publish at 20,000 posts has 20,000 article
pages and 15,000 numbered list pages to key, most of them unchanged. Here the writer learns,
from what the last build recorded beside each page (the manifest's third field), which of
them cannot have changed, and carries their entries over as they are:

- an article page records its signature: the article's own digest (kept by the article
  store: no hashing), its comment folder's digest, and its newer and older neighbours' own
  digests. The same signature means the same page (the key is made of nothing else but the
  site key, which must be unchanged too).
- a list's first page records how many posts the list had. A list whose posts all kept
  their own digest and comment digest, and whose count is the same, lost and gained nothing:
  none of its pages changed (its first page is keyed with the build's date: a new day keys
  it again). Otherwise only the pages from the first change on are keyed: pages are counted
  from the oldest post (pagination.py), so the pages before the oldest new, changed or lost
  post hold the same posts as before. A lost post (its file changed or went) is found by the
  date the article store had for it; a post whose comments alone changed changes only its
  own page of each list.
- a feed records its list's length too: the same posts, none changed, means the same newest
  ones.

Anything not known (no record, a list not in date order, a lost post without its date) makes
the page keyed as before: carrying over saves time, never changes what is written.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import lt
from typing import Any

from .keys import own_digest

LOST_DATES_KEY = "_incremental_lost_dates"  # settings: the article store's lost_dates
IN_PLACE_KEY = "_incremental_in_place"  # settings: the article store's in_place


def placement(article: Any) -> tuple[Any, ...]:
    """Where a post stands in the site's lists: its date and status (the river, the periods),
    its category, tags and authors."""
    return (article.date, str(getattr(article, "status", "")),
            str(getattr(article, "category", "")),
            tuple(sorted(str(tag) for tag in getattr(article, "tags", None) or ())),
            tuple(str(author) for author in getattr(article, "authors", None) or ()))


PART = 16  # hex digits of each digest a signature keeps: 64 bits, one string per page
_NONE = "-" * PART


def _part(digest: str) -> str:
    """A digest's first PART digits (a shorter one, like "none", padded)."""
    return digest[:PART].ljust(PART, "-")


def article_signature(article: Any) -> str | None:
    """What an article page is made of besides the site key, as one string: the first PART
    digits of the article's own digest, its comment folder's digest, and its newer and older
    neighbours' own digests (64 bits each: the chance that a change leaves one the same is
    2**-64). None if not known (no comment folder digest: the page is keyed from the thread)."""
    comments = getattr(article, "comments_digest", None)
    if not isinstance(comments, str) or not comments:
        return None
    return "".join((_own_part(article), _part(comments),
                    _own_part(getattr(article, "newer_article", None)),
                    _own_part(getattr(article, "older_article", None))))


def unchanged_posts(articles: Iterable[Any], previous: Mapping[str, list[Any]],
                    relative: Callable[[str], str]
                    ) -> tuple[set[int], set[int], dict[int, tuple[str, list[Any]]]]:
    """The ids of the posts whose own digest (first set) and also comment digest (second set)
    are as the last build recorded them on their article page; and, for each post whose page
    has the signature the last build recorded, that page (relative path) and its entry."""
    same_own: set[int] = set()
    same: set[int] = set()
    pages: dict[int, tuple[str, list[Any]]] = {}
    for article in articles:
        try:
            rel = relative(article.save_as)
        except (AttributeError, ValueError, TypeError):
            continue
        before = previous.get(rel)
        if not before or len(before) < 3 or not isinstance(before[2], str) \
                or len(before[2]) != 4 * PART:
            continue
        signature: str = before[2]
        if not signature.startswith(_own_part(article)):  # kept by the store: no hashing
            continue
        same_own.add(id(article))
        comments = article.__dict__.get("comments_digest")
        if isinstance(comments, str) and comments and \
                _part(comments) == signature[PART:2 * PART]:
            same.add(id(article))
            if article_signature(article) == signature:
                pages[id(article)] = (rel, before)
    return same_own, same, pages


def _own_part(article: Any) -> str:
    """The first PART digits of an article's own digest; _NONE for none (no neighbour)."""
    if article is None:
        return _NONE
    return own_digest(article)[:PART]


def dirty_pages(items: Sequence[Any], per_page: int, archive_pages: int, old_count: Any,
                unchanged: tuple[set[int], set[int]], lost_dates: list[Any] | None,
                new_day: bool, in_place: set[int] | frozenset[int] = frozenset()
                ) -> set[int | None] | None:
    """The pages of one list that must be keyed (None: the first page); None: all of them.

    `items` oldest first; `archive_pages` the numbered pages now (pagination.py); `old_count`
    the list's length the last build recorded; `unchanged` from unchanged_posts; `in_place`
    the ids of changed posts that stand where they stood (no page but their own changes)."""
    if not isinstance(old_count, int) or isinstance(old_count, bool) or per_page < 1:
        return None
    same_own, same = unchanged
    changed: list[int] = []  # positions of new posts and posts whose own digest changed
    commented: list[int] = []  # positions of posts whose comments alone changed
    idents = list(map(id, items))
    if not same.issuperset(idents):  # else nothing to find (most lists, found at C speed)
        for position, ident in enumerate(idents):
            if ident not in same:
                (commented if ident in same_own or ident in in_place
                 else changed).append(position)
    count = len(items)
    dirty: set[int | None] = set()
    if new_day:
        dirty.add(None)
    if not changed and not commented and count == old_count:
        return dirty
    dirty.add(None)
    start = changed[0] if changed else count  # pages from here on may hold other posts
    if changed or count != old_count:
        if lost_dates is None or (not lost_dates and not changed):
            start = 0  # something left the list and its date is not known
        elif lost_dates:
            try:
                dates = [article.date for article in items]
                if any(map(lt, dates[1:], dates)):
                    return None  # not in date order: positions say nothing
                start = min(start, bisect_left(dates, min(lost_dates)))
            except (AttributeError, TypeError):
                return None
    dirty.update(range(start // per_page + 1, archive_pages + 1))
    dirty.update(position // per_page + 1 for position in commented
                 if position < archive_pages * per_page)
    old_archive = max(0, (old_count - per_page) // per_page)
    if old_archive != archive_pages and min(old_archive, archive_pages) > 0:
        dirty.add(min(old_archive, archive_pages))  # its "newer" link changed
    return dirty
