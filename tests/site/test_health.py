"""plugins/health: the health page answers "I joined but nothing shows" from the state database.

The state is written with the aggregator's own State class, as a fetch run leaves it; the site
build must read it without changing a byte, and build a helpful page when there is none.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from ruamel.yaml import YAML

from aggregator.models import Member
from aggregator.state import FeedState, State
from plugins.health.report import member_health, plain_error
from tests.site.sitebuild import FIXTURE, build_site, page


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def write_state(path: Path) -> None:
    with State(path) as state:
        state.save(FeedState("alice-example", "https://alice.example.org/feed/",
                             last_success=ts(2026, 3, 20, 11), last_attempt=ts(2026, 3, 20, 11),
                             last_status=200, posts=6, last_post=ts(2026, 3, 18, 9),
                             redirected_to="https://alice.example.org/blog/feed/",
                             left_out=4, repeats=1))
        state.save(FeedState("bob-quiet", "https://bob.example.net/atom.xml",
                             last_success=ts(2026, 1, 2, 8), last_attempt=ts(2026, 3, 20, 11),
                             last_error="https://bob.example.net/atom.xml: HTTP 404 Not Found",
                             failures=3, next_attempt=ts(2026, 3, 20, 19), posts=2))
        state.save(FeedState("carol-newcomer", "https://carol.example.com/rss", gone=1,
                             failures=1, last_attempt=ts(2026, 3, 20, 11),
                             last_error="https://carol.example.com/rss: the feed is gone "
                                        "(HTTP 410)"))


def card_texts(output: Path) -> dict[str, str]:
    """Each member's card as text, with its facts as "Term: value" lines."""
    root = page(output, "health/")
    cards = {}
    for li in root.iter("li"):
        if not li.attrs.get("id", "").startswith("member-"):
            continue
        parts = [" ".join(e.text.split()) for e in li.iter() if e.tag in ("h2", "p")]
        parts += [f"{' '.join(div.iter('dt')[0].text.split())}: "
                  f"{' '.join(div.iter('dd')[0].text.split())}"
                  for div in li.iter("div") if div.iter("dt")]
        cards[li.attrs["id"].removeprefix("member-")] = "\n".join(parts)
    return cards


@pytest.fixture(scope="module")
def with_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("health")
    data = YAML(typ="safe").load((FIXTURE / "members.yaml").read_text(encoding="utf-8"))
    data["members"].append({"name": "Dan Paused", "id": "dan-paused", "paused": True,
                            "feed": "https://dan.example.org/feed/", "sector": "other"})
    data["members"].append({"name": "Erin Joined", "id": "erin-joined",
                            "feed": "https://erin.example.org/feed/", "sector": "other"})
    members = tmp / "members.yaml"
    YAML().dump(data, members)
    state = tmp / "var" / "state.sqlite3"
    write_state(state)
    digest = hashlib.sha256(state.read_bytes()).hexdigest()
    output = build_site(tmp / "site", deep_chain=False, MEMBERS_FILE=str(members),
                        AGGREGATOR_STATE=str(state))
    return output, state, digest


def test_each_member_says_what_is_wrong_and_what_to_do(with_state: tuple[Path, Path, str],
                                                       ) -> None:
    cards = card_texts(with_state[0])
    assert "Failing" in cards["bob-quiet"]
    assert "The feed address was not found on the blog (HTTP 404)" in cards["bob-quiet"]
    assert "Last success: 2 January 2026, 08:00 UTC" in cards["bob-quiet"]
    assert "Next try: 20 March 2026, 19:00 UTC" in cards["bob-quiet"]
    assert "Feed gone" in cards["carol-newcomer"] and "members.yaml" in cards["carol-newcomer"]
    assert "Last success: Never" in cards["carol-newcomer"]
    assert ("Moved permanently to https://alice.example.org/blog/feed/: update members.yaml"
            in cards["alice-example"])
    assert "Last post: 2 days ago (18 March 2026)" in cards["alice-example"]
    # her entry has topics (tests/data/site/members.yaml): a post missing here may be why
    assert ("Posts taken: Only those on digital, open data, weeknotes; none on personal "
            "(4 of the feed’s posts were not, at the last fetch)") in cards["alice-example"]
    assert "Posts taken" not in cards["bob-quiet"]
    # a post of hers missing here may be a cross-post: shown under the member who had it first
    assert ("Cross-posts: 1 of the feed’s posts is already here from another member’s blog, "
            "and shown there") in cards["alice-example"]
    assert "Cross-posts" not in cards["bob-quiet"]
    assert "Paused" in cards["dan-paused"] and "un-paused" in cards["dan-paused"]
    assert "Not fetched yet" in cards["erin-joined"] and "Last post: None yet" in cards[
        "erin-joined"]
    assert list(cards)[:2] == ["carol-newcomer", "bob-quiet"]  # problems first


def test_the_state_database_is_only_read(with_state: tuple[Path, Path, str]) -> None:
    _, state, digest = with_state
    assert hashlib.sha256(state.read_bytes()).hexdigest() == digest


def test_without_a_state_database_the_page_says_so(site: Path) -> None:
    root = page(site, "health/")
    note = " ".join(next(p for p in root.iter("p") if p.attrs.get("role") == "note").text.split())
    assert "The aggregator has not run yet" in note
    cards = card_texts(site)
    assert set(cards) == {"alice-example", "bob-quiet", "carol-newcomer"}
    assert all("Not fetched yet" in text for text in cards.values())
    assert "Last post: 2 days ago" in cards["alice-example"]  # posts come from content/


def test_every_page_links_to_the_health_page(site: Path) -> None:
    for url, link in (("", "./health/"), ("about/", "../health/"), (
            "members/alice-example/", "../../health/")):
        assert link in [a.attrs.get("href") for a in page(site, url).iter("a")], url


@pytest.mark.parametrize(("error", "words"), [
    ("https://x.example/feed: HTTP 503 Service Unavailable", "server had an error (HTTP 503)"),
    ("https://x.example/feed: no complete answer within 30 s", "did not answer in time"),
    ("https://x.example/feed: host x.example resolves to non-public address 10.0.0.1",
     "private network"),
    ("https://x.example/feed: name not found: x.example", "domain name does not exist"),
    ("https://x.example/feed: this is an HTML page, not a feed (is the feed URL right?)",
     "gives a web page, not a feed"),
    ("https://x.example/feed: something new", "Something new"),
])
def test_errors_are_put_in_plain_words(error: str, words: str) -> None:
    assert words in (plain_error(error, ["https://x.example/feed"]) or "")


def test_a_members_last_post_is_their_newest_whatever_the_order_or_time_zone() -> None:
    """The newest of a member's posts, in any order, with dates in other time zones and
    without one (a post file without an offset is UTC)."""
    member = Member(id="dee", name="Dee", feed="https://dee.example/feed")
    now = datetime(2026, 3, 31, tzinfo=UTC)
    newest = datetime(2026, 3, 30, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # 31st, UTC
    dates = [datetime(2026, 3, 31, 0, 30, tzinfo=timezone(timedelta(hours=2))), newest,
             datetime(2026, 3, 31, 2, 0), datetime(2025, 12, 1, tzinfo=UTC)]
    for aware_only in (True, False):
        posts = [SimpleNamespace(date=d) for d in dates if d.tzinfo or not aware_only]
        random.Random(3).shuffle(posts)
        health = member_health(member, None, posts, now=now)
        assert health.last_post == (newest if aware_only else datetime(2026, 3, 31, 2, 0,
                                                                       tzinfo=UTC))
        assert health.posts == len(posts) and health.days_since_post == 0
    assert member_health(member, None, [], now=now).last_post is None
