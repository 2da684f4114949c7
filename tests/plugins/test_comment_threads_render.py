"""plugins/comment_threads/render.py: the fast paths write exactly what the slow ones wrote.

- Plain-paragraph bodies skip Markdown: for every body the fast path accepts (generated prose,
  random text, hand-written edge cases) its HTML equals Markdown + sanitize_html, under the
  site's Markdown settings and under `extra`; bodies with Markdown syntax are refused.
- The thread is written in Python instead of a Jinja loop per comment: the theme's
  _comments.html renders byte for byte what its former loop (REFERENCE, below) rendered, on
  generated trees (orphans, deep chains, hostile names, slugs and URLs) and hand-built ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, FileSystemLoader
from pelican.settings import read_settings

from plugins.comment_threads import CommentNode, CommentThreads, comment_events, link_nodes, render
from plugins.comment_threads.render import plain_paragraphs, thread_html
from plugins.theme_helpers.filters import http_url

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "themes" / "network" / "templates"
SITE = read_settings(str(ROOT / "pelicanconf.py"), override={"PATH": str(ROOT)})
MARKDOWN_CONFIGS = {
    "site": SITE["MARKDOWN"],
    "extra": {"extension_configs": {"markdown.extensions.extra": {}}, "output_format": "html5"},
    "xhtml": {"extensions": ["tables", "sane_lists"], "output_format": "xhtml"},
    "pelican": {"extension_configs": {"markdown.extensions.codehilite": {"css_class": "highlight"},
                                      "markdown.extensions.extra": {},
                                      "markdown.extensions.meta": {}}, "output_format": "html5"},
}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CHECK = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

# The loop the theme's _comments.html ran before render.thread_html: the reference output.
REFERENCE = """\
{% set blog_name = article.blog if (article.blog is defined and article.blog) else 'the original blog' %}
{% set join_url = (article.comments_url if article.comments_url is defined else '')|http_url %}
{% set count = article.comment_count|int if article.comment_count is defined else 0 %}
{% if article.comments %}
<section class="comments" id="comments" aria-labelledby="comments-title">
  <h2 id="comments-title">{{ count }} thought{{ '' if count == 1 else 's' }} on “{{ article.title }}”</h2>
  <ol class="comment-list" role="list">
  {% for event in article.comments|comment_events %}
    {% set c = event.node %}
    {% if event.opening %}
    {% set cid = 'comment-' ~ c.slug %}
    {% set author = c.author or 'Anonymous' %}
    <li class="comment depth-{{ event.indent }}" id="{{ cid }}">
      <article class="comment-card" aria-label="Comment by {{ author }}">
        <header class="comment-header">
          <p class="comment-author">{% if c.website|http_url %}<a href="{{ c.website|http_url }}" rel="nofollow ugc">{{ author }}</a>{% else %}{{ author }}{% endif %}</p>
          <p class="meta"><a href="#{{ cid }}">{% if c.date %}<time datetime="{{ c.date.isoformat() }}">{{ c.date.strftime('%-d %B %Y at %H:%M') }}</time>{% else %}Permalink{% endif %}</a></p>
        </header>
        {% if event.depth > 4 and event.parent %}<p class="in-reply-to">In reply to <a href="#comment-{{ event.parent.slug }}">{{ event.parent.author or 'Anonymous' }}</a></p>{% endif %}
        <div class="comment-body">{{ c.body_html|safe }}</div>
      </article>
      {% if c.children %}<ol class="replies" role="list">{% endif %}
    {% else %}
      {% if c.children %}</ol>{% endif %}
    </li>
    {% endif %}
  {% endfor %}
  </ol>
  {% if join_url %}<p class="comment-join"><a href="{{ join_url }}">Join the conversation on {{ blog_name }}</a></p>{% endif %}
</section>
{% elif join_url %}
<p class="comments-elsewhere" id="comments"><a href="{{ join_url }}">{% if count %}{{ count }} comment{{ '' if count == 1 else 's' }} on {{ blog_name }}: join the conversation{% else %}Comment on {{ blog_name }}{% endif %}</a></p>
{% endif %}
"""  # noqa: E501 - the template's lines as they were


# --- Bodies ----------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=sorted(MARKDOWN_CONFIGS))
def renderers(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[CommentThreads, CommentThreads]:
    """(fast, slow) renderers with the same Markdown settings."""
    config = {"PATH": str(tmp_path_factory.mktemp("site")),
              "MARKDOWN": MARKDOWN_CONFIGS[request.param]}
    fast, reference = CommentThreads(config), CommentThreads(config)
    assert fast._plain, "these extensions let plain prose skip Markdown"
    reference._plain = False
    return fast, reference


WORD = st.text(st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ".,;:'\"?-/@%$+’“”—–…éçßøΩЖ中文😀"), min_size=1, max_size=12)
LINE = st.lists(WORD, min_size=1, max_size=12).map(" ".join)
PARAGRAPH = st.lists(LINE, min_size=1, max_size=4).map("\n".join)
BODY = st.builds(lambda head, paragraphs, seps, tail: head + "".join(
    p + s for p, s in zip(paragraphs, seps, strict=False)) + tail,
    st.sampled_from(["", "\n", "\n\n"]), st.lists(PARAGRAPH, min_size=1, max_size=5),
    st.lists(st.sampled_from(["\n\n", "\n\n\n", "\n\n\n\n"]), min_size=5, max_size=5),
    st.sampled_from(["", "\n", "\n\n"]))


@CHECK
@given(body=BODY)
@example(body="Hello.\n\n\n\nBye.\n")
@example(body="\n\nA first line\nand its continuation.\n\nTwo: paragraphs.")
@example(body="2026 was a good year; 5% more -- see https://council.example/page?x")
@example(body="It's “quoted” — and ‘single’ quotes, emoji 😀, Ωmega, 中文.")
@example(body="A line with  two spaces inside it.")
def test_plain_prose_renders_as_markdown_and_the_sanitizer_would(
        renderers: tuple[CommentThreads, CommentThreads], body: str) -> None:
    fast, reference = renderers
    html = plain_paragraphs(body)
    assume(html is not None)
    assert html == fast.render(body) == reference.render(body)


SYNTAX = "ab1 .\n\t*_`[]()<>&#!|~=\\-+:^{}'\"\u00a0\u2003\u2028\x00\x02"


@CHECK
@given(body=st.one_of(st.text(max_size=200), st.text(SYNTAX, max_size=40)))
@example(body="an *emphasis* inside")
def test_any_text_the_fast_path_accepts_renders_the_same(
        renderers: tuple[CommentThreads, CommentThreads], body: str) -> None:
    fast, reference = renderers
    assert fast.render(body) == reference.render(body)


@pytest.mark.parametrize("body", [
    "*emphasis*", "an *emphasis* inside", "_under_", "an _under_ word", "a `code` span",
    "a [link](https://x.example/)", "<b>tag</b>",
    "R&D", "&amp;", "# Heading", "![img](x.png)", "a | b\n--|--\n1 | 2", "~~~\ncode\n~~~",
    "a = b", "back\\slash", "- item", "+ item", "* item", "1. item", "12) item", "> quote",
    "Term\n: definition", "Title\n---", "Title\n===", "---", "    indented code",
    "\tTabbed", "hard  \nbreak", "trailing space ", " leading space", "no\u00a0break",
    "line\u2028separator", "soft\u00adhyphen", "bom\ufeff", "ctrl\x07char", "\x02stash\x03",
    "footnote[^1]", "{: .class}", "", "\n\n", "a\n \nb", "wide\u3000space",
])
def test_markdown_syntax_takes_the_slow_path(body: str) -> None:
    assert plain_paragraphs(body) is None


def test_other_extensions_turn_the_fast_path_off(tmp_path: Path) -> None:
    smarty = CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {
        "extensions": ["markdown.extensions.smarty"], "output_format": "html5"}})
    assert smarty.render("It's plain prose.") == "<p>It’s plain prose.</p>"  # curly
    nl2br = CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {"extensions": ["nl2br"]}})
    assert nl2br.render("one\ntwo") == "<p>one<br>\ntwo</p>"
    glossary = CommentThreads({"PATH": str(tmp_path), "MARKDOWN": {"extension_configs": {
        "markdown.extensions.abbr": {"glossary": {"NHS": "National Health Service"}}}}})
    assert glossary.render("The NHS is fine.") == (
        '<p>The <abbr title="National Health Service">NHS</abbr> is fine.</p>')


# --- Threads ---------------------------------------------------------------------------------

def environment(loader: Any) -> Environment:
    env = Environment(loader=loader, **SITE["JINJA_ENVIRONMENT"])  # noqa: S701 - autoescape on
    env.filters.update(comment_events=comment_events, comment_thread_html=thread_html,
                       http_url=http_url)
    return env


THEME = environment(FileSystemLoader(str(TEMPLATES)))
OLD = environment(DictLoader({"_comments.html": REFERENCE}))


class Article:
    def __init__(self, roots: list[CommentNode], **fields: Any) -> None:
        self.comments = roots
        self.comment_count = sum(1 for _ in comment_events(roots)) // 2
        self.title = fields.get("title", "A <post> & its “thread”")
        for name, value in fields.items():
            setattr(self, name, value)


def both(article: Article) -> tuple[str, str]:
    return (THEME.get_template("_comments.html").render(article=article),
            OLD.get_template("_comments.html").render(article=article))


HOSTILE = st.one_of(st.text(max_size=30), st.sampled_from([
    "", "Jane Smith", '<script>alert("x")</script>', "O'Brien & Sons", '"quoted"',
    "{{ 7*7 }}", "&amp; &lt;", "Ünïcødé 😀"]))
WEBSITES = st.one_of(st.none(), st.text(max_size=20), st.sampled_from([
    "https://jane.example/", "http://x.example/?a=1&b=<2>", "javascript:alert(1)",
    "mailto:a@b.example", "https://x.example/a b", "ftp://x.example/", '"><svg onload=x>',
    "https://x.example/\x07"]))


@st.composite
def threads(draw: st.DrawFn) -> list[CommentNode]:
    size = draw(st.integers(min_value=1, max_value=25))
    nodes = []
    for i in range(size):
        # a parent among earlier nodes (chains and siblings), a missing one (orphan), or none
        parent = draw(st.one_of(st.none(), st.integers(0, max(i - 1, 0)).map(lambda j: f"n{j}"),
                                st.just("gone")))
        nodes.append(CommentNode(
            slug=f"n{i}" + draw(st.sampled_from(["", "-x", '"<&>'])), author=draw(HOSTILE),
            website=draw(WEBSITES), date=T0 + timedelta(minutes=draw(st.integers(0, 10**6))),
            body_html=draw(st.sampled_from(["", "<p>hi &amp; bye</p>", "<p>a</p>\n"
                                                      "<p>b</p>"])),
            parent_slug=None if parent == f"n{i}" else parent))
    # slugs with suffixes would break the parent links: name parents by their real slugs
    by_index = {f"n{i}": node.slug for i, node in enumerate(nodes)}
    for node in nodes:
        node.parent_slug = by_index.get(node.parent_slug or "", node.parent_slug)
    return link_nodes(nodes)


@CHECK
@given(url=st.one_of(WEBSITES, st.builds("{}{}".format, st.sampled_from(
    ["http://", "https://", "HTTPS://", "mailto:", "http://[::1", "http://h:", ""]),
    st.text(max_size=20)), st.builds("http://x.example{}".format, st.text(max_size=10))))
@example(url="http://[::1/")
def test_the_plugin_checks_links_as_the_theme_does(url: str | None) -> None:
    assert render.http_url(url) == http_url(url)


@CHECK
@given(roots=threads(), blog=st.one_of(st.none(), HOSTILE), url=WEBSITES, title=HOSTILE)
def test_the_theme_writes_the_thread_its_former_loop_wrote(
        roots: list[CommentNode], blog: str | None, url: str | None, title: str) -> None:
    new, old = both(Article(roots, blog=blog, comments_url=url, title=title))
    assert new == old


def chain(length: int) -> list[CommentNode]:
    return link_nodes([CommentNode(
        slug=f"deep-{i}", author=f"Deep {i}" if i % 3 else "", website=None if i % 2 else
        f"https://d{i}.example/", date=T0 + timedelta(minutes=i),
        body_html=f"<p>Level {i}</p>", parent_slug=f"deep-{i - 1}" if i else None)
        for i in range(length)])


@pytest.mark.parametrize("roots", [chain(1), chain(7), chain(3000), chain(3) + chain(9)],
                         ids=["one", "seven-deep", "3000-deep", "two-chains"])
def test_deep_chains_and_in_reply_to_lines_are_unchanged(roots: list[CommentNode]) -> None:
    new, old = both(Article(roots, blog="Jane's blog", comments_url="https://x.example/#c"))
    assert new == old


def test_replies_beyond_the_indent_cap_say_whom_they_answer() -> None:
    new, _ = both(Article(chain(7)))
    assert 'class="comment depth-4" id="comment-deep-6"' in new and "depth-5" not in new
    assert 'In reply to <a href="#comment-deep-4">Deep 4</a>' in new  # deep-5, at depth 5
    assert 'In reply to <a href="#comment-deep-5">Deep 5</a>' in new
    assert 'In reply to <a href="#comment-deep-3">' not in new  # depth 4 is still indented
    assert new.count('<ol class="replies" role="list">') == new.count("</ol>") - 1 == 6


def test_no_thread_still_offers_the_original_blog() -> None:
    for fields in ({"comments_url": "https://x.example/#comments"}, {"comment_count": 5},
                   {}):
        article = Article([], **fields)
        new, old = both(article)
        assert new == old
    assert "Comment on the original blog" in both(
        Article([], comments_url="https://x.example/#comments"))[0]
