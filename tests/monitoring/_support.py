"""Helpers of the monitoring tests: synthetic stores (SQLite through the exporter, PostgreSQL
through SQLAlchemy Core inserts after the migrations), and a local HTTP receiver."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracehound.model import Record, Span
from tracehound.monitoring._synthetic import HOUR_NS, Injection, synthetic_history

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
END_NS = int(NOW.timestamp()) * 1_000_000_000


def history(
    seed: int = 1,
    injections: Sequence[Injection] = (),
    *,
    end_ns: int = END_NS,
    days: float = 14,
    **kw: Any,
) -> list[Span]:
    return [
        s
        for batch in synthetic_history(
            end_ns=end_ns, days=days, seed=seed, injections=injections, **kw
        )
        for s in batch
    ]


def last_hours(hours: float, end_ns: int = END_NS) -> tuple[int, int]:
    return end_ns - int(hours * HOUR_NS), end_ns


def write_sqlite(path: Path, records: Iterable[Record]) -> str:
    """Records into a SQLite store through the exporter; returns its URL."""
    from tracehound.store._sqlite import SQLiteExporter

    exporter = SQLiteExporter(path)
    batch: list[Record] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= 20_000:
            exporter.export(batch)
            batch = []
    if batch:
        exporter.export(batch)
    exporter.shutdown()
    return f"sqlite:///{path.as_posix()}"


def load_postgres(url: str, records: Sequence[Record]) -> None:
    """Migrate ``url`` to the head revision and insert ``records`` (and their sessions) with
    SQLAlchemy Core."""
    from sqlalchemy import insert

    from tracehound.model import Event, Metric
    from tracehound.store import events, make_engine, metrics, sessions, spans
    from tracehound.store._migrate import upgrade

    upgrade(url)
    tables = {Span: spans, Event: events, Metric: metrics}
    rows: dict[Any, list[dict[str, Any]]] = {spans: [], events: [], metrics: []}
    bounds: dict[str, list[Any]] = {}
    for rec in records:
        rows[tables[type(rec)]].append(rec._asdict())
        lo = rec.start_time if isinstance(rec, Span) else rec.timestamp
        hi = (rec.end_time or lo) if isinstance(rec, Span) else lo
        seen = bounds.setdefault(rec.session_id, [rec.project, lo, hi])
        seen[1], seen[2] = min(seen[1], lo), max(seen[2], hi)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for table, values in rows.items():
                for i in range(0, len(values), 5000):
                    conn.execute(insert(table), values[i : i + 5000])
            for sid, (project, lo, hi) in bounds.items():
                conn.execute(
                    insert(sessions).values(id=sid, project=project, started_at=lo, last_seen_at=hi)
                )
    finally:
        engine.dispose()


@dataclass
class Receiver:
    """A local HTTP server recording the JSON bodies POSTed to it."""

    status: int = 204
    bodies: list[dict[str, Any]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/tracehound"

    def start(self) -> Receiver:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                owner.bodies.append(json.loads(body))
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        server = self.server
        threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [b["alert"] for b in self.bodies]
