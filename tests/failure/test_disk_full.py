"""A full disk: a clear error naming the file, no truncated file, and nothing lost afterwards.

Two ways to fill it: a real 200 kB tmpfs mounted under the content folder (when the test may
mount, i.e. as root), and ENOSPC injected into aggregator.atomic's writes in-process.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator import atomic
from aggregator.cli import main
from tests.failure.network import assert_converged, check_whole, serve_network, tree
from tests.httpserver import LoopbackServer


def fetch(root: Path, *extra: str) -> int:
    return main(["fetch", "--members", str(root / "members.yaml"), "--content",
                 str(root / "content"), "--state", str(root / "var" / "state.sqlite3"),
                 "--allow-private-networks", *extra])


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/victim/content on a 200 kB tmpfs; unmounted afterwards."""
    content = tmp_path / "victim" / "content"
    content.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(content)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'}); "
                    "the injected-ENOSPC test covers the same path")
    try:
        yield content
    finally:
        subprocess.run(["umount", "-l", str(content)], check=False)


def errors(root: Path) -> dict[str, str | None]:
    db = sqlite3.connect(root / "var" / "state.sqlite3")
    rows = dict(db.execute("SELECT member_id, last_error FROM feeds"))
    db.close()
    return rows


def prepare(tmp_path: Path, server: LoopbackServer) -> tuple[Path, Path]:
    registry = serve_network(server, members=6, posts=40, padding=250)
    reference, victim = tmp_path / "reference", tmp_path / "victim"
    for root in (reference, victim):
        root.mkdir(exist_ok=True)
        (root / "members.yaml").write_text(registry)
    assert fetch(reference) == 0
    return reference, victim


def test_a_real_full_filesystem(tmp_path: Path, server: LoopbackServer,
                                small_disk: Path) -> None:
    reference, victim = prepare(tmp_path, server)
    assert sum(len(b) for b in tree(reference / "content").values()) > 300_000  # over 200 kB
    assert fetch(victim) == 0  # failed members are in the summary, the run completes
    found = errors(victim)
    failed = {m: e for m, e in found.items() if e}
    assert failed and all("No space left on device" in e and "cannot write" in e
                          for e in failed.values()), failed
    for path in small_disk.rglob("*.md"):
        check_whole(path)
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    assert fetch(victim, "--force") == 0
    assert all(e is None for e in errors(victim).values())
    assert_converged(tree(small_disk), tree(reference / "content"))  # nothing lost


class _FullDisk(io.RawIOBase):
    """A file that takes `room` bytes in all, then fails like a full disk."""

    budget = {"room": 150_000}

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        room = self.budget["room"]
        if len(data) > room:
            os.write(self.fd, bytes(data[:room]))  # a partial write, then the error
            self.budget["room"] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget["room"] = room - len(data)
        return os.write(self.fd, bytes(data))

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def test_enospc_injected_in_the_atomic_writer(tmp_path: Path, server: LoopbackServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    reference, victim = prepare(tmp_path, server)
    _FullDisk.budget["room"] = 150_000
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode="r": _FullDisk(fd))
    assert fetch(victim) == 0
    failed = {m: e for m, e in errors(victim).items() if e}
    assert failed and all("No space left on device" in e and ".md" in e
                          for e in failed.values()), failed
    for path in (victim / "content").rglob("*"):
        assert not path.name.endswith(".tmp"), f"{path}: temp file left behind"
        if path.suffix == ".md":
            check_whole(path)
    monkeypatch.undo()
    assert fetch(victim, "--force") == 0
    assert_converged(tree(victim / "content"), tree(reference / "content"))
