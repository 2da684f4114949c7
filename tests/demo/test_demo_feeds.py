"""The demo network: every blog served as its platform would, every feed readable (or, for the
broken member, unreadable in the way real broken feeds are), and the registry template valid."""

from __future__ import annotations

import http.client
import json
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest

from aggregator.members import load_members
from demo.pipeline import ROOT, DemoError, parse_args, prepare_workdir, write_members
from demo.server import FEEDS_DIR, PLACEHOLDER, FeedServer

WP_POST = "/council-digital/2026/10/20/working-in-the-open-when-the-council-is-nervous/"
BLOGGER_POST_ID = "5937220018446310985"
BLOGGER_COMMENTS = f"/nhs-nurse/feeds/{BLOGGER_POST_ID}/comments/default"

RSS = "application/rss+xml"
ATOM = "application/atom+xml"
# Every well-formed feed of the network: path, Content-Type, feedparser's version.
FEEDS = [
    ("/council-digital/feed/", RSS, "rss20"),
    (WP_POST + "feed/", RSS, "rss20"),
    (WP_POST + "feed/atom/", ATOM, "atom10"),
    ("/council-digital/2026/11/12/what-councillors-taught-us-about-user-research/feed/", RSS,
     "rss20"),
    ("/council-digital/2026/11/12/what-councillors-taught-us-about-user-research/feed/atom/",
     ATOM, "atom10"),
    ("/nhs-nurse/feeds/posts/default", ATOM, "atom10"),
    (BLOGGER_COMMENTS, ATOM, "atom10"),
    ("/policy-design/atom.xml", ATOM, "atom10"),
    ("/fire-data/index.rdf", "application/rdf+xml", "rss10"),
    ("/fire-data/comments/grass-fires-hottest-week.xml", RSS, "rss20"),
]
JSON_FEED = "/police-inspector/feed.json"
BROKEN_FEED = "/housing-ceo/feed/"


def get(server: FeedServer, path: str,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET over a real socket: status, lower-cased headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        conn.close()


def parse(server: FeedServer, path: str) -> feedparser.FeedParserDict:
    status, headers, body = get(server, path)
    assert status == 200, path
    return feedparser.parse(body, response_headers={**headers,
                                                    "content-location": server.url(path)})


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer(client_timeout=5) as server:
        yield server


@pytest.mark.parametrize(("path", "mime", "version"), FEEDS)
def test_well_formed_feeds_are_served_typed_and_parse_cleanly(
        feeds: FeedServer, path: str, mime: str, version: str) -> None:
    status, headers, _ = get(feeds, path)
    assert status == 200
    assert headers["content-type"].split(";")[0] == mime
    parsed = parse(feeds, path)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == version
    assert len(parsed.entries) >= 2
    assert all(e.get("id") and (e.get("published") or e.get("updated")) for e in parsed.entries)


def test_json_feed_is_json_feed_1_1(feeds: FeedServer) -> None:
    status, headers, body = get(feeds, JSON_FEED)
    assert status == 200
    assert headers["content-type"].startswith("application/feed+json")
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert len(doc["items"]) >= 4
    for item in doc["items"]:
        assert item["id"].startswith(feeds.base_url)
        assert item["content_html"] and item["date_published"] and item["tags"]
        assert item["authors"][0]["name"] == "Nadia Rahman"


def test_broken_member_serves_an_html_page_that_yields_no_entries(feeds: FeedServer) -> None:
    status, headers, body = get(feeds, BROKEN_FEED)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    parsed = feedparser.parse(body, response_headers=headers)
    assert parsed.entries == []
    assert parsed.bozo


def test_repeated_conditional_request_is_not_modified(feeds: FeedServer) -> None:
    path = "/council-digital/feed/"
    before = feeds.count(path)
    _, first, body = get(feeds, path)
    assert first["etag"] and first["last-modified"]
    again, headers, empty = get(feeds, path, {"If-None-Match": first["etag"]})
    assert (again, empty) == (304, b"")
    assert headers["etag"] == first["etag"]
    by_date, _, _ = get(feeds, path, {"If-Modified-Since": first["last-modified"]})
    assert by_date == 304
    stale, _, fresh = get(feeds, path, {"If-None-Match": '"something-else"'})
    assert (stale, fresh) == (200, body)
    assert feeds.count(path) == before + 4


def test_placeholders_are_replaced_by_the_servers_address(feeds: FeedServer) -> None:
    texts = [p for p in FEEDS_DIR.rglob("*") if p.suffix in {".xml", ".rdf", ".json", ".html"}]
    assert len(texts) > 40
    for file in texts:
        rel = file.relative_to(FEEDS_DIR).as_posix()
        url = "/" + (rel.removesuffix("index.html").removesuffix("index.xml"))
        status, _, body = get(feeds, url)
        assert status == 200, url
        assert PLACEHOLDER.encode() not in body, url
    _, _, body = get(feeds, "/council-digital/feed/")
    assert f"<link>{feeds.base_url}/council-digital</link>".encode() in body


@pytest.mark.parametrize("path", ["/../pelicanconf.py", "/%2e%2e/pelicanconf.py",
                                  "/council-digital/../../demo/server.py", "/nope/"])
def test_nothing_outside_the_feeds_folder_is_served(feeds: FeedServer, path: str) -> None:
    assert get(feeds, path)[0] == 404


def test_wordpress_posts_feed_looks_like_wordpress(feeds: FeedServer) -> None:
    parsed = parse(feeds, "/council-digital/feed/")
    assert parsed.feed.generator == "https://wordpress.org/?v=6.6"
    post = next(e for e in parsed.entries if e.link == feeds.url(WP_POST))
    assert re.fullmatch(re.escape(feeds.url("/council-digital/?p=")) + r"\d+", post.id)
    assert post.wfw_commentrss == feeds.url(WP_POST + "feed/")
    html = post.content[0].value
    for element in ("<h2>", "<ul>", "<img ", "<blockquote"):
        assert element in html
    assert any("<table>" in e.content[0].value for e in parsed.entries)
    rss_comments = parse(feeds, WP_POST + "feed/")
    assert int(post.slash_comments) == len(rss_comments.entries)
    assert all(e.title.startswith("By: ") for e in rss_comments.entries)


def test_wordpress_atom_comment_feed_forms_a_tree(feeds: FeedServer) -> None:
    post_guid = next(e.id for e in parse(feeds, "/council-digital/feed/").entries
                     if e.link == feeds.url(WP_POST))
    comments = parse(feeds, WP_POST + "feed/atom/").entries
    parent = {c.id: c["thr_in-reply-to"]["ref"] for c in comments}
    assert set(parent.values()) <= set(parent) | {post_guid}
    assert all(cid.startswith(post_guid + "#comment-") for cid in parent)

    def depth(cid: str) -> int:
        seen = 0
        while cid != post_guid:
            cid = parent[cid]
            seen += 1
            assert seen <= len(parent), "a cycle in the thread"
        return seen

    assert max(depth(c) for c in parent) == 3  # a reply to a reply
    authors = {c.id: c.author_detail["name"] for c in comments}
    assert any(authors[c] == "Amira Hussain" and parent[c] != post_guid for c in parent)
    rss_ids = {e.id for e in parse(feeds, WP_POST + "feed/").entries}
    assert rss_ids == set(parent)


def test_blogger_comment_feed_names_parents_and_carries_emails(feeds: FeedServer) -> None:
    post = next(e for e in parse(feeds, "/nhs-nurse/feeds/posts/default").entries
                if e.id.endswith(BLOGGER_POST_ID))
    replies = [link for link in post.links
               if link.rel == "replies" and link.type == "application/atom+xml"]
    assert [urlsplit(r.href).path for r in replies] == [BLOGGER_COMMENTS]
    comments = parse(feeds, BLOGGER_COMMENTS).entries
    assert int(post.thr_total) == len(comments) == 4
    assert {c["thr_in-reply-to"]["ref"] for c in comments} == {post.id}
    ids = {c.id.rsplit("post-", 1)[1] for c in comments}
    related = [link.href for c in comments for link in c.links if link.rel == "related"]
    assert len(related) == 2
    assert all(href.rsplit("/", 1)[1] in ids for href in related)
    source = (FEEDS_DIR / BLOGGER_COMMENTS.lstrip("/") / "index.xml").read_text("utf-8")
    assert "<email>farah.iqbal@example.com</email>" in source
    assert "<email>sam.whitby@example.org</email>" in source


def test_relative_links_and_images_resolve_and_are_served(feeds: FeedServer) -> None:
    parsed = parse(feeds, "/policy-design/atom.xml")
    assert any("published" not in e for e in parsed.entries)
    assert any(e.get("published") and e.updated != e.published for e in parsed.entries)
    images = []
    for entry in parsed.entries:
        assert entry.link.startswith(feeds.base_url + "/policy-design/20")
        html = entry.content[0].value
        assert "{{" not in html
        images += re.findall(r'<img[^>]* src="([^"]+)"', html)
        for href in re.findall(r'<a[^>]* href="([^"]+)"', html):
            assert get(feeds, urlsplit(href).path)[0] == 200, href
    assert feeds.url("/policy-design/2025/12/grant-journey/stages.png") in images
    for src in images:
        status, headers, _ = get(feeds, urlsplit(src).path)
        assert (status, headers["content-type"]) == (200, "image/png"), src


def test_every_post_links_to_a_page_that_exists(feeds: FeedServer) -> None:
    links = [e.link for path, _, _ in FEEDS if "comment" not in path and path.count("/") < 5
             for e in parse(feeds, path).entries]
    links += [item["url"] for item in json.loads(get(feeds, JSON_FEED)[2])["items"]]
    assert len(links) >= 24
    for link in links:
        status, headers, _ = get(feeds, urlsplit(link).path)
        assert (status, headers["content-type"].split(";")[0]) == (200, "text/html"), link


def test_home_pages_advertise_their_feeds(feeds: FeedServer) -> None:
    for blog in ("council-digital", "nhs-nurse", "policy-design", "fire-data",
                 "police-inspector", "housing-ceo"):
        _, _, body = get(feeds, f"/{blog}/")
        match = re.search(rb'<link rel="alternate" type="([^"]+)"[^>]* href="([^"]+)"', body)
        assert match, blog
        assert get(feeds, urlsplit(urljoin(feeds.base_url, match[2].decode())).path)[0] == 200


def test_registry_template_is_valid_and_points_at_the_server(feeds: FeedServer,
                                                             tmp_path: Path) -> None:
    conf = runpy.run_path(str(ROOT / "pelicanconf.py"))
    registry = write_members(feeds.base_url, tmp_path / "members.yaml")
    members = load_members(registry, sectors=conf["SECTORS"], regions=conf["REGIONS"])
    assert [m.id for m in members] == ["council-digital", "nhs-nurse", "policy-design",
                                       "fire-data", "police-inspector", "housing-ceo"]
    assert [m.id for m in members if m.content == "full"] == ["council-digital"]
    assert [m.id for m in members if not m.comments] == ["fire-data"]
    for member in members:
        for url in (member.feed, member.site, member.avatar):
            assert url is not None and url.startswith(feeds.base_url)
            assert get(feeds, urlsplit(url).path)[0] == 200, url


def test_workdir_never_the_projects_content(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="real content"):
        prepare_workdir(ROOT, "http://127.0.0.1:1")
    prepare_workdir(tmp_path, "http://127.0.0.1:1")
    (tmp_path / "content" / "posts").mkdir(parents=True)
    prepare_workdir(tmp_path, "http://127.0.0.1:1")
    assert (tmp_path / "content" / "posts").is_dir()  # same feed address: the build is kept
    prepare_workdir(tmp_path, "http://127.0.0.1:2")
    assert not (tmp_path / "content" / "posts").exists()  # moved: old posts carry old URLs


def test_feed_port_follows_the_site_port() -> None:
    assert parse_args(["--port", "8000"]).feed_port == 8001
    assert parse_args(["--port", "0", "--no-serve"]).feed_port == 0
    assert parse_args(["--feed-port", "9100"]).feed_port == 9100
