"""Helpers for users' tests: an in-memory exporter and a pytest-friendly setup."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .model import Event, Metric, Record, Span

__all__ = ["InMemoryExporter", "configure_for_tests"]


class InMemoryExporter:
    """Keeps every exported record in memory (thread-safe). ``fail`` makes exports raise."""

    name = "memory"

    def __init__(self, *, name: str = "memory") -> None:
        self.name = name
        self._lock = threading.Lock()
        self.records: list[Record] = []
        self.fail: BaseException | None = None
        self.batches = 0

    def export(self, batch: Sequence[Record]) -> None:
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.records.extend(batch)
            self.batches += 1

    def force_flush(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        return None

    @property
    def spans(self) -> list[Span]:
        with self._lock:
            return [r for r in self.records if isinstance(r, Span)]

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return [r for r in self.records if isinstance(r, Event)]

    @property
    def metrics(self) -> list[Metric]:
        with self._lock:
            return [r for r in self.records if isinstance(r, Metric)]

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


def configure_for_tests(tmp_path: Any, **options: Any) -> InMemoryExporter:
    """Configure tracehound to record only in memory (plus a spool under ``tmp_path``)."""
    from . import configure

    exporter = InMemoryExporter()
    configure(
        trace_dir=tmp_path,
        exporters=(),
        extra_exporters=(exporter,),
        flush_interval=0.05,
        **options,
    )
    return exporter
