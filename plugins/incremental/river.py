"""The river as the last build recorded it: the article pages a publish carries over without
looking at each post.

changes.unchanged_posts finds an article page unchanged by its signature (its post's and
neighbours' own digests, its thread's digest), worked out and compared post by post: at
20,000 posts a tenth of a second, and carrying each page over another tenth. Yet in an hourly
publish all but a handful of posts are the files the last build read, with the threads it
attached, between the neighbours it had. So each build records the river (the published
posts, newest first) beside the manifest as three lists: each post's name in the article
store (its source file), its comment folder's digest, and its article page (None if the page
was not recorded with a signature). A publish makes the same lists for its own river, with
C loops where a post's attributes are looked up, and compares them place by place:

- a post the article store made from the row it kept (with the URL, save_as and own digest
  it kept beside it) is the same file as at the last build; the site key (settings, code,
  registry) being the same too, so is its own digest (`keys.own_digest`: its file, URL and
  save_as) and its page's path;
- with the same comment digest beside it, its thread is the one recorded;
- with the same newer and older neighbours, themselves the same files, its neighbours' own
  digests are the recorded ones.

Such a post's page has the signature the last build recorded (every recorded signature is
the one its build worked out: pages are carried only when theirs is unchanged), so it is
carried over as changes.py would. The others (new posts, changed files, new comments, the
posts next to one of them or to a gap a removed post left) go through unchanged_posts as
before. Nothing here decides what a page shows: when in doubt (no record, no store, a
neighbour that is not the next post in the river), every post is compared one by one.
"""

from __future__ import annotations

import logging
import marshal
import operator
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.atomic import write_atomic

logger = logging.getLogger(__name__)

RIVER_FILE = "incremental.river"  # in CACHE_PATH, beside the manifest that names its token
STORED_KEY = "_incremental_stored"  # settings: the article store's names and unchanged ids
_comments = operator.methodcaller("get", "comments_digest")


@dataclass(frozen=True)
class River:
    """The published posts in river order: name, comment digest and article page of each."""

    names: list[str | None]  # the source name in the article store; None: not kept there
    comments: list[Any]
    pages: list[str | None]  # the article page (relative path) if recorded with a signature

    def data(self) -> list[list[Any]]:
        """As it is saved (marshal: lists of strings)."""
        return [self.names, self.comments, self.pages]

    @classmethod
    def from_data(cls, data: Any) -> River | None:
        """A river from `data()`; None if it is not one (the build compares post by post)."""
        if not isinstance(data, list) or len(data) != 3 or \
                not all(isinstance(part, list) for part in data):
            return None
        names, comments, pages = data
        if not len(names) == len(comments) == len(pages):
            return None
        return cls(names, comments, pages)


def save_river(path: Path, river: River, token: str) -> None:
    """Keep `river` for the next build, with the token the manifest saved after it names."""
    write_atomic(path, marshal.dumps([token, river.data()]))


def load_river(path: Path, token: str) -> River | None:
    """The river the last build recorded, if `token` (from its manifest) is the one saved
    with it; None otherwise (no file, another build's, damaged)."""
    if not token:
        return None
    try:
        data = marshal.loads(path.read_bytes())  # noqa: S302 - our own file, in CACHE_PATH
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, TypeError) as exc:
        logger.info("%s: river unreadable, article pages compared one by one: %s", path, exc)
        return None
    if not isinstance(data, list) or len(data) != 2 or data[0] != token:
        return None
    return River.from_data(data[1])


def comment_digests(articles: Sequence[Any]) -> list[Any]:
    """Each post's `comments_digest` (None if it has none), with C loops."""
    return list(map(_comments, map(vars, articles)))


def river_of(articles: Sequence[Any], names: Mapping[int, tuple[str, Any]],
             pages: Mapping[int, str], comments: list[Any] | None = None) -> River:
    """This build's river, to record: `names` the article store's id → (name, stamp),
    `pages` id → the article page the writer recorded with a signature, `comments` the
    posts' comment_digests if known."""
    ids = list(map(id, articles))
    return River([named[0] if (named := names.get(ident)) else None for ident in ids],
                 comments if comments is not None else comment_digests(articles),
                 list(map(pages.get, ids)))


def carried_posts(articles: Sequence[Any], comments: list[Any],
                  names: Mapping[int, tuple[str, Any]], unchanged: Collection[int],
                  recorded: River) -> dict[int, str]:
    """id(article) → its article page, for the posts of `articles` (this build's river) that
    are as and where the recorded river had them: unchanged files (`unchanged`: made from
    the article store's kept rows, `names` their id → (name, stamp)), the same comment
    digest (`comments`: comment_digests), the same neighbours. Empty if the posts'
    neighbours are not their places in `articles` (what plugins/neighbours links): the
    signatures' neighbours would then be others."""
    if not articles or not _linked_in_order(articles):
        return {}
    position = {name: place for place, name in enumerate(recorded.names) if name is not None}
    ids = list(map(id, articles))
    places = [position.get(names[ident][0], -1) if ident in unchanged else -1
              for ident in ids]  # where each post was, if it is the same file
    before, pages = recorded.comments, recorded.pages
    newest, oldest, last = 0, len(recorded.names) - 1, len(places) - 1
    carried: dict[int, str] = {}
    for index, place in enumerate(places):
        if place < 0 or comments[index] is None or comments[index] != before[place] \
                or (places[index - 1] != place - 1 or place == newest if index
                    else place != newest) \
                or (places[index + 1] != place + 1 or place == oldest if index < last
                    else place != oldest):
            continue
        page = pages[place]
        if isinstance(page, str):
            carried[ids[index]] = page
    return carried


def _linked_in_order(articles: Sequence[Any]) -> bool:
    """Each post's `newer_article` is the one before it and `older_article` the one after
    (None at the ends): looked up with C loops."""
    try:
        newer = list(map(operator.attrgetter("newer_article"), articles))
        older = list(map(operator.attrgetter("older_article"), articles))
    except AttributeError:
        return False
    return newer[0] is None and older[-1] is None \
        and all(map(operator.is_, newer[1:], articles[:-1])) \
        and all(map(operator.is_, older[:-1], articles[1:]))
