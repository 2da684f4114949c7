"""`python -m tests.fuzz [--seconds N] [libFuzzer options]`: coverage-guided fuzzing (atheris).

The target is the whole entry conversion (tests/fuzz/conversion.py: parse_feed → build_post →
render_post) on feed-shaped bytes built from the fuzzer's input: the first byte picks RSS, Atom,
JSON Feed or raw bytes, the rest fills the fields. Any input must give well-formed post files
(tests/fuzz/conversion.check_file) or an AggregatorError; any other exception is a crash that
libFuzzer reports with the input that caused it. Time-boxed: 60 s unless told otherwise
(`make fuzz` runs the default; CI runs 10 s). libFuzzer options pass through, e.g.
`-atheris_runs=10000` or `-max_total_time=300` or a corpus folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from xml.sax.saxutils import escape

import atheris

with atheris.instrument_imports(include=["aggregator"]):
    from aggregator.errors import AggregatorError
    from tests.fuzz.conversion import check_file, convert

FORMATS = ("rss", "atom", "json", "raw")


def _fields(fdp: atheris.FuzzedDataProvider) -> list[str]:
    return [fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200)) for _ in range(6)]


def _document(data: bytes) -> tuple[bytes, str]:
    fdp = atheris.FuzzedDataProvider(data)
    kind = FORMATS[fdp.ConsumeIntInRange(0, len(FORMATS) - 1)]
    if kind == "raw":
        return fdp.ConsumeBytes(fdp.remaining_bytes()), "application/rss+xml"
    entries = [_fields(fdp) for _ in range(fdp.ConsumeIntInRange(1, 3))]
    if kind == "json":
        items = [{"id": guid, "url": link, "title": title, "content_html": body,
                  "summary": summary, "authors": [{"name": author}],
                  "date_published": "2026-03-02T10:00:00Z"}
                 for title, link, guid, body, summary, author in entries]
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "f",
                           "items": items}).encode(), "application/feed+json"
    x = escape
    if kind == "rss":
        items = "".join(
            f"<item><title>{x(t)}</title><link>{x(lk)}</link><guid>{x(g)}</guid>"
            f"<pubDate>Mon, 02 Mar 2026 10:00:00 +0000</pubDate><author>{x(a)}</author>"
            f"<description>{x(s)}</description><content:encoded>{x(b)}</content:encoded>"
            f"</item>" for t, lk, g, b, s, a in entries)
        return (f'<?xml version="1.0"?><rss version="2.0" xmlns:content='
                f'"http://purl.org/rss/1.0/modules/content/"><channel><title>f</title>{items}'
                f"</channel></rss>").encode("utf-8", "replace"), "application/rss+xml"
    parts = "".join(
        f"<entry><id>{x(g)}</id><title type=\"html\">{x(t)}</title><link href=\"{x(lk)}\"/>"
        f"<updated>2026-03-02T10:00:00Z</updated><author><name>{x(a)}</name></author>"
        f"<summary type=\"html\">{x(s)}</summary><content type=\"html\">{x(b)}</content>"
        f"</entry>" for t, lk, g, b, s, a in entries)
    return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>'
            f"{parts}</feed>").encode("utf-8", "replace"), "application/atom+xml"


def test_one_input(data: bytes) -> None:
    """One fuzz case: well-formed files or an AggregatorError; anything else crashes."""
    body, content_type = _document(data)
    try:
        files = convert(body, content_type)
    except AggregatorError:
        return
    for path, text in files:
        check_file(path, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60, help="time box (default 60)")
    args, rest = parser.parse_known_args(argv)
    logging.disable(logging.WARNING)  # "not well formed, used anyway", thousands of times
    if not any(a.startswith(("-max_total_time", "-atheris_runs", "-runs")) for a in rest):
        rest.append(f"-max_total_time={args.seconds}")
    atheris.Setup([sys.argv[0], *rest], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
