"""Server-sent events of new traces, spans and events, per project.

Two sources feed the subscribers of a project:

* the ingest writer, right after each commit (``publish`` from its thread);
* a poller, while anyone listens, for records that other writers put into the store (an SDK
  writing to the same SQLite file or PostgreSQL database): every ``interval`` seconds it reads
  the project's records that started since the last poll (minus a lag for late writers),
  skipping ids already sent.

Each subscriber has a bounded queue; a slow one loses records and gets a ``lagged`` event
with the number lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from sqlalchemy import Engine, select

from ..model import Event, Record, Span
from ..store._schema import events as E
from ..store._schema import spans as S
from ..store._time import datetime_to_ns

__all__ = ["Broadcaster", "span_summary"]

log = logging.getLogger("tracehound.api")

_QUEUE_SIZE: Final = 2000
_SEEN: Final = 50_000
_LAG: Final = timedelta(seconds=30)
_POLL_LIMIT: Final = 2000


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    return dt.isoformat().replace("+00:00", "Z")


def span_summary(span: Span) -> dict[str, Any]:
    return {
        "id": span.id,
        "trace_id": span.trace_id,
        "parent_id": span.parent_id,
        "session_id": span.session_id,
        "kind": span.kind,
        "name": span.name,
        "status": span.status,
        "agent_name": span.agent_name,
        "start_time": _iso(span.start_time),
        "end_time": _iso(span.end_time),
        "duration_ms": span.duration_ms,
        "provider": span.provider,
        "model": span.model,
        "total_tokens": span.total_tokens,
        "total_cost": span.total_cost,
        "error_type": span.error_type,
        "error_message": span.error_message,
    }


def event_summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "trace_id": event.trace_id,
        "span_id": event.span_id,
        "session_id": event.session_id,
        "type": event.type,
        "name": event.name,
        "level": event.level,
        "agent_name": event.agent_name,
        "timestamp": _iso(event.timestamp),
        "message": event.message,
    }


@dataclass(eq=False)
class Subscriber:
    project: str
    kinds: frozenset[str]
    queue: asyncio.Queue[tuple[str, str, bytes]] = field(
        default_factory=lambda: asyncio.Queue(_QUEUE_SIZE)
    )
    lost: int = 0


@dataclass
class _ProjectState:
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    watermark: datetime = field(default_factory=lambda: datetime.now(UTC))


class Broadcaster:
    """Fans new records out to the SSE subscribers of their project."""

    def __init__(self, engine: Engine | None, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._subs: dict[str, set[Subscriber]] = {}
        self._state: dict[str, _ProjectState] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None

    # -- subscription ------------------------------------------------------------------------
    def subscribe(self, project: str, kinds: Iterable[str]) -> Subscriber:
        loop = asyncio.get_running_loop()
        self._loop = loop
        sub = Subscriber(project, frozenset(kinds))
        self._subs.setdefault(project, set()).add(sub)
        self._state.setdefault(project, _ProjectState())
        if self.engine is not None and (self._poller is None or self._poller.done()):
            self._poller = loop.create_task(self._poll_forever())
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.project)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.project]
                self._state.pop(sub.project, None)

    @property
    def subscribers(self) -> int:
        return sum(len(s) for s in self._subs.values())

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
            self._poller = None

    # -- publishing --------------------------------------------------------------------------
    def publish_threadsafe(self, project: str, records: list[Record]) -> None:
        """From any thread (the ingest writer): schedule :meth:`publish` on the loop."""
        loop = self._loop
        if loop is None or project not in self._subs or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self.publish, project, records)

    def publish(self, project: str, records: Iterable[Record]) -> None:
        subs = self._subs.get(project)
        state = self._state.get(project)
        if not subs or state is None:
            return
        messages: list[tuple[str, str, bytes]] = []
        for rec in records:
            if rec.id in state.seen:
                continue
            state.seen[rec.id] = None
            if len(state.seen) > _SEEN:
                state.seen.popitem(last=False)
            if type(rec) is Span:
                data = orjson.dumps(span_summary(rec))
                if rec.parent_id is None:
                    messages.append(("trace", rec.id, data))
                messages.append(("span", rec.id, data))
            elif type(rec) is Event:
                messages.append(("event", rec.id, orjson.dumps(event_summary(rec))))
        if not messages:
            return
        for sub in subs:
            for message in messages:
                if message[0] not in sub.kinds:
                    continue
                try:
                    sub.queue.put_nowait(message)
                except asyncio.QueueFull:
                    sub.lost += 1

    # -- polling the store -------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        while self._subs:
            await asyncio.sleep(self.interval)
            for project in list(self._subs):
                state = self._state.get(project)
                if state is None:
                    continue
                try:
                    records, newest = await asyncio.to_thread(self._poll, project, state.watermark)
                except Exception as exc:  # the store may be briefly unavailable
                    log.debug("stream poll failed: %s", exc)
                    continue
                if newest is not None and newest > state.watermark:
                    state.watermark = newest
                self.publish(project, records)

    def _poll(self, project: str, watermark: datetime) -> tuple[list[Record], datetime | None]:
        assert self.engine is not None
        since = watermark - _LAG
        span_cols = [S.c[c] for c in Span._fields]
        event_cols = [E.c[c] for c in Event._fields]
        with self.engine.connect() as conn:
            span_rows = conn.execute(
                select(*span_cols)
                .where(S.c.project == project, S.c.start_time >= since)
                .order_by(S.c.start_time)
                .limit(_POLL_LIMIT)
            ).all()
            event_rows = conn.execute(
                select(*event_cols)
                .where(E.c.project == project, E.c.timestamp >= since)
                .order_by(E.c.timestamp)
                .limit(_POLL_LIMIT)
            ).all()
        out: list[Record] = []
        newest: datetime | None = None
        for row in span_rows:
            values = list(row)
            start, end = values[8], values[9]
            newest = start if newest is None or start > newest else newest
            values[8] = datetime_to_ns(start)
            values[9] = None if end is None else datetime_to_ns(end)
            values[22] = values[22] or {}
            out.append(Span._make(values))
        for row in event_rows:
            values = list(row)
            ts = values[5]
            newest = ts if newest is None or ts > newest else newest
            values[5] = datetime_to_ns(ts)
            values[13] = values[13] or {}
            out.append(Event._make(values))
        # never move the watermark past "now" (clock skew of writers)
        now = datetime.now(UTC)
        if newest is not None and newest > now:
            newest = now
        return out, newest


def sse_message(kind: str, ident: str, data: bytes) -> bytes:
    safe_id = ident.replace("\n", " ").replace("\r", " ")
    return b"event: " + kind.encode() + b"\nid: " + safe_id.encode() + b"\ndata: " + data + b"\n\n"
