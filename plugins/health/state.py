"""Read the aggregator's state database for the health page: read-only, never created.

The aggregator owns var/state.sqlite3 (aggregator/state.py). The site only looks: the file is
opened with `mode=ro`, so a build can never create, migrate or lock it for writing, and a
missing or unreadable database gives an empty snapshot with a note instead of a failed build.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import quote

from aggregator.state import FeedState

logger = logging.getLogger(__name__)

_COLUMNS = tuple(f.name for f in fields(FeedState))


@dataclass(frozen=True)
class StateSnapshot:
    """The feeds table as a dict by member id; `note` says why it is empty, when it is."""

    feeds: dict[str, FeedState] = field(default_factory=dict)
    note: str | None = None

    @property
    def available(self) -> bool:
        return self.note is None


def read_state(path: Path) -> StateSnapshot:
    """Every row of the `feeds` table, read-only; a snapshot with a note if there is none."""
    if not path.is_file():
        return StateSnapshot(note="The aggregator has not run yet here (no state database at "
                                  f"{path.name}), so there is no fetch history to show.")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as exc:
        logger.warning("health: state database %s cannot be opened: %s", path, exc)
        return StateSnapshot(note=f"The state database {path.name} could not be read ({exc}).")
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(feeds)")}
        if not present:
            return StateSnapshot(note=f"The state database {path.name} has no fetch history "
                                      "yet.")
        columns = [c for c in _COLUMNS if c in present]
        # Column names come from the FeedState dataclass, never from input.
        rows = db.execute(f"SELECT {', '.join(columns)} FROM feeds")  # noqa: S608
        feeds = {}
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            feeds[str(values["member_id"])] = FeedState(**values)
        return StateSnapshot(feeds=feeds)
    except (sqlite3.Error, TypeError, KeyError) as exc:
        logger.warning("health: state database %s unreadable: %s", path, exc)
        return StateSnapshot(note=f"The state database {path.name} could not be read ({exc}).")
    finally:
        db.close()
