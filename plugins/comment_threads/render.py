"""The two hot paths of comment_threads, kept out of Markdown and Jinja.

A build renders every comment of every article; in a cold build of 5,000 posts with 15,000
comments, Python-Markdown + the sanitizer and the per-comment Jinja loop were most of the
plugin's cost. So:

- `plain_paragraphs`: a body that is nothing but plain paragraphs (most real comments) becomes
  `<p>…</p>` blocks directly, byte for byte what Markdown + `sanitize_html` give. Anything with a
  character or line shape Markdown could give meaning to returns None and takes the slow path.
  tests/plugins/test_comment_threads_render.py checks the equivalence on generated bodies.
- `thread_html`: the thread's `<li>` elements, written in Python once per article, byte for
  byte what the theme's former per-comment Jinja loop wrote (the test keeps that loop as its
  reference). Every field is escaped with markupsafe, as Jinja's autoescape did; `body_html`
  is the one field that is HTML (sanitized twice).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from . import CommentNode

MAX_INDENT = 4  # CSS classes depth-0 … depth-4; deeper replies say whom they answer
PLAIN_MAX_CHARS = 100_000  # longer bodies take the slow path (the sanitizer cuts at 2,000,000)

# Markdown extensions whose syntax needs a character or line start that `plain_paragraphs`
# refuses; with any other extension configured (smarty, nl2br, toc…) every body goes the slow
# way, since its output could differ.
PLAIN_SAFE_EXTENSIONS = frozenset(
    name for short in ("extra", "abbr", "def_list", "fenced_code", "footnotes", "tables",
                       "sane_lists", "codehilite")
    for name in (short, f"markdown.extensions.{short}"))

# Anything Markdown or the sanitizer could treat specially: its inline and block syntax
# (\ ` * _ [ ] ( ) < > & # ! | ~ = { } ^), control characters (dropped or placeholders), tabs,
# no-break spaces (written back as &nbsp;), Unicode line separators, BOMs, non-characters,
# surrogates.
_NOT_PLAIN = re.compile(
    "[\\\\`*_\\[\\](){}<>&#!|~=^\x00-\x09\x0b-\x1f\x7f-\xa0\xad\u1680\u180e\u2000-\u200f"
    "\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff0-\uffff\ud800-\udfff]")
# A line Markdown could read as block syntax: a list item, a rule, a setext underline, a quote,
# a definition (def_list), an indented code block or continuation. (_NOT_PLAIN leaves " " as the
# only whitespace besides "\n"; trailing spaces, a hard line break, are checked in the function.)
_BLOCK_START = re.compile(r"[-+*>: ]|\d+[.)]")
_LINE_BLOCK_START = re.compile(r"\n(?:[-+*>: ]|\d+[.)])")
_BLANK_LINES = re.compile(r"\n{2,}")


def plain_paragraphs(body: str) -> str | None:
    """`<p>` per blank-line-separated block of a body of plain prose, or None (use Markdown)."""
    text = body.strip("\n")
    if not text or len(text) > PLAIN_MAX_CHARS or _NOT_PLAIN.search(text) \
            or _BLOCK_START.match(text) or _LINE_BLOCK_START.search(text) \
            or " \n" in text or text[-1] == " ":
        return None
    return "\n".join(f"<p>{block}</p>" for block in _BLANK_LINES.split(text))


# The common case, decided without urlsplit: http(s), a plain host, printable ASCII after it.
_PLAIN_HTTP = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#][!-~]*)?\Z")


def http_url(value: object) -> str:
    """The theme's `http_url` check (plugins/theme_helpers): an http(s)/mailto URL or ""."""
    if not isinstance(value, str) or not value:
        return ""
    if _PLAIN_HTTP.match(value):
        return value
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return ""
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return ""
    return value if scheme in ("http", "https", "mailto") else ""


def _opening(node: CommentNode, depth: int, parent: CommentNode | None) -> str:
    cid = escape("comment-" + node.slug)
    author = escape(node.author or "Anonymous")
    website = http_url(node.website)
    who = f'<a href="{escape(website)}" rel="nofollow ugc">{author}</a>' if website else author
    date = node.date
    when = (f'<time datetime="{escape(date.isoformat())}">'
            f'{escape(date.strftime("%-d %B %Y at %H:%M"))}</time>') if date else "Permalink"
    reply = ""
    if depth > MAX_INDENT and parent is not None:
        reply = (f'<p class="in-reply-to">In reply to '
                 f'<a href="#{escape("comment-" + parent.slug)}">'
                 f'{escape(parent.author or "Anonymous")}</a></p>')
    return (f'    <li class="comment depth-{min(depth, MAX_INDENT)}" id="{cid}">\n'
            f'      <article class="comment-card" aria-label="Comment by {author}">\n'
            f'        <header class="comment-header">\n'
            f'          <p class="comment-author">{who}</p>\n'
            f'          <p class="meta"><a href="#{cid}">{when}</a></p>\n'
            f'        </header>\n'
            f'{reply}        <div class="comment-body">{node.body_html}</div>\n'
            f'      </article>\n'
            + ('<ol class="replies" role="list">' if node.children else ""))


def thread_html(roots: Iterable[CommentNode] | None) -> Markup:
    """The thread's `<li>` elements, replies nested in their parent's `<ol class="replies">`.

    The same walk as `comment_events` (no recursion, so a 100,000-deep chain is fine), writing
    each comment's start on the way down and its end on the way back. A thread whose HTML was
    made ahead (thread.Thread.html, by the same function) gives that.
    """
    ahead = getattr(roots, "html", None)
    if isinstance(ahead, str):
        return Markup(ahead)  # noqa: S704 - made by this function
    out: list[str] = []
    # (node, depth, parent, opening)
    stack: list[tuple[CommentNode, int, CommentNode | None, bool]] = [
        (node, 0, None, True) for node in reversed(list(roots or []))]
    while stack:
        node, depth, parent, opening = stack.pop()
        if not opening:
            out.append("</ol>    </li>\n" if node.children else "    </li>\n")
            continue
        out.append(_opening(node, depth, parent))
        stack.append((node, depth, parent, False))
        stack.extend((child, depth + 1, node, True) for child in reversed(node.children))
    return Markup("".join(out))  # noqa: S704 - every field above is escaped; bodies are sanitized
