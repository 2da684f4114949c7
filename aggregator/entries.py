"""RawEntry → Post: identity, dates, attribution and the cleaned body.

Pure: the same entry, member, feed and previous file give the same Post, so a rerun with
nothing new writes nothing, and a run after `var/` was deleted writes the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from aggregator.clean import (
    clean_text,
    clean_url,
    collapse_whitespace,
    leading_words,
    sanitize_html,
    truncate_text,
    without_emails,
)
from aggregator.convert import escape_markdown_inline, excerpt, html_to_markdown
from aggregator.models import Member, ParsedFeed, Post, Previous, RawEntry

GUID_MAX = 1000
TITLE_MAX = 300
TAG_MAX = 60
TAGS_PER_POST = 20
DEFAULT_CATEGORY = "Other public service"
UNTITLED = "Untitled post"

__all__ = ["Previous", "build_post", "entry_guid", "place_dates"]


def entry_guid(entry: RawEntry) -> str:
    """Stable identity: the entry's id, else its link, else a hash of its title and date."""
    for candidate in (entry.id, entry.link):
        text = clean_text(candidate, max_length=GUID_MAX) if candidate else ""
        if text:
            return text
    date = entry.published or entry.updated
    seed = f"{entry.title or ''}\x00{date.isoformat() if date else ''}"
    return "urn:sha256:" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()


def place_dates(entry: RawEntry, previous: Previous | None,
                now: datetime) -> tuple[datetime, datetime | None]:
    """The post's Date and Modified.

    Date is the published date (clamped to `now` when in the future); without one, what the
    post's file already says, else the feed's updated date, else now (the first-seen time). A
    restamped `updated` only moves Modified, never Date.
    """
    published = entry.published
    if published is not None and published <= now:
        date = published
    elif previous is not None:
        date = previous.date
    elif published is not None:  # in the future: clamp, once; the file keeps it from then on
        date = now
    elif entry.updated is not None:
        date = min(entry.updated, now)
    else:
        date = now
    modified: datetime | None = None
    updated = entry.updated
    if updated is not None and updated > now:
        modified = previous.modified if previous else None
    elif updated is not None and updated > date:
        modified = updated
    if modified is not None and modified <= date:
        modified = None
    return date.replace(microsecond=0), modified.replace(microsecond=0) if modified else None


def _tags(entry: RawEntry) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for raw in entry.tags:
        tag = clean_text(raw, max_length=TAG_MAX).replace(",", " ").replace(";", " ")
        tag = " ".join(tag.split())
        if tag and tag.casefold() not in seen and tag.casefold() != "uncategorized":
            seen[tag.casefold()] = tag
        if len(seen) >= TAGS_PER_POST:
            break
    return tuple(seen.values())


def build_post(entry: RawEntry, *, member: Member, feed: ParsedFeed, feed_url: str,
               now: datetime, previous: Previous | None = None,
               sectors: Mapping[str, str] | None = None, summary_words: int = 60) -> Post:
    """Clean one entry into a Post for `member`."""
    base = entry.base_url or feed_url
    original_url = clean_url(entry.link, base=base)
    raw_html = entry.content_html or entry.summary_html or ""
    if member.content == "full":
        body_html = sanitize_html(raw_html, base_url=original_url or base)
    else:
        # Only words reach the page in summary mode, as escaped plain text: the excerpt can be
        # taken from the feed's HTML directly (scripts and styles dropped), which spares the
        # sanitizer — half the cost of a post.
        body_html = raw_html
    summary = excerpt(body_html, words=summary_words)
    title = clean_text(entry.title, max_length=TITLE_MAX) if entry.title else ""
    if not title:
        # The post's first words, a heading's included (an excerpt leaves headings out), as
        # plain text already: cleaning it as HTML again would eat "<A B>".
        words, _more = leading_words(body_html, 8)
        title = truncate_text(collapse_whitespace(" ".join(words)), TITLE_MAX)
    title = title or UNTITLED
    blog = clean_text(feed.title, max_length=TITLE_MAX) if feed.title else member.name
    blog_url = clean_url(feed.link, base=feed_url) or member.site
    if member.content == "full" and body_html.strip():
        body = html_to_markdown(body_html)  # sanitized above
    else:
        body = escape_markdown_inline(summary) + "\n"
        if original_url:
            body += (f"\n[Continue reading on {escape_markdown_inline(blog or member.name)}]"
                     f"({original_url})\n")
    byline = without_emails(clean_text(entry.author, max_length=120)) if entry.author else None
    if byline and byline.casefold() == member.name.casefold():
        byline = None
    category = DEFAULT_CATEGORY
    if sectors and member.sector and member.sector in sectors:
        category = clean_text(sectors[member.sector], max_length=80)
    date, modified = place_dates(entry, previous, now)
    comment_feed = clean_url(entry.comment_feed, base=base) if member.comments else None
    comments_url = clean_url(entry.comments_page, base=base) or (
        f"{original_url}#comments" if original_url and comment_feed else None)
    return Post(
        member_id=member.id,
        guid=entry_guid(entry),
        title=title,
        date=date,
        modified=modified,
        author=member.name,
        byline=byline or None,
        category=category,
        tags=_tags(entry),
        original_url=original_url,
        source_feed=feed_url,
        blog=blog or None,
        blog_url=blog_url,
        summary=summary,
        body=body,
        comments_url=comments_url,
        comment_feed=comment_feed,
        comment_count=entry.comment_count if member.comments else None,
    )
