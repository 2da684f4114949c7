"""The takedown list: which posts and comments it names, what it refuses, what it removes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.errors import ConfigError
from aggregator.takedowns import load_takedowns, remove_taken_down


def listing(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "takedowns.yaml"
    path.write_text("takedowns:\n" + entries, encoding="utf-8")
    return path


def test_a_comment_is_named_by_its_link_here_its_address_on_the_blog_or_its_slug(
        tmp_path: Path) -> None:
    takedowns = load_takedowns(listing(tmp_path, """\
  - member: ann
    comment: https://network.example/2026/03/ann-why/#comment-45-1a2b3c4d
    reason: Personal data, asked by the commenter
  - member: ann
    comment: HTTPS://Blog.Example:443/2026/03/why/#comment-46
  - member: bob
    comment: c-0123456789ab
"""))
    # its link on this site: the slug after #comment-
    assert takedowns.covers_comment("ann", slug="45-1a2b3c4d", url=None)
    # its address on the blog, compared as a reader would type it (case, port, last slash),
    # but the fragment kept: it tells the post's comments apart
    assert takedowns.covers_comment("ann", slug="46-99999999",
                                    url="https://blog.example/2026/03/why#comment-46")
    assert not takedowns.covers_comment("ann", slug="47-99999999",
                                        url="https://blog.example/2026/03/why/#comment-47")
    assert takedowns.covers_comment("bob", slug="c-0123456789ab", url=None)
    assert not takedowns.covers_comment("bob", slug="45-1a2b3c4d", url=None)  # Ann's
    # a comment's entry takes no post down
    assert not takedowns.covers("ann", guid=None, url="https://blog.example/2026/03/why/")
    assert takedowns.members() == set() and takedowns.comment_members() == {"ann", "bob"}
    assert takedowns.comment_filter("cara") is None


@pytest.mark.parametrize(("entry", "says"), [
    ("    comment: javascript:alert(1)\n", "is not a comment's link"),
    ("    comment: Not a slug!\n", "is not a comment's link"),
    ("    comment: [c-0123456789ab]\n", "is not a comment's link"),
    ("    url: https://blog.example/p/\n    comment: c-0123456789ab\n", "not both"),
])
def test_a_comment_entry_that_names_no_comment_or_a_post_too_is_refused_with_its_line(
        tmp_path: Path, entry: str, says: str) -> None:
    path = listing(tmp_path, "  - member: ann\n    url: https://blog.example/a/\n"
                             "  - member: ann\n" + entry)
    with pytest.raises(ConfigError) as raised:
        load_takedowns(path)
    assert says in str(raised.value)
    assert f"{path}:4" in str(raised.value) and "'ann'" in str(raised.value)


POST = """\
Title: Why councils should blog
Date: 2026-03-01 09:00:00+00:00
Slug: ann-why
Member: ann

Words.
"""


def comment(author: str, address: str, reply_to: str | None = None) -> str:
    return (f"Author: {author}\nDate: 2026-03-02 10:00:00+00:00\nOriginal_url: {address}\n"
            + (f"Replyto: {reply_to}\n" if reply_to else "") + "\nA comment.\n")


def test_the_listed_comments_files_go_and_their_replies_and_posts_stay(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "posts/ann/2026").mkdir(parents=True)
    (content / "posts/ann/2026/why.md").write_text(POST, encoding="utf-8")
    thread = content / "comments/ann-why"
    thread.mkdir(parents=True)
    files = {
        "45-aaaaaaaa": comment("Jane", "https://blog.example/2026/03/why/#comment-45"),
        "46-bbbbbbbb": comment("Dave", "https://blog.example/2026/03/why/#comment-46",
                               "45-aaaaaaaa"),
        "47-cccccccc": comment("Sam", "https://blog.example/2026/03/why/#comment-47"),
        "48-dddddddd": comment("Lee", "https://blog.example/2026/03/why/#comment-48"),
    }
    for name, text in files.items():
        (thread / f"{name}.md").write_text(text, encoding="utf-8")
    takedowns = load_takedowns(listing(tmp_path, """\
  - member: ann
    comment: https://network.example/2026/03/ann-why/#comment-45-aaaaaaaa
  - member: ann
    comment: https://blog.example/2026/03/why/#comment-47
  - member: bob
    comment: 48-dddddddd
"""))
    removed = remove_taken_down(content, takedowns)
    assert sorted(p.name for p in removed) == ["45-aaaaaaaa.md", "47-cccccccc.md"]
    # Dave's reply is left as it was (the site shows it as the thread's own); Lee's comment
    # is on Ann's post, and the entry naming it is Bob's
    assert sorted(p.stem for p in thread.iterdir()) == ["46-bbbbbbbb", "48-dddddddd"]
    assert (thread / "46-bbbbbbbb.md").read_text(encoding="utf-8") == files["46-bbbbbbbb"]
    assert (content / "posts/ann/2026/why.md").exists()
    assert remove_taken_down(content, takedowns) == []  # nothing left to do


def test_a_post_listed_with_its_title_and_date_stays_down_when_its_blog_moves(
        tmp_path: Path) -> None:
    """`aggregator takedown` writes a post's title and date beside its address: a blog that
    moves gives the post a new guid and address, and the title and date (within two days,
    as a moved post is found) still name it."""
    takedowns = load_takedowns(listing(tmp_path, """\
  - member: ann
    url: https://ann.example/2026/03/why/
    title: Why we stopped writing PDFs
    date: "2026-03-03 09:00:00+00:00"
    reason: Asked by the author
"""))
    when = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # an hour later: another time zone
    assert takedowns.covers("ann", guid="tag:new.example,2026:1",
                            url="https://new.example/blog/why/",
                            title="why we stopped  writing PDFs", date=when)
    assert not takedowns.covers("ann", guid="x", url=None, title="Why we stopped writing PDFs",
                                date=when + timedelta(days=5))  # a later post, same title
    assert not takedowns.covers("bea", guid="x", url=None, title="Why we stopped writing PDFs",
                                date=when)


@pytest.mark.parametrize("entry", [
    "    url: https://ann.example/p/\n    title: A post\n",
    "    url: https://ann.example/p/\n    date: '2026-03-03'\n    title: ''\n",
    "    url: https://ann.example/p/\n    title: A post\n    date: last Tuesday\n",
])
def test_a_title_without_a_good_date_is_refused(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ConfigError, match="'title' and 'date' go together"):
        load_takedowns(listing(tmp_path, "  - member: ann\n" + entry))
