"""Cross-posts: the same writing, published on two members' blogs, is on the site once.

Public-sector writing travels: an officer's post on their own blog is republished by their
team's blog a few days later (often under a line saying so), or a team post reappears on a
member's personal blog. A hub that writes both shows the same post twice in its river, in
search and in its feeds. So a new entry is not written when a post of another member already
on the site has the same title, is dated the same or up to REPEAT_WITHIN earlier, and shares
most of its words (`same_writing`): the site keeps the first, whose page, address and
comments stay. An original that turns up after its copy (its writer joined the network after
their team's blog) is written: a member's own post is never left out for a later copy, and a
post already published is never removed. A post of the same title with other words (every
"Weeknote 12") is a post of its own.

Two blogs that publish it within the same hour are both new in one run: once every feed is
read, the run removes the later one (`copies_among_fresh`; not yet published, as the build
comes after), so which stays never depends on which blog answered first.

No decision is recorded (the state keeps only how many, for the health page): every fetch of
the member's feed decides again from the post files (the index), so deleting var/ changes
nothing, and when the post it repeats goes (deleted on its
blog, taken down, its member removed with their posts) the copy is written as a post of its
own the next time its blog's feed is read anew (it changes, or a forced fetch).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from aggregator.dates import as_utc
from aggregator.models import Post
from aggregator.write import Existing, PostIndex, title_key

logger = logging.getLogger(__name__)

REPEAT_WITHIN = timedelta(days=30)  # a copy is republished within weeks, not years
SHARED_MIN = 0.5  # of the shorter text's runs of words that the other has too
RUN = 4  # words in a run: short enough to survive an edit, long enough to be the writer's
WORDS_MAX = 400  # the opening of each text is enough to tell, and bounds the cost
WORDS_MIN = 20  # fewer say too little to tell a copy ("Hello" / "Hi" from two members)

# what is not the writer's words in a post file's Markdown: link targets, tags, entities,
# bare addresses (a copy's links point at its own blog)
_NOT_WORDS = re.compile(r"\]\([^)]*\)|<[^>]*>|&#?\w+;|https?://\S+")
_WORD = re.compile(r"\w+")


def words(markdown: str) -> tuple[str, ...]:
    """The text's first WORDS_MAX words, case folded, without markup or addresses."""
    found = _WORD.findall(_NOT_WORDS.sub(" ", markdown), 0)
    return tuple(word.casefold() for word in found[:WORDS_MAX])


def same_writing(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Whether two texts (`words`) are one piece of writing: most runs of RUN words of the
    shorter are in the other. An excerpt (a member shown in summary) is the opening of the
    whole post; a copy that begins with "First published on…" still shares the rest."""
    if len(first) < WORDS_MIN or len(second) < WORDS_MIN:
        return False
    mine, theirs = _runs(first), _runs(second)
    shorter, longer = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
    return len(shorter & longer) >= SHARED_MIN * len(shorter)


def _runs(text: tuple[str, ...]) -> set[tuple[str, ...]]:
    return {text[i:i + RUN] for i in range(len(text) - RUN + 1)}


def body_of(path: str) -> str | None:
    """A post file's Markdown body (after its metadata block); None if it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        logger.warning("%s: cannot read to compare with a new post (%s)", path, exc)
        return None
    _header, _blank, body = text.partition("\n\n")
    return body


def repeated(index: PostIndex, post: Post, fresh: Collection[str] = ()) -> Existing | None:
    """The post of another member, on the site now, that the new `post` repeats; None if
    `post` is a post of its own. It must be dated before `post`, or the same and either on
    the site before this run or of a member whose id sorts first (`fresh`: the paths of the
    posts this run wrote as new): so which of two new posts stays does not depend on which
    blog answered first (`copies_among_fresh` applies the same rule once the run is over).
    An original that turns up after its copy (its writer joined after their team's blog) is
    written: a member's own post is never left out for a copy published later."""
    return _repeated(index, post.member_id, post.title, post.date, lambda: post.body, fresh)


def _repeated(index: PostIndex, member_id: str, title: str | None, date: datetime,
              text: Callable[[], str | None], fresh: Collection[str]) -> Existing | None:
    key = title_key(title)
    if not key:
        return None
    mine: tuple[str, ...] | None = None
    for existing in index.titled(key):
        if existing.member_id == member_id or existing.previous is None \
                or index.get(existing.member_id, existing.guid) is not existing:
            continue
        before = date - as_utc(existing.previous.date)
        if before > REPEAT_WITHIN or before < timedelta(0) or (
                before == timedelta(0) and existing.path in fresh
                and existing.member_id > member_id):
            continue
        if not existing.exists():
            continue
        body = body_of(existing.path)
        if body is None:
            continue
        if mine is None:
            own = text()
            if own is None:
                return None
            mine = words(own)
        if same_writing(mine, words(body)):
            return existing
    return None


def copies_among_fresh(index: PostIndex, fresh: Mapping[str, Existing]
                       ) -> list[tuple[Existing, Existing]]:
    """Of the posts a run wrote as new (`fresh`: their files, as the index has them, by path),
    those that repeat another post by the rule of `repeated`, each with the post it repeats,
    and forgotten by the index: two blogs that published the same writing within the same
    hour are both new in one run, and the one written first could not know of the other.
    Taken oldest first, so that a copy of a copy finds the first post. The caller removes
    their files (not yet published: the build comes after the fetch)."""
    shared = [(as_utc(existing.previous.date), existing.member_id, existing)
              for existing in fresh.values() if existing.previous is not None
              and len(index.titled(title_key(existing.title))) > 1]
    copies: list[tuple[Existing, Existing]] = []
    for date, member_id, existing in sorted(shared, key=lambda row: row[:2]):
        if index.get(member_id, existing.guid) is not existing:
            continue  # taken over or removed since
        original = _repeated(index, member_id, existing.title, date,
                             partial(body_of, existing.path), fresh)
        if original is not None:
            copies.append((existing, original))
            index.forget(existing)
    return copies
