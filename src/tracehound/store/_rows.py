"""Record → row conversion for the SQLite ingest path (no SQLAlchemy import)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson

from ._time import format_ns

__all__ = ["dumps_json", "row_builder"]

_dumps = orjson.dumps


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
        return json.dumps(value, default=repr, ensure_ascii=True)


def row_builder(
    fields: Sequence[str], time_fields: Collection[str], json_fields: Collection[str]
) -> Callable[[Any], tuple[Any, ...]]:
    """A function turning a record tuple into a row tuple in the same column order: time
    fields (integer ns) formatted as SQLite time text, JSON fields encoded, ``None`` kept.

    Generated once as straight-line code (unpack, convert, repack): about twice as fast as a
    generic loop over per-field converters, and the ingest path runs it for every record.
    """
    names = [f"v{i}" for i in range(len(fields))]
    values = []
    for name, field in zip(names, fields, strict=True):
        if field in time_fields:
            values.append(f"None if {name} is None else _time({name})")
        elif field in json_fields:
            values.append(f"None if {name} is None else _json({name})")
        else:
            values.append(name)
    source = (
        "def build(record):\n"
        f"    ({', '.join(names)},) = record\n"
        f"    return ({', '.join(values)},)\n"
    )
    namespace: dict[str, Any] = {"_time": format_ns, "_json": dumps_json}
    exec(compile(source, f"<row builder {', '.join(fields[:3])}…>", "exec"), namespace)
    build: Callable[[Any], tuple[Any, ...]] = namespace["build"]
    return build
