"""The avatar cache under Pelican's CACHE_PATH: pictures and their validators, by URL.

`CACHE_PATH/avatars/index.json` maps each avatar URL to its ETag, Last-Modified, when it was
last checked and the file stem of its pictures (`<hash of the URL>-<size>.webp`). A rebuild
reuses a picture checked within the refresh interval without any request, and otherwise asks
with a conditional GET; a 304 costs no download. Deleting the folder loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from aggregator.atomic import write_atomic
from aggregator.errors import WriteError

logger = logging.getLogger(__name__)

INDEX_VERSION = 1


@dataclass
class CachedAvatar:
    """What we know about one avatar URL."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    checked: float = 0.0  # Unix time of the last check that got an answer
    error: str | None = None  # why the bytes were refused (remembered until the next check)


class AvatarStore:
    """The cache folder. One per build; nothing global."""

    def __init__(self, folder: Path, sizes: tuple[int, ...]) -> None:
        self.folder = folder
        self.sizes = sizes
        self.entries: dict[str, CachedAvatar] = self._load()

    def _load(self) -> dict[str, CachedAvatar]:
        path = self.folder / "index.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("avatars: cache index %s unreadable, starting afresh: %s", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
            return {}
        entries = {}
        for item in data.get("avatars", []):
            try:
                entry = CachedAvatar(**item)
            except TypeError:
                continue
            entries[entry.url] = entry
        return entries

    @staticmethod
    def stem(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]

    def picture(self, url: str, size: int) -> Path:
        return self.folder / f"{self.stem(url)}-{size}.webp"

    def usable(self, url: str) -> CachedAvatar | None:
        """The cached entry if every size of its picture is on disk, else None."""
        entry = self.entries.get(url)
        if entry is None or entry.error:
            return None
        return entry if all(self.picture(url, s).is_file() for s in self.sizes) else None

    def put(self, entry: CachedAvatar, pictures: dict[int, bytes]) -> None:
        for size, data in pictures.items():
            write_atomic(self.picture(entry.url, size), data)
        self.entries[entry.url] = entry

    def refuse(self, url: str, reason: str, now: float) -> None:
        """Remember that the URL's bytes were refused, so rebuilds do not download them again."""
        for size in self.sizes:
            self.picture(url, size).unlink(missing_ok=True)
        self.entries[url] = CachedAvatar(url, checked=now, error=reason)

    def save(self, keep: set[str]) -> None:
        """Write the index of the URLs still in use; remove pictures of the others."""
        for url in set(self.entries) - keep:
            for size in self.sizes:
                self.picture(url, size).unlink(missing_ok=True)
            del self.entries[url]
        data = {"version": INDEX_VERSION,
                "avatars": [asdict(e) for _, e in sorted(self.entries.items())]}
        try:
            write_atomic(self.folder / "index.json", json.dumps(data, indent=1, sort_keys=True))
        except WriteError as exc:
            logger.warning("avatars: cache index not saved in %s: %s", self.folder, exc)
