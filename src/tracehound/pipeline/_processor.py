"""The bounded queue and the one background worker that feeds the exporters.

The calling thread's whole cost is ``emit``: a length check and a ``deque.append``. The worker
wakes every ``flush_interval`` (or early when a batch's worth is waiting), converts what was
queued into records (``Converter``), and hands batches to every exporter's ``Channel``.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..model._records import Record
from ._channel import Channel
from ._convert import Converter

__all__ = ["BatchProcessor"]

log = logging.getLogger("tracehound")

_LIVE: weakref.WeakSet[BatchProcessor] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for proc in list(_LIVE):
        proc._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class BatchProcessor:
    def __init__(
        self,
        converter: Converter,
        channels: Sequence[Channel],
        *,
        max_queue_size: int = 200_000,
        batch_size: int = 2048,
        flush_interval: float = 0.5,
        on_session_end: Callable[[], None] | None = None,
    ) -> None:
        self.converter = converter
        self.channels = list(channels)
        self.max_queue_size = max_queue_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._notified = False
        self._lock = threading.Lock()
        self._flush_cond = threading.Condition(self._lock)
        self._flush_requested = 0
        self._flush_done = 0
        self._stopping = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._inflight: tuple[list[Record], set[int]] | None = None
        self._batches = 0  # deliveries made (progress marker for shutdown)
        self._handed_over = False  # shutdown spools the queue: the worker stops taking
        self._take_lock = threading.Lock()
        self._pid = os.getpid()
        # counters (plain ints: written by one thread each, read racily for stats)
        self.emitted = 0
        self.dropped_queue_full = 0
        self.conversion_errors = 0
        _LIVE.add(self)

    # -- calling thread --------------------------------------------------------------------
    def emit(self, item: Any) -> None:
        q = self._queue
        if len(q) >= self.max_queue_size:
            self.dropped_queue_full += 1
            return
        q.append(item)
        self.emitted += 1
        if self._thread is None:
            self._start()
        elif not self._notified and len(q) >= self.batch_size:
            self._notified = True
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped:
                t = threading.Thread(target=self._run, name="tracehound-worker", daemon=True)
                self._thread = t
                t.start()

    # -- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        for ch in self.channels:  # records left by earlier (perhaps killed) processes
            ch.replay(deadline=time.monotonic() + 5.0)
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._notified = False
            with self._lock:
                target = self._flush_requested
                stopping = self._stopping
            self._drain()
            if target > self._flush_done or stopping:
                for ch in self.channels:
                    try:
                        ch.exporter.force_flush(None)
                    except Exception:
                        pass
            else:
                for ch in self.channels:
                    ch.replay(deadline=time.monotonic() + 1.0)
            with self._lock:
                self._flush_done = max(self._flush_done, target)
                self._flush_cond.notify_all()
                if stopping and not self._queue:
                    return

    def _convert(self, items: list[Any]) -> list[Record]:
        conv = self.converter
        out: list[Record] = []
        append = out.append
        for item in items:
            try:
                if type(item) is tuple:
                    kind = item[0]
                    if kind == "e":
                        append(conv.event(item))
                    elif kind == "a":
                        append(conv.built_event(item))
                    elif kind == "s":
                        append(conv.span(item[1], snapshot=True))
                    else:
                        append(conv.metric(item))
                else:
                    append(conv.span(item))
            except Exception as exc:
                self.conversion_errors += 1
                log.debug("tracehound: could not convert %r: %s", type(item), exc)
        return out

    def _take(self) -> list[Any]:
        """Up to ``batch_size`` items from the queue. One thread takes at a time: the worker
        under ``_take_lock``, the shutdown only once the queue was handed over to it."""
        q = self._queue
        n = min(len(q), self.batch_size)
        popleft = q.popleft
        return [popleft() for _ in range(n)]

    def _drain(self, deadline: float | None = None) -> None:
        while True:
            # Taken, converted and marked in flight under the lock: a shutdown that hands the
            # queue over to the spool sees each item either in the queue or in flight.
            with self._take_lock:
                if self._handed_over or not self._queue:
                    return
                batch = self._convert(self._take())
                done: set[int] = set()
                self._inflight = (batch, done) if batch else None
            if not batch:
                continue
            for i, ch in enumerate(self.channels):
                ch.deliver(batch, deadline=deadline)
                done.add(i)
                self._batches += 1
            self._inflight = None
            if deadline is not None and time.monotonic() > deadline:
                return

    # -- control ---------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Export everything queued so far and flush the exporters. ``True`` if done in time."""
        if self._thread is None:
            if not self._queue:
                return True
            self._start()
        with self._lock:
            self._flush_requested += 1
            target = self._flush_requested
            self._wake.set()
            end = None if timeout is None else time.monotonic() + timeout
            while self._flush_done < target:
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if self._thread is None or not self._thread.is_alive():
                    return False
                self._flush_cond.wait(remaining)
        return True

    def shutdown(self, timeout: float = 2.0) -> None:
        """Flush within ``timeout`` seconds; whatever could not be exported in time (a hung
        or dead sink) is written to the spools. Then shut the exporters down."""
        if self._stopped:
            return
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._lock:
            self._stopping = True
            self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._wait_for_worker(thread, deadline, stall=max(0.0, timeout) / 2)
        hung = thread is not None and thread.is_alive()
        if hung:
            with self._take_lock:
                self._handed_over = True  # the worker takes no more: the queue is spooled here
            self._spool_leftovers()
        elif thread is None and self._queue:
            # never started: export inline within the deadline, spool the rest
            self._drain(deadline=deadline)
            self._spool_leftovers()
        self._stopped = True
        for ch in self.channels:
            if hung:
                ch.spool.close()
                continue  # never call into a hung exporter again
            try:
                ch.exporter.shutdown()
            except Exception:
                pass
            ch.spool.close()

    def _wait_for_worker(self, thread: threading.Thread, deadline: float, stall: float) -> None:
        """Join the draining worker until ``deadline`` — minus the time spooling the rest would
        take — or until it made no progress for ``stall`` seconds (stuck in a hung sink)."""
        last = (self._batches, len(self._queue))
        last_change = time.monotonic()
        while thread.is_alive():
            now = time.monotonic()
            reserve = 0.05 + (len(self._queue) + self.batch_size) * 12e-6
            if now >= deadline - reserve:
                return
            thread.join(min(0.02, max(0.0, deadline - reserve - now)))
            progress = (self._batches, len(self._queue))
            if progress != last:
                last, last_change = progress, time.monotonic()
            elif time.monotonic() - last_change >= stall:
                return

    def _spool_leftovers(self) -> None:
        inflight = self._inflight
        if inflight is not None:
            batch, done = inflight
            for i, ch in enumerate(self.channels):
                if i not in done:
                    ch.spool_batch(batch)
        while self._queue:
            batch = self._convert(self._take())
            for ch in self.channels:
                ch.spool_batch(batch)

    def _after_fork(self) -> None:
        """In a forked child: a fresh queue and worker; the parent's records stay the
        parent's (never re-sent by the child)."""
        self._queue = collections.deque()
        self._wake = threading.Event()
        self._notified = False
        self._lock = threading.Lock()
        self._flush_cond = threading.Condition(self._lock)
        self._flush_requested = self._flush_done = 0
        self._thread = None
        self._inflight = None
        self._stopping = self._stopped = self._handed_over = False
        self._take_lock = threading.Lock()
        self._pid = os.getpid()
        self.emitted = self.dropped_queue_full = self.conversion_errors = 0
        for ch in self.channels:
            ch.spool.after_fork()
            hook = getattr(ch.exporter, "after_fork", None)
            if hook is not None:
                try:
                    hook()
                except Exception:
                    pass

    # -- introspection ---------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    def stats(self) -> dict[str, Any]:
        exported = {ch.name: ch.exported for ch in self.channels}
        spooled = sum(ch.spool.spooled for ch in self.channels)
        replayed = sum(ch.spool.replayed for ch in self.channels)
        dropped_spool = sum(ch.spool.dropped for ch in self.channels)
        return {
            "emitted": self.emitted,
            "exported": min(exported.values()) if exported else 0,
            "spooled": spooled,
            "replayed": replayed,
            "dropped": self.dropped_queue_full + dropped_spool + self.conversion_errors,
            "dropped_queue_full": self.dropped_queue_full,
            "dropped_spool_full": dropped_spool,
            "conversion_errors": self.conversion_errors,
            "queue_depth": len(self._queue),
            "spool_corrupt_lines": sum(ch.spool.corrupt for ch in self.channels),
            "exporters": {
                ch.name: {
                    "exported": ch.exported,
                    "failures": ch.failures,
                    "down": ch.down,
                    "spooled": ch.spool.spooled,
                    "replayed": ch.spool.replayed,
                    "dropped": ch.spool.dropped,
                }
                for ch in self.channels
            },
        }
