"""Small Jinja filters the theme needs. Each returns escaped text or a vetted value."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from .charts import bar_chart_svg

_SAFE_SCHEMES = ("http", "https", "mailto")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # str.isspace() is true exactly for \s


def http_url(value: Any) -> str:
    """The URL if it is http(s) or mailto without whitespace or control characters, else "".

    The aggregator already checks links; the theme checks again before writing an href.
    """
    if not isinstance(value, str) or not value:
        return ""
    if _SPACE_OR_CONTROL.search(value):
        return ""
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return ""
    return value if scheme in _SAFE_SCHEMES else ""


def initials(name: Any) -> str:
    """Up to two initials for the avatar placeholder ("Dave Briggs" → "DB")."""
    words = [w for w in str(name or "").replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def excerpt(text: Any, length: int = 320) -> str:
    """At most `length` characters of plain text, cut between words and ended with one "…".
    Jinja's `truncate` ended excerpts with "councillors,..." or "briefed....": a comma,
    colon, stop or ellipsis where the cut falls goes before the "…" does."""
    text = " ".join(str(text or "").split())
    if len(text) <= length:
        return text
    head = text[:length + 1]
    space = head.rfind(" ")
    head = head[:space] if space > length // 2 else text[:length]
    return head.rstrip(" ,;:.\u2026-\u2013\u2014") + "\u2026"


def bar_chart(series: list[tuple[str, int]], title: str, chart_id: str = "chart") -> Markup:
    """The SVG chart as markup (the serializer escaped every label)."""
    return Markup(bar_chart_svg(series, title=str(title), chart_id=chart_id))  # noqa: S704
