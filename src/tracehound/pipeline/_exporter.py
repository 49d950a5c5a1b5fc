"""The exporter contract every sink implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..model import Record

__all__ = ["Exporter"]


@runtime_checkable
class Exporter(Protocol):
    """A sink for batches of records.

    ``export`` raises on failure (the pipeline catches, counts, retries and spools);
    it must be idempotent: a record delivered twice is stored once. ``name`` is a stable,
    filesystem-safe identifier (it names the exporter's spool directory).
    """

    name: str

    def export(self, batch: Sequence[Record]) -> None: ...

    def force_flush(self, timeout: float | None = None) -> bool: ...

    def shutdown(self) -> None: ...
