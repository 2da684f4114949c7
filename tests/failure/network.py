"""A small network for the failure tests: many members, dated posts, threaded comments.

Every feed is deterministic (fixed dates, fixed ids), so two complete runs write the same bytes
and a run interrupted anywhere can be compared with one that was not.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from tests.httpserver import LoopbackServer, Reply, Request

RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}
ATOM = {"Content-Type": "application/atom+xml"}


def posts_feed(base: str, member: int, posts: int, padding: int = 0) -> bytes:
    pad = " words" * padding
    comments = ("<wfw:commentRss>{base}/m{member}/p{p}/feed/</wfw:commentRss>"
                "<slash:comments>3</slash:comments>")
    items = "".join(f"""
    <item><title>Post {p} of member {member}</title>
      <link>{base}/m{member}/p{p}/</link>
      <guid isPermaLink="false">{base}/?p={member * 1000 + p}</guid>
      <pubDate>Mon, {1 + p % 28:02d} Feb 2026 {p % 24:02d}:00:00 +0000</pubDate>
      <description>&lt;p&gt;Body {p} of member {member}, with
        &lt;a href="/rel/{p}"&gt;a link&lt;/a&gt;.{pad}&lt;/p&gt;</description>
      {comments.format(base=base, member=member, p=p) if p < 2 else ''}
    </item>""" for p in range(posts))
    return f"""<?xml version="1.0"?><rss version="2.0"
      xmlns:wfw="http://wellformedweb.org/CommentAPI/"
      xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>
      <title>Blog {member}</title><link>{base}/m{member}/</link>
      <generator>https://wordpress.org/?v=6.5</generator>{items}</channel></rss>""".encode()


def comment_feed(base: str, member: int, post: int) -> bytes:
    guid = f"{base}/?p={member * 1000 + post}"
    entries = "".join(f"""
    <entry><title>By: C{n}</title><author><name>Commenter {n}</name></author>
      <link rel="alternate" href="{base}/m{member}/p{post}/#comment-{n}"/>
      <id>{guid}#comment-{n}</id><published>2026-03-0{n}T10:00:00Z</published>
      <thr:in-reply-to ref="{guid + f'#comment-{n - 1}' if n > 1 else guid}"/>
      <content type="html">&lt;p&gt;Comment {n}&lt;/p&gt;</content></entry>""" for n in (1, 2, 3))
    return f"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:thr="http://purl.org/syndication/thread/1.0"><title>c</title><id>x</id>
      <updated>2026-03-01T00:00:00Z</updated>{entries}</feed>""".encode()


def serve_network(server: LoopbackServer, *, members: int, posts: int,
                  max_delay: float = 0.0, seed: int = 1, padding: int = 0) -> str:
    """Routes for `members` feeds; returns the registry text. Replies wait up to max_delay."""
    base = server.url("").rstrip("/")
    rng = random.Random(seed)

    def delayed(body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        def handle(request: Request) -> Reply:
            if max_delay:
                time.sleep(rng.uniform(0, max_delay))
            return Reply(200, body, headers)
        return handle

    lines = ["members:"]
    for m in range(members):
        server.routes[f"/m{m}/feed/"] = delayed(posts_feed(base, m, posts, padding), RSS)
        for p in range(2):
            server.routes[f"/m{m}/p{p}/feed/atom/"] = delayed(comment_feed(base, m, p), ATOM)
        lines += [f"  - name: Member {m}", f"    id: m{m}", f"    feed: {base}/m{m}/feed/",
                  "    content: full"]
    return "\n".join(lines) + "\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path → bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def check_whole(path: Path) -> None:
    """A post or comment file as a run leaves it: a metadata block, a blank line, a newline."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{path}: no final newline (cut short?)"
    head, sep, _ = text.partition("\n\n")
    assert sep, f"{path}: no blank line after the metadata"
    keys = [line.split(":", 1)[0] for line in head.splitlines()]
    assert all(line.count(":") >= 1 for line in head.splitlines()), path
    required = {"Title", "Date", "Slug", "Guid", "Member"} if "/posts/" in str(path) \
        else {"Author", "Date", "Slug"}
    assert required <= set(keys), f"{path}: metadata {keys}"


def assert_converged(got: dict[str, bytes], expected: dict[str, bytes]) -> None:
    """Byte for byte what an uninterrupted run writes, and no temporary file left."""
    assert not [p for p in got if p.rsplit("/", 1)[-1].endswith(".tmp")]
    posts = {p: b for p, b in got.items() if p.startswith("posts/")}
    assert posts == {p: b for p, b in expected.items() if p.startswith("posts/")}
    assert sorted(set(expected) - set(got)) == []  # comment threads included
    assert got == expected
