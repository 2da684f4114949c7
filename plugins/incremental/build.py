"""The build: Pelican, made incremental. Set as PELICAN_CLASS in pelicanconf.py.

1. Nothing new: if no input changed since the last successful build into the same output
   folder (content files, settings, theme, code, registry, state database, today's date) and
   every file that build wrote is still there, the build stops at once.
2. Otherwise Pelican runs as usual with `IncrementalWriter`: pages whose key is unchanged are
   not rendered again (plugins/incremental/writer.py).
3. Afterwards, pages the last build wrote and this one did not (a post taken down, a tag
   gone) are removed, and the manifest of what was written is saved.

The manifest lives in CACHE_PATH (never in the published output). It is removed when a build
starts and written back only when the build succeeds, so a failed or killed build is followed by
a full one. `make clean` (or deleting the cache) forces a full build too.
"""

from __future__ import annotations

import gc
import logging
import marshal
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import blinker
from jinja2 import FileSystemBytecodeCache
from pelican import Pelican, signals
from pelican.generators import ArticlesGenerator, PagesGenerator

from aggregator.atomic import write_atomic
from aggregator.errors import WriteError

from .ahead import Ahead, walk_apart, walk_early
from .changes import IN_PLACE_KEY, LOST_DATES_KEY
from .generators import STORE_KEYS, NetworkArticlesGenerator, NetworkPagesGenerator
from .keys import _hash, settings_digest, tree_digest
from .listing import LISTING_KEY, ContentListing, Walked
from .outputs import OutputCheck
from .preread import (
    BUILD_PREREAD,
    BUILD_PUBLISH,
    MIN_FILES_PER_PROCESS,
    PREREAD_KEY,
    preread,
)
from .render import MIN_PAGES_PER_PROCESS, Background, RenderError, build_processes, in_processes
from .river import RIVER_FILE, STORED_KEY, River, load_river, save_river
from .store import ArticleStore
from .writer import IncrementalWriter

logger = logging.getLogger(__name__)

MANIFEST_FILE = "incremental.manifest"  # marshal: read and written by every build
TEMPLATE_CACHE = "templates"  # folder in CACHE_PATH: Jinja's compiled templates
MANIFEST_VERSION = 5
# Settings key for a build in which only the aggregator's state changed: member id → [the ISO
# date of their newest post, their number of posts] as the last build saw them (plugins/health
# reads it: its page shows both).
NEWEST_POSTS = "_newest_posts_by_member"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("pelican", "jinja2", "markdown", "nh3", "feedgenerator", "markupsafe"):
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=-")
    return ",".join(found) + f",python={sys.version_info[:3]}"


def code_folders(settings: Mapping[str, Any]) -> list[Path]:
    """The theme, the plugin folders and the aggregator package (plugins import it)."""
    import aggregator

    folders = [Path(str(settings["THEME"]))]
    folders += [Path(str(p)) for p in settings.get("PLUGIN_PATHS") or []]
    folders.append(Path(aggregator.__file__).parent)
    return folders


def _file_stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path}:-"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _project_path(settings: Mapping[str, Any], key: str, default: str) -> Path:
    from plugins.members_directory.registry import project_path

    return project_path(settings, key, default)


def today(settings: Mapping[str, Any]) -> str:
    """The build's date: pages say "quiet for a year" and chart the last 12 months, all from
    this moment (plugins/members_directory.generator.network_now)."""
    from plugins.members_directory.generator import network_now

    return network_now(settings).isoformat()


class Stages:
    """Where a build's time went, logged when it ends: what a maintainer asks first when a
    publish gets slow (and what grows with the archive: the walk, the reading, the keys)."""

    def __init__(self) -> None:
        self._last = self.started = time.monotonic()
        self._spent: list[tuple[str, float]] = []

    def mark(self, stage: str) -> None:
        """`stage` has just ended."""
        now = time.monotonic()
        self._spent.append((stage, now - self._last))
        self._last = now

    def report(self) -> str:
        return ", ".join(f"{stage} {spent:.2f}" for stage, spent in self._spent) + \
            f"; total {time.monotonic() - self.started:.2f} s"

    def spent(self) -> list[list[Any]]:
        """[stage, seconds] so far (kept in the manifest: the bench prints how each grows)."""
        return [[stage, round(spent, 3)] for stage, spent in self._spent]


class Manifest:
    """What the last successful build wrote into one output folder."""

    def __init__(self, path: Path, output: Path) -> None:
        self.path = path
        self.output = output
        self.fingerprint = ""  # every input but the aggregator's state database
        self.state = ""  # the state database's stamp
        self.newest: dict[str, list[Any]] | None = None  # member id → [newest date, posts]
        self.site_key = ""
        self.page_site_key = ""  # the writer's site key (with the registry and avatars)
        self.today = ""  # the build's date
        self.apart = ""  # the digest of the content folder walked apart (ahead.py)
        self.river = ""  # the token saved with the river it recorded (river.py), if any
        self.pages: dict[str, list[Any]] = {}

    @classmethod
    def load(cls, path: Path, output: Path) -> Manifest:
        manifest = cls(path, output)
        try:
            data = read_manifest(path)
        except FileNotFoundError:
            return manifest
        except (OSError, ValueError, EOFError, TypeError) as exc:
            logger.warning("%s: build manifest unreadable, full build: %s", path, exc)
            return manifest
        if (isinstance(data, dict) and data.get("version") == MANIFEST_VERSION
                and data.get("output") == str(output) and isinstance(data.get("pages"), dict)):
            manifest.fingerprint = str(data.get("fingerprint") or "")
            manifest.state = str(data.get("state") or "")
            newest = data.get("newest")
            if isinstance(newest, dict):
                manifest.newest = {str(k): v for k, v in newest.items()
                                   if isinstance(v, list) and len(v) == 2}
            manifest.site_key = str(data.get("site_key") or "")
            manifest.page_site_key = str(data.get("page_site_key") or "")
            manifest.today = str(data.get("today") or "")
            manifest.apart = str(data.get("apart") or "")
            manifest.river = str(data.get("river") or "")
            manifest.pages = {k: v for k, v in data["pages"].items()
                              if isinstance(k, str) and isinstance(v, list) and len(v) in (2, 3)}
        return manifest

    def forget(self) -> None:
        """Remove the file while a build runs: a build that fails leaves no manifest behind."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise WriteError(f"{self.path}: cannot remove the build manifest: {exc}") from exc

    def save(self, fingerprint: str, state: str, site_key: str, pages: Mapping[str, list[Any]],
             newest: Mapping[str, list[Any]] | None, *, page_site_key: str = "",
             today: str = "", stages: list[list[Any]] | None = None, apart: str = "",
             river: River | None = None, river_token: str = "") -> None:
        """Write the manifest, and before it `river` with a new token the manifest names; or
        name `river_token`, a river saved before that still goes with these pages."""
        token = river_token
        if river is not None:
            token = os.urandom(8).hex()
            save_river(self.path.with_name(RIVER_FILE), river, token)
        data = {"version": MANIFEST_VERSION, "output": str(self.output),
                "fingerprint": fingerprint, "state": state, "site_key": site_key,
                "page_site_key": page_site_key, "today": today, "stages": stages or [],
                "apart": apart, "river": token,
                "pages": dict(pages), "newest": dict(newest) if newest is not None else None}
        write_atomic(self.path, marshal.dumps(data))


def read_manifest(path: Path) -> Any:
    """A manifest's data, as Manifest.save wrote it. It is kept with marshal, not JSON: at
    20,000 posts its 35,000 pages cost a publish a tenth of a second as JSON, read and
    written. A file marshal cannot read (damaged, or from a Python whose marshal format
    differs) raises ValueError, EOFError or TypeError: Manifest.load makes that a full
    build."""
    return marshal.loads(path.read_bytes())  # noqa: S302 - our own file, in CACHE_PATH


def _template_cache(folder: Path) -> FileSystemBytecodeCache | None:
    """Jinja's bytecode cache in `folder` (made if need be); None if it cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.warning("%s: no compiled-template cache this build: %s", folder, exc)
        return None
    return FileSystemBytecodeCache(str(folder))


def forget_caches(cache: Path) -> int:
    """Remove the files Pelican and the plugins cache at the top of CACHE_PATH (not folders:
    the avatars' cache is not derived from the content and is kept)."""
    removed = 0
    if not cache.is_dir():
        return 0
    for entry in os.scandir(cache):
        if entry.is_file(follow_symlinks=False) and entry.name != MANIFEST_FILE:
            os.unlink(entry.path)
            removed += 1
    return removed


def remove_stale(output: Path, before: Mapping[str, Any], now: Mapping[str, Any]) -> int:
    """Delete what the last build wrote and this one did not; prune emptied folders."""
    removed = 0
    root = output.resolve()
    for rel in sorted(set(before) - set(now)):
        path = (output / rel).resolve()
        if root not in path.parents:
            continue  # never outside the output folder, whatever the manifest says
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


@dataclass(frozen=True)
class _Plan:
    """What a build takes from the last one, for Pelican's hooks that take no arguments
    (`_get_writer`) and for the manifest it saves."""

    previous: Mapping[str, list[Any]]  # pages it may skip, keyed as `base_key` says (none: full)
    base_key: str
    check: OutputCheck | None  # is each page the last build wrote still there
    carry_from: tuple[str, str] = ("", "")  # the last build's page site key and date
    stale_from: Mapping[str, list[Any]] = field(default_factory=dict)  # all it wrote
    apart: str = ""  # the content folder walked in another process
    listing: ContentListing | None = None  # this build's walk (it gives `apart`'s digest)
    river: Callable[[], River | None] | None = None  # the river it recorded (river.py)


def _cache_folder(settings: Mapping[str, Any]) -> Path:
    """CACHE_PATH: where the manifest and the caches are kept."""
    return Path(str(settings.get("CACHE_PATH") or "cache"))


class IncrementalPelican(Pelican):  # type: ignore[misc]
    """Pelican with a nothing-new shortcut, a skipping writer and stale-page removal."""

    def __init__(self, settings: Any) -> None:
        # A publish's walk of the posts starts now, in another process (ahead.py), while
        # Pelican loads the plugins and the build reads its manifest.
        self._early = walk_early(settings, _cache_folder(settings) / MANIFEST_FILE)
        try:
            super().__init__(settings)
        except BaseException:
            self._take_early(use=False)
            raise

    def run(self) -> None:
        cache = _cache_folder(self.settings)
        self._templates = _template_cache(cache / TEMPLATE_CACHE)
        signals.generator_init.connect(self._cache_templates, weak=False)
        try:
            self._build(cache)
        finally:
            signals.generator_init.disconnect(self._cache_templates)
            self._take_early(use=False)

    def _take_early(self, *, use: bool) -> Walked | None:
        """What the early walk found (`use`), or None: not started, not used (the process is
        waited for), or failed (said in the log: the scan walks here)."""
        early, self._early = getattr(self, "_early", None), None
        if early is None:
            return None
        if not use:
            early.close()
            return None
        try:
            return early.result()  # type: ignore[no-any-return]
        except RenderError as exc:
            logger.warning("%s not walked in another process, walked now: %s", self.path, exc)
            return None

    def _cache_templates(self, generator: Any) -> None:
        """generator_init: this build's generators keep compiled templates in CACHE_PATH
        (Jinja checks each against its template's source before using it): a publish does not
        compile the theme's templates again."""
        env = getattr(generator, "env", None)
        if self._templates is not None and env is not None \
                and getattr(generator, "settings", None) is self.settings \
                and env.bytecode_cache is None:
            env.bytecode_cache = self._templates

    def _build(self, cache: Path) -> None:
        self._stages = stages = Stages()
        started = stages.started
        output = Path(self.output_path).resolve()
        manifest = Manifest.load(cache / MANIFEST_FILE, output)
        check = OutputCheck(output, manifest.pages)  # is what it wrote still there
        base_key = _hash(settings_digest(self.settings), _versions(),
                         tree_digest(code_folders(self.settings)))
        processes, min_items = self._processes()
        apart = walk_apart(self.settings)
        self._ahead: Ahead | None = None
        if manifest.pages and manifest.site_key == base_key and processes > 1 and apart \
                and hasattr(os, "fork"):
            # a publish: the other core walks `apart` and does what it can ahead (ahead.py)
            self._ahead = self._start_ahead(apart, check, processes, min_items)
        walked = self._take_early(use=self._ahead is not None)
        listing = ContentListing.scan(self.path, apart=apart if self._ahead else None,
                                      walked=walked)
        if self._ahead is not None:
            listing.expect(self._ahead.part, self._ahead.digest)
        fingerprint, state = self._fingerprint(base_key, listing, apart), self._state_stamp()
        stages.mark("walk")
        # The output is checked before the folder walked apart is asked for: while the other
        # process still walks it (item 11 in docs/architecture.md).
        if (manifest.fingerprint == fingerprint and manifest.site_key == base_key
                and check.all_intact()
                and manifest.apart == (listing.part_digest(apart) if apart else "")):
            if self._ahead is not None:
                self._ahead.close(stop=True)  # its work is not needed
            if manifest.state == state:
                logger.info("Nothing changed since the last build: %s is up to date (%d "
                            "files checked in %.2f s)", output, len(manifest.pages),
                            time.monotonic() - started)
                return
            if manifest.newest is not None:
                manifest.forget()
                pages = self._render_state_pages(manifest, base_key, check)
                manifest.save(fingerprint, state, base_key, pages, manifest.newest,
                              page_site_key=manifest.page_site_key, today=manifest.today,
                              apart=manifest.apart, river_token=manifest.river)
                logger.info("Only the aggregator's state changed: %d pages rendered from it "
                            "in %.2f s", self._writer.log.rendered,
                            time.monotonic() - started)
                return
        manifest.forget()
        self.settings[LISTING_KEY] = listing  # one walk of the content folder for all
        self._background: list[Background] = []
        previous = manifest.pages if manifest.site_key == base_key else {}
        if not previous:
            # A build from scratch, or settings, theme or code changed (or the last build
            # failed): caches made by other code or settings are not trusted.
            forgotten = forget_caches(cache)
            if forgotten:
                logger.info("Full build: %d cache files of an earlier build removed from %s",
                            forgotten, cache)
            if processes > 1:
                # the system reads every file into its cache while the posts are read here
                self._in_background(listing.read_ahead)
            self.settings[PREREAD_KEY] = preread(self.settings, processes,
                                                 min_files=min_items or MIN_FILES_PER_PROCESS)
            blinker.signal(BUILD_PREREAD).send(self, settings=self.settings,
                                               processes=processes, min_items=min_items,
                                               run_in_processes=in_processes,
                                               run_in_background=self._in_background)
        # The article store (store.py) keeps articles for this code and settings; what it
        # keeps of finished articles (URLs, digests) also needs the same registry.
        self.settings[STORE_KEYS] = (base_key, _hash(base_key, self._registry_stamp()))
        self._plan = _Plan(previous, base_key, check,
                           (manifest.page_site_key, manifest.today) if previous else ("", ""),
                           manifest.pages, apart, listing,
                           partial(load_river, cache / RIVER_FILE, manifest.river)
                           if previous else None)
        self._removed = 0
        signals.all_generators_finalized.connect(self._keep_generators, weak=False)
        marks = {signals.article_generator_pretaxonomy: "posts read",
                 signals.article_generator_finalized: "grouped, threads attached",
                 signals.all_generators_finalized: "other contexts"}
        receivers = {signal: self._stage_receiver(stage) for signal, stage in marks.items()}
        for signal, receiver in receivers.items():  # after the plugins': they are connected
            signal.connect(receiver, weak=False)
        collecting = gc.isenabled()
        if previous:
            # A publish makes little cyclic garbage: no collection runs until it is done.
            gc.disable()
        # The posts, once read, are frozen (_freeze_read): no collection walks them again.
        signals.article_generator_pretaxonomy.connect(self._freeze_read, weak=False)
        try:
            self._run_generators(cache, manifest, fingerprint, state, base_key)
        finally:
            gc.unfreeze()  # after the manifest is written: no collection of it all before
            if collecting:
                gc.enable()
            for signal, receiver in receivers.items():
                signal.disconnect(receiver)
        stages.mark("saved")
        logger.info("Build stages (s): %s", stages.report())

    def _start_ahead(self, apart: str, check: OutputCheck, processes: int,
                     min_items: int) -> Ahead:
        """The other core's work in a publish: the walk of `apart`, what plugins hand over on
        BUILD_PUBLISH (each may wait for the walk's listing), then the output check (asked for
        last: at 20,000 posts, checking first made the articles wait 0.1 s for the comment
        folders' comparison)."""
        ahead = Ahead(self.path, apart, self.settings)
        blinker.signal(BUILD_PUBLISH).send(self, settings=self.settings, processes=processes,
                                           min_items=min_items, run_in_background=ahead.add)
        check.in_background(partial(ahead.add, listing=False))
        ahead.start()
        return ahead

    def _stage_receiver(self, stage: str) -> Callable[..., None]:
        def receiver(sender: Any, *args: Any, **kwargs: Any) -> None:
            senders = sender if isinstance(sender, list) else [sender]  # all generators
            if any(getattr(one, "settings", None) is self.settings for one in senders):
                self._mark(stage)
        return receiver

    def _mark(self, stage: str) -> None:
        stages = getattr(self, "_stages", None)
        if stages is not None:
            stages.mark(stage)

    def _run_generators(self, cache: Path, manifest: Manifest, fingerprint: str, state: str,
                        base_key: str) -> None:
        """Pelican's run, then the caches and the manifest (only if it succeeded)."""
        succeeded = False
        plan = self._plan
        apart_digest = ""  # for the manifest
        river: River | None = None  # likewise
        try:
            super().run()
            if plan.apart and plan.listing is not None:
                # asked before the other process is stopped (below): a publish may not have
                # needed it so far
                apart_digest = plan.listing.part_digest(plan.apart)
            succeeded = True
        finally:
            signals.all_generators_finalized.disconnect(self._keep_generators)
            signals.article_generator_pretaxonomy.disconnect(self._freeze_read)
            self.settings.pop(PREREAD_KEY, None)
            self.settings.pop(LISTING_KEY, None)
            self.settings.pop(LOST_DATES_KEY, None)
            self.settings.pop(IN_PLACE_KEY, None)
            stored = self.settings.pop(STORED_KEY, None)
            for job in self._background:
                job.close()
            if self._ahead is not None:
                self._ahead.close(stop=True)  # what nobody asked for is not waited for
            writer = getattr(self, "_writer", None)
            if writer is not None:
                writer.close_apart()  # after a failure: its other process, not merged
            stores = [g for g in getattr(self, "_generators", [])
                      if isinstance(getattr(g, "store", None), ArticleStore)]
            for generator in stores:  # after a failure: closed, not updated
                store = generator.store
                if store.bodies is not None and store.kept:
                    logger.info("Unchanged posts read whole from the article store (by this "
                                "process): %d of %d", store.bodies.whole, store.kept)
                if succeeded:
                    store.save_extras(generator.every_article())
                    if stored is not None and stored[0] is store.names:
                        river = self._writer.river(generator.articles, store.names)
                store.close()
        writer: IncrementalWriter = self._writer
        cache.mkdir(parents=True, exist_ok=True)
        page_site_key, built_on = writer.carried_from()
        manifest.save(fingerprint, state, base_key, writer.log.pages, self._newest_posts(),
                      page_site_key=page_site_key, today=built_on,
                      stages=self._stages.spent(),
                      apart=apart_digest, river=river)
        logger.info("Incremental build: %d pages rendered, %d unchanged, %d stale removed",
                    writer.log.rendered, writer.log.skipped, self._removed)

    def _freeze_read(self, generator: Any) -> None:
        """article_generator_pretaxonomy: the posts are read; no collection need look at
        them again (at 20,000 posts, three full collections of the kept posts, their tags and
        threads cost 0.6 s of a publish, and found nothing). In a publish the collector stays
        off until the build ends: the collections it ran while threads were attached and
        pages keyed cost another 0.15-0.2 s, for nothing (the peak memory is the same). A
        full build keeps it on for what it makes after the posts (its whole articles, bodies
        and all, are not walked again either: the threads' attach, 20,000 of each of a few
        small objects, set off full collections of them that cost 0.7 s)."""
        if getattr(generator, "settings", None) is self.settings:
            gc.freeze()

    def _in_background(self, work: Callable[[], Any]) -> Background:
        """For build_preread receivers: `work` in a forked process while Pelican reads the
        posts here (on one core); the receiver collects `result()` when it needs it. A job
        nobody collected is waited for when the build ends."""
        job = Background(work)
        self._background.append(job)
        return job

    def _registry_stamp(self) -> str:
        return _file_stamp(_project_path(self.settings, "MEMBERS_FILE", "members.yaml"))

    def _fingerprint(self, base_key: str, listing: ContentListing, apart: str) -> str:
        """Everything a build reads but the aggregator's state and the folder `apart` (whose
        digest the manifest keeps beside it, made by the other process in a publish): if they
        are the same, so is every page but those made from the state."""
        settings = self.settings
        return _hash(base_key, str(Path(self.output_path).resolve()), today(settings),
                     listing.digest(leave_out=apart or None), self._registry_stamp(),
                     _file_stamp(_project_path(settings, "TAKEDOWNS_FILE", "takedowns.yaml")))

    def _state_stamp(self) -> str:
        """The aggregator's state database (every fetch changes it; the health page shows it):
        the file and its write-ahead log, unless that is empty (reading the database, as the
        health page does, leaves an empty one behind: no new data)."""
        state = Path(str(_project_path(self.settings, "AGGREGATOR_STATE",
                                       "var/state.sqlite3")))
        wal = state.with_name(state.name + "-wal")
        try:
            wal_stamp = _file_stamp(wal) if wal.stat().st_size else "-"
        except OSError:
            wal_stamp = "-"
        return _hash(_file_stamp(state), wal_stamp)

    def _newest_posts(self) -> dict[str, list[Any]] | None:
        """Member id → [their newest published post's ISO date, how many they have]: what a
        build made only from the state needs of the posts (plugins/health shows both)."""
        for generator in getattr(self, "_generators", []):
            if isinstance(generator, ArticlesGenerator):
                directory = generator.context.get("network_members_by_id")
                if isinstance(directory, dict):  # members_directory: posts newest first
                    return {member: [entry.articles[0].date.isoformat(), len(entry.articles)]
                            for member, entry in directory.items() if entry.articles}
                posts: dict[str, list[Any]] = {}
                for article in generator.articles:
                    member = getattr(article, "member", None)
                    if not isinstance(member, str):
                        continue
                    known = posts.setdefault(member, [article.date, 0])
                    known[0], known[1] = max(known[0], article.date), known[1] + 1
                return {member: [date.isoformat(), count]
                        for member, (date, count) in posts.items()}
        return None

    def _render_state_pages(self, manifest: Manifest, base_key: str,
                            check: OutputCheck) -> dict[str, list[Any]]:
        """Only the aggregator's state changed (a fetch with nothing new): run only the
        generators whose pages are made from it (`reads_state = True`: plugins/health), with
        the posts as the last build saw them (NEWEST_POSTS), and keep every other page."""
        settings = self.settings
        settings[NEWEST_POSTS] = manifest.newest
        context = settings.copy()
        context.update(generated_content={}, static_links=set(), static_content={},
                       localsiteurl=settings["SITEURL"])
        generators = [cls(context=context, settings=settings, path=self.path, theme=self.theme,
                          output_path=self.output_path)
                      for cls in super()._get_generator_classes()
                      if getattr(cls, "reads_state", False)]
        writer = IncrementalWriter(self.output_path, settings=settings,
                                   previous=manifest.pages, site_key=base_key, check=check)
        self._writer, self._kept_pages = writer, manifest.pages
        try:
            for generator in generators:
                generator.generate_context()
            for generator in generators:
                generator.generate_output(writer)
            signals.finalized.send(self)
        finally:
            settings.pop(NEWEST_POSTS, None)
        return {**manifest.pages, **writer.log.pages}

    def written_files(self) -> list[str]:
        """Every file this build's writer wrote or left as it was ('/'-separated, under the
        output folder): plugins/sitemap lists the pages from it instead of walking them."""
        pages = dict(getattr(self, "_kept_pages", {}))
        writer = getattr(self, "_writer", None)
        if writer is not None:
            pages.update(writer.log.pages)
        return list(pages)

    def _processes(self) -> tuple[int, int]:
        """BUILD_PROCESSES (default: one per core) and BUILD_PROCESS_MIN_PAGES (0: each step's
        own minimum of files or pages per process)."""
        return (build_processes(self.settings),
                int(self.settings.get("BUILD_PROCESS_MIN_PAGES") or 0))

    def _get_generator_classes(self) -> list[type]:
        """Pelican's generators, with its ArticlesGenerator replaced by ours (generators.py)."""
        ours = {ArticlesGenerator: NetworkArticlesGenerator, PagesGenerator: NetworkPagesGenerator}
        return [ours.get(cls, cls) for cls in super()._get_generator_classes()]

    def _keep_generators(self, generators: list[Any]) -> None:
        """all_generators_finalized: note this build's generators (the writer needs the last)."""
        if any(getattr(g, "settings", None) is self.settings for g in generators):
            self._generators = list(generators)
            # The content is read: from here on the collector need not walk it again (at
            # 20,000 posts and 60,000 comments it would, many times, while pages render).
            gc.freeze()

    def _get_writer(self) -> IncrementalWriter:
        """The writer queues pages while the generators run; right after the last generator's
        output (before `finalized`, whose plugins read the output folder) it renders them on
        BUILD_PROCESSES processes."""
        plan = getattr(self, "_plan", None) or _Plan({}, "", None)
        previous_site, previous_today = plan.carry_from
        writer = IncrementalWriter(self.output_path, settings=self.settings,
                                   previous=plan.previous, site_key=plan.base_key,
                                   check=plan.check, previous_site=previous_site,
                                   previous_today=previous_today, previous_river=plan.river)
        self._writer = writer
        writer.apart = self._processes()[0] > 1  # in a publish (writer.start_apart)
        outputs = [g for g in getattr(self, "_generators", []) if hasattr(g, "generate_output")]
        if outputs:
            last = outputs[-1]
            original = last.generate_output
            processes, min_items = self._processes()
            min_pages = min_items or MIN_PAGES_PER_PROCESS

            def generate_output(any_writer: Any) -> None:
                original(any_writer)
                self._mark("output keyed or carried")
                writer.flush(processes, min_pages=min_pages)
                # before `finalized`: the sitemap plugin lists what is in the folder then
                self._removed = remove_stale(Path(self.output_path), plan.stale_from,
                                             writer.log.pages)
                self._mark(f"{writer.log.rendered} pages rendered")

            last.generate_output = generate_output
            writer.defer()
        return writer
