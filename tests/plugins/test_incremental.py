"""Incremental builds (plugins/incremental): an incremental build writes the site a full build
writes, and touches only the pages that show what changed.

Each scenario builds a generated network (bench/sitegen.py: posts, members, threads) with real
Pelican and publishconf.py (feeds on), changes something, builds again into the same output,
then builds the changed content from scratch into a fresh folder and compares the two trees
byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedgenerator
import jinja2
import pytest
from pelican.contents import Article
from pelican.generators import ArticlesGenerator
from pelican.log import LimitFilter
from pelican.settings import read_settings

import pelicanconf
from aggregator.state import FeedState, State
from bench.sitegen import GeneratedSite, SiteSpec, add_update, generate_site
from plugins.incremental import build as build_module
from plugins.incremental import render as render_module
from plugins.incremental import store as store_module
from plugins.incremental.ahead import Ahead
from plugins.incremental.build import MANIFEST_FILE
from plugins.incremental.changes import article_signature, dirty_pages, unchanged_posts
from plugins.incremental.generators import NetworkArticlesGenerator
from plugins.incremental.listing import LISTING_KEY, ContentListing
from plugins.incremental.pagination import StablePaginator
from plugins.incremental.store import NAMES_ATTRIBUTE, STORE_FILE
from plugins.incremental.writer import IncrementalWriter
from tests.pelicanbuild import run_pelican

ROOT = Path(__file__).resolve().parents[2]
SPEC = SiteSpec(posts=36, members=8, comments_per_post=2.0, paragraphs=2, seed=3)
PER_PAGE = 4


# --- pagination ------------------------------------------------------------------------------
def _pages(count: int, per_page: int) -> list[tuple[int | None, list[int]]]:
    items = list(range(count, 0, -1))  # newest first: post numbers, 1 = oldest
    paginator = StablePaginator.for_list("index.html", "", count, per_page,
                                         {"PAGINATION_PATTERNS": [
                                             (1, "{url}", "{save_as}"),
                                             (2, "{base_name}/page/{number}/",
                                              "{base_name}/page/{number}/index.html")]})
    return [(page.number, paginator.slice(items, page.number, oldest_first=False))
            for page in paginator.pages()]


@pytest.mark.parametrize("count", range(0, 47))
def test_pages_hold_every_post_once_newest_first(count: int) -> None:
    pages = _pages(count, 5)
    shown = [n for _number, items in pages for n in items]
    assert shown == list(range(count, 0, -1))  # the walk front → older … → page 1
    front = pages[0][1]
    assert len(front) == count if count < 5 else 5 <= len(front) <= 9
    assert all(len(items) == 5 for number, items in pages[1:])
    assert [number for number, _ in pages[1:]] == list(range(len(pages) - 1, 0, -1))


@pytest.mark.parametrize("count", range(5, 40))
def test_a_new_post_leaves_every_numbered_page_as_it_was(count: int) -> None:
    before = {number: items for number, items in _pages(count, 5) if number is not None}
    after = {number: items for number, items in _pages(count + 1, 5) if number is not None}
    assert all(after[number] == items for number, items in before.items())
    assert len(after) - len(before) in (0, 1)


def test_numbered_pages_have_stable_urls_and_links() -> None:
    settings = read_settings(str(ROOT / "pelicanconf.py"))
    paginator = StablePaginator.for_list("tags/x/index.html", "tags/x/", 23, 5, settings)
    first, *numbered = paginator.pages()
    assert (first.url, first.save_as, first.is_front) == ("tags/x/", "tags/x/index.html", True)
    assert [p.url for p in numbered] == [f"tags/x/page/{n}/" for n in (3, 2, 1)]
    assert first.older is not None and first.older.number == 3 and first.newer is None
    assert numbered[0].newer is not None and numbered[0].newer.is_front
    assert numbered[-1].older is None and numbered[-1].has_previous()
    assert not StablePaginator.for_list("index.html", "", 4, 5, settings).pages()[0] \
        .has_other_pages()


# --- builds ----------------------------------------------------------------------------------
@dataclass
class Network:
    site: GeneratedSite
    output: Path
    cache: Path
    overrides: dict[str, Any]

    def settings(self, output: Path | None = None, cache: Path | None = None,
                 **extra: Any) -> dict[str, Any]:
        """publishconf.py's settings. MARKDOWN is copied: Pelican's reader adds to it in place,
        and in one process every read_settings shares pelicanconf's dict."""
        return read_settings(str(ROOT / "publishconf.py"), override={
            "MARKDOWN": copy.deepcopy(pelicanconf.MARKDOWN),
            "PATH": str(self.site.content), "OUTPUT_PATH": str(output or self.output),
            "CACHE_PATH": str(cache or self.cache), "MEMBERS_FILE": str(self.site.members_file),
            "AGGREGATOR_STATE": str(self.site.root / "var" / "state.sqlite3"),
            "AVATARS_FETCH": False, "DEFAULT_PAGINATION": PER_PAGE, "SITEURL":
                "https://example.org", "FEED_DOMAIN": "https://example.org",
            **self.overrides, **extra})

    def build(self, **extra: Any) -> Any:
        return run_pelican(self.settings(**extra))

    def full_build(self, folder: Path, **extra: Any) -> Path:
        """The same content built from nothing into `folder`."""
        shutil.rmtree(folder, ignore_errors=True)
        run_pelican(self.settings(folder / "output", folder / "cache", **extra))
        return folder / "output"


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture
def network(tmp_path: Path) -> Network:
    site = generate_site(tmp_path / "site", SPEC)
    net = Network(site, tmp_path / "output", tmp_path / "cache", {})
    net.build()
    return net


def test_a_build_with_nothing_new_stops_at_once(network: Network,
                                                caplog: pytest.LogCaptureFixture) -> None:
    before = {p: p.stat().st_mtime_ns for p in network.output.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        pelican = network.build()
    assert "Nothing changed since the last build" in caplog.text
    assert not hasattr(pelican, "_writer")  # no generator ran
    assert {p: p.stat().st_mtime_ns for p in network.output.rglob("*") if p.is_file()} == before


def test_one_new_post_and_comments_change_only_the_pages_that_show_them(
        network: Network, tmp_path: Path) -> None:
    before = tree(network.output)
    update = add_update(network.site, SPEC, comments=3)
    pelican = network.build()
    after = tree(network.output)
    assert after == tree(network.full_build(tmp_path / "full"))

    log = pelican._writer.log
    assert log.skipped >= SPEC.posts - 2  # every other post's page was left alone
    new_post = next(p for p in after if f"/{update.new_post_slug}/" in p)
    commented = next(p for p in after if f"/{update.commented_post_slug}/" in p)
    post_pages = {p for p in changed(before, after)
                  if re.fullmatch(r"\d{4}/\d{2}/[^/]+/index\.html", p)}
    # the new post, and the newest old one: its thread grew and it links to the new post
    assert post_pages == {new_post, commented}
    for path in sorted(changed(before, after)):
        text = (network.output / path).read_text(encoding="utf-8")
        shows = (update.new_post_slug in text or update.commented_post_slug in text
                 or path.startswith(("members/", "health/", "network/", "organisations/",
                                     "regions/", "sectors/", "archives/", "tags/index")))
        assert shows, f"{path} changed but shows neither the new post nor the new comments"
    assert new_post in changed(before, after)
    numbered = [p for p in changed(before, after) if "/page/" in p or p.startswith("page/")]
    # per list, at most the page that gains a "newer" link when a page fills up
    assert len(numbered) <= 8, numbered


def test_an_edited_and_a_removed_post_build_as_from_scratch(network: Network,
                                                            tmp_path: Path) -> None:
    posts = sorted((network.site.content / "posts").rglob("*.md"))
    edited, removed = posts[3], posts[10]
    text = edited.read_text(encoding="utf-8")
    edited.write_text(re.sub(r"^Title: .*$", "Title: A corrected title", text, count=1,
                             flags=re.M), encoding="utf-8")
    removed_slug = re.search(r"^Slug: (.*)$", removed.read_text(encoding="utf-8"), re.M)
    assert removed_slug is not None
    removed.unlink()
    network.build()
    after = tree(network.output)
    assert after == tree(network.full_build(tmp_path / "full"))
    assert not any(f"/{removed_slug.group(1)}/" in p for p in after)  # its page was removed


def test_a_registry_or_settings_change_rebuilds_what_it_touches(network: Network,
                                                                tmp_path: Path) -> None:
    members = network.site.members_file
    members.write_text(members.read_text(encoding="utf-8").replace(
        'organisation: "', 'organisation: "Renamed ', 1), encoding="utf-8")
    network.build()
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))
    network.overrides["SITENAME"] = "Another name"
    pelican = network.build()
    assert pelican._writer.log.skipped == 0
    assert tree(network.output) == tree(network.full_build(tmp_path / "full2"))


def test_a_failed_build_is_followed_by_a_full_one(network: Network,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    add_update(network.site, SPEC, comments=1)

    def broken(self: IncrementalWriter, processes: int, **_: Any) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(IncrementalWriter, "flush", broken)
        with pytest.raises(RuntimeError, match="disk on fire"):
            network.build()
    assert not (network.cache / MANIFEST_FILE).exists()
    pelican = network.build()
    assert pelican._writer.log.skipped == 0 and pelican._writer.log.rendered > 100


@pytest.mark.parametrize("processes", [1, 2])
def test_a_feed_whose_writing_fails_is_left_whole(network: Network, processes: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that fails in the middle of writing a feed leaves the feed the last build
    wrote, whole, as it leaves every page (Pelican's own writer emptied the file first)."""
    feed = network.output / "feeds/all.atom.xml"
    before = feed.read_bytes()
    add_update(network.site, SPEC, comments=1)

    def cut_short(self: Any, outfile: Any, encoding: str) -> None:
        outfile.write('<?xml version="1.0" encoding="utf-8"?>\n<feed><title>Cut')
        raise OSError("disk gone in the middle of a feed")

    monkeypatch.setattr(feedgenerator.Atom1Feed, "write", cut_short)
    with pytest.raises(Exception, match="disk gone in the middle of a feed"):
        network.build(BUILD_PROCESSES=processes, BUILD_PROCESS_MIN_PAGES=1)
    assert feed.read_bytes() == before
    assert sorted(p.name for p in feed.parent.iterdir()) == [
        "all.atom.xml", "all.rss.xml", "weekly.atom.xml"]  # no file left half-written
    monkeypatch.undo()
    network.build()
    assert tree(network.output) == tree(network.full_build(network.output.parent / "full"))


@pytest.mark.parametrize("damage", [b"", b"\x00not a manifest", b"\xfb\x05\x00"])
def test_an_unreadable_manifest_means_a_full_build(network: Network, damage: bytes,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A manifest that cannot be read (cut short, damaged, written by a Python whose marshal
    format differs) is said so in the log, and the build renders everything."""
    (network.cache / MANIFEST_FILE).write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="plugins.incremental.build"):
        pelican = network.build()
    assert "build manifest unreadable, full build" in caplog.text
    assert pelican._writer.log.skipped == 0 and pelican._writer.log.rendered > 100
    assert not hasattr(network.build(), "_writer")  # written again: nothing new, nothing run


def test_posts_read_and_pages_rendered_on_two_processes_are_the_same(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Posts read on two processes, comment folders in another while Pelican reads the posts,
    pages rendered on two: the same site as with one process."""
    one = network.full_build(tmp_path / "one", BUILD_PROCESSES=1)
    folders = sum(1 for _ in (network.site.content / "comments").iterdir())
    assert folders >= 20
    caplog.set_level(logging.INFO, logger="plugins.incremental.preread")
    caplog.set_level(logging.INFO, logger="comment_threads")
    two = network.full_build(tmp_path / "two", BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=10)
    assert f"Read {SPEC.posts} posts on 2 processes" in caplog.text
    assert f"Read {folders} comment folders in another process" in caplog.text
    assert tree(one) == tree(two) == tree(network.output)


def test_the_faster_articles_generator_writes_what_pelicans_own_writes(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear-time group and period lists, remembered URLs: the same site as Pelican's own
    ArticlesGenerator, page for page."""
    ours = network.full_build(tmp_path / "ours")
    with monkeypatch.context() as patch:
        patch.setattr(build_module, "NetworkArticlesGenerator", ArticlesGenerator)
        stock = network.full_build(tmp_path / "stock")
    assert tree(ours) == tree(stock)


# --- the article store -----------------------------------------------------------------------
def test_a_publish_reads_only_the_posts_that_changed(network: Network, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Unchanged posts come back from the article store (store.py), not from their files: a
    new post and the commented one (its comment count changed) are read, no other."""
    add_update(network.site, SPEC, comments=1)
    with caplog.at_level(logging.INFO, logger="plugins.incremental.generators"):
        network.build()
    assert f"Posts: 2 read, {SPEC.posts - 1} unchanged since the last build" in caplog.text
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_post_replaced_with_the_same_size_and_time_is_read_again(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The aggregator replaces a post by renaming a new file over it: the same size and even
    the same modification time still mean a new file (its inode), which is read again."""
    post = sorted((network.site.content / "posts").rglob("*.md"))[5]
    text = post.read_text(encoding="utf-8")
    title = re.search(r"^Title: (.*)$", text, re.M)
    assert title is not None and len(title.group(1)) > 4
    swapped = title.group(1)[::-1]  # same length, other words
    stat = post.stat()
    replacement = post.with_name(post.name + ".new")
    replacement.write_text(text.replace(f"Title: {title.group(1)}", f"Title: {swapped}", 1),
                           encoding="utf-8")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replacement.replace(post)
    assert post.stat().st_size == stat.st_size and post.stat().st_mtime_ns == stat.st_mtime_ns
    with caplog.at_level(logging.INFO, logger="plugins.incremental.generators"):
        network.build()
    assert f"Posts: 1 read, {SPEC.posts - 1} unchanged" in caplog.text
    assert swapped in "".join(p.read_text(encoding="utf-8", errors="replace")
                              for p in network.output.rglob("index.html"))
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_damaged_article_store_costs_a_reread_not_the_build(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (network.cache / STORE_FILE).write_bytes(b"not a database at all" * 100)
    add_update(network.site, SPEC, comments=1)
    with caplog.at_level(logging.INFO):
        network.build()
    assert "article store unusable" in caplog.text and STORE_FILE in caplog.text
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))
    caplog.clear()
    add_update(network.site, SPEC, comments=1)
    with caplog.at_level(logging.INFO, logger="plugins.incremental.generators"):
        network.build()
    counts = re.search(r"Posts: (\d+) read, (\d+) unchanged", caplog.text)
    assert counts is not None  # a new store works
    assert int(counts.group(1)) <= 2 and int(counts.group(2)) >= SPEC.posts
    assert tree(network.output) == tree(network.full_build(tmp_path / "full2"))


def test_a_damaged_kept_post_is_read_from_its_file(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One kept row that no longer unpickles (all kept posts are made in one pass before the
    first is asked for): that post is read from its file, with a warning naming it; the
    others still come from the store."""
    import sqlite3
    with sqlite3.connect(network.cache / STORE_FILE) as db:
        name, = db.execute("SELECT name FROM articles ORDER BY name LIMIT 1").fetchone()
        db.execute("UPDATE articles SET state = ? WHERE name = ?", (b"\x80\x05broken", name))
    db.close()
    add_update(network.site, SPEC, comments=1)
    with caplog.at_level(logging.INFO, logger="plugins.incremental"):
        network.build()
    assert f"{name}: kept article unusable, read again" in caplog.text
    assert f"Posts: 3 read, {SPEC.posts - 2} unchanged since the last build" in caplog.text
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_new_day_renders_the_pages_that_show_the_date(network: Network,
                                                        tmp_path: Path) -> None:
    """A year on with nothing new, members are "quiet" and charts move: first pages of
    members (INCREMENTAL_FRONT_TEMPLATES, keyed by the date) change; posts and numbered pages
    do not, and the site is what a full build on that day writes."""
    before = tree(network.output)
    network.overrides["NETWORK_TODAY"] = datetime.now(UTC) + timedelta(days=400)
    pelican = network.build()
    after = tree(network.output)
    assert after == tree(network.full_build(tmp_path / "full"))
    moved = changed(before, after)
    assert any(re.fullmatch(r"members/[^/]+/index\.html", p) for p in moved)
    assert not any(re.fullmatch(r"\d{4}/\d{2}/[^/]+/index\.html", p) or "/page/" in p
                   for p in moved)
    assert pelican._writer.log.skipped >= SPEC.posts
    quiet = [p for p in moved if p.startswith("members/") and
             "Quiet for a year" in (network.output / p).read_text(encoding="utf-8")]
    assert quiet


def test_comment_folders_read_ahead_in_a_process_that_fails_are_read_anyway(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: Any, slugs: Any) -> Any:
        raise OSError("disk on fire")

    # Pelican loaded the plugin by name from PLUGIN_PATHS (the network fixture built once)
    plugin = sys.modules["comment_threads"]
    monkeypatch.setattr(plugin.CommentThreads, "preread", broken)
    caplog.set_level(logging.WARNING)
    two = network.full_build(tmp_path / "two", BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=10)
    assert "comment folders not read ahead, read now" in caplog.text
    assert "disk on fire" in caplog.text
    assert tree(two) == tree(network.output)


def test_a_fetch_with_nothing_new_renders_only_the_health_page(
        network: Network, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every fetch changes the aggregator's state database, which only the health page shows:
    with no new post, that page alone is rendered (with each member's newest post as the last
    build saw it), and the site is what a full build writes."""
    members = re.findall(r'^\s*(?:- )?id: "([^"]+)"',
                         network.site.members_file.read_text(encoding="utf-8"), re.M)
    assert len(members) >= 2
    state_file = network.site.root / "var" / "state.sqlite3"
    with State(state_file) as state:
        state.save(FeedState(members[0], "https://example.org/a/feed/", last_attempt=1.7e9,
                             last_success=1.7e9, last_status=200))
    network.build()  # the state is an input like any other: this build sees it first
    before = tree(network.output)
    with State(state_file) as state:  # the next hourly fetch: one feed now failing
        state.save(FeedState(members[1], "https://example.org/b/feed/", last_attempt=1.8e9,
                             last_status=500, last_error="HTTP 500", failures=3))
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        pelican = network.build()
    assert "Only the aggregator's state changed: 1 pages rendered" in caplog.text
    assert pelican._writer.log.rendered == 1
    after = tree(network.output)
    assert changed(before, after) == {"health/index.html"}
    assert after == tree(network.full_build(tmp_path / "full"))
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        network.build()
    assert "Nothing changed since the last build" in caplog.text
    assert tree(network.output) == after


# --- what a publish costs: one walk, posts read whole only where shown -----------------------
def test_a_publish_walks_the_content_once(network: Network, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint's walk of the content folder (listing.py) gives the article store its
    file stamps, Pelican its list of posts and the comment plugin its folder listings: none of
    them looks at the files again."""
    def no(*_: Any, **__: Any) -> Any:
        raise AssertionError("the content folder was looked at again")

    add_update(network.site, SPEC, comments=2)
    plugin = sys.modules["comment_threads"]  # loaded by name from PLUGIN_PATHS
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "file_stamp", no)
        patch.setattr(plugin, "listing", no)
        patch.setattr(ArticlesGenerator, "get_files", no)
        network.build()
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_publish_reads_whole_only_the_posts_its_pages_show(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An unchanged post comes back from the store as what every build needs of it; the rest
    (metadata, summary, body) is read only for the posts the rendered pages show: feeds and
    the first pages of lists, some hundred posts whatever the archive's size (here, with 160
    posts, most of them; the build benchmark shows the cost at 20,000)."""
    spec = SiteSpec(posts=160, members=10, comments_per_post=0.5, paragraphs=1, seed=5)
    network = Network(generate_site(tmp_path / "site", spec), tmp_path / "output",
                      tmp_path / "cache", {"FEED_MAX_ITEMS": 4})
    network.build()
    add_update(network.site, spec, comments=1)
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        pelican = network.build(BUILD_PROCESSES=1)
    found = re.search(r"read whole from the article store \(by this process\): (\d+) of (\d+)",
                      caplog.text)
    assert found is not None
    whole, kept = int(found.group(1)), int(found.group(2))
    assert kept == spec.posts - 1 and 0 < whole < kept
    articles = next(g for g in pelican._generators if isinstance(g, ArticlesGenerator))
    light = [a for a in articles.articles if NAMES_ATTRIBUTE in vars(a)]
    assert len(light) == kept - whole
    # not read whole, yet every attribute is there when asked for, as a full build has it
    full = run_pelican(network.settings(tmp_path / "full" / "output", tmp_path / "full" / "c"))
    fresh = {a.source_path: a for a in next(
        g for g in full._generators if isinstance(g, ArticlesGenerator)).articles}
    article = light[0]
    same = fresh[article.source_path]
    assert article.metadata == same.metadata and article.summary == same.summary
    assert article.content == same.content and NAMES_ATTRIBUTE not in vars(article)
    with pytest.raises(AttributeError):
        article.no_such_attribute  # noqa: B018 - missing stays missing
    other = light[1]  # copied before it is read whole: whole, body included, a plain Article
    copied = copy.copy(other)
    twin = fresh[other.source_path]
    assert type(copied) is Article and NAMES_ATTRIBUTE not in vars(copied)
    assert (copied.metadata, copied.content, copied.url) == (twin.metadata, twin.content,
                                                             twin.url)
    assert tree(network.output) == tree(tmp_path / "full" / "output")


def test_a_deleted_or_edited_output_page_is_written_again(network: Network,
                                                          tmp_path: Path) -> None:
    """Pages are skipped only if their file is still as the last build left it."""
    pages = sorted(p for p in network.output.glob("*/*/*/index.html"))
    gone, edited = pages[3], pages[4]
    gone.unlink()
    edited.write_text("defaced", encoding="utf-8")
    network.build()  # nothing new in the content: the missing page still counts
    assert gone.is_file() and edited.read_text(encoding="utf-8") != "defaced"
    add_update(network.site, SPEC, comments=1)
    pages[5].unlink()
    numbered = sorted(network.output.glob("**/page/1/index.html"))
    numbered[0].unlink()  # a list's oldest page, carried over in a publish
    numbered[1].write_text("defaced", encoding="utf-8")
    network.build()
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_publish_checks_pages_and_compares_comment_folders_on_the_other_core(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With two processes, a publish checks the output folder and compares the comment
    folders with their cache in forked processes while it reads the posts: a deleted or
    defaced page is still written again, only the changed folder is read, and the site is
    what a full build writes."""
    plugin = sys.modules["comment_threads"]  # as Pelican loaded it from PLUGIN_PATHS
    compared: list[str] = []  # folders compared here, not ahead
    rows_of = plugin.FolderCache.rows_of
    monkeypatch.setattr(plugin.FolderCache, "rows_of", lambda self, slug, *a: (
        compared.append(slug), rows_of(self, slug, *a))[1])
    read: list[str] = []
    read_folder = plugin.CommentThreads.read_folder
    monkeypatch.setattr(plugin.CommentThreads, "read_folder", lambda self, folder, key: (
        read.append(Path(folder).name), read_folder(self, folder, key))[1])
    parent, listings = os.getpid(), tmp_path / "listings"
    part = Ahead.part

    def noted_part(self: Any) -> Any:
        if os.getpid() == parent:
            listings.touch()
        return part(self)

    monkeypatch.setattr(Ahead, "part", noted_part)
    pages = sorted(network.output.glob("*/*/*/index.html"))
    pages[2].unlink()
    pages[3].write_text("defaced", encoding="utf-8")
    update = add_update(network.site, SPEC, comments=2)
    network.build(BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=1)
    assert read == [update.commented_post_slug]
    assert compared == [update.commented_post_slug]  # every other one was compared ahead
    # the changed folder's files came with the comparison: the walk's whole listing of the
    # comments was never passed to this process
    assert not listings.exists()
    assert pages[2].is_file() and pages[3].read_text(encoding="utf-8") != "defaced"
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_publish_with_nothing_new_checks_the_output_while_the_comments_are_walked(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build with nothing new checks the output itself while its other process still walks
    the comments (it needs only that walk's digest, and waits for it after), and stops."""
    from plugins.incremental.outputs import OutputCheck

    parent, checked, seen = os.getpid(), tmp_path / "checked", tmp_path / "seen"
    walk_part = ContentListing.walk_part.__func__  # type: ignore[attr-defined]

    def walk_waiting(cls: Any, folder: Any, top: str) -> Any:
        if os.getpid() != parent:  # the other process: done only once the output is checked
            deadline = time.monotonic() + 5
            while not checked.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.write_text("checked" if checked.exists() else "not checked", encoding="utf-8")
        return walk_part(cls, folder, top)

    all_intact = OutputCheck.all_intact

    def noted(self: Any) -> bool:
        found: bool = all_intact(self)
        checked.touch()
        return found

    monkeypatch.setattr(ContentListing, "walk_part", classmethod(walk_waiting))
    monkeypatch.setattr(OutputCheck, "all_intact", noted)
    pelican = network.build(BUILD_PROCESSES=2)
    assert not hasattr(pelican, "_writer")  # nothing new: stopped before the generators
    assert seen.read_text(encoding="utf-8") == "checked"


def test_a_publish_that_walks_everything_itself_builds_the_same_site(
        network: Network, tmp_path: Path) -> None:
    """INCREMENTAL_WALK_APART = "": no folder is walked by another process."""
    network.overrides["INCREMENTAL_WALK_APART"] = ""
    network.build(BUILD_PROCESSES=2)  # other settings: a full build
    before = tree(network.output)
    update = add_update(network.site, SPEC, comments=2)
    pelican = network.build(BUILD_PROCESSES=2)
    assert pelican._ahead is None
    after = tree(network.output)
    assert any(update.new_post_slug in path for path in changed(before, after))
    assert after == tree(network.full_build(tmp_path / "full", BUILD_PROCESSES=2))


def test_a_publish_whose_other_process_fails_still_builds_the_site(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """If the publish's other processes (ahead.py) fail, this one walks the posts and the
    comments, compares their folders and checks the output itself, says so, and writes the
    same site."""
    parent = os.getpid()

    def failing_over_there(walk: Any) -> Any:
        def fails_over_there(cls: Any, folder: Any, top: str) -> Any:
            if os.getpid() != parent:
                raise OSError("disk on fire")
            return walk(cls, folder, top)

        return classmethod(fails_over_there)

    for name in ("walk_part", "walk_rest"):
        monkeypatch.setattr(ContentListing, name,
                            failing_over_there(getattr(ContentListing, name).__func__))
    add_update(network.site, SPEC, comments=2)
    pages = sorted(network.output.glob("*/*/*/index.html"))
    pages[1].unlink()
    with caplog.at_level(logging.WARNING):
        network.build(BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=1)
    assert f"{network.site.content}/comments not walked in another process, walked now" \
        in caplog.text
    assert f"{network.site.content} not walked in another process, walked now" in caplog.text
    assert "comment folders not compared ahead, compared now" in caplog.text
    assert "output check in another process failed, done here" in caplog.text
    assert "disk on fire" in caplog.text
    assert pages[1].is_file()
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_publish_writes_the_feeds_and_topics_in_another_process(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """With two processes, a publish writes the articles' feeds and topic pages in a forked
    process while it writes the other pages itself: the feeds and topics that show the new
    post are written there, and the site is what a full build writes. The output check of
    the publish's first other process (ahead.py) answers late here, after the articles are
    grouped: the forked process must not be the one that reads that answer."""
    from plugins.incremental.outputs import OutputCheck

    parent, calls = os.getpid(), tmp_path / "calls"
    find_damaged = OutputCheck._find_damaged

    def slowly(self: Any) -> Any:
        time.sleep(1.5)
        return find_damaged(self)

    monkeypatch.setattr(OutputCheck, "_find_damaged", slowly)

    def noting(name: str) -> None:
        original = getattr(IncrementalWriter, name)

        def noted(self: Any, *args: Any, **kwargs: Any) -> Any:
            what = {"write_feed": 2, "_write_pages": 0}.get(name)  # the file's argument
            with calls.open("a", encoding="utf-8") as handle:
                handle.write(f"{name} {os.getpid()} {args[what] if what is not None else '-'}\n")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(IncrementalWriter, name, noted)

    for name in ("write_feed", "_write_pages", "carry_articles"):
        noting(name)
    walk_rest = ContentListing.walk_rest.__func__  # type: ignore[attr-defined]

    def walk_noted(cls: Any, folder: Any, apart: Any) -> Any:
        with calls.open("a", encoding="utf-8") as handle:
            handle.write(f"walk_rest {os.getpid()} {apart}\n")
        return walk_rest(cls, folder, apart)

    monkeypatch.setattr(ContentListing, "walk_rest", classmethod(walk_noted))
    before = tree(network.output)
    update = add_update(network.site, SPEC, comments=2)
    with caplog.at_level(logging.WARNING):
        pelican = network.build(BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=1)
    assert "process" not in caplog.text  # nothing done here instead
    noted = [line.split(" ", 2) for line in calls.read_text(encoding="utf-8").splitlines()]
    apart = {(name, what.split("/")[0]) for name, pid, what in noted if int(pid) != parent}
    here = {(name, what.split("/")[0]) for name, pid, what in noted if int(pid) == parent}
    # feeds and the topics' lists there; article pages, the direct templates (the home page,
    # the archives…), the sectors' and members' lists here
    assert ("write_feed", "feeds") in apart
    assert {what for name, what in apart if name == "_write_pages"} == {"tags"}
    assert ("walk_rest", "comments") in apart  # the posts, walked as the build started
    assert {name for name, _what in here} == {"carry_articles", "_write_pages"}
    assert {("_write_pages", "index.html"), ("_write_pages", "sectors"),
            ("_write_pages", "members")} <= here
    assert any(what == "feeds/all.atom.xml" for _name, _pid, what in noted)
    after = tree(network.output)
    assert {"feeds/all.atom.xml", "feeds/all.rss.xml", "index.html"} <= changed(before, after)
    assert update.new_post_slug in (network.output / "feeds/all.atom.xml").read_text(
        encoding="utf-8")
    log = pelican._writer.log.pages  # merged into this build's log
    assert {"feeds/all.atom.xml", "index.html", "archives/index.html"} <= set(log)
    assert after == tree(network.full_build(tmp_path / "full"))


def test_feeds_and_topics_whose_process_fails_are_written_here(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """If the process writing the feeds and topics fails, the publish says so, writes them
    itself, and the site is what a full build writes."""
    parent = os.getpid()
    write_feed = IncrementalWriter.write_feed

    def fails_over_there(self: Any, *args: Any, **kwargs: Any) -> Any:
        if os.getpid() != parent:
            raise OSError("feed disk on fire")
        return write_feed(self, *args, **kwargs)

    monkeypatch.setattr(IncrementalWriter, "write_feed", fails_over_there)
    update = add_update(network.site, SPEC, comments=2)
    with caplog.at_level(logging.WARNING):
        network.build(BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=1)
    assert "feeds and topics not written in another process, written here" in caplog.text
    assert "feed disk on fire" in caplog.text
    assert update.new_post_slug in (network.output / "feeds/all.atom.xml").read_text(
        encoding="utf-8")
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_publish_that_fails_waits_for_its_other_process(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish that fails after handing the feeds to another process waits for that
    process (and removes its files) before it reports the failure; the next build is full."""
    closed: list[bool] = []
    close = render_module.Background.close
    monkeypatch.setattr(render_module.Background, "close", lambda self: (
        closed.append(self._done), close(self))[1])

    def broken(self: Any, write: Any) -> None:
        raise RuntimeError("article pages on fire")

    add_update(network.site, SPEC, comments=1)
    with monkeypatch.context() as patch:
        patch.setattr(NetworkArticlesGenerator, "generate_articles", broken)
        with pytest.raises(RuntimeError, match="article pages on fire"):
            network.build(BUILD_PROCESSES=2, BUILD_PROCESS_MIN_PAGES=1)
    assert False in closed  # a job nobody collected, waited for
    assert not (network.cache / MANIFEST_FILE).exists()
    pelican = network.build()
    assert pelican._writer.log.skipped == 0


def test_group_pages_are_rendered_only_when_what_they_show_changed(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Organisation and region pages show their members and latest posts: a publish renders
    those where either changed (the new post's, the commented post's), leaves the others as
    they are, and writes what a full build writes."""
    rendered: list[str] = []
    render_page = render_module.render_page
    monkeypatch.setattr(render_module, "render_page", lambda output, job: (
        rendered.append(job.name), render_page(output, job))[1])
    groups = {str(p.relative_to(network.output)) for folder in ("organisations", "regions")
              for p in (network.output / folder).glob("*/index.html")}
    assert len(groups) > 3
    update = add_update(network.site, SPEC, comments=1)
    network.build(BUILD_PROCESSES=1)
    again = {name for name in rendered if name in groups}
    assert again and again < groups  # some, not all
    for name in again:
        text = (network.output / name).read_text(encoding="utf-8")
        assert update.new_post_slug in text or update.commented_post_slug in text, name
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))
    rendered.clear()
    network.build(BUILD_PROCESSES=1,  # a new day: "quiet for a year" may change
                  NETWORK_TODAY=datetime(2031, 1, 1, tzinfo=UTC))
    assert {name for name in rendered if name in groups} == groups


def test_a_publish_runs_no_collection_and_leaves_the_collector_as_it_found_it(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from pelican import signals

    phase: list[str] = ["before"]  # where the build is: before, reading, read, done
    collections: list[str] = []

    def callback(stage: str, info: Any) -> None:
        if stage == "start":
            collections.append(phase[-1])

    def mark(name: str) -> Any:
        return lambda *args, **kwargs: phase.append(name)

    marks = {signals.article_generator_init: mark("reading"),
             signals.article_generator_pretaxonomy: mark("read"),
             signals.finalized: mark("done")}
    for signal, receiver in marks.items():
        signal.connect(receiver)
    add_update(network.site, SPEC, comments=1)
    gc.callbacks.append(callback)
    try:
        network.build()
    finally:
        gc.callbacks.remove(callback)
        for signal, receiver in marks.items():
            signal.disconnect(receiver)
    assert phase[-1] == "done", phase
    assert not [where for where in collections if where in ("reading", "read")], collections
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_an_output_check_in_another_process_finds_what_a_check_here_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.incremental.outputs import OutputCheck
    from plugins.incremental.render import Background

    (tmp_path / "sub").mkdir()
    for name in ("same.html", "edited.html", "gone.html", "sub/same.html"):
        (tmp_path / name).write_text("abc", encoding="utf-8")
    pages = {name: ["key", 3] for name in ("same.html", "edited.html", "gone.html",
                                           "sub/same.html", "never.html")}
    (tmp_path / "edited.html").write_text("abcd", encoding="utf-8")
    (tmp_path / "gone.html").unlink()
    here = {name: OutputCheck(tmp_path, pages).intact(name) for name in [*pages, "other"]}
    assert here == {"same.html": True, "edited.html": False, "gone.html": False,
                    "sub/same.html": True, "never.html": False, "other": False}

    ahead = OutputCheck(tmp_path, pages)
    ahead.in_background(Background)
    stats: list[str] = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: (stats.append(str(path)),
                                                            real_stat(path, *a, **k))[1])
    assert {name: ahead.intact(name) for name in [*pages, "other"]} == here
    assert not [p for p in stats if p.startswith(str(tmp_path))]  # all looked at over there

    class Failed:
        def result(self) -> Any:
            raise RuntimeError("the process died")

    fallback = OutputCheck(tmp_path, pages)
    fallback.in_background(lambda work: Failed())
    assert {name: fallback.intact(name) for name in [*pages, "other"]} == here

    class NotWaitedFor:  # the other process checks last; a build with nothing new looks here
        def result(self) -> Any:
            raise AssertionError("all_intact waited for the other process")

    for kept, intact in ((pages, False), ({"same.html": ["key", 3],
                                           "sub/same.html": ["key", 3]}, True)):
        nothing_new = OutputCheck(tmp_path, kept)
        nothing_new.in_background(lambda work: NotWaitedFor())
        assert nothing_new.all_intact() is intact
        assert {name: nothing_new.intact(name) for name in kept} == \
            {name: here[name] for name in kept}


def test_the_sitemap_lists_every_page_the_build_wrote(network: Network) -> None:
    """From the writer's record of an incremental build: the same list a walk of the output
    folder gives."""
    add_update(network.site, SPEC, comments=1)
    network.build()
    sitemap = (network.output / "sitemap.xml").read_text(encoding="utf-8")
    listed = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    walked = sys.modules["sitemap"].page_urls(network.output, "https://example.org")
    assert listed == walked and len(listed) > SPEC.posts


def test_the_command_line_builds_and_reports_failure(network: Network, tmp_path: Path) -> None:
    """`python -m plugins.incremental` (make html, aggregator publish): Pelican's command line,
    ended without a teardown; the same site, and Pelican's exit status."""
    settings = network.settings()
    command = [sys.executable, "-m", "plugins.incremental", str(network.site.content), "-o",
               str(tmp_path / "cli"), "-s", str(ROOT / "publishconf.py"), "--cache-path",
               str(tmp_path / "cli-cache"), "--fatal", "errors", "-e",
               f"MEMBERS_FILE={json.dumps(settings['MEMBERS_FILE'])}",
               f"AGGREGATOR_STATE={json.dumps(settings['AGGREGATOR_STATE'])}",
               "AVATARS_FETCH=false", f"DEFAULT_PAGINATION={PER_PAGE}",
               'FEED_DOMAIN="https://example.org"']
    env = {**os.environ, "SITEURL": "https://example.org", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert tree(tmp_path / "cli") == tree(network.output)
    failed = subprocess.run([*command[:-2], "-s", str(tmp_path / "missing.py")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode != 0


def test_get_files_from_the_listing_follows_pelicans_rules(tmp_path: Path) -> None:
    """Excluded folders, IGNORE_FILES and reader extensions, as Pelican's own walk applies
    them; a tree with a symbolic link is walked by Pelican itself."""
    content = tmp_path / "content"
    for rel in ("posts/a.md", "posts/2026/b.md", "posts/2026/.#c.md", "posts/notes.txt",
                "posts/drafts/d.md", "posts/x/drafts/e.md", "comments/p/1.md", "pages/p.md"):
        (content / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).write_text("Title: x\nDate: 2026-01-01\n\nx\n", encoding="utf-8")
    settings = read_settings(None, override={"PATH": str(content),
                                             "IGNORE_FILES": [".#*", "x"]})
    listing = ContentListing.scan(content)
    settings[LISTING_KEY] = listing

    def files(**extra: Any) -> tuple[set[str], set[str]]:
        ours = NetworkArticlesGenerator(context=settings.copy(), settings=settings,
                                        path=str(content), theme=settings["THEME"],
                                        output_path=str(tmp_path / "out"))
        stock = ArticlesGenerator(context=settings.copy(), settings=settings, path=str(content),
                                  theme=settings["THEME"], output_path=str(tmp_path / "out"))
        args = (["posts", "pages"], ["comments", "posts/drafts"])
        return ours.get_files(*args, **extra), stock.get_files(*args, **extra)

    ours, stock = files()
    assert ours == stock == {os.path.join("posts", "a.md"), os.path.join("posts", "2026", "b.md"),
                             os.path.join("pages", "p.md")}
    assert files(extensions=False)[0] == files(extensions=False)[1]
    ours_txt, stock_txt = files(extensions=["txt"])
    assert ours_txt == stock_txt == {os.path.join("posts", "notes.txt")}
    one = NetworkArticlesGenerator(context=settings.copy(), settings=settings, path=str(content),
                                   theme=settings["THEME"], output_path=str(tmp_path / "out"))
    args = (["posts", "pages"], ["comments", "posts/drafts"])
    assert one.get_files(*args) == ours  # asked twice, with other extensions in between
    assert one.get_files(*args, extensions=["txt"]) == ours_txt
    assert one.get_files(*args) == ours
    (content / "posts" / "link").symlink_to(content / "pages")
    listing = settings[LISTING_KEY] = ContentListing.scan(content)
    assert listing.has_links and listing.files_under(["posts"]) is None
    ours, stock = files()
    assert ours == stock and os.path.join("posts", "link", "p.md") in ours


def test_a_publish_uses_the_templates_compiled_before(network: Network,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates are kept in CACHE_PATH (Jinja checks each against its source): the
    next build compiles none of the theme's templates."""
    assert any((network.cache / "templates").iterdir())
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: Any, source: Any, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(name))
        return original(self, source, name, *args, **kwargs)

    add_update(network.site, SPEC, comments=1)
    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    pelican = network.build(BUILD_PROCESSES=1)
    assert pelican._writer.log.rendered > 10 and compiled == []


# --- carrying pages over unkeyed (changes.py) --------------------------------------------------
class Post:
    """What unchanged_posts reads of an article: its page, digests and neighbours."""

    def __init__(self, number: int) -> None:
        self.save_as = f"posts/{number}/index.html"
        self._incremental_own = hashlib.sha256(f"own {number}".encode()).hexdigest()
        self.comments_digest = hashlib.sha256(f"thread {number}".encode()).hexdigest()
        self.newer_article: Post | None = None
        self.older_article: Post | None = None


def test_unchanged_posts_are_those_whose_page_has_the_recorded_signature() -> None:
    """Posts changed, commented, moved between neighbours, new, without a record or a thread
    digest: a page is carried over exactly when `article_signature` is what the last build
    recorded beside it."""
    posts = [Post(n) for n in range(12)]
    for newer, older in zip(posts, posts[1:], strict=False):
        newer.older_article, older.newer_article = older, newer
    previous = {p.save_as: ["key", 10, article_signature(p)] for p in posts}
    posts[2]._incremental_own = "changed" * 8  # its page, and its neighbours', change
    posts[5].comments_digest = "new thread" * 7  # its page only
    posts[8].comments_digest = ""  # not known: keyed
    del previous[posts[10].save_as]  # no record
    previous[posts[11].save_as][2] = "short"  # not a signature
    rel = str
    same_own, same, pages = unchanged_posts(posts, previous, rel)
    expected = {id(p) for p in posts if p.save_as in previous
                and article_signature(p) == previous[p.save_as][2]}
    assert set(pages) == expected
    assert {posts.index(p) for p in posts if id(p) in pages} == {0, 4, 6, 7, 9}
    assert all(pages[id(p)] == (p.save_as, previous[p.save_as]) for p in posts
               if id(p) in pages)
    assert {posts.index(p) for p in posts if id(p) in same_own} == \
        {0, 1, 3, 4, 5, 6, 7, 8, 9}
    assert {posts.index(p) for p in posts if id(p) in same} == {0, 1, 3, 4, 6, 7, 9}


@dataclass
class Dated:
    date: int


def _plan(items: list[Dated], old_count: Any, *, changed: tuple[int, ...] = (),
          commented: tuple[int, ...] = (), lost: list[Any] | None = None,
          new_day: bool = False) -> set[int | None] | None:
    per_page = 3
    archive = max(0, (len(items) - per_page) // per_page)
    same_own = {id(a) for i, a in enumerate(items) if i not in changed}
    same = {id(a) for i, a in enumerate(items) if i not in changed and i not in commented}
    return dirty_pages(items, per_page, archive, old_count, (same_own, same),
                       [] if lost is None else lost, new_day)


def test_a_list_that_did_not_change_keys_no_page() -> None:
    items = [Dated(d) for d in range(20)]  # pages 1-5 hold 0-14, the first page 15-19
    assert _plan(items, 20) == set()
    assert _plan(items, 20, new_day=True) == {None}  # first pages show the date
    assert _plan(items, None) is None  # nothing recorded: every page is keyed


def test_a_new_post_keys_the_pages_from_where_it_stands() -> None:
    items = [Dated(d) for d in range(22)]  # pages 1-6, the first page 4 posts
    assert _plan(items, 21, changed=(21,)) == {None}  # the newest: the first page alone
    assert _plan(items, 21, changed=(7,)) == {None, 3, 4, 5, 6}  # in the middle: from its page
    items = [Dated(d) for d in range(18)]  # page 5 is new (keyed: nothing recorded for it),
    assert _plan(items, 17, changed=(17,)) == {None, 4}  # page 4's "newer" link changed


def test_comments_alone_key_the_one_page_that_shows_the_post() -> None:
    items = [Dated(d) for d in range(20)]
    assert _plan(items, 20, commented=(4,)) == {None, 2}


def test_a_lost_post_keys_the_pages_from_its_date_or_all_if_unknown() -> None:
    items = [Dated(d) for d in range(19)]  # one of 20 went (its date was 9)
    assert _plan(items, 20, lost=[9]) == {None, 4, 5}
    assert dirty_pages(items, 3, 5, 20, ({id(a) for a in items},) * 2, None, False) \
        == {None, 1, 2, 3, 4, 5}
    shuffled = [items[1], items[0], *items[2:]]  # not in date order: positions say nothing
    assert dirty_pages(shuffled, 3, 5, 20, ({id(a) for a in items},) * 2, [9], False) is None


def _write_post(network: Network, source: Path, slug: str, **changes: str) -> Path:
    """A copy of `source` under a new slug, with the given headers replaced."""
    text = source.read_text(encoding="utf-8")
    changes = {"Slug": slug, "Guid": f"urn:test:{slug}", **changes}
    for header, value in changes.items():
        text = re.sub(rf"^{header}: .*$", f"{header}: {value}", text, count=1, flags=re.M)
    path = source.with_name(f"{slug}.md")
    path.write_text(text, encoding="utf-8")
    return path


def test_publishes_that_move_posts_around_build_as_from_scratch(
        network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Carried-over pages (not keyed) must be exactly what a full build writes, whatever
    moved: a post dated in the middle of the archive, a post moved to another tag and date,
    comments alone on an old post, a post taken down, one made a draft."""
    keyed: list[str] = []
    page_key = IncrementalWriter._page_key
    article_key = IncrementalWriter._article_key

    def counting_page(self: Any, name: Any, *args: Any) -> Any:
        keyed.append(str(name))
        return page_key(self, name, *args)

    def counting_article(self: Any, name: Any, *args: Any) -> Any:
        keyed.append(str(name))
        return article_key(self, name, *args)

    monkeypatch.setattr(IncrementalWriter, "_page_key", counting_page)
    monkeypatch.setattr(IncrementalWriter, "_article_key", counting_article)
    posts = sorted((network.site.content / "posts").rglob("*.md"),
                   key=lambda p: re.search(r"^Date: (.*)$", p.read_text(encoding="utf-8"),
                                           re.M).group(1))  # type: ignore[union-attr]
    middle = posts[len(posts) // 2]
    comment_folders = sorted((network.site.content / "comments").iterdir())
    steps: list[tuple[str, Any]] = [
        ("a post dated in the middle of the archive",
         lambda: _write_post(network, middle, "a-post-from-the-past",
                             Title="A post from the past")),
        ("a post moved to another tag and date",
         lambda: _write_post(network, posts[5], posts[5].stem, Tags="a brand new topic",
                             Date="2019-01-02 10:00:00+00:00")),
        ("comments alone on an old post",
         lambda: shutil.copy(next(comment_folders[0].glob("*.md")),
                             comment_folders[0] / "999-a-reply.md")),
        ("an old post taken down", lambda: posts[2].unlink()),
        ("a post made a draft",
         lambda: _write_post(network, posts[8], posts[8].stem, Status="draft")),
    ]
    total_pages = len(tree(network.output))
    for what, change in steps:
        change()
        keyed.clear()
        network.build()
        assert 0 < len(keyed) < total_pages // 4, (what, len(keyed), total_pages)
        assert tree(network.output) == tree(network.full_build(tmp_path / "full")), what

    # a publish with one new post keys the pages near it, not the archive
    keyed.clear()
    _write_post(network, posts[-1], "the-newest-post", Title="The newest post",
                Date="2030-01-01 09:00:00+00:00")
    network.build()
    article_pages = [name for name in keyed if re.fullmatch(r"\d{4}/\d{2}/[^/]+/index\.html",
                                                            name)]
    assert len(article_pages) == 2, article_pages  # the new post and its older neighbour
    assert not [name for name in keyed if "/page/" in name]  # no numbered page
    assert tree(network.output) == tree(network.full_build(tmp_path / "full"))


def test_a_build_logs_where_its_time_went(network: Network, caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Pelican drops a log line identical to one seen before in the process (LimitFilter)
    monkeypatch.setattr(LimitFilter, "_raised_messages", set())
    add_update(network.site, SPEC, comments=1)
    with caplog.at_level(logging.INFO, logger="plugins.incremental.build"):
        pelican = network.build()
    line = next(r.getMessage() for r in caplog.records if "Build stages" in r.getMessage())
    stages = re.findall(r"([a-z][a-z ,]*?|\d+ pages rendered) (\d+\.\d\d)",
                        line.split(";")[0])
    names = [name.strip(", ") for name, _ in stages]
    assert names == ["walk", "posts read", "grouped, threads attached", "other contexts",
                     "output keyed or carried", f"{pelican._writer.log.rendered} pages rendered",
                     "saved"], line
    total = float(re.search(r"total (\d+\.\d\d) s", line).group(1))  # type: ignore[union-attr]
    assert abs(sum(float(spent) for _, spent in stages) - total) < 0.05
