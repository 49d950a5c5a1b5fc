"""The exporter the server writes with, per database.

SQLite: the store's :class:`~tracehound.store.SQLiteExporter`. PostgreSQL: the store's
``PostgresExporter`` when this build has it; otherwise a small SQLAlchemy Core exporter with
the same idempotency rules (``docs/data-model.md``): a span replaces the stored one only when
the stored one has no ``end_time`` and the incoming one has one; duplicate events and metrics
are ignored; session rows are created or widened.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..model import Event, Metric, Record, Span
from ..store._engine import dialect_of, make_engine
from ..store._schema import events, metrics, sessions, spans

__all__ = ["SqlAlchemyPgExporter", "make_exporter"]

log = logging.getLogger("tracehound.api")
_ROWS_PER_STATEMENT = 1000


def make_exporter(url: str) -> Any:
    """The store exporter for ``url`` (schema already ensured by the caller)."""
    if dialect_of(url) == "sqlite":
        from ..store._sqlite import SQLiteExporter

        return SQLiteExporter(url)
    try:
        module = importlib.import_module("tracehound.store._postgres")
        exporter_cls = module.PostgresExporter
    except (ImportError, AttributeError):
        log.info("the store has no PostgresExporter in this build; using the server's own")
        return SqlAlchemyPgExporter(url)
    return exporter_cls(url)


class SqlAlchemyPgExporter:
    """Writes batches into PostgreSQL with SQLAlchemy Core (one transaction per batch)."""

    name = "postgresql"

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url, pool_size=2)
        span_cols = [c for c in Span._fields if c != "id"]
        base = pg_insert(spans)
        self._spans = base.on_conflict_do_update(
            index_elements=[spans.c.id],
            set_={c: base.excluded[c] for c in span_cols},
            where=spans.c.end_time.is_(None) & base.excluded.end_time.is_not(None),
        )
        self._events = pg_insert(events).on_conflict_do_nothing(index_elements=[events.c.id])
        self._metrics = pg_insert(metrics).on_conflict_do_nothing(index_elements=[metrics.c.id])
        sess = pg_insert(sessions)
        self._sessions = sess.on_conflict_do_update(
            index_elements=[sessions.c.id],
            set_={
                "started_at": func.least(sessions.c.started_at, sess.excluded.started_at),
                "last_seen_at": func.greatest(sessions.c.last_seen_at, sess.excluded.last_seen_at),
            },
        )

    def export(self, batch: Sequence[Record]) -> None:
        span_rows: dict[str, dict[str, Any]] = {}
        event_rows: list[dict[str, Any]] = []
        metric_rows: list[dict[str, Any]] = []
        bounds: dict[str, list[Any]] = {}
        for rec in batch:
            if isinstance(rec, Span):
                # One row per id (a statement may not update a row twice): a running
                # snapshot gives way to a final span, any other duplicate is ignored.
                prior = span_rows.get(rec.id)
                if prior is None or (prior["end_time"] is None and rec.end_time is not None):
                    span_rows[rec.id] = rec._asdict()
                lo, hi = rec.start_time, rec.end_time or rec.start_time
            elif isinstance(rec, Event):
                event_rows.append(rec._asdict())
                lo = hi = rec.timestamp
            elif isinstance(rec, Metric):
                metric_rows.append(rec._asdict())
                lo = hi = rec.timestamp
            else:
                raise TypeError(f"not a record: {type(rec).__name__}")
            seen = bounds.get(rec.session_id)
            if seen is None:
                bounds[rec.session_id] = [rec.project, lo, hi]
            else:
                seen[1], seen[2] = min(seen[1], lo), max(seen[2], hi)
        session_rows = [
            {"id": sid, "project": b[0], "started_at": b[1], "last_seen_at": b[2]}
            for sid, b in bounds.items()
        ]
        with self.engine.begin() as conn:
            for stmt, rows in (
                (self._spans, list(span_rows.values())),
                (self._events, event_rows),
                (self._metrics, metric_rows),
                (self._sessions, session_rows),
            ):
                for start in range(0, len(rows), _ROWS_PER_STATEMENT):
                    conn.execute(stmt, rows[start : start + _ROWS_PER_STATEMENT])

    def force_flush(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        self.engine.dispose()
