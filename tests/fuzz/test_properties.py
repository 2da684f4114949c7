"""Property tests: any input gives valid post files or a clear AggregatorError, never unsafe HTML.

Feed-to-Markdown: arbitrary bytes, XML-ish text and feed-shaped documents (RSS, Atom, JSON Feed)
with random and hostile fields go through the whole entry conversion (tests/fuzz/conversion.py),
then through Pelican's own Markdown reader with our settings and the sanitize plugin's second
pass, and the page HTML is scanned like the built site (tests/security/scan.py). The thread
builder: any set of comments gives a forest holding each comment once, replies under their
parents, the same whatever the input order.
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.clean import sanitize_html
from aggregator.comments import Comment
from aggregator.errors import AggregatorError
from aggregator.threads import build_threads, parent_map, walk
from tests.fuzz.conversion import check_file, convert
from tests.security import payloads
from tests.security.scan import scan_html

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

hostile = st.sampled_from([*payloads.HTML_PAYLOADS, *payloads.BAD_URLS,
                           *payloads.TEXT_PAYLOADS, payloads.META_TITLE,
                           payloads.TEMPLATE_TEXT, "\x00", "\u2028", "\ufeff", "]]>", "&amp;",
                           "&#0;", "&#xD800;", "\r\n\r\n", "Title: x\n\nBody"])
text = st.one_of(st.text(max_size=80), hostile,
                 st.lists(st.one_of(st.text(max_size=20), hostile), max_size=4).map("".join))


@pytest.fixture(scope="module")
def reader():  # type: ignore[no-untyped-def]
    """Pelican's Markdown reader with the project's settings, and a file to read."""
    from pelican.readers import MarkdownReader
    from pelican.settings import read_settings

    folder = tempfile.TemporaryDirectory()
    markdown = MarkdownReader(read_settings(str(ROOT / "pelicanconf.py")))
    path = Path(folder.name) / "post.md"

    def read(source: str) -> tuple[str, dict[str, object]]:
        path.write_text(source, encoding="utf-8")
        return markdown.read(str(path))

    yield read
    folder.cleanup()


def check_body(body: bytes, content_type: str, read) -> None:  # type: ignore[no-untyped-def]
    """The property: valid files or an AggregatorError; safe HTML once Pelican renders it."""
    for full in (True, False):
        try:
            files = convert(body, content_type, full=full)
        except AggregatorError:
            return
        for path, source in files:
            check_file(path, source)
            html, meta = read(source)
            assert "save_as" not in meta and "template" not in meta and "status" not in meta
            original = meta.get("original_url")
            page = sanitize_html(html, base_url=original if isinstance(original, str) else None)
            assert scan_html(page, str(path)) == []
            assert scan_html(html, f"{path} before the site's sanitize pass") == []


@FAST
@given(body=st.binary(max_size=3000),
       content_type=st.sampled_from(["application/rss+xml", "application/feed+json",
                                     "text/html", ""]))
def test_arbitrary_bytes(reader, body: bytes, content_type: str) -> None:  # type: ignore[no-untyped-def]
    check_body(body, content_type, reader)


xmlish = st.lists(st.sampled_from(list("<>/=\"'&;!?[]-# \nabcdeimnprstx:")
                                  + ["<item>", "</item>", "<title>", "<entry>", "<![CDATA[",
                                     "<rss version=\"2.0\">", "<channel>", "<description>",
                                     "&lt;", "&#106;", "<script>", "javascript:", "<a href="]),
                  max_size=120).map("".join)


@FAST
@given(middle=xmlish, wrap=st.booleans())
def test_xml_ish_text(reader, middle: str, wrap: bool) -> None:  # type: ignore[no-untyped-def]
    doc = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>{middle}'
           f"</item></channel></rss>") if wrap else middle
    check_body(doc.encode("utf-8", "surrogatepass"), "application/rss+xml", reader)


def _xml(value: str, twice: bool) -> str:
    value = "".join(c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff"
                    or "\ue000" <= c <= "\ufffd")
    return escape(escape(value)) if twice else escape(value)


entry_fields = st.fixed_dictionaries({
    "title": text, "link": text, "guid": text, "body": text, "summary": text, "author": text,
    "tags": st.lists(text, max_size=3), "date": st.sampled_from(
        ["Mon, 02 Mar 2026 10:00:00 +0000", "2026-03-02T10:00:00Z", "", "garbage",
         "0000-00-00", "Mon, 02 Mar 2999 10:00:00 +0000"]),
    "twice": st.booleans(),
})


def rss_doc(entries: list[dict[str, object]]) -> bytes:
    items = "".join(
        f"<item><title>{_xml(e['title'], e['twice'])}</title><link>{_xml(e['link'], False)}"
        f"</link><guid>{_xml(e['guid'], False)}</guid><pubDate>{e['date']}</pubDate>"
        f"<dc:creator>{_xml(e['author'], e['twice'])}</dc:creator>"
        + "".join(f"<category>{_xml(t, False)}</category>" for t in e["tags"])
        + f"<description>{_xml(e['summary'], False)}</description>"
        f"<content:encoded>{_xml(e['body'], False)}</content:encoded></item>"
        for e in entries)
    return (f'<?xml version="1.0"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>b</title>'
            f"{items}</channel></rss>").encode()


def atom_doc(entries: list[dict[str, object]]) -> bytes:
    parts = "".join(
        f"<entry><id>{_xml(e['guid'], False)}</id>"
        f"<title type=\"html\">{_xml(e['title'], e['twice'])}</title>"
        f"<link href=\"{_xml(e['link'], False)}\"/><updated>{e['date']}</updated>"
        f"<author><name>{_xml(e['author'], False)}</name><email>x@example.org</email></author>"
        + "".join(f"<category term=\"{_xml(t, False)}\"/>" for t in e["tags"])
        + f"<summary type=\"html\">{_xml(e['summary'], False)}</summary>"
        f"<content type=\"html\">{_xml(e['body'], False)}</content></entry>"
        for e in entries)
    return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>b</title>'
            f"{parts}</feed>").encode()


def json_doc(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "b", "items": [
        {"id": e["guid"], "url": e["link"], "title": e["title"], "content_html": e["body"],
         "summary": e["summary"], "date_published": e["date"], "tags": e["tags"],
         "authors": [{"name": e["author"]}]} for e in entries]}).encode("utf-8", "surrogatepass")


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entries=st.lists(entry_fields, min_size=1, max_size=4),
       kind=st.sampled_from(["rss", "atom", "json"]))
def test_feed_shaped_documents(reader, entries: list[dict[str, object]],  # type: ignore[no-untyped-def]
                               kind: str) -> None:
    build = {"rss": rss_doc, "atom": atom_doc, "json": json_doc}[kind]
    content_type = {"rss": "application/rss+xml", "atom": "application/atom+xml",
                    "json": "application/feed+json"}[kind]
    check_body(build(entries), content_type, reader)


# --- the thread builder ---------------------------------------------------------------------

ids = st.sampled_from([f"c{i}" for i in range(12)] + ["", " ", "../x", "c1#comment-2"])
comments = st.lists(st.builds(
    lambda cid, parent, minutes, author, body, source: Comment(
        id=cid or "empty", post_guid="post", author=author or "Anonymous", author_url=None,
        date=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes), url=None,
        parent_id=parent, body_html=body, source=source),
    ids, st.one_of(st.none(), ids), st.integers(0, 5), st.sampled_from(["a", "b", ""]),
    st.sampled_from(["<p>x</p>", "<p>y</p>", ""]),
    st.sampled_from(["wp-atom", "wp-rest", "rss", "atom", "blogger"])), max_size=25)


def shape(roots) -> list[object]:  # type: ignore[no-untyped-def]
    """The forest as nested (id, children) tuples."""
    out = []
    stack = [(node, out) for node in reversed(roots)]
    while stack:
        node, into = stack.pop()
        kids: list[object] = []
        into.append((node.comment.id, kids))
        stack.extend((child, kids) for child in reversed(node.children))
    return out


@settings(max_examples=200, deadline=None)
@given(items=comments, seed=st.integers(0, 2**32))
def test_threads_hold_each_comment_once_under_its_parent_in_any_order(
        items: list[Comment], seed: int) -> None:
    roots = build_threads(items)
    nodes = list(walk(roots))
    kept = [n.comment.id for n in nodes]
    assert len(kept) == len(set(kept))  # each comment once
    assert set(kept) <= {c.id for c in items}
    assert {c.id for c in items} <= set(kept) | {c.id for c in items if c.id not in kept}
    parents = parent_map(roots)
    by_id = {n.comment.id: n for n in nodes}
    for node in nodes:
        parent = parents[node.comment.id]
        assert node.depth == (0 if parent is None else by_id[parent].depth + 1)
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    assert shape(build_threads(shuffled)) == shape(roots)  # order of input does not matter


def test_a_100000_deep_reply_chain_builds_without_recursion() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chain = [Comment(id=f"c{i}", post_guid="p", author="a", author_url=None,
                     date=start + timedelta(seconds=i), url=None,
                     parent_id=f"c{i - 1}" if i else None, body_html=f"{i}", source="atom")
             for i in range(100_000)]
    roots = build_threads(reversed(chain))
    assert len(roots) == 1 and max(n.depth for n in walk(roots)) == 99_999
