"""The consumer service (``tracehound consume``): JetStream → the store.

* A **durable pull consumer** (default name ``tracehound-store``): several consumer processes
  bound to it share the messages, each message going to one of them.
* **Batches** of ``batch_size`` records (default 100) or whatever arrived within
  ``batch_timeout`` (default 1 s) of the batch's first message, written to the store by the
  store's exporter (SQLite or PostgreSQL) in one transaction. A message may carry several
  records (see :mod:`tracehound.broker._exporter`); it is never split across batches, so a
  batch may hold more than ``batch_size`` records. The exporters are idempotent by
  record id, so a redelivered message is never stored twice.
* **Writers**: up to ``writers`` batches are written at once, each on its own store
  connection (default 2 for PostgreSQL, 1 for SQLite), while the next batch is fetched and
  decoded; each batch is acked after its own commit (order does not matter: the store is
  idempotent by id and a running snapshot never replaces a final span).
* **Acknowledged only after the commit.** A crash between the two redelivers the batch (after
  ``ack_wait``) and the store ignores the copies; a crash before the commit redelivers it too.
* A failing write is **retried** ``max_attempts`` times (default 3) with exponential back-off
  and jitter. Then:

  - if the store is unreachable (an outage), the batch is held and retried with a growing
    delay, its ack deadline extended, ``/ready`` reporting the store, until the store is back —
    nothing goes to the dead-letter stream because of an outage;
  - otherwise the batch is **bisected**: halves that commit are acked; a message that fails
    alone ``max_attempts`` times is **poison** and goes to the dead-letter stream with the
    error, the attempt count and timestamps — the rest of the batch is not held back. A
    record that cannot be decoded is poison at once, and so is one the store refuses even
    after cleaning (PostgreSQL's ``on_reject``). Poison is dead-lettered record by record:
    the other records of its message are stored, and the message is acked.
* **Reconnects** after a broker or database restart (the NATS client reconnects by itself; the
  subscription and the store exporter are re-created after errors).
* **SIGTERM/SIGINT**: stop fetching, finish the batch in hand (or give it back with a nak when
  the store is down), close, exit.
* ``/health`` (liveness) and ``/ready`` (503 naming the failing dependency) on ``port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..exceptions import CodecError
from ..model import Record
from ..model._codec import decode
from ..pipeline._exporter import Exporter
from ._health import HealthServer
from ._jetstream import JetStreamTransport
from ._transport import Delivery, Transport

__all__ = ["Consumer", "ConsumerConfig", "ping_store", "store_exporter"]

log = logging.getLogger("tracehound.broker")

FAILPOINT_ENV: Final = "TRACEHOUND_CONSUMER_FAILPOINT"


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """Settings of the consumer service (``tracehound consume`` options)."""

    store_url: str
    nats_url: str | None = None
    stream: str = "TRACEHOUND"
    subject: str = "tracehound.records"
    dlq_stream: str = "TRACEHOUND_DLQ"
    dlq_subject: str = "tracehound.dlq"
    durable: str = "tracehound-store"
    batch_size: int = 100
    batch_timeout: float = 1.0
    max_attempts: int = 3
    backoff: float = 0.1
    backoff_max: float = 10.0
    ack_wait: float = 30.0
    max_ack_pending: int = 10_000
    host: str = "127.0.0.1"
    port: int | None = 8080
    store_check_interval: float = 5.0
    writers: int | None = None
    """Batches written at once, each on its own store connection (default: 2 for
    PostgreSQL — one batch's rows are sent while the server indexes the other's — and 1 for
    SQLite, whose writers take turns anyway)."""

    def __post_init__(self) -> None:
        if self.writers is not None and not 1 <= self.writers <= 16:
            raise ValueError("writers: must be between 1 and 16")
        if self.batch_size < 1:
            raise ValueError("batch_size: must be at least 1")
        if self.batch_timeout <= 0:
            raise ValueError("batch_timeout: must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if self.ack_wait <= 1:
            raise ValueError("ack_wait: must be more than 1 second")


def store_exporter(url: str) -> Exporter:
    """The store's exporter for a database URL (SQLite or PostgreSQL)."""
    from ..sdk._runtime import _store_exporter

    return _store_exporter(url)


def ping_store(url: str, timeout: float = 3.0) -> None:
    """Raise if the database of ``url`` cannot be reached."""
    if url.startswith("sqlite:"):
        from ..store._engine import sqlite_path

        path = sqlite_path(url)
        if path is None or not path.exists():
            return  # created by the first write
        conn = sqlite3.connect(path, timeout=timeout)
        try:
            conn.execute("SELECT 1").fetchone()
        finally:
            conn.close()
        return
    import psycopg

    from ..store._postgres import libpq_url

    with psycopg.connect(
        libpq_url(url), connect_timeout=max(1, int(timeout)), autocommit=True
    ) as pg:
        pg.execute("SELECT 1").fetchone()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:500] if first else type(exc).__name__


@dataclass
class ConsumerStats:
    received: int = 0  # messages
    records: int = 0  # records decoded from them
    stored: int = 0
    acked: int = 0
    dead_lettered: int = 0
    naked: int = 0
    batches: int = 0
    retries: int = 0
    redelivered: int = 0
    store_outages: int = 0
    started_at: float = field(default_factory=time.time)


class Consumer:
    """The consumer service. ``await consumer.run()`` until :meth:`stop` (or a signal after
    :meth:`install_signal_handlers`)."""

    def __init__(
        self,
        config: ConsumerConfig,
        *,
        transport: Transport | None = None,
        exporter_factory: Callable[[], Exporter] | None = None,
        ping: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.transport: Transport = transport or JetStreamTransport(
            config.nats_url,
            stream=config.stream,
            subject=config.subject,
            dlq_stream=config.dlq_stream,
            dlq_subject=config.dlq_subject,
            name=f"tracehound-consumer-{os.getpid()}",
        )
        self._exporter_factory = exporter_factory or (lambda: store_exporter(config.store_url))
        self._ping = ping or (lambda: ping_store(config.store_url))
        if config.writers is not None:
            writers = config.writers
        else:
            writers = 1 if config.store_url.startswith("sqlite:") else 2
        self._writers = [_Writer() for _ in range(writers)]
        self._free: asyncio.Queue[_Writer] | None = None
        self.stats = ConsumerStats()
        self.health: HealthServer | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed = False
        self._nats_error: str | None = "not connected yet"
        self._store_error: str | None = None
        self._store_checked = 0.0
        self._commits = 0
        self._per_message = 1.0  # records per message, running average (sizes fetches)
        self._carry: list[Delivery] = []  # fetched, not yet in a batch
        self._failpoint = _parse_failpoint(os.environ.get(FAILPOINT_ENV, ""))

    # -- control ----------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def stop(self) -> None:
        """Ask the service to finish its batch and exit (thread- and signal-safe)."""
        loop, ev = self._loop, self._stop
        if loop is None or ev is None:
            return
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            ev.set()
        else:
            loop.call_soon_threadsafe(ev.set)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        log.info("received %s: finishing the current batch, then exiting", signal.Signals(sig).name)
        self.stop()

    def status(self) -> dict[str, Any]:
        nats_ok = self._subscribed and self.transport.is_connected
        failing = []
        if not nats_ok:
            failing.append("nats")
        if self._store_error is not None:
            failing.append("store")
        s = self.stats
        return {
            "ready": not failing and not self.stopping,
            "failing": failing,
            "nats": "ok" if nats_ok else (self._nats_error or "disconnected"),
            "store": "ok" if self._store_error is None else self._store_error,
            "stopping": self.stopping,
            "stats": {
                "received": s.received,
                "records": s.records,
                "stored": s.stored,
                "acked": s.acked,
                "dead_lettered": s.dead_lettered,
                "naked": s.naked,
                "batches": s.batches,
                "retries": s.retries,
                "redelivered": s.redelivered,
                "uptime_s": round(time.time() - s.started_at, 1),
            },
        }

    # -- main loop --------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        cfg = self.config
        if cfg.port is not None:
            self.health = HealthServer(cfg.host, cfg.port, self.status)
            port = await self.health.start()
            log.info("health endpoints on http://%s:%d/health and /ready", cfg.host, port)
        watcher = asyncio.create_task(self._watch_store())
        # Batches in hand: up to one per writer being stored (each write runs in a thread on
        # its own connection) while the next is fetched and decoded. Each batch is acked
        # after its own commit; their order does not matter (the store is idempotent by id,
        # and a running snapshot never replaces a final span).
        self._free = asyncio.Queue()
        for w in self._writers:
            self._free.put_nowait(w)
        storing: set[asyncio.Task[None]] = set()
        try:
            while not self.stopping:
                if not self._subscribed and not await self._connect():
                    break
                try:
                    batch = await self._collect()
                except Exception as exc:
                    self._nats_error = _describe(exc)
                    self._subscribed = False
                    log.warning("fetch failed (%s); re-subscribing", self._nats_error)
                    await self._sleep(cfg.backoff * 5)
                    continue
                if not batch:
                    continue
                work = await self._prepare(batch)
                while len(storing) >= len(self._writers):
                    _done, storing = await asyncio.wait(
                        storing, return_when=asyncio.FIRST_COMPLETED
                    )
                storing.add(asyncio.create_task(self._store(work)))
            if storing:
                await asyncio.wait(storing)
        finally:
            for task in storing:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
            await self._close()

    async def _close(self) -> None:
        carry, self._carry = self._carry, []
        if carry:  # fetched but never processed: give them back at once
            await self._nak(carry)
        with contextlib.suppress(Exception):
            await self.transport.close()
        for w in self._writers:
            exporter, w.exporter = w.exporter, None
            if exporter is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(exporter.shutdown)
        if self.health is not None:
            await self.health.stop()
        log.info(
            "consumer stopped: %d stored, %d dead-lettered",
            self.stats.stored,
            self.stats.dead_lettered,
        )

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when asked to stop."""
        ev = self._stop
        if ev is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(ev.wait(), timeout=max(seconds, 0))

    def _delay(self, attempt: int) -> float:
        """Exponential back-off with full jitter (attempt 1 → up to ``backoff``)."""
        cap = min(self.config.backoff_max, self.config.backoff * 2.0 ** max(attempt - 1, 0))
        return float(cap / 2 + random.random() * cap / 2)

    async def _connect(self) -> bool:
        cfg = self.config
        attempt = 0
        while not self.stopping:
            attempt += 1
            try:
                await self.transport.connect()
                await self.transport.ensure_streams()
                await self.transport.subscribe(
                    cfg.durable, ack_wait=cfg.ack_wait, max_ack_pending=cfg.max_ack_pending
                )
            except Exception as exc:
                self._nats_error = _describe(exc)
                if attempt == 1 or attempt % 20 == 0:
                    log.warning("cannot reach NATS (%s); retrying", self._nats_error)
                await self._sleep(self._delay(min(attempt, 6)))
                continue
            self._subscribed = True
            self._nats_error = None
            log.info("consuming %s as durable consumer %s", cfg.stream, cfg.durable)
            return True
        return False

    async def _collect(self) -> list[Delivery]:
        """Messages holding ``batch_size`` records (more when the last message holds several:
        a message is never split), or fewer once ``batch_timeout`` passed since the first one
        arrived. Messages fetched beyond that wait for the next batch."""
        cfg = self.config
        out: list[Delivery] = []
        records = 0
        deadline = 0.0
        while records < cfg.batch_size and not self.stopping:
            carried = bool(self._carry)
            if carried:
                got, self._carry = self._carry, []
            else:
                if out:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                else:
                    wait = 0.5  # idle: poll, so that a stop request is noticed quickly
                # as many messages as should hold the records still wanted
                per = max(1, round(self._per_message))
                want = max(1, -(-(cfg.batch_size - records) // per))
                got = await self.transport.fetch(want, min(wait, 0.5))
                if not got:
                    if not out:
                        return out
                    continue
            counts = [_record_count(d.data) for d in got]
            if not carried:
                self._per_message = 0.7 * self._per_message + 0.3 * (sum(counts) / len(got))
            if not out:
                deadline = time.monotonic() + cfg.batch_timeout
            for i, d in enumerate(got):
                if records >= cfg.batch_size:
                    self._carry = got[i:]
                    break
                out.append(d)
                records += counts[i]
        return out

    # -- processing -------------------------------------------------------------------------

    async def _prepare(self, batch: list[Delivery]) -> _Work:
        """Decode a batch of messages into records; undecodable ones are dead-lettered."""
        st = self.stats
        st.batches += 1
        st.received += len(batch)
        work = _Work(batch)
        for index, d in enumerate(batch):
            try:
                if d.num_delivered > 1:
                    st.redelivered += 1
                data = d.data
            except Exception as exc:  # pragma: no cover - metadata of a non-JetStream message
                await self._dead_letter(work, index, None, b"", _describe(exc), 1)
                continue
            lines = _split(data)
            multi = len(lines) > 1
            for part, line in enumerate(lines):
                at = part if multi else None
                try:
                    record = decode(line)
                except CodecError as exc:
                    await self._dead_letter(work, index, at, line, f"undecodable record: {exc}", 1)
                    continue
                work.items.append(_Item(record, index, at, line))
        st.records += len(work.items)
        return work

    async def _store(self, work: _Work) -> None:
        """Store a decoded batch (retries, outage hold, bisection to the poison), then ack."""
        try:
            if work.items:
                err = await self._commit(work, work.items, self.config.max_attempts)
                if err is not None:
                    await self._resolve(work, work.items, err, self.config.max_attempts)
        except Exception as exc:  # pragma: no cover - a bug; the batch is redelivered
            log.exception("storing a batch failed unexpectedly: %s", _describe(exc))
            work.given_back = True
        except asyncio.CancelledError:
            work.given_back = True
            await self._finish(work)
            raise
        await self._finish(work)

    async def _finish(self, work: _Work) -> None:
        if work.given_back:
            await self._nak(work.deliveries)
            return
        done = [d for i, d in enumerate(work.deliveries) if i not in work.failed]
        if done:
            await self._ack(done)
        if work.failed:
            await self._nak([work.deliveries[i] for i in sorted(work.failed)])

    async def _export(self, records: Sequence[Record]) -> list[tuple[Record, BaseException]]:
        """Write ``records`` with a free writer; returns the ones the store refused (and
        stored the rest: ``on_reject``)."""
        free = self._free
        assert free is not None
        w = await free.get()
        try:
            exporter = w.exporter
            if exporter is None or w.suspect:
                if exporter is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(exporter.shutdown)
                exporter = w.exporter = self._exporter_factory()
                if hasattr(exporter, "on_reject"):
                    exporter.on_reject = w.on_reject
                w.suspect = False
            self._hit("before_commit")
            try:
                await asyncio.to_thread(exporter.export, records)
            except BaseException:
                w.suspect = True  # a fresh exporter (connection) for the next try
                raise
            self._hit("after_commit")
            return w.rejected
        finally:
            w.rejected = []  # returned above; the writer starts its next write empty
            free.put_nowait(w)

    async def _commit(self, work: _Work, items: list[_Item], attempts: int) -> BaseException | None:
        """Store the records of ``items`` (up to ``attempts`` tries). ``None`` once they are
        stored (the ones the store refused dead-lettered), else the last error."""
        records = [i.record for i in items]
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self.stats.retries += 1
                await asyncio.sleep(self._delay(attempt - 1))
            try:
                refused = await self._export(records)
            except Exception as exc:
                last = exc
                log.debug("store write of %d records failed: %s", len(records), _describe(exc))
                continue
            self._store_ok()
            self.stats.stored += len(records) - len(refused)
            if refused:
                by_record = {id(i.record): i for i in items}
                for record, why in refused:
                    item = by_record.get(id(record))
                    if item is not None:
                        await self._poison(
                            work, item, f"refused by the store: {_describe(why)}", attempt
                        )
            return None
        return last

    async def _resolve(
        self, work: _Work, items: list[_Item], err: BaseException, tried: int
    ) -> None:
        """A group failed ``tried`` times: wait out a store outage, or bisect to the poison."""
        if work.given_back:
            return
        if not await self._store_reachable(err):
            err2 = await self._hold(work, items)
            if err2 is None:
                return
            err, tried = err2, 1
        if len(items) == 1:
            remaining = self.config.max_attempts - tried
            if remaining > 0:
                e = await self._commit(work, items, remaining)
                if e is None:
                    return
                err = e
                if not await self._store_reachable(err):
                    await self._resolve(work, items, err, self.config.max_attempts)
                    return
            await self._poison(work, items[0], _describe(err), max(self.config.max_attempts, tried))
            return
        mid = len(items) // 2
        for part in (items[:mid], items[mid:]):
            if work.given_back:
                return
            e = await self._commit(work, part, 1)
            if e is not None:
                await self._resolve(work, part, e, 1)

    async def _store_reachable(self, err: BaseException) -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ping), timeout=10.0)
        except Exception as exc:
            self._store_down(exc)
            return False
        return True

    async def _hold(self, work: _Work, items: list[_Item]) -> BaseException | None:
        """The store is down: keep the batch, retry with a growing delay (extending the
        messages' ack deadline), until it commits (``None``), the store is reachable again but
        the batch still fails (that error), or a stop request (the batch is given back)."""
        self.stats.store_outages += 1
        attempt = 0
        last_progress = time.monotonic()
        while True:
            if self.stopping:
                work.given_back = True
                return None
            attempt += 1
            await self._sleep(self._delay(min(attempt, 8)))
            if time.monotonic() - last_progress > self.config.ack_wait / 3:
                with contextlib.suppress(Exception):
                    await self.transport.in_progress(work.deliveries)
                last_progress = time.monotonic()
            if self.stopping:
                continue
            try:
                await asyncio.wait_for(asyncio.to_thread(self._ping), timeout=10.0)
            except Exception as exc:
                self._store_down(exc)
                continue
            err = await self._commit(work, items, 1)
            if err is None:
                log.info("store is back: batch of %d records committed", len(items))
                return None
            return err

    def _store_ok(self) -> None:
        if self._store_error is not None:
            log.info("store is reachable again")
        self._store_error = None
        self._store_checked = time.monotonic()

    def _store_down(self, exc: BaseException) -> None:
        text = _describe(exc)
        if self._store_error is None:
            log.warning("store unreachable (%s): holding the batch until it is back", text)
        self._store_error = text
        self._store_checked = time.monotonic()

    async def _watch_store(self) -> None:
        """While idle, check the store now and then, so ``/ready`` tells the truth."""
        interval = self.config.store_check_interval
        while True:
            await asyncio.sleep(interval / 2)
            if time.monotonic() - self._store_checked < interval:
                continue
            try:
                await asyncio.wait_for(asyncio.to_thread(self._ping), timeout=10.0)
            except Exception as exc:
                self._store_down(exc)
            else:
                self._store_ok()

    # -- acks and dead letters --------------------------------------------------------------

    async def _ack(self, deliveries: Sequence[Delivery]) -> None:
        try:
            await self.transport.ack(deliveries)
            self.stats.acked += len(deliveries)
        except Exception as exc:  # redelivered later; the store ignores the copies
            log.warning("ack of %d messages failed: %s", len(deliveries), _describe(exc))

    async def _nak(self, deliveries: Sequence[Delivery]) -> None:
        try:
            await self.transport.nak(deliveries)
            self.stats.naked += len(deliveries)
        except Exception as exc:
            log.warning("nak of %d messages failed: %s", len(deliveries), _describe(exc))

    async def _poison(self, work: _Work, item: _Item, error: str, attempts: int) -> None:
        """Dead-letter a decoded record of the batch."""
        await self._dead_letter(work, item.delivery, item.part, item.data, error, attempts)

    async def _dead_letter(
        self,
        work: _Work,
        index: int,
        part: int | None,
        data: bytes,
        error: str,
        attempts: int,
    ) -> None:
        """Send one record — line ``part`` of message ``index``, or the whole message when
        ``part`` is None — to the dead-letter stream. If that fails, the message is given back
        (nak) instead of acked once the batch is done."""
        delivery = work.deliveries[index]
        try:
            await self.transport.dead_letter(
                delivery,
                error=error,
                attempts=attempts,
                data=None if part is None else data,
                part=part,
            )
        except Exception as exc:
            log.warning("cannot dead-letter message %s: %s", delivery, _describe(exc))
            work.failed.add(index)
            return
        self.stats.dead_lettered += 1
        log.warning(
            "%s of message %s (id %s) sent to the dead-letter stream after %d attempt(s): %s",
            "record" if part is None else f"record {part}",
            delivery.sequence,
            delivery.msg_id,
            attempts,
            error,
        )

    # -- fault injection (tests) ------------------------------------------------------------

    def _hit(self, point: str) -> None:
        fp = self._failpoint
        if fp is None or fp[0] != point:
            return
        self._commits += 1
        if self._commits == fp[1]:
            log.warning("failpoint %s:%d: killing this process", point, self._commits)
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass(slots=True)
class _Item:
    """A record of a batch: where it came from (message index, position in the message when
    the message held several) and its line of wire JSON."""

    record: Record
    delivery: int
    part: int | None
    data: bytes


class _Writer:
    """One store writer of the consumer: its exporter (connection), whether that needs
    replacing after a failure, and the records the store refused during its current write."""

    __slots__ = ("exporter", "rejected", "suspect")

    def __init__(self) -> None:
        self.exporter: Exporter | None = None
        self.suspect = False
        self.rejected: list[tuple[Record, BaseException]] = []

    def on_reject(self, record: Record, exc: BaseException) -> None:
        """The store refused a record (even after cleaning) and stored the rest: called by
        the exporter in its thread; the record is dead-lettered after the export returns."""
        self.rejected.append((record, exc))


class _Work:
    """A batch in hand: its messages, their records, and how it is going."""

    __slots__ = ("deliveries", "failed", "given_back", "items")

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        self.items: list[_Item] = []
        self.failed: set[int] = set()  # messages to give back: a dead letter could not be sent
        self.given_back = False  # stopped during a store outage: every message is given back


def _split(data: bytes) -> list[bytes]:
    """The record lines of a message body (a trailing newline is tolerated)."""
    if b"\n" not in data:
        return [data]
    lines = data.split(b"\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _record_count(data: bytes) -> int:
    n = data.count(b"\n")
    return n + 1 if n == 0 or not data.endswith(b"\n") else n


def _parse_failpoint(text: str) -> tuple[str, int] | None:
    """``"after_commit:3"`` → SIGKILL this process right after the 3rd commit, before its
    ack; ``"before_commit:2"`` → right before the 2nd write. For fault tests."""
    point, _, n = text.strip().partition(":")
    if point not in ("after_commit", "before_commit"):
        return None
    try:
        return point, max(int(n or 1), 1)
    except ValueError:
        return None
