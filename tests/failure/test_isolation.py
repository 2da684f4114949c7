"""One member's garbage never stops the others, however long it lasts, and its health shows it."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.members import load_members
from aggregator.run import FetchRun
from aggregator.settings import load_settings
from tests.failure.network import RSS, posts_feed
from tests.httpserver import LoopbackServer, Reply, Request

GARBAGE = b"\x00\xffthis is not a feed<<<>>>" * 50
def health(state: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(state)
    db.row_factory = sqlite3.Row
    rows = {row["member_id"]: row for row in db.execute("SELECT * FROM feeds")}
    db.close()
    return rows


def test_garbage_from_some_members_never_stops_the_others_in_the_process_pool(
        tmp_path: Path, server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")

    def slow_good(body: bytes):  # type: ignore[no-untyped-def]
        def handle(request: Request) -> Reply:
            time.sleep(0.5)  # parsed after the garbage has reached the pool
            return Reply(200, body, RSS)
        return handle

    lines = ["members:"]
    for m in range(10):
        if m < 2:
            server.routes[f"/m{m}/feed/"] = Reply(200, GARBAGE, RSS)
        else:
            server.routes[f"/m{m}/feed/"] = slow_good(posts_feed(base, m, 2))
        lines += [f"  - name: Member {m}", f"    id: m{m}", f"    feed: {base}/m{m}/feed/",
                  "    comments: false"]
    (tmp_path / "members.yaml").write_text("\n".join(lines) + "\n")
    state = tmp_path / "var" / "state.sqlite3"
    assert main(["fetch", "--members", str(tmp_path / "members.yaml"), "--content",
                 str(tmp_path / "content"), "--state", str(state),
                 "--allow-private-networks"]) == 0
    rows = health(state)
    assert {m: rows[m]["failures"] for m in rows} == {
        **{f"m{m}": 1 for m in range(2)}, **{f"m{m}": 0 for m in range(2, 10)}}
    assert "not a readable feed" in rows["m0"]["last_error"]
    assert len(list((tmp_path / "content").rglob("*.md"))) == 8 * 2


def test_thirty_days_of_garbage_never_stop_the_others_and_show_in_health(
        tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    base = server.url("").rstrip("/")
    day = {"n": 0}

    def growing(member: int):  # type: ignore[no-untyped-def]
        def handle(request: Request) -> Reply:  # one more post every day
            return Reply(200, posts_feed(base, member, day["n"] + 1), RSS)
        return handle

    server.routes["/bad/feed/"] = Reply(200, GARBAGE, {"Content-Type": "text/xml"})
    server.routes["/good1/feed/"] = growing(1)
    server.routes["/good2/feed/"] = growing(2)
    members_file = tmp_path / "members.yaml"
    members_file.write_text(
        "members:\n"
        f"  - name: Bad\n    id: bad\n    feed: {base}/bad/feed/\n"
        f"  - name: Good One\n    id: good1\n    feed: {base}/good1/feed/\n    comments: false\n"
        f"  - name: Good Two\n    id: good2\n    feed: {base}/good2/feed/\n    comments: false\n")
    settings = replace(load_settings(), members_file=members_file,
                       content_dir=tmp_path / "content", state_path=tmp_path / "var" / "s.db")
    members = load_members(members_file)
    start = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    gaps = []
    for n in range(30):
        day["n"] = n
        now = start + timedelta(days=n)
        report = asyncio.run(FetchRun(settings, allow_private=True, now=now).run(members))
        status = {r.member_id: r.status for r in report.results}
        assert status == {"bad": "failed", "good1": "fetched", "good2": "fetched"}, (n, status)
        bad = health(settings.state_path)["bad"]
        gaps.append(bad["next_attempt"] - bad["last_attempt"])
    rows = health(settings.state_path)
    assert rows["bad"]["failures"] == 30
    assert rows["bad"]["last_success"] is None
    assert f"{base}/bad/feed/" in rows["bad"]["last_error"]
    assert "not a readable feed" in rows["bad"]["last_error"]
    assert gaps[0] == 1800 and max(gaps) == gaps[-1] == 24 * 3600  # backs off, capped at a day
    assert rows["good1"]["failures"] == rows["good2"]["failures"] == 0
    for member in ("good1", "good2"):
        assert len(list((tmp_path / "content" / "posts" / member).rglob("*.md"))) == 30
    capsys.readouterr()
    assert main(["status", "--members", str(members_file), "--state",
                 str(settings.state_path)]) == 0
    out = capsys.readouterr().out
    [bad_line] = [line for line in out.splitlines() if re.search(r"\bbad\b", line)]
    assert re.search(r"\b30\b", bad_line) and "not a readable feed" in out
