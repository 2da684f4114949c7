"""Clean HTML → Markdown that Pelican's Markdown renders back to the same page, and excerpts.

The input is the output of `clean.sanitize_html`; the output is written into a post file and
rendered by Python-Markdown with the extensions in `pelicanconf.MARKDOWN`. Markdown passes raw
HTML through and does not check link schemes, so text must never turn into markup: every text
node is escaped (`<`, `>`, `&` as entities, Markdown's punctuation with backslashes, line-start
markers neutralised), and every URL goes through `clean_url` again.

What Markdown cannot express (tables, definition lists, figures, <sub>, <abbr>…) stays HTML,
written by our own serializer with all punctuation in text as character references, so that it
reads the same whether Markdown treats it as a raw block or as inline HTML inside a list item.
"""

from __future__ import annotations

import html as htmllib
import logging
import re
import warnings
from typing import Any

from bs4 import MarkupResemblesLocatorWarning
from bs4.element import Comment, NavigableString, Tag
from markdownify import ATX, MarkdownConverter

from aggregator.clean import (
    ALLOWED_ATTRIBUTES,
    HREF_SCHEMES,
    collapse_whitespace,
    filter_attribute,
    leading_words,
    normalise_html,
    strip_controls,
    truncate_text,
)
from aggregator.clean import (
    clean_url as _clean_url,
)

logger = logging.getLogger(__name__)

CONVERT_MAX_DEPTH = 100  # markdownify recurses: a few Python frames per level

# Backslash escapes that Python-Markdown understands; the rest become character references.
_BACKSLASHED = {c: "\\" + c for c in "\\`*_{}[]#"}
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;"}
_TEXT_TABLE = str.maketrans({**_BACKSLASHED, **_ENTITIES})
# Line-start markers, neutralised wherever a line could start: at the start of a text node
# and after whitespace (a node does not know where its line starts; escaping more is harmless).
_LIST_MARK_RE = re.compile(r"(^|\s)([-+])")
_FENCE_MARK_RE = re.compile(r"(^|\s)([=~])")
_ORDERED_MARK_RE = re.compile(r"(^|\s)([0-9]+)\.")
_LEADING_PUNCT_RE = re.compile(r"^([.)!])")
# Characters that split lines for Python's str.splitlines() or are plain junk in Markdown.
_ODD_SPACE_RE = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _escape_text(text: str) -> str:
    """Escape a run of text for a Markdown paragraph, keeping its spaces as they are."""
    text = _ODD_SPACE_RE.sub(" ", strip_controls(text)).replace("\t", " ")
    text = text.replace("\r", " ").replace("\n", " ")
    text = text.translate(_TEXT_TABLE)
    text = _LIST_MARK_RE.sub(r"\1\\\2", text)
    text = _FENCE_MARK_RE.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", text)
    text = _ORDERED_MARK_RE.sub(r"\1\2\\.", text)
    return _LEADING_PUNCT_RE.sub(r"\\\1", text)


def escape_markdown_inline(text: str) -> str:
    """Plain text → one line of Markdown that renders as the same visible text.

    For paragraphs and for Pelican's `Summary:` metadata, which Pelican renders as Markdown.
    Whitespace collapses to single spaces (as it does on the page anyway); nothing in the text
    can become a tag, an entity, a link, emphasis, code, a heading, a list or a quote.
    """
    return _escape_text(collapse_whitespace(text))


def _references(text: str) -> str:
    """Every ASCII character but letters, digits and space as a numeric character reference:
    inert in raw HTML blocks and in Markdown paragraphs alike."""
    return "".join(c if c.isalnum() or c == " " or not c.isascii() else f"&#{ord(c)};"
                   for c in text)


def _attribute(value: str) -> str:
    return htmllib.escape(value, quote=True)


# Containers whose conversion keeps a code block's lines and indentation intact.
_CODE_BLOCK_PARENTS = frozenset({"[document]", "div", "li", "ul", "ol", "blockquote"})
_RAW_BLOCKS = frozenset({"table", "dl", "figure"})
_RAW_INLINE = frozenset({"sub", "sup", "u", "ins", "del", "s", "small", "abbr", "cite", "q"})
_VOID = frozenset({"br", "hr", "img"})
_NEWLINE_AFTER = frozenset({
    "tr", "thead", "tbody", "tfoot", "li", "dt", "dd", "p", "figcaption", "blockquote", "pre",
    "ul", "ol", "h2", "h3", "h4", "h5", "h6", "h1", "div",
})


def _chomp(text: str) -> tuple[str, str, str]:
    """Move a leading/trailing space out of an inline element's text (`** x**` is no bold)."""
    prefix = " " if text[:1].isspace() else ""
    suffix = " " if text[-1:].isspace() else ""
    return prefix, suffix, text.strip()


class _Converter(MarkdownConverter):
    """markdownify with Python-Markdown's rules: 4-space list nesting, fences only at the top
    level, raw HTML where Markdown has no syntax, and our escaping."""

    def __init__(self) -> None:
        super().__init__(
            autolinks=False,
            bullets="-",
            heading_style=ATX,
            strong_em_symbol="*",
            wrap=True,  # collapse whitespace in text, newlines included
            wrap_width=None,
            escape_asterisks=False,
            escape_underscores=False,
            escape_misc=False,
        )

    # --- text ---

    def escape(self, text: str, parent_tags: set[str]) -> str:
        return _escape_text(text) if text else ""

    def process_tag(self, node: Any, parent_tags: set[str] | None = None) -> str:
        if isinstance(node, Tag) and node.name in _RAW_BLOCKS:
            return "\n\n" + _raw_html(node) + "\n\n"
        return str(super().process_tag(node, parent_tags=parent_tags))  # type: ignore[misc]

    # --- inline ---

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = _chomp(text)
        if not text:
            return ""
        href = _clean_url(_get(el, "href"), schemes=HREF_SCHEMES)
        if href is None:
            return prefix + text + suffix
        title = collapse_whitespace(_get(el, "title") or "")
        title_part = f' "{_references(title)}"' if title else ""
        return f"{prefix}[{text}]({href}{title_part}){suffix}"

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        alt = escape_markdown_inline(_get(el, "alt") or "")
        src = _clean_url(_get(el, "src"))
        if src is None:
            return alt
        title = collapse_whitespace(_get(el, "title") or "")
        title_part = f' "{_references(title)}"' if title else ""
        return f"![{alt}]({src}{title_part})"

    def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if parent_tags & {"_inline", "a", "code", "h1", "h2", "h3", "h4", "h5", "h6"}:
            return " "
        return "<br>\n"  # not two trailing spaces: trailing spaces are stripped

    def convert_code(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "pre" in parent_tags:
            return text
        raw = strip_controls(el.get_text())
        code = " ".join(raw.split())
        if not code:
            return ""
        prefix = " " if raw[0].isspace() else ""
        suffix = " " if raw[-1].isspace() else ""
        if "`" in code:  # no backtick fences: a run of three could open a fenced block
            return f"{prefix}<code>{_references(code)}</code>{suffix}"
        return f"{prefix}`{code}`{suffix}"

    def _raw_inline(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if not text.strip():
            return text
        attrs = ""
        if el.name == "abbr" and _get(el, "title"):
            attrs = f' title="{_attribute(collapse_whitespace(_get(el, "title") or ""))}"'
        return f"<{el.name}{attrs}>{text}</{el.name}>"

    convert_sub = convert_sup = convert_u = convert_ins = convert_del = _raw_inline
    convert_s = convert_small = convert_abbr = convert_cite = convert_q = _raw_inline

    # --- blocks ---

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags or not text:
            return text
        return f"\n\n{'#' * max(1, min(6, n))} {text}\n\n"

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n* * *\n\n"

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        code = _ODD_SPACE_RE.sub(" ", strip_controls(el.get_text())).replace("\r", "")
        lines = code.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            return ""
        ancestors = {parent.name for parent in el.parents}
        if not ancestors <= _CODE_BLOCK_PARENTS:
            # Inside a link, emphasis, heading…: the parent may reflow our lines, and raw code
            # text read as a paragraph would be markup. Character references are inert.
            return f"<pre><code>{_references(chr(10).join(lines))}</code></pre>"
        if ancestors & {"li", "blockquote"}:
            # Fenced blocks only work at the top level: indent instead.
            return "\n\n" + "\n".join("    " + line if line else "" for line in lines) + "\n\n"
        longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
        fence = "`" * max(3, longest + 1)
        return "\n\n" + fence + "\n" + "\n".join(lines) + "\n" + fence + "\n\n"

    def convert_div(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = (text or "").strip("\n").rstrip()  # keep the indentation of a code block
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        return "\n\n" + text + "\n\n" if text.strip() else ""

    def convert_li(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = (text or "").strip("\n").rstrip()
        if not text.strip():
            return ""
        parent = el.parent
        if parent is not None and parent.name == "ol":
            start_attr = _get(parent, "start") or ""
            start = int(start_attr) if re.fullmatch(r"[0-9]{1,9}", start_attr) else 1
            index = sum(1 for _ in el.find_previous_siblings("li"))
            bullet = f"{start + index}. "
        else:
            bullet = "- "
        lines = text.split("\n")
        if lines[0].startswith("    "):  # the item starts with an indented code block
            head, rest = "", lines
        else:
            head, rest = lines[0].lstrip(), lines[1:]
        body = ["    " + line if line else "" for line in rest]
        # An item of several blocks ends with a blank line, or the next item would be read
        # as part of its last block.
        end = "\n\n" if "\n\n" in text else "\n"
        # An item outside a list (the sanitizer keeps a stray <li>) starts a block of its own:
        # glued to the text before it, its lines would continue that paragraph, and an
        # indented code block in it would be read as text (raw HTML).
        opening = "" if parent is not None and parent.name in ("ul", "ol") else "\n\n"
        return opening + "\n".join([bullet + head, *body]) + end

    def convert_blockquote(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = (text or "").strip("\n").rstrip()  # keep the indentation of a code block
        if "_inline" in parent_tags:
            return " " + text.strip() + " "
        if not text.strip():
            return ""
        return "\n\n" + "\n".join("> " + line if line else ">"
                                    for line in text.split("\n")) + "\n\n"


def _get(el: Tag, name: str) -> str | None:
    value = el.get(name)
    if isinstance(value, list):  # bs4 gives multi-valued attributes (class, rel) as lists
        value = " ".join(value)
    return value


def _raw_html(root: Tag) -> str:
    """Serialise an element with the allowlist, entity-escaped text, no blank lines."""
    out: list[str] = []

    def walk(node: Any, in_pre: bool) -> None:
        if isinstance(node, Comment):
            return
        if isinstance(node, NavigableString):
            text = strip_controls(str(node))
            out.append(_references(text if in_pre else _SPACES_RE.sub(" ", text)))
            return
        if not isinstance(node, Tag):
            return
        name = node.name
        if name not in ALLOWED_ATTRIBUTES:
            for child in node.children:
                walk(child, in_pre)
            return
        attrs = []
        for attr in sorted(ALLOWED_ATTRIBUTES[name]):
            value = _get(node, attr)
            if value is None:
                continue
            kept = filter_attribute(name, attr, value, base=None)
            if kept is not None:
                attrs.append(f' {attr}="{_attribute(kept)}"')
        out.append(f"<{name}{''.join(attrs)}>")
        if name in _VOID:
            return
        for child in node.children:
            walk(child, in_pre or name == "pre")
        out.append(f"</{name}>")
        if name in _NEWLINE_AFTER:
            out.append("\n")

    walk(root, False)
    return "".join(out).strip("\n")


_SPACES_RE = re.compile(r"\s+")


def _tidy(markdown: str) -> str:
    """Normalise line endings, strip trailing spaces and collapse runs of blank lines, except
    inside fenced code blocks (whose content is literal)."""
    out: list[str] = []
    fence: str | None = None
    blank = 0
    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:
            out.append(line)
            if line == fence:
                fence = None
            continue
        line = line.rstrip()
        if _BARE_BULLET_RE.fullmatch(line):
            line += " "  # a list item that starts with a code block needs its space
        if _FENCE_RE.fullmatch(line):
            fence = line
        if not line:
            blank += 1
            if blank > 1:
                continue
        else:
            blank = 0
        out.append(line)
    return "\n".join(out).strip("\n")


_BARE_BULLET_RE = re.compile(r"(?:> ?)* *(?:-|[0-9]{1,10}\.)")  # in a quote too
_FENCE_RE = re.compile(r"`{3,}")


def html_to_markdown(clean_html: str) -> str:
    """Markdown for a sanitized HTML fragment (see `clean.sanitize_html`).

    Deterministic; "" for a fragment without content, else ending in exactly one newline, no
    trailing spaces, no more than one blank line in a row (outside code), no indentation on
    the first line.
    """
    if not clean_html or not clean_html.strip():
        return ""
    bounded = normalise_html(clean_html, max_depth=CONVERT_MAX_DEPTH, rename={})
    with warnings.catch_warnings():
        # BeautifulSoup warns when a short fragment looks like a file name or URL: it is
        # always markup here, never read from disk.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        markdown = _tidy(str(_Converter().convert(bounded)))
    return markdown + "\n" if markdown.strip() else ""


def excerpt(clean_html: str, *, words: int = 60) -> str:
    """About `words` words of plain text, cut at a word boundary, "…" when cut; one line.

    The post's leading prose: headings, tables, figures and code blocks are left out (without
    their tags their words run into the sentences around them), unless the post has no other
    text."""
    parts, more = leading_words(clean_html, words, prose=True)
    if not parts:
        parts, more = leading_words(clean_html, words)
    if not more:
        text = " ".join(parts)
    else:
        text = " ".join(parts).rstrip(",;:-–—") + "…"
    return truncate_text(text, max(words, 1) * 15)
