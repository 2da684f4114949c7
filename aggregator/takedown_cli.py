"""`aggregator takedown LINK --reason …`: take a post or a comment down in one step.

A request to take something down arrives as a link: the post's or the comment's page on this
site (what a reader sees and copies), or its address on the member's blog. This finds the file
it names, adds the entry to the takedown list (takedowns.py) the way a maintainer would write
it (the post's address on the blog or its Guid; the comment's address on the blog, or its slug
if it has none), and deletes the files at once, holding the publish lock so that no publish
writes them again meanwhile. The maintainer then publishes and commits the list.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aggregator.comment_files import COMMENTS_DIR
from aggregator.errors import AggregatorError, ConfigError
from aggregator.members import append_entries, normalise_feed_url
from aggregator.settings import Settings, load_settings, takedowns_path
from aggregator.slugs import is_slug
from aggregator.takedowns import (
    COMMENT_ANCHOR,
    Takedown,
    Takedowns,
    comment_address,
    comment_names,
    date_of,
    entry_fields,
    load_takedowns,
    parse_takedowns,
    remove_taken_down,
)
from aggregator.write import read_metadata

EXIT_OK = 0


class NotFound(AggregatorError):
    """The link names no post or comment in the archive."""


@dataclass(frozen=True)
class Found:
    """The post, or the comment on it, a link names."""

    member: str
    post: Path
    comment: Path | None = None


def _member_posts(content: Path) -> Iterator[tuple[str, Path]]:
    posts = content / "posts"
    if posts.is_dir():
        for folder in sorted(p for p in posts.iterdir() if p.is_dir()):
            for path in sorted(folder.glob("*/*.md")):
                yield folder.name, path


def _post_by_slug(content: Path, slug: str) -> Found | None:
    """The post whose `Slug:` is `slug`: its file is `<member>/<year>/<slug less member->.md`."""
    posts = content / "posts"
    if not posts.is_dir():
        return None
    for folder in sorted(p for p in posts.iterdir() if p.is_dir()):
        member = folder.name
        if not slug.startswith(member + "-"):
            continue
        for path in sorted(folder.glob(f"*/{slug[len(member) + 1:]}.md")):
            if read_metadata(path).get("slug") == slug:
                return Found(member, path)
    return None


def _post_by_address(content: Path, link: str) -> Found | None:
    """The post whose `Original_url:` or `Guid:` is `link` (every post file is read)."""
    wanted = normalise_feed_url(link)
    for member, path in _member_posts(content):
        meta = read_metadata(path)
        if meta.get("guid") == link or (meta.get("original_url") and
                                        normalise_feed_url(meta["original_url"]) == wanted):
            return Found(member, path)
    return None


def _comment_by_address(content: Path, link: str) -> Found | None:
    """The comment whose `Original_url:` is `link` (every comment file is read)."""
    wanted = comment_address(link)
    comments = content / COMMENTS_DIR
    if not comments.is_dir():
        return None
    for path in sorted(comments.glob("*/*.md")):
        address = read_metadata(path).get("original_url")
        if address and comment_address(address) == wanted:
            post = _post_by_slug(content, path.parent.name)
            if post is not None:
                return replace(post, comment=path)
    return None


def locate(content: Path, link: str) -> Found:
    """What `link` names: a page of this site (`…/<post slug>/`, `#comment-<slug>` for a
    comment), or a post's or comment's address on its blog. NotFound says where it looked."""
    link = link.strip()
    fragment = link.split("#", 1)[1] if "#" in link else ""
    slug = fragment.removeprefix(COMMENT_ANCHOR) if fragment.startswith(COMMENT_ANCHOR) else None
    if slug is not None and not is_slug(slug):
        raise NotFound(f"{link}: #{fragment} names no comment of this site (#comment-<slug>)")
    path = unquote(urlsplit(link).path) if "://" in link else link.split("#", 1)[0]
    parts = path.rstrip("/").split("/")
    last = parts[-1].removesuffix(".html")
    if last == "index" and len(parts) > 1:  # …/<slug>/index.html
        last = parts[-2]
    post = _post_by_slug(content, last) if is_slug(last) else None
    if post is not None:
        if slug is None:
            return post
        comment = content / COMMENTS_DIR / last / f"{slug}.md"
        if comment.is_file():
            return replace(post, comment=comment)
        raise NotFound(f"{link}: the post is {post.post}, but it has no comment {slug} "
                       f"(looked for {comment}): taken down already, or a mistyped link; "
                       "nothing changed")
    if "://" in link and fragment:  # a comment's address: never its post's
        found = _comment_by_address(content, link)
        if found is not None:
            return found
        raise NotFound(f"{link}: no comment in {content} has this address (`Original_url:` "
                       "in its file); for the post, give its address without #…")
    if "://" in link:
        found = _post_by_address(content, link)
        if found is not None:
            return found
    raise NotFound(f"{link}: no post or comment in {content} has this address (a page of "
                   "this site, or the address on the member's blog, `Original_url:` or "
                   "`Guid:` in its file)")


def entry_for(found: Found, reason: str) -> Takedown:
    """The takedown list's entry for what was found, identified as a fetch will see it."""
    if found.comment is not None:
        address = read_metadata(found.comment).get("original_url")
        named = address if address and comment_names(address)[1] else found.comment.stem
        return Takedown(found.member, None, None, reason, comment=named)
    meta = read_metadata(found.post)
    # its title and date too: a blog that moves gives the post a new address and guid
    title, date = meta.get("title"), date_of(meta.get("date"))
    dated: dict[str, Any] = {"title": title, "date": date} if title and date else {}
    if meta.get("original_url"):
        return Takedown(found.member, meta["original_url"], None, reason, **dated)
    if meta.get("guid"):
        return Takedown(found.member, None, meta["guid"], reason, **dated)
    raise NotFound(f"{found.post}: the post has neither `Original_url:` nor `Guid:`, so no "
                   "fetch could tell it again; delete the file by hand")


def append_entry(path: Path, entry: Takedown) -> None:
    """Add `entry` at the end of the list in `path` (made if missing), every other byte of
    the file kept (comments, quotes, long lines); the new list is read back whole first."""
    append_entries(path, "takedowns", [entry_fields(entry)],
                   partial(parse_takedowns, path=path))


def _listed(listed: Takedowns, name: str, member: str | None = None) -> bool:
    """Does the list already name `name`: a comment by its address or slug, or (without a
    #fragment) a post by its address or Guid? For `member`, or any member."""
    members = [member] if member else sorted(listed.members() | listed.comment_members())
    slug, address = comment_names(name)
    post_url = name if "://" in name and "#" not in name else None
    return any(listed.covers_comment(m, slug=slug or "", url=address)
               or ("#" not in name and listed.covers(m, guid=name, url=post_url))
               for m in members)


def _show(content: Path, listing: Path, link: str, reason: str) -> int:
    """--dry-run: what the command would add to the list and delete, changing nothing."""
    if _listed(load_takedowns(listing), link.strip()):
        print(f"already in {listing}: nothing to add")
        return EXIT_OK
    found = locate(content, link)
    entry = entry_for(found, reason)
    print(f"would add to {listing}:")
    for index, (key, value) in enumerate(entry_fields(entry).items()):
        print(f"  {'- ' if index == 0 else '  '}{key}: {value}")
    doomed = [found.comment] if found.comment is not None else [found.post]
    slug = read_metadata(found.post).get("slug", "")
    if found.comment is None and is_slug(slug) and (content / COMMENTS_DIR / slug).is_dir():
        doomed.append(content / COMMENTS_DIR / slug)  # the post's comment thread
    for path in doomed:
        print(f"would remove {path}")
    return EXIT_OK


def cmd_takedown(args: argparse.Namespace) -> int:
    from aggregator.publish import LOCK_NAME, run_lock

    settings: Settings = load_settings(args.settings)
    content = Path(args.content) if args.content else settings.content_dir
    listing = Path(args.takedowns) if args.takedowns else takedowns_path(settings)
    reason = " ".join(args.reason.split())
    if not reason:
        raise ConfigError("say why in --reason (kept in git with the list: no personal data)")
    if args.dry_run:
        return _show(content, listing, args.link, reason)
    with run_lock(settings.root / "var" / LOCK_NAME):
        listed = load_takedowns(listing)
        if _listed(listed, args.link.strip()):  # by its address on the blog, as the list has it
            print(f"already in {listing}")
            removed = remove_taken_down(content, listed)
        else:
            entry = entry_for(locate(content, args.link), reason)
            if _listed(listed, entry.comment or entry.url or entry.guid or "", entry.member):
                print(f"already in {listing}")
            else:
                append_entry(listing, entry)
                print(f"{listing}: the {'comment' if entry.comment else 'post'} is listed "
                      f"(member {entry.member})")
            removed = remove_taken_down(content, Takedowns([entry]))
    for path in removed:
        print(f"removed {path}")
    print("next: publish (make publish), then commit the list and the deleted files together",
          file=sys.stderr)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    takedown = sub.add_parser(
        "takedown", help="take a post or a comment down: list it and delete its files",
        description="LINK is the post's or the comment's page on this site (a comment's link "
                    "ends #comment-…), or its address on the member's blog.")
    takedown.add_argument("link", metavar="LINK")
    takedown.add_argument("--reason", required=True,
                          help="why, for the list's history (no personal data)")
    takedown.add_argument("--content", help="content folder (default: PATH)")
    takedown.add_argument("--takedowns", metavar="FILE",
                          help="the takedown list (default: TAKEDOWNS_FILE, else "
                               "takedowns.yaml beside the registry)")
    takedown.add_argument("--dry-run", action="store_true",
                          help="say what would be listed and deleted; change nothing")
    takedown.set_defaults(func=cmd_takedown)
