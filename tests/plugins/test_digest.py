"""The weekly digest's weeks (plugins/digest); the feed itself is checked in tests/site."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from plugins.digest import ended_weeks, week_start

LONDON = ZoneInfo("Europe/London")


def post(title: str, when: datetime, category: str = "Local government",
         author: str = "Ann") -> SimpleNamespace:
    return SimpleNamespace(title=title, date=when, category=category, author=author)


def test_a_week_runs_monday_to_sunday_in_the_sites_time_zone() -> None:
    # Sunday 29 March 2026, 23:30 in London is 22:30 UTC (summer time began at 01:00 UTC)
    assert week_start(datetime(2026, 3, 29, 22, 30, tzinfo=UTC), LONDON) == \
        datetime(2026, 3, 23, tzinfo=LONDON)
    # Monday 00:30 in London in summer is Sunday 23:30 UTC: already the next week
    assert week_start(datetime(2026, 6, 7, 23, 30, tzinfo=UTC), LONDON) == \
        datetime(2026, 6, 8, tzinfo=LONDON)
    assert week_start(datetime(2026, 6, 7, 23, 30), LONDON) == \
        datetime(2026, 6, 8, tzinfo=LONDON)  # a date without a zone is UTC


def test_only_weeks_that_have_ended_are_listed_newest_first_and_empty_ones_skipped() -> None:
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)  # a Friday
    river = [
        post("this week", datetime(2026, 3, 16, 0, 30, tzinfo=UTC)),
        post("last Sunday night", datetime(2026, 3, 15, 23, 59, tzinfo=UTC), "Health"),
        post("last Monday", datetime(2026, 3, 9, 9, tzinfo=UTC), author="Bea"),
        post("three weeks ago", datetime(2026, 2, 25, tzinfo=UTC)),
        post("nine weeks ago", datetime(2026, 1, 14, tzinfo=UTC)),
    ]
    weeks = ended_weeks(river, now, LONDON, weeks=8)
    assert [w.start for w in weeks] == [datetime(2026, 3, 9, tzinfo=LONDON),
                                        datetime(2026, 2, 23, tzinfo=LONDON)]
    last = weeks[0]
    assert [a.title for a in last.articles] == ["last Sunday night", "last Monday"]
    assert last.members == 2
    assert [(sector, [a.title for a in posts]) for sector, posts in last.sectors] == [
        ("Health", ["last Sunday night"]), ("Local government", ["last Monday"])]
    assert ended_weeks(river, now, LONDON, weeks=1) == weeks[:1]


def test_only_the_weeks_listed_are_read_from_the_river() -> None:
    """A build reads the newest posts only, whatever the archive's size."""
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    read: list[int] = []

    def river() -> Iterator[Any]:
        for day in range(10_000):
            read.append(day)
            yield post(f"day {day}", now - timedelta(days=day))

    weeks = ended_weeks(river(), now, LONDON, weeks=2)
    assert sum(len(w.articles) for w in weeks) == 14
    assert len(read) < 30
