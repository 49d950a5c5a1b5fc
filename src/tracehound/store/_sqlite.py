"""The SQLite exporter: the embedded default store.

The ingest path uses the stdlib ``sqlite3`` module directly (no SQLAlchemy): one
``BEGIN IMMEDIATE`` transaction per batch, ``executemany`` over tuples built by row
functions generated once from the record field order, JSON encoded with orjson, times
formatted by a per-second-cached formatter. Several processes may write to one file: the
database runs in WAL mode, and a busy database is retried with a short backoff for a
bounded time before the export fails (the pipeline then spools the batch).

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
from pathlib import Path
from typing import Any, Final

from ..exceptions import ExporterError
from ..model import Event, Metric, Record, Span
from ._engine import sqlite_path
from ._rows import dumps_json, row_builder
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

_SPAN_TIMES: Final = ("start_time", "end_time")
_JSON_FIELDS: Final = ("input", "output", "attributes", "data", "tags")


def _insert(table: str, fields: Sequence[str]) -> str:
    cols = ", ".join(f'"{f}"' for f in fields)
    marks = ", ".join("?" * len(fields))
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"


SPAN_SQL: Final = (
    _insert("spans", Span._fields)
    + " ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f'"{f}" = excluded."{f}"' for f in Span._fields if f != "id")
    + " WHERE spans.end_time IS NULL AND excluded.end_time IS NOT NULL"
)
EVENT_SQL: Final = _insert("events", Event._fields) + " ON CONFLICT(id) DO NOTHING"
METRIC_SQL: Final = _insert("metrics", Metric._fields) + " ON CONFLICT(id) DO NOTHING"
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

_span_row: Final = row_builder(Span._fields, _SPAN_TIMES, _JSON_FIELDS)
_event_row: Final = row_builder(Event._fields, ("timestamp",), _JSON_FIELDS)
_metric_row: Final = row_builder(Metric._fields, ("timestamp",), _JSON_FIELDS)

# Per batch: session id → [project, earliest ns, latest ns].
_Bounds = dict[str, list[Any]]
_Rows = list[tuple[Any, ...]]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _scrub(rows: _Rows) -> _Rows:
    """Rows with unencodable text (lone surrogates) replaced — the slow path of a rare case."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.encode("utf-8", "replace").decode("utf-8")
        return value

    return [tuple(clean(v) for v in row) for row in rows]


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
        self.path = Path(path)
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
                self._write(_scrub(spans), _scrub(events), _scrub(metrics), _scrub(sessions))
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

    def _rows(self, batch: Sequence[Record]) -> tuple[_Rows, _Rows, _Rows, _Bounds]:
        spans: _Rows = []
        events: _Rows = []
        metrics: _Rows = []
        bounds: _Bounds = {}
        span_row, event_row, metric_row = _span_row, _event_row, _metric_row
        for record in batch:
            cls = type(record)
            if cls is Span:
                spans.append(span_row(record))
                lo = record.start_time  # type: ignore[union-attr]
                hi = record.end_time or lo  # type: ignore[union-attr]
            elif cls is Event:
                events.append(event_row(record))
                lo = hi = record.timestamp  # type: ignore[union-attr]
            elif cls is Metric:
                metrics.append(metric_row(record))
                lo = hi = record.timestamp  # type: ignore[union-attr]
            else:
                raise TypeError(f"not a record: {cls.__name__}")
            seen = bounds.get(record.session_id)
            if seen is None:
                bounds[record.session_id] = [record.project, lo, hi]
            else:
                if lo < seen[1]:
                    seen[1] = lo
                if hi > seen[2]:
                    seen[2] = hi
        return spans, events, metrics, bounds

    def _connect(self) -> sqlite3.Connection:
        if not self._schema_ready:
            from ._migrate import ensure_schema

            ensure_schema(self.url, auto_upgrade=self._auto_upgrade)
            self._schema_ready = True
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            for pragma in _PRAGMAS:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _write(self, spans: _Rows, events: _Rows, metrics: _Rows, sessions: _Rows) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if spans:
                conn.executemany(SPAN_SQL, spans)
            if events:
                conn.executemany(EVENT_SQL, events)
            if metrics:
                conn.executemany(METRIC_SQL, metrics)
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
                        conn.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise ExporterError(
                        f"{self.path}: database still locked after {self._lock_timeout:g}s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.2)
