"""End to end over real HTTP on 127.0.0.1: registry → fetch → content files Pelican reads back."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from email.utils import formatdate
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.run import CONVERTER_VERSION
from aggregator.state import State, ThreadState
from tests.httpserver import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parent.parent / "data" / "feeds"
TYPES = {".xml": "application/rss+xml", ".json": "application/feed+json"}


def feed_bytes(name: str, server: LoopbackServer) -> bytes:
    return (DATA / name).read_text().replace("{BASE}", server.url("").rstrip("/")).encode()


def conditional(body: bytes, content_type: str) -> callable:  # type: ignore[name-defined]
    """A handler that honours If-None-Match like a well-behaved server."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def handle(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"Content-Type": content_type, "ETag": etag,
                                 "Last-Modified": formatdate(0, usegmt=True)})
    return handle


class Network:
    """A registry, a content folder and a state file in tmp_path, fetched with the real CLI."""

    def __init__(self, root: Path, server: LoopbackServer) -> None:
        self.root = root
        self.server = server
        self.content = root / "content"
        self.state = root / "var" / "state.sqlite3"
        self.members = root / "members.yaml"

    def register(self, text: str) -> None:
        self.members.write_text(text.replace("{BASE}", self.server.url("").rstrip("/")))

    def fetch(self, *extra: str, private: bool = True) -> int:
        args = ["fetch", "--members", str(self.members), "--content", str(self.content),
                "--state", str(self.state), *extra]
        if private:
            args.append("--allow-private-networks")
        return main(args)

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.content)): p.read_bytes()
                for p in sorted(self.content.rglob("*.md"))}

    def mtimes(self) -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in self.content.rglob("*.md")}

    def health(self, member: str) -> dict[str, object]:
        db = sqlite3.connect(self.state)
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM feeds WHERE member_id = ?", (member,)).fetchone()
        db.close()
        return dict(row) if row else {}


@pytest.fixture
def net(tmp_path: Path, server: LoopbackServer) -> Network:
    return Network(tmp_path, server)


def serve_all(server: LoopbackServer) -> None:
    server.routes["/wp/feed/"] = conditional(feed_bytes("wordpress.xml", server),
                                             "application/rss+xml; charset=UTF-8")
    server.routes["/blog/atom.xml"] = conditional(feed_bytes("atom.xml", server),
                                                  "application/atom+xml")
    server.routes["/rss1.rdf"] = Reply(200, feed_bytes("rss1.xml", server),
                                       {"Content-Type": "application/rdf+xml"})
    server.routes["/feed.json"] = Reply(200, feed_bytes("jsonfeed.json", server),
                                        {"Content-Type": "application/feed+json"})
    server.routes["/broken/feed/"] = Reply(200, b"<html><body>Error establishing a database "
                                           b"connection</body></html>",
                                           {"Content-Type": "text/html"})


REGISTRY = """\
members:
  - name: Ann Example
    id: ann
    feed: {BASE}/wp/feed/
    sector: local-government
    content: full
  - name: Bob Example
    id: bob
    feed: {BASE}/blog/atom.xml
    sector: central-government
  - name: Dee Example
    id: dee
    feed: {BASE}/rss1.rdf
  - name: Cara Example
    id: cara
    feed: {BASE}/feed.json
    sector: health-and-care
  - name: Ed Broken
    id: ed
    feed: {BASE}/broken/feed/
"""


def pelican_read(path: Path) -> tuple[str, dict[str, object]]:
    """Read a post file the way Pelican does (its Markdown reader, our settings)."""
    from pelican.readers import MarkdownReader
    from pelican.settings import read_settings

    settings = read_settings(str(Path(__file__).resolve().parents[2] / "pelicanconf.py"))
    return MarkdownReader(settings).read(str(path))


def test_every_format_becomes_post_files_pelican_reads(net: Network) -> None:
    serve_all(net.server)
    net.register(REGISTRY)
    assert net.fetch() == 0
    files = net.files()
    assert "posts/ann/2026/why-we-stopped-writing-pdfs.md" in files
    assert "posts/ann/2026/open-data-day-at-the-town-hall.md" in files
    assert any(f.startswith("posts/bob/2026/testing-policy") for f in files)
    assert any(f.startswith("posts/dee/2026/response-times") for f in files)
    assert any(f.startswith("posts/cara/2026/better-handovers") for f in files)
    assert not any(f.startswith("posts/ed/") for f in files)

    html, meta = pelican_read(net.content / "posts/ann/2026/why-we-stopped-writing-pdfs.md")
    assert meta["title"] == "Why we stopped writing PDFs"
    assert meta["slug"] == "ann-why-we-stopped-writing-pdfs"
    assert meta["member"] == "ann"
    assert str(meta["category"]) == "Local government"
    assert [str(t) for t in meta["tags"]] == ["Digital", "Content design"]
    assert meta["date"].isoformat() == "2026-03-03T09:00:00+00:00"
    assert meta["original_url"] == net.server.url("/2026/03/why-we-stopped-writing-pdfs/")
    assert meta["guid"] == net.server.url("/?p=101")
    assert meta["blog"] == "Council Digital Notes"
    assert meta["comment_count"] == "3"
    # full content, rendered back faithfully, relative URLs made absolute
    assert "<h2>What we changed</h2>" in html
    assert "<li>HTML first</li>" in html
    assert f'href="{net.server.url("/guides/html-first/")}"' in html
    assert f'src="{net.server.url("/wp-content/uploads/chart.png")}"' in html
    assert "<blockquote>" in html and "<table>" in html

    html, meta = pelican_read(next((net.content / "posts/bob/2026").glob("testing-policy*.md")))
    assert meta["title"] == "Testing policy with users"  # markup in a title becomes text
    assert not any(b"bob@example.org" in text for text in files.values())
    assert meta["modified"].isoformat() == "2026-03-10T12:00:00+00:00"
    assert "Continue reading on" in html  # summary mode
    assert net.server.url("/blog/posts/testing-policy/") in html


def test_broken_member_is_reported_and_does_not_stop_the_run(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    serve_all(net.server)
    net.register(REGISTRY)
    assert net.fetch() == 0
    out = capsys.readouterr().out
    assert "ed" in out and "HTML page, not a feed" in out
    health = net.health("ed")
    assert health["failures"] == 1 and "HTML page" in str(health["last_error"])
    assert net.fetch("--strict", "--force") == 1


def test_second_run_sends_validators_and_rewrites_nothing(net: Network) -> None:
    serve_all(net.server)
    net.register(REGISTRY)
    net.fetch()
    before_files, before_mtimes = net.files(), net.mtimes()
    net.fetch()
    assert net.files() == before_files
    assert net.mtimes() == before_mtimes
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert len(wp) == 2 and "if-none-match" in wp[1].headers
    assert "PublicSectorBlogsBot" in wp[0].headers["user-agent"]
    assert "gzip" in wp[0].headers["accept-encoding"]


def test_a_new_conversion_writes_posts_again_even_where_the_feed_would_answer_304(
        net: Network) -> None:
    serve_all(net.server)
    net.register(REGISTRY)
    net.fetch()
    post = net.content / "posts/ann/2026/why-we-stopped-writing-pdfs.md"
    current = post.read_bytes()
    # as the conversion before wrote them: its body hash had no version in front, and its
    # excerpt differed
    db = sqlite3.connect(net.state)
    with db:
        db.execute("UPDATE feeds SET body_hash = ? WHERE member_id = 'ann'", ("ab" * 32,))
    db.close()
    assert b"\nSummary: " in current
    post.write_bytes(current.replace(b"\nSummary: ", b"\nSummary: Old excerpt. ", 1))
    net.fetch()
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert len(wp) == 2 and "if-none-match" not in wp[1].headers  # fetched whole
    assert post.read_bytes() == current  # written by this conversion
    assert str(net.health("ann")["body_hash"]).startswith(f"{CONVERTER_VERSION}.")
    net.fetch()  # and conditional again from then on
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert len(wp) == 3 and "if-none-match" in wp[2].headers


ANN_ONLY = """\
members:
  - name: Ann Example
    id: ann
    feed: {BASE}/wp/feed/
"""
PDFS = "posts/ann/2026/why-we-stopped-writing-pdfs.md"
OPEN_DATA = "posts/ann/2026/open-data-day-at-the-town-hall.md"


def test_a_member_s_topics_choose_the_posts_and_threads_fetched(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    serve_all(net.server)
    # the feed's categories: "Digital", "Content design" and "Open data"
    net.register(ANN_ONLY + "    only_topics: [content-design, Housing]\n")
    assert net.fetch("--strict") == 0
    assert sorted(net.files()) == [PDFS]
    assert "1 post(s) outside its topics left out" in capsys.readouterr().out
    assert net.health("ann")["left_out"] == 1  # for the health page and `status`
    assert main(["status", "--members", str(net.members), "--state", str(net.state)]) == 0
    assert "1 post(s) outside its topics at the last fetch" in capsys.readouterr().out
    asked = {r.path for r in net.server.requests}
    assert "/2026/03/why-we-stopped-writing-pdfs/feed/" in asked
    assert "/2026/02/open-data-day/feed/" not in asked  # no thread for a post left out

    net.register(ANN_ONLY + "    skip_topics: [Digital, open_data]\n")  # both posts left out
    assert net.fetch("--strict") == 0  # not "no usable entries": the member is fine
    assert sorted(net.files()) == [PDFS]  # kept: a filter never removes a post


def test_a_changed_topic_filter_applies_at_once_even_where_the_feed_would_answer_304(
        net: Network) -> None:
    serve_all(net.server)
    net.register(ANN_ONLY + "    only_topics: [Digital]\n")
    net.fetch()
    assert sorted(net.files()) == [PDFS]
    net.fetch()
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert "if-none-match" in wp[-1].headers  # unchanged member: conditional
    kept = (net.content / PDFS).stat().st_mtime_ns

    net.register(ANN_ONLY + "    only_topics: [Digital, Open data]\n")
    net.fetch()
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert "if-none-match" not in wp[-1].headers  # asked whole: the server's 304 would
    assert sorted(net.files()) == [OPEN_DATA, PDFS]  # have kept the post out
    assert (net.content / PDFS).stat().st_mtime_ns == kept  # the same bytes: not rewritten

    # a member added above Ann moves her entry down the file; her posts are written the
    # same way, so her feed is still asked for conditionally
    net.register("members:\n  - name: Cy\n    id: cy\n    feed: {BASE}/feed.json\n"
                 + ANN_ONLY.removeprefix("members:\n") + "    only_topics: [Digital, Open data]\n")
    net.fetch()
    wp = [r for r in net.server.requests if r.path == "/wp/feed/"]
    assert "if-none-match" in wp[-1].headers


def test_deleting_state_changes_no_byte(net: Network) -> None:
    serve_all(net.server)
    net.register(REGISTRY)
    net.fetch()
    before = net.files()
    for path in net.state.parent.iterdir():
        path.unlink()
    net.fetch()
    assert net.files() == before


def test_changed_post_rewrites_only_its_file_and_dropped_posts_stay(net: Network) -> None:
    body = feed_bytes("wordpress.xml", net.server)
    net.server.routes["/wp/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    net.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n")
    net.fetch()
    mtimes = net.mtimes()
    # the newer post is edited; the older one falls out of the feed
    start = body.index(b"<item>", body.index(b"</item>"))
    end = body.index(b"</item>", start) + len(b"</item>")
    edited = (body[:start] + body[end:]).replace(b"Here is", b"Here, at last, is")
    net.server.routes["/wp/feed/"] = Reply(200, edited, {"Content-Type": "application/rss+xml"})
    net.fetch()
    after = net.mtimes()
    changed = {p for p in after if after[p] != mtimes.get(p)}
    assert [Path(p).name for p in changed] == ["why-we-stopped-writing-pdfs.md"]
    assert len(after) == 2  # the dropped post keeps its file
    assert "at last" in Path(next(iter(changed))).read_text()


def test_undated_and_future_posts_keep_their_first_seen_date(net: Network) -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
      <entry><id>u1</id><title>No date</title><link href="https://x.example/u1"/>
        <content type="html">hello</content></entry>
      <entry><id>f1</id><title>From the future</title><link href="https://x.example/f1"/>
        <published>2999-01-01T00:00:00Z</published><content type="html">later</content></entry>
    </feed>"""
    net.server.routes["/a.xml"] = Reply(200, atom, {"Content-Type": "application/atom+xml"})
    net.register("members:\n  - name: Fi\n    id: fi\n    feed: {BASE}/a.xml\n")
    net.fetch()
    first = net.files()
    dates = [line for text in first.values() for line in text.decode().splitlines()
             if line.startswith("Date:")]
    assert len(dates) == 2 and not any("2999" in d for d in dates)
    os.utime(net.state, None)
    (net.state).unlink()  # even without the state, the files remember the dates
    net.fetch("--force")
    assert net.files() == first


def test_hostile_titles_ids_and_bodies_stay_inert(net: Network) -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Evil</title>
      <link>https://evil.example/</link>
      <item><title>Line one
Save_as: index.html
Status: draft</title><guid isPermaLink="false">../../../../etc/passwd</guid>
        <link>javascript:alert(1)</link>
        <description>&lt;script&gt;alert(1)&lt;/script&gt;&lt;p onclick="x()"&gt;Hi&lt;/p&gt;
        &lt;a href="&amp;#106;avascript:alert(2)"&gt;click&lt;/a&gt;
Template: missing</description><category>a,b</category>
        <pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate></item>
      <item><title>{{ 7*7 }} {% raw %}</title><guid>/abs/path\\..\\x\x00y</guid>
        <description>Title: injected</description>
        <pubDate>Mon, 02 Mar 2026 11:00:00 +0000</pubDate></item>
    </channel></rss>"""
    net.server.routes["/e.xml"] = Reply(200, rss, {"Content-Type": "application/rss+xml"})
    net.register("members:\n  - name: Eve\n    id: eve\n    feed: {BASE}/e.xml\n"
                 "    content: full\n")
    assert net.fetch() == 0
    written = [p for p in net.root.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(net.content) or p.is_relative_to(net.state.parent)
               or p == net.members for p in written)
    posts = sorted((net.content / "posts" / "eve").rglob("*.md"))
    assert len(posts) == 2
    for path in posts:
        html, meta = pelican_read(path)
        assert set(meta) <= {"title", "date", "modified", "author", "category", "tags", "slug",
                             "summary", "member", "original_url", "source_feed", "guid", "blog",
                             "blog_url", "byline", "comments_url", "comment_feed",
                             "comment_count", "content_mode"}
        assert "save_as" not in meta and "status" not in meta and "template" not in meta
        assert "<script" not in html and "onclick" not in html
        assert "javascript:" not in html.lower()
    titles = {pelican_read(p)[1]["title"] for p in posts}
    assert "Line one Save_as: index.html Status: draft" in titles
    assert "{{ 7*7 }} {% raw %}" in titles


def test_private_addresses_are_refused_without_the_flag(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    serve_all(net.server)
    net.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n")
    assert net.fetch(private=False) == 0
    assert net.server.requests == []
    assert "ann" in capsys.readouterr().out
    assert net.files() == {}


def test_config_error_fetches_nothing(net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    serve_all(net.server)
    net.register("members:\n  - name: Ann\n    feed: {BASE}/wp/feed/\n    colour: red\n")
    assert net.fetch() == 2
    assert "members.yaml:4 (member 'Ann'): unknown key 'colour'" in capsys.readouterr().err
    assert net.server.requests == []


def test_gone_redirected_and_rate_limited_feeds(net: Network) -> None:
    body = feed_bytes("wordpress.xml", net.server)
    net.server.routes["/old/feed/"] = Reply(301, b"", {"Location": net.server.url("/new/feed/")})
    net.server.routes["/new/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    net.server.routes["/gone/"] = Reply(410, b"gone")
    net.server.routes["/busy/"] = Reply(429, b"slow down", {"Retry-After": "7200"})
    net.register("members:\n  - name: Mo\n    id: mo\n    feed: {BASE}/old/feed/\n"
                 "  - name: Go\n    id: go\n    feed: {BASE}/gone/\n"
                 "  - name: Bu\n    id: bu\n    feed: {BASE}/busy/\n")
    net.fetch()
    mo, go, bu = net.health("mo"), net.health("go"), net.health("bu")
    assert mo["redirected_to"] == net.server.url("/new/feed/")
    assert go["gone"] == 1
    assert 7100 < float(bu["next_attempt"]) - float(bu["last_attempt"]) <= 7200
    net.server.requests.clear()
    net.fetch()
    paths = [r.path for r in net.server.requests]
    assert "/new/feed/" in paths and "/old/feed/" not in paths  # the new URL is used
    assert "/busy/" not in paths and "/gone/" not in paths  # Retry-After and gone honoured


def test_failures_back_off_and_a_recovered_feed_is_picked_up(net: Network) -> None:
    net.server.routes["/f/"] = Reply(500, b"oops")
    net.register("members:\n  - name: Flo\n    id: flo\n    feed: {BASE}/f/\n")
    net.fetch()
    first = net.health("flo")
    assert first["failures"] == 1 and "500" in str(first["last_error"])
    net.fetch()  # within the back-off: not asked again
    assert net.server.hits("/f/") == 1
    net.server.routes["/f/"] = Reply(200, feed_bytes("rss1.xml", net.server),
                                     {"Content-Type": "application/rss+xml"})
    net.fetch("--force")
    assert net.health("flo")["failures"] == 0
    assert net.files()


def test_paused_member_is_not_fetched(net: Network) -> None:
    serve_all(net.server)
    net.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n"
                 "    paused: true\n")
    net.fetch()
    assert net.server.requests == []


def test_a_taken_down_post_is_removed_and_never_comes_back(net: Network) -> None:
    body = feed_bytes("wordpress.xml", net.server)
    net.server.routes["/wp/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    net.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n")
    net.fetch()
    target = net.content / "posts/ann/2026/why-we-stopped-writing-pdfs.md"
    assert target.exists()
    takedowns = net.root / "takedowns.yaml"
    takedowns.write_text("takedowns:\n  - member: ann\n    url: "
                         f"{net.server.url('/2026/03/why-we-stopped-writing-pdfs/')}\n"
                         "    reason: asked by the author\n")
    assert net.fetch("--force") == 0  # takedowns.yaml sits beside the registry
    assert not target.exists()
    assert (net.content / "posts/ann/2026/open-data-day-at-the-town-hall.md").exists()
    assert net.fetch("--force") == 0
    assert not target.exists()


def test_a_taken_down_comment_is_removed_and_no_fetch_of_its_thread_brings_it_back(
        net: Network, caplog: pytest.LogCaptureFixture) -> None:
    base = net.server.url("").rstrip("/")
    post = f"{base}/2026/03/why-we-stopped-writing-pdfs/"
    net.server.routes["/wp/feed/"] = Reply(200, feed_bytes("wordpress.xml", net.server),
                                           {"Content-Type": "application/rss+xml"})
    thread = (DATA.parent / "comments" / "wordpress-atom.xml").read_bytes() \
        .replace(b"https://council.example/?p=123", f"{base}/?p=101".encode()) \
        .replace(b"https://council.example/2026/03/why/", post.encode())
    net.server.routes["/2026/03/why-we-stopped-writing-pdfs/feed/atom/"] = Reply(
        200, thread, {"Content-Type": "application/atom+xml"})
    net.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n")
    assert net.fetch() == 0
    [folder] = (net.content / "comments").iterdir()
    texts = {p.stem: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    [jane] = [slug for slug, text in texts.items() if "Great post" in text]
    [dave] = [slug for slug, text in texts.items() if "Author: Dave Briggs" in text]
    assert f"Replyto: {jane}\n" in texts[dave]

    # listed by its link on the network's site: the permalink above it on the post's page
    (net.root / "takedowns.yaml").write_text(
        "takedowns:\n  - member: ann\n"
        f"    comment: https://network.example/2026/03/{folder.name}/#comment-{jane}\n"
        "    reason: Personal data, asked by the commenter\n")
    assert net.fetch() == 0
    assert jane not in {p.stem for p in folder.iterdir()}
    assert f"{jane}.md: taken down" in caplog.text

    # a fetch that reads the whole thread again (the state deleted: every thread is new to
    # it) writes the rest as before, Dave's answer as the thread's own, and not Jane's
    for path in net.state.parent.iterdir():
        path.unlink()
    assert net.fetch() == 0
    assert net.server.hits("/2026/03/why-we-stopped-writing-pdfs/feed/atom/") == 2
    after = {p.stem: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    assert sorted(after) == sorted(set(texts) - {jane})
    assert "Great post" not in "".join(p.read_text() for p in net.content.rglob("*.md"))
    assert "Replyto:" not in after[dave]
    assert (net.content / "posts/ann/2026/why-we-stopped-writing-pdfs.md").exists()


def moved_feed(body: bytes, base: str, *, host: str | None, guids: bool) -> bytes:
    """Ann's feed after her blog moved: each post under a new guid (another platform, or Atom's
    ids for RSS's), and at `host` instead of `base` if given (a new domain)."""
    if guids:
        body = body.replace(f"{base}/?p=".encode(), b"tag:newplatform.example,2026:post-")
    if host is not None:
        body = body.replace(f"{base}/20".encode(), f"{host}/blog/20".encode())
    return body


@pytest.mark.parametrize("host", [None, "https://ann.example.gov.uk"],
                         ids=["new guids", "new guids and domain"])
def test_a_blog_that_moves_keeps_its_posts_instead_of_doubling_them(
        net: Network, capsys: pytest.CaptureFixture[str], host: str | None) -> None:
    """Its posts come back under new guids (and, on a new domain, new addresses): each is
    found by its address, else by its title and date, and its file is the same one, now
    naming where the post lives, with its page address, comments and place kept."""
    base = net.server.url("").rstrip("/")
    body = feed_bytes("wordpress.xml", net.server)
    net.server.routes["/wp/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    net.register(ANN_ONLY)
    assert net.fetch() == 0
    before = net.files()
    assert sorted(before) == [OPEN_DATA, PDFS]
    capsys.readouterr()

    net.server.routes["/wp/feed/"] = Reply(200, moved_feed(body, base, host=host, guids=True),
                                           {"Content-Type": "application/rss+xml"})
    assert net.fetch("--strict") == 0
    assert "2 post(s) at new addresses kept as the same posts" in capsys.readouterr().out
    after = net.files()
    assert sorted(after) == [OPEN_DATA, PDFS]  # the same files: no second copy
    pdfs = after[PDFS].decode()
    assert "Guid: tag:newplatform.example,2026:post-101\n" in pdfs
    where = host + "/blog" if host else base
    assert f"Original_url: {where}/2026/03/why-we-stopped-writing-pdfs/\n" in pdfs
    assert "Slug: ann-why-we-stopped-writing-pdfs\n" in pdfs
    assert pdfs.replace(where, base).replace("tag:newplatform.example,2026:post-",
                                             f"{base}/?p=") == before[PDFS].decode()
    assert net.fetch() == 0 and net.files() == after  # settled


def test_a_new_post_with_an_old_title_is_a_new_post(net: Network) -> None:
    """Not every new guid is a moved post: one whose namesake is still in the feed, or was
    published days apart, is written as its own."""
    base = net.server.url("").rstrip("/")
    body = feed_bytes("wordpress.xml", net.server)
    net.server.routes["/wp/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    net.register(ANN_ONLY)
    assert net.fetch() == 0
    start = body.index(b"<item>")
    end = body.index(b"</item>", start) + len(b"</item>")
    pdfs = body[start:end]
    same_day = pdfs.replace(f"{base}/?p=101".encode(), f"{base}/?p=102".encode()) \
        .replace(b"why-we-stopped-writing-pdfs/", b"why-we-stopped-writing-pdfs-2/")
    week_later = pdfs.replace(f"{base}/?p=101".encode(), f"{base}/?p=140".encode()) \
        .replace(b"why-we-stopped-writing-pdfs/", b"why-we-stopped-writing-pdfs-3/") \
        .replace(b"Tue, 03 Mar 2026", b"Tue, 10 Mar 2026")
    for page in ("", "-2"):  # their pages are still on the blog (see deletions.py)
        net.server.routes[f"/2026/03/why-we-stopped-writing-pdfs{page}/"] = Reply(
            200, b"<html>the post</html>", {"Content-Type": "text/html"})
    # the first: its namesake is still in the feed; the second: a week later, and its
    # namesake gone from the feed
    net.server.routes["/wp/feed/"] = Reply(200, body[:end] + same_day + body[end:],
                                           {"Content-Type": "application/rss+xml"})
    assert net.fetch() == 0
    assert len(net.files()) == 3
    net.server.routes["/wp/feed/"] = Reply(200, body[:start] + week_later + body[end:],
                                           {"Content-Type": "application/rss+xml"})
    assert net.fetch() == 0
    assert len(net.files()) == 4


def blog_of(base: str, numbers: list[int]) -> bytes:
    """An RSS feed of posts 1…n, post k published on 1 March + k days (newest first)."""
    items = "".join(
        f"<item><title>Post {k}</title><link>{base}/posts/{k}/</link><guid>{base}/?p={k}</guid>"
        f"<pubDate>{k + 1:02d} Mar 2026 09:00:00 +0000</pubDate>"
        f"<description>Words of post {k}.</description></item>"
        for k in sorted(numbers, reverse=True))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bea\'s blog</title>'
            f"<link>{base}/</link><description>Notes</description>{items}</channel></rss>"
            ).encode()


def test_a_post_deleted_on_the_blog_goes_from_the_network_too(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    """One missing from among the feed's posts whose page answers 404 or 410 is removed
    (comments and all); one whose page still answers, or that only fell off the feed's end,
    stays; and one missing among many is not even looked into (a feed in another order)."""
    base = net.server.url("").rstrip("/")
    serve = lambda numbers: net.server.routes.__setitem__(  # noqa: E731
        "/feed/", Reply(200, blog_of(base, numbers), {"Content-Type": "application/rss+xml"}))
    for k in range(1, 9):
        net.server.routes[f"/posts/{k}/"] = Reply(200, b"<html>a post</html>",
                                                  {"Content-Type": "text/html"})
    serve(list(range(1, 9)))
    net.register("members:\n  - name: Bea\n    id: bea\n    feed: {BASE}/feed/\n")
    assert net.fetch() == 0
    posts = net.content / "posts" / "bea" / "2026"
    assert len(list(posts.iterdir())) == 8
    (net.content / "comments" / "bea-post-5").mkdir(parents=True)
    (net.content / "comments" / "bea-post-5" / "1-aaaaaaaa.md").write_text(
        "Author: Cy\nDate: 2026-03-07 09:00:00+00:00\n\nA comment.\n")
    with State(net.state) as state:  # as a fetch of its thread leaves it
        state.save_thread(ThreadState("bea-post-5", "bea", 1, 0.0, {}))
    capsys.readouterr()

    third = posts / "post-3.md"  # its date written by hand, without an offset (taken as UTC)
    third.write_text(third.read_text().replace("Date: 2026-03-04 09:00:00+00:00",
                                               "Date: 2026-03-04 09:00:00"))
    # 5 deleted (410), 6 made private (404), 3 moved to a category the feed leaves out (its
    # page answers), 1 pushed off the feed's end by nothing newer here (not between posts)
    net.server.routes["/posts/5/"] = Reply(410, b"gone", {"Content-Type": "text/html"})
    net.server.routes["/posts/6/"] = Reply(404, b"not found", {"Content-Type": "text/html"})
    serve([2, 4, 7, 8])
    assert net.fetch("--strict") == 0
    assert sorted(p.stem for p in posts.iterdir()) == ["post-1", "post-2", "post-3", "post-4",
                                                       "post-7", "post-8"]
    assert not (net.content / "comments" / "bea-post-5").exists()
    with State(net.state) as state:  # were it back, its thread would be fetched whole
        assert state.get_thread("bea-post-5") is None
    assert "2 post(s) deleted on the blog removed here too" in capsys.readouterr().out
    asked = [r.path for r in net.server.requests]
    assert asked.count("/posts/3/") == 1 and "/posts/1/" not in asked

    # back in the feed: written again, as a new post
    serve([2, 4, 5, 7, 8])
    assert net.fetch() == 0
    assert (posts / "post-5.md").exists()


def test_many_posts_missing_from_a_feed_at_once_are_not_looked_into(net: Network) -> None:
    base = net.server.url("").rstrip("/")
    net.server.routes["/feed/"] = Reply(200, blog_of(base, list(range(1, 9))),
                                        {"Content-Type": "application/rss+xml"})
    net.register("members:\n  - name: Bea\n    id: bea\n    feed: {BASE}/feed/\n")
    assert net.fetch() == 0
    # the newest and an old one updated: a feed ordered by update leaves the rest out
    net.server.routes["/feed/"] = Reply(200, blog_of(base, [1, 8]),
                                        {"Content-Type": "application/rss+xml"})
    assert net.fetch() == 0
    assert len(list((net.content / "posts" / "bea" / "2026").iterdir())) == 8
    assert not [r for r in net.server.requests if r.path.startswith("/posts/")]
