"""The records that pass between the stages. Plain, frozen data: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ContentMode = Literal["summary", "full"]


@dataclass(frozen=True)
class Member:
    """One entry of members.yaml, validated."""

    id: str
    name: str
    feed: str
    site: str | None = None
    organisation: str | None = None
    sector: str | None = None
    region: str | None = None
    avatar: str | None = None
    content: ContentMode = "summary"
    comments: bool = True
    paused: bool = False
    only_topics: tuple[str, ...] = ()  # take only posts with one of these (selection.py)
    skip_topics: tuple[str, ...] = ()  # never take posts with one of these
    line: int | None = None  # where it starts in the registry file, for error messages


@dataclass(frozen=True)
class Previous:
    """What a post's existing file says: its dates are kept so that posts never move."""

    date: datetime
    modified: datetime | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one conditional GET gave. `body` is None when the server said 304 Not Modified."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 or 304 (errors are raised as FeedError subclasses)
    body: bytes | None
    headers: dict[str, str]  # response headers, lower-case names
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # set when every hop to final_url was a 301/308
    elapsed: float = 0.0


@dataclass(frozen=True)
class RawEntry:
    """One entry as the feed gave it: still untrusted, not yet cleaned."""

    id: str | None
    link: str | None
    title: str | None
    published: datetime | None  # UTC
    updated: datetime | None  # UTC
    author: str | None  # a name, never an e-mail address
    summary_html: str | None
    content_html: str | None
    tags: tuple[str, ...] = ()
    base_url: str | None = None  # xml:base or the feed URL, for relative links
    comment_feed: str | None = None  # wfw:commentRss or Atom rel="replies" feed
    comment_count: int | None = None  # slash:comments, thr:total or thr:count
    comments_page: str | None = None  # where a reader joins the conversation (RSS <comments>)
    extra: dict[str, str] = field(default_factory=dict)  # source-specific hints (wp post id…)


@dataclass(frozen=True)
class ParsedFeed:
    """A feed read from bytes. `warning` is set for a feed that was not well formed but usable."""

    title: str | None
    link: str | None  # the blog's home page
    generator: str | None
    entries: tuple[RawEntry, ...]
    warning: str | None = None
    format: str = ""  # "rss20", "atom10", "json11"… for reports


@dataclass(frozen=True)
class Post:
    """A clean post, ready to be written. Every text field is safe plain text or clean Markdown."""

    member_id: str
    guid: str
    title: str
    date: datetime  # UTC, placement in the river; never moved by `updated`
    modified: datetime | None
    author: str  # the member's display name (a Pelican author)
    byline: str | None  # the entry's own author, when it differs from the member
    category: str
    tags: tuple[str, ...]
    original_url: str | None
    source_feed: str
    blog: str | None  # the blog's title
    blog_url: str | None
    summary: str  # plain text excerpt, about 60 words
    body: str  # Markdown
    comments_url: str | None = None  # where to join the conversation on the original blog
    comment_feed: str | None = None
    comment_count: int | None = None
