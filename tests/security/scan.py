"""Read built pages the way a browser's tokenizer does and list everything that could run.

`scan_site(output)` parses every HTML and XML file under output/ with html.parser (entities
decoded in attribute values, as a browser decodes them) and returns one line per finding: a
script that is not the theme's own, an event handler attribute, a javascript:/vbscript:/data:
URL in any URL-bearing attribute or in CSS, a frame, object, embed or foreign form, a <base>,
a <meta http-equiv> (but the theme's own Content Security Policy, exactly as base.html writes
it), a <style> element, SVG or MathML. Feeds (Atom, RSS) are read too, and the
HTML they carry escaped inside <content>, <summary> and <description> is scanned as HTML.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "themes" / "network" / "templates"

URL_ATTRIBUTES = frozenset({
    "href", "src", "action", "formaction", "srcset", "xlink:href", "poster", "background",
    "cite", "data", "codebase", "longdesc", "lowsrc", "dynsrc", "manifest", "icon", "ping",
    "srcdoc", "imagesrcset", "xml:base", "to", "from", "values", "by",
})
FORBIDDEN_TAGS = frozenset({
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "style", "svg", "math",
    "template", "isindex", "keygen", "portal", "xmp", "plaintext", "noembed", "noframes",
})
# A scheme after removing what browsers ignore inside one (whitespace and control characters).
_BAD_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript|mocha):", re.IGNORECASE)
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]")
_CSS_DANGER = re.compile(r"(javascript|vbscript|expression\s*\(|behavior\s*:|-moz-binding|"
                         r"@import|url\s*\(\s*['\"]?\s*data:)", re.IGNORECASE)
_META_SAFE = frozenset({"charset", "name", "property", "content"})


def _theme_policy() -> dict[str, str]:
    """The one <meta http-equiv> the theme writes: its Content Security Policy, exactly."""
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">',
                      (TEMPLATES / "base.html").read_text(encoding="utf-8"))
    assert found, "base.html has no Content-Security-Policy"
    return {"http-equiv": "Content-Security-Policy", "content": html.unescape(found[1])}


THEME_POLICY = _theme_policy()


def is_bad_url(value: str) -> bool:
    """True when a browser would read `value` as a script, VBScript or data: URL."""
    decoded = html.unescape(value)
    for candidate in (value, decoded):
        squeezed = _IGNORED_IN_SCHEME.sub("", candidate)
        if _BAD_SCHEME.match(squeezed):
            return True
    return False


def _srcset_urls(value: str) -> list[str]:
    return [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]


class _Scanner(HTMLParser):
    """Collects findings for one document.

    Like a browser with scripting on, it reads the content of <noscript>, <iframe>,
    <noembed>, <noframes>, <xmp>, <textarea> and <title> as text: markup hidden in an
    attribute inside them (`<noscript><p title="</noscript><img onerror=…>">`) is then seen
    where a browser sees it.
    """

    CDATA_CONTENT_ELEMENTS = ("script", "style", "noscript", "iframe", "noembed", "noframes",
                              "xmp", "textarea", "title")

    def __init__(self, where: str, *, in_feed: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.where = where
        self.in_feed = in_feed
        self.findings: list[str] = []
        self._script: dict[str, str] | None = None
        self._script_text: list[str] = []

    def _find(self, message: str) -> None:
        self.findings.append(f"{self.where}: {message}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        theme_chart = (tag == "svg" and not self.in_feed and values.get("class") == "chart"
                       and values.get("role") == "img")  # plugins/theme_helpers/charts.py
        if tag in FORBIDDEN_TAGS and not theme_chart:
            self._find(f"<{tag}> element {values}")
        if tag == "script":
            self._script = values
            self._script_text = []
        if tag == "form" and (self.in_feed or values.get("class") != "join-form"):
            self._find(f"foreign <form> {values}")
        if tag in ("button", "input") and any(k in values for k in ("formaction", "form")):
            self._find(f"<{tag}> with a form action {values}")
        if tag == "meta" and not set(values) <= _META_SAFE and \
                (self.in_feed or values != THEME_POLICY):
            self._find(f"<meta> with {sorted(set(values) - _META_SAFE)}: {values}")
        if tag == "link" and not self.in_feed and values.get("rel") not in (
                "stylesheet", "canonical", "alternate", "search"):
            self._find(f"<link rel={values.get('rel')!r}>")
        for name, value in values.items():
            if name.startswith("on"):
                self._find(f"<{tag}> event handler {name}={value!r}")
            elif name == "style":
                if _CSS_DANGER.search(html.unescape(value)):
                    self._find(f"<{tag}> style {value!r}")
            elif name in ("srcset", "imagesrcset"):
                if any(is_bad_url(u) for u in _srcset_urls(value)):
                    self._find(f"<{tag}> {name}={value!r}")
            elif name in URL_ATTRIBUTES and is_bad_url(value):
                self._find(f"<{tag}> {name}={value!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "script" or self._script is None:
            return
        attrs, body = self._script, "".join(self._script_text)
        self._script = None
        src = attrs.get("src")
        if src is not None:
            if self.in_feed or not (src.endswith("/pagefind/pagefind-ui.js")
                                    or "/theme/" in src):
                self._find(f"foreign <script src={src!r}>")
            return
        # the theme has no inline script (its Content Security Policy would not run one)
        self._find(f"foreign inline <script>: {body[:120]!r}")


def scan_html(text: str, where: str, *, in_feed: bool = False) -> list[str]:
    scanner = _Scanner(where, in_feed=in_feed)
    scanner.feed(text)
    scanner.close()
    return scanner.findings


_ATOM_TEXT = frozenset({"content", "summary", "title", "subtitle", "rights"})
_RSS_HTML = frozenset({"description", "encoded"})


def _carries_html(element: ET.Element, name: str, *, atom: bool) -> bool:
    """Atom text constructs by their type (absent means text); RSS description and content."""
    if atom:
        return name in _ATOM_TEXT and element.get("type", "text") == "html"
    return name in _RSS_HTML


def scan_xml(text: str, where: str) -> list[str]:
    """An XML output: its own markup, then any HTML it carries escaped in text nodes."""
    findings = scan_html(text, where, in_feed=True)
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        return [*findings, f"{where}: not well-formed XML: {exc}"]
    atom = root.tag.endswith("}feed") or root.tag == "feed"
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1].lower()
        for attr, value in element.attrib.items():
            if attr.rsplit("}", 1)[-1].lower() in ("href", "src", "url", "xmlurl", "htmlurl",
                                                   "base") and is_bad_url(value):
                findings.append(f"{where}: <{name} {attr}={value!r}>")
        if element.text and _carries_html(element, name, atom=atom):
            findings.extend(scan_html(element.text, f"{where} <{name}>", in_feed=True))
        if name == "link" and element.text and is_bad_url(element.text.strip()):
            findings.append(f"{where}: <link>{element.text!r}")
    return findings


def scan_site(output: Path) -> list[str]:
    """Every finding in every HTML and XML file of a built site."""
    findings: list[str] = []
    for path in sorted(output.rglob("*")):
        if not path.is_file():
            continue
        where = str(path.relative_to(output))
        if path.suffix == ".html":
            findings.extend(scan_html(path.read_text(encoding="utf-8"), where))
        elif path.suffix in (".xml", ".opml", ".atom", ".rss"):
            findings.extend(scan_xml(path.read_text(encoding="utf-8"), where))
    return findings
