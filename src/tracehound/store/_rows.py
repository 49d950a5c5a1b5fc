"""Record → row conversion for the SQLite ingest path (no SQLAlchemy import)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from operator import attrgetter
from typing import Any, Final

import orjson

from ..model import Event, Metric, Record, Span
from ._time import _prefix, _prefixes

__all__ = ["Bounds", "FlatBuilder", "dumps_json", "flat_builder", "session_bounds"]

_dumps: Final = orjson.dumps

FlatBuilder = Callable[[Iterable[Any]], list[Any]]


def dumps_json(value: Any) -> str:
    """JSON text of a value. orjson; odd values (non-string keys, integers beyond 64 bits, lone
    surrogates, unknown objects) fall back to a tolerant encoding instead of failing."""
    try:
        return _dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return _dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # cycles, unsortable oddities
        text = json.dumps(repr(value), ensure_ascii=False)
    # Lone surrogates (not encodable as UTF-8) become "?".
    return text.encode("utf-8", "replace").decode("utf-8")


def _time_expr(name: str, nullable: bool) -> str:
    # Inlined :func:`._time.format_ns` (saves a call per time value).
    second = f"{name} // 1000000000"
    text = f'((_pget({second}) or _prefix({second})) + "%06d" % ({name} % 1000000000 // 1000))'
    return f"(None if {name} is None else {text})" if nullable else text


def flat_builder(
    fields: Sequence[str],
    time_fields: Collection[str],
    json_fields: Collection[str],
    *,
    nullable_times: Collection[str] = (),
) -> FlatBuilder:
    """A function turning records into one flat list of column values, row after row, in
    field order: times (integer ns) as SQLite time text, JSON fields encoded, ``None`` kept.

    Generated once as straight-line code (one loop, unpack, convert, extend): the ingest path
    runs it for every record, and it is about twice as fast as per-field converter calls.
    A value orjson refuses sends that record through the tolerant :func:`dumps_json`.
    """
    names = [f"v{i}" for i in range(len(fields))]
    fast: list[str] = []
    slow: list[str] = []
    for name, field in zip(names, fields, strict=True):
        if field in time_fields:
            expr = _time_expr(name, field in nullable_times)
            fast.append(expr)
            slow.append(expr)
        elif field in json_fields:
            fast.append(f"(None if {name} is None else _dumps({name}).decode())")
            slow.append(f"(None if {name} is None else _json({name}))")
        else:
            fast.append(name)
            slow.append(name)
    source = (
        "def build(records):\n"
        "    out = []\n"
        "    add = out.extend\n"
        f"    for ({', '.join(names)},) in records:\n"
        "        try:\n"
        f"            add(({', '.join(fast)},))\n"
        "        except _errors:\n"
        f"            add(({', '.join(slow)},))\n"
        "    return out\n"
    )
    namespace: dict[str, Any] = {
        "_pget": _prefixes.get,
        "_prefix": _prefix,
        "_dumps": _dumps,
        "_json": dumps_json,
        "_errors": (TypeError, orjson.JSONEncodeError),
    }
    exec(compile(source, f"<rows of {', '.join(fields[:3])}, …>", "exec"), namespace)
    build: FlatBuilder = namespace["build"]
    return build


#: Session id → [project, earliest, latest record time] of a batch.
Bounds = dict[str, list[Any]]

_session_of: Final = attrgetter("session_id")
_start_of: Final = attrgetter("start_time")
_end_of: Final = attrgetter("end_time")
_timestamp_of: Final = attrgetter("timestamp")


def session_bounds(
    batch: Sequence[Record], spans: list[Span], events: list[Event], metrics: list[Metric]
) -> Bounds:
    """Session id → [project, earliest, latest record time] of a batch (for the ``sessions``
    upsert both exporters make)."""
    first = batch[0]
    if len(set(map(_session_of, batch))) == 1:
        # The common case, one session per batch: C-level min/max, no per-record Python.
        times = [*map(_start_of, spans), *map(_timestamp_of, events), *map(_timestamp_of, metrics)]
        latest = max(times)
        ends = [t for t in map(_end_of, spans) if t is not None]
        if ends:
            latest = max(latest, max(ends))
        return {first.session_id: [first.project, min(times), latest]}
    bounds: Bounds = {}
    for record in batch:
        if isinstance(record, Span):
            lo = record.start_time
            hi = record.end_time or lo
        else:
            lo = hi = record.timestamp
        seen = bounds.get(record.session_id)
        if seen is None:
            bounds[record.session_id] = [record.project, lo, hi]
        else:
            if lo < seen[1]:
                seen[1] = lo
            if hi > seen[2]:
                seen[2] = hi
    return bounds
