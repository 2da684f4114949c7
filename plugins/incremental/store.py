"""Articles kept between builds: a post file that did not change is not made into an Article
again.

Pelican makes every post an Article on every build. Its reader cache spares Markdown, but
loading that cache, hashing every file to see whether it changed, and constructing and
validating each Article still cost about a quarter of a millisecond a post: five seconds of
every publish at 20,000 posts. This store is the "generator" caching layer Pelican offers
(CONTENT_CACHING_LAYER = "generator"), done so that it can be: each Article is kept as Pelican
made it (read and validated, before any generator signal changed it), pickled on its own with
the build's settings and context left out as references (Pelican's own generator cache pickles
the whole context through each article, and so every other article), and keyed by its file's
size, modification time and inode. A file with the same stamp is unpickled, not read.

Beside each article, what the last build worked out from the finished article (its URL,
save_as and the writer's own digest of it: keys.own_digest) is kept too. It follows from the
file, the settings, the code and the registry, so it is used again while those are unchanged.

The store is an SQLite database in CACHE_PATH: one row per article, looked up as the generator
lists the files, written as they are read, so no build holds every pickle in memory at once.
It is valid for one key (settings, code, library versions: build.py); with any other it starts
empty. Rows are committed once the articles are made; a killed build loses only its own rows.
A build from scratch removes the file with the other caches.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .keys import OWN_ATTRIBUTE, SAVE_AS_ATTRIBUTE, URL_ATTRIBUTE

logger = logging.getLogger(__name__)

STORE_FILE = "articles.sqlite3"
STORE_VERSION = "1"
EXTRA_ATTRIBUTES = (URL_ATTRIBUTE, SAVE_AS_ATTRIBUTE, OWN_ATTRIBUTE)
Stamp = tuple[int, int, int]  # size, mtime_ns, inode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
    inode INTEGER NOT NULL, state BLOB NOT NULL, url TEXT, save_as TEXT, own TEXT);
"""


class StoreError(RuntimeError):
    """The store cannot be used (posts are read from their files instead)."""


def file_stamp(path: str) -> Stamp | None:
    """Size, modification time and inode: the aggregator replaces files by renaming a new one
    over them, so a changed post has a new inode even within one clock tick."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, refs: Mapping[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._refs = refs

    def persistent_id(self, obj: Any) -> str | None:
        return self._refs.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, refs: Mapping[str, Any]) -> None:
        super().__init__(file)
        self._refs = refs

    def persistent_load(self, pid: Any) -> Any:
        try:
            return self._refs[pid]
        except KeyError:
            raise pickle.UnpicklingError(f"unknown reference {pid!r}") from None


class ArticleStore:
    """Source name (as the generator lists it) → stamp, pickled Article, extras.

    `refs` are the build's shared objects (settings, context) that articles point to: pickled
    as their names, restored as this build's objects. `key` must match for the articles to be
    used (settings, code); `extras_key` for the extras (that, and the registry). Without a
    folder the store keeps nothing."""

    def __init__(self, folder: Path | None, key: str, extras_key: str, refs: Mapping[str, Any],
                 *, load: bool) -> None:
        self.folder = folder
        self.key = key
        self.extras_key = extras_key
        self.refs = dict(refs)
        self._ids = {id(obj): name for name, obj in self.refs.items()}
        self.names: dict[int, tuple[str, Stamp]] = {}  # id(article) → its name and stamp
        self._pending: tuple[str, Stamp | None] | None = None  # a file being read: its stamp
        self._seen: set[str] = set()
        self._extras_kept: set[int] = set()  # articles whose extras came from the store
        self._extras_valid = False
        self._db: sqlite3.Connection | None = None
        self.kept = 0  # articles unpickled in this build
        self.read = 0  # articles read from their files and put here
        if folder is not None:
            path = folder / STORE_FILE
            try:
                self._db = self._open(path, load=load)
            except sqlite3.DatabaseError as exc:  # damaged: start a new one
                logger.warning("%s: article store unusable, replaced (every post is read "
                               "again): %s", path, exc)
                try:
                    path.unlink(missing_ok=True)
                    self._db = self._open(path, load=load)
                except (sqlite3.Error, OSError) as again:
                    logger.warning("%s: no article store this build: %s", path, again)
            except (sqlite3.Error, OSError) as exc:
                logger.warning("%s: no article store this build (posts are read from their "
                               "files): %s", path, exc)

    @property
    def active(self) -> bool:
        return self._db is not None

    def _open(self, path: Path, *, load: bool) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.executescript(_SCHEMA)
            db.execute("PRAGMA synchronous = OFF")  # a cache: a crash costs a re-read, no more
            meta = dict(db.execute("SELECT name, value FROM meta"))
            db.execute("BEGIN IMMEDIATE")
            if not load or meta.get("version") != STORE_VERSION or meta.get("key") != self.key:
                db.execute("DELETE FROM articles")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [("version", STORE_VERSION), ("key", self.key),
                                ("extras_key", "")])
                meta["extras_key"] = ""
            self._extras_valid = meta.get("extras_key") == self.extras_key
        except BaseException:
            db.close()
            raise
        return db

    def get(self, name: str, path: str) -> Any | None:
        """The article made from `name` (at `path`) by an earlier build, if the file is the
        same; None: read it (and `put` the result)."""
        if self._db is None:
            return None
        self._seen.add(name)
        stamp = file_stamp(path)  # before reading: a file changed meanwhile is read next time
        row = self._db.execute("SELECT size, mtime, inode, state, url, save_as, own "
                               "FROM articles WHERE name = ?", (name,)).fetchone()
        if stamp is None or row is None or tuple(row[:3]) != stamp:
            self._pending = (name, stamp)
            return None
        try:
            article = _Unpickler(io.BytesIO(row[3]), self.refs).load()
        except Exception as exc:  # noqa: BLE001 - any failure: read the file instead
            logger.warning("%s: kept article unusable, read again: %s", path, exc)
            self._pending = (name, stamp)
            return None
        self.names[id(article)] = (name, stamp)
        self.kept += 1
        if self._extras_valid and None not in row[4:]:
            article.__dict__.update(zip(EXTRA_ATTRIBUTES, row[4:], strict=True))
            self._extras_kept.add(id(article))
        return article

    def put(self, name: str, article: Any) -> None:
        """Keep an article just read and validated, as it is now (before any signal)."""
        pending, self._pending = self._pending, None
        stamp = pending[1] if pending and pending[0] == name else None
        if self._db is None or stamp is None:
            return
        self.read += 1
        buffer = io.BytesIO()
        try:
            _Pickler(buffer, self._ids).dump(article)
        except Exception as exc:  # noqa: BLE001 - not kept: read again next time
            logger.debug("%s: not kept in the article store: %s", name, exc)
            return
        self._db.execute("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, NULL, NULL, "
                         "NULL)", (name, *stamp, buffer.getvalue()))
        self.names[id(article)] = (name, stamp)

    def save(self) -> None:
        """The articles are made: forget the files no longer listed, commit."""
        if self._db is None:
            return
        try:
            gone = [(name,) for (name,) in self._db.execute("SELECT name FROM articles")
                    if name not in self._seen]
            self._db.executemany("DELETE FROM articles WHERE name = ?", gone)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.warning("article store not saved (posts are read again next time): %s", exc)
            self.close()

    def save_extras(self, articles: Iterable[Any]) -> None:
        """Keep what this build worked out for each finished article (build.py calls this
        once the build succeeded), then close."""
        if self._db is None:
            return
        rows = []
        for article in articles:
            known = self.names.get(id(article))
            state = article.__dict__
            if known is not None and id(article) not in self._extras_kept \
                    and all(name in state for name in EXTRA_ATTRIBUTES):
                rows.append((*(str(state[name]) for name in EXTRA_ATTRIBUTES), known[0],
                             *known[1]))
        if not rows and self._extras_valid:
            self.close()
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            if not self._extras_valid:
                self._db.execute("UPDATE articles SET url = NULL, save_as = NULL, own = NULL")
            self._db.executemany("UPDATE articles SET url = ?, save_as = ?, own = ? "
                                 "WHERE name = ? AND size = ? AND mtime = ? AND inode = ?",
                                 rows)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('extras_key', ?)",
                             (self.extras_key,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.warning("article store: extras not saved: %s", exc)
        self.close()

    def close(self) -> None:
        """Close the database; what was not committed is rolled back."""
        if self._db is not None:
            self._db.close()
            self._db = None
