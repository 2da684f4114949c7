"""The whole entry conversion as one pure function, shared by the property tests and atheris.

`convert(body, content_type)` runs what a fetch run runs on a body (parse_feed → build_post →
slug and path → render_post) and returns the post files' text. An AggregatorError is a clear,
expected refusal; anything else is a bug. `check_file` states what every post file must be.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from aggregator.entries import build_post, entry_guid
from aggregator.models import Member
from aggregator.parse import parse_feed
from aggregator.write import KEYS, PostIndex, render_post

URL = "https://fuzz.example/feed/"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
MEMBERS = (Member(id="fuzz", name="Fuzz Member", feed=URL, sector="local-government",
                  content="full"),
           Member(id="fuzz", name="Fuzz Member", feed=URL, content="summary"))
SECTORS = {"local-government": "Local government"}
_KEY_LINE = re.compile(r"^([A-Za-z_]+): (\S.*)$")


def convert(body: bytes, content_type: str, *, full: bool = True) -> list[tuple[Path, str]]:
    """(path, file text) for every post the body gives; AggregatorError when it is refused."""
    member = MEMBERS[0 if full else 1]
    feed = parse_feed(body, {"content-type": content_type}, url=URL)
    index = PostIndex(Path("/content/posts"))
    files = []
    seen = set()
    for entry in feed.entries:
        guid = entry_guid(entry)
        if guid in seen:
            continue
        seen.add(guid)
        post = build_post(entry, member=member, feed=feed, feed_url=URL, now=NOW,
                          sectors=SECTORS)
        slug, path = index.assign(post)
        files.append((path, render_post(post, slug=slug, content_mode=member.content)))
    return files


def check_file(path: Path, text: str) -> None:
    """Raise AssertionError unless `text` is a well-formed post file at a safe path."""
    assert path.is_relative_to("/content/posts/fuzz"), path
    assert re.fullmatch(r"[0-9]{4}/[a-z0-9]+(-[a-z0-9]+)*\.md",
                        path.relative_to("/content/posts/fuzz").as_posix()), path
    assert text.endswith("\n"), "no final newline"
    head, sep, body = text.partition("\n\n")
    assert sep, "no blank line after the metadata block"
    keys = []
    for line in head.split("\n"):
        match = _KEY_LINE.match(line)
        assert match, f"not a metadata line: {line!r}"
        keys.append(match.group(1))
    assert len(keys) == len(set(keys)), f"a key twice: {keys}"
    assert set(keys) <= set(KEYS), f"unknown keys: {set(keys) - set(KEYS)}"
    required = {"Title", "Date", "Author", "Category", "Slug", "Member", "Source_feed",
                "Guid", "Content_mode"}
    assert required <= set(keys), keys
    assert "\x00" not in text
    assert not re.search(r"(\]\(<?|=[\"']?)\s*\{(filename|static|attach)\}", body), \
        "a Pelican link placeholder in a link of the body"
