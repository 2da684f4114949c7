"""Pelican plugin: the weekly digest, an Atom feed with one entry for each week of posts.

"Can I get this by e-mail?" is the first thing a network's readers ask. A static site sends no
mail, but every newsletter service can send a feed's new entries to its subscribers: one entry
a week, that week's posts by sector, is a weekly newsletter with no mailing list kept here.
Only weeks that have ended (Monday to Sunday in the site's TIMEZONE) are listed, so an entry
is whole when it first appears and a service sends each week once. Also good in a feed
reader for anyone who wants the network in one post a week instead of fifty.

DIGEST_FEED_ATOM is where it is written (None: not at all), DIGEST_SECTOR_FEED_ATOM where
each sector's own is (`{slug}`: the sector's; None: none), DIGEST_WEEKS how many weeks they
keep. Each build writes it from the newest posts only (the weeks it lists), never the whole
archive, with `write_atomic` (unchanged bytes leave the file as it was). Its entry's text is
the theme's `digest_week.html`, autoescaped like every page: titles and names come from
other people's feeds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from feedgenerator import Atom1Feed, get_tag_uri
from pelican import signals
from pelican.generators import Generator

from aggregator.atomic import write_atomic
from aggregator.dates import as_utc
from plugins.members_directory.generator import network_now, site_zone

logger = logging.getLogger(__name__)

DEFAULT_WEEKS = 8


@dataclass(frozen=True)
class Week:
    """One week's posts, newest first; `sectors` groups them, the busiest sector first."""

    start: datetime  # Monday 00:00 in the site's time zone
    articles: tuple[Any, ...]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    @property
    def sectors(self) -> list[tuple[str, list[Any]]]:
        groups: dict[str, list[Any]] = {}
        for article in self.articles:
            groups.setdefault(str(getattr(article, "category", "") or "Other"), []).append(
                article)
        return sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))

    @property
    def members(self) -> int:
        return len({str(getattr(article, "author", "")) for article in self.articles})


def week_start(moment: datetime, zone: tzinfo) -> datetime:
    """The Monday 00:00 (in `zone`) of the week `moment` falls in."""
    local = as_utc(moment).astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)


def ended_weeks(articles: Iterable[Any], now: datetime, zone: tzinfo,
                weeks: int) -> list[Week]:
    """The `weeks` weeks that ended last before `now` which have posts, newest first.
    `articles` newest first (Pelican's river): only the posts of those weeks are looked at."""
    current = week_start(now, zone)
    oldest = current - timedelta(days=7 * weeks)
    found: dict[datetime, list[Any]] = {}
    for article in articles:
        date = as_utc(article.date)
        if date < oldest:
            break  # the river is newest first: the rest is older still
        if date >= current:
            continue  # this week has not ended
        found.setdefault(week_start(date, zone), []).append(article)
    return [Week(start, tuple(found[start])) for start in sorted(found, reverse=True)]


class _DigestFeed(Atom1Feed):  # type: ignore[misc]
    """An Atom feed whose own `updated` is the end of the last week it could list, even when
    no week had posts (feedgenerator would put the time of the build, and a build from
    scratch and a publish on the same day must write the same bytes)."""

    def __init__(self, *args: Any, updated: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._updated = updated

    def latest_post_date(self) -> datetime:
        return self._updated


class DigestGenerator(Generator):  # type: ignore[misc]
    """Writes the weekly digest once every other context is made."""

    def generate_context(self) -> None:
        pass

    def generate_output(self, writer: Any) -> None:
        save_as = self.settings.get("DIGEST_FEED_ATOM")
        sector_save_as = self.settings.get("DIGEST_SECTOR_FEED_ATOM")
        if not save_as and not sector_save_as:
            return
        zone = site_zone(self.settings)
        now = network_now(self.settings)
        count = int(self.settings.get("DIGEST_WEEKS") or DEFAULT_WEEKS)
        weeks = ended_weeks(self.context.get("articles") or [], now, zone, count)
        updated = week_start(now, zone)
        name = str(self.settings.get("SITENAME") or "")
        if save_as:
            self._write(str(save_as), self._feed(weeks, str(save_as), updated, name, ""))
        if not sector_save_as:
            return
        recent = [article for week in weeks for article in week.articles]
        for category, _articles in self.context.get("categories") or []:
            mine = [article for article in recent if article.category == category]
            relative = str(sector_save_as).format(slug=category.slug)
            self._write(relative, self._feed(ended_weeks(mine, now, zone, count), relative,
                                             updated, f"{name}, {category.name}",
                                             f"{category.name}: "))

    def _write(self, relative: str, text: str) -> None:
        path = Path(self.output_path) / relative
        write_atomic(path, text)
        logger.info("Writing %s", os.fspath(path))

    def _feed(self, weeks: Sequence[Week], save_as: str, updated: datetime, name: str,
              prefix: str) -> str:
        """The Atom feed of `weeks` (`name`: whose posts; `prefix`: before each entry's title)."""
        site = str(self.settings.get("SITEURL") or "")
        domain = str(self.settings.get("FEED_DOMAIN") or site)
        feed = _DigestFeed(title=f"{name}: the week's posts", link=f"{site}/", updated=updated,
                           feed_url=f"{domain}/{save_as}",
                           description=f"Every week's posts from {name}, in one entry a week",
                           language=str(self.settings.get("DEFAULT_LANG") or "en"))
        template = self.get_template("digest_week")
        for week in weeks:
            last_day = week.end - timedelta(days=1)
            count = len(week.articles)
            title = (f"{prefix}Week of {week.start.day} {week.start:%B %Y}: {count} "
                     f"post{'' if count == 1 else 's'} from {week.members} "
                     f"member{'' if week.members == 1 else 's'}")
            feed.add_item(
                title=title, link=f"{site}/",
                unique_id=get_tag_uri(f"{site or 'https://localhost'}/{save_as}#"
                                      f"{week.start:%G-W%V}", week.start),
                description=f"{title}, {week.start.day} {week.start:%B} to {last_day.day} "
                            f"{last_day:%B %Y}",
                content=template.render({**self.context, "week": week, "last_day": last_day}),
                pubdate=week.end, updateddate=week.end)
        return str(feed.writeString("utf-8"))


def get_generators(pelican: Any) -> type[DigestGenerator] | None:
    """Only for builds that list this plugin (receivers outlive a build in one process)."""
    names = {str(name).rsplit(".", 1)[-1] for name in pelican.settings.get("PLUGINS") or []}
    return DigestGenerator if "digest" in names else None


def register() -> None:
    signals.get_generators.connect(get_generators)
