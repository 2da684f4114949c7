"""Pelican plugin: the member registry drives profiles, the directory and group pages.

- article_generator_pretaxonomy: each article's author slug becomes its member id, and its
  category slug the sector slug, so URLs are `members/<id>/` and `sectors/<sector>/`;
- get_generators: MembersDirectoryGenerator (context `network_*`, pages for every member,
  organisation and region pages).
"""

from __future__ import annotations

import logging
from typing import Any

from pelican import signals

from aggregator.slugs import is_slug

from .generator import MembersDirectoryGenerator

logger = logging.getLogger(__name__)


def use_registry_slugs(generator: Any) -> None:
    """Author slug := member id; category slug := sector slug (from the SECTORS names).

    Kept posts share their authors and categories (plugins/incremental/store.py): each is
    given its slug once, not once per post (20,000 posts, a few hundred authors)."""
    sector_slugs = {name: slug for slug, name in (generator.settings.get("SECTORS") or {}).items()}
    valid: dict[str, bool] = {}  # member id → is a slug
    done: dict[int, str | None] = {}  # id(author or category) → the slug it was given
    for article in [*generator.articles, *generator.translations,
                    *getattr(generator, "hidden_articles", [])]:
        member_id = getattr(article, "member", None)
        if isinstance(member_id, str):
            usable = valid.get(member_id)
            if usable is None:
                usable = valid[member_id] = is_slug(member_id, max_length=64)
            if usable:
                for author in [*getattr(article, "authors", []),
                               getattr(article, "author", None)]:
                    if author is not None and done.get(id(author)) != member_id:
                        author.slug = done[id(author)] = member_id
        category = getattr(article, "category", None)
        if category is not None and id(category) not in done:
            done[id(category)] = None
            if category.name in sector_slugs:
                category.slug = sector_slugs[category.name]


def get_generators(pelican: Any) -> type[MembersDirectoryGenerator] | None:
    """Only for builds that list this plugin: signal receivers outlive a build in one process
    (tests, `pelican --autoreload`), and another build's settings may not suit it."""
    names = {str(name).rsplit(".", 1)[-1] for name in pelican.settings.get("PLUGINS") or []}
    return MembersDirectoryGenerator if "members_directory" in names else None


def register() -> None:
    signals.article_generator_pretaxonomy.connect(use_registry_slugs)
    signals.get_generators.connect(get_generators)
