"""aggregator.clean: the allowlist sanitizer, URL checks and plain text, against hostile input."""

from __future__ import annotations

import logging
import time
from html.parser import HTMLParser

import pytest

from aggregator.clean import (
    ALLOWED_ATTRIBUTES,
    IMAGE_LOADING,
    MAX_HTML_CHARS,
    clean_text,
    clean_url,
    normalise_html,
    sanitize_html,
    strip_tags,
)

BASE = "https://blog.example.org/2026/03/post/"


class Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def unsafe_parts(html: str) -> list[str]:
    """What in `html` is outside the allowlist: elements, attributes, URLs."""
    problems = []
    for tag, attrs in Elements(html).elements:
        if tag not in ALLOWED_ATTRIBUTES:
            problems.append(f"element {tag}")
            continue
        for name, value in attrs.items():
            if name == "rel" and tag == "a":
                continue
            if tag == "img" and (name, value) in IMAGE_LOADING:
                continue  # set by the sanitizer, never taken from the feed
            if name not in ALLOWED_ATTRIBUTES[tag]:
                problems.append(f"{tag}[{name}]")
            elif name in ("href", "src", "cite"):
                schemes = ("https://", "http://", "mailto:") if name == "href" else (
                    "https://", "http://")
                if not (value or "").startswith(schemes):
                    problems.append(f"{tag}[{name}]={value!r}")
    return problems


class _Depth(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = self.deepest = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "hr", "img"):
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1


def nesting_depth(html: str) -> int:
    parser = _Depth()
    parser.feed(html)
    parser.close()
    return parser.deepest


# --- hostile payloads -------------------------------------------------------------------------

SCHEME_TRICKS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\x00script:alert(1)",
    "&#106;avascript:alert(1)",
    "&#0000106avascript:alert(1)",
    "&#106avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#X6a;avascript:alert(1)",
    "jav&#x61;script:alert(1)",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3A;alert(1)",
    "javascript&#58alert(1)",
    "java&Tab;script:alert(1)",
    "java&NewLine;script:alert(1)",
    "java&#x09;script:alert(1)",
    "java&#13;script:alert(1)",
    "&#14;javascript:alert(1)",
    "&amp;#106;avascript:alert(1)",
    "&amp;amp;#106;avascript:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "livescript:alert(1)",
    "{filename}/other.md",
    "{static}/images/x.png",
    "|filename|other.md",
    "&#123;filename}/other.md",
    "https://user:password@evil.example/",
    "https://evil.example@good.example/",
    "https://" + "a" * 3000 + ".example/",
]


@pytest.mark.parametrize("url", SCHEME_TRICKS)
def test_clean_url_refuses_scheme_tricks(url: str) -> None:
    for schemes in (frozenset({"http", "https"}), frozenset({"http", "https", "mailto"})):
        assert clean_url(url, base=BASE, schemes=schemes) is None
        assert clean_url(url, schemes=schemes) is None


@pytest.mark.parametrize("url", SCHEME_TRICKS)
@pytest.mark.parametrize("attribute", ["a href", "img src", "blockquote cite"])
def test_sanitize_drops_scheme_tricks_in_every_url_attribute(url: str, attribute: str) -> None:
    tag, attr = attribute.split()
    for quoted in (f'"{url}"', f"'{url}'"):
        html = f"<{tag} {attr}={quoted}>content</{tag}>" if tag != "img" else \
            f"<img {attr}={quoted} alt=content>"
        out = sanitize_html(html, base_url=BASE)
        assert unsafe_parts(out) == []
        assert "script:" not in out.lower() and "data:" not in out.lower()
        assert "{filename}" not in out and "|filename|" not in out


HOSTILE_HTML = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script>document.write('<p>')</script>",
    "<<script>alert(1)//<</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x ONERROR=alert(1)>",
    "<img src=x onerror\n=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    '<img src="x" srcset="javascript:alert(1) 1x, https://evil.example/a.png 2x">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=javascript:alert(1)>x</math>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit><input type=password name=p></form>',
    "<button formaction=javascript:alert(1)>x</button>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="behavior:url(x.htc);-moz-binding:url(x)">x</p>',
    '<a href="https://ok.example/" onmouseover="alert(1)" class="c" id="i">x</a>',
    "<body onload=alert(1)>x</body>",
    "<details open ontoggle=alert(1)>x</details>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<xmp><script>alert(1)</script></xmp>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<template><script>alert(1)</script></template>",
    "<!--<script>alert(1)</script>-->",
    "<!--><script>alert(1)</script>-->",
    '<a href="x" <script>alert(1)</script>>',
    '<img src="x` `<script>alert(1)</script>"` `>',
    "<table><td background=javascript:alert(1)>x</td></table>",
    "<isindex action=javascript:alert(1) type=image>",
    "<marquee onstart=alert(1)>x</marquee>",
    '<a href="javas\x00cript:alert(1)">x</a>',
    '<img src="https://ok.example/a.png" width="100" height="50" onload=alert(1)>',
    "<plaintext><script>alert(1)</script>",
    "<frameset onload=alert(1)>",
    "<keygen autofocus onfocus=alert(1)>",
    "<select><option onclick=alert(1)>x</select>",
]


@pytest.mark.parametrize("payload", HOSTILE_HTML)
def test_sanitize_leaves_nothing_outside_the_allowlist(payload: str) -> None:
    out = sanitize_html(payload, base_url=BASE)
    assert unsafe_parts(out) == []
    lowered = out.lower()
    assert "<script" not in lowered and "javascript:" not in lowered
    assert sanitize_html(out, base_url=BASE) == out  # idempotent


def test_link_text_stays_when_the_href_goes() -> None:
    out = sanitize_html('<a href="javascript:alert(1)">read <b>this</b></a>', base_url=BASE)
    assert "href" not in out
    assert "".join(Elements(out).text) == "read this"


def test_relative_urls_become_absolute_against_the_base() -> None:
    out = sanitize_html(
        '<a href="/about/">a</a><a href="next/">n</a><img src="../img/x y.png">'
        '<a href="//cdn.example/z">c</a><a href="#top">t</a><a href="?p=2">q</a>',
        base_url=BASE)
    hrefs = [attrs.get("href") or attrs.get("src") for _, attrs in Elements(out).elements]
    assert hrefs == [
        "https://blog.example.org/about/",
        "https://blog.example.org/2026/03/post/next/",
        "https://blog.example.org/2026/03/img/x%20y.png",
        "https://cdn.example/z",
        "https://blog.example.org/2026/03/post/#top",
        "https://blog.example.org/2026/03/post/?p=2",
    ]


def test_relative_urls_without_a_usable_base_are_dropped() -> None:
    for base in (None, "javascript:alert(1)", "/relative/base/", "{filename}/x"):
        out = sanitize_html('<a href="/about/">a</a><img src="x.png">', base_url=base)
        assert out == '<a rel="noopener noreferrer nofollow">a</a><img loading="lazy">'


def test_allowed_structure_is_kept_and_h1_demoted() -> None:
    html = (
        "<h1>Title</h1><h3>Sub</h3><p>A <em>b</em> <strong>c</strong> <code>d</code></p>"
        '<ol start="3"><li>x</li></ol><blockquote cite="https://q.example/">q</blockquote>'
        '<table><thead><tr><th scope="col" colspan="2">h</th></tr></thead>'
        '<tbody><tr><td rowspan="2">1</td></tr></tbody></table>'
        '<img src="https://i.example/a.png" alt="A" title="T" width="640" height="480">'
        "<dl><dt>t</dt><dd>d</dd></dl><figure><figcaption>f</figcaption></figure>"
    )
    out = sanitize_html(html, base_url=BASE)
    tags = [tag for tag, _ in Elements(out).elements]
    assert tags == ["h2", "h3", "p", "em", "strong", "code", "ol", "li", "blockquote", "table",
                    "thead", "tr", "th", "tbody", "tr", "td", "img", "dl", "dt", "dd",
                    "figure", "figcaption"]
    assert '<ol start="3">' in out and 'colspan="2"' in out and 'scope="col"' in out
    assert 'width="640"' in out and 'cite="https://q.example/"' in out


def test_images_load_lazily_whatever_the_feed_said() -> None:
    out = sanitize_html('<p>Text</p><img src="https://i.example/a.png" alt="A" '
                        'loading="eager" fetchpriority="high">', base_url=BASE)
    image = next(attrs for tag, attrs in Elements(out).elements if tag == "img")
    assert image == {"src": "https://i.example/a.png", "alt": "A", "loading": "lazy"}
    assert all(sanitize_html(out, base_url=BASE) == out for _ in range(20))  # same bytes


def test_numeric_attributes_are_checked() -> None:
    out = sanitize_html('<img src="https://i.example/a.png" width="100;x" height="expression(1)">'
                        '<ol start="javascript:1"><li>x</li></ol><td colspan="a">', base_url=BASE)
    assert "width" not in out and "height" not in out and "start" not in out


def test_block_containers_keep_their_boundaries() -> None:
    out = sanitize_html("<section>one</section><article>two</article>", base_url=None)
    assert out == "<div>one</div><div>two</div>"


def test_sloppy_html_keeps_its_structure() -> None:
    out = sanitize_html("<p>one<p>two<ul><li>a<li>b<ol><li>c</ol></ul>"
                        "<table><tr><td>1<td>2<tr><td>3</table>", base_url=None)
    assert out == ("<p>one</p><p>two</p><ul><li>a</li><li>b<ol><li>c</li></ol></li></ul>"
                   "<table><tbody><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></tbody>"
                   "</table>")


def test_control_characters_and_line_separators_are_removed() -> None:
    out = sanitize_html("<p>a\x00b\x02c\x03d\x1be\u2028f\x85g\ud800h</p>", base_url=None)
    assert out == "<p>abcde fgh</p>"


@pytest.mark.parametrize("depth", [100_000])
def test_deep_nesting_is_flattened_fast(depth: int) -> None:
    for html in ("<div>" * depth + "deep" + "</div>" * depth,
                 "<b><i>" * (depth // 2) + "deep",
                 "<ul><li>" * (depth // 2) + "deep",
                 "<table><tr><td>" * (depth // 3) + "deep"):
        start = time.process_time()  # CPU time: other processes' load does not count
        out = sanitize_html(html, base_url=None)
        assert time.process_time() - start < 4.0
        assert "deep" in out
        assert nesting_depth(out) <= 2 * 100


def test_oversized_html_is_cut_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    html = "<p>" + "word " * (MAX_HTML_CHARS // 5 + 100) + "</p>"
    with caplog.at_level(logging.WARNING, logger="aggregator.clean"):
        out = sanitize_html(html, base_url=BASE)
    assert out.startswith("<p>word word") and out.endswith("</p>")
    assert len(out) <= MAX_HTML_CHARS + 10
    assert BASE in caplog.text


def test_pathological_markup_stays_linear() -> None:
    for html in ("<" * 1_000_000, "<a " + "b=c " * 250_000, "<!--" * 250_000,
                 "</a" * 300_000, "<x a='" * 150_000, "&#" * 500_000,
                 ("&" + "a" * 40) * 45_000, "&amp;" * 400_000, "&<x>" * 400_000):
        start = time.process_time()  # CPU time: other processes' load does not count
        sanitize_html(html, base_url=BASE)
        assert time.process_time() - start < 6.0


def test_normalise_closes_everything_and_bounds_depth() -> None:
    assert normalise_html("<b><i>x") == "<b><i>x</i></b>"
    assert normalise_html("<div>" * 5 + "x", max_depth=3) == "<div><div><div>x</div></div></div>"
    assert normalise_html("a < b <!-- c --> d") == "a &lt; b  d"


# --- clean_url ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "base", "expected"), [
    ("https://example.org/a/b?c=d#e", None, "https://example.org/a/b?c=d#e"),
    ("HTTPS://Example.ORG", None, "https://example.org/"),
    ("  https://example.org/x  ", None, "https://example.org/x"),
    ("https://example.org/a b(c)<d>\"e'", None,
     "https://example.org/a%20b%28c%29%3Cd%3E%22e%27"),
    ("https://example.org/{x}|y\\z`^", None, "https://example.org/%7Bx%7D%7Cy%5Cz%60%5E"),
    ("https://example.org/caf\u00e9", None, "https://example.org/caf%C3%A9"),
    ("https://b\u00fccher.example/", None, "https://xn--bcher-kva.example/"),
    ("https://example.org/100%", None, "https://example.org/100%25"),
    ("https://example.org/a%20b", None, "https://example.org/a%20b"),
    ("https://example.org/?a=1&amp;b=2", None, "https://example.org/?a=1&b=2"),
    ("https://example.org/?a=1&copy=2", None, "https://example.org/?a=1&copy=2"),
    ("https://example.org:8080/x", None, "https://example.org:8080/x"),
    ("http://[2001:db8::1]/x", None, "http://[2001:db8::1]/x"),
    ("/x", "https://example.org/a/", "https://example.org/x"),
    ("x", "https://example.org/a/", "https://example.org/a/x"),
    ("x", None, None),
    ("//cdn.example/x", None, None),
    ("mailto:someone@example.org", None, None),
    ("ftp://example.org/x", None, None),
    ("https://example.org:99999/", None, None),
    ("https://exa mple.org/", None, None),
    ("https:///path", None, None),
    ("https:", None, None),
    ("", None, None),
    (None, None, None),
])
def test_clean_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert clean_url(url, base=base) == expected


def test_clean_url_mailto_only_when_asked() -> None:
    schemes = frozenset({"http", "https", "mailto"})
    assert clean_url("mailto:a@example.org?subject=Hi there", schemes=schemes) == \
        "mailto:a@example.org?subject=Hi%20there"
    assert clean_url("MAILTO:a@example.org", schemes=schemes) == "mailto:a@example.org"
    assert clean_url("mailto:", schemes=schemes) is None


def test_clean_url_caps_length() -> None:
    assert clean_url("https://example.org/" + "a" * 2020) is not None
    assert clean_url("https://example.org/" + "a" * 2100) is None
    assert clean_url("https://example.org/" + "é" * 700) is None  # long once encoded


def test_clean_url_never_gives_back_pelican_link_syntax() -> None:
    for url in ("{filename}x", " {filename}x", "&#123;filename}x", "&lbrace;filename}x",
                "|filename|x", "&#124;filename|x", "&vert;static|x"):
        assert clean_url(url, base=BASE) is None


# --- plain text --------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("Why councils should blog", "Why councils should blog"),
    ("  Lots\tof \n\n whitespace  ", "Lots of whitespace"),
    ("<b>Bold</b> title", "Bold title"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ("<script>alert(1)</script>Real title", "Real title"),
    ("Fish &amp; chips &amp;amp; more", "Fish & chips &amp; more"),
    ("AT&T and a < b > c", "AT&T and a < b > c"),
    ("line\r\nbreak\u2028sep\u2029para\x85nel\vvt\ffeed", "line break sep para nel vt feed"),
    ("Title: x\nSave_as: index.html", "Title: x Save_as: index.html"),
    ("nul\x00 bell\x07 esc\x1b del\x7f", "nul bell esc del"),
    ("bidi \u202eevil\u202c text", "bidi evil text"),
    ("trailing unclosed <b", "trailing unclosed <b"),
    ("Caf\u00e9 \U0001F600", "Caf\u00e9 \U0001F600"),
    (None, ""),
    ("", ""),
])
def test_clean_text(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_caps_length_at_a_word_boundary() -> None:
    text = clean_text("word " * 100, max_length=50)
    assert len(text) <= 50 and text.endswith("word…")
    long_word = clean_text("x" * 100, max_length=20)
    assert long_word == "x" * 19 + "…"
    emoji = clean_text("\U0001F469\u200d\U0001F4BB" * 30, max_length=10)
    assert len(emoji) <= 10 and not emoji[:-1].endswith("\u200d")


def test_clean_text_is_single_line_whatever_the_input() -> None:
    hostile = "a\nb\rc\u2028d\u2029e\x85f\x0bg\x0ch\x1ci\x1dj\x1ek"
    assert clean_text(hostile).splitlines() == [clean_text(hostile)]


def test_strip_tags_separates_blocks_not_inline_elements() -> None:
    assert strip_tags("<p>one</p><p>t<b>w</b>o</p><ul><li>3</li></ul>x<br>y") == \
        "one two 3 x y"
    assert strip_tags("<style>p{}</style><svg><text>no</text></svg>yes") == "yes"
