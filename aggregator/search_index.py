"""`make publish`'s search index: Pagefind, one bundle per year of posts, rebuilt where pages
changed.

Pagefind indexes a whole site in one run and has no incremental mode: at 20,000 posts (35,000
pages) that is half a minute on every publish, whatever changed. Here the searchable pages
(those with a `data-pagefind-body` element: posts and members' first pages) are split by
their top-level folder: each year folder (`2019/`…, where the posts are) gets its own bundle
under `pagefind-shards/<year>/`; the searchable pages anywhere else make the main bundle,
`pagefind/`, which the search page loads and merges the others into (Pagefind's
`mergeIndex`; `pagefind/shards.json` lists them). A bundle is built again only when one of
its searchable pages changed, came or went since it was built (each page by path, size,
modification time and inode; kept in var/ with whether the page is searchable, so only pages
written since are read). A publish with one new post rebuilds this year's bundle and the main
one (a member's page changed): seconds, however large the archive. Each bundle is written
beside the old one and swapped in; a killed run leaves the old bundle or the new one.

A site whose searchable pages are all in year folders, or none of them, is indexed in one
run as before (Pagefind needs a main bundle with pages in it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.atomic import write_atomic
from aggregator.errors import AggregatorError
from aggregator.linkcheck import NO_STAMP, Stamp, output_tree

logger = logging.getLogger(__name__)

MAIN_DIR = "pagefind"  # the main bundle: what the search page's script and styles come from
SHARDS_DIR = "pagefind-shards"  # one bundle per year folder
SHARDS_LIST = "shards.json"  # in the main bundle: the other bundles, for mergeIndex
CACHE_VERSION = 1
_MARK = b"data-pagefind-body"
_YEAR = re.compile(r"\d{4}")
_GLOB_SPECIAL = re.compile(r"([\\{}\[\]*?,!])")
_TEMPORARY = ".new-"  # prefix of a bundle being written

Runner = Callable[[Sequence[str]], None]


class SearchIndexError(AggregatorError):
    """Pagefind could not index the site (its output says why)."""


@dataclass(frozen=True)
class IndexReport:
    """What one run did: the bundles built, those kept as they were, the searchable pages."""

    built: tuple[str, ...]
    kept: tuple[str, ...]
    pages: int

    def summary(self) -> str:
        built = ", ".join(name or "main" for name in self.built) or "none"
        return f"{self.pages} searchable pages; bundles built: {built}; {len(self.kept)} kept"


def run_pagefind(arguments: Sequence[str]) -> None:
    """Pagefind's command line (the `pagefind` package's binary); its output goes to ours."""
    result = subprocess.run([sys.executable, "-m", "pagefind", *arguments],  # noqa: S603
                            check=False)
    if result.returncode != 0:
        raise SearchIndexError(f"pagefind {' '.join(arguments)} failed (exit "
                               f"{result.returncode}); see its output above")


def index_site(output: Path, cache: Path, *, run: Runner = run_pagefind) -> IndexReport:
    """Index the built site in `output` for search, rebuilding only the bundles whose
    searchable pages changed since the run that left `cache` (a file under var/)."""
    if not output.is_dir():
        raise SearchIndexError(f"{output}: no built site to index (the output folder is "
                               "missing)")
    _remove_leftovers(output)
    kept_pages, kept_bundles = _read_cache(cache)
    pages = _searchable_pages(output, kept_pages)
    shards: dict[str, dict[str, Stamp]] = {}
    for rel, (stamp, searchable) in pages.items():
        if searchable:
            top = rel.split("/", 1)[0] if "/" in rel else ""
            shard = top if _YEAR.fullmatch(top) else ""
            shards.setdefault(shard, {})[rel] = stamp
    whole = "" not in shards or len(shards) == 1
    if whole:  # nothing to split: one bundle of the whole site, as Pagefind makes by itself
        shards = {"": {rel: stamp for rel, (stamp, _found) in pages.items()}}
    digests = {name: _digest(found, whole) for name, found in shards.items()}
    built: list[str] = []
    kept: list[str] = []
    bundles = dict(kept_bundles)
    for name in sorted(shards):  # the main bundle ("") first
        folder = output / _bundle(name)
        if bundles.get(name) == digests[name] and (folder / "pagefind-entry.json").is_file():
            kept.append(name)
            continue
        bundles.pop(name, None)
        _build(output, name, None if whole else sorted(shards[name]), run)
        bundles[name] = digests[name]
        built.append(name)
        _write_cache(cache, pages, bundles)  # what is built stays built if a later one fails
        if (output / MAIN_DIR / "pagefind-entry.json").is_file():  # merge what is there now
            _write_list(output, [other for other in shards if other and (
                output / _bundle(other) / "pagefind-entry.json").is_file()])
    for name in set(bundles) - set(shards):  # a year with no searchable page left
        del bundles[name]
    try:  # its bundle, and any other no run made (a cache deleted, a year moved)
        orphans = [entry.name for entry in os.scandir(output / SHARDS_DIR)
                   if entry.name not in shards]
    except OSError:
        orphans = []
    for name in orphans:
        path = output / SHARDS_DIR / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    _write_list(output, [name for name in shards if name])
    _write_cache(cache, pages, bundles)
    count = sum(1 for _stamp, found in pages.values() if found)
    report = IndexReport(tuple(built), tuple(kept), count)
    logger.info("search index: %s", report.summary())
    return report


def _write_list(output: Path, names: Sequence[str]) -> None:
    """The year bundles the search page merges into the main one, newest first."""
    write_atomic(output / MAIN_DIR / SHARDS_LIST,
                 json.dumps([f"{_bundle(name)}/" for name in sorted(names, reverse=True)])
                 + "\n")


def _bundle(name: str) -> str:
    """The folder of a bundle, relative to the output."""
    return f"{SHARDS_DIR}/{name}" if name else MAIN_DIR


def _digest(pages: Mapping[str, Stamp], whole: bool) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(b"whole\n" if whole else b"split\n")
    for rel in sorted(pages):
        h.update(f"{rel}\0{pages[rel]}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _glob(pages: Sequence[str]) -> str:
    """A Pagefind glob for these pages: each shape (folder, depth, file name) once, so a
    year's posts are one pattern (`2019/*/*/index.html`); the pages of the same shape that
    are not searchable are read and left out by Pagefind itself."""
    shapes = set()
    for rel in pages:
        parts = [_GLOB_SPECIAL.sub(r"\\\1", part) for part in rel.split("/")]
        if len(parts) > 2:
            parts[1:-1] = ["*"] * (len(parts) - 2)
        shapes.add("/".join(parts))
    return "{" + ",".join(sorted(shapes)) + "}" if len(shapes) > 1 else shapes.pop()


def _build(output: Path, name: str, pages: Sequence[str] | None, run: Runner) -> None:
    """Write one bundle beside the old one, then swap it in. `pages` None: the whole site."""
    final = output / _bundle(name)
    new = final.with_name(f"{_TEMPORARY}{final.name}")
    shutil.rmtree(new, ignore_errors=True)
    # --quiet: errors and warnings only (a publish's log had 25 lines of Pagefind's progress a
    # bundle, every hour; what it built is our summary line)
    arguments = ["--quiet", "--site", str(output), "--output-subdir",
                 new.relative_to(output).as_posix()]
    if pages is not None:
        arguments += ["--glob", _glob(pages)]
    run(arguments)
    if not (new / "pagefind-entry.json").is_file():
        raise SearchIndexError(f"pagefind wrote no bundle in {new} (for {final})")
    old = final.with_name(f"{_TEMPORARY}{final.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(output: Path) -> None:
    """Bundles half-written by a run that was killed."""
    for folder in (output, output / SHARDS_DIR):
        try:
            names = [entry.name for entry in os.scandir(folder) if entry.is_dir()]
        except OSError:
            continue
        for name in names:
            if name.startswith(_TEMPORARY):
                shutil.rmtree(folder / name, ignore_errors=True)


def _searchable_pages(output: Path, kept: Mapping[str, Any]) -> dict[str, tuple[Stamp, bool]]:
    """Every HTML page under `output` (the link check's walk: the bundles hold none): its
    stamp and whether it has a `data-pagefind-body` element (read only for pages not kept
    with the same stamp)."""
    found: dict[str, tuple[Stamp, bool]] = {}
    for name, stamp in output_tree(output)[2].items():
        if not name.endswith(".html") or stamp == NO_STAMP:  # Pagefind's pages; gone
            continue
        before = kept.get(name)
        if isinstance(before, tuple) and len(before) == 2 and before[0] == stamp:
            found[name] = before
            continue
        try:
            searchable = _MARK in (output / name).read_bytes()
        except OSError as exc:
            raise SearchIndexError(f"{output / name}: cannot read it to index the site: "
                                   f"{exc}") from exc
        found[name] = (stamp, searchable)
    return found


def _read_cache(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        data = marshal.loads(path.read_bytes())  # noqa: S302 - our own file, in var/
    except FileNotFoundError:
        return {}, {}
    except (OSError, ValueError, EOFError, TypeError) as exc:
        logger.warning("%s: search index cache unreadable, every bundle is built: %s", path, exc)
        return {}, {}
    if not (isinstance(data, dict) and data.get("version") == CACHE_VERSION
            and isinstance(data.get("pages"), dict) and isinstance(data.get("bundles"), dict)):
        return {}, {}
    return data["pages"], data["bundles"]


def _write_cache(path: Path, pages: Mapping[str, tuple[Stamp, bool]],
                 bundles: Mapping[str, str]) -> None:
    write_atomic(path, marshal.dumps({"version": CACHE_VERSION, "pages": dict(pages),
                                      "bundles": dict(bundles)}))
