"""`make publish`: fetch, build with publishconf.py, index for search — one run at a time.

A lock file under var/ keeps two publishes from overlapping (the second waits up to
`wait` seconds, then says clearly that another run holds the lock); each run appends to
var/publish.log what it did and how long each step took.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aggregator.errors import AggregatorError

logger = logging.getLogger(__name__)


class LockedError(AggregatorError):
    """Another publish holds the lock."""


@contextmanager
def run_lock(path: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the block's duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise LockedError(f"another publish is running ({holder}); lock file "
                                      f"{path}. Wait for it, or try again later.") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def _step(name: str, command: Sequence[str], log: Path, cwd: Path) -> None:
    started = time.monotonic()
    print(f"==> {name}: {' '.join(command)}", flush=True)
    result = subprocess.run(command, cwd=cwd, check=False)  # noqa: S603 - our own commands
    elapsed = time.monotonic() - started
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {name}: exit {result.returncode} "
                     f"in {elapsed:.1f} s\n")
    if result.returncode != 0:
        raise AggregatorError(f"{name} failed (exit {result.returncode}); see the output above "
                              f"and {log}")


def publish(root: Path, *, settings_file: str = "publishconf.py", wait: float = 0.0,
            output: str = "output", fetch_args: Sequence[str] = ()) -> None:
    """Fetch, build and index, holding the publish lock throughout."""
    var = root / "var"
    log = var / "publish.log"
    python = sys.executable
    with run_lock(var / "publish.lock", wait=wait):
        _step("fetch", [python, "-m", "aggregator", "fetch", *fetch_args], log, root)
        _step("build", [python, "-m", "pelican", "content", "-o", output, "-s", settings_file,
                        "--fatal", "errors"], log, root)
        _step("search index", [python, "-m", "pagefind", "--site", output], log, root)
