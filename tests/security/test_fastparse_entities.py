"""The fast RSS reader never reads a DTD: no entity is declared, expanded or fetched.

Each attack below is otherwise a perfectly good WordPress-style RSS 2.0 feed, the kind the fast
reader exists for. It must step aside (feedparser, with its own defences, then reads the
document as before), take no time doing so, open no file and make no request; and what
parse_feed returns must hold neither the secret nor the expansion.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.fastparse import parse_rss20
from aggregator.parse import parse_feed
from tests.httpserver import LoopbackServer, Reply

URL = "https://blog.example/feed/"
RSS = {"content-type": "application/rss+xml; charset=UTF-8"}
SECRET = "FASTPARSE-XXE-SECRET-8c1e"
HEAD = ('<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">')


def feed(doctype: str, title: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n{HEAD}<channel>'
            f"<title>{title}</title><link>https://blog.example/</link>"
            f"<item><title>{title}</title><link>https://blog.example/1</link>"
            f"<guid isPermaLink=\"false\">p-1</guid><dc:creator>Ann</dc:creator>"
            f"<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate>"
            f"<content:encoded>{body}</content:encoded></item></channel></rss>").encode()


def everything(feed_out: object) -> str:
    return repr(feed_out)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def attacks(secret: Path, dtd_url: str) -> dict[str, bytes]:
    laughs = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    quadratic = "A" * 50_000
    return {
        "external entity (XXE)": feed(
            f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;", "&xxe;"),
        "external DTD": feed(f'<!DOCTYPE rss SYSTEM "{dtd_url}">', "Title", "Body"),
        "parameter entity": feed(
            f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{dtd_url}"> %remote;]>',
            "Title", "Body"),
        "billion laughs": feed(f'<!DOCTYPE rss [{"".join(laughs)}]>', "&lol9;", "&lol9;"),
        "quadratic blowup": feed(f'<!DOCTYPE rss [<!ENTITY a "{quadratic}">]>',
                                 "&a;" * 200, "&a;" * 200),
        "internal entity, harmless-looking": feed(
            '<!DOCTYPE rss [<!ENTITY name "Mallory">]>', "Hi &name;", "&name;"),
    }


def test_the_fast_reader_refuses_every_dtd(secret_file: Path, server: LoopbackServer) -> None:
    server.routes["/evil.dtd"] = Reply(200, f'<!ENTITY leak "{SECRET}">'.encode())
    for name, body in attacks(secret_file, server.url("/evil.dtd")).items():
        started = time.process_time()
        assert parse_rss20(body, RSS, url=URL) is None, name
        assert time.process_time() - started < 0.5, f"{name}: took too long to refuse"
    assert server.hits("/evil.dtd") == 0


def test_parse_feed_keeps_the_secret_and_the_laughs_out(secret_file: Path,
                                                        server: LoopbackServer) -> None:
    server.routes["/evil.dtd"] = Reply(200, f'<!ENTITY leak "{SECRET}">'.encode())
    for name, body in attacks(secret_file, server.url("/evil.dtd")).items():
        started = time.process_time()
        try:
            result = everything(parse_feed(body, RSS, url=URL))
        except ParseError as exc:
            result = str(exc)
        assert time.process_time() - started < 5, f"{name}: too slow"
        assert SECRET not in result, name
        assert "lollollol" not in result, name
        assert "A" * 100_000 not in result, name
        assert len(result) < 400_000, f"{name}: an expansion got through"
    assert server.hits("/evil.dtd") == 0


def test_the_same_feed_without_a_doctype_is_read_fast() -> None:
    """The control: the attack feeds are otherwise what the fast reader is for."""
    body = feed("", "Plain title", "&lt;p&gt;Body&lt;/p&gt;")
    parsed = parse_rss20(body, RSS, url=URL)
    assert parsed is not None
    assert parsed["entries"][0]["title"] == "Plain title"


def test_undeclared_entities_and_stray_declarations_step_aside() -> None:
    for body in (feed("", "&nbsp;", "x"),
                 feed('<!ENTITY x "y">', "Title", "Body"),
                 feed("", "Title", "x").replace(b"<channel>", b'<channel><!DOCTYPE x>', 1)):
        assert parse_rss20(body, RSS, url=URL) is None
