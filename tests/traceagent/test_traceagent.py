"""Seed 001: trace entries, validation, the store → fallback → emergency chain, snapshots and
checkpoints."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tests.conftest import flushed
from tracehound.testing import InMemoryExporter
from tracehound.traceagent import (
    FileTraceStore,
    TraceAgent,
    TraceEntry,
    TraceEntryError,
    TraceManager,
)


def _broken(tmp_path: Path) -> Path:
    """A path under a regular file: nothing can be created there."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    return blocker


# -- TraceEntry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": 12}, "timestamp"),
        ({"event_type": ""}, "event_type"),
        ({"event_type": 3}, "event_type"),
        ({"event_type": "a\nb"}, "event_type"),
        ({"event_type": "x" * 201}, "event_type"),
        ({"data": [1, 2]}, "data"),
        ({"data": {1: "x"}}, "data"),
        ({"metadata": "m"}, "metadata"),
        ({"metadata": {"level": "LOUD"}}, "metadata.level"),
    ],
)
def test_entry_validation_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"timestamp": "2025-01-15T10:30:45", "event_type": "move", "data": {}}
    base.update(kwargs)
    entry = TraceEntry(**base)
    with pytest.raises(TraceEntryError) as info:
        entry.validate()
    assert info.value.field == field
    assert isinstance(info.value, tracehound.ValidationError)


def test_entry_round_trip_and_derived_fields() -> None:
    entry = TraceEntry(
        timestamp=datetime(2025, 1, 15, 10, 30), event_type="error", data={"x": {1, 2}}
    )  # type: ignore[arg-type]
    entry.validate()
    assert entry.timestamp == "2025-01-15T10:30:00+00:00"
    assert entry.level == "ERROR" and entry.critical
    back = TraceEntry.from_dict(entry.to_dict())
    assert back.id == entry.id and back.data == {"x": [1, 2]}
    move = TraceEntry.create("player_move", {"to": "north"}, {"level": "debug"})
    assert move.level == "DEBUG" and not move.critical
    assert TraceEntry.create("x", {}, {"critical": True}).critical


# -- TraceAgent and TraceManager -----------------------------------------------------------------


async def test_log_event_stores_and_adds_metadata(memory: InMemoryExporter, tmp_path: Path) -> None:
    agent = TraceAgent(TraceManager(tmp_path / "trace", session_id="s1"), name="game_tracer")
    with tracehound.span("turn", kind="agent", agent="player_1") as sp:
        await agent.log_event(
            "player_action", {"player": "p1", "move": "north"}, {"agent": "player_1"}
        )
    await agent.log_event("system_event", {"message": "tick"})
    stored = [
        json.loads(line)
        for line in (tmp_path / "trace/traceagent/s1.jsonl").read_text().splitlines()
    ]
    assert [s["event_type"] for s in stored] == ["player_action", "system_event"]
    meta = stored[0]["metadata"]
    assert meta["source"] == "game_tracer" and meta["session_id"] == "s1" and meta["sequence"] == 1
    assert meta["trace_id"] == sp.trace_id and meta["span_id"] == sp.span_id
    assert stored[1]["metadata"]["sequence"] == 2
    assert agent.last_result == "store"
    # also recorded as tracehound events (mapped types)
    events = flushed(memory).events
    assert [(e.type, e.name, e.agent_name) for e in events] == [
        ("action", "player_action", "player_1"),
        ("system", "system_event", None),
    ]
    assert events[1].message == "tick"


async def test_invalid_entries_raise_and_nothing_else_is_lost(
    memory: InMemoryExporter, tmp_path: Path
) -> None:
    agent = TraceAgent(trace_dir=tmp_path)
    await agent.log_event("a", {"n": 1})
    for bad_type, data, meta, field in [
        ("", {}, None, "event_type"),
        (None, {}, None, "event_type"),
        ("b", "data", None, "data"),
        ("b", {}, ["meta"], "metadata"),
        ("b", {}, {"level": 5}, "metadata.level"),
    ]:
        with pytest.raises(TraceEntryError) as info:
            await agent.log_event(bad_type, data, meta)  # type: ignore[arg-type]
        assert info.value.field == field, field
    await agent.log_event("c", {"n": 2})
    assert [e.event_type for e in agent.trace_manager.entries()] == ["a", "c"]
    assert agent.rejected == 5
    assert [e.name for e in flushed(memory).events] == ["a", "c"]


async def test_fallback_when_the_store_directory_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "trace"
    root.mkdir()
    (root / "traceagent").write_text("in the way")
    agent = TraceAgent(trace_dir=root)
    await agent.log_event("error", {"message": "dragon"})
    await agent.log_event("move", {"to": "north"})
    manager = agent.trace_manager
    assert manager.counts == {"store": 0, "fallback": 2, "emergency": 0, "lost": 0}
    lines = [json.loads(x) for x in (root / "traceagent_fallback.log").read_text().splitlines()]
    assert [x["entry"]["event_type"] for x in lines] == ["error", "move"]
    assert "cannot write the trace store" in lines[0]["error"]
    assert [e.event_type for e in manager.entries()] == ["error", "move"]
    assert agent.stats()["last_error"].startswith("cannot write the trace store")


async def test_emergency_log_when_the_fallback_fails_too(tmp_path: Path) -> None:
    blocked = _broken(tmp_path)
    manager = TraceManager(
        tmp_path / "trace",
        store=blocked / "store.jsonl",
        fallback_path=blocked / "fallback.log",
    )
    agent = TraceAgent(manager)
    await agent.checkpoint("boss_defeated", {"hp": 3}, level=7)
    assert manager.counts["emergency"] == 1
    text = (tmp_path / "trace/traceagent_emergency.log").read_text()
    assert text.startswith("EMERGENCY ")
    (saved,) = manager.entries()
    assert saved.event_type == "checkpoint" and saved.data["state"] == {"hp": 3}
    assert saved.data["details"] == {"level": 7}


async def test_nothing_raises_when_every_destination_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = _broken(tmp_path)
    manager = TraceManager(
        tmp_path,
        store=blocked / "s.jsonl",
        fallback_path=blocked / "f.log",
        emergency_path=blocked / "e.log",
    )
    agent = TraceAgent(manager)
    await agent.log_event("error", {"message": "everything is down"})
    assert manager.counts["lost"] == 1
    assert manager.unsaved[0]["data"] == {"message": "everything is down"}
    assert "could not save a trace entry anywhere" in capsys.readouterr().err


async def test_snapshots_and_checkpoints(tmp_path: Path) -> None:
    agent = TraceAgent(trace_dir=tmp_path)
    state: dict[str, Any] = {"hp": 10, "pos": [0, 0]}
    first = await agent.snapshot_state(state, label="start")
    state["hp"] = 9  # later changes do not alter the snapshot
    state["gold"] = 5
    second = await agent.snapshot_state(state)
    assert first.data["state"] == {"hp": 10, "pos": [0, 0]}
    assert first.data["version"] == 1 and second.data["version"] == 2
    assert second.data["diff"] == {"added": ["gold"], "changed": ["hp"], "removed": []}
    assert first.critical
    cp = await agent.checkpoint("level_1", state)
    assert agent.last_checkpoint is cp and cp.metadata["critical"] is True
    await agent.log_state_change({"room": "hall"}, {"room": "cave"}, trigger="door")
    await agent.log_player_action("p1", "attack", {"target": "troll"})
    await agent.log_system_event("autosave")
    await agent.log_error(RuntimeError("save failed"), {"slot": 2})
    kinds = [e.event_type for e in agent.trace_manager.entries()]
    assert kinds == [
        "state_snapshot", "state_snapshot", "checkpoint", "state_change", "player_action",
        "system_event", "error",
    ]  # fmt: skip
    assert agent.stats()["snapshots"] == 2
    with pytest.raises(TraceEntryError):
        await agent.snapshot_state(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TraceEntryError):
        await agent.checkpoint("")


async def test_analyzers_run_for_entries_that_ask(tmp_path: Path) -> None:
    seen: list[str] = []

    async def async_analyzer(entry: TraceEntry) -> None:
        seen.append("async:" + entry.event_type)

    def failing(entry: TraceEntry) -> None:
        raise RuntimeError("analytics down")

    manager = TraceManager(tmp_path)
    manager.add_analyzer(failing)
    manager.add_analyzer(async_analyzer)
    manager.add_analyzer(lambda e: seen.append("sync:" + e.event_type))
    agent = TraceAgent(manager)
    await agent.log_event("battle", {"won": True}, {"requires_analysis": True})
    await agent.log_event("walk", {})
    assert seen == ["async:battle", "sync:battle"]
    assert len(manager.entries()) == 2  # the failing analyzer lost nothing


async def test_secrets_are_redacted_in_the_store(tmp_path: Path) -> None:
    agent = TraceAgent(trace_dir=tmp_path)
    await agent.log_event("login", {"user": "p1", "api_key": "sk-abcdefghijklmnopqrstuvwxyz123456"})
    text = next((tmp_path / "traceagent").glob("*.jsonl")).read_text()
    assert "sk-abcdefghijklmnopqrstuvwxyz123456" not in text
    assert "p1" in text


def test_sync_logging_and_custom_store(tmp_path: Path) -> None:
    store = FileTraceStore(tmp_path / "custom.jsonl")
    agent = TraceAgent(TraceManager(tmp_path, store=store, fsync="always"))
    assert agent.log_event_sync("move", {"to": "west"}) == "store"
    assert [e["event_type"] for e in store.read()] == ["move"]
    with pytest.raises(TraceEntryError):
        TraceAgent(trace_manager="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fsync"):
        TraceManager(tmp_path, fsync="sometimes")  # type: ignore[arg-type]
