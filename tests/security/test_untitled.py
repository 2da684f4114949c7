"""An entry whose only text looks like markup must still give a post Pelican can publish.

Found by the fuzzer (tests/fuzz): a JSON Feed item with no title and text such as `<A B>`.
build_post's fallback title is the excerpt, which is plain text; it used to go through
clean_text, which reads HTML, so the title came out empty, the file had no Title line, and
Pelican refused the article with an error that `--fatal errors` (make publish) turns into a
failed build for the whole network. Kept as a regression test.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aggregator.cli import main
from tests.httpserver import LoopbackServer, Reply
from tests.pelicanbuild import run_pelican
from tests.security.hostile_site import build_settings


def test_an_untitled_entry_with_tag_like_text_is_published(
        tmp_path: Path, server: LoopbackServer) -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Micro", "items": [
        {"id": "m1", "url": "https://micro.example/1", "content_text": "<html>",
         "date_published": "2026-03-02T10:00:00Z"},
        {"id": "m2", "url": "https://micro.example/2", "content_text": "<A B>",
         "date_published": "2026-03-03T10:00:00Z"}]}
    server.routes["/feed.json"] = Reply(200, json.dumps(feed).encode(),
                                        {"Content-Type": "application/feed+json"})
    members = tmp_path / "members.yaml"
    members.write_text(f"members:\n  - name: Micro\n    id: micro\n"
                       f"    feed: {server.url('/feed.json')}\n")
    content = tmp_path / "content"
    assert main(["fetch", "--members", str(members), "--content", str(content), "--state",
                 str(tmp_path / "s.db"), "--allow-private-networks"]) == 0
    files = sorted(content.rglob("*.md"))
    assert len(files) == 2
    errors: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        run_pelican(build_settings(content, tmp_path / "output", members, tmp_path / "cache"))
    finally:
        logging.getLogger().removeHandler(handler)
    assert errors == []
    assert len(list((tmp_path / "output").glob("2026/03/micro-*/index.html"))) == 2
