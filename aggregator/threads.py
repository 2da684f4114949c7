"""Comments → one tree per post: replies under parents, duplicates merged, cycles broken.

Everything here is iterative and indexed by key: a 100,000-deep chain of replies neither
recurses nor goes quadratic. The same input in any order gives the same tree, because every
choice (which duplicate wins, which member of a cycle becomes top-level, sibling order) is made
by a total order on the comments, never by input order.

`arrange()` is the generic core, shared with the Pelican plugin, which threads the comment files
by `Slug`/`Replyto` instead of by source ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aggregator.comments import SOURCE_RANK, Comment

logger = logging.getLogger(__name__)


@dataclass
class Node:
    """A comment in its thread. `depth` is 0 for a top-level comment."""

    comment: Comment
    depth: int = 0
    children: list[Node] = field(default_factory=list)


def arrange(keys: Sequence[Hashable], parents: Sequence[Hashable | None],
            order: Sequence[Any]) -> tuple[list[int], list[list[int]]]:
    """Link items into a forest: (top-level indexes, children indexes of each item).

    `keys` must be unique; `parents[i]` names the key item i answers, or None. A parent that is
    missing (or the item itself) makes the item top-level; in a cycle, the member with the
    smallest `order` becomes top-level. Roots and siblings are sorted by `order`.
    """
    count = len(keys)
    index = {key: i for i, key in enumerate(keys)}
    parent_of: list[int | None] = []
    for i, parent in enumerate(parents):
        j = index.get(parent) if parent is not None else None
        parent_of.append(None if j == i else j)
    _break_cycles(parent_of, order)
    children: list[list[int]] = [[] for _ in range(count)]
    roots: list[int] = []
    for i, j in enumerate(parent_of):
        (roots if j is None else children[j]).append(i)

    def by_order(i: int) -> Any:
        return order[i]

    roots.sort(key=by_order)
    for siblings in children:
        if len(siblings) > 1:
            siblings.sort(key=by_order)
    return roots, children


def _break_cycles(parent_of: list[int | None], order: Sequence[Any]) -> None:
    """Make one member of every cycle top-level, in place. Each item is walked once: O(n)."""
    state = [0] * len(parent_of)  # 0 unseen, 1 on the current walk, 2 settled
    for start in range(len(parent_of)):
        if state[start]:
            continue
        path: list[int] = []
        node: int | None = start
        while node is not None and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = parent_of[node]
        if node is not None and state[node] == 1:  # came back onto this walk: a cycle
            cycle = path[path.index(node):]
            first = min(cycle, key=lambda i: order[i])
            logger.debug("reply cycle of %d comments broken at item %d", len(cycle), first)
            parent_of[first] = None
        for i in path:
            state[i] = 2


def _preference(comment: Comment) -> tuple[Any, ...]:
    """Sort key: the copy to keep first (threaded, richest source), then a total order."""
    return (comment.parent_id is None, SOURCE_RANK.get(comment.source, 9), comment.id,
            comment.url or "", comment.date, comment.author, comment.body_html,
            comment.author_url or "", comment.parent_id or "", comment.post_guid)


def _content_key(comment: Comment) -> tuple[str, str, str]:
    body = " ".join(comment.body_html.split())
    return (comment.author.casefold(), comment.date.isoformat(), body)


def dedupe(comments: Iterable[Comment]) -> tuple[list[Comment], dict[str, str]]:
    """The comments with each one kept once, and a map from a dropped copy's id to the kept id.

    Two comments are the same when they share an id, a permalink, or author, date and body.
    """
    kept: list[Comment] = []
    alias: dict[str, str] = {}
    by_id: dict[str, str] = {}
    by_url: dict[str, str] = {}
    by_content: dict[tuple[str, str, str], str] = {}
    for comment in sorted(comments, key=_preference):
        content = _content_key(comment)
        same = (by_id.get(comment.id)
                or (by_url.get(comment.url) if comment.url else None)
                or by_content.get(content))
        if same is not None:
            if comment.id != same:
                alias.setdefault(comment.id, same)
            continue
        kept.append(comment)
        by_id[comment.id] = comment.id
        if comment.url:
            by_url.setdefault(comment.url, comment.id)
        by_content.setdefault(content, comment.id)
    return kept, alias


def leave_out(comments: Iterable[Comment],
              listed: Callable[[Comment], bool]) -> tuple[list[Comment], list[Comment]]:
    """(the comments to keep, those left out): every comment `listed` names, and every copy
    of one that `dedupe` would merge with it (the same id, permalink, or author, date and
    body), so that a taken-down comment does not come back from another source under
    another id."""
    comments = list(comments)
    named = [c for c in comments if listed(c)]
    if not named:
        return comments, []
    ids = {c.id for c in named}
    urls = {c.url for c in named if c.url}
    contents = {_content_key(c) for c in named}
    kept: list[Comment] = []
    out: list[Comment] = []
    for comment in comments:
        copy = (comment.id in ids or (comment.url is not None and comment.url in urls)
                or _content_key(comment) in contents)
        (out if copy else kept).append(comment)
    return kept, out


def build_threads(comments: Iterable[Comment]) -> list[Node]:
    """The post's conversation as a list of top-level nodes, oldest first."""
    kept, alias = dedupe(comments)
    keys = [c.id for c in kept]
    parents = [alias.get(c.parent_id, c.parent_id) if c.parent_id else None for c in kept]
    order = [(c.date, c.id) for c in kept]
    return link([Node(c) for c in kept], *arrange(keys, parents, order))


class Linkable(Protocol):
    """A tree node: its replies and its depth are set by `link`."""

    children: list[Any]
    depth: int


N = TypeVar("N", bound=Linkable)


def link(nodes: list[N], roots: list[int], children: list[list[int]]) -> list[N]:
    """Give each node its children and depth from `arrange`'s result; return the top nodes.
    Iterative, so any depth is fine."""
    for i, kids in enumerate(children):
        nodes[i].children = [nodes[k] for k in kids]
    top = [nodes[i] for i in roots]
    stack = [(node, 0) for node in top]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        stack.extend((child, depth + 1) for child in node.children)
    return top


def walk(roots: Iterable[Node]) -> Iterator[Node]:
    """Every node, depth first, parents before their replies, in display order."""
    stack = list(reversed(list(roots)))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def parent_map(roots: Iterable[Node]) -> dict[str, str | None]:
    """Comment id → the id of the comment it sits under in the tree (None at top level)."""
    result: dict[str, str | None] = {}
    stack: list[tuple[Node, str | None]] = [(node, None) for node in roots]
    while stack:
        node, parent = stack.pop()
        result[node.comment.id] = parent
        stack.extend((child, node.comment.id) for child in node.children)
    return result

