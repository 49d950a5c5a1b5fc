"""Seed 001's ``TraceManager``: persists trace entries, with a fallback log and an emergency
log so that no entry is lost when the store fails.

The chain, for every entry (the seed's "Error Handling"):

1. the **store** (default :class:`FileTraceStore`: JSON lines in
   ``<trace_dir>/traceagent/<session>.jsonl``, written synchronously, ``fsync`` for critical
   entries). A failure there is a :class:`~tracehound.exceptions.TraceError`;
2. on a ``TraceError``: the **fallback log** (``<trace_dir>/traceagent_fallback.log``, JSON
   lines ``{"fallback_at", "error", "entry"}``);
3. when the fallback fails too, or the store failed unexpectedly: the **emergency log**
   (``<trace_dir>/traceagent_emergency.log``): a plain append-only text file, one line per
   entry, opened, written and ``fsync``-ed with bare ``os`` calls;
4. when even that fails: the entry is printed to ``stderr`` and kept in
   :attr:`TraceManager.unsaved`.

Independently of the chain every entry is also recorded as a tracehound event (so it is in the
trace files, the database and the analysis); that path has its own spool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol, runtime_checkable

import orjson

from ..config import Settings
from ..exceptions import TraceError
from ..model._safe import Limits, sanitize
from ..sdk import _runtime
from ._entry import TraceEntry, TraceEntryError

__all__ = ["FileTraceStore", "StoreResult", "TraceManager", "TraceStore"]

log = logging.getLogger("tracehound.traceagent")

StoreResult = Literal["store", "fallback", "emergency", "lost"]

_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
_TYPE_MAP: Final = {
    "state_change": "state_change",
    "state_snapshot": "state_change",
    "checkpoint": "milestone",
    "milestone": "milestone",
    "player_action": "action",
    "agent_action": "action",
    "action": "action",
    "decision": "decision",
    "error": "error",
    "system": "system",
    "system_event": "system",
    "alert": "alert",
}

Analyzer = Callable[[TraceEntry], Awaitable[None] | None]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _append(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, _FLAGS, 0o644)
    try:
        _write_all(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


@runtime_checkable
class TraceStore(Protocol):
    """Where a :class:`TraceManager` persists entries. ``write`` raises on failure (an
    ``OSError`` or a ``TraceError``); ``sync`` asks for durability before returning."""

    def write(self, entry: dict[str, Any], *, sync: bool) -> None: ...

    def close(self) -> None: ...


class FileTraceStore:
    """JSON lines in one append-only file (the directory is created on first write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any], *, sync: bool) -> None:
        line = orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        with self._lock:
            try:
                if self._fd is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path, _FLAGS, 0o644)
                _write_all(self._fd, line)
                if sync:
                    os.fsync(self._fd)
            except OSError as exc:
                self._close()
                raise TraceError(f"cannot write the trace store {self.path}: {exc}") from exc

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            self._close()

    def read(self) -> Iterator[dict[str, Any]]:
        """The stored entries (corrupt lines skipped)."""
        try:
            fh = open(self.path, "rb")  # noqa: SIM115
        except OSError:
            return
        with fh:
            for raw in fh:
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    yield obj


def _settings() -> tuple[Path, str, Settings]:
    rt = _runtime._runtime
    if rt is not None:
        return rt.settings.trace_dir, rt.session_id, rt.settings
    settings = Settings.load()
    return settings.trace_dir, settings.session_id or _runtime._default_session_id(), settings


def _safe_name(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "._-" else "_" for c in text).strip("._")
    return out[:120] or "session"


class TraceManager:
    """Persists :class:`TraceEntry` objects through the store → fallback → emergency chain.

    ``trace_dir`` (default: the running configuration's) holds the default store, the fallback
    and the emergency log; each can be given explicitly. ``emit_events`` also records every
    entry as a tracehound event. ``fsync``: ``"critical"`` (default: errors, checkpoints,
    snapshots), ``"always"`` or ``"never"``.
    """

    def __init__(
        self,
        trace_dir: str | Path | None = None,
        *,
        store: TraceStore | str | Path | None = None,
        fallback_path: str | Path | None = None,
        emergency_path: str | Path | None = None,
        session_id: str | None = None,
        emit_events: bool = True,
        fsync: Literal["critical", "always", "never"] = "critical",
    ) -> None:
        default_dir, default_session, settings = _settings()
        root = Path(trace_dir) if trace_dir is not None else default_dir
        self.trace_dir = root
        self.session_id = session_id or default_session
        if store is None:
            store = FileTraceStore(root / "traceagent" / f"{_safe_name(self.session_id)}.jsonl")
        elif isinstance(store, str | Path):
            store = FileTraceStore(store)
        elif not isinstance(store, TraceStore):
            raise TypeError(f"store: expected a TraceStore or a path, got {type(store).__name__}")
        self.store: TraceStore = store
        self.fallback_path = (
            Path(fallback_path) if fallback_path is not None else root / "traceagent_fallback.log"
        )
        self.emergency_path = (
            Path(emergency_path)
            if emergency_path is not None
            else root / "traceagent_emergency.log"
        )
        if fsync not in ("critical", "always", "never"):
            raise ValueError(f"fsync: expected 'critical', 'always' or 'never', got {fsync!r}")
        self.fsync = fsync
        self.emit_events = emit_events
        self._limits = Limits.from_settings(settings)
        self._redactor: Any = None
        try:
            from ..pipeline._redact import Redactor

            self._redactor = Redactor.from_settings(settings)
        except Exception:  # pragma: no cover - settings without redaction support
            self._redactor = None
        self._analyzers: list[Analyzer] = []
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {"store": 0, "fallback": 0, "emergency": 0, "lost": 0}
        self.unsaved: list[dict[str, Any]] = []
        self.last_error: str | None = None

    # -- the seed's API -----------------------------------------------------------------
    async def store_trace(self, entry: TraceEntry) -> StoreResult:
        """Persist one entry; returns where it landed. Never raises for a storage failure
        (an invalid entry raises :class:`~tracehound.traceagent.TraceEntryError`)."""
        result = self._persist(entry)
        if entry.requires_analysis and result != "lost":
            await self._process_analytics(entry)
        return result

    def store_trace_sync(self, entry: TraceEntry) -> StoreResult:
        """:meth:`store_trace` for synchronous code (analyzers that are coroutines are not run)."""
        return self._persist(entry)

    def add_analyzer(self, analyzer: Analyzer) -> None:
        """Call ``analyzer(entry)`` (sync or async) for entries with ``requires_analysis``."""
        if not callable(analyzer):
            raise TypeError(f"analyzer: expected a callable, got {type(analyzer).__name__}")
        self._analyzers.append(analyzer)

    # -- the chain ----------------------------------------------------------------------
    def _entry_dict(self, entry: TraceEntry) -> dict[str, Any]:
        return {
            "id": entry.id,
            "timestamp": entry.timestamp,
            "event_type": entry.event_type,
            "data": sanitize(entry.data, self._limits, self._redactor),
            "metadata": sanitize(entry.metadata, self._limits, self._redactor),
            "requires_analysis": entry.requires_analysis,
            "session_id": self.session_id,
        }

    def _persist(self, entry: TraceEntry) -> StoreResult:
        if not isinstance(entry, TraceEntry):
            raise TraceEntryError(
                f"entry: expected a TraceEntry, got {type(entry).__name__}", field="entry"
            )
        entry.validate()
        if self.emit_events:
            self._emit(entry)
        try:
            self._store_sync(entry)
            self._count("store")
            return "store"
        except TraceError as exc:
            self.last_error = str(exc)
            log.error("Trace error: %s", exc)
            try:
                self._fallback_sync(entry, str(exc))
                self._count("fallback")
                return "fallback"
            except Exception as fallback_exc:
                log.error("Trace fallback log failed: %s", fallback_exc)
                self.last_error = f"{exc}; fallback: {fallback_exc}"
        except Exception as exc:
            self.last_error = f"unexpected: {exc!r}"
            log.error("Unexpected error in trace: %r", exc)
        return self._emergency_sync(entry)

    def _count(self, where: str) -> None:
        with self._lock:
            self.counts[where] += 1

    # The seed's step names ("Error Handling"), as coroutines: a subclass (or the seed's own
    # try/except) can chain them exactly as the seed does.
    async def _log_entry(self, entry: TraceEntry) -> None:
        """Write ``entry`` to the store; raises :class:`TraceError` when the store fails."""
        self._store_sync(entry)
        self._count("store")

    async def _fallback_log(self, entry: TraceEntry, error: str = "") -> None:
        """Append ``entry`` to the fallback log; raises when that fails too."""
        self._fallback_sync(entry, error)
        self._count("fallback")

    async def _emergency_log(self, entry: TraceEntry) -> None:
        """Append ``entry`` to the emergency log (never raises; see :attr:`unsaved`)."""
        self._emergency_sync(entry)

    def _store_sync(self, entry: TraceEntry) -> None:
        sync = self.fsync == "always" or (self.fsync == "critical" and entry.critical)
        record = self._entry_dict(entry)
        try:
            self.store.write(record, sync=sync)
        except TraceError:
            raise
        except OSError as exc:
            raise TraceError(f"trace store failed: {exc}") from exc

    def _fallback_sync(self, entry: TraceEntry, error: str) -> None:
        line = orjson.dumps(
            {"fallback_at": _now(), "error": error, "entry": self._entry_dict(entry)},
            option=orjson.OPT_APPEND_NEWLINE,
        )
        self.fallback_path.parent.mkdir(parents=True, exist_ok=True)
        _append(self.fallback_path, line, sync=True)

    def _emergency_sync(self, entry: TraceEntry) -> StoreResult:
        record: dict[str, Any] | None = None
        try:
            try:
                record = self._entry_dict(entry)
                body = orjson.dumps(record).decode()
            except Exception:
                body = repr(entry)
            line = f"EMERGENCY {_now()} {body}\n".encode("utf-8", "backslashreplace")
            try:
                _append(self.emergency_path, line, sync=True)
            except FileNotFoundError:
                self.emergency_path.parent.mkdir(parents=True, exist_ok=True)
                _append(self.emergency_path, line, sync=True)
            self._count("emergency")
            return "emergency"
        except Exception as exc:
            self._count("lost")
            with self._lock:
                self.unsaved.append(record if record is not None else {"entry": repr(entry)})
            try:
                sys.stderr.write(
                    f"tracehound: could not save a trace entry anywhere ({exc}): {entry!r}\n"
                )
            except Exception:
                pass
            log.critical("Trace entry could not be saved anywhere: %r", exc)
            return "lost"

    async def _process_analytics(self, entry: TraceEntry) -> None:
        for analyzer in list(self._analyzers):
            try:
                result = analyzer(entry)
                if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                    await result
            except Exception as exc:
                log.error("Trace analytics failed for %s: %r", entry.id, exc)

    def _emit(self, entry: TraceEntry) -> None:
        try:
            meta = entry.metadata
            data: dict[str, Any] = {
                "level": entry.level,
                "message": f"{entry.event_type}",
                "event_type": entry.event_type,
                "logger": "traceagent",
                "entry_id": entry.id,
                "entry_timestamp": entry.timestamp,
                "data": entry.data,
                "metadata": meta,
            }
            agent = meta.get("agent") or meta.get("agent_id")
            if isinstance(agent, str):
                data["agent"] = agent
            msg = entry.data.get("message") if isinstance(entry.data, dict) else None
            if isinstance(msg, str):
                data["message"] = msg
            _runtime.emit_event(
                _TYPE_MAP.get(entry.event_type.lower(), "log"), entry.event_type, data
            )
        except Exception as exc:  # pragma: no cover - the SDK does not raise
            log.debug("could not emit trace entry %s: %r", entry.id, exc)

    # -- reading back -------------------------------------------------------------------
    def entries(self) -> list[TraceEntry]:
        """Every entry saved by the store, the fallback log and the emergency log (by id,
        first copy wins), in timestamp order. Lines that cannot be read back are skipped."""
        found: dict[str, TraceEntry] = {}

        def add(obj: Any) -> None:
            try:
                entry = TraceEntry.from_dict(obj)
            except Exception:
                return
            found.setdefault(entry.id, entry)

        store = self.store
        if isinstance(store, FileTraceStore):
            for obj in store.read():
                add(obj)
        for obj in FileTraceStore(self.fallback_path).read():
            add(obj.get("entry"))
        try:
            fh = open(self.emergency_path, "rb")  # noqa: SIM115
        except OSError:
            fh = None
        if fh is not None:
            with fh:
                for raw in fh:
                    parts = raw.split(b" ", 2)
                    if len(parts) == 3 and parts[0] == b"EMERGENCY":
                        try:
                            add(orjson.loads(parts[2]))
                        except orjson.JSONDecodeError:
                            continue
        return sorted(found.values(), key=lambda e: (e.timestamp, e.id))

    def close(self) -> None:
        self.store.close()
