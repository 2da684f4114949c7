"""The moderation queue: one reviewable JSON file per submission, under `submissions/`.

    submissions/<id>.json            pending, waiting for a maintainer
    submissions/approved/<id>.json   approved: the member is in members.yaml
    submissions/rejected/<id>.json   rejected, with the reason

A submission's id comes from its normalised feed URL, so the same blog submitted twice (from
its page or its feed, over the form or the command line, at the same moment or a day later)
has the same id and is queued once. Changes happen under an exclusive lock on
`submissions/.lock` and every file is written atomically, so concurrent posts all land and
none twice. The submitter's e-mail address lives here, for the maintainers only: approving
copies the member's public fields to the registry and nothing else.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.atomic import write_atomic
from aggregator.errors import AggregatorError, ConfigError
from aggregator.members import add_members, load_members, normalise_feed_url
from aggregator.models import Member
from aggregator.settings import Settings
from aggregator.slugs import is_slug, short_hash, slugify

logger = logging.getLogger(__name__)

ID_MAX = 64
LOCK_NAME = ".lock"


class SubmissionError(AggregatorError):
    """A submission was not queued. `url` is the address submitted, `field` the form field at
    fault (when one is)."""

    def __init__(self, url: str, message: str, *, field: str | None = None) -> None:
        self.url = url
        self.reason = message
        self.field = field
        super().__init__(f"{url}: {message}" if url else message)


class InvalidSubmission(SubmissionError):
    """The input itself is wrong (not a web address, a bad e-mail, an unknown sector)."""


class RefusedSubmission(SubmissionError):
    """The address was understood, but the blog cannot join as it is (no feed, no posts,
    refused address, too slow, too big)."""


class DuplicateSubmission(RefusedSubmission):
    """The blog is already a member (`member` is its id) or already waiting (`pending`)."""

    def __init__(self, url: str, message: str, *, member: str | None = None,
                 pending: str | None = None) -> None:
        self.member = member
        self.pending = pending
        super().__init__(url, message, field="url")


@dataclass(frozen=True)
class PreviewPost:
    """One post as the site would show it."""

    title: str
    date: str  # ISO 8601, UTC
    excerpt: str
    url: str | None


@dataclass(frozen=True)
class Submission:
    """One queued blog. `email` and `note` are for the maintainers and never leave the queue."""

    id: str
    url: str  # as submitted
    feed: str  # the feed found (after permanent redirects)
    site: str | None
    name: str
    blog_title: str | None = None
    email: str | None = None
    organisation: str | None = None
    sector: str | None = None
    note: str | None = None
    only_topics: tuple[str, ...] = ()  # take only posts on these (members.yaml's only_topics)
    found_by: str = ""
    comments: bool = False  # the feed announces comment threads
    posts: tuple[PreviewPost, ...] = ()
    submitted: str = ""  # ISO 8601, UTC
    source: str = "cli"  # "cli" or "web"
    status: str = "pending"  # pending | approved | rejected
    decided: str | None = None
    reason: str | None = None  # why it was rejected
    member_id: str | None = None  # the registry id it was approved as

    def to_json(self) -> str:
        """The file's text: indented, keys in a fixed order, ends with a newline."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: str) -> Submission:
        """Read a queue file; ConfigError names it when it is not one of ours."""
        try:
            data = json.loads(text)
            posts = tuple(PreviewPost(**p) for p in data.pop("posts", ()))
            topics = tuple(data.pop("only_topics", ()))
            return cls(**data, posts=posts, only_topics=topics)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"not a readable submission file: {exc}", path=path) from exc


def queue_dir(settings: Settings) -> Path:
    """The queue folder: SUBMISSIONS_DIR, else `submissions/` beside the settings file."""
    return settings.submissions_dir or settings.root / "submissions"


def submission_id(feed_url: str) -> str:
    """The queue key of a feed: readable (host and path) and unique (a hash of the
    normalised URL), so the same feed always gets the same id."""
    key = normalise_feed_url(feed_url)
    parts = urlsplit(key)
    readable = slugify(f"{parts.hostname or ''} {parts.path}", max_length=ID_MAX - 9,
                       fallback="feed")
    return f"{readable}-{short_hash(key, 8)}"


def same_address(a: str | None, b: str | None) -> bool:
    """Two addresses name the same feed or site (scheme and host case, default port,
    fragment and trailing slash ignored)."""
    return bool(a and b) and normalise_feed_url(a or "") == normalise_feed_url(b or "")


def now_iso(now: datetime | None = None) -> str:
    """A timestamp for the queue files: UTC, to the second."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


class SubmissionQueue:
    """The `submissions/` folder. Safe to use from several threads and processes at once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the queue, across threads and processes (one flock each)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _pending_path(self, sub_id: str) -> Path:
        if not is_slug(sub_id, max_length=ID_MAX):
            raise ConfigError(f"no submission {sub_id!r}: ids are lower-case letters, digits "
                              "and hyphens (see `aggregator submissions`)", path=str(self.root))
        return self.root / f"{sub_id}.json"

    def pending(self) -> list[Submission]:
        """Every pending submission, oldest first."""
        if not self.root.is_dir():
            return []
        items = [Submission.from_json(p.read_text(encoding="utf-8"), path=str(p))
                 for p in sorted(self.root.glob("*.json"))]
        return sorted(items, key=lambda s: (s.submitted, s.id))

    def get(self, sub_id: str) -> Submission:
        """One pending submission; ConfigError when there is none with that id."""
        path = self._pending_path(sub_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"no pending submission {sub_id!r} (see `aggregator "
                              "submissions`)", path=str(self.root)) from None
        return Submission.from_json(text, path=str(path))

    def find_pending(self, *addresses: str | None) -> Submission | None:
        """A pending submission whose submitted address, feed or site is one of `addresses`."""
        wanted = {normalise_feed_url(a) for a in addresses if a}
        for item in self.pending():
            mine = {normalise_feed_url(a) for a in (item.url, item.feed, item.site) if a}
            if mine & wanted:
                return item
        return None

    def add(self, submission: Submission) -> Submission:
        """Queue `submission` (its id from its feed). DuplicateSubmission if it is waiting."""
        with self._locked():
            path = self._pending_path(submission.id)
            other = self.find_pending(submission.feed, submission.site) if not path.exists() \
                else self.get(submission.id)
            if other is not None:
                raise DuplicateSubmission(
                    submission.url, f"this blog is already waiting for review (submission "
                                    f"{other.id}, feed {other.feed})", pending=other.id)
            write_atomic(path, submission.to_json())
        logger.info("queued submission %s: %s (%s)", submission.id, submission.feed,
                    submission.name)
        return submission

    def _archive(self, submission: Submission, folder: str) -> Path:
        """Write a decided submission under approved/ or rejected/, never over an earlier one."""
        target = self.root / folder / f"{submission.id}.json"
        n = 2
        while target.exists():
            target = self.root / folder / f"{submission.id}-{n}.json"
            n += 1
        write_atomic(target, submission.to_json())
        self._pending_path(submission.id).unlink()
        return target

    def approve(self, sub_id: str, *, members_file: Path,
                sectors: Mapping[str, str] | None = None,
                regions: Mapping[str, str] | None = None,
                now: datetime | None = None) -> Member:
        """Add the blog to the registry (comments and layout kept, whole file validated first)
        and move the submission to approved/. Returns the new member."""
        with self._locked():
            submission = self.get(sub_id)
            existing = load_members(members_file, sectors=sectors, regions=regions) \
                if members_file.exists() else []
            entry = member_entry(submission, existing)
            members = add_members(members_file, [entry], sectors=sectors, regions=regions)
            member = next(m for m in members if m.id == entry["id"])
            self._archive(replace(submission, status="approved", decided=now_iso(now),
                                  member_id=member.id), "approved")
        logger.info("approved submission %s as member %s", sub_id, member.id)
        return member

    def reject(self, sub_id: str, *, reason: str, now: datetime | None = None) -> Submission:
        """Move the submission to rejected/ with the reason."""
        reason = " ".join(reason.split())
        if not reason:
            raise ConfigError("give a reason for the rejection (--reason …)",
                              path=str(self.root))
        with self._locked():
            submission = replace(self.get(sub_id), status="rejected", decided=now_iso(now),
                                 reason=reason)
            self._archive(submission, "rejected")
        logger.info("rejected submission %s: %s", sub_id, reason)
        return submission


def member_entry(submission: Submission, existing: list[Member]) -> dict[str, Any]:
    """The registry entry for an approved submission: public fields only, a unique id, and
    a name no other member has (names are author names on the site)."""
    for member in existing:
        if same_address(member.feed, submission.feed):
            raise ConfigError(f"submission {submission.id}: feed {submission.feed} is already "
                              f"member {member.id!r}", member=member.id)
    names = {m.name.casefold() for m in existing}
    name = submission.name
    if name.casefold() in names and submission.organisation:
        name = f"{name} ({submission.organisation})"
    if name.casefold() in names:
        raise ConfigError(f"submission {submission.id}: a member is already called {name!r}; "
                          f"edit the name in {submission.id}.json and approve again")
    ids = {m.id for m in existing}
    base = slugify(name, max_length=ID_MAX - 4, fallback="member")
    member_id, n = base, 2
    while member_id in ids:
        member_id, n = f"{base}-{n}", n + 1
    entry: dict[str, Any] = {"name": name, "feed": submission.feed, "id": member_id}
    for key in ("site", "organisation", "sector"):
        value = getattr(submission, key)
        if value:
            entry[key] = value
    if submission.only_topics:
        entry["only_topics"] = list(submission.only_topics)
    return entry
