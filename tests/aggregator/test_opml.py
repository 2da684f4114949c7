"""OPML in and out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from aggregator.errors import ConfigError
from aggregator.models import Member
from aggregator.opml import read_opml, write_opml


def test_export_lists_every_feed_and_escapes_names() -> None:
    members = [Member("a", 'A & "B" <c>', "https://a.org/feed/", site="https://a.org/",
                      sector="health-and-care"),
               Member("b", "Bee", "https://b.org/feed?x=1&y=2")]
    data = write_opml(members, title="Network", sectors={"health-and-care": "Health and care"})
    root = ET.fromstring(data)
    outlines = root.findall("./body/outline")
    assert [o.get("xmlUrl") for o in outlines] == ["https://a.org/feed/",
                                                   "https://b.org/feed?x=1&y=2"]
    assert outlines[0].get("text") == 'A & "B" <c>'
    assert outlines[0].get("category") == "Health and care"
    assert root.get("version") == "2.0"


def test_import_reads_nested_outlines() -> None:
    data = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="Councils"><outline text="One" type="rss" xmlUrl="https://one.org/feed/"
        htmlUrl="https://one.org/"/></outline>
      <outline text="Two" xmlUrl="https://two.org/rss"/></body></opml>"""
    outlines = read_opml(data, path="x.opml")
    assert [(o.name, o.feed, o.site) for o in outlines] == [
        ("One", "https://one.org/feed/", "https://one.org/"), ("Two", "https://two.org/rss", None)]


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><opml/>',
    b"<opml><body><outline",
    b"<rss/>",
    b'<opml><body><outline text="x" xmlUrl="file:///etc/passwd"/></body></opml>',
])
def test_import_refuses_bad_files(data: bytes) -> None:
    with pytest.raises(ConfigError):
        read_opml(data, path="x.opml")
