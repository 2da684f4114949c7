"""A stand-in for plugins/comment_threads in the theme tests: a fixed two-level thread.

It attaches `article.comments` (nodes with the documented attributes) and
`article.comment_count` to one post, so that the theme's rendering rules can be checked
whatever state the real plugin is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pelican import signals

TARGET_SLUG = "alice-example-why-councils-should-blog"


@dataclass
class Node:
    slug: str
    author: str
    body_html: str
    website: str | None = None
    url: str | None = None
    date: datetime | None = None
    children: list[Node] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"comment-{self.slug}"


def thread() -> list[Node]:
    when = datetime(2026, 3, 18, 11, 0, tzinfo=UTC)
    deep = Node("c4", "Deep Replier", "<p>Four levels down.</p>", date=when)
    reply = Node("c2", "Alice Example", "<p>Thanks, Sam!</p>", date=when,
                 children=[Node("c3", "Sam Reader", "<p>Welcome.</p>", date=when,
                                children=[deep])])
    return [
        Node("c1", "Sam <em>Reader</em>", "<p>Great post.</p>", website="https://sam.example/",
             url="https://alice.example.org/2026/03/why/#comment-1", date=when,
             children=[reply]),
        Node("c5", "Evil", "<p>Second.</p>", website="javascript:alert(1)", date=when),
    ]


def attach(generator: Any) -> None:
    """Only in builds that ask for it (signals stay connected for the whole test process)."""
    if not generator.settings.get("FAKE_THREADS"):
        return
    for article in generator.articles:
        if article.slug == TARGET_SLUG:
            article.comments = thread()
            article.comment_count = 5


def register() -> None:
    signals.article_generator_finalized.connect(attach)
