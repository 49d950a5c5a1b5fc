"""Versioned JSON codec for records.

Wire form: a JSON object ``{"v": 1, "type": "span"|"event"|"metric", <fields>}`` (an event's own
``type`` field is carried as ``event_type``). Times are
integers of nanoseconds since the epoch; the decoder also accepts ISO-8601 strings and float
seconds, so hand-written JSON (the ingest API) is easy to produce. Decoding validates every
field and raises :class:`~tracehound.exceptions.CodecError` naming the field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from ..exceptions import CodecError
from ._records import LEVELS, SPAN_KINDS, SPAN_STATUSES, Event, Metric, Record, Span

__all__ = [
    "CODEC_VERSION",
    "MAX_ID_LENGTH",
    "decode",
    "decode_dict",
    "encode",
    "encode_dict",
    "parse_time",
]

CODEC_VERSION: Final = 1
MAX_ID_LENGTH: Final = 800
_TYPES: Final[dict[str, type[Span] | type[Event] | type[Metric]]] = {
    "span": Span,
    "event": Event,
    "metric": Metric,
}
_TIME_FIELDS: Final = frozenset({"start_time", "end_time", "timestamp"})
_ID_FIELDS: Final = frozenset({"id", "trace_id", "parent_id", "span_id", "session_id"})
_INT_FIELDS: Final = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "total_tokens",
        "chunks_count",
    }
)
_FLOAT_FIELDS: Final = frozenset(
    {
        "duration_ms",
        "input_cost",
        "output_cost",
        "total_cost",
        "time_to_first_token_ms",
        "value",
    }
)
_DICT_FIELDS: Final = frozenset({"attributes", "data", "tags"})
_ANY_FIELDS: Final = frozenset({"input", "output"})
_CONTROL: Final = re.compile("[\x00-\x1f\x7f]")
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "span": ("id", "trace_id", "name", "start_time"),
    "event": ("id", "event_type", "name", "timestamp"),
    "metric": ("id", "name", "value", "timestamp"),
}


def encode_dict(record: Record) -> dict[str, Any]:
    """The wire dict of a record (fields with ``None`` values are omitted)."""
    out: dict[str, Any] = {"v": CODEC_VERSION, "type": record.record_type}
    for key, value in zip(record._fields, record, strict=True):
        if value is not None:
            out[key] = value
    if isinstance(record, Event):
        # The event's own ``type`` field must not overwrite the record type.
        out["event_type"] = record.type
        out["type"] = "event"
    return out


def encode(record: Record) -> bytes:
    """The wire JSON bytes of a record."""
    return orjson.dumps(encode_dict(record))


def parse_time(value: Any, field: str) -> int:
    """Nanoseconds since the epoch from an int (ns), float (seconds) or ISO-8601 string."""
    if isinstance(value, bool):
        raise CodecError(f"{field}: expected a time, got a boolean", field=field)
    if isinstance(value, int):
        if value < 0:
            raise CodecError(f"{field}: negative time", field=field)
        # Heuristic: seconds / milliseconds / microseconds are scaled to nanoseconds.
        if value < 10**11:
            return value * 1_000_000_000
        if value < 10**14:
            return value * 1_000_000
        if value < 10**17:
            return value * 1_000
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise CodecError(f"{field}: not a finite time", field=field)
        return int(value * 1_000_000_000)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise CodecError(
                f"{field}: not an ISO-8601 time: {value[:64]!r}", field=field
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise CodecError(f"{field}: expected a time, got {type(value).__name__}", field=field)


def _check_text(value: Any, field: str, limit: int = 10_000) -> str:
    if not isinstance(value, str):
        raise CodecError(f"{field}: expected a string, got {type(value).__name__}", field=field)
    if len(value) > limit:
        raise CodecError(f"{field}: longer than {limit} characters", field=field)
    return value


def _check_id(value: Any, field: str) -> str:
    text = _check_text(value, field, MAX_ID_LENGTH)
    if not text:
        raise CodecError(f"{field}: empty id", field=field)
    if _CONTROL.search(text) is not None:
        raise CodecError(f"{field}: control characters in id", field=field)
    return text


def decode_dict(obj: Any, *, session_id: str = "", project: str = "default") -> Record:
    """Validate a wire dict and build its record. Raises :class:`CodecError` naming the field."""
    if not isinstance(obj, dict):
        raise CodecError(f"record: expected an object, got {type(obj).__name__}", field="record")
    version = obj.get("v", CODEC_VERSION)
    if version != CODEC_VERSION:
        raise CodecError(f"v: unsupported codec version {version!r}", field="v")
    rtype = obj.get("type")
    cls = _TYPES.get(rtype) if isinstance(rtype, str) else None
    if cls is None:
        raise CodecError(f"type: expected one of span, event, metric, got {rtype!r}", field="type")
    for name in _REQUIRED[rtype]:  # type: ignore[index]
        if obj.get(name) is None:
            raise CodecError(f"{name}: required for a {rtype}", field=name)
    fields = cls._fields
    values: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("v", "type"):
            continue
        if key == "event_type" and cls is Event:
            key = "type"
        elif key not in fields:
            raise CodecError(f"{key}: unknown field for a {rtype}", field=key)
        if value is None:
            continue
        if key in _TIME_FIELDS:
            value = parse_time(value, key)
        elif key in _ID_FIELDS:
            value = _check_id(value, key)
        elif key in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CodecError(f"{key}: expected a non-negative integer", field=key)
        elif key in _FLOAT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CodecError(f"{key}: expected a number", field=key)
            value = float(value)
            if not math.isfinite(value):
                raise CodecError(f"{key}: not a finite number", field=key)
        elif key in _DICT_FIELDS:
            if not isinstance(value, dict):
                raise CodecError(f"{key}: expected an object", field=key)
        elif key == "is_streaming":
            if not isinstance(value, bool):
                raise CodecError(f"{key}: expected a boolean", field=key)
        elif key not in _ANY_FIELDS:
            value = _check_text(value, key)
        values[key] = value
    values.setdefault("session_id", session_id)
    values.setdefault("project", project)
    if cls is Span:
        kind = values.setdefault("kind", "task")
        if kind not in SPAN_KINDS:
            raise CodecError(f"kind: expected one of {', '.join(SPAN_KINDS)}", field="kind")
        status = values.setdefault("status", "success")
        if status not in SPAN_STATUSES:
            raise CodecError(f"status: expected one of {', '.join(SPAN_STATUSES)}", field="status")
        values.setdefault("parent_id", None)
        values.setdefault("end_time", None)
        if values["end_time"] is not None and values["end_time"] < values["start_time"]:
            raise CodecError("end_time: before start_time", field="end_time")
        if values.get("duration_ms") is None and values["end_time"] is not None:
            values["duration_ms"] = (values["end_time"] - values["start_time"]) / 1e6
        values.setdefault("duration_ms", None)
    elif cls is Event:
        level = values.get("level", "INFO")
        if not isinstance(level, str) or level.upper() not in LEVELS:
            raise CodecError(f"level: expected one of {', '.join(LEVELS)}", field="level")
        values["level"] = level.upper()
        values.setdefault("trace_id", None)
        values.setdefault("span_id", None)
    return cls(**values)


def decode(data: bytes | str) -> Record:
    """Decode wire JSON bytes into a record."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"record: invalid JSON ({exc})", field="record") from None
    return decode_dict(obj)
