"""A corrupt or foreign state database is detected, moved aside with a warning, and rebuilt.

The content files are the truth: after the rebuild the run writes exactly what a run with a
healthy database writes, and the bad file is kept (renamed) for a maintainer to look at.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from aggregator.cli import main
from tests.failure.network import serve_network, tree
from tests.httpserver import LoopbackServer


def fetch(root: Path, *extra: str) -> int:
    return main(["fetch", "--members", str(root / "members.yaml"), "--content",
                 str(root / "content"), "--state", str(root / "var" / "state.sqlite3"),
                 "--allow-private-networks", *extra])


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\x00" * 100)


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def zeroed_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[16:100] = bytes(84)
    path.write_bytes(bytes(data))


def foreign(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices VALUES (1, 99.5)")
    db.commit()
    db.close()


def newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()


@pytest.mark.parametrize("damage", [garbage, truncated, zeroed_header, foreign, newer],
                         ids=lambda f: f.__name__)
def test_a_bad_state_database_is_moved_aside_and_rebuilt(
        tmp_path: Path, server: LoopbackServer, damage, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "members.yaml").write_text(serve_network(server, members=3, posts=4))
    assert fetch(tmp_path) == 0
    expected = tree(tmp_path / "content")
    state = tmp_path / "var" / "state.sqlite3"
    db = sqlite3.connect(state)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for extra in state.parent.glob("state.sqlite3-*"):
        extra.unlink()
    damage(state)
    bad = state.read_bytes()
    for path in (tmp_path / "content").rglob("*.md"):
        path.unlink()  # the rebuild must come from the feeds and files, not the old state
    with caplog.at_level(logging.WARNING, logger="aggregator"):
        assert fetch(tmp_path) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("state database unreadable" in w and "moved to" in w for w in warnings), warnings
    [aside] = [p for p in state.parent.iterdir() if ".corrupt-" in p.name
               and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == bad  # kept as it was, for a maintainer
    assert tree(tmp_path / "content") == expected
    db = sqlite3.connect(state)
    assert db.execute("SELECT count(*) FROM feeds").fetchone()[0] == 3
    db.close()
