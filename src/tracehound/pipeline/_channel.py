"""One exporter behind retry, back-off and a spool.

``deliver(batch)`` never raises. A failing export is retried a few times with exponential
back-off; if it still fails the batch goes to the exporter's spool and the channel marks the
sink down. While down, batches go straight to the spool (the agent's records keep flowing at
disk speed) and the sink is re-probed after a capped, growing delay. When an export succeeds
again the spool is replayed — also what happens at start-up for records a previous process
(perhaps killed) left behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from ..model._records import Record
from ._exporter import Exporter
from ._spool import Spool

__all__ = ["Channel", "RateLimitedLog"]

log = logging.getLogger("tracehound")


class RateLimitedLog:
    """Logs a message per key at most once per ``interval`` seconds (counting the rest)."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self.interval:
            skipped = self._suppressed.pop(key, 0)
            self._last[key] = now
            suffix = f" ({skipped} similar messages suppressed)" if skipped else ""
            log.warning(msg + suffix, *args)
        else:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1


class Channel:
    def __init__(
        self,
        exporter: Exporter,
        spool: Spool,
        *,
        retries: int = 2,
        backoff: float = 0.05,
        backoff_max: float = 30.0,
        batch_size: int = 2048,
        rate_log: RateLimitedLog | None = None,
    ) -> None:
        self.exporter = exporter
        self.name = str(getattr(exporter, "name", type(exporter).__name__))
        self.spool = spool
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.batch_size = batch_size
        self.rate_log = rate_log or RateLimitedLog()
        self.down = False
        self._probe_at = 0.0
        self._probe_delay = backoff
        self._replay_needed = True  # a previous process may have left records
        self.exported = 0
        self.failures = 0

    @property
    def spooled(self) -> int:
        return self.spool.spooled

    def _export(self, batch: Sequence[Record]) -> None:
        self.exporter.export(batch)
        self.exported += len(batch)

    def _fail(self, exc: BaseException) -> None:
        self.failures += 1
        self.rate_log.warning(
            f"{self.name}:{type(exc).__name__}",
            "tracehound: exporter %s failed (%s: %s); records are spooled and will be replayed",
            self.name,
            type(exc).__name__,
            exc,
        )
        self.down = True
        self._probe_at = time.monotonic() + self._probe_delay
        self._probe_delay = min(self._probe_delay * 2, self.backoff_max)

    def deliver(self, batch: Sequence[Record], *, deadline: float | None = None) -> None:
        """Export ``batch`` or spool it. Never raises."""
        if not batch:
            return
        if self.down and time.monotonic() < self._probe_at:
            self.spool.write(batch)
            return
        attempts = 1 if self.down else self.retries + 1
        delay = self.backoff
        for attempt in range(attempts):
            try:
                self._export(batch)
            except Exception as exc:
                last: BaseException = exc
                if attempt + 1 < attempts:
                    if deadline is not None and time.monotonic() + delay > deadline:
                        break
                    time.sleep(delay)
                    delay *= 2
                continue
            else:
                if self.down:
                    self.down = False
                    self._probe_delay = self.backoff
                    self._replay_needed = True
                return
        self._fail(last)
        self.spool.write(batch)

    def replay(self, *, deadline: float | None = None) -> None:
        """Replay the spool if it may hold records. While the sink is down this is also the
        probe: once the back-off delay has passed, replaying is the attempt that tells
        whether the sink is back (so a spool drains even when no new records arrive).
        Never raises."""
        if self.down:
            if time.monotonic() < self._probe_at:
                return
        elif not self._replay_needed:
            return
        try:
            done = self.spool.replay(self._export, batch_size=self.batch_size, deadline=deadline)
        except Exception as exc:
            self._fail(exc)
            return
        if self.down and done:  # the probe went through: the sink is back
            self.down = False
            self._probe_delay = self.backoff
        if done:
            self._replay_needed = False
        elif deadline is None or time.monotonic() <= deadline:
            # an export failed during replay
            self._fail(RuntimeError("replay interrupted by an export failure"))

    def spool_batch(self, batch: Sequence[Record]) -> None:
        self.spool.write(batch)
