"""`aggregator submit`, `submissions`, `approve` and `reject`, end to end over 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.members import load_members
from aggregator.submissions import InvalidSubmission
from aggregator.submit import check_request
from tests.aggregator.test_discover import HTML, RSS, rss_feed, serve_wordpress
from tests.httpserver import LoopbackServer, Reply

SECTORS = {"local-government": "Local government", "health-and-care": "Health and care"}
REGISTRY = """\
members:
  # the first member
  - name: Existing Member
    feed: https://existing.example/feed/
    site: https://existing.example/
"""


class Project:
    """A settings file, registry and queue in tmp_path, driven through the real CLI."""

    def __init__(self, root: Path, *, timeout: float = 2.0, max_bytes: int = 1_000_000) -> None:
        self.root = root
        self.settings = root / "conf.py"
        self.settings.write_text(
            f'MEMBERS_FILE = "members.yaml"\nPATH = "content"\nAGGREGATOR_TIMEOUT = {timeout}\n'
            f"AGGREGATOR_MAX_BYTES = {max_bytes}\nSECTORS = {SECTORS!r}\n")
        self.members = root / "members.yaml"
        self.members.write_text(REGISTRY)
        self.queue = root / "submissions"

    def run(self, *args: str) -> int:
        return main(["--settings", str(self.settings), *args])

    def submit(self, url: str, *extra: str, private: bool = True) -> int:
        flags = ["--allow-private-networks"] if private else []
        return self.run("submit", url, *flags, *extra)

    def pending(self) -> list[dict[str, object]]:
        return [json.loads(p.read_text()) for p in sorted(self.queue.glob("*.json"))]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def test_a_home_page_is_previewed_and_queued(project: Project, server: LoopbackServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    home = serve_wordpress(server, posts=5)
    assert project.submit(home, "--name", "Ann Example", "--email", "ann@example.org",
                          "--organisation", "Example Council", "--sector",
                          "local-government", "--note", "Our team blog") == 0
    out = capsys.readouterr().out
    assert "Council Digital Notes" in out
    assert "Post number 5" in out and "Post number 3" in out and "Post number 2" not in out
    assert "2026-03-05" in out and "Words of post 5" in out
    assert "yes: posts link their comment feeds" in out
    [queued] = project.pending()
    assert queued["feed"] == server.url("/feed/") and queued["site"] == home
    assert queued["email"] == "ann@example.org" and queued["source"] == "cli"
    assert f"aggregator approve {queued['id']}" in out

    assert project.run("submissions", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert {k: listed[k] for k in ("id", "feed", "site", "name")} == {
        "id": queued["id"], "feed": server.url("/feed/"), "site": home, "name": "Ann Example"}


def test_approve_adds_the_member_and_reject_records_why(project: Project,
                                                        server: LoopbackServer,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    serve_wordpress(server)
    base = server.url("").rstrip("/")
    server.routes["/other/feed/"] = Reply(200, rss_feed(base, prefix="/other"),
                                          {"Content-Type": RSS})
    assert project.submit(server.url("/feed/"), "--email", "ann@example.org") == 0
    assert project.submit(server.url("/other/feed/")) == 0
    first, second = sorted(project.pending(), key=lambda s: s["feed"] != server.url("/feed/"))
    capsys.readouterr()

    assert project.run("approve", str(first["id"])) == 0
    assert "member 'council-digital-notes'" in capsys.readouterr().out
    text = project.members.read_text()
    assert text.startswith(REGISTRY)
    assert f"feed: {server.url('/feed/')}" in text and "id: council-digital-notes" in text
    assert "ann@example.org" not in text

    assert project.run("reject", str(second["id"]), "--reason", "Not a blog") == 0
    assert project.pending() == []
    [rejected] = (project.queue / "rejected").glob("*.json")
    assert json.loads(rejected.read_text())["reason"] == "Not a blog"

    assert project.run("approve", "no-such-submission") == 2
    assert "no pending submission 'no-such-submission'" in capsys.readouterr().err
    assert project.run("reject", str(second["id"])) == 2  # --reason is required


@pytest.mark.parametrize(("url", "expected"), [
    ("not a url", "cannot contain spaces"),
    ("blog.example.org/feed", "must start with https://"),
    ("localhost:8000/feed", "must start with https://"),
    ("javascript:alert(1)", "only http:// and https:// addresses can be submitted, not "
                            "javascript:"),
    ("JavaScript:alert(document.cookie)", "not javascript:"),
    ("file:///etc/passwd", "not file:"),
    ("ftp://ftp.example.org/feed.xml", "not ftp:"),
    ("data:text/html,hello", "not data:"),
    ("https://user:secret@blog.example/feed", "user name or password"),
    ("https:///feed", "not a valid web address"),
    ("", "enter the address"),
])
def test_addresses_that_are_not_web_addresses_are_refused(project: Project, url: str,
                                                          expected: str,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert project.submit(url) == 2
    err = capsys.readouterr().err
    assert expected in err and url in err
    assert project.pending() == []


@pytest.mark.parametrize(("fields", "field", "expected"), [
    ({"email": "not-an-address"}, "email", "is not an e-mail address"),
    ({"email": "a@b"}, "email", "is not an e-mail address"),
    ({"sector": "space-force"}, "sector", "unknown sector 'space-force'"),
    ({"name": "x" * 201}, "name", "at most 200"),
    ({"note": "y" * 2001}, "note", "at most 2000"),
    ({"topics": "housing, - ,digital"}, "topics", "'-' is not a topic"),
    ({"topics": ",".join(f"topic {n}" for n in range(21))}, "topics", "at most 20"),
])
def test_other_fields_are_checked_before_anything_is_fetched(fields: dict[str, str],
                                                              field: str,
                                                              expected: str) -> None:
    with pytest.raises(InvalidSubmission, match=expected) as caught:
        check_request({"url": "https://blog.example/", **fields}, sectors=SECTORS)
    assert caught.value.field == field
    assert str(caught.value).startswith("https://blog.example/")


def test_fields_are_tidied() -> None:
    request = check_request({"url": " https://blog.example/ ", "name": " Ann\n\tExample ",
                             "note": "line one\r\nline two\x07", "sector": "",
                             "topics": " Local  government,,digital, local-government "},
                            sectors=SECTORS)
    assert (request.url, request.name, request.note, request.sector) == (
        "https://blog.example/", "Ann Example", "line one\nline two", None)
    assert request.only_topics == ("Local government", "digital")  # each once, as typed


def topical_feed(base: str) -> bytes:
    """A blog about work and allotments: two posts on each, and one with no topic."""
    items = "".join(
        f"<item><title>{title}</title><link>{base}/{n}/</link>"
        f"<pubDate>Mon, {n:02d} Mar 2026 09:00:00 +0000</pubDate>"
        f"<guid isPermaLink=\"false\">{base}/?p={n}</guid>"
        f"<description>Words of {title}.</description>"
        + "".join(f"<category>{c}</category>" for c in categories) + "</item>"
        for n, title, categories in [
            (1, "Bin rounds redesigned", ["Local Government", "Service design"]),
            (2, "Onions in March", ["Allotment"]),
            (3, "Council tax letters", ["local-government"]),
            (4, "Seed swap", ["Allotment", "Community"]),
            (5, "Untagged thoughts", [])])
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Jo at work and home'
            f"</title><link>{base}/</link>{items}</channel></rss>").encode()


def serve_topical(server: LoopbackServer) -> str:
    """`topical_feed` at /feed/; returns its address."""
    server.routes["/feed/"] = Reply(200, topical_feed(server.url("").rstrip("/")),
                                    {"Content-Type": RSS})
    return server.url("/feed/")


def test_a_blog_joins_with_only_the_posts_on_its_topics(
        project: Project, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert project.submit(serve_topical(server), "--topics", "local government") == 0
    out = capsys.readouterr().out
    assert "only posts on local government" in out
    # the preview shows what the network would take: no allotment, no untagged post
    assert "Council tax letters" in out and "Bin rounds redesigned" in out
    assert "Onions" not in out and "Seed swap" not in out and "Untagged" not in out
    [queued] = project.pending()
    assert queued["only_topics"] == ["local government"]

    assert project.run("approve", str(queued["id"])) == 0
    entry = project.members.read_text().split("Existing Member", 1)[1]
    assert "only_topics:" in entry and "- local government" in entry
    members = load_members(project.members)
    assert members[-1].only_topics == ("local government",)


def test_topics_no_post_has_are_refused_with_the_topics_the_feed_uses(
        project: Project, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert project.submit(serve_topical(server), "--topics", "housing, social care") == 1
    err = capsys.readouterr().err
    assert "none of the feed's 5 latest posts is on housing, social care" in err
    # most used first, each once whatever its spelling
    assert "the topics its posts have are: Local Government, Allotment, Service design, " \
           "Community" in err
    assert project.pending() == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f.1"])
def test_private_addresses_are_refused_without_a_byte_sent(project: Project,
                                                           server: LoopbackServer, host: str,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    serve_wordpress(server)
    url = f"http://{host}:{server.port}/feed/"
    assert project.submit(url, private=False) == 1
    err = capsys.readouterr().err
    assert url in err and ("resolves to non-public address" in err or "is not public" in err)
    assert server.requests == []
    assert project.pending() == []


def test_a_page_with_no_feed(project: Project, server: LoopbackServer,
                             capsys: pytest.CaptureFixture[str]) -> None:
    server.routes["/"] = Reply(200, b"<!doctype html><title>No feed here</title>",
                               {"Content-Type": HTML})
    assert project.submit(server.url("/")) == 1
    err = capsys.readouterr().err
    assert server.url("/") in err and "no feed found" in err
    assert project.pending() == []


def test_a_feed_with_no_posts(project: Project, server: LoopbackServer,
                              capsys: pytest.CaptureFixture[str]) -> None:
    base = server.url("").rstrip("/")
    server.routes["/feed/"] = Reply(200, rss_feed(base, posts=0), {"Content-Type": RSS})
    assert project.submit(server.url("/feed/")) == 1
    assert "works but has no posts yet" in capsys.readouterr().err
    assert project.pending() == []


def test_a_slow_server(tmp_path: Path, server: LoopbackServer,
                       capsys: pytest.CaptureFixture[str]) -> None:
    project = Project(tmp_path, timeout=0.5)
    server.routes["/feed/"] = Reply(200, [b"<?xml version='1.0'?>", b"<rss>"] * 20,
                                    {"Content-Type": RSS}, delay=0.2)
    assert project.submit(server.url("/feed/")) == 1
    err = capsys.readouterr().err
    assert server.url("/feed/") in err and "no complete answer within 0.5 s" in err


def test_a_feed_over_the_size_cap(tmp_path: Path, server: LoopbackServer,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    project = Project(tmp_path, max_bytes=10_000)
    base = server.url("").rstrip("/")
    server.routes["/feed/"] = Reply(200, rss_feed(base, posts=200), {"Content-Type": RSS})
    assert project.submit(server.url("/feed/")) == 1
    assert "over the cap of 10000" in capsys.readouterr().err


def test_a_member_is_recognised_by_feed_after_redirects_and_by_site(
        project: Project, server: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    home = serve_wordpress(server)
    server.routes["/old-feed"] = Reply(301, b"", {"Location": "/feed/"})
    project.members.write_text(REGISTRY + f"  - name: Ann\n    feed: {server.url('/feed')}\n")
    assert project.submit(server.url("/old-feed")) == 1
    assert "already in the network as member 'ann'" in capsys.readouterr().err

    project.members.write_text(REGISTRY + f"  - name: Ann\n    feed: {server.url('/rss')}\n"
                               f"    site: {home}\n")
    assert project.submit(server.url("/feed/")) == 1  # its <link> is the member's site
    assert "already in the network as member 'ann'" in capsys.readouterr().err
    assert project.pending() == []


def test_a_repeated_submission_is_refused(project: Project, server: LoopbackServer,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    home = serve_wordpress(server)
    assert project.submit(home) == 0
    [queued] = project.pending()
    capsys.readouterr()
    assert project.submit(server.url("/feed/")) == 1  # the same blog by its feed
    assert f"already waiting for review (submission {queued['id']}" in capsys.readouterr().err
    hits = len(server.requests)
    assert project.submit(home) == 1  # the same address: refused before any request
    assert len(server.requests) == hits
    assert len(project.pending()) == 1
