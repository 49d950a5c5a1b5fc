"""The three record types every sink receives: :class:`Span`, :class:`Event`, :class:`Metric`.

Records are immutable ``NamedTuple`` values (cheap to build in the background worker, safe to
hand to several exporters). Times are integers of nanoseconds since the Unix epoch (UTC).
Structured fields (``input``, ``output``, ``attributes``, ``data``, ``tags``) hold values
that are already JSON-safe: the pipeline sanitizes and redacts them before any exporter sees
them. See ``docs/data-model.md`` for the meaning of every field and the conventions the
seed-style APIs follow.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

__all__ = [
    "EVENT_TYPES",
    "LEVELS",
    "SPAN_KINDS",
    "SPAN_STATUSES",
    "Event",
    "Metric",
    "Record",
    "Span",
]

SPAN_KINDS: Final = ("agent", "stage", "llm", "tool", "task", "operation")
SPAN_STATUSES: Final = (
    "pending",
    "running",
    "success",
    "failed",
    "timeout",
    "skipped",
    "cancelled",
)
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EVENT_TYPES: Final = (
    "action",
    "decision",
    "error",
    "success",
    "log",
    "state_change",
    "content",
    "learning.step",
    "learning.reward",
    "learning.explore",
    "learning.update",
    "interaction",
    "system",
    "milestone",
    "alert",
)


class Span(NamedTuple):
    """Anything with a duration: an agent execution, a stage, an LLM call, a tool call, work."""

    id: str
    trace_id: str
    parent_id: str | None
    session_id: str
    project: str
    kind: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    duration_ms: float | None
    agent_name: str | None = None
    agent_role: str | None = None
    agent_id: str | None = None
    conversation_id: str | None = None
    user_id: str | None = None
    status_message: str | None = None
    input: Any = None
    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    attributes: dict[str, Any] = {}
    # LLM calls
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None
    input_cost: float | None = None
    output_cost: float | None = None
    total_cost: float | None = None
    cost_source: str | None = None
    is_streaming: bool | None = None
    chunks_count: int | None = None
    time_to_first_token_ms: float | None = None

    @property
    def record_type(self) -> str:
        return "span"


class Event(NamedTuple):
    """A point in time: an action, decision, error, log line, learning signal, interaction…"""

    id: str
    trace_id: str | None
    span_id: str | None
    session_id: str
    project: str
    timestamp: int
    type: str
    name: str
    level: str = "INFO"
    agent_name: str | None = None
    agent_role: str | None = None
    agent_id: str | None = None
    message: str | None = None
    data: dict[str, Any] = {}

    @property
    def record_type(self) -> str:
        return "event"


class Metric(NamedTuple):
    """A numeric sample."""

    id: str
    session_id: str
    project: str
    timestamp: int
    name: str
    value: float
    unit: str | None = None
    tags: dict[str, Any] = {}
    trace_id: str | None = None
    span_id: str | None = None
    agent_name: str | None = None

    @property
    def record_type(self) -> str:
        return "metric"


Record = Span | Event | Metric
