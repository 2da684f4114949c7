"""Pelican plugin: sitemap.xml and robots.txt, from the pages actually written.

On `finalized` (after every writer is done) the HTML pages of the output folder are listed, so
plugin pages are listed too; 404.html, drafts and pagination pages are left out. A build that
knows what it wrote (plugins/incremental: `written_files()` on the Pelican object, every page
written or kept this build) saves the walk of 35,000 files; otherwise the folder is walked.
The files are replaced atomically, and left alone when their bytes would not change
(aggregator.atomic).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pelican import signals

from aggregator.atomic import write_atomic

logger = logging.getLogger(__name__)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_SKIP_TOP = {"drafts", "pagefind", "theme"}
_PAGINATION = re.compile(r"(^|/)page/[0-9]+/")


def _html_files(output: Path) -> Iterable[str]:
    """Every file under the output folder, by its '/'-separated path, but the top folders
    that hold no public pages."""
    stack = [(str(output), "")]  # a folder and its path under the output, '/'-ended
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if prefix or entry.name not in _SKIP_TOP:
                        stack.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                yield prefix + entry.name


def page_urls(output: Path, site_url: str, files: Iterable[str] | None = None) -> list[str]:
    """Public URLs of the written pages, sorted, directory-style where the file is index.html.
    `files`: the output's files ('/'-separated), if known; else the folder is walked."""
    urls = []
    for rel in _html_files(output) if files is None else files:
        if not rel.endswith(".html") or rel.rsplit("/", 1)[-1] == "404.html":
            continue
        if rel.split("/", 1)[0] in _SKIP_TOP and "/" in rel:
            continue
        rel = rel[: -len("index.html")] if rel.endswith("index.html") else rel
        if "page/" in rel and _PAGINATION.search(rel):  # the test first: 35,000 pages
            continue
        urls.append(f"{site_url}/{rel}")
    return sorted(urls)


def sitemap_xml(urls: list[str]) -> bytes:
    lines = ["<?xml version='1.0' encoding='utf-8'?>", f'<urlset xmlns="{SITEMAP_NS}">']
    lines += [f"  <url>\n    <loc>{escape(url)}</loc>\n  </url>" for url in urls]
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_crawler_files(pelican: Any) -> None:
    output = Path(pelican.output_path)
    site_url = str(pelican.settings.get("SITEURL") or "").rstrip("/")
    written = getattr(pelican, "written_files", None)
    files = written() if callable(written) else None
    write_atomic(output / "sitemap.xml", sitemap_xml(page_urls(output, site_url, files)))
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {site_url}/sitemap.xml\n"
    write_atomic(output / "robots.txt", robots.encode("utf-8"))
    logger.info("sitemap: wrote %s and robots.txt", output / "sitemap.xml")


def register() -> None:
    signals.finalized.connect(write_crawler_files)
