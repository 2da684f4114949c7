"""Reading the posts of a full build on every core.

Pelican reads content files one after the other; Markdown (and the sanitizer, which runs in the
reader: plugins/sanitize) is most of a cold build's first half. Before Pelican starts a build
from scratch, this step reads every article file, split over BUILD_PROCESSES processes exactly
as Pelican would (same reader classes, wrapped by plugins, same settings), and leaves the
results in the settings (PREREAD_KEY), where the articles generator (generators.py) takes each
file's instead of reading it. A file this step misses or cannot read is read by Pelican as
usual (and its error reported then). Plugins read their own files the same way on the
BUILD_PREREAD signal.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pelican.readers import Readers, _filter_discardable_metadata
from pelican.urlwrappers import URLWrapper

from .render import in_processes

logger = logging.getLogger(__name__)

MIN_FILES_PER_PROCESS = 100
# The blinker signal a full build sends after reading posts, before Pelican starts, so plugins
# read their own files ahead too (plugins/comment_threads: comment folders). Receivers get
# `settings`, `processes`, `min_items` (0: their own minimum), `run_in_processes`
# (render.in_processes) and `run_in_background` (work → render.Background, whose `result()`
# waits for it: the other core is idle while Pelican makes the articles on this one). A
# plugin connects by name and needs no import from here.
BUILD_PREREAD = "build_preread"
# The blinker signal a publish (a build that keeps the last build's pages) sends once the
# content folder is walked, before Pelican starts: receivers get `settings` (the walk's
# listing included), `processes` and `run_in_background`, to work out on the other core what
# they would otherwise do on this one after the posts are read (plugins/comment_threads:
# which comment folders are as its cache kept them).
BUILD_PUBLISH = "build_publish"
PREREAD_KEY = "_incremental_preread"  # settings: the posts read, for the generator to take


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


def _rebind(metadata: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Tags, categories and authors came back from another process with a copy of the
    settings: point them at this build's (as if read here; the article store relies on it)."""
    for value in metadata.values():
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, URLWrapper):
                item.settings = settings
    return metadata


def preread(settings: dict[str, Any], processes: int, *,
            min_files: int = MIN_FILES_PER_PROCESS) -> dict[str, tuple[Any, Any]]:
    """Read every article file on `processes` processes (at least `min_files` each): absolute
    path → what Pelican's reader returns for it (the generator takes them from there)."""
    if processes < 2:
        return {}
    readers = Readers(settings, cache_name="")
    files = article_files(settings, list(readers.readers))
    if len(files) < 2 * min_files:
        return {}  # Pelican reads a handful faster than processes start
    shares = in_processes(files, processes, lambda paths: _read_share(settings, paths),
                          min_items=min_files)
    prepared = {path: (content, _rebind(metadata, settings))
                for share in shares for path, content, metadata in share}
    logger.info("Read %d posts on %d processes", len(prepared), len(shares))
    return prepared
