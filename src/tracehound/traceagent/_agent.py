"""Seed 001's ``TraceAgent``: logs events, state snapshots and checkpoints through a
:class:`TraceManager`."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..model._safe import sanitize
from ..sdk._context import current
from ._entry import TraceEntry, TraceEntryError
from ._manager import StoreResult, TraceManager

__all__ = ["TraceAgent"]

_HOST = socket.gethostname()


def _diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, list[str]]:
    if old is None:
        return {"added": sorted(map(str, new)), "changed": [], "removed": []}
    added = sorted(str(k) for k in new if k not in old)
    removed = sorted(str(k) for k in old if k not in new)
    changed = []
    for key in new:
        if key in old:
            try:
                same = bool(old[key] == new[key])
            except Exception:
                same = False
            if not same:
                changed.append(str(key))
    return {"added": added, "changed": sorted(changed), "removed": removed}


class TraceAgent:
    """Logs game/agent events with guaranteed persistence (see :class:`TraceManager`).

    ``log_event`` follows the seed's flow: format the data, add metadata (source, session,
    sequence number, trace and span ids of the current span, host, pid), validate the entry
    (an invalid one raises :class:`~tracehound.traceagent.TraceEntryError` naming the field;
    nothing else is affected), then store it through the manager's chain. A storage failure
    never raises.
    """

    def __init__(
        self,
        trace_manager: TraceManager | None = None,
        *,
        name: str = "trace_agent",
        trace_dir: str | Path | None = None,
    ) -> None:
        if trace_manager is not None and not isinstance(trace_manager, TraceManager):
            raise TraceEntryError(
                f"trace_manager: expected a TraceManager, got {type(trace_manager).__name__}",
                field="trace_manager",
            )
        if not isinstance(name, str) or not name:
            raise TraceEntryError("name: expected a non-empty string", field="name")
        self.trace_manager = trace_manager if trace_manager is not None else TraceManager(trace_dir)
        self.name = name
        self._lock = threading.Lock()
        self._sequence = 0
        self._last_state: dict[str, Any] | None = None
        self.snapshots = 0
        self.rejected = 0
        self.last_checkpoint: TraceEntry | None = None
        self.last_result: StoreResult | None = None

    # -- building entries ---------------------------------------------------------------
    def _metadata(self, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        if metadata is None:
            meta: dict[str, Any] = {}
        elif isinstance(metadata, Mapping):
            meta = dict(metadata)
        else:
            self.rejected += 1
            raise TraceEntryError(
                f"metadata: expected a mapping (dict) or None, got {type(metadata).__name__}",
                field="metadata",
            )
        with self._lock:
            self._sequence += 1
            seq = self._sequence
        meta.setdefault("source", self.name)
        meta.setdefault("session_id", self.trace_manager.session_id)
        meta.setdefault("sequence", seq)
        sp = current.get()
        if sp is not None:
            meta.setdefault("trace_id", sp.trace_id)
            meta.setdefault("span_id", sp.span_id)
        meta.setdefault("host", _HOST)
        meta.setdefault("pid", os.getpid())
        return meta

    def _entry(
        self,
        event_type: str,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any] | None,
        requires_analysis: bool = False,
    ) -> TraceEntry:
        if not isinstance(data, Mapping):
            self.rejected += 1
            raise TraceEntryError(
                f"data: expected a mapping (dict), got {type(data).__name__}", field="data"
            )
        meta = self._metadata(metadata)
        entry = TraceEntry(
            timestamp=datetime.now(UTC).isoformat(),
            event_type=event_type,
            data=dict(data),
            metadata=meta,
            requires_analysis=requires_analysis or meta.get("requires_analysis") is True,
        )
        try:
            return entry.validate()
        except TraceEntryError:
            self.rejected += 1
            raise

    # -- the seed's API -----------------------------------------------------------------
    async def log_event(
        self,
        event_type: str,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Log one event. Raises :class:`TraceEntryError` (a ``ValidationError``) for an
        invalid entry; never raises because storage failed."""
        entry = self._entry(event_type, data, metadata)
        self.last_result = await self.trace_manager.store_trace(entry)

    def log_event_sync(
        self,
        event_type: str,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> StoreResult:
        """:meth:`log_event` for synchronous code; returns where the entry landed."""
        entry = self._entry(event_type, data, metadata)
        self.last_result = self.trace_manager.store_trace_sync(entry)
        return self.last_result

    # -- state, checkpoints, common events ---------------------------------------------
    async def snapshot_state(
        self,
        state: Mapping[str, Any],
        *,
        label: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> TraceEntry:
        """Record a copy of ``state`` as it is now (``state_snapshot``, a critical entry) with
        the keys added, changed and removed since the previous snapshot."""
        if not isinstance(state, Mapping):
            self.rejected += 1
            raise TraceEntryError(
                f"state: expected a mapping (dict), got {type(state).__name__}", field="state"
            )
        frozen = sanitize(dict(state))
        if not isinstance(frozen, dict):  # pragma: no cover - sanitize keeps dicts
            frozen = {"state": frozen}
        with self._lock:
            previous = self._last_state
            self._last_state = frozen
            self.snapshots += 1
            version = self.snapshots
        data = {
            "label": label,
            "version": version,
            "state": frozen,
            "diff": _diff(previous, frozen),
        }
        entry = self._entry("state_snapshot", data, metadata)
        self.last_result = await self.trace_manager.store_trace(entry)
        return entry

    async def checkpoint(
        self, name: str, state: Mapping[str, Any] | None = None, **details: Any
    ) -> TraceEntry:
        """Log a checkpoint (a critical entry, fsync-ed) with an optional state copy."""
        if not isinstance(name, str) or not name:
            self.rejected += 1
            raise TraceEntryError("name: expected a non-empty string", field="name")
        if state is not None and not isinstance(state, Mapping):
            self.rejected += 1
            raise TraceEntryError(
                f"state: expected a mapping (dict), got {type(state).__name__}", field="state"
            )
        data: dict[str, Any] = {"checkpoint": name, "details": details}
        if state is not None:
            data["state"] = sanitize(dict(state))
        entry = self._entry("checkpoint", data, {"critical": True})
        self.last_result = await self.trace_manager.store_trace(entry)
        self.last_checkpoint = entry
        return entry

    async def log_state_change(
        self, old_state: Mapping[str, Any], new_state: Mapping[str, Any], trigger: str | None = None
    ) -> None:
        """A state transition (``state_change``) with the keys that changed."""
        for field, value in (("old_state", old_state), ("new_state", new_state)):
            if not isinstance(value, Mapping):
                self.rejected += 1
                raise TraceEntryError(
                    f"{field}: expected a mapping (dict), got {type(value).__name__}", field=field
                )
        await self.log_event(
            "state_change",
            {
                "old_state": dict(old_state),
                "new_state": dict(new_state),
                "trigger": trigger,
                "diff": _diff(old_state, new_state),
            },
        )

    async def log_player_action(
        self, player_id: str, action: str, details: Mapping[str, Any] | None = None
    ) -> None:
        """A player's (or agent's) action (``player_action``)."""
        for field, value in (("player_id", player_id), ("action", action)):
            if not isinstance(value, str) or not value:
                self.rejected += 1
                raise TraceEntryError(f"{field}: expected a non-empty string", field=field)
        await self.log_event(
            "player_action",
            {"player_id": player_id, "action": action, "details": dict(details or {})},
            {"agent": player_id},
        )

    async def log_system_event(
        self, name: str, details: Mapping[str, Any] | None = None, *, level: str = "INFO"
    ) -> None:
        """A system event (``system_event``)."""
        if not isinstance(name, str) or not name:
            self.rejected += 1
            raise TraceEntryError("name: expected a non-empty string", field="name")
        await self.log_event(
            "system_event", {"name": name, "details": dict(details or {})}, {"level": level}
        )

    async def log_error(
        self, error: BaseException | str, context: Mapping[str, Any] | None = None
    ) -> None:
        """An error (``error``, a critical entry) with its type, message and context."""
        if isinstance(error, BaseException):
            data: dict[str, Any] = {"error_type": type(error).__name__, "error_message": str(error)}
        elif isinstance(error, str):
            data = {"error_type": "error", "error_message": error}
        else:
            self.rejected += 1
            raise TraceEntryError("error: expected an exception or a message", field="error")
        data["message"] = f"{data['error_type']}: {data['error_message']}"
        data["context"] = dict(context or {})
        await self.log_event("error", data, {"level": "ERROR"})

    def stats(self) -> dict[str, Any]:
        """Entries per destination, rejected entries, snapshots, the last storage error."""
        return {
            **self.trace_manager.counts,
            "rejected": self.rejected,
            "snapshots": self.snapshots,
            "last_error": self.trace_manager.last_error,
        }
