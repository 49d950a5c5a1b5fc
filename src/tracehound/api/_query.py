"""Queries behind the ``/v1`` read API: allowlisted filters, operators and sort keys, every
value bound as a parameter, keyset (cursor) pagination, and every query scoped to one project.

Filter syntax (query parameter ``filter``, repeatable)::

    <field>:<op>:<value>      e.g. duration_ms:gt:1500   attributes.vault_id:eq:v-1

Fields are the record's columns (listed in :data:`SPAN_FIELDS` / :data:`EVENT_FIELDS`) or
``attributes.<key>`` (``data.<key>`` for events) for a top-level JSON key. Operators:
``eq ne gt gte lt lte contains prefix in exists`` (``in`` takes comma-separated values, at
most 100; ``exists`` takes ``true``/``false``). Anything else is a 422 naming the part.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import (
    ColumnElement,
    Double,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
)
from sqlalchemy.sql.elements import ColumnClause, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from ..store._time import datetime_to_ns, ns_to_datetime
from .errors import ApiError

__all__ = [
    "EVENT_FIELDS",
    "OPS",
    "SPAN_FIELDS",
    "Cursor",
    "SortKey",
    "attr_filter",
    "check_key",
    "decode_cursor",
    "encode_cursor",
    "is_root",
    "json_number",
    "json_text",
    "keyset",
    "lookup_scope",
    "page_cursor",
    "parse_filter",
    "parse_time_value",
    "search",
    "sort_key",
]

OPS: Final = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "prefix", "in", "exists")
_TEXT_OPS: Final = frozenset(OPS)
_NUMBER_OPS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"})
_TIME_OPS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "exists"})
_BOOL_OPS: Final = frozenset({"eq", "ne", "exists"})
KEY_RE: Final = re.compile(r"[A-Za-z0-9_.\-/@$ ]{1,128}")
_MAX_IN: Final = 100
_MAX_VALUE: Final = 1000
_MIN_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIME: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

_TEXT, _NUMBER, _TIME, _BOOL = "text", "number", "time", "bool"

SPAN_FIELDS: Final[dict[str, str]] = {
    "id": _TEXT,
    "trace_id": _TEXT,
    "parent_id": _TEXT,
    "session_id": _TEXT,
    "kind": _TEXT,
    "name": _TEXT,
    "status": _TEXT,
    "agent_name": _TEXT,
    "agent_role": _TEXT,
    "agent_id": _TEXT,
    "conversation_id": _TEXT,
    "user_id": _TEXT,
    "status_message": _TEXT,
    "error_type": _TEXT,
    "error_message": _TEXT,
    "provider": _TEXT,
    "model": _TEXT,
    "cost_source": _TEXT,
    "start_time": _TIME,
    "end_time": _TIME,
    "duration_ms": _NUMBER,
    "input_tokens": _NUMBER,
    "output_tokens": _NUMBER,
    "cached_tokens": _NUMBER,
    "reasoning_tokens": _NUMBER,
    "total_tokens": _NUMBER,
    "input_cost": _NUMBER,
    "output_cost": _NUMBER,
    "total_cost": _NUMBER,
    "chunks_count": _NUMBER,
    "time_to_first_token_ms": _NUMBER,
    "is_streaming": _BOOL,
}
EVENT_FIELDS: Final[dict[str, str]] = {
    "id": _TEXT,
    "trace_id": _TEXT,
    "span_id": _TEXT,
    "session_id": _TEXT,
    "type": _TEXT,
    "name": _TEXT,
    "level": _TEXT,
    "agent_name": _TEXT,
    "agent_role": _TEXT,
    "agent_id": _TEXT,
    "message": _TEXT,
    "timestamp": _TIME,
}


def lookup_scope(table: Any, project: str, dialect: str) -> ColumnElement[bool]:
    """``project = :project`` for queries driven by another index (a trace id, a parent id, a
    session id). On SQLite the column is wrapped in a unary ``+`` so the planner never picks
    a ``project``-leading index for it — every row of a project would match, and a lookup of
    a few rows would become a scan of the project."""
    col = table.c.project
    if dialect == "sqlite":
        col = UnaryExpression(col, operator=custom_op("+"), type_=String())
    return col == project  # type: ignore[no-any-return]


def is_root(table: Any, dialect: str) -> ColumnElement[bool]:
    """``parent_id IS NULL`` that does not drive an index on SQLite (root spans are listed
    through the ``(project, start_time)`` index, newest first)."""
    col = table.c.parent_id
    if dialect == "sqlite":
        col = UnaryExpression(col, operator=custom_op("+"), type_=String())
    return col.is_(None)  # type: ignore[no-any-return]


def _bad(message: str, field: str = "filter") -> ApiError:
    return ApiError(422, message, field=field)


# -- JSON attribute expressions (key bound as a parameter) ------------------------------------
def _json_path(key: str) -> str:
    return '$."' + key + '"'


def check_key(key: str, field: str) -> str:
    if not KEY_RE.fullmatch(key):
        raise _bad(
            f"{field}: attribute key {key[:60]!r} must be 1-128 characters of letters, digits, "
            "'_', '.', '-', '/', '@', '$' or space",
            field,
        )
    return key


def json_text(column: Any, key: str, dialect: str) -> ColumnElement[str]:
    """The top-level ``key`` of a JSON column as text (booleans ``'true'``/``'false'`` on
    both databases; ``NULL`` when missing)."""
    if dialect == "postgresql":
        return column.op("->>", return_type=Text())(literal(key, Text()))  # type: ignore[no-any-return]
    path = literal(_json_path(key), Text())
    kind = func.json_type(column, path)
    return case(
        (kind == "true", literal("true", Text())),
        (kind == "false", literal("false", Text())),
        else_=cast(func.json_extract(column, path), Text()),
    )


def json_number(column: Any, key: str, dialect: str) -> ColumnElement[float]:
    """The top-level ``key`` of a JSON column as a number, ``NULL`` unless it is a number
    (never a cast error)."""
    if dialect == "postgresql":
        node = column.op("->", return_type=Text())(literal(key, Text()))
        text = column.op("->>", return_type=Text())(literal(key, Text()))
        return case(
            (func.jsonb_typeof(node) == "number", cast(text, Double())),
            else_=None,
        )
    path = literal(_json_path(key), Text())
    return case(
        (func.json_type(column, path).in_(("integer", "real")), func.json_extract(column, path)),
        else_=None,
    )


# -- values -----------------------------------------------------------------------------------
def _number(value: str, where: str) -> float:
    try:
        out = float(value)
    except ValueError:
        raise _bad(f"{where}: {value[:40]!r} is not a number") from None
    if not math.isfinite(out) or abs(out) > 1e300:
        raise _bad(f"{where}: {value[:40]!r} is not a finite number")
    return out


def parse_time_value(value: str, where: str) -> datetime:
    """ISO-8601 text or integer nanoseconds/seconds since the epoch → aware UTC datetime."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{1,20}", text):
            n = int(text)
            ns = n * 1_000_000_000 if n < 10**11 else n
            dt = ns_to_datetime(ns)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad(f"{where}: {value[:40]!r} is not an ISO-8601 time or epoch number") from None
    if not _MIN_TIME <= dt <= _MAX_TIME:
        raise _bad(f"{where}: {value[:40]!r} is out of range")
    return dt


def _bool(value: str, where: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise _bad(f"{where}: {value[:40]!r} is not true or false")


def _text_value(value: str, where: str) -> str:
    if len(value) > _MAX_VALUE:
        raise _bad(f"{where}: value longer than {_MAX_VALUE} characters")
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise _bad(f"{where}: control characters in value")
    return value


def _compare(expr: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "eq":
        return expr == value  # type: ignore[no-any-return]
    if op == "ne":
        return or_(expr != value, expr.is_(None))
    if op == "gt":
        return expr > value  # type: ignore[no-any-return]
    if op == "gte":
        return expr >= value  # type: ignore[no-any-return]
    if op == "lt":
        return expr < value  # type: ignore[no-any-return]
    if op == "lte":
        return expr <= value  # type: ignore[no-any-return]
    raise AssertionError(op)


def _condition(expr: Any, ftype: str, op: str, raw: str, where: str) -> ColumnElement[bool]:
    allowed = {
        _TEXT: _TEXT_OPS,
        _NUMBER: _NUMBER_OPS,
        _TIME: _TIME_OPS,
        _BOOL: _BOOL_OPS,
    }[ftype]
    if op not in allowed:
        raise _bad(f"{where}: operator {op[:20]!r} is not one of {', '.join(sorted(allowed))}")
    if op == "exists":
        return expr.is_not(None) if _bool(raw, where) else expr.is_(None)  # type: ignore[no-any-return]
    if op == "in":
        parts = raw.split(",")
        if not 1 <= len(parts) <= _MAX_IN:
            raise _bad(f"{where}: 'in' takes 1 to {_MAX_IN} comma-separated values")
        if ftype == _NUMBER:
            return expr.in_([_number(p, where) for p in parts])  # type: ignore[no-any-return]
        return expr.in_([_text_value(p, where) for p in parts])  # type: ignore[no-any-return]
    if op == "contains":
        return expr.contains(_text_value(raw, where), autoescape=True)  # type: ignore[no-any-return]
    if op == "prefix":
        return expr.startswith(_text_value(raw, where), autoescape=True)  # type: ignore[no-any-return]
    value: Any
    if ftype == _NUMBER:
        value = _number(raw, where)
    elif ftype == _TIME:
        value = parse_time_value(raw, where)
    elif ftype == _BOOL:
        value = _bool(raw, where)
    else:
        value = _text_value(raw, where)
    return _compare(expr, op, value)


def parse_filter(
    raw: str,
    columns: Mapping[str, str],
    table: Any,
    json_column: Any,
    json_prefix: str,
    dialect: str,
) -> ColumnElement[bool]:
    """One ``field:op:value`` filter → a bound SQL condition (422 naming the bad part)."""
    parts = raw.split(":", 2)
    if len(parts) != 3:
        raise _bad(f"filter: {raw[:60]!r} must look like field:op:value")
    name, op, value = parts
    op = op.strip().lower()
    where = f"filter {name[:60]!r}"
    if name in columns:
        ftype = columns[name]
        return _condition(table.c[name], ftype, op, value, where)
    prefix = json_prefix + "."
    if name.startswith(prefix):
        key = check_key(name[len(prefix) :], "filter")
        if op in ("gt", "gte", "lt", "lte"):
            return _condition(json_number(json_column, key, dialect), _NUMBER, op, value, where)
        if op == "exists":
            return _condition(json_text(json_column, key, dialect), _TEXT, op, value, where)
        return _condition(json_text(json_column, key, dialect), _TEXT, op, value, where)
    known = ", ".join(sorted(columns))
    raise _bad(f"filter: unknown field {name[:60]!r}; use one of {known} or {prefix}<key>")


def attr_filter(raw: str, json_column: Any, dialect: str, field: str) -> ColumnElement[bool]:
    """``key=value`` → the JSON column's ``key`` equals ``value`` (as text)."""
    key, sep, value = raw.partition("=")
    if not sep:
        raise _bad(f"{field}: {raw[:60]!r} must look like key=value", field)
    check_key(key, field)
    return json_text(json_column, key, dialect) == _text_value(value, field)


def search(columns: Sequence[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring search over columns (JSON columns as their JSON text)."""
    needle = _text_value(text, "q").lower()
    if not needle:
        raise _bad("q: must not be empty", "q")
    return or_(
        *(func.lower(cast(col, Text())).contains(needle, autoescape=True) for col in columns)
    )


# -- sorting and cursors ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SortKey:
    name: str
    column: Any
    descending: bool
    kind: str  # "time" or "number"


_NULL_LOW: Final = -1e300


def sort_key(raw: str, table: Any, allowed: Sequence[str], field: str = "sort") -> SortKey:
    name = raw[1:] if raw.startswith("-") else raw
    if name not in allowed:
        options = ", ".join(f"{a}, -{a}" for a in allowed)
        raise _bad(f"{field}: {raw[:40]!r} is not one of {options}", field)
    col = table.c[name]
    is_time = name in ("start_time", "end_time", "timestamp", "last_seen_at", "started_at")
    if not is_time:
        col = func.coalesce(col, _NULL_LOW)
    return SortKey(name, col, raw.startswith("-"), "time" if is_time else "number")


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    value: Any
    id: str


def encode_cursor(sort: str, value: Any, row_id: str) -> str:
    if isinstance(value, datetime):
        value = datetime_to_ns(value)
    data = orjson.dumps({"s": sort, "v": value, "i": row_id})
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_cursor(raw: str | None, sort: str) -> Cursor | None:
    if raw is None or raw == "":
        return None
    bad = ApiError(
        400, "cursor: not a cursor this endpoint returned (or from another sort)", field="cursor"
    )
    if len(raw) > 4096:
        raise bad
    try:
        data = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"s", "v", "i"} or data["s"] != sort:
        raise bad
    value, row_id = data["v"], data["i"]
    if not isinstance(row_id, str) or not 0 < len(row_id) <= 800:
        raise bad
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    if isinstance(value, float) and not math.isfinite(value):
        raise bad
    return Cursor(sort, value, row_id)


def keyset(
    query: Select[Any], key: SortKey, id_col: ColumnClause[Any], cursor: Cursor | None
) -> Select[Any]:
    """Order by the sort key then id, and start after ``cursor``."""
    col = key.column
    if cursor is not None:
        value: Any = cursor.value
        if key.kind == "time":
            if not isinstance(value, int) or not 0 <= value <= datetime_to_ns(_MAX_TIME):
                raise ApiError(400, "cursor: invalid position", field="cursor")
            value = ns_to_datetime(value)
        else:
            value = float(value)
        if key.descending:
            query = query.where(or_(col < value, and_(col == value, id_col < cursor.id)))
        else:
            query = query.where(or_(col > value, and_(col == value, id_col > cursor.id)))
    if key.descending:
        return query.order_by(col.desc(), id_col.desc())
    return query.order_by(col.asc(), id_col.asc())


def page_cursor(
    rows: Sequence[Mapping[str, Any]], limit: int, key: SortKey, raw_sort: str
) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    value = last[key.name]
    if value is None and key.kind == "number":
        value = _NULL_LOW
    if key.kind == "number":
        value = float(value)
    return encode_cursor(raw_sort, value, str(last["id"]))
