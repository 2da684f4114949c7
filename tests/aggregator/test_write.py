"""Post files: the metadata Pelican reads back is exactly what we meant, whatever the feed says."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.entries import build_post
from aggregator.models import Member, ParsedFeed, RawEntry
from aggregator.write import KEYS, PostIndex, render_post

ROOT = Path(__file__).resolve().parents[2]
MEMBER = Member("ann", "Ann Example", "https://ann.example/feed/")
FEED = ParsedFeed(title="Ann's blog", link="https://ann.example/", generator=None, entries=())
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def reader() -> object:
    from pelican.readers import MarkdownReader
    from pelican.settings import read_settings

    return MarkdownReader(read_settings(str(ROOT / "pelicanconf.py")))


def visible(text: str) -> str:
    """What a reader should see of a plain-text title: one line, spaces collapsed."""
    cleaned = "".join(" " if (ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029\ufeff")
                      else c for c in text)
    return " ".join(cleaned.split())


titles = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=120)
tag_lists = st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1,
                             max_size=30), max_size=6)
dates = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2026, 5, 31),
                     timezones=st.just(UTC))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=titles, tags=tag_lists, date=dates)
def test_title_date_tags_survive_the_trip_through_pelican(tmp_path: Path, reader: object,
                                                         title: str, tags: list[str],
                                                         date: datetime) -> None:
    entry = RawEntry(id="urn:x", link="https://ann.example/p/", title=html.escape(title),
                     published=date, updated=None, author=None, summary_html="<p>Body</p>",
                     content_html=None, tags=tuple(tags))
    post = build_post(entry, member=MEMBER, feed=FEED, feed_url=MEMBER.feed, now=NOW)
    if visible(title):
        assert post.title == visible(title)[:300] or post.title.endswith("…")
    path = tmp_path / "p.md"
    path.write_text(render_post(post, slug="ann-p", content_mode="summary"))
    _content, meta = reader.read(str(path))  # type: ignore[attr-defined]
    assert set(meta) <= {k.lower() for k in KEYS}
    assert meta["title"] == post.title
    assert meta["date"] == date.replace(microsecond=0)
    assert [str(t) for t in meta.get("tags", [])] == list(post.tags)
    for tag in post.tags:
        assert "," not in tag and tag == tag.strip()
    assert meta["slug"] == "ann-p" and meta["member"] == "ann"


def test_restamped_updated_moves_modified_never_date() -> None:
    published = datetime(2020, 1, 1, tzinfo=UTC)
    entry = RawEntry(id="x", link=None, title="T", published=published,
                     updated=NOW - timedelta(days=1), author="Ann Example", summary_html="b",
                     content_html=None)
    post = build_post(entry, member=MEMBER, feed=FEED, feed_url=MEMBER.feed, now=NOW)
    assert post.date == published and post.modified == NOW - timedelta(days=1)
    assert post.byline is None  # the author is the member


def test_an_untitled_post_takes_its_first_words_a_heading_included() -> None:
    # the summary is the leading prose (no heading); the missing title is the first words
    entry = RawEntry(id="x", link=None, title=None, published=NOW, updated=None, author=None,
                     summary_html=None,
                     content_html="<h2>Bins on Tuesday</h2><p>Collections move this week.</p>")
    post = build_post(entry, member=MEMBER, feed=FEED, feed_url=MEMBER.feed, now=NOW)
    assert post.title.startswith("Bins on Tuesday")
    assert post.summary == "Collections move this week."


def test_slugs_are_unique_and_stable(tmp_path: Path) -> None:
    index = PostIndex(tmp_path)
    first = RawEntry(id="a", link=None, title="Same title", published=NOW, updated=None,
                     author=None, summary_html="x", content_html=None)
    second = RawEntry(id="b", link=None, title="Same title", published=NOW, updated=None,
                      author=None, summary_html="y", content_html=None)
    post_a = build_post(first, member=MEMBER, feed=FEED, feed_url=MEMBER.feed, now=NOW)
    post_b = build_post(second, member=MEMBER, feed=FEED, feed_url=MEMBER.feed, now=NOW)
    slug_a, path_a = index.assign(post_a)
    slug_b, path_b = index.assign(post_b)
    assert slug_a == "ann-same-title" and path_a == tmp_path / "ann/2026/same-title.md"
    assert slug_b.startswith("ann-same-title-") and slug_b != slug_a and path_b != path_a
    assert index.assign(post_b)[0] == slug_b
