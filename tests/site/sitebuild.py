"""Build the fixture site with real Pelican, and read its HTML back as a small element tree."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pelican import Pelican
from pelican.settings import read_settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "site"
TODAY = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def build_site(tmp: Path, *, conf: str = "pelicanconf.py", **overrides: Any) -> Path:
    """Copy the fixture content (and the project's pages) into `tmp`, build, return output/."""
    content = tmp / "content"
    shutil.copytree(FIXTURE / "content", content)
    shutil.copytree(ROOT / "content" / "pages", content / "pages")
    output = tmp / "output"
    settings = read_settings(path=str(ROOT / conf), override={
        "PATH": str(content), "OUTPUT_PATH": str(output), "CACHE_PATH": str(tmp / "cache"),
        "MEMBERS_FILE": str(FIXTURE / "members.yaml"), "NETWORK_TODAY": TODAY,
        "DEFAULT_PAGINATION": 3, "LOAD_CONTENT_CACHE": False, "CACHE_CONTENT": False,
        **overrides})
    Pelican(settings).run()
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
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def iter(self, tag: str | None = None) -> list[Element]:
        found = []
        for child in self.children:
            if tag is None or child.tag == tag:
                found.append(child)
            found.extend(child.iter(tag))
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
    builder = _TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    return builder.root


def page(output: Path, url: str) -> Element:
    """The parsed page at a directory-style URL ("members/" → members/index.html)."""
    target = output / url
    return parse_html(target / "index.html" if url.endswith("/") or not url else target)
