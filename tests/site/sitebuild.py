"""Build the fixture site with real Pelican, and read its HTML back as a small element tree."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pelican.settings import read_settings

from tests.pelicanbuild import run_pelican

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "site"
TODAY = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DEEP_POST = "alice-example-a-year-of-weeknotes"  # gets a generated 1,000-deep reply chain
DEEP_URL = f"2026/01/{DEEP_POST}/"
DEEP_LEVELS = 1000
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def write_deep_chain(content: Path, post_slug: str = DEEP_POST, levels: int = DEEP_LEVELS) -> None:
    """A chain of comment files, each answering the one before (the aggregator's layout).

    Generated rather than stored: a thousand files would bury the fixture. The last one carries
    a long unbroken word, the kind that pushes a narrow page sideways.
    """
    folder = content / "comments" / post_slug
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)
    for i in range(levels):
        reply = f"Replyto: deep-{i - 1}\n" if i else ""
        website = f"Website: https://reader{i}.example/\n" if i % 2 else ""
        body = f"Level {i}: still following the thread."
        if i == levels - 1:
            body += " " + "x" * 120
        when = (start + timedelta(minutes=i)).isoformat(sep=" ")
        (folder / f"deep-{i:04d}.md").write_text(
            f"Author: Reader {i}\n{website}Date: {when}\nSlug: deep-{i}\n{reply}\n{body}\n",
            encoding="utf-8")


def build_site(tmp: Path, *, conf: str = "pelicanconf.py", deep_chain: bool = True,
               **overrides: Any) -> Path:
    """Copy the fixture content (and the project's pages) into `tmp`, build, return output/."""
    content = tmp / "content"
    shutil.copytree(FIXTURE / "content", content)
    shutil.copytree(ROOT / "content" / "pages", content / "pages")
    if deep_chain:
        write_deep_chain(content)
    output = tmp / "output"
    settings = read_settings(path=str(ROOT / conf), override={
        "PATH": str(content), "OUTPUT_PATH": str(output), "CACHE_PATH": str(tmp / "cache"),
        "MEMBERS_FILE": str(FIXTURE / "members.yaml"), "NETWORK_TODAY": TODAY,
        "DEFAULT_PAGINATION": 3, "LOAD_CONTENT_CACHE": False, "CACHE_CONTENT": False,
        "AGGREGATOR_STATE": str(tmp / "var" / "state.sqlite3"),  # none: the aggregator never ran
        **overrides})
    run_pelican(settings)
    return output


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    parts: list[str | Element] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All the text inside, in document order (iterative: threads nest a thousand deep)."""
        out: list[str] = []
        stack: list[str | Element] = list(reversed(self.parts))
        while stack:
            part = stack.pop()
            if isinstance(part, str):
                out.append(part)
            else:
                stack.extend(reversed(part.parts))
        return "".join(out)

    def iter(self, tag: str | None = None) -> list[Element]:
        """Descendants in document order, optionally only those with `tag`."""
        found = []
        stack = list(reversed(self.children))
        while stack:
            child = stack.pop()
            if tag is None or child.tag == tag:
                found.append(child)
            stack.extend(reversed(child.children))
        return found

    def find_id(self, ident: str) -> Element | None:
        return next((e for e in self.iter() if e.attrs.get("id") == ident), None)

    def ancestors(self) -> list[Element]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(element)
        self.stack[-1].parts.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(data)


def parse_html(path: Path) -> Element:
    return parse_html_text(path.read_text(encoding="utf-8"))


def parse_html_text(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def page(output: Path, url: str) -> Element:
    """The parsed page at a directory-style URL ("members/" → members/index.html)."""
    target = output / url
    return parse_html(target / "index.html" if url.endswith("/") or not url else target)
