"""The whole pipeline on the demo network, as `make demo` runs it: fetch, build, index.

These are the product's promises checked on the built site: every member in its format
arrives, comment threads nest, the broken member is reported without stopping anyone, no
commenter e-mail is published, and a second run changes nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import feedparser

from demo.pipeline import ROOT, build_command, fetch_command
from demo.server import FeedServer

EMAILS = ("sam.whitby@example.org", "farah.iqbal@example.com")


class _Comments(HTMLParser):
    """Records each comment element's id and the comment ids it sits inside."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parents: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "br", "hr", "meta", "link", "input", "source"):
            return
        ident = dict(attrs).get("id") or ""
        if ident.startswith("comment-"):
            self.parents[ident] = [i for i in self.stack if i]
            self.stack.append(ident)
        else:
            self.stack.append(None)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("img", "br", "hr", "meta", "link", "input", "source") and self.stack:
            self.stack.pop()


def test_every_working_member_is_on_the_site(demo: tuple[Path, FeedServer]) -> None:
    workdir, _feeds = demo
    posts = list((workdir / "content" / "posts").glob("*/*/*.md"))
    members = {p.parts[-3] for p in posts}
    assert members == {"council-digital", "nhs-nurse", "policy-design", "fire-data",
                       "police-inspector"}
    assert len(posts) == 24
    pages = [p for p in (workdir / "output").glob("20[0-9][0-9]/[01][0-9]/*/index.html")]
    assert len(pages) == 24
    # the Blogger nurse's personal post stays on her blog (skip_topics: [personal])
    assert not any("half-marathon" in p.name for p in posts)
    profile = (workdir / "output" / "members" / "nhs-nurse" / "index.html").read_text()
    assert "<dt>Posts taken</dt> <dd>All but those on personal</dd>" in profile
    health = (workdir / "output" / "health" / "index.html").read_text()
    assert "All but those on personal (1 of the feed’s posts was not, at the last fetch)" \
        in health


def test_the_search_index_has_a_bundle_per_year_of_posts(demo: tuple[Path, FeedServer]) -> None:
    """Indexed as make publish indexes it: the main bundle lists a bundle for each year that
    has posts, and each is there."""
    output = demo[0] / "output"
    years = {p.parts[-4] for p in output.glob("20[0-9][0-9]/[01][0-9]/*/index.html")}
    listed = json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8"))
    assert listed == [f"pagefind-shards/{year}/" for year in sorted(years, reverse=True)]
    assert all((output / path / "pagefind-entry.json").is_file() for path in listed)
    assert (output / "pagefind" / "pagefind-ui.js").is_file()


def test_threads_nest_on_the_post_page(demo: tuple[Path, FeedServer]) -> None:
    workdir, _feeds = demo
    page = next((workdir / "output").glob(
        "20*/*/council-digital-working-in-the-open-when-the-council-is-nervous/index.html"))
    text = page.read_text()
    assert "7 thoughts on" in text
    parser = _Comments()
    parser.feed(text)
    assert len(parser.parents) == 7
    depths = sorted(len(p) for p in parser.parents.values())
    assert depths.count(0) == 3 and max(depths) == 2  # replies two levels deep
    assert 'rel="nofollow ugc"' in text


def test_a_comment_taken_down_never_reaches_the_site_and_its_answer_stays(
        demo: tuple[Path, FeedServer]) -> None:
    """demo/takedowns.yaml.in lists a comment with a phone number in it: the fetch leaves it
    out of the thread (and of every source WordPress offers), and Amira's answer to it is
    shown as the thread's own."""
    workdir, feeds = demo
    source = b"".join(p.read_bytes() for p in feeds.root.rglob("*.xml"))
    assert b"07700 900461" in source  # the blog does carry it
    for folder in ("content", "output"):
        for path in (workdir / folder).rglob("*"):
            if path.is_file():
                assert b"07700 900461" not in path.read_bytes(), path
    page = next((workdir / "output").glob(
        "20*/*/council-digital-what-councillors-taught-us-about-user-research/index.html"))
    text = page.read_text()
    assert "3 thoughts on" in text and "Gary Platt" not in text
    parser = _Comments()
    parser.feed(text)
    answer = next(ident for ident in parser.parents if ident.startswith("comment-2336-"))
    assert parser.parents[answer] == []  # the thread's own now
    assert "Parish councils are next on our list" in text


def test_a_guest_post_republished_from_another_members_blog_is_on_the_site_once(
        demo: tuple[Path, FeedServer]) -> None:
    """Amira's council blog republished Owen's post three days after him, with a line in
    front (a cross-post): the site has his post, once, and not her blog's copy."""
    workdir, feeds = demo
    wordpress = (feeds.root / "council-digital" / "feed" / "index.xml").read_text()
    assert "<title>Writing policy with the people who deliver it</title>" in wordpress
    copies = sorted(p.relative_to(workdir / "content").as_posix() for p in (
        workdir / "content" / "posts").rglob("writing-policy-with-the-people-who-deliver-it*"))
    assert copies == ["posts/policy-design/2026/writing-policy-with-the-people-who-deliver-it.md"]
    assert not (workdir / "content" / "comments" /
                "council-digital-writing-policy-with-the-people-who-deliver-it").exists()
    pages = [p for p in (workdir / "output").glob("20*/*/*/index.html")
             if re.search(r"<h1[^>]*>\s*Writing policy with the people who deliver it\s*</h1>",
                          p.read_text())]
    assert [p.parent.name for p in pages] == [
        "policy-design-writing-policy-with-the-people-who-deliver-it"]
    assert "republished here with his permission" not in "".join(
        p.read_text() for p in (workdir / "output").rglob("*.html"))


def test_the_broken_member_is_reported_and_the_rest_go_on(
        demo: tuple[Path, FeedServer]) -> None:
    workdir, _feeds = demo
    db = sqlite3.connect(workdir / "var" / "state.sqlite3")
    rows = dict(db.execute("SELECT member_id, last_error FROM feeds").fetchall())
    db.close()
    assert "HTML page, not a feed" in (rows["housing-ceo"] or "")
    assert rows["council-digital"] is None


def test_no_commenter_email_is_published(demo: tuple[Path, FeedServer]) -> None:
    workdir, feeds = demo
    source = b"".join(p.read_bytes() for p in feeds.root.rglob("*") if p.is_file())
    assert all(e.encode() in source for e in EMAILS)  # the feeds do carry them
    for folder in ("content", "output"):
        for path in (workdir / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(e.encode() in data for e in EMAILS), path
                assert not re.search(rb"gravatar|[0-9a-f]{32}\?s=", data), path


def test_comments_false_member_threads_are_never_fetched(
        demo: tuple[Path, FeedServer]) -> None:
    _workdir, feeds = demo
    assert feeds.count("/fire-data/comments/grass-fires-hottest-week.xml") == 0


def test_a_second_fetch_changes_nothing(demo: tuple[Path, FeedServer]) -> None:
    workdir, _feeds = demo
    content = workdir / "content"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in content.rglob("*.md")}
    result = subprocess.run(fetch_command(workdir), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in content.rglob("*.md")}
    assert after == before
    assert "5 not modified" in result.stdout and "0 new posts" in result.stdout


def test_the_served_demo_has_the_networks_feeds(demo: tuple[Path, FeedServer],
                                                tmp_path: Path) -> None:
    """`make demo` serves the site at a known address, so it is built with the feeds
    publishconf.py gives the network: a reader can subscribe to every post, as on the real
    site. Built here from a copy of the fetched demo."""
    workdir, feeds = demo
    copy = tmp_path / "served"
    for part in ("content", "var"):
        shutil.copytree(workdir / part, copy / part)
    shutil.copy(workdir / "members.yaml", copy / "members.yaml")
    site_url = "http://127.0.0.1:8123"
    result = subprocess.run(build_command(copy, site_url), capture_output=True, text=True,
                            timeout=300, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    feed = feedparser.parse((copy / "output" / "feeds" / "all.atom.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == 24
    # each entry reads on the member's own blog (plugins/syndication), from the network's feed
    assert all(e.link.startswith(feeds.base_url + "/") for e in feed.entries)
    assert feed.feed.link == site_url + "/"
    assert (copy / "output" / "members" / "council-digital" / "feed.atom.xml").is_file()
    home = (copy / "output" / "index.html").read_text(encoding="utf-8")
    assert f'href="{site_url}/feeds/all.atom.xml"' in home
    # and the weekly digests (which weeks have posts depends on the day it is built)
    assert f'href="{site_url}/feeds/weekly.atom.xml"' in home
    for digest in ("feeds/weekly.atom.xml", "sectors/local-government/weekly.atom.xml"):
        weekly = feedparser.parse((copy / "output" / digest).read_bytes())
        assert not weekly.bozo and weekly.feed.title.endswith("the week's posts"), digest
    # the pages themselves stay relative (the tests serve them under a sub-path)
    assert 'href="members/"' in home or 'href="./members/"' in home


def test_a_posts_pictures_load_as_the_reader_reaches_them(demo: tuple[Path, FeedServer]) -> None:
    """The demo's full posts carry pictures from the member's blog: each loads lazily."""
    pages = list((demo[0] / "output").glob("20[0-9][0-9]/[01][0-9]/*/index.html"))
    images = [tag for page in pages
              for tag in re.findall(r"<img\b[^>]*>", page.read_text(encoding="utf-8"))
              if 'class="avatar' not in tag]
    assert images
    assert all('loading="lazy"' in tag for tag in images), images
