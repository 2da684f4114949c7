"""Each member's health in plain words: pure functions over the registry, the state snapshot
and the built articles, so "I joined but nothing shows" answers itself on the health page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from aggregator.dates import as_utc
from aggregator.models import Member
from aggregator.state import FeedState

_DATE = attrgetter("date")

# Most urgent first: the page lists members in this order.
STATUSES = {
    "gone": "Feed gone",
    "failing": "Failing",
    "moved": "Feed moved",
    "waiting": "Not fetched yet",
    "paused": "Paused",
    "empty": "No posts in the feed",
    "ok": "Working",
}

_HTTP = re.compile(r"\bHTTP (\d{3})\b")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words) for pattern, words in (
        (r"HTML page, not a feed", "The feed address gives a web page, not a feed: the "
                                   "address in members.yaml is probably wrong."),
        (r"no complete answer within|took longer than", "The blog did not answer in time."),
        (r"non-public address|is not public|private", "The address is on a private network, "
                                                      "which the aggregator never fetches."),
        (r"name not found", "The blog's domain name does not exist (has it lapsed or moved?)."),
        (r"TLS certificate", "The blog's security certificate is not valid."),
        (r"TLS error", "A secure connection to the blog could not be made."),
        (r"connection refused|cannot connect|connection reset|server closed|network error",
         "The blog's server could not be reached."),
        (r"over the cap|more than the cap|announces \d+ bytes", "The feed is larger than the "
                                                                 "aggregator accepts."),
        (r"redirect loop|too many redirects", "The feed address redirects in a loop."),
        (r"not a readable feed|not a feed|empty response|nested too deeply",
         "The feed could not be read: it is broken or not a feed."),
    ))
_HTTP_WORDS = {
    401: "The blog asks for a password to read its feed (HTTP 401).",
    403: "The blog refuses to let the aggregator read its feed (HTTP 403).",
    404: "The feed address was not found on the blog (HTTP 404): check it in members.yaml.",
    410: "The blog says the feed has been removed for good (HTTP 410).",
    429: "The blog asked the aggregator to slow down (HTTP 429); it will try again later.",
}


def plain_error(error: str | None, urls: Iterable[str | None] = ()) -> str | None:
    """The aggregator's error message in words a member understands (the URL prefix dropped)."""
    if not error:
        return None
    text = error.strip()
    for url in urls:
        if url and text.startswith(f"{url}: "):
            text = text[len(url) + 2:]
            break
    status = _HTTP.search(text)
    if status:
        code = int(status.group(1))
        if code in _HTTP_WORDS:
            return _HTTP_WORDS[code]
        if 500 <= code < 600:
            return f"The blog's server had an error (HTTP {code}); it may be temporary."
    for pattern, words in _PATTERNS:
        if pattern.search(text):
            return words
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class MemberHealth:
    """One member's line on the health page."""

    member: Member
    status: str  # a key of STATUSES
    advice: str  # what it means and what to do, in a sentence or two
    last_success: datetime | None
    last_attempt: datetime | None
    next_attempt: datetime | None
    error: str | None  # plain words
    error_detail: str | None  # the aggregator's own message, for maintainers
    failures: int
    last_post: datetime | None
    days_since_post: int | None
    posts: int  # posts on the site
    redirect: str | None
    left_out: int = 0  # the last fetch's posts outside the member's topics
    repeats: int = 0  # the last fetch's posts already here from another member (cross-posts)

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


def _when(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def member_health(member: Member, state: FeedState | None, articles: Sequence[Any], *,
                  now: datetime) -> MemberHealth:
    """Work out one member's status and the advice that goes with it."""
    try:  # at C speed (a member may have thousands of posts); as_utc orders them the same
        newest = as_utc(max(map(_DATE, articles))) if articles else None
    except TypeError:  # naive and aware dates mixed
        newest = max((as_utc(a.date) for a in articles), default=None)
    if newest is None and state is not None and state.last_post:
        newest = _when(state.last_post)
    # calendar days in the site's time zone (`now` is the start of today there)
    days = max((now.date() - newest.astimezone(now.tzinfo).date()).days, 0) if newest else None
    redirect = state.redirected_to if state is not None and state.redirected_to and \
        state.redirected_to != member.feed else None
    error = plain_error(state.last_error, (state.url, state.fetch_url, member.feed)) \
        if state is not None else None
    failing = state is not None and (state.failures > 0 or bool(state.last_error))
    if member.paused:
        status, advice = "paused", ("Paused by the maintainers: the feed is not fetched until "
                                    "the entry in members.yaml is un-paused.")
    elif state is None:
        status, advice = "waiting", ("Not fetched yet: new members are picked up by the next "
                                     "run, and their posts appear soon after.")
    elif state.gone:
        status, advice = "gone", ("The feed has been removed (HTTP 410). If the blog moved, "
                                  "update its feed in members.yaml; if it closed, remove it.")
    elif failing:
        since = f"since {_when(state.last_success):%-d %B %Y}" if state.last_success \
            else "every time so far"
        status, advice = "failing", (f"Fetching has failed {since} ({state.failures} "
                                     f"attempt{'s' if state.failures != 1 else ''} in a row). "
                                     "Posts already here stay.")
    elif redirect:
        status, advice = "moved", (f"Moved permanently to {redirect}: update members.yaml. "
                                   "It is fetched from the new address meanwhile.")
    elif not articles and not state.posts:
        status, advice = "empty", ("Fetched without error, but the feed has no posts yet: "
                                   "they appear here once the blog publishes one.")
    else:
        status, advice = "ok", "Fetched without error."
    if redirect and status != "moved":
        advice += f" The feed has also moved permanently to {redirect}: update members.yaml."
    return MemberHealth(
        member=member, status=status, advice=advice,
        last_success=_when(state.last_success) if state else None,
        last_attempt=_when(state.last_attempt) if state else None,
        next_attempt=_when(state.next_attempt) if state and failing else None,
        error=error if failing or (state is not None and state.gone) else None,
        error_detail=state.last_error if state is not None and state.last_error else None,
        failures=state.failures if state else 0,
        last_post=newest, days_since_post=days, posts=len(articles), redirect=redirect,
        left_out=state.left_out if state is not None else 0,
        repeats=state.repeats if state is not None else 0)


def network_health(members: Sequence[Member], states: Mapping[str, FeedState],
                   articles_by_member: Mapping[str, Sequence[Any]], *,
                   now: datetime) -> list[MemberHealth]:
    """Every member, the most urgent first, then by name."""
    order = {key: i for i, key in enumerate(STATUSES)}
    rows = [member_health(m, states.get(m.id), articles_by_member.get(m.id, ()), now=now)
            for m in members]
    return sorted(rows, key=lambda r: (order[r.status], r.member.name.casefold()))


def status_counts(rows: Iterable[MemberHealth]) -> list[tuple[str, str, int]]:
    """(status, label, how many) for the statuses present, most urgent first."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return [(key, label, counts[key]) for key, label in STATUSES.items() if key in counts]
