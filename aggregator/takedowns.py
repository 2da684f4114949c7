"""Taking a post down on request: `takedowns.yaml` lists posts that must never be published.

A listed post's file (and its comment thread) is removed by the next fetch, and the post is
never written again, whatever its feed says. The list is reviewed in git like the registry:

    takedowns:
      - member: dave-briggs
        url: https://example.org/2026/03/the-post/   # or `guid:` — either identifies it
        reason: Asked by the author, 2026-11-20
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from aggregator.comment_files import thread_dir
from aggregator.errors import ConfigError
from aggregator.members import normalise_feed_url
from aggregator.slugs import is_slug
from aggregator.write import read_metadata

logger = logging.getLogger(__name__)

_KEYS = frozenset({"member", "url", "guid", "reason"})


@dataclass(frozen=True)
class Takedown:
    member: str
    url: str | None
    guid: str | None
    reason: str


class Takedowns:
    """The takedown list, indexed for the run: is this post listed?"""

    def __init__(self, items: Iterable[Takedown] = ()) -> None:
        self.items = tuple(items)
        self._guids = {(t.member, t.guid) for t in self.items if t.guid}
        self._urls = {(t.member, normalise_feed_url(t.url)) for t in self.items if t.url}

    def covers(self, member_id: str, *, guid: str | None, url: str | None) -> bool:
        return ((member_id, guid) in self._guids
                or (url is not None and (member_id, normalise_feed_url(url)) in self._urls))

    def members(self) -> set[str]:
        return {t.member for t in self.items}


def load_takedowns(path: Path) -> Takedowns:
    """Read the list; a missing file is an empty list; mistakes name file and line."""
    if not path.exists():
        return Takedowns()
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise ConfigError(f"cannot read the takedown list: {exc}", path=str(path)) from exc
    items = (data or {}).get("takedowns") if isinstance(data, dict) else None
    if items is None:
        return Takedowns()
    if not isinstance(items, list):
        raise ConfigError("'takedowns:' must be a list", path=str(path))
    result = []
    for index, item in enumerate(items):
        line = items.lc.item(index)[0] + 1 if hasattr(items, "lc") else None
        if not isinstance(item, dict):
            raise ConfigError("each takedown must be a mapping", path=str(path), line=line)
        unknown = sorted(set(map(str, item)) - _KEYS)
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} (known: guid, member, "
                              "reason, url)", path=str(path), line=line)
        member, url, guid = item.get("member"), item.get("url"), item.get("guid")
        if not isinstance(member, str) or not member:
            raise ConfigError("a takedown needs the member's id in 'member'", path=str(path),
                              line=line)
        if not url and not guid:
            raise ConfigError("a takedown needs the post's 'url' or 'guid'", path=str(path),
                              line=line, member=member)
        result.append(Takedown(member, str(url) if url else None, str(guid) if guid else None,
                               str(item.get("reason") or "")))
    return Takedowns(result)


def remove_taken_down(content_dir: Path, takedowns: Takedowns) -> list[Path]:
    """Delete the files (and comment threads) of listed posts still on disk."""
    removed: list[Path] = []
    for member in sorted(takedowns.members()):
        folder = content_dir / "posts" / member
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*/*.md")):
            meta = read_metadata(path)
            if not takedowns.covers(member, guid=meta.get("guid"),
                                    url=meta.get("original_url")):
                continue
            slug = meta.get("slug", "")
            path.unlink()
            removed.append(path)
            if is_slug(slug) and (thread := thread_dir(content_dir, slug)).is_dir():
                shutil.rmtree(thread)
            logger.warning("%s: taken down (listed in the takedown list)", path)
    return removed
