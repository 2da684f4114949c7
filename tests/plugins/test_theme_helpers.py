"""The theme's chart filter (plugins/theme_helpers/charts.py): posts per month, as charted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from plugins.theme_helpers.charts import monthly_counts


@dataclass
class Post:
    date: datetime


def test_monthly_counts_place_each_post_in_its_utc_month_of_the_last_year() -> None:
    east, west = timezone(timedelta(hours=5)), timezone(timedelta(hours=-8))
    posts = [Post(datetime(2019, 6, 1, tzinfo=UTC)),  # years before the chart: not counted
             Post(datetime(2025, 11, 30, 23, 0, tzinfo=UTC)),  # before the first month
             Post(datetime(2025, 12, 1, 4, 0, tzinfo=east)),  # 30 Nov 23:00 UTC: not counted
             Post(datetime(2025, 12, 1, 0, 0, tzinfo=UTC)),  # the first month's first instant
             Post(datetime(2026, 3, 31, 20, 0, tzinfo=west)),  # 1 April in UTC
             Post(datetime(2026, 4, 15, 12, 0)),  # no zone: taken as UTC
             Post(datetime(2026, 12, 1, tzinfo=UTC))]  # after the chart's last month
    series = monthly_counts(posts, datetime(2026, 11, 20, tzinfo=UTC), 12)
    assert [label for label, _ in series][:2] == ["Dec 2025", "Jan 2026"]
    assert series[-1][0] == "Nov 2026"
    assert dict(series) == {**{label: 0 for label, _ in series},
                            "Dec 2025": 1, "Apr 2026": 2}
    # without an end, the chart ends with the newest post's month
    assert monthly_counts(posts[:3])[-1] == ("Nov 2025", 2)
