"""OPML 2.0 in and out: bulk onboarding and the public list of member feeds.

Written with ElementTree (a serializer, never string formatting); read with a parser that
refuses DOCTYPEs outright, so no entity tricks reach us.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - input is checked for DOCTYPE/ENTITY first
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from aggregator.errors import ConfigError
from aggregator.members import is_http_url
from aggregator.models import Member


@dataclass(frozen=True)
class Outline:
    """One feed from an OPML file."""

    name: str
    feed: str
    site: str | None = None


def read_opml(data: bytes, *, path: str) -> list[Outline]:
    """Every outline with an http(s) xmlUrl, nested ones included, in document order."""
    head = data[:65536].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise ConfigError("OPML files with a DOCTYPE or entities are refused", path=path)
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DOCTYPE, so no entities
    except ET.ParseError as exc:
        raise ConfigError(f"not well-formed XML: {exc}", path=path,
                          line=exc.position[0] if exc.position else None) from exc
    if root.tag != "opml":
        raise ConfigError(f"not an OPML file (root element <{root.tag}>)", path=path)
    outlines = []
    for node in root.iter("outline"):
        feed = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not feed:
            continue
        if not is_http_url(feed):
            raise ConfigError(f"outline {node.get('text')!r} has a non-http(s) xmlUrl {feed!r}",
                              path=path)
        name = " ".join((node.get("title") or node.get("text") or "").split())
        site = (node.get("htmlUrl") or "").strip() or None
        outlines.append(Outline(name=name or feed, feed=feed,
                                site=site if site and is_http_url(site) else None))
    return outlines


def write_opml(members: Iterable[Member], *, title: str, now: datetime | None = None,
               sectors: dict[str, str] | None = None) -> bytes:
    """OPML 2.0 of the members' feeds, in registry order."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    if now is not None:
        ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    for member in members:
        attrs = {"text": member.name, "title": member.name, "type": "rss",
                 "xmlUrl": member.feed}
        if member.site:
            attrs["htmlUrl"] = member.site
        if member.sector:
            attrs["category"] = (sectors or {}).get(member.sector, member.sector)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
