"""Posts a blogger deleted (or made private) on their blog are removed from the network too.

A feed lists a blog's latest posts. A post of ours that the feed no longer carries although it
carries posts both older and newer has gone from the blog, or from its feed: its own page is
asked for, and only a 404 or 410 there counts (a post moved to a category the feed leaves out,
or a page that fails for a while, answers otherwise and stays). More than DELETIONS_MAX missing
at once is not a blogger deleting posts (a feed in another order, a partial one): nothing is
asked then. A post that comes back in the feed is written again, as any new post.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence

from aggregator.dates import as_utc
from aggregator.errors import FeedError, HttpStatusError
from aggregator.fetch import Fetcher
from aggregator.models import Post
from aggregator.write import Existing

logger = logging.getLogger(__name__)

DELETIONS_MAX = 3  # posts missing from one feed at once that are looked into
GONE = frozenset({404, 410})
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


def missing_posts(existing: Iterable[Existing], posts: Sequence[Post],
                  guids: Collection[str]) -> list[Existing]:
    """The member's posts on disk (`existing`) that the feed (`guids`: every entry's, those a
    topic filter leaves out too) no longer carries, dated between its oldest and newest `posts`;
    none if there are more than DELETIONS_MAX."""
    dates = [post.date for post in posts]
    if len(dates) < 2:
        return []
    oldest, newest = min(dates), max(dates)
    missing = [post for post in existing
               if post.guid not in guids and post.original_url and post.previous is not None
               and oldest < as_utc(post.previous.date) < newest]  # a hand-written date: UTC
    if len(missing) > DELETIONS_MAX:
        logger.debug("%d posts missing from the feed at once: not looked into", len(missing))
        return []
    return missing


async def gone_from_blog(fetcher: Fetcher, url: str) -> int | None:
    """The status that says the post's page is gone (404, 410), else None (it answers, or
    cannot be asked now: the next fetch that finds it missing asks again)."""
    try:
        await fetcher.get(url, accept=PAGE_ACCEPT)
    except HttpStatusError as exc:
        return exc.status if exc.status in GONE else None
    except FeedError as exc:
        logger.debug("%s: not known to be gone: %s", url, exc.reason)
        return None
    return None
