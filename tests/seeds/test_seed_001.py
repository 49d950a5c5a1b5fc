"""Seed 001 (trace agent): every usage example, verbatim except for the import line
(``from tracehound import …``). Minimal stand-ins define what the seed leaves undefined (the
``trace_manager`` the seed's ``TraceAgent`` holds, the ``logger`` of its error handling).

The seed's ``Analytics`` and ``Monitor`` classes are not part of this issue (issue 9).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound import TraceError


class _LoguruStyleLogger:
    """The seed logs with ``logger.error("Trace error: {}", str(e))`` (loguru style)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def error(self, message: str, *args: Any) -> None:
        self.lines.append(message.format(*args))


logger = _LoguruStyleLogger()


# -- "Implementation" (Trace System), verbatim but for the import line ----------------------
from datetime import datetime  # noqa: E402
from typing import Dict, Optional  # noqa: E402, UP035

from tracehound import TraceEntry  # noqa: E402


class TraceAgent:
    async def log_event(
        self,
        event_type: str,
        data: Dict[str, Any],  # noqa: UP006
        metadata: Optional[Dict] = None,  # noqa: UP006, UP045
    ) -> None:
        timestamp = datetime.utcnow().isoformat()

        trace_entry = TraceEntry(
            timestamp=timestamp,
            event_type=event_type,
            data=data,
            metadata=metadata or {}
        )  # fmt: skip

        await self.trace_manager.store_trace(trace_entry)


# -- "Error Handling", verbatim, as a method of a trace manager ------------------------------
class SeedErrorHandlingManager(tracehound.TraceManager):
    async def persist(self, entry: TraceEntry) -> None:
        try:
            # Log trace entry
            await self._log_entry(entry)

            # Process analytics if needed
            if entry.requires_analysis:
                await self._process_analytics(entry)

        except TraceError as e:
            logger.error("Trace error: {}", str(e))
            # Use fallback logging
            await self._fallback_log(entry, error=str(e))
        except Exception as e:
            logger.error("Unexpected error in trace: {}", str(e))
            # Ensure critical data is not lost
            await self._emergency_log(entry)


class _ExplodingStore:
    """A store that fails in an unexpected way (not an I/O error)."""

    def write(self, entry: dict[str, Any], *, sync: bool) -> None:
        raise RuntimeError("serializer crashed")

    def close(self) -> None:
        return None


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    tracehound.configure(trace_dir=tmp_path / "trace", exporters=("files",), flush_interval=0.05)
    return tmp_path / "trace"


def _emergency_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        tag, _when, body = line.split(" ", 2)
        assert tag == "EMERGENCY"
        out.append(json.loads(body))
    return out


async def test_seed_trace_agent_implementation(trace_dir: Path) -> None:
    agent = TraceAgent()
    agent.trace_manager = tracehound.TraceManager()  # type: ignore[attr-defined]
    await agent.log_event("player_action", {"player": "p1", "move": "north"}, {"turn": 3})
    await agent.log_event("state_change", {"room": "hall"})
    entries = agent.trace_manager.entries()  # type: ignore[attr-defined]
    assert [e.event_type for e in entries] == ["player_action", "state_change"]
    assert entries[0].data == {"player": "p1", "move": "north"}
    assert entries[0].metadata == {"turn": 3}
    assert (trace_dir / "traceagent").is_dir()
    # and the entries are in the trace, as events
    assert tracehound.flush(timeout=10)
    from tracehound.pipeline.exporters._files import read_records

    names = [r.name for r in read_records(trace_dir) if isinstance(r, tracehound.Event)]
    assert names == ["player_action", "state_change"]


async def test_seed_trace_agent_rejects_an_invalid_entry(trace_dir: Path) -> None:
    agent = TraceAgent()
    agent.trace_manager = tracehound.TraceManager()  # type: ignore[attr-defined]
    await agent.log_event("ok", {"n": 1})
    with pytest.raises(tracehound.TraceEntryError) as info:
        await agent.log_event("bad", ["not", "a", "mapping"])  # type: ignore[arg-type]
    assert info.value.field == "data"
    await agent.log_event("ok", {"n": 2})
    assert [e.data for e in agent.trace_manager.entries()] == [{"n": 1}, {"n": 2}]  # type: ignore[attr-defined]


async def test_seed_error_handling_uses_the_fallback_log_when_the_store_fails(
    trace_dir: Path,
) -> None:
    trace_dir.mkdir(parents=True, exist_ok=True)
    (trace_dir / "traceagent").write_text("a file where the store directory should be")
    manager = SeedErrorHandlingManager()
    entry = TraceEntry.create("player_action", {"player": "p1"})
    await manager.persist(entry)
    assert logger.lines[-1].startswith("Trace error: cannot write the trace store")
    assert manager.counts["fallback"] == 1
    line = json.loads((trace_dir / "traceagent_fallback.log").read_text())
    assert line["entry"]["id"] == entry.id and "cannot write" in line["error"]


async def test_seed_error_handling_uses_the_emergency_log_on_an_unexpected_error(
    trace_dir: Path,
) -> None:
    manager = SeedErrorHandlingManager(store=_ExplodingStore())
    entry = TraceEntry.create("checkpoint", {"level": 3})
    await manager.persist(entry)
    assert logger.lines[-1] == "Unexpected error in trace: serializer crashed"
    saved = _emergency_lines(trace_dir / "traceagent_emergency.log")
    assert [s["id"] for s in saved] == [entry.id]


async def test_trace_agent_guarantees_the_emergency_log(trace_dir: Path) -> None:
    """The library's own chain: store fails, fallback fails too → emergency log."""
    trace_dir.mkdir(parents=True, exist_ok=True)
    blocker = trace_dir / "not-a-directory"
    blocker.write_text("x")
    manager = tracehound.TraceManager(
        store=blocker / "store.jsonl", fallback_path=blocker / "fallback.log"
    )
    agent = tracehound.TraceAgent(manager)
    await agent.log_event("error", {"message": "dragon breached the wall"}, {"level": "CRITICAL"})
    assert manager.counts == {"store": 0, "fallback": 0, "emergency": 1, "lost": 0}
    saved = _emergency_lines(trace_dir / "traceagent_emergency.log")
    assert saved[0]["data"] == {"message": "dragon breached the wall"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_read_only_store_directory(trace_dir: Path) -> None:  # pragma: no cover - root in CI
    store_dir = trace_dir / "traceagent"
    store_dir.mkdir(parents=True)
    store_dir.chmod(0o500)
    try:
        agent = tracehound.TraceAgent()
        await agent.log_event("player_action", {"p": 1})
        assert agent.trace_manager.counts["fallback"] == 1
    finally:
        store_dir.chmod(0o700)
