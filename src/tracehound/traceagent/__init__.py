"""Seed 001's trace agent: ``TraceAgent``, ``TraceEntry`` and ``TraceManager`` with validation,
a fallback log and an emergency log, state snapshots and checkpoints.

See ``docs/traceagent.md``. (The seed's ``Analytics`` and ``Monitor`` live elsewhere.)
"""

from ..exceptions import TraceError
from ._agent import TraceAgent
from ._entry import TraceEntry, TraceEntryError
from ._manager import FileTraceStore, StoreResult, TraceManager, TraceStore

__all__ = [
    "FileTraceStore",
    "StoreResult",
    "TraceAgent",
    "TraceEntry",
    "TraceEntryError",
    "TraceError",
    "TraceManager",
    "TraceStore",
]
