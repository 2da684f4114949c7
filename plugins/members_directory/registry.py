"""Where the site reads the member registry from: one function, so the source can change.

The directory, the profiles and the OPML files are driven by the registry, not by who has
posts: a member whose feed is empty or broken is still a member.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aggregator.members import load_members
from aggregator.models import Member
from aggregator.registry_cache import load_members_cached

logger = logging.getLogger(__name__)


def project_path(settings: Mapping[str, Any], key: str, default: str) -> Path:
    """A path setting, resolved against PROJECT_ROOT (the folder of pelicanconf.py) if
    relative, as the aggregator resolves it."""
    path = Path(str(settings.get(key) or default))
    if path.is_absolute():
        return path
    root = settings.get("PROJECT_ROOT") or Path(str(settings.get("PATH", "content"))).parent
    return Path(str(root)) / path


def registry_path(settings: Mapping[str, Any]) -> Path:
    """MEMBERS_FILE, resolved against PROJECT_ROOT if relative."""
    return project_path(settings, "MEMBERS_FILE", "members.yaml")


_MEMO = "_MEMBERS_DIRECTORY_REGISTRY"  # settings key: the registry read for this build


def load_registry(settings: Mapping[str, Any]) -> list[Member]:
    """The validated members, in registry order. Raises aggregator.errors.ConfigError.

    Several plugins need the registry in one build; it is read once per build (the settings
    mapping lives as long as the build) and again only if the file changed meanwhile."""
    path = registry_path(settings)
    try:
        stat = path.stat()
        stamp: tuple[object, ...] | None = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None  # load_members reports the missing file
    memo = settings.get(_MEMO)
    if stamp is not None and memo is not None and memo[0] == stamp:
        return list(memo[1])
    sectors, regions = settings.get("SECTORS") or None, settings.get("REGIONS") or None
    cache = settings.get("CACHE_PATH") if settings.get("CACHE_CONTENT") else None
    if cache:  # validated once, kept in the build's cache while the file and code are the same
        members = load_members_cached(path, Path(str(cache)), sectors=sectors, regions=regions)
    else:
        members = load_members(path, sectors=sectors, regions=regions)
    logger.debug("members_directory: %d members read from %s", len(members), path)
    if stamp is not None and isinstance(settings, dict):
        settings[_MEMO] = (stamp, tuple(members))
    return members
