"""The site as a reader gets it: every page type, attribution, directory, OPML, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from ruamel.yaml import YAML

from tests.site.sitebuild import (
    DEEP_URL,
    FIXTURE,
    ROOT,
    build_site,
    page,
    parse_html,
    parse_html_text,
)

POST = "2026/03/alice-example-why-councils-should-blog/"
HOSTILE = "2026/03/alice-example-hostile-title/"
REGISTRY = YAML(typ="safe").load((FIXTURE / "members.yaml").read_text())["members"]


def hrefs(root, tag: str = "a") -> list[str]:
    return [e.attrs.get("href", "") for e in root.iter(tag)]


@pytest.mark.parametrize("url", [
    "", "page/1/", POST, "members/", "members/alice-example/", "members/carol-newcomer/",
    "sectors/", "sectors/local-government/", "organisations/", "organisations/"
    "exampleshire-county-council/", "regions/", "regions/north-west/", "tags/",
    "tags/digital/", "archives/", "2026/03/", "about/", "join/", "404.html", "network/",
    "search/", "health/", "accessibility/", "privacy/",
])
def test_every_page_type_is_built_with_landmarks_and_one_h1(site: Path, url: str) -> None:
    root = page(site, url)
    assert root.iter("main") and root.iter("header") and root.iter("footer")
    assert len(root.iter("h1")) == 1
    first_link = root.iter("a")[0]
    assert first_link.attrs["href"] == "#main" and "Skip" in first_link.text


def test_every_page_links_to_the_accessibility_statement_and_the_privacy_page(
        site: Path) -> None:
    """A UK public-sector site must publish an accessibility statement, and say what it does
    with the personal data it shows (commenters' names, the Join form's e-mail addresses):
    both are a link away from every page, in its footer."""
    pages = [p for p in site.rglob("*.html") if "pagefind" not in p.parts]
    assert len(pages) > 40
    for path in pages:
        footer = parse_html(path).iter("footer")[-1]
        texts = {a.text.strip(): a.attrs.get("href", "") for a in footer.iter("a")}
        assert texts.get("Accessibility", "").endswith("accessibility/"), path
        assert texts.get("Privacy", "").endswith("privacy/"), path
    statement = page(site, "accessibility/").text
    for part in ("WCAG 2.2", "Compliance status", "partially compliant", "Feedback and contact",
                 "Enforcement procedure", "Equality and Human Rights Commission",
                 "Equality Commission for Northern Ireland", "This statement was prepared on"):
        assert part in statement, part
    privacy = page(site, "privacy/").text
    for part in ("e-mail addresses and profile pictures are never copied",
                 "never published", "no cookies", "We take it down", "Information Commissioner"):
        assert part in privacy, part


def test_post_names_member_and_blog_and_links_the_original(site: Path) -> None:
    root = page(site, POST)
    original = "https://alice.example.org/2026/03/why-councils-should-blog/"
    canonical = [e for e in root.iter("link") if e.attrs.get("rel") == "canonical"]
    assert [e.attrs["href"] for e in canonical] == [original]
    attribution = next(e for e in root.iter("div") if e.attrs.get("class") == "attribution")
    text = " ".join(attribution.text.split())
    assert "First published by Alice Example" in text and "Alice's council blog" in text
    assert original in hrefs(attribution)
    assert "../../../members/alice-example/" in hrefs(attribution)
    assert "../../../tags/digital/" in hrefs(root)
    older = next(e for e in root.iter("a") if e.attrs.get("rel") == "next")
    assert older.attrs["href"] == "../../../2026/03/alice-example-hostile-title/"
    meta = {m.attrs.get("property") or m.attrs.get("name"): m.attrs.get("content")
            for m in root.iter("meta")}
    assert meta["og:title"] == meta["twitter:title"] == "Why councils should blog"
    assert meta["og:type"] == "article" and meta["og:locale"] == "en_GB"
    assert meta["twitter:card"] == "summary" and meta["og:description"]


def test_comment_thread_nests_replies_inside_their_parent(site: Path) -> None:
    root = page(site, POST)
    heading = root.find_id("comments-title")
    assert heading is not None
    assert heading.text == "5 thoughts on “Why councils should blog”"
    parent, reply, deep = root.find_id("comment-c1"), root.find_id("comment-c2"), \
        root.find_id("comment-c4")
    assert parent is not None and reply is not None and deep is not None
    assert parent in reply.ancestors() and reply in deep.ancestors()
    assert "Sam <em>Reader</em>" in parent.text  # a commenter's name is text, not markup
    website = next(a for a in parent.iter("a") if a.attrs["href"] == "https://sam.example/")
    assert website.attrs["rel"] == "nofollow ugc"
    evil = root.find_id("comment-c5")
    assert evil is not None and not any("javascript" in h for h in hrefs(evil))


def test_a_thousand_deep_thread_renders_each_reply_inside_its_parent(site: Path) -> None:
    root = page(site, DEEP_URL)
    heading = root.find_id("comments-title")
    assert heading is not None and heading.text == "1000 thoughts on “A year of weeknotes”"
    for level in (1, 4, 5, 500, 999):
        reply, parent = root.find_id(f"comment-deep-{level}"), root.find_id(
            f"comment-deep-{level - 1}")
        assert reply is not None and parent is not None
        assert reply.tag == "li" and reply.parent is not None and reply.parent.tag == "ol"
        assert reply.parent.parent is parent, level
    deepest = root.find_id("comment-deep-999")
    assert "In reply to Reader 998" in " ".join(deepest.text.split())
    assert len(root.find_id("comment-deep-0").ancestors()) < 12  # the thread starts near the top
    html = (site / DEEP_URL / "index.html").read_text(encoding="utf-8")
    assert "depth-4" in html and "depth-5" not in html  # indentation capped
    commenter = next(a for a in root.find_id("comment-deep-1").iter("a")
                     if a.attrs["href"] == "https://reader1.example/")
    assert commenter.attrs["rel"] == "nofollow ugc"


def test_lists_of_posts_show_the_thread_count_or_the_feeds_count(site: Path) -> None:
    def counts(url: str) -> dict[str, str]:
        found = {}
        for item in page(site, url).iter("article"):
            if "river-item" not in item.attrs.get("class", ""):
                continue
            title = next(e for e in item.iter("a") if e.parent and "river-title" in
                         e.parent.attrs.get("class", "")).text
            links = [a.text for a in item.iter("a") if a.attrs["href"].endswith("#comments")]
            found[title] = links[0] if links else ""
        return found

    alice = counts("members/alice-example/") | counts("members/alice-example/page/1/")
    assert alice["A year of weeknotes"] == "1000 comments"  # the thread, not the feed's 1
    assert alice["Open data at the county hall"] == "5 comments"  # no thread: the feed's count
    assert alice["Winter services update"] == ""  # the feed gave no count
    assert counts("members/bob-quiet/")["Service standards in practice"] == "2 comments"
    post = page(site, "2026/02/alice-example-open-data-at-the-county-hall/")
    elsewhere = post.find_id("comments")
    assert elsewhere is not None and "5 comments on Alice" in elsewhere.text


def test_directory_lists_every_registry_member_with_feed_and_status(site: Path) -> None:
    root = page(site, "members/")
    links = hrefs(root)
    for member in REGISTRY:
        assert f"../members/{member['id']}/" in links, member["id"]
        assert member["feed"] in links
    cards = {c.iter("a")[0].text: " ".join(c.text.split())
             for c in root.iter("li") if c.attrs.get("class") == "member-card"}
    assert "Quiet for a year" in cards["Bob Quiet"]
    assert "Quiet" not in cards["Alice Example"] and "Latest post 18 March 2026" in cards[
        "Alice Example"]
    assert "No posts yet" in cards["Carol Newcomer"]
    sectors = [h.attrs["id"] for h in root.iter("h2") if h.attrs.get("id")]
    assert sectors == ["sector-local-government", "sector-central-government",
                       "sector-health-and-care"]


def test_member_profile_shows_facts_chart_and_posts(site: Path) -> None:
    root = page(site, "members/alice-example/")
    facts = " ".join(next(iter(root.iter("dl"))).text.split())
    assert "Exampleshire County Council" in facts and "North West" in facts
    assert "https://alice.example.org/feed/" in facts
    svg = root.iter("svg")[0]
    assert svg.attrs["role"] == "img"
    assert "Mar 2026: 2" in svg.iter("desc")[0].text
    assert len([e for e in root.iter("article") if "river-item" in e.attrs.get("class", "")]) == 3
    empty = page(site, "members/carol-newcomer/")
    assert "No posts from Carol Newcomer yet" in " ".join(empty.text.split())


def test_opml_lists_every_member_feed_and_each_sector(site: Path) -> None:
    tree = ET.parse(site / "members.opml")
    assert tree.getroot().attrib["version"] == "2.0"
    feeds = {o.attrib["xmlUrl"] for o in tree.iter("outline") if "xmlUrl" in o.attrib}
    assert feeds == {m["feed"] for m in REGISTRY}
    for member in REGISTRY:
        sector = ET.parse(site / "sectors" / member["sector"] / "members.opml")
        assert [o.attrib["xmlUrl"] for o in sector.iter("outline") if "xmlUrl" in o.attrib] == [
            member["feed"]]


def test_hostile_title_is_shown_as_text_everywhere(site: Path) -> None:
    for path in site.rglob("*.html"):
        root = parse_html(path)
        # the theme's own scripts only, on the two pages that show no post: search and 404
        assert not root.iter("script") or path.parent.name == "search" or \
            path.name == "404.html", path
        assert "49 in a title" not in path.read_text(encoding="utf-8"), path
    post = page(site, HOSTILE)
    assert post.iter("h1")[0].text == "<script>alert(1)</script> and {{ 7*7 }} in a title"
    assert "Mallory <b>Byline</b>" in post.text
    home = page(site, "")
    assert any("{{ 7*7 }}" in a.text for a in home.iter("a"))


def test_no_asset_is_requested_from_another_host(site: Path) -> None:
    for path in site.rglob("*.html"):
        root = parse_html(path)
        assets = [e.attrs.get("src", "") for e in root.iter() if "src" in e.attrs]
        assets += [e.attrs["href"] for e in root.iter("link") if e.attrs.get("rel") in (
            "stylesheet", "icon", "preload", "modulepreload")]
        for url in assets:
            assert not urlsplit(url).netloc and not url.startswith("//"), (path, url)


def test_every_internal_link_resolves(site: Path) -> None:
    missing = []
    for path in site.rglob("*.html"):
        if path.name == "404.html" or path.parent.name == "search":
            continue  # the 404 page is served at any path; search links pagefind's files
        root = parse_html(path)
        for element in root.iter():
            url = element.attrs.get("href") or element.attrs.get("src") or ""
            parts = urlsplit(url)
            if not url or parts.scheme or parts.netloc or url.startswith("#"):
                continue
            target = (path.parent / parts.path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                missing.append((str(path.relative_to(site)), url))
    assert missing == []


def test_search_page_uses_relative_pagefind_and_says_it_needs_javascript(site: Path) -> None:
    root = page(site, "search/")
    scripts = [e.attrs.get("src") for e in root.iter("script") if e.attrs.get("src")]
    assert scripts == ["../pagefind/pagefind-ui.js", "../theme/js/search.js"]
    assert "Search needs JavaScript" in root.iter("noscript")[0].text


def test_join_explains_the_pull_request_route_without_a_submissions_url(site: Path) -> None:
    root = page(site, "join/")
    assert not root.iter("form")
    assert "members.yaml" in root.text


def test_network_page_has_figures_chart_and_most_discussed(site: Path) -> None:
    root = page(site, "network/")
    figures = [e.text for e in root.iter("span") if e.attrs.get("class") == "figure"]
    assert figures == ["3", "2", "8", "1"]  # members, organisations, posts, members posting
    labels = [" ".join(e.text.split()) for e in root.iter("li")
              if any(c.attrs.get("class") == "figure" for c in e.iter("span"))]
    # each figure says what it counts: the last is members, not posts
    assert labels[-1] == "1 member who posted in the last year"
    assert root.iter("svg")
    discussed = [a.text for a in root.iter("a") if "river-title" in (
        a.parent.attrs.get("class", "") if a.parent else "")]
    # commented posts of the last 30 days, most comments first (a tie: newest first)
    assert discussed == ["Why councils should blog", "Open data at the county hall"]


def test_sitemap_robots_and_css_budget(site: Path) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [e.text for e in ET.parse(site / "sitemap.xml").getroot().findall("s:url/s:loc", ns)]
    assert f"/{POST}" in locs and "/members/carol-newcomer/" in locs
    assert not any("404" in loc or "/page/" in loc for loc in locs)
    assert "Sitemap:" in (site / "robots.txt").read_text()
    assert (site / "theme/css/site.css").stat().st_size < 30_000
    assert len((site / POST / "index.html").read_bytes()) < 100_000


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory.mktemp("publish"), conf="publishconf.py",
                      SITEURL="https://blogs.example.gov.uk/network",
                      FEED_DOMAIN="https://blogs.example.gov.uk/network",
                      SUBMISSIONS_URL="https://blogs.example.gov.uk/submit")


def test_publish_build_has_feeds_linking_originals_with_escaped_titles(published: Path) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    for feed in ("feeds/all.atom.xml", "members/alice-example/feed.atom.xml",
                 "sectors/local-government/feed.atom.xml"):
        root = ET.parse(published / feed).getroot()
        entries = root.findall(f"{atom}entry")
        assert entries, feed
        for entry in entries:
            link = entry.find(f"{atom}link").attrib["href"]
            assert link.startswith(("https://alice.example.org/", "https://bob.example.net/"))
            assert entry.find(f"{atom}author/{atom}name").text
    titles = [e.text for e in ET.parse(published / "feeds/all.atom.xml").getroot().iter(
        f"{atom}title")]
    assert "<script>alert(1)</script> and {{ 7*7 }} in a title" in titles
    rss = ET.parse(published / "members/bob-quiet/feed.rss.xml").getroot()
    assert len(rss.findall("channel/item")) == 2


def test_the_weekly_digest_has_one_entry_for_each_week_that_has_ended(published: Path) -> None:
    """"Can I get this by e-mail?": the publish build writes one feed entry a week (Monday to
    Sunday, weeks that have ended only), each that week's posts by sector, escaped, linking
    their pages here; the home page offers it."""
    import feedparser

    digest = feedparser.parse((published / "feeds" / "weekly.atom.xml").read_bytes())
    assert not digest.bozo, digest.bozo_exception
    assert [e.title for e in digest.entries] == [  # built on Friday 20 March 2026
        "Week of 9 March 2026: 1 post from 1 member",
        "Week of 16 February 2026: 1 post from 1 member",
        "Week of 2 February 2026: 1 post from 1 member"]  # 12 January: over 8 weeks ago
    first = digest.entries[0]
    assert first.updated == "2026-03-16T00:00:00+00:00" and len(set(
        e.id for e in digest.entries)) == 3
    html = parse_html_text(first.content[0].value)
    assert [e.text for e in html.iter("h2")] == ["Local government"]
    [link] = html.iter("a")
    assert link.attrs["href"] == f"https://blogs.example.gov.uk/network/{HOSTILE}"
    assert link.text == "<script>alert(1)</script> and {{ 7*7 }} in a title"  # text, not code
    assert not html.iter("script")
    assert "(Exampleshire County Council)" in html.text
    home = page(published, "")
    assert "https://blogs.example.gov.uk/network/feeds/weekly.atom.xml" in hrefs(home)
    assert "https://blogs.example.gov.uk/network/feeds/weekly.atom.xml" in hrefs(home, "link")
    assert "Once a week" in home.text
    # each sector has its own, linked from its page; one with no recent posts, an empty one
    local = feedparser.parse((published / "sectors/local-government/weekly.atom.xml").read_bytes())
    assert [e.title for e in local.entries] == [
        f"Local government: {e.title}" for e in digest.entries]
    assert local.feed.title == "Public Sector Blogs, Local government: the week's posts"
    central = published / "sectors/central-government/weekly.atom.xml"
    assert feedparser.parse(central.read_bytes()).entries == []
    assert "https://blogs.example.gov.uk/network/sectors/central-government/weekly.atom.xml" \
        in hrefs(page(published, "sectors/central-government/"))


def test_publish_build_uses_absolute_urls_and_shows_the_join_form(published: Path) -> None:
    home = page(published, "")
    canonical = [e.attrs["href"] for e in home.iter("link") if e.attrs.get("rel") == "canonical"]
    assert canonical == ["https://blogs.example.gov.uk/network/"]
    form = page(published, "join/").iter("form")[0]
    assert form.attrs["action"] == "https://blogs.example.gov.uk/submit"
    names = {e.attrs.get("name") for e in form.iter() if e.tag in ("input", "textarea", "select")}
    assert {"url", "name", "email", "organisation", "sector", "note"} <= names
    sitemap = (published / "sitemap.xml").read_text()
    assert "<loc>https://blogs.example.gov.uk/network/members/bob-quiet/</loc>" in sitemap


def test_a_member_page_says_where_to_follow_them_here(published: Path) -> None:
    facts = {dt.text: dd for div in page(published, "members/alice-example/").iter("div")
             for dt in div.iter("dt") for dd in div.iter("dd")}
    links = {a.text: a.attrs["href"] for a in facts["Follow here"].iter("a")}
    assert links == {
        "Atom feed": "https://blogs.example.gov.uk/network/members/alice-example/feed.atom.xml",
        "RSS feed": "https://blogs.example.gov.uk/network/members/alice-example/feed.rss.xml"}


def test_a_member_page_says_which_of_their_posts_the_network_takes(site: Path) -> None:
    def facts(member: str) -> dict[str, str]:
        return {dt.text: dd.text for div in page(site, f"members/{member}/").iter("div")
                for dt in div.iter("dt") for dd in div.iter("dd")}
    assert facts("alice-example")["Posts taken"] == \
        "Only those on digital, open data, weeknotes; none on personal"
    assert "Posts taken" not in facts("bob-quiet")  # every post: nothing to say


def test_a_topic_can_be_followed_across_the_network(published: Path) -> None:
    topic = page(published, "tags/digital/")
    feeds = {e.attrs["type"]: e.attrs["href"] for e in topic.iter("link")
             if e.attrs.get("rel") == "alternate"}
    base = "https://blogs.example.gov.uk/network/tags/digital/"
    assert feeds == {"application/atom+xml": base + "feed.atom.xml",
                     "application/rss+xml": base + "feed.rss.xml"}
    shown = {a.text: a.attrs["href"] for p in topic.iter("p") if "Follow this topic" in p.text
             for a in p.iter("a")}
    assert shown == {"Atom feed": base + "feed.atom.xml", "RSS feed": base + "feed.rss.xml"}
    atom = "{http://www.w3.org/2005/Atom}"
    root = ET.parse(published / "tags/digital/feed.atom.xml").getroot()
    titles = [e.find(f"{atom}title").text for e in root.findall(f"{atom}entry")]
    # the three posts tagged "digital", from two members, newest first
    assert titles == ["Why councils should blog", "Open data at the county hall",
                      "Service standards in practice"]
    rss = ET.parse(published / "tags/digital/feed.rss.xml").getroot()
    assert [i.find("title").text for i in rss.findall("channel/item")] == titles


def test_publish_build_offers_its_search_to_browsers(published: Path) -> None:
    """An OpenSearch description: a browser can search the network from its address bar."""
    home = page(published, "")
    links = [e.attrs for e in home.iter("link") if e.attrs.get("rel") == "search"]
    assert links == [{"rel": "search", "type": "application/opensearchdescription+xml",
                      "title": "Public Sector Blogs",
                      "href": "https://blogs.example.gov.uk/network/opensearch.xml"}]
    spec = "{http://a9.com/-/spec/opensearch/1.1/}"
    root = ET.parse(published / "opensearch.xml").getroot()
    assert root.tag == f"{spec}OpenSearchDescription"
    assert len(root.find(f"{spec}ShortName").text) <= 16
    assert root.find(f"{spec}Url").attrib["template"] == \
        "https://blogs.example.gov.uk/network/search/?q={searchTerms}"


def test_a_local_build_has_no_search_description(site: Path) -> None:
    """Relative URLs cannot make one: it is written by publish builds only."""
    assert not (site / "opensearch.xml").exists()
    assert not [e for e in page(site, "").iter("link") if e.attrs.get("rel") == "search"]


def test_the_project_registry_is_valid() -> None:
    from aggregator.members import load_members
    from pelicanconf import REGIONS, SECTORS

    members = load_members(ROOT / "members.yaml", sectors=SECTORS, regions=REGIONS)
    assert 3 <= len(members) <= 10
    assert all(m.feed.startswith("https://") for m in members)


def test_a_build_without_the_comment_plugin_still_renders_posts(tmp_path: Path) -> None:
    output = build_site(tmp_path, PLUGINS=["members_directory", "neighbours", "theme_helpers",
                                            "opml", "sitemap"])
    root = page(output, POST)
    assert root.find_id("comments-title") is None
    assert root.find_id("comments") is not None  # the link to comment on the original blog


def test_a_large_networks_topics_page_has_the_most_used_and_an_a_to_z(site: Path) -> None:
    root = page(site, "tags/")
    lists = [ul for ul in root.iter("ul") if ul.attrs.get("class") == "tag-cloud"]
    most_used, *by_letter = [[(a.text.rsplit(" (", 1)[0].strip(),
                               int(a.text.rsplit("(", 1)[1].rstrip(")")))
                              for a in ul.iter("a")] for ul in lists]
    everything = [pair for group in by_letter for pair in group]
    counts = sorted((n for _, n in everything), reverse=True)
    assert [n for _, n in most_used] == counts[:2]  # the two with the most posts
    assert len({name for name, _ in everything}) == len(everything) > 3  # each once
    assert [name.casefold() for name, _ in everything] == sorted(
        name.casefold() for name, _ in everything)
    headings = [h for h in root.iter("h3") if h.attrs.get("class") == "letter"]
    index = [a for nav in root.iter("nav") if nav.attrs.get("aria-label") == "Topics by letter"
             for a in nav.iter("a")]
    assert [a.attrs["href"] for a in index] == ["#" + h.attrs["id"] for h in headings]
    for heading, group in zip(headings, by_letter, strict=True):
        assert all(name.strip()[:1].upper() == heading.text for name, _ in group)
