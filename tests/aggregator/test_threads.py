"""Threads: replies under parents, orphans and cycles made top-level, duplicates shown once."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.comments import Comment
from aggregator.threads import Node, arrange, build_threads, dedupe, parent_map, walk

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def comment(cid: str, parent: str | None = None, *, minutes: int = 0, author: str = "A",
            body: str | None = None, source: str = "wp-atom", url: str | None = None) -> Comment:
    return Comment(id=cid, post_guid="post", author=author, author_url=None,
                   date=T0 + timedelta(minutes=minutes), url=url, parent_id=parent,
                   body_html=body if body is not None else f"<p>{cid}</p>",
                   source=source)  # type: ignore[arg-type]


def shape(roots: list[Node]) -> list[tuple[str, int, str | None]]:
    """(id, depth, parent id) in display order: what a reader sees, as data."""
    parents = parent_map(roots)
    return [(n.comment.id, n.depth, parents[n.comment.id]) for n in walk(roots)]


def test_replies_sit_under_their_parents_and_siblings_go_by_date() -> None:
    roots = build_threads([
        comment("c3", "c1", minutes=30), comment("c1", minutes=0), comment("c2", minutes=10),
        comment("c4", "c1", minutes=20), comment("c5", "c4", minutes=40),
    ])
    assert shape(roots) == [("c1", 0, None), ("c4", 1, "c1"), ("c5", 2, "c4"),
                            ("c3", 1, "c1"), ("c2", 0, None)]


def test_same_date_siblings_are_ordered_by_id() -> None:
    roots = build_threads([comment("b"), comment("a"), comment("c")])
    assert [n.comment.id for n in roots] == ["a", "b", "c"]


def test_a_reply_whose_parent_is_missing_becomes_top_level() -> None:
    roots = build_threads([comment("c1"), comment("c2", "gone", minutes=5),
                           comment("c3", "c2", minutes=6)])
    assert shape(roots) == [("c1", 0, None), ("c2", 0, None), ("c3", 1, "c2")]


def test_a_comment_answering_itself_is_top_level() -> None:
    assert shape(build_threads([comment("c1", "c1")])) == [("c1", 0, None)]


def test_a_cycle_is_broken_at_its_oldest_member() -> None:
    # c1 → c3 → c2 → c1, plus c4 hanging off the cycle: nothing is top-level in the input.
    roots = build_threads([
        comment("c2", "c3", minutes=2), comment("c1", "c2", minutes=1),
        comment("c3", "c1", minutes=3), comment("c4", "c2", minutes=4),
    ])
    assert shape(roots) == [("c1", 0, None), ("c3", 1, "c1"), ("c2", 2, "c3"),
                            ("c4", 3, "c2")]


def test_the_same_comment_from_two_sources_appears_once_threaded_copy_kept() -> None:
    flat = comment("p#comment-2", None, minutes=5, source="rss")
    threaded = comment("p#comment-2", "p#comment-1", minutes=5, source="wp-atom")
    roots = build_threads([flat, comment("p#comment-1"), threaded])
    assert shape(roots) == [("p#comment-1", 0, None), ("p#comment-2", 1, "p#comment-1")]
    assert roots[0].children[0].comment.source == "wp-atom"


def test_duplicates_by_permalink_and_by_author_date_body_are_merged() -> None:
    a = comment("tag:a", url="https://blog.example/p#c1", author="Ann")
    b = comment("urn:b", url="https://blog.example/p#c1", author="Ann", source="rss")
    c = comment("urn:c", minutes=3, author="Bob", body="<p>Same  words</p>", source="atom")
    d = comment("urn:d", minutes=3, author="bob", body="<p>Same words</p>", source="rss")
    kept, alias = dedupe([a, b, c, d])
    assert sorted(k.id for k in kept) == ["tag:a", "urn:c"]
    assert alias == {"urn:b": "tag:a", "urn:d": "urn:c"}


def test_a_reply_to_a_dropped_duplicate_attaches_to_the_kept_copy() -> None:
    kept = comment("atom-id", url="https://blog.example/p#c1", source="atom")
    dropped = comment("rss-id", url="https://blog.example/p#c1", source="rss")
    reply = comment("r", "rss-id", minutes=1, source="rss")
    assert shape(build_threads([dropped, reply, kept])) == [("atom-id", 0, None),
                                                           ("r", 1, "atom-id")]


def test_distinct_comments_with_the_same_words_stay_distinct() -> None:
    roots = build_threads([comment("x", body="<p>+1</p>", author="Ann"),
                           comment("y", body="<p>+1</p>", author="Bob")])
    assert len(roots) == 2


def chain(n: int) -> list[Comment]:
    return [comment(f"c{i:06d}", f"c{i - 1:06d}" if i else None, minutes=i) for i in range(n)]


def test_a_thousand_deep_chain_is_one_thread() -> None:
    roots = build_threads(chain(1000))
    nodes = list(walk(roots))
    assert len(roots) == 1 and len(nodes) == 1000
    assert nodes[-1].depth == 999


def test_a_hundred_thousand_deep_chain_neither_recurses_nor_goes_quadratic() -> None:
    comments = chain(100_000)
    random.Random(4).shuffle(comments)
    start = time.monotonic()
    roots = build_threads(comments)
    nodes = list(walk(roots))
    assert time.monotonic() - start < 10
    assert len(roots) == 1 and len(nodes) == 100_000
    assert [n.depth for n in nodes[:3]] == [0, 1, 2] and nodes[-1].depth == 99_999


def test_a_hundred_thousand_deep_cycle_is_broken() -> None:
    comments = chain(100_000)
    comments[0] = comment("c000000", "c099999")  # close the loop
    roots = build_threads(comments)
    assert [r.comment.id for r in roots] == ["c000000"]
    assert len(list(walk(roots))) == 100_000


def test_arrange_is_the_same_rule_for_any_keys() -> None:
    roots, children = arrange(["a", "b", "c"], ["c", "a", "zzz"], [3, 2, 1])
    assert roots == [2] and children == [[1], [], [0]]


@st.composite
def forests(draw: st.DrawFn) -> list[Comment]:
    n = draw(st.integers(min_value=1, max_value=40))
    ids = [f"c{i}" for i in range(n)]
    result = []
    for i, cid in enumerate(ids):
        parent = draw(st.one_of(st.none(), st.sampled_from(ids), st.just("missing")))
        minutes = draw(st.integers(min_value=0, max_value=5))  # many equal dates
        source = draw(st.sampled_from(["wp-atom", "rss", "wp-rest"]))
        result.append(comment(cid, parent, minutes=minutes, source=source,
                              author=draw(st.sampled_from(["Ann", "Bob"]))))
        if draw(st.booleans()) and i % 3 == 0:  # the same comment again, from a flat feed
            result.append(comment(cid, None, minutes=minutes, source="rss"))
    return result


@settings(max_examples=150, deadline=None)
@given(forests(), st.randoms(use_true_random=False))
def test_any_input_order_gives_the_same_tree(comments: list[Comment],
                                             rnd: random.Random) -> None:
    expected = shape(build_threads(comments))
    shuffled = list(comments)
    rnd.shuffle(shuffled)
    assert shape(build_threads(shuffled)) == expected
    shown = [cid for cid, _, _ in expected]
    assert len(shown) == len(set(shown))  # each comment once
    kept, _ = dedupe(comments)
    assert set(shown) == {c.id for c in kept}  # and none lost
