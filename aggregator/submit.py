"""A blog asks to join: check the input, find and read its feed, preview it, queue it.

Shared by `aggregator submit` and the Join form's endpoint, so both refuse the same things with
the same words. Nothing is queued that the fetcher could not read: the feed must be reachable
under the same SSRF guard and caps as a run, parse, and have at least one post. A blog that is
already a member (same feed after redirects, or same site) or already waiting is refused with
the member or submission it matches.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aggregator.clean import clean_text, clean_url, collapse_whitespace
from aggregator.discover import Discovered, discover_feed
from aggregator.entries import build_post
from aggregator.errors import FeedError
from aggregator.fetch import Fetcher
from aggregator.members import is_http_url, load_members
from aggregator.models import Member, RawEntry
from aggregator.netguard import check_url
from aggregator.selection import takes, topic_key
from aggregator.settings import Settings
from aggregator.slugs import slugify
from aggregator.submissions import (
    DuplicateSubmission,
    InvalidSubmission,
    PreviewPost,
    RefusedSubmission,
    Submission,
    SubmissionQueue,
    now_iso,
    same_address,
    submission_id,
)

logger = logging.getLogger(__name__)

__all__ = ["SubmissionRequest", "check_request", "check_url_text", "find_member",
           "format_submission", "make_fetcher", "submit", "submit_blog"]

URL_MAX = 2000
TEXT_MAX = 200  # as members.yaml allows for names and organisations
NOTE_MAX = 2000
TOPICS_MAX = 20
EMAIL_MAX = 254
PREVIEW_POSTS = 3
DISCOVERY_ROUNDS = 4  # discovery may take this many per-request timeouts in all
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class SubmissionRequest:
    """What the submitter typed, checked and tidied (see `check_request`)."""

    url: str
    name: str | None = None
    email: str | None = None
    organisation: str | None = None
    sector: str | None = None
    note: str | None = None
    only_topics: tuple[str, ...] = ()  # the topics of the posts to take (selection.py)


def _one_line(value: str | None, field: str, url: str, *, max_length: int = TEXT_MAX,
              label: str) -> str | None:
    text = collapse_whitespace(value or "")
    if len(text) > max_length:
        raise InvalidSubmission(url, f"{label} is too long: at most {max_length} characters",
                                field=field)
    return text or None


def check_url_text(value: str | None) -> str:
    """The submitted address, or InvalidSubmission saying exactly what is wrong with it."""
    url = (value or "").strip()
    if not url:
        raise InvalidSubmission("", "enter the address of the blog or of its feed", field="url")
    if len(url) > URL_MAX:
        raise InvalidSubmission(url[:100] + "…", f"the address is longer than {URL_MAX} "
                                                 "characters", field="url")
    if any(c.isspace() for c in url) or _CONTROL.search(url):
        raise InvalidSubmission(url, "a web address cannot contain spaces or control "
                                     "characters", field="url")
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in ("http", "https"):
        rest = url[len(scheme) + 1:]
        if not match or "." in scheme or rest[:1].isdigit():  # example.org, localhost:8000
            raise InvalidSubmission(url, "this is not a full web address: it must start "
                                         "with https:// (or http://)", field="url")
        raise InvalidSubmission(url, f"only http:// and https:// addresses can be "
                                     f"submitted, not {scheme}:", field="url")
    if not is_http_url(url):
        parts = urlsplit(url)
        why = ("addresses with a user name or password are not accepted"
               if "@" in parts.netloc else "this is not a valid web address (no host name?)")
        raise InvalidSubmission(url, why, field="url")
    return url


def check_request(fields: Mapping[str, str | None], *,
                  sectors: Mapping[str, str] | None = None) -> SubmissionRequest:
    """Check the submitted fields before anything is fetched. InvalidSubmission names the
    field at fault and says what is wrong with it."""
    url = check_url_text(fields.get("url"))
    name = _one_line(fields.get("name"), "name", url, label="the name")
    organisation = _one_line(fields.get("organisation"), "organisation", url,
                             label="the organisation")
    email = (fields.get("email") or "").strip() or None
    if email is not None and (len(email) > EMAIL_MAX or not _EMAIL.match(email)):
        raise InvalidSubmission(url, f"{email[:100]!r} is not an e-mail address",
                                field="email")
    sector = (fields.get("sector") or "").strip() or None
    if sector is not None and sectors is not None and sector not in sectors:
        raise InvalidSubmission(url, f"unknown sector {sector[:60]!r} (choose one of: "
                                     f"{', '.join(sectors)})", field="sector")
    note = _CONTROL.sub("", (fields.get("note") or "").replace("\r\n", "\n")).strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidSubmission(url, f"the note is too long: at most {NOTE_MAX} characters",
                                field="note")
    return SubmissionRequest(url=url, name=name, email=email, organisation=organisation,
                             sector=sector, note=note,
                             only_topics=_topics(fields.get("topics"), url))


def _topics(value: str | None, url: str) -> tuple[str, ...]:
    """The topics field: topics separated by commas, each kept once, as typed."""
    topics: dict[str, str] = {}
    for part in (value or "").split(","):
        topic = collapse_whitespace(part)
        if not topic:
            continue
        if len(topic) > TEXT_MAX:
            raise InvalidSubmission(url, f"a topic is too long: at most {TEXT_MAX} characters",
                                    field="topics")
        if not topic_key(topic):
            raise InvalidSubmission(url, f"{topic!r} is not a topic: give the words of the "
                                         "posts' categories or tags", field="topics")
        topics.setdefault(topic_key(topic), topic)
    if len(topics) > TOPICS_MAX:
        raise InvalidSubmission(url, f"too many topics: at most {TOPICS_MAX}", field="topics")
    return tuple(topics.values())


def find_member(members: list[Member], *addresses: str | None) -> Member | None:
    """The member whose feed or site is one of `addresses`, if any."""
    for member in members:
        for address in addresses:
            if same_address(member.feed, address) or same_address(member.site, address):
                return member
    return None


def _registry(settings: Settings) -> list[Member]:
    """The current members; an absent registry is an empty network."""
    if not settings.members_file.exists():
        return []
    return load_members(settings.members_file, sectors=settings.sectors or None,
                        regions=settings.regions or None)


def _refuse_member(url: str, member: Member) -> DuplicateSubmission:
    return DuplicateSubmission(url, f"this blog is already in the network as member "
                                    f"{member.id!r} ({member.name}, feed {member.feed})",
                               member=member.id)


def make_fetcher(settings: Settings, *, allow_private: bool) -> Fetcher:
    """A Fetcher with the run's caps, for checking submissions."""
    return Fetcher(user_agent=settings.user_agent, allow_private=allow_private,
                   concurrency=settings.concurrency, per_host=settings.per_host,
                   timeout=settings.timeout, max_bytes=settings.max_bytes,
                   max_redirects=settings.max_redirects)


async def _discover(fetcher: Fetcher, url: str, *, settings: Settings) -> Discovered:
    """Discovery bounded in time as a whole, with every failure a RefusedSubmission."""
    deadline = settings.timeout * DISCOVERY_ROUNDS
    try:
        async with asyncio.timeout(deadline):
            return await discover_feed(fetcher, url)
    except TimeoutError as exc:
        raise RefusedSubmission(url, f"looking for the feed took longer than {deadline:g} s; "
                                     "is the server slow?", field="url") from exc
    except FeedError as exc:
        reason = exc.reason if exc.url == url else f"{exc.url}: {exc.reason}"
        raise RefusedSubmission(url, reason, field="url") from exc


def _preview_posts(found: Discovered, entries: list[RawEntry], member: Member,
                   settings: Settings, now: datetime) -> tuple[PreviewPost, ...]:
    """The latest of `entries` (those the network takes), cleaned exactly as a run would
    clean them."""
    posts = [build_post(entry, member=member, feed=found.parsed, feed_url=found.feed_url,
                        now=now, sectors=settings.sectors or None,
                        summary_words=settings.summary_words)
             for entry in entries]
    posts.sort(key=lambda p: p.date, reverse=True)
    return tuple(PreviewPost(title=p.title, date=p.date.isoformat(), excerpt=p.summary,
                             url=p.original_url) for p in posts[:PREVIEW_POSTS])


async def submit_blog(request: SubmissionRequest, *, fetcher: Fetcher, settings: Settings,
                      queue: SubmissionQueue, source: str = "cli",
                      now: datetime | None = None) -> Submission:
    """Check, preview and queue one blog. Raises a SubmissionError saying why it was not."""
    url = request.url
    now = now or datetime.now(UTC)
    members = await asyncio.to_thread(_registry, settings)
    early = find_member(members, url)
    if early is not None:
        raise _refuse_member(url, early)
    waiting = await asyncio.to_thread(queue.find_pending, url)
    if waiting is not None:
        raise DuplicateSubmission(url, f"this blog is already waiting for review (submission "
                                       f"{waiting.id})", pending=waiting.id)
    try:
        check_url(url, allow_private=fetcher.allow_private)
    except FeedError as exc:
        raise RefusedSubmission(url, exc.reason, field="url") from exc

    found = await _discover(fetcher, url, settings=settings)
    feed = found.feed_url
    if not found.parsed.entries:
        raise RefusedSubmission(url, f"the feed {feed} works but has no posts yet; submit it "
                                     "again once it has one", field="url")
    site = found.page_url or clean_url(found.parsed.link, base=feed)
    member = find_member(members, feed, found.result.url, found.result.final_url, site)
    if member is not None:
        raise _refuse_member(url, member)

    blog_title = clean_text(found.parsed.title, max_length=TEXT_MAX) or None
    name = request.name or blog_title or (urlsplit(feed).hostname or feed)
    provisional = Member(id=slugify(name, max_length=64, fallback="member"), name=name,
                         feed=feed, site=site, organisation=request.organisation,
                         sector=request.sector, only_topics=request.only_topics)
    taken = [entry for entry in found.parsed.entries if takes(provisional, entry.tags)]
    if not taken:
        raise RefusedSubmission(url, _no_post_on(request.only_topics, found), field="topics")
    submission = Submission(
        id=submission_id(feed), url=url, feed=feed, site=site, name=name,
        blog_title=blog_title, email=request.email, organisation=request.organisation,
        sector=request.sector, note=request.note, only_topics=request.only_topics,
        found_by=found.found_by,
        comments=any(e.comment_feed for e in found.parsed.entries),
        posts=_preview_posts(found, taken, provisional, settings, now), submitted=now_iso(now),
        source=source)
    return await asyncio.to_thread(queue.add, submission)


def _no_post_on(topics: tuple[str, ...], found: Discovered) -> str:
    """Why a feed with posts has none on the topics asked for, with the topics it does have:
    the submitter's next try should not be a guess."""
    entries = found.parsed.entries
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for entry in entries:
        seen: set[str] = set()
        for raw in entry.tags:
            key, name = topic_key(raw), clean_text(raw, max_length=60)
            if key and name and key not in seen:
                seen.add(key)
                counts[key] += 1
                names.setdefault(key, name)
    asked = ", ".join(topics)
    if not counts:
        return (f"none of the feed's {len(entries)} latest posts is on {asked}: its posts have "
                "no categories or tags, so leave the topics empty")
    used = ", ".join(names[key] for key, _ in counts.most_common(12))
    return (f"none of the feed's {len(entries)} latest posts is on {asked}; the topics its "
            f"posts have are: {used}")


def submit(request: SubmissionRequest, *, settings: Settings, queue: SubmissionQueue,
           allow_private: bool = False, source: str = "cli",
           now: datetime | None = None) -> Submission:
    """`submit_blog` for synchronous callers (the command line)."""
    async def go() -> Submission:
        async with make_fetcher(settings, allow_private=allow_private) as fetcher:
            return await submit_blog(request, fetcher=fetcher, settings=settings, queue=queue,
                                     source=source, now=now)
    return asyncio.run(go())


def format_submission(submission: Submission, *, show_private: bool = True) -> str:
    """A submission as plain text for the terminal: what the site would show, and for whom."""
    lines = [f"submission {submission.id} ({submission.status}, {submission.submitted})",
             f"  name:      {submission.name}",
             f"  blog:      {submission.blog_title or '(untitled)'}",
             f"  feed:      {submission.feed}  (found by {submission.found_by})",
             f"  site:      {submission.site or '(unknown)'}"]
    if submission.organisation:
        lines.append(f"  organisation: {submission.organisation}")
    if submission.sector:
        lines.append(f"  sector:    {submission.sector}")
    if submission.only_topics:
        lines.append(f"  topics:    only posts on {', '.join(submission.only_topics)}")
    if show_private and submission.email:
        lines.append(f"  e-mail:    {submission.email}  (for maintainers only)")
    if show_private and submission.note:
        lines.append(f"  note:      {collapse_whitespace(submission.note)}")
    lines.append("  comments:  " + ("yes: posts link their comment feeds"
                                    if submission.comments else "no comment feeds announced"))
    lines.append("  latest posts, as the site would show them:")
    for post in submission.posts:
        lines.append(f"    {post.date[:10]}  {post.title}")
        if post.excerpt:
            lines.append(f"                {post.excerpt}")
    if submission.reason:
        lines.append(f"  rejected:  {submission.reason}")
    return "\n".join(lines)

