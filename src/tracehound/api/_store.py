"""The exporter the server writes with: the store's own exporter for the database
(:class:`~tracehound.store.SQLiteExporter` or the PostgreSQL exporter), so the server stores
exactly what the SDK would (idempotency rules of ``docs/data-model.md``)."""

from __future__ import annotations

from typing import Any

from ..store._engine import dialect_of

__all__ = ["make_exporter"]


def make_exporter(url: str) -> Any:
    """The store exporter for ``url`` (the schema is ensured by the caller)."""
    if dialect_of(url) == "sqlite":
        from ..store._sqlite import SQLiteExporter

        return SQLiteExporter(url)
    from ..store._postgres import PostgresExporter

    return PostgresExporter(url)
