"""Every difference between SQLite and PostgreSQL in one place.

* :class:`UtcTimestamp` — ``timestamptz`` on PostgreSQL; on SQLite a fixed-width UTC text
  ``YYYY-MM-DD HH:MM:SS.ffffff`` (text order = time order). Reads give timezone-aware UTC
  datetimes on both; binds accept datetimes (naive = UTC) or integer nanoseconds.
* :class:`JsonDocument` (:func:`json_type`) — ``JSONB`` on PostgreSQL; JSON text in a ``TEXT``
  column on SQLite (SQL ``NULL`` for ``None``).
* :func:`id_type` — text ids; ``COLLATE "C"`` on PostgreSQL so ids compare byte-wise and a
  prefix (range) lookup can use the index whatever the database's default collation.
* SQL expression helpers for analytics: :func:`time_bucket`, :func:`epoch_seconds`,
  :func:`json_text`.
* The fast nanoseconds → SQLite text formatter is :func:`format_ns` (in :mod:`._time`, which
  the SQLite ingest path imports without SQLAlchemy).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import BigInteger, DateTime, String, Text, cast, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from ._rows import dumps_json
from ._time import datetime_to_ns, format_ns, ns_to_datetime, parse_text

__all__ = [
    "JsonDocument",
    "UtcTimestamp",
    "datetime_to_ns",
    "dumps_json",
    "epoch_seconds",
    "format_ns",
    "id_type",
    "json_text",
    "json_type",
    "ns_to_datetime",
    "parse_text",
    "time_bucket",
]

POSTGRESQL: Final = "postgresql"
SQLITE: Final = "sqlite"
_BIGINT: Final = BigInteger()


def _to_utc(value: datetime | int) -> datetime:
    if isinstance(value, bool):
        raise TypeError("a time must be a datetime or integer nanoseconds, not a boolean")
    if isinstance(value, int):
        return ns_to_datetime(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UtcTimestamp(TypeDecorator[datetime]):
    """A UTC point in time (see the module docstring for the per-dialect storage)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == SQLITE:
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == SQLITE:
            if isinstance(value, int) and not isinstance(value, bool):
                return format_ns(value)
            return format_ns(datetime_to_ns(_to_utc(value)))
        return _to_utc(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        bound = self.process_bind_param(value, dialect)
        text = bound if isinstance(bound, str) else bound.isoformat()
        return "'" + text + "'"

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_text(value)
        if isinstance(value, datetime):
            return _to_utc(value)
        raise TypeError(f"unexpected stored time {value!r}")


class JsonDocument(TypeDecorator[Any]):
    """A JSON value: ``JSONB`` on PostgreSQL; on SQLite JSON *text* in a ``TEXT`` column.

    Not SQLAlchemy's ``JSON`` on SQLite: a column declared ``JSON`` there has NUMERIC
    affinity, which turns the JSON text ``123`` into an integer and a big integer into a
    lossy float. ``None`` is stored as SQL ``NULL`` on both.
    """

    impl = Text()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == POSTGRESQL:
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == POSTGRESQL:
            return value
        return dumps_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str | bytes) and dialect.name != POSTGRESQL:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:  # e.g. an escaped lone surrogate written elsewhere
                return json.loads(value)
        return value


def json_type() -> TypeEngine[Any]:
    """Structured column type (see :class:`JsonDocument`)."""
    return JsonDocument()


def id_type() -> TypeEngine[str]:
    """Text id column type (``COLLATE "C"`` on PostgreSQL)."""
    return String().with_variant(String(collation="C"), POSTGRESQL)


def _seconds(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise ValueError(f"bucket width must be a positive integer of seconds, got {seconds!r}")
    return seconds


def epoch_seconds(column: ColumnElement[Any], dialect_name: str) -> ColumnElement[int]:
    """Whole seconds since the epoch of a :class:`UtcTimestamp` column, as an integer."""
    if dialect_name == POSTGRESQL:
        return cast(func.floor(func.extract("epoch", column)), _BIGINT)
    return cast(func.strftime("%s", column), _BIGINT)


def time_bucket(
    column: ColumnElement[Any], seconds: int, dialect_name: str
) -> ColumnElement[datetime]:
    """The start of the ``seconds``-wide UTC bucket holding ``column`` (buckets are aligned to
    the epoch, so 86400 gives UTC days). Typed :class:`UtcTimestamp`: rows come back as aware
    datetimes on both dialects. The width is rendered inline so the same expression can
    appear in ``SELECT`` and ``GROUP BY``."""
    width = literal(_seconds(seconds), _BIGINT, literal_execute=True)
    start = (epoch_seconds(column, dialect_name) // width) * width
    if dialect_name == POSTGRESQL:
        return func.to_timestamp(start, type_=UtcTimestamp())
    return func.strftime("%Y-%m-%d %H:%M:%S", start, "unixepoch", type_=UtcTimestamp())


def json_text(column: ColumnElement[Any], key: str, dialect_name: str) -> ColumnElement[str]:
    """The value under top-level ``key`` of a JSON column, as text (``NULL`` when missing).

    Strings come back unquoted and numbers as their text on both dialects; booleans are
    ``'true'``/``'false'`` on PostgreSQL but ``'1'``/``'0'`` on SQLite.
    """
    if '"' in key or "\\" in key:
        raise ValueError(f"unsupported JSON key {key!r}")
    if dialect_name == POSTGRESQL:
        return column.op("->>", return_type=Text())(literal(key, Text(), literal_execute=True))
    path = literal(f'$."{key}"', Text(), literal_execute=True)
    return cast(func.json_extract(column, path), Text())
