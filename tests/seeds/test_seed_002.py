"""Seed 002 (execution and LLM-call logging): every usage example, verbatim except for the
import line (``from tracehound import …``). Minimal stand-ins define what the seed leaves
undefined (``db_session``, ``model``, ``perform_task``, ``generate_plan``…)."""

# fmt: off
# (the seed's examples are kept verbatim, in the seed's own formatting)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.testing import InMemoryExporter

# -- stand-ins for names the seed's examples leave undefined ------------------------------
db_session = None  # the seed's database session; tracehound ignores it


class _Model:
    """A stand-in model: a completion and a stream, OpenAI-shaped."""

    model_id = "gpt-4o"
    provider = "openai"

    def complete(self, prompt: str, **_: Any) -> dict[str, Any]:
        return {
            "model": "gpt-4o",
            "choices": [{"message": {"content": f"Answer: {prompt}"}}],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "total_tokens": 150,
                "prompt_tokens_details": {"cached_tokens": 20},
            },
        }

    async def stream(self, prompt: str, **_: Any) -> Any:
        for word in ("Machine ", "learning ", "learns."):
            yield word


model = _Model()
schemas = {"sales": ["region", "amount"]}
prompt = "Create a sales dashboard"
report_id = "550e8400-e29b-41d4-a716-446655440001"
completion_id = "550e8400-e29b-41d4-a716-446655440002"


async def perform_task() -> str:
    return "task result"


async def generate_plan() -> list[dict[str, Any]]:
    return [{"action": "create_widget", "details": {"type": "bar"}}]


async def failing_generate_plan() -> list[dict[str, Any]]:
    raise RuntimeError("planner could not reach the schema service")


@pytest.fixture
def mem(tmp_path: Path) -> InMemoryExporter:
    exporter = InMemoryExporter()
    tracehound.configure(
        trace_dir=tmp_path, exporters=("store",), extra_exporters=(exporter,), flush_interval=0.05
    )
    return exporter


def _flushed(mem: InMemoryExporter) -> InMemoryExporter:
    assert tracehound.flush(timeout=10)
    return mem


def test_basic_setup() -> None:
    """Section 1's ``Agent`` is the seed application's own class (not part of the logging
    API) and its example line ``Agent(db=db_session, model=model, ...)`` is not valid Python
    (a positional ``...`` after keywords). Its loggers are importable as the seed shows."""
    from tracehound import ExecutionLogger, LLMCallLogger

    class Agent:  # what the seed's Agent.__init__ sets up
        def __init__(self, db: Any = None, model: Any = None) -> None:
            self.execution_logger = ExecutionLogger(db)
            self.llm_call_logger = LLMCallLogger(db)

    agent = Agent(db=db_session, model=model)
    assert isinstance(agent.execution_logger, ExecutionLogger)
    assert isinstance(agent.llm_call_logger, LLMCallLogger)


async def test_manual_logger_usage(mem: InMemoryExporter) -> None:
    from tracehound import ExecutionLogger, LLMCallLogger

    # Initialize loggers
    execution_logger = ExecutionLogger(db_session)
    llm_call_logger = LLMCallLogger(db_session)

    # Context manager approach (recommended)
    async with execution_logger.log_execution(
        agent_type="custom_agent",
        execution_step="custom_task",
        input_data={"param": "value"}
    ) as log_context:
        # Your agent logic here
        result = await perform_task()

        # Set output data
        log_context.output_data = {"result": result}
        log_context.metadata = {"additional": "info"}

    assert llm_call_logger is not None
    assert log_context.status == "completed"
    final = [s for s in _flushed(mem).spans if s.kind == "agent" and s.end_time is not None]
    (span,) = final
    assert span.agent_name == "custom_agent" and span.name == "custom_task"
    assert span.status == "success"
    assert span.input == {"param": "value"}
    assert span.output == {"result": "task result"}
    assert span.attributes["metadata"] == {"additional": "info"}
    assert span.id == log_context.id and span.trace_id == log_context.execution_id
    # the start was visible while it ran: a running snapshot
    assert any(s.kind == "agent" and s.status == "running" for s in mem.spans)


async def test_llm_call_logging(mem: InMemoryExporter) -> None:
    from tracehound import LLM, LLMCallLogger

    llm_call_logger = LLMCallLogger(db_session)

    # LLM with automatic logging
    llm = LLM(model=model, llm_call_logger=llm_call_logger)

    # Regular inference (automatically logged)
    response = llm.inference(
        prompt="What is AI?",
        execution_log_id="exec_123",  # Optional: link to execution
        report_id="report_456"        # Optional: link to report
    )

    # Streaming inference (automatically logged)
    async for chunk in llm.inference_stream(
        prompt="Explain machine learning",
        execution_log_id="exec_123"
    ):
        print(chunk)

    assert response == "Answer: What is AI?"
    calls = [s for s in _flushed(mem).spans if s.kind == "llm"]
    inference, stream = calls
    assert inference.provider == "openai" and inference.model == "gpt-4o"
    assert inference.attributes["call_type"] == "inference"
    assert inference.attributes["execution_log_id"] == "exec_123"
    assert inference.attributes["report_id"] == "report_456"
    assert inference.input == "What is AI?" and inference.output == "Answer: What is AI?"
    assert (inference.input_tokens, inference.output_tokens, inference.cached_tokens) == (120, 30, 20)
    assert inference.total_tokens == 150
    # gpt-4o: 100 uncached x $2.5/M + 20 cached x $1.25/M + 30 x $10/M
    assert inference.total_cost == pytest.approx(100 * 2.5e-6 + 20 * 1.25e-6 + 30 * 1e-5)
    assert inference.cost_source.startswith("genai-prices:openai/gpt-4o@")
    assert stream.attributes["call_type"] == "inference_stream" and stream.is_streaming
    assert stream.chunks_count == 3 and stream.time_to_first_token_ms is not None
    assert stream.output == "Machine learning learns."


async def test_custom_execution_logging(mem: InMemoryExporter) -> None:
    from tracehound import ExecutionLogger

    execution_logger = ExecutionLogger(db_session)

    # Start execution manually
    execution_log = await execution_logger.start_execution(
        agent_type="planner",
        execution_step="plan",
        action_type="generate_plan",
        input_data={"schemas": schemas, "prompt": prompt},
        report_id=report_id,
        completion_id=completion_id
    )

    try:
        # Your execution logic
        plan = await generate_plan()

        # End with success
        await execution_logger.end_execution(
            execution_log,
            status="completed",
            output_data={"plan": plan}
        )
    except Exception as e:
        # End with failure
        await execution_logger.end_execution(
            execution_log,
            status="failed",
            error_message=str(e)
        )

    assert execution_log.status == "completed"
    span = next(s for s in _flushed(mem).spans if s.kind == "agent" and s.end_time is not None)
    assert span.attributes["report_id"] == report_id
    assert span.attributes["completion_id"] == completion_id
    assert span.attributes["action_type"] == "generate_plan"
    assert span.output == {"plan": [{"action": "create_widget", "details": {"type": "bar"}}]}


async def test_custom_execution_logging_failure(mem: InMemoryExporter) -> None:
    from tracehound import ExecutionLogger

    execution_logger = ExecutionLogger(db_session)
    generate_plan = failing_generate_plan

    # Start execution manually
    execution_log = await execution_logger.start_execution(
        agent_type="planner",
        execution_step="plan",
        action_type="generate_plan",
        input_data={"schemas": schemas, "prompt": prompt},
        report_id=report_id,
        completion_id=completion_id
    )

    try:
        # Your execution logic
        plan = await generate_plan()

        # End with success
        await execution_logger.end_execution(
            execution_log,
            status="completed",
            output_data={"plan": plan}
        )
    except Exception as e:
        # End with failure
        await execution_logger.end_execution(
            execution_log,
            status="failed",
            error_message=str(e)
        )

    assert execution_log.status == "failed"
    span = next(s for s in _flushed(mem).spans if s.kind == "agent" and s.end_time is not None)
    assert span.status == "failed"
    assert span.status_message == "planner could not reach the schema service"


async def test_token_pricing_configuration(mem: InMemoryExporter) -> None:
    from tracehound import LLMCallLogger

    class MyLLMCallLogger(LLMCallLogger):
        def __init__(self, db: Any = None) -> None:
            super().__init__(db)
            self.token_prices = {
                'gpt-4': {'input': 0.03, 'output': 0.06},
                'custom-model': {'input': 0.001, 'output': 0.002},
                # Add your models here
            }

    logger = MyLLMCallLogger(db_session)
    gpt4 = logger.log_call("openai", "gpt-4", "hi", "hello", input_tokens=1500, output_tokens=500)
    custom = logger.log_call("local", "custom-model", "hi", "hello", input_tokens=1000, output_tokens=1000)
    unknown = logger.log_call("local", "mystery-model", "hi", "hello", input_tokens=10, output_tokens=10)
    assert gpt4.total_cost == pytest.approx(0.045 + 0.03) and gpt4.cost_source == "override:gpt-4"
    assert custom.total_cost == pytest.approx(0.003)
    assert unknown.total_cost is None and unknown.cost_source == "unknown"
    spans = {s.model: s for s in _flushed(mem).spans if s.kind == "llm"}
    assert spans["gpt-4"].total_cost == pytest.approx(0.075)
    assert spans["mystery-model"].total_cost is None
    assert spans["mystery-model"].cost_source == "unknown"


async def test_analytics_summary_shape(mem: InMemoryExporter) -> None:
    """The REST summary's response shape, from ``ExecutionAnalytics.get_analytics_summary``."""
    from tracehound import LLM, ExecutionAnalytics, ExecutionLogger, LLMCallLogger

    execution_logger = ExecutionLogger(db_session)
    llm = LLM(model=model, llm_call_logger=LLMCallLogger(db_session))
    async with execution_logger.log_execution(agent_type="planner", execution_step="plan") as ctx:
        ctx.output_data = {"answer": llm.inference(prompt="What is AI?")}
    summary = ExecutionAnalytics.get_analytics_summary()
    assert set(summary) >= {"date_range", "execution_analytics", "llm_call_analytics"}
    ex = summary["execution_analytics"]
    assert ex["total_executions"] == 1 and ex["status_counts"] == {"completed": 1}
    assert ex["agent_type_counts"] == {"planner": 1}
    assert set(ex["duration_stats"]) == {"avg_duration_ms", "min_duration_ms", "max_duration_ms"}
    llm_stats = summary["llm_call_analytics"]
    assert llm_stats["total_calls"] == 1
    assert llm_stats["provider_counts"] == {"openai": 1} and llm_stats["model_counts"] == {"gpt-4o": 1}
    assert set(llm_stats["token_stats"]) >= {
        "total_input_tokens",
        "total_output_tokens",
        "total_tokens",
        "total_cost",
    }
