"""Comments: each source parsed from fixture bytes, discovery, fetching on 127.0.0.1, and the
comment files (pelican-comment-system layout, atomic, quiet when nothing changed)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.comment_files import comment_slug, render_comment, sync_thread, thread_dir
from aggregator.comments import (
    Comment,
    ThreadInfo,
    ThreadResult,
    discover_sources,
    fetch_thread,
    parse_comment_feed,
    parse_wp_rest_comments,
    rest_root_from_link_header,
    thread_info,
    wp_atom_feed_url,
)
from aggregator.errors import ParseError
from aggregator.fetch import Fetcher
from aggregator.models import ParsedFeed, RawEntry
from aggregator.threads import build_threads, parent_map, walk
from tests.httpserver import LoopbackServer, Reply

DATA = Path(__file__).resolve().parent.parent / "data" / "comments"
WP_GUID = "https://council.example/?p=123"
WP_POST = "https://council.example/2026/03/why/"
BLOGGER_GUID = "tag:blogger.com,1999:blog-1111.post-2222"
EMAILS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
ATOM_TYPE = {"Content-Type": "application/atom+xml; charset=UTF-8"}
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=UTF-8"}
JSON_TYPE = {"Content-Type": "application/json; charset=UTF-8"}


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def wp(name: str, kind: Any = None) -> list[Comment]:
    url = WP_POST + ("feed/atom/" if name.endswith("atom.xml") else "feed/")
    return list(parse_comment_feed(data(name), {}, url=url, post_guid=WP_GUID,
                                   post_url=WP_POST, kind=kind).comments)


def number(comment_id: str | None) -> str | None:
    return comment_id.rsplit("-", 1)[1] if comment_id else None


def shape(comments: list[Comment]) -> list[tuple[str | None, int, str | None]]:
    roots = build_threads(comments)
    parents = parent_map(roots)
    return [(number(n.comment.id), n.depth, number(parents[n.comment.id])) for n in walk(roots)]


WP_THREAD = [("45", 0, None), ("46", 1, "45"), ("47", 2, "46"), ("48", 0, None)]


# --- WordPress ------------------------------------------------------------------------------

def test_wordpress_atom_comments_are_threaded_by_in_reply_to() -> None:
    comments = wp("wordpress-atom.xml", "wp-atom")
    assert [(number(c.id), number(c.parent_id)) for c in comments] == [
        ("45", None), ("46", "45"), ("47", "46"), ("48", None)]
    first = comments[0]
    assert first.id == "https://council.example/?p=123#comment-45"
    assert first.author == "Jane Smith" and first.author_url == "https://jane.example/"
    assert first.url == "https://council.example/2026/03/why/#comment-45"
    assert first.date == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert first.source == "wp-atom" and first.post_guid == WP_GUID
    assert 'href="https://council.example/2025/blogging/"' in first.body_html  # made absolute
    assert comments[3].author_url is None
    assert shape(comments) == WP_THREAD


def test_wordpress_rss_comments_are_flat_with_the_same_ids() -> None:
    rss = wp("wordpress-rss.xml", "rss")
    atom = wp("wordpress-atom.xml", "wp-atom")
    assert {c.id for c in rss} == {c.id for c in atom}
    assert all(c.parent_id is None and c.source == "rss" for c in rss)
    assert {c.author for c in rss} == {"Jane Smith", "Dave Briggs", "Sam"}
    assert shape(rss) == [("45", 0, None), ("46", 0, None), ("47", 0, None), ("48", 0, None)]


def test_wordpress_rest_comments_use_the_feed_guids_and_never_the_avatars() -> None:
    rest = parse_wp_rest_comments(data("wordpress-rest.json"),
                                  url="https://council.example/wp-json/wp/v2/comments?post=123",
                                  post_guid=WP_GUID)
    assert {c.id for c in rest} == {c.id for c in wp("wordpress-atom.xml")}
    assert shape(rest) == WP_THREAD
    assert all(c.source == "wp-rest" for c in rest)
    sam = next(c for c in rest if c.author == "Sam")
    assert sam.author_url is None and sam.date == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert "gravatar" not in repr(rest) and "avatar" not in repr(rest)


def test_three_wordpress_sources_merge_into_one_thread() -> None:
    rest = parse_wp_rest_comments(data("wordpress-rest.json"), url=WP_POST, post_guid=WP_GUID)
    merged = wp("wordpress-rss.xml") + rest + wp("wordpress-atom.xml")
    assert shape(merged) == WP_THREAD


# --- Blogger, plain RFC 4685, flat RSS -----------------------------------------------------

def test_blogger_replies_follow_rel_related_and_no_email_survives() -> None:
    page = parse_comment_feed(data("blogger.xml"), {},
                              url="https://www.blogger.com/feeds/1111/2222/comments/default",
                              post_guid=BLOGGER_GUID,
                              post_url="https://healthnotes.blogspot.com/2026/03/open-data.html")
    comments = list(page.comments)
    assert [c.source for c in comments] == ["blogger"] * 3
    assert [(c.id[-4:], c.parent_id[-4:] if c.parent_id else None) for c in comments] == [
        ("3001", None), ("3002", "3001"), ("3003", None)]
    assert [c.author for c in comments] == ["Tom Reader", "Priya", "Anonymous"]
    assert comments[0].author_url == "https://tom.example/"
    assert not EMAILS.search(repr(comments))  # not in names, not even the one Tom typed
    assert page.complete  # openSearch:totalResults 3, all three read


def test_plain_rfc4685_atom_with_any_prefix_and_hostile_fields() -> None:
    comments = list(parse_comment_feed(data("rfc4685.atom"), {},
                                       url="https://plain.example/posts/1/replies.atom",
                                       post_guid="urn:uuid:post-1").comments)
    assert [(c.id, c.parent_id) for c in comments] == [
        ("urn:uuid:c-1", None), ("urn:uuid:c-2", "urn:uuid:c-1"),
        ("urn:uuid:c-3", "urn:uuid:c-2")]  # of two in-reply-to, the last one survives
    assert {c.source for c in comments} == {"atom"}
    alex, bea, cal = comments
    assert alex.author == "Alex" and "@" not in repr(alex)
    assert bea.author_url is None  # javascript: refused
    assert "<script" not in bea.body_html and "onclick" not in bea.body_html
    assert "replying to Alex" in bea.body_html
    assert cal.body_html.strip() and "<" not in cal.body_html.replace("<p>", "").replace(
        "</p>", "")  # text content escaped, not markup


def test_flat_rss_is_in_date_order_with_names_only() -> None:
    page = parse_comment_feed(data("flat.rss"), {}, url="https://flat.example/comments.rss",
                              post_guid="https://flat.example/2026/05/post.html")
    comments = list(page.comments)
    assert [c.id for c in comments] == ["flat-c2", "flat-c1"]  # the undated one is skipped
    assert [c.author for c in comments] == ["Zoe", "Yan"]  # not "yan@…" nor "ple (Yan"
    assert comments[1].date == datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert [n.comment.id for n in build_threads(comments)] == ["flat-c1", "flat-c2"]
    assert not page.complete


def test_injected_metadata_in_a_name_stays_on_one_line() -> None:
    body = data("rfc4685.atom").replace(b"<name>Cal</name>",
                                        b"<name>Cal&#10;Save_as: index.html</name>")
    cal = parse_comment_feed(body, {}, url="https://plain.example/r.atom",
                             post_guid="urn:uuid:post-1").comments[2]
    assert "\n" not in cal.author and cal.author.startswith("Cal")


@pytest.mark.parametrize("body", [b"", b"<!DOCTYPE html><html><body>Not here</body></html>",
                                  b"\x00\x01garbage"])
def test_what_is_not_a_feed_is_a_parse_error_naming_the_url(body: bytes) -> None:
    with pytest.raises(ParseError, match="https://x.example/c"):
        parse_comment_feed(body, {}, url="https://x.example/c", post_guid="p")


@pytest.mark.parametrize("body", [b"{not json", b'{"code": "rest_no_route"}'])
def test_a_rest_answer_that_is_not_a_list_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="wp-json"):
        parse_wp_rest_comments(body, url="https://x.example/wp-json/x", post_guid="p")


# --- Discovery -----------------------------------------------------------------------------

def test_wordpress_sources_atom_then_rest_then_flat_rss() -> None:
    info = ThreadInfo(post_guid=WP_GUID, post_url=WP_POST, comment_feed=WP_POST + "feed/",
                      comment_count=4, wordpress=True)
    assert [(s.kind, s.url) for s in discover_sources(info)] == [
        ("wp-atom", WP_POST + "feed/atom/"),
        ("wp-rest", "https://council.example/wp-json/wp/v2/comments?post=123&per_page=100"),
        ("rss", WP_POST + "feed/"),
    ]


def test_wordpress_without_pretty_permalinks() -> None:
    assert wp_atom_feed_url("https://b.example/?feed=rss2&p=7") == \
        "https://b.example/?feed=atom&p=7"
    info = ThreadInfo(post_guid="https://b.example/?p=7",
                      comment_feed="https://b.example/?feed=rss2&p=7",
                      rest_root="https://b.example/?rest_route=/")
    urls = [s.url for s in discover_sources(info)]
    assert urls == ["https://b.example/?feed=atom&p=7",
                    "https://b.example/?rest_route=%2Fwp%2Fv2%2Fcomments&post=7&per_page=100",
                    "https://b.example/?feed=rss2&p=7"]


def test_rest_root_comes_from_the_link_header() -> None:
    header = ('<https://b.example/wp-json/>; rel="https://api.w.org/", '
              '<https://b.example/?p=7>; rel=shortlink')
    assert rest_root_from_link_header(header) == "https://b.example/wp-json/"
    assert rest_root_from_link_header('<https://b.example/?p=7>; rel=shortlink') is None
    assert rest_root_from_link_header(None) is None


def test_blogger_and_other_feeds_and_posts_without_comments() -> None:
    blogger = ThreadInfo(post_guid=BLOGGER_GUID,
                         comment_feed="https://healthnotes.blogspot.com/feeds/2222/comments/default")
    assert [s.kind for s in discover_sources(blogger)] == ["blogger"]
    other = ThreadInfo(post_guid="urn:uuid:post-1",
                       comment_feed="https://plain.example/posts/1/replies.atom")
    assert [(s.kind, s.url) for s in discover_sources(other)] == [
        ("atom", "https://plain.example/posts/1/replies.atom")]
    assert discover_sources(ThreadInfo(post_guid="urn:x")) == []
    hostile = ThreadInfo(post_guid="urn:x", comment_feed="file:///etc/passwd")
    assert discover_sources(hostile) == []


def test_thread_info_from_a_wordpress_entry() -> None:
    entry = RawEntry(id=WP_GUID, link=WP_POST, title="Why", published=None, updated=None,
                     author=None, summary_html=None, content_html=None,
                     comment_feed=WP_POST + "feed/", comment_count=4,
                     extra={"wp_post_id": "123"})
    feed = ParsedFeed(title="Blog", link="https://council.example/",
                      generator="https://wordpress.org/?v=6.5.2", entries=(entry,))
    info = thread_info(entry, guid=WP_GUID, feed=feed,
                       headers={"link": '<https://council.example/wp-json/>; '
                                        'rel="https://api.w.org/"'})
    assert info == ThreadInfo(post_guid=WP_GUID, post_url=WP_POST,
                              comment_feed=WP_POST + "feed/", comment_count=4, wp_post_id="123",
                              rest_root="https://council.example/wp-json/", wordpress=True)


# --- Fetching on 127.0.0.1 -----------------------------------------------------------------

def fetch(info: ThreadInfo, **kwargs: Any) -> ThreadResult:
    async def go() -> ThreadResult:
        async with Fetcher(user_agent="test", allow_private=True, timeout=5.0) as fetcher:
            return await fetch_thread(fetcher, info, **kwargs)
    return asyncio.run(go())


def served_info(server: LoopbackServer, count: int | None) -> ThreadInfo:
    return ThreadInfo(post_guid=WP_GUID, post_url=WP_POST,
                      comment_feed=server.url("/2026/03/why/feed/"), comment_count=count,
                      wp_post_id="123", rest_root=server.url("/wp-json/"), wordpress=True)


REST_PATH = "/wp-json/wp/v2/comments?post=123&per_page=100"


def test_a_complete_atom_feed_is_enough(server: LoopbackServer) -> None:
    server.routes["/2026/03/why/feed/atom/"] = Reply(200, data("wordpress-atom.xml"),
                                                     {**ATOM_TYPE, "ETag": '"a1"'})
    result = fetch(served_info(server, 4))
    assert result.complete and not result.errors
    assert shape(list(result.comments)) == WP_THREAD
    assert server.hits(REST_PATH) == 0 and server.hits("/2026/03/why/feed/") == 0
    assert result.validators == {server.url("/2026/03/why/feed/atom/"): ('"a1"', None)}


def test_a_short_atom_feed_is_completed_from_the_paged_rest_api(
        server: LoopbackServer) -> None:
    atom = re.sub(rb"<entry>.*?comment-4[78]</id>.*?</entry>", b"", data("wordpress-atom.xml"),
                  flags=re.DOTALL)
    items = json.loads(data("wordpress-rest.json"))
    server.routes["/2026/03/why/feed/atom/"] = Reply(200, atom, ATOM_TYPE)
    headers = {**JSON_TYPE, "X-WP-Total": "4", "X-WP-TotalPages": "2"}
    server.routes[REST_PATH] = Reply(200, json.dumps(items[:2]).encode(), headers)
    server.routes[REST_PATH + "&page=2"] = Reply(200, json.dumps(items[2:]).encode(), headers)
    result = fetch(served_info(server, 4))
    assert result.complete
    assert shape(list(result.comments)) == WP_THREAD
    assert {c.source for c in result.comments} == {"wp-rest"}  # the richer copy is kept
    assert server.hits(REST_PATH + "&page=2") == 1


def test_failing_sources_fall_back_to_the_flat_feed(server: LoopbackServer) -> None:
    server.routes["/2026/03/why/feed/atom/"] = Reply(
        200, b"<!DOCTYPE html><html><body>feeds off</body></html>", {"Content-Type": "text/html"})
    server.routes[REST_PATH] = Reply(401, b'{"code":"rest_forbidden"}', JSON_TYPE)
    server.routes["/2026/03/why/feed/"] = Reply(200, data("wordpress-rss.xml"), RSS_TYPE)
    result = fetch(served_info(server, 4))
    assert result.complete and len(result.errors) == 2
    assert all(c.parent_id is None for c in result.comments) and len(result.comments) == 4


def test_nothing_answers_is_data_not_an_exception(server: LoopbackServer) -> None:
    result = fetch(served_info(server, 4))
    assert result.comments == () and not result.complete and len(result.errors) == 3


def test_not_modified_keeps_what_is_on_disk(server: LoopbackServer) -> None:
    atom_url = server.url("/2026/03/why/feed/atom/")
    server.routes["/2026/03/why/feed/atom/"] = Reply(304, b"", {"ETag": '"a1"'})
    result = fetch(served_info(server, 5), validators={atom_url: ('"a1"', None)})
    assert result.not_modified and not result.complete
    assert server.requests[0].headers.get("if-none-match") == '"a1"'


def test_a_post_with_no_comments_needs_no_request(server: LoopbackServer) -> None:
    result = fetch(served_info(server, 0))
    assert result.complete and result.comments == () and server.requests == []


# --- Comment files -------------------------------------------------------------------------

def blogger_comments() -> list[Comment]:
    return list(parse_comment_feed(data("blogger.xml"), {},
                                   url="https://www.blogger.com/feeds/1111/2222/comments/default",
                                   post_guid=BLOGGER_GUID).comments)


def test_comment_slugs_are_safe_deterministic_and_readable() -> None:
    assert comment_slug(WP_GUID + "#comment-45") == comment_slug(WP_GUID + "#comment-45")
    assert comment_slug(WP_GUID + "#comment-45").startswith("45-")
    assert comment_slug(BLOGGER_GUID.replace("post-2222", "post-3001")).startswith("3001-")
    for cid in ["urn:uuid:c-1", "../../etc/passwd", "é\n<script>", ""]:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", comment_slug(cid))
    assert comment_slug("urn:a") != comment_slug("urn:b")


def test_a_comment_file_has_the_pelican_comment_system_layout() -> None:
    reply = wp("wordpress-atom.xml")[1]
    text = render_comment(reply, slug="46-abc", parent_slug="45-def")
    head, _, body = text.partition("\n\n")
    assert head.split("\n") == [
        "Author: Dave Briggs",
        "Website: https://council.example/",
        "Date: 2026-03-01 11:30:00+00:00",
        "Original_url: https://council.example/2026/03/why/#comment-46",
        "Slug: 46-abc",
        "Replyto: 45-def",
    ]
    assert body.strip() == "Thanks Jane! How did it go?"


def test_hostile_values_cannot_add_metadata_lines() -> None:
    evil = replace(wp("wordpress-atom.xml")[0], author="Eve\nSave_as: index.html\r\nTemplate: x",
                   author_url="javascript:alert(1)", url="https://ok.example/\nStatus: draft")
    head = render_comment(evil, slug="1-a").partition("\n\n")[0]
    keys = [line.split(":", 1)[0] for line in head.split("\n")]
    assert keys == ["Author", "Date", "Slug"]  # a URL broken over lines is dropped
    with pytest.raises(ValueError):
        render_comment(evil, slug="../x")


def test_unsafe_post_slugs_are_refused(tmp_path: Path) -> None:
    for slug in ["../posts", "a/b", "", "A", "x.md", "-x"]:
        with pytest.raises(ValueError):
            sync_thread(tmp_path, slug, [], complete=True)
    assert thread_dir(tmp_path, "ok-slug") == tmp_path / "comments" / "ok-slug"


def test_sync_writes_the_thread_with_replyto_and_never_an_email(tmp_path: Path) -> None:
    report = sync_thread(tmp_path, "health-open-data", blogger_comments(), complete=True)
    folder = tmp_path / "comments" / "health-open-data"
    files = sorted(folder.iterdir())
    assert len(files) == 3 == len(report.written)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in files}
    all_text = "".join(texts.values())
    assert not EMAILS.search(all_text) and "gravatar" not in all_text.lower()
    reply = next(t for t in texts.values() if "Author: Priya" in t)
    parent_slug = next(s for s, t in texts.items() if "Author: Tom Reader" in t)
    assert f"Replyto: {parent_slug}\n" in reply
    assert sum("Replyto:" in t for t in texts.values()) == 1
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_rerun_with_nothing_new_rewrites_nothing(tmp_path: Path) -> None:
    comments = blogger_comments()
    sync_thread(tmp_path, "p", comments, complete=True)
    folder = tmp_path / "comments" / "p"
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in folder.iterdir()}
    for p in folder.iterdir():
        os.utime(p, ns=(1_000_000_000, 1_000_000_000))
    report = sync_thread(tmp_path, "p", list(reversed(comments)), complete=True)
    assert report.written == () and report.removed == () and report.unchanged == 3
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == \
        {name: 1_000_000_000 for name in before}


def test_an_edited_comment_is_rewritten_atomically(tmp_path: Path) -> None:
    comments = blogger_comments()
    sync_thread(tmp_path, "p", comments, complete=True)
    edited = [replace(comments[0], body_html="<p>Edited words</p>"), *comments[1:]]
    report = sync_thread(tmp_path, "p", edited, complete=True)
    assert report.written == (comment_slug(comments[0].id),)
    assert "Edited words" in (tmp_path / "comments" / "p" /
                              f"{comment_slug(comments[0].id)}.md").read_text()


def test_comments_gone_from_a_complete_feed_are_removed(tmp_path: Path) -> None:
    comments = blogger_comments()
    sync_thread(tmp_path, "p", comments, complete=True)
    folder = tmp_path / "comments" / "p"
    kept = sync_thread(tmp_path, "p", comments[:1], complete=False)
    assert kept.removed == () and len(list(folder.iterdir())) == 3
    gone = sync_thread(tmp_path, "p", comments[:1], complete=True)
    assert sorted(gone.removed) == sorted(comment_slug(c.id) for c in comments[1:])
    assert [p.stem for p in folder.iterdir()] == [comment_slug(comments[0].id)]
    sync_thread(tmp_path, "p", [], complete=True)
    assert not folder.exists()


def test_a_partial_feed_keeps_replyto_to_a_parent_on_disk(tmp_path: Path) -> None:
    comments = blogger_comments()
    sync_thread(tmp_path, "p", comments, complete=True)
    reply = comments[1]
    sync_thread(tmp_path, "p", [replace(reply, body_html="<p>edited</p>")], complete=False)
    text = (tmp_path / "comments" / "p" / f"{comment_slug(reply.id)}.md").read_text()
    assert f"Replyto: {comment_slug(comments[0].id)}\n" in text and "edited" in text


def test_a_taken_down_comment_is_written_from_no_source_and_its_replies_stay(
        tmp_path: Path) -> None:
    comments = wp("wordpress-atom.xml")
    jane = next(c for c in comments if c.id.endswith("#comment-45"))
    dave = next(c for c in comments if c.id.endswith("#comment-46"))  # answers Jane
    reply = next(c for c in comments if c.id.endswith("#comment-47"))  # answers Dave
    copies = [replace(jane, id="tag:other.example,2026:1", source="flat-rss"),  # same permalink
              replace(jane, id="tag:other.example,2026:2", url=None)]  # same name, time, words
    everything = [*copies, *comments]
    folder = tmp_path / "comments" / "p"
    sync_thread(tmp_path, "p", everything, complete=True)
    assert "Great post" in (folder / f"{comment_slug(jane.id)}.md").read_text()

    report = sync_thread(tmp_path, "p", everything, complete=True,
                         taken_down=lambda c: c.id == jane.id)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    assert sorted(texts) == sorted(comment_slug(c.id) for c in comments if c is not jane)
    assert "Great post" not in "".join(texts.values())
    assert report.taken_down == tuple(sorted(comment_slug(c.id) for c in [jane, *copies]))
    assert report.removed == (comment_slug(jane.id),)
    assert "Replyto:" not in texts[comment_slug(dave.id)]  # the thread's own now
    assert f"Replyto: {comment_slug(dave.id)}\n" in texts[comment_slug(reply.id)]

    # a source that vouches for nothing: a file of it put back (a restored backup) goes again
    (folder / f"{comment_slug(jane.id)}.md").write_text(render_comment(
        jane, slug=comment_slug(jane.id)), encoding="utf-8")
    partial = sync_thread(tmp_path, "p", [jane, dave], complete=False,
                          taken_down=lambda c: c.url == jane.url)
    assert partial.removed == (comment_slug(jane.id),)
    assert not (folder / f"{comment_slug(jane.id)}.md").exists()
    assert "Replyto:" not in (folder / f"{comment_slug(dave.id)}.md").read_text()
