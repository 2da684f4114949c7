"""Two `aggregator publish` runs started together: one publishes, the other stops, clearly.

(tests/aggregator/test_publish.py covers the waiting variant, `--wait`.) Here neither waits:
the loser must exit 1 with a message naming the running publish, fetch nothing, build nothing
and write nothing to the log, so that nothing of the two runs interleaves.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.aggregator.test_publish import finish, log_lines, make_project, start_publish
from tests.httpserver import LoopbackServer, Reply

RSS = {"Content-Type": "application/rss+xml"}
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Only post</title><link>https://t.example/1</link><guid>t-1</guid>
<pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate><description>x</description></item>
</channel></rss>"""


def test_two_publishes_without_waiting_one_runs_the_other_stops(tmp_path: Path) -> None:
    with LoopbackServer() as blog:
        blog.routes["/feed/"] = Reply(200, FEED, RSS, delay=1.0)  # a slow fetch: they overlap
        root = make_project(tmp_path / "site", blog.url("/feed/"))
        first = start_publish(root)
        second = start_publish(root)
        results = {first.pid: finish(first), second.pid: finish(second)}
        codes = sorted(code for code, _, _ in results.values())
        assert codes == [0, 1], results
        [(winner, _)] = [(pid, r) for pid, r in results.items() if r[0] == 0]
        [(_, (_, out, err))] = [(pid, r) for pid, r in results.items() if r[0] == 1]
        assert re.search(rf"another publish is running \(pid {winner} since ", err), err
        assert "Traceback" not in err
        assert blog.hits("/feed/") == 1  # the loser fetched nothing
    assert {pid for pid, _ in log_lines(root)} == {str(winner)}
    assert (root / "output" / "index.html").is_file()
