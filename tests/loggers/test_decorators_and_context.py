"""Seed-000 decorators and ``trace_context``, sync and async."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import tracehound
from tests.conftest import flushed
from tracehound.loggers import (
    AgentLogger,
    context_fields,
    reset_levels,
    trace_agent_action,
    trace_context,
    trace_errors,
    trace_learning_update,
)
from tracehound.testing import InMemoryExporter


@pytest.fixture(autouse=True)
def _levels() -> Iterator[None]:
    reset_levels()
    yield
    reset_levels()


class Agent:
    def __init__(self) -> None:
        self.logger = AgentLogger("creator_001", "creator")

    @trace_agent_action(action_type="create_content")
    def create(self, topic: str, *, length: int = 3) -> str:
        self.logger.info("writing", extra={"topic": topic})
        return topic * length

    @trace_agent_action
    async def publish(self, post: str) -> str:
        return f"published {post}"

    @trace_learning_update("bandit_update")
    async def learn(self, reward: float) -> None:
        if reward < 0:
            raise ValueError("negative reward")

    @trace_errors()
    @trace_agent_action(action_type="fragile")
    async def fragile(self) -> None:
        raise RuntimeError("broke")


class IdOnly:
    agent_id = "class_attr_is_ignored"

    def __init__(self) -> None:
        self.agent_id = "planner_1"
        self.role = "planner"

    @trace_agent_action()
    def plan(self) -> int:
        return 1


def test_trace_agent_action_sync(memory: InMemoryExporter) -> None:
    assert Agent().create("ab", length=2) == "abab"
    rec = flushed(memory)
    (span,) = rec.spans
    assert span.kind == "task" and span.name == "create_content"
    assert span.attributes["action_type"] == "create_content"
    assert (span.agent_name, span.agent_id, span.agent_role) == (
        "creator_001",
        "creator_001",
        "creator",
    )
    action, log = rec.events
    assert action.type == "action" and action.span_id == span.id
    assert action.data["action_data"] == {
        "function": "Agent.create",
        "arguments": {"topic": "ab", "length": 2},
    }
    assert log.span_id == span.id and log.data["topic"] == "ab"


async def test_trace_agent_action_async_bare_and_identity(memory: InMemoryExporter) -> None:
    assert await Agent().publish("p") == "published p"
    assert IdOnly().plan() == 1
    rec = flushed(memory)
    names = {s.name: s for s in rec.spans}
    assert set(names) == {"publish", "plan"}
    assert names["plan"].agent_name == "planner_1" and names["plan"].agent_role == "planner"
    plan_event = next(e for e in rec.events if e.name == "plan")
    assert plan_event.data["logger"] == "agent.planner"


async def test_learning_update_and_failure(memory: InMemoryExporter) -> None:
    agent = Agent()
    await agent.learn(1.0)
    with pytest.raises(ValueError, match="negative reward"):
        await agent.learn(-1.0)
    rec = flushed(memory)
    ok, failed = sorted(rec.spans, key=lambda s: s.start_time)
    assert ok.status == "success" and failed.status == "failed"
    assert failed.error_type == "ValueError"
    updates = [e for e in rec.events if e.type == "learning.update"]
    assert len(updates) == 2 and updates[0].data["update_type"] == "bandit_update"
    (error,) = [e for e in rec.events if e.type == "error"]
    assert error.span_id == failed.id
    assert error.data["event_type"] == "learning_update_error"
    assert "negative reward" in error.data["traceback"]


async def test_an_exception_is_logged_once_through_stacked_decorators(
    memory: InMemoryExporter,
) -> None:
    with pytest.raises(RuntimeError):
        await Agent().fragile()
    errors = [e for e in flushed(memory).events if e.type == "error"]
    assert len(errors) == 1
    assert errors[0].data["event_type"] == "agent_action_error"


def test_trace_errors_plain_function_and_no_reraise(memory: InMemoryExporter) -> None:
    @trace_errors
    def divide(a: int, b: int) -> float:
        return a / b

    @trace_errors(reraise=False, default=-1)
    def safe_divide(a: int, b: int) -> float:
        return a / b

    with pytest.raises(ZeroDivisionError):
        divide(1, 0)
    assert safe_divide(1, 0) == -1
    assert divide(4, 2) == 2
    errors = flushed(memory).events
    assert [e.type for e in errors] == ["error", "error"]
    assert errors[0].data["arguments"] == {"a": 1, "b": 0}
    assert errors[0].data["error_type"] == "ZeroDivisionError"
    assert errors[0].agent_name is None and errors[0].level == "ERROR"


def test_cancellation_is_not_an_error(memory: InMemoryExporter) -> None:
    @trace_errors()
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert flushed(memory).events == []


def test_trace_context_fields_entry_exit_and_nesting(memory: InMemoryExporter) -> None:
    lg = AgentLogger("creator_001", "creator")
    with trace_context(lg, "outer", content_id="c1", campaign="spring") as outer:
        assert context_fields() == {"content_id": "c1", "campaign": "spring"}
        with trace_context(lg, "inner", content_id="c2"):
            lg.log_action("optimize")
        lg.info("back outside")
    assert context_fields() == {}
    assert outer.elapsed_ms is not None
    rec = flushed(memory)
    by_msg = {e.message: e for e in rec.events}
    action = by_msg["Agent action: optimize"]
    assert action.data["content_id"] == "c2" and action.data["campaign"] == "spring"
    assert by_msg["back outside"].data["content_id"] == "c1"
    assert by_msg["Entering outer"].level == "DEBUG"
    exit_ = next(
        e
        for e in rec.events
        if e.data.get("event_type") == "context_exit" and e.data["context"] == "outer"
    )
    assert exit_.data["elapsed_ms"] > 0 and exit_.message.startswith("Exiting outer after")
    spans = {s.name: s for s in rec.spans}
    assert spans["inner"].parent_id == spans["outer"].id
    assert spans["outer"].attributes["campaign"] == "spring"
    assert spans["outer"].agent_name == "creator_001"


async def test_trace_context_error_async_and_other_loggers(memory: InMemoryExporter) -> None:
    lg = AgentLogger("creator_001", "creator")
    with pytest.raises(KeyError):
        async with trace_context(lg, "risky", step=1):
            raise KeyError("k")
    std = logging.getLogger("test.context")
    std.setLevel(logging.DEBUG)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    std.addHandler(handler)
    try:
        with trace_context(std, "stdlib_block", name="clash", job=7):
            pass
    finally:
        std.removeHandler(handler)
    with trace_context(None, "anonymous", x=1):
        tracehound.event("log", "inside", message="inside")
    rec = flushed(memory)
    error = next(e for e in rec.events if e.data.get("event_type") == "context_error")
    assert error.level == "ERROR" and error.data["error_type"] == "KeyError"
    assert error.data["step"] == 1
    assert next(s for s in rec.spans if s.name == "risky").status == "failed"
    assert seen[0].getMessage() == "Entering stdlib_block"
    assert seen[0].job == 7 and seen[0].context_name == "clash"  # type: ignore[attr-defined]
    anon = [e for e in rec.events if e.data.get("context") == "anonymous"]
    assert len(anon) == 2 and all(e.agent_name is None for e in anon)


def test_decorating_something_that_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="fn"):
        trace_errors(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        trace_agent_action("x")(42)  # type: ignore[type-var]


def test_decorators_survive_disabled_tracing(tmp_path: Any) -> None:
    tracehound.configure(enabled=False, trace_dir=tmp_path)
    assert Agent().create("x", length=1) == "x"
    with trace_context(AgentLogger("a", "b"), "ctx", k=1):
        pass
