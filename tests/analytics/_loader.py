"""Loads records into a store database with plain SQLAlchemy Core inserts (for PostgreSQL,
whose exporter is not part of the store yet), following the store's idempotency rule: a span
replaces a stored one only when the stored one is a running snapshot (no ``end_time``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracehound.model import Event, Metric, Record, Span


def final_records(records: Sequence[Record]) -> list[Record]:
    """One record per id: the final form of each span (snapshots give way)."""
    out: dict[tuple[str, str], Record] = {}
    for rec in records:
        key = (type(rec).__name__, rec.id)
        seen = out.get(key)
        if seen is None or (
            isinstance(rec, Span)
            and isinstance(seen, Span)
            and seen.end_time is None
            and rec.end_time is not None
        ):
            out[key] = rec
    return list(out.values())


def load(url: str, records: Sequence[Record]) -> None:
    """Create the schema (migrations) and insert ``records``."""
    from sqlalchemy import insert

    from tracehound.store import ensure_schema, events, make_engine, metrics, sessions, spans

    ensure_schema(url)
    tables = {Span: spans, Event: events, Metric: metrics}
    rows: dict[Any, list[dict[str, Any]]] = {spans: [], events: [], metrics: []}
    bounds: dict[str, list[Any]] = {}
    for rec in final_records(records):
        rows[tables[type(rec)]].append(rec._asdict())
        lo = rec.start_time if isinstance(rec, Span) else rec.timestamp
        hi = (rec.end_time or lo) if isinstance(rec, Span) else lo
        seen = bounds.setdefault(rec.session_id, [rec.project, lo, hi])
        seen[1], seen[2] = min(seen[1], lo), max(seen[2], hi)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table, values in rows.items():
                if values:
                    conn.execute(insert(table), values)
            for sid, (project, lo, hi) in bounds.items():
                conn.execute(
                    insert(sessions).values(id=sid, project=project, started_at=lo, last_seen_at=hi)
                )
    finally:
        engine.dispose()
