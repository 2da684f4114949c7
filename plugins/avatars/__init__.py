"""Pelican plugin: member avatars, fetched at build time and served from the site itself.

Every registry member with an `avatar` URL gets `avatars/<id>.webp` (AVATARS_SIZE pixels,
96 by default) and `avatars/<id>-2x.webp`, decoded and re-encoded with Pillow (PNG, JPEG, GIF
and WebP only; no SVG; no metadata), cached under CACHE_PATH and refreshed with conditional
GETs. Templates read `network_avatars[member id]` (`src`, `src_2x`); a member without one
keeps the initials badge.

Signal: get_generators (AvatarsGenerator). Settings: AVATARS_SIZE, AVATARS_MAX_BYTES,
AVATARS_MAX_PIXELS, AVATARS_TIMEOUT, AVATARS_REFRESH_SECONDS, AVATARS_FETCH,
AVATARS_ALLOW_PRIVATE (or AGGREGATOR_ALLOW_PRIVATE=1 in the environment).
"""

from __future__ import annotations

from typing import Any

from pelican import signals

from .generator import AvatarsGenerator


def get_generators(pelican: Any) -> type[AvatarsGenerator] | None:
    """Only for builds that list this plugin: signal receivers outlive a build in one process
    (tests, `pelican --autoreload`), and another build's settings may not suit it."""
    names = {str(name).rsplit(".", 1)[-1] for name in pelican.settings.get("PLUGINS") or []}
    return AvatarsGenerator if "avatars" in names else None


def register() -> None:
    signals.get_generators.connect(get_generators)
