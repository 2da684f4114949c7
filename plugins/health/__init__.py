"""Pelican plugin: the health page (`/health/`), every member's feed status in plain words.

Reads the registry (plugins/members_directory) and the aggregator's state database
(AGGREGATOR_STATE, opened read-only) and writes HEALTH_SAVE_AS with the `health` template:
last success, last error in plain words, days since the last post, redirects to apply, feeds
gone, paused members. Without a state database the page still builds, and says why it is
empty. Signal: get_generators (HealthGenerator).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pelican import signals
from pelican.generators import Generator

from plugins.members_directory.generator import network_now
from plugins.members_directory.registry import load_registry, project_path

from .report import network_health, status_counts
from .state import read_state

logger = logging.getLogger(__name__)
NEWEST_POSTS = "_newest_posts_by_member"  # set by plugins/incremental (build.NEWEST_POSTS)


def state_path(settings: dict[str, Any]) -> Path:
    """AGGREGATOR_STATE, resolved against PROJECT_ROOT when relative (as MEMBERS_FILE is)."""
    return project_path(settings, "AGGREGATOR_STATE", "var/state.sqlite3")


class HealthGenerator(Generator):  # type: ignore[misc]
    """Registry + state → the health page."""

    # plugins/incremental: when only the state database changed (a fetch with nothing new),
    # this generator runs alone, with each member's newest post date and number of posts in
    # the settings (NEWEST_POSTS) instead of the articles.
    reads_state = True

    def generate_context(self) -> None:
        now = network_now(self.settings)
        by_member: dict[str, list[Any]] = defaultdict(list)
        articles = self.context.get("articles")
        if articles is None:  # the page shows each member's newest post date and count only
            articles = [SimpleNamespace(member=member, date=datetime.fromisoformat(date))
                        for member, (date, count) in (self.settings.get(NEWEST_POSTS)
                                                      or {}).items()
                        for _ in range(int(count))]
        directory = self.context.get("network_members_by_id")
        if isinstance(directory, dict) and self.context.get("articles") is not None:
            # members_directory has each registry member's posts already (newest first)
            by_member.update((member, list(entry.articles))
                             for member, entry in directory.items())
        else:
            for article in articles:
                member_id = getattr(article, "member", None)
                if isinstance(member_id, str):
                    by_member[member_id].append(article)
        path = state_path(self.settings)
        self.snapshot = read_state(path)
        self.rows = network_health(load_registry(self.settings), self.snapshot.feeds,
                                   by_member, now=now)
        # The page speaks of the last fetch, not of the build: a rebuild with nothing new
        # writes the same bytes.
        attempts = [row.last_attempt for row in self.rows if row.last_attempt is not None]
        self.as_of = max(attempts) if attempts else None
        logger.info("health: %d members, state %s", len(self.rows),
                    "read" if self.snapshot.available else "missing")

    def generate_output(self, writer: Any) -> None:
        save_as = self.settings.get("HEALTH_SAVE_AS", "health/index.html")
        if not save_as:
            return
        writer.write_file(save_as, self.get_template("health"), self.context,
                          relative_urls=self.settings["RELATIVE_URLS"],
                          health_rows=self.rows, health_counts=status_counts(self.rows),
                          health_note=self.snapshot.note, health_as_of=self.as_of,
                          url=self.settings.get("HEALTH_URL", "health/"),
                          template_name="health")


def get_generators(pelican: Any) -> type[HealthGenerator] | None:
    """Only for builds that list this plugin: signal receivers outlive a build in one process
    (tests, `pelican --autoreload`), and another build's settings may not suit it."""
    names = {str(name).rsplit(".", 1)[-1] for name in pelican.settings.get("PLUGINS") or []}
    return HealthGenerator if "health" in names else None


def register() -> None:
    signals.get_generators.connect(get_generators)
