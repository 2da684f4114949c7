"""The fetch summary a maintainer reads: problems always listed, routine rows only when few."""

from __future__ import annotations

from rich.console import Console

from aggregator.report import ROUTINE_ROWS_MAX, summary_table
from aggregator.run import MemberResult, RunReport


def rendered(report: RunReport) -> str:
    console = Console(width=200, record=True)
    console.print(summary_table(report))
    return console.export_text()


def test_a_small_run_lists_every_fetched_member() -> None:
    report = RunReport([MemberResult("alice", "Alice", "fetched", new=3),
                        MemberResult("bob", "Bob", "failed", error="https://bob/: HTTP 500")])
    text = rendered(report)
    assert "alice" in text and "bob" in text and "HTTP 500" in text


def test_a_first_run_over_a_large_network_lists_only_what_needs_attention() -> None:
    fetched = [MemberResult(f"member-{i:04d}", f"M {i}", "fetched", new=50)
               for i in range(ROUTINE_ROWS_MAX + 1)]
    warned = MemberResult("warned", "W", "fetched", new=1, warning="feed is not well formed")
    failed = MemberResult("broken", "B", "failed", error="https://b/: connection refused")
    text = rendered(RunReport([*fetched, warned, failed]))
    assert "member-0000" not in text
    assert "broken" in text and "connection refused" in text
    assert "warned" in text and "not well formed" in text
    assert f"{len(fetched)} member(s) fetched without a problem are not listed" in text
    assert f"{50 * len(fetched) + 1} new" in text
