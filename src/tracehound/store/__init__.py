"""The database store: schema (SQLite and PostgreSQL), migrations, the SQLite exporter, a reader.

Names are loaded on first use, so ``from tracehound.store import SQLiteExporter`` costs only
``sqlite3`` and ``orjson``: SQLAlchemy (~150 ms to import) is loaded by the exporter's first
export in the background worker only when the schema must be created or upgraded, and by the
reader, the schema and the engine helpers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dialect import epoch_seconds, json_text, time_bucket
    from ._engine import make_engine
    from ._migrate import current_revision, ensure_schema, head_revision, upgrade
    from ._reader import SessionSummary, StoreReader, TraceSummary
    from ._schema import events, metadata, metrics, sessions, spans
    from ._sqlite import SQLiteExporter

__all__ = [
    "SQLiteExporter",
    "SessionSummary",
    "StoreReader",
    "TraceSummary",
    "current_revision",
    "ensure_schema",
    "epoch_seconds",
    "events",
    "head_revision",
    "json_text",
    "make_engine",
    "metadata",
    "metrics",
    "sessions",
    "spans",
    "time_bucket",
    "upgrade",
]

_MODULES = {
    "SQLiteExporter": "._sqlite",
    "SessionSummary": "._reader",
    "StoreReader": "._reader",
    "TraceSummary": "._reader",
    "current_revision": "._migrate",
    "ensure_schema": "._migrate",
    "epoch_seconds": "._dialect",
    "events": "._schema",
    "head_revision": "._migrate",
    "json_text": "._dialect",
    "make_engine": "._engine",
    "metadata": "._schema",
    "metrics": "._schema",
    "sessions": "._schema",
    "spans": "._schema",
    "time_bucket": "._dialect",
    "upgrade": "._migrate",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
