"""Fetch members' avatars with the aggregator's own HTTP client, one member at a time inside
an error boundary: a bad avatar costs that member their picture (initials instead), never the
build.

The client is aggregator.fetch.Fetcher: the SSRF guard on every hop, caps on time, size and
redirects. Private addresses are refused unless the build allows them (AVATARS_ALLOW_PRIVATE,
or AGGREGATOR_ALLOW_PRIVATE=1 in the environment, as the demo and the tests do).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.errors import FeedError
from aggregator.models import Member

from .images import AvatarError, square_pictures
from .store import AvatarStore, CachedAvatar

if TYPE_CHECKING:
    from aggregator.fetch import Fetcher

logger = logging.getLogger(__name__)

IMAGE_ACCEPT = "image/webp, image/png, image/jpeg, image/gif;q=0.9"


@dataclass(frozen=True)
class FetchOptions:
    """How avatars are fetched: the Fetcher's caps, and how long a checked picture stays fresh."""

    user_agent: str
    allow_private: bool = False
    timeout: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5
    max_pixels: int = 16_000_000
    refresh_seconds: float = 6 * 3600
    concurrency: int = 8


def _known(member: Member, url: str, store: AvatarStore, options: FetchOptions,
           now: float) -> bool | None:
    """Without asking the network: True if a picture checked lately is on disk, False if the
    picture was refused lately; None if it must be fetched (again)."""
    known = store.entries.get(url)
    fresh = known is not None and now - known.checked < options.refresh_seconds
    if fresh and known is not None and known.error:
        logger.warning("avatars: member %s, avatar %s: %s (found by an earlier build); "
                       "showing initials", member.id, url, known.error)
        return False
    if fresh and store.usable(url) is not None:
        return True
    return None


async def _refresh_one(fetcher: Fetcher, member: Member, url: str, store: AvatarStore,
                       options: FetchOptions, now: float) -> bool:
    """Bring one member's cached picture up to date (`_known` said it must be fetched); True
    when a picture is available."""
    cached = store.usable(url)
    try:
        result = await fetcher.get(url, etag=cached.etag if cached else None,
                                   last_modified=cached.last_modified if cached else None,
                                   accept=IMAGE_ACCEPT)
        if result.status == 304 and cached is not None:
            cached.checked = now
            return True
        if not result.body:
            raise AvatarError(url, f"empty answer (HTTP {result.status})")
        pictures = square_pictures(result.body, store.sizes, url=url,
                                   max_pixels=options.max_pixels)
    except AvatarError as exc:  # the bytes themselves were refused: remember it
        logger.warning("avatars: member %s, avatar %s: %s; showing initials", member.id, url,
                       exc.reason)
        store.refuse(url, exc.reason, now)
        return False
    except FeedError as exc:  # the network or the server: try again next build
        fallback = "keeping the picture fetched before" if cached else "showing initials"
        logger.warning("avatars: member %s, avatar %s: %s; %s", member.id, url, exc.reason,
                       fallback)
        return cached is not None
    store.put(CachedAvatar(url, result.etag, result.last_modified, now), pictures)
    logger.info("avatars: member %s: picture fetched from %s", member.id, url)
    return True


async def refresh_all(members: Sequence[Member], store: AvatarStore,
                      options: FetchOptions) -> set[str]:
    """Refresh every member's avatar; return the ids of members with a picture to show."""
    wanted = [(m, m.avatar) for m in members if m.avatar]
    if not wanted:
        return set()
    now = time.time()
    known = [(m, url, _known(m, url, store, options, now)) for m, url in wanted]
    shown = {m.id for m, _url, ok in known if ok}
    stale = [(m, url) for m, url, ok in known if ok is None]
    if not stale:
        return shown
    # imported here: the HTTP client costs a seventh of a second to import, and most builds
    # (pictures checked within AVATARS_REFRESH_SECONDS) fetch nothing
    from aggregator.fetch import Fetcher

    async with Fetcher(user_agent=options.user_agent, allow_private=options.allow_private,
                       concurrency=options.concurrency, per_host=2, timeout=options.timeout,
                       max_bytes=options.max_bytes,
                       max_redirects=options.max_redirects) as fetcher:
        done = await asyncio.gather(*(_refresh_one(fetcher, m, url, store, options, now)
                                      for m, url in stale))
    return shown | {m.id for (m, _), ok in zip(stale, done, strict=True) if ok}
