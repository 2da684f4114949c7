"""The built site in real headless Chromium: axe-core, keyboard, widths, and a reader's walk.

Debian's /usr/bin/chromium driven by Playwright; the site is served from 127.0.0.1 and any
request to another host is refused and recorded. Screenshots go to test-artifacts/site/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aggregator.search_index import index_site
from tests.httpserver import static_site
from tests.site.sitebuild import DEEP_LEVELS, DEEP_URL, ROOT

pytestmark = pytest.mark.browser
playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "data" / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "site"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {
    "home": "", "post": "2026/03/alice-example-why-councils-should-blog/",
    "member": "members/alice-example/", "member-no-posts": "members/carol-newcomer/",
    "directory": "members/", "sectors": "sectors/", "sector": "sectors/local-government/",
    "organisation": "organisations/exampleshire-county-council/", "region": "regions/london/",
    "tags": "tags/", "tag": "tags/digital/", "archives": "archives/", "month": "2026/02/",
    "about": "about/", "join": "join/", "not-found": "404.html", "network": "network/",
    "search": "search/", "health": "health/", "accessibility": "accessibility/",
}


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The built site (with its Pagefind index) on 127.0.0.1, under a sub-path."""
    index_site(site, site.parent / "search-index.cache")  # as make publish indexes it
    with static_site(site, sub_path="network") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    with playwright_sync.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=30_000)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser, base_url: str):
    """A page factory at a given width; requests to any other host are aborted and listed."""
    contexts, outside = [], []

    def factory(width: int, *, axe: bool = False, scheme: str = "light"):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      color_scheme=scheme)
        contexts.append(context)
        if axe:  # in every document before its own scripts: cheaper than a tag per page
            context.add_init_script(path=str(AXE))
        context.set_default_timeout(10_000)

        def guard(route) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()
    assert outside == [], f"requests left the site: {outside}"


def axe_violations(page) -> list[str]:
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => v.id + ": " + v.help + " → " +
            v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", "));
    }""")
    return list(violations)


@pytest.mark.parametrize(("width", "scheme"), [(375, "light"), (1280, "light"),
                                              (1280, "dark")])
def test_every_page_type_has_no_axe_violations(open_page, base_url: str, width: int,
                                              scheme: str) -> None:
    """At a phone's and a desktop's width, and in the dark colours a reader's system may ask
    for (contrast is checked in both)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = open_page(width, axe=True, scheme=scheme)
    failures = {}
    for name, path in PAGES.items():
        page.goto(base_url + path)
        if name == "search":
            page.wait_for_selector(".pagefind-ui__search-input")
        found = axe_violations(page)
        if found:
            failures[name] = found
        suffix = "" if scheme == "light" else f"-{scheme}"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}{suffix}.png"), full_page=True)
    if scheme == "dark":  # the dark colours are in use
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == \
            "rgb(19, 22, 24)"
    assert failures == {}


def test_pages_fit_a_320px_screen_without_sideways_scrolling(open_page, base_url: str) -> None:
    page = open_page(320)
    wide = []
    for name, path in PAGES.items():
        page.goto(base_url + path)
        if page.evaluate("document.documentElement.scrollWidth") > 320:
            wide.append(name)
    assert wide == []


def test_tab_reaches_the_visible_skip_link_first(open_page, base_url: str) -> None:
    page = open_page(1280)
    page.goto(base_url + PAGES["post"])
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => { const e = document.activeElement;
        const r = e.getBoundingClientRect();
        return {text: e.textContent, top: r.top, height: r.height,
                bg: getComputedStyle(e).backgroundColor}; }""")
    assert focused["text"] == "Skip to main content"
    assert focused["top"] >= 0 and focused["height"] > 10
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_focus_is_visible_on_links(open_page, base_url: str) -> None:
    page = open_page(1280)
    page.goto(base_url)
    link = page.locator("main a").first
    before = link.evaluate("e => getComputedStyle(e).backgroundColor")
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    after = link.evaluate("e => getComputedStyle(e).backgroundColor")
    assert before != after


def test_reader_walks_from_home_to_post_member_directory_and_search(
        open_page, base_url: str) -> None:
    page = open_page(1280)
    page.goto(base_url)
    page.get_by_role("link", name="Why councils should blog").click()
    assert page.locator("h1").inner_text() == "Why councils should blog"
    page.locator(".attribution").get_by_role("link", name="Alice Example").click()
    assert page.locator("h1").inner_text() == "Alice Example"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    assert page.locator("h1").inner_text() == "Members"
    assert page.get_by_role("link", name="Carol Newcomer", exact=True).count() == 1
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    page.locator(".pagefind-ui__search-input").fill("weeknotes")
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for()
    assert urlsplit(result.get_attribute("href")).path.startswith("/network/2026/01/")
    result.click()
    assert page.locator("h1").inner_text() == "A year of weeknotes"


def test_search_finds_posts_of_every_year_and_members(open_page, base_url: str,
                                                      site: Path) -> None:
    """The index is a bundle per year of posts and one for the rest (make publish rebuilds
    only what changed): one search reads them all."""
    bundles = json.loads((site / "pagefind" / "shards.json").read_text(encoding="utf-8"))
    assert {"pagefind-shards/2024/", "pagefind-shards/2025/",
            "pagefind-shards/2026/"} <= set(bundles)
    page = open_page(1280)
    page.goto(base_url + "search/")

    def finds(words: str, expected: list[str]) -> None:
        """Wait until the results for `words` show every page of `expected`. Pagefind says
        "N results for …" before it swaps the last search's results for the new ones, and
        fills each result in on its own: reading the links at once read stale ones."""
        page.locator(".pagefind-ui__search-input").fill(words)
        page.wait_for_function("""([words, expected]) => {
            const message = document.querySelector('.pagefind-ui__message');
            if (!message || !message.textContent.includes('for ' + words)) { return false; }
            const shown = new Set(Array.from(document.querySelectorAll(
                '.pagefind-ui__result-link')).map(a => new URL(a.href).pathname));
            return expected.every(path => shown.has(path));
        }""", arg=[words, expected])

    finds("services", ["/network/2024/12/bob-quiet-service-standards-in-practice/",
                       "/network/2025/11/alice-example-winter-services-update/"])
    finds("Alice Example", ["/network/members/alice-example/"])


def test_search_results_can_be_narrowed_to_a_sector_or_a_member(open_page,
                                                                base_url: str) -> None:
    """Pagefind's filters, from each post's and member page's sector and member: with
    hundreds of members, "services" alone finds too much. The filters pass axe too."""
    page = open_page(1280, axe=True)
    page.goto(base_url + "search/?q=services")
    bob = "/network/2024/12/bob-quiet-service-standards-in-practice/"
    alice = "/network/2025/11/alice-example-winter-services-update/"

    def shows(wanted: str, unwanted: str) -> None:
        """Wait until the results show `wanted` and nothing whose address has `unwanted`
        (Pagefind fills results in one by one, after the count)."""
        page.wait_for_function("""([wanted, unwanted]) => {
            const shown = Array.from(document.querySelectorAll('.pagefind-ui__result-link'))
                .map(a => new URL(a.href).pathname);
            return shown.includes(wanted) && !shown.some(path => path.includes(unwanted));
        }""", arg=[wanted, unwanted])

    page.locator(".pagefind-ui__result-link").first.wait_for()
    page.locator(".pagefind-ui__filter-name", has_text="Sector").click()
    page.locator(".pagefind-ui__filter-label", has_text="Central government").click()
    shows(bob, "alice-example")
    assert axe_violations(page) == []
    page.locator(".pagefind-ui__filter-label", has_text="Central government").click()
    page.locator(".pagefind-ui__filter-name", has_text="Member").click()
    page.locator(".pagefind-ui__filter-label", has_text="Alice Example").click()
    shows(alice, "bob-quiet")


def test_a_search_has_an_address_to_share(open_page, base_url: str) -> None:
    """?q= runs the search; typing puts the words in the address; a member's result reads
    as words ("Organisation Example Council", not "OrganisationExample Council")."""
    page = open_page(1280)
    page.goto(base_url + "search/?q=weeknotes")
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for()
    assert urlsplit(result.get_attribute("href")).path.startswith("/network/2026/01/")
    assert page.locator(".pagefind-ui__search-input").input_value() == "weeknotes"
    page.locator(".pagefind-ui__search-input").fill("Alice Example")
    page.wait_for_function("() => location.search === '?q=Alice+Example'")
    member = page.locator(".pagefind-ui__result").filter(
        has=page.locator('a[href$="/members/alice-example/"]'))
    # Pagefind fills a result's excerpt after its link: wait for the words, not the link
    excerpt_box = member.first.locator(".pagefind-ui__result-excerpt").filter(
        has_text="Local government")
    excerpt_box.wait_for()
    excerpt = excerpt_box.inner_text()
    assert "Sector Local government" in excerpt and "SectorLocal" not in excerpt
    assert not excerpt.startswith("AE")  # the picture's stand-in initials are not text


def test_the_not_found_page_offers_a_search_for_the_missing_address(
        open_page, base_url: str, site: Path) -> None:
    """A moved post's old address still names it: the 404 page (as a server sends it for any
    missing path) links to a search for those words, which runs when followed."""
    page = open_page(1280)
    missing = base_url + "a-year-of-weeknotes.html"
    not_found = (site / "404.html").read_bytes()
    page.route(missing, lambda route: route.fulfill(status=404, body=not_found,
                                                    content_type="text/html"))
    page.goto(missing)
    link = page.locator("#search-missing")
    assert link.inner_text() == "Search the site for \u201ca year of weeknotes\u201d"
    link.click()
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for()
    assert urlsplit(result.get_attribute("href")).path.startswith("/network/2026/01/")
    # the page's own address gives no words: the plain link stays
    page.goto(base_url + "404.html")
    assert page.locator("#search-missing").inner_text() == "Search the site"


def test_the_footer_sits_at_the_foot_of_a_short_page(browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    try:
        page = context.new_page()
        page.goto(base_url + "404.html")
        bottom, height = page.evaluate("""() => [
            document.querySelector(".site-footer").getBoundingClientRect().bottom,
            window.innerHeight]""")
        assert abs(bottom - height) <= 1
        # and the health page's "as of" line keeps to the member cards' column
        page.goto(base_url + "health/")
        line, cards = page.evaluate("""() => [".health-meta", ".health-list"].map(
            s => document.querySelector(s).getBoundingClientRect().width)""")
        assert line <= cards
    finally:
        context.close()


CSP_WATCH = """document.addEventListener("securitypolicyviolation", e =>
    (window.__violations = window.__violations || []).push(
        e.violatedDirective + " " + (e.blockedURI || "inline")));"""


def test_every_page_type_runs_under_its_content_security_policy(browser,
                                                                 base_url: str) -> None:
    """The theme's policy allows everything the site itself does: no page reports a
    violation, a search included (Pagefind's WebAssembly and its index files)."""
    context = browser.new_context()
    try:
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        reported = {}
        for name, path in PAGES.items():
            page.goto(base_url + path + ("?q=weeknotes" if name == "search" else ""))
            if name == "search":
                page.locator(".pagefind-ui__result-link").first.wait_for()
            policy = page.locator('meta[http-equiv="Content-Security-Policy"]')
            assert "script-src 'self'" in (policy.get_attribute("content") or ""), name
            found = page.evaluate("() => window.__violations || []")
            if found:
                reported[name] = found
        assert reported == {}
    finally:
        context.close()


def test_a_script_slipped_into_a_post_would_not_run(browser, base_url: str, site: Path) -> None:
    """Defence in depth: were the sanitizers ever to let a script or an event handler
    through, the page's policy would stop it. The post page is served with both added."""
    context = browser.new_context()
    try:
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        path = PAGES["post"]
        html = (site / path / "index.html").read_text(encoding="utf-8")
        assert "<main" in html
        hostile = html.replace(
            "</main>", '<script>window.pwned = "inline";</script>'
            '<img src="data:," onerror="window.pwned = \'handler\'" alt=""></main>', 1)
        page.route(base_url + path, lambda route: route.fulfill(
            status=200, body=hostile.encode(), content_type="text/html"))
        page.goto(base_url + path)
        page.wait_for_function("() => (window.__violations || []).length >= 2")
        assert page.evaluate("() => typeof window.pwned") == "undefined"
        assert page.locator("h1").inner_text()  # the page itself is shown as usual
    finally:
        context.close()


def test_search_page_without_javascript_says_it_needs_it(browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + "search/")
        assert "Search needs JavaScript" in page.locator("main").inner_text()
    finally:
        context.close()


def test_every_page_but_search_reads_the_same_without_javascript(browser, open_page,
                                                                base_url: str) -> None:
    """What the accessibility statement promises: with scripts off, every page type shows
    the same content (the not-found page only lacks its suggested search)."""
    scripted = open_page(1280)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280,
                                                                       "height": 900})
    try:
        plain = context.new_page()
        for name, path in PAGES.items():
            if name == "search":
                continue  # says it needs JavaScript: test_search_page_without_javascript…
            scripted.goto(base_url + path)
            plain.goto(base_url + path)
            with_scripts = scripted.locator("main").inner_text()
            without = plain.locator("main").inner_text()
            assert plain.locator("h1").count() == 1, name
            if name == "not-found":
                assert without and set(without.splitlines()) <= set(with_scripts.splitlines())
            else:
                assert without == with_scripts, name
    finally:
        context.close()


def test_a_thousand_deep_thread_stays_readable_at_320px(open_page, base_url: str) -> None:
    page = open_page(320)
    page.goto(f"{base_url}{DEEP_URL}#comment-deep-{DEEP_LEVELS - 1}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    last = DEEP_LEVELS - 1
    for text in (f"Level {last}: still following", f"Reader {last - 1}"):
        box = page.get_by_text(text).last.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, text
        assert box["x"] <= 120  # indentation stopped: the text has room
    # Chromium's HTML parser stops nesting at 512 elements deep (about 250 comments): the
    # source nests all 1,000, and the first levels must nest in the browser's DOM too.
    parents = page.evaluate("""() => [1, 10, 100, 200].map(i =>
        document.getElementById('comment-deep-' + i).parentElement.closest('li.comment').id)""")
    assert parents == ["comment-deep-0", "comment-deep-9", "comment-deep-99", "comment-deep-199"]
