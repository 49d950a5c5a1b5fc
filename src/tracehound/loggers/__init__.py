"""Seed 000's logging API on the tracehound core.

Every logger call becomes a tracehound event (or metric, or span) in the current trace; the
``files`` exporter writes them in the seed's ``trace/`` layout and the store keeps them in the
database. See ``docs/loggers.md`` for the mapping of each call to a record.
"""

from ._agent import AgentLogger
from ._base import BaseLogger, context_fields
from ._context import trace_context
from ._decorators import trace_agent_action, trace_errors, trace_learning_update
from ._interactions import InteractionLogger
from ._learning import LearningLogger
from ._levels import (
    CATEGORIES,
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    WARNING,
    get_level,
    is_enabled,
    level_number,
    reset_levels,
    set_level,
    set_levels,
)
from ._performance import (
    PerformanceLogger,
    flush_loggers,
    get_performance_logger,
    measure_performance,
    trace_performance,
)
from ._setup import setup_logging
from ._system import EventLogger, SystemLogger
from ._validate import ArgumentError

__all__ = [
    "CATEGORIES",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
    "AgentLogger",
    "ArgumentError",
    "BaseLogger",
    "EventLogger",
    "InteractionLogger",
    "LearningLogger",
    "PerformanceLogger",
    "SystemLogger",
    "context_fields",
    "flush_loggers",
    "get_level",
    "get_performance_logger",
    "is_enabled",
    "level_number",
    "measure_performance",
    "reset_levels",
    "set_level",
    "set_levels",
    "setup_logging",
    "trace_agent_action",
    "trace_context",
    "trace_errors",
    "trace_learning_update",
    "trace_performance",
]
