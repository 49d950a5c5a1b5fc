"""``NatsExporter``: the pipeline exporter that publishes records to JetStream.

It runs inside tracehound's background worker (never on the agent's thread): ``export`` hands
the batch to the exporter's own asyncio loop thread and waits until JetStream confirmed every
message. It raises when it cannot (broker down, stream missing, timeout), and the pipeline's
channel then retries, spools the batch to disk and replays it when the broker is back — so
nothing is lost and the agent never waits. Every record type (spans, events, metrics) takes
this path.

Wire form: one record per message; body = :func:`tracehound.model.encode`; subject
``<subject>.<span|event|metric>``; ``Nats-Msg-Id: <type>:<record id>`` (a span's *running*
snapshot gets ``:running`` appended, so it never hides the final span), so a batch published
twice (a retry, a spool replay) is stored once by the broker within its duplicate window —
and the store is idempotent by id beyond it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ..exceptions import ExporterError
from ..model import Event, Metric, Record, Span
from ..model._codec import encode
from ._jetstream import JetStreamTransport
from ._transport import OutMessage, Transport

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["NatsExporter", "record_message"]

T = TypeVar("T")
_MARGIN: Final = 4096  # room for headers and protocol overhead under max_payload


class LoopThread:
    """An asyncio event loop running in a daemon thread; ``run`` executes a coroutine on it
    from any other thread and waits for the result."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ExporterError(f"NATS publish did not finish within {timeout:g}s") from None

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            self.loop.close()


def _shrink(record: Record, size: int) -> Record:
    """A record whose structured payload was replaced by a marker (it did not fit under the
    broker's max payload)."""
    marker = f"<removed: record of {size} bytes exceeds the broker's max payload>"
    note = {"tracehound.truncated": marker}
    if isinstance(record, Span):
        tb = record.error_traceback
        return record._replace(
            input=None if record.input is None else marker,
            output=None if record.output is None else marker,
            attributes=note,
            status_message=(record.status_message or "")[:4000] or None,
            error_message=(record.error_message or "")[:4000] or None,
            error_traceback=None if tb is None else tb[-8000:],
        )
    if isinstance(record, Event):
        return record._replace(data=note, message=(record.message or "")[:4000] or None)
    if isinstance(record, Metric):
        return record._replace(tags=note)
    return record


def record_message(record: Record, subject: str, max_payload: int = 1 << 20) -> OutMessage:
    """The broker message of a record (see the module docstring for the wire form)."""
    data = encode(record)
    rtype = record.record_type
    if len(data) > max_payload - _MARGIN:
        data = encode(_shrink(record, len(data)))
    msg_id = f"{rtype}:{record.id}"
    if rtype == "span" and record.end_time is None:  # type: ignore[union-attr]
        msg_id += ":running"
    return OutMessage(f"{subject}.{rtype}", data, msg_id)


class NatsExporter:
    """Publishes batches of records to NATS JetStream (see the module docstring).

    ``exporters=("nats",)`` in :func:`tracehound.configure` (or ``TRACEHOUND_EXPORTERS=nats``)
    builds one from the settings ``nats_url``, ``nats_stream`` and ``nats_subject``.
    ``create_stream`` creates the stream on first use if it is missing.
    """

    name = "nats"

    def __init__(
        self,
        url: str | None = None,
        *,
        stream: str = "TRACEHOUND",
        subject: str = "tracehound.records",
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        create_stream: bool = True,
        transport: Callable[[], Transport] | None = None,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject = subject.rstrip(".")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.create_stream = create_stream
        self._factory: Callable[[], Transport] = transport or (
            lambda: JetStreamTransport(
                url,
                stream=stream,
                subject=self.subject,
                connect_timeout=connect_timeout,
                name="tracehound-publisher",
            )
        )
        self._transport = self._factory()
        self._loop: LoopThread | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self.published = 0
        self.duplicates = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> NatsExporter:
        return cls(
            settings.nats_url,
            stream=settings.nats_stream,
            subject=settings.nats_subject,
        )

    @property
    def transport(self) -> Transport:
        return self._transport

    def _runner(self) -> LoopThread:
        loop = self._loop
        if loop is None:
            with self._lock:
                loop = self._loop
                if loop is None:
                    loop = self._loop = LoopThread("tracehound-nats")
        return loop

    # -- the exporter contract ------------------------------------------------------------

    def export(self, batch: Sequence[Record]) -> None:
        """Publish the batch and wait for JetStream's confirmation; raises on failure."""
        if self._closed:
            raise ExporterError("the nats exporter is shut down")
        if not batch:
            return
        if os.getpid() != self._pid:
            self.after_fork()
        max_payload = int(getattr(self._transport, "max_payload", 1 << 20))
        subject = self.subject
        messages = [record_message(r, subject, max_payload) for r in batch]
        budget = self.timeout + self.connect_timeout + 2.0
        result = self._runner().run(self._publish(messages), budget)
        self.published += result[0]
        self.duplicates += result[1]

    async def _publish(self, messages: list[OutMessage]) -> tuple[int, int]:
        t = self._transport
        if not t.is_connected:
            await t.connect()
        if self.create_stream:
            await t.ensure_streams(dead_letter=False)
        res = await t.publish(messages, self.timeout)
        return res.stored, res.duplicates

    def force_flush(self, timeout: float | None = None) -> bool:
        """Nothing is buffered: every export waits for the broker's confirmation."""
        return True

    def shutdown(self) -> None:
        self._closed = True
        loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            loop.run(self._transport.close(), 3.0)
        loop.stop()

    def after_fork(self) -> None:
        """In a forked child: a new loop thread and connection (the parent's stay its own)."""
        self._lock = threading.Lock()
        self._loop = None
        self._transport = self._factory()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"<NatsExporter {self.url or 'default'} stream={self.stream}>"
