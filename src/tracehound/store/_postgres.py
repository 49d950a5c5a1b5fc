"""The PostgreSQL exporter, and the time partitions it writes into.

Ingest (one transaction per batch, psycopg 3, text ``COPY``):

* Rows are built by code generated once from the record field order (times as UTC text —
  the session runs in ``TimeZone=UTC`` — JSON encoded with orjson).
* **Fast path**: rows that cannot collide with stored ones (finished spans, events, metrics)
  are ``COPY``-ed straight into the table inside a savepoint.
* **Merge path**: running snapshots, spans this exporter stored as running, and — when the
  fast path meets a duplicate (a replayed spool, a record delivered twice) — the whole batch
  go through a per-connection ``TEMP`` staging table: ``COPY`` into it, then
  ``INSERT … SELECT DISTINCT ON (id) … ORDER BY id, end_time IS NULL, ctid
  ON CONFLICT (<primary key>) DO UPDATE … WHERE spans.end_time IS NULL AND
  excluded.end_time IS NOT NULL`` (``DO NOTHING`` for events and metrics). The result is that
  of :class:`~tracehound.store.SQLiteExporter` (``docs/data-model.md``): a record delivered
  twice, or twice in one batch, is stored once, and a running snapshot gives way to the final
  span (whichever arrives first).
* **Hostile text**: PostgreSQL text and ``jsonb`` cannot hold NUL characters, and lone
  surrogates cannot be encoded. A batch refused for that is cleaned — each offending value
  gets U+FFFD in place of the character — and written again; the cleaned record says so in
  ``attributes`` / ``data`` / ``tags`` under ``"tracehound.sanitized"`` (the list of changed
  fields). Should PostgreSQL still refuse a record (a value out of a column's range, say),
  the batch is written record by record and the refused ones are logged, counted
  (:attr:`PostgresExporter.rejected`) and handed to :attr:`PostgresExporter.on_reject` when
  set (a dead-letter stream, say) once the others are committed: a batch is never lost to
  one bad value.
* **Outages**: a connection error drops the connection and raises (the pipeline retries, then
  spools); the next export reconnects. Deadlocks between concurrent writers are retried.
* **Partitions**: ``spans`` / ``events`` / ``metrics`` are range-partitioned by UTC day
  (migration 0002); a day of spans is list-partitioned by kind (agent / llm / other). The exporter creates the partitions of the days it writes to (up to
  ``max_ahead_days`` ahead) and keeps ``partitions_ahead`` days ready; rows of other days go
  to the history or default partition. :func:`list_partitions`, :func:`create_partitions`
  and :func:`drop_partition` serve retention (:mod:`._retention`) and the CLI.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from time import time_ns
from typing import Any, Final, Literal

import orjson
import psycopg
from psycopg import errors as pg_errors

from ..exceptions import ExporterError
from ..model import Event, Metric, Record, Span
from ._engine import dialect_of
from ._rows import dumps_json, session_bounds
from ._time import _prefix, _prefixes, format_ns, ns_to_datetime

__all__ = [
    "PARTITIONED",
    "PARTITION_SCHEMA",
    "Partition",
    "PostgresExporter",
    "clean_record",
    "create_partitions",
    "detach_partition",
    "drop_partition",
    "libpq_url",
    "list_partitions",
]

log = logging.getLogger("tracehound")

PARTITION_SCHEMA: Final = "tracehound_partitions"
#: Partitioned table → its partition key.
PARTITIONED: Final = {"spans": "start_time", "events": "timestamp", "metrics": "timestamp"}
#: Primary keys (and upsert targets): the id plus every partition key.
PRIMARY_KEYS: Final = {
    "spans": ("id", "start_time", "kind"),
    "events": ("id", "timestamp"),
    "metrics": ("id", "timestamp"),
}
#: A day of spans is list-partitioned by kind: these get their own partition, the rest
#: shares ``<day>_other``.
SPAN_KIND_PARTITIONS: Final = ("agent", "llm")
SANITIZED_KEY: Final = "tracehound.sanitized"
DAY_NS: Final = 86_400 * 1_000_000_000
_EPOCH_DAY: Final = date(1970, 1, 1)
# pg_advisory_xact_lock key for partition changes: b"thparts\0".
_PARTITION_LOCK: Final = int.from_bytes(b"thparts\0", "big", signed=True)
_MAX_NEW_PARTITIONS: Final = 64  # per export, so garbage times cannot create thousands
_OPEN_LIMIT: Final = 65_536
_DEADLOCK_RETRIES: Final = 3
_BAD_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
_JSON_FIELDS: Final = frozenset({"input", "output", "attributes", "data", "tags"})
_NOTE_FIELD: Final = {Span: "attributes", Event: "data", Metric: "tags"}
_BOUND: Final = re.compile(r"FROM \((.+)\) TO \((.+)\)")

# Inherited connections a forked child must never use nor terminate (see after_fork).
_ABANDONED: list[psycopg.Connection[Any]] = []


def libpq_url(url: str) -> str:
    """The libpq form of a tracehound PostgreSQL URL (``postgresql+psycopg://`` → plain)."""
    if dialect_of(url) != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    scheme, _, rest = url.partition("://")
    return "postgresql://" + rest if "+" in scheme else url


# -- hostile text ----------------------------------------------------------------------------


def _clean_text(text: str) -> str | None:
    """``text`` with NUL characters and lone surrogates replaced by U+FFFD; ``None`` when
    there are none."""
    if _BAD_TEXT.search(text) is None:
        return None
    return _BAD_TEXT.sub("\ufffd", text)


def _clean_value(value: Any, depth: int = 0) -> tuple[Any, bool]:
    if isinstance(value, str):
        cleaned = _clean_text(value)
        return (value, False) if cleaned is None else (cleaned, True)
    if depth > 256:
        return value, False
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str):
                new_key = _clean_text(key)
                if new_key is not None:
                    key, changed = new_key, True
            new, hit = _clean_value(item, depth + 1)
            changed = changed or hit
            out[key] = new
        return (out, True) if changed else (value, False)
    if isinstance(value, list | tuple):
        items = [_clean_value(item, depth + 1) for item in value]
        if any(hit for _, hit in items):
            return [item for item, _ in items], True
        return value, False
    return value, False


def clean_record(record: Record) -> tuple[Record, list[str]]:
    """The record with NUL characters and lone surrogates replaced (U+FFFD) in every text and
    JSON field, and the names of the fields that changed — also noted in the record itself
    under ``"tracehound.sanitized"`` in its attributes / data / tags."""
    values = list(record)
    changed: list[str] = []
    for i, field in enumerate(record._fields):
        value = values[i]
        if isinstance(value, str) or field in _JSON_FIELDS:
            new, hit = _clean_value(value)
            if hit:
                values[i] = new
                changed.append(field)
    if not changed:
        return record, changed
    note = _NOTE_FIELD[type(record)]
    index = record._fields.index(note)
    holder = values[index]
    if holder is None:
        values[index] = {SANITIZED_KEY: changed}
    elif isinstance(holder, dict):
        values[index] = {**holder, SANITIZED_KEY: changed}
    return type(record)._make(values), changed


# -- rows ------------------------------------------------------------------------------------

RowBuilder = Callable[[Iterable[Any]], list[tuple[Any, ...]]]


def _slow_row(record: Record, times: frozenset[str]) -> tuple[Any, ...]:
    """One row of a record the generated builder refused (odd JSON, hostile text)."""
    cleaned, _ = clean_record(record)
    out: list[Any] = []
    for field, value in zip(cleaned._fields, cleaned, strict=True):
        if value is None:
            out.append(None)
        elif field in times:
            out.append(format_ns(value))
        elif field in _JSON_FIELDS:
            out.append(dumps_json(value))
        else:
            out.append(value)
    return tuple(out)


def _row_builder(cls: type[Any], times: Sequence[str], nullable: Sequence[str]) -> RowBuilder:
    """A function turning records into ``COPY`` rows: times (integer ns) as UTC text,
    JSON fields encoded with orjson, everything else as is.

    Generated once as straight-line code (the ingest path runs it for every record). A record
    orjson refuses (non-string keys, huge integers, lone surrogates) goes through
    :func:`_slow_row`.
    """
    fields: tuple[str, ...] = cls._fields
    names = [f"v{i}" for i in range(len(fields))]
    exprs: list[str] = []
    for name, field in zip(names, fields, strict=True):
        if field in times:
            second = f"{name} // 1000000000"
            text = (
                f'((_pget({second}) or _prefix({second})) + "%06d" % ({name} % 1000000000 // 1000))'
            )
            exprs.append(f"(None if {name} is None else {text})" if field in nullable else text)
        elif field in _JSON_FIELDS:
            exprs.append(f"(None if {name} is None else _dumps({name}).decode())")
        else:
            exprs.append(name)
    source = (
        "def build(records):\n"
        "    out = []\n"
        "    add = out.append\n"
        "    for record in records:\n"
        f"        ({', '.join(names)},) = record\n"
        "        try:\n"
        f"            add(({', '.join(exprs)},))\n"
        "        except _errors:\n"
        "            add(_slow(record, _times))\n"
        "    return out\n"
    )
    namespace: dict[str, Any] = {
        "_pget": _prefixes.get,
        "_prefix": _prefix,
        "_dumps": orjson.dumps,
        "_slow": _slow_row,
        "_times": frozenset(times),
        "_errors": (TypeError, orjson.JSONEncodeError),
    }
    exec(compile(source, f"<postgres rows of {cls.__name__}>", "exec"), namespace)
    build: RowBuilder = namespace["build"]
    return build


class _Kind:
    """How one record type is stored: its table, ``COPY`` statements and merge."""

    def __init__(self, cls: type[Any], table: str, nullable_times: Sequence[str] = ()) -> None:
        fields: tuple[str, ...] = cls._fields
        self.cls = cls
        self.table = table
        self.key = PARTITIONED[table]
        cols = ", ".join(f'"{f}"' for f in fields)
        self.stage = f"_tracehound_stage_{table}"
        self.create_stage = (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        self.copy_direct = f"COPY {table} ({cols}) FROM STDIN"
        self.copy_stage = f"COPY {self.stage} ({cols}) FROM STDIN"
        if cls is Span:
            order = "id, end_time IS NULL, ctid"
            updates = ", ".join(f'"{f}" = excluded."{f}"' for f in fields if f != "id")
            conflict = (
                f"DO UPDATE SET {updates} "
                f"WHERE {table}.end_time IS NULL AND excluded.end_time IS NOT NULL"
            )
        else:
            order = "id, ctid"
            conflict = "DO NOTHING"
        self.merge = (
            f"INSERT INTO {table} ({cols}) SELECT DISTINCT ON (id) {cols} FROM {self.stage} "
            f"ORDER BY {order} ON CONFLICT ({', '.join(PRIMARY_KEYS[table])}) {conflict}"
        )
        times = [f for f in fields if f in ("start_time", "end_time", "timestamp")]
        self.build = _row_builder(cls, times, nullable_times)


_SPANS: Final = _Kind(Span, "spans", ("end_time",))
_EVENTS: Final = _Kind(Event, "events")
_METRICS: Final = _Kind(Metric, "metrics")
_KINDS: Final = (_SPANS, _EVENTS, _METRICS)

SESSION_SQL: Final = (
    "INSERT INTO sessions (id, project, started_at, last_seen_at, hostname, pid)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
    " started_at = LEAST(sessions.started_at, excluded.started_at),"
    " last_seen_at = GREATEST(sessions.last_seen_at, excluded.last_seen_at)"
)
SESSION_END_SQL: Final = (
    "INSERT INTO sessions (id, project, started_at, last_seen_at, ended_at, hostname, pid,"
    " summary) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (id) DO UPDATE SET"
    " ended_at = excluded.ended_at, summary = excluded.summary,"
    " last_seen_at = GREATEST(sessions.last_seen_at, excluded.last_seen_at)"
)

_id_of: Final = attrgetter("id")
_end_of: Final = attrgetter("end_time")
_start_of: Final = attrgetter("start_time")
_timestamp_of: Final = attrgetter("timestamp")


# -- partitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One partition of a partitioned table."""

    table: str
    schema: str
    name: str
    kind: Literal["history", "day", "default"]
    lower: datetime | None
    """Inclusive lower bound (``None``: unbounded / default)."""
    upper: datetime | None
    """Exclusive upper bound (``None``: unbounded / default)."""

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"'

    @property
    def day(self) -> date | None:
        return self.lower.date() if self.kind == "day" and self.lower is not None else None


def _bound(text: str) -> datetime | None:
    text = text.strip()
    if text.upper() in ("MINVALUE", "MAXVALUE"):
        return None
    value = datetime.fromisoformat(text.strip("'"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def list_partitions(conn: psycopg.Connection[Any]) -> list[Partition]:
    """The partitions of ``spans``, ``events`` and ``metrics`` (empty when they are not
    partitioned), ordered by table and lower bound."""
    rows = conn.execute(
        "SELECT p.relname, n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid)"
        " FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_class p ON p.oid = i.inhparent"
        " WHERE i.inhparent IN (to_regclass('spans'), to_regclass('events'),"
        " to_regclass('metrics'))"
    ).fetchall()
    out: list[Partition] = []
    for table, schema, name, bound in rows:
        if bound.strip().upper() == "DEFAULT":
            out.append(Partition(table, schema, name, "default", None, None))
            continue
        found = _BOUND.search(bound)
        if found is None:  # pragma: no cover - not a range partition of ours
            continue
        lower, upper = _bound(found.group(1)), _bound(found.group(2))
        kind: Literal["history", "day"] = "history" if lower is None else "day"
        out.append(Partition(table, schema, name, kind, lower, upper))
    order = {"history": 0, "day": 1, "default": 2}
    out.sort(key=lambda p: (p.table, order[p.kind], p.lower or datetime.min.replace(tzinfo=UTC)))
    return out


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _create_day(conn: psycopg.Connection[Any], table: str, name: str) -> None:
    """The (not yet attached) partition of one day; for spans, with its kind partitions."""
    if table != "spans":
        conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
        return
    conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS) PARTITION BY LIST (kind)")
    base = name[:-1]  # without the closing quote
    for kind in SPAN_KIND_PARTITIONS:
        conn.execute(f"CREATE TABLE {base}_{kind}\" PARTITION OF {name} FOR VALUES IN ('{kind}')")
    conn.execute(f'CREATE TABLE {base}_other" PARTITION OF {name} DEFAULT')


def create_partitions(
    conn: psycopg.Connection[Any], days: Iterable[date], *, lock_timeout: float = 10.0
) -> list[str]:
    """Create the day partitions of ``days`` (each in ``spans``, ``events`` and ``metrics``)
    that do not exist yet and are not covered by the history partition; rows of those days
    waiting in the default partition move in. Returns the partitions created.

    One short transaction under an advisory lock (several writers may race); attaching takes
    only a ``SHARE UPDATE EXCLUSIVE`` lock on the table, so ingestion and queries go on. The
    connection must be in autocommit mode (no transaction open)."""
    wanted = sorted(set(days))
    created: list[str] = []
    if not wanted:
        return created
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
        conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
        parts = list_partitions(conn)
        for table, key in PARTITIONED.items():
            mine = [p for p in parts if p.table == table]
            if not mine:
                continue
            history = next((p.upper for p in mine if p.kind == "history"), None)
            have = {p.day for p in mine if p.kind == "day"}
            default = next((p for p in mine if p.kind == "default"), None)
            locked = False
            for day in wanted:
                lower = _day_start(day)
                if day in have or (history is not None and lower < history):
                    continue
                upper = lower + timedelta(days=1)
                name = f'"{PARTITION_SCHEMA}"."{table}_p{day:%Y%m%d}"'
                _create_day(conn, table, name)
                if default is not None:
                    if not locked:
                        conn.execute(f"LOCK TABLE {default.qualified} IN ACCESS EXCLUSIVE MODE")
                        locked = True
                    conn.execute(
                        f'WITH moved AS (DELETE FROM {default.qualified} WHERE "{key}" >= %s'
                        f' AND "{key}" < %s RETURNING *) INSERT INTO {name} SELECT * FROM moved',
                        (lower, upper),
                    )
                conn.execute(
                    f"ALTER TABLE {table} ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
                )
                created.append(name)
    return created


def detach_partition(
    conn: psycopg.Connection[Any], partition: Partition, *, lock_timeout: float = 10.0
) -> None:
    """Detach one day partition (retention): it stays, a plain table in
    ``tracehound_partitions``, until dropped. Waits at most ``lock_timeout`` for the brief
    exclusive lock on the table (in-flight writes finish first); raises
    :class:`psycopg.errors.LockNotAvailable` when it cannot get it. Rows of that day written
    afterwards go to the default partition."""
    if partition.kind != "day":
        raise ValueError(f"only day partitions are detached, not {partition.name}")
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
        conn.execute(f"ALTER TABLE {partition.table} DETACH PARTITION {partition.qualified}")


def drop_partition(
    conn: psycopg.Connection[Any], partition: Partition, *, lock_timeout: float = 10.0
) -> None:
    """Detach and drop one day partition (see :func:`detach_partition`)."""
    detach_partition(conn, partition, lock_timeout=lock_timeout)
    conn.execute(f"DROP TABLE {partition.qualified}")


def _day_of(ns: int) -> int:
    return ns // DAY_NS


def _date_of(day: int) -> date:
    return _EPOCH_DAY + timedelta(days=day)


# -- the exporter ----------------------------------------------------------------------------


class _Batch:
    """A batch split by record type, with its session bounds."""

    __slots__ = ("bounds", "events", "metrics", "records", "spans")

    def __init__(self, batch: Sequence[Record]) -> None:
        spans: list[Span] = []
        events: list[Event] = []
        metrics: list[Metric] = []
        add_span, add_event, add_metric = spans.append, events.append, metrics.append
        for record in batch:
            cls = type(record)
            if cls is Span:
                add_span(record)  # type: ignore[arg-type]
            elif cls is Event:
                add_event(record)  # type: ignore[arg-type]
            elif cls is Metric:
                add_metric(record)  # type: ignore[arg-type]
            elif isinstance(record, Span):
                add_span(record)
            elif isinstance(record, Event):
                add_event(record)
            elif isinstance(record, Metric):
                add_metric(record)
            else:
                raise TypeError(f"not a record: {cls.__name__}")
        self.records = batch
        self.spans, self.events, self.metrics = spans, events, metrics
        self.bounds = session_bounds(batch, spans, events, metrics)

    def keys(self) -> Iterable[int]:
        """Partition key times of every record."""
        yield from map(_start_of, self.spans)
        yield from map(_timestamp_of, self.events)
        yield from map(_timestamp_of, self.metrics)

    def cleaned(self) -> tuple[_Batch, int]:
        records: list[Record] = []
        count = 0
        for record in self.records:
            new, changed = clean_record(record)
            records.append(new)
            count += bool(changed)
        return _Batch(records), count


class PostgresExporter:
    """Writes batches of records into a PostgreSQL database (schema created or upgraded on
    the first export; see the module docstring for the write path).

    ``statement_timeout`` bounds every statement of an export (a hung database makes the
    export fail, and the pipeline spools); ``lock_timeout`` bounds waits for table locks
    when partitions are created. ``partitions_ahead`` day partitions are kept ready;
    partitions are created for records up to ``max_ahead_days`` in the future (later ones go
    to the default partition).

    ``on_reject`` (also settable later as the attribute :attr:`on_reject`) receives each
    record PostgreSQL refuses even after cleaning, with the exception PostgreSQL raised for
    it (usually a :class:`psycopg.DataError`, e.g. a value out of a column's range). Without
    it such a record is logged and dropped; either way it is counted in :attr:`rejected`.
    The hook is called:

    * only for records that were not stored, and only after the transaction holding the
      rest of the batch committed — when it runs, every other record of that
      :meth:`export` call is stored;
    * with the record as it was given to :meth:`export` (before cleaning), once per refused
      record, in batch order;
    * in the thread calling :meth:`export`, before it returns, outside the exporter's lock
      (the hook may use the exporter);
    * guarded: an exception it raises is logged (debug level) and does not fail the export
      (the record is then simply dropped).
    """

    name = "postgres"

    #: Receives each record PostgreSQL refused even after cleaning, with the error (see the
    #: class docstring); ``None``: such records are logged and dropped.
    on_reject: Callable[[Record, BaseException], None] | None

    def __init__(
        self,
        url: str,
        *,
        auto_upgrade: bool = True,
        connect_timeout: float = 10.0,
        statement_timeout: float = 120.0,
        lock_timeout: float = 10.0,
        partitions_ahead: int = 2,
        max_ahead_days: int = 7,
        on_reject: Callable[[Record, BaseException], None] | None = None,
    ) -> None:
        self.url = url
        self.on_reject = on_reject
        self._conninfo = libpq_url(url)
        self._auto_upgrade = auto_upgrade
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._lock_timeout = lock_timeout
        self._ahead = max(0, partitions_ahead)
        self._max_ahead = max(self._ahead, max_ahead_days)
        self._hostname = socket.gethostname()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._schema_ready = False
        self._closed = False
        self._projects: dict[str, str] = {}
        # Ids of running snapshots this exporter stored: their final span must be merged.
        self._open: dict[str, None] = {}
        # Partitions: days with a day partition in every table; days before _history_day
        # are covered by the history partitions.
        self._days: set[int] = set()
        self._history_day: int | None = None
        self._partitioned = False
        #: Records cleaned of NUL characters / lone surrogates.
        self.sanitized = 0
        #: Records PostgreSQL refused even after cleaning (dropped, or handed to on_reject).
        self.rejected = 0
        #: Connections opened (the first one included).
        self.connections = 0
        #: Batches that met a duplicate on the fast path and were merged instead.
        self.merged_batches = 0

    # -- the exporter contract -------------------------------------------------------------

    def export(self, batch: Sequence[Record]) -> None:
        """Store a batch in one transaction; raises on failure (nothing of it is stored)."""
        if self._closed:
            raise ExporterError("the postgres exporter is shut down")
        if not batch:
            return
        if os.getpid() != self._pid:
            self.after_fork()
        parts = _Batch(batch)
        refused: list[tuple[Record, BaseException]] = []
        with self._lock:
            for attempt in range(_DEADLOCK_RETRIES):
                try:
                    refused = self._export(parts)
                    break
                except pg_errors.TransactionRollback:  # deadlock / serialization failure
                    if attempt + 1 == _DEADLOCK_RETRIES:
                        raise
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    # The server went away (restart, network) or the connection broke: drop
                    # it; the pipeline retries or spools, and the next export reconnects.
                    self._reset()
                    raise
        if len(self._projects) > 1024:
            self._projects.clear()
        for sid, b in parts.bounds.items():
            self._projects[sid] = b[0]
        if refused:
            self._report(refused)

    def _report(self, refused: list[tuple[Record, BaseException]]) -> None:
        """Hand the refused records to :attr:`on_reject` (committed, outside the lock)."""
        hook = self.on_reject
        if hook is None:
            return
        for record, exc in refused:
            try:
                hook(record, exc)
            except Exception:
                log.debug(
                    "tracehound: the on_reject hook failed for %s %s",
                    type(record).__name__.lower(),
                    record.id,
                    exc_info=True,
                )

    def force_flush(self, timeout: float | None = None) -> bool:
        """Nothing is buffered: every export commits before it returns."""
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._reset()

    def after_fork(self) -> None:
        """In a forked child: forget the inherited connection without using or closing it —
        its socket is shared with the parent, and closing it would end the parent's session.
        The child's descriptor is pointed at ``/dev/null`` first, so even the connection's
        finalizer cannot reach the server. A fresh connection opens on the next export."""
        self._lock = threading.Lock()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                fd = conn.pgconn.socket
                null = os.open(os.devnull, os.O_RDWR)
                try:
                    os.dup2(null, fd)
                finally:
                    os.close(null)
            except (OSError, psycopg.Error):
                pass
            _ABANDONED.append(conn)
        self._open.clear()
        self._pid = os.getpid()

    # -- sessions -------------------------------------------------------------------------

    def mark_session_ended(
        self,
        session_id: str,
        ended_at_ns: int,
        summary: dict[str, Any],
        *,
        project: str | None = None,
    ) -> None:
        """Record the end of a session and its summary (creating the row if need be)."""
        if self._closed:
            raise ExporterError("the postgres exporter is shut down")
        if os.getpid() != self._pid:
            self.after_fork()
        ended = ns_to_datetime(ended_at_ns)
        summary_json = dumps_json(summary)
        summary_json = _clean_text(summary_json) or summary_json
        row = (
            session_id,
            project or self._projects.get(session_id, "default"),
            ended,
            ended,
            ended,
            self._hostname,
            self._pid,
            summary_json.replace("\\u0000", "\\ufffd"),
        )
        with self._lock:
            try:
                conn = self._conn or self._connect()
                conn.execute(SESSION_END_SQL, row)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self._reset()
                raise

    # -- internals ------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] = psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=max(1, round(self._connect_timeout)),
            application_name="tracehound",
            # A server that vanished without closing the connection is noticed in ~1 min.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
        try:
            if not self._schema_ready:  # the server is up: check (or create) the schema
                from ._migrate import ensure_schema

                ensure_schema(self.url, auto_upgrade=self._auto_upgrade)
                self._schema_ready = True
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(f"SET statement_timeout = {int(self._statement_timeout * 1000)}")
            for kind in _KINDS:
                conn.execute(kind.create_stage)
            self._load_partitions(conn)
        except BaseException:
            conn.close()
            raise
        self.connections += 1
        self._conn = conn
        return conn

    def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass

    # partitions

    def _load_partitions(self, conn: psycopg.Connection[Any]) -> None:
        parts = list_partitions(conn)
        self._partitioned = bool(parts)
        if not parts:
            return
        today = _day_of(time_ns())
        self._remember(parts)
        wanted = [d for d in range(today, today + self._ahead + 1) if not self._covered(d)]
        if wanted:
            self._create(conn, wanted)

    def _remember(self, parts: list[Partition]) -> None:
        by_table: dict[str, set[int]] = {t: set() for t in PARTITIONED}
        history: list[int] = []
        for p in parts:
            if p.kind == "day" and p.lower is not None:
                by_table[p.table].add((p.lower.date() - _EPOCH_DAY).days)
            elif p.kind == "history" and p.upper is not None:
                history.append((p.upper.date() - _EPOCH_DAY).days)
        self._days = set.intersection(*by_table.values())
        self._history_day = min(history) if history else None

    def _covered(self, day: int) -> bool:
        return day in self._days or (self._history_day is not None and day < self._history_day)

    def _create(self, conn: psycopg.Connection[Any], days: list[int]) -> None:
        """Create day partitions; a failure (e.g. a lock held too long by a long query) only
        costs efficiency — the rows go to the default partition — so it is logged, not
        raised, unless the connection itself failed."""
        try:
            created = create_partitions(
                conn,
                [_date_of(d) for d in days[:_MAX_NEW_PARTITIONS]],
                lock_timeout=self._lock_timeout,
            )
            if created:
                log.debug("tracehound: created partitions %s", ", ".join(created))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if conn.closed or conn.broken:
                raise
            log.warning("tracehound: could not create partitions (%s); continuing", exc)
        except psycopg.Error as exc:
            log.warning("tracehound: could not create partitions (%s); continuing", exc)
        self._remember(list_partitions(conn))

    def _ensure_partitions(self, conn: psycopg.Connection[Any], parts: _Batch) -> None:
        if not self._partitioned:
            return
        lo = min(b[1] for b in parts.bounds.values())
        hi = max(b[2] for b in parts.bounds.values())
        today = _day_of(time_ns())
        first = _day_of(lo)
        last = min(_day_of(hi), today + self._max_ahead)
        if self._history_day is not None:
            first = max(first, self._history_day)
        if all(self._covered(d) for d in range(first, last + 1)):
            return
        # Only the days that hold records (a batch may mix old and new times).
        needed = sorted(
            {d for d in map(_day_of, parts.keys()) if first <= d <= last and not self._covered(d)}
        )
        if needed:
            self._create(conn, needed)

    # writing

    def _export(self, parts: _Batch) -> list[tuple[Record, BaseException]]:
        """Write a batch (committed on return); returns the records PostgreSQL refused even
        after cleaning (as given to :meth:`export`), with their errors."""
        conn = self._conn or self._connect()
        self._ensure_partitions(conn, parts)
        try:
            self._write(conn, parts)
            return []
        except (psycopg.DataError, UnicodeEncodeError) as exc:
            first_error: Exception = exc
        cleaned, count = parts.cleaned()
        refused: list[tuple[Record, BaseException]] = []
        try:
            self._write(conn, cleaned)
        except (psycopg.DataError, UnicodeEncodeError) as exc:
            log.warning(
                "tracehound: PostgreSQL refused a batch even after cleaning (%s; first: %s);"
                " writing it record by record",
                exc,
                first_error,
            )
            refused = self._write_each(conn, cleaned, parts.records)
        self.sanitized += count
        return refused

    def _write(self, conn: psycopg.Connection[Any], parts: _Batch) -> None:
        sessions = self._session_rows(parts)
        with conn.transaction():
            opened = self._store_spans(conn, parts.spans) if parts.spans else ()
            if parts.events:
                self._store(conn, _EVENTS, parts.events, ())
            if parts.metrics:
                self._store(conn, _METRICS, parts.metrics, ())
            with conn.cursor() as cur:
                if len(sessions) == 1:
                    cur.execute(SESSION_SQL, sessions[0])
                else:
                    cur.executemany(SESSION_SQL, sessions)
        # Committed: remember running snapshots, forget the ones now final.
        open_ids = self._open
        for sid, running in opened:
            if running:
                open_ids[sid] = None
            else:
                open_ids.pop(sid, None)
        if len(open_ids) > _OPEN_LIMIT:
            open_ids.clear()  # only costs a merge when their final spans arrive

    def _session_rows(self, parts: _Batch) -> list[tuple[Any, ...]]:
        """Session upserts of a batch, in id order (concurrent writers lock rows alike)."""
        rows = [
            (sid, b[0], ns_to_datetime(b[1]), ns_to_datetime(b[2]), self._hostname, self._pid)
            for sid, b in parts.bounds.items()
        ]
        rows.sort(key=lambda row: (row[0] is None, row[0] or ""))
        return rows

    def _store_spans(
        self, conn: psycopg.Connection[Any], spans: list[Span]
    ) -> list[tuple[str, bool]]:
        """Store spans; returns (id, running) of the spans whose snapshot state changed."""
        ends = list(map(_end_of, spans))
        open_ids = self._open
        if None not in ends and (not open_ids or open_ids.keys().isdisjoint(map(_id_of, spans))):
            self._store(conn, _SPANS, spans, ())
            return []
        risky = [s for s, e in zip(spans, ends, strict=True) if e is None or s.id in open_ids]
        self._store(conn, _SPANS, spans, risky)
        return [(s.id, s.end_time is None) for s in risky]

    def _store(
        self,
        conn: psycopg.Connection[Any],
        kind: _Kind,
        records: Sequence[Record],
        risky: Sequence[Record],
    ) -> None:
        """Fast path for the records that cannot collide; the merge for the rest (and for all
        of them when the fast path meets a duplicate)."""
        if risky:
            chosen = {id(r) for r in risky}
            direct = [r for r in records if id(r) not in chosen]
        else:
            direct = list(records)
        merge: Sequence[Record] = risky
        if direct:
            try:
                with conn.transaction(), conn.cursor() as cur, cur.copy(kind.copy_direct) as copy:
                    write = copy.write_row
                    for row in kind.build(direct):
                        write(row)
            except pg_errors.UniqueViolation:
                merge = records
                self.merged_batches += 1
        if merge:
            with conn.cursor() as cur:
                with cur.copy(kind.copy_stage) as copy:
                    write = copy.write_row
                    for row in kind.build(merge):
                        write(row)
                cur.execute(kind.merge)

    def _write_each(
        self, conn: psycopg.Connection[Any], parts: _Batch, originals: Sequence[Record]
    ) -> list[tuple[Record, BaseException]]:
        """Last resort: each record in its own savepoint. Returns, once the transaction
        committed, the refused ones — their ``originals`` (same positions as
        ``parts.records``) — with PostgreSQL's errors; they are counted and logged."""
        refused: list[tuple[Record, BaseException, str]] = []
        with conn.transaction():
            for original, record in zip(originals, parts.records, strict=True):
                kind = (
                    _SPANS
                    if isinstance(record, Span)
                    else _EVENTS
                    if isinstance(record, Event)
                    else _METRICS
                )
                try:
                    with conn.transaction():
                        self._store(conn, kind, [record], [record])
                except (psycopg.DataError, UnicodeEncodeError) as exc:
                    refused.append((original, exc, kind.table[:-1]))
            with conn.cursor() as cur:
                cur.executemany(SESSION_SQL, self._session_rows(parts))
        # Committed: only now are the refused ones known to be the only ones missing.
        fate = "it is dropped" if self.on_reject is None else "it goes to on_reject"
        for original, error, what in refused:
            self.rejected += 1
            log.warning(
                "tracehound: PostgreSQL refused %s %s (%s); %s", what, original.id, error, fate
            )
        return [(original, error) for original, error, _ in refused]
