"""The link check over hand-made output trees: what counts as internal, what counts as broken."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aggregator.errors import AggregatorError
from aggregator.linkcheck import BrokenLinksError, check_links, feed_text_urls

SITE = "https://network.example"


def write(output: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return output


def page(*links: str) -> str:
    return "<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>"


def broken(report: object) -> list[tuple[str, str]]:
    return [(b.page, b.url) for b in report.broken]  # type: ignore[attr-defined]


@pytest.fixture
def output(tmp_path: Path) -> Path:
    return write(tmp_path / "output", {
        "index.html": page('<a href="about/">About</a>'),
        "about/index.html": page('<a href="../">Home</a>'),
        "theme/css/site.css": "body{}",
        "theme/img/logo.png": "png",
        "café/index.html": page(),
        "feeds/all.atom.xml": "<feed/>",
    })


def test_relative_root_relative_and_absolute_links_resolve_in_the_output(output: Path) -> None:
    write(output, {"members/index.html": page(
        '<a href="../about/">a</a>', '<a href="/about/">b</a>', f'<a href="{SITE}/about/">c</a>',
        f'<a href="{SITE}">home</a>', '<a href="/about">folder without slash</a>',
        '<link rel="stylesheet" href="/theme/css/site.css">',
        '<a href="/feeds/all.atom.xml?utm=x#top">feed</a>', '<a href="/caf%C3%A9/">café</a>',
        '<img src="../theme/img/logo.png" srcset="/theme/img/logo.png 1x, /theme/img/logo.png 2x">'
    )})
    report = check_links(output, site_url=SITE)
    assert report.ok and broken(report) == []
    assert report.pages == 4 and report.links == 2 + 10


def test_broken_links_are_named_with_the_page_they_are_on(output: Path) -> None:
    write(output, {"members/index.html": page(
        '<a href="/members/gone/">x</a>', f'<a href="{SITE}/old/page.html">y</a>',
        '<img src="../theme/img/missing.png">', '<img alt="" srcset="/a.png 1x, /b.png 2x">',
        '<a href="/about/index.htm">z</a>')})
    report = check_links(output, site_url=SITE)
    assert broken(report) == [("members/index.html", "/members/gone/"),
                              ("members/index.html", f"{SITE}/old/page.html"),
                              ("members/index.html", "../theme/img/missing.png"),
                              ("members/index.html", "/a.png"),
                              ("members/index.html", "/b.png"),
                              ("members/index.html", "/about/index.htm")]
    assert report.broken[0].target == "members/gone/index.html"
    message = str(BrokenLinksError(report, output))
    assert message.startswith(f"6 broken internal link(s) in {output}:")
    assert "  members/index.html: /members/gone/ (no members/gone/index.html)" in message


def test_external_and_non_http_links_are_not_checked(output: Path) -> None:
    write(output, {"links/index.html": page(
        '<a href="https://other.example/missing/">other site</a>',
        '<a href="//cdn.example/x.js">protocol-relative</a>',
        '<a href="mailto:team@network.example">mail</a>', '<a href="tel:+441234">call</a>',
        '<a href="javascript:void(0)">js</a>', '<img src="data:image/png;base64,AAAA">',
        '<a href="#main">skip</a>', '<a href="">empty</a>', '<a>no href</a>',
        '<a href="http://network.example.evil.example/x/">look-alike host</a>')})
    report = check_links(output, site_url=SITE)
    assert report.ok
    assert report.links == 2 + 2  # the two pages' own links, then "#main" and "" (this page)


def test_a_site_under_a_sub_path_owns_only_that_path(tmp_path: Path) -> None:
    output = write(tmp_path / "out", {
        "index.html": page('<a href="https://host.example/network/about/">ours</a>',
                           '<a href="/network/about/">ours too</a>',
                           '<a href="/elsewhere/">the host\'s, not ours</a>',
                           '<a href="https://host.example/network/missing/">ours, broken</a>'),
        "about/index.html": page()})
    report = check_links(output, site_url="https://host.example/network/")
    assert broken(report) == [("index.html", "https://host.example/network/missing/")]


def test_relative_urls_only_when_siteurl_is_empty(tmp_path: Path) -> None:
    output = write(tmp_path / "out", {
        "index.html": page('<a href="about/">a</a>', '<a href="/nope/">b</a>',
                           '<a href="https://publicsectorblogs.org.uk/nope/">other host</a>'),
        "about/index.html": page()})
    assert broken(check_links(output, site_url="")) == [("index.html", "/nope/")]


def test_a_base_element_changes_what_relative_links_mean(tmp_path: Path) -> None:
    output = write(tmp_path / "out", {
        "deep/page/index.html": "<html><head><base href=\"/\"></head><body>"
                                '<a href="about/">a</a><a href="deep/">b</a></body></html>',
        "about/index.html": page()})
    assert broken(check_links(output, site_url=SITE)) == [("deep/page/index.html", "deep/")]


def test_links_written_by_members_are_reported_apart_and_do_not_fail(output: Path) -> None:
    post = output.parent / "content" / "posts" / "ann" / "2026" / "hello.md"
    post.parent.mkdir(parents=True)
    post.write_text("Title: Hello\nSlug: ann-hello\n\nSee [the old planet]"
                    f"({SITE}/old/planet/?a=1&amp;b=2) and <{SITE}/list/>.\n", encoding="utf-8")
    comment = output.parent / "content" / "comments" / "ann-hello" / "c1.md"
    comment.parent.mkdir(parents=True)
    comment.write_text(f"Author: Bob\n\n<p><a href=\"{SITE}/bob/#x\">me</a></p>\n")
    write(output, {"2026/03/ann-hello/index.html": page(
        f'<a href="{SITE}/old/planet/?a=1&amp;b=2">the old planet</a>',
        f'<a href="{SITE}/bob/#y">me</a>', '<a href="/not-from-a-member/">ours</a>')})
    urls = feed_text_urls(output.parent / "content")
    assert f"{SITE}/old/planet/?a=1&b=2" in urls and f"{SITE}/bob/" in urls
    report = check_links(output, site_url=SITE, member_urls=urls)
    assert broken(report) == [("2026/03/ann-hello/index.html", "/not-from-a-member/")]
    assert [b.url for b in report.foreign] == [f"{SITE}/old/planet/?a=1&b=2", f"{SITE}/bob/#y"]


def test_a_missing_output_or_a_bad_siteurl_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AggregatorError, match="no built site"):
        check_links(tmp_path / "missing")
    with pytest.raises(AggregatorError, match="SITEURL 'network.example'"):
        check_links(tmp_path, site_url="network.example")


# --- links kept between runs (make publish keeps them in var/) -----------------------------------
def _same_as_without_cache(output: Path, cache: Path, site_url: str = SITE) -> object:
    report = check_links(output, site_url=site_url, cache=cache)
    assert report == check_links(output, site_url=site_url)
    return report


def test_kept_links_are_checked_against_the_output_as_it_is_now(
        output: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Only pages written since the last run are parsed; every kept link is resolved again,
    so a page that went breaks the links to it on pages that did not change."""
    cache = tmp_path / "var" / "linkcheck.cache"
    write(output, {"members/index.html": page('<a href="/about/">a</a>', '<a href="/café/">c</a>')})
    first = _same_as_without_cache(output, cache)
    assert first.ok and cache.is_file()  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="aggregator.linkcheck"):
        again = check_links(output, site_url=SITE, cache=cache)
    assert again == first and "(0 parsed, the others kept)" in caplog.text
    (output / "about" / "index.html").unlink()  # kept pages link to it
    write(output, {"new/index.html": page('<a href="/gone/">g</a>')})  # a page written since
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="aggregator.linkcheck"):
        report = check_links(output, site_url=SITE, cache=cache)
    assert "(1 parsed, the others kept)" in caplog.text
    assert broken(report) == [("index.html", "about/"), ("members/index.html", "/about/"),
                              ("new/index.html", "/gone/")]
    assert report == check_links(output, site_url=SITE)
    write(output, {"new/index.html": page('<a href="/members/">now fine</a>', "<p>longer</p>")})
    assert broken(_same_as_without_cache(output, cache)) == [
        ("index.html", "about/"), ("members/index.html", "/about/")]


def test_an_unusable_or_other_sites_cache_only_costs_a_full_parse(
        output: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "linkcheck.cache"
    write(output, {"x/index.html": page('<a href="https://other.example/about/">o</a>')})
    assert check_links(output, site_url=SITE, cache=cache).links == 2  # x's link: external
    # kept for network.example; on other.example the same link is the site's own (and resolves)
    other = _same_as_without_cache(output, cache, "https://other.example")
    assert other.links == 3  # type: ignore[attr-defined]
    cache.write_bytes(b"\x00not marshal")
    with caplog.at_level(logging.WARNING, logger="aggregator.linkcheck"):
        report = _same_as_without_cache(output, cache)
    assert "link check cache unreadable, every page is parsed" in caplog.text
    assert str(cache) in caplog.text and report.ok  # type: ignore[attr-defined]


def test_members_text_is_read_only_when_a_link_is_broken(output: Path) -> None:
    asked: list[int] = []

    def urls() -> frozenset[str]:
        asked.append(1)
        return frozenset({f"{SITE}/theirs/"})

    assert check_links(output, site_url=SITE, member_urls=urls).ok and not asked
    write(output, {"post/index.html": page(f'<a href="{SITE}/theirs/">t</a>')})
    report = check_links(output, site_url=SITE, member_urls=urls)
    assert report.ok and [b.url for b in report.foreign] == [f"{SITE}/theirs/"] and asked == [1]
