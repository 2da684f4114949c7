"""The other core's share of a publish, while this one reads the posts.

A publish is one process doing Python work from start to end: walk the content folder, read
the posts, group them, key or carry the pages. Much of it does not need the posts, so at its
start a publish forks one process (`Ahead`) that works through, in order:

1. the walk of one top-level folder (INCREMENTAL_WALK_APART, the comments: three files in
   four of a network's content), its digest sent at once (a build with nothing new needs
   only that), what it found last of all, to this process's listing if something asks for
   a file there (listing.py `expect`: the plugins' work below says what they need of it);
   this process walks the rest meanwhile;
2. the work plugins hand over on the BUILD_PUBLISH signal (plugins/comment_threads: compare
   every comment folder with its cache), run with the settings as they were then and a
   listing of that folder;
3. the check of the output folder (outputs.py), which the writer needs last (a build with
   nothing new checks it itself, while this process walks);
4. what the walk found (a publish usually needs none of it: the build stops this process
   when it is done, whatever it is doing).

Each result is collected when it is needed, and waited for only then. If the process fails,
its users do the work themselves (each says so in the log): the output is the same.

The rest of the content folder (the posts) is walked earlier still, in a process of its own
(`walk_early`), started as soon as the build has its settings: while this one loads the
plugins and reads the last build's manifest (at 20,000 posts, about as long as that walk),
instead of after.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from functools import partial
from pathlib import Path
from typing import Any

from .listing import LISTING_KEY, ContentListing, Part
from .render import Background, Staged, build_processes

WALK_APART = "INCREMENTAL_WALK_APART"  # setting: the top-level folder walked by Ahead


def walk_apart(settings: Mapping[str, Any]) -> str:
    """The top-level content folder a publish walks in another process ("": none)."""
    return str(settings.get(WALK_APART, "comments") or "")


class Step:
    """One step of the work ahead: `result()` waits for it (RenderError if it failed)."""

    def __init__(self, ahead: Ahead, index: int) -> None:
        self._ahead = ahead
        self._index = index

    def result(self) -> Any:
        return self._ahead.result(self._index)


class Ahead:
    """The forked process and its steps. Steps are added (`add`) before `start`."""

    def __init__(self, root: Path | str, apart: str, settings: MutableMapping[str, Any]) -> None:
        self.root = str(root)
        self.apart = apart
        self._settings = settings
        # the walk gives its digest only (a build with nothing new needs no more, and a
        # 60,000-file listing takes a tenth of a second to pass from one process to another);
        # what it found is the step after these (`start`), for whoever asks
        self._steps: list[Callable[[], Any]] = [self._walk]
        self._part: Part | None = None  # in the child: what its walk found
        self._staged: Staged | None = None

    def add(self, work: Callable[[], Any], *, listing: bool = True) -> Step:
        """Run `work` in the process, after the walk (with a listing of the folder walked in
        the settings, under LISTING_KEY, if `listing`)."""
        if self._staged is not None:
            raise RuntimeError("work added after the process started")
        self._steps.append(partial(self._with_listing, work) if listing else work)
        return Step(self, len(self._steps) - 1)

    def start(self) -> None:
        self._staged = Staged([*self._steps, self._found])

    def digest(self) -> str:
        """The digest of the folder walked (waits for the walk): for `ContentListing.expect`."""
        return self.result(0)  # type: ignore[no-any-return]

    def part(self) -> Part:
        """What the walk found (waits for it): for `ContentListing.expect`."""
        return self.result(len(self._steps))  # type: ignore[no-any-return]

    def result(self, index: int) -> Any:
        if self._staged is None:
            raise RuntimeError("the process was not started")
        return self._staged.result(index)

    def close(self, *, stop: bool = False) -> None:
        if self._staged is not None:
            self._staged.close(stop=stop)

    # --- in the child ------------------------------------------------------------------------
    def _walk(self) -> str:
        self._part = ContentListing.walk_part(self.root, self.apart)
        return self._part[1]

    def _found(self) -> Part:
        assert self._part is not None
        return self._part

    def _with_listing(self, work: Callable[[], Any]) -> Any:
        assert self._part is not None
        self._settings[LISTING_KEY] = ContentListing.of_part(self.root, self.apart, self._part)
        return work()


def walk_early(settings: Mapping[str, Any], manifest: Path) -> Background | None:
    """Start walking the content folder but INCREMENTAL_WALK_APART in another process (its
    `result()`: `ContentListing.walk_rest`'s), if the build looks like a publish on more
    than one core (the last build left a manifest); None otherwise. The build takes it for
    its scan if it is a publish, and closes it if not."""
    apart = walk_apart(settings)
    path = settings.get("PATH")
    if not apart or build_processes(settings) < 2 or not path or not hasattr(os, "fork") \
            or not manifest.is_file():
        return None
    return Background(partial(ContentListing.walk_rest, str(path), apart))
