"""`aggregator publish` in a temporary project: fetch from 127.0.0.1, build, index, check links.

The project is real apart from its registry: the real pelicanconf.py and publishconf.py (copied),
the real theme and plugins (linked), the real pages; its one member's blog is a LoopbackServer.
SITEURL is not set, so the build uses publishconf.py's own and the link check reads it too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.publish import LockedError, run_lock
from aggregator.state import FeedState, State
from aggregator.submissions import Submission, SubmissionQueue, submission_id
from tests.httpserver import LoopbackServer, Reply

ROOT = Path(__file__).resolve().parents[2]
RSS = "application/rss+xml; charset=UTF-8"
TIMEOUT = 60  # seconds for any one publish


def blog_feed(base: str, *, site_url: str) -> bytes:
    """Two posts; the second links to a page of the network's site that does not exist."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Parish Notes</title><link>{base}/</link>
<description>Notes</description>
<item><title>Bins and budgets</title><link>{base}/2026/03/bins/</link>
<pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate><guid>{base}/?p=1</guid>
<description>How we talk about the budget for bins.</description></item>
<item><title>Where we used to be</title><link>{base}/2026/03/old/</link>
<pubDate>Tue, 03 Mar 2026 09:00:00 +0000</pubDate><guid>{base}/?p=2</guid>
<description>&lt;p&gt;We were listed at &lt;a href="{site_url}/old-site/parish/"&gt;the old
planet&lt;/a&gt; once.&lt;/p&gt;</description></item>
</channel></rss>""".encode()


def make_project(root: Path, feed_url: str, *, newcomer_feed: str | None = None) -> Path:
    """A project folder: the real settings, theme, plugins and pages; one member at feed_url
    (and one who has not posted yet at `newcomer_feed`)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("pelicanconf.py", "publishconf.py"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("themes", "plugins"):
        (root / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copytree(ROOT / "content" / "pages", root / "content" / "pages")
    (root / "members.yaml").write_text(
        "# The registry of a test network.\nmembers:\n"
        f"  - name: Parish Notes\n    id: parish-notes\n    feed: {feed_url}\n"
        "    sector: local-government\n    content: full\n    comments: false\n"
        + (f"  - name: New Starter\n    id: new-starter\n    feed: {newcomer_feed}\n"
           "    sector: health-and-care\n" if newcomer_feed else ""), encoding="utf-8")
    return root


def default_site_url() -> str:
    env = {k: v for k, v in os.environ.items() if k != "SITEURL"}
    code = "import runpy,sys; print(runpy.run_path(sys.argv[1])['SITEURL'])"
    return subprocess.run([sys.executable, "-c", code, str(ROOT / "publishconf.py")], env=env,
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


SITE_URL = default_site_url()


def start_publish(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SITEURL", "AGGREGATOR_SETTINGS")}
    return subprocess.Popen([sys.executable, "-m", "aggregator", "publish",
                             "--allow-private-networks", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"publish did not finish within {TIMEOUT} s:\n{out}\n{err}")
    return process.returncode, out, err


def log_lines(root: Path) -> list[tuple[str, str]]:
    """(pid, message) for every line of var/publish.log."""
    text = (root / "var" / "publish.log").read_text(encoding="utf-8")
    found = re.findall(r"^\S+ \S+ \[pid (\d+)\] (.*)$", text, flags=re.MULTILINE)
    assert len(found) == len(text.splitlines()), f"malformed log:\n{text}"
    return found


@pytest.fixture
def blog() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        base = server.url("").rstrip("/")
        server.routes["/feed/"] = Reply(200, blog_feed(base, site_url=SITE_URL),
                                        {"Content-Type": RSS})
        server.routes["/new/feed/"] = Reply(200, (
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>New Starter</title>"
            f"<link>{base}/new/</link><description>Soon</description></channel></rss>").encode(),
            {"Content-Type": RSS})
        yield server


def test_publish_fetches_builds_indexes_and_checks_links(tmp_path: Path,
                                                         blog: LoopbackServer) -> None:
    root = make_project(tmp_path / "site", blog.url("/feed/"), newcomer_feed=blog.url("/new/feed/"))
    code, out, err = finish(start_publish(root))
    assert code == 0, f"{out}\n{err}"
    output = root / "output"
    # a member with no post yet has a page, and no link to feeds of ours not written yet
    newcomer = (output / "members" / "new-starter" / "index.html").read_text(encoding="utf-8")
    assert "New Starter" in newcomer and "members/new-starter/feed" not in newcomer
    assert "members/parish-notes/feed.atom.xml" in (
        output / "members" / "parish-notes" / "index.html").read_text(encoding="utf-8")
    home = (output / "index.html").read_text(encoding="utf-8")
    assert "Bins and budgets" in home and f'href="{SITE_URL}/members/parish-notes/"' in home
    members = (output / "members" / "index.html").read_text(encoding="utf-8")
    assert "Parish Notes" in members
    assert (output / "pagefind" / "pagefind.js").is_file()
    assert any((output / "pagefind").rglob("*.pf_fragment"))  # the posts were indexed
    assert (output / "feeds" / "all.atom.xml").is_file()
    messages = [message for _, message in log_lines(root)]
    assert messages[0].startswith(f"publish started in {root}")
    steps = [m.split(":")[0] for m in messages if re.match(r"[a-z ]+: exit 0 in \d", m)]
    assert steps == ["fetch", "build", "search index", "link check"]
    assert (root / "var" / "linkcheck.cache").is_file()  # the next check parses what changed
    checked = re.search(r"link check: exit 0 in [\d.]+ s \((\d+) internal links on (\d+) pages",
                        "\n".join(messages))
    assert checked and int(checked[1]) > 100 and int(checked[2]) > 10
    # The member's own link to a missing page of ours is reported, but does not stop publishing.
    assert "1 broken link(s) in members' posts or comments" in out
    assert f"{SITE_URL}/old-site/parish/" in out
    assert messages[-1].startswith("publish succeeded in ")
    assert "waiting to join" not in out  # nobody is


def test_a_publish_ends_by_saying_how_many_blogs_wait_to_join(tmp_path: Path,
                                                              blog: LoopbackServer) -> None:
    """Nobody is told of a Join form's submission otherwise: the publish that cron runs every
    hour says it, in its output (cron's mail) and its log."""
    root = make_project(tmp_path / "site", blog.url("/feed/"))
    queue = SubmissionQueue(root / "submissions")
    for day, url in (("2026-11-20", "https://a.example/"), ("2026-11-26", "https://b.example/")):
        queue.add(Submission(id=submission_id(url + "feed/"), url=url, feed=url + "feed/",
                             site=url, name="A blog", email="someone@a.example",
                             submitted=f"{day}T09:00:00+00:00"))
    code, out, err = finish(start_publish(root))
    assert code == 0, f"{out}\n{err}"
    said = ("2 blog(s) waiting to join, the oldest since 2026-11-20: review them with "
            "`aggregator submissions`")
    assert said in out
    assert [m for _, m in log_lines(root)][-1] == said
    assert "someone@a.example" not in out + err  # the queue's addresses stay in the queue


def test_a_broken_internal_link_fails_the_publish_naming_its_page(tmp_path: Path,
                                                                 blog: LoopbackServer) -> None:
    root = make_project(tmp_path / "site", blog.url("/feed/"))
    (root / "content" / "pages" / "press.md").write_text(
        "Title: Press\n\nSee [our members](/members/) and [the press kit](/press-kit/).\n"
        f"And [the archive]({SITE_URL}/archive-2009/).\n", encoding="utf-8")
    code, out, err = finish(start_publish(root))
    assert code == 1, f"{out}\n{err}"
    assert "2 broken internal link(s)" in err
    assert "press/index.html: /press-kit/ (no press-kit/index.html)" in err
    assert f"press/index.html: {SITE_URL}/archive-2009/ (no archive-2009/index.html)" in err
    assert "/members/ " not in err  # the good link on the same page is not listed
    messages = [message for _, message in log_lines(root)]
    assert any(m.startswith("link check: exit 1") for m in messages)
    assert "  press/index.html: /press-kit/ (no press-kit/index.html)" in messages
    assert messages[-1].startswith("publish failed after ")
    assert "broken internal link" in messages[-1]


def test_a_second_publish_refuses_clearly_while_one_runs(tmp_path: Path,
                                                        blog: LoopbackServer) -> None:
    root = make_project(tmp_path / "site", blog.url("/feed/"))
    with run_lock(root / "var" / "publish.lock"):
        code, out, err = finish(start_publish(root))
        with pytest.raises(LockedError, match="another publish is running"):
            with run_lock(root / "var" / "publish.lock", wait=0.3):
                pass
    assert code == 1
    assert f"another publish is running (pid {os.getpid()} since " in err
    assert "--wait" in err
    assert blog.hits("/feed/") == 0 and not (root / "output").exists()
    assert not (root / "var" / "publish.log").exists()


def test_two_publishes_at_once_run_one_after_the_other(tmp_path: Path,
                                                      blog: LoopbackServer) -> None:
    root = make_project(tmp_path / "site", blog.url("/feed/"))
    feed = blog.routes["/feed/"]
    assert isinstance(feed, Reply)
    feed.delay = 3.0  # each fetch takes seconds: the runs would overlap without the lock
    first = start_publish(root, "--wait", "60")
    lock = root / "var" / "publish.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and f"pid {first.pid}" in lock.read_text()):
        assert time.monotonic() < deadline, "the first publish never took the lock"
        time.sleep(0.05)
    second = start_publish(root, "--wait", "60")  # starts while the first holds the lock
    results = [finish(first), finish(second)]
    assert [code for code, _, _ in results] == [0, 0], results
    waited = [err for _, _, err in results if "waiting up to 60 s for the publish already "
              "running (pid " in err]
    assert len(waited) == 1
    lines = log_lines(root)
    pids = [pid for pid, _ in lines]
    runs = list(dict.fromkeys(pids))
    assert sorted(runs) == sorted([str(first.pid), str(second.pid)])
    boundary = pids.index(runs[1])
    assert set(pids[boundary:]) == {runs[1]}  # the second run's lines all come after the first's
    for block in (lines[:boundary], lines[boundary:]):
        messages = [m for _, m in block]
        assert messages[0].startswith("publish started")
        assert messages[-1].startswith("publish succeeded")
    assert blog.hits("/feed/") == 2


def test_run_lock_waits_for_the_holder_to_finish(tmp_path: Path) -> None:
    lock = tmp_path / "var" / "publish.lock"
    told: list[str] = []
    with run_lock(lock):
        started = time.monotonic()
        with pytest.raises(LockedError, match=r"after waiting 1 s"):
            with run_lock(lock, wait=0.6, on_wait=told.append):
                pass
        assert time.monotonic() - started >= 0.6
    assert told and "waiting up to 1 s" in told[0] and f"pid {os.getpid()}" in told[0]
    with run_lock(lock, wait=0.0):  # free again once the holder is done
        assert f"pid {os.getpid()}" in lock.read_text()


def test_a_lock_taken_a_moment_ago_is_reported_by_its_holder(tmp_path: Path) -> None:
    """The holder writes its line just after taking the lock: a run that finds the lock in
    between names the holder, not an "unknown process"."""
    import fcntl
    import threading

    path = tmp_path / "var" / "publish.lock"
    path.parent.mkdir()
    with path.open("a+") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken, its line not yet written

        def write_line() -> None:
            time.sleep(0.3)
            holder.write("pid 4242 since 2026-11-27 12:00:00\n")
            holder.flush()

        writer = threading.Thread(target=write_line)
        writer.start()
        try:
            with pytest.raises(LockedError, match=r"another publish is running \(pid 4242 "):
                with run_lock(path):
                    pass
        finally:
            writer.join(timeout=5)


def test_a_publish_names_the_members_whose_feeds_have_failed_for_long(
        tmp_path: Path, blog: LoopbackServer) -> None:
    """One failed fetch is routine; a feed that has failed for over a week, or was never
    read (a new member's mistyped address), is a maintainer's to-do, said at the end."""
    root = make_project(tmp_path / "site", blog.url("/feed/"))
    with (root / "members.yaml").open("a", encoding="utf-8") as registry:
        for ident in ("flaky", "stale", "typo", "resting"):
            registry.write(f"  - name: {ident.title()}\n    id: {ident}\n"
                           f"    feed: {blog.url('/' + ident + '/feed/')}\n"
                           + ("    paused: true\n" if ident == "resting" else ""))
    now = time.time()
    with State(root / "var" / "state.sqlite3") as state:  # as earlier publishes left it
        for ident, read_days_ago in (("flaky", 2), ("stale", 10), ("resting", 30)):
            state.save(FeedState(ident, blog.url(f"/{ident}/feed/"), failures=3,
                                 last_success=now - read_days_ago * 86400))
    code, out, err = finish(start_publish(root))
    assert code == 0, f"{out}\n{err}"
    said = ("2 member feed(s) failing for over a week or never read: stale, typo; see "
            "`aggregator status` (fix or pause them in members.yaml)")
    assert said in out
    assert said in [m for _, m in log_lines(root)]
