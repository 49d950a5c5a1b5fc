"""Versioned JSON codec for records.

Wire form: a JSON object ``{"v": 1, "type": "span"|"event"|"metric", <fields>}`` (an event's own
``type`` field is carried as ``event_type``). Times are integers of nanoseconds since the
epoch; the decoder also accepts ISO-8601 strings and float seconds, so hand-written JSON (the
ingest API) is easy to produce. Decoding validates every field and raises :class:`~tracehound.exceptions.CodecError` naming the field.

Decoding is on the consumer's hot path (every record from the broker), so the rules are
compiled once per record type into a table ``wire key -> (slot, check, field)``: one dict
lookup per key, a cheap inline test that accepts the common well-formed value, and the full
check (which produces the error) only when that test fails. The record is built straight from
a list of slot values.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, cast

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
_MAX_TEXT: Final = 10_000
_NS_MIN: Final = 10**17  # an integer time at or above this is already in nanoseconds
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
_BOOL_FIELDS: Final = frozenset({"is_streaming"})
_ANY_FIELDS: Final = frozenset({"input", "output"})
_CONTROL: Final = re.compile("[\x00-\x1f\x7f]")
_REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "span": ("id", "trace_id", "name", "start_time"),
    "event": ("id", "event_type", "name", "timestamp"),
    "metric": ("id", "name", "value", "timestamp"),
}

# -- encoding -----------------------------------------------------------------------------------

_WIRE_TYPES: Final[dict[type, str]] = {Span: "span", Event: "event", Metric: "metric"}


def encode_dict(record: Record) -> dict[str, Any]:
    """The wire dict of a record (fields with ``None`` values are omitted)."""
    # exact record types by a dict lookup; a subclass or look-alike says its own type
    rtype = _WIRE_TYPES.get(type(record)) or record.record_type
    out: dict[str, Any] = {"v": CODEC_VERSION, "type": rtype}
    for key, value in zip(record._fields, record, strict=True):
        if value is not None:
            out[key] = value
    if rtype == "event":
        # The event's own ``type`` field (written above) must not overwrite the record type;
        # it travels as ``event_type``, always the last key.
        out["type"] = "event"
        out["event_type"] = cast(Event, record).type
    return out


def encode(record: Record) -> bytes:
    """The wire JSON bytes of a record."""
    return orjson.dumps(encode_dict(record))


# -- field checks (the full rules; each raises the error for its field) ------------------------


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
        if value < _NS_MIN:
            return value * 1_000
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise CodecError(f"{field}: not a finite time", field=field)
        ns = value * 1_000_000_000
        if math.isinf(ns):
            raise CodecError(f"{field}: time out of range", field=field)
        return int(ns)
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


def _check_text(value: Any, field: str, limit: int = _MAX_TEXT) -> str:
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


def _check_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CodecError(f"{field}: expected a non-negative integer", field=field)
    return value


def _check_float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(f"{field}: expected a number", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise CodecError(f"{field}: not a finite number", field=field)
    return number


def _show(value: Any) -> str:
    """``repr(value)`` for an error message, even for a value nested too deeply to repr."""
    try:
        return repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply>"


# -- decoding tables ----------------------------------------------------------------------------

# How the value of a wire key is checked (the decode_dict branches test the common ones first).
_ID: Final = 1
_TEXT: Final = 2
_TIME: Final = 3
_SKIP: Final = 4  # "v" and "type": the envelope, checked before the fields
_DICT: Final = 5
_ANY: Final = 6
_FLOAT: Final = 7
_INT: Final = 8
_BOOL: Final = 9


def _check_kind(field: str) -> int:
    """The check of a record field, by its name."""
    for kind, names in (
        (_TIME, _TIME_FIELDS),
        (_ID, _ID_FIELDS),
        (_INT, _INT_FIELDS),
        (_FLOAT, _FLOAT_FIELDS),
        (_DICT, _DICT_FIELDS),
        (_BOOL, _BOOL_FIELDS),
        (_ANY, _ANY_FIELDS),
    ):
        if field in names:
            return kind
    return _TEXT


class _Layout(NamedTuple):
    """What :func:`decode_dict` needs to know about one record type, computed once."""

    cls: type[Span] | type[Event] | type[Metric]
    required: tuple[str, ...]
    keys: dict[str, tuple[int, int, str]]  # wire key -> (slot, check kind, field name)
    template: tuple[Any, ...]  # the slot values before any key is read (the defaults)
    session_slot: int
    project_slot: int


def _layout(rtype: str, defaults: dict[str, Any]) -> _Layout:
    cls = _TYPES[rtype]
    names = cls._fields
    keys: dict[str, tuple[int, int, str]] = {}
    for slot, name in enumerate(names):
        if cls is Event and name == "type":
            keys["event_type"] = (slot, _TEXT, name)  # an event's own type travels as event_type
        else:
            keys[name] = (slot, _check_kind(name), name)
    keys["v"] = keys["type"] = (-1, _SKIP, "")
    initial = {**cls._field_defaults, **defaults}
    template = tuple(initial.get(name) for name in names)
    return _Layout(
        cls,
        _REQUIRED[rtype],
        keys,
        template,
        names.index("session_id"),
        names.index("project"),
    )


_LAYOUTS: Final = {
    "span": _layout(
        "span",
        {"kind": "task", "status": "success", "parent_id": None, "end_time": None},
    ),
    "event": _layout("event", {"trace_id": None, "span_id": None}),
    "metric": _layout("metric", {}),
}
_SPAN_KIND: Final = Span._fields.index("kind")
_SPAN_STATUS: Final = Span._fields.index("status")
_SPAN_START: Final = Span._fields.index("start_time")
_SPAN_END: Final = Span._fields.index("end_time")
_SPAN_DURATION: Final = Span._fields.index("duration_ms")
_EVENT_LEVEL: Final = Event._fields.index("level")
_new_record: Final = tuple.__new__


def decode_dict(obj: Any, *, session_id: str = "", project: str = "default") -> Record:
    """Validate a wire dict and build its record. Raises :class:`CodecError` naming the field.

    ``session_id`` and ``project`` are the values used when the record has none.
    """
    if not isinstance(obj, dict):
        raise CodecError(f"record: expected an object, got {type(obj).__name__}", field="record")
    version = obj.get("v", CODEC_VERSION)
    if version != CODEC_VERSION:
        raise CodecError(f"v: unsupported codec version {_show(version)}", field="v")
    rtype = obj.get("type")
    layout = _LAYOUTS.get(rtype) if isinstance(rtype, str) else None
    if layout is None:
        raise CodecError(
            f"type: expected one of span, event, metric, got {_show(rtype)}", field="type"
        )
    cls, required, keys, template, session_slot, project_slot = layout
    for name in required:
        if obj.get(name) is None:
            raise CodecError(f"{name}: required for a {rtype}", field=name)
    values = [*template]
    values[session_slot] = session_id
    values[project_slot] = project
    # Keys are checked in their order, so the first bad one is the one reported. Each branch
    # accepts the usual well-formed value inline and otherwise defers to the full check.
    for key, value in obj.items():
        try:
            slot, kind, field = keys[key]
        except KeyError:
            raise CodecError(f"{key}: unknown field for a {rtype}", field=key) from None
        if value is None:
            continue  # null means absent: the default stays
        if kind == _ID:
            if (
                type(value) is not str
                or not 0 < len(value) <= MAX_ID_LENGTH
                # every control character is unprintable: the regex only runs for the rare
                # unprintable (but possibly valid, e.g. U+00A0) id
                or (not value.isprintable() and _CONTROL.search(value) is not None)
            ):
                value = _check_id(value, field)
        elif kind == _TEXT:
            if type(value) is not str or len(value) > _MAX_TEXT:
                value = _check_text(value, field)
        elif kind == _TIME:
            if type(value) is not int or value < _NS_MIN:
                value = parse_time(value, field)
        elif kind == _SKIP:
            continue
        elif kind == _DICT:
            if not isinstance(value, dict):
                raise CodecError(f"{field}: expected an object", field=field)
        elif kind == _ANY:
            pass  # ``input`` / ``output``: any JSON value
        elif kind == _FLOAT:
            if type(value) is not float or not math.isfinite(value):
                value = _check_float(value, field)
        elif kind == _INT:
            if type(value) is not int or value < 0:
                value = _check_int(value, field)
        else:  # _BOOL
            if type(value) is not bool:
                raise CodecError(f"{field}: expected a boolean", field=field)
        values[slot] = value
    if cls is Span:
        if values[_SPAN_KIND] not in SPAN_KINDS:
            raise CodecError(f"kind: expected one of {', '.join(SPAN_KINDS)}", field="kind")
        if values[_SPAN_STATUS] not in SPAN_STATUSES:
            raise CodecError(f"status: expected one of {', '.join(SPAN_STATUSES)}", field="status")
        end = values[_SPAN_END]
        if end is not None:
            start = values[_SPAN_START]
            if end < start:
                raise CodecError("end_time: before start_time", field="end_time")
            if values[_SPAN_DURATION] is None:
                values[_SPAN_DURATION] = (end - start) / 1e6
    elif cls is Event:
        level = values[_EVENT_LEVEL]
        if type(level) is not str or level not in LEVELS:
            level = level.upper()
            if level not in LEVELS:
                raise CodecError(f"level: expected one of {', '.join(LEVELS)}", field="level")
            values[_EVENT_LEVEL] = level
    # NamedTuple.__new__ only packs its arguments: build the tuple from the slots directly.
    record: Record = _new_record(cls, values)
    return record


def decode(data: bytes | str) -> Record:
    """Decode wire JSON bytes into a record."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"record: invalid JSON ({exc})", field="record") from None
    return decode_dict(obj)
