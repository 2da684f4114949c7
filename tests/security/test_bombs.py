"""XML and HTTP bombs: each one is bounded in time and memory and is its own member's error.

One run over a network where every member but one is an attack (external entities, billion
laughs, 100,000-deep nesting, gzip bomb, endless and slow-drip bodies, redirect loops, wrong
content types), through the real command line with a 2-second per-feed timeout. The one honest
member is fetched as usual.
"""

from __future__ import annotations

import gzip
import itertools
import resource
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.cli import main
from tests.httpserver import LoopbackServer, Reply

ROOT = Path(__file__).resolve().parents[2]
RSS = {"Content-Type": "application/rss+xml"}
SECRET = "XXE-SECRET-5d2f9a"
MiB = 1024 * 1024
GOOD = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Good</title>
<item><title>Honest post</title><link>https://good.example/1</link><guid>good-1</guid>
<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate><description>fine</description></item>
</channel></rss>"""


def item(title: str, body: str) -> str:
    return (f"<item><title>{title}</title><link>https://x.example/{abs(hash(title))}</link>"
            f"<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate>"
            f"<description>{body}</description></item>")


def xxe(secret_path: Path, dtd_url: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY xxe SYSTEM "file://{secret_path}">
  <!ENTITY % remote SYSTEM "{dtd_url}">
  %remote;
]>
<rss version="2.0"><channel><title>&xxe;</title>
{item("Entity &xxe;", "body &xxe; end")}</channel></rss>""".encode()


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{"".join(entities)}]>'
            f'<rss version="2.0"><channel><title>&lol9;</title>'
            f'{item("Laughs &lol9;", "&lol9;")}</channel></rss>').encode()


def deep_xml() -> bytes:
    depth = 100_000
    return (b'<?xml version="1.0"?><rss version="2.0"><channel><title>deep</title>'
            + b"<x>" * depth + b"</x>" * depth + b"</channel></rss>")


def deep_html() -> bytes:
    depth = 100_000
    html = "&lt;div&gt;" * depth + "deep text" + "&lt;/div&gt;" * depth
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>deep html</title>'
            f'{item("Deep body", html)}</channel></rss>').encode()


def gzip_bomb() -> bytes:
    """About 100 MiB of zeros in about 100 kB: ten times the 10 MiB cap."""
    return gzip.compress(b"\0" * (100 * MiB), compresslevel=9)


def endless() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>'
    for _ in itertools.count():
        yield b"a" * 65536


def slow_drip() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
    for _ in range(100):
        yield b" "


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def attacks(server: LoopbackServer, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """member id → (feed URL, the words its error must contain)."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    routes = {
        "good": (Reply(200, GOOD, RSS), None),
        "xxe": (Reply(200, xxe(secret, server.url("/evil.dtd")), RSS), None),
        "laughs": (Reply(200, billion_laughs(), RSS), None),
        "deepxml": (Reply(200, deep_xml(), RSS), None),  # read, or refused: either way, bounded
        "deephtml": (Reply(200, deep_html(), RSS), None),
        "gzip": (Reply(200, gzip_bomb(), {**RSS, "Content-Encoding": "gzip"}),
                 "decompresses to more than the cap"),
        "endless": (Reply(200, endless(), RSS), "over the cap"),
        "slow": (Reply(200, slow_drip(), RSS, delay=0.2), "no complete answer within 2 s"),
        "loop": (Reply(302, b"", {"Location": server.url("/loop2")}), "redirect loop"),
        "chain": (Reply(302, b"", {"Location": server.url("/chain1")}), "too many redirects"),
        "html": (Reply(200, b"<!DOCTYPE html><html><body>Not a feed</body></html>", RSS),
                 "HTML page, not a feed"),
        "png": (Reply(200, PNG, RSS), "not"),
        "json": (Reply(200, b'{"not": "a feed"}', {"Content-Type": "text/html"}),
                 "not a readable feed"),
    }
    server.routes["/loop2"] = Reply(302, b"", {"Location": server.url("/loop")})
    for i in range(1, 12):
        server.routes[f"/chain{i}"] = Reply(302, b"", {"Location": server.url(f"/chain{i + 1}")})
    server.routes["/evil.dtd"] = Reply(200, b'<!ENTITY leak "DTD-FETCHED">',
                                       {"Content-Type": "application/xml-dtd"})
    expected = {}
    for name, (reply, words) in routes.items():
        server.routes[f"/{name}"] = reply
        expected[name] = (server.url(f"/{name}"), words)
    return expected


NETWORK = ("good", "gzip", "endless", "slow", "loop", "chain", "json")
PARSING = ("good", "xxe", "laughs", "deepxml", "deephtml", "html", "png")
@pytest.mark.parametrize("group", [
    pytest.param(NETWORK, id="network"),
    pytest.param(PARSING, id="parsing"),  # under 8 feeds: parsed in a thread
    pytest.param(NETWORK + PARSING[1:], id="all-at-once-in-the-process-pool"),
])
def test_every_bomb_is_bounded_and_is_its_own_members_error(
        tmp_path: Path, server: LoopbackServer,
        attacks: dict[str, tuple[str, str | None]], group: tuple[str, ...]) -> None:
    attacks = {name: attacks[name] for name in group}
    conf = tmp_path / "conf.py"
    conf.write_text(f"exec(open({str(ROOT / 'pelicanconf.py')!r}).read())\n"
                    "AGGREGATOR_TIMEOUT = 2.0\n")
    (tmp_path / "members.yaml").write_text("members:\n" + "".join(
        f"  - name: {name.title()}\n    id: {name}\n    feed: {url}\n    comments: false\n"
        for name, (url, _) in attacks.items()))
    self_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    code = main(["--settings", str(conf), "fetch", "--allow-private-networks"])
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 30, f"the run took {elapsed:.1f} s"
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self_before
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert grown < 400 * 1024 and children < 600 * 1024  # kB: far below a bomb's size

    db = sqlite3.connect(tmp_path / "var" / "state.sqlite3")
    health = {row[0]: (row[1], row[2]) for row in
              db.execute("SELECT member_id, failures, last_error FROM feeds")}
    db.close()
    assert health["good"] == (0, None)
    for name, (_, words) in attacks.items():
        if words is None:
            continue
        failures, error = health[name]
        assert failures == 1 and error and words in error, (name, error)
        assert attacks[name][0] in error, (name, error)  # names the feed at fault

    written = {p: p.read_bytes() for p in (tmp_path / "content").rglob("*") if p.is_file()}
    assert any(b"Honest post" in data for data in written.values())
    everything = b"".join(written.values()) + (tmp_path / "var" / "state.sqlite3").read_bytes()
    assert SECRET.encode() not in everything  # external entities never read
    assert b"DTD-FETCHED" not in everything and server.hits("/evil.dtd") == 0
    assert b"lollollollollol" not in everything  # entities never expanded
    assert all(len(data) < 1 * MiB for data in written.values())
