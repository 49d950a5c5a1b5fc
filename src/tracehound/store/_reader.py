"""A small read API over the store (SQLAlchemy Core; SQLite and PostgreSQL).

Enough for the CLI and tests to list sessions, open a trace and stream records; the analytics
layer builds its queries on the same tables. Times come back as integer nanoseconds since the
epoch (UTC), like the records; the store keeps microseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, NamedTuple, TypedDict, TypeVar

from sqlalchemy import Engine, Select, Table, and_, case, func, select
from sqlalchemy.engine import Row

from ..model import Event, Metric, Span
from ._engine import make_engine
from ._schema import TABLES, events, metrics, sessions, spans
from ._time import datetime_to_ns

__all__ = ["SessionSummary", "StoreReader", "TableName", "TraceSummary"]

TableName = Literal["spans", "events", "metrics", "sessions"]
_R = TypeVar("_R", Span, Event, Metric)
_TIME_FIELDS: Final = frozenset({"start_time", "end_time", "timestamp"})
_DICT_FIELDS: Final = frozenset({"attributes", "data", "tags"})
_FAILED: Final = ("failed", "timeout")
_ERROR_LEVELS: Final = ("ERROR", "CRITICAL")


class SessionSummary(TypedDict):
    id: str
    project: str
    started_at: int
    last_seen_at: int
    ended_at: int | None
    hostname: str | None
    pid: int | None
    summary: dict[str, Any] | None
    span_count: int
    event_count: int
    error_count: int
    """Failed or timed-out spans plus ERROR/CRITICAL events."""


class TraceSummary(TypedDict):
    trace_id: str
    span_id: str
    session_id: str
    project: str
    name: str
    kind: str
    agent_name: str | None
    status: str
    start_time: int
    end_time: int | None
    duration_ms: float | None
    span_count: int


class _Layout(NamedTuple):
    cls: type[Any]
    table: Table
    times: tuple[int, ...]
    dicts: tuple[int, ...]


def _layout(cls: type[Any], table: Table) -> _Layout:
    fields: tuple[str, ...] = cls._fields
    assert fields == tuple(table.c.keys()), f"{table.name} columns differ from {cls.__name__}"
    return _Layout(
        cls,
        table,
        tuple(i for i, f in enumerate(fields) if f in _TIME_FIELDS),
        tuple(i for i, f in enumerate(fields) if f in _DICT_FIELDS),
    )


_SPANS: Final = _layout(Span, spans)
_EVENTS: Final = _layout(Event, events)
_METRICS: Final = _layout(Metric, metrics)


def _ns(value: datetime | None) -> int | None:
    return None if value is None else datetime_to_ns(value)


def _record(layout: _Layout, row: Sequence[Any]) -> Any:
    values = list(row)
    for i in layout.times:
        if values[i] is not None:
            values[i] = datetime_to_ns(values[i])
    for i in layout.dicts:
        if values[i] is None:
            values[i] = {}
    return layout.cls._make(values)


def _prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (code point order)."""
    last = ord(prefix[-1]) + 1
    if last > 0x10FFFF:
        return None
    if 0xD800 <= last <= 0xDFFF:
        last = 0xE000
    return prefix[:-1] + chr(last)


class StoreReader:
    """Reads records and summaries from the store at ``url`` (``sqlite:///…`` or
    ``postgresql://…``). It does not create or upgrade the schema: call
    :func:`~tracehound.store.ensure_schema` first when the database may be new."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        self.dialect_name: str = self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- counts and sessions --------------------------------------------------------------

    def count(self, table: TableName) -> int:
        """Number of rows in one of the store's tables."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one())

    def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """The most recently active sessions, newest first, with record and error counts."""
        query = (
            select(sessions).order_by(sessions.c.last_seen_at.desc(), sessions.c.id).limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            ids = [r["id"] for r in rows]
            span_counts = self._counts(conn, spans, spans.c.status.in_(_FAILED), ids)
            event_counts = self._counts(conn, events, events.c.level.in_(_ERROR_LEVELS), ids)
        out: list[SessionSummary] = []
        for r in rows:
            n_spans, span_errors = span_counts.get(r["id"], (0, 0))
            n_events, event_errors = event_counts.get(r["id"], (0, 0))
            out.append(
                SessionSummary(
                    id=r["id"],
                    project=r["project"],
                    started_at=datetime_to_ns(r["started_at"]),
                    last_seen_at=datetime_to_ns(r["last_seen_at"]),
                    ended_at=_ns(r["ended_at"]),
                    hostname=r["hostname"],
                    pid=r["pid"],
                    summary=r["summary"],
                    span_count=n_spans,
                    event_count=n_events,
                    error_count=span_errors + event_errors,
                )
            )
        return out

    @staticmethod
    def _counts(
        conn: Any, table: Table, is_error: Any, session_ids: list[str]
    ) -> dict[str, tuple[int, int]]:
        if not session_ids:
            return {}
        query = (
            select(
                table.c.session_id,
                func.count(),
                func.coalesce(func.sum(case((is_error, 1), else_=0)), 0),
            )
            .where(table.c.session_id.in_(session_ids))
            .group_by(table.c.session_id)
        )
        return {sid: (int(n), int(errors)) for sid, n, errors in conn.execute(query)}

    # -- traces ---------------------------------------------------------------------------

    def get_trace(self, trace_id: str) -> tuple[list[Span], list[Event]]:
        """Every span (by start time) and event (by timestamp) of one trace."""
        span_query = select(spans).where(spans.c.trace_id == trace_id).order_by(spans.c.start_time)
        event_query = (
            select(events).where(events.c.trace_id == trace_id).order_by(events.c.timestamp)
        )
        with self.engine.connect() as conn:
            found_spans = [_record(_SPANS, row) for row in conn.execute(span_query)]
            found_events = [_record(_EVENTS, row) for row in conn.execute(event_query)]
        return found_spans, found_events

    def find_trace_ids(self, prefix: str, limit: int = 10) -> list[str]:
        """Trace ids starting with ``prefix`` (a short id typed by a person), sorted; an exact
        id is returned alone. Uses the trace_id indexes (a range scan)."""
        if not prefix:
            raise ValueError("an empty trace id prefix matches everything")
        upper = _prefix_upper_bound(prefix)

        def within(table: Table) -> Select[Any]:
            cond = table.c.trace_id >= prefix
            if upper is not None:
                cond = and_(cond, table.c.trace_id < upper)
            # Ordered, so the exact id (the smallest match) is always among the first.
            query = select(table.c.trace_id).where(cond).distinct()
            return query.order_by(table.c.trace_id).limit(limit)

        with self.engine.connect() as conn:
            found: list[str] = sorted(
                {str(row[0]) for table in (spans, events) for row in conn.execute(within(table))}
            )
        if prefix in found:
            return [prefix]
        return [t for t in found if t.startswith(prefix)][:limit]

    def latest_traces(
        self, limit: int = 20, session_id: str | None = None, project: str | None = None
    ) -> list[TraceSummary]:
        """The most recent root spans (``parent_id IS NULL``), newest first."""
        children = spans.alias("children")
        span_count = (
            select(func.count())
            .select_from(children)
            .where(children.c.trace_id == spans.c.trace_id)
            .scalar_subquery()
        )
        query = select(
            spans.c.trace_id,
            spans.c.id,
            spans.c.session_id,
            spans.c.project,
            spans.c.name,
            spans.c.kind,
            spans.c.agent_name,
            spans.c.status,
            spans.c.start_time,
            spans.c.end_time,
            spans.c.duration_ms,
            span_count.label("span_count"),
        ).where(spans.c.parent_id.is_(None))
        if session_id is not None:
            query = query.where(spans.c.session_id == session_id)
        if project is not None:
            query = query.where(spans.c.project == project)
        query = query.order_by(spans.c.start_time.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            TraceSummary(
                trace_id=r.trace_id,
                span_id=r.id,
                session_id=r.session_id,
                project=r.project,
                name=r.name,
                kind=r.kind,
                agent_name=r.agent_name,
                status=r.status,
                start_time=datetime_to_ns(r.start_time),
                end_time=_ns(r.end_time),
                duration_ms=r.duration_ms,
                span_count=int(r.span_count),
            )
            for r in rows
        ]

    # -- streaming ------------------------------------------------------------------------

    def iter_spans(
        self,
        *,
        project: str | None = None,
        session_id: str | None = None,
        trace_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Span]:
        """Spans by start time, streamed (``batch_size`` rows fetched at a time)."""
        return self._iter(_SPANS, "start_time", project, session_id, trace_id, batch_size)

    def iter_events(
        self,
        *,
        project: str | None = None,
        session_id: str | None = None,
        trace_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Event]:
        """Events by timestamp, streamed."""
        return self._iter(_EVENTS, "timestamp", project, session_id, trace_id, batch_size)

    def iter_metrics(
        self,
        *,
        project: str | None = None,
        session_id: str | None = None,
        trace_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Metric]:
        """Metrics by timestamp, streamed."""
        return self._iter(_METRICS, "timestamp", project, session_id, trace_id, batch_size)

    def _iter(
        self,
        layout: _Layout,
        time_column: str,
        project: str | None,
        session_id: str | None,
        trace_id: str | None,
        batch_size: int,
    ) -> Iterator[Any]:
        table = layout.table
        query = select(table)
        if project is not None:
            query = query.where(table.c.project == project)
        if session_id is not None:
            query = query.where(table.c.session_id == session_id)
        if trace_id is not None:
            query = query.where(table.c.trace_id == trace_id)
        query = query.order_by(table.c[time_column], table.c.id)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=batch_size).execute(query)
            row: Row[Any]
            for row in result:
                yield _record(layout, row)
