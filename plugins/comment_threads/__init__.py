"""comment_threads: attach each article's comment tree (and its count) to the article.

Reads `content/comments/<article slug>/*.md` (the pelican-comment-system layout the aggregator
writes), renders each body with Python-Markdown and sanitizes it again with the aggregator's
allowlist: what the aggregator let through, the site checks again. Replies are linked to their
parents by `Slug`/`Replyto`, with the same rules as the aggregator (aggregator.threads.arrange):
orphans become top-level, cycles are broken, siblings go by date. Nothing recurses, so a
100,000-deep chain is fine. Templates write the thread with the `comment_thread_html` filter
(render.py: one pass in Python per article) or walk it with the `comment_events` filter.
Bodies that are plain paragraphs skip Markdown (render.plain_paragraphs, same HTML).

Signals: `initialized` (keep comment files out of the readers; register the Jinja filters) and
`article_generator_finalized`, which fires for every article, cached ones too, once slugs are
final. Comment files never become articles or pages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import blinker
import markdown
from pelican import signals

from aggregator.atomic import write_atomic
from aggregator.clean import clean_url, sanitize_html, without_emails
from aggregator.errors import WriteError
from aggregator.threads import arrange, link

from .foldercache import CACHE_FILE as FOLDER_CACHE_FILE
from .foldercache import (
    Files,
    FolderCache,
    Kept,
    Listing,
    code_signature,
    listing,
    listing_digest,
)
from .render import MAX_INDENT, PLAIN_SAFE_EXTENSIONS, plain_paragraphs, thread_html
from .thread import Thread

logger = logging.getLogger(__name__)
# What `CommentThreads.preread` returns: (post slug, digest, count) of each usable folder (each
# written to the folder cache), the bodies Markdown rendered, and each of those threads' HTML
# by post slug.
Preread = tuple[list[tuple[str, str, int]], dict[str, str], dict[str, str]]
# What `unchanged_folders_ahead` returns: post slug → (digest, count) of each folder as the
# cache kept it, the slugs of every folder, and the other folders' files as the walk listed
# them (post slug → files).
Ahead = tuple[dict[str, tuple[str | None, int]], list[str], dict[str, Any]]

COMMENTS_DIR = "comments"
CACHE_FILE = "comment_threads.json"
CACHE_VERSION = 1
MAX_FILE_BYTES = 1024 * 1024
BUILD_PREREAD = "build_preread"  # sent by plugins/incremental before a full build
BUILD_PUBLISH = "build_publish"  # sent by plugins/incremental before a publish
PREREAD_KEY = "_comment_threads_preread"  # settings key: the threads read by preread_threads
AHEAD_KEY = "_comment_threads_ahead"  # settings key: the folders compared by compare_ahead
# Settings key under which plugins/incremental hands over its listing of the content folder
# (plugins/incremental/listing.py: `folder(path)`, `subfolders(path)`): no second walk.
CONTENT_LISTING_KEY = "_incremental_content_listing"
MIN_FOLDERS_AHEAD = 200
AUTHOR_MAX = 100
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_META_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):[ \t]*(.*)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_NOT_FOR_BODIES = {"markdown.extensions.meta", "meta", "markdown.extensions.attr_list",
                   "attr_list", "markdown.extensions.md_in_html", "md_in_html"}


@dataclass(eq=False)
class CommentNode:
    """A comment as templates see it. `children` are its replies, oldest first.

    `original_url` is the file's `Original_url` as written; `url` is that link checked.
    """

    slug: str
    author: str
    website: str | None
    date: datetime
    body_html: str
    parent_slug: str | None = None
    depth: int = 0
    children: list[CommentNode] = field(default_factory=list)
    original_url: str | None = None

    @property
    def url(self) -> str | None:
        """The comment on the original blog, http(s) or None: checked only when a theme asks
        (the network theme does not), which spares a build 15,000 URL checks."""
        return clean_url(self.original_url)

    @property
    def anchor(self) -> str:
        """The element id and permalink fragment: `comment-<slug>`."""
        return f"comment-{self.slug}"

    @property
    def indent(self) -> int:
        """The depth for CSS, capped: `class="depth-{{ node.indent }}"`."""
        return min(self.depth, MAX_INDENT)


@dataclass(frozen=True, slots=True)
class ThreadEvent:
    """One step of `comment_events`: open a comment's element, or close it.

    `depth` is 0 for a top-level comment; `parent` is the comment it answers (None at the top),
    so a template can say "in reply to …" where indentation no longer shows it.
    """

    node: CommentNode
    opening: bool
    depth: int = 0
    parent: CommentNode | None = None

    @property
    def closing(self) -> bool:
        return not self.opening

    @property
    def indent(self) -> int:
        """The depth for CSS, capped at MAX_INDENT."""
        return min(self.depth, MAX_INDENT)


def comment_events(roots: Iterable[CommentNode] | None) -> Iterator[ThreadEvent]:
    """Walk a thread without recursion: open a comment, its replies (opened and closed), close.

    A template emits a comment's start tag on `opening` and its end tag on `closing`, so a
    reply's element lands inside its parent's element at any depth.
    """
    stack: list[ThreadEvent] = [ThreadEvent(node, True)
                                for node in reversed(list(roots or []))]
    while stack:
        event = stack.pop()
        yield event
        if event.opening:
            node = event.node
            stack.append(ThreadEvent(node, False, event.depth, event.parent))
            stack.extend(ThreadEvent(child, True, event.depth + 1, node)
                         for child in reversed(node.children))


def count_comments(roots: Iterable[CommentNode]) -> int:
    """Every comment in the tree, replies included."""
    total = 0
    stack = list(roots)
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(node.children)
    return total


def feed_count(value: Any) -> int:
    """The feed's `Comment_count:` metadata as a count: 0 when absent or not a number."""
    try:
        return max(int(str(value).strip()), 0) if value is not None else 0
    except ValueError:
        return 0


def _one_line(value: str, max_length: int) -> str:
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text[:max_length]


def _parse_date(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


class BodyCache:
    """Rendered, sanitized bodies by hash of their Markdown, kept between builds.

    Markdown is most of the plugin's cost (about 0.3 ms a comment); a warm build reuses the
    HTML of every body it has seen. Follows Pelican's CACHE_CONTENT / LOAD_CONTENT_CACHE; the
    key covers the Markdown settings, so changing them invalidates everything.
    """

    def __init__(self, path: Path | None, signature: str, *, load: bool) -> None:
        self.path = path
        self.signature = signature
        self.entries: dict[str, str] = {}
        self.used: dict[str, str] = {}
        if path is not None and load:
            self.entries = self._load(path)

    def _load(self, path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("%s: comment cache unreadable, rebuilt: %s", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION \
                or data.get("signature") != self.signature \
                or not isinstance(data.get("bodies"), dict):
            return {}
        return {k: v for k, v in data["bodies"].items()
                if isinstance(k, str) and isinstance(v, str)}

    @staticmethod
    def key(body: str) -> str:
        return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def get(self, key: str) -> str | None:
        html = self.entries.get(key)
        if html is not None:
            self.used[key] = html
        return html

    def put(self, key: str, html: str) -> None:
        self.used[key] = html

    def save(self) -> None:
        """Write the bodies used in this build (others are dropped), atomically."""
        if self.path is None or self.used == self.entries:
            return
        data = json.dumps({"version": CACHE_VERSION, "signature": self.signature,
                           "bodies": self.used}, sort_keys=True)
        try:
            write_atomic(self.path, data)
        except WriteError as exc:
            logger.warning("comment cache not saved: %s", exc)


class CommentThreads:
    """Reads and threads comment files for one build. State lives here, not in the module."""

    def __init__(self, settings: Mapping[str, Any], *, read_only: bool = False) -> None:
        self.root = Path(settings.get("PATH", "content")) / COMMENTS_DIR
        md_settings = dict(settings.get("MARKDOWN") or {})
        configs = {name: cfg for name, cfg in (md_settings.get("extension_configs") or {}).items()
                   if name not in _NOT_FOR_BODIES}
        # each once: Pelican's Markdown reader adds the configured ones to the list when it
        # is made, and the folder cache's signature must not tell before from after
        extensions = list(dict.fromkeys(
            name for name in [*configs, *(md_settings.get("extensions") or [])]
            if isinstance(name, str) and name not in _NOT_FOR_BODIES))
        output_format = md_settings.get("output_format", "html5")
        self._markdown = markdown.Markdown(
            extensions=extensions, extension_configs=configs,
            output_format=output_format)
        # Plain prose skips Markdown only where no configured extension could change it (with
        # options, one could: abbr's glossary marks words in any text).
        self._plain = all(name in PLAIN_SAFE_EXTENSIONS
                          and (not configs.get(name) or name.endswith("codehilite"))
                          for name in extensions)
        self._folders: dict[str, str] | None = None
        self._walked: dict[str, Files | None] | None = None  # walked()
        self._listing = settings.get(CONTENT_LISTING_KEY)
        self._listed: dict[str, Any] = {}  # folder path → its files, from the listing
        self._quiet = False
        self._html: dict[str, str] = {}  # post slug → its thread's HTML, made by preread
        # post slug → (digest, count) of folders found unchanged in another process (or
        # read and kept there, ahead of a full build: `take`), and the slugs of every folder,
        # listed there (None: folders() lists them here)
        self._unchanged: dict[str, tuple[str | None, int]] = {}
        self._slugs: frozenset[str] | None = None
        self._websites: dict[str, str | None] = {}  # commenters come back: each URL checked once
        cache_path = None
        if settings.get("CACHE_CONTENT") and settings.get("CACHE_PATH"):
            cache_path = Path(settings["CACHE_PATH"]) / CACHE_FILE
        signature = json.dumps([extensions, repr(configs), output_format, markdown.__version__])
        self.cache = BodyCache(cache_path, signature,
                               load=bool(settings.get("LOAD_CONTENT_CACHE")))
        keep_folders = cache_path is not None and settings.get("COMMENT_FOLDER_CACHE", True)
        self.folder_cache = FolderCache(
            cache_path.with_name(FOLDER_CACHE_FILE) if keep_folders and cache_path else None,
            code_signature(signature), CommentNode,
            load=bool(settings.get("LOAD_CONTENT_CACHE")), read_only=read_only)

    def folders(self) -> dict[str, str]:
        """Post slug → its comment folder (a path: 20,000 Path objects cost a second), listed
        once per build."""
        if self._folders is None:
            self._folders = {}
            names = (self._listing.subfolders(self.root) if self._listing is not None
                     else None)
            if names is not None:
                root = str(self.root)
                self._folders = {name: os.path.join(root, name) for name in names
                                 if _SLUG.match(name)}
                # each folder's files as the walk listed them, by the path given out here
                # (looked up without working the path out again for each of 20,000 posts)
                top = self._listing.relative(self.root)
                listed = self._listing.folders
                self._listed = {path: listed.get(f"{top}/{name}" if top else name)
                                for name, path in self._folders.items()}
            elif self.root.is_dir():
                with os.scandir(self.root) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False) and _SLUG.match(entry.name):
                            self._folders[entry.name] = entry.path
        return self._folders

    def _warn(self, message: str, *args: Any) -> None:
        (logger.debug if self._quiet else logger.warning)(message, *args)

    def read(self, path: Path) -> CommentNode | None:
        """One comment file → a node (no children yet), or None (logged) if it is unusable."""
        try:
            with path.open("rb") as file:
                data = file.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                self._warn("%s: comment file over %d bytes, skipped", path, MAX_FILE_BYTES)
                return None
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._warn("%s: comment file unreadable, skipped: %s", path, exc)
            return None
        # newlines as text mode reads them: \r\n and a lone \r are line ends
        text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        head, _, body = text.partition("\n\n")
        meta: dict[str, str] = {}
        for line in head.split("\n"):
            match = _META_LINE.match(line)
            if match:
                meta.setdefault(match.group(1).lower(), match.group(2).strip())
        slug = meta.get("slug") or path.stem
        date = _parse_date(meta.get("date", ""))
        if not _SLUG.match(slug) or date is None:
            self._warn("%s: comment file without a valid slug or date, skipped", path)
            return None
        reply_to = meta.get("replyto") or None
        if reply_to is not None and not _SLUG.match(reply_to):
            reply_to = None
        body_html = self.render(body)
        author = without_emails(_one_line(meta.get("author", ""), AUTHOR_MAX)) or "Anonymous"
        website = meta.get("website") or None
        if website is not None:
            if website not in self._websites:
                self._websites[website] = clean_url(website)
            website = self._websites[website]
        return CommentNode(
            slug=slug,
            author=author,
            website=website,
            date=date,
            body_html=body_html,
            parent_slug=reply_to,
            original_url=meta.get("original_url") or None,
        )

    def render(self, body: str) -> str:
        """Markdown → HTML, sanitized again (what the aggregator let through, checked twice).

        Plain paragraphs are written directly (the same HTML, without Markdown's cost).
        """
        if self._plain:
            html = plain_paragraphs(body)
            if html is not None:
                return html
        key = self.cache.key(body)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        self._markdown.reset()
        html = sanitize_html(self._markdown.convert(body), base_url=None)
        self.cache.put(key, html)
        return html

    def read_folder(self, folder: str | Path, key: Listing) -> tuple[list[CommentNode], bool]:
        """The comments of one folder listed as `key` (no children yet), and whether every file
        was usable (only then may the folder be kept for the next build)."""
        nodes: list[CommentNode] = []
        seen: set[str] = set()
        clean = True
        for name, _size, _mtime in key:
            path = Path(folder, name)
            node = self.read(path)
            if node is None:
                clean = False
                continue
            if node.slug in seen:
                self._warn("%s: a second comment with slug %s, skipped", path, node.slug)
                clean = False
                continue
            seen.add(node.slug)
            nodes.append(node)
        return nodes, clean

    def thread(self, post_slug: str) -> Thread:
        """The top-level comments of a post, each with its replies, oldest first."""
        return self.thread_and_digest(post_slug)[0]

    def thread_and_digest(self, post_slug: str) -> tuple[Thread, str | None]:
        """The thread, and a digest of the files it is made from (their names, sizes and
        modification times; None when they were not stamped): a page showing the thread is
        unchanged while the digest and the code are. A folder kept from the last build (or
        pre-read in this one) is threaded only when a page asks."""
        same = self._unchanged.get(post_slug)
        if same is not None and post_slug not in self.folder_cache.new:
            # compared with the cache in another process (compare_ahead), or read and
            # kept there (preread)
            kept = self.folder_cache.kept(post_slug)
            if kept is not None:
                return self._kept_thread(post_slug, kept), same[0]
        if self._slugs is not None:  # listed in another process (compare_ahead)
            if post_slug not in self._slugs:
                return Thread.of([], 0), "none"
            folder: str | None = os.path.join(str(self.root), post_slug)
        else:
            folder = self.folders().get(post_slug)
            if folder is None:
                return Thread.of([], 0), "none"
        key = self.folder_cache.key(post_slug)  # put in this build already
        stamped = self.folder_cache.path is not None
        files = None
        if key is None:
            files = self._files(folder)
            key = self.listing(folder, stamps=stamped)
            if key is None:
                logger.warning("%s: comment folder unreadable, skipped", folder)
                return Thread.of([], 0), None
        text = repr(key)
        digest = listing_digest(text) if stamped else None
        kept = self.folder_cache.rows_of(post_slug, key, text)
        if kept is not None:
            return self._kept_thread(post_slug, kept), digest
        found, clean = self.read_folder(folder, key)
        if clean:
            self.folder_cache.put(post_slug, key, found, files)
        return Thread.of(link_nodes(found), len(found)), digest

    def _kept_thread(self, post_slug: str, kept: Kept) -> Thread:
        """The thread of a folder the cache kept, threaded when a page first asks."""
        nodes = self.folder_cache.nodes
        return Thread(lambda: link_nodes(nodes(kept.rows())), kept.count,
                      self._html.get(post_slug))

    def unchanged_folders(self) -> dict[str, tuple[str | None, int]]:
        """Post slug → (its thread's digest, its count) for every folder whose listing is
        the one the folder cache kept: what `thread_and_digest` would work out for each, done
        ahead in another process (compare_ahead)."""
        cache = self.folder_cache
        stamped = cache.path is not None
        walked = self.walked()
        # by their files as they were kept, then by listing for the others
        found: dict[str, tuple[str | None, int]] = {}
        if walked is not None:
            found.update(cache.unchanged(walked))
        root = str(self.root)
        for slug in walked if walked is not None else self.folders():
            if slug in found:
                continue
            entry = cache.entries.get(slug)
            if entry is None:
                continue
            key = self.listing(os.path.join(root, slug), stamps=stamped)
            if key is None:
                continue
            text = repr(key)
            if text == cache.kept_listing(slug):
                found[slug] = (listing_digest(text) if stamped else None, entry[1])
        return found

    def walked(self) -> dict[str, Files | None] | None:
        """Post slug → its folder's files, as the build's walk listed them: from the listing
        alone, no folder's path made (ahead of a publish, where only these are compared:
        `folders` makes two dictionaries of 20,000 paths). None without such a listing."""
        if self._walked is None and self._listing is not None:
            names = self._listing.subfolders(self.root)
            top = self._listing.relative(self.root)
            if names is not None and top is not None:
                prefix, listed = f"{top}/" if top else "", self._listing.folders
                self._walked = {name: listed.get(prefix + name) for name in names
                                if _SLUG.match(name)}
        return self._walked

    def changed_folders(self, unchanged: Mapping[str, Any]) -> dict[str, Any]:
        """Post slug → its folder's files as the build's listing has them, for every folder
        not in `unchanged`: all a publish needs of the listing of the comments (the others'
        digests and counts are in `unchanged`), sent with it from another process instead of
        the listing of 60,000 files."""
        walked = self.walked()
        if walked is not None:
            return {slug: files for slug, files in walked.items() if slug not in unchanged}
        root = str(self.root)
        return {slug: self._listed.get(os.path.join(root, slug)) for slug in self.folders()
                if slug not in unchanged}

    def take_unchanged(self, found: Ahead) -> None:
        """Keep what `unchanged_folders_ahead` found (in another process) for this build."""
        unchanged, slugs, changed = found
        self._unchanged, self._slugs = dict(unchanged), frozenset(slugs)
        root = str(self.root)
        self._listed.update((os.path.join(root, slug), files) for slug, files in changed.items()
                            if files is not None)

    def _files(self, folder: str | Path) -> Files | None:
        """The folder's files as the build's walk listed them (None: it has no listing)."""
        files = self._listed.get(str(folder))
        if files is None and self._listing is not None:
            files = self._listing.folder(folder)
        return files  # type: ignore[no-any-return]

    def listing(self, folder: str | Path, *, stamps: bool = True) -> Listing | None:
        """foldercache.listing, from the build's listing of the content folder if it has one."""
        files = self._files(folder)
        if files is None:
            return listing(Path(folder), stamps=stamps)
        return tuple(sorted((name, stamp[0] if stamps else 0, stamp[1] if stamps else 0)
                            for name, stamp in files if name.endswith(".md")))

    def preread(self, slugs: Sequence[str]) -> Preread:
        """Read the folders of `slugs` and write them to the folder cache (ahead of a full
        build, in another process: `FolderCache.write_apart`); give each usable folder's
        digest and count, the bodies Markdown rendered, and each thread's HTML (the article
        pages then need no comment nodes at all)."""
        self._quiet = True  # folders with an unusable file are read again, and reported, later
        read, html = [], {}
        folders = self.folders()
        for slug in slugs:
            key = self.listing(folders[slug])
            if key is None:
                continue  # thread() reports it
            nodes, clean = self.read_folder(folders[slug], key)
            if clean:
                read.append((slug, key, self.folder_cache.rows(nodes),
                             self._files(folders[slug])))
                html[slug] = str(thread_html(link_nodes(nodes)))
        return self.folder_cache.write_apart(read), self.cache.used, html

    def take(self, read: Preread) -> int:
        """Keep what `preread` read and wrote (in another process) as this build's folders,
        found unchanged like those a publish compares ahead (`take_unchanged`); how many."""
        found, bodies, html = read
        self.folder_cache.took_apart({slug: count for slug, _digest, count in found})
        self._unchanged.update((slug, (digest, count)) for slug, digest, count in found)
        self.cache.used.update(bodies)
        self._html.update(html)
        return len(found)

    def attach(self, articles: Iterable[Any]) -> None:
        """Set `comments` (top-level nodes) and `comment_count` (an int) on each article.

        With a thread, the count is what the page shows; without one (threads not fetched for
        this member, or not yet), it is the feed's last `Comment_count:`, so lists of posts
        still say how much conversation there is on the original blog.
        """
        for article in articles:
            slug = getattr(article, "slug", None)
            thread, digest = (self.thread_and_digest(slug) if isinstance(slug, str)
                              and _SLUG.match(slug) else (Thread.of([], 0), "none"))
            article.comments = thread
            article.comments_digest = digest
            if thread:
                article.comment_count = thread.count
            else:
                article.comment_count = feed_count(_feed_comment_count(article))


def _feed_comment_count(article: Any) -> Any:
    """The post's `Comment_count:` as its file gives it: Pelican makes each metadata key an
    attribute (an article kept by plugins/incremental has that attribute without its
    metadata, which is read only when something shows it)."""
    found = getattr(article, "comment_count", None)
    if found is None and "metadata" in vars(article):
        found = (article.metadata or {}).get("comment_count")
    return found


def link_nodes(nodes: list[CommentNode]) -> list[CommentNode]:
    """Thread nodes by Slug/Replyto (slugs unique); set children and depth; return the roots."""
    return link(nodes, *arrange([n.slug for n in nodes], [n.parent_slug for n in nodes],
                                [(n.date, n.slug) for n in nodes]))


def configure(pelican: Any) -> None:
    """Keep comment files out of the article and page readers; offer the Jinja filters."""
    settings = pelican.settings
    for key in ("ARTICLE_EXCLUDES", "PAGE_EXCLUDES"):
        excludes = list(settings.get(key) or [])
        if COMMENTS_DIR not in excludes:
            settings[key] = [*excludes, COMMENTS_DIR]
    settings["JINJA_FILTERS"] = {**(settings.get("JINJA_FILTERS") or {}),
                                 "comment_events": comment_events,
                                 "comment_thread_html": thread_html}


def preread_threads(sender: Any, *, settings: dict[str, Any], processes: int,
                    run_in_background: Callable[[Callable[[], Any]], Any] | None = None,
                    min_items: int = 0, **_: Any) -> None:
    """build_preread (plugins/incremental, before a full build): read every comment folder
    and write it to the folder cache in another process while Pelican reads the posts on this
    one, so attach_threads neither reads 60,000 files nor writes their comments itself."""
    if run_in_background is None or processes < 2:
        return
    threads = CommentThreads(settings)
    if threads.folder_cache.path is None:
        return
    slugs = sorted(threads.folders())
    if len(slugs) < (min_items or MIN_FOLDERS_AHEAD):
        return  # attach_threads reads them as fast as a process starts
    settings[PREREAD_KEY] = (threads, run_in_background(partial(threads.preread, slugs)))


def compare_ahead(sender: Any, *, settings: dict[str, Any], processes: int,
                  run_in_background: Callable[[Callable[[], Any]], Any] | None = None,
                  **_: Any) -> None:
    """build_publish (plugins/incremental, before a publish): compare every comment folder's
    listing with the folder cache in the publish's other process, after it has walked the
    comments, while Pelican reads the posts on this one (at 20,000 posts, a quarter of a
    second attach_threads no longer spends)."""
    if run_in_background is not None and processes > 1:
        settings[AHEAD_KEY] = run_in_background(partial(unchanged_folders_ahead, settings))


def unchanged_folders_ahead(settings: Mapping[str, Any]) -> Ahead:
    """CommentThreads.unchanged_folders and the slugs of every folder, in a process of its
    own: the folder cache is only read (if it was kept for other settings, nothing is
    unchanged)."""
    threads = CommentThreads(settings, read_only=True)
    unchanged = threads.unchanged_folders()
    walked = threads.walked()
    return unchanged, sorted(threads.folders() if walked is None else walked), \
        threads.changed_folders(unchanged)


def attach_threads(generator: Any) -> None:
    """article_generator_finalized: give every article (translations and drafts too) its thread."""
    threads, job = generator.settings.pop(PREREAD_KEY, None) or (None, None)
    if threads is not None:
        try:
            logger.info("Read %d comment folders in another process",
                        threads.take(job.result()))
        except RuntimeError as exc:  # read here instead
            logger.warning("comment folders not read ahead, read now: %s", exc)
    ahead = generator.settings.pop(AHEAD_KEY, None)
    threads = threads or CommentThreads(generator.settings)
    if ahead is not None:
        try:
            threads.take_unchanged(ahead.result())
        except RuntimeError as exc:  # compared here instead
            logger.warning("comment folders not compared ahead, compared now: %s", exc)
    threads.attach([*generator.articles, *generator.translations,
                    *getattr(generator, "drafts", []),
                    *getattr(generator, "drafts_translations", [])])
    threads.cache.save()
    threads.folder_cache.save()


def register() -> None:
    """Pelican's entry point."""
    signals.initialized.connect(configure)
    signals.article_generator_finalized.connect(attach_threads)
    blinker.signal(BUILD_PREREAD).connect(preread_threads)
    blinker.signal(BUILD_PUBLISH).connect(compare_ahead)
