"""A Pelican generator for the registry-driven pages.

generate_context (after the articles are read) puts the members, the directory outline and
the network figures in the shared context, for every template. generate_output writes what
Pelican does not: profiles of members without posts, organisation and region pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, time, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from pelican.generators import Generator
from pelican.urlwrappers import Author

from plugins.incremental.writer import SHOWS

from .directory import (
    build_entries,
    group_by_organisation,
    group_by_region,
    group_directory,
    most_discussed,
)
from .registry import load_registry

logger = logging.getLogger(__name__)


def network_now(settings: Mapping[str, Any]) -> datetime:
    """NETWORK_TODAY when set (reproducible builds, tests), else the start of today in the
    site's TIMEZONE. A day, not a moment: pages that say "quiet for a year" or count days
    since a post then depend on the date alone, as the build's fingerprint does
    (plugins/incremental), and two builds on one day write the same bytes."""
    fixed = settings.get("NETWORK_TODAY")
    if isinstance(fixed, datetime):
        return fixed if fixed.tzinfo else fixed.replace(tzinfo=UTC)
    zone = site_zone(settings)
    return datetime.combine(datetime.now(zone).date(), time(0), tzinfo=zone)


def site_zone(settings: Mapping[str, Any]) -> tzinfo:
    """The site's TIMEZONE (UTC if it names none this machine knows)."""
    try:
        return ZoneInfo(str(settings.get("TIMEZONE") or "UTC"))
    except (KeyError, ValueError):
        return UTC


def _folder(url: str) -> str:
    """A directory-style URL's file: `members/x/` → `members/x/index.html`."""
    return url + "index.html" if url.endswith("/") or not url else url


class MembersDirectoryGenerator(Generator):
    """Registry → context (`network_*`) and the pages that exist for every member."""

    def generate_context(self) -> None:
        settings = self.settings
        now = network_now(settings)
        sectors = settings.get("SECTORS") or {}
        regions = settings.get("REGIONS") or {}
        articles = self.context.get("articles") or []
        entries = build_entries(
            load_registry(settings), articles, sectors=sectors, regions=regions, now=now,
            quiet_after_days=int(settings.get("NETWORK_QUIET_AFTER_DAYS", 365)),
            profile_url=settings.get("AUTHOR_URL", "members/{slug}/"))
        organisation_url = settings.get("ORGANISATION_URL", "organisations/{slug}/")
        region_url = settings.get("REGION_URL", "regions/{slug}/")
        self.entries = entries
        self.organisations = group_by_organisation(entries, url=organisation_url)
        self.regions = group_by_region(entries, regions=regions, url=region_url)
        self.context.update({
            "network_now": now,
            "network_members": entries,
            "network_members_by_id": {e.id: e for e in entries},
            "network_directory": group_directory(
                entries, sectors=sectors, organisation_url=organisation_url,
                sector_url=settings.get("CATEGORY_URL", "sectors/{slug}/")),
            "network_organisations": self.organisations,
            "network_regions": self.regions,
            "network_most_discussed": most_discussed(
                articles, now=now, days=int(settings.get("NETWORK_DISCUSSED_DAYS", 30))),
        })
        logger.info("members_directory: %d members, %d organisations, %d regions",
                    len(entries), len(self.organisations), len(self.regions))

    def generate_output(self, writer: Any) -> None:
        write = partial(writer.write_file, relative_urls=self.settings["RELATIVE_URLS"])
        author_template = self.get_template("author")
        for entry in self.entries:
            if entry.articles:
                continue  # Pelican's own author page, with its pagination and feeds
            author = Author(entry.name, self.settings)
            author.slug = entry.id
            write(author.save_as, author_template, self.context, author=author,
                  articles=[], dates=[], paginated={"articles": [], "dates": []},
                  template_name="author", url=author.url, page_name=author.page_name,
                  blog=True)
        group_template = self.get_template("group")
        groups_template = self.get_template("groups")
        for kind, groups, index_key in (("organisation", self.organisations, "ORGANISATIONS"),
                                        ("region", self.regions, "REGIONS")):
            for group in groups:
                write(_folder(group.url), group_template, self.context, group=group,
                      group_kind=kind, articles=group.newest(20), url=group.url,
                      template_name="group", **{SHOWS: group.shows(kind)})
            index_url = self.settings.get(f"{index_key}_URL", f"{kind}s/")
            write(_folder(index_url), groups_template, self.context, groups=groups,
                  group_kind=kind, url=index_url, template_name="groups")
