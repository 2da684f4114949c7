"""Comment threads: where to find a post's comments, and reading them from each kind of source.

Parsing is pure (bytes + headers → `CommentPage`); `fetch_thread()` is the only I/O, a thin
async loop over the sources `discover_sources()` lists for a post, through the run's Fetcher
(same caps, politeness and SSRF guard as posts).

Identity: WordPress gives a comment the same guid (`<post guid>#comment-<n>`) in its RSS and
Atom comment feeds, and we build that guid from the REST API's numbers too, so the three
WordPress sources agree on ids and merge cleanly. Every field is hostile: names are cleaned to
one line, never an e-mail address; URLs are http(s) only; bodies go through clean.py's sanitizer.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.clean import clean_text, clean_url, sanitize_html, without_emails
from aggregator.dates import from_iso, from_struct
from aggregator.errors import FeedError, ParseError
from aggregator.models import FetchResult, ParsedFeed, RawEntry
from aggregator.parse import run_feedparser, wp_post_id

logger = logging.getLogger(__name__)

CommentSource = Literal["wp-atom", "wp-rest", "rss", "atom", "blogger"]
# Which copy of a comment to keep when two sources give it: the one that knows most about the
# thread (REST and Atom carry parents; RSS is flat).
SOURCE_RANK: dict[str, int] = {"wp-rest": 0, "wp-atom": 1, "blogger": 2, "atom": 3, "rss": 4}

ID_MAX = 1000
NAME_MAX = 100
BODY_MAX = 200_000  # characters of raw HTML per comment, before the sanitizer (nh3 vs depth)
MAX_COMMENTS = 5000  # per source page; a thread longer than this is truncated, not fatal
REST_PER_PAGE = 100
REST_MAX_PAGES = 10
JSON_ACCEPT = "application/json"
ANONYMOUS = "Anonymous"
EMAIL_REMOVED = "[e-mail address removed]"

_HTTP = frozenset({"http", "https"})
_BY_PREFIX = re.compile(r"^\s*by:\s*", re.IGNORECASE)
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_BLOGGER_HOSTS = ("blogger.com", "blogspot.com")
_BLOGGER_TAIL = re.compile(r"/comments/default/(\d+)(?:[?#].*)?$")
_BLOGGER_ID = re.compile(r"\.post-(\d+)$")


@dataclass(frozen=True)
class Comment:
    """One comment, cleaned. `id` is the source's identity; `parent_id` the id it answers."""

    id: str
    post_guid: str
    author: str  # a plain display name, never an e-mail address
    author_url: str | None  # http(s) only
    date: datetime  # UTC
    url: str | None  # its permalink on the original blog
    parent_id: str | None
    body_html: str  # sanitized
    source: CommentSource


@dataclass(frozen=True)
class CommentPage:
    """What one source gave: its comments and whether it says that is all of them."""

    comments: tuple[Comment, ...]
    complete: bool = False  # the source itself declared a total we reached


@dataclass(frozen=True)
class ThreadInfo:
    """What discovery needs to know about a post (see `thread_info()`)."""

    post_guid: str
    post_url: str | None = None
    comment_feed: str | None = None
    comment_count: int | None = None  # slash:comments / thr:total as the posts feed said
    wp_post_id: str | None = None
    rest_root: str | None = None  # the site's REST API root, from `Link: <…>; rel="https://api.w.org/"`
    wordpress: bool = False


@dataclass(frozen=True)
class Source:
    """One URL to try for a post's comments, and how to read it."""

    url: str
    kind: CommentSource


@dataclass(frozen=True)
class ThreadResult:
    """The outcome of `fetch_thread()`. Failure is data: `errors` lists the sources that failed.

    `complete` means a source (or the post's own count) vouches that no comment is missing, so
    files of comments absent here may be removed. `not_modified`: a source said 304, keep what
    is on disk.
    """

    comments: tuple[Comment, ...]
    complete: bool
    not_modified: bool = False
    answered: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


class CommentFetcher(Protocol):
    """The part of aggregator.fetch.Fetcher used here (a fake one is fine in unit tests)."""

    async def get(self, url: str, *, etag: str | None = ..., last_modified: str | None = ...,
                  accept: str = ...) -> FetchResult: ...


# --- Discovery -----------------------------------------------------------------------------


def thread_info(entry: RawEntry, *, guid: str, feed: ParsedFeed | None = None,
                headers: Mapping[str, str] | None = None) -> ThreadInfo:
    """Collect what the posts feed says about an entry's comments (and whether it is WordPress)."""
    generator = (feed.generator or "") if feed else ""
    rest_root = rest_root_from_link_header((headers or {}).get("link"))
    wp_id = entry.extra.get("wp_post_id")
    if wp_id is None:
        wp_id = wp_post_id(guid)
    return ThreadInfo(
        post_guid=guid,
        post_url=clean_url(entry.link, base=entry.base_url, schemes=_HTTP),
        comment_feed=clean_url(entry.comment_feed, base=entry.base_url, schemes=_HTTP),
        comment_count=entry.comment_count,
        wp_post_id=wp_id,
        rest_root=rest_root,
        wordpress="wordpress" in generator.lower() or rest_root is not None,
    )


def rest_root_from_link_header(value: str | None) -> str | None:
    """The REST API root a WordPress site advertises in its `Link` response header."""
    if not value:
        return None
    for match in _LINK_VALUE.finditer(value):
        params = match.group(2).lower()
        if re.search(r"""rel\s*=\s*"?https://api\.w\.org/"?""", params):
            return clean_url(match.group(1), schemes=_HTTP)
    return None


def discover_sources(info: ThreadInfo) -> list[Source]:
    """The URLs to try for a post's comments, best first.

    WordPress: the Atom comment feed (threaded), then the REST API (threaded, paged, complete),
    then the flat RSS comment feed. Blogger: its Atom comment feed. Anything else: the comment
    feed the post named, threaded when it carries RFC 4685 markup.
    """
    feed = clean_url(info.comment_feed, schemes=_HTTP) if info.comment_feed else None
    if feed and _is_blogger(feed):
        return [Source(feed, "blogger")]
    is_wp = info.wordpress or info.rest_root is not None or info.wp_post_id is not None
    if not is_wp:
        return [Source(feed, "atom")] if feed else []
    sources: list[Source] = []
    atom = wp_atom_feed_url(feed) if feed else None
    if atom:
        sources.append(Source(atom, "wp-atom"))
    rest = wp_rest_url(info)
    if rest:
        sources.append(Source(rest, "wp-rest"))
    rss = wp_rss_feed_url(feed) if feed else None
    if rss and rss != atom:
        sources.append(Source(rss, "rss"))
    return sources


def _is_blogger(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in _BLOGGER_HOSTS)


def wp_atom_feed_url(feed_url: str) -> str:
    """A WordPress comment feed URL → the same post's Atom comment feed (which is threaded)."""
    parts = urlsplit(feed_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "feed" for k, _ in query):
        query = [(k, "atom" if k == "feed" else v) for k, v in query]
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    path = parts.path
    if path.rstrip("/").endswith("/atom"):
        return urlunsplit(parts._replace(fragment=""))
    return urlunsplit(parts._replace(path=path.rstrip("/") + "/atom/", fragment=""))


def wp_rss_feed_url(feed_url: str) -> str:
    """A WordPress comment feed URL → the same post's RSS 2.0 comment feed (flat)."""
    parts = urlsplit(feed_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "feed" for k, _ in query):
        query = [(k, "rss2" if k == "feed" else v) for k, v in query]
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    path = parts.path.rstrip("/")
    if path.endswith("/atom"):
        path = path[: -len("/atom")]
    return urlunsplit(parts._replace(path=path + "/", fragment=""))


def wp_rest_url(info: ThreadInfo, *, page: int = 1) -> str | None:
    """The REST route listing a WordPress post's comments, or None without a post id."""
    post_id = info.wp_post_id
    if post_id is None:
        post_id = wp_post_id(info.post_guid)
    if post_id is None or not post_id.isdigit():
        return None
    root = info.rest_root
    if root is None:
        guid = clean_url(info.post_guid, schemes=_HTTP)
        if guid is None:
            return None
        parts = urlsplit(guid)  # https://example.org/blog/?p=123 → https://example.org/blog/wp-json/
        base = parts.path[: parts.path.rfind("/") + 1] or "/"
        root = urlunsplit((parts.scheme, parts.netloc, base + "wp-json/", "", ""))
    params = [("post", post_id), ("per_page", str(REST_PER_PAGE))]
    if page > 1:
        params.append(("page", str(page)))
    parts = urlsplit(root)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "rest_route" for k, _ in query):  # sites without pretty permalinks
        query = [(k, v) for k, v in query if k != "rest_route"]
        query = [("rest_route", "/wp/v2/comments"), *query, *params]
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    path = parts.path.rstrip("/") + "/wp/v2/comments"
    return urlunsplit(parts._replace(path=path, query=urlencode(params), fragment=""))


# --- Parsing -------------------------------------------------------------------------------


def parse_comment_feed(body: bytes, headers: Mapping[str, str], *, url: str, post_guid: str,
                       post_url: str | None = None,
                       kind: CommentSource | None = None) -> CommentPage:
    """Read an RSS or Atom comment feed (WordPress, Blogger, any RFC 4685 feed, flat RSS).

    Threading comes from `thr:in-reply-to` (a ref that is not the post makes a reply) and, for
    Blogger, from `<link rel="related">`. ParseError names `url` when this is not a feed.
    """
    if not body.strip():
        raise ParseError(url, "empty comment feed")
    doc = run_feedparser(body, headers, url=url)
    version = doc.get("version") or ""
    entries = doc.get("entries") or []
    if not version:
        raise ParseError(url, "not a comment feed: no RSS or Atom found")
    feed = doc.get("feed") or {}
    if kind is None or kind in ("atom", "rss"):
        generator = str(feed.get("generator") or "").lower()
        if "blogger" in generator:
            kind = "blogger"
        else:
            kind = "atom" if version.startswith("atom") else "rss"
    elif kind == "wp-atom" and not version.startswith("atom"):
        kind = "rss"  # asked for the Atom feed, was given the flat one
    if len(entries) > MAX_COMMENTS:
        logger.warning("%s: %d comments, only the first %d kept", url, len(entries), MAX_COMMENTS)
        entries = entries[:MAX_COMMENTS]
    top_refs = {ref for ref in (_clean_id(post_guid), _clean_id(post_url)) if ref}
    by_link = _link_index(entries)
    comments: list[Comment] = []
    for entry in entries:
        comment = _feed_comment(entry, url=url, post_guid=post_guid, top_refs=top_refs,
                                kind=kind, by_link=by_link, is_atom=version.startswith("atom"))
        if comment is not None:
            comments.append(comment)
    total = _declared_total(feed)
    complete = total is not None and len(comments) >= total
    return CommentPage(tuple(comments), complete=complete)


def _declared_total(feed: Mapping[str, Any]) -> int | None:
    """openSearch:totalResults (Blogger) or thr:total on the feed, whatever the prefix."""
    for key, value in feed.items():
        if key.endswith("_totalresults") or key.endswith("_total"):
            try:
                return int(str(value).strip())
            except ValueError:
                return None
    return None


def _suffix(entry: Mapping[str, Any], suffix: str) -> Any:
    """A value under any namespace prefix: feedparser keeps whatever prefix the feed declared."""
    for key, value in entry.items():
        if key.endswith(suffix):
            return value
    return None


def _link_index(entries: list[Any]) -> dict[str, str]:
    """A comment's URLs (self, edit, alternate) and Blogger number → its id, to resolve refs."""
    index: dict[str, str] = {}
    for entry in entries:
        entry_id = _clean_id(entry.get("id"))
        if not entry_id:
            continue
        for link in entry.get("links") or []:
            if link.get("rel") in ("self", "edit", "alternate") and link.get("href"):
                index.setdefault(str(link["href"]), entry_id)
        if match := _BLOGGER_ID.search(entry_id):
            index.setdefault(match.group(1), entry_id)
    return index


def _feed_comment(entry: Any, *, url: str, post_guid: str, top_refs: set[str],
                  kind: CommentSource, by_link: Mapping[str, str],
                  is_atom: bool) -> Comment | None:
    raw_id = entry.get("id") or entry.get("link")
    date = from_struct(entry.get("published_parsed")) or from_struct(entry.get("updated_parsed"))
    if not raw_id or date is None:
        logger.debug("%s: a comment without %s skipped", url, "an id" if not raw_id else "a date")
        return None
    comment_id = _clean_id(raw_id)
    if not comment_id:
        return None
    raw_html, base = _entry_html(entry, url)
    permalink = clean_url(entry.get("link"), base=base, schemes=_HTTP)
    detail = entry.get("author_detail") or {}
    parent = _parent_ref(entry, top_refs=top_refs, kind=kind, by_link=by_link)
    return Comment(
        id=comment_id,
        post_guid=post_guid,
        author=_author_name(entry, is_atom=is_atom),
        author_url=clean_url(detail.get("href"), base=base, schemes=_HTTP),
        date=date,
        url=permalink,
        parent_id=parent if parent != comment_id else None,
        body_html=_clean_body(raw_html, base_url=permalink or base, email=detail.get("email")),
        source=kind,
    )


def _entry_html(entry: Any, feed_url: str) -> tuple[str, str]:
    """The richest body the entry has, as HTML, and the base URL its relative links use."""
    contents = entry.get("content") or []
    if contents:
        chosen = next((c for c in contents if "html" in (c.get("type") or "")), contents[0])
        value = str(chosen.get("value") or "")
        if chosen.get("type") == "text/plain":
            value = html.escape(value)
        return value, str(chosen.get("base") or feed_url)
    detail = entry.get("summary_detail") or {}
    value = str(entry.get("summary") or "")
    if detail.get("type") == "text/plain":
        value = html.escape(value)
    return value, str(detail.get("base") or feed_url)


def _parent_ref(entry: Any, *, top_refs: set[str], kind: CommentSource,
                by_link: Mapping[str, str]) -> str | None:
    """The id of the comment this one answers, or None for a top-level comment."""
    if kind == "blogger":  # in-reply-to always names the post; rel="related" names the parent
        for link in entry.get("links") or []:
            if link.get("rel") == "related" and link.get("href"):
                href = str(link["href"])
                match = _BLOGGER_TAIL.search(href)
                return by_link.get(href) or (by_link.get(match.group(1)) if match else None) \
                    or _clean_id(href)
        return None
    reply_to = _suffix(entry, "_in-reply-to")
    if not isinstance(reply_to, Mapping):
        return None
    ref = str(reply_to.get("ref") or "").strip()
    if not ref:  # RFC 4685 requires ref; tolerate an href naming a comment of this feed
        href = str(reply_to.get("href") or "").strip()
        ref = by_link.get(href, "") if href not in top_refs else ""
    ref = _clean_id(ref) or ""
    if not ref or ref in top_refs:
        return None
    return ref


def _clean_id(value: object) -> str | None:
    """An identity as we store and compare it: one line, capped. None when empty."""
    if not value:
        return None
    return clean_text(str(value), max_length=ID_MAX) or None


def _author_name(entry: Any, *, is_atom: bool) -> str:
    """A display name, never an e-mail address (feedparser's `author` can read "Name (email)").

    RSS `<author>` is an e-mail address by definition, with the name in parentheses at best,
    and feedparser's split of it is unreliable: take the parenthesised name or nothing.
    """
    name = ""
    if is_atom:
        name = str((entry.get("author_detail") or {}).get("name") or "")
    else:
        raw = str(entry.get("author") or "")
        if "@" in raw:
            match = re.search(r"\(([^()]*)\)\s*$", raw)
            raw = match.group(1) if match else ""
        name = raw
        if not name.strip():
            name = _BY_PREFIX.sub("", str(entry.get("title") or "")) \
                if _BY_PREFIX.match(str(entry.get("title") or "")) else ""
    return without_emails(clean_text(name, max_length=NAME_MAX)) or ANONYMOUS


def _clean_body(raw_html: str, *, base_url: str, email: object = None) -> str:
    """Sanitize a comment body; the commenter's own e-mail address, if they typed it, goes."""
    body = sanitize_html(raw_html[:BODY_MAX], base_url=base_url)
    if isinstance(email, str) and "@" in email:
        body = re.sub(re.escape(html.escape(email.strip(), quote=False)), EMAIL_REMOVED, body,
                      flags=re.IGNORECASE)
        body = re.sub(re.escape(email.strip()), EMAIL_REMOVED, body, flags=re.IGNORECASE)
    return body


def parse_wp_rest_comments(body: bytes, *, url: str, post_guid: str) -> list[Comment]:
    """Read one page of `/wp-json/wp/v2/comments?post=<id>` (parent 0 = top level).

    Ids are rebuilt as WordPress's comment guid (`<post guid>#comment-<n>`), the identity its
    feeds use, so that the same comment from REST and from a feed is recognised as one.
    Avatar URLs (Gravatar hashes of e-mail addresses) are never read.
    """
    try:
        items = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(url, f"the REST API answer is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise ParseError(url, "the REST API answer is not a list of comments")
    comments: list[Comment] = []
    for item in items[:MAX_COMMENTS]:
        comment = _rest_comment(item, url=url, post_guid=post_guid)
        if comment is not None:
            comments.append(comment)
    return comments


def _rest_comment(item: Any, *, url: str, post_guid: str) -> Comment | None:
    if not isinstance(item, Mapping):
        return None
    number, parent = item.get("id"), item.get("parent", 0)
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        return None
    if item.get("status", "approved") != "approved" or item.get("type", "comment") not in (
            "comment", ""):
        return None
    gmt = item.get("date_gmt")
    date = from_iso(gmt if isinstance(gmt, str) and gmt else None)  # date_gmt has no offset: UTC
    if date is None:
        return None
    content = item.get("content")
    rendered = content.get("rendered") if isinstance(content, Mapping) else None
    permalink = clean_url(_str(item.get("link")), base=url, schemes=_HTTP)
    name = without_emails(clean_text(_str(item.get("author_name")), max_length=NAME_MAX))
    guid = _clean_id(post_guid) or post_guid
    return Comment(
        id=f"{guid}#comment-{number}",
        post_guid=post_guid,
        author=name or ANONYMOUS,
        author_url=clean_url(_str(item.get("author_url")) or None, base=url, schemes=_HTTP),
        date=date,
        url=permalink,
        parent_id=(f"{guid}#comment-{parent}"
                   if isinstance(parent, int) and not isinstance(parent, bool) and parent > 0
                   and parent != number else None),
        body_html=_clean_body(_str(rendered), base_url=permalink or url),
        source="wp-rest",
    )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- Fetching ------------------------------------------------------------------------------


async def fetch_thread(fetcher: CommentFetcher, info: ThreadInfo, *,
                       validators: Mapping[str, tuple[str | None, str | None]] | None = None,
                       max_rest_pages: int = REST_MAX_PAGES) -> ThreadResult:
    """Fetch a post's comments from the first sources that answer, merged.

    Stops at the first source that is complete (or, when the post gave no count, at the first
    that answered); otherwise goes on to the next source and merges. A source that fails is
    logged and listed in `errors`; the next one is tried.
    """
    if info.comment_count == 0:
        return ThreadResult((), complete=True)
    known = dict(validators or {})
    gathered: dict[str, Comment] = {}
    answered: list[str] = []
    errors: list[str] = []
    new_validators: dict[str, tuple[str | None, str | None]] = {}
    complete = False
    for source in discover_sources(info):
        try:
            if source.kind == "wp-rest":
                page = await _fetch_rest(fetcher, source.url, info, max_rest_pages)
            else:
                etag, modified = known.get(source.url, (None, None))
                result = await fetcher.get(source.url, etag=etag, last_modified=modified)
                if result.body is None:  # 304: nothing changed since the last run
                    return ThreadResult((), complete=False, not_modified=True,
                                        answered=(source.url,), errors=tuple(errors),
                                        validators={source.url: (etag, modified)})
                new_validators[source.url] = (result.etag, result.last_modified)
                page = parse_comment_feed(result.body, result.headers, url=result.final_url,
                                          post_guid=info.post_guid, post_url=info.post_url,
                                          kind=source.kind)
        except FeedError as exc:
            logger.info("comments of %s: %s", info.post_guid, exc)
            errors.append(str(exc))
            continue
        answered.append(source.url)
        for comment in page.comments:
            kept = gathered.get(comment.id)
            if kept is None or SOURCE_RANK[comment.source] < SOURCE_RANK[kept.source]:
                gathered[comment.id] = comment
        count = info.comment_count
        if page.complete or (count is not None and len(gathered) >= count):
            complete = True
            break
        if count is None:
            break
    comments = tuple(sorted(gathered.values(), key=lambda c: (c.date, c.id)))
    return ThreadResult(comments, complete=complete, answered=tuple(answered),
                        errors=tuple(errors), validators=new_validators)


async def _fetch_rest(fetcher: CommentFetcher, first_url: str, info: ThreadInfo,
                      max_pages: int) -> CommentPage:
    """All pages of the REST route (X-WP-TotalPages), up to `max_pages`."""
    comments: list[Comment] = []
    total: int | None = None
    pages = 1
    page = 1
    url = first_url
    while True:
        result = await fetcher.get(url, accept=JSON_ACCEPT)
        if result.body is None:
            raise FeedError(url, "unexpected 304 from the REST API")
        comments.extend(parse_wp_rest_comments(result.body, url=url, post_guid=info.post_guid))
        if page == 1:
            total = _header_int(result.headers, "x-wp-total")
            pages = _header_int(result.headers, "x-wp-totalpages") or 1
        if page >= min(pages, max_pages):
            break
        page += 1
        url = _with_page(first_url, page)
    complete = page >= pages and total is not None and len(comments) >= total
    return CommentPage(tuple(comments), complete=complete)


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        value = int(str(headers.get(name, "")).strip())
    except ValueError:
        return None
    return value if value >= 0 else None
