"""The theme's filters: posts per month, as charted (charts.py); the topics page (topics.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from plugins.theme_helpers.charts import monthly_counts
from plugins.theme_helpers.filters import excerpt
from plugins.theme_helpers.topics import by_initial, most_used


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


# --- the topics page's filters (plugins/theme_helpers/topics.py) ------------------------------

@dataclass
class Tag:
    name: str


def _tags(**counts: int) -> list[tuple[Tag, list[int]]]:
    return [(Tag(name.replace("_", " ")), list(range(n))) for name, n in counts.items()]


def test_most_used_topics_come_first_ties_by_name() -> None:
    tags = _tags(zebra=2, Apple=5, banana=2, cherry=1, date=9)
    assert [t.name for t, _ in most_used(tags, 3)] == ["date", "Apple", "banana"]
    assert [t.name for t, _ in most_used(tags, 10)][-2:] == ["zebra", "cherry"]
    assert most_used(tags, 0) == []


def test_every_topic_once_under_its_letter() -> None:
    tags = _tags(beta=1, Alpha=1, alpine=2, _3d_printing=1, Écoles=1, apple=1, Beta_2=1)
    letters = by_initial(tags)
    assert [letter for letter, _ in letters] == ["#", "A", "B", "É"]
    assert [[t.name for t, _ in pairs] for _, pairs in letters] == [
        [" 3d printing"], ["Alpha", "alpine", "apple"], ["beta", "Beta 2"], ["Écoles"]]
    assert sum(len(pairs) for _, pairs in letters) == len(tags)


def test_an_excerpt_is_cut_between_words_with_one_ellipsis() -> None:
    text = ("For years our digital team treated them as stakeholders to be briefed. This "
            "autumn we started treating them as researchers. We asked twelve councillors, "
            "and then some more")
    assert excerpt(text, 70) == \
        "For years our digital team treated them as stakeholders to be briefed…"
    assert excerpt(text, 155) == ("For years our digital team treated them as stakeholders to be "
                                  "briefed. This autumn we started treating them as researchers. "
                                  "We asked twelve councillors…")
    assert excerpt("Short   and\nwhole.", 70) == "Short and whole."
    assert excerpt("x" * 100, 10) == "x" * 10 + "…"  # one long word: cut inside it
    assert excerpt(None, 10) == ""
