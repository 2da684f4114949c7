"""Comment folders already read, kept between builds: a rebuild reads only folders that changed.

A network of 20,000 posts has 60,000 comment files; parsing them all on every hourly build is
seconds of work for threads that mostly never change. A folder's key is its listing (each
`.md` file's name, size and modification time); while the key is the same, the comments read
from it last time are used again. Folders with an unusable file are never kept, so their
warnings are logged on every build. The cache carries a signature of the code and settings that
turn files into comments (this plugin, the aggregator's cleaner, the Markdown settings); any
other signature and it is ignored. It lives in CACHE_PATH, like Pelican's own caches, and
follows CACHE_CONTENT / LOAD_CONTENT_CACHE.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from aggregator.atomic import write_atomic
from aggregator.errors import WriteError

logger = logging.getLogger(__name__)

CACHE_FILE = "comment_folders.pickle"
CACHE_VERSION = 1
Listing = tuple[tuple[str, int, int], ...]  # (name, size, mtime_ns) of each .md file, sorted
Row = tuple[Any, ...]  # a comment's fields, in the node type's order, unthreaded


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


class FolderCache:
    """Post slug → (listing, the comments read from it as field tuples)."""

    def __init__(self, path: Path | None, signature: str, node_type: type, *,
                 load: bool) -> None:
        self.path = path
        self.signature = signature
        self.node_type = node_type
        self.names = [f.name for f in fields(node_type)]
        self.entries: dict[str, tuple[Listing, list[Row]]] = {}
        self.used: dict[str, tuple[Listing, list[Row]]] = {}
        self.changed = False
        self.fresh: set[str] = set()  # folders put in this build: no need to list them again
        if path is not None and load:
            self.entries = self._load(path)

    def _load(self, path: Path) -> dict[str, tuple[Listing, list[Row]]]:
        try:
            with path.open("rb") as handle:
                data = pickle.load(handle)  # noqa: S301 - our own cache, as Pelican's are
        except FileNotFoundError:
            return {}
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
            logger.warning("%s: comment folder cache unreadable, rebuilt: %s", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION \
                or data.get("signature") != self.signature \
                or data.get("fields") != self.names or not isinstance(data.get("folders"), dict):
            return {}
        return data["folders"]  # type: ignore[no-any-return]

    def rows_of(self, slug: str, key: Listing) -> list[Row] | None:
        """The rows of an unchanged folder (`nodes` makes them comments), kept for the next
        build too; None if the folder is new or changed."""
        entry = self.entries.get(slug)
        if entry is None or entry[0] != key:
            self.changed = True
            return None
        self.used[slug] = entry
        return entry[1]

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

    def put(self, slug: str, key: Listing, nodes: Sequence[Any]) -> None:
        """Keep a folder's comments for the next build."""
        if self.path is not None:
            self.put_rows(slug, key, self.rows(nodes))

    def put_rows(self, slug: str, key: Listing, rows: list[Row]) -> None:
        """Keep a folder's comments, as `rows` made them, for this build and the next."""
        if self.path is None:
            return
        self.entries[slug] = self.used[slug] = (key, rows)
        self.fresh.add(slug)
        self.changed = True

    def key(self, slug: str) -> Listing | None:
        """The listing of a folder put in this build (it need not be listed again)."""
        return self.entries[slug][0] if slug in self.fresh else None

    def save(self) -> None:
        """Keep the folders used in this build (others are dropped), atomically."""
        if self.path is None or (not self.changed and len(self.used) == len(self.entries)):
            return
        data = {"version": CACHE_VERSION, "signature": self.signature, "fields": self.names,
                "folders": self.used}
        try:
            write_atomic(self.path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        except WriteError as exc:
            logger.warning("comment folder cache not saved: %s", exc)
