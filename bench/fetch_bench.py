"""The fetch benchmark: our `aggregator fetch` and reader's `update_feeds` on the same feeds.

Each tool runs as a child process against one FeedServerProcess, twice: a first run where every
post is new, then a second where every feed answers 304. Each run is timed from spawn to exit
and its memory watched across the whole process tree (the aggregator parses in a process pool),
and its output is checked (posts on disk, entries in reader's database, what the server
answered), so that a fast figure cannot come from work that was not done.

Run as `python -m bench`; `python -m bench.fetch_bench reader-…` is the reader side's child.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.feedserver import PROJECT_ROOT, FeedServerProcess

logger = logging.getLogger(__name__)

RESULTS_FILE = PROJECT_ROOT / "bench" / "results.json"
SAMPLE_INTERVAL = 0.05  # seconds between memory samples of a run's process tree
MiB = 1024 * 1024


@dataclass(frozen=True)
class FetchOptions:
    """What to measure: the network's size and speed, and which tools."""

    feeds: int = 1000
    posts: int = 50
    latency: float = 0.1
    hosts: int = 0  # loopback addresses the feeds are spread over; 0: one per feed
    seed: int = 0
    reader_workers: int = 50
    tools: tuple[str, ...] = ("ours", "reader")
    unchanged_run: bool = False  # a third run: validators ignored, same bytes with 200
    content_mode: str = "summary"
    run_timeout: float = 900.0
    workdir: Path | None = None  # default: a fresh temporary folder, removed afterwards


# ---------------------------------------------------------------------------------------------
# Measuring one child process (and its children)
# ---------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """Wall and CPU time of a run, and its memory: `peak_mb` is the larger of the sampled peak
    of the whole tree's PSS and the largest single process's own high-water mark."""

    wall_s: float
    cpu_s: float
    peak_mb: float
    tree_pss_peak_mb: float
    max_process_rss_mb: float
    max_processes: int
    exit_code: int


def _children_map() -> dict[int, list[int]]:
    """ppid → pids, from /proc (this kernel may lack /proc/<pid>/task/<tid>/children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def _tree(pid: int) -> list[int]:
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def _proc_kib(path: str, key: bytes) -> int:
    """A `Key:   123 kB` line of a /proc file, or 0 if the process is gone."""
    try:
        with open(path, "rb") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _MemoryWatch(threading.Thread):
    """Samples the tree's PSS (shared pages counted once) and each process's VmHWM."""

    def __init__(self, pid: int, *, deadline: float, on_timeout: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.deadline = deadline
        self.on_timeout = on_timeout
        self.stop = threading.Event()
        self.tree_pss_peak_kib = 0
        self.hwm_kib: dict[int, int] = {}
        self.max_processes = 0

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_INTERVAL):
            pids = _tree(self.pid)
            self.max_processes = max(self.max_processes, len(pids))
            total = 0
            for pid in pids:
                total += _proc_kib(f"/proc/{pid}/smaps_rollup", b"Pss:")
                hwm = _proc_kib(f"/proc/{pid}/status", b"VmHWM:")
                self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), hwm)
            self.tree_pss_peak_kib = max(self.tree_pss_peak_kib, total)
            if time.monotonic() > self.deadline:
                self.on_timeout()
                return


def measure(argv: Sequence[str], *, cwd: Path, log: Path, timeout: float) -> Measurement:
    """Run `argv` to completion, its output to `log`; kill its process group after `timeout`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = threading.Event()

        def kill_group() -> None:
            timed_out.set()
            os.killpg(proc.pid, signal.SIGKILL)  # the session this run started, and only it

        watch = _MemoryWatch(proc.pid, deadline=time.monotonic() + timeout,
                             on_timeout=kill_group)
        watch.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        watch.stop.set()
        watch.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if timed_out.is_set():
        raise RunError(f"{' '.join(argv[2:4])}… did not finish within {timeout:g} s and was "
                       f"killed; last lines of {log}:\n{_tail(log)}")
    max_rss_mb = usage.ru_maxrss / 1024  # KiB on Linux: the largest process of the tree
    max_rss_mb = max(max_rss_mb, max(watch.hwm_kib.values(), default=0) / 1024)
    tree_mb = watch.tree_pss_peak_kib / 1024
    return Measurement(wall_s=round(wall, 3), cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
                       peak_mb=round(max(tree_mb, max_rss_mb), 1),
                       tree_pss_peak_mb=round(tree_mb, 1), max_process_rss_mb=round(max_rss_mb, 1),
                       max_processes=watch.max_processes, exit_code=proc.returncode)


class RunError(RuntimeError):
    """A run failed or its output does not add up: the bench's figures would be wrong."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------------------------------------
# The two tools
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One run of one tool: its measurement and what it produced."""

    tool: str
    run: str
    measurement: Measurement
    stored: int  # posts on disk / entries in the database after the run
    changed: int  # files written / entries new or modified by this run
    http: dict[str, float]  # what the server answered during the run
    notes: list[str] = field(default_factory=list)


def write_members(path: Path, urls: Sequence[str], *, content_mode: str) -> None:
    """A registry in DESIGN.md's format: ids member-0001…, comments off (not measured here)."""
    lines = ["# Written by the fetch benchmark.", "members:"]
    for i, url in enumerate(urls, start=1):
        lines += [f"  - name: {json.dumps(f'Member {i:04d}')}",
                  f"    id: member-{i:04d}",
                  f"    feed: {json.dumps(url)}",
                  f"    site: {json.dumps(f'https://member-{i:04d}.blogs.example/')}",
                  "    comments: false"]
        if content_mode != "summary":
            lines.append(f"    content: {content_mode}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every post file under `folder`: path → (mtime_ns, size)."""
    snap: dict[str, tuple[int, int]] = {}
    if folder.is_dir():
        for path in folder.rglob("*.md"):
            stat = path.stat()
            snap[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return snap


class OursTool:
    """`python -m aggregator fetch`, exactly as DESIGN.md's command line has it."""

    name = "ours"

    def __init__(self, workdir: Path, urls: Sequence[str], options: FetchOptions) -> None:
        self.dir = workdir / "ours"
        self.dir.mkdir(parents=True)
        self.members = self.dir / "members.yaml"
        self.content = self.dir / "content"
        self.state = self.dir / "var" / "state.sqlite3"
        write_members(self.members, urls, content_mode=options.content_mode)
        self.timeout = options.run_timeout
        self.posts_dir = self.content / "posts"

    def run(self, label: str) -> tuple[Measurement, int, int]:
        before = _snapshot(self.posts_dir)
        log = self.dir / f"run-{label}.log"
        argv = [sys.executable, "-m", "aggregator", "fetch", "--members", str(self.members),
                "--content", str(self.content), "--state", str(self.state),
                "--allow-private-networks", "--strict"]
        measurement = measure(argv, cwd=self.dir, log=log, timeout=self.timeout)
        if measurement.exit_code != 0:
            raise RunError(f"ours ({label} run) exited {measurement.exit_code}; last lines of "
                           f"{log}:\n{_tail(log)}")
        after = _snapshot(self.posts_dir)
        changed = sum(1 for path, sig in after.items() if before.get(path) != sig)
        return measurement, len(after), changed


class ReaderTool:
    """reader's `update_feeds(workers=…, scheduled=False)` in a child, on its own database."""

    name = "reader"

    def __init__(self, workdir: Path, urls: Sequence[str], options: FetchOptions) -> None:
        self.dir = workdir / "reader"
        self.dir.mkdir(parents=True)
        self.db = self.dir / "db.sqlite"
        self.timeout = options.run_timeout
        self.workers = options.reader_workers
        url_file = self.dir / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
        # Adding the feeds is setup (our equivalent is writing members.yaml): not timed.
        log = self.dir / "add.log"
        setup = measure([sys.executable, "-m", "bench.fetch_bench", "reader-add", str(self.db),
                         str(url_file)], cwd=self.dir, log=log, timeout=self.timeout)
        if setup.exit_code != 0:
            raise RunError(f"reader add_feed failed; last lines of {log}:\n{_tail(log)}")

    def run(self, label: str) -> tuple[Measurement, int, int]:
        log = self.dir / f"run-{label}.log"
        summary = self.dir / f"run-{label}.json"
        argv = [sys.executable, "-m", "bench.fetch_bench", "reader-update", str(self.db),
                str(summary), "--workers", str(self.workers)]
        measurement = measure(argv, cwd=self.dir, log=log, timeout=self.timeout)
        if measurement.exit_code != 0:
            raise RunError(f"reader ({label} run) exited {measurement.exit_code}; last lines "
                           f"of {log}:\n{_tail(log)}")
        result = json.loads(summary.read_text(encoding="utf-8"))
        if result["errors"]:
            raise RunError(f"reader ({label} run): {result['errors']} feed(s) failed, e.g. "
                           f"{result['first_errors']}")
        return measurement, reader_entry_count(self.db), result["new"] + result["modified"]


def _import_reader() -> ModuleType:
    """reader, importable although its vendored feedparser wants `sgmllib`.

    reader 3.26 vendors a feedparser that imports `sgmllib` (the sgmllib3k package), which
    feedparser itself no longer depends on since 6.0.12 (it ships `feedparser_sgmllib`, the same
    Python 2.7 module). Alias one to the other when sgmllib3k is not installed."""
    try:
        import sgmllib  # noqa: F401
    except ImportError:
        import feedparser_sgmllib

        sys.modules["sgmllib"] = feedparser_sgmllib
    import reader

    return reader


def reader_entry_count(db: Path) -> int:
    """Entries stored in reader's database (counted outside the timed run)."""
    reader = _import_reader()
    with reader.make_reader(str(db)) as feeds:
        return int(feeds.get_entry_counts().total or 0)


def _reader_add(db: str, url_file: str) -> int:
    reader = _import_reader()

    with reader.make_reader(db) as feeds:
        for url in Path(url_file).read_text(encoding="utf-8").split():
            feeds.add_feed(url, exist_ok=True)
    return 0


def _reader_update(db: str, summary: str, workers: int) -> int:
    """What update_feeds does (it is this loop), keeping each feed's outcome for the checks.

    scheduled=False: reader 3.x otherwise skips feeds it updated less than an hour ago, and
    the second run would not fetch at all."""
    reader = _import_reader()

    counts = {"new": 0, "modified": 0, "not_modified": 0, "errors": 0}
    first_errors: list[str] = []
    with reader.make_reader(db) as feeds:
        for result in feeds.update_feeds_iter(workers=workers, scheduled=False):
            value = result.value
            if value is None:
                counts["not_modified"] += 1
            elif isinstance(value, Exception):
                counts["errors"] += 1
                if len(first_errors) < 5:
                    first_errors.append(f"{result.url}: {value}")
            else:
                counts["new"] += value.new
                counts["modified"] += value.modified
    Path(summary).write_text(json.dumps({**counts, "first_errors": first_errors}),
                             encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


@dataclass
class FetchBench:
    """Everything the bench measured, for the table and results.json."""

    options: FetchOptions
    results: list[RunResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def ratios(self) -> list[dict[str, Any]]:
        """ours / reader for each run both tools completed (below 1: ours is better)."""
        by_key = {(r.tool, r.run): r for r in self.results}
        rows = []
        for run in dict.fromkeys(r.run for r in self.results):
            ours, theirs = by_key.get(("ours", run)), by_key.get(("reader", run))
            if ours is None or theirs is None:
                continue
            a, b = ours.measurement, theirs.measurement
            rows.append({"run": run, "wall": _ratio(a.wall_s, b.wall_s),
                         "cpu": _ratio(a.cpu_s, b.cpu_s), "peak": _ratio(a.peak_mb, b.peak_mb)})
        return rows


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


RUNS = (("first", "every post new"), ("304", "every feed answers 304"),
        ("unchanged-200", "validators ignored, same bytes"))


def _check(result: RunResult, *, expected: int, feeds: int) -> list[str]:
    """Errors (the figures would lie) for this run; warnings go into result.notes."""
    errors = []
    if result.stored != expected:
        errors.append(f"{result.tool} ({result.run} run): {result.stored} posts stored, "
                      f"expected {expected} (feeds × posts)")
    if result.http.get("requests", 0) < feeds:
        errors.append(f"{result.tool} ({result.run} run): the server saw "
                      f"{result.http.get('requests')} feed requests for {feeds} feeds")
    if result.run == "first" and result.changed != expected:
        result.notes.append(f"{result.changed} written, expected {expected}")
    if result.run == "304" and result.http.get("304", 0) != feeds:
        result.notes.append(f"only {result.http.get('304')} of {feeds} feeds answered 304")
    if result.run != "first" and result.changed:
        result.notes.append(f"{result.changed} posts rewritten although no feed changed")
    return errors


def run_fetch_bench(options: FetchOptions, *, say: Callable[[str], None] = print) -> FetchBench:
    """Start the feed server, run each tool's runs, check their output; never raises RunError
    (it becomes bench.errors, and the remaining runs of that tool are skipped)."""
    bench = FetchBench(options)
    hosts = options.hosts or options.feeds
    expected = options.feeds * options.posts
    runs = RUNS if options.unchanged_run else RUNS[:2]
    with fresh_workdir(options.workdir) as workdir:
        say(f"rendering {options.feeds} feeds × {options.posts} posts on {hosts} loopback "
            f"address(es), {options.latency * 1000:.0f} ms latency; work folder {workdir}")
        with FeedServerProcess(feeds=options.feeds, posts=options.posts,
                               latency=options.latency, hosts=hosts, seed=options.seed,
                               lifetime=options.run_timeout * (len(runs) * len(options.tools) + 2)
                               ) as server:
            tools: list[OursTool | ReaderTool] = []
            for name in options.tools:
                try:
                    tools.append((OursTool if name == "ours" else ReaderTool)(
                        workdir, server.urls, options))
                except RunError as exc:
                    bench.errors.append(str(exc))
            for run, meaning in runs:
                server.set_ignore_validators(run == "unchanged-200")
                for tool in list(tools):
                    say(f"{tool.name}: {run} run ({meaning})…")
                    os.sync()  # the previous run's writes are not this run's cost
                    server.stats(reset=True)
                    try:
                        measurement, stored, changed = tool.run(run)
                    except RunError as exc:
                        bench.errors.append(str(exc))
                        tools.remove(tool)
                        continue
                    result = RunResult(tool.name, run, measurement, stored, changed,
                                       server.stats())
                    bench.results.append(result)
                    bench.errors += _check(result, expected=expected, feeds=options.feeds)
                    say(f"  {measurement.wall_s:.2f} s, {measurement.peak_mb:.0f} MB, "
                        f"{stored} stored, {changed} written")
    return bench


@contextmanager
def fresh_workdir(given: Path | None, *, prefix: str = "fetch-bench-") -> Iterator[Path]:
    """A fresh folder for the runs: `given` (kept afterwards; must be empty, since every run
    must start cold) or a temporary one (removed)."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        if any(given.iterdir()):
            raise RunError(f"work folder {given} is not empty: the first run must start fresh")
        yield given
        return
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Enough to tell whether two results.json files are comparable."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("aiohttp", "feedparser", "nh3", "reader", "requests"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "cpu": cpu,
            "memory_mb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / MiB),
            "python": platform.python_version(), "platform": platform.platform(),
            "git_commit": commit or None, "versions": versions}


def results_json(bench: FetchBench) -> dict[str, Any]:
    return {"machine": machine_info(), "fetch": {
        "options": {k: (str(v) if isinstance(v, Path) else v)
                    for k, v in asdict(bench.options).items()},
        "runs": [asdict(r) for r in bench.results],
        "ratios_ours_over_reader": bench.ratios(),
        "errors": bench.errors}}


def print_report(bench: FetchBench) -> None:
    """The table: one row per tool and run, then ours/reader per run."""
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=140)
    o = bench.options
    table = Table(title=f"fetch: {o.feeds} feeds × {o.posts} posts, "
                        f"{o.latency * 1000:.0f} ms latency, "
                        f"{o.hosts or o.feeds} loopback address(es)")
    for column in ("tool", "run", "wall s", "CPU s", "peak MB", "stored", "written",
                   "HTTP 200/304", "notes"):
        table.add_column(column, justify="left" if column in ("tool", "run", "notes")
                         else "right")
    for r in bench.results:
        m = r.measurement
        table.add_row(r.tool, r.run, f"{m.wall_s:.2f}", f"{m.cpu_s:.2f}", f"{m.peak_mb:.0f}",
                      str(r.stored), str(r.changed),
                      f"{r.http.get('200', 0):.0f}/{r.http.get('304', 0):.0f}",
                      "; ".join(r.notes))
    for row in bench.ratios():
        table.add_row("ours/reader", row["run"], _fmt_ratio(row["wall"]),
                      _fmt_ratio(row["cpu"]), _fmt_ratio(row["peak"]), "", "", "", "",
                      style="bold")
    console.print(table)
    for error in bench.errors:
        console.print(f"[red]error:[/red] {error}", highlight=False, markup=True)


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


# ---------------------------------------------------------------------------------------------
# The reader side's child process
# ---------------------------------------------------------------------------------------------


def child_main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.fetch_bench reader-add DB URLS` / `reader-update DB SUMMARY`."""
    parser = argparse.ArgumentParser(prog="python -m bench.fetch_bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("reader-add")
    add.add_argument("db")
    add.add_argument("urls")
    update = sub.add_parser("reader-update")
    update.add_argument("db")
    update.add_argument("summary")
    update.add_argument("--workers", type=int, default=50)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "reader-add":
        return _reader_add(args.db, args.urls)
    return _reader_update(args.db, args.summary, args.workers)


if __name__ == "__main__":
    sys.exit(child_main())
