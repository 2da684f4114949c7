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


def test_a_member_leaves_with_or_without_their_posts(
        tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    """`remove-member`: out of the registry (its other lines as they were); with --with-posts
    their posts and comment threads go too, and nobody else's; --dry-run changes nothing."""
    for name in ("ann", "bea"):
        server.routes[f"/{name}"] = Reply(200, RSS.replace(b"https://b.example/", (
            f"https://{name}.example/").encode()), {"Content-Type": "application/rss+xml"})
    registry = tmp_path / "members.yaml"
    registry.write_text(f"# the network\nmembers:\n  - name: Ann\n    id: ann\n"
                        f"    feed: {server.url('/ann')}\n\n  # Bea, since 2026\n"
                        f"  - name: Bea\n    id: bea\n    feed: {server.url('/bea')}\n")
    (tmp_path / "pelicanconf.py").write_text('PATH = "content"\n')  # the lock under tmp_path
    paths = ["--members", str(registry), "--content", str(tmp_path / "content"),
             "--state", str(tmp_path / "var" / "s.db")]
    assert main(["fetch", *paths, "--allow-private-networks"]) == 0
    posts = tmp_path / "content" / "posts"
    [ann_post] = (posts / "ann").rglob("*.md")
    thread = tmp_path / "content" / "comments" / f"ann-{ann_post.stem}"
    thread.mkdir(parents=True)
    (thread / "1-aaaaaaaa.md").write_text("Author: Cy\nDate: 2026-03-03 10:00:00+00:00\n\nHi\n")
    before = registry.read_text()
    settings = ["--settings", str(tmp_path / "pelicanconf.py")]

    assert main([*settings, "remove-member", *paths, "ann", "--with-posts", "--dry-run"]) == 0
    assert "would remove ann (Ann," in capsys.readouterr().out
    assert registry.read_text() == before and ann_post.exists()

    assert main([*settings, "remove-member", *paths, "ann", "--with-posts"]) == 0
    assert "removed 1 post(s) of ann" in capsys.readouterr().out
    assert registry.read_text() == before.replace(
        f"  - name: Ann\n    id: ann\n    feed: {server.url('/ann')}\n\n", "")
    assert not (posts / "ann").exists() and not thread.exists()
    assert len(list((posts / "bea").rglob("*.md"))) == 1

    assert main([*settings, "remove-member", *paths, "bea"]) == 0  # the archive stays
    assert "their posts stay" in capsys.readouterr().out
    assert "bea" not in registry.read_text() and len(list(posts.rglob("*.md"))) == 1
    assert main([*settings, "remove-member", *paths, "bea"]) == 2  # no such member now
    assert "no member with id 'bea'" in capsys.readouterr().err
