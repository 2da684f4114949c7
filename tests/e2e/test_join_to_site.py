"""From the Join form to the built site, over real HTTP on 127.0.0.1.

A blogger posts the Join form to `aggregator serve-submissions` (the real command, run as a
child process); the submission waits in the queue; a maintainer approves it; the next fetch
pulls the new member's blog (a LoopbackServer); a real Pelican build lists the member in the
directory and shows their post on the home page. The submitter's e-mail reaches none of the
registry, the content or the site.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pelican.settings import read_settings

from aggregator.cli import main
from aggregator.members import load_members
from tests.aggregator.test_discover import serve_wordpress
from tests.httpserver import LoopbackServer
from tests.pelicanbuild import run_pelican
from tests.site.sitebuild import page

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "ann.submitter@example.org"
REGISTRY = """\
# The network's members, in joining order.
members:
  - name: Founding Member   # the first blog of the network
    id: founder
    feed: https://founder.example/feed/
    sector: local-government
    paused: true          # on a break; kept listed

  # New members are added below by `aggregator approve`.
"""


class SubmissionsServer:
    """`python -m aggregator serve-submissions` on a free port; stopped within seconds."""

    def __init__(self, root: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "serve-submissions", "--host", "127.0.0.1",
             "--port", str(self.port), "--allow-private-networks",
             "--members", str(root / "members.yaml"), "--submissions", str(root / "queue")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while True:
            assert self.process.poll() is None, f"server stopped: {self.process.stderr.read()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "serve-submissions did not start in 15 s"
                time.sleep(0.05)

    def post(self, fields: dict[str, str]) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/submit", body=urlencode(fields),
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "Accept": "text/html"})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def submissions(tmp_path: Path) -> Iterator[SubmissionsServer]:
    (tmp_path / "members.yaml").write_text(REGISTRY, encoding="utf-8")
    server = SubmissionsServer(tmp_path)
    yield server
    server.close()


def build_site(root: Path) -> Path:
    """A real Pelican build of the project's pages and the fetched content, with our theme."""
    output = root / "output"
    settings = read_settings(path=str(ROOT / "pelicanconf.py"), override={
        "PATH": str(root / "content"), "OUTPUT_PATH": str(output),
        "CACHE_PATH": str(root / "cache"), "MEMBERS_FILE": str(root / "members.yaml"),
        "LOAD_CONTENT_CACHE": False, "CACHE_CONTENT": False})
    run_pelican(settings)
    return output


def files_containing(text: str, *paths: Path) -> list[Path]:
    """Files under `paths` holding `text` or its local part, in any case."""
    needles = {text.lower().encode(), text.split("@")[0].lower().encode()}
    found = []
    for path in paths:
        for file in [path] if path.is_file() else path.rglob("*"):
            if file.is_file() and any(n in file.read_bytes().lower() for n in needles):
                found.append(file)
    return found


def test_a_blog_joins_through_the_form_and_appears_on_the_built_site(
        tmp_path: Path, submissions: SubmissionsServer, server: LoopbackServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = serve_wordpress(server)
    members, queue = tmp_path / "members.yaml", tmp_path / "queue"

    # 1. The Join form, posted over HTTP, reaches the queue.
    status, reply = submissions.post({"url": home, "name": "Ann Submitter", "email": EMAIL,
                                      "organisation": "Example Borough Council",
                                      "sector": "local-government", "note": "Hello",
                                      "website": ""})
    assert status == 202, reply
    assert "Council Digital Notes is queued for review" in reply
    assert main(["submissions", "--json", "--submissions", str(queue)]) == 0
    pending = json.loads(capsys.readouterr().out)
    assert len(pending) == 1 and pending[0]["feed"] == server.url("/feed/")
    assert pending[0]["email"] == EMAIL  # kept for the maintainers, in the queue only

    # 2. A maintainer approves it: appended, the registry's comments and layout untouched.
    assert main(["approve", pending[0]["id"], "--members", str(members),
                 "--submissions", str(queue)]) == 0
    assert "member 'ann-submitter' (Ann Submitter" in capsys.readouterr().out
    text = members.read_text(encoding="utf-8")
    assert text.startswith(REGISTRY)
    registry = load_members(members)
    assert [m.name for m in registry] == ["Founding Member", "Ann Submitter"]
    member = registry[1]
    assert member.feed == server.url("/feed/") and member.organisation == \
        "Example Borough Council"
    assert main(["submissions", "--json", "--submissions", str(queue)]) == 0
    assert json.loads(capsys.readouterr().out) == []

    # 3. The next fetch pulls the new member's posts (the paused founder is left alone).
    feed_hits = server.hits("/feed/")
    assert main(["fetch", "--members", str(members), "--content", str(tmp_path / "content"),
                 "--state", str(tmp_path / "var" / "state.sqlite3"),
                 "--allow-private-networks", "--strict"]) == 0
    assert server.hits("/feed/") == feed_hits + 1
    posts = sorted((tmp_path / "content" / "posts" / member.id).rglob("*.md"))
    assert len(posts) == 4

    # 4. A real Pelican build lists the member and shows their latest post on the home page.
    (tmp_path / "content" / "pages").mkdir()
    for source in (ROOT / "content" / "pages").glob("*.md"):
        (tmp_path / "content" / "pages" / source.name).write_bytes(source.read_bytes())
    output = build_site(tmp_path)
    listed = {a.text: a.attrs["href"] for a in page(output, "members/").iter("a")}
    assert listed["Ann Submitter"] == f"../members/{member.id}/"
    assert (output / "members" / member.id / "index.html").is_file()
    front = page(output, "")
    assert listed.get("Founding Member")  # the paused founder stays listed
    river = {a.text: a.attrs["href"] for a in front.iter("a")}
    assert river["Post number 4"] == f"./2026/03/{member.id}-post-number-4/"
    assert river["Ann Submitter"] == f"./members/{member.id}/"

    # 5. The submitter's e-mail is in the queue and nowhere the public can see.
    assert files_containing(EMAIL, queue)
    assert files_containing(EMAIL, members, tmp_path / "content", output) == []
