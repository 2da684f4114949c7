"""Hostile ids, links and titles write nothing outside content/ and never share a file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from aggregator.cli import main
from tests.httpserver import LoopbackServer, Reply

LONG = "x" * 5000
HOSTILE_STRINGS = [
    "../../../../../../tmp/escaped", "..\\..\\..\\windows\\system32", "/etc/passwd",
    "/abs/../../path", "C:\\Windows\\win.ini", "\\\\server\\share\\file", "CON", "NUL", "AUX",
    "PRN", "COM1", "LPT1", "con.md", "nul.txt", "..", ".", "...", ".md", ".hidden", "index",
    "a\u2215..\u2215..\u2215b", "a\uff0f..\uff0f..\uff0fb", "a\u2044..\u2044b",
    "\u2215etc\u2215passwd",
    "~/.ssh/id_rsa", "%2e%2e%2f%2e%2e%2fetc", "file:///etc/passwd", "Hello!", "Hello?",
    "HELLO", "hello", "ĦȄĹĻŐ", "😀", "\u202eevil\u202dtxt.md", "a" * 300, LONG,
    "{filename}/../x", "{attach}../../x", "-", "--", "_", "   ",
]
NUL_STRINGS = ["nul\x00byte", "\x00", "../\x00/../x"]


def rss(base: str) -> bytes:
    items = []
    for i, text in enumerate(HOSTILE_STRINGS):
        for j, (guid, link, title) in enumerate([(text, f"{base}/p/{i}", f"t{i}"),
                                                 (f"g-{i}", text, f"u{i}"),
                                                 (f"h-{i}", f"{base}/q/{i}", text)]):
            items.append(f"""<item><title>{escape(title)}</title><link>{escape(link)}</link>
              <guid isPermaLink="false">{escape(guid)}</guid>
              <pubDate>Mon, 02 Feb 2026 10:{(i * 3 + j) % 60:02d}:00 +0000</pubDate>
              <description>body {i} {j}</description></item>""")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape(LONG)}</title>'
            f'<link>{base}/</link>{"".join(items)}</channel></rss>').encode()


def json_feed() -> bytes:
    items = [{"id": text, "url": f"https://x.example/{i}", "title": text,
              "content_text": f"nul {i}", "date_published": "2026-02-03T10:00:00Z"}
             for i, text in enumerate(NUL_STRINGS)]
    items += [{"id": f"same-title-{i}", "title": "Same title", "content_text": f"same {i}",
               "date_published": "2026-02-04T10:00:00Z"} for i in range(20)]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J",
                       "items": items}).encode()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root`: files with size and mtime, folders by name."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            found[str(path.relative_to(root))] = ((0, 0) if path.is_dir() and
                                                  not path.is_symlink()
                                                  else (stat.st_size, stat.st_mtime_ns))
    return found


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """The project tree lives two levels down, so that `../..` has somewhere to land."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("untouched")
    project = tmp_path / "a" / "b"
    project.mkdir(parents=True)
    return project


def test_hostile_ids_links_and_titles_stay_inside_content(sandbox: Path,
                                                           server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    server.routes["/feed.xml"] = Reply(200, rss(base), {"Content-Type": "application/rss+xml"})
    server.routes["/feed.json"] = Reply(200, json_feed(),
                                        {"Content-Type": "application/feed+json"})
    members = sandbox / "members.yaml"
    members.write_text(f"members:\n  - name: Pat\n    id: pat\n    feed: {base}/feed.xml\n"
                       f"    content: full\n"
                       f"  - name: Jo\n    id: jo\n    feed: {base}/feed.json\n")
    top = sandbox.parent.parent
    before = snapshot(top)
    code = main(["fetch", "--members", str(members), "--content", str(sandbox / "content"),
                 "--state", str(sandbox / "var" / "state.sqlite3"), "--allow-private-networks"])
    assert code == 0
    after = snapshot(top)
    changed = {p for p in after if after[p] != before.get(p)} | (set(before) - set(after))
    inside = ("a/b/content", "a/b/var")
    assert sorted(p for p in changed if not p.startswith(inside)) == []
    assert after["outside/keep.txt"] == before["outside/keep.txt"]

    files = sorted((sandbox / "content").rglob("*"))
    posts = [p for p in files if p.is_file()]
    for path in posts:
        rel = path.relative_to(sandbox / "content")
        assert re.fullmatch(r"posts/(pat|jo)/20[0-9]{2}/[a-z0-9]+(-[a-z0-9]+)*\.md",
                            rel.as_posix()), rel
        assert len(path.name) <= 100
        assert path.stem.upper() not in {"CON", "NUL", "AUX", "PRN", "COM1", "LPT1"}
    guids = [re.search(r"^Guid: (.*)$", p.read_text(), re.M).group(1) for p in posts]
    slugs = [re.search(r"^Slug: (.*)$", p.read_text(), re.M).group(1) for p in posts]
    assert len(set(slugs)) == len(slugs)  # no two posts on one page
    # every entry has its own file: none overwrote another
    expected = len(HOSTILE_STRINGS) * 3 + len(NUL_STRINGS) + 20
    assert len(posts) == len(set(guids)) == expected
    assert not any("\x00" in p.read_text() for p in posts)


def test_a_second_run_keeps_every_post_in_its_own_file(sandbox: Path,
                                                       server: LoopbackServer) -> None:
    base = server.url("").rstrip("/")
    server.routes["/feed.json"] = Reply(200, json_feed(),
                                        {"Content-Type": "application/feed+json"})
    members = sandbox / "members.yaml"
    members.write_text(f"members:\n  - name: Jo\n    id: jo\n    feed: {base}/feed.json\n")
    args = ["fetch", "--members", str(members), "--content", str(sandbox / "content"),
            "--state", str(sandbox / "var" / "s.sqlite3"), "--allow-private-networks"]
    assert main(args) == 0
    first = {p: p.read_bytes() for p in (sandbox / "content").rglob("*.md")}
    (sandbox / "var" / "s.sqlite3").unlink()
    assert main([*args, "--force"]) == 0
    second = {p: p.read_bytes() for p in (sandbox / "content").rglob("*.md")}
    assert second == first  # same titles, same files: no reshuffle between runs


@pytest.mark.parametrize("member_id", ["../evil", "/abs", "CON/x", "a\\b", "x" * 5000,
                                       "a\u2215b"])
def test_a_hostile_member_id_is_a_configuration_error(sandbox: Path, member_id: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    members = sandbox / "members.yaml"
    members.write_text("members:\n  - name: Mal\n    id: " + json.dumps(member_id)
                       + "\n    feed: https://mal.example/feed\n")
    code = main(["fetch", "--members", str(members), "--content", str(sandbox / "content")])
    assert code == 2
    assert "members.yaml:" in capsys.readouterr().err
    assert not (sandbox / "content").exists()
