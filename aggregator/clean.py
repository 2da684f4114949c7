"""Cleaning untrusted feed content: an allowlist HTML sanitizer, URL checks, single-line text.

Everything a feed gives is hostile. HTML goes through two stages:

1. `normalise_html`, a small linear tokenizer of our own, re-serialises the markup with every
   element explicitly closed, drops comments, unknown tags and the elements whose content is
   never wanted (script, style, svg…), and flattens nesting beyond `MAX_DEPTH`. nh3 (html5ever)
   slows down sharply with depth (100,000 nested elements take about 40 s), so this bound is
   what keeps one hostile post from stalling a run.
2. nh3 with a strict allowlist of tags and attributes; every URL attribute goes through
   `clean_url`, which decodes entities before checking the scheme (feedparser lets
   `&#106;avascript:` through).

`clean_text` makes titles, names and tags plain single-line text; `strip_tags` gives the plain
text of a fragment. Their results are plain text: escape them wherever they are inserted.
"""

from __future__ import annotations

import html as htmllib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from html.entities import html5 as _HTML5_ENTITIES
from types import MappingProxyType
from urllib.parse import quote, urljoin, urlsplit

import nh3

logger = logging.getLogger(__name__)

MAX_HTML_CHARS = 2_000_000  # longer bodies are cut (a post is rarely over 200 kB)
MAX_DEPTH = 100  # elements nested deeper than this lose their tags (their text stays)
MAX_URL_LENGTH = 2048

HTTP_SCHEMES: frozenset[str] = frozenset({"http", "https"})
HREF_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

# --- The policy ------------------------------------------------------------------------------

ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType({
    "p": frozenset(), "br": frozenset(), "hr": frozenset(),
    "h1": frozenset(), "h2": frozenset(), "h3": frozenset(),
    "h4": frozenset(), "h5": frozenset(), "h6": frozenset(),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ul": frozenset(), "ol": frozenset({"start"}), "li": frozenset(),
    "blockquote": frozenset({"cite"}), "pre": frozenset(), "code": frozenset(),
    "em": frozenset(), "strong": frozenset(), "b": frozenset(), "i": frozenset(),
    "u": frozenset(), "s": frozenset(), "del": frozenset(), "ins": frozenset(),
    "sub": frozenset(), "sup": frozenset(), "small": frozenset(),
    "abbr": frozenset({"title"}), "cite": frozenset(), "q": frozenset(),
    "figure": frozenset(), "figcaption": frozenset(),
    "table": frozenset(), "thead": frozenset(), "tbody": frozenset(), "tfoot": frozenset(),
    "tr": frozenset(),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "td": frozenset({"colspan", "rowspan"}),
    "dl": frozenset(), "dt": frozenset(), "dd": frozenset(),
    "span": frozenset(), "div": frozenset(),
})
ALLOWED_TAGS: frozenset[str] = frozenset(ALLOWED_ATTRIBUTES)
# Set on every image, whatever the feed said (not taken from it). One attribute only: nh3 adds
# set attributes in no fixed order, and a page must be the same bytes from one build to the next.
IMAGE_LOADING = (("loading", "lazy"),)

# Elements removed together with everything inside them.
DROP_WITH_CONTENT: frozenset[str] = frozenset({
    "script", "style", "svg", "math", "template", "object", "applet", "iframe", "noscript",
    "noembed", "noframes", "frameset", "textarea", "select", "title", "xmp", "head",
    "plaintext", "canvas", "audio", "video", "map", "datalist",
})
# Elements whose content the HTML tokenizer reads as text up to their end tag.
_RAW_TEXT = frozenset({
    "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
    "plaintext",
})
# Renamed before the allowlist applies: containers keep their block boundaries, the page's
# own <h1> stays the only one.
_RENAME: Mapping[str, str] = MappingProxyType({
    "h1": "h2", "article": "div", "section": "div", "header": "div", "footer": "div",
    "main": "div", "aside": "div", "nav": "div", "address": "div", "center": "div",
    "details": "div", "summary": "div", "hgroup": "div", "fieldset": "div", "tt": "code",
    "kbd": "code", "samp": "code", "var": "em", "dfn": "em", "strike": "s", "mark": "span",
    "font": "span", "big": "span", "listing": "pre",
})
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr", "keygen", "frame", "image", "basefont", "bgsound", "isindex",
})
# Elements whose start closes an open <p> (HTML's "button scope" rule), and scope limits.
_CLOSES_P = frozenset({
    "blockquote", "div", "dl", "figure", "figcaption", "h2", "h3", "h4", "h5", "h6", "hr",
    "ol", "p", "pre", "table", "ul", "li", "dd", "dt",
})
_SCOPE_LIMIT = frozenset({"table", "td", "th"})
_SPECIAL = frozenset({
    "blockquote", "dd", "dl", "dt", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "li", "ol", "pre", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
_P = frozenset({"p"})
_LI = frozenset({"li"})
_LI_LIMITS = _SPECIAL - _LI
_DT_DD = frozenset({"dt", "dd"})
_DT_DD_LIMITS = _SPECIAL - _DT_DD
_TABLE_PARTS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Characters never worth keeping: C0/C1 controls (but tab, newline, CR, form feed), DEL,
# lone surrogates (they cannot be written as UTF-8) and non-characters.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_SEP_RE = re.compile("[\u2028\u2029]")
# For single-line text: also bidi overrides/isolates and BOMs, which can disguise text.
_INVISIBLE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]"
)


def strip_controls(text: str) -> str:
    """Remove control characters and lone surrogates; Unicode line separators become spaces."""
    return _LINE_SEP_RE.sub(" ", _CONTROL_RE.sub("", text))


# --- A small HTML tokenizer -------------------------------------------------------------------

_TAG_NAME_RE = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_ATTR_NAME_RE = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_SPACE_RE = re.compile(r"[\t\n\f\r ]*")
_SEP_RE = re.compile(r"[\t\n\f\r /]*")
_UNQUOTED_RE = re.compile(r"[^\t\n\f\r >]*")

Token = tuple[str, str, list[tuple[str, str]]]  # (kind, name or text, attributes)
_NO_ATTRS: list[tuple[str, str]] = []  # shared, never mutated


def _read_tag(s: str, i: int) -> tuple[str, list[tuple[str, str]], int] | None:
    """Read the tag whose name starts at `i`. None when the input ends inside the tag."""
    n = len(s)
    m = _TAG_NAME_RE.match(s, i)
    assert m is not None  # the caller checked for a letter
    name = m.group().lower()
    j = m.end()
    attrs: list[tuple[str, str]] = []
    while True:
        j = _SEP_RE.match(s, j).end()  # type: ignore[union-attr]
        if j >= n:
            return None
        if s[j] == ">":
            return name, attrs, j + 1
        m = _ATTR_NAME_RE.match(s, j)
        assert m is not None
        attr = m.group().lower()
        j = m.end()
        k = _SPACE_RE.match(s, j).end()  # type: ignore[union-attr]
        value = ""
        if k < n and s[k] == "=":
            k = _SPACE_RE.match(s, k + 1).end()  # type: ignore[union-attr]
            if k >= n:
                return None
            if s[k] in "\"'":
                end = s.find(s[k], k + 1)
                if end < 0:
                    return None
                value = s[k + 1:end]
                j = end + 1
            else:
                m = _UNQUOTED_RE.match(s, k)
                assert m is not None
                value = m.group()
                j = m.end()
        else:
            j = k
        attrs.append((attr, value))


_MARKUP_RE = re.compile(r"<[A-Za-z/!?]")  # a "<" that starts a tag, comment or declaration
_SIMPLE_TAG_RE = re.compile(r"([A-Za-z][A-Za-z0-9]*)>")  # the common case: no attributes


def _tokens(s: str, *, keep_partial: bool = False) -> Iterator[Token]:
    """Yield ("text", raw, []), ("start", name, attrs) and ("end", name, []) tokens.

    Linear in the input. Text is raw (entities not decoded). Comments, doctypes and
    processing instructions are skipped; the content of raw-text elements (script, style…)
    comes as one text token. Input that ends inside a tag or comment ends there, as in HTML,
    unless `keep_partial`, when the rest is given as text (for plain-text titles).
    """
    n = len(s)
    i = 0
    find_markup = _MARKUP_RE.search
    while True:
        m = find_markup(s, i)
        if m is None:
            break
        lt = m.start()
        if lt > i:
            yield ("text", s[i:lt], [])
        i = lt
        nxt = s[lt + 1]
        if nxt == "/":
            after = s[lt + 2] if lt + 2 < n else ""
            if after.isascii() and after.isalpha():
                simple = _SIMPLE_TAG_RE.match(s, lt + 2)
                if simple is not None:
                    yield ("end", simple.group(1).lower(), [])
                    i = simple.end()
                    continue
                tag = _read_tag(s, lt + 2)
                if tag is None:
                    break
                name, _, i = tag
                yield ("end", name, [])
                continue
            gt = s.find(">", lt + 2)  # "</>" is nothing, "</ x>" a bogus comment
        elif nxt == "!" or nxt == "?":
            if s.startswith("<!--", lt):
                if s.startswith("<!-->", lt) or s.startswith("<!--->", lt):
                    i = s.find(">", lt) + 1
                    continue
                close = s.find("-->", lt + 4)
                gt = close if close < 0 else close + 2
            else:
                gt = s.find(">", lt + 2)
        else:
            simple = _SIMPLE_TAG_RE.match(s, lt + 1)
            if simple is not None:
                name, attrs, end = simple.group(1).lower(), _NO_ATTRS, simple.end()
            else:
                tag = _read_tag(s, lt + 1)
                if tag is None:
                    break
                name, attrs, end = tag
            yield ("start", name, attrs)
            i = end
            if name in _RAW_TEXT:
                close_at = _find_end_tag(s, i, name)
                if close_at > i:
                    yield ("text", s[i:close_at], [])
                i = close_at
            continue
        if gt < 0:
            break
        i = gt + 1
    if i < n and (keep_partial or find_markup(s, i) is None):
        yield ("text", s[i:], [])


def _find_end_tag(s: str, i: int, name: str) -> int:
    """Where the end tag of raw-text element `name` starts, searching from `i` (or the end)."""
    if name == "plaintext":
        return len(s)
    pattern = re.compile(r"</" + name + r"[\t\n\f\r />]", re.IGNORECASE)
    m = pattern.search(s, i)
    return len(s) if m is None else m.start()


# --- Structure: explicit nesting, bounded depth ---------------------------------------------------

MAX_ATTRIBUTE_CHARS = 4 * MAX_URL_LENGTH
_AMP_RUN = 200
_CHARREF_RE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]{0,31};?)")


def _attr_charref(match: re.Match[str]) -> str:
    """Decode one character reference in an attribute value, as HTML does: a named one
    without its semicolon stays as it is when a letter, digit or "=" follows (`?a=1&copy=2`)."""
    ref = match.group(1)
    if ref.startswith("#") or ref.endswith(";"):
        return htmllib.unescape(match.group())
    end = match.end()
    follower = match.string[end:end + 1]
    if ref in _HTML5_ENTITIES and not (follower.isalnum() or follower == "="):
        return str(_HTML5_ENTITIES[ref])
    return match.group()


def _text_out(raw: str) -> str:
    """Text for html5ever: references decoded here, then only &amp; &lt; &gt; written.
    (html5ever is quadratic on long runs of failed references such as "&aaaa…&aaaa…".)"""
    return strip_controls(htmllib.unescape(raw)).replace("&", "&amp;").replace(
        "<", "&lt;").replace(">", "&gt;")


def _attr_out(raw: str) -> str:
    value = strip_controls(_CHARREF_RE.sub(_attr_charref, raw[:MAX_ATTRIBUTE_CHARS]))
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(
        ">", "&gt;")


def _split_ampersands(escaped: str, used: int) -> tuple[str, int]:
    """Put an empty comment (nh3 strips it) after every `_AMP_RUN` ampersands of a text run.

    html5ever is quadratic in the number of "&amp;" in one text node; a comment splits the
    node. `used` counts the ampersands already in the run; the new count is returned.
    """
    count = escaped.count("&amp;")
    if used + count <= _AMP_RUN:
        return escaped, used + count
    parts = escaped.split("&amp;")
    pieces = [parts[0]]
    for part in parts[1:]:
        used += 1
        if used > _AMP_RUN:
            pieces.append("<!---->")
            used = 1
        pieces.append("&amp;")
        pieces.append(part)
    return "".join(pieces), used


class _Normaliser:
    """Rebuild markup from tokens with explicit end tags and at most `max_depth` open elements.

    It follows the few HTML tree-building rules that matter for real posts (a block closes an
    open <p>, <li> closes <li>, cells close cells), so that sloppy but honest markup keeps its
    structure, and closes everything explicitly, so that html5ever never has to reconstruct
    formatting elements (which could multiply the depth).
    """

    def __init__(self, max_depth: int, rename: Mapping[str, str]) -> None:
        self.max_depth = max_depth
        self.rename = rename
        self.stack: list[str] = []
        self.where: dict[str, list[int]] = {}  # open elements' stack indices, by name
        self.out: list[str] = []
        self.dropped: dict[str, int] = {}  # start tags dropped for depth, by name
        self.skip: str | None = None  # inside an element dropped with its content
        self.skip_depth = 0
        self.amps = 0  # ampersands in the current text run

    def feed(self, tokens: Iterator[Token]) -> str:
        out = self.out
        for kind, value, attrs in tokens:
            if self.skip is not None:
                self._skipping(kind, value)
            elif kind == "text":
                text, self.amps = _split_ampersands(_text_out(value), self.amps)
                out.append(text)
            elif kind == "start":
                self._start(value, attrs)
            else:
                self._end(value)
        self._pop_to(0)
        return "".join(out)

    def _skipping(self, kind: str, name: str) -> None:
        if kind == "start" and name == self.skip:
            self.skip_depth += 1
        elif kind == "end" and name == self.skip:
            self.skip_depth -= 1
            if self.skip_depth == 0:
                self.skip = None

    def _push(self, name: str, markup: str) -> None:
        self.amps = 0
        self.out.append(markup)
        self.where.setdefault(name, []).append(len(self.stack))
        self.stack.append(name)

    def _pop_to(self, index: int) -> None:
        while len(self.stack) > index:
            self.amps = 0
            name = self.stack.pop()
            self.where[name].pop()
            self.out.append("</" + name + ">")

    def _find(self, names: frozenset[str], limits: frozenset[str]) -> int:
        """Index of the nearest open element named in `names`, or -1 if a limit comes first.

        Constant time (per name), whatever the depth: open elements are indexed by name.
        """
        where = self.where
        found = -1
        for name in names:
            indices = where.get(name)
            if indices and indices[-1] > found:
                found = indices[-1]
        if found >= 0:
            for name in limits:
                indices = where.get(name)
                if indices and indices[-1] > found:
                    return -1
        return found

    def _start(self, raw_name: str, attrs: list[tuple[str, str]]) -> None:
        if raw_name in DROP_WITH_CONTENT:  # skipped up to its end tag, nested ones counted
            self.skip, self.skip_depth = raw_name, 1
            return
        name = self.rename.get(raw_name, raw_name)
        if name not in ALLOWED_TAGS:
            return
        self._implicit_closes(name)
        markup = "<" + name + ">"
        if attrs:
            allowed = ALLOWED_ATTRIBUTES[name]
            seen: set[str] = set()
            parts = ["<", name]
            for attr, value in attrs:
                if attr in allowed and attr not in seen:  # the first of duplicates wins
                    seen.add(attr)
                    parts.append(f' {attr}="{_attr_out(value)}"')
            parts.append(">")
            markup = "".join(parts)
        if name in _VOID:
            self.amps = 0
            self.out.append(markup)
        elif len(self.stack) >= self.max_depth:
            self.dropped[name] = self.dropped.get(name, 0) + 1
        else:
            self._push(name, markup)

    def _implicit_closes(self, name: str) -> None:
        if name in _CLOSES_P:
            idx = self._find(_P, _SCOPE_LIMIT)
            if idx >= 0:
                self._pop_to(idx)
        if name == "li":
            idx = self._find(_LI, _LI_LIMITS)
            if idx >= 0:
                self._pop_to(idx)
        elif name in ("dt", "dd"):
            idx = self._find(_DT_DD, _DT_DD_LIMITS)
            if idx >= 0:
                self._pop_to(idx)
        elif name in ("td", "th"):
            idx = self._find(frozenset({"td", "th"}), frozenset({"tr", "table"}))
            if idx >= 0:
                self._pop_to(idx)
        elif name == "tr":
            idx = self._find(frozenset({"tr"}), frozenset({"table", "thead", "tbody", "tfoot"}))
            if idx >= 0:
                self._pop_to(idx)
        elif name in ("thead", "tbody", "tfoot"):
            idx = self._find(frozenset({"thead", "tbody", "tfoot"}), frozenset({"table"}))
            if idx >= 0:
                self._pop_to(idx)
        elif name == "a":
            idx = self._find(frozenset({"a"}), _SCOPE_LIMIT)
            if idx >= 0:
                self._pop_to(idx)
        elif name in _HEADINGS and self.stack and self.stack[-1] in _HEADINGS:
            self._pop_to(len(self.stack) - 1)

    def _end(self, raw_name: str) -> None:
        name = self.rename.get(raw_name, raw_name)
        if self.dropped.get(name):
            self.dropped[name] -= 1
            return
        if name not in ALLOWED_TAGS or name in _VOID:
            return
        if name in _TABLE_PARTS:
            limits = frozenset() if name == "table" else frozenset({"table"})
        else:
            limits = _SCOPE_LIMIT
        idx = self._find(frozenset({name}), limits)
        if idx >= 0:
            self._pop_to(idx)


def normalise_html(html: str, *, max_depth: int = MAX_DEPTH,
                   rename: Mapping[str, str] | None = None) -> str:
    """Re-serialise `html` with allowed tags only, explicit nesting and bounded depth.

    Not a sanitizer on its own (attribute values are not checked): it prepares input for nh3
    and for the Markdown converter, whose costs grow with depth. Linear time.
    """
    return _Normaliser(max_depth, _RENAME if rename is None else rename).feed(_tokens(html))


# --- URLs --------------------------------------------------------------------------------------

_ENTITY_RE = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]{1,31};)")
_URL_JUNK_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?\.?")
_IPV6_RE = re.compile(r"[0-9a-f:.]+")
_URL_SAFE = "!$&*+,/:;=?@~%-._"  # kept as they are; everything else is percent-encoded
_MAX_RAW_URL = 8 * MAX_URL_LENGTH
_MAX_DECODE_ROUNDS = 4


def _decode_entities(url: str) -> str | None:
    """Decode character references until none is left (None if they keep coming).

    Numeric references decode with or without a semicolon, named ones only with it, so that a
    query string such as `?a=1&copy=2` keeps its meaning. Repeating undoes double encoding,
    which Markdown would otherwise hand to the browser as an entity in an href.
    """
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = _ENTITY_RE.sub(lambda m: htmllib.unescape(m.group()), url)
        if decoded == url:
            return url
        url = decoded
    return url if _ENTITY_RE.search(url) is None else None


def _quote_part(part: str) -> str:
    return quote(_BAD_PERCENT_RE.sub("%25", part), safe=_URL_SAFE)


def _normalise_host(host: str) -> str | None:
    if ":" in host:  # IPv6 literal (urlsplit strips the brackets)
        return f"[{host}]" if _IPV6_RE.fullmatch(host) else None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    host = host.lower()
    return host if _HOST_RE.fullmatch(host) else None


def clean_url(url: str | None, *, base: str | None = None,
              schemes: frozenset[str] = HTTP_SCHEMES) -> str | None:
    """Return `url` as a normalised absolute URL with an allowed scheme, or None.

    Entities are decoded first and control characters removed anywhere, as a browser would,
    so `&#106;avascript:`, `javascript&colon;` and `java\\tscript:` are all seen as javascript.
    Relative URLs are resolved against `base` (dropped without one). URLs with credentials,
    over `MAX_URL_LENGTH`, or starting with `{` or `|` (Pelican's link expansion) are refused.
    The result has no space, quote, bracket, parenthesis, backslash or brace left unencoded,
    so it can stand in a Markdown link as it is.
    """
    base_url = clean_url(base) if base else None
    return _clean_url(url, base_url, schemes)


def _clean_url(url: str | None, base_url: str | None, schemes: frozenset[str]) -> str | None:
    """`clean_url` with a base that is already clean (or None)."""
    if not url or len(url) > _MAX_RAW_URL:
        return None
    decoded = _decode_entities(url)
    if decoded is None:
        return None
    text = _URL_JUNK_RE.sub("", decoded).strip()
    if not text or text[0] in "{|":
        return None
    try:
        parts = urlsplit(text)
        if not parts.scheme:
            if base_url is None:
                return None
            parts = urlsplit(urljoin(base_url, text))
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            return None
        if scheme == "mailto":
            result = "mailto:" + _quote_part(parts.path)
            if parts.query:
                result += "?" + _quote_part(parts.query)
            return result if parts.path and len(result) <= MAX_URL_LENGTH else None
        if "@" in parts.netloc or not parts.hostname:
            return None
        host = _normalise_host(parts.hostname)
        port = parts.port  # ValueError when it is not a number in range
    except ValueError:
        return None
    if host is None:
        return None
    netloc = host if port is None else f"{host}:{port}"
    result = f"{scheme}://{netloc}{_quote_part(parts.path) or '/'}"
    if parts.query:
        result += "?" + _quote_part(parts.query)
    if parts.fragment:
        result += "#" + _quote_part(parts.fragment)
    return result if len(result) <= MAX_URL_LENGTH else None


# --- The sanitizer -----------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[0-9]{1,4}")
_SIZE_RE = re.compile(r"[0-9]{1,4}%?")
_SCOPES = frozenset({"row", "col", "rowgroup", "colgroup"})


def filter_attribute(tag: str, attr: str, value: str, *, base: str | None) -> str | None:
    """The value to keep for an allowed attribute, or None to drop it: URLs through
    `clean_url` (`base` must be clean already), numbers checked, the rest kept."""
    if attr == "href":
        return _clean_url(value, base, HREF_SCHEMES)
    if attr in ("src", "cite"):
        return _clean_url(value, base, HTTP_SCHEMES)
    if attr in ("width", "height"):
        return value if _SIZE_RE.fullmatch(value.strip()) else None
    if attr in ("start", "colspan", "rowspan"):
        return value.strip() if _NUMBER_RE.fullmatch(value.strip()) else None
    if attr == "scope":
        return value.strip().lower() if value.strip().lower() in _SCOPES else None
    return value


def sanitize_html(html: str, *, base_url: str | None) -> str:
    """Return `html` reduced to the allowlist, with every URL absolute and http(s)/mailto.

    Input over `MAX_HTML_CHARS` is cut (and logged); nesting beyond `MAX_DEPTH` is flattened
    first, so any input finishes in about linear time. Idempotent on its own output.
    """
    if not html:
        return ""
    if len(html) > MAX_HTML_CHARS:
        logger.warning("HTML of %d characters cut to %d (base %s)", len(html), MAX_HTML_CHARS,
                       base_url)
        html = html[:MAX_HTML_CHARS]
    prepared = normalise_html(strip_controls(html))
    base = clean_url(base_url) if base_url else None
    attr_filter: Callable[[str, str, str], str | None] = partial(filter_attribute, base=base)
    cleaned = nh3.clean(
        prepared,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items() if attrs},
        attribute_filter=attr_filter,
        url_schemes=set(HREF_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        # a post's pictures load as the reader reaches them, never blocking the page's text
        set_tag_attribute_values={"img": dict(IMAGE_LOADING)},
        strip_comments=True,
    )
    return strip_controls(cleaned)


# --- Plain text --------------------------------------------------------------------------------

# Elements whose content is never visible text.
_HIDDEN_CONTENT = frozenset({
    "script", "style", "template", "noscript", "head", "svg", "math", "object", "applet",
    "iframe", "noembed", "noframes", "frameset", "select", "datalist",
})
# Elements an excerpt leaves out besides those: headings, tables, figures and code blocks read as
# run-on words once their tags are gone ("…the library was the service. Who came in Over three
# months…"); an excerpt is the post's leading prose.
_NOT_PROSE = _HIDDEN_CONTENT | frozenset({
    "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "table", "figure", "figcaption", "pre",
})
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
    "tt", "u", "var", "big", "label", "wbr",
})


def strip_tags(html: str | None) -> str:
    """The visible text of an HTML fragment: tags removed, entities decoded once, whitespace
    collapsed to single spaces, one line. Content of script, style, svg and the like is dropped.

    A `<` that starts no tag stays text ("a < b"); an unclosed tag at the very end is kept as
    text too, since titles are mostly plain text that merely looks like markup.
    """
    if not html:
        return ""
    html = html[:MAX_HTML_CHARS]
    if "<" not in html:  # plain text (most titles, names and tags): one text token
        return collapse_whitespace(htmllib.unescape(html))
    return collapse_whitespace("".join(_visible_pieces(html)))


def leading_words(html: str | None, count: int, *,
                  prose: bool = False) -> tuple[list[str], bool]:
    """The first `count` words of `strip_tags(html)`, and whether it has more. `prose`: of
    its paragraphs, lists and quotes only (no headings, tables, figures or code blocks).

    Reads only as far into the fragment as it must: an excerpt of 60 words needs the first
    few hundred characters of a post, not all of it.
    """
    if not html:
        return [], False
    html = html[:MAX_HTML_CHARS]
    pieces: list[str] = []
    size = 0
    check_at = 256
    for piece in _visible_pieces(html, _NOT_PROSE if prose else _HIDDEN_CONTENT):
        pieces.append(piece)
        size += len(piece)
        if size >= check_at:  # at doubling sizes: linear in what is read
            check_at = size * 2
            words = _INVISIBLE_RE.sub(" ", "".join(pieces)).split()
            # The last word may go on in the next piece; the ones before it are whole.
            if len(words) > count + 1:
                return words[:count], True
    words = _INVISIBLE_RE.sub(" ", "".join(pieces)).split()
    return words[:count], len(words) > count


def _visible_pieces(html: str, hidden: frozenset[str] = _HIDDEN_CONTENT) -> Iterator[str]:
    """strip_tags' pieces of text, in order: decoded text, and a space for each block tag;
    nothing of the elements in `hidden`."""
    skip: str | None = None
    skip_depth = 0
    for kind, value, _ in _tokens(html, keep_partial=True):
        if skip is not None:
            if value == skip and kind != "text":
                skip_depth += 1 if kind == "start" else -1
                if skip_depth == 0:
                    skip = None
        elif kind == "text":
            yield htmllib.unescape(value)
        elif kind == "start" and value in hidden:
            skip, skip_depth = value, 1
        elif value not in _INLINE:
            yield " "


def collapse_whitespace(text: str) -> str:
    """One line: invisible and control characters removed, every run of whitespace (line and
    paragraph separators included) one space, no space at either end."""
    return " ".join(_INVISIBLE_RE.sub(" ", text).split())


_DANGLING = frozenset({"\u200d", "\ufe0e", "\ufe0f"})


def truncate_text(text: str, max_length: int) -> str:
    """Cut `text` to at most `max_length` characters, at a word boundary when one is near,
    ending in "…" when cut."""
    if len(text) <= max_length:
        return text
    if max_length < 2:
        return "…"[:max_length]
    cut = text[:max_length - 1]
    space = cut.rfind(" ")
    if space > (max_length * 2) // 3:
        cut = cut[:space]
    cut = cut.rstrip()
    while cut and cut[-1] in _DANGLING:  # a joiner or variation selector with nothing after
        cut = cut[:-1]
    return cut.rstrip() + "…"


def clean_text(text: str | None, *, max_length: int = 300) -> str:
    """Plain single-line text for a title, a name or a tag.

    Tags are stripped first, then entities decoded once, so `&lt;script&gt;` becomes the
    characters "<script>" (text, to be escaped by whoever writes it out) while a real
    `<script>` element disappears with its content. Control characters, line and paragraph
    separators go; whitespace collapses; the result is at most `max_length` characters.
    """
    return truncate_text(strip_tags(text), max_length)


# --- Names ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[^\s<>()\"']+@[^\s<>()\"']+")
_EMPTY_PARENS = re.compile(r"\(\s*\)")


def without_emails(text: str) -> str:
    """`text` with anything shaped like an e-mail address (and any stray `@`) removed."""
    text = _EMPTY_PARENS.sub(" ", _EMAIL.sub(" ", text).replace("@", " "))
    return " ".join(text.split()).strip(" ()")
