"""One exception base for the aggregator, a subclass per kind of failure.

Messages name the file, line, member or URL at fault, so that a maintainer can act on them
without reading a traceback.
"""

from __future__ import annotations


def _rebuild(cls: type[Exception], args: tuple[object, ...],
             kwargs: dict[str, object]) -> Exception:
    """Unpickle an error whose __init__ takes keyword-only arguments."""
    return cls(*args, **kwargs)


class AggregatorError(Exception):
    """Base of every error the aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """The registry or a setting is wrong; nothing is fetched."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 member: str | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.member = member
        where = ""
        if path is not None:
            where = path if line is None else f"{path}:{line}"
        who = f" (member {member!r})" if member else ""
        super().__init__(f"{where}{who}: {message}" if where or who else message)

    def __reduce__(self) -> tuple[object, ...]:  # errors cross process boundaries (the pool)
        return (_rebuild, (type(self), (self.message,),
                           {"path": self.path, "line": self.line, "member": self.member}))


class FeedError(AggregatorError):
    """A feed could not be fetched or read. Carries the URL and, when known, the HTTP status."""

    def __init__(self, url: str, message: str, *, status: int | None = None) -> None:
        self.url = url
        self.reason = message
        self.status = status
        super().__init__(f"{url}: {message}")

    def __reduce__(self) -> tuple[object, ...]:  # errors cross process boundaries (the pool)
        return (_rebuild, (type(self), (self.url, self.reason), {"status": self.status}))


class BlockedAddressError(FeedError):
    """The URL's host is (or resolves to) a private, loopback or otherwise non-public address."""


class TooLargeError(FeedError):
    """The body went over the size cap (counted after decompression)."""


class FetchTimeoutError(FeedError):
    """The whole request, body included, took longer than the per-feed time cap."""


class WriteError(AggregatorError):
    """A content file could not be written (disk full, permissions); nothing half-written stays."""


class HttpStatusError(FeedError):
    """The server answered with an error status. `retry_after` is in seconds when it said."""

    def __init__(self, url: str, status: int, message: str | None = None, *,
                 retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(url, message or f"HTTP {status}", status=status)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), (self.url, self.status or 0, self.reason),
                           {"retry_after": self.retry_after}))


class ParseError(FeedError):
    """The body is not a feed we can read (HTML page, empty, nothing but garbage)."""
