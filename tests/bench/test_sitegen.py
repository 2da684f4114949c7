"""The build benchmark's synthetic site: our formats exactly, read back as Pelican reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pelican.readers import MarkdownReader
from pelican.settings import DEFAULT_CONFIG, read_settings

from aggregator.members import load_members
from aggregator.write import KEYS, read_metadata
from bench.build_bench import compare_trees, hash_tree
from bench.sitegen import GeneratedSite, SiteSpec, add_update, generate_site
from plugins.comment_threads import CommentThreads, count_comments

ROOT = Path(__file__).resolve().parents[2]
SPEC = SiteSpec(posts=20, members=5, comments_per_post=1.5, seed=7)
REQUIRED = {"title", "date", "author", "category", "slug", "summary", "member", "source_feed",
            "guid", "content_mode"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> GeneratedSite:
    return generate_site(tmp_path_factory.mktemp("bench") / "site", SPEC)


@pytest.fixture(scope="module")
def settings() -> dict[str, object]:
    return read_settings(str(ROOT / "pelicanconf.py"))


def _post_file(site: GeneratedSite, slug: str) -> Path:
    return next(p for p in (site.content / "posts").rglob("*.md")
                if read_metadata(p)["slug"] == slug)


def _body(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("\n\n", 1)[1]


def test_post_files_are_aggregator_post_files(site: GeneratedSite,
                                              settings: dict[str, object]) -> None:
    files = sorted((site.content / "posts").rglob("*.md"))
    assert len(files) == site.posts == 20
    reader = MarkdownReader(settings)
    for path in files:
        meta = read_metadata(path)
        assert REQUIRED <= set(meta) <= {key.lower() for key in KEYS}
        member, year = path.relative_to(site.content / "posts").parts[:2]
        assert meta["member"] == member and meta["slug"].startswith(member + "-")
        html, pelican_meta = reader.read(str(path))
        assert pelican_meta["slug"] == meta["slug"] and str(pelican_meta["date"].year) == year
        assert "<ul>" in html and '<a href="https://' in html and html.count("<p>") >= 6
        assert 3_000 < len(_body(path).encode()) < 8_000  # about 5 KB of Markdown


def test_comment_files_thread_as_the_site_reads_them(site: GeneratedSite) -> None:
    threads = CommentThreads({"PATH": str(site.content)})
    files = list((site.content / "comments").rglob("*.md"))
    assert len(files) == site.comments == 30
    counts = {slug: count_comments(threads.thread(slug)) for slug in site.post_slugs}
    assert sum(counts.values()) == 30  # every file read, none orphaned into another post
    replies = [f for f in files if "\nReplyto: " in f.read_text(encoding="utf-8")]
    assert len(replies) == site.replies == 8  # a quarter of 30, rounded
    assert {f.parent.name for f in files} <= set(site.post_slugs)
    assert not any("@" in f.read_text(encoding="utf-8") for f in files)


def test_registry_and_plain_posts(site: GeneratedSite) -> None:
    members = load_members(site.members_file)
    assert len(members) == 5 and {m.content for m in members} == {"full"}
    plain = sorted(site.plain.rglob("*.md"))
    assert len(plain) == 20
    reader = MarkdownReader(read_settings(override={"PATH": str(site.plain)}))
    for path in plain:
        _, meta = reader.read(str(path))
        assert set(meta) == {"title", "date", "author", "category", "tags", "slug"}
        ours = site.content / "posts" / path.relative_to(site.plain)
        assert _body(path) == _body(ours)  # the same bodies, so the builds compare fairly
    assert DEFAULT_CONFIG["FEED_ALL_ATOM"]  # the reference keeps stock Pelican's feeds on


def test_same_seed_same_bytes_and_update(site: GeneratedSite, tmp_path: Path) -> None:
    again = generate_site(tmp_path / "again", SPEC)
    assert compare_trees(hash_tree(site.root), hash_tree(again.root)).total == 0
    before = hash_tree(again.content)
    newest = _post_file(again, again.post_slugs[-1])
    count = int(read_metadata(newest)["comment_count"])
    update = add_update(again, SPEC)
    diff = compare_trees(before, hash_tree(again.content))
    assert (diff.added, diff.changed, diff.removed) == (4, 1, 0)  # post + 3 comments; 1 count
    assert int(read_metadata(newest)["comment_count"]) == count + 3
    assert update.commented_post_slug == again.post_slugs[-2]
    assert len(list((again.content / "comments" / update.commented_post_slug).glob("*.md"))) \
        == count + 3
