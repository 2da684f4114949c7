"""The demo site in real headless Chromium: every page type passes axe-core at a phone and a
desktop width, no request leaves the site, and a reader walks from home to a post, its member,
the directory and a search result. Screenshots go to test-artifacts/demo/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from demo.server import FeedServer
from tests.httpserver import static_site
from tests.site.test_browser import ROOT, axe_violations, browser, open_page  # noqa: F401

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts" / "demo"
POST = "2026/10/council-digital-working-in-the-open-when-the-council-is-nervous/"
PAGES = {
    "home": "", "post": POST, "member": "members/council-digital/",
    "member-no-posts": "members/housing-ceo/", "directory": "members/", "sectors": "sectors/",
    "sector": "sectors/local-government/", "organisations": "organisations/",
    "regions": "regions/", "tags": "tags/", "archives": "archives/", "about": "about/",
    "join": "join/", "not-found": "404.html", "network": "network/", "search": "search/",
    "health": "health/", "page-1": "page/1/",
}


@pytest.fixture(scope="module")
def base_url(demo: tuple[Path, FeedServer]) -> Iterator[str]:
    """The built demo site on 127.0.0.1 under a sub-path, as a project site would be."""
    workdir, _feeds = demo
    with static_site(workdir / "output", sub_path="network") as url:
        yield url


@pytest.mark.parametrize("width", [375, 1280])
def test_every_demo_page_type_has_no_axe_violations(open_page, base_url: str,  # noqa: F811
                                                    width: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = open_page(width, axe=True)
    failures, missing = {}, []
    for name, path in PAGES.items():
        response = page.goto(base_url + path)
        if response is None or response.status != 200:
            missing.append(name)
            continue
        if name == "search":
            page.wait_for_selector(".pagefind-ui__search-input")
        found = axe_violations(page)
        if found:
            failures[name] = found
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    assert missing == []
    assert failures == {}


def test_reader_walks_the_demo_from_home_to_a_search_result(open_page,  # noqa: F811
                                                            base_url: str) -> None:
    page = open_page(1280)
    page.goto(base_url)
    title = "Working in the open when the council is nervous"
    page.get_by_role("link", name=title).first.click()
    assert page.locator("h1").inner_text() == title
    assert page.locator("[id^='comment-']").count() == 7
    page.locator(".attribution").get_by_role("link", name="Amira Hussain").click()
    assert page.locator("h1").inner_text() == "Amira Hussain"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    assert page.locator("h1").inner_text() == "Members"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    page.locator(".pagefind-ui__search-input").fill("handover")
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for()
    assert urlsplit(result.get_attribute("href")).path.startswith("/network/")
    result.click()
    assert "handover" in page.locator("main").inner_text().lower()
