"""`aggregator takedown LINK --reason …`: from the link a request gives to a list entry that
keeps the post or comment out, over real HTTP fetches."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.takedowns import load_takedowns
from tests.aggregator.test_run import DATA, Network, feed_bytes, moved_feed
from tests.httpserver import LoopbackServer, Reply

PDFS = "posts/ann/2026/why-we-stopped-writing-pdfs.md"
OPEN_DATA = "posts/ann/2026/open-data-day-at-the-town-hall.md"
SITE = "https://network.example"


@pytest.fixture
def net(tmp_path: Path, server: LoopbackServer) -> Network:
    """Ann's WordPress blog (two posts, a threaded comment feed on one), fetched once; the
    project's settings file in tmp_path, so the list and the lock are there too."""
    network = Network(tmp_path, server)
    base = server.url("").rstrip("/")
    post = f"{base}/2026/03/why-we-stopped-writing-pdfs/"
    server.routes["/wp/feed/"] = Reply(200, feed_bytes("wordpress.xml", server),
                                       {"Content-Type": "application/rss+xml"})
    thread = (DATA.parent / "comments" / "wordpress-atom.xml").read_bytes() \
        .replace(b"https://council.example/?p=123", f"{base}/?p=101".encode()) \
        .replace(b"https://council.example/2026/03/why/", post.encode())
    server.routes["/2026/03/why-we-stopped-writing-pdfs/feed/atom/"] = Reply(
        200, thread, {"Content-Type": "application/atom+xml"})
    network.register("members:\n  - name: Ann\n    id: ann\n    feed: {BASE}/wp/feed/\n")
    (tmp_path / "pelicanconf.py").write_text(
        'PATH = "content"\nAGGREGATOR_STATE = "var/state.sqlite3"\n', encoding="utf-8")
    assert network.fetch() == 0
    return network


def takedown(net: Network, *args: str) -> int:
    return main(["--settings", str(net.root / "pelicanconf.py"), "takedown", *args])


def refetch_everything(net: Network) -> None:
    """A fetch that reads every post and thread again: the state deleted."""
    for path in net.state.parent.glob("state.sqlite3*"):
        path.unlink()
    assert net.fetch() == 0


def test_a_comment_taken_down_by_its_link_on_the_site_stays_down(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    [folder] = (net.content / "comments").iterdir()
    [jane] = [p.stem for p in folder.iterdir() if "Great post" in p.read_text()]
    link = f"{SITE}/2026/03/{folder.name}/#comment-{jane}"
    assert takedown(net, link, "--reason", "Asked by the commenter") == 0
    out = capsys.readouterr()
    assert f"removed {folder / jane}.md" in out.out and "make publish" in out.err
    assert not (folder / f"{jane}.md").exists()
    # the entry names the comment as every source gives it: its address on the blog
    [entry] = load_takedowns(net.root / "takedowns.yaml").items
    base = net.server.url("").rstrip("/")
    assert (entry.member, entry.comment, entry.reason) == (
        "ann", f"{base}/2026/03/why-we-stopped-writing-pdfs/#comment-45",
        "Asked by the commenter")
    refetch_everything(net)
    assert jane not in {p.stem for p in folder.iterdir()}
    assert len(list(folder.iterdir())) == 3  # the others, written again

    assert takedown(net, link, "--reason", "Asked again") == 1  # asked twice: said, no change
    assert "taken down already, or a mistyped link" in capsys.readouterr().err
    assert len(load_takedowns(net.root / "takedowns.yaml").items) == 1
    # by its address on the blog, the list is found to name it already
    address = f"{base}/2026/03/why-we-stopped-writing-pdfs/#comment-45"
    assert takedown(net, address, "--reason", "Asked again") == 0
    assert "already in" in capsys.readouterr().out
    assert len(load_takedowns(net.root / "takedowns.yaml").items) == 1
    assert (net.content / PDFS).exists()  # a comment's address never names its post


def test_a_post_taken_down_by_its_page_keeps_the_list_s_other_entries_and_comments(
        net: Network) -> None:
    listing = net.root / "takedowns.yaml"
    before = ("# Reviewed by the editors: see CONTRIBUTING.\ntakedowns:\n"
              "  - member: bob  # an older request\n"
              "    guid: \"https://bob.example/?p=7\"\n"
              "    reason: Asked by Bob, whose blog has a very long address indeed, longer "
              "than a line of eighty characters\n")
    listing.write_text(before, encoding="utf-8")
    assert takedown(net, f"{SITE}/2026/03/ann-why-we-stopped-writing-pdfs/index.html",
                    "--reason", "Asked by the author") == 0
    assert not (net.content / PDFS).exists()
    assert not (net.content / "comments/ann-why-we-stopped-writing-pdfs").exists()
    text = listing.read_text(encoding="utf-8")
    assert text.startswith(before)  # every byte kept: quotes, comments, the long line
    entries = load_takedowns(listing).items
    base = net.server.url("").rstrip("/")
    assert [(e.member, e.url, e.guid) for e in entries] == [
        ("bob", None, "https://bob.example/?p=7"),
        ("ann", f"{base}/2026/03/why-we-stopped-writing-pdfs/", None)]
    assert entries[1].title == "Why we stopped writing PDFs"  # so that a move does not
    assert entries[1].date is not None                       # bring it back (below)
    refetch_everything(net)
    assert not (net.content / PDFS).exists() and (net.content / OPEN_DATA).exists()

    # Ann's blog moves to a new domain: every post under a new guid and address
    moved = moved_feed(feed_bytes("wordpress.xml", net.server), base,
                       host="https://ann.example.gov.uk", guids=True)
    net.server.routes["/wp/feed/"] = Reply(200, moved, {"Content-Type": "application/rss+xml"})
    refetch_everything(net)
    assert not (net.content / PDFS).exists()
    assert sorted(p.name for p in (net.content / "posts").rglob("*.md")) == [
        "open-data-day-at-the-town-hall.md"]


def test_a_dry_run_says_what_would_be_listed_and_removed_and_changes_nothing(
        net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    before = net.files()
    assert takedown(net, f"{SITE}/2026/03/ann-why-we-stopped-writing-pdfs/", "--dry-run",
                    "--reason", "Asked by the author") == 0
    out = capsys.readouterr().out
    base = net.server.url("").rstrip("/")
    assert f"    url: {base}/2026/03/why-we-stopped-writing-pdfs/\n" in out
    assert "    title: Why we stopped writing PDFs\n    date: 2026-03-03 09:00:00+00:00\n" in out
    assert f"would remove {net.content / PDFS}\n" in out
    assert f"would remove {net.content / 'comments/ann-why-we-stopped-writing-pdfs'}\n" in out
    assert net.files() == before and not (net.root / "takedowns.yaml").exists()


def test_a_post_is_found_by_its_address_on_the_blog_too(net: Network) -> None:
    base = net.server.url("").rstrip("/")
    assert takedown(net, f"{base.upper()}/2026/02/open-data-day", "--reason", "Asked") == 0
    assert not (net.content / OPEN_DATA).exists() and (net.content / PDFS).exists()


@pytest.mark.parametrize(("link", "says"), [
    (f"{SITE}/2026/03/ann-no-such-post/", "no post or comment in"),
    (f"{SITE}/2026/03/ann-why-we-stopped-writing-pdfs/#comment-99-00000000",
     "has no comment 99-00000000"),
    ("https://elsewhere.example/2026/03/why/#comment-45", "no comment in"),
])
def test_a_link_that_names_nothing_here_changes_nothing_and_says_so(
        net: Network, capsys: pytest.CaptureFixture[str], link: str, says: str) -> None:
    before = net.files()
    assert takedown(net, link, "--reason", "Asked") == 1
    assert says in capsys.readouterr().err
    assert net.files() == before and not (net.root / "takedowns.yaml").exists()


def test_a_takedown_needs_a_reason(net: Network, capsys: pytest.CaptureFixture[str]) -> None:
    assert takedown(net, f"{SITE}/2026/03/ann-why-we-stopped-writing-pdfs/",
                    "--reason", "  ") == 2
    assert "--reason" in capsys.readouterr().err and (net.content / PDFS).exists()
