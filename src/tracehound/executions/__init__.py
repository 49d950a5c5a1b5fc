"""Agent executions, stages and LLM calls (seeds 002 and 003), built on tracehound spans.

* Seed 002: :class:`ExecutionLogger` (``log_execution`` / ``start_execution`` /
  ``end_execution``), :class:`LLMCallLogger`, the :class:`LLM` wrapper and
  :func:`wrap_llm` / :func:`llm_call` for any completion callable.
* Seed 003: :class:`ExecutionTracker`, :class:`ExecutionStage`, :class:`ExecutionStatus`,
  :class:`AgentTrackerFactory`, :class:`BaseAgent` / :class:`TrackingMixin`,
  :class:`NoOpTracker`.

See ``docs/data-model.md`` for how they map onto spans.
"""

from ._llm import LLM, extract_text, extract_usage, llm_call, wrap_llm
from ._logger import ExecutionLog, ExecutionLogger, LLMCallLog, LLMCallLogger
from ._spans import InvalidArgumentError, current_execution, current_execution_id
from ._tracker import (
    AgentTrackerFactory,
    BaseAgent,
    ExecutionStage,
    ExecutionStatus,
    ExecutionTracker,
    NoOpTracker,
    TrackingMixin,
)

__all__ = [
    "LLM",
    "AgentTrackerFactory",
    "BaseAgent",
    "ExecutionLog",
    "ExecutionLogger",
    "ExecutionStage",
    "ExecutionStatus",
    "ExecutionTracker",
    "InvalidArgumentError",
    "LLMCallLog",
    "LLMCallLogger",
    "NoOpTracker",
    "TrackingMixin",
    "current_execution",
    "current_execution_id",
    "extract_text",
    "extract_usage",
    "llm_call",
    "wrap_llm",
]
