"""The server's shared state: the store engine, the writer, keys, limiters, the broadcaster."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store._engine import dialect_of, make_engine
from ..store._migrate import HEAD, current_revision, ensure_schema
from ._decode import DecodePool
from ._rollup import DayRollups
from ._store import make_exporter
from ._stream import Broadcaster
from ._writer import IngestWriter, OwnershipGuard
from .auth import KeyStore, RateLimiter, validate_project
from .limits import Limits

if TYPE_CHECKING:
    from ..analytics import ExecutionAnalytics

__all__ = ["Server", "is_loopback"]

log = logging.getLogger("tracehound.api")

_RETRY_START_S = 5.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost``, 127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


class Server:
    """Everything the routes share. ``start()`` (idempotent) applies migrations and starts
    the writer; until it succeeds ``/readyz`` says what fails and writes answer 503."""

    def __init__(
        self,
        store_url: str,
        *,
        auth: bool,
        host: str,
        project: str,
        limits: Limits,
        stream_interval: float,
        auto_migrate: bool,
        decode_workers: int = 0,
    ) -> None:
        dialect_of(store_url)  # ValueError for an unsupported URL
        self.url = store_url
        self.auth = auth
        self.host = host
        self.project = validate_project(project)
        self.limits = limits
        self.auto_migrate = auto_migrate
        self.dialect = dialect_of(store_url)
        pool: dict[str, Any] = {"pool_size": 8, "max_overflow": 16, "pool_timeout": 10}
        self.engine = make_engine(store_url, **pool)
        self.keys = KeyStore(self.engine)
        self.rate = RateLimiter(limits.rate_limit, limits.rate_burst)
        self.auth_failures = RateLimiter(limits.auth_failure_rate, limits.auth_failure_burst)
        self.broadcaster = Broadcaster(self.engine, interval=stream_interval)
        self.rollups = DayRollups()
        self.writer: IngestWriter | None = None
        self.schema_error: str | None = None
        self.schema_revision: str | None = None
        self._lock = threading.Lock()
        self._last_attempt = 0.0
        self._analytics: dict[str, ExecutionAnalytics] = {}
        self._pricer: Any = None
        self.decode_pool: DecodePool | None = DecodePool(decode_workers) if decode_workers else None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.writer is not None

    def start(self, *, force: bool = False) -> bool:
        """Migrate and start the writer. ``False`` (and ``schema_error`` set) on failure; a
        later call retries after a few seconds."""
        if self.writer is not None:
            return True
        with self._lock:
            if self.writer is not None:
                return True
            now = time.monotonic()
            if not force and now - self._last_attempt < _RETRY_START_S and self._last_attempt:
                return False
            self._last_attempt = now
            try:
                ensure_schema(self.url, auto_upgrade=self.auto_migrate)
                self.schema_revision = current_revision(self.url)
                exporter = make_exporter(self.url)
            except Exception as exc:
                self.schema_error = " ".join(str(exc).split())[:500] or type(exc).__name__
                log.error("tracehound server: the store is not ready: %s", self.schema_error)
                return False
            self.schema_error = None
            writer = IngestWriter(
                exporter,
                OwnershipGuard(self.engine),
                max_queue_records=self.limits.queue_max_records,
                on_stored=self._stored,
            )
            writer.start()
            self.writer = writer
            return True

    def _stored(self, project: str, records: list[Any]) -> None:
        self.rollups.invalidate(project, records)
        self.broadcaster.publish_threadsafe(project, records)

    def stop(self) -> None:
        if self.decode_pool is not None:
            self.decode_pool.close()
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()
        self._analytics.clear()
        self.engine.dispose()

    # -- helpers ---------------------------------------------------------------------------
    @property
    def pricer(self) -> Any:
        if self._pricer is None:
            try:
                from ..pricing import default_pricer

                self._pricer = default_pricer()
            except Exception:  # pragma: no cover - pricing is optional
                self._pricer = False
        return self._pricer or None

    def analytics(self, project: str) -> ExecutionAnalytics:
        an = self._analytics.get(project)
        if an is None:
            from ..analytics import ExecutionAnalytics

            an = ExecutionAnalytics(self.engine, project=project, flush=False)
            if len(self._analytics) > 1000:
                self._analytics.clear()
            self._analytics[project] = an
        return an

    def checks(self) -> dict[str, Check]:
        from sqlalchemy import text

        out: dict[str, Check] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            out["database"] = Check(True, "ok")
        except Exception as exc:
            out["database"] = Check(False, " ".join(str(exc).split())[:200] or type(exc).__name__)
        if self.schema_error is not None:
            out["schema"] = Check(False, self.schema_error[:200])
        elif self.schema_revision != HEAD and self.writer is not None:
            out["schema"] = Check(False, f"at revision {self.schema_revision!r}, need {HEAD!r}")
        elif self.writer is None:
            out["schema"] = Check(False, "not checked yet")
        else:
            out["schema"] = Check(True, f"at revision {HEAD}")
        writer = self.writer
        if writer is None:
            out["writer"] = Check(False, "not started")
        elif not writer.alive:
            out["writer"] = Check(False, "the writer thread stopped")
        elif writer.queued_records >= self.limits.queue_max_records:
            out["writer"] = Check(False, "the ingest queue is full")
        else:
            out["writer"] = Check(True, "ok")
        return out
