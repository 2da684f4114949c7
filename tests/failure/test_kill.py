"""A fetch killed with SIGKILL at random moments leaves whole files, and the next run converges.

`python -m aggregator fetch` runs as a subprocess against 20 feeds with random delays and is
killed after a random 0–1.5 s, 50 times over the same content folder. After every kill each
file is whole; after one more, uninterrupted run the content is byte for byte what a single
uninterrupted run writes into a fresh folder.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.failure.network import assert_converged, check_whole, serve_network, tree
from tests.httpserver import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 50


def command(root: Path) -> list[str]:
    return [sys.executable, "-m", "aggregator", "fetch", "--members", str(root / "members.yaml"),
            "--content", str(root / "content"), "--state", str(root / "var" / "state.sqlite3"),
            "--allow-private-networks"]


def run(root: Path) -> None:
    done = subprocess.run(command(root), cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_sigkill_at_random_moments_leaves_whole_files_and_the_next_run_converges(
        tmp_path: Path) -> None:
    rng = random.Random(20260320)
    with LoopbackServer() as server:
        registry = serve_network(server, members=20, posts=8, max_delay=0.05)
        reference, victim = tmp_path / "reference", tmp_path / "victim"
        for root in (reference, victim):
            root.mkdir()
            (root / "members.yaml").write_text(registry)
        run(reference)
        expected = tree(reference / "content")
        assert len([p for p in expected if p.startswith("posts/")]) == 20 * 8
        assert len([p for p in expected if p.startswith("comments/")]) == 20 * 2 * 3

        deadline = time.monotonic() + 90
        killed = 0
        for _ in range(TRIALS):
            if time.monotonic() > deadline:
                break
            process = subprocess.Popen(command(victim), cwd=ROOT, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                process.wait(timeout=rng.uniform(0.0, 1.5))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the run and its parsing workers
                process.wait(timeout=10)
                killed += 1
            for path in (victim / "content").rglob("*.md"):
                check_whole(path)
            if rng.random() < 0.3:  # sometimes the state goes too: files are the truth
                for extra in (victim / "var").glob("state.sqlite3*"):
                    extra.unlink()
        assert killed >= TRIALS // 2, f"only {killed} runs were killed mid-way"

        run(victim)
        assert_converged(tree(victim / "content"), expected)
