"""The tracing SDK: spans, events, metrics and context propagation."""

from ._context import TracingThreadPoolExecutor, propagate
from ._runtime import configure, current_span, flush, get_runtime, shutdown, stats
from ._span import NOOP_SPAN, LiveSpan, NoopSpan

__all__ = [
    "NOOP_SPAN",
    "LiveSpan",
    "NoopSpan",
    "TracingThreadPoolExecutor",
    "configure",
    "current_span",
    "flush",
    "get_runtime",
    "propagate",
    "shutdown",
    "stats",
]
