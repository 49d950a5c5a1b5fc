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
    "create_app": "tracehound.api",
    "current_execution_id": "tracehound.executions",
    "llm_call": "tracehound.executions",
    "set_price_overrides": "tracehound.pricing",
    "wrap_llm": "tracehound.executions",
    "AgentLogger": "tracehound.loggers",
    "LearningLogger": "tracehound.loggers",
    "PerformanceLogger": "tracehound.loggers",
    "InteractionLogger": "tracehound.loggers",
    "SystemLogger": "tracehound.loggers",
    "EventLogger": "tracehound.loggers",
    "measure_performance": "tracehound.loggers",
    "trace_performance": "tracehound.loggers",
    "trace_agent_action": "tracehound.loggers",
    "trace_learning_update": "tracehound.loggers",
    "trace_errors": "tracehound.loggers",
    "trace_context": "tracehound.loggers",
    "setup_logging": "tracehound.loggers",
    "set_level": "tracehound.loggers",
    "flush_loggers": "tracehound.loggers",
    "instrument_logging": "tracehound.integrations.logging",
    "TracehoundHandler": "tracehound.integrations.logging",
    "TraceAgent": "tracehound.traceagent",
    "TraceEntry": "tracehound.traceagent",
    "TraceManager": "tracehound.traceagent",
    "TraceEntryError": "tracehound.traceagent",
    "LogAnalyzer": "tracehound.analysis",
    "analyze_session": "tracehound.analysis",
    "debug_issue": "tracehound.analysis",
    "ActionLogger": "tracehound.broker",
    "NatsExporter": "tracehound.broker",
    "log_action": "tracehound.broker",
    "Alert": "tracehound.monitoring",
    "Analytics": "tracehound.monitoring",
    "Anomaly": "tracehound.monitoring",
    "HealthStatus": "tracehound.monitoring",
    "Monitor": "tracehound.monitoring",
    "MonitorMetric": "tracehound.monitoring",
}

__all__ = [
    "LLM",
    "ActionLogger",
    "AgentLogger",
    "AgentTrackerFactory",
    "Alert",
    "Analytics",
    "Anomaly",
    "BaseAgent",
    "CodecError",
    "ConfigError",
    "Event",
    "EventLogger",
    "ExecutionAnalytics",
    "ExecutionLog",
    "ExecutionLogger",
    "ExecutionRecord",
    "ExecutionStage",
    "ExecutionStatus",
    "ExecutionTracker",
    "ExporterError",
    "HealthStatus",
    "InMemoryExporter",
    "InteractionLogger",
    "LLMCallLog",
    "LLMCallLogger",
    "LearningLogger",
    "LiveSpan",
    "LogAnalyzer",
    "Metric",
    "Monitor",
    "MonitorMetric",
    "NatsExporter",
    "NoOpTracker",
    "PerformanceLogger",
    "SchemaError",
    "Settings",
    "Span",
    "StageLog",
    "SystemLogger",
    "TraceAgent",
    "TraceEntry",
    "TraceEntryError",
    "TraceError",
    "TraceManager",
    "TracehoundError",
    "TracehoundHandler",
    "TracingThreadPoolExecutor",
    "TrackingMixin",
    "ValidationError",
    "__version__",
    "analyze_session",
    "calculate_cost",
    "configure",
    "create_app",
    "current_execution_id",
    "current_span",
    "debug_issue",
    "event",
    "flush",
    "flush_loggers",
    "instrument_logging",
    "llm_call",
    "log_action",
    "measure_performance",
    "metric",
    "propagate",
    "set_level",
    "set_price_overrides",
    "setup_logging",
    "shutdown",
    "span",
    "stats",
    "trace_agent_action",
    "trace_context",
    "trace_errors",
    "trace_learning_update",
    "trace_performance",
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
