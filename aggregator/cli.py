"""`python -m aggregator …` (also installed as `aggregator`): the command line of DESIGN.md.

Exit codes: 0 the run completed (failed feeds are in its summary), 1 with --strict when any
feed failed, 2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from aggregator.errors import AggregatorError, ConfigError
from aggregator.settings import Settings, load_settings

logger = logging.getLogger("aggregator")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.settings)
    changes: dict[str, Path] = {}
    if getattr(args, "members", None):
        changes["members_file"] = Path(args.members)
    if getattr(args, "content", None):
        changes["content_dir"] = Path(args.content)
    if getattr(args, "state", None):
        changes["state_path"] = Path(args.state)
    return replace(settings, **changes)  # type: ignore[arg-type]


def _members(settings: Settings, only: Sequence[str] | None = None) -> list:  # type: ignore[type-arg]
    from aggregator.registry_cache import load_members_cached

    members = load_members_cached(settings.members_file, settings.state_path.parent,
                                  sectors=settings.sectors or None,
                                  regions=settings.regions or None)
    if only:
        known = {m.id for m in members}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise ConfigError(f"no member with id {', '.join(map(repr, unknown))}",
                              path=str(settings.members_file))
        members = [m for m in members if m.id in only]
    return members


def cmd_fetch(args: argparse.Namespace) -> int:
    from aggregator.report import print_table, progress, summary_table
    from aggregator.run import run_fetch

    settings = _settings(args)
    members = _members(settings, args.only)
    with progress(len(members)) as on_result:
        report = run_fetch(settings, members, allow_private=args.allow_private_networks,
                           force=args.force, on_result=on_result)
    print_table(summary_table(report))
    if args.strict and report.failed:
        return EXIT_FAILED
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from aggregator.report import print_table, status_table
    from aggregator.state import State

    settings = _settings(args)
    members = _members(settings)
    with State(settings.state_path) as state:
        rows = [(m.id, m.feed, state.get(m.id)) for m in members]
    print_table(status_table(rows, now=time.time()))
    return EXIT_OK


def cmd_import_opml(args: argparse.Namespace) -> int:
    from aggregator.members import add_members, normalise_feed_url
    from aggregator.opml import read_opml
    from aggregator.slugs import slugify

    settings = _settings(args)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from exc
    outlines = read_opml(data, path=str(path))
    existing = _members(settings) if settings.members_file.exists() else []
    feeds = {normalise_feed_url(m.feed) for m in existing}
    ids = {m.id for m in existing}
    names = {m.name.casefold() for m in existing}
    entries = []
    for outline in outlines:
        if normalise_feed_url(outline.feed) in feeds:
            print(f"skipped {outline.feed}: already in the registry")
            continue
        name = outline.name
        if name.casefold() in names:
            name = f"{name} ({outline.feed})"
        member_id = slugify(name, max_length=64, fallback="member")
        base, n = member_id, 2
        while member_id in ids:
            member_id, n = f"{base}-{n}", n + 1
        entry = {"name": name, "feed": outline.feed, "id": member_id}
        if outline.site:
            entry["site"] = outline.site
        entries.append(entry)
        feeds.add(normalise_feed_url(outline.feed))
        ids.add(member_id)
        names.add(name.casefold())
    if entries:
        add_members(settings.members_file, entries, sectors=settings.sectors or None,
                    regions=settings.regions or None)
    print(f"added {len(entries)} member(s) to {settings.members_file}")
    return EXIT_OK


def cmd_export_opml(args: argparse.Namespace) -> int:
    from aggregator.opml import write_opml

    settings = _settings(args)
    data = write_opml(_members(settings), title=f"{settings.site_name}: member feeds",
                      sectors=dict(settings.sectors))
    if args.output:
        from aggregator.atomic import write_atomic

        write_atomic(Path(args.output), data.decode("utf-8"))
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_remove_member(args: argparse.Namespace) -> int:
    """A member leaves: their entry out of the registry; with --with-posts, their archive
    (posts and comment threads) too. Under the publish lock: no publish runs meanwhile."""
    from aggregator.members import remove_member
    from aggregator.publish import LOCK_NAME, run_lock
    from aggregator.slugs import is_slug
    from aggregator.takedowns import remove_post_files
    from aggregator.write import read_metadata

    settings = _settings(args)
    if not is_slug(args.id):
        raise ConfigError(f"{args.id!r} is not a member id", path=str(settings.members_file))
    folder = settings.content_dir / "posts" / args.id
    posts = sorted(folder.glob("*/*.md")) if args.with_posts else []
    if args.dry_run:
        member = next((m for m in _members(settings) if m.id == args.id), None)
        if member is None:
            raise ConfigError(f"no member with id {args.id!r}", path=str(settings.members_file))
        print(f"would remove {member.id} ({member.name}, {member.feed}) from "
              f"{settings.members_file}" + (f", and {len(posts)} post(s) with their comments"
                                            if posts else ""))
        return EXIT_OK
    with run_lock(settings.root / "var" / LOCK_NAME):
        removed = remove_member(settings.members_file, args.id,
                                sectors=settings.sectors or None,
                                regions=settings.regions or None)
        for path in posts:
            remove_post_files(settings.content_dir, path, read_metadata(path).get("slug", ""))
        for year in sorted(folder.glob("*")) if posts else []:
            if year.is_dir() and not any(year.iterdir()):
                year.rmdir()
        if posts and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    print(f"removed from {settings.members_file}:\n{removed.rstrip()}")
    if posts:
        print(f"removed {len(posts)} post(s) of {args.id} and their comments")
    else:
        print(f"their posts stay in {folder} (--with-posts removes them too)")
    print("next: publish (make publish), then commit the registry and any deleted files "
          "together", file=sys.stderr)
    return EXIT_OK


def cmd_publish(args: argparse.Namespace) -> int:
    from aggregator.publish import PublishOptions, publish

    settings = load_settings(args.settings)
    publish(settings.root, PublishOptions(
        wait=args.wait, site_url=args.site_url, output=args.output,
        allow_private_networks=args.allow_private_networks,
        fetch_settings=Path(args.settings).resolve() if args.settings else None))
    print("published: fetched, built, indexed for search, internal links checked")
    return EXIT_OK


def cmd_search_index(args: argparse.Namespace) -> int:
    from aggregator.publish import SEARCH_CACHE_NAME
    from aggregator.search_index import index_site

    root = load_settings(args.settings).root
    output = Path(args.output) if args.output else root / "output"
    cache = Path(args.cache) if args.cache else root / "var" / SEARCH_CACHE_NAME  # publish's
    print(f"search index: {index_site(output, cache).summary()}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aggregator",
                                     description="Fetch the network's feeds into content/.")
    parser.add_argument("--settings", help="settings file (default: ./pelicanconf.py)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument("--members", help="registry file (default: MEMBERS_FILE)")
        p.add_argument("--content", help="content folder (default: PATH)")
        p.add_argument("--state", help="state database (default: AGGREGATOR_STATE)")

    fetch = sub.add_parser("fetch", help="fetch every member's feed and write the posts")
    paths(fetch)
    fetch.add_argument("--only", action="append", metavar="ID",
                       help="fetch only this member (repeatable)")
    fetch.add_argument("--allow-private-networks", action="store_true",
                       help="allow loopback and private addresses (tests, demo, intranets)")
    fetch.add_argument("--strict", action="store_true", help="exit 1 if any feed failed")
    fetch.add_argument("--force", action="store_true",
                       help="ignore back-off and cached bodies: fetch and rewrite everything")
    fetch.set_defaults(func=cmd_fetch)

    status = sub.add_parser("status", help="each member's health")
    paths(status)
    status.set_defaults(func=cmd_status)

    imp = sub.add_parser("import-opml", help="add an OPML file's feeds to the registry")
    paths(imp)
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import_opml)

    leave = sub.add_parser("remove-member", help="a member leaves: out of members.yaml, "
                                                 "with --with-posts their archive too")
    paths(leave)
    leave.add_argument("id", help="the member's id in members.yaml")
    leave.add_argument("--with-posts", action="store_true",
                       help="delete their posts and comment threads from content/ as well")
    leave.add_argument("--dry-run", action="store_true",
                       help="say what would be removed; change nothing")
    leave.set_defaults(func=cmd_remove_member)

    exp = sub.add_parser("export-opml", help="the registry as OPML 2.0")
    paths(exp)
    exp.add_argument("-o", "--output", help="write to this file instead of standard output")
    exp.set_defaults(func=cmd_export_opml)

    pub = sub.add_parser("publish", help="fetch, build with publishconf.py, index for search")
    pub.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for another publish to finish (default: do not wait)")
    pub.add_argument("--allow-private-networks", action="store_true",
                     help="let the fetch reach loopback and private addresses (tests, intranets)")
    pub.add_argument("--site-url", metavar="URL",
                     help="build for this SITEURL (default: the SITEURL environment variable, "
                          "else publishconf.py's own)")
    pub.add_argument("--output", default="output", metavar="DIR",
                     help="the folder to build into, relative to the project (default: output)")
    pub.set_defaults(func=cmd_publish)

    search = sub.add_parser("search-index", help="index the built site for search, as publish "
                                                 "does (only the bundles whose pages changed)")
    search.add_argument("--output", metavar="DIR", help="the built site (default: output)")
    search.add_argument("--cache", metavar="FILE",
                        help="what each bundle was built from (default: "
                             "var/search-index.cache, as make publish keeps it)")
    search.set_defaults(func=cmd_search_index)
    from aggregator.submit_cli import register
    register(sub)
    from aggregator.takedown_cli import register as register_takedown
    register_takedown(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AggregatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: files written so far are whole; run again to finish",
              file=sys.stderr)
        return 130
