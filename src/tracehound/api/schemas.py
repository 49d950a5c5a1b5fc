"""Pydantic models of every request and response body, so the OpenAPI document is complete
and accurate (a schemathesis run in the tests checks the server against it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgentPerformance",
    "CausalityItem",
    "CausalityOut",
    "CostBucket",
    "CostOut",
    "DeleteOut",
    "ErrorBody",
    "ErrorPattern",
    "ErrorPatternsOut",
    "EventOut",
    "EventPage",
    "ExecutionDetailOut",
    "ExecutionLogOut",
    "ExecutionLogsOut",
    "ExecutionOut",
    "ExecutionStepOut",
    "HealthOut",
    "IngestError",
    "IngestOut",
    "LLMCallBrief",
    "LLMCallDetail",
    "LLMCallLogOut",
    "LLMCallLogsOut",
    "ReadyOut",
    "SessionDetail",
    "SessionOut",
    "SessionPage",
    "SlowExecution",
    "SpanDetail",
    "SpanNode",
    "SpanOut",
    "SpanPage",
    "SummaryOut",
    "TimelineEntry",
    "TracePage",
    "TraceSummaryOut",
    "TraceTree",
    "WhoAmI",
    "WhyNotFiredOut",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------
class ErrorDetail(_Model):
    field: str
    message: str
    type: str


class ErrorInner(_Model):
    status: int = Field(description="The HTTP status code.")
    code: str = Field(description="A stable machine-readable code, e.g. invalid_parameter.")
    message: str = Field(description="What is wrong, starting with the field when one is to blame.")
    field: str | None = Field(description="The parameter, header or body field to blame.")
    details: list[ErrorDetail] | None = None


class ErrorBody(_Model):
    """Every error answer."""

    error: ErrorInner


# -- health ------------------------------------------------------------------------------------
class HealthOut(_Model):
    status: Literal["ok"]


class ReadyOut(_Model):
    status: Literal["ready", "unavailable"]
    failing: list[str] = Field(description="Dependencies that are not ready, with the reason.")
    checks: dict[str, str]
    queued_records: int
    schema_revision: str | None


class WhoAmI(_Model):
    project: str
    key_id: str | None
    auth: bool


# -- seed 002 -------------------------------------------------------------------------------------
class LLMCallBrief(_Model):
    """An LLM call inside an execution log of ``GET /execution-logs/executions``."""

    id: str
    provider: str | None
    model_id: str | None
    call_type: str | None
    status: str
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: int | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    input_cost: float | None
    output_cost: float | None
    total_cost: float | None
    is_streaming: bool | None
    chunks_count: int | None


class LLMCallDetail(LLMCallBrief):
    """An LLM call inside a step of ``GET /execution-logs/executions/{execution_id}``."""

    prompt: Any = None
    response: Any = None
    error_message: str | None = None


class LLMCallLogOut(LLMCallDetail):
    """One row of ``GET /execution-logs/llm-calls``."""

    execution_log_id: str | None
    report_id: str | None
    completion_id: str | None
    metadata: Any = None
    created_at: datetime | None
    updated_at: datetime | None


class ExecutionLogOut(_Model):
    """One execution log (an agent span)."""

    id: str
    execution_id: str
    agent_type: str | None
    execution_step: str | None
    action_type: str | None
    status: str
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: int | None
    input_data: Any = None
    output_data: Any = None
    error_message: str | None
    metadata: Any = None
    external_platform: str | None
    external_user_id: str | None
    report_id: str | None
    completion_id: str | None
    widget_id: str | None
    step_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    llm_calls: list[LLMCallBrief] | None = Field(
        default=None, description="Present when include_llm_calls=true."
    )


class ExecutionLogsOut(_Model):
    execution_logs: list[ExecutionLogOut]
    total_count: int = Field(description="Number of logs in this answer.")
    limit: int
    offset: int


class ExecutionStepOut(_Model):
    id: str
    agent_type: str | None
    execution_step: str | None
    action_type: str | None
    status: str
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: int | None
    input_data: Any = None
    output_data: Any = None
    error_message: str | None
    metadata: Any = None
    llm_calls: list[LLMCallDetail] | None = Field(
        default=None, description="Present when include_llm_calls=true (the default)."
    )


class ExecutionDetailOut(_Model):
    execution_id: str
    steps: list[ExecutionStepOut]


class LLMCallLogsOut(_Model):
    llm_call_logs: list[LLMCallLogOut]
    total_count: int = Field(description="Number of calls in this answer.")
    limit: int
    offset: int


class DateRange(_Model):
    start_date: datetime
    end_date: datetime


class DurationStats(_Model):
    avg_duration_ms: float | None
    min_duration_ms: float | None
    max_duration_ms: float | None


class ExecutionAnalyticsOut(_Model):
    total_executions: int
    status_counts: dict[str, int]
    agent_type_counts: dict[str, int]
    duration_stats: DurationStats
    success_rate: float | None = None


class TokenStats(_Model):
    total_input_tokens: int
    total_output_tokens: int
    total_tokens: int
    total_cost: float
    total_cached_tokens: int | None = None
    total_reasoning_tokens: int | None = None
    total_input_cost: float | None = None
    total_output_cost: float | None = None


class LLMCallAnalyticsOut(_Model):
    total_calls: int
    provider_counts: dict[str, int]
    model_counts: dict[str, int]
    token_stats: TokenStats
    cost_by_model: dict[str, float] | None = None
    unpriced_calls: int | None = None
    unpriced_models: list[str] | None = None


class SummaryOut(_Model):
    """Seed 002's analytics summary."""

    date_range: DateRange
    execution_analytics: ExecutionAnalyticsOut
    llm_call_analytics: LLMCallAnalyticsOut


class DeleteOut(_Model):
    message: str


# -- ingest ------------------------------------------------------------------------------------
class IngestError(_Model):
    index: int = Field(description="Position of the record in the request.")
    id: str | None = Field(description="The record's id, when it had a usable one.")
    field: str
    message: str


class IngestOut(_Model):
    accepted: int = Field(description="Records stored (or already stored: ingest is idempotent).")
    rejected: int
    errors: list[IngestError]


# -- /v1 records ---------------------------------------------------------------------------------
class SpanOut(_Model):
    id: str
    trace_id: str
    parent_id: str | None
    session_id: str
    project: str
    kind: str
    name: str
    status: str
    start_time: datetime
    end_time: datetime | None
    duration_ms: float | None
    agent_name: str | None
    agent_role: str | None
    agent_id: str | None
    conversation_id: str | None
    user_id: str | None
    status_message: str | None
    input: Any = None
    output: Any = None
    error_type: str | None
    error_message: str | None
    error_traceback: str | None
    attributes: dict[str, Any]
    provider: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    total_tokens: int | None
    input_cost: float | None
    output_cost: float | None
    total_cost: float | None
    cost_source: str | None
    is_streaming: bool | None
    chunks_count: int | None
    time_to_first_token_ms: float | None


class SpanNode(SpanOut):
    children: list[SpanNode]


class EventOut(_Model):
    id: str
    trace_id: str | None
    span_id: str | None
    session_id: str
    project: str
    timestamp: datetime
    type: str
    name: str
    level: str
    agent_name: str | None
    agent_role: str | None
    agent_id: str | None
    message: str | None
    data: dict[str, Any]


class SpanPage(_Model):
    items: list[SpanOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class EventPage(_Model):
    items: list[EventOut]
    next_cursor: str | None


class SpanDetail(_Model):
    span: SpanOut
    events: list[EventOut]
    children: list[SpanOut]


class TraceSummaryOut(_Model):
    trace_id: str
    root_span_id: str
    session_id: str
    name: str
    kind: str
    status: str
    agent_name: str | None
    conversation_id: str | None
    start_time: datetime
    end_time: datetime | None
    duration_ms: float | None
    span_count: int
    error_count: int
    llm_calls: int
    total_tokens: int | None
    total_cost: float | None


class TracePage(_Model):
    items: list[TraceSummaryOut]
    next_cursor: str | None


class TraceTree(_Model):
    trace_id: str
    span_count: int
    event_count: int
    error_count: int
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: float | None
    total_tokens: int | None
    total_cost: float | None
    truncated: bool = Field(description="True when the trace has more records than returned.")
    roots: list[SpanNode]
    events: list[EventOut]


class SessionOut(_Model):
    id: str
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    hostname: str | None
    pid: int | None
    summary: Any = None
    span_count: int
    event_count: int
    error_count: int


class SessionPage(_Model):
    items: list[SessionOut]
    next_cursor: str | None


class SessionDetail(SessionOut):
    traces: list[TraceSummaryOut]


# -- analytics -----------------------------------------------------------------------------------
class _Open(BaseModel):
    """An answer of the analytics layer: the documented fields, plus any it adds."""

    model_config = ConfigDict(extra="allow")


class WhyExecution(_Open):
    execution_id: str
    status: str
    method: str | None = None
    started_at: datetime | None = None
    duration_ms: float | None = None
    relevance_score: Any = None
    relevance_reasoning: Any = None
    should_respond: Any = None
    current_stage: Any = None
    error_type: str | None = None
    error_message: str | None = None
    input_data: Any = None
    conversation_id: str | None = None
    vault_id: Any = None


class WhyNotFiredOut(_Open):
    status: Literal["never_invoked", "skipped", "failed", "running", "fired"]
    message: str
    agent_name: str
    counts: dict[str, int]
    executions: list[WhyExecution]
    other_agents: list[str] | None = None


class TimelineEntry(_Open):
    kind: Literal["stage", "event"]
    timestamp: datetime
    ended_at: datetime | None = None
    stage: Any = None
    status: str | None = None
    duration_ms: float | None = None
    message: Any = None
    data: Any = None
    level: str | None = None
    error_message: str | None = None


class ExecutionOut(_Open):
    execution_id: str
    trace_id: str
    agent_name: str | None = None
    method: str | None = None
    status: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: float | None = None
    error_type: str | None = None
    error_message: str | None = None


class SlowExecution(_Open):
    execution_id: str
    agent_name: str | None = None
    method: str | None = None
    status: str
    duration_ms: float | None = None
    llm_latency_ms: float | None = None
    llm_calls: int
    overhead_ms: float | None = None
    started_at: datetime | None = None


class ChainLink(_Open):
    parent_execution_id: str
    child_execution_id: str
    parent_agent: str | None = None
    child_agent: str | None = None
    call_reason: Any = None
    depth: int
    status: str
    started_at: datetime | None = None


class AgentPerformance(_Open):
    agent_name: str
    total_executions: int
    success_rate: float
    failure_rate: float
    status_counts: dict[str, int]


class ErrorExample(_Model):
    record: Literal["span", "event"]
    id: str
    trace_id: str | None
    span_id: str | None
    message: str | None
    timestamp: datetime


class ErrorPattern(_Model):
    error_type: str
    message: str = Field(description="The message with ids and numbers folded.")
    count: int
    first_seen: datetime
    last_seen: datetime
    agents: list[str]
    example: ErrorExample


class ErrorPatternsOut(_Model):
    total_errors: int
    scanned: int = Field(description="Error records read (the newest ones, at most 20 000).")
    by_type: dict[str, int]
    by_agent: dict[str, int]
    patterns: list[ErrorPattern]


class CausalityItem(_Model):
    record: Literal["span", "event"]
    id: str
    trace_id: str | None
    parent_id: str | None = Field(description="The parent span of a span, the span of an event.")
    timestamp: datetime
    kind: str = Field(description="The span kind or the event type.")
    name: str
    agent_name: str | None
    status: str | None = Field(description="The span status or the event level.")
    error_type: str | None
    message: str | None
    score: float
    reasons: list[str]
    seconds_before: float


class CausalityOut(_Model):
    target: CausalityItem
    ancestors: list[CausalityItem] = Field(description="The enclosing spans, root first.")
    causes: list[CausalityItem] = Field(description="Records that plausibly led to it, best first.")


class CostBucket(_Model):
    bucket_start: datetime
    group: str | None
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    unpriced_calls: int


class CostOut(_Model):
    group_by: str
    interval: str
    start: datetime
    end: datetime
    total_cost: float
    total_calls: int
    buckets: list[CostBucket]
