"""The SQLite exporter: the embedded default store.

The ingest path uses the stdlib ``sqlite3`` module directly (no SQLAlchemy): one
``BEGIN IMMEDIATE`` transaction per batch; column values are built by code generated once from
the record field order (JSON encoded with orjson, times formatted with a per-second cached
prefix) and inserted with multi-row ``VALUES`` statements of power-of-two sizes (a small,
cached set of statements; about 20% less work than ``executemany`` of one-row statements).
Several processes may write to one file: the database runs in WAL mode, and a busy database
is retried with a short backoff for a bounded time before the export fails (the pipeline then
spools the batch). Needs SQLite 3.24+ (UPSERT).

Idempotency (``docs/data-model.md``): a span replaces the stored one only when the stored one
has no ``end_time`` and the incoming one has one (a running snapshot gives way to the final
span); any other duplicate, and every duplicate event or metric, is ignored. Duplicates inside
one batch follow the same rules, because rows are applied in order.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Final, cast

from ..exceptions import ExporterError
from ..model import Event, Metric, Record, Span
from ._engine import sqlite_path
from ._rows import Bounds, dumps_json, flat_builder, session_bounds
from ._time import format_ns

__all__ = ["SQLiteExporter"]

_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
# Connections inherited across fork must never be closed (or freed) in the child: closing
# would release the parent's POSIX locks on the file. They are parked here for good.
_ABANDONED: list[sqlite3.Connection] = []

_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
    "PRAGMA journal_size_limit=67108864",
    "PRAGMA wal_autocheckpoint=4000",
)

_CHUNK: Final = 256  # rows per INSERT statement at most (power of two)

_SPAN_TIMES: Final = ("start_time", "end_time")
_JSON_FIELDS: Final = ("input", "output", "attributes", "data", "tags")


class _Insert:
    """``INSERT INTO table (fields) VALUES (?, …), … <conflict clause>`` for n rows."""

    def __init__(self, table: str, fields: Sequence[str], conflict: str) -> None:
        self.width = len(fields)
        cols = ", ".join(f'"{f}"' for f in fields)
        self._head = f"INSERT INTO {table} ({cols}) VALUES "
        self._row = "(" + ", ".join("?" * self.width) + ")"
        self._conflict = " " + conflict
        self._sql: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        text = self._sql.get(rows)
        if text is None:
            text = self._head + ", ".join([self._row] * rows) + self._conflict
            self._sql[rows] = text
        return text

    def run(self, conn: sqlite3.Connection, values: list[Any], chunk: int) -> None:
        """Insert the rows of the flat ``values`` in order: statements of ``chunk`` rows, then
        the remainder in power-of-two pieces (so the statements are few and stay in sqlite3's
        statement cache)."""
        width = self.width
        total, start = len(values) // width, 0
        while start < total:
            size = chunk
            while size > total - start:
                size >>= 1
            conn.execute(self.sql(size), values[start * width : (start + size) * width])
            start += size


_SPANS: Final = _Insert(
    "spans",
    Span._fields,
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f'"{f}" = excluded."{f}"' for f in Span._fields if f != "id")
    + " WHERE spans.end_time IS NULL AND excluded.end_time IS NOT NULL",
)
_EVENTS: Final = _Insert("events", Event._fields, "ON CONFLICT(id) DO NOTHING")
_METRICS: Final = _Insert("metrics", Metric._fields, "ON CONFLICT(id) DO NOTHING")
SPAN_SQL: Final = _SPANS.sql(1)
EVENT_SQL: Final = _EVENTS.sql(1)
METRIC_SQL: Final = _METRICS.sql(1)
SESSION_SQL: Final = (
    "INSERT INTO sessions (id, project, started_at, last_seen_at, hostname, pid)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
    " started_at = min(sessions.started_at, excluded.started_at),"
    " last_seen_at = max(sessions.last_seen_at, excluded.last_seen_at)"
)
SESSION_END_SQL: Final = (
    "INSERT INTO sessions (id, project, started_at, last_seen_at, ended_at, hostname, pid,"
    " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
    " ended_at = excluded.ended_at, summary = excluded.summary,"
    " last_seen_at = max(sessions.last_seen_at, excluded.last_seen_at)"
)

_span_rows: Final = flat_builder(
    Span._fields, _SPAN_TIMES, _JSON_FIELDS, nullable_times=("end_time",)
)
_event_rows: Final = flat_builder(Event._fields, ("timestamp",), _JSON_FIELDS)
_metric_rows: Final = flat_builder(Metric._fields, ("timestamp",), _JSON_FIELDS)

# Per batch: session id → [project, earliest ns, latest ns].
_Values = list[Any]


def _install_adapters() -> None:
    """Make binding ``None`` and ``bool`` cheap (process-wide, semantically a no-op).

    The sqlite3 module binds only exact int/float/str/bytes without an adapter lookup; for
    ``None`` the failed lookup (a registry miss, then ``__adapt__`` and ``__conform__``
    probes) costs ~0.2 µs per value, and a span row carries ~20 ``None`` fields. A
    registered adapter returning the same value short-cuts that to a dict hit: ``None``
    still binds as NULL, ``True`` as 1. Adapters someone else registered are left alone.
    """
    protocol = sqlite3.PrepareProtocol
    if (type(None), protocol) not in sqlite3.adapters:
        identity: Callable[[None], None] = cast(Callable[[None], None], {}.get)
        sqlite3.register_adapter(type(None), identity)  # {}.get(None) is None, in C
    if (bool, protocol) not in sqlite3.adapters:
        sqlite3.register_adapter(bool, int)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _scrub(values: list[Any]) -> list[Any]:
    """Values with unencodable text (lone surrogates) replaced — the slow path of a rare case."""
    return [_clean(v) for v in values]


class SQLiteExporter:
    """Writes batches of records into a SQLite database file (created with its directory and
    schema on first export).

    ``busy_timeout`` is how long SQLite itself waits for another writer's lock per attempt;
    ``lock_timeout`` bounds the whole export, retries included, before it raises.
    """

    name = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        auto_upgrade: bool = True,
        busy_timeout: float = 2.0,
        lock_timeout: float = 15.0,
    ) -> None:
        if isinstance(path, str) and path.startswith("sqlite:"):
            resolved = sqlite_path(path)
            assert resolved is not None
            path = resolved
        # Resolved now: the file must not move if the application changes directory later.
        self.path = Path(path).absolute()
        self.url = "sqlite:///" + self.path.as_posix()
        self._auto_upgrade = auto_upgrade
        self._busy_timeout = busy_timeout
        self._lock_timeout = lock_timeout
        self._hostname = socket.gethostname()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._schema_ready = False
        self._closed = False
        self._projects: dict[str, str] = {}
        self._chunks: dict[_Insert, int] = {}

    # -- the exporter contract -------------------------------------------------------------

    def export(self, batch: Sequence[Record]) -> None:
        """Store a batch in one transaction; raises on failure (nothing of it is stored)."""
        if self._closed:
            raise ExporterError("the sqlite exporter is shut down")
        if not batch:
            return
        if os.getpid() != self._pid:
            self.after_fork()
        spans, events, metrics, bounds = self._rows(batch)
        sessions = [
            (sid, b[0], format_ns(b[1]), format_ns(b[2]), self._hostname, self._pid)
            for sid, b in bounds.items()
        ]
        with self._lock:
            try:
                self._write(spans, events, metrics, sessions)
            except UnicodeEncodeError:
                sessions = [tuple(map(_clean, row)) for row in sessions]
                self._write(_scrub(spans), _scrub(events), _scrub(metrics), sessions)
        if len(self._projects) > 1024:
            self._projects.clear()
        for sid, b in bounds.items():
            self._projects[sid] = b[0]

    def force_flush(self, timeout: float | None = None) -> bool:
        """Nothing is buffered: every export commits before it returns."""
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def after_fork(self) -> None:
        """In a forked child: forget the inherited connection (never close it: that would
        release the parent's locks); a fresh one is opened on the next export."""
        self._lock = threading.Lock()
        if self._conn is not None:
            _ABANDONED.append(self._conn)
            self._conn = None
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
            raise ExporterError("the sqlite exporter is shut down")
        if os.getpid() != self._pid:
            self.after_fork()
        ended = format_ns(ended_at_ns)
        row = (
            session_id,
            project or self._projects.get(session_id, "default"),
            ended,
            ended,
            ended,
            self._hostname,
            self._pid,
            dumps_json(summary),
        )
        with self._lock:
            self._transaction(lambda conn: conn.execute(SESSION_END_SQL, row))

    # -- internals ------------------------------------------------------------------------

    def _rows(self, batch: Sequence[Record]) -> tuple[_Values, _Values, _Values, Bounds]:
        span_records: list[Span] = []
        event_records: list[Event] = []
        metric_records: list[Metric] = []
        add_span, add_event, add_metric = (
            span_records.append,
            event_records.append,
            metric_records.append,
        )
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
        spans = _span_rows(span_records) if span_records else []
        events = _event_rows(event_records) if event_records else []
        metrics = _metric_rows(metric_records) if metric_records else []
        return (
            spans,
            events,
            metrics,
            session_bounds(batch, span_records, event_records, metric_records),
        )

    def _connect(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < (3, 24, 0):
            raise ExporterError(
                f"SQLite {sqlite3.sqlite_version} is too old for the store (3.24+ needed: UPSERT)"
            )
        if not self._schema_ready:
            from ._migrate import ensure_schema

            ensure_schema(self.url, auto_upgrade=self._auto_upgrade)
            self._schema_ready = True
        _install_adapters()
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )
        try:
            for pragma in _PRAGMAS:
                conn.execute(pragma)
            variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except BaseException:
            conn.close()
            raise
        # Rows per statement: a power of two within the bound-variable limit (32766 since
        # SQLite 3.32, 999 before).
        self._chunks = {
            ins: 1 << (max(1, min(_CHUNK, variables // ins.width)).bit_length() - 1)
            for ins in (_SPANS, _EVENTS, _METRICS)
        }
        self._conn = conn
        return conn

    def _reset(self) -> None:
        """Drop the connection after an unexpected database error: the next export opens a
        fresh one (the file may have been replaced or the connection broken)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(sqlite3.Error):
                conn.close()

    def _write(
        self,
        spans: _Values,
        events: _Values,
        metrics: _Values,
        sessions: list[tuple[Any, ...]],
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            chunks = self._chunks
            if spans:
                _SPANS.run(conn, spans, chunks[_SPANS])
            if events:
                _EVENTS.run(conn, events, chunks[_EVENTS])
            if metrics:
                _METRICS.run(conn, metrics, chunks[_METRICS])
            if sessions:
                conn.executemany(SESSION_SQL, sessions)

        self._transaction(run)

    def _transaction(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """Run ``work`` in one write transaction, retrying while the database is busy."""
        deadline = time.monotonic() + self._lock_timeout
        delay = 0.002
        while True:
            try:
                conn = self._conn or self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        with suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    self._reset()
                    raise
                if time.monotonic() + delay > deadline:
                    raise ExporterError(
                        f"{self.path}: database still locked after {self._lock_timeout:g}s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.2)
