"""A hostile network end to end: feeds served on 127.0.0.1 → `aggregator fetch` → real Pelican.

`build_hostile_site(tmp)` serves the payload feeds (payloads.py), fetches them with the real
command line into tmp/content, builds the site with the project's pelicanconf, theme and
plugins (feeds switched on, as publishconf does), and returns where everything is. Pelican's
error-level log records are kept: a payload that breaks the build is a finding too.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pelican.settings import read_settings

from aggregator.cli import main
from tests.httpserver import LoopbackServer, Reply
from tests.pelicanbuild import run_pelican
from tests.security import payloads

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SECRET = "SECRET-MARKER-7c1e0b"  # in files beside content/: must never reach output/
RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}
ATOM = {"Content-Type": "application/atom+xml"}
FEED_SETTINGS = {
    "FEED_ALL_ATOM": "feeds/all.atom.xml", "FEED_ALL_RSS": "feeds/all.rss.xml",
    "AUTHOR_FEED_ATOM": "members/{slug}/feed.atom.xml",
    "AUTHOR_FEED_RSS": "members/{slug}/feed.rss.xml",
    "CATEGORY_FEED_ATOM": "sectors/{slug}/feed.atom.xml",
    "CATEGORY_FEED_RSS": "sectors/{slug}/feed.rss.xml",
    "TAG_FEED_ATOM": "tags/{slug}/feed.atom.xml",
}


@dataclass
class HostileSite:
    root: Path
    content: Path
    output: Path
    fetch_exit: int
    errors: list[str] = field(default_factory=list)  # Pelican's error log records


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def serve_payloads(server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    server.routes["/wp/feed/"] = Reply(200, payloads.rss_posts_feed(base), RSS)
    for number in range(101, 111):
        server.routes[f"/wp/{number}/feed/atom/"] = Reply(
            200, payloads.wp_atom_comment_feed(base, number), ATOM)
        server.routes[f"/wp/{number}/feed/"] = Reply(
            200, payloads.wp_rss_comment_feed(base, number), RSS)
    server.routes["/atom.xml"] = Reply(200, payloads.atom_posts_feed(base), ATOM)
    server.routes["/feed.json"] = Reply(200, payloads.json_feed(base),
                                        {"Content-Type": "application/feed+json"})


def build_settings(content: Path, output: Path, members: Path, cache: Path,
                   **overrides: object) -> dict[str, object]:
    return read_settings(path=str(ROOT / "pelicanconf.py"), override={
        "PATH": str(content), "OUTPUT_PATH": str(output), "CACHE_PATH": str(cache),
        "MEMBERS_FILE": str(members), "NETWORK_TODAY": TODAY, "LOAD_CONTENT_CACHE": False,
        "CACHE_CONTENT": False, "SUBMISSIONS_URL": "https://join.example/submit",
        **FEED_SETTINGS, **overrides})


def build_hostile_site(tmp: Path) -> HostileSite:
    """Serve, fetch and build; the server is closed before this returns."""
    (tmp / "secret.txt").write_text(SECRET)
    content = tmp / "content"
    (content / "pages").mkdir(parents=True)
    (content / "secret.txt").write_text(SECRET)  # {static}/{attach} targets, if ever expanded
    for page in (ROOT / "content" / "pages").glob("*.md"):
        shutil.copy(page, content / "pages" / page.name)
    members = tmp / "members.yaml"
    with LoopbackServer() as server:
        serve_payloads(server)
        members.write_text(payloads.REGISTRY.replace("{BASE}", server.url("").rstrip("/")))
        code = main(["fetch", "--members", str(members), "--content", str(content),
                     "--state", str(tmp / "var" / "state.sqlite3"),
                     "--allow-private-networks"])
    output = tmp / "output"
    handler = _Errors()
    logging.getLogger().addHandler(handler)
    try:
        run_pelican(build_settings(content, output, members, tmp / "cache"))
    finally:
        logging.getLogger().removeHandler(handler)
    return HostileSite(tmp, content, output, code, handler.messages)
