"""What a run tells its user: a progress bar on a terminal, log lines otherwise, a summary table.

Kept apart from run.py so that the run itself never prints: tests and the publish job read the
RunReport, people read this.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aggregator.run import MemberResult, RunReport
from aggregator.state import FeedState

logger = logging.getLogger(__name__)

_QUIET = frozenset({"not-modified", "unchanged", "paused", "fetched"})
ROUTINE_ROWS_MAX = 50  # more members than this fetched without a remark: counted, not listed
_STYLE = {"fetched": "green", "unchanged": "dim", "not-modified": "dim", "failed": "bold red",
          "gone": "red", "backing-off": "yellow", "paused": "dim"}


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@contextmanager
def progress(total: int, *,
             console: Console | None = None) -> Iterator[Callable[[MemberResult], None]]:
    """A callback to give each finished member to: a bar on a terminal, a log line otherwise."""
    console = console or Console(stderr=True)
    if console.is_terminal:
        bar = Progress(TextColumn("Fetching feeds"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("{task.description}"),
                       console=console, transient=True)
        task = bar.add_task("", total=total)

        def advance(result: MemberResult) -> None:
            bar.update(task, advance=1, description=f"{result.member_id}: {result.status}")

        with bar:
            yield advance
    else:
        def log(result: MemberResult) -> None:
            line = f"{result.member_id}: {result.status}"
            if result.new or result.updated:
                line += f" ({result.new} new, {result.updated} updated)"
            if result.error:
                line += f" - {result.error}"
            logger.info("%s", line)

        yield log


def summary_table(report: RunReport) -> Table:
    """One row per member: what happened, how many posts, and why it failed."""
    table = Table(title=f"Fetch summary ({report.elapsed:.1f} s)", show_lines=False)
    table.add_column("member")
    table.add_column("result")
    table.add_column("new", justify="right")
    table.add_column("updated", justify="right")
    table.add_column("comments", justify="right")
    table.add_column("notes", overflow="fold")
    quiet = 0

    def remarkable(result: MemberResult) -> bool:
        return bool(result.error or result.warning or result.redirect or result.deleted
                    or result.moved or result.repeats_new)

    # A first run over a large network fetches everyone: a thousand rows saying "fetched" tell
    # nobody anything (and take rich half a second to draw), so past a point they are counted.
    routine = [r for r in report.results if r.status == "fetched" and not remarkable(r)]
    hide_routine = len(routine) > ROUTINE_ROWS_MAX
    for result in sorted(report.results, key=lambda r: (r.status != "failed", r.member_id)):
        if (result.status in _QUIET and not (result.new or result.updated or result.comments)
                and not remarkable(result)):
            quiet += 1  # nothing to say about it: counted in the caption, not listed
            continue
        if hide_routine and result.status == "fetched" and not remarkable(result):
            continue
        notes = []
        if result.error:
            notes.append(result.error)
        if result.warning:
            notes.append(f"warning: {result.warning}")
        if result.redirect:
            notes.append(f"moved permanently to {result.redirect}: update members.yaml")
        if result.left_out:
            notes.append(f"{result.left_out} post(s) outside its topics left out")
        if result.repeats:
            notes.append(f"{result.repeats} post(s) already here from another member's blog "
                         "left out (cross-posts)")
        if result.moved:
            notes.append(f"{result.moved} post(s) at new addresses kept as the same posts")
        if result.deleted:
            notes.append(f"{result.deleted} post(s) deleted on the blog removed here too")
        if result.status in ("failed", "backing-off", "gone") and result.retry_at:
            notes.append(f"next try after {_when(result.retry_at)}")
        table.add_row(result.member_id,
                      f"[{_STYLE.get(result.status, '')}]{result.status}[/]",
                      str(result.new or ""), str(result.updated or ""),
                      str(result.comments or ""), "; ".join(notes))
    totals = (f"{report.count('fetched')} fetched, "
              f"{report.count('not-modified') + report.count('unchanged')} not modified, "
              f"{len(report.failed)} failed, "
              f"{sum(r.new for r in report.results)} new posts, "
              f"{sum(r.updated for r in report.results)} updated, "
              f"{sum(r.comments for r in report.results)} comment files changed")
    if quiet:
        totals += f"\n{quiet} member(s) with nothing new are not listed"
    if hide_routine:
        totals += (f"\n{len(routine)} member(s) fetched without a problem are not listed "
                   "(their posts are in the totals above)")
    table.caption = totals
    return table


def status_table(rows: list[tuple[str, str, FeedState | None]], *, now: float) -> Table:
    """`aggregator status`: each member's health as the state remembers it."""
    table = Table(title="Member health")
    for column in ("member", "last success", "last error", "failures", "next try",
                   "last post", "notes"):
        table.add_column(column, overflow="fold")
    for member_id, feed, state in rows:
        if state is None:
            table.add_row(member_id, "never fetched", "", "", "", "", feed)
            continue
        notes = []
        if state.redirected_to:
            notes.append(f"moved to {state.redirected_to}: update members.yaml")
        if state.gone:
            notes.append("feed gone (HTTP 410)")
        if state.left_out:
            notes.append(f"{state.left_out} post(s) outside its topics at the last fetch")
        if state.repeats:
            notes.append(f"{state.repeats} cross-post(s) left out at the last fetch")
        last_post = ""
        if state.last_post:
            last_post = f"{int((now - state.last_post) // 86400)} days ago"
        table.add_row(member_id, _when(state.last_success), state.last_error or "",
                      str(state.failures or ""),
                      _when(state.next_attempt) if state.next_attempt else "",
                      last_post, "; ".join(notes))
    return table


def print_table(table: Table) -> None:
    Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160).print(table)
