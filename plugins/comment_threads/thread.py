"""An article's thread, threaded when a page first needs it.

A publish at 20,000 posts attaches every post's thread (lists show the counts, keys need the
folder digests) but renders a few dozen article pages: building and linking 60,000 comment
nodes for the rest is wasted. A `Thread` knows its comment count at once and makes its tree on
first use (iteration, indexing, `len`); it is a read-only sequence of the top-level comments,
as a plain list of them was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload


class Thread(Sequence[Any]):
    """The top-level comments of a post (each with its replies), made on first use by `make`.

    `count` is every comment in the tree, replies included (threading keeps every comment:
    orphans and cycle members become top-level)."""

    __slots__ = ("_make", "_roots", "count", "html")

    def __init__(self, make: Callable[[], list[Any]], count: int,
                 html: str | None = None) -> None:
        self._make: Callable[[], list[Any]] | None = make
        self._roots: list[Any] | None = None
        self.count = count
        self.html = html  # render.thread_html of the tree, when made ahead (a full build)

    @classmethod
    def of(cls, roots: list[Any], count: int) -> Thread:
        """A thread already made."""
        thread = cls(list, count)
        thread._roots, thread._make = roots, None
        return thread

    def roots(self) -> list[Any]:
        if self._roots is None:
            assert self._make is not None
            self._roots, self._make = self._make(), None
        return self._roots

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.roots()[index]

    def __len__(self) -> int:
        return len(self.roots())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.roots())

    def __bool__(self) -> bool:
        return self.count > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Thread):
            return self.roots() == other.roots()
        if isinstance(other, list):
            return self.roots() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like the list it stands for

    def __repr__(self) -> str:
        return f"Thread({self.count} comments)"

