"""Records as the plain dictionaries analysis returns, and small formatting helpers."""

from __future__ import annotations

import re
import time
from typing import Any, Final

from ..model import Event, Metric, Record, Span

__all__ = [
    "ERROR_LEVELS",
    "FAILED",
    "agent_key",
    "clock",
    "error_signature",
    "iso",
    "item",
    "normalize_message",
    "short_type",
    "span_message",
]

ERROR_LEVELS: Final = frozenset({"ERROR", "CRITICAL"})
FAILED: Final = frozenset({"failed", "timeout"})
_NS: Final = 1_000_000_000

_UUID: Final = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_HEX: Final = re.compile(r"\b0x[0-9a-f]+\b", re.I)
_NUM: Final = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_PREFIXES: dict[int, str] = {}


def iso(ns: int) -> str:
    """``2025-01-15T10:30:45.123456+00:00`` (UTC, microseconds)."""
    sec, frac = divmod(ns, _NS)
    head = _PREFIXES.get(sec)
    if head is None:
        if len(_PREFIXES) > 8192:
            _PREFIXES.clear()
        head = _PREFIXES[sec] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{head}.{frac // 1000:06d}+00:00"


def clock(ns: int) -> str:
    """``10:30:45.123`` (UTC)."""
    sec, frac = divmod(ns, _NS)
    return time.strftime("%H:%M:%S", time.gmtime(sec)) + f".{frac // 1_000_000:03d}"


def normalize_message(text: str) -> str:
    """A message with ids and numbers replaced, so that repeats of one error group together."""
    text = _UUID.sub("<id>", text)
    text = _HEX.sub("<hex>", text)
    return _NUM.sub("<n>", text)[:300]


def short_type(error_type: Any) -> str | None:
    """An exception type without its module (``json.decoder.JSONDecodeError`` →
    ``JSONDecodeError``)."""
    if not isinstance(error_type, str) or not error_type:
        return None
    return error_type.rsplit(".", 1)[-1]


def error_signature(it: dict[str, Any]) -> tuple[str | None, str | None]:
    """(short error type, error message) of an error item: what makes two records report
    the same failure."""
    return short_type(it.get("error_type")), it.get("error_message")


def agent_key(rec: Record) -> str | None:
    """The agent a record belongs to: its ``agent_name`` (the name people filter by), else its
    ``agent_id``."""
    if type(rec) is Metric:
        return rec.agent_name
    return rec.agent_name or rec.agent_id  # type: ignore[union-attr]


def span_message(rec: Span) -> str:
    head = f"{rec.kind} {rec.name}"
    if rec.duration_ms is not None:
        msg = f"{head}: {rec.status} in {rec.duration_ms:.1f} ms"
    else:
        msg = f"{head}: {rec.status}"
    if rec.error_type is not None or rec.error_message is not None:
        msg = f"{msg} — {rec.error_type or 'error'}: {rec.error_message or ''}"
    elif rec.status_message:
        msg = f"{msg} — {rec.status_message}"
    return msg


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def item(rec: Record) -> dict[str, Any]:
    """A record as a dictionary: ``id, record, timestamp (ISO), timestamp_ns, type, event_type,
    name, level, message, agent, agent_name, agent_id, agent_role, trace_id, span_id, data``
    plus, for spans, ``kind, status, parent_id, duration_ms, end_time`` and error fields."""
    if type(rec) is Event:
        data = rec.data or {}
        out: dict[str, Any] = {
            "id": rec.id,
            "record": "event",
            "timestamp": iso(rec.timestamp),
            "timestamp_ns": rec.timestamp,
            "type": rec.type,
            "event_type": _text(data.get("event_type")) or rec.type,
            "name": rec.name,
            "level": rec.level,
            "message": rec.message if rec.message is not None else rec.name,
            "agent": rec.agent_name or rec.agent_id,
            "agent_name": rec.agent_name,
            "agent_id": rec.agent_id,
            "agent_role": rec.agent_role,
            "trace_id": rec.trace_id,
            "span_id": rec.span_id,
            "logger": _text(data.get("logger")),
            "data": data,
        }
        etype = _text(data.get("error_type")) or _text(data.get("exception_type"))
        if etype is not None or rec.level in ERROR_LEVELS:
            out["error_type"] = etype
            out["error_message"] = _text(data.get("error_message")) or _text(data.get("error"))
            out["traceback"] = _text(data.get("traceback")) or _text(data.get("error_traceback"))
        return out
    if type(rec) is Span:
        attrs = rec.attributes or {}
        failed = rec.status in FAILED
        out = {
            "id": rec.id,
            "record": "span",
            "timestamp": iso(rec.start_time),
            "timestamp_ns": rec.start_time,
            "type": "span",
            "event_type": _text(attrs.get("event_type")) or "span",
            "name": rec.name,
            "level": "ERROR" if failed else "INFO",
            "message": span_message(rec),
            "agent": rec.agent_name or rec.agent_id,
            "agent_name": rec.agent_name,
            "agent_id": rec.agent_id,
            "agent_role": rec.agent_role,
            "trace_id": rec.trace_id,
            "span_id": rec.id,
            "parent_id": rec.parent_id,
            "kind": rec.kind,
            "status": rec.status,
            "duration_ms": rec.duration_ms,
            "end_time": iso(rec.end_time) if rec.end_time is not None else None,
            "logger": "span." + rec.kind,
            "data": attrs,
        }
        if failed or rec.error_type is not None:
            out["error_type"] = rec.error_type or rec.status
            out["error_message"] = rec.error_message or rec.status_message
            out["traceback"] = rec.error_traceback
        return out
    assert type(rec) is Metric
    return {
        "id": rec.id,
        "record": "metric",
        "timestamp": iso(rec.timestamp),
        "timestamp_ns": rec.timestamp,
        "type": "metric",
        "event_type": _text((rec.tags or {}).get("event_type")) or "metric",
        "name": rec.name,
        "level": "INFO",
        "message": f"{rec.name}={rec.value:g}{rec.unit or ''}",
        "agent": rec.agent_name,
        "agent_name": rec.agent_name,
        "agent_id": None,
        "agent_role": None,
        "trace_id": rec.trace_id,
        "span_id": rec.span_id,
        "logger": "performance",
        "value": rec.value,
        "unit": rec.unit,
        "data": rec.tags or {},
    }
