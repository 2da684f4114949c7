"""The state database (var/state.sqlite3): validators, body hashes, health and back-off.

A cache, never the only copy: posts live in content/. A corrupt or foreign database is moved
aside with a warning and a fresh one is made; the next run rebuilds what it needs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 2: feeds.left_out (topic filters); 3: post_files.title, original_url;
# 4: feeds.repeats (cross-posts)
_APP_ID = 0x50534221  # "PSB!": tells our database from someone else's

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    member_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,              -- the registry's feed URL when this row was written
    fetch_url TEXT,                 -- where we fetch from now (after a permanent redirect)
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_attempt REAL,
    last_success REAL,
    last_status INTEGER,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL,
    redirected_to TEXT,             -- a 301/308 target the maintainer should copy to the registry
    gone INTEGER NOT NULL DEFAULT 0,
    last_post REAL,                 -- date of the newest post seen
    posts INTEGER NOT NULL DEFAULT 0,
    left_out INTEGER NOT NULL DEFAULT 0,  -- entries outside the member's topics, last fetch
    repeats INTEGER NOT NULL DEFAULT 0,   -- new entries repeating another member's post, last fetch
    title TEXT,
    site TEXT
);
CREATE TABLE IF NOT EXISTS post_files (  -- what each post file says, while it is unchanged
    path TEXT PRIMARY KEY,          -- relative to content/posts
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    member_id TEXT NOT NULL,
    guid TEXT NOT NULL,
    slug TEXT NOT NULL,
    date TEXT,
    modified TEXT,
    title TEXT,
    original_url TEXT
);
CREATE TABLE IF NOT EXISTS threads (
    post_slug TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    count INTEGER,                  -- the comment count the posts feed said when last fetched
    fetched REAL,
    validators TEXT                 -- JSON: {url: [etag, last_modified]}
);
"""


@dataclass
class FeedState:
    """One member's row. Times are Unix seconds."""

    member_id: str
    url: str
    fetch_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    failures: int = 0
    next_attempt: float | None = None
    redirected_to: str | None = None
    gone: int = 0
    last_post: float | None = None
    posts: int = 0
    left_out: int = 0  # the last fetch's entries outside the member's topics (selection.py)
    repeats: int = 0  # the last fetch's new entries repeating another member's (crossposts.py)
    title: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class PostFile:
    """A post file's identity as last read: valid while its mtime and size are unchanged."""

    path: str
    mtime_ns: int
    size: int
    member_id: str
    guid: str
    slug: str
    date: str | None
    modified: str | None
    title: str | None = None
    original_url: str | None = None


@dataclass
class ThreadState:
    """When a post's comment thread was last fetched, and what its count was then."""

    post_slug: str
    member_id: str
    count: int | None = None
    fetched: float | None = None
    validators: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


_COLUMNS = tuple(f.name for f in fields(FeedState))
# Column names come from the dataclass above, never from input.
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM feeds"  # noqa: S608
_UPSERT = (f"INSERT OR REPLACE INTO feeds ({', '.join(_COLUMNS)}) "  # noqa: S608
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")


class StateError(Exception):
    """The database file is not ours or is damaged."""


def _add_columns(db: sqlite3.Connection, table: str, *columns: str) -> None:
    """ALTER TABLE … ADD COLUMN for each column the table lacks (an older schema's)."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for column in columns:
        if column.split()[0] not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


class State:
    """Open (or create) the state database; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._batch_every: float | None = None  # seconds between commits while batching
        self._last_commit = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except (sqlite3.DatabaseError, StateError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            logger.warning("%s: state database unreadable (%s); moved to %s and rebuilt from "
                           "content/ (only validators and health history are lost)",
                           path, exc, aside.name)
            for suffix in ("", "-wal", "-shm", "-journal"):
                extra = Path(f"{path}{suffix}")
                if extra.exists():
                    extra.replace(Path(f"{aside}{suffix}"))
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            if app_id not in (0, _APP_ID) or (app_id == 0 and tables):
                raise StateError("not this aggregator's database")
            if version > SCHEMA_VERSION:
                raise StateError(f"made by a newer version (schema {version})")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # a cache: no fsync per commit
            db.executescript(_SCHEMA)
            if version == 1:  # schema 1 had no left_out
                _add_columns(db, "feeds", "left_out INTEGER NOT NULL DEFAULT 0")
            if 0 < version < 3:  # post files' titles and addresses: their rows are read again
                _add_columns(db, "post_files", "title TEXT", "original_url TEXT")
                db.execute("DELETE FROM post_files")
            if 0 < version < 4:
                _add_columns(db, "feeds", "repeats INTEGER NOT NULL DEFAULT 0")
            db.execute(f"PRAGMA application_id = {_APP_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("PRAGMA quick_check").fetchone()
            db.execute("SELECT count(*) FROM feeds").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def get(self, member_id: str) -> FeedState | None:
        row = self._db.execute(f"{_SELECT} WHERE member_id = ?", (member_id,)).fetchone()
        return FeedState(*row) if row else None

    def all(self) -> list[FeedState]:
        rows = self._db.execute(f"{_SELECT} ORDER BY member_id")
        return [FeedState(*row) for row in rows]

    def save(self, feed: FeedState) -> None:
        self._begin_batched()
        self._db.execute(_UPSERT, [getattr(feed, name) for name in _COLUMNS])

    def post_files(self) -> dict[str, PostFile]:
        """The cached header of every post file, by path relative to content/posts."""
        rows = self._db.execute("SELECT path, mtime_ns, size, member_id, guid, slug, date, "
                                "modified, title, original_url FROM post_files")
        return {row[0]: PostFile(*row) for row in rows}

    def post_file_samples(self) -> dict[str, str]:
        """One cached post file per member (path relative to content/posts): a hint of which
        members have files, to be checked against the disk before it is believed."""
        rows = self._db.execute("SELECT member_id, MIN(path) FROM post_files GROUP BY member_id")
        return {row[0]: row[1] for row in rows}

    def save_post_files(self, files: list[PostFile]) -> None:
        if files:
            with self._transaction():
                self._db.executemany("INSERT OR REPLACE INTO post_files VALUES "
                                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(f.path, f.mtime_ns, f.size, f.member_id, f.guid, f.slug,
                                       f.date, f.modified, f.title, f.original_url)
                                      for f in files])

    def forget_post_files(self, paths: list[str]) -> None:
        if paths:
            with self._transaction():
                self._db.executemany("DELETE FROM post_files WHERE path = ?",
                                     [(p,) for p in paths])

    @contextmanager
    def batch(self, *, commit_every: float = 1.0) -> Iterator[State]:
        """Group the writes of a run into a few transactions instead of one per row.

        A commit per row costs a WAL append each; a run of a thousand members writes a row per
        member. Inside `batch()`, writes collect in one open transaction that `checkpoint()`
        commits once `commit_every` seconds have passed, and the end of the block commits the
        rest. A killed run loses at most the last second of a cache, which the next run rebuilds.
        """
        self._batch_every = commit_every
        self._last_commit = time.monotonic()
        try:
            yield self
        finally:
            self._batch_every = None
            if self._db.in_transaction:
                self._db.execute("COMMIT")

    def _begin_batched(self) -> None:
        if self._batch_every is not None and not self._db.in_transaction:
            self._db.execute("BEGIN")

    def checkpoint(self) -> None:
        """Commit the open batch if it is older than the batch's `commit_every`."""
        if (self._batch_every is not None and self._db.in_transaction
                and time.monotonic() - self._last_commit >= self._batch_every):
            self._db.execute("COMMIT")
            self._last_commit = time.monotonic()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._db.in_transaction:  # inside a batch: its commit covers these rows too
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get_thread(self, post_slug: str) -> ThreadState | None:
        row = self._db.execute("SELECT post_slug, member_id, count, fetched, validators FROM "
                               "threads WHERE post_slug = ?", (post_slug,)).fetchone()
        if row is None:
            return None
        try:
            validators = {url: (pair[0], pair[1]) for url, pair in json.loads(row[4]).items()}
        except (TypeError, ValueError, AttributeError, IndexError):
            validators = {}
        return ThreadState(row[0], row[1], row[2], row[3], validators)

    def save_thread(self, thread: ThreadState) -> None:
        self._begin_batched()
        self._db.execute("INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?)",
                         (thread.post_slug, thread.member_id, thread.count, thread.fetched,
                          json.dumps(thread.validators, sort_keys=True)))

    def forget_thread(self, post_slug: str) -> None:
        """A post's thread is gone with its file: were the post written again, its thread
        is fetched whole, as a new post's."""
        self._begin_batched()
        self._db.execute("DELETE FROM threads WHERE post_slug = ?", (post_slug,))

    def close(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
