"""A fast path for the common feed: well-formed RSS 2.0 as WordPress and most blogs write it.

feedparser spends about 30 ms on a 50-post feed (a Python call per element, its many
namespace handlers, its dictionaries). This module reads the same document with expat alone, in
a few milliseconds, and hands parse.py the same values feedparser would have given it, for the
keys parse.py reads: the same text after the same steps (whitespace stripped, relative URIs
resolved against the same base, feedparser's own mojibake and cp1252 repairs, its HTML sniffing
of plain-text titles, its date parser, its author and category rules).

It accepts only what it was built for, and says so by returning None for anything else:
another format or version, a document feedparser would call not well formed, an encoding
problem, a DOCTYPE (so no entity is ever declared, let alone expanded or fetched), xml:base,
markup inside a text element, an element or attribute it does not know. parse.py then runs
feedparser, exactly as before. tests/aggregator/test_fastparse.py runs both over every feed we
have and compares the results field by field.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

# Imported on first use, in the worker that parses: the same helpers feedparser uses, so that
# URLs, dates and text come out byte for byte the same.
_HELPERS: dict[str, Any] = {}

_RSS_NONE = ""
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_WFW_NS = "http://wellformedweb.org/commentapi/"
_SLASH_NS = "http://purl.org/rss/1.0/modules/slash/"
_SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
_ATOM_NS = "http://www.w3.org/2005/atom"
# Namespaces whose declaration alone changes what feedparser calls the document.
_VERSION_NS = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})

# (namespace, local name) → what the element is, inside an item.
_ITEM_TEXT = {
    (_RSS_NONE, "title"): "title",
    (_RSS_NONE, "link"): "link",
    (_RSS_NONE, "description"): "description",
    (_RSS_NONE, "guid"): "guid",
    (_RSS_NONE, "pubdate"): "published",
    (_RSS_NONE, "comments"): "comments",
    (_RSS_NONE, "category"): "category",
    (_RSS_NONE, "author"): "author",
    (_CONTENT_NS, "encoded"): "content",
    (_DC_NS, "creator"): "author",
    (_WFW_NS, "commentrss"): "wfw_commentrss",
    (_WFW_NS, "comment"): "wfw_comment",
    (_SLASH_NS, "comments"): "slash_comments",
}
# Inside the channel: the elements whose values parse.py reads…
_CHANNEL_TEXT = {
    (_RSS_NONE, "title"): "title",
    (_RSS_NONE, "link"): "link",
    (_RSS_NONE, "generator"): "generator",
}
# …and leaf elements that feedparser stores under keys parse.py never reads.
_CHANNEL_IGNORED = frozenset({
    (_RSS_NONE, "description"), (_RSS_NONE, "language"), (_RSS_NONE, "lastbuilddate"),
    (_RSS_NONE, "pubdate"), (_RSS_NONE, "docs"), (_RSS_NONE, "ttl"),
    (_RSS_NONE, "copyright"), (_SY_NS, "updateperiod"), (_SY_NS, "updatefrequency"),
    (_SY_NS, "updatebase"),
})
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
# Attributes each element may carry (lower-cased, as feedparser sees them).
_ITEM_ATTRIBUTES = {"guid": frozenset({"ispermalink"}), "category": frozenset({"domain"})}
_ENCLOSURE_ATTRIBUTES = frozenset({"url", "length", "type"})
_ATOM_LINK_ATTRIBUTES = frozenset({"href", "rel", "type", "title", "hreflang", "length"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_EMAIL = re.compile(r'''(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?''')  # noqa: E501 - feedparser's own pattern, kept verbatim


class _Decline(Exception):
    """The document is outside what this reader handles: feedparser reads it instead."""


_IMPORTING = threading.Lock()


def load_feedparser() -> Any:
    """feedparser, imported on first use (a run where every feed says 304 never needs it) by
    one thread at a time. A small run parses in threads, and feedparser's modules import one
    another: two threads importing them at once can each be handed the other's half-made
    module ("cannot import name '_FeedParserMixin' from partially initialized module
    'feedparser.mixin'", which once failed two feeds of a demo fetch)."""
    with _IMPORTING:
        import feedparser
    return feedparser


def _helpers() -> dict[str, Any]:
    if not _HELPERS:
        load_feedparser()  # the package whole, then its parts from sys.modules
        from feedparser.datetimes import _parse_date
        from feedparser.encodings import convert_to_utf8
        from feedparser.html import _cp1252
        from feedparser.mixin import _FeedParserMixin
        from feedparser.urls import _urljoin, make_safe_absolute_uri

        _HELPERS.update(parse_date=_parse_date, convert_to_utf8=convert_to_utf8,
                        cp1252=_cp1252, looks_like_html=_FeedParserMixin.looks_like_html,
                        urljoin=_urljoin, safe_uri=make_safe_absolute_uri)
    return _HELPERS


def _refuse(*_args: object) -> None:
    raise _Decline("declarations are not read here")


def _refuse_external(*_args: object) -> int:
    raise _Decline("external entities are never read")


def _base_uri(content_location: str, safe_uri: Callable[..., str],
              urljoin: Callable[[str, str], str]) -> str:
    """The base feedparser resolves against, as it stands once the root element has started
    (it recomputes it at every element: it must be a fixed point, or we decline)."""
    base = safe_uri("", content_location) or safe_uri(content_location) or ""

    def step(current: str) -> str:
        if current:
            return safe_uri(current, current) or current
        return urljoin(current, current)

    first = step(base)
    if step(first) != first:
        raise _Decline("the base URI is not stable")
    return first


class _Rss20:
    """expat callbacks building feedparser's view of an RSS 2.0 document (see module doc)."""

    def __init__(self, base: str, helpers: dict[str, Any]) -> None:
        self.base = base
        self.h = helpers
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.stack: list[tuple[str, str]] = []  # (namespace, local name) of open elements
        self.text: list[str] | None = None  # pieces of the open leaf element, if it has text
        self.leaf: tuple[str, dict[str, str]] | None = None  # its role and attributes
        self.entry: dict[str, Any] | None = None
        self.depths: dict[str, int] = {}  # feedparser's property_depth_map for the entry
        self.title_depth = -1
        self.has_content = False
        self.guid_is_link = False
        self.in_image = False
        self.seen_channel = False
        self.keys: dict[str, tuple[str, str]] = {}  # expat's name → (namespace, local name)

    # --- expat -------------------------------------------------------------------------------

    def start(self, name: str, attributes: dict[str, str]) -> None:
        key = self.keys.get(name)
        if key is None:
            namespace, _, local = name.rpartition("\x01")
            key = self.keys[name] = (namespace.lower(), local.lower())
        if self.text is not None:
            raise _Decline("markup inside a text element")
        depth = len(self.stack) + 1  # feedparser's self.depth once this element has started
        attrs: dict[str, str] = {}
        if attributes:
            if "\x01" in "".join(attributes):
                raise _Decline("namespaced attribute")
            attrs = {k.lower(): v for k, v in attributes.items()}
        parent = self.stack[-1] if self.stack else None
        self.stack.append(key)
        if depth == 1:
            if key != (_RSS_NONE, "rss") or not attrs.get("version", "").startswith("2."):
                raise _Decline("not RSS 2.0")
            if set(attrs) - {"version"}:
                raise _Decline("unknown attribute on rss")
            return
        if depth == 2:
            if key != (_RSS_NONE, "channel") or attrs or self.seen_channel:
                raise _Decline("not a single plain channel")
            self.seen_channel = True
            return
        if parent == (_RSS_NONE, "channel"):
            self._channel_child(key, attrs, depth)
        elif parent == (_RSS_NONE, "item"):
            self._item_child(key, attrs, depth)
        elif parent == (_RSS_NONE, "image") and self.in_image:
            if key[0] != _RSS_NONE or key[1] not in _IMAGE_CHILDREN or attrs:
                raise _Decline("unknown element in image")
            self._open(f"image:{key[1]}", attrs)
        else:
            raise _Decline("unexpected nesting")

    def _channel_child(self, key: tuple[str, str], attrs: dict[str, str], depth: int) -> None:
        if key == (_RSS_NONE, "item"):
            if attrs:
                raise _Decline("attributes on item")
            self.entry = {}
            self.entries.append(self.entry)
            self.depths = {}
            self.guid_is_link = False
            self.title_depth = -1
            return
        if key == (_RSS_NONE, "image"):
            if attrs:
                raise _Decline("attributes on image")
            self.in_image = True
            self.title_depth = -1
            return
        if key == (_ATOM_NS, "link"):
            self._atom_link(attrs)
            self._open("ignored", attrs)
            return
        role = _CHANNEL_TEXT.get(key)
        if role is None:
            if key not in _CHANNEL_IGNORED:
                raise _Decline(f"unknown channel element {key}")
            role = "ignored"
        if attrs:
            raise _Decline("attributes on a channel element")
        self._open(f"feed:{role}", attrs)

    def _atom_link(self, attrs: dict[str, str]) -> None:
        """<atom:link> in a channel: feedparser takes it for <link>; only an alternate HTML
        link with an href changes the feed's link."""
        if set(attrs) - _ATOM_LINK_ATTRIBUTES or "href" not in attrs:
            raise _Decline("atom:link without href or with unknown attributes")
        rel = attrs.get("rel", "alternate").lower()
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and _content_type(kind.lower()) in _HTML_TYPES:
            self.feed["link"] = self.h["urljoin"](self.base, attrs["href"])

    def _item_child(self, key: tuple[str, str], attrs: dict[str, str], depth: int) -> None:
        if key == (_RSS_NONE, "enclosure"):
            if set(attrs) - _ENCLOSURE_ATTRIBUTES:
                raise _Decline("unknown enclosure attribute")
            self._open("ignored", attrs)
            return
        role = _ITEM_TEXT.get(key)
        if role is None:
            raise _Decline(f"unknown item element {key}")
        if set(attrs) - _ITEM_ATTRIBUTES.get(role, frozenset()):
            raise _Decline(f"unknown attribute on {key}")
        entry = self.entry
        assert entry is not None
        if role == "description" and "summary" in entry and not self.has_content:
            raise _Decline("a second description")
        if role == "content":
            self.has_content = True
        elif role == "guid":
            self.guid_is_link = attrs.get("ispermalink", "true") == "true"
        elif role == "category":
            self._add_tag(None, attrs.get("domain"), None)
        elif role == "author":
            entry.setdefault("authors", []).append({})
        self._open(role, attrs)

    def _open(self, role: str, attrs: dict[str, str]) -> None:
        self.leaf = (role, attrs)
        self.text = []

    def data(self, text: str) -> None:
        pieces = self.text
        if pieces is not None:
            pieces.append(text)
        elif text.strip() and self.stack and self.stack[-1] != (_RSS_NONE, "rss"):
            raise _Decline("text where feedparser would keep it")

    def end(self, name: str) -> None:
        depth = len(self.stack)
        key = self.stack.pop()
        if self.text is None:  # a container closes
            if key == (_RSS_NONE, "item"):
                self.entry = None
                self.has_content = False
            elif key == (_RSS_NONE, "image"):
                self.in_image = False
            return
        pieces, self.text = self.text, None
        assert self.leaf is not None
        role, _attrs = self.leaf
        self.leaf = None
        if role == "ignored" or role.startswith("image:"):
            if role == "image:title" and "".join(pieces).strip():
                self.title_depth = depth  # kept in feed.image, but it moves the title depth
            return
        if role.startswith("feed:"):
            self._end_feed(role[5:], "".join(pieces), depth)
        else:
            self._end_item(role, "".join(pieces), depth)

    # --- feedparser's pop(), for the elements above ------------------------------------------

    def _finish(self, text: str) -> str:
        """The tail of feedparser's pop(): its latin-1/UTF-8 repair and cp1252 mapping (both
        leave ASCII as it is)."""
        if text.isascii():
            return text
        try:
            text = text.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        return text.translate(self.h["cp1252"])

    def _detail(self, kind: str, value: str) -> dict[str, Any]:
        return {"type": kind, "language": None, "base": self.base, "value": value}

    def _end_feed(self, role: str, raw: str, depth: int) -> None:
        output = raw.strip()
        if role == "title":
            kind = "text/plain"
            if self.h["looks_like_html"](output):
                kind = "text/html"
            output = self._finish(output)
            if not -1 < self.title_depth <= depth:  # feedparser keeps the first title only
                self.feed["title"] = output
                self.feed["title_detail"] = self._detail(kind, output)
            if output:
                self.title_depth = depth
        elif role == "link":
            if output:
                output = self.h["urljoin"](self.base, output)
            output = _ENTITY_IN_LINK.sub(r"&\g<1>", self._finish(output))
            self.feed["link"] = output
        elif role == "generator":
            self.feed["generator"] = self._finish(output)

    def _store(self, entry: dict[str, Any], key: str, value: Any, depth: int) -> None:
        old = self.depths.get(key)
        if old is None or depth <= old:
            self.depths[key] = depth
            entry[key] = value

    def _end_item(self, role: str, raw: str, depth: int) -> None:
        entry = self.entry
        assert entry is not None
        output = raw.strip()
        h = self.h
        if role in ("link", "comments", "wfw_commentrss", "wfw_comment") and output:
            output = h["urljoin"](self.base, output)
        elif role == "guid" and output and self.guid_is_link:
            output = h["urljoin"](self.base, output)
        if role == "title":
            kind = "text/plain"
            if h["looks_like_html"](output):
                kind = "text/html"
            output = self._finish(output)
            if not -1 < self.title_depth <= depth:  # feedparser keeps the first title only
                self._store(entry, "title", output, depth)
                entry["title_detail"] = self._detail(kind, output)
            if output:
                self.title_depth = depth
            return
        output = self._finish(output)
        if role == "link":
            output = output.replace("&amp;", "&")
            output = _ENTITY_IN_LINK.sub(r"&\g<1>", output)
            entry["link"] = output
        elif role == "content":
            entry.setdefault("content", []).append(self._detail("text/html", output))
            entry.setdefault("summary", output)  # feedparser's _end_content: _save('summary')
        elif role == "description":
            self._store(entry, "summary", output, depth)
            entry["summary_detail"] = self._detail("text/html", output)
        elif role == "guid":
            self._store(entry, "id", output, depth)
            entry.setdefault("guidislink", self.guid_is_link and "link" not in entry)
            if self.guid_is_link:
                entry.setdefault("link", output)
        elif role == "published":
            self._store(entry, "published", output, depth)
            entry["published_parsed"] = h["parse_date"](output)
        elif role == "category":
            if output:
                tags = entry["tags"]
                if tags and not tags[-1]["term"]:
                    tags[-1]["term"] = output
                else:
                    self._add_tag(output, None, None)
        elif role == "author":
            self._store(entry, "author", output, depth)
            self._sync_author(entry)
        else:  # comments, wfw_commentrss, wfw_comment, slash_comments
            self._store(entry, role, output, depth)

    def _add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        assert self.entry is not None
        tags = self.entry.setdefault("tags", [])
        if not term and not scheme and not label:
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    @staticmethod
    def _sync_author(entry: dict[str, Any]) -> None:
        """feedparser's _sync_author_detail for an author given as text (RSS, dc:creator)."""
        detail = entry.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                entry["author"] = f"{name} ({email})"
            elif name:
                entry["author"] = name
            elif email:
                entry["author"] = email
            return
        author, email = entry.get("author"), None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            entry.setdefault("author_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email


def _content_type(kind: str) -> str:
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(kind, kind)


def parse_rss20(body: bytes, headers: Mapping[str, str], *, url: str) -> dict[str, Any] | None:
    """feedparser's result (the keys parse.py reads) for a well-formed RSS 2.0 body, or None
    when this reader does not handle the document and feedparser must."""
    import pyexpat

    h = _helpers()
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", url)
    result: dict[str, Any] = {}
    data = h["convert_to_utf8"](response_headers, body, result)
    if result.get("bozo") or not result.get("encoding"):
        return None  # feedparser's encoding rules found something to complain about
    try:
        base = _base_uri(response_headers.get("content-location", ""), h["safe_uri"],
                         h["urljoin"])
    except _Decline:
        return None
    reader = _Rss20(base, h)
    parser = pyexpat.ParserCreate("utf-8", "\x01")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartNamespaceDeclHandler = _namespace_check
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    try:
        parser.Parse(data, True)
    except (_Decline, pyexpat.ExpatError, RecursionError, ValueError):
        return None
    if not reader.seen_channel:
        return None
    return {"version": "rss20", "bozo": False, "feed": reader.feed, "entries": reader.entries}


def _namespace_check(prefix: str | None, uri: str | None) -> None:
    if uri and uri.lower() in _VERSION_NS:
        raise _Decline("a namespace that makes feedparser call this another format")
