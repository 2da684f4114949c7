"""Comment files: `content/comments/<post-slug>/<comment-slug>.md`, one per comment.

The layout and keys of the pelican-comment-system plugin (`Author`, `Website`, `Date`, `Slug`,
`Replyto`, plus our `Original_url`), so that themes written for it can render our threads. Like
post files: keys from a fixed list, one-line values, slugs we generate, atomic writes, and a file
is only rewritten when its bytes change. Never an e-mail address, nor anything derived from one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aggregator.atomic import write_atomic
from aggregator.clean import without_emails
from aggregator.comments import Comment
from aggregator.convert import html_to_markdown
from aggregator.dates import format_date
from aggregator.errors import WriteError
from aggregator.slugs import is_slug, short_hash
from aggregator.threads import build_threads, leave_out, parent_map, walk
from aggregator.write import one_line

logger = logging.getLogger(__name__)

COMMENTS_DIR = "comments"
KEYS = ("Author", "Website", "Date", "Original_url", "Slug", "Replyto")
AUTHOR_MAX = 100
URL_MAX = 2000
_NUMBERED = re.compile(r"(?:#comment-|\.post-)(\d{1,12})$")  # WordPress and Blogger ids


@dataclass(frozen=True)
class SyncReport:
    """What `sync_thread()` did, by comment slug."""

    written: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()
    taken_down: tuple[str, ...] = ()  # listed in the takedown list: not written


def comment_slug(comment_id: str) -> str:
    """A file name and anchor for a comment: deterministic, [a-z0-9-] only, unique per id.

    WordPress and Blogger ids keep their comment number in front for readability
    (`45-1a2b3c4d`); anything else is a hash (`c-1a2b3c4d5e6f`).
    """
    match = _NUMBERED.search(comment_id)
    if match:
        return f"{int(match.group(1))}-{short_hash(comment_id, 8)}"
    return f"c-{short_hash(comment_id, 12)}"


def thread_dir(content_dir: Path, post_slug: str) -> Path:
    """The folder of a post's comments; ValueError for a slug that could leave content/comments."""
    if not is_slug(post_slug):
        raise ValueError(f"refusing unsafe post slug {post_slug!r} for a comment folder")
    return Path(content_dir) / COMMENTS_DIR / post_slug


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    text = one_line(value, max_length=URL_MAX)
    return text if text.startswith(("https://", "http://")) and " " not in text else None


def render_comment(comment: Comment, *, slug: str, parent_slug: str | None = None) -> str:
    """The whole file: the metadata block, a blank line, the body as Markdown."""
    if not is_slug(slug) or (parent_slug is not None and not is_slug(parent_slug)):
        raise ValueError(f"refusing unsafe comment slug {slug!r} / {parent_slug!r}")
    author = one_line(without_emails(comment.author), max_length=AUTHOR_MAX) or "Anonymous"
    values: dict[str, str | None] = {
        "Author": author,
        "Website": _http_url(comment.author_url),
        "Date": format_date(comment.date),
        "Original_url": _http_url(comment.url),
        "Slug": slug,
        "Replyto": parent_slug,
    }
    lines = [f"{key}: {values[key]}" for key in KEYS if values[key]]
    body = html_to_markdown(comment.body_html).strip()
    return "\n".join(lines) + "\n\n" + (body + "\n" if body else "")


def sync_thread(content_dir: Path, post_slug: str, comments: Iterable[Comment], *,
                complete: bool,
                taken_down: Callable[[Comment], bool] | None = None) -> SyncReport:
    """Write a post's thread: new and edited comments written, unchanged ones left alone.

    With `complete` (the source vouched that no comment is missing), files of comments that
    are gone from the thread are removed. Otherwise nothing is removed, and a reply whose
    parent is no longer in the feed still names it when its file is on disk.

    A comment `taken_down` names (the takedown list) is not written, nor any copy of it from
    another source; its replies are written as the thread's own (their files name no parent).
    """
    folder = thread_dir(content_dir, post_slug)
    left_out: list[Comment] = []
    if taken_down is not None:
        comments, left_out = leave_out(comments, taken_down)
    out_slugs = {comment_slug(comment.id) for comment in left_out}
    roots = build_threads(comments)
    parents = parent_map(roots)
    wanted: dict[str, str] = {}
    written: list[str] = []
    unchanged = 0
    for node in walk(roots):
        comment = node.comment
        slug = comment_slug(comment.id)
        if slug in wanted:
            logger.warning("%s: two comments share the slug %s; %s skipped", folder, slug,
                           comment.id)
            continue
        parent_id = parents.get(comment.id)
        parent_slug = comment_slug(parent_id) if parent_id is not None else None
        if parent_slug is None and comment.parent_id and not complete:
            candidate = comment_slug(comment.parent_id)
            if candidate not in out_slugs and (folder / f"{candidate}.md").is_file():
                parent_slug = candidate
        wanted[slug] = comment.id
        if write_atomic(folder / f"{slug}.md", render_comment(comment, slug=slug,
                                                              parent_slug=parent_slug)):
            written.append(slug)
        else:
            unchanged += 1
    removed = _remove_gone(folder, set(wanted)) if complete else []
    for slug in sorted(out_slugs - set(removed)):  # one still on disk (a partial feed)
        if slug not in wanted and _remove(folder / f"{slug}.md"):
            removed.append(slug)
    if written or removed:
        logger.info("%s: %d comment files written, %d removed", folder, len(written),
                    len(removed))
    if out_slugs:
        logger.info("%s: %d comment(s) not written (in the takedown list): %s", folder,
                    len(out_slugs), ", ".join(sorted(out_slugs)))
    return SyncReport(tuple(written), unchanged, tuple(removed), tuple(sorted(out_slugs)))


def _remove_gone(folder: Path, keep: set[str]) -> list[str]:
    """Delete our comment files not in `keep`; the folder too once it is empty."""
    if not folder.is_dir():
        return []
    removed: list[str] = []
    for path in sorted(folder.glob("*.md")):
        if path.stem in keep or not is_slug(path.stem):
            continue
        if _remove(path):
            removed.append(path.stem)
    try:
        folder.rmdir()  # only succeeds when empty
    except OSError:
        pass
    return removed


def _remove(path: Path) -> bool:
    """Delete one comment file; False if there was none (WriteError if it cannot go)."""
    if not path.is_file():
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteError(f"{path}: cannot remove a comment's file: {exc}") from exc
    return True
