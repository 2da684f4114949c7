"""Pelican plugin: sitemap.xml and robots.txt, from the pages actually written.

On `finalized` (after every writer is done) the output folder is walked for HTML pages, so
plugin pages are listed too; 404.html, drafts and pagination pages are left out. XML through
ElementTree.
"""

from __future__ import annotations

import logging
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pelican import signals

logger = logging.getLogger(__name__)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_SKIP_TOP = {"drafts", "pagefind", "theme"}
_PAGINATION = re.compile(r"(^|/)page/[0-9]+/")


def page_urls(output: Path, site_url: str) -> list[str]:
    """Public URLs of the written pages, sorted, directory-style where the file is index.html."""
    urls = []
    stack = [(str(output), "")]  # a folder and its path under the output, '/'-ended
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    if prefix or name not in _SKIP_TOP:
                        stack.append((entry.path, f"{prefix}{name}/"))
                    continue
                if not name.endswith(".html") or name == "404.html":
                    continue
                rel = prefix + name
                rel = rel[: -len("index.html")] if rel.endswith("index.html") else rel
                if _PAGINATION.search(rel):
                    continue
                urls.append(f"{site_url}/{rel}")
    return sorted(urls)


def sitemap_xml(urls: list[str]) -> bytes:
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for url in urls:
        entry = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = url
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_crawler_files(pelican: Any) -> None:
    output = Path(pelican.output_path)
    site_url = str(pelican.settings.get("SITEURL") or "").rstrip("/")
    (output / "sitemap.xml").write_bytes(sitemap_xml(page_urls(output, site_url)))
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {site_url}/sitemap.xml\n"
    (output / "robots.txt").write_text(robots, encoding="utf-8")
    logger.info("sitemap: wrote %s and robots.txt", output / "sitemap.xml")


def register() -> None:
    signals.finalized.connect(write_crawler_files)
