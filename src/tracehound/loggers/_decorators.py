"""Seed 000's decorators: ``trace_agent_action``, ``trace_learning_update``, ``trace_errors``.

Each works on sync and async functions and methods (bare or called: ``@trace_errors`` and
``@trace_errors()``). The agent is found on the method's ``self``: an :class:`AgentLogger` in
``self.logger`` / ``self.agent_logger`` / ``self._logger``, else ``self.agent_id`` (and
``self.agent_role`` / ``self.role``). Exceptions always propagate (unless
``trace_errors(reraise=False)``); an exception is logged once even when several decorators
see it.

* ``trace_agent_action`` — a span of kind ``task`` (attribute ``action_type``) around the call,
  an ``action`` event at its start (the seed's ``agent_action`` record, with the call's
  arguments) and an ``error`` event if it raises.
* ``trace_learning_update`` — the same with a ``learning.update`` event (``update_type``).
* ``trace_errors`` — no span: an ``error`` event (type, message, traceback, function,
  arguments, the agent and the ``trace_context`` fields) when the call raises.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ..sdk import _runtime
from ..sdk._span import LiveSpan, NoopSpan
from ._agent import AgentLogger
from ._base import emit, exception_fields, merge_extra
from ._levels import ERROR, INFO, is_enabled
from ._validate import ArgumentError, check_name

__all__ = ["trace_agent_action", "trace_errors", "trace_learning_update"]

F = TypeVar("F", bound=Callable[..., Any])

_LOGGER_ATTRS = ("logger", "agent_logger", "_logger", "trace_logger")
_MARK = "_tracehound_logged"


class _Identity:
    __slots__ = ("agent_id", "agent_role", "logger")

    def __init__(
        self, agent_id: str | None, agent_role: str | None, logger: AgentLogger | None
    ) -> None:
        self.agent_id = agent_id
        self.agent_role = agent_role
        self.logger = logger

    @property
    def logger_name(self) -> str:
        if self.logger is not None:
            return self.logger.name
        return f"agent.{self.agent_role}" if self.agent_role else "agent"

    def put(self, data: dict[str, Any]) -> None:
        if self.agent_id is not None:
            data["agent"] = self.agent_id
            data["agent_id"] = self.agent_id
        if self.agent_role is not None:
            data["agent_role"] = self.agent_role


_NOBODY = _Identity(None, None, None)


def _identity(args: tuple[Any, ...]) -> _Identity:
    """The agent behind a method call (read from the instance ``__dict__`` only, so no
    property or ``__getattr__`` of the user's class runs)."""
    if not args:
        return _NOBODY
    attrs = getattr(args[0], "__dict__", None)
    if not isinstance(attrs, dict):
        return _NOBODY
    for name in _LOGGER_ATTRS:
        lg = attrs.get(name)
        if isinstance(lg, AgentLogger):
            return _Identity(lg.agent_id, lg.agent_role, lg)
    agent_id = attrs.get("agent_id")
    if isinstance(agent_id, str) and agent_id:
        role = attrs.get("agent_role", attrs.get("role"))
        return _Identity(agent_id, role if isinstance(role, str) and role else None, None)
    return _NOBODY


def _arguments(
    sig: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    if sig is None:
        return {"args": list(args), "kwargs": kwargs} if args or kwargs else {}
    try:
        bound = sig.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": kwargs}
    out = dict(bound.arguments)
    for name in ("self", "cls"):
        out.pop(name, None)
    return out


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _is_logged(exc: BaseException) -> bool:
    return bool(getattr(exc, _MARK, False))


def _mark(exc: BaseException) -> None:
    try:
        setattr(exc, _MARK, True)
    except Exception:  # exceptions with __slots__
        pass


def _error_event(
    exc: BaseException,
    name: str,
    qualname: str,
    ident: _Identity,
    event_type: str,
    message: str,
    fields: dict[str, Any],
    category: str,
) -> None:
    if _is_logged(exc) or not isinstance(exc, Exception):
        return
    _mark(exc)
    if not is_enabled(category, ERROR, ident.logger_name):
        return
    data: dict[str, Any] = {"level": "ERROR", "message": message}
    ident.put(data)
    data["event_type"] = event_type
    data["logger"] = ident.logger_name
    data["function"] = qualname
    data.update(fields)
    data.update(exception_fields(exc))
    merge_extra(data, None)
    emit("error", name, data)


class _Call:
    """One traced call: the span, the start event, the error event."""

    __slots__ = ("fields", "ident", "kind", "name", "qualname", "span")

    def __init__(self, kind: str, name: str, qualname: str, ident: _Identity) -> None:
        self.kind = kind
        self.name = name
        self.qualname = qualname
        self.ident = ident
        self.fields: dict[str, Any] = {}
        self.span: LiveSpan | NoopSpan | None = None

    def begin(self, arguments: dict[str, Any]) -> None:
        ident = self.ident
        key = "action_type" if self.kind == "action" else "update_type"
        attrs: dict[str, Any] = {key: self.name, "function": self.qualname}
        attrs["event_type"] = "agent_action" if self.kind == "action" else "learning_update"
        if ident.agent_id is not None:
            attrs["agent_id"] = ident.agent_id
        if ident.agent_role is not None:
            attrs["agent_role"] = ident.agent_role
        sp = _runtime.open_span(self.name, "task", ident.agent_id, attrs)
        sp.__enter__()
        self.span = sp
        self.fields = {key: self.name}
        if self.kind == "action":
            if ident.logger is not None:
                ident.logger.log_action(
                    self.name, {"function": self.qualname, "arguments": arguments}
                )
                return
            category = "agents"
            etype, event_type = "action", "agent_action"
            message = f"Agent action: {self.name}"
            fields: dict[str, Any] = {
                "action_type": self.name,
                "action_data": {"function": self.qualname, "arguments": arguments},
            }
            logger_name = ident.logger_name
        else:
            if ident.agent_id is not None:
                category, logger_name = "agents", ident.logger_name
            else:
                category, logger_name = "learning", f"learning.{self.name}"
            etype, event_type = "learning.update", "learning_update"
            message = f"Learning update: {self.name}"
            fields = {
                "update_type": self.name,
                "learning_stage": self.name,
                "update_data": {"function": self.qualname, "arguments": arguments},
            }
        if not is_enabled(category, INFO, logger_name):
            return
        data: dict[str, Any] = {"level": "INFO", "message": message}
        ident.put(data)
        data["event_type"] = event_type
        data["logger"] = logger_name
        data.update(fields)
        merge_extra(data, None)
        emit(etype, self.name, data)

    def end(self, exc: BaseException | None) -> None:
        sp = self.span
        if exc is not None:
            what = "Agent action" if self.kind == "action" else "Learning update"
            _error_event(
                exc,
                self.name,
                self.qualname,
                self.ident,
                "agent_action_error" if self.kind == "action" else "learning_update_error",
                f"{what} failed: {self.name}: {type(exc).__name__}: {exc}",
                dict(self.fields),
                "agents",
            )
        if sp is not None:
            sp.__exit__(
                type(exc) if exc is not None else None, exc, exc.__traceback__ if exc else None
            )


def _traced(kind: str, name: str | None, fn: Callable[..., Any]) -> Callable[..., Any]:
    if not callable(fn):
        raise ArgumentError(f"expected a function to decorate, got {type(fn).__name__}", field="fn")
    label = name or getattr(fn, "__name__", None) or "call"
    qualname = getattr(fn, "__qualname__", label)
    sig = _signature(fn)
    attrs_key = "action_type" if kind == "action" else "update_type"

    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        from .._api import span

        return span(label, kind="task", **{attrs_key: label, "function": qualname})(fn)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = _Call(kind, label, qualname, _identity(args))
            call.begin(_arguments(sig, args, kwargs))
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                call.end(exc)
                raise
            call.end(None)
            return result

        return async_wrapper

    @functools.wraps(fn)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(kind, label, qualname, _identity(args))
        call.begin(_arguments(sig, args, kwargs))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            call.end(exc)
            raise
        call.end(None)
        return result

    return sync_wrapper


@overload
def trace_agent_action(action_type: F) -> F: ...
@overload
def trace_agent_action(action_type: str | None = None) -> Callable[[F], F]: ...


def trace_agent_action(action_type: Any = None) -> Any:
    """Trace each call as an agent action named ``action_type`` (default: the function name)."""
    if callable(action_type):
        return _traced("action", None, action_type)
    if action_type is not None:
        check_name(action_type, "action_type")

    def wrap(fn: F) -> F:
        return _traced("action", action_type, fn)  # type: ignore[return-value]

    return wrap


@overload
def trace_learning_update(update_type: F) -> F: ...
@overload
def trace_learning_update(update_type: str | None = None) -> Callable[[F], F]: ...


def trace_learning_update(update_type: Any = None) -> Any:
    """Trace each call as a learning update of ``update_type`` (default: the function name)."""
    if callable(update_type):
        return _traced("learning", None, update_type)
    if update_type is not None:
        check_name(update_type, "update_type")

    def wrap(fn: F) -> F:
        return _traced("learning", update_type, fn)  # type: ignore[return-value]

    return wrap


@overload
def trace_errors(fn: F, *, reraise: bool = True, default: Any = None) -> F: ...
@overload
def trace_errors(
    fn: None = None, *, reraise: bool = True, default: Any = None
) -> Callable[[F], F]: ...


def trace_errors(fn: Any = None, *, reraise: bool = True, default: Any = None) -> Any:
    """Log any exception of each call with its full context (function, arguments, traceback,
    agent, trace and ``trace_context`` fields) as an ``error`` event, then re-raise it (or,
    with ``reraise=False``, return ``default``)."""
    if fn is not None and not callable(fn):
        raise ArgumentError(f"fn: expected a function, got {type(fn).__name__}", field="fn")
    if not isinstance(reraise, bool):
        raise ArgumentError(
            f"reraise: expected a boolean, got {type(reraise).__name__}", field="reraise"
        )

    def wrap(func: F) -> F:
        qualname = getattr(func, "__qualname__", repr(func))
        name = getattr(func, "__name__", qualname)
        module = getattr(func, "__module__", None)
        sig = _signature(func)

        def report(exc: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            _error_event(
                exc,
                name,
                qualname,
                _identity(args),
                "error",
                f"Error in {qualname}: {type(exc).__name__}: {exc}",
                {"module": module, "arguments": _arguments(sig, args, kwargs)},
                "errors",
            )

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await func(*args, **kwargs)
                except Exception as exc:
                    report(exc, args, kwargs)
                    if reraise:
                        raise
                    return default

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report(exc, args, kwargs)
                if reraise:
                    raise
                return default

        return sync_wrapper  # type: ignore[return-value]

    if fn is not None:
        return wrap(fn)
    return wrap
