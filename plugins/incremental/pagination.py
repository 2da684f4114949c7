"""Pagination counted from the oldest post, so that a new post leaves old pages alone.

Pelican numbers pages from the newest post: one new post shifts every item of every page of
every list it is in. Here a list of T posts with N per page is cut from the oldest end: page 1
holds the N oldest posts, page 2 the next N, and so on up to page m = (T - N) // N; the first
page (the list's own URL) shows the newest T - m·N posts, between N and 2N - 1 of them. A new
post changes the first page and, once every N posts, adds page m + 1 (and changes page m's
"newer" link). Every other page keeps its posts, its number, its URL and its bytes.

The objects offer what themes use of Pelican's `Page`: `object_list`, `number`, `url`,
`save_as`, `has_next()` (older posts exist), `has_previous()` (newer ones), `has_other_pages()`,
plus `is_front`. There is no "page X of Y": Y changes with every N posts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class StablePaginator:
    """How one list is cut into pages."""

    name: str  # the list's own save_as (its first page)
    url: str  # the list's own URL
    count: int
    per_page: int
    archive_pages: int  # m: pages numbered 1 (oldest) … m
    settings: Mapping[str, Any]

    @classmethod
    def for_list(cls, name: str, url: str, count: int, per_page: int,
                 settings: Mapping[str, Any]) -> StablePaginator:
        per_page = max(1, per_page)
        archive = max(0, (count - per_page) // per_page)
        return cls(name, url or "", count, per_page, archive, settings)

    def numbers(self) -> list[int | None]:
        """The first page (None), then the numbered pages from the newest (m) to the oldest
        (1): the order pages are written in."""
        return [None, *range(self.archive_pages, 0, -1)]

    def pages(self) -> list[StablePage]:
        """The pages in `numbers` order."""
        return [StablePage(self, number) for number in self.numbers()]

    def slice(self, items: Sequence[Any], number: int | None, *, oldest_first: bool) -> list[Any]:
        """The items of one page, in the order of `items` (newest or oldest first)."""
        total = len(items)
        if number is None:  # the first page: what the numbered pages do not hold
            newest = total - self.archive_pages * self.per_page
            return list(items[total - newest:] if oldest_first else items[:newest])
        low = (number - 1) * self.per_page  # from the oldest end
        high = low + self.per_page
        if oldest_first:
            return list(items[low:high])
        return list(items[total - high:total - low])

    @cached_property
    def _patterns(self) -> tuple[str, str, dict[str, str]]:
        """PAGINATION_PATTERNS' rule for page 2 and beyond (URL, SAVE_AS) and the names it
        may use, worked out once per list (a list of 20,000 posts has 2,000 pages)."""
        rules = [rule for rule in self.settings.get("PAGINATION_PATTERNS") or ()
                 if int(rule[0]) > 1]
        if not rules:
            raise ValueError("PAGINATION_PATTERNS needs a rule for pages after the first "
                             "(e.g. (2, '{base_name}/page/{number}/', "
                             "'{base_name}/page/{number}/index.html'))")
        rule = rules[-1]
        stem, extension = os.path.splitext(self.name)
        folder, filename = os.path.split(self.name)
        base_name = folder if filename in ("index.htm", "index.html") else stem
        names = {"save_as": self.name, "url": self.url, "name": stem, "base_name": base_name,
                 "extension": extension}
        return str(rule[1]), str(rule[2]), names

    def numbered(self, key: str, number: int) -> str:
        """URL or SAVE_AS of numbered page `number`, from PAGINATION_PATTERNS' rule for page 2
        and beyond (this project: `{base_name}/page/{number}/`)."""
        url, save_as, names = self._patterns
        value = (url if key == "URL" else save_as).format(**names, number=number)
        return value[1:] if value.startswith("/") else value


@dataclass(frozen=True, eq=False)
class StablePage:
    """One page of a list. `number` is None for the first page (the list's own URL)."""

    paginator: StablePaginator
    number: int | None
    object_list: Sequence[Any] = ()

    @property
    def is_front(self) -> bool:
        return self.number is None

    @property
    def url(self) -> str:
        if self.number is None:
            return self.paginator.url
        return self.paginator.numbered("URL", self.number)

    @property
    def save_as(self) -> str:
        if self.number is None:
            return self.paginator.name
        return self.paginator.numbered("SAVE_AS", self.number)

    @property
    def newer(self) -> StablePage | None:
        """The page of the next newer posts (None on the first page)."""
        if self.number is None:
            return None
        if self.number >= self.paginator.archive_pages:
            return StablePage(self.paginator, None)
        return StablePage(self.paginator, self.number + 1)

    @property
    def older(self) -> StablePage | None:
        """The page of the next older posts (None on page 1, or on a first page alone)."""
        if self.number is None:
            return (StablePage(self.paginator, self.paginator.archive_pages)
                    if self.paginator.archive_pages else None)
        return StablePage(self.paginator, self.number - 1) if self.number > 1 else None

    # Pelican's Page API, as themes call it (lists are newest first: "next" is older).
    def has_next(self) -> bool:
        return self.older is not None

    def has_previous(self) -> bool:
        return self.newer is not None

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def __repr__(self) -> str:
        return f"<StablePage {'first' if self.number is None else self.number} of {self.url!r}>"
