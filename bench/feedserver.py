"""A loopback server of synthetic WordPress-like feeds, for the fetch benchmark.

It stands in for a network of N member blogs: each feed is realistic RSS 2.0 as WordPress writes
it (content:encoded HTML, dc:creator, categories, `?p=` guids), about 5.4 KB per post, rendered
once at start-up from a seed so that every run of the bench fetches the same bytes. Every
response waits `latency` seconds (asyncio.sleep, so the server itself never blocks), carries a
strong ETag and a Last-Modified, and a matching conditional request gets 304 unless the server
ignores validators (then it sends the same bytes again with 200, as some real hosts do).

The server runs in its own process (`FeedServerProcess`), so its CPU time is not the client's,
listens on one or more loopback addresses (127.0.0.1, 127.0.0.2, …: Linux routes all of
127.0.0.0/8 to the loopback interface), counts what it answered at `/_stats`, and exits by
itself after `lifetime` seconds or when its parent goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from aiohttp import web

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NEWEST_POST = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)  # fixed: bodies must not depend on today
START_TIMEOUT = 120.0  # seconds to wait for the server process to render and listen

# ---------------------------------------------------------------------------------------------
# Generating the feeds (pure and deterministic)
# ---------------------------------------------------------------------------------------------

_WORDS = """
service services user users research team teams digital data council councils local public
government department agency policy policies people citizens residents housing health care
social adult children school schools library libraries transport roads planning waste
recycling budget budgets funding procurement contract contracts supplier suppliers cloud
platform platforms website websites content design designers designer prototype prototypes
discovery alpha beta live assessment standard standards accessibility accessible inclusive
open source code repository API APIs integration legacy system systems migration modern
agile sprint sprints retrospective roadmap backlog delivery deliver delivering outcome
outcomes measure measuring metrics performance dashboard evidence insight insights survey
interview interviews workshop workshops community communities partner partners partnership
network networks blog blogging post posts writing working openly week weeks month months
year years today yesterday tomorrow colleagues manager managers leadership culture change
transformation strategy strategic plan plans consultation feedback form forms application
applications licence licences payment payments benefit benefits tax record records archive
archives security privacy identity login account accounts notification notifications email
telephone contact centre channel channels shift demand cost costs saving savings value money
efficient effective simple simpler clearer better faster safer fairer smaller bigger quickly
carefully together across within between around through without before after during while
because although however therefore meanwhile instead also still again often sometimes
always never rarely usually really quite very rather almost nearly about around perhaps
we our they their you your it its this that these those what which who how why when where
learned learning learn share shared sharing show tell listened listening asked asking found
finding built building test testing tested iterate iterating improve improving improved
started starting finished finishing reviewed reviewing published publishing wrote written
the a an of to in for on with at by from as is are was were be been being have has had
and or but not no more most less least many much some any every each other another same
""".split()

_NAMES = """Alex Sam Jo Chris Priya Aisha Tom Ruth Gareth Siobhan Hamish Eilidh Dafydd Nia Omar
Fatima Kwame Grace Mei Lewis Harriet Owen Bethan Callum Niamh Rhys Zara Imran Hannah Ravi""".split()
_SURNAMES = """Briggs Patel Jones Evans Campbell Murphy Smith Williams Taylor Brown Davies Wilson
Thompson Roberts Walker Khan Ali O'Neill MacLeod Hughes Okafor Chen Nowak Clarke Lewis""".split()
_CATEGORIES = """Digital;Local government;Data;User research;Service design;Accessibility;
Open data;Cloud;Procurement;Leadership;Housing;Health and care;Transport;Libraries;Skills;
Culture;Events;Weeknotes;Open source;Security""".replace("\n", "").split(";")
_HEADINGS = ["What we did", "What we learned", "Why it matters", "Next steps", "The problem",
             "How we worked", "What users told us", "Show and tell", "Thanks", "Get involved"]
_TAG = re.compile(r"<[^>]*>")
_DOMAIN = "blogs.example"  # RFC 2606: never resolves, so nothing follows these links by mistake


@dataclass(frozen=True)
class RenderedFeed:
    """One feed's bytes and validators, ready to send."""

    body: bytes
    etag: str  # strong: quoted hex digest of the body
    last_modified: str  # HTTP date of the newest post
    last_modified_at: datetime


def member_site(index: int) -> str:
    """The (fictional, never fetched) home page of member `index`'s blog."""
    return f"https://member-{index + 1:04d}.{_DOMAIN}/"


class _Text:
    """Sentences and paragraphs drawn from a seeded pool, so that rendering stays fast."""

    def __init__(self, seed: int, pool: int = 3000) -> None:
        rng = random.Random(seed)
        self.sentences = [self._sentence(rng) for _ in range(pool)]

    @staticmethod
    def _sentence(rng: random.Random) -> str:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 21))]
        words[0] = words[0].capitalize()
        if rng.random() < 0.25:
            i = rng.randrange(len(words) - 2)
            words[i + 1] = f"<em>{words[i + 1]}</em>" if rng.random() < 0.5 else (
                f"<strong>{words[i + 1]}</strong>")
        if rng.random() < 0.08:
            words.append("&#8211; and it&#8217;s worth it")
        return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])

    def sentences_of(self, rng: random.Random, count: int) -> str:
        pool = self.sentences
        return " ".join(pool[rng.randrange(len(pool))] for _ in range(count))

    def title(self, rng: random.Random) -> str:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 9))]
        words[0] = words[0].capitalize()
        if rng.random() < 0.2:
            words.insert(rng.randrange(1, len(words)), "&")
        if rng.random() < 0.1:
            words.append("(part 2)")
        return " ".join(words)


def _slugify(title: str) -> str:
    return "-".join("".join(c for c in word.lower() if c.isalnum()) for word in title.split()
                    if any(c.isalnum() for c in word))


def _post_html(rng: random.Random, text: _Text, site: str) -> str:
    """A WordPress post body: paragraphs with links, a heading, a list, sometimes a quote."""
    parts: list[str] = []
    for n in range(rng.randint(6, 8)):
        para = text.sentences_of(rng, rng.randint(3, 5))
        if rng.random() < 0.5:
            link = f'{site}{rng.randint(2015, 2025)}/{rng.randint(1, 12):02d}/notes-{n}/'
            para += f' See <a href="{link}">our earlier post</a> for more.'
        parts.append(f"<p>{para}</p>")
        if n == 2:
            parts.append(f"<h2>{rng.choice(_HEADINGS)}</h2>")
            items = "".join(f"<li>{text.sentences_of(rng, 1)}</li>"
                            for _ in range(rng.randint(3, 5)))
            parts.append(f"<ul>{items}</ul>")
        if n == 4 and rng.random() < 0.4:
            parts.append(f"<blockquote><p>{text.sentences_of(rng, 2)}</p></blockquote>")
    return "\n".join(parts)


def render_feed(index: int, *, posts: int, seed: int = 0, text: _Text | None = None
                ) -> RenderedFeed:
    """Feed `index` of the network as WordPress would serve it; the same arguments give the
    same bytes."""
    text = text or _Text(seed)
    rng = random.Random(f"{seed}:{index}")
    site = member_site(index)
    author = f"{rng.choice(_NAMES)} {rng.choice(_SURNAMES)}"
    blog = f"{author}&#8217;s blog"
    when = NEWEST_POST - timedelta(hours=rng.randint(0, 24 * 30))
    newest = when
    titles: set[str] = set()
    items: list[str] = []
    post_id = 1000 + rng.randint(0, 9000)
    for _ in range(posts):
        title = text.title(rng)
        while title in titles:
            title = text.title(rng)
        titles.add(title)
        link = f"{site}{when:%Y/%m/%d}/{_slugify(title)}/"
        html = _post_html(rng, text, site)
        excerpt = " ".join(_TAG.sub("", html).split()[:55])  # WordPress strips the tags
        categories = "".join(f"\n\t\t<category><![CDATA[{c}]]></category>"
                             for c in rng.sample(_CATEGORIES, rng.randint(1, 4)))
        items.append(f"""	<item>
		<title>{escape(title)}</title>
		<link>{link}</link>
		<comments>{link}#comments</comments>
		<dc:creator><![CDATA[{author}]]></dc:creator>
		<pubDate>{format_datetime(when)}</pubDate>{categories}
		<guid isPermaLink="false">{site}?p={post_id}</guid>
		<description><![CDATA[{excerpt} [&#8230;]]]></description>
		<content:encoded><![CDATA[{html}]]></content:encoded>
		<wfw:commentRss>{link}feed/</wfw:commentRss>
		<slash:comments>{rng.randint(0, 12)}</slash:comments>
	</item>
""")
        when -= timedelta(hours=rng.randint(20, 24 * 9), minutes=rng.randint(0, 59))
        post_id -= rng.randint(1, 9)
    body = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{blog}</title>
	<atom:link href="{site}feed/" rel="self" type="application/rss+xml" />
	<link>{site}</link>
	<description>{escape(f"Notes from member {index + 1} on public services")}</description>
	<lastBuildDate>{format_datetime(newest)}</lastBuildDate>
	<language>en-GB</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<sy:updateFrequency>1</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.5.3</generator>
{"".join(items)}</channel>
</rss>
""".encode()
    return RenderedFeed(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:40]}"',
                        last_modified=format_datetime(newest, usegmt=True),
                        last_modified_at=newest)


def render_network(feeds: int, posts: int, seed: int = 0) -> list[RenderedFeed]:
    """Every feed of the network, rendered once."""
    text = _Text(seed)
    return [render_feed(i, posts=posts, seed=seed, text=text) for i in range(feeds)]


# ---------------------------------------------------------------------------------------------
# Serving them
# ---------------------------------------------------------------------------------------------


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: a list of (possibly weak) tags, or `*` (weak comparison, RFC 9110)."""
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _not_modified(request: web.Request, feed: RenderedFeed) -> bool:
    inm = request.headers.get("If-None-Match")
    if inm is not None:  # when present, If-Modified-Since is ignored (RFC 9110 13.1.3)
        return _etag_matches(inm, feed.etag)
    ims = request.headers.get("If-Modified-Since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return feed.last_modified_at <= since


@dataclass
class ServerStats:
    """What the server answered since the last reset: the bench's proof of what happened."""

    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    other: int = 0
    bytes_sent: int = 0
    conditional: int = 0  # requests that carried If-None-Match or If-Modified-Since
    cpu_at_reset: float = field(default_factory=time.process_time)

    def as_dict(self) -> dict[str, float]:
        return {"requests": self.requests, "200": self.ok, "304": self.not_modified,
                "other": self.other, "bytes_sent": self.bytes_sent,
                "conditional": self.conditional,
                "server_cpu_s": round(time.process_time() - self.cpu_at_reset, 3)}


class FeedApp:
    """The aiohttp application: /feeds/<i>.xml, /_stats, /_control."""

    def __init__(self, feeds: Sequence[RenderedFeed], *, latency: float,
                 ignore_validators: bool = False) -> None:
        self.feeds = feeds
        self.latency = latency
        self.ignore_validators = ignore_validators
        self.stats = ServerStats()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feeds/{index:\\d+}.xml", self.feed)
        app.router.add_get("/_stats", self.get_stats)
        app.router.add_get("/_control", self.control)
        return app

    async def feed(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        index = int(request.match_info["index"])
        if index >= len(self.feeds):
            self.stats.other += 1
            return web.Response(status=404, text="no such feed")
        feed = self.feeds[index]
        headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified,
                   "Cache-Control": "max-age=0, must-revalidate"}
        if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
            self.stats.conditional += 1
        if not self.ignore_validators and _not_modified(request, feed):
            self.stats.not_modified += 1
            return web.Response(status=304, headers=headers)
        self.stats.ok += 1
        self.stats.bytes_sent += len(feed.body)
        return web.Response(body=feed.body, headers=headers,
                            content_type="application/rss+xml", charset="UTF-8")

    async def get_stats(self, request: web.Request) -> web.Response:
        body = self.stats.as_dict()
        if request.query.get("reset"):
            self.stats = ServerStats()
        return web.json_response(body)

    async def control(self, request: web.Request) -> web.Response:
        value = request.query.get("ignore_validators")
        if value is not None:
            self.ignore_validators = value == "1"
        return web.json_response({"ignore_validators": self.ignore_validators})


def loopback_addresses(count: int) -> list[str]:
    """127.0.0.1, 127.0.0.2, …: `count` distinct loopback addresses (Linux routes 127/8)."""
    if not 1 <= count <= 65000:
        raise ValueError(f"hosts must be between 1 and 65000, not {count}")
    first = int(ipaddress.IPv4Address("127.0.0.1"))
    return [str(ipaddress.IPv4Address(first + k)) for k in range(count)]


async def serve(feeds: Sequence[RenderedFeed], *, latency: float, hosts: int,
                ignore_validators: bool, lifetime: float) -> None:
    """Listen on `hosts` loopback addresses, print one JSON line naming them, then serve until
    `lifetime` runs out or standard input closes (the parent has gone)."""
    handler = FeedApp(feeds, latency=latency, ignore_validators=ignore_validators)
    runner = web.AppRunner(handler.app(), access_log=None, handle_signals=False)
    await runner.setup()
    bound: list[str] = []
    try:
        for address in loopback_addresses(hosts):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, 0))
            await web.SockSite(runner, sock, backlog=1024).start()
            bound.append(f"{address}:{sock.getsockname()[1]}")
        print(json.dumps({"bases": [f"http://{b}" for b in bound]}), flush=True)
        loop = asyncio.get_running_loop()
        stdin_closed = asyncio.Event()

        def watch_stdin() -> None:
            # Raw reads until EOF (the parent closed the pipe or died); os.read holds no lock
            # that would stop the interpreter from exiting while this thread still waits.
            while os.read(0, 65536):
                pass
            loop.call_soon_threadsafe(stdin_closed.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        await asyncio.wait_for(stdin_closed.wait(), timeout=lifetime)
    except TimeoutError:
        logger.warning("feed server: lifetime of %.0f s is over, exiting", lifetime)
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--hosts", type=int, default=1, help="loopback addresses to listen on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ignore-validators", action="store_true",
                        help="always 200 with the full body, never 304")
    parser.add_argument("--lifetime", type=float, default=900.0, help="seconds before exiting")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    feeds = render_network(args.feeds, args.posts, args.seed)
    asyncio.run(serve(feeds, latency=args.latency, hosts=args.hosts,
                      ignore_validators=args.ignore_validators, lifetime=args.lifetime))
    return 0


# ---------------------------------------------------------------------------------------------
# Running it from the bench (or a test)
# ---------------------------------------------------------------------------------------------


class FeedServerProcess:
    """The feed server in a child process; `urls[i]` is feed i. Use as a context manager."""

    def __init__(self, *, feeds: int = 1000, posts: int = 50, latency: float = 0.1,
                 hosts: int = 1, seed: int = 0, ignore_validators: bool = False,
                 lifetime: float = 900.0) -> None:
        self.feeds = feeds
        self.argv = [sys.executable, "-m", "bench.feedserver", "--feeds", str(feeds),
                     "--posts", str(posts), "--latency", str(latency), "--hosts", str(hosts),
                     "--seed", str(seed), "--lifetime", str(lifetime)]
        if ignore_validators:
            self.argv.append("--ignore-validators")
        self.bases: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> FeedServerProcess:
        self._proc = subprocess.Popen(self.argv, cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        line = self._read_line(self._proc.stdout, START_TIMEOUT)
        try:
            self.bases = list(json.loads(line)["bases"])
        except (ValueError, KeyError) as exc:
            self.close()
            raise RuntimeError(f"feed server did not start (said {line!r})") from exc
        return self

    def _read_line(self, stream: IO[bytes], timeout: float) -> bytes:
        """The server's first line, within `timeout` seconds (a thread: pipes have no timeout)."""
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            self.close()
            raise RuntimeError(f"feed server did not start within {timeout:.0f} s")
        return result[0]

    @property
    def urls(self) -> list[str]:
        """Feed i is served by address i mod hosts, at /feeds/<i>.xml."""
        return [f"{self.bases[i % len(self.bases)]}/feeds/{i}.xml" for i in range(self.feeds)]

    def _get(self, path: str) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.bases[0]}{path}", timeout=10) as reply:
            data: dict[str, float] = json.loads(reply.read())
            return data

    def stats(self, *, reset: bool = False) -> dict[str, float]:
        """Counts since the last reset (what each tool asked for and got)."""
        return self._get("/_stats?reset=1" if reset else "/_stats")

    def set_ignore_validators(self, value: bool) -> None:
        self._get(f"/_control?ignore_validators={int(value)}")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()  # the server exits at EOF on its standard input
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> FeedServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    sys.exit(main())
