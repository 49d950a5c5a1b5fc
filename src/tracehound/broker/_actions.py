"""Seed 004's agent action logging: ``ActionLogger`` and ``log_action``.

Actions are ordinary tracehound records (``docs/data-model.md``), emitted through the core SDK,
so they go wherever the configured exporters send them (files, the store, NATS JetStream…):

* a **tool call** is a span of kind ``tool``: name = tool name, ``input`` = tool parameters,
  ``output`` = tool result, status ``success``/``failed`` (``status_message`` = the error
  message), timing from the span itself;
* a **decision**, **error** or **success** is an event of that type: name = the action name,
  ``data = {"action_details": {...}, "duration_ms": …}`` (``level`` ``ERROR`` and ``message`` =
  the error message for errors);
* ``project_name``, ``project_path``, ``working_directory``, ``debug_mode`` go into the span's
  attributes / the event's data;
* the **correlation id is the trace id**. Inside a span of the same trace, actions nest under
  it. Otherwise the correlation id acts as a remote parent: the actions' ``trace_id`` is the
  correlation id (spans get it as ``parent_id``, events as ``span_id``, like a trace whose root
  lives elsewhere). A correlation id that is not a UUID is mapped to a stable UUID (uuid5) and
  also kept verbatim as ``correlation_id`` in the attributes / data.

Logging never blocks (the SDK queues the record; a background worker exports it) and the
``log_*`` methods never raise: they return ``True`` when the action was recorded, ``False``
otherwise. ``log_action`` raises :class:`~tracehound.exceptions.ValidationError` (a
``ValueError``) for an ``action_type`` outside ``tool_call, decision, error, success`` — a
programming error, reported at once.
"""

from __future__ import annotations

import logging
import os
import uuid
import zlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from ..exceptions import ValidationError
from ..model._ids import new_id
from ..sdk import _runtime
from ..sdk._context import current
from ..sdk._span import LiveSpan

__all__ = ["ACTION_TYPES", "ActionLogger", "ToolCall", "log_action"]

log = logging.getLogger("tracehound.broker")

ACTION_TYPES: Final = ("tool_call", "decision", "error", "success")
_SEVERITY: Final = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "warn": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}
_NAMESPACE: Final = uuid.UUID("6f1d3c2a-52b0-4c1e-9a43-7d0c1a2b3c4d")


def _correlation_int(text: str) -> int:
    """The 128-bit trace id of a correlation id: the UUID itself, or a stable uuid5 of it."""
    try:
        return uuid.UUID(text).int
    except ValueError:
        return uuid.uuid5(_NAMESPACE, text).int


def _require_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name}: expected a non-empty string, got {value!r}", field=name)
    return value


class ToolCall:
    """What ``async with logger.tool_call(...) as action`` yields: call
    :meth:`set_result` inside the block. Timing and errors are captured when the block ends;
    an exception is recorded (the span fails) and propagates unchanged."""

    __slots__ = (
        "_logger",
        "_outer",
        "_span",
        "duration_ms",
        "error_message",
        "success",
        "tool_name",
        "tool_parameters",
        "tool_result",
    )

    def __init__(
        self, logger: ActionLogger, tool_name: str, tool_parameters: dict[str, Any] | None
    ) -> None:
        self._logger = logger
        self.tool_name = tool_name
        self.tool_parameters = tool_parameters if tool_parameters is not None else {}
        self.tool_result: Any = None
        self.success = True
        self.error_message: str | None = None
        self.duration_ms: int | None = None
        self._span: LiveSpan | None = None
        self._outer: Any = None

    def set_result(self, result: Any) -> None:
        """The tool's result (recorded as the span's output)."""
        self.tool_result = result

    def set_error(self, message: str) -> None:
        """Mark the call failed without raising (e.g. a tool that returned an error)."""
        self.success = False
        self.error_message = str(message)

    @property
    def span_id(self) -> str:
        return "" if self._span is None else self._span.span_id

    def _open(self) -> None:
        try:
            self._span, self._outer = self._logger._start_tool(self.tool_name, self.tool_parameters)
        except Exception as exc:  # never into agent code
            log.debug("tracehound: could not start tool call %r: %r", self.tool_name, exc)
            self._span = None

    def _close(self, exc: BaseException | None) -> None:
        sp = self._span
        if exc is not None:
            self.success = False
            if self.error_message is None:
                try:
                    self.error_message = str(exc) or type(exc).__name__
                except Exception:
                    self.error_message = type(exc).__name__
        if sp is None:
            return
        try:
            sp.set_output(self.tool_result)
            if not self.success:
                sp.set_status("failed", self.error_message)
            sp.__exit__(type(exc) if exc is not None else None, exc, None)
            self.duration_ms = int((sp._end - sp._start) / 1_000_000)
        except Exception as err:
            log.debug("tracehound: could not end tool call %r: %r", self.tool_name, err)
        finally:
            self._logger._restore(self._outer)
            self._outer = None

    def __enter__(self) -> ToolCall:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(exc)

    async def __aenter__(self) -> ToolCall:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(exc)

    def __repr__(self) -> str:
        return f"<ToolCall {self.tool_name!r} success={self.success}>"


class ActionLogger:
    """Logs one agent's actions (seed 004): tool calls, decisions, errors, successes.

    ``correlation_id`` (text or :class:`uuid.UUID`) groups actions across agents; by default
    the trace of the span open when the logger is created, else a new id. ``project_path`` and
    ``working_directory`` default to the current directory, ``project_name`` to its name.
    """

    def __init__(
        self,
        agent_name: str,
        correlation_id: str | uuid.UUID | None = None,
        project_name: str | None = None,
        project_path: str | None = None,
        working_directory: str | None = None,
        debug_mode: bool = True,
    ) -> None:
        self.agent_name = _require_text(agent_name, "agent_name")
        if correlation_id is None:
            sp = current.get()
            cid = sp.trace_id if sp is not None and sp.trace_id else new_id()
        else:
            cid = _require_text(str(correlation_id), "correlation_id")
        self.correlation_id: str = cid
        cwd = _cwd()
        self.project_path = project_path if project_path is not None else cwd
        self.project_name = (
            project_name
            if project_name is not None
            else (os.path.basename(os.path.normpath(self.project_path)) or None)
        )
        self.working_directory = working_directory if working_directory is not None else cwd
        self.debug_mode = bool(debug_mode)
        self._trace_int = _correlation_int(cid)
        self._trace_text = str(uuid.UUID(int=self._trace_int))
        context: dict[str, Any] = {
            "project_name": self.project_name,
            "project_path": self.project_path,
            "working_directory": self.working_directory,
            "debug_mode": self.debug_mode,
        }
        if cid != self._trace_text:
            context["correlation_id"] = cid
        self._context = {k: v for k, v in context.items() if v is not None}
        self._anchor: LiveSpan | None = None
        self._anchor_rt: Any = None

    # -- parenting --------------------------------------------------------------------------

    def _parent(self) -> LiveSpan | None:
        """The span actions attach to: the current span when it is in the correlation's
        trace, else the correlation's (never emitted) remote root. ``None`` when disabled."""
        rt = _runtime._runtime or _runtime.get_runtime()
        if not rt.enabled:
            return None
        sp = current.get()
        if sp is not None and sp._trace == self._trace_int:
            return sp
        anchor = self._anchor
        if anchor is None or self._anchor_rt is not rt:
            anchor = LiveSpan(rt, "correlation", "task", None, {})
            anchor._id = anchor._trace = self._trace_int
            anchor._sid = self._trace_text
            rate = rt.sample_rate
            if rate < 1.0:
                anchor._sampled = zlib.crc32(self._trace_text.encode()) / 2**32 < rate
            self._anchor, self._anchor_rt = anchor, rt
        return anchor

    def _start_tool(
        self, tool_name: str, tool_parameters: Any, *, duration_ms: float | None = None
    ) -> tuple[LiveSpan | None, Any]:
        parent = self._parent()
        if parent is None:
            return None, None
        token = current.set(parent) if current.get() is not parent else None
        sp = LiveSpan(parent._rt, tool_name, "tool", self.agent_name, dict(self._context))
        sp.input = tool_parameters
        sp.__enter__()
        if duration_ms is not None and duration_ms > 0:
            sp._start = max(1, sp._start - int(duration_ms * 1_000_000))
        return sp, token

    @staticmethod
    def _restore(token: Any) -> None:
        if token is not None:
            try:
                current.reset(token)
            except ValueError:  # ended in another context
                pass

    def _event(
        self,
        etype: str,
        name: str,
        details: Any,
        duration_ms: float | None,
        level: str | None = None,
        message: str | None = None,
    ) -> bool:
        return self._queue(etype, name, _action_data, details, duration_ms, level, message)

    def _queue(
        self, etype: str, name: str, build: Callable[..., dict[str, Any]], *args: Any
    ) -> bool:
        """Queue an action event whose data ``build(self._context, *args)`` assembles on the
        pipeline's worker; ``True`` if the pipeline took it."""
        parent = self._parent()
        if parent is None or not parent._sampled:
            return False
        proc = parent._rt.processor
        if proc is None:
            return False
        before = proc.dropped_queue_full
        _runtime.emit_built_event(etype, name, parent, self.agent_name, build, self._context, *args)
        return proc.dropped_queue_full == before

    # -- the seed's API ---------------------------------------------------------------------

    def tool_call(self, tool_name: str, tool_parameters: dict[str, Any] | None = None) -> ToolCall:
        """``async with logger.tool_call("Read", {...}) as action: … action.set_result(...)``
        (``with`` works too). Times the call and captures an exception."""
        return ToolCall(self, str(tool_name), tool_parameters)

    async def log_tool_call(
        self,
        tool_name: str,
        tool_parameters: dict[str, Any] | None = None,
        tool_result: Any = None,
        duration_ms: float | None = None,
        success: bool = True,
        error_message: str | None = None,
    ) -> bool:
        """Log a finished tool call (``duration_ms`` back-dates its start)."""
        try:
            sp, token = self._start_tool(
                str(tool_name),
                tool_parameters if tool_parameters is not None else {},
                duration_ms=_number(duration_ms),
            )
            if sp is None:
                return False
            try:
                sp.output = tool_result
                if not success:
                    sp.set_status("failed", error_message)
                elif error_message is not None:
                    sp.set_attribute("error_message", error_message)
                return _emit(sp, lambda: sp.__exit__(None, None, None))
            finally:
                self._restore(token)
        except Exception as exc:
            log.debug("tracehound: log_tool_call failed: %r", exc)
            return False

    async def log_decision(
        self,
        decision_name: str,
        decision_context: dict[str, Any] | None = None,
        decision_result: dict[str, Any] | None = None,
        duration_ms: float | None = None,
    ) -> bool:
        """Log a decision (routing, agent selection, strategy…)."""
        try:
            return self._queue(
                "decision",
                str(decision_name),
                _decision_data,
                decision_context,
                decision_result,
                _number(duration_ms),
            )
        except Exception as exc:
            log.debug("tracehound: log_decision failed: %r", exc)
            return False

    async def log_error(
        self,
        error_type: str,
        error_message: str,
        error_context: dict[str, Any] | None = None,
        severity: str = "error",
    ) -> bool:
        """Log an error (``severity``: debug, info, warning, error, critical)."""
        try:
            details = {
                "error_type": str(error_type),
                "error_message": str(error_message),
                "error_context": error_context if error_context is not None else {},
            }
            level = _SEVERITY.get(str(severity).lower(), "ERROR")
            return self._event(
                "error", str(error_type), details, None, level=level, message=str(error_message)
            )
        except Exception as exc:
            log.debug("tracehound: log_error failed: %r", exc)
            return False

    async def log_success(
        self,
        success_name: str,
        success_details: dict[str, Any] | None = None,
        duration_ms: float | None = None,
    ) -> bool:
        """Log a success (task completed, milestone reached…)."""
        try:
            details = success_details if success_details is not None else {}
            return self._event("success", str(success_name), details, _number(duration_ms))
        except Exception as exc:
            log.debug("tracehound: log_success failed: %r", exc)
            return False

    def warning(self, message: str, *args: Any) -> None:
        """Log a warning about action logging itself to the ``tracehound.broker`` logger (the
        seed's ``if not success: logger.warning(...)``)."""
        log.warning(message, *args)

    def __repr__(self) -> str:
        return f"<ActionLogger {self.agent_name!r} correlation_id={self.correlation_id}>"


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") and out >= 0 else None


def _action_data(
    context: dict[str, Any],
    details: Any,
    duration_ms: float | None,
    level: str | None,
    message: str | None,
) -> dict[str, Any]:
    """An action event's data (built on the pipeline's worker)."""
    data: dict[str, Any] = {"action_details": details if details is not None else {}, **context}
    if duration_ms is not None:
        data["duration_ms"] = duration_ms
    if level is not None:
        data["level"] = level
    if message is not None:
        data["message"] = message
    return data


def _decision_data(
    context: dict[str, Any],
    decision_context: Any,
    decision_result: Any,
    duration_ms: float | None,
) -> dict[str, Any]:
    """A decision's data (built on the pipeline's worker)."""
    details = {
        "decision_context": decision_context if decision_context is not None else {},
        "decision_result": decision_result if decision_result is not None else {},
    }
    return _action_data(context, details, duration_ms, None, None)


def _emit(parent: LiveSpan, emit: Any) -> bool:
    """Run ``emit`` with ``parent`` current; ``True`` if the pipeline took the record."""
    proc = parent._rt.processor
    before = proc.dropped_queue_full if proc is not None else 0
    token = current.set(parent) if current.get() is not parent else None
    try:
        emit()
    finally:
        if token is not None:
            current.reset(token)
    return proc is not None and proc.dropped_queue_full == before


async def log_action(
    agent_name: str,
    action_type: str,
    action_name: str,
    action_details: dict[str, Any] | None = None,
    correlation_id: str | uuid.UUID | None = None,
    duration_ms: float | None = None,
    *,
    project_name: str | None = None,
    project_path: str | None = None,
    working_directory: str | None = None,
    debug_mode: bool = True,
) -> bool:
    """Log one action without keeping a logger. ``action_type`` is one of ``tool_call,
    decision, error, success`` (anything else raises :class:`ValidationError`). For a tool
    call, ``action_details["tool_parameters"]``/``["tool_result"]`` (or the whole details)
    become the span's input/output. ``True`` when the action was recorded."""
    if action_type not in ACTION_TYPES:
        raise ValidationError(
            f"action_type: expected one of {', '.join(ACTION_TYPES)}, got {action_type!r}",
            field="action_type",
        )
    logger = ActionLogger(
        agent_name,
        correlation_id,
        project_name=project_name,
        project_path=project_path,
        working_directory=working_directory,
        debug_mode=debug_mode,
    )
    details = action_details if action_details is not None else {}
    try:
        if action_type == "tool_call":
            if isinstance(details, dict) and ("tool_parameters" in details):
                params = details.get("tool_parameters")
                result = details.get("tool_result")
            else:
                params, result = details, None
            failed = isinstance(details, dict) and details.get("success") is False
            message = details.get("error_message") if isinstance(details, dict) else None
            return await logger.log_tool_call(
                action_name,
                params,
                result,
                duration_ms,
                success=not failed,
                error_message=None if message is None else str(message),
            )
        if action_type == "error":
            message = details.get("error_message") if isinstance(details, dict) else None
            return logger._event(
                "error",
                str(action_name),
                details,
                _number(duration_ms),
                level="ERROR",
                message=None if message is None else str(message),
            )
        return logger._event(action_type, str(action_name), details, _number(duration_ms))
    except Exception as exc:
        log.debug("tracehound: log_action failed: %r", exc)
        return False
