"""The last step of `make publish`: every internal link of the built site leads to a file.

Every HTML file under output/ is parsed with html.parser; each href, src, srcset and poster that
is relative, root-relative or starts with the SITEURL is resolved against the output tree as a
static host would serve it (a folder serves its index.html). External links are never fetched:
the check is offline and takes seconds, so it can gate every publish.

A broken link that a member wrote (its URL appears in the text of a post or comment under
content/) is listed apart and does not fail the publish: a feed must not be able to stop the
network's publishing by linking to a page of ours that does not exist.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from aggregator.errors import AggregatorError

logger = logging.getLogger(__name__)

_URL_ATTRS = frozenset({"href", "src", "poster"})
_LOCAL_BASE = "http://site.invalid"  # stands in for the site when SITEURL is empty
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'()\[\]`]+", re.IGNORECASE)
_FEED_TEXT_DIRS = ("posts", "comments")


@dataclass(frozen=True)
class BrokenLink:
    """One link on one page that leads to no file in the output."""

    page: str  # the page it appears on, relative to output/ ("about/index.html")
    url: str  # the link as written in the page
    target: str  # the file it should have been, relative to output/


@dataclass(frozen=True)
class LinkReport:
    """What the check found. `broken` fails the publish; `foreign` is only reported."""

    pages: int
    links: int  # internal links checked
    broken: tuple[BrokenLink, ...]
    foreign: tuple[BrokenLink, ...]  # broken links written by members, in posts or comments

    @property
    def ok(self) -> bool:
        return not self.broken


class BrokenLinksError(AggregatorError):
    """The built site has internal links that lead nowhere; the message lists them."""

    def __init__(self, report: LinkReport, output: Path) -> None:
        self.report = report
        super().__init__(f"{len(report.broken)} broken internal link(s) in {output}:\n"
                         + format_links(report.broken))


class _LinkParser(HTMLParser):
    """Collects the URL-valued attributes of one page, and its <base href> if any."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if tag == "base" and name == "href":
                self.base = self.base or value.strip()
            elif name in _URL_ATTRS:
                self.urls.append(value.strip())
            elif name == "srcset":
                self.urls.extend(_srcset_urls(value))

    handle_startendtag = handle_starttag


def _srcset_urls(value: str) -> Iterable[str]:
    for candidate in value.split(","):
        words = candidate.split()
        if words:
            yield words[0]


@dataclass(frozen=True)
class _Site:
    """Where the site lives, to tell its own links from everyone else's."""

    base: str  # scheme://host[:port]/prefix, no trailing slash
    host: str
    prefix: str  # the sub-path the site is served under ("" at a host's root)

    @classmethod
    def from_url(cls, site_url: str) -> _Site:
        parts = urlsplit(site_url.strip() or _LOCAL_BASE)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AggregatorError(f"SITEURL {site_url!r} is not an absolute http(s) URL; the "
                                  "link check cannot tell the site's links from others")
        prefix = unquote(parts.path).rstrip("/")
        return cls(f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}",
                   parts.netloc.lower(), prefix)

    def target(self, page_url: str, link: str) -> str | None:
        """The output-relative path `link` points at, or None when it is not the site's."""
        scheme = urlsplit(link).scheme.lower()
        if scheme not in ("", "http", "https"):
            return None  # mailto:, tel:, data:, javascript: …
        resolved = urlsplit(urljoin(page_url, link))
        if resolved.scheme not in ("http", "https") or resolved.netloc.lower() != self.host:
            return None
        path = unquote(resolved.path)
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return None  # the same host, outside the site's sub-path
        return path[len(self.prefix):].lstrip("/")


def _output_tree(output: Path) -> tuple[set[str], set[str]]:
    """Every file and folder under output/, as '/'-separated relative paths."""
    files: set[str] = set()
    folders: set[str] = {""}
    for folder, dirnames, filenames in os.walk(output):
        rel = Path(folder).relative_to(output).as_posix()
        rel = "" if rel == "." else rel
        for name in dirnames:
            folders.add(f"{rel}/{name}" if rel else name)
        for name in filenames:
            files.add(f"{rel}/{name}" if rel else name)
    return files, folders


def _resolve(target: str, files: set[str], folders: set[str]) -> str | None:
    """The file a static host would serve for `target`, or None if there is none."""
    if target == "" or target.endswith("/"):
        index = f"{target}index.html"
        return index if index in files else None
    if target in files:
        return target
    if target in folders and f"{target}/index.html" in files:
        return f"{target}/index.html"
    return None


def feed_text_urls(content_dir: Path) -> frozenset[str]:
    """Every http(s) URL written in members' posts and comments (content/posts, /comments)."""
    found: set[str] = set()
    for name in _FEED_TEXT_DIRS:
        for path in (content_dir / name).rglob("*.md"):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                logger.warning("link check: cannot read %s: %s", path, exc)
                continue
            found.update(_without_fragment(html.unescape(m)) for m in _URL_IN_TEXT.findall(text))
    return frozenset(found)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def check_links(output: Path, *, site_url: str = "",
                member_urls: Collection[str] = frozenset()) -> LinkReport:
    """Check every internal link of every HTML page under `output`.

    `site_url` is the SITEURL the site was built with ("" for relative URLs only);
    `member_urls` are URLs found in members' text (see feed_text_urls): a broken link to one of
    them is reported in `foreign`, not `broken`.
    """
    if not output.is_dir():
        raise AggregatorError(f"{output}: no built site to check (the output folder is missing)")
    site = _Site.from_url(site_url)
    files, folders = _output_tree(output)
    broken: list[BrokenLink] = []
    foreign: list[BrokenLink] = []
    pages = links = 0
    for page in sorted(f for f in files if f.endswith((".html", ".htm"))):
        pages += 1
        parser = _LinkParser()
        parser.feed((output / page).read_text(encoding="utf-8", errors="replace"))
        parser.close()
        page_url = f"{site.base}/{page}"
        if parser.base:
            page_url = urljoin(page_url, parser.base)
        for url in dict.fromkeys(parser.urls):  # each distinct link once per page
            target = site.target(page_url, url)
            if target is None:
                continue
            links += 1
            if _resolve(target, files, folders) is not None:
                continue
            expected = f"{target}index.html" if target == "" or target.endswith("/") else target
            link = BrokenLink(page, url, expected)
            absolute = _without_fragment(urljoin(page_url, url))
            (foreign if absolute in member_urls else broken).append(link)
    logger.info("link check: %d internal links on %d pages: %d broken, %d more in members' text",
                links, pages, len(broken), len(foreign))
    return LinkReport(pages, links, tuple(broken), tuple(foreign))


def format_links(links: Iterable[BrokenLink], *, limit: int = 50) -> str:
    """One line per broken link, naming the page it is on; at most `limit` lines."""
    links = list(links)
    lines = [f"  {link.page}: {link.url} (no {link.target})" for link in links[:limit]]
    if len(links) > limit:
        lines.append(f"  … and {len(links) - limit} more")
    return "\n".join(lines)
