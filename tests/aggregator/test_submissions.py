"""The moderation queue: one file per blog, none lost and none twice, approve and reject."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aggregator import submissions
from aggregator.atomic import write_atomic
from aggregator.errors import ConfigError
from aggregator.members import load_members
from aggregator.submissions import (
    DuplicateSubmission,
    PreviewPost,
    Submission,
    SubmissionQueue,
    submission_id,
)

REGISTRY = """\
# The network's members. Keep this list in joining order.
members:
  - name: Dave Briggs   # founder
    feed: https://davebriggs.example/feed/
    site: https://davebriggs.example/
    sector: local-government

  # Central government
  - name: Policy Team
    feed: https://policy.example/atom.xml
"""


def make(feed: str, *, name: str = "New Blog", site: str | None = None,
         email: str | None = "owner@example.org") -> Submission:
    return Submission(id=submission_id(feed), url=feed, feed=feed, site=site, name=name,
                      blog_title=name, email=email, organisation="Example Council",
                      sector="local-government", note="Please add us",
                      posts=(PreviewPost("First", "2026-03-01T09:00:00+00:00", "Words", None),),
                      submitted="2026-03-01T10:00:00+00:00")


def test_the_id_is_the_same_for_the_same_feed_however_it_is_written() -> None:
    assert submission_id("https://Blog.Example:443/feed") == submission_id(
        "https://blog.example/feed/")
    assert submission_id("https://blog.example/feed/") != submission_id(
        "https://blog.example/other/feed/")
    assert submission_id("https://blog.example/feed/").startswith("blog-example-feed-")


def test_a_submission_is_one_readable_file(tmp_path: Path) -> None:
    queue = SubmissionQueue(tmp_path / "submissions")
    queued = queue.add(make("https://blog.example/feed/"))
    path = tmp_path / "submissions" / f"{queued.id}.json"
    data = json.loads(path.read_text())
    assert data["feed"] == "https://blog.example/feed/"
    assert data["email"] == "owner@example.org"
    assert data["status"] == "pending"
    assert queue.get(queued.id) == queued
    assert queue.pending() == [queued]


def test_the_same_blog_is_queued_once(tmp_path: Path) -> None:
    queue = SubmissionQueue(tmp_path)
    first = queue.add(make("https://blog.example/feed/", site="https://blog.example/"))
    with pytest.raises(DuplicateSubmission, match=first.id) as caught:
        queue.add(make("https://BLOG.example/feed"))
    assert caught.value.pending == first.id
    with pytest.raises(DuplicateSubmission, match="already waiting"):  # other feed, same site
        queue.add(make("https://blog.example/comments/feed/", site="https://blog.example"))
    assert len(queue.pending()) == 1


def test_concurrent_adds_keep_every_blog_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_write(path: Path, text: str) -> bool:  # widens any check-then-write race
        time.sleep(0.005)
        return write_atomic(path, text)

    monkeypatch.setattr(submissions, "write_atomic", slow_write)
    queue = SubmissionQueue(tmp_path)
    feeds = [f"https://blog{n}.example/feed/" for n in range(150)]
    attempts = [f for feed in feeds[:50] for f in (feed, feed)] + feeds[50:]  # repeats together

    def add(feed: str) -> str:
        try:
            queue.add(make(feed))
            return "queued"
        except DuplicateSubmission:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(add, attempts, timeout=60))
    assert outcomes.count("queued") == 150 and outcomes.count("duplicate") == 50
    assert len(list(tmp_path.glob("*.json"))) == 150
    assert not list(tmp_path.glob(".*.tmp"))


def test_approve_appends_to_the_registry_keeping_its_comments(tmp_path: Path) -> None:
    registry = tmp_path / "members.yaml"
    registry.write_text(REGISTRY)
    queue = SubmissionQueue(tmp_path / "submissions")
    queued = queue.add(make("https://new.example/feed/", name="Dave Briggs",
                            site="https://new.example/"))
    member = queue.approve(queued.id, members_file=registry)
    text = registry.read_text()
    assert text.startswith(REGISTRY)  # every byte of the old file kept, in order
    assert member.name == "Dave Briggs (Example Council)"  # names must differ on the site
    assert member.id == "dave-briggs-example-council"
    assert (member.feed, member.site, member.organisation, member.sector) == (
        "https://new.example/feed/", "https://new.example/", "Example Council",
        "local-government")
    assert "owner@example.org" not in text and "Please add us" not in text
    assert [m.id for m in load_members(registry)][-1] == member.id
    assert queue.pending() == []
    archived = json.loads((tmp_path / "submissions" / "approved" / f"{queued.id}.json")
                          .read_text())
    assert archived["status"] == "approved" and archived["member_id"] == member.id


def test_approve_refuses_a_feed_already_in_the_registry(tmp_path: Path) -> None:
    registry = tmp_path / "members.yaml"
    registry.write_text(REGISTRY)
    queue = SubmissionQueue(tmp_path / "submissions")
    queued = queue.add(make("https://policy.example/atom.xml"))
    with pytest.raises(ConfigError, match="already member 'policy-team'"):
        queue.approve(queued.id, members_file=registry)
    assert registry.read_text() == REGISTRY
    assert queue.pending() == [queued]


def test_reject_records_the_reason_and_a_later_one_does_not_overwrite(tmp_path: Path) -> None:
    queue = SubmissionQueue(tmp_path)
    first = queue.add(make("https://spam.example/feed/"))
    with pytest.raises(ConfigError, match="give a reason"):
        queue.reject(first.id, reason="  ")
    queue.reject(first.id, reason="Not\na public-sector blog")
    queue.add(make("https://spam.example/feed/"))  # back again
    queue.reject(first.id, reason="Still not")
    reasons = sorted(json.loads(p.read_text())["reason"]
                     for p in (tmp_path / "rejected").glob("*.json"))
    assert reasons == ["Not a public-sector blog", "Still not"]
    assert queue.pending() == []


@pytest.mark.parametrize("bad_id", ["../../members", "nope", "UPPER", ""])
def test_unknown_or_malformed_ids_are_configuration_errors(tmp_path: Path, bad_id: str) -> None:
    queue = SubmissionQueue(tmp_path)
    with pytest.raises(ConfigError, match="no (pending )?submission"):
        queue.reject(bad_id, reason="x")
    with pytest.raises(ConfigError, match="no (pending )?submission"):
        queue.approve(bad_id, members_file=tmp_path / "members.yaml")
    assert not (tmp_path / "members.yaml").exists()


def test_a_broken_queue_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "oops.json").write_text("{not json")
    with pytest.raises(ConfigError, match="oops.json"):
        SubmissionQueue(tmp_path).pending()
