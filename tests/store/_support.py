"""Record factories and a plain SQLAlchemy writer for the store tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracehound.model import Event, Metric, Record, Span, new_id


def insert_records(url: str, records: Sequence[Record]) -> None:
    """Insert records with SQLAlchemy Core (no idempotency rules; for reader tests)."""
    from sqlalchemy import func

    from tracehound.store import events, make_engine, metrics, sessions, spans

    tables = {Span: spans, Event: events, Metric: metrics}
    bounds: dict[str, list[Any]] = {}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for record in records:
                conn.execute(tables[type(record)].insert().values(**record._asdict()))
                lo = getattr(record, "start_time", None) or record.timestamp  # type: ignore[union-attr]
                hi = getattr(record, "end_time", None) or lo
                seen = bounds.setdefault(record.session_id, [record.project, lo, hi])
                seen[1], seen[2] = min(seen[1], lo), max(seen[2], hi)
            for sid, (project, lo, hi) in bounds.items():
                found = conn.execute(
                    sessions.select().where(sessions.c.id == sid).with_only_columns(func.count())
                ).scalar_one()
                if not found:
                    conn.execute(
                        sessions.insert().values(
                            id=sid, project=project, started_at=lo, last_seen_at=hi
                        )
                    )
    finally:
        engine.dispose()


# -- record factories -----------------------------------------------------------------------

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z, in ns


def make_span(**fields: Any) -> Span:
    values: dict[str, Any] = {
        "id": new_id(),
        "trace_id": "trace-1",
        "parent_id": None,
        "session_id": "session-1",
        "project": "default",
        "kind": "task",
        "name": "work",
        "status": "success",
        "start_time": T0,
        "end_time": T0 + 1_500_000,
        "duration_ms": 1.5,
    }
    values.update(fields)
    return Span(**values)


def make_event(**fields: Any) -> Event:
    values: dict[str, Any] = {
        "id": new_id(),
        "trace_id": "trace-1",
        "span_id": None,
        "session_id": "session-1",
        "project": "default",
        "timestamp": T0 + 500_000,
        "type": "log",
        "name": "note",
    }
    values.update(fields)
    return Event(**values)


def make_metric(**fields: Any) -> Metric:
    values: dict[str, Any] = {
        "id": new_id(),
        "session_id": "session-1",
        "project": "default",
        "timestamp": T0 + 700_000,
        "name": "latency",
        "value": 12.5,
    }
    values.update(fields)
    return Metric(**values)
