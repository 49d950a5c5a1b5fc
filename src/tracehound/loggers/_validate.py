"""Argument checks shared by the loggers: a wrong type gives a clear error naming the argument."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from ..exceptions import ValidationError

__all__ = [
    "ArgumentError",
    "check_mapping",
    "check_name",
    "check_number",
    "warn_limited",
]

_log = logging.getLogger("tracehound.loggers")
_last_warned: dict[str, float] = {}


class ArgumentError(ValidationError, TypeError):
    """A wrong argument to a tracehound API; ``field`` names it. Both a
    :class:`~tracehound.exceptions.ValidationError` (``ValueError``) and a ``TypeError``."""


def check_name(value: Any, field: str, *, optional: bool = False, limit: int = 500) -> str:
    """A non-empty string without control characters (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise ArgumentError(f"{field}: expected a string, got {type(value).__name__}", field=field)
    if not value.strip():
        raise ArgumentError(f"{field}: must not be empty", field=field)
    if len(value) > limit:
        raise ArgumentError(f"{field}: longer than {limit} characters", field=field)
    if any(ord(c) < 32 for c in value):
        raise ArgumentError(f"{field}: contains control characters", field=field)
    return value


def check_mapping(value: Any, field: str, *, optional: bool = True) -> dict[str, Any]:
    """A mapping (copied to a ``dict``); ``None`` gives ``{}`` when ``optional``."""
    if value is None:
        if optional:
            return {}
        raise ArgumentError(f"{field}: required (a mapping)", field=field)
    if not isinstance(value, Mapping):
        raise ArgumentError(
            f"{field}: expected a mapping (dict), got {type(value).__name__}", field=field
        )
    return dict(value)


def check_number(
    value: Any,
    field: str,
    *,
    optional: bool = False,
    integer: bool = False,
    minimum: float | None = None,
) -> float | int | None:
    """A finite number (an ``int`` when ``integer``), not a boolean."""
    if value is None and optional:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise ArgumentError(f"{field}: expected {kind}, got {type(value).__name__}", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentError(f"{field}: expected a finite number, got {value!r}", field=field)
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{field}: must be at least {minimum:g}, got {value!r}", field=field)
    return value


def warn_limited(key: str, message: str, *args: Any, interval: float = 60.0) -> None:
    """A warning on the ``tracehound`` logger, at most once per ``interval`` per ``key``."""
    now = time.monotonic()
    last = _last_warned.get(key)
    if last is not None and now - last < interval:
        return
    if len(_last_warned) > 1000:
        _last_warned.clear()
    _last_warned[key] = now
    try:
        _log.warning(message, *args)
    except Exception:  # pragma: no cover - a broken logging setup
        pass
