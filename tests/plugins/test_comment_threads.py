"""plugins/comment_threads on a tiny real Pelican build: nesting, ids, counts, nothing hostile.

The article template is the example macro from the plugin's README, so the documentation is
what is tested.
"""

from __future__ import annotations

import logging
import pickle
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pelican import Pelican
from pelican.settings import read_settings

from aggregator.comment_files import comment_slug, sync_thread
from aggregator.comments import parse_comment_feed
from plugins.comment_threads import (
    CONTENT_LISTING_KEY,
    CommentNode,
    CommentThreads,
    comment_events,
    count_comments,
    link_nodes,
    unchanged_folders_ahead,
)
from plugins.comment_threads.foldercache import FEW_LISTINGS
from plugins.incremental.listing import ContentListing
from plugins.incremental.render import Background

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "plugins" / "comment_threads" / "README.md"
DATA = ROOT / "tests" / "data" / "comments"
WP_GUID = "https://council.example/?p=123"
EMAILS = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

POST = """Title: Why councils should <blog>
Date: 2026-03-01 09:30:00+00:00
Author: Dave Briggs
Category: Local government
Slug: dave-why
Comments_url: https://council.example/2026/03/why/#comments
Comment_count: 99

Councils should blog.
"""
QUIET_POST = POST.replace("Slug: dave-why", "Slug: dave-quiet").replace(
    "Why councils should <blog>", "A quiet post").replace("Comment_count: 99\n", "")
COUNTED_POST = POST.replace("Slug: dave-why", "Slug: dave-counted").replace(
    "Why councils should <blog>", "Comments elsewhere").replace("Comment_count: 99",
                                                                "Comment_count: 7")
HOSTILE = """Author: Mallory mallory@evil.example
Website: javascript:alert(1)
Date: 2026-03-03 10:00:00+00:00
Slug: evil
Replyto: 45-nope

<script>alert("comment")</script><img src="x" onerror="alert(2)">
Hi <a href="javascript:alert(3)">there</a>
"""
ARTICLE = """{% extends "base.html" %}
{% from "comment_macro.html" import comment_thread %}
{% block content %}<h1>{{ article.title|e }}</h1>{{ article.content }}
{{ comment_thread(article) }}{% endblock %}
"""
INDEX = """{% extends "base.html" %}
{% block content %}{% for a in articles %}
<p class="count" data-slug="{{ a.slug }}">{{ a.comment_count }}</p>
{% endfor %}{% endblock %}
"""


def readme_macro() -> str:
    match = re.search(r"```jinja\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "the README has a Jinja example"
    return match.group(1)


def chain_file(i: int) -> str:
    parent = f"Replyto: deep-{i - 1}\n" if i else ""
    date = (T0 + timedelta(days=5, minutes=i)).isoformat(sep=" ")
    return f"Author: Deep {i}\nDate: {date}\nSlug: deep-{i}\n{parent}\nLevel {i}\n"


def build(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    (content / "posts").mkdir(parents=True)
    (content / "posts" / "why.md").write_text(POST, encoding="utf-8")
    (content / "posts" / "quiet.md").write_text(QUIET_POST, encoding="utf-8")
    (content / "posts" / "counted.md").write_text(COUNTED_POST, encoding="utf-8")
    atom = (DATA / "wordpress-atom.xml").read_bytes()
    comments = parse_comment_feed(atom, {}, url="https://council.example/2026/03/why/feed/atom/",
                                  post_guid=WP_GUID).comments
    sync_thread(content, "dave-why", comments, complete=True)
    folder = content / "comments" / "dave-why"
    (folder / "evil.md").write_text(HOSTILE, encoding="utf-8")
    for i in range(7):
        (folder / f"deep-{i}.md").write_text(chain_file(i), encoding="utf-8")
    (folder / "broken.md").write_text("Author: No date\n\nskipped\n", encoding="utf-8")
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "comment_macro.html").write_text(readme_macro(), encoding="utf-8")
    (overrides / "article.html").write_text(ARTICLE, encoding="utf-8")
    (overrides / "index.html").write_text(INDEX, encoding="utf-8")
    output = tmp_path / "output"
    settings = read_settings(override={
        "PATH": str(content), "OUTPUT_PATH": str(output), "THEME": "simple",
        "THEME_TEMPLATES_OVERRIDES": [str(overrides)], "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "PLUGINS": ["comment_threads"], "TIMEZONE": "UTC", "SITEURL": "",
        "USE_FOLDER_AS_CATEGORY": False, "CACHE_CONTENT": False, "LOAD_CONTENT_CACHE": False,
        "FEED_ALL_ATOM": "feeds/all.atom.xml",  # comments must not show up in feeds either
        "MARKDOWN": {"extension_configs": {"markdown.extensions.meta": {},
                                           "markdown.extensions.extra": {}},
                     "output_format": "html5"},
    })  # no ARTICLE_EXCLUDES: the plugin itself keeps comments out of the readers
    Pelican(settings).run()
    return output


class Comments(HTMLParser):
    """For each element with id="comment-…": its nearest enclosing comment, and its classes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.parent: dict[str, str | None] = {}
        self.classes: dict[str, str] = {}
        self.order: list[str] = []
        self.list_parent: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"img", "br", "hr", "meta", "link", "input"}:
            return
        found = dict(attrs).get("id") or ""
        comment = found if found.startswith("comment-") else None
        if comment:
            enclosing = next((c for _, c in reversed(self.stack) if c), None)
            self.parent[comment] = enclosing
            self.classes[comment] = dict(attrs).get("class") or ""
            self.order.append(comment)
            self.list_parent[comment] = self.stack[-1][0] if self.stack else ""
        self.stack.append((tag, comment))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("site"))


def page(site: Path) -> str:
    return (site / "dave-why.html").read_text(encoding="utf-8")


def parsed(site: Path) -> Comments:
    parser = Comments()
    parser.feed(page(site))
    return parser


def slug_of(number: int) -> str:
    return "comment-" + comment_slug(f"{WP_GUID}#comment-{number}")


def test_replies_are_inside_their_parents_elements(site: Path) -> None:
    tree = parsed(site)
    assert tree.parent[slug_of(45)] is None and tree.parent[slug_of(48)] is None
    assert tree.parent[slug_of(46)] == slug_of(45)
    assert tree.parent[slug_of(47)] == slug_of(46)
    assert all(tree.list_parent[c] == "ol" for c in tree.order)  # a list a reader can navigate
    assert tree.order[:4] == [slug_of(45), slug_of(46), slug_of(47), slug_of(48)]


def test_orphans_are_top_level_and_deep_replies_are_shown_with_capped_indent(site: Path) -> None:
    tree = parsed(site)
    assert tree.parent["comment-evil"] is None  # its Replyto names nothing
    for i in range(1, 7):
        assert tree.parent[f"comment-deep-{i}"] == f"comment-deep-{i - 1}"
    assert "depth-6" not in page(site)
    assert "depth-4" in tree.classes["comment-deep-6"] and "depth-2" in tree.classes[
        "comment-deep-2"]


def test_heading_count_and_links(site: Path) -> None:
    html = page(site)
    assert "12 thoughts on “Why councils should &lt;blog&gt;”" in html  # 4 + evil + 7 deep
    assert re.search(r'<a class="comment-author" href="https://jane.example/" '
                     r'rel="nofollow ugc">Jane Smith</a>', html)
    assert '<span class="comment-author">Sam</span>' in html
    assert 'href="https://council.example/2026/03/why/#comments"' in html
    assert 'href="#comment-evil"' in html  # the permalink anchor


def test_nothing_hostile_reaches_the_page(site: Path) -> None:
    html = page(site)
    assert "<script>alert" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert "Mallory" in html
    everything = "".join(p.read_text(encoding="utf-8", errors="replace")
                         for p in site.rglob("*") if p.is_file() and p.suffix in {".html", ".xml"})
    assert not EMAILS.search(everything)


def test_comments_are_never_articles(site: Path) -> None:
    counts = dict(re.findall(r'<p class="count" data-slug="([^"]+)">(\d+)</p>',
                             (site / "index.html").read_text(encoding="utf-8")))
    # a thread: the comments shown (not the feed's 99); none: the feed's count, or 0
    assert counts == {"dave-why": "12", "dave-quiet": "0", "dave-counted": "7"}
    feed = (site / "feeds" / "all.atom.xml").read_text(encoding="utf-8")
    assert feed.count("<entry>") == 3
    assert not (site / "evil.html").exists() and not (site / "deep-1.html").exists()


def node(slug: str, parent: str | None = None, minutes: int = 0) -> CommentNode:
    return CommentNode(slug=slug, author="A", website=None, date=T0 + timedelta(minutes=minutes),
                       body_html="", parent_slug=parent)


def test_events_walk_a_hundred_thousand_deep_thread_without_recursion() -> None:
    nodes = [node(f"n{i}", f"n{i - 1}" if i else None, i) for i in range(100_000)]
    roots = link_nodes(nodes)
    events = list(comment_events(roots))
    assert len(events) == 200_000 and count_comments(roots) == 100_000
    assert [e.opening for e in events[:2]] == [True, True] and events[-1].node.slug == "n0"
    assert events[99_999].node.depth == 99_999 and events[99_999].node.indent == 4


def test_cycles_and_duplicate_slugs_in_files(tmp_path: Path) -> None:
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    for name, slug, reply, minute in [("a", "a", "b", 1), ("b", "b", "a", 2),
                                      ("c", "a", None, 3)]:
        (folder / f"{name}.md").write_text(
            f"Author: X\nDate: 2026-03-01 09:0{minute}:00+00:00\nSlug: {slug}\nReplyto: {reply}\n"
            f"\nBody {name}: text\n", encoding="utf-8")
    threads = CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {}})
    roots = threads.thread("post")
    assert [r.slug for r in roots] == ["a"] and [c.slug for c in roots[0].children] == ["b"]
    assert "Body a: text" in roots[0].body_html  # a body line like metadata stays body
    assert threads.thread("missing") == []


def test_rendered_bodies_are_cached_between_builds(tmp_path: Path) -> None:
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("Author: X\nDate: 2026-03-01 09:00:00+00:00\nSlug: a\n\n"
                                 "*Hello*\n", encoding="utf-8")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads(settings)
    assert first.thread("post")[0].body_html == "<p><em>Hello</em></p>"
    first.cache.save()
    second = CommentThreads(settings)
    key = second.cache.key("*Hello*\n")
    second.cache.entries[key] = "<p>from the cache</p>"
    assert second.thread("post")[0].body_html == "<p>from the cache</p>"
    other = CommentThreads({**settings, "MARKDOWN": {"output_format": "xhtml"}})
    assert other.cache.entries == {}  # other Markdown settings: nothing reused


def test_unchanged_folders_are_not_read_again(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    for slug, reply in (("a", ""), ("b", "Replyto: a\n")):
        (folder / f"{slug}.md").write_text(f"Author: {slug.upper()}\nDate: 2026-03-01 09:0"
                                           f"{ord(slug) - 97}:00+00:00\nSlug: {slug}\n{reply}\n"
                                           f"Comment {slug}.\n", encoding="utf-8")
    (tmp_path / "comments" / "bad").mkdir()
    (tmp_path / "comments" / "bad" / "x.md").write_text("Author: No date\n\nx\n")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads(settings)
    expected = [(n.slug, n.body_html, [c.slug for c in n.children]) for n in first.thread("post")]
    assert expected == [("a", "<p>Comment a.</p>", ["b"])]
    assert first.thread("bad") == []
    first.folder_cache.save()
    with closing(sqlite3.connect(tmp_path / "cache" / "comment_folders.sqlite3")) as db:
        saved = {slug: (count, pickle.loads(rows))
                 for slug, count, rows in db.execute("SELECT slug, count, rows FROM folders")}
    children = first.folder_cache.names.index("children")
    assert set(saved) == {"post"}  # not the folder with an unusable file
    assert saved["post"][0] == 2
    assert all(values[children] == () for _count, rows in saved.values()
               for values in rows)  # kept unthreaded: "a"'s reply is not stored inside it

    reads: list[Path] = []
    original = CommentThreads.read
    monkeypatch.setattr(CommentThreads, "read",
                        lambda self, path: reads.append(path) or original(self, path))
    second = CommentThreads(settings)
    again = second.thread("post")
    assert [(n.slug, n.body_html, [c.slug for c in n.children]) for n in again] == expected
    assert reads == []  # nothing read: the listing matched
    second.thread("bad")
    assert [p.name for p in reads] == ["x.md"]  # a folder with an unusable file: read each time
    second.folder_cache.save()

    (folder / "b.md").write_text("Author: B\nDate: 2026-03-01 09:01:00+00:00\nSlug: b\n\n"
                                 "Edited.\n", encoding="utf-8")  # no longer a reply
    third = CommentThreads(settings)
    assert [(n.slug, n.body_html) for n in third.thread("post")] == [
        ("a", "<p>Comment a.</p>"), ("b", "<p>Edited.</p>")]
    other = CommentThreads({**settings, "MARKDOWN": {"output_format": "xhtml"}})
    assert other.folder_cache.entries == {}  # other settings: nothing reused


def test_unchanged_folders_found_ahead_are_what_threading_each_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`unchanged_folders` (run in another process before a publish) gives, for each folder
    as the cache kept it, the digest and count `thread_and_digest` would; a changed folder is
    left out and read as before."""
    for post, count in (("kept", 2), ("changed", 1), ("empty-of-cache", 1)):
        folder = tmp_path / "comments" / post
        folder.mkdir(parents=True)
        for n in range(count):
            (folder / f"{n}.md").write_text(f"Author: A\nDate: 2026-03-01 09:0{n}:00+00:00\n"
                                            f"Slug: c{n}\n\nComment {n}.\n", encoding="utf-8")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads(settings)
    digests = {post: first.thread_and_digest(post)[1] for post in ("kept", "changed")}
    first.folder_cache.save()
    (tmp_path / "comments" / "changed" / "9.md").write_text(
        "Author: B\nDate: 2026-03-02 09:00:00+00:00\nSlug: c9\n\nLate.\n", encoding="utf-8")

    # over there, with the build's listing of the comments (as a publish's other process has)
    listed = {**settings, CONTENT_LISTING_KEY: ContentListing.scan(tmp_path)}
    ahead = CommentThreads(listed).unchanged_folders()
    assert ahead == {"kept": (digests["kept"], 2)}
    found = unchanged_folders_ahead(listed)
    assert found[:2] == (ahead, ["changed", "empty-of-cache", "kept"])
    # the other folders' files come with it: this process needs no listing of the comments
    assert sorted(found[2]) == ["changed", "empty-of-cache"]
    assert sorted(name for name, _stamp in found[2]["changed"]) == ["0.md", "9.md"]
    reads: list[str] = []
    original = CommentThreads.read
    monkeypatch.setattr(CommentThreads, "read",
                        lambda self, path: reads.append(path.parent.name) or original(self, path))
    second = CommentThreads(settings)
    second.take_unchanged(found)
    monkeypatch.setattr(CommentThreads, "folders", lambda self: pytest.fail("listed again"))
    monkeypatch.setattr("plugins.comment_threads.listing",
                        lambda *args, **kwargs: pytest.fail("a folder listed again"))
    thread, digest = second.thread_and_digest("kept")
    assert (digest, thread.count, [n.slug for n in thread]) == (digests["kept"], 2, ["c0", "c1"])
    changed, changed_digest = second.thread_and_digest("changed")
    assert changed.count == 2 and changed_digest != digests["changed"]
    assert sorted(set(reads)) == ["changed"]  # the kept folder came from the cache
    assert second.thread_and_digest("no-folder") == ([], "none")


def test_folders_read_ahead_of_a_full_build_are_written_by_the_process_that_read_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`preread` (ahead of a full build, in a forked process) writes the folders it read to
    the folder cache there; the build's process takes their digests and counts only, and
    threads each as reading it here would. The next build reads none of them again and,
    ahead of a publish, finds them unchanged by their files (the stamps were written too)."""
    for post, count in (("post", 2), ("other", 1)):
        folder = tmp_path / "comments" / post
        folder.mkdir(parents=True)
        for n in range(count):
            reply = "Replyto: c0\n" if n else ""
            (folder / f"{n}.md").write_text(f"Author: A\nDate: 2026-03-01 09:0{n}:00+00:00\n"
                                            f"Slug: c{n}\n{reply}\nComment {n}.\n",
                                            encoding="utf-8")
    (tmp_path / "comments" / "bad").mkdir()
    (tmp_path / "comments" / "bad" / "x.md").write_text("Author: No date\n\nx\n")

    def settings(cache: str) -> dict[str, Any]:
        return {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / cache),
                CONTENT_LISTING_KEY: ContentListing.scan(tmp_path)}

    def shown(found: tuple[Any, str | None]) -> tuple[Any, ...]:
        thread, digest = found
        return digest, thread.count, [(n.slug, n.body_html, [c.slug for c in n.children])
                                      for n in thread]

    here = CommentThreads(settings("cache-here"))
    expected = {post: shown(here.thread_and_digest(post)) for post in ("post", "other", "bad")}
    assert expected["post"][1:] == (2, [("c0", "<p>Comment 0.</p>", ["c1"])])

    threads = CommentThreads(settings("cache"))
    read = Background(partial(threads.preread, sorted(threads.folders()))).result()
    assert threads.take(read) == 2  # not the folder with an unusable file
    reads: list[str] = []
    original = CommentThreads.read
    monkeypatch.setattr(CommentThreads, "read",
                        lambda self, path: reads.append(path.parent.name) or original(self, path))
    assert {post: shown(threads.thread_and_digest(post)) for post in expected} == expected
    assert reads == ["bad"]  # the others: taken as written over there
    threads.folder_cache.save()

    ahead = CommentThreads(settings("cache"), read_only=True)  # as before a publish
    assert ahead.folder_cache.unchanged(ahead.walked() or {}) == {
        post: (expected[post][0], expected[post][1]) for post in ("post", "other")}
    again = CommentThreads(settings("cache"))
    assert shown(again.thread_and_digest("post")) == expected["post"]
    assert reads == ["bad"]


def test_folders_kept_with_their_walked_files_are_found_unchanged_without_their_listing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder put with the files the build's walk listed is found unchanged, ahead of a
    publish, by those files alone (no listing made, no kept listing read); a file edited in
    place (same inode) or a folder that gained a file is not; one whose files differ only
    in what a listing ignores (a stray file) is compared by listing, and found unchanged."""
    comments = tmp_path / "comments"
    for post in ("kept", "edited", "gained", "stray"):
        (comments / post).mkdir(parents=True)
        (comments / post / "0.md").write_text(
            "Author: A\nDate: 2026-03-01 09:00:00+00:00\nSlug: c0\n\nComment.\n",
            encoding="utf-8")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads({**settings, CONTENT_LISTING_KEY: ContentListing.scan(tmp_path)})
    digests = {post: first.thread_and_digest(post)[1] for post in ("kept", "edited",
                                                                   "gained", "stray")}
    first.folder_cache.save()

    edited = comments / "edited" / "0.md"
    inode = edited.stat().st_ino
    with edited.open("a", encoding="utf-8") as file:  # in place: same inode, new size
        file.write("An afterthought.\n")
    assert edited.stat().st_ino == inode
    (comments / "gained" / "1.md").write_text(
        "Author: B\nDate: 2026-03-02 09:00:00+00:00\nSlug: c1\n\nLate.\n", encoding="utf-8")
    (comments / "stray" / "notes.txt").write_text("not a comment", encoding="utf-8")

    listed = {**settings, CONTENT_LISTING_KEY: ContentListing.scan(tmp_path)}
    compared: list[str] = []
    listing_of = CommentThreads.listing
    monkeypatch.setattr(CommentThreads, "listing", lambda self, folder, **kw: (
        compared.append(Path(folder).name) or listing_of(self, folder, **kw)))
    ahead = CommentThreads(listed, read_only=True).unchanged_folders()
    assert ahead == {"kept": (digests["kept"], 1), "stray": (digests["stray"], 1)}
    assert sorted(compared) == ["edited", "gained", "stray"]  # "kept" by its files alone
    # what this process works out for each is what threading it there would
    monkeypatch.undo()
    again = CommentThreads(listed)
    assert again.thread_and_digest("kept")[1] == digests["kept"]
    assert again.thread_and_digest("stray")[1] == digests["stray"]
    assert again.thread_and_digest("edited")[1] != digests["edited"]


def test_the_folder_cache_outlives_pelicans_reader_adding_to_the_markdown_settings(
        tmp_path: Path) -> None:
    """Pelican's Markdown reader adds the configured extensions to MARKDOWN["extensions"]
    when it is made: a CommentThreads made before it (ahead of a publish) and one made after
    must agree on the cache's signature, or the earlier wipes the cache every publish."""
    import copy

    from pelican.readers import MarkdownReader

    import pelicanconf

    markdown_settings = copy.deepcopy(pelicanconf.MARKDOWN)
    markdown_settings.pop("extensions", None)  # as in pelicanconf.py, before any reader
    settings = read_settings(override={
        "PATH": str(tmp_path), "MARKDOWN": markdown_settings,
        "CACHE_CONTENT": True, "LOAD_CONTENT_CACHE": True,
        "CACHE_PATH": str(tmp_path / "cache")})
    before = CommentThreads(settings).folder_cache.signature
    extensions = list(settings["MARKDOWN"].get("extensions") or [])
    MarkdownReader(settings)
    assert settings["MARKDOWN"]["extensions"] != extensions  # the reader did add to it
    assert CommentThreads(settings).folder_cache.signature == before


class _Article:
    def __init__(self, slug: str, metadata: dict[str, str]) -> None:
        self.slug = slug
        self.metadata = metadata


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"comment_count": "7"}, 7), ({"comment_count": " 3 "}, 3), ({}, 0),
    ({"comment_count": "many"}, 0), ({"comment_count": "-2"}, 0),
])
def test_without_a_thread_the_count_is_the_feeds_as_an_int(
        tmp_path: Path, metadata: dict[str, str], expected: int) -> None:
    article = _Article("no-thread-here", metadata)
    CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {}}).attach([article])
    assert article.comment_count == expected and isinstance(article.comment_count, int)
    assert article.comments == []  # type: ignore[attr-defined]


def test_events_carry_depth_and_parent() -> None:
    roots = link_nodes([node("a"), node("b", "a", 1), node("c", "b", 2)])
    opening = [(e.node.slug, e.depth, e.parent.slug if e.parent else None)
               for e in comment_events(roots) if e.opening]
    assert opening == [("a", 0, None), ("b", 1, "a"), ("c", 2, "b")]


def test_the_original_link_is_checked_and_websites_are_http(tmp_path: Path) -> None:
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    for name, website, original in [("a", "https://jane.example/", "https://blog.example/1#c"),
                                    ("b", "javascript:alert(1)", "javascript:alert(2)"),
                                    ("c", "https://jane.example/", "")]:
        (folder / f"{name}.md").write_bytes(
            f"Author: X\r\nWebsite: {website}\r\nDate: 2026-03-01 09:00:00+00:00\r\n"
            f"Original_url: {original}\r\nSlug: {name}\r\n\r\nBody\rsecond line\r\n".encode())
    (folder / "big.md").write_bytes(b"Slug: big\n\n" + b"x" * (1024 * 1024))
    (folder / "dir.md").mkdir()  # not a comment file
    a, b, c = CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {}}).thread("post")
    assert (a.website, a.url) == ("https://jane.example/", "https://blog.example/1#c")
    assert (b.website, b.url) == (None, None) and c.url is None
    assert c.website == "https://jane.example/"
    assert a.body_html == "<p>Body\nsecond line</p>"  # CRLF and CR files read as text mode did


def test_a_kept_thread_counts_every_comment_and_threads_only_when_shown(tmp_path: Path) -> None:
    """A folder kept from the last build gives its count at once; its tree (orphans and a
    cycle made top-level, replies nested) is the same as a freshly read one's."""
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    replies = {"a": "", "b": "a", "c": "b", "d": "gone", "e": "f", "f": "e"}  # orphan, cycle
    for minute, (slug, parent) in enumerate(replies.items()):
        (folder / f"{slug}.md").write_text(
            f"Author: {slug}\nDate: 2026-03-01 09:{minute:02d}:00+00:00\nSlug: {slug}\n"
            + (f"Replyto: {parent}\n" if parent else "") + f"\nComment {slug}.\n",
            encoding="utf-8")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads(settings)
    fresh = first.thread("post")
    first.folder_cache.save()
    kept = CommentThreads(settings).thread("post")
    assert kept._roots is None  # not threaded yet
    assert bool(kept) and kept.count == len(replies) == count_comments(list(fresh))

    def shape(roots: Any) -> list[Any]:
        return [(n.slug, n.depth, shape(n.children)) for n in roots]

    assert shape(kept) == shape(fresh)
    assert [n.slug for n in kept] == ["a", "d", "e"]
    assert kept.count == count_comments(list(kept))


def test_a_damaged_folder_cache_is_rebuilt(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "comments" / "post"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("Author: A\nDate: 2026-03-01 09:00:00+00:00\nSlug: a\n\nHi.\n",
                                 encoding="utf-8")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "comment_folders.sqlite3").write_bytes(b"not a database" * 100)
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    with caplog.at_level(logging.WARNING):
        first = CommentThreads(settings)
    assert "comment folder cache unusable, rebuilt" in caplog.text
    assert [n.slug for n in first.thread("post")] == ["a"]
    first.folder_cache.save()
    kept = CommentThreads(settings).thread("post")
    assert kept._roots is None and kept.count == 1 and [n.slug for n in kept] == ["a"]


def test_kept_listings_are_read_when_compared_one_by_one_then_all_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder cache reads a kept folder's listing only when a folder is compared here:
    the first FEW_LISTINGS one by one (a publish whose other process compared the rest), then
    all of them in one query. Every unchanged folder is found unchanged either way."""
    posts = [f"post-{n:03d}" for n in range(FEW_LISTINGS + 6)]
    for post in posts:
        folder = tmp_path / "comments" / post
        folder.mkdir(parents=True)
        (folder / "c.md").write_text("Author: A\nDate: 2026-03-01 09:00:00+00:00\nSlug: c\n\n"
                                     f"On {post}.\n", encoding="utf-8")
    settings = {"PATH": str(tmp_path), "MARKDOWN": {}, "CACHE_CONTENT": True,
                "LOAD_CONTENT_CACHE": True, "CACHE_PATH": str(tmp_path / "cache")}
    first = CommentThreads(settings)
    digests = {post: first.thread_and_digest(post)[1] for post in posts}
    first.folder_cache.save()

    reads: list[str] = []
    original = CommentThreads.read
    monkeypatch.setattr(CommentThreads, "read",
                        lambda self, path: reads.append(path.parent.name) or original(self, path))
    second = CommentThreads(settings)
    entries = second.folder_cache.entries
    assert set(entries) == set(posts) and all(text is None for text, _n in entries.values())
    for post in posts[:FEW_LISTINGS]:
        assert second.thread_and_digest(post)[1] == digests[post]
    assert sum(text is not None for text, _n in entries.values()) == FEW_LISTINGS
    assert second.thread_and_digest(posts[-1])[1] == digests[posts[-1]]
    assert all(text is not None for text, _n in entries.values())  # the rest, at once
    assert [second.thread_and_digest(post)[1] for post in posts] == \
        [digests[post] for post in posts]
    assert reads == []  # every folder came from the cache
