"""ActionLogger / log_action (seed 004) on the core SDK, with an in-memory exporter."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

import tracehound
from tracehound import ActionLogger, log_action
from tracehound.exceptions import ValidationError
from tracehound.testing import InMemoryExporter

from ..conftest import flushed


async def test_tool_call_context_manager_records_a_tool_span(memory: InMemoryExporter) -> None:
    cid = str(uuid.uuid4())
    logger = ActionLogger("agent-researcher", correlation_id=cid, project_name="omniclaude")
    async with logger.tool_call("Read", {"file_path": "/a.py"}) as action:
        await asyncio.sleep(0.01)
        action.set_result({"line_count": 3})
    assert action.success and action.duration_ms is not None and action.duration_ms >= 10
    (sp,) = flushed(memory).spans
    assert (sp.kind, sp.name, sp.status) == ("tool", "Read", "success")
    assert sp.trace_id == cid and sp.parent_id == cid
    assert sp.agent_name == "agent-researcher"
    assert sp.input == {"file_path": "/a.py"} and sp.output == {"line_count": 3}
    assert sp.duration_ms is not None and sp.duration_ms >= 10
    assert sp.attributes["project_name"] == "omniclaude"
    assert sp.attributes["debug_mode"] is True
    assert sp.attributes["working_directory"] == sp.attributes["project_path"]


async def test_tool_call_captures_and_reraises_errors(memory: InMemoryExporter) -> None:
    logger = ActionLogger("agent-x")
    with pytest.raises(FileNotFoundError):
        async with logger.tool_call("Read", {"file_path": "/missing"}):
            raise FileNotFoundError("no such file: /missing")
    (sp,) = flushed(memory).spans
    assert sp.status == "failed"
    assert sp.error_type == "FileNotFoundError"
    assert sp.error_message == "no such file: /missing"
    assert sp.status_message == "no such file: /missing"
    assert sp.trace_id == logger.correlation_id


def test_tool_call_works_as_a_sync_context_manager(memory: InMemoryExporter) -> None:
    logger = ActionLogger("agent-x")
    with logger.tool_call("Bash", {"command": "ls"}) as action:
        action.set_result({"exit_code": 0})
    (sp,) = flushed(memory).spans
    assert sp.output == {"exit_code": 0}


async def test_manual_logging_methods(memory: InMemoryExporter) -> None:
    logger = ActionLogger("agent-router", project_name="p", project_path="/srv/p")
    assert await logger.log_tool_call(
        tool_name="Write",
        tool_parameters={"file_path": "x", "content_length": 2048},
        tool_result={"success": True, "bytes_written": 2048},
        duration_ms=30,
    )
    assert await logger.log_tool_call("Edit", {"f": 1}, success=False, error_message="denied")
    assert await logger.log_decision("select_agent", {"candidates": 2}, {"selected": "a"}, 12)
    assert await logger.log_error("ImportError", "No module named 'foo'", {"file": "x.py"})
    assert await logger.log_success("task_completed", {"files": 3}, duration_ms=1500)
    rec = flushed(memory)
    write, edit = rec.spans
    assert write.duration_ms == pytest.approx(30, abs=1)
    assert write.attributes["project_path"] == "/srv/p"
    assert edit.status == "failed" and edit.status_message == "denied"
    decision, error, success = rec.events
    assert (decision.type, decision.name) == ("decision", "select_agent")
    assert decision.data["action_details"] == {
        "decision_context": {"candidates": 2},
        "decision_result": {"selected": "a"},
    }
    assert decision.data["duration_ms"] == 12
    assert decision.agent_name == "agent-router"
    assert (error.type, error.level, error.message) == ("error", "ERROR", "No module named 'foo'")
    assert error.data["action_details"]["error_message"] == "No module named 'foo'"
    assert success.data["action_details"] == {"files": 3}
    assert {e.trace_id for e in rec.events} | {s.trace_id for s in rec.spans} == {
        logger.correlation_id
    }


async def test_log_methods_never_raise(memory: InMemoryExporter) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    logger = ActionLogger("agent-x")
    assert await logger.log_decision(Hostile(), {"x": Hostile()}) in (True, False)  # type: ignore[arg-type]
    assert await logger.log_tool_call("T", {"x": Hostile()}, duration_ms="soon") in (True, False)  # type: ignore[arg-type]
    assert await logger.log_error(Hostile(), Hostile()) in (True, False)  # type: ignore[arg-type]
    assert tracehound.flush(5)


async def test_log_action_validates_action_type(memory: InMemoryExporter) -> None:
    with pytest.raises(ValidationError) as info:
        await log_action("agent-x", "tool", "Grep", {})
    assert info.value.field == "action_type"
    assert isinstance(info.value, ValueError)
    assert "tool_call, decision, error, success" in str(info.value)


async def test_log_action_each_type(memory: InMemoryExporter) -> None:
    cid = str(uuid.uuid4())
    assert await log_action("a", "tool_call", "Grep", {"pattern": "TODO", "matches": 42}, cid)
    assert await log_action("a", "decision", "route", {"to": "b"}, cid)
    assert await log_action("a", "error", "RuntimeError", {"error_message": "boom"}, cid)
    assert await log_action("a", "success", "done", None, cid, duration_ms=5)
    rec = flushed(memory)
    (grep,) = rec.spans
    assert grep.input == {"pattern": "TODO", "matches": 42} and grep.trace_id == cid
    assert [(e.type, e.name) for e in rec.events] == [
        ("decision", "route"),
        ("error", "RuntimeError"),
        ("success", "done"),
    ]
    assert rec.events[1].message == "boom"


async def test_correlation_ids(memory: InMemoryExporter) -> None:
    upper = str(uuid.uuid4()).upper()
    a = ActionLogger("a", correlation_id="abc-123")
    b = ActionLogger("b", correlation_id="abc-123")
    c = ActionLogger("c", correlation_id=uuid.UUID(upper))
    for lg in (a, b, c):
        assert await lg.log_success("ok")
    ea, eb, ec = flushed(memory).events
    assert ea.trace_id == eb.trace_id  # same correlation → same trace
    assert ea.data["correlation_id"] == "abc-123"
    assert ec.trace_id == upper.lower() and "correlation_id" not in ec.data
    auto = ActionLogger("d")
    assert uuid.UUID(auto.correlation_id)


async def test_actions_nest_inside_the_current_span(memory: InMemoryExporter) -> None:
    with tracehound.span("plan", kind="agent", agent="planner") as root:
        logger = ActionLogger("planner")
        assert logger.correlation_id == root.trace_id
        async with logger.tool_call("Read", {}) as action:
            action.set_result("ok")
        await logger.log_decision("next", {}, {})
    rec = flushed(memory)
    tool = next(s for s in rec.spans if s.kind == "tool")
    assert tool.parent_id == root.span_id and tool.trace_id == root.trace_id
    assert rec.events[0].span_id == root.span_id


async def test_disabled_tracing_returns_false(tmp_path: Path) -> None:
    tracehound.configure(enabled=False, trace_dir=tmp_path)
    logger = ActionLogger("a")
    assert await logger.log_decision("x") is False
    async with logger.tool_call("Read", {}) as action:
        action.set_result(1)
    assert action.success


def test_agent_name_is_required() -> None:
    with pytest.raises(ValidationError) as info:
        ActionLogger("")
    assert info.value.field == "agent_name"
