"""One fetch run: every member's feed fetched, parsed, cleaned and written, each in isolation.

The per-member boundary lives here: whatever goes wrong with one member's feed becomes that
member's error in the report and in the state, and the run goes on. Parsing and cleaning (the
CPU-bound part) and rendering and writing the files run in a process pool so that both cores
work while the network waits; the event loop keeps the requests, the post index (slugs and
paths are decided in one place) and the state. Two semaphores bound the bodies in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from aggregator.atomic import remove_stale_temp_files, write_atomic
from aggregator.crossposts import copies_among_fresh, repeated
from aggregator.errors import AggregatorError, FeedError, HttpStatusError
from aggregator.fetch import Fetcher
from aggregator.models import FetchResult, Member, Post, Previous
from aggregator.selection import takes
from aggregator.settings import Settings, takedowns_path
from aggregator.state import FeedState, PostFile, State, ThreadState
from aggregator.write import Existing, PostIndex, post_file_record, render_post

if TYPE_CHECKING:
    from aggregator.takedowns import Takedowns

# The parsing, cleaning and comment modules (feedparser, nh3, BeautifulSoup, markdownify…) are
# imported where they are used: a run where every feed answers 304 never loads them, and its
# cost is then little more than the requests themselves.

logger = logging.getLogger(__name__)

_In = TypeVar("_In")
_Out = TypeVar("_Out")

# Bump when the conversion changes, so that cached body hashes no longer skip re-rendering.
CONVERTER_VERSION = "2"  # 2: excerpts of the leading prose (no headings, tables, code)
BACKOFF_BASE = 1800.0  # seconds after the first failure; doubles with each failure after
PROCESS_TIMEOUT = 120.0  # seconds to parse and clean one feed before giving up on it
PIPELINE_BODIES = 32  # bodies in the parse pipeline at once (memory: 32 × a feed's size)
POOL_THRESHOLD = 8  # fewer feeds than this are parsed in a thread: a pool costs a start-up


@dataclass
class MemberResult:
    """How one member fared in a run."""

    member_id: str
    name: str
    status: str  # fetched | unchanged | not-modified | failed | gone | backing-off | paused
    feed_url: str = ""
    entries: int = 0
    new: int = 0
    updated: int = 0
    comments: int = 0  # comment files written or removed
    left_out: int = 0  # entries outside the member's topics, not written
    moved: int = 0  # posts found under new guids (a blog that moved), kept as they were
    repeats: int = 0  # new posts repeating another member's (crossposts.py), not written
    repeats_new: int = 0  # how many more than at the feed's last fetch (what to point out)
    deleted: int = 0  # posts the blog deleted, removed here too (deletions.py)
    error: str | None = None
    warning: str | None = None
    redirect: str | None = None  # a permanent redirect to copy into members.yaml
    retry_at: float | None = None
    elapsed: float = 0.0


@dataclass
class RunReport:
    """The whole run, for the summary table and the exit code."""

    results: list[MemberResult] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> list[MemberResult]:
        return [r for r in self.results if r.status in ("failed", "gone")]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class _Job:
    """Everything a worker process needs to turn one feed body into posts (picklable)."""

    member: Member
    body: bytes
    headers: Mapping[str, str]
    url: str
    previous: Mapping[str, Previous]
    sectors: Mapping[str, str]
    summary_words: int
    now: datetime


@dataclass(frozen=True)
class _Processed:
    posts: list[Post]
    title: str | None
    site: str | None
    warning: str | None
    generator: str | None = None
    left_out: int = 0  # entries outside the member's topics (selection.py)
    guids: frozenset[str] = frozenset()  # every entry's, those left out too


@dataclass(frozen=True)
class _Done:
    """A member whose new body was parsed and written: what its comments step needs."""

    written: list[_Written]
    generator: str | None
    headers: Mapping[str, str]


class _Permit:
    """A place in the parsing pipeline (one of PIPELINE_BODIES), taken at most once."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self._places.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.held:
            self._places.release()
            self.held = False


@dataclass(frozen=True)
class _Written:
    """A post as this run left it on disk."""

    post: Post
    slug: str
    new: bool  # its file did not exist before this run
    changed: bool  # its file was written by this run
    moved: bool = False  # an existing post, under a new guid (PostIndex.moved)


def process_feed(job: _Job) -> _Processed:
    """Parse and clean one feed body into posts. Runs in a worker: pure, no I/O."""
    from aggregator.entries import build_post, entry_guid
    from aggregator.parse import parse_feed

    feed = parse_feed(job.body, job.headers, url=job.url)
    posts: dict[str, Post] = {}
    left_out: set[str] = set()
    for entry in feed.entries:
        guid = entry_guid(entry)
        if guid in posts or guid in left_out:  # the same entry twice: the first one wins
            continue
        if not takes(job.member, entry.tags):
            left_out.add(guid)
            continue
        posts[guid] = build_post(entry, member=job.member, feed=feed, feed_url=job.url,
                                 now=job.now, previous=job.previous.get(guid),
                                 sectors=job.sectors, summary_words=job.summary_words)
    if not posts and feed.entries and not left_out:
        raise FeedError(job.url, "no usable entries")
    return _Processed(list(posts.values()), feed.title, feed.link, feed.warning,
                      feed.generator, len(left_out), frozenset(posts) | left_out)


@dataclass(frozen=True)
class _WriteJob:
    """One feed's posts to render and write, with the slugs and paths the run gave them."""

    posts_dir: Path
    member_id: str
    content_mode: str
    items: list[tuple[Post, str, str]]  # (post, slug, path)


def write_posts(job: _WriteJob) -> list[PostFile | None]:
    """Render each post and write its file atomically, in order; for each, the cache row of
    the file when this wrote it, None when the file already held exactly that. Runs in a
    worker: the disk work of a run (50,000 files) is spread over the pool, not queued behind
    the event loop."""
    rows: list[PostFile | None] = []
    for post, slug, path in job.items:
        text = render_post(post, slug=slug, content_mode=job.content_mode)
        target = Path(path)
        if write_atomic(target, text):
            rows.append(post_file_record(job.posts_dir, target, member_id=job.member_id,
                                         guid=post.guid, slug=slug, text=text))
        else:
            rows.append(None)
    return rows


def _import_for_threads() -> None:
    """Import what process_feed imports, here, before threads run it: on Python 3.11, several
    threads importing the same modules for the first time at once can be handed a module half
    made ("partially initialized module"; it failed two feeds of a demo fetch once, through
    feedparser, which fastparse.load_feedparser now imports under a lock). Once imported, a
    module is only looked up. Not at the top of this module: a run where every feed answers
    304 never needs them."""
    import aggregator.entries  # noqa: F401
    import aggregator.parse  # noqa: F401


def _written_with(member: Member) -> str:
    """This conversion and what of the member's entry its posts are written with (name,
    sector, content, topics…; not where the entry stands in the file, nor `paused`)."""
    entry = repr(replace(member, line=None, paused=False)).encode()
    return f"{CONVERTER_VERSION}.{hashlib.sha256(entry).hexdigest()[:16]}"


def _body_hash(member: Member, body: bytes) -> str:
    """What a feed's body was written with (named in front, see `_converted_now`) and a
    digest of the bytes."""
    written_with = _written_with(member)
    digest = hashlib.sha256(f"{written_with}\x00".encode())
    digest.update(body)
    return f"{written_with}:{digest.hexdigest()}"


def _converted_now(feed_state: FeedState, member: Member) -> bool:
    """Whether the feed's posts were last written by this CONVERTER_VERSION from the
    member's entry as it is now. If not, its validators are not sent: a 304 would keep posts
    written by the conversion before, or with the content mode or topics the maintainer
    has just changed."""
    return (feed_state.body_hash or "").startswith(f"{_written_with(member)}:")


def backoff_delay(failures: int, *, cap: float) -> float:
    """Seconds to wait after `failures` failures in a row: doubling, capped (default a day)."""
    return float(min(cap, BACKOFF_BASE * (2 ** max(0, failures - 1))))


class FetchRun:
    """One run over a set of members. Holds the run's shared objects; no module globals."""

    def __init__(self, settings: Settings, *, allow_private: bool = False,
                 now: datetime | None = None, force: bool = False,
                 on_result: Callable[[MemberResult], None] | None = None) -> None:
        self.settings = settings
        self.allow_private = allow_private
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.force = force
        self.on_result = on_result
        self.posts_dir = settings.content_dir / "posts"
        self._index: PostIndex | None = None  # read on first need: see index()
        self._state: State | None = None
        self._executor: Executor | None = None
        self._use_pool = False
        self.takedowns: Takedowns | None = None
        self._feed_states: dict[str, FeedState] = {}
        self._file_samples: dict[str, str] = {}
        self._fresh: dict[str, Existing] = {}  # path → each post written as new (crossposts.py)
        # Backpressure instead of a queue without end. Members in progress at once, from
        # their request to their files: whatever the size of the network, at most this many
        # bodies are ever held. And bodies in the parse pipeline (fetched, waiting for a
        # worker, being written): enough to keep the workers busy, few enough to stay small.
        self._slots = asyncio.Semaphore(max(1, settings.concurrency))
        self._bodies = asyncio.Semaphore(PIPELINE_BODIES)

    async def run(self, members: Iterable[Member]) -> RunReport:
        started = time.monotonic()
        members = list(members)
        for stale in remove_stale_temp_files(self.settings.content_dir):
            logger.info("removed %s, left by an interrupted run", stale)
        takedowns_file = takedowns_path(self.settings)
        if takedowns_file.exists():
            from aggregator.takedowns import load_takedowns, remove_taken_down

            self.takedowns = load_takedowns(takedowns_file)
            remove_taken_down(self.settings.content_dir, self.takedowns)
        report = RunReport()
        # A pool costs a second or so to start: only worth it for many feeds, and only once a
        # body actually needs parsing (a run of 304s never starts one).
        self._use_pool = sum(1 for m in members if not m.paused) >= POOL_THRESHOLD
        try:
            with State(self.settings.state_path) as state, state.batch():
                self._state = state
                self._feed_states = {row.member_id: row for row in state.all()}
                self._file_samples = state.post_file_samples()
                async with Fetcher(user_agent=self.settings.user_agent,
                                   allow_private=self.allow_private,
                                   concurrency=self.settings.concurrency,
                                   per_host=self.settings.per_host,
                                   timeout=self.settings.timeout,
                                   max_bytes=self.settings.max_bytes,
                                   max_redirects=self.settings.max_redirects) as fetcher:
                    tasks = [self._member(m, fetcher, state) for m in members]
                    for result in await asyncio.gather(*tasks):
                        report.results.append(result)
                self._remove_fresh_copies(report, state)
        finally:
            self._state = None
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
        report.elapsed = time.monotonic() - started
        return report

    def _remove_fresh_copies(self, report: RunReport, state: State) -> None:
        """Remove the posts this run wrote as new that repeat another post written or found
        since (crossposts.py: two blogs that published the same writing within the hour), so
        that which one stays never depends on which blog answered first."""
        if len(self._fresh) < 2:
            return
        results = {result.member_id: result for result in report.results}
        for existing, original in copies_among_fresh(self.index(), self._fresh):
            if not self._remove_post(existing, state,
                                     f"it repeats {original.member_id}'s post {original.path}"):
                continue
            logger.info("%s: %s repeats %s's post %s (a cross-post); removed",
                        existing.member_id, existing.original_url or existing.guid,
                        original.member_id, original.path)
            result = results.get(existing.member_id)
            if result is not None:
                result.new = max(0, result.new - 1)
                result.repeats += 1
                result.repeats_new += 1
            feed_state = state.get(existing.member_id)
            if feed_state is not None:  # for the health page
                feed_state.repeats += 1
                state.save(feed_state)

    def index(self) -> PostIndex:
        """Every post file's identity, read the first time a feed has something to write.

        Reading 50,000 file headers (or their cached rows) costs more than a run in which every
        feed answers 304, so such a run never reads them.
        """
        if self._index is None:
            self._index = PostIndex.scan(self.posts_dir, cache=self._state)
        return self._index

    def _has_files(self, member_id: str) -> bool:
        """Whether the member has post files: from the index once read; else from one file the
        cache names, if it is still there; else from the member's folder."""
        if self._index is not None:
            return self._index.count(member_id) > 0
        sample = self._file_samples.get(member_id)
        if sample is not None and os.path.isfile(os.path.join(self.posts_dir, sample)):
            return True
        try:
            with os.scandir(self.posts_dir / member_id) as years:
                for year in years:
                    if not year.is_dir(follow_symlinks=False):
                        continue
                    with os.scandir(year.path) as names:
                        if any(n.name.endswith(".md") and not n.name.startswith(".")
                               for n in names):
                            return True
        except OSError:
            return False
        return False

    async def _member(self, member: Member, fetcher: Fetcher, state: State) -> MemberResult:
        started = time.monotonic()
        result = MemberResult(member.id, member.name, "failed", feed_url=member.feed)
        try:
            async with self._slots:
                await self._member_inner(member, fetcher, state, result)
        except FeedError as exc:
            result.status, result.error = "failed", str(exc)
        except AggregatorError as exc:
            result.status, result.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the per-member boundary: one feed never stops a run
            logger.exception("%s: unexpected error with %s", member.id, member.feed)
            result.status = "failed"
            result.error = f"{member.feed}: internal error ({type(exc).__name__}: {exc})"
        result.elapsed = time.monotonic() - started
        if result.status == "failed":
            self._record_failure(member, state, result)
        state.checkpoint()
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _feed_state(self, member: Member, state: State) -> FeedState:
        feed_state = self._feed_states.pop(member.id, None) or state.get(member.id)
        if feed_state is None or feed_state.url != member.feed:
            # New member, or the maintainer changed the feed URL: start afresh.
            feed_state = FeedState(member_id=member.id, url=member.feed)
        return feed_state

    async def _member_inner(self, member: Member, fetcher: Fetcher, state: State,
                            result: MemberResult) -> None:
        if member.paused:
            result.status = "paused"
            return
        feed_state = self._feed_state(member, state)
        now_ts = self.now.timestamp()
        if not self.force and feed_state.next_attempt and feed_state.next_attempt > now_ts:
            result.status = "gone" if feed_state.gone else "backing-off"
            result.retry_at = feed_state.next_attempt
            result.error = feed_state.last_error
            return
        url = feed_state.fetch_url or member.feed
        result.feed_url = url
        have_files = self._has_files(member.id)
        feed_state.last_attempt = now_ts
        # A member without files (or a forced run) will have a body to parse: it waits for a
        # place in the parsing pipeline before asking, so that fetched bodies never pile up
        # faster than the workers take them. Others ask at once (most get a 304) and wait,
        # holding their body, only when one comes.
        permit = _Permit(self._bodies)
        if not have_files or self.force:
            await permit.take()
        try:
            done = await self._fetch_and_write(member, fetcher, state, result, feed_state,
                                               url=url, have_files=have_files,
                                               permit=permit)
        finally:
            permit.give_back()
        if done is None:
            return
        if member.comments:
            result.comments = await self._comments(member, fetcher, state, done.written,
                                                   done.generator, done.headers)
        # Last: the validators and body hash say "done with this body". A run killed before
        # this point fetches and processes the feed again, threads included.
        self._record_success(feed_state, state)

    async def _fetch_and_write(self, member: Member, fetcher: Fetcher, state: State,
                               result: MemberResult, feed_state: FeedState, *, url: str,
                               have_files: bool, permit: _Permit) -> _Done | None:
        """GET the feed and, when its body is new, parse it and write its posts. None when
        there is nothing more to do (304, an unchanged body, a gone feed)."""
        now_ts = self.now.timestamp()
        conditional = have_files and _converted_now(feed_state, member)
        try:
            fetched = await fetcher.get(url, etag=feed_state.etag if conditional else None,
                                        last_modified=(feed_state.last_modified
                                                       if conditional else None))
        except HttpStatusError as exc:
            if exc.status == 410:
                feed_state.gone = 1
                feed_state.last_status = 410
                feed_state.last_error = f"{url}: the feed is gone (HTTP 410)"
                feed_state.failures += 1
                feed_state.next_attempt = now_ts + self.settings.max_backoff
                state.save(feed_state)
                result.status, result.error = "gone", feed_state.last_error
                result.retry_at = feed_state.next_attempt
                return None
            result.retry_at = exc.retry_after
            raise
        self._after_fetch(feed_state, fetched, result)
        if fetched.status == 304 or fetched.body is None:
            result.status = "not-modified"
            self._record_success(feed_state, state)
            return None
        body_hash = _body_hash(member, fetched.body)
        if have_files and body_hash == feed_state.body_hash and not self.force:
            result.status = "unchanged"
            self._record_success(feed_state, state)
            return None
        await permit.take()
        processed = await self._process(member, fetched, url)
        written, result.repeats = await self._write(member, processed.posts, state, url=url,
                                                    present=processed.guids)
        result.deleted = await self._follow_deletions(member, fetcher, processed, state)
        new = sum(1 for w in written if w.new)
        updated = sum(1 for w in written if w.changed and not w.new)
        newest = max((w.post.date.timestamp() for w in written), default=None)
        result.status = "fetched"
        result.entries, result.new, result.updated = len(processed.posts), new, updated
        result.moved = sum(1 for w in written if w.moved)
        result.left_out = processed.left_out
        result.warning = processed.warning
        feed_state.body_hash = body_hash
        feed_state.title = processed.title
        feed_state.site = processed.site
        feed_state.posts = len(processed.posts)
        feed_state.left_out = processed.left_out
        result.repeats_new = max(0, result.repeats - feed_state.repeats)
        feed_state.repeats = result.repeats
        if newest is not None:
            feed_state.last_post = max(newest, feed_state.last_post or 0)
        return _Done(written, processed.generator, fetched.headers)

    def _remove_post(self, post: Existing, state: State, why: str) -> bool:
        """Delete a post's file and its thread, and forget both (the index, the thread's
        state): whether it was done. A file that cannot be removed is said so, with `why` it
        had to go; the next fetch that finds the same tries again."""
        from aggregator.takedowns import remove_post_files

        try:
            remove_post_files(self.settings.content_dir, Path(post.path), post.slug)
        except OSError as exc:
            logger.warning("%s: %s could not be removed (%s): %s", post.member_id, post.path,
                           why, exc)
            return False
        self.index().forget(post)
        state.forget_thread(post.slug)
        return True

    async def _follow_deletions(self, member: Member, fetcher: Fetcher,
                                processed: _Processed, state: State) -> int:
        """Remove the member's posts that their blog deleted (deletions.py); how many."""
        from aggregator.deletions import gone_from_blog, missing_posts

        index = self.index()
        removed = 0
        for post in missing_posts(index.posts(member.id), processed.posts, processed.guids):
            status = await gone_from_blog(fetcher, str(post.original_url))
            if status is None or not self._remove_post(
                    post, state, f"{post.original_url} is gone from the blog (HTTP {status})"):
                continue
            logger.warning("%s: %s is gone from the blog (HTTP %d): %s removed here too",
                           member.id, post.original_url, status, post.path)
            removed += 1
        return removed

    async def _comments(self, member: Member, fetcher: Fetcher, state: State,
                        written: list[_Written], generator: str | None,
                        headers: Mapping[str, str]) -> int:
        """Fetch and write the threads that need it; returns comment files written or removed.

        A post whose thread was never fetched gets it whole, whatever its age (a new post, a
        member who joins with an archive, or a run that was interrupted). After that a thread
        is refreshed only while its post is younger than COMMENTS_MAX_AGE_DAYS, and only when
        the feed's comment count changed or is unknown.
        """
        from aggregator.comment_files import sync_thread
        from aggregator.comments import (
            ThreadInfo,
            discover_sources,
            fetch_thread,
            rest_root_from_link_header,
        )
        from aggregator.parse import wp_post_id

        rest_root = rest_root_from_link_header(headers.get("link"))
        taken_down = self.takedowns.comment_filter(member.id) if self.takedowns else None
        wordpress = "wordpress" in (generator or "").lower() or rest_root is not None
        max_age = self.settings.comments_max_age_days * 86400
        jobs = []
        for item in written:
            post = item.post
            info = ThreadInfo(post_guid=post.guid, post_url=post.original_url,
                              comment_feed=post.comment_feed, comment_count=post.comment_count,
                              wp_post_id=wp_post_id(post.guid), rest_root=rest_root,
                              wordpress=wordpress)
            if not discover_sources(info):
                continue
            thread = state.get_thread(item.slug)
            if thread is not None:  # fetched before: refresh only young, changed threads
                if (self.now - post.date).total_seconds() > max_age:
                    continue
                if post.comment_count is not None and thread.count == post.comment_count:
                    continue
            jobs.append((item, info, thread))

        async def one(item: _Written, info: ThreadInfo, thread: ThreadState | None) -> int:
            outcome = await fetch_thread(fetcher, info,
                                         validators=thread.validators if thread else None)
            if not outcome.answered and outcome.errors:
                logger.info("%s: comments of %s not fetched: %s", member.id,
                            item.post.original_url or item.post.guid, outcome.errors[0])
                return 0
            changes = 0
            if not outcome.not_modified:
                report = sync_thread(self.settings.content_dir, item.slug, outcome.comments,
                                     complete=outcome.complete, taken_down=taken_down)
                changes = len(report.written) + len(report.removed)
            validators = dict(thread.validators) if thread else {}
            validators.update(outcome.validators)
            state.save_thread(ThreadState(item.slug, member.id, item.post.comment_count,
                                          self.now.timestamp(), validators))
            return changes

        counts = await asyncio.gather(*(one(*job) for job in jobs))
        return sum(counts)

    def _after_fetch(self, feed_state: FeedState, fetched: FetchResult,
                     result: MemberResult) -> None:
        feed_state.last_status = fetched.status
        if fetched.status != 304:
            feed_state.etag = fetched.etag
            feed_state.last_modified = fetched.last_modified
        if fetched.permanent_redirect and fetched.permanent_redirect != feed_state.url:
            feed_state.fetch_url = fetched.permanent_redirect
            feed_state.redirected_to = fetched.permanent_redirect
            logger.warning("%s: %s moved permanently to %s; update members.yaml",
                           feed_state.member_id, fetched.url, fetched.permanent_redirect)
        result.redirect = feed_state.redirected_to

    async def _process(self, member: Member, fetched: FetchResult, url: str) -> _Processed:
        assert fetched.body is not None
        job = _Job(member, fetched.body, dict(fetched.headers), url,
                   self.index().previous(member.id),
                   dict(self.settings.sectors), self.settings.summary_words, self.now)
        return await self._in_pool(process_feed, job, url)

    async def _in_pool(self, work: Callable[[_In], _Out], job: _In, url: str) -> _Out:
        """`work(job)` in the process pool (a thread for small runs), bounded in time."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            executor = self._pool()
            if executor is None:
                _import_for_threads()
            future = loop.run_in_executor(executor, work, job)
            try:
                return await asyncio.wait_for(future, PROCESS_TIMEOUT)
            except TimeoutError as exc:
                raise FeedError(url, f"took longer than {PROCESS_TIMEOUT:.0f} s to process") \
                    from exc
            except BrokenProcessPool as exc:
                # A worker died (killed, out of memory): every job in flight fails with it.
                # Start a fresh pool and try once more, so one feed cannot sink the others.
                # (Writing twice is harmless: a file that already holds the bytes is left.)
                if self._executor is executor and executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = None
                if attempt == 2:
                    raise FeedError(url, "processing this feed crashed a worker process "
                                         "twice") from exc
                logger.warning("%s: a worker process died; retrying with a fresh pool", url)
        raise AssertionError("unreachable")

    def _pool(self) -> Executor | None:
        """The process pool, started on first use (None: parse in a thread)."""
        if self._use_pool and self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=max(1, min(os.cpu_count() or 1, 4)),
                mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    async def _write(self, member: Member, posts: list[Post], state: State, *,
                     url: str, present: frozenset[str]) -> tuple[list[_Written], int]:
        """Give each post its slug and path (here: the index is the run's), then have a worker
        render and write the files; with how many new posts repeat another member's
        (crossposts.py) and are not written. `present`: the guids of every entry of the
        feed, those a topic filter leaves out too (a post of ours under one of them has not
        moved)."""
        index = self.index()
        takedowns = self.takedowns if self.takedowns is not None and self.takedowns.items \
            else None
        items: list[tuple[Post, str, str]] = []
        new: list[bool] = []
        moved: list[bool] = []
        repeats = 0
        # Oldest first, so that when two posts want the same slug the older one keeps it.
        for post in sorted(posts, key=lambda p: (p.date, p.guid)):
            if takedowns is not None and takedowns.covers(
                    member.id, guid=post.guid, url=post.original_url, title=post.title,
                    date=post.date):
                continue
            known = index.get(member.id, post.guid)
            was = index.moved(post, present) if known is None or not known.exists() else None
            if was is not None:  # the blog moved: the same post under a new guid
                logger.info("%s: %s is %s under a new address or id; kept as that post",
                            member.id, post.original_url or post.guid, was.path)
                index.take_over(was, post)
                known = index.get(member.id, post.guid)
            if was is None and (known is None or not known.exists()):
                original = repeated(index, post, self._fresh)
                if original is not None:
                    logger.info("%s: %s repeats %s's post %s (a cross-post); not written",
                                member.id, post.original_url or post.guid,
                                original.member_id, original.path)
                    repeats += 1
                    continue
            moved.append(was is not None)
            new.append(known is None or not known.exists())
            slug, path = index.assign(post)
            items.append((post, slug, str(path)))
        rows = await self._in_pool(write_posts, _WriteJob(self.posts_dir, member.id,
                                                          member.content, items), url)
        state.save_post_files([row for row in rows if row is not None])
        for (post, _slug, _path), is_new, row in zip(items, new, rows, strict=True):
            existing = index.get(member.id, post.guid)
            if is_new and row is not None and existing is not None:
                self._fresh[existing.path] = existing
        return [_Written(post, slug, is_new, row is not None, was_moved)
                for (post, slug, _), is_new, row, was_moved in zip(items, new, rows, moved,
                                                                    strict=True)], repeats

    def _record_success(self, feed_state: FeedState, state: State) -> None:
        feed_state.last_success = self.now.timestamp()
        feed_state.failures = 0
        feed_state.next_attempt = None
        feed_state.gone = 0
        feed_state.last_error = None
        state.save(feed_state)

    def _record_failure(self, member: Member, state: State, result: MemberResult) -> None:
        feed_state = self._feed_state(member, state)
        now_ts = self.now.timestamp()
        feed_state.last_attempt = now_ts
        feed_state.failures += 1
        feed_state.last_error = result.error
        delay = backoff_delay(feed_state.failures, cap=self.settings.max_backoff)
        if result.retry_at is not None:  # Retry-After, in seconds from now
            delay = min(self.settings.max_backoff, max(result.retry_at, 0.0))
        feed_state.next_attempt = now_ts + delay
        result.retry_at = feed_state.next_attempt
        state.save(feed_state)


def run_fetch(settings: Settings, members: Iterable[Member], *, allow_private: bool = False,
              now: datetime | None = None, force: bool = False,
              on_result: Callable[[MemberResult], None] | None = None) -> RunReport:
    """Run one fetch over `members` and return its report."""
    runner = FetchRun(settings, allow_private=allow_private, now=now, force=force,
                      on_result=on_result)
    return asyncio.run(runner.run(members))
