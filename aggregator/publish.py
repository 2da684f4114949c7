"""`make publish`: fetch, build with publishconf.py, index for search, check links; one at a time.

A lock file under var/ keeps two publishes from overlapping: the second waits up to `wait`
seconds, then says clearly that another run holds the lock and which process it is. Each run
appends to var/publish.log a start line, one line per step (exit status and duration) and an
end line, every line tagged with the run's process id; the lock keeps runs from interleaving.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aggregator.errors import AggregatorError
from aggregator.linkcheck import BrokenLinksError, check_links, feed_text_urls, format_links
from aggregator.search_index import index_site
from aggregator.settings import Settings, load_settings
from aggregator.submissions import SubmissionQueue, queue_dir

logger = logging.getLogger(__name__)

LOCK_NAME = "publish.lock"
LOG_NAME = "publish.log"
LINKS_CACHE_NAME = "linkcheck.cache"  # in var/: each page's links, for the next link check
SEARCH_CACHE_NAME = "search-index.cache"  # in var/: what each search bundle was built from
HOLDER_WAIT = 2.0  # seconds: how long an empty lock file is read again (see _holder)


class LockedError(AggregatorError):
    """Another publish holds the lock."""


class StepError(AggregatorError):
    """A step of the publish failed; the message names it and where its output went."""


@contextmanager
def run_lock(path: Path, *, wait: float = 0.0,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed) for the block's duration.

    `on_wait` is told who holds the lock when this call has to wait for it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait
    told = False
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(handle)
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:.0f} s" if wait else ""
                    raise LockedError(f"another publish is running ({holder}){waited}; lock "
                                      f"file {path}. Wait for it to finish, or pass --wait "
                                      "SECONDS.") from None
                if on_wait is not None and not told:
                    on_wait(f"waiting up to {wait:.0f} s for the publish already running "
                            f"({holder})")
                    told = True
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def _holder(handle: IO[str]) -> str:
    """Who holds the lock, as its line in the lock file says. The holder writes that line
    just after taking the lock: an empty file is read again for up to HOLDER_WAIT seconds
    before the holder is called unknown."""
    deadline = time.monotonic() + HOLDER_WAIT
    while True:
        handle.seek(0)
        holder = handle.read().strip()
        if holder or time.monotonic() >= deadline:
            return holder or "unknown process"
        time.sleep(0.02)


class RunLog:
    """var/publish.log: one line per event, each with the time and the run's process id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tag = f"[pid {os.getpid()}]"

    def write(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        lines = message.splitlines() or [""]
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(f"{stamp} {self.tag} {line}\n" for line in lines)


def _command(name: str, command: Sequence[str], log: RunLog, cwd: Path,
             env: dict[str, str] | None = None) -> None:
    """Run one step as a child process; its output goes to ours (the terminal, cron's mail)."""
    started = time.monotonic()
    print(f"==> {name}: {' '.join(command)}", flush=True)
    try:
        result = subprocess.run(command, cwd=cwd, env=env, check=False)  # noqa: S603
    except OSError as exc:
        log.write(f"{name}: could not start ({exc}) after {time.monotonic() - started:.1f} s")
        raise StepError(f"{name} could not start: {exc}") from exc
    elapsed = time.monotonic() - started
    log.write(f"{name}: exit {result.returncode} in {elapsed:.1f} s")
    if result.returncode != 0:
        raise StepError(f"{name} failed (exit {result.returncode}); see its output above and "
                        f"{log.path}")


def _search_index(output: Path, log: RunLog, cache: Path) -> None:
    """Pagefind, a bundle per year of posts, rebuilt only where pages changed (search_index)."""
    started = time.monotonic()
    print(f"==> search index: {output}", flush=True)
    try:
        report = index_site(output, cache)
    except AggregatorError as exc:
        log.write(f"search index: exit 1 in {time.monotonic() - started:.1f} s: {exc}")
        raise StepError(f"search index failed: {exc}") from exc
    log.write(f"search index: exit 0 in {time.monotonic() - started:.1f} s "
              f"({report.summary()})")


def _link_check(output: Path, content: Path, site_url: str, log: RunLog, cache: Path) -> None:
    started = time.monotonic()
    print(f"==> link check: {output} (SITEURL {site_url or 'empty'})", flush=True)
    report = check_links(output, site_url=site_url,
                         member_urls=lambda: feed_text_urls(content), cache=cache)
    elapsed = time.monotonic() - started
    summary = (f"link check: exit {0 if report.ok else 1} in {elapsed:.1f} s "
               f"({report.links} internal links on {report.pages} pages, "
               f"{len(report.broken)} broken; SITEURL {site_url or 'empty'})")
    if report.broken:
        summary += "\n" + format_links(report.broken, limit=20)
    if report.foreign:
        note = (f"{len(report.foreign)} broken link(s) in members' posts or comments "
                "(not ours to fix; not failing):\n" + format_links(report.foreign, limit=20))
        summary += "\n" + note
        print(note, flush=True)
    log.write(summary)
    if not report.ok:
        raise BrokenLinksError(report, output)
    print(f"    {report.links} internal links on {report.pages} pages: none broken", flush=True)


def _waiting_to_join(settings: Settings, log: RunLog) -> None:
    """Say, at the end of a publish (in cron's mail and the log), how many blogs wait in the
    Join form's queue: nobody is told otherwise. An unreadable queue is said, not fatal."""
    try:
        pending = SubmissionQueue(queue_dir(settings)).pending()
    except (AggregatorError, OSError) as exc:
        message = f"the submissions queue could not be read: {exc}"
    else:
        if not pending:
            return
        oldest = pending[0].submitted[:10]
        message = (f"{len(pending)} blog(s) waiting to join, the oldest since {oldest}: review "
                   "them with `aggregator submissions`")
    print(message, flush=True)
    log.write(message)


FAILING_FOR = 7 * 86400  # seconds: a feed failing this long is a maintainer's to-do
NAMED_MAX = 5  # members named in such a line; the rest counted


def _failing_for_long(settings: Settings, log: RunLog, *, now: float | None = None) -> None:
    """Say, at the end of a publish, which members' feeds have failed for over a week, or
    never been read (a blog that moved without a redirect, or stopped; a new member's feed
    address mistyped): one failed fetch is routine, these need someone to look. Paused
    members are left out."""
    from aggregator.registry_cache import load_members_cached
    from aggregator.state import State

    now = time.time() if now is None else now
    try:
        members = {m.id: m for m in load_members_cached(
            settings.members_file, settings.state_path.parent,
            sectors=settings.sectors or None, regions=settings.regions or None)}
        with State(settings.state_path) as state:
            rows = state.all()
    except (AggregatorError, OSError) as exc:
        message = f"the members' feed health could not be read: {exc}"
    else:
        failing = sorted(row.member_id for row in rows
                         if row.failures and row.member_id in members
                         and not members[row.member_id].paused
                         and (row.last_success is None or now - row.last_success > FAILING_FOR))
        if not failing:
            return
        named = ", ".join(failing[:NAMED_MAX]) + (
            f" and {len(failing) - NAMED_MAX} more" if len(failing) > NAMED_MAX else "")
        message = (f"{len(failing)} member feed(s) failing for over a week or never read: "
                   f"{named}; see `aggregator status` (fix or pause them in members.yaml)")
    print(message, flush=True)
    log.write(message)


@dataclass(frozen=True)
class PublishOptions:
    """What `aggregator publish` was asked for, beyond the project root."""

    settings_file: str = "publishconf.py"
    output: str = "output"
    wait: float = 0.0
    site_url: str | None = None  # overrides the SITEURL environment variable for this run
    allow_private_networks: bool = False  # passed through to fetch
    fetch_settings: Path | None = None  # the aggregator's settings file, when not root's own
    fetch_args: tuple[str, ...] = ()


def publish(root: Path, options: PublishOptions | None = None) -> None:
    """Fetch, build, index and check links, holding the publish lock throughout.

    Raises LockedError when another publish holds the lock past `options.wait`, StepError when a
    step fails, BrokenLinksError when the built site has broken internal links.
    """
    options = options or PublishOptions()
    var = root / "var"
    log = RunLog(var / LOG_NAME)
    output = root / options.output
    env = dict(os.environ)
    if options.site_url is not None:
        env["SITEURL"] = options.site_url
    if options.fetch_settings is not None:
        env["AGGREGATOR_SETTINGS"] = str(options.fetch_settings)

    def waiting(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with run_lock(var / LOCK_NAME, wait=options.wait, on_wait=waiting):
        started = time.monotonic()
        log.write(f"publish started in {root} (settings {options.settings_file})")
        try:
            settings = load_settings(root / options.settings_file)
            site_url = (settings.site_url if options.site_url is None
                        else options.site_url).rstrip("/")
            fetch = [sys.executable, "-m", "aggregator", "fetch", *options.fetch_args]
            if options.allow_private_networks:
                fetch.append("--allow-private-networks")
            _command("fetch", fetch, log, root, env)
            # Pelican's command line, ending without freeing the build's objects one by one
            _command("build", [sys.executable, "-m", "plugins.incremental", "-s",
                               options.settings_file,
                               "-o", str(output), "--fatal", "errors"], log, root, env)
            _search_index(output, log, var / SEARCH_CACHE_NAME)
            _link_check(output, settings.content_dir, site_url, log, var / LINKS_CACHE_NAME)
        except BaseException as exc:  # logged, then raised again: the log must say how it ended
            reason = str(exc).splitlines()[0].rstrip(":") if str(exc) else type(exc).__name__
            log.write(f"publish failed after {time.monotonic() - started:.1f} s: {reason}")
            raise
        log.write(f"publish succeeded in {time.monotonic() - started:.1f} s")
        _waiting_to_join(settings, log)
        _failing_for_long(settings, log)

