"""Cross-posts: the same writing on two members' blogs is on the site once (real HTTP)."""

from __future__ import annotations

import shutil
from html import escape

import pytest

from aggregator.cli import main
from aggregator.crossposts import same_writing, words
from aggregator.write import title_key
from tests.aggregator.test_run import Network, net  # noqa: F401 - the fixture
from tests.httpserver import Reply

ESSAY = (
    "Every council has one page that gets more visits than the rest put together. For us it "
    "is the bin day page: forty thousand visits in the week after Christmas alone. Until last "
    "month, answering that question meant a PDF calendar for each collection round, a postcode "
    "lookup that only worked on a desktop, and a phone line that filled up every January. "
    "None of this was technically hard. The data already existed in the round planning "
    "system; it just never left the depot. The hard part was agreeing who owns a collection "
    "date when a crew is moved at short notice.")
OTHER = (
    "This week we ran two rounds of research with people who call the contact centre about "
    "parking permits, and learned that most of them had already tried the website twice. "
    "We paired with the permits team on the letters, rewrote the renewal reminder, and "
    "stopped asking for a utility bill when the council tax record already proves the "
    "address. Next week: the visitor permit, which nobody understands, including us.")

REGISTRY = """\
members:
  - name: Amira Hussain
    id: amira
    feed: {BASE}/amira/feed/
    content: full
  - name: Council Digital Team
    id: team
    feed: {BASE}/team/feed/
    content: full
  - name: Jo Summary
    id: jo
    feed: {BASE}/jo/feed/
"""


def item(blog: str, number: int, title: str, day: int, text: str) -> str:
    page = f"{{BASE}}/{blog}/posts/{number}/"
    return (f"<item><title>{escape(title)}</title><link>{page}</link>"
            f"<guid isPermaLink=\"false\">{blog}-{number}</guid>"
            f"<pubDate>{day:02d} Mar 2026 09:00:00 +0000</pubDate>"
            f"<wfw:commentRss>{page}feed/</wfw:commentRss><slash:comments>1</slash:comments>"
            f"<description>{escape(f'<p>{text}</p>')}</description></item>")


def feed(blog: str, *items: str) -> bytes:
    return ("<?xml version=\"1.0\"?><rss version=\"2.0\" "
            "xmlns:wfw=\"http://wellformedweb.org/CommentAPI/\" "
            "xmlns:slash=\"http://purl.org/rss/1.0/modules/slash/\"><channel>"
            f"<title>{blog}</title><link>{{BASE}}/{blog}/</link>{''.join(items)}"
            "</channel></rss>").encode()


def serve(net: Network, blog: str, *items: str, delay: float = 0.0) -> None:  # noqa: F811
    """`blog`'s feed, and one comment under each of its posts."""
    base = net.server.url("").rstrip("/").encode()
    body = feed(blog, *items).replace(b"{BASE}", base)
    net.server.routes[f"/{blog}/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"},
                                                delay=delay)
    for number in range(1, 10):
        page = f"{base.decode()}/{blog}/posts/{number}/"
        net.server.routes[f"/{blog}/posts/{number}/feed/"] = Reply(200, (
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Comments</title>"
            f"<item><title>By: Cy</title><link>{page}#comment-1</link>"
            f"<guid>{page}#comment-1</guid><pubDate>20 Mar 2026 10:00:00 +0000</pubDate>"
            "<description>Thank you for writing this up.</description></item>"
            "</channel></rss>").encode(), {"Content-Type": "application/rss+xml"})


def posts(net: Network, member: str) -> list[str]:  # noqa: F811
    return sorted(p.name for p in (net.content / "posts" / member).rglob("*.md"))


def test_a_copy_with_a_line_in_front_is_the_same_writing() -> None:
    copy = words(f"*First published on [Amira's blog](https://amira.example/p/1).*\n\n{ESSAY}")
    assert same_writing(words(ESSAY), copy)
    excerpt = " ".join(ESSAY.split()[:60]) + "…\n\n[Continue reading on Team notes](https://x/)"
    assert same_writing(words(excerpt), words(ESSAY))  # a member shown in summary
    assert not same_writing(words(ESSAY), words(OTHER))
    # the same opening sentence and nothing more in common is not enough
    assert not same_writing(words(ESSAY), words(ESSAY.split(". ")[0] + ". " + OTHER))
    assert not same_writing(words(""), words(ESSAY))
    short = "Hello from the team, and welcome to our new blog."  # says too little to tell
    assert not same_writing(words(short), words(short))


@pytest.mark.parametrize("title", [
    "Guest post: Bin day, done properly", "Guest post by Amira Hussain: Bin day, done properly",
    "[Cross-post] Bin day, done properly", "Reposted \u2013 Bin day, done properly",
    "Bin day, done properly (cross-posted from Amira's blog)", "BIN DAY,  done properly"])
def test_a_copys_label_is_not_part_of_its_title(title: str) -> None:
    assert title_key(title) == title_key("Bin day, done properly")


@pytest.mark.parametrize("title", ["Guest posts are great", "Cross-posting: a guide",
                                   "Repost", "Bin day (part 2)"])
def test_a_title_about_such_things_is_its_own(title: str) -> None:
    assert title_key(title) == title.casefold()


def test_a_later_copy_of_a_post_on_the_site_is_left_out(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """Amira's post, republished by her team's blog three days later with a line in front,
    is written once; the team's own posts, and a post of the same title with other words,
    are written as usual. Every later fetch decides the same, state or no state."""
    net.register(REGISTRY)
    serve(net, "amira", item("amira", 1, "Bin day, done properly", 2, ESSAY))
    serve(net, "team", item("team", 7, "Weeknote 12", 1, OTHER))
    serve(net, "jo", item("jo", 3, "Weeknote 12", 4, ESSAY))  # same title, other words
    assert net.fetch() == 0
    assert posts(net, "amira") == ["bin-day-done-properly.md"]
    assert posts(net, "jo") == ["weeknote-12.md"]
    capsys.readouterr()

    serve(net, "team", item("team", 7, "Weeknote 12", 1, OTHER),
          item("team", 9, "Guest post by Amira Hussain: Bin day, done properly", 5,
               f"First published on Amira's blog. {ESSAY}"))
    assert net.fetch() == 0
    assert posts(net, "team") == ["weeknote-12.md"]  # the copy left out, its own post kept
    out = capsys.readouterr().out
    assert "1 post(s) already here from another member's blog left out (cross-posts)" in out
    assert net.health("team")["repeats"] == 1 and net.health("amira")["repeats"] == 0
    assert main(["status", "--members", str(net.members), "--state", str(net.state)]) == 0
    assert "1 cross-post(s) left out at the last fetch" in capsys.readouterr().out
    # the team's feed changes with nothing new in it: the copy left out is no news twice
    route = net.server.routes["/team/feed/"]
    net.server.routes["/team/feed/"] = Reply(
        200, route.body.replace(b"<channel>", b"<channel><lastBuildDate>Fri, 06 Mar 2026 "
                                b"10:00:00 +0000</lastBuildDate>"),
        route.headers)
    assert net.fetch() == 0
    out = capsys.readouterr().out
    assert "cross-posts" not in out and "3 member(s) with nothing new" in out
    assert net.health("team")["repeats"] == 1
    before = net.files()
    shutil.rmtree(net.state.parent)
    assert net.fetch("--force") == 0
    assert net.files() == before  # decided from the files alone


def test_the_copy_is_written_once_the_original_goes_and_dates_apart_are_two_posts(
        net: Network) -> None:  # noqa: F811
    net.register(REGISTRY)
    serve(net, "amira", item("amira", 1, "Bin day, done properly", 2, ESSAY))
    serve(net, "team")
    serve(net, "jo")
    assert net.fetch() == 0
    serve(net, "team", item("team", 9, "Bin day, done properly", 5, ESSAY))
    assert net.fetch() == 0
    assert posts(net, "amira") == ["bin-day-done-properly.md"] and posts(net, "team") == []
    # Amira leaves the network with her posts (remove-member --with-posts): the team's copy
    # is a post of its own at the next fetch that reads its feed again
    net.register(REGISTRY.replace("  - name: Amira Hussain\n    id: amira\n"
                                  "    feed: {BASE}/amira/feed/\n    content: full\n", ""))
    shutil.rmtree(net.content / "posts" / "amira")
    assert net.fetch("--force") == 0
    assert posts(net, "team") == ["bin-day-done-properly.md"]
    # the same title and words three months on is another post (a yearly reminder, say)
    body = feed("jo", item("jo", 3, "Bin day, done properly", 5, ESSAY)).replace(
        b"Mar 2026", b"Jun 2026").replace(b"{BASE}", net.server.url("").rstrip("/").encode())
    net.server.routes["/jo/feed/"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    assert net.fetch() == 0
    assert posts(net, "jo") == ["bin-day-done-properly.md"]


def test_an_original_that_turns_up_after_its_copy_is_written_all_the_same(
        net: Network) -> None:  # noqa: F811
    """Amira joins after her team's blog, which republished her post: hers is written (a
    member's own post is never left out for a later copy) and the team's published copy
    stays (a published page is never removed)."""
    net.register(REGISTRY.replace("  - name: Amira Hussain\n    id: amira\n"
                                  "    feed: {BASE}/amira/feed/\n    content: full\n", ""))
    serve(net, "team", item("team", 9, "Bin day, done properly", 5,
                            f"First published on Amira's blog. {ESSAY}"))
    serve(net, "jo")
    assert net.fetch() == 0
    net.register(REGISTRY)
    serve(net, "amira", item("amira", 1, "Bin day, done properly", 2, ESSAY))
    assert net.fetch() == 0
    assert posts(net, "amira") == posts(net, "team") == ["bin-day-done-properly.md"]


@pytest.mark.parametrize("slow", ["amira", "team"])
def test_two_blogs_publishing_it_within_the_hour_leave_the_earlier_whichever_answers_first(
        net: Network, capsys: pytest.CaptureFixture[str], slow: str) -> None:  # noqa: F811
    """Both new in one run: whichever blog answers first, Amira's post (dated first) stays and
    the team's copy is gone with its comments, as if the run had known from the start; on
    the same day, the member whose id sorts first keeps it."""
    net.register(REGISTRY)
    serve(net, "amira", item("amira", 1, "Bin day, done properly", 2, ESSAY),
          item("amira", 2, "Assisted digital is a service", 9, OTHER),
          delay=0.5 if slow == "amira" else 0.0)
    serve(net, "team", item("team", 9, "Bin day, done properly", 5,
                            f"First published on Amira's blog. {ESSAY}"),
          item("team", 8, "Assisted digital is a service", 9, OTHER),
          delay=0.5 if slow == "team" else 0.0)
    serve(net, "jo")
    assert net.fetch() == 0
    assert posts(net, "amira") == ["assisted-digital-is-a-service.md",
                                   "bin-day-done-properly.md"]
    assert posts(net, "team") == []
    comments = net.content / "comments"
    assert sorted(p.name for p in comments.iterdir()) == [
        "amira-assisted-digital-is-a-service", "amira-bin-day-done-properly"]
    out = capsys.readouterr().out
    assert "2 post(s) already here from another member's blog left out (cross-posts)" in out
    assert net.health("team")["repeats"] == 2  # for the health page
    before = net.files()
    assert net.fetch("--force") == 0
    assert net.files() == before
