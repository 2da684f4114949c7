"""The Pelican side: fetch during generate_context, copy the pictures during generate_output.

generate_context runs after the articles are read and before any template is rendered, so
`network_avatars` ({member id: Avatar}) is in the shared context for every page; the files are
written in generate_output, after Pelican has emptied the output folder (publishconf.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pelican.generators import Generator

from aggregator.errors import ConfigError
from plugins.members_directory.registry import load_registry

from .fetching import FetchOptions, refresh_all
from .store import AvatarStore

logger = logging.getLogger(__name__)

ENV_ALLOW_PRIVATE = "AGGREGATOR_ALLOW_PRIVATE"


@dataclass(frozen=True)
class Avatar:
    """A member's picture in the built site: paths relative to the site root."""

    src: str  # AVATARS_SIZE pixels square
    src_2x: str  # twice that, for high-density screens


def allow_private(settings: dict[str, Any]) -> bool:
    """AVATARS_ALLOW_PRIVATE, or AGGREGATOR_ALLOW_PRIVATE=1 in the environment (demo, tests)."""
    return bool(settings.get("AVATARS_ALLOW_PRIVATE")) or \
        os.environ.get(ENV_ALLOW_PRIVATE, "").strip().lower() in ("1", "true", "yes")


def fetch_options(settings: dict[str, Any]) -> FetchOptions:
    """The fetch settings, checked once, up front."""
    try:
        return FetchOptions(
            user_agent=str(settings.get("AGGREGATOR_USER_AGENT") or "PublicSectorBlogsBot"),
            allow_private=allow_private(settings),
            timeout=float(settings.get("AVATARS_TIMEOUT", 10.0)),
            max_bytes=int(settings.get("AVATARS_MAX_BYTES", 2 * 1024 * 1024)),
            max_redirects=int(settings.get("AGGREGATOR_MAX_REDIRECTS", 5)),
            max_pixels=int(settings.get("AVATARS_MAX_PIXELS", 16_000_000)),
            refresh_seconds=float(settings.get("AVATARS_REFRESH_SECONDS", 6 * 3600)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"an AVATARS_* setting is not a number: {exc}") from exc


class AvatarsGenerator(Generator):  # type: ignore[misc]
    """Registry avatars → `network_avatars` in the context and files under `avatars/`."""

    def generate_context(self) -> None:
        settings = self.settings
        size = int(settings.get("AVATARS_SIZE", 96))
        self.sizes = (size, 2 * size)
        self.folder = str(settings.get("AVATARS_SAVE_DIR", "avatars")).strip("/")
        self.shown: dict[str, str] = {}  # member id → avatar URL
        self.store: AvatarStore | None = None
        members = [m for m in load_registry(settings) if m.avatar]
        if not members:
            self.context["network_avatars"] = {}
            return
        cache = Path(str(settings.get("CACHE_PATH") or "cache")) / "avatars"
        self.store = AvatarStore(cache, self.sizes)
        if settings.get("AVATARS_FETCH", True):
            with_picture = asyncio.run(refresh_all(members, self.store, fetch_options(settings)))
        else:  # offline builds: whatever the cache holds
            with_picture = {m.id for m in members if self.store.usable(str(m.avatar))}
        self.shown = {m.id: str(m.avatar) for m in members if m.id in with_picture}
        self.store.save(keep={str(m.avatar) for m in members})
        self.context["network_avatars"] = {
            member_id: Avatar(f"{self.folder}/{member_id}.webp",
                              f"{self.folder}/{member_id}-2x.webp")
            for member_id in self.shown}
        logger.info("avatars: %d of %d members with an avatar have a picture",
                    len(self.shown), len(members))

    def generate_output(self, writer: Any) -> None:
        if self.store is None:
            return
        target = Path(self.output_path) / self.folder
        target.mkdir(parents=True, exist_ok=True)
        small, large = self.sizes
        for member_id, url in self.shown.items():
            shutil.copyfile(self.store.picture(url, small), target / f"{member_id}.webp")
            shutil.copyfile(self.store.picture(url, large), target / f"{member_id}-2x.webp")
