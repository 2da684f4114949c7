"""The river a build records (plugins/incremental/river.py): a publish carries over at once the
article pages of the posts where the last build's river had them, and exactly those whose
signature the page-by-page comparison (changes.unchanged_posts) would find unchanged; without
a usable river it compares them one by one and writes the same site."""

from __future__ import annotations

import hashlib
import logging
import marshal
import random
import re
from pathlib import Path
from typing import Any

import pytest
from pelican.log import LimitFilter

from aggregator.state import FeedState, State
from bench.sitegen import add_update
from plugins.incremental.changes import article_signature, unchanged_posts
from plugins.incremental.river import RIVER_FILE, carried_posts, comment_digests, river_of
from tests.plugins.test_incremental import SPEC, Network, network, tree

__all__ = ["network"]  # the fixture, shared with test_incremental


class Post:
    """What the river and unchanged_posts read of an article."""

    def __init__(self, number: int, version: int = 0, thread: int = 0) -> None:
        self.number, self.version, self.thread = number, version, thread
        self.save_as = f"posts/{number}/index.html"
        self._incremental_own = hashlib.sha256(f"own {number} {version}".encode()).hexdigest()
        self.comments_digest = hashlib.sha256(f"thread {number} {thread}".encode()).hexdigest()
        self.newer_article: Post | None = None
        self.older_article: Post | None = None

    def again(self) -> Post:
        """The same post made again by the next build (another object)."""
        return Post(self.number, self.version, self.thread)


def _link(posts: list[Post]) -> list[Post]:
    """What plugins/neighbours does: newer is the one before, older the one after."""
    for index, post in enumerate(posts):
        post.newer_article = posts[index - 1] if index else None
        post.older_article = posts[index + 1] if index + 1 < len(posts) else None
    return posts


def _names(posts: list[Post], stamps: dict[int, int]) -> dict[int, tuple[str, Any]]:
    return {id(p): (f"posts/{p.number}.md", (100, stamps[p.number], p.number)) for p in posts}


def _publish(rng: random.Random, before: list[Post], touch: bool
             ) -> tuple[list[Post], set[int], dict[int, int]]:
    """The next build's river after a few random changes, which posts in it the article store
    made from kept rows, and each post's file time. `touch`: some files get a new time and
    the same content (read again, the same page)."""
    posts = [p.again() for p in before]
    fresh: set[int] = set()  # numbers of the posts read from their files
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(["new", "gone", "edited", "commented", "moved"]
                          + (["touched"] if touch else []))
        if not posts and kind != "new":
            continue
        at = rng.randrange(len(posts)) if posts else 0
        if kind == "new":
            number = 1000 + rng.randrange(10**6)
            posts.insert(rng.randrange(len(posts) + 1), Post(number))
            fresh.add(number)
        elif kind == "gone":
            posts.pop(at)
        elif kind == "edited":
            post = posts[at]
            posts[at] = Post(post.number, post.version + 1, post.thread)
            fresh.add(post.number)
        elif kind == "commented":
            posts[at].comments_digest = hashlib.sha256(f"new {rng.random()}".encode()).hexdigest()
        elif kind == "moved":
            post = posts.pop(at)
            posts.insert(rng.randrange(len(posts) + 1),
                         Post(post.number, post.version + 1, post.thread))
            fresh.add(post.number)
        else:  # touched
            fresh.add(posts[at].number)
    unchanged = {id(p) for p in posts if p.number not in fresh}
    return _link(posts), unchanged, {p.number: 2 if p.number in fresh else 1 for p in posts}


@pytest.mark.parametrize("touch", [False, True])
def test_the_river_carries_exactly_the_pages_whose_signature_is_unchanged(touch: bool) -> None:
    """For random publishes (posts new, gone, edited, commented, moved; files touched), every
    page the river carries is one whose recorded signature still holds, with its recorded
    path; and unless a file was read again with nothing changed (the river cannot tell it is
    the same post), it carries every such page."""
    rng = random.Random(7)
    for _ in range(300):
        last = _link([Post(n) for n in range(rng.randint(0, 12))])
        previous = {p.save_as: ["key", 10, article_signature(p)] for p in last}
        recorded = river_of(last, _names(last, {p.number: 1 for p in last}),
                            {id(p): p.save_as for p in last})
        posts, unchanged, stamps = _publish(rng, last, touch)

        carried = carried_posts(posts, comment_digests(posts), _names(posts, stamps),
                                unchanged, recorded)
        pages = unchanged_posts(posts, previous, str)[2]
        assert all(pages.get(ident, ("",))[0] == page for ident, page in carried.items())
        if not touch:
            assert set(carried) == set(pages), [(p.number, id(p) in carried, id(p) in pages)
                                                for p in posts]


def test_the_river_carries_nothing_when_neighbours_are_not_the_rivers() -> None:
    """If the posts' newer and older links are not their places in the river, the recorded
    river says nothing about their pages' neighbours."""
    last = _link([Post(n) for n in range(5)])
    recorded = river_of(last, _names(last, dict.fromkeys(range(5), 1)),
                        {id(p): p.save_as for p in last})
    posts = _link([p.again() for p in last])
    names = _names(posts, dict.fromkeys(range(5), 1))
    assert len(carried_posts(posts, comment_digests(posts), names, set(names), recorded)) == 5
    posts[1].older_article = posts[3]  # linked by something else than the river
    assert carried_posts(posts, comment_digests(posts), names, set(names), recorded) == {}


def _carried_line(caplog: pytest.LogCaptureFixture) -> tuple[int, int] | None:
    found = re.search(r"river had them .*?: (\d+) of (\d+)", caplog.text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def test_a_publish_carries_pages_by_the_river_and_without_one_builds_the_same_site(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    river = network.cache / RIVER_FILE
    assert river.is_file()  # recorded by the build from scratch
    for round_, damage in enumerate([None, "another build's", "garbled"]):
        if damage == "another build's":
            token, data = marshal.loads(river.read_bytes())
            river.write_bytes(marshal.dumps(["0" * len(token), data]))
        elif damage == "garbled":
            river.write_bytes(b"\x00not a river")
        # Pelican drops a log line identical to one seen before in the process (LimitFilter)
        monkeypatch.setattr(LimitFilter, "_raised_messages", set())
        caplog.clear()
        add_update(network.site, SPEC, comments=3, round_=round_)
        with caplog.at_level(logging.INFO, logger="plugins.incremental.writer"):
            network.build()
        line = _carried_line(caplog)
        if damage is None:
            assert line is not None, caplog.text
            carried, posts = line
            # all but the new post, its older neighbour and the newest old one, commented
            assert carried == posts - 3 and posts == SPEC.posts + 1
        else:
            assert line is None, (damage, caplog.text)
        assert tree(network.output) == tree(network.full_build(tmp_path / "full")), damage
        assert river.is_file()  # recorded again


def test_a_fetch_with_nothing_new_keeps_the_river_for_the_next_publish(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A build made from the aggregator's state alone (the health page) leaves the article
    pages as they were: the river recorded with them still holds for the next publish."""
    # Pelican drops a log line identical to one seen before in the process (LimitFilter)
    monkeypatch.setattr(LimitFilter, "_raised_messages", set())
    with State(network.site.root / "var" / "state.sqlite3") as state:
        state.save(FeedState("anyone", "https://example.org/feed/", last_attempt=1.8e9,
                             last_status=500, last_error="HTTP 500", failures=1))
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        network.build()
    assert "Only the aggregator's state changed" in caplog.text
    LimitFilter._raised_messages.clear()
    caplog.clear()
    add_update(network.site, SPEC, comments=3)
    with caplog.at_level(logging.INFO, logger="plugins.incremental.writer"):
        network.build()
    assert _carried_line(caplog) == (SPEC.posts - 2, SPEC.posts + 1), caplog.text
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))
