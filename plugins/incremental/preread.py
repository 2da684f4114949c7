"""Reading new posts on every core, into Pelican's own reader cache.

Pelican reads content files one after the other; Markdown (and the sanitizer, which runs in the
reader: plugins/sanitize) is most of a cold build's first half. Before Pelican starts, this
step finds the article files whose reader output is not in the reader cache (a new or changed
file), reads them split over BUILD_PROCESSES processes exactly as Pelican would (same reader
classes, wrapped by plugins, same settings), and saves them in the cache. Pelican then finds
them there. A file this step misses or cannot read is simply read by Pelican as usual: the
cache can only be filled with what Pelican's reader returns.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pelican.readers import Readers, _filter_discardable_metadata

from .render import in_processes

logger = logging.getLogger(__name__)

MIN_FILES_PER_PROCESS = 100


def article_files(settings: Mapping[str, Any], extensions: Sequence[str]) -> list[str]:
    """Absolute paths of the files under ARTICLE_PATHS a reader handles, minus ARTICLE_EXCLUDES
    and IGNORE_FILES (close to Pelican's own discovery; a difference costs only speed)."""
    root = Path(str(settings["PATH"]))
    excludes = {os.path.normpath(str(e)) for e in settings.get("ARTICLE_EXCLUDES") or []}
    ignores = list(settings.get("IGNORE_FILES") or [])
    found = []
    for top in settings.get("ARTICLE_PATHS") or [""]:
        base = root / str(top)
        for folder, dirs, files in os.walk(base):
            rel_folder = os.path.relpath(folder, root)
            dirs[:] = sorted(d for d in dirs if os.path.normpath(os.path.join(rel_folder, d))
                             not in excludes and d not in excludes
                             and not any(fnmatch.fnmatch(d, pat) for pat in ignores))
            for name in sorted(files):
                if name.rsplit(".", 1)[-1] in extensions and \
                        not any(fnmatch.fnmatch(name, pat) for pat in ignores):
                    found.append(os.path.abspath(os.path.join(folder, name)))
    return found


def _read_share(settings: dict[str, Any], paths: Sequence[str]) -> list[tuple[str, Any, Any]]:
    """Read files as Pelican's Readers.read_file does before caching them."""
    readers = Readers(settings, cache_name="")  # no cache loaded in the workers
    out = []
    for path in paths:
        ext = path.rsplit(".", 1)[-1]
        reader = readers.readers.get(ext)
        if reader is None:
            continue
        try:
            content, metadata = reader.read(path)
        except Exception as exc:  # noqa: BLE001 - Pelican reads it again and reports it
            logger.debug("pre-read skipped %s: %s", path, exc)
            continue
        out.append((path, content, _filter_discardable_metadata(metadata)))
    return out


def preread(settings: dict[str, Any], cache_name: str, processes: int, *,
            min_files: int = MIN_FILES_PER_PROCESS) -> int:
    """Fill the reader cache `cache_name` for article files it lacks, at least `min_files`
    per process; return how many were read."""
    if (settings.get("CONTENT_CACHING_LAYER") != "reader" or not settings.get("CACHE_CONTENT")
            or not settings.get("LOAD_CONTENT_CACHE") or processes < 2):
        return 0
    readers = Readers(settings, cache_name=cache_name)
    missing = [path for path in article_files(settings, list(readers.readers))
               if readers.get_cached_data(path, None) is None]
    if len(missing) < 2 * min_files:
        return 0  # Pelican reads a handful faster than processes start
    shares = in_processes(missing, processes,
                          lambda paths: _read_share(settings, paths),
                          min_items=min_files)
    count = 0
    for share in shares:
        for path, content, metadata in share:
            readers.cache_data(path, (content, metadata))
            count += 1
    readers.save_cache()
    logger.info("Read %d new or changed files on %d processes", count, len(shares))
    return count
