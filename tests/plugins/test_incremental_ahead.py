"""The other core's share of a publish (plugins/incremental/ahead.py): the content folder
walked in two processes lists what one walk lists, steps in the forked process are collected
as each is done, and a failure there costs time, not the build."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plugins.incremental.ahead import Ahead
from plugins.incremental.listing import ContentListing, Part
from plugins.incremental.render import RenderError, Staged


def _content(root: Path) -> Path:
    for rel in ("posts/ann/2026/one.md", "posts/bob/2025/two.md", "comments/one/1.md",
                "comments/one/2.md", "comments/two/1.md", "pages/about.md", "notes.txt"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel, encoding="utf-8")
    return root


def _noted_walk(root: Path, asked: list[str], name: str) -> Callable[[], Part]:
    """The walk of root/comments another process would make, noting each call in `asked`."""
    def part() -> Part:
        asked.append(name)
        return ContentListing.walk_part(root, "comments")

    return part


def test_a_walk_shared_with_another_process_lists_what_one_walk_lists(tmp_path: Path) -> None:
    root = _content(tmp_path / "content")
    whole = ContentListing.scan(root)
    asked: list[str] = []
    shared = ContentListing.scan(root, apart="comments")
    shared.expect(_noted_walk(root, asked, "comments"))
    assert shared.file("posts/ann/2026/one.md") == whole.file("posts/ann/2026/one.md")
    assert shared.files_under(["posts"]) is not None
    assert sorted(shared.files_under(["posts"]) or []) == sorted(whole.files_under(["posts"])
                                                                  or [])
    assert shared.digest(leave_out="comments") == whole.digest(leave_out="comments")
    assert asked == []  # nothing under comments/ was asked for: no waiting for it
    assert shared.file("comments/one/2.md") == whole.file("comments/one/2.md") is not None
    assert asked == ["comments"]
    assert shared.folders == whole.folders
    assert shared.digest() == whole.digest()
    assert shared.part_digest("comments") == whole.part_digest("comments")
    assert shared.digest(leave_out="comments") != shared.digest()

    (root / "comments" / "two" / "2.md").write_text("a new comment", encoding="utf-8")
    again = ContentListing.scan(root)
    assert again.part_digest("comments") != whole.part_digest("comments")
    assert again.digest(leave_out="comments") == whole.digest(leave_out="comments")


def test_the_rest_walked_in_another_process_lists_what_a_scan_lists(tmp_path: Path) -> None:
    """walk_rest (ahead.walk_early's work) found what scan would walk itself: the listing
    made from it is the one scan makes."""
    root = _content(tmp_path / "content")
    here = ContentListing.scan(root, apart="comments")
    given = ContentListing.scan(root, apart="comments",
                                walked=ContentListing.walk_rest(root, "comments"))
    assert given.folders == here.folders
    assert given.digest(leave_out="comments") == here.digest(leave_out="comments")
    assert not any(rel.startswith("comments") for rel in given.folders)


def test_a_part_not_walked_elsewhere_is_walked_here(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    root = _content(tmp_path / "content")

    def failed() -> object:
        raise RenderError("a background build process failed: disk on fire")

    shared = ContentListing.scan(root, apart="comments")
    shared.expect(failed)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        assert shared.folders == ContentListing.scan(root).folders
    assert "comments not walked in another process, walked now" in caplog.text
    assert "disk on fire" in caplog.text


def test_the_digest_of_a_part_walked_elsewhere_is_had_without_its_files(
        tmp_path: Path) -> None:
    """A build with nothing new compares only the digest of the folder walked apart: it is
    taken on its own, without waiting for (or loading) the folder's listing, and is the
    digest one walk makes; if it cannot be had, the listing is, as before."""
    root = _content(tmp_path / "content")
    whole = ContentListing.scan(root)
    asked: list[str] = []
    part = _noted_walk(root, asked, "part")

    def digest() -> str:
        asked.append("digest")
        return ContentListing.walk_part(root, "comments")[1]

    shared = ContentListing.scan(root, apart="comments")
    shared.expect(part, digest)
    assert shared.part_digest("comments") == whole.part_digest("comments")
    assert asked == ["digest"]
    assert shared.folders == whole.folders  # the files, when asked for
    assert asked == ["digest", "part"]

    def no_digest() -> str:
        raise RenderError("a background build process failed: disk on fire")

    asked.clear()
    fallback = ContentListing.scan(root, apart="comments")
    fallback.expect(part, no_digest)
    assert fallback.part_digest("comments") == whole.part_digest("comments")
    assert asked == ["part"]


def test_the_other_process_walks_a_folder_and_sends_its_digest_then_its_files(
        tmp_path: Path) -> None:
    root = _content(tmp_path / "content")
    ahead = Ahead(root, "comments", {})
    seen = ahead.add(lambda: sorted(ContentListing.walk_part(root, "comments")[0]))
    ahead.start()
    try:
        walked = ContentListing.walk_part(root, "comments")
        assert ahead.digest() == walked[1]
        assert ahead.part() == walked
        assert seen.result() == ["comments", "comments/one", "comments/two"]
    finally:
        ahead.close()


def test_a_listing_of_one_folder_vouches_for_nothing_else(tmp_path: Path) -> None:
    root = _content(tmp_path / "content")
    only = ContentListing.of_part(root, "comments", ContentListing.walk_part(root, "comments"))
    assert only.file("comments/two/1.md") is not None
    assert only.subfolders(root / "comments") is not None
    assert sorted(only.subfolders(root / "comments") or []) == ["one", "two"]
    assert only.stamp(root / "posts" / "ann" / "2026" / "one.md") is False  # ask the disk
    assert only.files_under(["posts"]) is None


def test_staged_steps_are_collected_as_each_is_done(tmp_path: Path) -> None:
    go = tmp_path / "go"

    def waits() -> str:
        deadline = time.monotonic() + 20
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return "second" if go.exists() else "timed out"

    def fails() -> None:
        raise ValueError("the third step broke")

    staged = Staged([lambda: ("first", os.getpid()), waits, fails, lambda: "never"])
    try:
        first, pid = staged.result(0)  # while the second step still waits
        assert first == "first" and pid != os.getpid()
        go.touch()
        assert staged.result(1) == "second"
        with pytest.raises(RenderError, match="the third step broke"):
            staged.result(2)
        with pytest.raises(RenderError):
            staged.result(3)
    finally:
        staged.close()


def test_a_staged_process_no_longer_needed_is_stopped() -> None:
    staged = Staged([lambda: "walked", lambda: time.sleep(60)])
    assert staged.result(0) == "walked"
    started = time.monotonic()
    staged.close(stop=True)
    assert time.monotonic() - started < 10


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_every_listed_file_is_asked_to_be_read_ahead(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A full build asks the system to read every file the walk listed into its cache (the
    comments are read last, one by one): once each, a file gone since the walk skipped, and
    a named pipe neither waited on nor counted."""
    root = _content(tmp_path / "content")
    os.mkfifo(root / "comments" / "two" / "pipe.md")
    listing = ContentListing.scan(root)
    assert listing.file("comments/two/pipe.md") is not None
    (root / "notes.txt").unlink()
    asked: list[str] = []
    advise = os.posix_fadvise

    def noted(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_WILLNEED and (offset, length) == (0, 0)
        advise(fd, offset, length, advice)  # a pipe: ESPIPE, not counted
        asked.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "posix_fadvise", noted)
    counted: list[int] = []
    reading = threading.Thread(target=lambda: counted.append(listing.read_ahead()), daemon=True)
    reading.start()
    reading.join(30)
    assert not reading.is_alive(), "read_ahead waits on the named pipe"
    assert counted == [6]
    assert sorted(os.path.relpath(path, root) for path in asked) == [
        "comments/one/1.md", "comments/one/2.md", "comments/two/1.md", "pages/about.md",
        "posts/ann/2026/one.md", "posts/bob/2025/two.md"]
