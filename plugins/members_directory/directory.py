"""The reader's view of the registry: members with their posts, grouped for the pages.

Pure functions over the registry and Pelican's articles, so they are easy to test. Articles are
matched to members by their `Member:` metadata (the member id), indexed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from heapq import merge
from itertools import islice
from operator import attrgetter
from typing import Any

from aggregator.dates import as_utc
from aggregator.models import Member
from aggregator.slugs import slugify


@dataclass(frozen=True)
class MemberEntry:
    """One member as the pages show them."""

    member: Member
    url: str  # the profile page, relative to the site root
    articles: tuple[Any, ...]  # Pelican articles, newest first
    sector_slug: str
    sector_name: str
    region_name: str | None
    organisation_slug: str | None
    quiet: bool  # has posted, but not for NETWORK_QUIET_AFTER_DAYS

    @property
    def id(self) -> str:
        return self.member.id

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def latest(self) -> datetime | None:
        return self.articles[0].date if self.articles else None


_DATE = attrgetter("date")


@dataclass(frozen=True)
class Group:
    """A named set of members: a sector, an organisation or a region."""

    slug: str
    name: str
    url: str
    entries: tuple[MemberEntry, ...]
    subgroups: tuple[Group, ...] = ()

    def shows(self, kind: str) -> str:
        """What the group's page shows besides its latest posts, as text (the page is keyed
        by it: plugins/incremental renders it again only when this or one of those posts
        changed): the group, and each member's card (name, link, organisation, feed, "quiet"
        and latest post date)."""
        cards = [(e.id, e.name, e.url, e.member.organisation, e.member.feed, e.quiet,
                  e.latest.isoformat() if e.latest else None) for e in self.entries]
        return repr((kind, self.slug, self.name, self.url, cards))

    def newest(self, count: int) -> list[Any]:
        """The group's `count` newest posts (of equal dates, the earlier member's first),
        merged from the members' lists (each newest first) instead of sorting every post of
        the group: a group page shows 20, whatever the archive."""
        return list(islice(merge(*(e.articles for e in self.entries), key=_DATE,
                                 reverse=True), count))


def articles_by_member(articles: Iterable[Any]) -> dict[str, list[Any]]:
    """Index articles by their `member` metadata, newest first."""
    index: dict[str, list[Any]] = defaultdict(list)
    for article in articles:
        member_id = getattr(article, "member", None)
        if isinstance(member_id, str) and member_id:
            index[member_id].append(article)
    for posts in index.values():
        try:  # aware dates (Pelican's, with TIMEZONE) compare as instants: what as_utc gives
            posts[:] = sorted(posts, key=_DATE, reverse=True)
        except TypeError:  # naive and aware mixed (the list is as it was)
            posts.sort(key=lambda a: as_utc(a.date), reverse=True)
    return index


def build_entries(members: Sequence[Member], articles: Iterable[Any], *,
                  sectors: Mapping[str, str], regions: Mapping[str, str], now: datetime,
                  quiet_after_days: int = 365,
                  profile_url: str = "members/{slug}/") -> list[MemberEntry]:
    """One entry per registry member, in registry order, with their posts attached."""
    index = articles_by_member(articles)
    cutoff = as_utc(now) - timedelta(days=quiet_after_days)
    entries = []
    for member in members:
        posts = tuple(index.get(member.id, ()))
        sector = member.sector or "other"
        entries.append(MemberEntry(
            member=member,
            url=profile_url.format(slug=member.id),
            articles=posts,
            sector_slug=sector,
            sector_name=sectors.get(sector, sector.replace("-", " ").capitalize()),
            region_name=regions.get(member.region, member.region) if member.region else None,
            organisation_slug=(slugify(member.organisation, fallback="organisation")
                               if member.organisation else None),
            quiet=bool(posts) and as_utc(posts[0].date) < cutoff,
        ))
    return entries


def _by_name(entries: Iterable[MemberEntry]) -> tuple[MemberEntry, ...]:
    return tuple(sorted(entries, key=lambda e: e.name.casefold()))


def group_by_organisation(entries: Iterable[MemberEntry], *, url: str) -> list[Group]:
    """Organisations A–Z; members without one are left out (they appear in their sector)."""
    groups: dict[str, list[MemberEntry]] = defaultdict(list)
    names: dict[str, str] = {}
    for entry in entries:
        if entry.organisation_slug and entry.member.organisation:
            groups[entry.organisation_slug].append(entry)
            names.setdefault(entry.organisation_slug, entry.member.organisation)
    return sorted((Group(slug, names[slug], url.format(slug=slug), _by_name(members))
                   for slug, members in groups.items()), key=lambda g: g.name.casefold())


def group_by_region(entries: Iterable[MemberEntry], *, regions: Mapping[str, str],
                    url: str) -> list[Group]:
    """Regions in the settings' order, only those with members."""
    groups: dict[str, list[MemberEntry]] = defaultdict(list)
    for entry in entries:
        if entry.member.region:
            groups[entry.member.region].append(entry)
    order = {slug: i for i, slug in enumerate(regions)}
    return [Group(slug, regions.get(slug, slug), url.format(slug=slug), _by_name(members))
            for slug, members in sorted(groups.items(),
                                        key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]


def group_directory(entries: Iterable[MemberEntry], *, sectors: Mapping[str, str],
                    sector_url: str, organisation_url: str) -> list[Group]:
    """Sectors (settings order), each with its organisations A–Z; the directory's outline.

    Members with no organisation sit in a last subgroup, "Independent", so that every member
    appears exactly once.
    """
    by_sector: dict[str, list[MemberEntry]] = defaultdict(list)
    for entry in entries:
        by_sector[entry.sector_slug].append(entry)
    order = {slug: i for i, slug in enumerate(sectors)}
    result = []
    for slug, members in sorted(by_sector.items(),
                                key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        subgroups = list(group_by_organisation(members, url=organisation_url))
        independent = _by_name(e for e in members if not e.organisation_slug)
        if independent:
            subgroups.append(Group("", "Independent", "", independent))
        result.append(Group(slug, members[0].sector_name, sector_url.format(slug=slug),
                            _by_name(members), tuple(subgroups)))
    return result


def comment_total(article: Any) -> int:
    """A post's comment count: `article.comment_count` (an int from plugins/comment_threads;
    the raw `Comment_count:` text when that plugin is off), 0 when unknown."""
    try:
        return max(int(getattr(article, "comment_count", 0) or 0), 0)
    except (TypeError, ValueError):
        return 0


def most_discussed(articles: Iterable[Any], *, now: datetime, days: int = 30,
                   limit: int = 10) -> list[Any]:
    """Posts of the last `days` with at least one comment, most comments first."""
    until = as_utc(now)  # once, not once per post of the archive
    since = until - timedelta(days=days)
    recent = [a for a in articles
              if since <= as_utc(a.date) <= until and comment_total(a) > 0]
    recent.sort(key=lambda a: (-comment_total(a), -as_utc(a.date).timestamp()))
    return recent[:limit]
