"""The sanitize plugin: a real Pelican build of hostile aggregated posts yields clean pages."""

from __future__ import annotations

import copy
import logging
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pelican import signals
from pelican.settings import read_settings

import pelicanconf
from tests.pelicanbuild import run_pelican

ROOT = Path(__file__).resolve().parents[2]

HOSTILE_POST = """\
Title: Hostile post
Date: 2026-01-02 10:00
Category: Test
Slug: hostile
Member: evil-member
Original_url: https://evil.example/post/
Summary: Summary <script>alert('summary')</script> with \
<a href="javascript:alert(1)">a link</a> and <img src=x onerror=alert(2)>

Body text <script>alert('body')</script>

<p onclick="alert(3)" style="color:red">Clicky paragraph</p>

[markdown link](javascript:alert(4)) and [entity link](&#106;avascript:alert(5))

<a href="javascript&colon;alert(6)">raw link</a>
<img src="x" onerror="alert(7)">
<iframe src="https://evil.example/frame"></iframe>
<svg onload="alert(8)"><circle r="1"/></svg>
<a href="{filename}/other.md">intrasite</a>

Relative <a href="/about/">about</a> link.
"""

# A post by the site's own editors (no Member): the plugin must leave it alone.
EDITOR_POST = """\
Title: Editor post
Date: 2026-01-01 10:00
Category: Test
Slug: editor

Embed <script>window.editorEmbed = 1;</script>
"""


class _Scan(HTMLParser):
    """Collects what a browser would execute or follow."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "script":
            self._in_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name in ("href", "src", "action", "cite", "formaction") and value is not None:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _scan(path: Path) -> _Scan:
    scan = _Scan()
    scan.feed(path.read_text(encoding="utf-8"))
    scan.close()
    return scan


def _settings(tmp_path: Path, **extra: object) -> dict[str, object]:
    content = tmp_path / "content"
    return read_settings(override={
        "PATH": str(content),
        "OUTPUT_PATH": str(tmp_path / "output"),
        "CACHE_PATH": str(tmp_path / "cache"),
        "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "PLUGINS": ["sanitize"],
        "MARKDOWN": copy.deepcopy(pelicanconf.MARKDOWN),
        "SITEURL": "",
        "TIMEZONE": "UTC",
        "USE_FOLDER_AS_CATEGORY": False,
        "FEED_ALL_ATOM": None,
        "CATEGORY_FEED_ATOM": None,
        "AUTHOR_FEED_ATOM": None,
        "AUTHOR_FEED_RSS": None,
        "TRANSLATION_FEED_ATOM": None,
        "DELETE_OUTPUT_DIRECTORY": True,
        **extra,
    })


def _write_content(tmp_path: Path) -> None:
    posts = tmp_path / "content" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    (posts / "hostile.md").write_text(HOSTILE_POST, encoding="utf-8")
    (posts / "editor.md").write_text(EDITOR_POST, encoding="utf-8")


def _build(settings: dict[str, object]) -> None:
    run_pelican(settings)


def _assert_clean(output: Path) -> None:
    page = output / "hostile.html"
    assert page.exists()
    text = page.read_text(encoding="utf-8")
    assert "Clicky paragraph" in text and "raw link" in text  # the text itself survives
    assert "https://evil.example/about/" in text  # relative links made absolute
    for html_file in [page, output / "index.html"]:
        scan = _scan(html_file)
        assert not [s for s in scan.scripts if "alert" in s], html_file
        assert scan.handlers == [], html_file
        bad = [u for u in scan.urls
               if u.strip().lower().startswith(("javascript", "data:", "vbscript", "{", "|"))
               or "alert" in u]
        assert bad == [], html_file
        assert not {"iframe", "svg"} & scan.tags, html_file


@pytest.fixture(autouse=True)
def _quiet_pelican() -> None:
    logging.getLogger("pelican").setLevel(logging.ERROR)


def test_build_has_no_script_handler_or_javascript_url(tmp_path: Path) -> None:
    _write_content(tmp_path)
    _build(_settings(tmp_path))
    _assert_clean(tmp_path / "output")


def test_editor_pages_are_left_alone(tmp_path: Path) -> None:
    _write_content(tmp_path)
    _build(_settings(tmp_path))
    assert "window.editorEmbed" in "".join(_scan(tmp_path / "output" / "editor.html").scripts)


@pytest.mark.parametrize("layer", ["reader", "generator"])
def test_warm_build_from_content_cache_is_clean(tmp_path: Path, layer: str) -> None:
    _write_content(tmp_path)
    cached = {"CACHE_CONTENT": True, "LOAD_CONTENT_CACHE": True, "CONTENT_CACHING_LAYER": layer}
    _build(_settings(tmp_path, **cached))
    assert any((tmp_path / "cache").iterdir())
    _build(_settings(tmp_path, **cached))
    _assert_clean(tmp_path / "output")


@pytest.mark.parametrize("layer", ["generator", "reader"])
def test_cache_written_without_the_plugin_is_cleaned(tmp_path: Path, layer: str) -> None:
    _write_content(tmp_path)
    cached = {"CACHE_CONTENT": True, "LOAD_CONTENT_CACHE": True,
              "CONTENT_CACHING_LAYER": layer}
    # Signal connections outlive a Pelican instance: mute them for the build "without" it.
    with signals.content_object_init.muted(), signals.article_generator_finalized.muted(), \
            signals.readers_init.muted():
        _build(_settings(tmp_path, PLUGINS=[], **cached))
    assert "alert(" in (tmp_path / "output" / "hostile.html").read_text(encoding="utf-8")
    _build(_settings(tmp_path, **cached))
    _assert_clean(tmp_path / "output")
