"""The core public functions: ``span``, ``event``, ``metric``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .sdk import _runtime
from .sdk._span import NOOP_SPAN, LiveSpan, NoopSpan, decorate

__all__ = ["event", "metric", "span"]


def span(
    name: str | Callable[..., Any],
    *,
    kind: str = "task",
    agent: str | None = None,
    **attributes: Any,
) -> LiveSpan | NoopSpan:
    """Open a span: use it as ``with``/``async with``, or as a decorator of a sync or async
    function or generator. Keyword arguments become attributes; the reserved keys
    ``agent_role, agent_id, conversation_id, user_id, provider, model, *_tokens, *_cost,
    is_streaming, chunks_count, time_to_first_token_ms`` fill the matching columns.
    ``@tracehound.span`` without arguments names the span after the function."""
    rt = _runtime._runtime or _runtime.get_runtime()
    if callable(name):
        return decorate(name, None, kind, agent, attributes)  # type: ignore[return-value]
    if not rt.enabled:
        return NOOP_SPAN
    return LiveSpan(rt, name, kind, agent, attributes)


def event(type: str, name: str, **data: Any) -> None:
    """Record a point-in-time event in the current span's trace. ``level``, ``message``,
    ``agent``, ``agent_role`` and ``agent_id`` fill the matching columns; the rest is data."""
    _runtime.emit_event(type, name, data)


def metric(name: str, value: float, *, unit: str | None = None, **tags: Any) -> None:
    """Record a numeric sample (``agent=`` tags it with an agent)."""
    _runtime.emit_metric(name, value, unit, tags)
