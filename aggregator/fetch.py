"""The HTTP stage: conditional GETs that are polite, bounded and never reach a private address.

One aiohttp session serves the whole run. Every request is capped three ways: in time (the
whole request, redirects and body included, under `timeout`), in size (counted after
decompression, which we do ourselves so that a gzip bomb stops at the cap) and in redirects
(followed by hand, so that every hop goes through the SSRF guard in netguard.py).
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from aggregator.errors import (
    BlockedAddressError,
    FeedError,
    FetchTimeoutError,
    HttpStatusError,
    TooLargeError,
)
from aggregator.models import FetchResult
from aggregator.netguard import GuardedResolver, blocked_cause, check_url

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
DNS_CACHE_SECONDS = 300
CHUNK_SIZE = 64 * 1024
MAX_RETRY_AFTER_DIGITS = 10  # about 300 years; longer values are nonsense, ignored
# Headers that describe the bytes on the wire, not the decoded body we hand back.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class Fetcher:
    """An async context manager owning the run's HTTP session: `async with Fetcher(...) as f`."""

    def __init__(self, *, user_agent: str, allow_private: bool = False, concurrency: int = 50,
                 per_host: int = 4, timeout: float = 30.0, max_bytes: int = 10 * MiB,
                 max_redirects: int = 5) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        if timeout <= 0 or max_bytes < 0 or max_redirects < 0:
            raise ValueError("timeout must be positive, max_bytes and max_redirects not negative")
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.per_host = per_host
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._semaphore = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None

    async def __aenter__(self) -> Fetcher:
        self._resolver = GuardedResolver(allow_private=self.allow_private)
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.per_host,
                                         resolver=self._resolver,
                                         ttl_dns_cache=DNS_CACHE_SECONDS)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # we decompress ourselves, under the size cap
            trust_env=False,  # no proxies from the environment: they would bypass the guard
            cookie_jar=aiohttp.DummyCookieJar(),  # one feed's cookies are not another's business
            # asyncio.timeout in get() bounds the whole request; this is only a backstop.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout),
            headers={"User-Agent": self.user_agent},
        )
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None:
            await self._resolver.close()  # the connector leaves a resolver it was given open
            self._resolver = None

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str = FEED_ACCEPT) -> FetchResult:
        """Conditional GET of `url`. 304 gives body=None; errors raise FeedError subclasses."""
        if self._session is None:
            raise RuntimeError("Fetcher.get() called outside `async with Fetcher(...)`")
        headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._semaphore:
            start = time.monotonic()
            try:
                async with asyncio.timeout(self.timeout):
                    result = await self._follow(self._session, url, headers, start)
            except TimeoutError as exc:
                logger.debug("GET %s: timed out after %.2f s", url, time.monotonic() - start)
                raise FetchTimeoutError(url, f"no complete answer within {self.timeout:g} s") \
                    from exc
            except FeedError as exc:
                logger.debug("GET %s: failed after %.2f s: %s", url, time.monotonic() - start,
                             exc.reason)
                raise
        logger.debug("GET %s: %s, %d bytes, %.2f s", url, result.status,
                     len(result.body or b""), result.elapsed)
        return result

    async def _follow(self, session: aiohttp.ClientSession, url: str,
                      headers: Mapping[str, str], start: float) -> FetchResult:
        """Request `url`, following redirects by hand so the guard sees every hop."""
        current = url
        seen = {url}
        all_permanent = True
        hops = 0
        while True:
            self._check_hop(url, current)
            try:
                outcome = await self._request(session, url, current, headers)
            except FeedError:
                raise
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                if isinstance(exc, TimeoutError):
                    raise  # get() reports it as FetchTimeoutError
                raise _feed_error(url, current, exc) from exc
            if isinstance(outcome, _Final):
                return self._result(url, current, outcome, headers,
                                    permanent=all_permanent and hops > 0, start=start)
            hops += 1
            all_permanent = all_permanent and outcome.status in PERMANENT_REDIRECTS
            if outcome.target in seen:
                raise FeedError(url, f"redirect loop: {current} sends us back to "
                                     f"{outcome.target}")
            if hops > self.max_redirects:
                raise FeedError(url, f"too many redirects (loop?): more than "
                                     f"{self.max_redirects}, the last to {outcome.target}")
            seen.add(outcome.target)
            current = outcome.target

    def _check_hop(self, url: str, current: str) -> None:
        """The SSRF guard on one hop; a refused redirect is reported against the feed URL."""
        try:
            check_url(current, allow_private=self.allow_private)
        except BlockedAddressError as exc:
            if current == url:
                raise
            raise BlockedAddressError(url, f"redirect to {current} refused: {exc.reason}") \
                from exc
        except FeedError as exc:
            if current == url:
                raise
            raise FeedError(url, f"redirect to {current} refused: {exc.reason}") from exc

    async def _request(self, session: aiohttp.ClientSession, url: str, current: str,
                       headers: Mapping[str, str],
                       ) -> _Redirect | _Final:
        """One hop: a redirect to follow, or the final answer."""
        async with session.get(current, headers=headers, allow_redirects=False) as resp:
            status = resp.status
            logger.debug("GET %s (for %s): HTTP %s", current, url, status)
            if status in REDIRECT_STATUSES:
                location = resp.headers.get("Location")
                return _Redirect(status, _redirect_target(url, current, status, location))
            if status == 304:
                return _Final(status, resp.headers, None)
            if 200 <= status < 300:
                return _Final(status, resp.headers, await self._read_body(url, current, resp))
            raise _status_error(url, current, status, resp.headers)

    def _result(self, url: str, final_url: str, final: _Final, sent: Mapping[str, str], *,
                permanent: bool, start: float) -> FetchResult:
        headers = _response_headers(final.headers, final_url)
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if final.status == 304:  # a 304 need not repeat the validators: the ones we sent still hold
            etag = etag or sent.get("If-None-Match")
            last_modified = last_modified or sent.get("If-Modified-Since")
        return FetchResult(url=url, final_url=final_url, status=final.status, body=final.body,
                           headers=headers, etag=etag, last_modified=last_modified,
                           permanent_redirect=final_url if permanent else None,
                           elapsed=time.monotonic() - start)

    async def _read_body(self, url: str, current: str, resp: aiohttp.ClientResponse) -> bytes:
        """Stream the body, decompressing as we go, and stop the moment it passes max_bytes."""
        at = _at(url, current)
        decoder = _Decoder.for_encoding(url, resp.headers.get("Content-Encoding", ""), at=at)
        declared = resp.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLargeError(url, f"the server announces {declared} bytes, "
                                     f"over the cap of {self.max_bytes}{at}")
        body = bytearray()
        received = 0
        async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
            received += len(chunk)
            if received > self.max_bytes:
                raise TooLargeError(url, f"body is over the cap of {self.max_bytes} "
                                         f"bytes{at}")
            room = self.max_bytes - len(body)
            body += decoder.feed(chunk, room + 1)
            if len(body) > self.max_bytes:
                raise TooLargeError(url, f"body decompresses to more than the cap of "
                                         f"{self.max_bytes} bytes{at}")
        decoder.finish()
        return bytes(body)


@dataclass(frozen=True)
class _Redirect:
    status: int
    target: str


@dataclass(frozen=True)
class _Final:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes | None


def _at(url: str, current: str) -> str:
    """Where an error happened, when a redirect took us away from the feed URL."""
    return "" if current == url else f" (at {current}, after redirects)"


class _Decoder:
    """Incremental gzip / deflate decoding that never produces more than it is asked for."""

    def __init__(self, url: str, encoding: str, *, at: str = "") -> None:
        self._url = url
        self._at = at
        self._encoding = encoding
        self._pending = b""  # deflate: bytes held until we can tell zlib-wrapped from raw
        self._inflater: zlib._Decompress | None = None

    @classmethod
    def for_encoding(cls, url: str, header: str, *, at: str = "") -> _Decoder:
        encoding = header.strip().lower()
        if encoding in ("", "identity"):
            return cls(url, "identity", at=at)
        if encoding in ("gzip", "x-gzip"):
            return cls(url, "gzip", at=at)
        if encoding == "deflate":
            return cls(url, "deflate", at=at)
        raise FeedError(url, f"unsupported Content-Encoding {header.strip()[:50]!r}{at}")

    def feed(self, data: bytes, max_length: int) -> bytes:
        """Decode `data`, returning at most `max_length` bytes (more means over the cap)."""
        if self._encoding == "identity":
            return data
        if self._inflater is None:
            self._pending += data
            if self._encoding == "deflate" and len(self._pending) < 2:
                return b""
            data, self._pending = self._pending, b""
            self._inflater = zlib.decompressobj(self._wbits(data))
        out = bytearray()
        try:
            while data and len(out) < max_length:
                out += self._inflater.decompress(data, max_length - len(out))
                data = self._inflater.unconsumed_tail
                if self._inflater.eof:
                    # Another gzip member may follow (gzip allows concatenation).
                    data = self._inflater.unused_data
                    if data.strip(b"\0") and self._encoding == "gzip":
                        self._inflater = zlib.decompressobj(self._wbits(data))
                    else:
                        break
        except zlib.error as exc:
            raise FeedError(self._url, f"corrupt {self._encoding} body: {exc}{self._at}") \
                from exc
        return bytes(out)

    def finish(self) -> None:
        """Raise if the compressed stream ended early."""
        if self._encoding == "identity":
            return
        if self._pending or (self._inflater is not None and not self._inflater.eof):
            raise FeedError(self._url, f"{self._encoding} body is cut short{self._at}")

    def _wbits(self, head: bytes) -> int:
        if self._encoding == "gzip":
            return 16 + zlib.MAX_WBITS
        # "deflate" should be zlib-wrapped (RFC 9110) but some servers send it raw.
        looks_wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.MAX_WBITS if looks_wrapped else -zlib.MAX_WBITS


def _redirect_target(url: str, current: str, status: int, location: str | None) -> str:
    """The absolute URL a redirect points to (Location may be relative, and is hostile)."""
    at = _at(url, current)
    if not location:
        raise FeedError(url, f"HTTP {status} redirect without a Location header{at}")
    try:
        return str(URL(current).join(URL(location.strip())))
    except (ValueError, TypeError) as exc:
        raise FeedError(url, f"HTTP {status} redirect to an invalid URL "
                             f"{location[:200]!r}{at}") from exc


def _status_error(url: str, current: str, status: int,
                  headers: CIMultiDictProxy[str]) -> HttpStatusError:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    message = f"HTTP {status} {phrase}"
    if status == 410:
        message += ": the feed has been removed"
    message += _at(url, current)
    return HttpStatusError(url, status, message,
                           retry_after=parse_retry_after(headers.get("Retry-After")))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value)) if len(value) <= MAX_RETRY_AFTER_DIGITS else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _response_headers(raw: CIMultiDictProxy[str], final_url: str) -> dict[str, str]:
    """Lower-cased headers of the decoded body, with content-location set to the final URL."""
    headers: dict[str, str] = {}
    for name, value in raw.items():
        key = name.lower()
        if key in _WIRE_HEADERS:
            continue
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    headers["content-location"] = final_url
    return headers


def _feed_error(url: str, current: str, exc: BaseException) -> FeedError:
    at = _at(url, current)
    blocked = blocked_cause(exc)
    if blocked is not None:
        return BlockedAddressError(url, f"host {blocked.host} resolves to non-public address "
                                        f"{blocked.address}{at}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FeedError(url, f"TLS certificate error: {exc.certificate_error}{at}")
    if isinstance(exc, aiohttp.ClientSSLError):
        return FeedError(url, f"TLS error: {exc.os_error}{at}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        host = URL(current).host
        return FeedError(url, f"name not found: {host}{at}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return FeedError(url, f"connection refused{at}")
        return FeedError(url, f"cannot connect: {exc.os_error.strerror or exc.os_error}{at}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FeedError(url, f"server closed the connection{at}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return FeedError(url, f"body cut short: {exc}{at}")
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return FeedError(url, f"invalid URL{at}: {exc}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return FeedError(url, f"bad HTTP response: {exc.message}{at}")
    if isinstance(exc, ConnectionResetError):
        return FeedError(url, f"connection reset{at}")
    return FeedError(url, f"network error: {exc}{at}")
