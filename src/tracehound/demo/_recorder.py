"""A thin counting wrapper around the public SDK calls the demo makes."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import tracehound

if TYPE_CHECKING:
    from tracehound.sdk import LiveSpan, NoopSpan

    SpanHandle = LiveSpan | NoopSpan

__all__ = ["Recorder"]


class Recorder:
    """Calls ``tracehound.span/event/metric`` and counts what it recorded, so the demo can
    report what it wrote without reading anything back."""

    def __init__(self, speed: float) -> None:
        self.speed = speed  # simulated milliseconds per real millisecond slept
        self.spans = 0
        self.events = 0
        self.metrics = 0
        self.span_kinds: Counter[str] = Counter()
        self.event_types: Counter[str] = Counter()
        self.failures: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.llm_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.tool_calls = 0
        self.failed_tools = 0

    def span(self, name: str, *, kind: str, agent: str | None = None, **attrs: Any) -> SpanHandle:
        self.spans += 1
        self.span_kinds[kind] += 1
        return tracehound.span(name, kind=kind, agent=agent, **attrs)

    def event(self, type: str, name: str, **data: Any) -> None:
        self.events += 1
        self.event_types[type] += 1
        tracehound.event(type, name, **data)

    def metric(self, name: str, value: float, *, unit: str | None = None, **tags: Any) -> None:
        self.metrics += 1
        tracehound.metric(name, value, unit=unit, **tags)

    def sleep_simulated(self, simulated_ms: float) -> None:
        """Sleep a scaled-down share of a simulated latency (so relative durations stay
        realistic while the demo finishes in seconds)."""
        import time

        time.sleep(max(0.0, simulated_ms / self.speed / 1000.0))
