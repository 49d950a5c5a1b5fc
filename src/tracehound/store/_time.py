"""Time conversions between record nanoseconds and stored values, without SQLAlchemy.

Kept free of heavy imports so the SQLite exporter's ingest path (stdlib ``sqlite3``) can use
it without importing SQLAlchemy. The dialect-aware SQLAlchemy pieces live in
:mod:`._dialect`, which re-exports these.

Stored precision is the microsecond on both dialects (PostgreSQL ``timestamptz`` has no
finer resolution; SQLite stores the text form ``YYYY-MM-DD HH:MM:SS.ffffff``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "EPOCH",
    "datetime_to_ns",
    "format_ns",
    "ns_to_datetime",
    "parse_text",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_CACHE_LIMIT: Final = 4096

# Second → "YYYY-MM-DD HH:MM:SS." (records of a batch share a few seconds: one formatting each).
_prefixes: dict[int, str] = {}
_get_prefix: Final = _prefixes.get


def _prefix(second: int) -> str:
    if len(_prefixes) >= _CACHE_LIMIT:
        _prefixes.clear()
    t = time.gmtime(second)
    text = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}."
    )
    _prefixes[second] = text
    return text


def format_ns(ns: int) -> str:
    """``'YYYY-MM-DD HH:MM:SS.ffffff'`` (UTC, fixed width) of nanoseconds since the epoch.

    Fixed width, so text order is time order; the format SQLAlchemy's SQLite ``DateTime`` uses.
    Sub-microsecond digits are truncated.
    """
    second = ns // 1_000_000_000
    # printf-style: measurably faster than an f-string with a format spec on this path.
    return (_get_prefix(second) or _prefix(second)) + "%06d" % (ns % 1_000_000_000 // 1000)  # noqa: UP031


def parse_text(text: str) -> datetime:
    """The timezone-aware UTC datetime of a stored SQLite time text."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def datetime_to_ns(dt: datetime) -> int:
    """Nanoseconds since the epoch of a datetime (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // _MICROSECOND * 1000


def ns_to_datetime(ns: int) -> datetime:
    """The timezone-aware UTC datetime of nanoseconds since the epoch (microsecond precision)."""
    return EPOCH + timedelta(microseconds=ns // 1000)
