"""Feed autodiscovery: from a blog's home page (or its feed) to the feed the site should read.

A submitter gives whatever address they have. If it is a feed, that is the answer. If it is a
page, the page's `<link rel="alternate">` feeds come first, posts feeds before comment feeds
(WordPress advertises both "Feed" and "Comments Feed"; a comment feed is never chosen), then
the paths blog engines use. Every request goes through the Fetcher, so the SSRF guard and the
caps on time, size and redirects apply to discovery exactly as to fetching.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from aggregator.errors import FeedError, ParseError
from aggregator.fetch import Fetcher
from aggregator.models import FetchResult, ParsedFeed
from aggregator.parse import parse_feed

logger = logging.getLogger(__name__)

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
# Where blog engines put the posts feed: WordPress, many, Jekyll, Hugo, Blogger.
COMMON_PATHS = ("/feed/", "/rss", "/atom.xml", "/index.xml", "/feeds/posts/default")
PAGE_ACCEPT = ("text/html, application/xhtml+xml, application/rss+xml, application/atom+xml, "
               "application/feed+json, application/xml;q=0.9, */*;q=0.5")
MAX_SCAN_CHARS = 512 * 1024  # <link> elements live in <head>: the first half-megabyte is plenty
MAX_LINKS = 20  # candidates taken from one page
_COMMENT_TITLE = re.compile(r"\bcomments?\b", re.IGNORECASE)
_COMMENT_PATH = re.compile(r"/comments?(/feed/?|/default/?|\.xml|/rss/?|/atom/?)?$",
                           re.IGNORECASE)
_HTML_HINT = re.compile(rb"<(!doctype\s+html|html|head|body|link|meta)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FeedLink:
    """One feed a page advertises."""

    url: str
    type: str
    title: str
    comments: bool  # looks like a comment feed, not the posts feed


@dataclass(frozen=True)
class Discovered:
    """The feed found for a submitted address, with what it gave when fetched."""

    feed_url: str  # the feed's address (after permanent redirects)
    result: FetchResult
    parsed: ParsedFeed
    page_url: str | None  # the page we started from, when the address was not a feed itself
    found_by: str  # "the address itself", "<link rel=alternate>", or "the usual path /feed/"


class _LinkCollector(HTMLParser):
    """Collects `<link rel="alternate">` feeds and the `<base href>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[str, str, str]] = []  # (href, type, title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"].strip()
        if tag != "link" or len(self.links) >= MAX_LINKS:
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";", 1)[0].strip().lower()
        href = values.get("href", "").strip()
        if "alternate" in rels and kind in FEED_TYPES and href:
            self.links.append((href, kind, values.get("title", "").strip()))

    handle_startendtag = handle_starttag


def is_comment_feed(url: str, title: str) -> bool:
    """A comment feed by its title ("… Comments Feed") or its path (`/comments/feed/`)."""
    path = urlsplit(url).path
    return bool(_COMMENT_TITLE.search(title) or _COMMENT_PATH.search(path.rstrip("/") or "/"))


def find_feed_links(html: str, *, base_url: str) -> list[FeedLink]:
    """The feeds a page advertises, absolute, posts feeds first, duplicates dropped."""
    collector = _LinkCollector()
    collector.feed(html[:MAX_SCAN_CHARS])
    collector.close()
    base = urljoin(base_url, collector.base) if collector.base else base_url
    found: list[FeedLink] = []
    seen: set[str] = set()
    for href, kind, title in collector.links:
        url = urljoin(base, href)
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        found.append(FeedLink(url=url, type=kind, title=title,
                              comments=is_comment_feed(url, title)))
    return sorted(found, key=lambda link: link.comments)  # stable: the page's order otherwise


def common_feed_urls(page_url: str) -> list[str]:
    """The usual feed paths, under the page's folder first, then at the site's root."""
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    folder = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    urls: list[str] = []
    for path in COMMON_PATHS:
        for prefix in ((folder.rstrip("/"),) if folder not in ("", "/") else ()) + ("",):
            url = origin + prefix + path
            if url not in urls:
                urls.append(url)
    return urls


def _looks_like_html(result: FetchResult) -> bool:
    kind = result.headers.get("content-type", "").lower()
    return "html" in kind or bool(_HTML_HINT.search((result.body or b"")[:4096]))


def _text_of(result: FetchResult) -> str:
    """The page as text, in the charset it declares (UTF-8 otherwise; bad bytes replaced)."""
    kind = result.headers.get("content-type", "")
    match = re.search(r"charset=[\"']?([\w.:-]+)", kind, re.IGNORECASE)
    body = (result.body or b"")[:MAX_SCAN_CHARS * 4]
    try:
        return body.decode(match.group(1) if match else "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _feed_address(result: FetchResult) -> str:
    """The address to keep: where a permanent redirect took us, else the address asked for."""
    return result.permanent_redirect or result.url


async def discover_feed(fetcher: Fetcher, url: str) -> Discovered:
    """Find the posts feed for `url`, a feed or a page. FeedError names `url` and what failed.

    Errors fetching `url` itself (refused address, timeout, HTTP error) are raised as they
    are; a page with no working feed gives one error listing every candidate tried.
    """
    first = await fetcher.get(url, accept=PAGE_ACCEPT)
    body = first.body or b""
    try:
        parsed = parse_feed(body, first.headers, url=first.final_url)
    except ParseError as exc:
        not_feed = exc.reason
    else:
        return Discovered(_feed_address(first), first, parsed, None, "the address itself")

    page_url = first.final_url
    links = find_feed_links(_text_of(first), base_url=page_url) if _looks_like_html(first) \
        else []
    posts_links = [link for link in links if not link.comments]
    candidates: list[tuple[str, str]] = [(link.url, "<link rel=alternate>")
                                         for link in posts_links]
    candidates += [(c, f"the usual path {urlsplit(c).path}") for c in common_feed_urls(page_url)
                   if c not in {link.url for link in links}]
    tried: list[str] = []
    for candidate, how in candidates:
        if candidate == page_url:
            continue
        try:
            result = await fetcher.get(candidate)
            parsed = parse_feed(result.body or b"", result.headers, url=result.final_url)
        except FeedError as exc:
            logger.debug("discovery for %s: %s: %s", url, candidate, exc.reason)
            tried.append(f"{candidate} ({exc.reason})")
            continue
        logger.info("discovery for %s: feed %s, found by %s", url, candidate, how)
        return Discovered(_feed_address(result), result, parsed, page_url, how)
    if links and not posts_links:
        advertised = "the page advertises only comment feeds"
    elif links:
        advertised = "no feed the page advertises works"
    else:
        advertised = "the page advertises no feed (<link rel=\"alternate\">)"
    raise FeedError(url, f"no feed found: this address is not a feed ({not_feed}), "
                         f"{advertised}, and none of the usual feed addresses worked: "
                         + "; ".join(tried))
