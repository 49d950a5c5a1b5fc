"""``NatsExporter``: the pipeline exporter that publishes records to JetStream.

It runs inside tracehound's background worker (never on the agent's thread): ``export`` hands
the batch to the exporter's own asyncio loop thread and waits until JetStream confirmed every
message. It raises when it cannot (broker down, stream missing, timeout), and the pipeline's
channel then retries, spools the batch to disk and replays it when the broker is back — so
nothing is lost and the agent never waits. Every record type (spans, events, metrics) takes
this path.

Wire form. A record's own form is :func:`tracehound.model.encode` (one line of JSON) and its
id ``<type>:<record id>`` (a span's *running* snapshot gets ``:running`` appended, so it never
hides the final span). A message carries up to ``records_per_message`` records of one type
(default 500; the producer-side batching that Kafka's producer does with its linger), one per
line, on subject ``<subject>.<span|event|metric>``:

* one record → body = the record, ``Nats-Msg-Id`` = its id (``records_per_message=1`` always
  publishes this form);
* several → body = their lines joined by ``\n``, header ``Tracehound-Records: <n>``,
  ``Nats-Msg-Id: batch:<n>:<digest of the records' ids>``.

Either way the message id is a function of the event ids it carries, so the same records
published twice (a retry, a spool replay of the batch) are stored once by the broker within its
duplicate window — and the store is idempotent by record id beyond it. Batching is what makes
the broker path fast: JetStream's cost is per message (a stored message, a publish ack, a
delivery, an ack), so packing 500 records into one cuts it ~500-fold; the consumer still stores,
retries and dead-letters record by record.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ..exceptions import ExporterError
from ..model import Event, Metric, Record, Span
from ..model._codec import encode
from ._jetstream import H_RECORDS, JetStreamTransport, message_id
from ._transport import OutMessage, Transport

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["DEFAULT_RECORDS_PER_MESSAGE", "NatsExporter", "record_message", "record_messages"]

T = TypeVar("T")
_MARGIN: Final = 4096  # room for headers and protocol overhead under max_payload
DEFAULT_RECORDS_PER_MESSAGE: Final = 500


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


def _wire(record: Record, limit: int) -> tuple[bytes, str]:
    """A record's line (shrunk to fit under ``limit`` bytes) and its message id."""
    data = encode(record)
    rtype = record.record_type
    if len(data) > limit:
        data = encode(_shrink(record, len(data)))
    running = rtype == "span" and record.end_time is None  # type: ignore[union-attr]
    return data, message_id(rtype, record.id, running=running)


def record_message(record: Record, subject: str, max_payload: int = 1 << 20) -> OutMessage:
    """The broker message of one record (see the module docstring for the wire form)."""
    data, msg_id = _wire(record, max_payload - _MARGIN)
    return OutMessage(f"{subject}.{record.record_type}", data, msg_id)


def _packed(subject: str, lines: list[bytes], ids: list[str]) -> OutMessage:
    if len(lines) == 1:
        return OutMessage(subject, lines[0], ids[0])
    digest = hashlib.blake2b("\n".join(ids).encode(), digest_size=16).hexdigest()
    return OutMessage(
        subject,
        b"\n".join(lines),
        f"batch:{len(lines)}:{digest}",
        {H_RECORDS: str(len(lines))},
    )


def record_messages(
    records: Sequence[Record],
    subject: str,
    max_payload: int = 1 << 20,
    records_per_message: int = DEFAULT_RECORDS_PER_MESSAGE,
) -> list[OutMessage]:
    """The broker messages of a batch: records grouped by type, up to
    ``records_per_message`` per message and never more than ``max_payload`` bytes (see the
    module docstring for the wire form). Order within a type is kept."""
    limit = max_payload - _MARGIN
    per = max(1, records_per_message)
    if per == 1:
        return [record_message(r, subject, max_payload) for r in records]
    by_type: dict[str, tuple[list[bytes], list[str]]] = {}
    for r in records:
        data, msg_id = _wire(r, limit)
        group = by_type.get(r.record_type)
        if group is None:
            group = by_type[r.record_type] = ([], [])
        group[0].append(data)
        group[1].append(msg_id)
    out: list[OutMessage] = []
    for rtype, (lines, ids) in by_type.items():
        subj = f"{subject}.{rtype}"
        start = size = 0
        for i, line in enumerate(lines):
            if i > start and (i - start >= per or size + len(line) + 1 > limit):
                out.append(_packed(subj, lines[start:i], ids[start:i]))
                start, size = i, 0
            size += len(line) + 1
        if start < len(lines):
            out.append(_packed(subj, lines[start:], ids[start:]))
    return out


class NatsExporter:
    """Publishes batches of records to NATS JetStream (see the module docstring).

    ``exporters=("nats",)`` in :func:`tracehound.configure` (or ``TRACEHOUND_EXPORTERS=nats``)
    builds one from the settings ``nats_url``, ``nats_stream`` and ``nats_subject``.
    ``create_stream`` creates the stream on first use if it is missing.
    ``records_per_message`` (setting ``nats_records_per_message``) packs up to that many
    records of one type into a message; 1 publishes one message per record.
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
        records_per_message: int = DEFAULT_RECORDS_PER_MESSAGE,
        transport: Callable[[], Transport] | None = None,
    ) -> None:
        if records_per_message < 1:
            raise ValueError("records_per_message: must be at least 1")
        self.url = url
        self.stream = stream
        self.subject = subject.rstrip(".")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.create_stream = create_stream
        self.records_per_message = records_per_message
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
        #: Messages the broker stored / recognised as duplicates; records handed over.
        self.published = 0
        self.duplicates = 0
        self.records = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> NatsExporter:
        return cls(
            settings.nats_url,
            stream=settings.nats_stream,
            subject=settings.nats_subject,
            records_per_message=settings.nats_records_per_message,
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
        messages = record_messages(batch, subject, max_payload, self.records_per_message)
        budget = self.timeout + self.connect_timeout + 2.0
        result = self._runner().run(self._publish(messages), budget)
        self.published += result[0]
        self.duplicates += result[1]
        self.records += len(batch)

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
