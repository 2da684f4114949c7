"""Post files: a fixed metadata block, slugs and paths we generate, atomic writes.

Only keys from KEYS are ever written, each once, each value on one line; slugs and paths come
from `slugs.py`, never from feed text directly. A file is replaced by rename, and only when its
bytes change, so a run with nothing new touches nothing.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aggregator.dates import as_utc, format_date
from aggregator.models import Post, Previous
from aggregator.slugs import is_slug, short_hash, slugify
from aggregator.state import PostFile, State

logger = logging.getLogger(__name__)

# Every key a post file may carry, in the order written.
KEYS = ("Title", "Date", "Modified", "Author", "Category", "Tags", "Slug", "Summary", "Member",
        "Original_url", "Source_feed", "Guid", "Blog", "Blog_url", "Byline", "Comments_url",
        "Comment_feed", "Comment_count", "Content_mode")
VALUE_MAX = 2000
NAME_MAX = 80
MOVED_WITHIN = timedelta(hours=48)  # a moved post found by its title: its dates this close
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_META_LINE = re.compile(r"^([A-Za-z0-9_-]+):[ \t]?(.*)$")


def one_line(value: object, *, max_length: int = VALUE_MAX) -> str:
    """A metadata value: control characters and line breaks become spaces, length capped."""
    text = str(value)
    if not (text.isascii() and text.isprintable()):  # printable ASCII has nothing to remove
        text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def render_post(post: Post, *, slug: str, content_mode: str) -> str:
    """The whole file: the metadata block, a blank line, the Markdown body."""
    if not is_slug(slug):
        raise ValueError(f"refusing unsafe slug {slug!r}")
    values: dict[str, object | None] = {
        "Title": post.title,
        "Date": format_date(post.date),
        "Modified": format_date(post.modified) if post.modified else None,
        "Author": post.author,
        "Category": post.category,
        "Tags": ", ".join(post.tags) if post.tags else None,
        "Slug": slug,
        "Summary": post.summary or None,
        "Member": post.member_id,
        "Original_url": post.original_url,
        "Source_feed": post.source_feed,
        "Guid": post.guid,
        "Blog": post.blog,
        "Blog_url": post.blog_url,
        "Byline": post.byline,
        "Comments_url": post.comments_url,
        "Comment_feed": post.comment_feed,
        "Comment_count": post.comment_count,
        "Content_mode": content_mode,
    }
    lines = []
    for key in KEYS:
        value = values[key]
        if value is None or value == "":
            continue
        text = one_line(value)
        if text:
            lines.append(f"{key}: {text}")
    body = post.body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return "\n".join(lines) + "\n\n" + body + "\n"


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata block of a post file (keys lower-cased), stopping at the first blank line."""
    meta: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip():
                break
            match = _META_LINE.match(line)
            if match is None:
                break
            meta.setdefault(match.group(1).lower(), match.group(2).strip())
    return meta


@dataclass(frozen=True)
class Existing:
    """A post file already on disk."""

    path: str
    slug: str
    member_id: str
    previous: Previous | None
    guid: str = ""
    title: str | None = None
    original_url: str | None = None

    def exists(self) -> bool:
        return os.path.exists(self.path)


def parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _post_files(posts_dir: Path) -> Iterator[tuple[str, str, os.stat_result]]:
    """content/posts/<member>/<year>/<name>.md, in a stable order: (relative path, full path,
    stat). Plain strings: at 50,000 files, pathlib objects cost more than the disk."""
    for member in sorted(os.scandir(posts_dir), key=lambda e: e.name):
        if not member.is_dir(follow_symlinks=False):
            continue
        for year in sorted(os.scandir(member.path), key=lambda e: e.name):
            if not year.is_dir(follow_symlinks=False):
                continue
            for entry in sorted(os.scandir(year.path), key=lambda e: e.name):
                if (entry.name.endswith(".md") and not entry.name.startswith(".")
                        and entry.is_file(follow_symlinks=False)):
                    yield (f"{member.name}/{year.name}/{entry.name}", entry.path,
                           entry.stat(follow_symlinks=False))


def _read_post_file(path: str, rel: str, stat: os.stat_result) -> PostFile | None:
    try:
        meta = read_metadata(Path(path))
    except OSError as exc:
        logger.warning("%s: cannot read (%s); skipped", path, exc)
        return None
    member, guid, slug = meta.get("member"), meta.get("guid"), meta.get("slug")
    if not member or not guid or not slug:
        logger.warning("%s: not a post file of ours (no Member/Guid/Slug); left alone", path)
        return None
    return PostFile(rel, stat.st_mtime_ns, stat.st_size, member, guid, slug, meta.get("date"),
                    meta.get("modified"), meta.get("title"), meta.get("original_url"))


def post_file_record(posts_dir: Path, path: Path, *, member_id: str, guid: str, slug: str,
                     text: str) -> PostFile:
    """The cache row for a file this run just wrote (its header is in `text`)."""
    stat = os.stat(path)
    end = text.find("\n\n")
    header = text[:end] if end >= 0 else text
    found: dict[str, str] = {}
    for line in header.split("\n"):
        key, sep, value = line.partition(": ")
        if sep and key in ("Title", "Date", "Modified", "Original_url"):
            found[key] = value
    full, prefix = str(path), f"{posts_dir}{os.sep}"
    rel = full[len(prefix):] if full.startswith(prefix) else path.relative_to(posts_dir).as_posix()
    return PostFile(rel.replace(os.sep, "/"), stat.st_mtime_ns, stat.st_size, member_id, guid,
                    slug, found.get("Date"), found.get("Modified"), found.get("Title"),
                    found.get("Original_url"))


class PostIndex:
    """Every post file under content/posts, by (member, guid) and by slug.

    Built from the files themselves, so that it is right even when var/ is gone: the files are
    the source of truth.
    """

    def __init__(self, posts_dir: Path) -> None:
        self.posts_dir = posts_dir
        self.by_member: dict[str, dict[str, Existing]] = {}
        self.slugs: dict[str, tuple[str, str]] = {}  # slug → (member, guid)
        self.on_disk: dict[str, int] = {}  # member → how many posts the scan found
        # title_key → the posts of that title (crossposts.py), made when first asked for
        self._titles: dict[str, list[Existing]] | None = None

    @classmethod
    def scan(cls, posts_dir: Path, *, cache: State | None = None) -> PostIndex:
        """Read every post file's header; with `cache`, only files changed since last time."""
        index = cls(posts_dir)
        if not posts_dir.is_dir():
            return index
        known = cache.post_files() if cache is not None else {}
        fresh: list[PostFile] = []
        seen: set[str] = set()
        for rel, path, stat in _post_files(posts_dir):
            seen.add(rel)
            row = known.get(rel)
            if row is None or row.mtime_ns != stat.st_mtime_ns or row.size != stat.st_size:
                row = _read_post_file(path, rel, stat)
                if row is None:
                    continue
                fresh.append(row)
            date = parse_date(row.date)
            previous = Previous(date, parse_date(row.modified)) if date else None
            index.add(Existing(path, row.slug, row.member_id, previous, row.guid, row.title,
                               row.original_url), row.guid)
        if cache is not None:
            cache.save_post_files(fresh)
            cache.forget_post_files(sorted(set(known) - seen))
        index.on_disk = {member: len(posts) for member, posts in index.by_member.items()}
        return index

    def add(self, existing: Existing, guid: str) -> None:
        self.by_member.setdefault(existing.member_id, {})[guid] = existing
        self.slugs[existing.slug] = (existing.member_id, guid)
        if self._titles is not None:
            self._title(existing, self._titles)

    def titled(self, key: str) -> list[Existing]:
        """The posts whose title has this `title_key`, the files a run just wrote included;
        some may be stale (taken over or forgotten since): check them with `get`."""
        if self._titles is None:
            self._titles = {}
            for posts in self.by_member.values():
                for existing in posts.values():
                    self._title(existing, self._titles)
        return self._titles.get(key, [])

    @staticmethod
    def _title(existing: Existing, titles: dict[str, list[Existing]]) -> None:
        if existing.title:
            titles.setdefault(title_key(existing.title), []).append(existing)

    def get(self, member_id: str, guid: str) -> Existing | None:
        return self.by_member.get(member_id, {}).get(guid)

    def posts(self, member_id: str) -> list[Existing]:
        """The member's posts, each once, under the guid its file has now (`take_over` leaves
        no other)."""
        return list(self.by_member.get(member_id, {}).values())

    def moved(self, post: Post, present: Collection[str]) -> Existing | None:
        """The member's post that `post`, under a guid not seen before, already is: one whose
        own guid the feed no longer carries (`present`: the guids it does) and with the same
        address on the blog, or else the same title and a date within MOVED_WITHIN. A blog
        that moves (a new domain, another platform, RSS for Atom) gives its posts new guids;
        without this, each would be written again as a new post."""
        if not self.on_disk.get(post.member_id):
            return None  # a member with no post before this run (a newcomer's first fetch)
        from aggregator.members import normalise_feed_url  # (and YAML): rarely needed here

        address = normalise_feed_url(post.original_url) if post.original_url else None
        title = title_key(post.title)
        by_title: Existing | None = None
        for existing in self.posts(post.member_id):
            if existing.guid in present:
                continue  # still in the feed: another post
            if address and existing.original_url \
                    and normalise_feed_url(existing.original_url) == address:
                return existing if existing.exists() else None
            if by_title is None and title and existing.title is not None \
                    and title_key(existing.title) == title and existing.previous is not None \
                    and abs(as_utc(existing.previous.date) - post.date) <= MOVED_WITHIN \
                    and existing.exists():
                by_title = existing
        return by_title

    def forget(self, existing: Existing) -> None:
        """`existing`'s file is gone (deletions.py): its guid and slug are free again."""
        self.by_member.get(existing.member_id, {}).pop(existing.guid, None)
        if self.slugs.get(existing.slug) == (existing.member_id, existing.guid):
            del self.slugs[existing.slug]

    def take_over(self, existing: Existing, post: Post) -> None:
        """`post` is `existing` under a new guid (`moved`): its file is the post's from now on,
        and the old guid no longer names it."""
        del self.by_member[existing.member_id][existing.guid]
        self.add(Existing(existing.path, existing.slug, existing.member_id, existing.previous,
                          post.guid, post.title, post.original_url), post.guid)

    def count(self, member_id: str) -> int:
        return len(self.by_member.get(member_id, {}))

    def previous(self, member_id: str) -> dict[str, Previous]:
        """Each known post's dates, by guid, for keeping them stable."""
        return {guid: existing.previous
                for guid, existing in self.by_member.get(member_id, {}).items()
                if existing.previous is not None}

    def assign(self, post: Post) -> tuple[str, Path]:
        """The post's slug and path: its file's, if it has one; else new and unique."""
        existing = self.get(post.member_id, post.guid)
        if existing is not None and existing.exists():
            return existing.slug, Path(existing.path)
        base = slugify(post.title, max_length=NAME_MAX, fallback="post")
        name = base
        slug = f"{post.member_id}-{name}"
        if slug in self.slugs and self.slugs[slug] != (post.member_id, post.guid):
            name = f"{base}-{short_hash(post.guid)}"
            slug = f"{post.member_id}-{name}"
            tries = 0
            while slug in self.slugs and self.slugs[slug] != (post.member_id, post.guid):
                tries += 1
                name = f"{base}-{short_hash(f'{post.guid}#{tries}')}"
                slug = f"{post.member_id}-{name}"
        if not is_slug(post.member_id) or not is_slug(name):
            raise ValueError(f"unsafe path parts {post.member_id!r}/{name!r}")
        path = self.posts_dir / post.member_id / f"{post.date.year:04d}" / f"{name}.md"
        self.add(Existing(str(path), slug, post.member_id, Previous(post.date, post.modified),
                          post.guid, post.title, post.original_url), post.guid)
        return slug, path


# The label a blog puts on a post it republishes ("Guest post by Owen: …", "[Cross-post] …",
# "… (reposted from Policy in Draft)"): not part of the title the writer gave it.
_COPY_LABEL = (r"(?:guest[ -](?:post|blog(?: post)?)|cross[ -]?post(?:ed)?|re-?post(?:ed)?"
               r"|re-?blog(?:ged)?|republished)")
_COPY_PREFIX = re.compile(rf"^(?:\[{_COPY_LABEL}\]\s*|{_COPY_LABEL}(?: (?:by|from) [^:|]{{1,80}})?"
                          r"\s*[:|\u2013\u2014-]\s+)")
_COPY_SUFFIX = re.compile(rf"\s*[(\[]{_COPY_LABEL}\b[^)\]]{{0,80}}[)\]]$")


def title_key(title: str | None) -> str:
    """A title as two copies of one post compare: as its file keeps it, case and spaces aside,
    without the label a blog puts on a post it republishes ("Guest post: ", "(cross-posted
    from …)")."""
    if not title:
        return ""
    key = one_line(title).casefold()
    bare = _COPY_SUFFIX.sub("", _COPY_PREFIX.sub("", key, count=1), count=1)
    return bare or key
