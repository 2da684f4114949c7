"""The state database is a cache: a corrupt or foreign one is set aside and rebuilt."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aggregator.state import SCHEMA_VERSION, FeedState, PostFile, State


def test_round_trip(tmp_path: Path) -> None:
    with State(tmp_path / "s.sqlite3") as state:
        state.save(FeedState("a", "https://a.org/feed/", etag='"x"', failures=2))
    with State(tmp_path / "s.sqlite3") as state:
        row = state.get("a")
        assert row is not None and row.etag == '"x"' and row.failures == 2
        assert state.get("b") is None


def as_schema(path: Path, version: int, *missing: str) -> None:
    """Put the database back as an older schema left it: without the `missing` columns
    ("table.column") that came after, and with that version number."""
    db = sqlite3.connect(path)
    for column in missing:
        table, name = column.split(".")
        db.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_a_database_of_schema_1_gains_the_new_column_and_keeps_its_rows(tmp_path: Path) -> None:
    """Schema 1 had no `left_out`: the row a run wrote then is kept (validators and all)."""
    path = tmp_path / "s.sqlite3"
    with State(path) as state:
        state.save(FeedState("a", "https://a.org/feed/", etag='"x"', posts=3))
    as_schema(path, 1, "feeds.left_out", "feeds.repeats")
    with State(path) as state:
        row = state.get("a")
        assert row is not None and row.etag == '"x"' and row.posts == 3 and row.left_out == 0
        state.save(FeedState("a", "https://a.org/feed/", etag='"y"', left_out=2))
    with State(path) as state:
        row = state.get("a")
        assert row is not None and row.left_out == 2
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_of_schema_3_gains_the_cross_post_count(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with State(path) as state:
        state.save(FeedState("a", "https://a.org/feed/", etag='"x"', left_out=1))
    as_schema(path, 3, "feeds.repeats")
    with State(path) as state:
        row = state.get("a")
        assert row is not None and row.etag == '"x"' and row.left_out == 1 and row.repeats == 0
        state.save(FeedState("a", "https://a.org/feed/", repeats=2))
    with State(path) as state:
        row = state.get("a")
        assert row is not None and row.repeats == 2


def test_a_database_of_schema_2_forgets_its_post_file_rows_to_read_them_again(
        tmp_path: Path) -> None:
    """Schema 3 keeps each post file's title and address (to know a post that moved): rows
    cached without them are dropped, so the next index reads those files again; the rest
    of the database is kept."""
    path = tmp_path / "s.sqlite3"
    with State(path) as state:
        state.save(FeedState("a", "https://a.org/feed/", etag='"x"'))
        state.save_post_files([PostFile("a/2026/p.md", 1, 2, "a", "g", "a-p", None, None)])
    as_schema(path, 2, "post_files.title", "post_files.original_url", "feeds.repeats")
    with State(path) as state:
        assert state.post_files() == {}
        row = state.get("a")
        assert row is not None and row.etag == '"x"'
        state.save_post_files([PostFile("a/2026/p.md", 1, 2, "a", "g", "a-p", None, None,
                                        "A post", "https://a.org/p/")])
    with State(path) as state:
        assert state.post_files()["a/2026/p.md"].original_url == "https://a.org/p/"


def test_garbage_file_is_moved_aside_with_a_warning(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with State(path) as state:
        assert state.all() == []
        state.save(FeedState("a", "https://a.org/"))
    assert "unreadable" in caplog.text
    assert any(p.name.startswith("s.sqlite3.corrupt-") for p in tmp_path.iterdir())


def test_foreign_database_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.commit()
    db.close()
    with State(path) as state:
        assert state.all() == []
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name and not p.name.endswith(
        ("-wal", "-shm"))]
    assert len(aside) == 1
    tables = sqlite3.connect(aside[0]).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("invoices",) in tables
