"""Taking a post or a comment down on request: `takedowns.yaml` lists what must never be
published.

A listed post's file (and its comment thread) is removed by the next fetch, and the post is
never written again, whatever its feed says. A listed comment's file is removed too, and the
comment is never written again from any of the sources a thread is read from (its replies
stay, as the thread's own). The list is reviewed in git like the registry:

    takedowns:
      - member: dave-briggs
        url: https://example.org/2026/03/the-post/   # or `guid:` — either identifies it
        title: The post                              # with `date:` (optional): the post
        date: '2026-03-01 09:30:00+00:00'            # however its blog moves
        reason: Asked by the author, 2026-11-20
      - member: dave-briggs                          # the member whose post it is on
        comment: https://network.example/2026/03/dave-briggs-the-post/#comment-45-1a2b3c4d
        reason: Personal data, asked by the commenter, 2026-11-29

A comment is named by its link on this site (its date, beside its author's name, links to
it), by its address on the blog (`Original_url:` in its file) or by its slug (the file's
name).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from aggregator.comment_files import comment_slug, thread_dir
from aggregator.dates import as_utc
from aggregator.errors import ConfigError
from aggregator.members import is_http_url, normalise_feed_url
from aggregator.slugs import is_slug
from aggregator.write import MOVED_WITHIN, parse_date, read_metadata, title_key

if TYPE_CHECKING:
    from aggregator.comments import Comment

logger = logging.getLogger(__name__)

_KEYS = frozenset({"member", "url", "guid", "title", "date", "comment", "reason"})
COMMENT_ANCHOR = "comment-"  # the theme's id for a comment: comment-<its slug>


@dataclass(frozen=True)
class Takedown:
    member: str
    url: str | None
    guid: str | None
    reason: str
    comment: str | None = None  # a comment's link, address on the blog, or slug
    title: str | None = None  # with `date`: the post however its blog moves (write.moved)
    date: datetime | None = None


def comment_address(url: str) -> str:
    """The form two comment addresses are compared in: as feed URLs are, but the fragment
    kept (WordPress tells a post's comments apart by it: `…/the-post/#comment-45`)."""
    fragment = urlsplit(url.strip()).fragment
    return normalise_feed_url(url) + (f"#{fragment}" if fragment else "")


def comment_names(value: str) -> tuple[str | None, str | None]:
    """(slug, address) a takedown's `comment:` names: a link ending `#comment-<slug>` names
    both (on this site it is the slug; on a blog, its own address); a bare slug names the
    slug; another http(s) URL names an address. (None, None): it names no comment."""
    value = value.strip()
    if "://" not in value:
        return (value, None) if is_slug(value) else (None, None)
    if not is_http_url(value):
        return None, None
    fragment = urlsplit(value).fragment
    slug = fragment[len(COMMENT_ANCHOR):] if fragment.startswith(COMMENT_ANCHOR) else ""
    return (slug if is_slug(slug) else None), comment_address(value)


class Takedowns:
    """The takedown list, indexed for the run: is this post, or this comment, listed?"""

    def __init__(self, items: Iterable[Takedown] = ()) -> None:
        self.items = tuple(items)
        self._guids = {(t.member, t.guid) for t in self.items if t.guid}
        self._urls = {(t.member, normalise_feed_url(t.url)) for t in self.items if t.url}
        self._titles: dict[tuple[str, str], list[datetime]] = {}
        self._comment_slugs: set[tuple[str, str]] = set()
        self._comment_urls: set[tuple[str, str]] = set()
        for item in self.items:
            if item.title and item.date is not None:
                self._titles.setdefault((item.member, title_key(item.title)), []).append(
                    item.date)
            slug, address = comment_names(item.comment) if item.comment else (None, None)
            if slug:
                self._comment_slugs.add((item.member, slug))
            if address:
                self._comment_urls.add((item.member, address))

    def covers(self, member_id: str, *, guid: str | None, url: str | None,
               title: str | None = None, date: datetime | None = None) -> bool:
        """Is this post listed: by its guid or address, or (an entry with a title and date,
        as `aggregator takedown` writes) by its title and a date within MOVED_WITHIN, so that
        a blog that moves (new guids, new addresses) does not bring it back?"""
        if (member_id, guid) in self._guids or (
                url is not None and (member_id, normalise_feed_url(url)) in self._urls):
            return True
        if not title or date is None or not self._titles:
            return False
        when = as_utc(date)
        return any(abs(when - listed) <= MOVED_WITHIN
                   for listed in self._titles.get((member_id, title_key(title)), ()))

    def covers_comment(self, member_id: str, *, slug: str, url: str | None) -> bool:
        """Is this comment (on one of `member_id`'s posts) listed, by its slug or address?"""
        return ((member_id, slug) in self._comment_slugs
                or (url is not None and (member_id, comment_address(url)) in self._comment_urls))

    def comment_filter(self, member_id: str) -> Callable[[Comment], bool] | None:
        """What a fetch leaves out of `member_id`'s threads (sync_thread's `taken_down`);
        None if none of their comments is listed."""
        if member_id not in self.comment_members():
            return None

        def listed(comment: Comment) -> bool:
            return self.covers_comment(member_id, slug=comment_slug(comment.id),
                                       url=comment.url)
        return listed

    def names_addresses(self, member_id: str) -> bool:
        """Is any of `member_id`'s listed comments named by its address (not its slug)?"""
        return any(member == member_id for member, _ in self._comment_urls)

    def members(self) -> set[str]:
        """The members with a post listed."""
        return {t.member for t in self.items if t.comment is None}

    def comment_members(self) -> set[str]:
        """The members with a comment listed (on one of their posts)."""
        return {t.member for t in self.items if t.comment is not None}


def load_takedowns(path: Path) -> Takedowns:
    """Read the list; a missing file is an empty list; mistakes name file and line."""
    if not path.exists():
        return Takedowns()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the takedown list: {exc}", path=str(path)) from exc
    return parse_takedowns(text, path)


def parse_takedowns(text: str, path: Path) -> Takedowns:
    """The list in `text` (the file at `path`); ConfigError names the file and line at fault."""
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError(f"cannot read the takedown list: {exc}", path=str(path)) from exc
    items = (data or {}).get("takedowns") if isinstance(data, dict) else None
    if items is None:
        return Takedowns()
    if not isinstance(items, list):
        raise ConfigError("'takedowns:' must be a list", path=str(path))
    result = []
    for index, item in enumerate(items):
        line = items.lc.item(index)[0] + 1 if hasattr(items, "lc") else None
        if not isinstance(item, dict):
            raise ConfigError("each takedown must be a mapping", path=str(path), line=line)
        unknown = sorted(set(map(str, item)) - _KEYS)
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} (known: "
                              f"{', '.join(sorted(_KEYS))})", path=str(path), line=line)
        member, url, guid = item.get("member"), item.get("url"), item.get("guid")
        comment = item.get("comment")
        if not isinstance(member, str) or not member:
            raise ConfigError("a takedown needs the member's id in 'member'", path=str(path),
                              line=line)
        if comment is not None:
            if url or guid:
                raise ConfigError("a takedown names a post ('url' or 'guid') or a comment "
                                  "('comment'), not both: list each on its own",
                                  path=str(path), line=line, member=member)
            if not isinstance(comment, str) or comment_names(comment) == (None, None):
                raise ConfigError(f"'comment: {comment}' is not a comment's link (ending "
                                  "#comment-…), its address on the blog or its slug",
                                  path=str(path), line=line, member=member)
        elif not url and not guid:
            raise ConfigError("a takedown needs the post's 'url' or 'guid' (or a comment's "
                              "'comment')", path=str(path), line=line, member=member)
        title, date = item.get("title"), date_of(item.get("date"))
        if (title is not None or item.get("date") is not None) and (
                not isinstance(title, str) or not title.strip() or date is None
                or comment is not None):
            raise ConfigError("a post's 'title' and 'date' go together, the date as its file "
                              "has it ('2026-03-01 09:30:00+00:00'), and name no comment",
                              path=str(path), line=line, member=member)
        result.append(Takedown(member, str(url) if url else None, str(guid) if guid else None,
                               str(item.get("reason") or ""),
                               comment.strip() if isinstance(comment, str) else None,
                               title.strip() if isinstance(title, str) else None, date))
    return Takedowns(result)


def date_of(value: object) -> datetime | None:
    """A takedown's `date:` or a post file's `Date:` (a string as post files write dates, or
    the timestamp YAML made of one), in UTC; None if missing or not a date."""
    if isinstance(value, datetime):
        return as_utc(value)
    found = parse_date(value.strip()) if isinstance(value, str) else None
    return as_utc(found) if found is not None else None


def entry_fields(entry: Takedown) -> dict[str, str]:
    """An entry as the list writes it, keys in order: the post or comment, then the reason."""
    fields = {"member": entry.member}
    for key, value in (("url", entry.url), ("guid", entry.guid), ("comment", entry.comment),
                       ("title", entry.title)):
        if value:
            fields[key] = value
    if entry.date is not None:
        fields["date"] = entry.date.isoformat(sep=" ")
    fields["reason"] = entry.reason
    return fields


def remove_taken_down(content_dir: Path, takedowns: Takedowns) -> list[Path]:
    """Delete the files (and comment threads) of listed posts, and the files of listed
    comments, still on disk: each listed member's post files are read once."""
    removed: list[Path] = []
    posts, comments = takedowns.members(), takedowns.comment_members()
    for member in sorted(posts | comments):
        folder = content_dir / "posts" / member
        if not folder.is_dir():
            continue
        by_address = takedowns.names_addresses(member)  # else the files' names say it all
        for path in sorted(folder.glob("*/*.md")):
            meta = read_metadata(path)
            slug = meta.get("slug", "")
            if member in posts and takedowns.covers(
                    member, guid=meta.get("guid"), url=meta.get("original_url"),
                    title=meta.get("title"), date=date_of(meta.get("date"))):
                remove_post_files(content_dir, path, slug)
                removed.append(path)
                logger.warning("%s: taken down (listed in the takedown list)", path)
            elif member in comments and is_slug(slug):
                removed.extend(_remove_comments(thread_dir(content_dir, slug), member,
                                                takedowns, by_address=by_address))
    return removed


def remove_post_files(content_dir: Path, path: Path, slug: str) -> None:
    """Delete a post's file and its comment thread (the folder named after its slug)."""
    path.unlink(missing_ok=True)
    if is_slug(slug) and (thread := thread_dir(content_dir, slug)).is_dir():
        shutil.rmtree(thread)


def _remove_comments(thread: Path, member: str, takedowns: Takedowns, *,
                     by_address: bool) -> list[Path]:
    """Delete the listed comments' files in one thread of `member`'s (matched by the file's
    name, or, `by_address`, by its `Original_url:`). Their replies' files are left as they
    are: the site shows a reply whose parent is gone as the thread's own, and the next fetch
    of the thread writes it so."""
    removed: list[Path] = []
    if not thread.is_dir():
        return removed
    for path in sorted(thread.glob("*.md")):
        address = read_metadata(path).get("original_url") if by_address else None
        if not takedowns.covers_comment(member, slug=path.stem, url=address):
            continue
        path.unlink()
        removed.append(path)
        logger.warning("%s: taken down (listed in the takedown list)", path)
    return removed
