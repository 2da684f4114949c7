"""The whole pipeline on the demo network: serve the blogs, fetch, build, index, serve the site.

Each step runs the real command a maintainer would (`python -m aggregator fetch`, `pelican`,
`aggregator search-index`) as a subprocess, so the demo shows the product as it is, and a step
that fails stops the demo with its name and exit code. Everything is written under the work folder
(`demo/build/` by default), never to the project's own content/, members.yaml or var/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import runpy
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from aggregator.errors import AggregatorError
from aggregator.publish import SEARCH_CACHE_NAME
from demo.server import PLACEHOLDER, FeedServer, SiteServer

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo"
MEMBERS_TEMPLATE = DEMO_DIR / "members.yaml.in"
TAKEDOWNS_TEMPLATE = DEMO_DIR / "takedowns.yaml.in"  # beside the registry, where the fetch looks
SETTINGS_FILE = ROOT / "pelicanconf.py"
PUBLISH_SETTINGS_FILE = ROOT / "publishconf.py"
# The network's own feeds, as publishconf.py writes them (pelicanconf.py, for local builds, has
# none): the served demo has them, at the address it is served from.
FEED_SETTINGS = ("FEED_ALL_ATOM", "FEED_ALL_RSS", "AUTHOR_FEED_ATOM", "AUTHOR_FEED_RSS",
                 "CATEGORY_FEED_ATOM", "CATEGORY_FEED_RSS", "TAG_FEED_ATOM", "TAG_FEED_RSS",
                 "FEED_MAX_ITEMS", "DIGEST_FEED_ATOM", "DIGEST_SECTOR_FEED_ATOM",
                 "RSS_FEED_SUMMARY_ONLY")
# The feed server's address is baked into every fetched post (links, guids): when it changes,
# the old build would hold a second copy of every post, so the build starts afresh.
_BASE_MARKER = ".feed-base"
_BUILD_PARTS = ("content", "var", "output", "cache")
# Generous caps, so that a hung step ends the demo instead of hanging it.
_TIMEOUTS = {"fetch": 600.0, "build": 900.0, "index": 300.0}


class DemoError(AggregatorError):
    """A demo step failed; the message names the step and what to do."""


def write_members(base_url: str, dest: Path, template: Path = MEMBERS_TEMPLATE) -> Path:
    """Write the demo registry (or, from its template, the takedown list) with the feed
    server's address in place of the placeholder."""
    try:
        text = template.read_text(encoding="utf-8")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text.replace(PLACEHOLDER, base_url), encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"cannot write the demo's {dest.name} from {template}: {exc}") from exc
    return dest


def prepare_workdir(workdir: Path, base_url: str) -> None:
    """Create the work folder; clear an earlier build made against another feed address."""
    workdir = workdir.resolve()
    if workdir in (ROOT, ROOT / "content") or (ROOT / "content").is_relative_to(workdir):
        raise DemoError(f"refusing to build the demo in {workdir}: it holds the real content/; "
                        "use a folder of its own such as demo/build")
    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / _BASE_MARKER
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
    if previous is not None and previous != base_url:
        print(f"    the feeds moved from {previous} to {base_url}: starting a fresh build")
        for part in _BUILD_PARTS:
            shutil.rmtree(workdir / part, ignore_errors=True)
    marker.write_text(base_url + "\n", encoding="utf-8")
    (workdir / "content").mkdir(exist_ok=True)  # pelican needs it even if no feed gave a post


def fetch_command(workdir: Path) -> list[str]:
    """`aggregator fetch` on the demo registry, allowed to reach the loopback feed server."""
    return [sys.executable, "-m", "aggregator", "fetch",
            "--members", str(workdir / "members.yaml"),
            "--content", str(workdir / "content"),
            "--state", str(workdir / "var" / "state.sqlite3"),
            "--allow-private-networks"]


def feed_settings(site_url: str) -> dict[str, object]:
    """The network's feeds as publishconf.py sets them, for a site served at `site_url`
    (a feed's links must be absolute; the pages stay relative)."""
    try:
        published = runpy.run_path(str(PUBLISH_SETTINGS_FILE))
    except Exception as exc:  # noqa: BLE001 - any error in the settings file, named
        raise DemoError(f"cannot read the feed settings from {PUBLISH_SETTINGS_FILE}: "
                        f"{exc}") from exc
    url = site_url.rstrip("/")
    return {"SITEURL": url, "FEED_DOMAIN": url,
            **{key: published[key] for key in FEED_SETTINGS if key in published}}


def build_command(workdir: Path, site_url: str | None = None) -> list[str]:
    """Pelican with the project's settings, pointed at the demo registry and work folder;
    with the network's feeds when the address the site is served from is known."""
    overrides: dict[str, object] = {
        "MEMBERS_FILE": str(workdir / "members.yaml"),
        "AGGREGATOR_STATE": str(workdir / "var" / "state.sqlite3"),
        # the site's own pages (About, Join, 404) live in the project's content/
        "PAGE_PATHS": [str(ROOT / "content" / "pages")]}
    if site_url:
        overrides.update(feed_settings(site_url))
    return [sys.executable, "-m", "pelican", str(workdir / "content"),
            "-o", str(workdir / "output"), "-s", str(SETTINGS_FILE),
            "--cache-path", str(workdir / "cache"), "--delete-output-directory",
            "-e", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]


def index_command(workdir: Path) -> list[str]:
    """Pagefind over the built site, as `make publish` runs it (a bundle per year of posts)."""
    return [sys.executable, "-m", "aggregator", "search-index", "--output",
            str(workdir / "output"), "--cache", str(workdir / "var" / SEARCH_CACHE_NAME)]


def run_step(number: int, title: str, key: str, command: Sequence[str]) -> None:
    """Run one step with its output on the terminal; DemoError when it fails."""
    print(f"\n==> {number}. {title}", flush=True)
    print("    $ " + " ".join(command), flush=True)
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=ROOT, timeout=_TIMEOUTS[key], check=False,  # noqa: S603
                                env=_child_env())
    except subprocess.TimeoutExpired as exc:
        raise DemoError(f"step {number} ({title}) took longer than {exc.timeout:.0f} s and "
                        "was stopped") from exc
    except OSError as exc:
        raise DemoError(f"step {number} ({title}) could not start: {exc}") from exc
    if result.returncode != 0:
        raise DemoError(f"step {number} ({title}) failed with exit code {result.returncode}; "
                        "its messages are above")
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["AGGREGATOR_SETTINGS"] = str(SETTINGS_FILE)
    env["AGGREGATOR_ALLOW_PRIVATE"] = "1"  # the demo's avatars are on the loopback server
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def build(workdir: Path, feeds: FeedServer, site_url: str | None = None) -> Path:
    """Fetch, build and index the demo site; returns the output folder. `site_url`: where it
    will be served (its feeds link there); None: a site without the network's feeds."""
    prepare_workdir(workdir, feeds.base_url)
    members = write_members(feeds.base_url, workdir / "members.yaml")
    write_members(feeds.base_url, workdir / "takedowns.yaml", TAKEDOWNS_TEMPLATE)
    print(f"    registry: {members}")
    run_step(1, "Fetching the demo feeds (aggregator fetch)", "fetch", fetch_command(workdir))
    run_step(2, "Building the site (pelican)", "build", build_command(workdir, site_url))
    run_step(3, "Indexing the site for search (aggregator search-index: Pagefind)", "index",
             index_command(workdir))
    output = workdir / "output"
    pages = sum(1 for _ in output.rglob("*.html"))
    print(f"\n    built {pages} pages in {output}")
    return output


def _port_error(kind: str, port: int, flag: str, exc: OSError) -> DemoError:
    return DemoError(f"cannot open the {kind} server on 127.0.0.1:{port} ({exc.strerror}); "
                     f"choose another port with {flag}")


def open_feed_server(port: int) -> FeedServer:
    """The demo blogs on 127.0.0.1:`port` (0: any free port)."""
    try:
        return FeedServer(DEMO_DIR / "feeds", port=port)
    except OSError as exc:
        raise _port_error("feed", port, "--feed-port", exc) from exc


def open_site_server(directory: Path, port: int) -> SiteServer:
    """The built site on 127.0.0.1:`port`."""
    try:
        return SiteServer(directory, port=port)
    except OSError as exc:
        raise _port_error("site", port, "--port", exc) from exc


def _serve_until_interrupted(site: SiteServer, feeds: FeedServer) -> None:
    print(f"\n==> The site: {site.base_url}/   (the member blogs: {feeds.base_url}/)")
    print("    Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\n    stopped")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the whole pipeline on the bundled demo network and serve the site.")
    parser.add_argument("--port", type=int, default=8000,
                        help="port for the built site on 127.0.0.1 (default 8000)")
    parser.add_argument("--feed-port", type=int, default=None,
                        help="port for the demo blogs (default: --port + 1; 0 for any free port)")
    parser.add_argument("--workdir", type=Path, default=DEMO_DIR / "build",
                        help="where the registry, content, state and output go "
                             "(default demo/build)")
    parser.add_argument("--no-serve", action="store_true",
                        help="stop after building (for tests and CI)")
    args = parser.parse_args(argv)
    if args.feed_port is None:
        args.feed_port = args.port + 1 if args.port else 0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 on success (or Ctrl-C while serving), 1 when a step failed."""
    args = parse_args(argv)
    workdir: Path = args.workdir if args.workdir.is_absolute() else Path.cwd() / args.workdir
    try:
        with open_feed_server(args.feed_port) as feeds:
            print(f"==> Demo blogs served at {feeds.base_url}/")
            if args.no_serve:
                build(workdir, feeds)
                return 0
            # Take the site's port before building, so that a busy port fails fast.
            with open_site_server(workdir / "output", args.port) as site:
                build(workdir, feeds, site.base_url)
                _serve_until_interrupted(site, feeds)
        return 0
    except DemoError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        return 1
