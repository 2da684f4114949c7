"""The Join form's endpoint: `POST /submit`, a Starlette app served by uvicorn.

The same checks as `aggregator submit` (submit.py), behind the defences a public form needs:
a per-address rate limit (checked before the body is even read), a cap on the request body
and on the time to send it, and a honeypot field (`website`, hidden on the Join page) that
bots fill in: they get a reply that looks like success, and nothing is queued. Replies are a
small accessible HTML page saying what happened or exactly what is wrong, or JSON when the
client's Accept header asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from aggregator.errors import ConfigError, WriteError
from aggregator.fetch import Fetcher
from aggregator.settings import Settings
from aggregator.submissions import (
    DuplicateSubmission,
    InvalidSubmission,
    Submission,
    SubmissionError,
    SubmissionQueue,
)
from aggregator.submissions import queue_dir as default_queue_dir
from aggregator.submit import check_request, make_fetcher, submit_blog

logger = logging.getLogger(__name__)

HONEYPOT = "website"  # the hidden trap field of themes/network/templates/join.html
FIELDS = ("url", "name", "email", "organisation", "sector", "topics", "note")
MAX_FIELDS = 20
BODY_SECONDS = 10.0  # a client gets this long to send its (small) body
MAX_TRACKED_ADDRESSES = 10_000
FIELD_LABELS = {"url": "Blog or feed address", "name": "Name", "email": "Email address",
                "organisation": "Organisation", "sector": "Sector",
                "topics": "Only posts on these topics",
                "note": "Anything we should know?"}


@dataclass(frozen=True)
class WebConfig:
    """Everything the app needs; `web_config` builds it from the settings."""

    settings: Settings
    queue_dir: Path
    allow_private: bool = False
    rate_limit: int = 5  # submissions per address per window
    rate_window: float = 3600.0  # seconds
    max_body: int = 16 * 1024  # bytes
    join_url: str | None = None  # "back to the form" link in HTML replies


def web_config(settings: Settings, *, allow_private: bool = False,
               queue_dir: Path | None = None) -> WebConfig:
    """The app's configuration from the SUBMISSIONS_* settings."""
    site = settings.site_url.rstrip("/")
    return WebConfig(
        settings=settings,
        queue_dir=queue_dir or default_queue_dir(settings),
        allow_private=allow_private,
        rate_limit=settings.submissions_rate_limit,
        rate_window=settings.submissions_rate_window,
        max_body=settings.submissions_max_body,
        join_url=settings.submissions_join_url or (f"{site}/join/" if site else None),
    )


class RateLimiter:
    """At most `limit` hits per address in any `window` seconds (a sliding window).

    Memory is bounded: at most `max_addresses` are tracked, the least recently seen dropped.
    """

    def __init__(self, limit: int, window: float, *, max_addresses: int = MAX_TRACKED_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, address: str) -> float | None:
        """Count one hit. None if allowed, else the seconds until the address may try again."""
        now = self._clock()
        hits = self._hits.pop(address, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[address] = hits
        while len(self._hits) > self.max_addresses:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return max(1.0, hits[0] + self.window - now)
        hits.append(now)
        return None


@dataclass
class _State:
    """Per-app state, held on the app (never in a module global)."""

    config: WebConfig
    queue: SubmissionQueue
    limiter: RateLimiter
    fetcher: Fetcher | None = None
    templates: jinja2.Environment = field(default_factory=lambda: _templates())


class _Reject(Exception):
    """A reply to send instead of going on."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        super().__init__(message)


_PAGE = """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ heading }} – {{ site_name }}</title>
<style>
body { font: 1.05rem/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; }
.problem { border-left: 5px solid #b00020; padding: 0.25rem 1rem; }
.done { border-left: 5px solid #00703c; padding: 0.25rem 1rem; }
a { color: #1d4f91; }
</style>
</head>
<body>
<main>
<h1>{{ heading }}</h1>
{% if ok %}
<div class="done" role="status"><p>{{ message }}</p></div>
{% else %}
<div class="problem" role="alert">
<p>{{ message }}</p>
{% if field_label %}<p>Please check the field <strong>{{ field_label }}</strong>.</p>{% endif %}
</div>
{% endif %}
{% if submission %}
<h2>What the site will show</h2>
<dl>
<dt>Blog</dt><dd>{{ submission.blog_title or submission.name }}</dd>
<dt>Feed</dt><dd>{{ submission.feed }}</dd>
{% if submission.site %}<dt>Site</dt><dd>{{ submission.site }}</dd>{% endif %}
<dt>Comment threads</dt><dd>{{ "Available: posts link their comment feeds" if submission.comments
  else "Not available: the feed announces no comment feeds" }}</dd>
</dl>
<h3>Latest posts</h3>
<ul>
{% for post in submission.posts %}
<li><strong>{{ post.title }}</strong> <time datetime="{{ post.date }}">{{ post.date[:10] }}</time>
{% if post.excerpt %}<br>{{ post.excerpt }}{% endif %}</li>
{% endfor %}
</ul>
<p>Reference: <code>{{ submission.id }}</code></p>
{% endif %}
{% if join_url %}<p><a href="{{ join_url }}">Back to the Join page</a></p>{% endif %}
</main>
</body>
</html>
"""


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader({"reply.html": _PAGE}), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    return env


def _wants_json(request: Request) -> bool:
    """JSON when the client asks for it (and does not ask for HTML)."""
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


def _preview(submission: Submission) -> dict[str, Any]:
    """The public part of a submission (no e-mail, no note)."""
    return {"id": submission.id, "feed": submission.feed, "site": submission.site,
            "name": submission.name, "blog_title": submission.blog_title,
            "comments": submission.comments,
            "posts": [{"title": p.title, "date": p.date, "excerpt": p.excerpt, "url": p.url}
                      for p in submission.posts]}


def _reply(request: Request, state: _State, status: int, *, heading: str, message: str,
           field: str | None = None, submission: Submission | None = None,
           headers: Mapping[str, str] | None = None) -> Response:
    ok = status < 400
    if _wants_json(request):
        data: dict[str, Any] = {"ok": ok, "message": message}
        if not ok:
            data["error"] = message
            data["field"] = field
        if submission is not None:
            data["submission"] = _preview(submission)
        return JSONResponse(data, status_code=status, headers=dict(headers or {}))
    page = state.templates.get_template("reply.html").render(
        heading=heading, message=message, ok=ok, field_label=FIELD_LABELS.get(field or ""),
        submission=submission, join_url=state.config.join_url,
        site_name=state.config.settings.site_name)
    return HTMLResponse(page, status_code=status, headers=dict(headers or {}))


async def _read_body(request: Request, cap: int) -> bytes:
    """The body, refused (413) past `cap` bytes, whether announced or streamed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Reject(413, f"The form sent {declared} bytes; at most {cap} are accepted. "
                           "Please shorten the note.")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                body += chunk
                if len(body) > cap:
                    raise _Reject(413, f"The form sent more than {cap} bytes, the most "
                                       "accepted. Please shorten the note.")
    except TimeoutError:
        raise _Reject(408, f"The form took longer than {BODY_SECONDS:g} s to arrive. "
                           "Please try again.") from None
    return bytes(body)


def _fields(request: Request, body: bytes) -> dict[str, str]:
    """Form fields from a urlencoded form or a JSON object (first value of each name)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject(400, "The form is not valid UTF-8 text.") from None
    if kind == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            raise _Reject(400, "The request body is not valid JSON.") from None
        if not isinstance(data, dict) or len(data) > MAX_FIELDS or not all(
                isinstance(v, str | type(None)) for v in data.values()):
            raise _Reject(400, "Send a JSON object whose values are strings.")
        return {str(k): v or "" for k, v in data.items()}
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:
            raise _Reject(400, "The form has too many fields.") from None
        return {k: v[0] for k, v in parsed.items() if v}
    raise _Reject(415, f"Send the form as application/x-www-form-urlencoded or JSON, "
                       f"not {kind[:60]}.")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def submit_endpoint(request: Request) -> Response:
    """POST /submit: the Join form."""
    state: _State = request.app.state.joining
    config = state.config
    wait = state.limiter.hit(_client(request))
    if wait is not None:
        minutes = max(1, round(wait / 60))
        logger.info("rate limit: %s refused for %.0f s", _client(request), wait)
        return _reply(request, state, 429, heading="Too many suggestions",
                      message=f"Too many suggestions from your address: at most "
                              f"{config.rate_limit} every {config.rate_window / 60:g} minutes. "
                              f"Please try again in about {minutes} minute(s).",
                      headers={"Retry-After": str(int(wait) + 1)})
    try:
        fields = _fields(request, await _read_body(request, config.max_body))
        if fields.get(HONEYPOT, "").strip():
            logger.info("honeypot filled by %s: nothing queued", _client(request))
            return _reply(request, state, 202, heading="Thank you",
                          message="Thank you: your suggestion has been received and will be "
                                  "reviewed by a maintainer.")
        submission_request = check_request({k: fields.get(k) for k in FIELDS},
                                           sectors=config.settings.sectors or None)
        if state.fetcher is None:  # pragma: no cover - the lifespan always sets it
            raise _Reject(503, "The service is starting; please try again in a moment.")
        submission = await submit_blog(submission_request, fetcher=state.fetcher,
                                       settings=config.settings, queue=state.queue,
                                       source="web")
    except _Reject as exc:
        return _reply(request, state, exc.status, heading="We could not read the form",
                      message=exc.message, headers=exc.headers)
    except SubmissionError as exc:
        status = 400 if isinstance(exc, InvalidSubmission) else \
            409 if isinstance(exc, DuplicateSubmission) else 422
        heading = ("Already in the network" if isinstance(exc, DuplicateSubmission) and
                   exc.member else "Already suggested" if status == 409
                   else "We could not accept this suggestion")
        logger.info("submission refused (%s): %s", status, exc)
        message = f"{exc.url}: {exc.reason}" if exc.url else exc.reason
        return _reply(request, state, status, heading=heading, message=message,
                      field=exc.field)
    except (ConfigError, WriteError) as exc:
        logger.error("cannot take submissions: %s", exc)
        return _reply(request, state, 503, heading="Suggestions are unavailable",
                      message="Suggestions cannot be taken just now because of a problem on "
                              "our side. Please try again later.")
    return _reply(request, state, 202, heading="Thank you",
                  message=f"Thank you: {submission.blog_title or submission.name} is queued "
                          "for review by a maintainer. Here is what the site will show once "
                          "it is added.",
                  submission=submission)


async def health(request: Request) -> Response:
    """GET /healthz: for monitoring."""
    return PlainTextResponse("ok\n")


def create_app(config: WebConfig) -> Starlette:
    """The Starlette application. One Fetcher (one HTTP session) lives as long as the app."""
    state = _State(config=config, queue=SubmissionQueue(config.queue_dir),
                   limiter=RateLimiter(config.rate_limit, config.rate_window))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with make_fetcher(config.settings, allow_private=config.allow_private) as f:
            state.fetcher = f
            try:
                yield
            finally:
                state.fetcher = None

    app = Starlette(routes=[Route("/submit", submit_endpoint, methods=["POST"]),
                           Route("/healthz", health, methods=["GET"])],
                    lifespan=lifespan)
    app.state.joining = state
    return app


def serve(config: WebConfig, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the app under uvicorn until interrupted. Behind a reverse proxy on the same host,
    the client address comes from X-Forwarded-For (uvicorn trusts 127.0.0.1 for it)."""
    import uvicorn

    logger.info("taking submissions on http://%s:%d/submit (queue: %s)", host, port,
                config.queue_dir)
    uvicorn.run(create_app(config), host=host, port=port, proxy_headers=True,
                server_header=False, timeout_keep_alive=5, log_level="info")
