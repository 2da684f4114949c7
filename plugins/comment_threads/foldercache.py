"""Comment folders already read, kept between builds: a rebuild reads only folders that changed.

A network of 20,000 posts has 60,000 comment files; parsing them all on every hourly build is
seconds of work for threads that mostly never change. A folder's key is its listing (each
`.md` file's name, size and modification time); while the key is the same, the comments read
from it last time are used again. Folders with an unusable file are never kept, so their
warnings are logged on every build. The cache carries a signature of the code and settings that
turn files into comments (this plugin, the aggregator's cleaner, the Markdown settings); any
other signature and it is ignored. It lives in CACHE_PATH, like Pelican's own caches, and
follows CACHE_CONTENT / LOAD_CONTENT_CACHE.

It is an SQLite file, one row per folder: a build reads every folder's listing and count in one
query, and a folder's comments only when a page shows its thread (a publish shows a few dozen
of 20,000); it writes only the folders that changed. (A single pickle of every folder, read and
rewritten whole, cost most of a second and 150 MB at 60,000 comments.)

Beside a folder put with the files the build's walk listed in it (names and stamps, inodes
too), those files (marshalled) and its thread's digest are kept in a small table of their own
(`stamps`): a publish compares each folder's files as its walk found them with these, as
bytes, instead of making each folder's listing again, printing and hashing it (at 20,000
folders, 0.045 s instead of 0.1 s, and the 60 MB of rows are not read for their listings).
Files that differ in anything a listing ignores (another file, an inode) only send the folder
the slower way, which compares listings.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CACHE_FILE = "comment_folders.sqlite3"
CACHE_VERSION = "4"
FEW_LISTINGS = 64  # listings read one by one before all are read at once (kept_listing)
Listing = tuple[tuple[str, int, int], ...]  # (name, size, mtime_ns) of each .md file, sorted
Row = tuple[Any, ...]  # a comment's fields, in the node type's order, unthreaded
Files = list[tuple[str, tuple[int, int, int]]]  # a folder's files as a walk lists them (listing.py)
# marshal's version 2 writes equal lists of names and numbers as equal bytes (later versions
# mark objects referred to twice, which depends on who else holds them): compared as bytes
_MARSHAL = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    slug TEXT PRIMARY KEY, listing TEXT NOT NULL, count INTEGER NOT NULL, rows BLOB NOT NULL);
-- every folder's count, read without the rows beside it (0.026 → 0.009 s for 19,000)
CREATE INDEX IF NOT EXISTS folder_counts ON folders (slug, count);
-- the files a walk listed in a folder put with them (marshal, sorted), and its thread's digest
CREATE TABLE IF NOT EXISTS stamps (slug TEXT PRIMARY KEY, files BLOB NOT NULL,
                                   digest TEXT NOT NULL);
"""


def listing_digest(listing_text: str) -> str:
    """A folder's key for the pages showing its thread: its listing's repr, hashed."""
    return hashlib.blake2b(listing_text.encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def code_signature(*extra: str) -> str:
    """This package's code and the aggregator's cleaner, plus `extra` (settings)."""
    import aggregator.clean

    h = hashlib.blake2b(digest_size=16)
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")) + [Path(aggregator.clean.__file__)]:
        h.update(path.read_bytes())
    for part in extra:
        h.update(part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def listing(folder: Path, *, stamps: bool = True) -> Listing | None:
    """The folder's `.md` files by name, size and mtime (0, 0 without `stamps`: no cache to
    compare with, no stat per file); None if it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            found = []
            for entry in entries:
                if entry.name.endswith(".md") and entry.is_file():
                    stat = entry.stat() if stamps else None
                    found.append((entry.name, stat.st_size if stat else 0,
                                  stat.st_mtime_ns if stat else 0))
    except OSError:
        return None
    return tuple(sorted(found))


class _Reader:
    """Reads kept rows, on a connection of its own in each process (threads are made while
    pages render, in forked processes; an SQLite connection must not cross a fork)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def rows(self, slug: str) -> list[Row]:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                       check_same_thread=False)
            self._pid = os.getpid()
        found = self._db.execute("SELECT rows FROM folders WHERE slug = ?", (slug,)).fetchone()
        if found is None:
            raise RuntimeError(f"{self.path}: the kept comments of {slug} are missing; delete "
                               "the cache folder (or run `make clean`) and build again")
        return pickle.loads(found[0])  # type: ignore[no-any-return]  # noqa: S301 - our cache


class Kept:
    """A folder's comments as the last build read them: the count now, the rows on demand."""

    __slots__ = ("count", "_load", "_rows")

    def __init__(self, count: int, load: Callable[[], list[Row]] | None = None,
                 rows: list[Row] | None = None) -> None:
        self.count = count
        self._load = load
        self._rows = rows

    def rows(self) -> list[Row]:
        if self._rows is None:
            assert self._load is not None
            self._rows = self._load()
        return self._rows


class FolderCache:
    """Post slug → (listing, the comments read from it as field tuples)."""

    def __init__(self, path: Path | None, signature: str, node_type: type, *,
                 load: bool, read_only: bool = False) -> None:
        self.path = path
        self.signature = signature
        self.node_type = node_type
        self.names = [f.name for f in fields(node_type)]
        # slug → (repr of listing, None until read: kept_listing), count), kept
        self.entries: dict[str, tuple[str | None, int]] = {}
        # slug → (its files as a walk listed them, marshalled, and its digest): read only
        # ahead of a publish, where every folder is compared (`unchanged`)
        self.stamps: dict[str, tuple[bytes, str]] = {}
        self._asked = 0  # listings read one by one (kept_listing)
        self.used: set[str] = set()  # folders this build found unchanged or put
        # put in this build: listing, rows, and the files the walk listed (None: not known)
        self.new: dict[str, tuple[Listing, list[Row], Files | None]] = {}
        self._reader: _Reader | None = None
        self._db: sqlite3.Connection | None = None
        self._read_only = read_only
        if path is not None and read_only:
            # only what is kept, if it was kept for these settings (ahead of a publish, in
            # another process: it must not change the file the build uses)
            if load:
                self._db = self._open_read_only(path)
        elif path is not None:
            try:
                self._db = self._open(path, load=load)
            except (sqlite3.Error, OSError) as exc:
                logger.warning("%s: comment folder cache unusable, rebuilt: %s", path, exc)
                try:
                    path.unlink(missing_ok=True)
                    self._db = self._open(path, load=False)
                except (sqlite3.Error, OSError) as again:
                    logger.warning("%s: no comment folder cache this build: %s", path, again)
                    self.path = None
            if self._db is not None:
                self._reader = _Reader(path)

    def _open_read_only(self, path: Path) -> sqlite3.Connection | None:
        """The file opened read-only, every folder's count and stamps read (listings are read
        by `kept_listing` when asked); None if it is missing, unreadable or kept for other
        settings (nothing is unchanged then)."""
        db = None
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            kept = self._kept_in(db, listings=False)
            if kept is None:
                db.close()
                return None
            self.entries = kept
            self.stamps = {slug: (files, digest) for slug, files, digest
                           in db.execute("SELECT slug, files, digest FROM stamps")}
            return db
        except sqlite3.Error as exc:
            logger.debug("%s: comment folder cache not read: %s", path, exc)
            if db is not None:
                db.close()
            self.entries, self.stamps = {}, {}
            return None

    def unchanged(self, walked: Mapping[str, Files | None]) -> dict[str, tuple[str, int]]:
        """Slug → (digest, count) of every folder in `walked` (slug → its files, as the
        build's walk listed them) whose files are, stamps and all, those it was kept with;
        the others must be compared by listing. One loop, no call per folder: 20,000 of
        them are compared ahead of every publish."""
        stamps, entries, dumps = self.stamps, self.entries, marshal.dumps
        found: dict[str, tuple[str, int]] = {}
        for slug, files in walked.items():
            kept = stamps.get(slug)
            if kept is not None and files is not None \
                    and dumps(sorted(files), _MARSHAL) == kept[0]:
                entry = entries.get(slug)
                if entry is not None:
                    found[slug] = (kept[1], entry[1])
        return found

    def _meta(self) -> dict[str, str]:
        """What the file must say it was kept for: this code, these settings, these fields."""
        return {"version": CACHE_VERSION, "signature": self.signature,
                "fields": ",".join(self.names)}

    def _kept_in(self, db: sqlite3.Connection, *, listings: bool = True
                 ) -> dict[str, tuple[str | None, int]] | None:
        """Slug → (repr of listing, count) of every folder `db` keeps; None if it keeps them
        for other code or settings. Without `listings`, each listing is None until
        `kept_listing` reads it (a publish compares them in another process: compare_ahead)."""
        meta = dict(db.execute("SELECT name, value FROM meta"))
        if any(meta.get(k) != v for k, v in self._meta().items()):
            return None
        if not listings:
            return {slug: (None, count)
                    for slug, count in db.execute("SELECT slug, count FROM folders")}
        return {slug: (listing, count) for slug, listing, count
                in db.execute("SELECT slug, listing, count FROM folders")}

    def kept_listing(self, slug: str) -> str | None:
        """The repr of the listing kept for `slug`: read alone for the first few folders
        asked, then all at once (a build that compares every folder here)."""
        entry = self.entries.get(slug)
        if entry is None or entry[0] is not None or self._db is None:
            return entry[0] if entry is not None else None
        self._asked += 1
        if self._asked <= FEW_LISTINGS:
            row = self._db.execute("SELECT listing FROM folders WHERE slug = ?",
                                   (slug,)).fetchone()
            text = row[0] if row is not None else None
            self.entries[slug] = (text, entry[1])
            return text  # type: ignore[no-any-return]
        for kept, text in self._db.execute("SELECT slug, listing FROM folders"):
            count = self.entries.get(kept)
            if count is not None and count[0] is None:
                self.entries[kept] = (text, count[1])
        return self.entries[slug][0]

    def _open(self, path: Path, *, load: bool) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path)
        try:
            db.executescript(_SCHEMA)
            kept = self._kept_in(db, listings=False) if load else None
            if kept is None:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM folders")
                db.execute("DELETE FROM stamps")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               self._meta().items())
                db.execute("COMMIT")
            else:
                self.entries = kept
        except BaseException:
            db.close()
            raise
        return db

    def rows_of(self, slug: str, key: Listing, text: str | None = None) -> Kept | None:
        """An unchanged folder (or one put in this build): its count, and its rows when asked
        (`nodes` makes them comments); None if the folder is new or changed. `text`: the
        key's repr, if the caller has it."""
        if slug in self.new:
            listing, rows, _files = self.new[slug]
            return Kept(len(rows), rows=rows) if listing == key else None
        listed = self.kept_listing(slug)
        if listed is None or listed != (repr(key) if text is None else text):
            return None
        return self.kept(slug)

    def kept(self, slug: str) -> Kept | None:
        """A folder known to be as this cache kept it (its listing compared already)."""
        entry = self.entries.get(slug)
        if entry is None or self._reader is None:
            return None
        self.used.add(slug)
        reader = self._reader
        return Kept(entry[1], lambda: reader.rows(slug))

    def nodes(self, rows: list[Row]) -> list[Any]:
        """Rows as fresh nodes (no children yet): threading never touches the cache."""
        nodes = [self.node_type(*values) for values in rows]
        for node in nodes:  # set by threading: never shared with the cache
            node.children = []
            node.depth = 0
        return nodes

    def rows(self, nodes: Sequence[Any]) -> list[Row]:
        """A folder's comments, read and not yet threaded, as field tuples (no children:
        nothing deep to copy; `dataclasses.astuple` would deep-copy every field, seconds for
        60,000)."""
        unthreaded = {"children": (), "depth": 0}  # threading fills these in, later
        return [tuple(unthreaded[name] if name in unthreaded else getattr(node, name)
                      for name in self.names) for node in nodes]

    def put(self, slug: str, key: Listing, nodes: Sequence[Any], files: Files | None = None
            ) -> None:
        """Keep a folder's comments for the next build (`files`: those `key` was made from,
        as the build's walk listed them, if it was)."""
        if self.path is not None:
            self.put_rows(slug, key, self.rows(nodes), files)

    def put_rows(self, slug: str, key: Listing, rows: list[Row], files: Files | None = None
                 ) -> None:
        """Keep a folder's comments, as `rows` made them, for this build and the next."""
        if self.path is None:
            return
        self.new[slug] = (key, rows, files)
        self.used.add(slug)

    def key(self, slug: str) -> Listing | None:
        """The listing of a folder put in this build (it need not be listed again)."""
        found = self.new.get(slug)
        return found[0] if found is not None else None

    def save(self) -> None:
        """Write the folders put in this build, forget those no build used; one transaction
        (nothing, read-only)."""
        if self._db is None or self._read_only:
            return
        kept = {slug: entry for slug, entry in self.entries.items() if slug in self.used}
        gone = [(slug,) for slug in self.entries if slug not in self.used]
        written, stamped = _records((slug, *put) for slug, put in self.new.items())
        try:
            if gone or written:
                _write(self._db, gone, written, stamped)
        except sqlite3.Error as exc:
            logger.warning("comment folder cache not saved: %s", exc)
            return
        self.entries = {**kept, **{slug: (listing, count)
                                   for slug, listing, count, _rows in written}}
        self.new = {}
        self._db.close()  # written; kept rows are read through the reader from now on
        self._db = None

    def write_apart(self, folders: Sequence[tuple[str, Listing, list[Row], Files | None]]
                    ) -> list[tuple[str, str, int]]:
        """Write folders read in a forked process (comment_threads' preread, ahead of a full
        build), there, on a connection of its own (an SQLite connection must not cross a
        fork): the build's process then takes only their counts and digests (`took_apart`)
        instead of 60,000 comments' rows to pickle, pass over and write itself (1.2 s of
        its time at 20,000 posts). Each folder's (slug, digest, count); raises sqlite3.Error
        or OSError if they are not written (nothing is then: one transaction)."""
        if self.path is None or self._read_only:
            raise sqlite3.OperationalError("no comment folder cache to write to")
        written, stamped = _records(folders)
        db = _connect(self.path)
        try:
            _write(db, [], written, stamped)
        finally:
            db.close()
        digests = {slug: digest for slug, _files, digest in stamped}
        return [(slug, digests.get(slug) or listing_digest(text), count)
                for slug, text, count, _rows in written]

    def took_apart(self, counts: Mapping[str, int]) -> None:
        """Folders (slug → count) that `write_apart` wrote in another process in this build:
        kept as if read from the file (their rows read when a page asks for them)."""
        for slug, count in counts.items():
            self.entries[slug] = (None, count)
        self.used.update(counts)


def _connect(path: Path) -> sqlite3.Connection:
    """The cache file, for writing (transactions begun by hand)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")  # a cache: a crash costs a re-read, no more
    except BaseException:
        db.close()
        raise
    return db


def _records(folders: Iterable[tuple[str, Listing, list[Row], Files | None]]
             ) -> tuple[list[tuple[str, str, int, bytes]], list[tuple[str, bytes, str]]]:
    """The `folders` and `stamps` rows of folders put with their listing, rows and files (a
    folder put without the files its listing was made from keeps no stamps)."""
    written, stamped = [], []
    for slug, key, rows, files in folders:
        text = repr(key)
        written.append((slug, text, len(rows), pickle.dumps(rows, protocol=5)))
        if files is not None:
            stamped.append((slug, marshal.dumps(sorted(files), _MARSHAL), listing_digest(text)))
    return written, stamped


def _write(db: sqlite3.Connection, gone: Sequence[tuple[str]],
           written: Sequence[tuple[str, str, int, bytes]],
           stamped: Sequence[tuple[str, bytes, str]]) -> None:
    """Forget the folders `gone`, write `written` and `stamped`: one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany("DELETE FROM folders WHERE slug = ?", gone)
        # a folder put without its files keeps no stamps: none from an older state
        db.executemany("DELETE FROM stamps WHERE slug = ?",
                       [*gone, *((slug,) for slug, *_ in written)])
        db.executemany("INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?)", written)
        db.executemany("INSERT OR REPLACE INTO stamps VALUES (?, ?, ?)", stamped)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
