"""The build benchmark: our site against stock Pelican on the same posts, cold and incremental.

For each size, in a fresh folder, `bench.sitegen` writes N posts from 300 members with three
comments per post on average, in our formats and as plain Pelican Markdown. Then, each build a
child process timed and memory-watched by `fetch_bench.measure`:

1. reference: Pelican 4.12, default theme and settings (feeds as by default), plain posts, cold;
2. cold: `pelican content -s publishconf.py --fatal errors`, our theme and plugins, cold;
3. no-comments: the same without the comment_threads plugin (its overhead), cold; with
   --repeat, 2 and 3 alternate, each first in every other pair;
4. nothing-new: 2 again on the same content, cache and output (the build sees no input changed
   and stops), as many times as the one-new rounds below: the fastest is kept, every wall
   time recorded (the first, right after the cold build and its search index, often meets
   the machine still busy writing back or its file caches reclaimed);
4b. fetched: the aggregator's state database changed, as an hourly fetch with nothing new
   leaves it: only the pages made from it (health) are rendered;
5. touched: the same after one post file's mtime changed but not its bytes (a post file
   replaced by an identical one): the whole pipeline runs and must change no file;
6. one-new: one new post and three new comments on an existing post, then 4 again; then
   (--one-new-rounds) another, and another: the fastest is kept, every wall time recorded
   (a single publish of a few seconds is at the mercy of the machine's noise);
7. full-after: a cold build of the updated content into a fresh output, compared byte for byte
   with 6's output (an incremental build must write the site a full build writes).

After 2, 4 and each 6, the rest of `make publish` runs as it does there (`bench.publish_steps`:
the search index, then the link check, each with its cache in var/): the whole site the first
time, then only what the build changed. Their bundles are left out of the tree comparisons and
file counts.

Output trees are hashed between builds to count the files whose bytes changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aggregator.search_index import MAIN_DIR, SHARDS_DIR
from bench.fetch_bench import Measurement, RunError, fresh_workdir, machine_info, measure
from bench.sitegen import PROJECT_ROOT, GeneratedSite, SiteSpec, add_update, generate_site

logger = logging.getLogger(__name__)

SITE_URL = "https://example.org"
PUBLISHCONF = PROJECT_ROOT / "publishconf.py"
COMMENT_PLUGIN = "comment_threads"
SAMPLE_PATHS = 20  # differing paths kept in the report
RUN_NAMES = ("reference", "cold", "no-comments", "nothing-new", "fetched", "touched", "one-new",
             "full-after")
STEP_RUNS = ("after-cold", "nothing-new", "one-new")  # when publish's later steps are timed
SEARCH_BUNDLES = (MAIN_DIR, SHARDS_DIR)  # written by the search index, not the build


@dataclass(frozen=True)
class BuildOptions:
    """What to build: the sizes, the network's shape, and the bounds."""

    sizes: tuple[int, ...] = (1000, 5000, 20000)
    members: int = 300
    comments_per_post: float = 3.0
    seed: int = 0
    run_timeout: float = 3600.0  # seconds per build before it is killed
    repeat: int = 1  # cold builds with and without the comment plugin, alternated; best kept
    one_new_rounds: int = 3  # one-new publishes in a row, each with its own news; best kept
    workdir: Path | None = None  # default: a fresh temporary folder, removed afterwards


@dataclass
class BuildRun:
    """One build: its measurement, how many files it left, and how busy the machine was."""

    name: str
    measurement: Measurement
    output_files: int
    load_before: float  # 1-minute load average when it started (other work skews wall time)
    load_after: float
    walls: list[float] = field(default_factory=list)  # every repeat's wall time (best kept)


@dataclass
class TreeDiff:
    """Files whose bytes differ between two output trees, by top-level folder."""

    changed: int = 0
    added: int = 0
    removed: int = 0
    by_folder: dict[str, int] = field(default_factory=dict)
    sample: list[str] = field(default_factory=list)  # the first SAMPLE_PATHS, sorted

    @property
    def total(self) -> int:
        return self.changed + self.added + self.removed


@dataclass
class SizeResult:
    """Everything measured for one size."""

    posts: int
    comments: int
    replies: int
    post_kb: float  # mean size of our post files
    generate_s: float
    runs: dict[str, BuildRun] = field(default_factory=dict)
    nothing_new_diff: TreeDiff | None = None
    fetched_diff: TreeDiff | None = None
    touched_diff: TreeDiff | None = None
    one_new_diff: TreeDiff | None = None
    one_new_not_showing: list[str] = field(default_factory=list)  # changed, without the news
    one_new_stages: dict[str, float] = field(default_factory=dict)  # where its time went
    # publish's search index and link check after the cold build, nothing-new and one-new
    # (the fastest of the one-new rounds): their seconds and what they did
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    full_vs_incremental: TreeDiff | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def wall(self, name: str) -> float | None:
        run = self.runs.get(name)
        return run.measurement.wall_s if run else None

    def overhead_pairs(self) -> list[float]:
        """The comment plugin's overhead in each alternated pair of cold builds, in %."""
        cold, bare = self.runs.get("cold"), self.runs.get("no-comments")
        if cold is None or bare is None:
            return []
        return [pct for ours, without in zip(cold.walls, bare.walls, strict=False)
                if (pct := _pct(ours, without)) is not None]

    def figures(self) -> dict[str, Any]:
        """The headline numbers (issue 3 and issue 6's targets are stated on these)."""
        ref, cold, bare = self.wall("reference"), self.wall("cold"), self.wall("no-comments")
        cpu = {n: r.measurement.cpu_s for n, r in self.runs.items()}
        ours = [r.measurement.peak_mb for n, r in self.runs.items() if n != "reference"]
        pairs = self.overhead_pairs()
        return {
            "reference_s": ref, "ours_cold_s": cold,
            "ratio_ours_over_reference": _ratio(cold, ref),
            "plugin_overhead_pct": _pct(cold, bare),
            "plugin_overhead_cpu_pct": _pct(cpu.get("cold"), cpu.get("no-comments")),
            # each alternated pair (one build with the plugin, the next without): the
            # spread the fastest of each hides, on a machine whose speed varies by 10 %
            "plugin_overhead_pairs_pct": pairs,
            "plugin_overhead_median_pct": _median(pairs),
            "nothing_new_s": self.wall("nothing-new"), "one_new_s": self.wall("one-new"),
            "fetched_s": self.wall("fetched"), "touched_s": self.wall("touched"),
            "fetched_files_changed": _total(self.fetched_diff),
            "nothing_new_files_changed": _total(self.nothing_new_diff),
            "touched_files_changed": _total(self.touched_diff),
            "one_new_files_changed": _total(self.one_new_diff),
            "one_new_changed_not_showing_update": len(self.one_new_not_showing),
            "full_equals_incremental": (None if self.full_vs_incremental is None
                                        else self.full_vs_incremental.total == 0),
            "peak_mb_ours": max(ours) if ours else None,
            "one_new_stages_s": dict(self.one_new_stages),
            "publish_steps_s": {name: {key: self.steps[name][key] for key in
                                       ("search_s", "links_s", "wall_s")}
                                for name in STEP_RUNS if name in self.steps},
            "one_new_walls_s": list(self.runs["one-new"].walls) if "one-new" in self.runs
            else [],
            "nothing_new_walls_s": list(self.runs["nothing-new"].walls)
            if "nothing-new" in self.runs else [],
        }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _pct(a: float | None, b: float | None) -> float | None:
    return round((a / b - 1) * 100, 1) if a is not None and b else None


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _total(diff: TreeDiff | None) -> int | None:
    return None if diff is None else diff.total


# ---------------------------------------------------------------------------------------------
# Output trees
# ---------------------------------------------------------------------------------------------


def site_files(folder: Path) -> list[Path]:
    """Every file the build wrote under `folder` (the search bundles aside), sorted."""
    return [path for path in sorted(folder.rglob("*"))
            if path.is_file() and path.relative_to(folder).parts[0] not in SEARCH_BUNDLES]


def hash_tree(folder: Path) -> dict[str, str]:
    """Every file of `site_files`: relative POSIX path → SHA-256 of its bytes."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in site_files(folder)}


def compare_trees(before: Mapping[str, str], after: Mapping[str, str]) -> TreeDiff:
    """What differs from `before` to `after`: changed, added and removed files."""
    diff = TreeDiff()
    paths = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            diff.added += 1
        elif new is None:
            diff.removed += 1
        else:
            diff.changed += 1
        paths.append(path)
    diff.by_folder = dict(sorted(Counter(
        p.split("/", 1)[0] + "/" if "/" in p else "(top)" for p in paths).items()))
    diff.sample = paths[:SAMPLE_PATHS]
    return diff


# ---------------------------------------------------------------------------------------------
# The builds
# ---------------------------------------------------------------------------------------------


def _not_showing(output: Path, before: Mapping[str, str], after: Mapping[str, str],
                 marks: Sequence[str]) -> list[str]:
    """Files that changed but mention none of `marks` (the new post's and the commented post's
    slugs): a change the update does not explain. A numbered list page that is new (posts the
    first page no longer holds) or links to a new one ("newer posts") is explained."""
    found = []
    added = set(after) - set(before)
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path) or path not in after:
            continue
        numbered = re.fullmatch(r"(.*/)?page/(\d+)/index\.html", path)
        if numbered and (path in added or f"{numbered.group(1) or ''}page/"
                                          f"{int(numbered.group(2)) + 1}/index.html" in added):
            continue
        text = (output / path).read_bytes().decode("utf-8", "replace")
        if not any(mark in text for mark in marks):
            found.append(path)
    return found


def record_fetch(site: GeneratedSite, number: int) -> None:
    """What a fetch leaves in the aggregator's state database (one feed checked, at an hour
    of its own), as the health page reads it."""
    from aggregator.state import FeedState, State

    ids = re.findall(r'^\s*-?\s*id: "([^"]+)"', site.members_file.read_text(encoding="utf-8"),
                     re.M)
    member = ids[number % len(ids)]
    moment = 1.8e9 + number * 3600
    with State(site.root / "var" / "state.sqlite3") as state:
        state.save(FeedState(member, f"https://{member}.blogs.example/feed/",
                             last_attempt=moment, last_success=moment, last_status=200))


def _json_overrides(values: Mapping[str, object]) -> list[str]:
    """Pelican's `-e KEY=json` arguments."""
    return ["-e", *(f"{key}={json.dumps(value)}" for key, value in values.items())]


def ours_command(site: GeneratedSite, output: Path, cache: Path, *,
                 plugins: Sequence[str] | None = None) -> list[str]:
    """A publish build: publishconf.py (SITEURL from the environment, as it reads it), the
    bench's registry and an empty state, `--fatal errors` as `aggregator publish` runs it.
    Avatars are not fetched (the synthetic members have none). Through `python -m
    plugins.incremental`, Pelican's command line as `make html` and `aggregator publish` run
    it."""
    overrides: dict[str, object] = {
        "MEMBERS_FILE": str(site.members_file),
        "AGGREGATOR_STATE": str(site.root / "var" / "state.sqlite3"),
        "AVATARS_FETCH": False,
    }
    if plugins is not None:
        overrides["PLUGINS"] = list(plugins)
    return ["env", f"SITEURL={SITE_URL}", f"PYTHONPATH={PUBLISHCONF.parent}", sys.executable,
            "-m", "plugins.incremental",
            str(site.content),
            "-o", str(output), "-s", str(PUBLISHCONF), "--cache-path", str(cache),
            "--fatal", "errors", *_json_overrides(overrides)]


def one_new_growth(sizes: Sequence[Any]) -> str | None:
    """How the one-new publish grows with the archive (issue 6 asks that it does not): the
    largest size's time over the smallest's, and the seconds added per 1,000 posts."""
    timed = sorted((r.posts, r.figures()["one_new_s"]) for r in sizes
                   if r.figures().get("one_new_s") is not None)
    if len(timed) < 2 or not timed[0][1]:
        return None
    (small, t_small), (large, t_large) = timed[0], timed[-1]
    per_thousand = (t_large - t_small) / (large - small) * 1000
    return (f"one new post + 3 comments, {large:,} posts against {small:,}: "
            f"{t_large / t_small:.1f}× the time, {per_thousand * 1000:.0f} ms more per 1,000 "
            "posts (flat would be 1.0×)")


def build_stages(cache: Path) -> dict[str, float]:
    """Where the last build into `cache` spent its time (the manifest's stages, as the build's
    log line gives them), by stage; "N pages rendered" is "pages rendered"."""
    from plugins.incremental.build import MANIFEST_FILE, read_manifest

    try:
        data = read_manifest(cache / MANIFEST_FILE)
        return {re.sub(r"^\d+ ", "", str(name)): float(spent)
                for name, spent in data.get("stages") or []}
    except (OSError, ValueError, TypeError, EOFError, AttributeError) as exc:
        logger.warning("%s: no build stages: %s", cache, exc)
        return {}


def reference_command(site: GeneratedSite, output: Path, cache: Path) -> list[str]:
    """Stock Pelican: no settings file (its defaults: default theme, no plugins, feeds on),
    only SITEURL set so its feeds have absolute links like ours."""
    return [sys.executable, "-m", "pelican", str(site.plain), "-o", str(output),
            "--cache-path", str(cache), *_json_overrides({"SITEURL": SITE_URL})]


def project_plugins() -> list[str]:
    """PLUGINS from publishconf.py (executed as Pelican reads it), so the no-comments build
    drops only comment_threads, whatever the list holds."""
    from pelican.settings import get_settings_from_file

    plugins = get_settings_from_file(str(PUBLISHCONF)).get("PLUGINS") or []
    return [str(p) for p in plugins]


class SizeBench:
    """The runs for one size, in one folder."""

    def __init__(self, folder: Path, spec: SiteSpec, *, timeout: float, repeat: int = 1,
                 one_new_rounds: int = 1, say: Callable[[str], None]) -> None:
        self.folder = folder
        self.spec = spec
        self.timeout = timeout
        self.repeat = repeat
        self.one_new_rounds = max(1, one_new_rounds)
        self.say = say
        started = time.perf_counter()
        self.site = generate_site(folder / "site", spec)
        self.result = SizeResult(
            posts=self.site.posts, comments=self.site.comments, replies=self.site.replies,
            post_kb=round(self.site.post_bytes / max(self.site.posts, 1) / 1024, 2),
            generate_s=round(time.perf_counter() - started, 2))

    def build(self, name: str, argv: Sequence[str], output: Path) -> BuildRun:
        """Run one build to completion; RunError if it fails or leaves no output."""
        os.sync()  # the previous build's writes are not this one's cost
        load_before = os.getloadavg()[0]
        self.say(f"  {name}: building {self.result.posts} posts (load {load_before:.1f})…")
        log = self.folder / f"{name}.log"
        measurement = measure(argv, cwd=self.folder, log=log, timeout=self.timeout)
        if measurement.exit_code != 0:
            raise RunError(f"{name} build ({self.result.posts} posts) exited "
                           f"{measurement.exit_code}; last lines of {log}:\n{_tail(log)}")
        files = len(site_files(output)) if output.is_dir() else 0
        if files == 0:
            raise RunError(f"{name} build ({self.result.posts} posts) wrote nothing to {output}")
        run = BuildRun(name, measurement, files, load_before, os.getloadavg()[0],
                       [measurement.wall_s])
        best = self.result.runs.get(name)
        if best is not None:  # a repeat: keep the fastest, remember them all
            run.walls = best.walls + run.walls
            if best.measurement.wall_s <= measurement.wall_s:
                best.walls = run.walls
                run = best
        self.result.runs[name] = run
        self.say(f"    {measurement.wall_s:.1f} s wall, {measurement.cpu_s:.1f} s CPU, "
                 f"{measurement.peak_mb:.0f} MB, {files} files")
        return run

    def steps(self, name: str, output: Path) -> None:
        """publish's search index and link check on `output` (a fastest kept per name)."""
        log = self.folder / f"steps-{name}.log"
        argv = [sys.executable, "-m", "bench.publish_steps", str(output),
                str(self.folder / "var-steps"), str(self.site.content), SITE_URL]
        measurement = measure(argv, cwd=self.folder, log=log, timeout=self.timeout)
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        try:
            found = json.loads(lines[-1])
        except (IndexError, ValueError) as exc:
            raise RunError(f"publish steps after {name} ({self.result.posts} posts) exited "
                           f"{measurement.exit_code}; last lines of {log}:\n{_tail(log)}") from exc
        if measurement.exit_code != 0:
            raise RunError(f"publish steps after {name} ({self.result.posts} posts): broken "
                           f"links {found.get('broken')}")
        found["wall_s"] = round(measurement.wall_s, 3)
        best = self.result.steps.get(name)
        if best is None or found["wall_s"] < best["wall_s"]:
            self.result.steps[name] = found
        self.say(f"    search index {found['search_s']:.1f} s (bundles built: "
                 f"{', '.join(found['bundles_built']) or 'none'}), link check "
                 f"{found['links_s']:.1f} s ({found['pages']} pages)")

    def run(self) -> SizeResult:
        """All six builds; a failed one ends this size (its error is kept), never raises."""
        try:
            self._run()
        except RunError as exc:
            self.result.errors.append(str(exc))
        return self.result

    def _run(self) -> None:
        site, folder, r = self.site, self.folder, self.result
        self.build("reference", reference_command(site, folder / "out-ref", folder / "cache-ref"),
                   folder / "out-ref")
        self._check_reference(folder / "out-ref")
        record_fetch(site, 0)  # the site has been fetched before
        out, cache = folder / "out", folder / "cache"
        bare = [p for p in project_plugins() if p != COMMENT_PLUGIN]
        out_bare, cache_bare = folder / "out-bare", folder / "cache-bare"
        sides = [("cold", ours_command(site, out, cache), out, cache),
                 ("no-comments", ours_command(site, out_bare, cache_bare, plugins=bare),
                  out_bare, cache_bare)]
        for _ in range(self.repeat):  # alternated, each cold, so load spikes hit both sides
            for name, argv, output, cache_path in sides:
                # each side's last output and cache removed just before its own build: the
                # file system's work of deleting 35,000 pages falls on both sides alike
                shutil.rmtree(output, ignore_errors=True)
                shutil.rmtree(cache_path, ignore_errors=True)
                self.build(name, argv, output)
            sides.reverse()  # and each goes first in every other pair
        self._check_ours(out, comments=True)
        self._check_ours(out_bare, comments=False)
        self.steps("after-cold", out)
        before = hash_tree(out)
        for _ in range(self.one_new_rounds):  # a second of noise matters: the fastest kept
            self.build("nothing-new", ours_command(site, out, cache), out)
        after = hash_tree(out)
        r.nothing_new_diff = compare_trees(before, after)
        self.steps("nothing-new", out)
        record_fetch(site, 1)  # an hourly fetch that found nothing new
        self.build("fetched", ours_command(site, out, cache), out)
        before, after = after, hash_tree(out)
        r.fetched_diff = compare_trees(before, after)
        touched = next((site.content / "posts").rglob("*.md"))
        os.utime(touched)  # a newer mtime, the same bytes
        self.build("touched", ours_command(site, out, cache), out)
        before, after = after, hash_tree(out)
        r.touched_diff = compare_trees(before, after)
        update = add_update(site, self.spec)
        self.build("one-new", ours_command(site, out, cache), out)
        r.one_new_stages = build_stages(cache)
        incremental = hash_tree(out)
        r.one_new_diff = compare_trees(after, incremental)
        r.one_new_not_showing = _not_showing(out, after, incremental,
                                             (update.new_post_slug, update.commented_post_slug))
        if self._page_of(out, update.new_post_slug) is None:
            r.errors.append(f"one-new build: no page for the new post {update.new_post_slug}")
        self._check_ours(out, comments=True, post_slug=update.commented_post_slug,
                         at_least=update.new_comments)
        self.steps("one-new", out)
        for round_ in range(1, self.one_new_rounds):  # more news, one publish each
            update = add_update(site, self.spec, round_=round_)
            kept = self.build("one-new", ours_command(site, out, cache), out)
            if kept.walls[-1] == kept.measurement.wall_s:  # this one is the fastest so far
                r.one_new_stages = build_stages(cache)
            if self._page_of(out, update.new_post_slug) is None:
                r.errors.append(f"one-new build {round_ + 1}: no page for the new post "
                                f"{update.new_post_slug}")
            self.steps("one-new", out)
        incremental = hash_tree(out)
        full = folder / "out-full"
        self.build("full-after", ours_command(site, full, folder / "cache-full"), full)
        r.full_vs_incremental = compare_trees(hash_tree(full), incremental)
        if r.full_vs_incremental.total:
            r.notes.append(f"incremental output differs from a full build in "
                           f"{r.full_vs_incremental.total} files")

    def _page_of(self, output: Path, slug: str) -> Path | None:
        found = sorted(output.glob(f"*/*/{slug}/index.html"))
        return found[0] if found else None

    def _check_reference(self, output: Path) -> None:
        """Stock Pelican wrote one page per post (`{slug}.html`)."""
        missing = [s for s in self.site.post_slugs if not (output / f"{s}.html").is_file()]
        if missing:
            self.result.errors.append(f"reference build: {len(missing)} post pages missing, "
                                      f"e.g. {missing[0]}.html")

    def _check_ours(self, output: Path, *, comments: bool, post_slug: str | None = None,
                    at_least: int = 1) -> None:
        """Every post has its page; the newest commented post shows its thread (or, without
        the plugin, no thread at all)."""
        pages = {p.parent.name for p in output.glob("*/*/*/index.html")}
        missing = [s for s in self.site.post_slugs if s not in pages]
        if missing:
            self.result.errors.append(f"{output.name}: {len(missing)} post pages missing, "
                                      f"e.g. {missing[0]}")
        threads = self.site.content / "comments"
        slug = post_slug or next((s for s in reversed(self.site.post_slugs)
                                  if (threads / s).is_dir()), None)
        page = self._page_of(output, slug) if slug else None
        if slug is None or page is None:
            return
        expected = max(sum(1 for _ in (threads / slug).glob("*.md")), at_least)
        shown = page.read_text(encoding="utf-8").count('id="comment-')
        if comments and shown < expected:
            self.result.errors.append(f"{output.name}: {page} shows {shown} comments of "
                                      f"{expected}")
        if not comments and shown:
            self.result.errors.append(f"{output.name}: {page} shows comments without the "
                                      "comment plugin")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class BuildBench:
    """Every size's result, for the table and results.json."""

    options: BuildOptions
    sizes: list[SizeResult] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [e for s in self.sizes for e in s.errors]


def run_build_bench(options: BuildOptions, *, say: Callable[[str], None] = print) -> BuildBench:
    """Each size in its own fresh folder (removed afterwards unless --workdir was given)."""
    bench = BuildBench(options)
    with fresh_workdir(options.workdir, prefix="build-bench-") as workdir:
        for size in options.sizes:
            spec = SiteSpec(posts=size, members=options.members,
                            comments_per_post=options.comments_per_post, seed=options.seed)
            folder = workdir / f"posts-{size}"
            folder.mkdir()
            say(f"build: generating {size} posts, {options.members} members in {folder}…")
            sized = SizeBench(folder, spec, timeout=options.run_timeout,
                              repeat=options.repeat, one_new_rounds=options.one_new_rounds,
                              say=say)
            say(f"  {sized.result.comments} comments ({sized.result.replies} replies), "
                f"{sized.result.post_kb} KB per post file, in {sized.result.generate_s} s")
            bench.sizes.append(sized.run())
            if options.workdir is None:
                shutil.rmtree(folder, ignore_errors=True)
    return bench


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def size_json(result: SizeResult) -> dict[str, Any]:
    data = asdict(result)
    data["figures"] = result.figures()
    return data


def merge_results(previous: Any, bench: BuildBench) -> dict[str, Any]:
    """The "build" part of results.json: earlier sizes kept, the sizes measured now replaced
    (each with the machine it was measured on, since sizes may come from different runs)."""
    merged: dict[str, Any] = {}
    if isinstance(previous, dict) and isinstance(previous.get("by_size"), dict):
        merged.update(previous["by_size"])
    machine = machine_info()
    machine["versions"].update(_versions("pelican", "markdown", "jinja2"))
    for result in bench.sizes:
        merged[str(result.posts)] = {"machine": machine, **size_json(result)}
    options = {k: (str(v) if isinstance(v, Path) else v)
               for k, v in asdict(bench.options).items()}
    return {"by_size": dict(sorted(merged.items(), key=lambda kv: int(kv[0]))),
            "last_run": {"options": options, "machine": machine, "errors": bench.errors,
                         "one_new_growth": one_new_growth(bench.sizes)}}


def _versions(*packages: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def print_report(bench: BuildBench) -> None:
    """A table of runs per size, then one row per size with the headline figures."""
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=150)
    for result in bench.sizes:
        table = Table(title=f"build: {result.posts} posts, {result.comments} comments "
                            f"({result.replies} replies)")
        for column in ("run", "wall s", "CPU s", "peak MB", "files", "files changed",
                       "load before/after"):
            table.add_column(column, justify="left" if column == "run" else "right")
        changed = {"nothing-new": result.nothing_new_diff, "fetched": result.fetched_diff,
                   "touched": result.touched_diff,
                   "one-new": result.one_new_diff, "full-after": result.full_vs_incremental}
        for name in RUN_NAMES:
            run = result.runs.get(name)
            if run is None:
                continue
            m, diff = run.measurement, changed.get(name)
            wall = f"{m.wall_s:.1f}"
            if len(run.walls) > 1:
                wall += f" (of {', '.join(f'{w:.1f}' for w in run.walls)})"
            table.add_row(name, wall, f"{m.cpu_s:.1f}", f"{m.peak_mb:.0f}",
                          str(run.output_files), _fmt_diff(diff, full=name == "full-after"),
                          f"{run.load_before:.1f}/{run.load_after:.1f}")
        console.print(table)
        if result.one_new_diff is not None:
            console.print(f"one new post + 3 comments changed: {result.one_new_diff.by_folder}",
                          highlight=False)
            shown = result.one_new_not_showing
            console.print(f"changed files that do not show the new post or the commented post: "
                          f"{len(shown)}{' ' + ', '.join(shown[:SAMPLE_PATHS]) if shown else ''}",
                          highlight=False)
        if result.full_vs_incremental is not None and result.full_vs_incremental.total:
            console.print("full build ≠ incremental: " +
                          ", ".join(result.full_vs_incremental.sample), highlight=False)
    summary = Table(title="build: ours (publishconf.py, all plugins) vs stock Pelican")
    for column in ("posts", "reference s", "ours cold s", "ours/ref", "plugin overhead",
                   "(pairs' median)", "nothing-new s", "fetched s", "touched s", "one-new s",
                   "pages changed", "full = incr.", "peak MB"):
        summary.add_column(column, justify="right")
    for result in bench.sizes:
        f = result.figures()
        summary.add_row(str(result.posts), _num(f["reference_s"]), _num(f["ours_cold_s"]),
                        _num(f["ratio_ours_over_reference"], "×", 2),
                        _num(f["plugin_overhead_pct"], " %"),
                        _num(f["plugin_overhead_median_pct"], " %"), _num(f["nothing_new_s"]),
                        _num(f["fetched_s"]), _num(f["touched_s"]), _num(f["one_new_s"]),
                        _num(f["one_new_files_changed"], "", 0),
                        {True: "yes", False: "no", None: "–"}[f["full_equals_incremental"]],
                        _num(f["peak_mb_ours"], "", 0))
    console.print(summary)
    growth = one_new_growth(bench.sizes)
    if growth is not None:
        console.print(growth, highlight=False)
    stages = Table(title="one-new publish (the fastest): seconds per stage (the build's own "
                         "marks)")
    stages.add_column("stage")
    for result in bench.sizes:
        stages.add_column(f"{result.posts} posts", justify="right")
    names = list(dict.fromkeys(name for result in bench.sizes for name in result.one_new_stages))
    for name in names:
        stages.add_row(name, *(_num(result.one_new_stages.get(name), "", 2)
                               for result in bench.sizes))
    if names:
        console.print(stages)
    steps = Table(title="make publish after the build: search index + link check, seconds "
                        "(each with its cache in var/)")
    steps.add_column("posts", justify="right")
    for title in ("whole site", "nothing new", "one new post"):  # STEP_RUNS
        steps.add_column(f"{title}: search", justify="right")
        steps.add_column("links", justify="right")
    for result in bench.sizes:
        row = [str(result.posts)]
        for name in STEP_RUNS:
            found = result.steps.get(name, {})
            row += [_num(found.get("search_s")), _num(found.get("links_s"))]
        steps.add_row(*row)
    if any(result.steps for result in bench.sizes):
        console.print(steps)
    for error in bench.errors:
        console.print(f"[red]error:[/red] {error}", highlight=False, markup=True)


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def _fmt_diff(diff: TreeDiff | None, *, full: bool = False) -> str:
    if diff is None:
        return ""
    if full:
        return "identical" if diff.total == 0 else f"{diff.total} differ"
    return f"{diff.total} (~{diff.changed} +{diff.added} -{diff.removed})"
