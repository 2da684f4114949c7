"""Dates from feeds: parsed leniently, returned in UTC, impossible values dropped."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime

# Earlier than the web, or absurdly far ahead: the feed is wrong, treat the date as missing.
_MIN_YEAR = 1990
_MAX_YEAR = 9000


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed (a UTC struct_time) → aware datetime, or None if implausible."""
    if value is None:
        return None
    try:
        if not _MIN_YEAR <= value.tm_year <= _MAX_YEAR:
            return None
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def from_iso(value: object) -> datetime | None:
    """An RFC 3339 / ISO 8601 string (JSON Feed) → aware UTC datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        return None
    return parsed.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware datetimes compare safely; a naive one (a post file without an offset) is taken
    as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_date(value: datetime) -> str:
    """The one spelling of a date in our files: `2026-03-01 09:30:00+00:00`."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat(sep=" ")
