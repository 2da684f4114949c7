"""OPML 2.0 documents of member feeds, built with ElementTree (the serializer escapes)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any


def _outline(entry: Any) -> dict[str, str]:
    member = entry.member
    attrs = {"type": "rss", "text": member.name, "title": member.name, "xmlUrl": member.feed}
    if member.site:
        attrs["htmlUrl"] = member.site
    if member.organisation:
        attrs["description"] = member.organisation
    return attrs


def opml_document(title: str, sectors: Iterable[tuple[str, Iterable[Any]]], *,
                  owner: str | None = None, docs_url: str | None = None) -> bytes:
    """An OPML file with one folder outline per sector, one feed outline per member."""
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    if owner:
        ET.SubElement(head, "ownerId").text = owner
    if docs_url:
        ET.SubElement(head, "docs").text = docs_url
    body = ET.SubElement(root, "body")
    for sector_name, entries in sectors:
        folder = ET.SubElement(body, "outline", {"text": sector_name, "title": sector_name})
        for entry in entries:
            ET.SubElement(folder, "outline", _outline(entry))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
