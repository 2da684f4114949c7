"""The topics page at scale: a network of hundreds of bloggers has thousands of tags, most on
one post. A single list of them all is a wall of links; these filters give the page its most
used topics and an A to Z with a letter index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

OTHER = "#"  # the initial of topics that start with a digit or a sign


def _name(tag: Any) -> str:
    return str(getattr(tag, "name", tag))


def most_used(tags: Iterable[tuple[Any, Sequence[Any]]], count: int = 20) -> list[tuple[Any, Any]]:
    """The `count` topics with the most posts, most first (ties by name, as the A to Z)."""
    ranked = sorted(tags, key=lambda pair: (-len(pair[1]), _name(pair[0]).casefold()))
    return ranked[:max(count, 0)]


def initial(name: str) -> str:
    """A topic's letter in the A to Z: its first letter in upper case (accents kept: "É"),
    or "#" when it starts with anything else."""
    first = name.strip()[:1]
    return first.upper() if first.isalpha() else OTHER


def by_initial(tags: Iterable[tuple[Any, Sequence[Any]]]) -> list[tuple[str, list[Any]]]:
    """(letter, topics) for the A to Z, letters in order ("#" first), topics by name."""
    groups: dict[str, list[tuple[Any, Sequence[Any]]]] = {}
    for pair in sorted(tags, key=lambda pair: _name(pair[0]).casefold()):
        groups.setdefault(initial(_name(pair[0])), []).append(pair)
    return sorted(groups.items(), key=lambda item: (item[0] != OTHER, item[0]))
