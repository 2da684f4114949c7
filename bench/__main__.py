"""`python -m bench` (`make bench`): run the benchmarks, print the table, write results.json.

Exit 0 when every run completed and its output added up, 1 otherwise (the error is printed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import build_bench
from bench.fetch_bench import (
    RESULTS_FILE,
    FetchOptions,
    RunError,
    print_report,
    results_json,
    run_fetch_bench,
)

logger = logging.getLogger("bench")

BENCHES = ("fetch", "build")
QUICK = {"feeds": 50, "posts": 10}
QUICK_SIZES = (300,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=BENCHES, action="append",
                        help="run only this benchmark (repeatable; default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small network ({QUICK['feeds']} feeds × {QUICK['posts']} "
                             f"posts; a site of {QUICK_SIZES[0]} posts) for trying the bench "
                             "out")
    parser.add_argument("--feeds", type=int, help="synthetic feeds (default 1000)")
    parser.add_argument("--posts", type=int, help="posts per feed (default 50)")
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds before each response (default 0.1)")
    parser.add_argument("--hosts", type=int, default=0,
                        help="loopback addresses to spread the feeds over "
                             "(default 0: one per feed, like a real network; 1: all on one)")
    parser.add_argument("--reader-workers", type=int, default=50,
                        help="reader's update_feeds(workers=…) (default 50, our concurrency)")
    parser.add_argument("--tools", default="ours,reader",
                        help="comma-separated: ours, reader (default both)")
    parser.add_argument("--unchanged-run", action="store_true",
                        help="add a third run where the server ignores validators and "
                             "sends the same bytes with 200")
    parser.add_argument("--content-mode", choices=("summary", "full"), default="summary",
                        help="the members' `content:` setting (default summary)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-timeout", type=float, default=900.0,
                        help="seconds before a run is killed (default 900)")
    parser.add_argument("--sizes", type=_sizes,
                        help="build: comma-separated post counts (default 1000,5000,20000)")
    parser.add_argument("--members", type=int, default=300,
                        help="build: members the posts are spread over (default 300)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="build: cold builds with and without the comment plugin, "
                             "alternated, the fastest of each kept (default 1)")
    parser.add_argument("--one-new-rounds", type=int, default=3,
                        help="build: publishes of one new post and three comments in a row, "
                             "each with its own news, the fastest kept; as many with nothing "
                             "new (default 3)")
    parser.add_argument("--build-timeout", type=float, default=3600.0,
                        help="build: seconds before one build is killed (default 3600)")
    parser.add_argument("--workdir", type=Path,
                        help="an empty folder to run in, kept afterwards (default: a "
                             "temporary one, removed); the build bench uses DIR/build")
    parser.add_argument("--results", type=Path, default=RESULTS_FILE,
                        help=f"where to write the figures (default {RESULTS_FILE})")
    return parser


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of post counts: {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"post counts must be at least 1: {text!r}")
    return sizes


def write_results(path: Path, report: dict[str, Any]) -> None:
    """Merge into results.json: the benches not run keep their figures."""
    previous: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            previous = loaded
    except (OSError, ValueError):
        pass
    previous.update(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(previous, indent=2) + "\n", encoding="utf-8")


def run_build(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """The build bench: its "build" entry for results.json (merged by size with the figures
    already there) and whether anything failed."""
    sizes = args.sizes or (QUICK_SIZES if args.quick else build_bench.BuildOptions.sizes)
    options = build_bench.BuildOptions(
        sizes=sizes, members=args.members, seed=args.seed, run_timeout=args.build_timeout,
        repeat=args.repeat, one_new_rounds=args.one_new_rounds,
        workdir=args.workdir / "build" if args.workdir else None)
    bench = build_bench.run_build_bench(options, say=logger.info)
    build_bench.print_report(bench)
    previous = None
    try:
        loaded = json.loads(args.results.read_text(encoding="utf-8"))
        previous = loaded.get("build") if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        pass
    return {"build": build_bench.merge_results(previous, bench)}, bool(bench.errors)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tools = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    unknown = set(tools) - {"ours", "reader"}
    if unknown or not tools:
        print(f"--tools: unknown {', '.join(sorted(unknown)) or '(none given)'}",
              file=sys.stderr)
        return 2
    if args.members < 1 or args.repeat < 1 or args.build_timeout <= 0:
        print("--members and --repeat must be at least 1, --build-timeout positive",
              file=sys.stderr)
        return 2
    if min(args.feeds or 1, args.posts or 1) < 1 or args.latency < 0 or args.hosts < 0:
        print("--feeds and --posts must be at least 1, --latency and --hosts not negative",
              file=sys.stderr)
        return 2
    size = QUICK if args.quick else {"feeds": 1000, "posts": 50}
    options = FetchOptions(feeds=args.feeds or size["feeds"], posts=args.posts or size["posts"],
                           latency=args.latency, hosts=args.hosts, seed=args.seed,
                           reader_workers=args.reader_workers, tools=tools,
                           unchanged_run=args.unchanged_run, content_mode=args.content_mode,
                           run_timeout=args.run_timeout, workdir=args.workdir)
    only = set(args.only or BENCHES)
    report: dict[str, object] = {}
    failed = False
    if "fetch" in only:
        try:
            bench = run_fetch_bench(options, say=logger.info)
        except RunError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print_report(bench)
        report.update(results_json(bench))
        failed = failed or bool(bench.errors)
        write_results(args.results, report)  # kept even if the build bench fails below
    if "build" in only:
        try:
            build, build_failed = run_build(args)
        except RunError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        report.update(build)
        failed = failed or build_failed
    write_results(args.results, report)
    logger.info("figures written to %s", args.results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
