"""The NATS JetStream transport (nats-py).

Streams (created when missing):

* ``TRACEHOUND`` (subjects ``tracehound.records.>``): messages of one or more tracehound
  records (the versioned JSON of :mod:`tracehound.model`, one per line; see
  :mod:`tracehound.broker._exporter` for the wire form), deduplicated by the ``Nats-Msg-Id``
  header within the stream's duplicate window. File storage, limits retention (acked messages
  stay until ``max_age``, so other durable consumers can read the same log).
* ``TRACEHOUND_DLQ`` (subjects ``tracehound.dlq.>``): poison records, one per message (the
  record's line of a message that carried several, with ``Tracehound-Part`` its position),
  with ``Tracehound-Error``, ``Tracehound-Attempts``, ``Tracehound-First-Seen``,
  ``Tracehound-Failed-At``, ``Tracehound-Subject``, ``Tracehound-Sequence`` and
  ``Tracehound-Msg-Id`` headers.

The consumer is a durable pull consumer with explicit acks and no delivery limit (the consumer
service decides when a message is poison; JetStream never drops one on its own).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

from ..exceptions import ExporterError
from ._transport import DeadLetter, Delivery, OutMessage, PublishResult

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

__all__ = ["DEFAULT_NATS_URL", "JetStreamDelivery", "JetStreamTransport"]

log = logging.getLogger("tracehound.broker")

DEFAULT_NATS_URL: Final = "nats://127.0.0.1:4222"
MSG_ID: Final = "Nats-Msg-Id"
H_ERROR: Final = "Tracehound-Error"
H_ATTEMPTS: Final = "Tracehound-Attempts"
H_FIRST_SEEN: Final = "Tracehound-First-Seen"
H_FAILED_AT: Final = "Tracehound-Failed-At"
H_SUBJECT: Final = "Tracehound-Subject"
H_SEQUENCE: Final = "Tracehound-Sequence"
H_MSG_ID: Final = "Tracehound-Msg-Id"
H_RECORDS: Final = "Tracehound-Records"
H_PART: Final = "Tracehound-Part"
_MAX_HEADER: Final = 2000


def header_value(text: str) -> str:
    """Text made safe for a NATS header value: one line of printable ASCII, bounded."""
    out = "".join(c if 32 <= ord(c) < 127 else " " for c in text.replace("\r\n", " | "))
    return out[:_MAX_HEADER]


def _servers(url: str) -> list[str]:
    return [u.strip() for u in url.split(",") if u.strip()] or [DEFAULT_NATS_URL]


class _Batch:
    """Acks of one published batch."""

    __slots__ = ("done", "duplicates", "error", "seen", "total")

    def __init__(self, total: int, done: asyncio.Future[None]) -> None:
        self.total = total
        self.done = done
        self.seen: set[str] = set()
        self.duplicates = 0
        self.error: str | None = None


class _Puller:
    """A pull consumer without nats-py's per-message ``fetch`` machinery: one pull request
    outstanding at a time, messages collected by a subscription callback into a buffer."""

    def __init__(self, next_subject: str) -> None:
        self.next_subject = next_subject
        self.sub: Any = None
        self.buffer: collections.deque[Msg] = collections.deque()
        self.wake = asyncio.Event()
        self.outstanding = 0  # messages requested and neither delivered nor expired
        self.expires_at = 0.0
        self.failure: str | None = None

    async def on_msg(self, msg: Msg) -> None:
        if not msg.data and msg.headers and "Status" in msg.headers:
            status = msg.headers.get("Status", "")
            if status in ("404", "408", "409"):
                self.outstanding = 0
                desc = msg.headers.get("Description", "")
                if status == "409" and "Deleted" in desc:
                    self.failure = f"{status} {desc}"
                self.wake.set()
            return
        self.buffer.append(msg)
        self.outstanding -= 1
        self.wake.set()

    async def settle(self, until: float) -> None:
        """Wait (until the monotonic time ``until``) for the open pull request to end."""
        while self.outstanding > 0 and self.failure is None:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), min(remaining, 0.1))

    async def _request(self, nc: Client, batch: int, expires: float, now: float) -> None:
        req = {"batch": batch, "expires": int(expires * 1_000_000_000)}
        self.outstanding = batch
        self.expires_at = now + expires + 2.0
        await nc.publish(self.next_subject, orjson.dumps(req), reply=self.sub.subject)

    async def fetch(self, nc: Client, n: int, timeout: float) -> list[Delivery]:
        out: list[Delivery] = []
        buf = self.buffer
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            while buf and len(out) < n:
                out.append(JetStreamDelivery(buf.popleft()))
            now = time.monotonic()
            if self.outstanding > 0 and now > self.expires_at:
                self.outstanding = 0  # the request was lost (e.g. a broker restart)
            if len(out) >= n:
                if self.outstanding <= 0 and len(buf) < n:
                    # prefetch the next batch while the caller stores this one
                    await self._request(nc, n, 1.0, now)
                return out
            if (out and self.outstanding > 0) or self.failure is not None:
                return out
            if self.outstanding <= 0:
                await self._request(nc, n - len(out), max(deadline - now, 0.05), now)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            self.wake.clear()
            if buf:
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), remaining)
            except TimeoutError:
                while buf and len(out) < n:
                    out.append(JetStreamDelivery(buf.popleft()))
                return out


class JetStreamDelivery:
    """A JetStream message handed to the consumer (wraps the nats-py message)."""

    __slots__ = ("_meta", "msg")

    def __init__(self, msg: Msg) -> None:
        self.msg = msg
        self._meta: Any = None

    def _metadata(self) -> Any:
        meta = self._meta
        if meta is None:
            meta = self._meta = self.msg.metadata
        return meta

    @property
    def data(self) -> bytes:
        return self.msg.data

    @property
    def subject(self) -> str:
        return self.msg.subject

    @property
    def msg_id(self) -> str | None:
        headers = self.msg.headers
        return None if not headers else headers.get(MSG_ID)

    @property
    def sequence(self) -> int:
        return int(self._metadata().sequence.stream)

    @property
    def num_delivered(self) -> int:
        return int(self._metadata().num_delivered)

    @property
    def published_ns(self) -> int:
        ts = self._metadata().timestamp
        return int(ts.timestamp() * 1_000_000_000)

    def __repr__(self) -> str:
        return f"<delivery {self.subject} seq={self.sequence}>"


class JetStreamTransport:
    """:class:`~tracehound.broker.Transport` on NATS JetStream.

    ``url`` may list several servers separated by commas (a cluster). The client reconnects
    on its own after a broker restart; :attr:`is_connected` tells whether it is connected now.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        stream: str = "TRACEHOUND",
        subject: str = "tracehound.records",
        dlq_stream: str = "TRACEHOUND_DLQ",
        dlq_subject: str = "tracehound.dlq",
        connect_timeout: float = 2.0,
        duplicate_window: float = 120.0,
        max_age: float = 7 * 86_400.0,
        name: str | None = None,
    ) -> None:
        self.url = url or DEFAULT_NATS_URL
        self.stream = stream
        self.subject = subject.rstrip(".")
        self.dlq_stream = dlq_stream
        self.dlq_subject = dlq_subject.rstrip(".")
        self.connect_timeout = connect_timeout
        self.duplicate_window = duplicate_window
        self.max_age = max_age
        self.name = name or "tracehound"
        self.last_error: str | None = None
        self.max_payload = 1024 * 1024
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: Any = None
        self._durable: str | None = None
        self._streams_ready = False
        self._dlq_ready = False
        self._ack_prefix: str | None = None
        self._batch_seq = 0
        self._batches: dict[str, _Batch] = {}
        self._puller: _Puller | None = None

    # -- connection -------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        nc = self._nc
        return nc is not None and bool(nc.is_connected)

    async def connect(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            return
        from nats.aio.client import Client as NATS

        nc = NATS()

        async def on_error(exc: Exception) -> None:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.debug("nats: %s", self.last_error)

        async def on_disconnect() -> None:
            log.info("nats: disconnected from %s", self.url)

        async def on_reconnect() -> None:
            self.last_error = None
            log.info("nats: reconnected to %s", self.url)

        # nats-py annotates these as int but takes fractions of a second
        timing: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "reconnect_time_wait": 0.5,
        }
        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=_servers(self.url),
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    ping_interval=5,
                    max_outstanding_pings=3,
                    error_cb=on_error,
                    disconnected_cb=on_disconnect,
                    reconnected_cb=on_reconnect,
                    **timing,
                ),
                timeout=self.connect_timeout + 0.5,
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            if isinstance(exc, TimeoutError | asyncio.TimeoutError):
                self.last_error = self.last_error or "connection timed out"
                raise ExporterError(
                    f"cannot connect to NATS at {self.url}: {self.last_error}"
                ) from None
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise ExporterError(f"cannot connect to NATS at {self.url}: {exc}") from None
        self._nc = nc
        self._js = nc.jetstream(timeout=5.0, publish_async_max_pending=20_000)
        self.max_payload = int(getattr(nc, "max_payload", 0) or self.max_payload)
        self.last_error = None

    async def close(self) -> None:
        nc, self._nc, self._js, self._sub = self._nc, None, None, None
        puller, self._puller = self._puller, None
        if puller is not None and nc is not None and nc.is_connected:
            # A pull request still open would be served after we are gone (the messages then
            # wait out ack_wait): let it end first (its expiry is at most ~3 s away).
            await puller.settle(min(puller.expires_at, time.monotonic() + 3.0))
            # messages delivered but never handed out: give them back at once
            with contextlib.suppress(Exception):
                for m in puller.buffer:
                    if m.reply:
                        await nc.publish(m.reply, b"-NAK")
                puller.buffer.clear()
        self._streams_ready = self._dlq_ready = False
        self._ack_prefix = None
        if nc is not None:
            if nc.is_connected:  # send what is buffered (acks) before closing
                with contextlib.suppress(Exception):
                    await nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), timeout=5.0)

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise ExporterError("not connected to NATS")
        return self._js

    # -- streams ----------------------------------------------------------------------------

    async def ensure_streams(self, *, dead_letter: bool = True) -> None:
        if not self._streams_ready:
            await self._ensure(self.stream, self.subject)
            self._streams_ready = True
        if dead_letter and not self._dlq_ready:
            await self._ensure(self.dlq_stream, self.dlq_subject)
            self._dlq_ready = True

    async def _ensure(self, name: str, subject: str) -> None:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import BadRequestError, NotFoundError

        js = self._jetstream()
        try:
            await js.stream_info(name)
            return
        except NotFoundError:
            pass
        config = StreamConfig(
            name=name,
            subjects=[f"{subject}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=self.duplicate_window,
            max_age=self.max_age,
        )
        try:
            await js.add_stream(config)
        except BadRequestError as exc:  # created concurrently by another process
            with contextlib.suppress(NotFoundError):
                await js.stream_info(name)
                return
            raise ExporterError(f"cannot create stream {name}: {exc}") from None
        log.info("nats: created stream %s (%s.>)", name, subject)

    # -- publishing -------------------------------------------------------------------------

    async def publish(self, messages: Sequence[OutMessage], timeout: float) -> PublishResult:
        """Pipelined: every message is published with a reply subject under one wildcard
        inbox; JetStream's acks are counted per batch (no future per message)."""
        if not messages:
            return PublishResult()
        nc = self._nc
        if nc is None or self._js is None:
            raise ExporterError("not connected to NATS")
        await self.ensure_streams(dead_letter=False)
        if self._ack_prefix is None:
            prefix = nc.new_inbox()
            await nc.subscribe(prefix + ".*", cb=self._on_ack, pending_msgs_limit=1_000_000)
            self._ack_prefix = prefix
        self._batch_seq += 1
        token = str(self._batch_seq)
        batch = _Batch(len(messages), asyncio.get_running_loop().create_future())
        self._batches[token] = batch
        reply_base = f"{self._ack_prefix}.{token}_"
        publish = nc.publish
        try:
            for i, m in enumerate(messages):
                headers = {MSG_ID: m.msg_id}
                if m.headers:
                    headers.update(m.headers)
                await publish(m.subject, m.data, reply=reply_base + str(i), headers=headers)
            try:
                await asyncio.wait_for(asyncio.shield(batch.done), timeout=timeout)
            except TimeoutError:
                self._streams_ready = False
                missing = batch.total - len(batch.seen)
                raise ExporterError(
                    f"NATS did not confirm {missing} of {batch.total} messages within "
                    f"{timeout:g}s ({self.last_error or 'no acknowledgement'})"
                ) from None
        finally:
            self._batches.pop(token, None)
        if batch.error is not None:
            self._streams_ready = False
            raise ExporterError(f"NATS rejected a message: {batch.error}")
        return PublishResult(stored=batch.total - batch.duplicates, duplicates=batch.duplicates)

    async def _on_ack(self, msg: Msg) -> None:
        subject = msg.subject
        token, _, index = subject[subject.rfind(".") + 1 :].partition("_")
        batch = self._batches.get(token)
        if batch is None or index in batch.seen:
            return
        batch.seen.add(index)
        data = msg.data
        if not data:  # a status message: no stream took the subject
            status = (msg.headers or {}).get("Status", "")
            batch.error = batch.error or f"no stream for {msg.subject!r} (status {status})"
        elif b'"error"' in data:
            try:
                err = orjson.loads(data).get("error", {})
                batch.error = batch.error or f"{err.get('description', err)}"
            except Exception:
                batch.error = batch.error or data[:200].decode("utf-8", "replace")
        elif b'"duplicate"' in data:
            try:
                if orjson.loads(data).get("duplicate") is True:
                    batch.duplicates += 1
            except Exception:
                pass
        if len(batch.seen) >= batch.total and not batch.done.done():
            batch.done.set_result(None)

    # -- consuming --------------------------------------------------------------------------

    async def subscribe(self, durable: str, *, ack_wait: float, max_ack_pending: int) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        js = self._jetstream()
        await self.ensure_streams()
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ack_wait,
            max_deliver=-1,
            max_ack_pending=max_ack_pending,
            filter_subject=f"{self.subject}.>",
            max_waiting=512,
        )
        try:
            info = await js.consumer_info(self.stream, durable)
        except NotFoundError:
            info = None
        if info is None:
            with contextlib.suppress(Exception):  # a concurrent process may have created it
                await js.add_consumer(self.stream, config)
        elif info.config.ack_wait != ack_wait or info.config.max_ack_pending != max_ack_pending:
            with contextlib.suppress(Exception):
                await js.add_consumer(self.stream, config)  # updates the settings
        nc = self._nc
        assert nc is not None
        if self._puller is not None:
            with contextlib.suppress(Exception):
                await self._puller.sub.unsubscribe()
        puller = _Puller(f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{durable}")
        puller.sub = await nc.subscribe(
            nc.new_inbox(), cb=puller.on_msg, pending_msgs_limit=max(100_000, max_ack_pending)
        )
        self._puller = puller
        self._sub = puller.sub
        self._durable = durable

    async def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        puller, nc = self._puller, self._nc
        if puller is None or nc is None:
            raise ExporterError("not subscribed")
        if puller.failure is not None:
            failure, puller.failure = puller.failure, None
            raise ExporterError(f"pull consumer: {failure}")
        return await puller.fetch(nc, max_messages, timeout)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        nc = self._nc
        if nc is None:
            raise ExporterError("not connected to NATS")
        for d in deliveries:
            reply = _reply(d)
            if reply:
                await nc.publish(reply, b"+ACK")

    async def nak(self, deliveries: Sequence[Delivery], delay: float | None = None) -> None:
        nc = self._nc
        if nc is None:
            raise ExporterError("not connected to NATS")
        payload = b"-NAK"
        if delay:
            payload = b'-NAK {"delay": %d}' % int(delay * 1_000_000_000)
        for d in deliveries:
            reply = _reply(d)
            if reply:
                await nc.publish(reply, payload)

    async def in_progress(self, deliveries: Sequence[Delivery]) -> None:
        nc = self._nc
        if nc is None:
            raise ExporterError("not connected to NATS")
        for d in deliveries:
            reply = _reply(d)
            if reply:
                await nc.publish(reply, b"+WPI")

    # -- dead letters -----------------------------------------------------------------------

    async def dead_letter(
        self,
        delivery: Delivery,
        *,
        error: str,
        attempts: int,
        data: bytes | None = None,
        part: int | None = None,
    ) -> None:
        js = self._jetstream()
        await self.ensure_streams()
        suffix = delivery.subject
        if suffix.startswith(self.subject + "."):
            suffix = suffix[len(self.subject) + 1 :]
        seq = delivery.sequence
        headers = {
            MSG_ID: f"dlq:{self.stream}:{seq}" + ("" if part is None else f":{part}"),
            H_ERROR: header_value(error) or "unknown error",
            H_ATTEMPTS: str(max(attempts, 1)),
            H_FIRST_SEEN: str(delivery.published_ns),
            H_FAILED_AT: str(time.time_ns()),
            H_SUBJECT: delivery.subject,
            H_SEQUENCE: str(seq),
        }
        body = delivery.data if data is None else data
        msg_id = delivery.msg_id if part is None else _line_msg_id(body)
        if part is not None:
            headers[H_PART] = str(part)
        if msg_id:
            headers[H_MSG_ID] = header_value(msg_id)
        await js.publish(f"{self.dlq_subject}.{suffix}", body, headers=headers)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        from nats.js.errors import NotFoundError

        js = self._jetstream()
        try:
            info = await js.stream_info(self.dlq_stream)
        except NotFoundError:
            return []
        state = info.state
        out: list[DeadLetter] = []
        seq = int(state.first_seq or 0)
        last = int(state.last_seq or 0)
        while seq and seq <= last and len(out) < limit:
            try:
                raw = await js.get_msg(self.dlq_stream, seq)
            except NotFoundError:
                seq += 1
                continue
            out.append(_dead_letter(raw, seq))
            seq += 1
        return out

    async def replay_dead_letter(self, sequence: int) -> bool:
        from nats.js.errors import NotFoundError

        js = self._jetstream()
        await self.ensure_streams()
        try:
            raw = await js.get_msg(self.dlq_stream, sequence)
        except NotFoundError:
            return False
        letter = _dead_letter(raw, sequence)
        subject = letter.subject or f"{self.subject}.replayed"
        # A fresh message id: the original id may still be in the duplicate window.
        msg_id = f"{letter.msg_id or 'msg'}:replay:{self.dlq_stream}:{sequence}"
        await js.publish(subject, letter.data, headers={MSG_ID: msg_id})
        with contextlib.suppress(NotFoundError):
            await js.delete_msg(self.dlq_stream, sequence)
        return True

    async def delete_stream(self, name: str) -> None:
        """Delete a stream (tests and benchmarks clean up with this)."""
        from nats.js.errors import NotFoundError

        with contextlib.suppress(NotFoundError):
            await self._jetstream().delete_stream(name)


def _reply(delivery: Delivery) -> str | None:
    msg = getattr(delivery, "msg", None)
    reply = getattr(msg, "reply", None)
    return reply if isinstance(reply, str) and reply else None


def _line_msg_id(line: bytes) -> str | None:
    """The message id of one record's line (``<type>:<id>``), if it can be read."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    rtype, rid = obj.get("type"), obj.get("id")
    if not isinstance(rtype, str) or not isinstance(rid, str):
        return None
    return message_id(rtype, rid, running=rtype == "span" and obj.get("end_time") is None)


def message_id(rtype: str, record_id: str, *, running: bool = False) -> str:
    """A record's message id: ``<type>:<id>``, and ``:running`` for a span's running snapshot
    (so a snapshot never hides its final span in the broker's duplicate window)."""
    return f"{rtype}:{record_id}:running" if running else f"{rtype}:{record_id}"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _dead_letter(raw: Any, seq: int) -> DeadLetter:
    headers: dict[str, str] = dict(raw.headers or {})
    return DeadLetter(
        sequence=seq,
        subject=headers.get(H_SUBJECT, ""),
        data=bytes(raw.data or b""),
        error=headers.get(H_ERROR, ""),
        attempts=_int(headers.get(H_ATTEMPTS), 1),
        first_seen_ns=_int(headers.get(H_FIRST_SEEN)),
        failed_at_ns=_int(headers.get(H_FAILED_AT)),
        msg_id=headers.get(H_MSG_ID),
        original_sequence=_int(headers.get(H_SEQUENCE)) or None,
        part=_int(headers.get(H_PART), -1) if H_PART in headers else None,
        headers=headers,
    )
