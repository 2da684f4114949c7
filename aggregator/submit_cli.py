"""The joining workflow's commands: submit, submissions, approve, reject, serve-submissions.

`register(sub)` adds them to the main parser (aggregator/cli.py), which maps exceptions to
exit codes: ConfigError (an unknown submission id, a broken registry) gives 2, any other
AggregatorError 1. A submission refused for its input gives 2, refused for its blog 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path

from aggregator.settings import Settings, load_settings
from aggregator.submissions import InvalidSubmission, SubmissionError, SubmissionQueue, queue_dir

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.settings)
    if getattr(args, "members", None):
        settings = replace(settings, members_file=Path(args.members))
    return settings


def _queue(args: argparse.Namespace, settings: Settings) -> SubmissionQueue:
    folder = getattr(args, "submissions", None)
    return SubmissionQueue(Path(folder) if folder else queue_dir(settings))


def cmd_submit(args: argparse.Namespace) -> int:
    """Check, preview and queue a blog."""
    from aggregator.submit import check_request, format_submission, submit

    settings = _settings(args)
    values = {"url": args.url, "name": args.name, "email": args.email,
              "organisation": args.organisation, "sector": args.sector, "note": args.note,
              "topics": args.topics}
    try:
        request = check_request(values, sectors=settings.sectors or None)
        submission = submit(request, settings=settings, queue=_queue(args, settings),
                            allow_private=args.allow_private_networks)
    except SubmissionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, InvalidSubmission) else EXIT_REFUSED
    print(format_submission(submission))
    print(f"\nqueued; a maintainer approves it with: aggregator approve {submission.id}")
    return EXIT_OK


def cmd_submissions(args: argparse.Namespace) -> int:
    """List the pending submissions (with --json, every field, e-mail included)."""
    from aggregator.submit import format_submission

    settings = _settings(args)
    pending = _queue(args, settings).pending()
    if args.json:
        print(json.dumps([asdict(s) for s in pending], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not pending:
        print("no pending submissions")
    for submission in pending:
        print(format_submission(submission), end="\n\n")
    return EXIT_OK


def cmd_approve(args: argparse.Namespace) -> int:
    """Add the submitted blog to the registry."""
    settings = _settings(args)
    member = _queue(args, settings).approve(args.id, members_file=settings.members_file,
                                            sectors=settings.sectors or None,
                                            regions=settings.regions or None)
    print(f"approved {args.id}: member {member.id!r} ({member.name}, {member.feed}) added to "
          f"{settings.members_file}; the next fetch pulls its posts")
    return EXIT_OK


def cmd_reject(args: argparse.Namespace) -> int:
    """Record why a submission was turned down."""
    settings = _settings(args)
    submission = _queue(args, settings).reject(args.id, reason=args.reason)
    print(f"rejected {submission.id} ({submission.feed}): {submission.reason}")
    return EXIT_OK


def cmd_serve_submissions(args: argparse.Namespace) -> int:
    """Run the Join form's endpoint until interrupted."""
    from aggregator.web import serve, web_config

    settings = _settings(args)
    folder = Path(args.submissions) if args.submissions else None
    serve(web_config(settings, allow_private=args.allow_private_networks, queue_dir=folder),
          host=args.host, port=args.port)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the joining workflow's subcommands to the main parser."""
    def paths(p: argparse.ArgumentParser, *, members: bool = True) -> None:
        if members:
            p.add_argument("--members", help="registry file (default: MEMBERS_FILE)")
        p.add_argument("--submissions", metavar="DIR",
                       help="the moderation queue (default: SUBMISSIONS_DIR or submissions/)")

    submit = sub.add_parser("submit", help="check a blog, preview it and queue it for review")
    submit.add_argument("url", help="the blog's home page or its feed")
    for option in ("name", "email", "organisation", "sector", "note"):
        submit.add_argument(f"--{option}")
    submit.add_argument("--topics", help="take only posts on these topics (categories or "
                                         "tags), separated by commas")
    submit.add_argument("--allow-private-networks", action="store_true",
                        help="allow loopback and private addresses (tests, demo, intranets)")
    paths(submit)
    submit.set_defaults(func=cmd_submit)

    listing = sub.add_parser("submissions", help="list the submissions waiting for review")
    listing.add_argument("--json", action="store_true", help="as JSON (every field)")
    paths(listing, members=False)
    listing.set_defaults(func=cmd_submissions)

    approve = sub.add_parser("approve", help="add a submitted blog to members.yaml")
    approve.add_argument("id", help="the submission's id (see `aggregator submissions`)")
    paths(approve)
    approve.set_defaults(func=cmd_approve)

    reject = sub.add_parser("reject", help="turn a submission down, saying why")
    reject.add_argument("id", help="the submission's id (see `aggregator submissions`)")
    reject.add_argument("--reason", required=True, help="why (kept with the submission)")
    paths(reject, members=False)
    reject.set_defaults(func=cmd_reject)

    serve = sub.add_parser("serve-submissions", help="the Join form's endpoint (POST /submit)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument("--allow-private-networks", action="store_true",
                       help="allow submitted feeds on loopback and private addresses")
    paths(serve)
    serve.set_defaults(func=cmd_serve_submissions)
