"""Durations and points in time as people type them: ``90s``, ``30m``, ``6h``, ``14d``,
``2w``; ISO-8601 times; ``now``; relative times ``-6h``; windows ``START..END``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["as_utc", "parse_duration", "parse_time", "parse_window", "to_ns"]

_UNITS: Final = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)


def parse_duration(value: str | float | int | timedelta) -> timedelta:
    """A positive duration: a ``timedelta``, seconds, or text such as ``30m``, ``6h``, ``14d``."""
    if isinstance(value, timedelta):
        out = value
    elif isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    elif isinstance(value, int | float):
        out = timedelta(seconds=float(value))
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m is None or m.group(2).lower() not in _UNITS:
            raise ValueError(f"not a duration: {value!r} (expected e.g. 30m, 6h, 14d)")
        out = timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    else:
        raise ValueError(f"not a duration: {value!r}")
    if out <= timedelta(0):
        raise ValueError(f"a duration must be positive, got {value!r}")
    return out


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_ns(value: datetime) -> int:
    v = as_utc(value)
    return (v - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def parse_time(value: str | datetime | int, *, now: datetime | None = None) -> datetime:
    """A point in time: a datetime (naive = UTC), integer nanoseconds, ``now``, a relative
    ``-6h`` / ``6h`` (that long before now) or ISO-8601 text."""
    now = as_utc(now or datetime.now(UTC))
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 1000)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    text = value.strip()
    if text.lower() == "now":
        return now
    rel = text[1:] if text.startswith("-") else text
    try:
        return now - parse_duration(rel)
    except ValueError:
        pass
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"not a time: {value!r} (expected ISO-8601, 'now' or a relative time like -6h)"
        ) from None


def parse_window(text: str, *, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """``START..END`` (either side may be empty: the epoch / now) or a bare duration (the
    last ``6h``); ``None`` when ``text`` is neither."""
    now = as_utc(now or datetime.now(UTC))
    if ".." in text:
        left, _, right = text.partition("..")
        start = parse_time(left, now=now) if left.strip() else datetime(1970, 1, 1, tzinfo=UTC)
        end = parse_time(right, now=now) if right.strip() else now
        if end <= start:
            raise ValueError(f"window {text!r} ends before it starts")
        return start, end
    try:
        return now - parse_duration(text), now
    except ValueError:
        return None
