"""Execution logging, LLM wrappers and tracking: records on the core SDK, never raising into
agent code."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import tracehound
from tracehound import (
    LLM,
    AgentTrackerFactory,
    BaseAgent,
    ExecutionLogger,
    ExecutionStage,
    ExecutionStatus,
    ExecutionTracker,
    LLMCallLogger,
    NoOpTracker,
    llm_call,
    wrap_llm,
)
from tracehound.executions import InvalidArgumentError, current_execution_id, extract_usage
from tracehound.testing import InMemoryExporter

from ..conftest import flushed


def finals(memory: InMemoryExporter, kind: str) -> list[Any]:
    return [s for s in flushed(memory).spans if s.kind == kind and s.end_time is not None]


# -- seed 002 --------------------------------------------------------------------------------


async def test_nested_executions_share_execution_id(memory: InMemoryExporter) -> None:
    logger = ExecutionLogger()
    async with logger.log_execution("planner", "plan", report_id="r1") as outer:
        async with logger.log_execution("designer", "execute") as inner:
            pass
    assert outer.execution_id == inner.execution_id == outer.id
    assert inner.parent_id == outer.id
    spans = {s.agent_name: s for s in finals(memory, "agent")}
    assert spans["designer"].parent_id == spans["planner"].id
    assert spans["planner"].attributes["report_id"] == "r1"


async def test_failed_and_cancelled_executions_reraise(memory: InMemoryExporter) -> None:
    logger = ExecutionLogger()
    with pytest.raises(ZeroDivisionError):
        async with logger.log_execution("coder", "execute") as ctx:
            1 / 0  # noqa: B018
    assert ctx.status == "failed"

    async def cancelled() -> None:
        async with logger.log_execution("answer", "observe"):
            await asyncio.sleep(10)

    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    spans = {s.agent_name: s for s in finals(memory, "agent")}
    assert spans["coder"].status == "failed" and spans["coder"].error_type == "ZeroDivisionError"
    assert spans["coder"].error_traceback
    assert spans["answer"].status == "cancelled"


async def test_logging_mistakes_never_raise(memory: InMemoryExporter) -> None:
    logger = ExecutionLogger()
    log = await logger.start_execution(123, None, input_data=object())  # type: ignore[arg-type]
    await logger.end_execution(log, status="weird-status")
    await logger.end_execution(log, status="completed")  # a second end is ignored
    assert await logger.end_execution("not a log", status="completed") is None  # type: ignore[arg-type]
    (span,) = finals(memory, "agent")
    assert span.agent_name == "123" and span.status == "failed"
    assert "weird-status" in span.attributes["tracehound.invalid_status"]


def test_sync_execution_logging(memory: InMemoryExporter) -> None:
    logger = ExecutionLogger()
    with logger.log_execution("planner", "plan") as ctx:
        ctx.output_data = {"ok": True}
    log = logger.start_execution_sync("planner", "observe")
    logger.end_execution_sync(log, "cancelled")
    statuses = sorted(s.status for s in finals(memory, "agent"))
    assert statuses == ["cancelled", "success"]


def test_llm_call_logger_links_to_live_execution(memory: InMemoryExporter) -> None:
    logger = ExecutionLogger()
    calls = LLMCallLogger()
    log = logger.start_execution_sync("planner", "plan")
    other = logger.start_execution_sync("designer", "plan")  # nested under planner, current
    call = calls.log_call(
        "openai", "gpt-4o", "hi", "yo", input_tokens=1, output_tokens=1, execution_log_id=log.id
    )
    logger.end_execution_sync(other)
    logger.end_execution_sync(log)
    assert call.execution_log_id == log.id
    (llm,) = finals(memory, "llm")
    assert llm.parent_id == log.id  # the given execution, not the current one


# -- the LLM wrapper -------------------------------------------------------------------------

_OPENAI = {
    "model": "gpt-4o-mini",
    "choices": [{"message": {"content": "hello"}}],
    "usage": {
        "prompt_tokens": 50,
        "completion_tokens": 20,
        "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 5},
    },
}


def test_wrap_sync_function(memory: InMemoryExporter) -> None:
    @llm_call(provider="openai")
    def complete(messages: list[dict[str, str]], model: str) -> dict[str, Any]:
        return _OPENAI

    assert complete([{"role": "user", "content": "hi"}], model="gpt-4o-mini") is _OPENAI
    (span,) = finals(memory, "llm")
    assert span.model == "gpt-4o-mini" and span.provider == "openai"
    assert span.input == [{"role": "user", "content": "hi"}] and span.output == "hello"
    assert (span.input_tokens, span.cached_tokens, span.output_tokens, span.reasoning_tokens) == (
        50,
        10,
        20,
        5,
    )
    assert span.total_cost is not None and span.cost_source.startswith("genai-prices:openai/")


async def test_wrap_async_and_streams(memory: InMemoryExporter) -> None:
    async def acomplete(prompt: str) -> str:
        return "async answer"

    def stream(prompt: str) -> Iterator[str]:
        yield from ("a", "b")

    async def astream(prompt: str) -> AsyncIterator[dict[str, Any]]:
        for word in ("x", "y", "z"):
            yield {"choices": [{"delta": {"content": word}}]}
        yield {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3}}

    def returns_iterator(prompt: str) -> Iterator[str]:
        return iter(["1", "2"])

    assert await wrap_llm(acomplete, model="m-async")("p") == "async answer"
    assert list(wrap_llm(stream, model="m-gen")("p")) == ["a", "b"]
    got = [c async for c in wrap_llm(astream, model="gpt-4o", provider="openai")("p")]
    assert len(got) == 4
    assert list(wrap_llm(returns_iterator, model="m-iter")("p")) == ["1", "2"]
    spans = {s.model: s for s in finals(memory, "llm")}
    assert spans["m-async"].output == "async answer"
    assert spans["m-gen"].chunks_count == 2 and spans["m-gen"].output == "ab"
    assert spans["gpt-4o"].chunks_count == 4 and spans["gpt-4o"].output == "xyz"
    assert spans["gpt-4o"].input_tokens == 3 and spans["gpt-4o"].time_to_first_token_ms is not None
    assert spans["m-iter"].is_streaming and spans["m-iter"].output == "12"


def test_wrapped_failure_is_recorded_and_reraised(memory: InMemoryExporter) -> None:
    def broken(prompt: str) -> str:
        raise ConnectionError("provider down")

    with pytest.raises(ConnectionError):
        wrap_llm(broken, model="gpt-4o")("p")
    (span,) = finals(memory, "llm")
    assert span.status == "failed" and span.error_type == "ConnectionError"


def test_llm_class_argument_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="model"):
        LLM(model=42)
    with pytest.raises(InvalidArgumentError, match="client"):
        LLM(model="gpt-4o")
    with pytest.raises(InvalidArgumentError, match="llm_call_logger"):
        LLM(model="gpt-4o", llm_call_logger="nope", client=lambda p: p)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fn"):
        wrap_llm(None)  # type: ignore[arg-type]


async def test_llm_class_with_clients(memory: InMemoryExporter) -> None:
    async def client(prompt: str) -> dict[str, Any]:
        return {
            "content": [{"type": "text", "text": "claude says"}],
            "usage": {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 50},
        }

    llm = LLM("claude-3-5-sonnet", client=client, provider="anthropic")
    assert await llm.ainference("hi") == "claude says"
    chunks = [c async for c in llm.inference_stream("hi")]  # no stream client: one chunk
    assert chunks == ["claude says"]
    first = finals(memory, "llm")[0]
    # Anthropic's input_tokens exclude cache reads: normalized to include them
    assert (first.input_tokens, first.cached_tokens) == (150, 50)
    assert first.cost_source.startswith("genai-prices:anthropic/")


def test_extract_usage_shapes() -> None:
    google = {
        "usage_metadata": {
            "prompt_token_count": 10,
            "candidates_token_count": 4,
            "thoughts_token_count": 6,
            "cached_content_token_count": 2,
        }
    }
    assert extract_usage(google) == {
        "input_tokens": 10,
        "output_tokens": 10,
        "cached_tokens": 2,
        "reasoning_tokens": 6,
        "total_tokens": None,
    }
    assert extract_usage("text")["input_tokens"] is None


# -- seed 003 tracking -----------------------------------------------------------------------


class _Agent(BaseAgent):
    pass


async def test_time_limit_ends_execution_as_timeout(memory: InMemoryExporter) -> None:
    tracker = _Agent().create_tracker(vault_id="v", time_limit_s=0.02)
    with pytest.raises(TimeoutError):
        async with tracker.track_execution("run"):
            await tracker.track_stage(ExecutionStage.PRE_PROCESS, "slow")
            await asyncio.sleep(1)
    assert tracker.status is ExecutionStatus.TIMEOUT
    agent = finals(memory, "agent")[0]
    assert agent.status == "timeout" and agent.attributes["execution_status"] == "timeout"
    stages = {s.name: s for s in finals(memory, "stage")}
    assert stages["PRE_PROCESS"].status == "timeout"


def test_sync_tracking_and_overrun(memory: InMemoryExporter) -> None:
    tracker = ExecutionTracker("SyncAgent", time_limit_s=0.001)
    with tracker.track_execution("run", {"q": 1}):
        tracker.track_stage(ExecutionStage.PRE_PROCESS)
        time.sleep(0.01)
    assert tracker.status is ExecutionStatus.TIMEOUT
    ok = ExecutionTracker("SyncAgent")
    with ok.track_execution("run"):
        assert current_execution_id() == ok.execution_id
        ok.set_output(1)
    assert ok.status is ExecutionStatus.SUCCESS
    assert current_execution_id() is None


async def test_exceptions_are_captured(memory: InMemoryExporter) -> None:
    tracker = AgentTrackerFactory(vault_id="v", conversation_id="c", user_id="u").create_tracker(
        "A"
    )
    with pytest.raises(KeyError):
        async with tracker.track_execution("run"):
            await tracker.track_stage("llm_parse", "parsing")
            raise KeyError("x")
    span = finals(memory, "agent")[0]
    assert span.error_type == "KeyError" and "Traceback" in span.error_traceback
    assert span.conversation_id == "c" and span.user_id == "u"
    assert span.attributes["vault_id"] == "v" and span.attributes["failed_stage"] == "LLM_PARSE"


async def test_noop_tracker_writes_nothing(memory: InMemoryExporter) -> None:
    agent = _Agent(enable_tracking=False)
    tracker = agent.create_tracker(vault_id="v")
    assert isinstance(tracker, NoOpTracker)
    start = time.perf_counter()
    for _ in range(1000):
        async with tracker.track_execution("run", {"q": 1}):
            await tracker.track_should_respond(True, 0.9, "yes")
            await tracker.track_stage(ExecutionStage.LLM_CALL, "x")
            await tracker.track_llm_request("m", {})
            await tracker.track_llm_response({}, 1, 1.0)
            await agent.log_event("hello")
            tracker.set_output(1)
    per_call_us = (time.perf_counter() - start) / 1000 * 1e6
    assert per_call_us < 200
    assert tracker.execution_id is None
    assert flushed(memory).records == []
    assert AgentTrackerFactory(enable_tracking=False).create_tracker("A").execution_id is None


async def test_log_correlation_with_stdlib_logging(memory: InMemoryExporter) -> None:
    from tracehound.integrations.logging import instrument_logging, uninstrument_logging

    instrument_logging()
    try:
        app = logging.getLogger("myapp")
        app.setLevel(logging.INFO)
        tracker = _Agent().create_tracker()
        async with tracker.track_execution("run"):
            await tracker.track_stage(ExecutionStage.PRE_PROCESS)
            app.info("inside the execution")
    finally:
        uninstrument_logging()
    events = [e for e in flushed(memory).events if e.message == "inside the execution"]
    assert events and events[0].data.get("execution_id") == tracker.execution_id


def test_parent_execution_id_must_be_text() -> None:
    with pytest.raises(InvalidArgumentError, match="parent_execution_id"):
        AgentTrackerFactory().create_tracker("A", parent_execution_id=123)  # type: ignore[arg-type]


async def test_disabled_tracehound_is_noop(tmp_path: Any) -> None:
    tracehound.configure(enabled=False, trace_dir=tmp_path)
    tracker = _Agent().create_tracker()
    async with tracker.track_execution("run"):
        await tracker.track_stage(ExecutionStage.PRE_PROCESS)
    assert tracker.execution_id is None
    async with ExecutionLogger().log_execution("a", "b") as ctx:
        pass
    assert ctx.status == "completed"
