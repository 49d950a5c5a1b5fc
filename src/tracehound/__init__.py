"""tracehound — tracing and debugging for AI agents.

The core API is small::

    import tracehound

    with tracehound.span("plan", kind="agent", agent="planner") as sp:
        sp.set_input({"query": q})
        tracehound.event("decision", "route", target="researcher")

Heavier parts (store, analytics, seed-style loggers) are imported on first use.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ._api import event, metric, span
from .exceptions import (
    CodecError,
    ConfigError,
    ExporterError,
    SchemaError,
    TraceError,
    TracehoundError,
    ValidationError,
)
from .model import Event, Metric, Span
from .sdk import (
    LiveSpan,
    TracingThreadPoolExecutor,
    configure,
    current_span,
    flush,
    propagate,
    shutdown,
    stats,
)

__version__ = "0.1.0"

logging.getLogger("tracehound").addHandler(logging.NullHandler())

# name -> module that defines it (imported lazily on first attribute access)
_LAZY: dict[str, str] = {
    "InMemoryExporter": "tracehound.testing",
    "Settings": "tracehound.config",
    "AgentTrackerFactory": "tracehound.executions",
    "BaseAgent": "tracehound.executions",
    "ExecutionAnalytics": "tracehound.analytics",
    "ExecutionLog": "tracehound.executions",
    "ExecutionLogger": "tracehound.executions",
    "ExecutionRecord": "tracehound.analytics",
    "ExecutionStage": "tracehound.executions",
    "ExecutionStatus": "tracehound.executions",
    "ExecutionTracker": "tracehound.executions",
    "LLM": "tracehound.executions",
    "LLMCallLog": "tracehound.executions",
    "LLMCallLogger": "tracehound.executions",
    "NoOpTracker": "tracehound.executions",
    "StageLog": "tracehound.analytics",
    "TrackingMixin": "tracehound.executions",
    "calculate_cost": "tracehound.pricing",
    "current_execution_id": "tracehound.executions",
    "llm_call": "tracehound.executions",
    "set_price_overrides": "tracehound.pricing",
    "wrap_llm": "tracehound.executions",
}

__all__ = [
    "LLM",
    "AgentTrackerFactory",
    "BaseAgent",
    "CodecError",
    "ConfigError",
    "Event",
    "ExecutionAnalytics",
    "ExecutionLog",
    "ExecutionLogger",
    "ExecutionRecord",
    "ExecutionStage",
    "ExecutionStatus",
    "ExecutionTracker",
    "ExporterError",
    "InMemoryExporter",
    "LLMCallLog",
    "LLMCallLogger",
    "LiveSpan",
    "Metric",
    "NoOpTracker",
    "SchemaError",
    "Settings",
    "Span",
    "StageLog",
    "TraceError",
    "TracehoundError",
    "TracingThreadPoolExecutor",
    "TrackingMixin",
    "ValidationError",
    "__version__",
    "calculate_cost",
    "configure",
    "current_execution_id",
    "current_span",
    "event",
    "flush",
    "llm_call",
    "metric",
    "propagate",
    "set_price_overrides",
    "shutdown",
    "span",
    "stats",
    "wrap_llm",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tracehound' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
