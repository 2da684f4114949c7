"""Are the pages the last build wrote still there, as it left them? Asked page by page.

A page is skipped only if its file is still in the output folder with the size the last build
gave it (someone may have deleted or edited it). Each file is looked at when the writer is
about to skip its page (a `stat`, a few microseconds), and all of them only when the build
would otherwise stop with nothing to do. An earlier version checked all 35,000 pages of a
20,000-post site on a thread from the start of the build: on this kind of machine the `stat`
calls of that thread and of the walk of the content folder do not overlap, they queue, and
the thread's loop competes for the interpreter; the walk took 0.63 s instead of 0.44 s, more
than the checks cost on their own (0.1 s).

In a publish, `in_background` hands the checks to the publish's other process (ahead.py):
its `stat` calls run on the other core while this one reads the posts (all Python, no
system calls), and it sends back only the pages that are not as they were (usually none).
A file this build writes meanwhile may be reported changed: its page is then rendered, which
it is anyway. That process checks last (the writer asks only once the contexts are made),
so a build with nothing new does not wait for its other work: `all_intact` checks here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Mapping
from typing import Any

logger = logging.getLogger(__name__)


class OutputCheck:
    """rel path → is the file there with the size the manifest says (each looked at once)."""

    def __init__(self, output: str | os.PathLike[str], pages: Mapping[str, list[Any]]) -> None:
        self._root = os.path.abspath(output)
        self._pages = pages
        self._known: dict[str, bool] = {}
        self._job: Any = None  # a Background checking every page (in_background)
        self._damaged: frozenset[str] | None = None  # what it found not as it was

    def in_background(self, run: Callable[[Callable[[], Any]], Any]) -> None:
        """Check every page in another process (`run`: the build's `_in_background`, which
        forks and returns an object whose `result()` waits for the work)."""
        if self._pages and self._job is None and self._damaged is None:
            self._job = run(self._find_damaged)

    def _find_damaged(self) -> frozenset[str]:
        root, damaged = self._root, []
        for rel, entry in self._pages.items():
            try:
                if os.stat(os.path.join(root, rel)).st_size != entry[1]:
                    damaged.append(rel)
            except OSError:
                damaged.append(rel)
        return frozenset(damaged)

    def settle(self) -> None:
        """Take the other process's answer now (waiting for it), if it was asked for one: a
        process forked from this one must not read that process's pipe."""
        if self._job is not None:
            job, self._job = self._job, None
            try:
                self._damaged = job.result()
            except RuntimeError as exc:  # looked at here instead, page by page
                logger.warning("output check in another process failed, done here: %s", exc)

    def intact(self, rel: str) -> bool:
        """The file is as the last build left it (True only for files the manifest lists)."""
        self.settle()
        if self._damaged is not None:
            return rel in self._pages and rel not in self._damaged
        return self._intact_here(rel)

    def damaged_among(self, rels: Collection[str]) -> set[str]:
        """Those of `rels` that are not `intact`, found with set operations when the other
        process's answer is in (a publish carries 20,000 article pages at once: river.py)."""
        self.settle()
        if self._damaged is not None:
            return self._damaged.intersection(rels) | set(rels).difference(self._pages)
        return {rel for rel in rels if not self._intact_here(rel)}

    def _intact_here(self, rel: str) -> bool:
        known = self._known.get(rel)
        if known is None:
            entry = self._pages.get(rel)
            try:
                known = entry is not None and \
                    os.stat(os.path.join(self._root, rel)).st_size == entry[1]
            except OSError:
                known = False
            self._known[rel] = known
        return known

    def all_intact(self) -> bool:
        """Every file the last build wrote is still there, with its size (and there was one),
        looked at here: the other process checks after its other work (in a publish with
        nothing new, waiting for it cost a quarter of a second at 20,000 posts)."""
        self._job = None  # not waited for: the pages are looked at here, once each
        if self._damaged is not None:
            return bool(self._pages) and not self._damaged
        return bool(self._pages) and all(self._intact_here(rel) for rel in self._pages)
