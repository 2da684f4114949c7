"""The members directory's groups (plugins/members_directory/directory.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from aggregator.models import Member
from plugins.members_directory.directory import (
    Group,
    MemberEntry,
    articles_by_member,
    most_discussed,
)


def _entry(member_id: str, posts: list[SimpleNamespace]) -> MemberEntry:
    return MemberEntry(member=Member(id=member_id, name=member_id.title(),
                                     feed=f"https://{member_id}.example/feed"),
                       url=f"members/{member_id}/", articles=tuple(posts),
                       sector_slug="other", sector_name="Other", region_name=None,
                       organisation_slug=None, quiet=False)


def test_a_groups_newest_posts_are_its_members_posts_sorted_newest_first() -> None:
    """Merged from each member's list, the newest posts are what sorting all of them gives,
    equal dates in member order (as a stable sort of the members' posts in turn)."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [SimpleNamespace(member=f"m{rng.randrange(5)}", n=n,
                             date=start + timedelta(days=rng.randrange(40))) for n in range(200)]
    index = articles_by_member(posts)
    group = Group("g", "G", "groups/g/", tuple(_entry(m, index[m]) for m in sorted(index)))
    everything = [post for entry in group.entries for post in entry.articles]
    for count in (0, 1, 20, 200, 500):
        expected = sorted(everything, key=lambda post: post.date, reverse=True)[:count]
        assert [post.n for post in group.newest(count)] == [post.n for post in expected]


def test_most_discussed_are_the_recent_posts_with_most_comments() -> None:
    """Posts of the last 30 days with comments, most first (newest first on a tie); dates with
    and without a time zone (a post file without an offset is UTC), in any order."""
    now = datetime(2026, 3, 31, tzinfo=UTC)
    posts = [SimpleNamespace(title=title, date=date, comment_count=count)
             for title, date, count in [
        ("old but busy", now - timedelta(days=40), 50),
        ("naive, recent", (now - timedelta(days=2)).replace(tzinfo=None), 3),
        ("aware, recent", now - timedelta(days=5), 7),
        ("quiet", now - timedelta(days=1), 0),
        ("tie, newer", now - timedelta(days=3), 3),
        ("from the future", now + timedelta(days=1), 9),
        ("unknown count", now - timedelta(days=4), "many"),
             ]]
    random.Random(1).shuffle(posts)
    assert [p.title for p in most_discussed(posts, now=now)] == \
        ["aware, recent", "naive, recent", "tie, newer"]
