"""Pelican settings for production: absolute URLs, every feed, a clean output folder.

Build with `pelican content -s publishconf.py` (what `make publish` runs). SITEURL can be set
from the environment for a staging copy under another host or sub-path.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from pelicanconf import *  # noqa: E402,F403

SITEURL = (os.environ.get("SITEURL") or "https://publicsectorblogs.org.uk").rstrip("/")
RELATIVE_URLS = False
# Not deleted: the incremental build (plugins/incremental) keeps unchanged pages and removes
# the ones no longer written. `make clean` empties it for a build from scratch.
DELETE_OUTPUT_DIRECTORY = False

FEED_DOMAIN = SITEURL
FEED_MAX_ITEMS = 50
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
AUTHOR_FEED_ATOM = "members/{slug}/feed.atom.xml"
AUTHOR_FEED_RSS = "members/{slug}/feed.rss.xml"
CATEGORY_FEED_ATOM = "sectors/{slug}/feed.atom.xml"
CATEGORY_FEED_RSS = "sectors/{slug}/feed.rss.xml"
TAG_FEED_ATOM = "tags/{slug}/feed.atom.xml"  # follow a topic across the network
TAG_FEED_RSS = "tags/{slug}/feed.rss.xml"
DIGEST_FEED_ATOM = "feeds/weekly.atom.xml"  # last week's posts in one entry, every Monday
DIGEST_SECTOR_FEED_ATOM = "sectors/{slug}/weekly.atom.xml"  # the same for one sector
RSS_FEED_SUMMARY_ONLY = True
# Browsers offer the site's search in their address bar (search/?q=…).
OPENSEARCH_SAVE_AS = "opensearch.xml"
