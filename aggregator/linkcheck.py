"""The last step of `make publish`: every internal link of the built site leads to a file.

Every HTML file under output/ is parsed with html.parser; each href, src, srcset and poster that
is relative, root-relative or starts with the SITEURL is resolved against the output tree as a
static host would serve it (a folder serves its index.html). External links are never fetched:
the check is offline, so it can gate every publish. Each page's links are kept between runs
(`make publish` keeps them in var/): only the pages a build wrote since are parsed again, and
every kept link is resolved against the output as it is now.

A broken link that a member wrote (its URL appears in the text of a post or comment under
content/) is listed apart and does not fail the publish: a feed must not be able to stop the
network's publishing by linking to a page of ours that does not exist.
"""

from __future__ import annotations

import hashlib
import html
import logging
import marshal
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from aggregator.atomic import write_atomic
from aggregator.errors import AggregatorError

logger = logging.getLogger(__name__)

_URL_ATTRS = frozenset({"href", "src", "poster"})
_LOCAL_BASE = "http://site.invalid"  # stands in for the site when SITEURL is empty
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'()\[\]`]+", re.IGNORECASE)
_FEED_TEXT_DIRS = ("posts", "comments")
Stamp = tuple[int, int, int]  # size, modification time (ns), inode
NO_STAMP: Stamp = (-1, -1, -1)  # a page listed that could not be looked at
# a page's links: its stamp, its <base href>, its internal links as written, where each points
_Entry = tuple[Stamp, "str | None", tuple[str, ...], tuple[str, ...]]


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


def output_tree(output: Path) -> tuple[set[str], set[str], dict[str, Stamp]]:
    """Every file and folder under output/, as '/'-separated relative paths, and each HTML
    page's stamp (size, modification time, inode). Links to folders are listed, not followed
    (as os.walk does)."""
    files: set[str] = set()
    folders: set[str] = {""}
    pages: dict[str, Stamp] = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        prefix = f"{rel}/" if rel else ""
        try:
            with os.scandir(output / rel if rel else output) as entries:
                for entry in entries:
                    name = prefix + entry.name
                    if entry.is_dir():
                        folders.add(name)
                        if not entry.is_symlink():
                            stack.append(name)
                        continue
                    files.add(name)
                    if name.endswith((".html", ".htm")):
                        try:
                            stat = entry.stat()
                        except OSError:  # gone or a dangling link
                            pages[name] = NO_STAMP
                            continue
                        pages[name] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except OSError as exc:
            logger.warning("link check: cannot list %s: %s", output / rel, exc)
    return files, folders, pages


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
                member_urls: Collection[str] | Callable[[], Collection[str]] = frozenset(),
                cache: Path | None = None) -> LinkReport:
    """Check every internal link of every HTML page under `output`.

    `site_url` is the SITEURL the site was built with ("" for relative URLs only);
    `member_urls` are URLs found in members' text (see feed_text_urls), or a function giving
    them, called only if a link is broken: a broken link to one of them is reported in
    `foreign`, not `broken`. `cache`: a file keeping each page's links between runs, by the
    page's size, modification time and inode: only pages written since the last run are
    parsed (at 20,000 posts, parsing all 35,000 pages takes most of a minute; a publish
    rewrites a few dozen). The report is the same with or without it.
    """
    if not output.is_dir():
        raise AggregatorError(f"{output}: no built site to check (the output folder is missing)")
    site = _Site.from_url(site_url)
    files, folders, stamps = output_tree(output)
    kept = _read_cache(cache, site) if cache is not None else {}
    entries: dict[str, _Entry] = {}
    for page in sorted(stamps):
        entry = kept.get(page)
        if entry is None or entry[0] != stamps[page]:
            entry = _page_links(output, page, stamps[page], site)
        entries[page] = entry
    parsed = sum(1 for page, entry in entries.items() if kept.get(page) is not entry)
    every_target: set[str] = set().union(*(entry[3] for entry in entries.values()))
    missing = {target for target in every_target if _resolve(target, files, folders) is None}
    broken: list[BrokenLink] = []
    foreign: list[BrokenLink] = []
    written_by_members: Collection[str] = frozenset()
    if missing:  # only then: reading every post and comment for their URLs takes seconds
        written_by_members = member_urls() if callable(member_urls) else member_urls
    for page, (_stamp, base, urls, targets) in entries.items():
        if missing.isdisjoint(targets):
            continue
        page_url = _page_url(site, page, base)
        for url, target in zip(urls, targets, strict=True):
            if target not in missing:
                continue
            expected = f"{target}index.html" if target == "" or target.endswith("/") else target
            link = BrokenLink(page, url, expected)
            absolute = _without_fragment(urljoin(page_url, url))
            (foreign if absolute in written_by_members else broken).append(link)
    links = sum(len(entry[3]) for entry in entries.values())
    if cache is not None and (parsed or entries.keys() != kept.keys()):
        _write_cache(cache, site, entries)
    logger.info("link check: %d internal links on %d pages (%d parsed, the others kept): %d "
                "broken, %d more in members' text", links, len(entries), parsed, len(broken),
                len(foreign))
    return LinkReport(len(entries), links, tuple(broken), tuple(foreign))


def _page_url(site: _Site, page: str, base: str | None) -> str:
    page_url = f"{site.base}/{page}"
    return urljoin(page_url, base) if base else page_url


def _page_links(output: Path, page: str, stamp: Stamp, site: _Site) -> _Entry:
    """A page's <base href> and its distinct internal links (as written, and the output path
    each points at), in the order they appear."""
    parser = _LinkParser()
    try:
        parser.feed((output / page).read_text(encoding="utf-8", errors="replace"))
        parser.close()
    except OSError as exc:
        raise AggregatorError(f"{output / page}: cannot read the page to check its links: "
                              f"{exc}") from exc
    page_url = _page_url(site, page, parser.base)
    urls: list[str] = []
    targets: list[str] = []
    for url in dict.fromkeys(parser.urls):  # each distinct link once per page
        target = site.target(page_url, url)
        if target is not None:
            urls.append(sys.intern(url))  # the same few links on every page: one string each
            targets.append(sys.intern(target))
    return stamp, parser.base, tuple(urls), tuple(targets)


def _cache_key(site: _Site) -> str:
    """What a cache is valid for: the site's URL and this module's rules."""
    code = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).hexdigest()
    return f"{site.base}\n{code}"


def _read_cache(path: Path, site: _Site) -> dict[str, _Entry]:
    """The pages' links the last run kept; nothing if there are none or they are unusable."""
    try:
        data = marshal.loads(path.read_bytes())  # noqa: S302 - our own file, in var/
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, EOFError, TypeError) as exc:
        logger.warning("%s: link check cache unreadable, every page is parsed: %s", path, exc)
        return {}
    if not (isinstance(data, dict) and data.get("key") == _cache_key(site)
            and isinstance(data.get("pages"), dict)):
        return {}  # another site URL or other rules
    return {page: entry for page, entry in data["pages"].items()
            if isinstance(entry, tuple) and len(entry) == 4}


def _write_cache(path: Path, site: _Site, entries: dict[str, _Entry]) -> None:
    try:
        write_atomic(path, marshal.dumps({"key": _cache_key(site), "pages": entries}))
    except AggregatorError as exc:  # the next run parses every page: slower, not wrong
        logger.warning("link check cache not kept: %s", exc)


def format_links(links: Iterable[BrokenLink], *, limit: int = 50) -> str:
    """One line per broken link, naming the page it is on; at most `limit` lines."""
    links = list(links)
    lines = [f"  {link.page}: {link.url} (no {link.target})" for link in links[:limit]]
    if len(links) > limit:
        lines.append(f"  … and {len(links) - limit} more")
    return "\n".join(lines)
