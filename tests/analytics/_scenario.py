"""A small, realistic set of agent runs recorded with the real SDK (seed 002 and 003 APIs):
the analytics tests ask questions about it on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import tracehound
from tracehound import (
    LLM,
    BaseAgent,
    ExecutionLogger,
    ExecutionStage,
    LLMCallLogger,
)
from tracehound.model import Record
from tracehound.testing import configure_for_tests


class Facts(dict[str, Any]):
    """Ids and numbers the tests check answers against."""


class PsychologistAgent(BaseAgent):
    async def should_respond(self, query: str) -> tuple[bool, float, str]:
        if "character" in query:
            return True, 0.92, "Query is about a character's motives"
        return False, 0.3, "Query is about plot structure, not character psychology"

    async def run(self, vault_id: str, query: str, conversation_id: str) -> Any:
        tracker = self.create_tracker(vault_id=vault_id, conversation_id=conversation_id)
        async with tracker.track_execution(method="run", input_data={"query": query}):
            should, conf, reason = await self.should_respond(query)
            await tracker.track_should_respond(should, conf, reason)
            if not should:
                return None
            await tracker.track_stage(ExecutionStage.LLM_PREPARE, "Preparing LLM request")
            request = {"messages": [{"role": "user", "content": query}], "temperature": 0.7}
            await tracker.track_llm_request("gpt-4o", request)
            await asyncio.sleep(0.03)
            await tracker.track_llm_response(
                response_data={"content": "She fears abandonment."},
                tokens_used={"prompt_tokens": 1000, "completion_tokens": 234},
                latency_ms=30.0,
            )
            await tracker.complete_stage(ExecutionStage.LLM_CALL)
            await tracker.track_stage(ExecutionStage.POST_PROCESS, "Processing LLM response")
            result = {"motive": "fear of abandonment"}
            tracker.set_output(result)
            return result


class PlotAgent(BaseAgent):
    async def run(self, vault_id: str, query: str, conversation_id: str) -> Any:
        tracker = self.create_tracker(vault_id=vault_id, conversation_id=conversation_id)
        async with tracker.track_execution(method="run", input_data={"query": query}):
            await tracker.track_should_respond(True, 0.8, "plot question")
            await tracker.track_stage(ExecutionStage.LLM_PREPARE, "Preparing")
            await tracker.track_llm_request("gpt-4o-mini", {"messages": [query]})
            await tracker.track_llm_response({"content": "{not json"}, 300, 12.0)
            await tracker.track_stage(ExecutionStage.LLM_PARSE, "Parsing the JSON answer")
            raise ValueError("LLM returned invalid JSON")


class SlowAgent(BaseAgent):
    async def run(self, conversation_id: str) -> Any:
        tracker = self.create_tracker(vault_id="vault-1", conversation_id=conversation_id)
        async with tracker.track_execution(method="run", time_limit_s=0.05):
            await tracker.track_stage(ExecutionStage.PRE_PROCESS, "Loading the whole vault")
            await asyncio.sleep(1.0)


class OrchestratorAgent(BaseAgent):
    async def run(self, vault_id: str, query: str, conversation_id: str) -> Any:
        tracker = self.create_tracker(vault_id=vault_id, conversation_id=conversation_id)
        async with tracker.track_execution(method="run", input_data={"query": query}):
            await tracker.track_stage(ExecutionStage.PRE_PROCESS, "Routing")
            psychologist = PsychologistAgent()
            psychologist.create_tracker(
                vault_id=vault_id,
                parent_execution_id=tracker.execution_id,
                call_reason="query mentions a character",
            )
            result = await psychologist.run(vault_id, query, conversation_id)
            tracker.set_output({"psychologist_result": result})
            facts["orchestrator"] = tracker.execution_id
            return result


facts = Facts()


class _Model:
    model_id = "gpt-4"
    provider = "openai"

    def complete(self, prompt: str) -> dict[str, Any]:
        return {
            "model": "gpt-4",
            "choices": [{"message": {"content": f"answer to {prompt}"}}],
            "usage": {"prompt_tokens": 1500, "completion_tokens": 500, "total_tokens": 2000},
        }


async def _scenario() -> None:
    psych = PsychologistAgent()
    await psych.run("vault-1", "Is this plot structure sound?", "conv-2")
    facts["skipped"] = psych.tracker.execution_id if psych.tracker else None
    await OrchestratorAgent().run("vault-1", "Why does the character lie?", "conv-1")
    plot = PlotAgent()
    with contextlib.suppress(ValueError):
        await plot.run("vault-1", "Does act two drag?", "conv-2")
    facts["failed"] = plot.tracker.execution_id if plot.tracker else None
    slow = SlowAgent()
    with contextlib.suppress(TimeoutError):
        await slow.run("conv-3")
    facts["timeout"] = slow.tracker.execution_id if slow.tracker else None

    # seed 002
    execution_logger = ExecutionLogger(None)
    llm_call_logger = LLMCallLogger(None)
    llm_call_logger.token_prices = {"gpt-4": {"input": 0.03, "output": 0.06}}
    llm = LLM(model=_Model(), llm_call_logger=llm_call_logger)
    async with execution_logger.log_execution(
        agent_type="planner",
        execution_step="plan",
        action_type="generate_plan",
        input_data={"prompt": "Create a sales dashboard"},
        report_id="rep-1",
    ) as log_context:
        facts["plan_execution_id"] = log_context.execution_id
        answer = llm.inference(prompt="Create a sales dashboard", report_id="rep-1")
        async with execution_logger.log_execution(
            agent_type="designer", execution_step="execute", report_id="rep-1"
        ) as inner:
            inner.output_data = {"widgets": 3}
        log_context.output_data = {"plan": answer}
    failed_log = await execution_logger.start_execution(
        agent_type="coder", execution_step="execute", report_id="rep-2"
    )
    await execution_logger.end_execution(failed_log, status="failed", error_message="boom")
    llm_call_logger.log_call(
        "acme", "custom-llm-x", "hi", "hello", input_tokens=10, output_tokens=5, duration_ms=20
    )


def record_scenario(tmp: Path) -> tuple[list[Record], Facts]:
    memory = configure_for_tests(tmp)
    try:
        asyncio.run(_scenario())
        assert tracehound.flush(timeout=10)
        records = list(memory.records)
    finally:
        tracehound.shutdown(timeout=1)
    return records, Facts(facts)
