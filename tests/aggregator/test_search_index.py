"""The search index of `make publish` (aggregator/search_index.py), with real Pagefind over
hand-made output trees: a bundle per year of posts, rebuilt only where searchable pages
changed."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from aggregator.search_index import SearchIndexError, index_site, run_pagefind


def post(title: str, words: str = "") -> str:
    return (f"<!DOCTYPE html><html lang=\"en-gb\"><head><title>{title}</title></head><body>"
            f"<nav>Home Members</nav><h1 data-pagefind-meta=\"title\">{title}</h1>"
            f"<div data-pagefind-body><p>{title} {words}</p></div></body></html>")


def listing(title: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en-gb\"><head><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>A list of posts.</p></body></html>")


def write(output: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def pages_in(output: Path, bundle: str) -> int:
    entry = json.loads((output / bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(language["page_count"] for language in entry["languages"].values())


@pytest.fixture
def output(tmp_path: Path) -> Path:
    output = tmp_path / "output"
    write(output, {
        "index.html": listing("Home"),
        "members/index.html": listing("Members"),
        "members/ann/index.html": post("Ann Example", "member profile"),
        "members/ann/page/1/index.html": listing("Ann's older posts"),
        "2024/index.html": listing("2024"),
        "2024/12/ann-standards/index.html": post("Service standards", "assessment"),
        "2025/11/index.html": listing("November 2025"),
        "2025/11/ann-winter/index.html": post("Winter services", "gritting"),
        "2025/11/ann-budget/index.html": post("Budget", "consultation"),
        "theme/css/site.css": "body{}",
    })
    return output


class Counting:
    """Real Pagefind, counting the bundles it is asked to write."""

    def __init__(self) -> None:
        self.bundles: list[str] = []

    def __call__(self, arguments: Sequence[str]) -> None:
        self.bundles.append(arguments[arguments.index("--output-subdir") + 1])
        run_pagefind(arguments)


def test_a_bundle_per_year_and_one_for_the_rest(output: Path, tmp_path: Path) -> None:
    write(output, {"odd{name},[1].html": post("A page whose name is a glob")})  # escaped
    report = index_site(output, tmp_path / "var" / "search.cache")
    assert report.built == ("", "2024", "2025") and report.kept == () and report.pages == 5
    assert pages_in(output, "pagefind") == 2  # Ann's page and the odd one; lists are not
    assert pages_in(output, "pagefind-shards/2024") == 1
    assert pages_in(output, "pagefind-shards/2025") == 2
    assert json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8")) == [
        "pagefind-shards/2025/", "pagefind-shards/2024/"]  # newest first
    assert (output / "pagefind" / "pagefind-ui.js").is_file()  # the search page's script
    assert not [p for p in output.rglob("*") if p.name.startswith(".new-")]


def test_only_the_bundles_whose_searchable_pages_changed_are_built_again(
        output: Path, tmp_path: Path) -> None:
    cache = tmp_path / "var" / "search.cache"
    index_site(output, cache)
    runs = Counting()
    assert index_site(output, cache, run=runs).built == () and runs.bundles == []
    write(output, {"2025/11/index.html": listing("November 2025, again"),  # not searchable
                   "index.html": listing("Home, with a new post")})
    assert index_site(output, cache, run=runs).built == ()
    write(output, {"2025/11/ann-winter/index.html": post("Winter services", "salt bins")})
    report = index_site(output, cache, run=runs)
    assert report.built == ("2025",) and report.kept == ("", "2024")
    assert runs.bundles == ["pagefind-shards/.new-2025"]
    assert pages_in(output, "pagefind-shards/2025") == 2
    fragments = list((output / "pagefind-shards" / "2025" / "fragment").iterdir())
    assert len(fragments) == 2  # the bundle was replaced, not added to
    write(output, {"2026/01/ann-new/index.html": post("New year", "plans")})
    assert index_site(output, cache, run=runs).built == ("2026",)
    assert json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8"))[0] \
        == "pagefind-shards/2026/"


def test_a_year_without_posts_loses_its_bundle_and_a_lost_bundle_is_built(
        output: Path, tmp_path: Path) -> None:
    cache = tmp_path / "search.cache"
    index_site(output, cache)
    (output / "2024" / "12" / "ann-standards" / "index.html").unlink()
    report = index_site(output, cache)
    assert report.built == () and not (output / "pagefind-shards" / "2024").exists()
    assert json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8")) == [
        "pagefind-shards/2025/"]
    for name in os.listdir(output / "pagefind-shards" / "2025"):  # someone cleared it
        path = output / "pagefind-shards" / "2025" / name
        if path.is_file():
            path.unlink()
    assert index_site(output, cache).built == ("2025",)


def test_posts_only_in_year_folders_make_one_bundle_of_the_site(tmp_path: Path) -> None:
    """Pagefind needs a main bundle with pages in it: without searchable pages outside the
    years, the site is indexed in one run, as Pagefind does by itself."""
    output = tmp_path / "output"
    write(output, {"index.html": listing("Home"),
                   "2025/11/a/index.html": post("A"), "2024/01/b/index.html": post("B")})
    write(output, {"pagefind-shards/2019/pagefind-entry.json": "{}"})  # an earlier run's
    report = index_site(output, tmp_path / "search.cache")
    assert report.built == ("",) and pages_in(output, "pagefind") == 2
    assert json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8")) == []
    assert list((output / "pagefind-shards").iterdir()) == []  # no bundle the page would miss


def test_leftovers_of_a_killed_run_go_and_a_failure_names_the_bundle(
        output: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    leftover = output / "pagefind-shards" / ".new-2025"
    write(leftover, {"half.pf_fragment": "x"})
    cache = tmp_path / "search.cache"

    def fails_for_2025(arguments: Sequence[str]) -> None:
        if "pagefind-shards/.new-2025" in arguments:
            raise SearchIndexError("pagefind failed (exit 1) for 2025")
        run_pagefind(arguments)

    with pytest.raises(SearchIndexError, match="2025"):
        index_site(output, cache, run=fails_for_2025)
    assert not (leftover / "half.pf_fragment").exists()
    # the search page merges what was built before the failure
    assert json.loads((output / "pagefind" / "shards.json").read_text(encoding="utf-8")) == [
        "pagefind-shards/2024/"]
    report = index_site(output, cache)  # what was built before the failure is kept
    assert report.built == ("2025",) and report.kept == ("", "2024")
    cache.write_bytes(b"damaged")
    with caplog.at_level(logging.WARNING, logger="aggregator.search_index"):
        assert index_site(output, cache).built == ("", "2024", "2025")
    assert "search index cache unreadable" in caplog.text and str(cache) in caplog.text


def test_a_missing_output_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SearchIndexError, match="no built site"):
        index_site(tmp_path / "missing", tmp_path / "search.cache")


def test_a_run_prints_pagefinds_errors_but_not_its_progress(
        output: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A publish's log (cron's, every hour) gets our summary line, not 25 lines of Pagefind's
    progress per bundle; what goes wrong is still shown."""
    index_site(output, tmp_path / "search.cache")
    printed = "".join(capfd.readouterr())
    assert "Indexed" not in printed and "Walking source directory" not in printed
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SearchIndexError, match="failed"):
        run_pagefind(["--quiet", "--site", str(empty), "--output-subdir", "x"])
    assert "not able to build an index" in "".join(capfd.readouterr())
