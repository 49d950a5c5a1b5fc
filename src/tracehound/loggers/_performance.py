"""Seed 000's performance logging: ``PerformanceLogger`` (buffered metrics),
``measure_performance`` (a context manager) and ``trace_performance`` (a decorator).

A measured block is a span of kind ``operation`` (see ``docs/data-model.md``) *and* a
``latency`` metric (unit ``ms``, tag ``operation``) buffered by a :class:`PerformanceLogger`.
Buffered entries keep the time and the span they were recorded in, so flushing later does not
move them.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import threading
import weakref
from collections.abc import Callable
from time import perf_counter, time_ns
from types import TracebackType
from typing import Any, TypeVar, overload

from ..model._ids import new_id_int
from ..sdk import _runtime
from ..sdk._context import current
from ..sdk._span import LiveSpan, NoopSpan
from ._base import BaseLogger
from ._levels import INFO
from ._validate import ArgumentError, check_name, check_number, warn_limited

__all__ = [
    "PerformanceLogger",
    "flush_loggers",
    "get_performance_logger",
    "measure_performance",
    "trace_performance",
]

F = TypeVar("F", bound=Callable[..., Any])

_ALL: weakref.WeakSet[PerformanceLogger] = weakref.WeakSet()
_default: list[PerformanceLogger | None] = [None]
_default_lock = threading.Lock()

# (timestamp_ns, span, name, value, unit, tags)
_Entry = tuple[int, LiveSpan | None, str, float, str | None, dict[str, Any]]


class _OpStats:
    __slots__ = ("count", "errors", "max_ms", "min_ms", "total_ms")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.total_ms = 0.0
        self.min_ms = float("inf")
        self.max_ms = 0.0

    def add(self, ms: float, failed: bool) -> None:
        self.count += 1
        self.total_ms += ms
        if ms < self.min_ms:
            self.min_ms = ms
        if ms > self.max_ms:
            self.max_ms = ms
        if failed:
            self.errors += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "errors": self.errors,
            "total_ms": round(self.total_ms, 6),
            "mean_ms": round(self.total_ms / self.count, 6) if self.count else 0.0,
            "min_ms": round(self.min_ms, 6) if self.count else 0.0,
            "max_ms": round(self.max_ms, 6),
        }


class PerformanceLogger(BaseLogger):
    """Operation latencies, throughput and resource utilization, buffered.

    Entries are kept in memory until ``buffer_size`` (default 100) of them are waiting, the
    oldest is older than ``max_age`` seconds, :meth:`flush` is called, or the process exits;
    then they become metrics (category ``performance``). Per-operation statistics are kept in
    memory too (:meth:`stats`, :meth:`bottlenecks`).
    """

    category = "performance"

    def __init__(
        self,
        buffer_size: int = 100,
        *,
        max_age: float = 5.0,
        agent_id: str | None = None,
        name: str = "performance",
    ) -> None:
        check_number(buffer_size, "buffer_size", integer=True, minimum=1)
        check_number(max_age, "max_age", minimum=0)
        check_name(name, "name", limit=200)
        if agent_id is not None:
            check_name(agent_id, "agent_id", limit=200)
        super().__init__(name, agent_id, None)
        self.buffer_size = buffer_size
        self.max_age = float(max_age)
        self._lock = threading.Lock()
        self._buffer: list[_Entry] = []
        self._ops: dict[str, _OpStats] = {}
        self.flushed = 0
        _ALL.add(self)

    # -- recording ---------------------------------------------------------------------
    def record(self, name: str, value: float, unit: str | None = None, **tags: Any) -> None:
        """Buffer one metric sample."""
        if not self.enabled_for(INFO):
            return
        check_name(name, "name")
        check_number(value, "value")
        if unit is not None:
            check_name(unit, "unit", limit=50)
        self._add(name, float(value), unit, tags)

    def _add(self, name: str, value: float, unit: str | None, tags: dict[str, Any]) -> None:
        if self.agent_id is not None:
            tags.setdefault("agent", self.agent_id)
        entry: _Entry = (time_ns(), current.get(), name, value, unit, tags)
        flush_now = False
        with self._lock:
            buf = self._buffer
            buf.append(entry)
            if len(buf) >= self.buffer_size or (entry[0] - buf[0][0]) / 1e9 > self.max_age:
                flush_now = True
        if flush_now:
            self.flush()

    def log_latency(
        self, operation: str, duration_ms: float, *, success: bool = True, **tags: Any
    ) -> None:
        """The latency of one operation (metric ``latency``, unit ``ms``)."""
        check_name(operation, "operation")
        check_number(duration_ms, "duration_ms", minimum=0)
        with self._lock:
            stats = self._ops.get(operation)
            if stats is None:
                stats = self._ops[operation] = _OpStats()
            stats.add(float(duration_ms), not success)
        if not self.enabled_for(INFO):
            return
        tags["operation"] = operation
        tags["event_type"] = "latency"
        if not success:
            tags["success"] = False
        self._add("latency", float(duration_ms), "ms", tags)

    def log_throughput(self, operation: str, count: float, duration_s: float, **tags: Any) -> None:
        """How many items an operation processed in ``duration_s`` seconds (metric
        ``throughput``, unit ``items/s``)."""
        check_name(operation, "operation")
        check_number(count, "count", minimum=0)
        check_number(duration_s, "duration_s", minimum=0)
        if not self.enabled_for(INFO):
            return
        rate = float(count) / duration_s if duration_s > 0 else 0.0
        tags.update(
            operation=operation, count=count, duration_s=duration_s, event_type="throughput"
        )
        self._add("throughput", rate, "items/s", tags)

    def log_resource_usage(self, **tags: Any) -> dict[str, float]:
        """CPU and memory of this process now (metrics ``cpu_percent``, ``memory_rss``,
        ``memory_percent``, ``threads``); returns the values."""
        values: dict[str, float] = {}
        try:
            import psutil

            proc = psutil.Process()
            with proc.oneshot():
                values["cpu_percent"] = float(proc.cpu_percent(None))
                values["memory_rss"] = float(proc.memory_info().rss)
                values["memory_percent"] = float(proc.memory_percent())
                values["threads"] = float(proc.num_threads())
        except Exception as exc:  # psutil missing or a platform without these counters
            warn_limited("psutil", "tracehound: resource usage unavailable: %r", exc)
            return values
        if not self.enabled_for(INFO):
            return values
        units = {"cpu_percent": "%", "memory_rss": "bytes", "memory_percent": "%", "threads": None}
        for key, value in values.items():
            self._add(key, value, units[key], {**tags, "event_type": "resource"})
        return values

    # -- flushing ----------------------------------------------------------------------
    def flush(self, *, start_runtime: bool = True) -> int:
        """Emit every buffered entry as a metric; returns how many. With
        ``start_runtime=False`` (at exit) nothing is emitted unless tracehound is running."""
        if not start_runtime and _runtime._runtime is None:
            return 0
        with self._lock:
            entries, self._buffer = self._buffer, []
        if not entries:
            return 0
        try:
            rt = _runtime._runtime or _runtime.get_runtime()
            if rt.enabled:
                put = rt.emit
                for ts, sp, name, value, unit, tags in entries:
                    if sp is not None and not sp._sampled:
                        continue
                    put(("m", ts, new_id_int(ts), sp, name, value, unit, tags))
        except Exception as exc:  # pragma: no cover - the SDK does not raise
            warn_limited("perf-flush", "tracehound: could not flush performance metrics: %r", exc)
            return 0
        self.flushed += len(entries)
        return len(entries)

    @property
    def pending(self) -> int:
        """Entries waiting in the buffer."""
        return len(self._buffer)

    # -- statistics --------------------------------------------------------------------
    def stats(self, operation: str | None = None) -> dict[str, Any]:
        """Latency statistics per operation (or of one operation)."""
        with self._lock:
            if operation is not None:
                found = self._ops.get(operation)
                return found.as_dict() if found else _OpStats().as_dict()
            return {op: s.as_dict() for op, s in self._ops.items()}

    def bottlenecks(
        self, top: int = 5, *, threshold_ms: float | None = None
    ) -> list[dict[str, Any]]:
        """The operations that took the most total time (mean above ``threshold_ms`` if given)."""
        rows = [{"operation": op, **s} for op, s in self.stats().items()]
        if threshold_ms is not None:
            rows = [r for r in rows if r["mean_ms"] >= threshold_ms]
        rows.sort(key=lambda r: r["total_ms"], reverse=True)
        return rows[: max(int(top), 0)]


def get_performance_logger() -> PerformanceLogger:
    """The process-wide logger ``measure_performance`` and ``trace_performance`` use."""
    logger = _default[0]
    if logger is None:
        with _default_lock:
            logger = _default[0]
            if logger is None:
                logger = _default[0] = PerformanceLogger()
    return logger


def flush_loggers() -> int:
    """Flush every performance logger's buffer (also done at exit); returns the count."""
    total = 0
    for logger in list(_ALL):
        total += logger.flush()
    return total


def _flush_at_exit() -> None:
    # Registered after the SDK's own exit hook, so it runs first, while the pipeline still
    # runs; it never starts a runtime of its own.
    for logger in list(_ALL):
        try:
            logger.flush(start_runtime=False)
        except Exception:  # pragma: no cover - exiting anyway
            pass


atexit.register(_flush_at_exit)


class measure_performance:
    """Time a block: ``with measure_performance("content_generation"): ...`` (also
    ``async with``). The block is a span of kind ``operation`` and its latency goes to a
    :class:`PerformanceLogger` (``logger=``, default the process-wide one). ``elapsed_ms``
    holds the duration after the block."""

    __slots__ = ("_logger", "_spans", "_starts", "attributes", "elapsed_ms", "name")

    def __init__(
        self, name: str, *, logger: PerformanceLogger | None = None, **attributes: Any
    ) -> None:
        check_name(name, "name")
        if logger is not None and not isinstance(logger, PerformanceLogger):
            raise ArgumentError(
                f"logger: expected a PerformanceLogger, got {type(logger).__name__}", field="logger"
            )
        self.name = name
        self._logger = logger
        self.attributes = attributes
        self.elapsed_ms: float | None = None
        self._spans: list[LiveSpan | NoopSpan] = []
        self._starts: list[float] = []

    def __enter__(self) -> measure_performance:
        attrs = dict(self.attributes)
        attrs.setdefault("event_type", "performance")
        sp = _runtime.open_span(self.name, "operation", None, attrs)
        sp.__enter__()
        self._spans.append(sp)
        self._starts.append(perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = (perf_counter() - self._starts.pop()) * 1000.0
        self.elapsed_ms = elapsed
        sp = self._spans.pop()
        try:
            sp.set_attribute("elapsed_ms", elapsed)
            (self._logger or get_performance_logger()).log_latency(
                self.name, elapsed, success=exc is None
            )
        except Exception as err:  # pragma: no cover - never raise into agent code
            warn_limited("measure", "tracehound: could not record a measurement: %r", err)
        sp.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> measure_performance:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


@overload
def trace_performance(name: F, *, logger: PerformanceLogger | None = None) -> F: ...
@overload
def trace_performance(
    name: str | None = None, *, logger: PerformanceLogger | None = None
) -> Callable[[F], F]: ...


def trace_performance(name: Any = None, *, logger: PerformanceLogger | None = None) -> Any:
    """Decorator: each call of a sync or async function is measured like
    ``measure_performance(name)`` (``name`` defaults to the function's qualified name).
    Works bare (``@trace_performance``) too."""
    if callable(name):
        return trace_performance(None, logger=logger)(name)
    if name is not None:
        check_name(name, "name")
    if logger is not None and not isinstance(logger, PerformanceLogger):
        raise ArgumentError(
            f"logger: expected a PerformanceLogger, got {type(logger).__name__}", field="logger"
        )

    def wrap(fn: F) -> F:
        if not callable(fn):
            raise ArgumentError(
                f"trace_performance: expected a function, got {type(fn).__name__}", field="fn"
            )
        op = name or getattr(fn, "__qualname__", None) or repr(fn)
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            # generators: the SDK keeps the span current only while the generator runs
            from .._api import span

            return span(op, kind="operation", event_type="performance")(fn)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with measure_performance(op, logger=logger):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            with measure_performance(op, logger=logger):
                return fn(*args, **kwargs)

        return sync_wrapper  # type: ignore[return-value]

    return wrap
