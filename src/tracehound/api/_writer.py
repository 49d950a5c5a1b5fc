"""The single batched writer that owns every ingest transaction of the server.

Request handlers validate records and hand them to :class:`IngestWriter` (``submit``); one
thread takes what is queued (several requests' records at once, up to ``max_batch``), checks
ownership, and stores them with the store's exporter (:class:`~tracehound.store.SQLiteExporter`
or the PostgreSQL exporter) in one transaction. Each request's future resolves when its
records are committed, so a 200/207 means stored. The exporters are idempotent on record id.

Backpressure: the queue holds at most ``max_queue_records`` records; beyond that ``submit``
raises :class:`QueueFull` and the handler answers 503 with ``Retry-After``.

Project isolation on write (``OwnershipGuard``): record ids are primary keys across projects,
so a record whose id, trace id, parent span or referenced span belongs to *another* project
is rejected (its per-record error says which field) instead of touching that project's data;
a session id already used by another project is stored as ``<session_id>@<project>``
(deterministic, so replays stay idempotent).

If a combined batch fails in the database, each request's records are retried alone, then
record by record, so one bad record becomes a per-record error instead of failing the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, text

from ..model import Event, Metric, Record, Span

__all__ = ["IngestResult", "IngestWriter", "OwnershipGuard", "QueueFull", "RecordError"]

log = logging.getLogger("tracehound.api")


class QueueFull(Exception):
    """The writer's queue is full (backpressure)."""


@dataclass(frozen=True, slots=True)
class RecordError:
    index: int
    id: str | None
    field: str
    message: str


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    errors: list[RecordError] = field(default_factory=list)
    stored: list[Record] = field(default_factory=list)


class _Job:
    __slots__ = ("fn", "future", "indices", "project", "records")

    def __init__(
        self,
        project: str,
        records: list[Record],
        indices: list[int],
        fn: Callable[[], Any] | None = None,
    ) -> None:
        self.project = project
        self.records = records
        self.indices = indices
        self.fn = fn
        self.future: Future[Any] = Future()


class _Lru:
    """A bounded id → project map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def discard(self, key: str) -> None:
        self._data.pop(key, None)


class OwnershipGuard:
    """Finds records that would touch another project's data (see the module docstring)."""

    def __init__(self, engine: Engine, *, cache_size: int = 200_000) -> None:
        self.engine = engine
        self._traces = _Lru(cache_size)
        self._sessions = _Lru(cache_size)

    def _foreign(self, conn: Any, table: str, column: str, ids: set[str], project: str) -> set[str]:
        """The ``ids`` found in ``table.column`` under another project. One statement per
        table, the ids bound as a single parameter (a JSON array on SQLite, an array on
        PostgreSQL): no per-id SQL, however large the batch."""
        if not ids:
            return set()
        if conn.dialect.name == "postgresql":
            sql = f"SELECT DISTINCT {column} FROM {table} WHERE {column} = ANY(:ids) AND project <> :p"
            params: dict[str, Any] = {"ids": list(ids), "p": project}
        else:
            sql = (
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN "
                "(SELECT value FROM json_each(:ids)) AND project <> :p"
            )
            params = {"ids": orjson.dumps(list(ids)).decode(), "p": project}
        return {str(row[0]) for row in conn.execute(text(sql), params)}

    def check(
        self, project: str, records: Sequence[Record]
    ) -> tuple[list[Record | None], dict[int, tuple[str, str]]]:
        """``(records, rejected)``: the records with foreign session ids renamed (``None``
        where rejected) and position → ``(field, message)`` of the rejected ones."""
        span_ids = {r.id for r in records if type(r) is Span}
        span_refs = set(span_ids)
        event_ids: set[str] = set()
        metric_ids: set[str] = set()
        for rec in records:
            if type(rec) is Span:
                if rec.parent_id is not None:
                    span_refs.add(rec.parent_id)
            elif type(rec) is Event:
                event_ids.add(rec.id)
                if rec.span_id is not None:
                    span_refs.add(rec.span_id)
            elif type(rec) is Metric:
                metric_ids.add(rec.id)
                if rec.span_id is not None:
                    span_refs.add(rec.span_id)
        known_traces, known_sessions = self._traces, self._sessions
        trace_refs = {
            t
            for t in {r.trace_id for r in records if r.trace_id is not None}
            if known_traces.get(t) != project
        }
        session_refs = {
            s for s in {r.session_id for r in records} if known_sessions.get(s) != project
        }
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Every lookup here is by an indexed key; without statistics yet (a young,
                # bulk-loaded partition) the planner would scan whole partitions instead, or
                # start parallel workers (tens of ms) for a few index probes.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
                conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            foreign_spans = self._foreign(conn, "spans", "id", span_refs, project)
            foreign_traces = self._foreign(conn, "spans", "trace_id", trace_refs, project)
            foreign_events = self._foreign(conn, "events", "id", event_ids, project)
            foreign_metrics = self._foreign(conn, "metrics", "id", metric_ids, project)
            foreign_sessions = self._foreign(conn, "sessions", "id", session_refs, project)
        for sid in session_refs - foreign_sessions:
            known_sessions.put(sid, project)
        if not (
            foreign_spans or foreign_traces or foreign_events or foreign_metrics or foreign_sessions
        ):
            return list(records), {}
        rejected: dict[int, tuple[str, str]] = {}
        out: list[Record | None] = []
        for pos, rec in enumerate(records):
            problem = _problem(rec, foreign_spans, foreign_traces, foreign_events, foreign_metrics)
            if problem is not None:
                rejected[pos] = problem
                out.append(None)
                continue
            if rec.session_id in foreign_sessions:
                rec = rec._replace(session_id=f"{rec.session_id}@{project}")
            out.append(rec)
        return out, rejected

    def remember(self, project: str, records: Iterable[Record]) -> None:
        traces = {r.trace_id for r in records if r.trace_id is not None}
        for trace in traces:
            self._traces.put(trace, project)
        for session in {r.session_id for r in records}:
            self._sessions.put(session, project)

    def forget_trace(self, trace_id: str) -> None:
        self._traces.discard(trace_id)


def _problem(
    rec: Record,
    foreign_spans: set[str],
    foreign_traces: set[str],
    foreign_events: set[str],
    foreign_metrics: set[str],
) -> tuple[str, str] | None:
    other = "belongs to another project"
    if type(rec) is Span:
        if rec.id in foreign_spans:
            return "id", f"id: a span with this id {other}"
        if rec.parent_id is not None and rec.parent_id in foreign_spans:
            return "parent_id", f"parent_id: the parent span {other}"
    elif type(rec) is Event:
        if rec.id in foreign_events:
            return "id", f"id: an event with this id {other}"
        if rec.span_id is not None and rec.span_id in foreign_spans:
            return "span_id", f"span_id: the span {other}"
    elif type(rec) is Metric:
        if rec.id in foreign_metrics:
            return "id", f"id: a metric with this id {other}"
        if rec.span_id is not None and rec.span_id in foreign_spans:
            return "span_id", f"span_id: the span {other}"
    if rec.trace_id is not None and rec.trace_id in foreign_traces:
        return "trace_id", f"trace_id: the trace {other}"
    return None


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class IngestWriter:
    """One thread writing every accepted record through ``exporter`` (see the module
    docstring). ``on_stored(project, records)`` is called on the writer thread after each
    commit."""

    def __init__(
        self,
        exporter: Any,
        guard: OwnershipGuard,
        *,
        max_queue_records: int = 100_000,
        max_batch: int = 8192,
        on_stored: Callable[[str, list[Record]], None] | None = None,
    ) -> None:
        self.exporter = exporter
        self.guard = guard
        self.max_queue_records = max_queue_records
        self.max_batch = max_batch
        self.on_stored = on_stored
        self._queue: deque[_Job] = deque()
        self._queued_records = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.stats: dict[str, Any] = {
            "accepted": 0,
            "rejected": 0,
            "batches": 0,
            "failed_batches": 0,
            "last_error": None,
            "last_error_at": None,
        }

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="tracehound-ingest-writer", daemon=True
            )
            self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def queued_records(self) -> int:
        return self._queued_records

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued (within ``timeout``), stop the thread, shut the exporter."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        try:
            self.exporter.shutdown()
        except Exception:  # pragma: no cover - best effort
            log.exception("shutting down the store exporter failed")

    # -- submission ------------------------------------------------------------------------
    def submit(self, project: str, records: list[Record], indices: list[int]) -> Future[Any]:
        """Queue records (``indices``: their positions in the request) → a future of
        :class:`IngestResult`. Raises :class:`QueueFull` when the queue is full."""
        job = _Job(project, records, indices)
        n = len(records)
        with self._cond:
            if self._stopping:
                raise QueueFull("the server is shutting down")
            if self._queued_records and self._queued_records + n > self.max_queue_records:
                raise QueueFull(f"{self._queued_records} records are waiting to be written")
            self._queue.append(job)
            self._queued_records += n
            self._cond.notify()
        return job.future

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on the writer thread, in order with the ingest batches."""
        job = _Job("", [], [], fn)
        with self._cond:
            if self._stopping:
                raise QueueFull("the server is shutting down")
            self._queue.append(job)
            self._cond.notify()
        return job.future

    # -- the thread ------------------------------------------------------------------------
    def _take(self) -> list[_Job] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait(0.5)
            first = self._queue.popleft()
            jobs = [first]
            total = len(first.records)
            if first.fn is None:
                while (
                    self._queue
                    and self._queue[0].fn is None
                    and total + len(self._queue[0].records) <= self.max_batch
                ):
                    job = self._queue.popleft()
                    jobs.append(job)
                    total += len(job.records)
            self._queued_records -= total
            return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            if jobs[0].fn is not None:
                job = jobs[0]
                try:
                    job.future.set_result(job.fn())  # type: ignore[misc]
                except BaseException as exc:
                    job.future.set_exception(exc)
                continue
            try:
                self._write(jobs)
            except BaseException as exc:  # never let the thread die
                log.exception("ingest writer failed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _note_failure(self, exc: BaseException) -> None:
        self.stats["failed_batches"] += 1
        self.stats["last_error"] = _describe(exc)
        self.stats["last_error_at"] = time.time()

    def _write(self, jobs: list[_Job]) -> None:
        results: list[IngestResult] = []
        ready: list[list[tuple[int, Record]]] = []
        for job in jobs:
            result = IngestResult()
            try:
                checked, rejected = self.guard.check(job.project, job.records)
            except Exception as exc:
                self._note_failure(exc)
                job.future.set_exception(exc)
                results.append(result)
                ready.append([])
                continue
            for pos, (fieldname, message) in rejected.items():
                rec = job.records[pos]
                result.errors.append(RecordError(job.indices[pos], rec.id, fieldname, message))
            ready.append([(job.indices[p], r) for p, r in enumerate(checked) if r is not None])
            results.append(result)
        live = [i for i, job in enumerate(jobs) if not job.future.done()]
        combined = [rec for i in live for _, rec in ready[i]]
        stored_ok = False
        if combined:
            try:
                self.exporter.export(combined)
                stored_ok = True
            except Exception as exc:
                self._note_failure(exc)
                log.warning("a combined ingest batch failed (%s); retrying per request", exc)
        else:
            stored_ok = True
        for i in live:
            job, result = jobs[i], results[i]
            items = ready[i]
            if stored_ok:
                result.stored = [rec for _, rec in items]
            else:
                self._store_alone(job, items, result)
            result.accepted = len(result.stored)
            result.errors.sort(key=lambda e: e.index)
            self.stats["accepted"] += result.accepted
            self.stats["rejected"] += len(result.errors)
            if result.stored:
                self.guard.remember(job.project, result.stored)
            job.future.set_result(result)
            if result.stored and self.on_stored is not None:
                try:
                    self.on_stored(job.project, result.stored)
                except Exception:  # pragma: no cover - a listener must not break ingest
                    log.exception("ingest listener failed")
        self.stats["batches"] += 1

    def _store_alone(
        self, job: _Job, items: list[tuple[int, Record]], result: IngestResult
    ) -> None:
        records = [rec for _, rec in items]
        try:
            self.exporter.export(records)
            result.stored = records
            return
        except Exception as exc:
            self._note_failure(exc)
            if len(records) <= 1 and not _is_data_error(exc):
                raise
        for index, rec in items:
            try:
                self.exporter.export([rec])
                result.stored.append(rec)
            except Exception as exc:
                if not _is_data_error(exc):
                    # the database itself is failing: the whole request fails (503)
                    raise
                result.errors.append(
                    RecordError(index, rec.id, "record", f"record: not storable ({_describe(exc)})")
                )


def _is_data_error(exc: BaseException) -> bool:
    """Whether a failure is about the data (a record the database refuses) rather than the
    database being unavailable."""
    name = type(exc).__name__
    if name in (
        "OverflowError",
        "ValueError",
        "TypeError",
        "UnicodeEncodeError",
        "IntegrityError",
        "DataError",
        "ProgrammingError",
        "InterfaceError",
    ):
        return name != "InterfaceError"
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and _is_data_error(cause)
