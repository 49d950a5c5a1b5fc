"""The process-wide runtime: settings, the pipeline, and the public SDK functions.

Before ``configure()`` the first use configures defaults (and ``TRACEHOUND_*`` variables).
``configure()`` again replaces the runtime: the old one is flushed and shut down first.
"""

from __future__ import annotations

import atexit
import os
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import time_ns
from typing import Any

from ..config import Settings
from ..exceptions import ConfigError
from ..model._ids import new_id_int
from ..model._safe import Limits
from ..pipeline._channel import Channel, RateLimitedLog
from ..pipeline._convert import Converter, Pricer
from ..pipeline._exporter import Exporter
from ..pipeline._processor import BatchProcessor
from ..pipeline._redact import Redactor
from ..pipeline._spool import Spool
from ._context import current
from ._span import NOOP_SPAN, LiveSpan, NoopSpan

__all__ = [
    "Runtime",
    "configure",
    "current_span",
    "emit_event",
    "emit_metric",
    "flush",
    "get_runtime",
    "open_span",
    "shutdown",
    "stats",
]

_lock = threading.RLock()
_runtime: Runtime | None = None


def _default_session_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d_%H%M%S")


def _make_pricer() -> Pricer | None:
    try:
        from ..pricing import default_pricer
    except ImportError:
        return None
    return default_pricer()


def build_exporters(settings: Settings, session_id: str) -> list[Exporter]:
    """The exporters named by ``settings.exporters`` plus ``settings.extra_exporters``."""
    out: list[Exporter] = []
    for name in settings.exporters:
        if name == "files":
            from ..pipeline.exporters._files import FileExporter

            out.append(
                FileExporter(
                    settings.trace_dir,
                    session_id,
                    rotation=settings.file_rotation,
                    levels=settings.file_levels,
                    project=settings.project,
                )
            )
        elif name == "store":
            url = settings.store_url
            if url is None:
                continue
            out.append(_store_exporter(url))
        elif name == "memory":
            from ..testing import InMemoryExporter

            out.append(InMemoryExporter())
        elif name == "http":
            from ..pipeline.exporters._http import HttpExporter

            out.append(HttpExporter(settings.http_endpoint, api_key=settings.api_key))
        elif name == "nats" and "nats" not in _EXTRA_FACTORIES:
            from ..broker import NatsExporter

            out.append(NatsExporter.from_settings(settings))
        else:
            factory = _EXTRA_FACTORIES.get(name)
            if factory is None:
                raise ConfigError(
                    f"exporters: the {name!r} exporter is not available in this build"
                )
            out.append(factory(settings, session_id))
    out.extend(settings.extra_exporters)
    return out


def _store_exporter(url: str) -> Exporter:
    if url.startswith("sqlite:"):
        from ..store._sqlite import SQLiteExporter

        path = url.split(":///", 1)[1] if ":///" in url else url.split(":", 1)[1]
        return SQLiteExporter(Path(path))
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        try:
            from ..store._postgres import PostgresExporter  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError(f"store: PostgreSQL support is not available ({exc})") from None
        return PostgresExporter(url)  # type: ignore[no-any-return,unused-ignore]
    raise ConfigError(f"store: unsupported database URL {url!r} (sqlite:///… or postgresql://…)")


# Other modules (http, nats, otlp exporters) register factories here.
_EXTRA_FACTORIES: dict[str, Any] = {}


class Runtime:
    """Settings plus the running pipeline."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.sample_rate = settings.sample_rate
        self.session_id = settings.session_id or _default_session_id()
        self.started_ns = time_ns()
        self._random = random.Random()
        self.processor: BatchProcessor | None = None
        if not self.enabled:
            return
        limits = Limits(
            max_string_length=settings.max_string_length,
            max_depth=settings.max_depth,
            max_items=settings.max_items,
            max_attributes=settings.max_attributes,
        )
        redactor = Redactor.from_settings(settings)
        self.converter = Converter(
            session_id=self.session_id,
            project=settings.project,
            limits=limits,
            redactor=redactor,
            pricer=_make_pricer(),
        )
        rate_log = RateLimitedLog()
        channels = []
        for exp in build_exporters(settings, self.session_id):
            name = str(getattr(exp, "name", type(exp).__name__))
            spool = Spool(settings.spool_path / name, settings.spool_max_bytes)
            channels.append(
                Channel(
                    exp,
                    spool,
                    retries=settings.export_retries,
                    backoff=settings.retry_backoff,
                    backoff_max=settings.retry_backoff_max,
                    batch_size=settings.batch_size,
                    rate_log=rate_log,
                )
            )
        self.processor = BatchProcessor(
            self.converter,
            channels,
            max_queue_size=settings.max_queue_size,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval,
        )
        self.emit = self.processor.emit  # type: ignore[method-assign]  # skip a call level
        if settings.capture_logging:
            from ..integrations.logging import instrument_logging

            instrument_logging()

    def emit(self, item: Any) -> None:  # replaced per instance when enabled
        return None

    def emit_snapshot(self, sp: LiveSpan) -> None:
        self.emit(("s", sp))

    def sample(self) -> bool:
        return self._random.random() < self.sample_rate

    @property
    def exporters(self) -> list[Exporter]:
        return [ch.exporter for ch in self.processor.channels] if self.processor else []

    def flush(self, timeout: float | None = None) -> bool:
        return self.processor.flush(timeout) if self.processor else True

    def shutdown(self, timeout: float | None = None) -> None:
        if self.processor is not None:
            t = self.settings.shutdown_timeout if timeout is None else timeout
            self.processor.shutdown(t)

    def stats(self) -> dict[str, Any]:
        base: dict[str, Any] = {"session_id": self.session_id, "enabled": self.enabled}
        if self.processor is not None:
            base.update(self.processor.stats())
        return base


def get_runtime() -> Runtime:
    rt = _runtime
    if rt is None:
        with _lock:
            rt = _runtime
            if rt is None:
                settings = _pending_settings[0] or Settings.load()
                rt = _install(Runtime(settings))
    return rt


def _install(rt: Runtime) -> Runtime:
    global _runtime
    _runtime = rt
    return rt


def configure(**options: Any) -> Runtime:
    """Configure tracehound. Every option is also a ``TRACEHOUND_<NAME>`` environment
    variable (see ``tracehound.config.OPTIONS``); keyword arguments win over the environment.
    Raises :class:`~tracehound.exceptions.ConfigError` naming a bad option."""
    settings = Settings.load(**options)
    with _lock:
        old = _runtime
        new = Runtime(settings)
        _install(new)
    if old is not None:
        old.shutdown()
    return new


def open_span(
    name: str, kind: str, agent: str | None, attributes: dict[str, Any]
) -> LiveSpan | NoopSpan:
    rt = _runtime or get_runtime()
    if not rt.enabled:
        return NOOP_SPAN
    return LiveSpan(rt, name, kind, agent, attributes)


def current_span() -> LiveSpan | NoopSpan:
    """The span open in this context, or a no-op span (``is_recording`` False)."""
    sp = current.get()
    return NOOP_SPAN if sp is None else sp


def emit_event(type: str, name: str, data: dict[str, Any]) -> None:
    """Queue an event of the current span."""
    rt = _runtime or get_runtime()
    if rt.enabled:
        now = time_ns()
        sp = current.get()
        if sp is not None and not sp._sampled:
            return
        rt.emit(("e", now, new_id_int(now), sp, type, name, data))


def emit_built_event(
    type: str,
    name: str,
    span: LiveSpan,
    agent: str | None,
    build: Callable[..., dict[str, Any]],
    *args: Any,
) -> None:
    """Queue an event of ``span`` whose data ``build(*args)`` makes on the worker (a fresh
    dict, owned by the event; ``agent`` fills the event's agent column).

    For callers that assemble their data from parts (:class:`~tracehound.broker.ActionLogger`):
    the calling thread queues one flat tuple instead of nested dicts, which is cheaper there
    and leaves the cycle collector fewer containers to walk while events wait in the queue."""
    rt = _runtime or get_runtime()
    if rt.enabled and span._sampled:
        now = time_ns()
        rt.emit(("a", now, new_id_int(now), span, type, name, agent, build, *args))


def emit_metric(name: str, value: Any, unit: str | None, tags: dict[str, Any]) -> None:
    rt = _runtime or get_runtime()
    if rt.enabled:
        now = time_ns()
        sp = current.get()
        if sp is not None and not sp._sampled:
            return
        rt.emit(("m", now, new_id_int(now), sp, name, value, unit, tags))


def flush(timeout: float | None = 5.0) -> bool:
    """Export everything recorded so far. ``True`` if it finished within ``timeout``."""
    rt = _runtime
    return True if rt is None else rt.flush(timeout)


def shutdown(timeout: float | None = None) -> None:
    """Flush (within ``timeout``, default the ``shutdown_timeout`` setting; the rest is
    spooled) and stop the pipeline. A later use starts a fresh runtime with the same
    settings."""
    global _runtime
    with _lock:
        rt = _runtime
        if rt is None:
            return
        _runtime = None
    rt.shutdown(timeout)
    if rt.enabled:
        # the next use gets the same settings (and session) back
        with _lock:
            if _runtime is None:
                _pending_settings[0] = rt.settings.replace(session_id=rt.session_id)


_pending_settings: list[Settings | None] = [None]


def stats() -> dict[str, Any]:
    """Pipeline counters: emitted, exported, spooled, replayed, dropped, queue depth…"""
    rt = _runtime
    return {"enabled": False} if rt is None else rt.stats()


def _at_exit() -> None:
    rt = _runtime
    if rt is not None and rt.processor is not None and rt.processor._pid == os.getpid():
        rt.shutdown()


atexit.register(_at_exit)
