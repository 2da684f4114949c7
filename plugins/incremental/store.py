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

An article is kept in three parts. What every build needs of every post (LIGHT_ATTRIBUTES:
what Pelican groups and orders by, what the plugins list, what the writer keys) is all a
publish unpickles; the rest of the state (metadata, summary, the blog's URLs…) is read in the
first time anything asks for one of its attributes, and the body (Pelican's `_content`, two
thirds of an article) the first time it is shown. An hourly publish renders a few dozen pages
showing a few hundred posts: it reads those, not 20,000 (and does not hold them in memory).
The file links Pelican collects from each body (`{static}`, `{attach}`) are kept with the
light part, so listing them needs no body. Tags, categories, time zones and (per member)
authors are pickled as references and shared on loading: one object each, not one per post;
so are the names of the light attributes (a kept article is its class, that reference and a
tuple of values).

The store is an SQLite database in CACHE_PATH: one row per article, all read in one query
when the generator asks for the first, written as they are read. The file stamps come from
the build's listing of the content folder (listing.py) when it has one: no second `stat`.
It is valid for one key (settings, code, library versions: build.py); with any other it starts
empty. Rows are committed once the articles are made; a killed build loses only its own rows.
A build from scratch removes the file with the other caches.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import pickle
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import tz
from pelican.urlwrappers import Author, Category, Tag

from .changes import placement
from .keys import OWN_ATTRIBUTE, SAVE_AS_ATTRIBUTE, URL_ATTRIBUTE
from .listing import ContentListing, Stamp

logger = logging.getLogger(__name__)

STORE_FILE = "articles.sqlite3"
STORE_VERSION = "6"
EXTRA_ATTRIBUTES = (URL_ATTRIBUTE, SAVE_AS_ATTRIBUTE, OWN_ATTRIBUTE)
BODY_ATTRIBUTE = "_incremental_body"  # a kept article: (BodySource, name) until read
LINKS_ATTRIBUTE = "_incremental_static_links"  # a kept article: Pelican's get_static_links()
NAMES_ATTRIBUTE = "_incremental_names"  # a kept article not read whole: its other attributes
REFRESH_ATTRIBUTE = "_incremental_refresh"  # Pelican's metadata refresh, due when read whole
PLAIN_ATTRIBUTE = "_incremental_plain"  # on the classes made here: the class they stand for
# What every build needs of every article (Pelican's grouping and ordering, the plugins' lists,
# the writer's keys): a kept article is made of these alone; the rest of its state is read
# only if something asks for it (the few dozen posts a publish's pages show).
LIGHT_ATTRIBUTES = frozenset({
    "settings", "_context", "date", "_status", "status", "slug", "lang", "in_default_lang",
    "translations", "category", "tags", "author", "authors", "member", "comment_count",
    "title", "relative_source_path", "source_path", "template", "_member_html_sanitized",
    "modified", "translation_id", LINKS_ATTRIBUTE})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
    inode INTEGER NOT NULL, state BLOB NOT NULL, url TEXT, save_as TEXT, own TEXT);
CREATE TABLE IF NOT EXISTS bodies (name TEXT PRIMARY KEY, body TEXT NOT NULL, rest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refs (number INTEGER PRIMARY KEY, pid TEXT NOT NULL);
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


class BodySource:
    """Reads what kept articles left in the store (their bodies and the rest of their state),
    on a connection of its own in each process (the pages are rendered in forked processes;
    an SQLite connection must not cross a fork)."""

    def __init__(self, path: Path, references: _References) -> None:
        self.path = path
        self._references = references  # the store's: the same shared tags, authors, zones
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self.whole = 0  # kept articles loaded whole in this process

    def _row(self, column: str, name: str) -> Any:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                       check_same_thread=False)
            self._pid = os.getpid()
        row = self._db.execute(f"SELECT {column} FROM bodies WHERE name = ?",  # noqa: S608
                               (name,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: what was kept of {name} is missing; delete the "
                             "cache folder (or run `make clean`) and build again")
        return row[0]

    def read(self, name: str) -> str:
        """The article's body."""
        return str(self._row("body", name))

    def rest(self, name: str) -> dict[str, Any]:
        """The article's state but what every build needs of it (LIGHT_ATTRIBUTES)."""
        self.whole += 1
        state = self._references.load(self._row("rest", name))
        return state  # type: ignore[no-any-return]


@cache
def _lazy(cls: type) -> type:
    """A subclass of an article class for kept articles: made from LIGHT_ATTRIBUTES, the rest
    of its state read from the store on first use of any other attribute, its body on first
    use of the body."""

    def get_body(self: Any) -> str:
        state = self.__dict__
        try:
            return str(state["_content"])
        except KeyError:
            source, name = state[BODY_ATTRIBUTE]
            body: str = source.read(name)
            state["_content"] = body
            return body

    def set_body(self: Any, value: str) -> None:
        self.__dict__["_content"] = value

    def __getattr__(self: Any, attribute: str) -> Any:
        """Only for attributes not set: the article's own, still in the store, are read in
        (what this build set since stays as it is); any other is missing, as it would be."""
        state = self.__dict__
        names = state.get(NAMES_ATTRIBUTE)
        if names is None or attribute not in names:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute "
                                 f"{attribute!r}")
        logger.debug("%s: read whole from the article store for %r",
                     state.get("relative_source_path"), attribute)
        load_whole(self)
        return state[attribute]

    def __reduce_ex__(self: Any, protocol: Any) -> tuple[Any, ...]:
        """Pickled as the plain class, whole, with its body (no reference to this store)."""
        load_whole(self)
        state = {key: value for key, value in self.__dict__.items()
                 if key not in (BODY_ATTRIBUTE, LINKS_ATTRIBUTE)}
        state["_content"] = get_body(self)
        return (_restore, (cls, state))

    return type(cls.__name__, (cls,), {"_content": property(get_body, set_body),
                                      "__getattr__": __getattr__,
                                      "__reduce_ex__": __reduce_ex__,
                                      PLAIN_ATTRIBUTE: cls,
                                      "__module__": cls.__module__,
                                      "__qualname__": cls.__qualname__})


def load_whole(article: Any) -> None:
    """Read in the rest of a kept article's state (no-op for any other article), and run
    what was deferred until then (defer_refresh)."""
    state = article.__dict__
    if state.pop(NAMES_ATTRIBUTE, None) is None:
        return
    source, name = state[BODY_ATTRIBUTE]
    for key, value in source.rest(name).items():
        state.setdefault(key, value)
    if state.pop(REFRESH_ATTRIBUTE, False):
        article.refresh_metadata_intersite_links()


def defer_refresh(article: Any) -> bool:
    """Pelican refreshes every article's metadata links once the contexts are made (its
    summary, from the part of a kept article left in the store): for a kept article not read
    whole, do it when it is read. True if deferred."""
    state = article.__dict__
    if NAMES_ATTRIBUTE not in state:
        return False
    state[REFRESH_ATTRIBUTE] = True
    return True


def _restore(cls: Any, state: dict[str, Any]) -> Any:
    article = cls.__new__(cls)
    article.__dict__.update(state)
    return article


# Objects many articles hold equal copies of, pickled as a reference and shared when loaded:
# unpickling 20,000 articles each with its own tags and time zone costs three times as much.
# Authors are shared per name and member: members_directory gives each author its member's id as
# its slug, and two members may have the same name.
_SHARED_WRAPPERS = (Tag, Category)
_UNMADE = object()  # a reference not resolved yet
_SHARED_ZONES = {(cls.__module__, cls.__qualname__): cls
                 for cls in (tz.tzlocal, tz.tzutc, ZoneInfo, timezone)}


def _class_named(module: str, qualname: str) -> Any:
    """The class `module`.`qualname`, imported (as pickle finds a class)."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


@cache
def _class_ref(cls: type) -> tuple[str, str, str] | None:
    """A class's reference, if importing it by name gives this very class (not a class made
    at run time, such as the article classes made in this package)."""
    try:
        same = _class_named(cls.__module__, cls.__qualname__) is cls
    except (ImportError, AttributeError):
        same = False
    return ("class", cls.__module__, cls.__qualname__) if same else None


class _Names(tuple[str, ...]):
    """The names of a kept article's light attributes, in order: pickled as a reference, so
    that each kept article is its values alone (20,000 articles with their own copies of the
    same two dozen names took longer to unpickle and 27 MB more to hold)."""

    __slots__ = ()


class _Pickler(pickle.Pickler):
    """Pickles the build's objects, shared objects and classes as numbers (_References)."""

    def __init__(self, file: Any, refs: _References, ids: Mapping[int, str],
                 member: Any = None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._references = refs
        self._ids = ids
        self._member = member if isinstance(member, str) else None

    def persistent_id(self, obj: Any) -> Any:
        pid = self._pid(obj)
        return None if pid is None else self._references.number(pid)

    def _pid(self, obj: Any) -> Any:
        found = self._ids.get(id(obj))
        if found is not None:
            return found
        cls = type(obj)
        if cls is type:
            return _class_ref(obj)
        if cls is _Names:
            return ("names", *obj)
        if cls is frozenset and all(type(item) is str for item in obj):
            # the names of an article's attributes left in the store, its file links: the
            # same few sets for every article
            return ("frozenset", *sorted(obj))
        if cls in _SHARED_WRAPPERS:
            return ("wrapper", cls.__name__, obj.name)
        if cls is Author:  # one per name and member: each member's id becomes its slug
            return ("author", obj.name, self._member)
        if (cls.__module__, cls.__qualname__) in _SHARED_ZONES:
            if cls is ZoneInfo:
                return ("zone", "zoneinfo", "ZoneInfo", obj.key)
            if cls is timezone and obj is not UTC:
                return None
            return ("zone", cls.__module__, cls.__qualname__, "")
        return None


class _References:
    """What the pickles made by _Pickler refer to, by number: the build's objects (settings,
    context) by name, shared objects (tags, categories, authors, time zones, sets of names),
    one of each, and classes. The numbers are the store's `refs` table: a reference costs a
    pickle a few bytes and its loading a list lookup (20,000 articles are unpickled in every
    publish, each with its class, date, zone, tags, category, authors and two sets of
    names: 0.21 s as separate objects, 0.13 s as references)."""

    def __init__(self, refs: Mapping[str, Any], shared: dict[Any, Any]) -> None:
        self._refs = refs
        self._shared = shared
        self._pids: list[Any] = []  # number → reference
        self._numbers: dict[Any, int] = {}  # reference → number
        self._objects: list[Any] = []  # number → object, once made (_UNMADE until then)
        self.added: list[tuple[int, str]] = []  # numbers given since `added` was emptied

    def known(self, rows: Iterable[tuple[int, str]]) -> None:
        """The numbers given by earlier builds (the `refs` table)."""
        for number, text in rows:
            pid = json.loads(text)
            pid = tuple(pid) if isinstance(pid, list) else pid
            while len(self._pids) <= number:
                self._pids.append(None)
                self._objects.append(_UNMADE)
            self._pids[number] = pid
            self._numbers[pid] = number

    def number(self, pid: Any) -> int:
        found = self._numbers.get(pid)
        if found is None:
            found = self._numbers[pid] = len(self._pids)
            self._pids.append(pid)
            self._objects.append(_UNMADE)
            self.added.append((found, json.dumps(pid)))
        return found

    def load(self, data: bytes) -> Any:
        """Unpickle `data`. A plain Unpickler given `persistent_load` as an attribute: a
        subclass defining it as a method costs two and a half times as much per article
        (20,000 of them are unpickled in every publish)."""
        unpickler = pickle.Unpickler(io.BytesIO(data))  # noqa: S301 - our own cache
        unpickler.persistent_load = self.persistent_load  # type: ignore[assignment]
        return unpickler.load()

    def load_light(self, data: bytes) -> tuple[Any, dict[str, Any]]:
        """A kept article's class and light state, from what `ArticleStore.put` pickled: the
        class, the shared names of its attributes and their values."""
        cls, names, values = self.load(data)
        return cls, dict(zip(names, values, strict=True))

    def persistent_load(self, number: Any) -> Any:
        try:
            found = self._objects[number]
        except (IndexError, TypeError):
            raise pickle.UnpicklingError(f"unknown reference {number!r}") from None
        if found is _UNMADE:
            found = self._objects[number] = self._resolve(self._pids[number])
        return found

    def _resolve(self, pid: Any) -> Any:
        if isinstance(pid, tuple):
            if pid[0] == "frozenset":
                return frozenset(str(item) for item in pid[1:])
            if pid[0] == "names":  # interned, as attribute names are
                return tuple(sys.intern(str(name)) for name in pid[1:])
            if pid[0] == "class" and len(pid) == 3:
                try:
                    return _class_named(str(pid[1]), str(pid[2]))
                except (ImportError, AttributeError) as exc:
                    raise pickle.UnpicklingError(f"no class {pid[1]}.{pid[2]}") from exc
            found = self._shared.get(pid)
            if found is None:
                found = self._shared[pid] = self._make(pid)
            return found
        try:
            return self._refs[pid]
        except (KeyError, TypeError):
            raise pickle.UnpicklingError(f"unknown reference {pid!r}") from None

    def _make(self, pid: tuple[Any, ...]) -> Any:
        """A shared object from its reference: ("wrapper", class name, name) or ("zone",
        module, class name, key)."""
        if pid[0] == "author" and len(pid) == 3 and isinstance(pid[1], str):
            return Author(pid[1], self._refs["settings"])
        if pid[0] == "wrapper" and len(pid) == 3 and isinstance(pid[2], str):
            classes = {cls.__name__: cls for cls in _SHARED_WRAPPERS}
            if pid[1] in classes:
                return classes[pid[1]](pid[2], self._refs["settings"])
        elif pid[0] == "zone" and len(pid) == 4:
            zone: Any = _SHARED_ZONES.get((pid[1], pid[2]))
            if zone is ZoneInfo:
                return ZoneInfo(str(pid[3]))
            if zone is timezone:
                return UTC
            if zone is not None:
                return zone()
        raise pickle.UnpicklingError(f"unknown shared object {pid!r}")


class ArticleStore:
    """Source name (as the generator lists it) → stamp, pickled Article, extras; its body.

    `refs` are the build's shared objects (settings, context) that articles point to: pickled
    as their names, restored as this build's objects. `key` must match for the articles to be
    used (settings, code); `extras_key` for the extras (that, and the registry). Without a
    folder the store keeps nothing. `listing`: the build's listing of the content folder."""

    def __init__(self, folder: Path | None, key: str, extras_key: str, refs: Mapping[str, Any],
                 *, load: bool, listing: ContentListing | None = None) -> None:
        self.folder = folder
        self.key = key
        self.extras_key = extras_key
        self.refs = dict(refs)
        self.listing = listing
        self._ids = {id(obj): name for name, obj in self.refs.items()}
        self.names: dict[int, tuple[str, Stamp]] = {}  # id(article) → its name and stamp
        self._pending: tuple[str, Stamp | None] | None = None  # a file being read: its stamp
        self._seen: set[str] = set()
        self._rows: dict[str, tuple[Any, ...]] | None = None  # name → kept row, once read
        self._ready: dict[str, tuple[Any, Stamp, bool]] | None = None  # _made_ahead
        self._shared: dict[Any, Any] = {}  # tags, categories, time zones: one of each
        self._references = _References(self.refs, self._shared)
        self._extras_kept: set[int] = set()  # articles whose extras came from the store
        self._extras_valid = False
        self._db: sqlite3.Connection | None = None
        self.bodies: BodySource | None = None
        # The posts whose file changed or went since the store kept them: name → the date and
        # lists they were in (changes.placement); None: not known. A changed post back in the
        # same place moves nothing: its name leaves `lost` and its article's id is `in_place`.
        # The writer's dirty pages (changes.py) start where the lost ones stood.
        self.lost: dict[str, tuple[Any, ...]] | None = {}
        self.in_place: set[int] = set()
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
            if self._db is not None:
                self.bodies = BodySource(path, self._references)

    @property
    def active(self) -> bool:
        return self._db is not None

    @property
    def unchanged(self) -> set[int]:
        """The ids of the articles made from kept rows with the extras the last build worked
        out (URL, save_as, own digest): the same files, the same posts (river.py)."""
        return self._extras_kept

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
                db.execute("DELETE FROM bodies")
                db.execute("DELETE FROM refs")
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [("version", STORE_VERSION), ("key", self.key),
                                ("extras_key", "")])
                meta["extras_key"] = ""
            self._extras_valid = meta.get("extras_key") == self.extras_key
            self._references = _References(self.refs, self._shared)
            self._references.known(db.execute("SELECT number, pid FROM refs"))
        except BaseException:
            db.close()
            raise
        return db

    def _stamp(self, name: str, path: str) -> Stamp | None:
        if self.listing is not None:
            found = self.listing.file(name) if self.listing.vouches_for(name) else None
            if found is not None and os.sep == "/":
                return found  # `name` is the generator's path under the listed folder
            listed = self.listing.stamp(path)
            if listed is not False:
                return listed if isinstance(listed, tuple) else None
        return file_stamp(path)

    def _kept_rows(self) -> dict[str, tuple[Any, ...]]:
        """Every kept row (bodies apart), read in one query: 20,000 lookups cost more."""
        if self._rows is None:
            assert self._db is not None
            self._rows = {row[0]: row[1:] for row in self._db.execute(
                "SELECT name, size, mtime, inode, state, url, save_as, own FROM articles")}
            # (size, mtime, inode, state, url, save_as, own): row[:3] compares with a stamp
        return self._rows

    def _made_ahead(self) -> dict[str, tuple[Any, Stamp, bool]]:
        """Name → (article, stamp, extras kept) for every kept row whose file the listing
        shows unchanged, made (`_kept_article`) in one pass when the generator asks for its
        first post, so that `get` is a lookup (at 20,000 posts, `get` went from 0.51 to
        0.32 s in all). Anything unusable here is left to `get`, which says why."""
        ready: dict[str, tuple[Any, Stamp, bool]] = {}
        listing = self.listing
        if listing is None or os.sep != "/":
            return ready
        vouches, stamp_of = listing.vouches_for, listing.file
        for name, row in self._kept_rows().items():
            if not vouches(name) or stamp_of(name) != row[:3]:
                continue
            try:
                article, extras = self._kept_article(name, row)
            except Exception:  # noqa: BLE001, S112 - `get` tries again and says why
                continue
            ready[name] = (article, row[:3], extras)
        return ready

    def _kept_article(self, name: str, row: tuple[Any, ...]) -> tuple[Any, bool]:
        """The article a kept row holds (its light part; the rest read when asked for), with
        the extras if they are valid (True then); raises if the row cannot be unpickled."""
        cls, state = self._references.load_light(row[3])
        kind: Any = _lazy(cls)
        article = kind.__new__(kind)
        state[BODY_ATTRIBUTE] = (self.bodies, name)
        extras = self._extras_valid and None not in row[4:]
        if extras:
            state.update(zip(EXTRA_ATTRIBUTES, row[4:], strict=True))
        article.__dict__ = state  # LIGHT_ATTRIBUTES, the names of the others, the extras
        return article, extras

    def get(self, name: str, path: str) -> Any | None:
        """The article made from `name` (at `path`) by an earlier build, if the file is the
        same; None: read it (and `put` the result)."""
        if self._db is None:
            return None
        self._seen.add(name)
        if self._ready is None:
            self._ready = self._made_ahead()
        made = self._ready.pop(name, None)
        if made is not None:
            article, stamp, extras = made
            del self._kept_rows()[name]
            if extras:
                self._extras_kept.add(id(article))
            self.names[id(article)] = (name, stamp)
            self.kept += 1
            return article
        stamp = self._stamp(name, path)
        row = self._kept_rows().pop(name, None)
        if stamp is None or row is None or row[:3] != stamp:
            if row is not None:
                self._lost(name, row[3])
            self._pending = (name, stamp)
            return None
        try:
            article, extras = self._kept_article(name, row)
        except Exception as exc:  # noqa: BLE001 - any failure: read the file instead
            logger.warning("%s: kept article unusable, read again: %s", path, exc)
            self._pending = (name, stamp)
            return None
        if extras:
            self._extras_kept.add(id(article))
        self.names[id(article)] = (name, stamp)
        self.kept += 1
        return article

    def _lost(self, name: str, state: bytes) -> None:
        """Note where a kept post whose file changed or went stood: its date and lists."""
        if self.lost is None:
            return
        try:
            cls, light = self._references.load_light(state)
            kept = cls.__new__(cls)
            kept.__dict__.update(light)
            self.lost[name] = placement(kept)
        except Exception as exc:  # noqa: BLE001 - not known: the writer assumes the worst
            logger.debug("%s: where its kept post stood is unknown: %s", name, exc)
            self.lost = None

    @property
    def lost_dates(self) -> list[Any] | None:
        """The dates of the posts lost from their place (None: not known)."""
        return None if self.lost is None else [where[0] for where in self.lost.values()]

    def put(self, name: str, article: Any) -> None:
        """Keep an article just read and validated, as it is now (before any signal): what
        every build needs of it (LIGHT_ATTRIBUTES, with the file links Pelican finds in its
        body), then the rest of its state, then its body."""
        pending, self._pending = self._pending, None
        stamp = pending[1] if pending and pending[0] == name else None
        if self._db is None or stamp is None:
            return
        self.read += 1
        if self.lost is not None and name in self.lost:
            try:
                if placement(article) == self.lost[name]:
                    del self.lost[name]
                    self.in_place.add(id(article))
            except Exception as exc:  # noqa: BLE001 - not comparable: it stays lost
                logger.debug("%s: not compared with its kept post: %s", name, exc)
        rest = dict(article.__dict__)
        body = rest.pop("_content", None)
        light, other = io.BytesIO(), io.BytesIO()
        member = rest.get("member")
        try:
            if not isinstance(body, str):
                raise TypeError(f"its body is a {type(body).__name__}")
            rest[LINKS_ATTRIBUTE] = frozenset(article.get_static_links())
            state = {key: rest.pop(key) for key in LIGHT_ATTRIBUTES if key in rest}
            state[NAMES_ATTRIBUTE] = frozenset(rest)
            _Pickler(light, self._references, self._ids, member).dump(
                (type(article), _Names(state), tuple(state.values())))
            _Pickler(other, self._references, self._ids, member).dump(rest)
        except Exception as exc:  # noqa: BLE001 - not kept: read again next time
            logger.debug("%s: not kept in the article store: %s", name, exc)
            return
        self._save_refs()
        self._db.execute("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, NULL, NULL, "
                         "NULL)", (name, *stamp, light.getvalue()))
        self._db.execute("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?)",
                         (name, body, other.getvalue()))
        self.names[id(article)] = (name, stamp)

    def _save_refs(self) -> None:
        """Keep the references numbered since the last call (in the open transaction)."""
        added = self._references.added
        if added and self._db is not None:
            self._db.executemany("INSERT OR REPLACE INTO refs VALUES (?, ?)", added)
            added.clear()

    def save(self) -> None:
        """The articles are made: forget the files no longer listed, commit."""
        if self._db is None:
            return
        try:
            gone = [(name,) for (name,) in self._db.execute("SELECT name FROM articles")
                    if name not in self._seen]
            for (name,) in gone:
                if self._rows is not None and name in self._rows:
                    self._lost(name, self._rows[name][3])
                else:
                    self.lost = None
            self._db.executemany("DELETE FROM articles WHERE name = ?", gone)
            self._db.executemany("DELETE FROM bodies WHERE name = ?", gone)
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
        kept = self._extras_kept  # their extras are the stored ones: most posts, skipped at once
        for article in [a for a in articles if id(a) not in kept] if kept else articles:
            known = self.names.get(id(article))
            state = article.__dict__
            if known is not None and all(name in state for name in EXTRA_ATTRIBUTES):
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
