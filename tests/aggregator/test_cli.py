"""The command line as a maintainer uses it: exit codes, status, OPML in and out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aggregator.cli import main
from tests.httpserver import LoopbackServer, Reply

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
<link>https://b.example/</link><item><title>Hello</title><guid>https://b.example/1</guid>
<link>https://b.example/1</link><pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate>
<description>Hi</description></item></channel></rss>"""


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "--no-such-flag"]) == 2
    assert main(["frobnicate"]) == 2


def test_unknown_only_member_is_a_config_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    registry = tmp_path / "m.yaml"
    registry.write_text("members:\n  - name: A\n    feed: https://a.example/feed/\n")
    assert main(["fetch", "--members", str(registry), "--content", str(tmp_path / "c"),
                 "--state", str(tmp_path / "s.db"), "--only", "zed"]) == 2
    assert "no member with id 'zed'" in capsys.readouterr().err


def test_status_shows_health_after_a_run(tmp_path: Path, server: LoopbackServer,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    server.routes["/ok"] = Reply(200, RSS, {"Content-Type": "application/rss+xml"})
    server.routes["/bad"] = Reply(404, b"no")
    registry = tmp_path / "m.yaml"
    registry.write_text(f"members:\n  - name: Ok\n    id: ok\n    feed: {server.url('/ok')}\n"
                        f"  - name: Bad\n    id: bad\n    feed: {server.url('/bad')}\n"
                        f"  - name: New\n    id: new\n    feed: https://new.example/feed\n"
                        f"    paused: true\n")
    paths = ["--members", str(registry), "--content", str(tmp_path / "c"), "--state",
             str(tmp_path / "s.db")]
    assert main(["fetch", *paths, "--allow-private-networks"]) == 0
    capsys.readouterr()
    assert main(["status", *paths]) == 0
    out = capsys.readouterr().out
    assert "HTTP 404" in out and "never fetched" in out
    assert "ok" in out and "days ago" in out


def test_opml_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text("""<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head>
      <body><outline text="Council Blog" type="rss" xmlUrl="https://c.example/feed/"
        htmlUrl="https://c.example/"/><outline text="NHS &amp; Me"
        xmlUrl="https://n.example/rss"/></body></opml>""")
    registry = tmp_path / "members.yaml"
    registry.write_text("# our network\nmembers:\n  - name: Existing\n"
                        "    feed: https://c.example/feed\n")
    assert main(["import-opml", "--members", str(registry), str(opml)]) == 0
    out = capsys.readouterr().out
    assert "skipped https://c.example/feed/" in out and "added 1 member" in out
    assert registry.read_text().startswith("# our network\n")
    assert main(["export-opml", "--members", str(registry)]) == 0
    root = ET.fromstring(capsys.readouterr().out.encode())
    assert [(o.get("text"), o.get("xmlUrl")) for o in root.iter("outline")] == [
        ("Existing", "https://c.example/feed"), ("NHS & Me", "https://n.example/rss")]
