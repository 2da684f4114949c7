"""`make publish`'s steps after the build, as it runs them: the search index, then the link
check, each timed; one JSON line on stdout. For the build bench (a child process it measures).

Usage: python -m bench.publish_steps OUTPUT VAR_FOLDER CONTENT SITE_URL
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from aggregator.linkcheck import check_links, feed_text_urls
from aggregator.publish import LINKS_CACHE_NAME, SEARCH_CACHE_NAME
from aggregator.search_index import index_site


def main(argv: list[str]) -> int:
    output, var, content, site_url = Path(argv[0]), Path(argv[1]), Path(argv[2]), argv[3]
    started = time.perf_counter()
    index = index_site(output, var / SEARCH_CACHE_NAME)
    indexed = time.perf_counter()
    links = check_links(output, site_url=site_url, member_urls=lambda: feed_text_urls(content),
                        cache=var / LINKS_CACHE_NAME)
    checked = time.perf_counter()
    print(json.dumps({"search_s": round(indexed - started, 3),
                      "links_s": round(checked - indexed, 3),
                      "bundles_built": [name or "main" for name in index.built],
                      "searchable_pages": index.pages, "pages": links.pages,
                      "links": links.links,
                      "broken": [f"{b.page}: {b.url}" for b in links.broken]}))
    return 0 if links.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
