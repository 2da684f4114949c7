"""The kept posts' light parts in one pickle: a publish makes 20,000 articles in one call.

The article store (store.py) keeps each post in a row of its own, its light part pickled on
its own. A publish at 20,000 posts fetched 20,000 rows, unpickled 20,000 small pickles and made
each article from its names and values in Python: 0.27-0.31 s. The snapshot holds the light
state of every kept post (and what the last build worked out for it: URL, save_as, own digest)
in one pickle, which one C call unpickles (0.07-0.1 s; the articles are then made, and their
stamps compared, in 0.08-0.1 s). The references in it (the build's settings and context,
shared tags, categories, authors and time zones, classes, sets of names) are pickled as the
store's numbers (its `refs` table), as the rows' are: articles made from it share the very
objects those made from rows share.

It is only ever a faster way to what the rows hold: an entry is used only for a file whose
stamp is the one it was written with, and the file only for the store it was written from
(`Header`: the store's version, key and generation; a store emptied or replaced has another
generation, and its numbers mean other objects). Anything else (missing, unreadable, written
for another store) and the rows are used, as before; an entry whose file changed since is
left to the rows too (a snapshot older than the rows is shorter, never wrong). A publish
writes it again from the rows, after the build succeeded, when it was not used or more than
one kept post in fifty did not come from it (0.4 s at 20,000 posts: once a day or so for a
network publishing hourly). A build from scratch writes none (its memory peaks as it ends);
the first publish after it does.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aggregator.atomic import write_atomic
from aggregator.errors import WriteError

from .listing import Stamp

logger = logging.getLogger(__name__)

SNAPSHOT_FILE = "articles.snapshot"
SNAPSHOT_VERSION = "1"
SLACK = 50  # posts not in the snapshot tolerated whatever the archive's size (and 1 in 50)
Header = tuple[str, str, str, str]  # snapshot version, store version, store key, generation
# source name, file stamp, article class, light state, (url, save_as, own) or None
Entry = tuple[str, Stamp, type, dict[str, Any], tuple[Any, ...] | None]


def stale(outside: int, total: int) -> bool:
    """A snapshot from which `outside` of `total` kept posts did not come is worth writing
    again (a post not in it costs a row's fetch and unpickling, 15-30 µs)."""
    return outside > max(SLACK, total // 50)


def read(path: Path, header: Header, load: Callable[[bytes], Any]
         ) -> tuple[list[Entry], str] | None:
    """The entries, and the extras key their extras were worked out for, if `path` holds a
    snapshot written for `header`; None otherwise (the rows are used)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("%s: unreadable, kept posts are made from the article store's rows: "
                       "%s", path, exc)
        return None
    try:
        written_for, extras_key, entries = load(data)
    except Exception as exc:  # noqa: BLE001 - any damage: the rows hold the same
        logger.warning("%s: unusable, kept posts are made from the article store's rows: %s",
                       path, exc)
        return None
    if written_for != header or not isinstance(entries, list):
        logger.debug("%s: written for another article store, not used", path)
        return None
    return entries, str(extras_key)


def write(path: Path, header: Header, extras_key: str, entries: list[Entry],
          persistent_id: Callable[[Any], Any]) -> bool:
    """Write the snapshot atomically; `persistent_id` gives the store's number of an object
    the rows refer to by number. False (logged) if it could not be written: the one there,
    if any, stays (an older snapshot is never wrong, only shorter: its entries are used only
    for files with the same stamp)."""
    try:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.persistent_id = persistent_id  # type: ignore[method-assign]
        pickler.dump((header, extras_key, entries))
        write_atomic(path, buffer.getvalue())
        return True
    except (WriteError, pickle.PicklingError, TypeError, AttributeError) as exc:
        logger.warning("%s: not written (kept posts it lacks are made from the article "
                       "store's rows): %s", path, exc)
        return False


def remove(path: Path) -> None:
    """No snapshot (the store was emptied: its numbers will mean other objects)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("%s: cannot remove it (delete the cache folder): %s", path, exc)
