"""Span plumbing shared by the seed-style APIs: spans opened and closed by separate calls,
spans with an explicit parent, the registry of live executions, and helpers that never raise.

Everything here sits on the core SDK (:class:`~tracehound.sdk.LiveSpan` and its ContextVar);
nothing writes records any other way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Generator
from time import time_ns
from typing import Any, Final

from ..exceptions import ValidationError
from ..sdk import _runtime
from ..sdk._context import current
from ..sdk._span import NOOP_SPAN, LiveSpan, NoopSpan

__all__ = [
    "DONE",
    "AnySpan",
    "Done",
    "InvalidArgumentError",
    "begin",
    "coerce_name",
    "current_execution",
    "current_execution_id",
    "end",
    "find_live",
    "forget_live",
    "nearest_agent",
    "register_live",
    "require_str",
]

log = logging.getLogger("tracehound.executions")

AnySpan = LiveSpan | NoopSpan
_LIVE_MAX: Final = 50_000


class InvalidArgumentError(ValidationError, TypeError):
    """An argument of the wrong type or value at an API boundary (``field`` names it). Both a
    :class:`~tracehound.exceptions.ValidationError` and a :class:`TypeError`."""


class Done(Awaitable[None]):
    """What the tracking methods return: the work is already done when they return, and the
    result may be awaited (``await tracker.track_stage(...)``) or ignored (sync code)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return "<done>"


DONE: Final = Done()


def begin(
    name: str,
    kind: str,
    agent: str | None,
    attributes: dict[str, Any],
    *,
    parent: AnySpan | None = None,
    activate: bool = False,
    start_ns: int | None = None,
) -> AnySpan:
    """Start a span. ``parent`` overrides the current span as parent; ``activate`` makes the
    new span current (until :func:`end`); ``start_ns`` backdates its start. Never raises."""
    try:
        rt = _runtime._runtime or _runtime.get_runtime()
        if not rt.enabled:
            return NOOP_SPAN
        sp = LiveSpan(rt, name, kind, agent, attributes)
        if isinstance(parent, LiveSpan) and parent is not current.get():
            token = current.set(parent)
            try:
                sp._begin()
            finally:
                current.reset(token)
        else:
            sp._begin()
        if start_ns is not None and 0 < start_ns < sp._start:
            sp._start = start_ns
        if activate:
            sp._token = current.set(sp)
        return sp
    except Exception as exc:  # pragma: no cover - defensive
        log.debug("could not start span %r: %r", name, exc)
        return NOOP_SPAN


def end(sp: AnySpan, exc: BaseException | None = None, *, restore: AnySpan | None = None) -> None:
    """End a span started by :func:`begin` (once; later calls do nothing). If it is the
    current span it stops being current: the ContextVar goes back to what it was when the span
    was activated, or to ``restore``. Never raises."""
    if not isinstance(sp, LiveSpan) or sp._end or not sp._start:
        return
    try:
        token = sp._token
        if token is not None:
            sp._token = None
            if current.get() is sp:
                try:
                    current.reset(token)
                except ValueError:  # ended in another context
                    current.set(restore if isinstance(restore, LiveSpan) else sp._parent)
        elif current.get() is sp:
            current.set(restore if isinstance(restore, LiveSpan) else sp._parent)
        sp._finish(exc)
    except Exception as err:  # pragma: no cover - defensive
        log.debug("could not end span %r: %r", sp, err)


def nearest_agent(sp: AnySpan | None) -> LiveSpan | None:
    """The nearest span of kind ``agent`` at or above ``sp``."""
    node = sp if isinstance(sp, LiveSpan) else None
    while node is not None:
        if node.kind == "agent":
            return node
        node = node._parent
    return None


def current_execution() -> LiveSpan | None:
    """The execution (nearest ``agent`` span) the calling code runs in, if any."""
    return nearest_agent(current.get())


def current_execution_id() -> str | None:
    """Seed 003's execution id (the agent span's id) of the calling code, if any."""
    sp = current_execution()
    return sp.span_id if sp is not None else None


# -- live executions (so an id handed around can become a parent) ---------------------------
_live_lock = threading.Lock()
_live: dict[str, LiveSpan] = {}


def register_live(sp: AnySpan, *ids: str) -> None:
    if not isinstance(sp, LiveSpan):
        return
    with _live_lock:
        if len(_live) >= _LIVE_MAX:
            # spans that were never ended: drop the finished ones, then the oldest half
            for key in [k for k, v in _live.items() if v._end]:
                del _live[key]
            if len(_live) >= _LIVE_MAX:
                for key in list(_live)[: _LIVE_MAX // 2]:
                    del _live[key]
        for key in (sp.span_id, *ids):
            if key:
                _live[key] = sp


def forget_live(sp: AnySpan) -> None:
    if not isinstance(sp, LiveSpan):
        return
    with _live_lock:
        for key in [k for k, v in _live.items() if v is sp]:
            del _live[key]


def find_live(execution_id: Any) -> LiveSpan | None:
    """A running execution span by its id (span id, trace id or a user-given id)."""
    if not isinstance(execution_id, str) or not execution_id:
        return None
    sp = _live.get(execution_id)
    if sp is None or sp._end:
        return None
    return sp


def require_str(name: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` if it is a string (or ``None`` when ``optional``); a clear
    :class:`~tracehound.exceptions.ValidationError` naming the argument otherwise."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(
            f"{name}: expected a string, got {type(value).__name__} {value!r:.80}", field=name
        )
    return value


def coerce_name(value: Any, default: str) -> str:
    """A span name from a possibly wrong value (logging APIs never raise into agent code)."""
    if isinstance(value, str) and value:
        return value
    if value is None:
        return default
    text = getattr(value, "value", None)
    if isinstance(text, str) and text:
        return text
    try:
        return str(value) or default
    except Exception:
        return default


def now_ns() -> int:
    return time_ns()
