"""aggregator.convert: clean HTML → Markdown that Pelican's Markdown renders back faithfully,
and never into anything the sanitizer would not have allowed."""

from __future__ import annotations

import copy
import html as htmllib
import re
import time
from html.parser import HTMLParser

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pelicanconf
from aggregator.clean import sanitize_html
from aggregator.convert import escape_markdown_inline, excerpt, html_to_markdown
from tests.aggregator.test_clean import HOSTILE_HTML, SCHEME_TRICKS, Elements, unsafe_parts

BASE = "https://blog.example.org/2026/03/post/"


def render(markdown_text: str) -> str:
    """Render as Pelican does: its MARKDOWN settings, the extensions from their configs, the
    body after a metadata block."""
    config = copy.deepcopy(pelicanconf.MARKDOWN)
    config["extensions"] = list(config["extension_configs"])
    return markdown.Markdown(**config).convert("Title: test\n\n" + markdown_text)


def pipeline(html: str) -> str:
    return render(html_to_markdown(sanitize_html(html, base_url=BASE)))


def visible_text(html: str) -> str:
    return " ".join("".join(Elements(html).text).split())


# --- safety ------------------------------------------------------------------------------------

TEXT_PAYLOADS = [
    # Feed text that Markdown would turn into markup if it were not escaped.
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "[click](javascript:alert(1))",
    "![img](javascript:alert(1))",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "&lt;javascript:alert(1)&gt; &lt;https://evil.example/&gt; &lt;evil@example.org&gt;",
    "[x](&#106;avascript:alert(1))",
    "&amp;#106;avascript:alert(1)",
    "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>",
    "<pre>&lt;script&gt;alert(1)&lt;/script&gt;\n```\n&lt;/pre&gt;</pre>",
    "```{ onclick=alert(1) }\nx\n```",
    "<a href='https://ok.example/' title='&quot; onclick=&quot;alert(1)'>t</a>",
    "<img src='https://ok.example/a.png' alt='&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'>",
    "<table><tr><td>[x](javascript:alert(1)) &lt;script&gt;alert(1)&lt;/script&gt;</td></tr>"
    "</table>",
    "<ul><li><table><tr><td>[x](javascript:alert(1)) *y*</td></tr></table></li></ul>",
    "<abbr title='&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'>a</abbr>",
    "{filename}/x.md [a]({filename}/x.md)",
    "\x02wzxhzdk:0\x03 \x02klzzwxh:0\x03",
    # found by hypothesis: a code block inside a link lost its indentation and became text
    "<blockquote><a><pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre></a></blockquote>",
    "<h2><pre>&lt;script&gt;alert(1)&lt;/script&gt;\n# x</pre></h2>",
    "<em><ul><li><pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre></li></ul></em>",
]


@pytest.mark.parametrize("payload", HOSTILE_HTML + TEXT_PAYLOADS)
def test_rendered_markdown_has_nothing_outside_the_allowlist(payload: str) -> None:
    rendered = pipeline(payload)
    assert unsafe_parts(rendered) == []
    assert "<script" not in rendered.lower()


@pytest.mark.parametrize("url", SCHEME_TRICKS)
def test_rendered_links_never_carry_a_dangerous_url(url: str) -> None:
    html = (f'<p><a href="{url}">a</a> <img src="{url}" alt="i"> '
            f'<blockquote cite="{url}">q</blockquote></p>')
    rendered = pipeline(html)
    assert unsafe_parts(rendered) == []
    assert "{filename}" not in rendered and "{static}" not in rendered


def test_escaped_markup_in_text_stays_visible_text() -> None:
    rendered = pipeline("<p>Use &lt;script&gt; tags &amp; [links](javascript:x) *wisely*</p>")
    assert [tag for tag, _ in Elements(rendered).elements] == ["p"]
    assert visible_text(rendered) == "Use <script> tags & [links](javascript:x) *wisely*"


# --- structure round trips ---------------------------------------------------------------------

class Outline(HTMLParser):
    """A fragment's structure as a compact string: tags nest, text collapses, <p> inside list
    items and <code> inside <pre> are unwrapped, b/i read as strong/em."""

    RENAME = {"b": "strong", "i": "em"}
    KEEP = {"href", "src", "alt", "start", "title"}
    UNWRAP = {"tbody", "div", "span"}  # no Markdown for them, and nothing to see

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.feed(html)
        self.close()

    def _skip(self, tag: str) -> bool:
        parent = self.stack[-2:-1]
        return (tag in self.UNWRAP or (tag == "p" and "li" in parent)
                or (tag == "code" and "pre" in parent))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = self.RENAME.get(tag, tag)
        keep = dict(sorted((k, v) for k, v in attrs if k in self.KEEP))
        if tag in ("br", "img", "hr"):
            self.parts.append(f"{tag}{keep}" if keep else tag)
            return
        self.stack.append(tag)
        if not self._skip(tag):
            self.parts.append(f"{tag}{keep}[" if keep else f"{tag}[")

    def handle_endtag(self, tag: str) -> None:
        tag = self.RENAME.get(tag, tag)
        if tag in ("br", "img", "hr"):
            return
        if not self._skip(tag):
            self.parts.append("]")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "pre" in self.stack:
            text = data.strip("\n")
        else:
            text = " ".join(data.split())
        if text:
            self.parts.append(repr(text))

    def __str__(self) -> str:
        return " ".join(self.parts)


ROUND_TRIPS = [
    "<h2>Heading</h2><h3>C# &amp; F#</h3><h6>Six</h6>",
    "<p>One <strong>bold</strong>, <em>em</em>, <b>b</b> and <i>i</i>.</p><p>Two</p>",
    "<p>A <a href='https://example.org/x_y?a=1&amp;b=(2)'>link_with *stars*</a> here.</p>",
    "<p><a href='https://example.org/' title='Say \"hi\" (now)'>titled</a></p>",
    "<p><img src='https://example.org/a b.png' alt='An [image] *alt*' title='T'></p>",
    "<p><a href='https://example.org/'><img src='https://example.org/i.png' alt='i'></a></p>",
    "<ul><li>one</li><li>two<ul><li>nested <em>x</em></li><li>nested 2"
    "<ol><li>deep</li></ol></li></ul></li><li>three</li></ul>",
    "<ol start='7'><li>seven</li><li>eight</li></ol>",
    "<ul><li><p>para one</p><p>para two</p></li><li>next</li></ul>",
    "<blockquote><p>Quoted <em>text</em></p><blockquote><p>inner</p></blockquote></blockquote>",
    "<pre>def f(x):\n    return x &lt; 1 and '*' or `b`\n\n\n# not a heading</pre>",
    "<pre>```\nfenced inside\n```</pre>",
    "<ul><li>item<pre>code in\n  a list</pre></li></ul>",
    "<blockquote><pre>code in\n  a quote</pre></blockquote>",
    "<p>Inline <code>a * b</code> and <code>x `y` z</code> code.</p>",
    "<p>line one<br>line two<br>- not a list</p>",
    "<p>1. not a list, # not a heading, &gt; not a quote, + not, - not, = not ~~~ no</p>",
    "<p>Backslash \\ pipe | braces {x} brackets [y] under_score star* tick` amp &amp;</p>",
    "<table><thead><tr><th>H *1*</th><th>H|2</th></tr></thead>"
    "<tbody><tr><td>a &lt;b&gt;</td><td><a href='https://example.org/'>l</a></td></tr>"
    "</tbody></table>",
    "<table><tr><td><pre>x\n\ny</pre></td></tr></table>",
    "<dl><dt>Term</dt><dd>Definition *not em*</dd></dl>",
    "<figure><img src='https://example.org/f.png' alt='f'><figcaption>Cap</figcaption></figure>",
    "<p>H<sub>2</sub>O, x<sup>2</sup>, <u>u</u>, <del>del</del>, <ins>ins</ins>, <s>s</s>, "
    "<small>small</small>, <abbr title='World Wide Web'>WWW</abbr>, <cite>c</cite>, <q>q</q></p>",
    "<p>Before</p><hr><p>After</p>",
    "<div><p>In a div</p></div><p>Out</p>",
]


@pytest.mark.parametrize("html", ROUND_TRIPS)
def test_structure_survives_the_round_trip(html: str) -> None:
    clean = sanitize_html(html, base_url=BASE)
    rendered = render(html_to_markdown(clean))
    assert str(Outline(rendered)) == str(Outline(clean))


def test_tables_stay_html_blocks_on_their_own_lines() -> None:
    md = html_to_markdown(sanitize_html("<p>a</p><table><tr><td>x</td></tr></table><p>b</p>",
                                        base_url=None))
    assert "\n\n<table>" in md and "</table>\n\n" in md


def test_nested_pre_uses_indented_code_and_top_level_pre_a_long_enough_fence() -> None:
    md = html_to_markdown("<pre>a\n````\nb</pre>")
    assert md.startswith("`````\n") and md.endswith("\n`````\n")


def test_output_is_tidy_and_deterministic() -> None:
    html = "<p>  a  </p>\r\n\r\n\r\n<p>b</p><p></p><p> </p><div><div><p>c</p></div></div>"
    md = html_to_markdown(html)
    assert md == html_to_markdown(html)
    assert md == "a\n\nb\n\nc\n"
    assert html_to_markdown("") == "" and html_to_markdown("<p> </p>") == ""
    for line in md.split("\n"):
        assert line == line.rstrip()
    assert "\n\n\n" not in md and not md[0].isspace()


def test_deep_nesting_converts_fast() -> None:
    html = "<div>" * 100_000 + "deep" + "</div>" * 100_000
    start = time.process_time()  # CPU time: other processes' load does not count
    md = html_to_markdown(sanitize_html(html, base_url=None))
    assert time.process_time() - start < 4.0
    assert md == "deep\n"
    # also when handed deep HTML directly (no RecursionError)
    assert html_to_markdown("<blockquote>" * 5000 + "x").strip().endswith("x")


# --- excerpts ------------------------------------------------------------------------------------

def test_excerpt_cuts_at_a_word_boundary() -> None:
    html = "<p>" + " ".join(f"w{i}" for i in range(100)) + "</p>"
    text = excerpt(html, words=10)
    assert text == "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9…"
    assert excerpt("<p>short <b>text</b></p><p>here</p>", words=10) == "short text here"
    assert "\n" not in excerpt("<p>a</p>\n<ul><li>b</li></ul>\n<pre>c\nd</pre>")


def test_excerpt_is_the_leading_prose_without_headings_tables_or_code() -> None:
    # without their tags, a heading ran into the next sentence ("the service. Who came in
    # Over three months") and a table's header cells into a list of words
    html = ("<p>The library was the service.</p><h2>Who came in</h2>"
            "<p>Over three months, staff helped.</p>"
            "<figure><table><tr><th>What</th><th>Forms</th></tr></table>"
            "<figcaption>Table 1</figcaption></figure>"
            "<pre><code>x = 1</code></pre><ul><li>One list item.</li></ul>"
            "<blockquote><p>A quote.</p></blockquote><h3>Last</h3>")
    assert excerpt(html) == ("The library was the service. Over three months, staff helped. "
                             "One list item. A quote.")
    # the cut still counts only the prose's words
    assert excerpt("<h1>Big heading</h1><p>one two three four</p>", words=3) == "one two three…"
    # a post with no prose at all still gets its words
    assert excerpt("<h2>Only a heading</h2>") == "Only a heading"
    assert excerpt("<table><tr><td>a</td><td>b</td></tr></table>") == "a b"


def test_excerpt_drops_scripts_and_caps_giant_words() -> None:
    assert excerpt("<script>x</script><p>a &amp; b</p>") == "a & b"
    assert len(excerpt("<p>" + "x" * 10_000 + "</p>", words=60)) <= 900


# --- escape_markdown_inline ----------------------------------------------------------------------

def rendered_text(markdown_text: str) -> str:
    """Visible text of rendered Markdown: tags stripped, entities decoded, spaces collapsed."""
    html = render(markdown_text)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]*>", "", html)).split())


@pytest.mark.parametrize("text", [
    "# Not a heading", "1. Not a list", "- not a list", "+ not", "* not", "> not a quote",
    "<script>alert(1)</script>", "a & b &amp; c &#60;", "*em* _em_ **strong** `code`",
    "[link](https://x.example/) ![img](https://x.example/i.png)", "{filename}/x |a|b|",
    "back\\slash \\* \\", "=== --- ~~~ ***", "C# and F#", "x <b> y", "1986. A year",
])
def test_escape_markdown_inline_renders_the_same_text(text: str) -> None:
    escaped = escape_markdown_inline(text)
    assert "\n" not in escaped
    assert rendered_text(escaped) == " ".join(text.split())
    assert [tag for tag, _ in Elements(render(escaped)).elements] in ([], ["p"])


_MARKDOWNISH = st.text(
    alphabet=st.sampled_from(list("ab1 .-+*_`[]()<>&#!|{}\\~=:;\"'/\n\t")) | st.characters(
        blacklist_categories=("Cs",)),
    max_size=60,
)
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"
                        "\ufffe\uffff]")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MARKDOWNISH)
def test_escape_markdown_inline_property(text: str) -> None:
    escaped = escape_markdown_inline(text)
    assert "\n" not in escaped and "\r" not in escaped
    expected = " ".join(_INVISIBLE.sub(" ", text).split())
    assert rendered_text(escaped) == expected
    assert [tag for tag, _ in Elements(render(escaped)).elements] in ([], ["p"])


_TAGS = ["p", "a", "img", "script", "svg", "iframe", "b", "ul", "li", "ol", "table", "td", "tr",
         "pre", "code", "blockquote", "h1", "h2", "div", "span", "style", "form", "math", "sub",
         "abbr", "dl", "dd", "object", "noscript", "textarea", "x-y"]
_ATTRS = ["href", "src", "onclick", "onerror", "style", "class", "title", "alt", "srcset",
          "cite", "start", "formaction", "xlink:href", "width"]
_VALUES = SCHEME_TRICKS[:12] + ["https://ok.example/", "/rel", "x\" onload=\"alert(1)",
                                "alert(1)", "'><script>alert(1)</script>", "{filename}/x"]
_TEXTS = ["text", "&lt;script&gt;alert(1)&lt;/script&gt;", "[x](javascript:alert(1))",
          "# h", "1. x", "`", "***", "|", "&amp;", "<", "&#106;", "\n\n", "    code", "```",
          "<!--", "-->", "<script>", "</p>", "\"", "'"]


@st.composite
def _html(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(st.sampled_from(_TEXTS) | st.text(max_size=8))
    tag = draw(st.sampled_from(_TAGS))
    attrs = draw(st.lists(st.tuples(st.sampled_from(_ATTRS), st.sampled_from(_VALUES)),
                          max_size=3))
    quote = draw(st.sampled_from(['"', "'", ""]))
    attr_text = "".join(f" {name}={quote}{value}{quote}" for name, value in attrs)
    children = draw(st.lists(_html(depth + 1), max_size=3))
    close = draw(st.sampled_from([f"</{tag}>", ""]))
    return f"<{tag}{attr_text}>{''.join(children)}{close}"


@pytest.mark.parametrize("html", [
    # found by the fuzz test below: a stray <li> glued to the text before it, and an item
    # starting with code inside a quote, left the code's lines as paragraph text (raw HTML)
    "text<li><pre><p></p>&lt;script&gt;alert(1)&lt;/script&gt;</pre></li>",
    "<blockquote>q<li><pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre></li></blockquote>",
    "<blockquote><blockquote>q<ol><li><pre>&lt;script&gt;</pre></li></ol></blockquote>"
    "</blockquote>",
])
def test_code_in_a_stray_or_quoted_list_item_stays_code(html: str) -> None:
    rendered = pipeline(html)
    assert unsafe_parts(rendered) == []
    assert "<pre><code>&lt;script&gt;" in rendered


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_html(), min_size=1, max_size=4).map("".join))
def test_arbitrary_html_never_renders_unsafe(html: str) -> None:
    clean = sanitize_html(html, base_url=BASE)
    assert unsafe_parts(clean) == []
    assert unsafe_parts(sanitize_html(clean, base_url=BASE)) == []  # the plugin's second pass
    rendered = render(html_to_markdown(clean))
    assert unsafe_parts(rendered) == []
    assert "<script" not in rendered.lower()
