"""Seed 003's execution tracking: ``ExecutionTracker``, stages, statuses, the tracker factory,
the agent base class / mixin and the no-op tracker.

On the core SDK: an execution is a span of kind ``agent`` (``agent_name`` = the agent class
name, ``name`` = the method) whose id is the seed's ``execution_id``; stages are spans of kind
``stage`` named after the stage; LLM request/response pairs are spans of kind ``llm``. The
relevance check sets ``should_respond``/``relevance_score``/``relevance_reasoning`` on the
execution, and a "no" marks it ``skipped`` with the reason. The fine-grained status
(``llm_request``…) is ``attributes.execution_status``; the stage reached is
``attributes.current_stage``. Child executions are child spans (``call_reason`` attribute).

Tracking methods do their work when called and return an awaitable that is already done, so
``await tracker.track_stage(...)`` (the seed's style) and plain calls from sync code both work.
Nothing here raises into agent code except the agent's own exceptions and, when a time limit
is set, :class:`TimeoutError`.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from time import time_ns
from types import TracebackType
from typing import Any, Final

from ..sdk._context import current
from ..sdk._span import NOOP_SPAN, LiveSpan
from ._spans import (
    DONE,
    AnySpan,
    Done,
    InvalidArgumentError,
    begin,
    coerce_name,
    current_execution,
    end,
    find_live,
    forget_live,
    register_live,
)

__all__ = [
    "AgentTrackerFactory",
    "BaseAgent",
    "ExecutionStage",
    "ExecutionStatus",
    "ExecutionTracker",
    "NoOpTracker",
    "TrackingMixin",
]

log = logging.getLogger("tracehound.executions")

_LEVELS: Final = {"debug", "info", "warning", "warn", "error", "critical", "fatal", "exception"}


class ExecutionStage(StrEnum):
    """Seed 003's execution stages (a stage span's name is the member's value)."""

    INIT = "INIT"
    SHOULD_RESPOND = "SHOULD_RESPOND"
    PRE_PROCESS = "PRE_PROCESS"
    LLM_PREPARE = "LLM_PREPARE"
    LLM_CALL = "LLM_CALL"
    LLM_PARSE = "LLM_PARSE"
    POST_PROCESS = "POST_PROCESS"
    COMPLETE = "COMPLETE"


class ExecutionStatus(StrEnum):
    """Seed 003's execution statuses. The value is the stored fine-grained status; the span
    status is :attr:`span_status`."""

    PENDING = "pending"
    RUNNING = "running"
    LLM_REQUEST = "llm_request"
    LLM_RESPONSE = "llm_response"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"

    @property
    def span_status(self) -> str:
        if self in (ExecutionStatus.LLM_REQUEST, ExecutionStatus.LLM_RESPONSE):
            return "running"
        return self.value

    @classmethod
    def parse(cls, value: Any) -> ExecutionStatus | None:
        text = getattr(value, "value", value)
        if not isinstance(text, str):
            return None
        low = text.strip().lower()
        try:
            return cls(low)
        except ValueError:
            pass
        try:
            return cls[text.strip().upper()]
        except KeyError:
            return {"cancelled": cls.FAILED, "completed": cls.SUCCESS}.get(low)


def _stage_name(stage: Any) -> str:
    if isinstance(stage, ExecutionStage):
        return stage.value
    text = coerce_name(stage, "STAGE")
    up = text.strip().upper()
    return up if up in ExecutionStage.__members__ else text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    out = float(value)
    return out if out == out and abs(out) != float("inf") else None


def _tokens(tokens_used: Any) -> dict[str, int]:
    """``tokens_used`` as LLM columns: an int is the total; a mapping may carry
    prompt/completion (or input/output, cached, reasoning, total) counts."""
    out: dict[str, int] = {}
    if isinstance(tokens_used, bool) or tokens_used is None:
        return out
    if isinstance(tokens_used, int):
        if tokens_used >= 0:
            out["total_tokens"] = tokens_used
        return out
    if isinstance(tokens_used, dict):
        from ._llm import extract_usage

        usage = extract_usage({"usage": tokens_used})
        for key, value in usage.items():
            if value is not None:
                out[key] = value
        total = tokens_used.get("total") or tokens_used.get("total_tokens")
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            out["total_tokens"] = total
        for src, dst in (("input", "input_tokens"), ("output", "output_tokens")):
            val = tokens_used.get(src)
            if isinstance(val, int) and not isinstance(val, bool) and val >= 0:
                out.setdefault(dst, val)
    return out


class _TrackedExecution:
    """The ``async with`` / ``with`` context of :meth:`ExecutionTracker.track_execution`."""

    __slots__ = ("_input", "_limit", "_method", "_timeout_cm", "_tracker")

    def __init__(
        self, tracker: ExecutionTracker, method: str, input_data: Any, limit: float | None
    ) -> None:
        self._tracker = tracker
        self._method = method
        self._input = input_data
        self._limit = limit
        self._timeout_cm: Any = None

    def __enter__(self) -> ExecutionTracker:
        self._tracker._start(self._method, self._input, self._limit)
        return self._tracker

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tracker._finish(exc, timed_out=False)

    async def __aenter__(self) -> ExecutionTracker:
        self._tracker._start(self._method, self._input, self._limit)
        if self._limit is not None:
            try:
                cm = asyncio.timeout(self._limit)
                await cm.__aenter__()
                self._timeout_cm = cm
            except Exception as exc:  # pragma: no cover - no running loop
                log.debug("time limit not applied: %r", exc)
        return self._tracker

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cm, self._timeout_cm = self._timeout_cm, None
        if cm is not None:
            try:
                await cm.__aexit__(exc_type, exc, tb)
            except TimeoutError as timeout:
                self._tracker._finish(timeout, timed_out=True)
                raise
        self._tracker._finish(exc, timed_out=False)


class ExecutionTracker:
    """Tracks one agent execution at a time (seed 003). Created by
    :meth:`AgentTrackerFactory.create_tracker` or an agent's ``create_tracker()``."""

    def __init__(
        self,
        agent_name: str,
        *,
        vault_id: Any = None,
        conversation_id: Any = None,
        user_id: Any = None,
        parent_execution_id: str | None = None,
        call_reason: str | None = None,
        time_limit_s: float | None = None,
        agent_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.agent_name = coerce_name(agent_name, "agent")
        self.vault_id = vault_id
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.parent_execution_id = parent_execution_id
        self.call_reason = call_reason
        self.time_limit_s = _number(time_limit_s) if time_limit_s is not None else None
        self.agent_id = agent_id
        self.metadata = dict(metadata) if isinstance(metadata, dict) else {}
        self.status = ExecutionStatus.PENDING
        self.current_stage: str | None = None
        self.output: Any = None
        self._span: AnySpan = NOOP_SPAN
        self._stage: AnySpan = NOOP_SPAN
        self._llm: AnySpan = NOOP_SPAN
        self._checkpoint = 0
        self._skipped = False
        self._limit: float | None = None

    # -- identity ----------------------------------------------------------------------------
    @property
    def execution_id(self) -> str | None:
        """The running (or last) execution's id; ``None`` before one starts."""
        return self._span.span_id or None

    @property
    def span(self) -> AnySpan:
        return self._span

    @property
    def is_running(self) -> bool:
        return isinstance(self._span, LiveSpan) and self._span.is_recording

    def __repr__(self) -> str:
        return f"<ExecutionTracker {self.agent_name} {self.status.value} {self.execution_id}>"

    # -- the execution -----------------------------------------------------------------------
    def track_execution(
        self,
        method: str = "run",
        input_data: Any = None,
        *,
        time_limit_s: float | None = None,
    ) -> _TrackedExecution:
        """``async with tracker.track_execution(method, input_data):`` — the execution runs
        inside. An exception is recorded (type, message, traceback) and re-raised. With a time
        limit (here or on the tracker), an async execution still running when it expires is
        cancelled, recorded as ``timeout`` and :class:`TimeoutError` is raised; a sync one is
        recorded as ``timeout`` when it ends late."""
        limit = _number(time_limit_s) if time_limit_s is not None else self.time_limit_s
        if limit is not None and limit <= 0:
            limit = None
        return _TrackedExecution(self, coerce_name(method, "run"), input_data, limit)

    def _start(self, method: str, input_data: Any, limit: float | None) -> None:
        try:
            if self.is_running:  # a second execution on one tracker: close the first
                self._finish(None, timed_out=False)
            self.status = ExecutionStatus.RUNNING
            self.current_stage = None
            self.output = None
            self._skipped = False
            attrs: dict[str, Any] = {
                "method": method,
                "execution_status": ExecutionStatus.RUNNING.value,
            }
            if self.vault_id is not None:
                attrs["vault_id"] = str(self.vault_id)
            if self.conversation_id is not None:
                attrs["conversation_id"] = str(self.conversation_id)
            if self.user_id is not None:
                attrs["user_id"] = str(self.user_id)
            if self.agent_id is not None:
                attrs["agent_id"] = self.agent_id
            if self.call_reason is not None:
                attrs["call_reason"] = self.call_reason
            if limit is not None:
                attrs["time_limit_ms"] = limit * 1000.0
            parent: AnySpan | None = None
            if self.parent_execution_id is not None:
                attrs["parent_execution_id"] = str(self.parent_execution_id)
                here = current_execution()
                if here is None or here.span_id != self.parent_execution_id:
                    parent = find_live(self.parent_execution_id)
            if self.metadata:
                attrs["metadata"] = self.metadata
            sp = begin(method, "agent", self.agent_name, attrs, parent=parent, activate=True)
            if input_data is not None:
                sp.set_input(input_data)
            self._span = sp
            self._limit = limit
            register_live(sp)
            sp.snapshot()
            now = time_ns()
            init = begin(
                ExecutionStage.INIT.value,
                "stage",
                None,
                {"message": f"{self.agent_name}.{method} started"},
                parent=sp,
            )
            end(init)
            self.current_stage = ExecutionStage.INIT.value
            sp.set_attribute("current_stage", self.current_stage)
            self._checkpoint = now
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("track_execution start failed: %r", exc)

    def _finish(self, exc: BaseException | None, *, timed_out: bool) -> None:
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return
        try:
            if (
                not timed_out
                and exc is None
                and self._limit is not None
                and (time_ns() - sp._start) / 1e9 > self._limit
            ):
                timed_out = True  # sync execution that overran its limit
            if timed_out:
                status = ExecutionStatus.TIMEOUT
                reason = f"time limit of {self._limit:g}s exceeded"
            elif exc is not None:
                cancelled = isinstance(
                    exc, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt
                )
                status = ExecutionStatus.FAILED
                reason = f"{type(exc).__name__}: {exc}" if not cancelled else "cancelled"
            elif self._skipped:
                status = ExecutionStatus.SKIPPED
                reason = None
            else:
                status = ExecutionStatus.SUCCESS
                reason = None
            stage_status = "timeout" if timed_out else ("failed" if exc is not None else "success")
            self._end_llm(exc)
            if isinstance(self._stage, LiveSpan) and not self._stage._end:
                self._stage.set_status(stage_status)
                if exc is not None:
                    self._stage.record_exception(exc)
                end(self._stage, None, restore=sp)
            self._stage = NOOP_SPAN
            if self.current_stage is not None:
                sp.set_attribute(
                    "failed_stage" if exc is not None or timed_out else "last_stage",
                    self.current_stage,
                )
            done = begin(
                ExecutionStage.COMPLETE.value,
                "stage",
                None,
                {"message": reason or f"{self.agent_name} finished: {status.value}"},
                parent=sp,
            )
            done.set_status(status.span_status)
            end(done)
            self.status = status
            sp.set_attribute("execution_status", status.value)
            if self.output is not None:
                sp.set_output(self.output)
            if timed_out:
                sp.set_status("timeout", reason)
            elif status is ExecutionStatus.FAILED:
                sp.set_status("cancelled" if reason == "cancelled" else "failed", reason)
            elif status is ExecutionStatus.SKIPPED:
                sp.set_status("skipped", sp.status_message)
            else:
                sp.set_status("success")
            forget_live(sp)
            end(sp, exc)
        except Exception as err:  # pragma: no cover - defensive
            log.debug("track_execution end failed: %r", err)

    # -- tracking calls ----------------------------------------------------------------------
    def track_should_respond(
        self, should_respond: Any, confidence: Any = None, reason: Any = None
    ) -> Done:
        """Record the relevance check; a "no" marks the execution skipped with the reason."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return DONE
        try:
            should = bool(should_respond)
            score = _number(confidence)
            why = None if reason is None else coerce_name(reason, "")
            self._close_stage()
            stage = begin(
                ExecutionStage.SHOULD_RESPOND.value,
                "stage",
                None,
                {
                    "message": why or ("will respond" if should else "declined to respond"),
                    "should_respond": should,
                    "relevance_score": score,
                },
                parent=sp,
                start_ns=self._checkpoint or None,
            )
            stage.set_status("success" if should else "skipped")
            end(stage)
            self._checkpoint = time_ns()
            self.current_stage = ExecutionStage.SHOULD_RESPOND.value
            sp.set_attributes(
                {
                    "should_respond": should,
                    "relevance_score": score,
                    "relevance_reasoning": why,
                    "current_stage": self.current_stage,
                }
            )
            if not should:
                self._skipped = True
                self.status = ExecutionStatus.SKIPPED
                sp.set_attribute("execution_status", ExecutionStatus.SKIPPED.value)
                sp.set_status("skipped", why or "declined by relevance check")
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("track_should_respond failed: %r", exc)
        return DONE

    def track_stage(self, stage: Any, message: Any = None, data: Any = None) -> Done:
        """Enter a stage (the previous one ends); it runs until the next stage,
        :meth:`complete_stage` or the end of the execution."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return DONE
        try:
            name = _stage_name(stage)
            self._close_stage()
            attrs: dict[str, Any] = {}
            if message is not None:
                attrs["message"] = coerce_name(message, "")
            if data is not None:
                attrs["data"] = data
            self._stage = begin(name, "stage", None, attrs, parent=sp, activate=True)
            self.current_stage = name
            sp.set_attribute("current_stage", name)
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("track_stage failed: %r", exc)
        return DONE

    def complete_stage(self, stage: Any = None, message: Any = None, data: Any = None) -> Done:
        """End the open stage (``stage`` names it; a stage that was not open is recorded as
        having run since the last checkpoint)."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return DONE
        try:
            name = None if stage is None else _stage_name(stage)
            open_stage = self._stage
            if (
                isinstance(open_stage, LiveSpan)
                and not open_stage._end
                and (name is None or open_stage.name == name)
            ):
                if message is not None:
                    open_stage.set_attribute("completion_message", coerce_name(message, ""))
                if data is not None:
                    open_stage.set_attribute("data", data)
                self._close_stage()
            elif name is not None:
                self._close_stage()
                attrs: dict[str, Any] = {}
                if message is not None:
                    attrs["message"] = coerce_name(message, "")
                if data is not None:
                    attrs["data"] = data
                st = begin(name, "stage", None, attrs, parent=sp, start_ns=self._checkpoint or None)
                end(st)
                self._checkpoint = time_ns()
                self.current_stage = name
                sp.set_attribute("current_stage", name)
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("complete_stage failed: %r", exc)
        return DONE

    def track_llm_request(self, model: Any, request: Any = None, *, provider: Any = None) -> Done:
        """An LLM request is being sent (the ``LLM_CALL`` stage starts if no stage of that
        name is open)."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return DONE
        try:
            self._end_llm(None)
            if not (
                isinstance(self._stage, LiveSpan)
                and not self._stage._end
                and self._stage.name == ExecutionStage.LLM_CALL.value
            ):
                self.track_stage(ExecutionStage.LLM_CALL, "LLM request sent")
            model_id = coerce_name(model, "unknown")
            attrs: dict[str, Any] = {"model": model_id, "call_type": "inference"}
            prov = provider if isinstance(provider, str) else None
            if prov is None and isinstance(request, dict):
                prov = request.get("provider") if isinstance(request.get("provider"), str) else None
            if prov:
                attrs["provider"] = prov
            parent = self._stage if isinstance(self._stage, LiveSpan) else sp
            self._llm = begin(model_id, "llm", None, attrs, parent=parent)
            if request is not None:
                self._llm.set_input(request)
            self.status = ExecutionStatus.LLM_REQUEST
            sp.set_attribute("execution_status", self.status.value)
            sp.set_attribute("llm_model", model_id)
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("track_llm_request failed: %r", exc)
        return DONE

    def track_llm_response(
        self,
        response_data: Any = None,
        tokens_used: Any = None,
        latency_ms: Any = None,
        *,
        error: Any = None,
    ) -> Done:
        """The LLM response arrived: response, tokens (an int total, or a usage mapping) and
        latency. ``error`` records a failed call."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return DONE
        try:
            llm = self._llm
            if not isinstance(llm, LiveSpan) or llm._end:
                model = sp.attributes.get("llm_model", "unknown")
                llm = begin(
                    str(model),
                    "llm",
                    None,
                    {"model": model, "call_type": "inference"},
                    parent=self._stage if isinstance(self._stage, LiveSpan) else sp,
                    start_ns=self._checkpoint or None,
                )
            lat = _number(latency_ms)
            if lat is not None and lat >= 0:
                llm.set_attribute("latency_ms", lat)
                # the measured latency is the call's duration: backdate the start to match
                if isinstance(llm, LiveSpan) and llm._start:
                    llm._start = max(time_ns() - int(lat * 1_000_000), sp._start)
            for key, value in _tokens(tokens_used).items():
                llm.set_attribute(key, value)
            if response_data is not None:
                llm.set_output(response_data)
            if error is not None:
                exc = error if isinstance(error, BaseException) else None
                llm.set_status("failed", coerce_name(error, "error"))
                if exc is not None:
                    llm.record_exception(exc)
            end(llm)
            self._llm = NOOP_SPAN
            self._checkpoint = time_ns()
            self.status = ExecutionStatus.LLM_RESPONSE
            sp.set_attribute("execution_status", self.status.value)
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("track_llm_response failed: %r", exc)
        return DONE

    def set_output(self, result: Any) -> None:
        """The execution's result (recorded when it ends)."""
        self.output = result
        if isinstance(self._span, LiveSpan):
            self._span.set_output(result)

    def log_event(self, message: Any, level: Any = "info", **fields: Any) -> Done:
        """A log line inside the execution (an event of type ``log``, attached to the open
        stage), carrying the stage and the fields."""
        sp = self._span
        if not isinstance(sp, LiveSpan) or sp._end:
            return _emit_log(message, level, fields, None)
        target = self._stage if isinstance(self._stage, LiveSpan) and not self._stage._end else sp
        return _emit_log(message, level, fields, target, self.current_stage)

    def record_error(self, error: BaseException) -> Done:
        """Attach an exception to the execution without ending it (it will end failed)."""
        if isinstance(self._span, LiveSpan) and isinstance(error, BaseException):
            self._span.record_exception(error)
            self._span.set_status("failed", f"{type(error).__name__}: {error}")
        return DONE

    # -- internals ---------------------------------------------------------------------------
    def _close_stage(self) -> None:
        st = self._stage
        if isinstance(st, LiveSpan) and not st._end:
            end(st, None, restore=self._span)
        self._stage = NOOP_SPAN
        self._checkpoint = time_ns()

    def _end_llm(self, exc: BaseException | None) -> None:
        llm = self._llm
        if isinstance(llm, LiveSpan) and not llm._end:
            if exc is not None:
                llm.set_status("failed", "execution ended before the LLM response")
            else:
                llm.set_attribute("response_missing", True)
            end(llm, exc)
        self._llm = NOOP_SPAN


def _emit_log(
    message: Any,
    level: Any,
    fields: dict[str, Any],
    target: AnySpan | None,
    stage: str | None = None,
) -> Done:
    try:
        from ..sdk import _runtime

        lvl = coerce_name(level, "info").lower()
        if lvl not in _LEVELS:
            lvl = "info"
        text = coerce_name(message, "")
        data = dict(fields)
        data["level"] = lvl
        data["message"] = text
        if stage is not None:
            data.setdefault("stage", stage)
        if isinstance(target, LiveSpan) and target is not current.get():
            token = current.set(target)
            try:
                _runtime.emit_event("log", text[:200], data)
            finally:
                current.reset(token)
        else:
            _runtime.emit_event("log", text[:200], data)
    except Exception as exc:  # pragma: no cover - defensive
        log.debug("log_event failed: %r", exc)
    return DONE


class _NoOpContext:
    __slots__ = ("_tracker",)

    def __init__(self, tracker: NoOpTracker) -> None:
        self._tracker = tracker

    def __enter__(self) -> NoOpTracker:
        return self._tracker

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> NoOpTracker:
        return self._tracker

    async def __aexit__(self, *exc: object) -> None:
        return None


class NoOpTracker:
    """What ``create_tracker()`` returns with tracking disabled: every method does nothing
    (no records, negligible cost) and returns at once."""

    __slots__ = ("_ctx", "agent_name", "output")

    execution_id = None
    status = ExecutionStatus.PENDING
    current_stage = None
    is_running = False
    span = NOOP_SPAN

    def __init__(self, agent_name: str = "agent", **_: Any) -> None:
        self.agent_name = agent_name
        self.output: Any = None
        self._ctx = _NoOpContext(self)

    def track_execution(
        self, method: str = "run", input_data: Any = None, *, time_limit_s: float | None = None
    ) -> _NoOpContext:
        return self._ctx

    def track_should_respond(
        self, should_respond: Any, confidence: Any = None, reason: Any = None
    ) -> Done:
        return DONE

    def track_stage(self, stage: Any, message: Any = None, data: Any = None) -> Done:
        return DONE

    def complete_stage(self, stage: Any = None, message: Any = None, data: Any = None) -> Done:
        return DONE

    def track_llm_request(self, model: Any, request: Any = None, *, provider: Any = None) -> Done:
        return DONE

    def track_llm_response(
        self,
        response_data: Any = None,
        tokens_used: Any = None,
        latency_ms: Any = None,
        *,
        error: Any = None,
    ) -> Done:
        return DONE

    def set_output(self, result: Any) -> None:
        self.output = result

    def log_event(self, message: Any, level: Any = "info", **fields: Any) -> Done:
        return DONE

    def record_error(self, error: BaseException) -> Done:
        return DONE

    def __repr__(self) -> str:
        return f"<NoOpTracker {self.agent_name}>"


class AgentTrackerFactory:
    """Creates trackers sharing a context (``vault_id``, ``conversation_id``, ``user_id``).
    ``enable_tracking=False`` makes every tracker a :class:`NoOpTracker`."""

    def __init__(
        self,
        vault_id: Any = None,
        conversation_id: Any = None,
        user_id: Any = None,
        *,
        enable_tracking: bool = True,
        time_limit_s: float | None = None,
    ) -> None:
        self.vault_id = vault_id
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.enable_tracking = bool(enable_tracking)
        self.time_limit_s = time_limit_s

    def create_tracker(
        self,
        agent_name: str,
        *,
        vault_id: Any = None,
        conversation_id: Any = None,
        user_id: Any = None,
        parent_execution_id: str | None = None,
        call_reason: str | None = None,
        time_limit_s: float | None = None,
        agent_id: str | None = None,
        **metadata: Any,
    ) -> ExecutionTracker | NoOpTracker:
        """A tracker for ``agent_name``; the keyword arguments override the factory's
        context. ``parent_execution_id`` (with ``call_reason``) links the executions it
        tracks to the calling agent's."""
        if not self.enable_tracking:
            return NoOpTracker(coerce_name(agent_name, "agent"))
        if parent_execution_id is not None and not isinstance(parent_execution_id, str):
            raise InvalidArgumentError(
                "parent_execution_id: expected a string execution id, "
                f"got {type(parent_execution_id).__name__}",
                field="parent_execution_id",
            )
        return ExecutionTracker(
            agent_name,
            vault_id=self.vault_id if vault_id is None else vault_id,
            conversation_id=self.conversation_id if conversation_id is None else conversation_id,
            user_id=self.user_id if user_id is None else user_id,
            parent_execution_id=parent_execution_id,
            call_reason=call_reason,
            time_limit_s=self.time_limit_s if time_limit_s is None else time_limit_s,
            agent_id=agent_id,
            metadata=metadata or None,
        )


class TrackingMixin:
    """Gives an agent ``create_tracker()`` and ``log_event()``. Set ``enable_tracking``
    (attribute or ``BaseAgent`` argument) to ``False`` for :class:`NoOpTracker`s; the agent's
    name is ``agent_name`` or its class name."""

    enable_tracking: bool = True
    agent_name: str | None = None
    tracker_factory: AgentTrackerFactory | None = None

    def create_tracker(
        self,
        vault_id: Any = None,
        conversation_id: Any = None,
        user_id: Any = None,
        *,
        parent_execution_id: str | None = None,
        call_reason: str | None = None,
        time_limit_s: float | None = None,
        **metadata: Any,
    ) -> ExecutionTracker | NoOpTracker:
        """A tracker for this agent. A ``parent_execution_id`` given here is remembered (while
        that execution runs) for this agent's later trackers, so a child agent prepared by
        its caller links to it even when its own methods create the tracker."""
        name = self.agent_name or type(self).__name__
        if not getattr(self, "enable_tracking", True):
            tracker: ExecutionTracker | NoOpTracker = NoOpTracker(name)
            self.__dict__["_tracker"] = tracker
            return tracker
        if parent_execution_id is None:
            remembered = self.__dict__.get("_tracking_parent")
            if remembered is not None and find_live(remembered[0]) is not None:
                parent_execution_id, call_reason = remembered[0], call_reason or remembered[1]
        else:
            self.__dict__["_tracking_parent"] = (parent_execution_id, call_reason)
        factory = self.tracker_factory or _DEFAULT_FACTORY
        tracker = factory.create_tracker(
            name,
            vault_id=vault_id,
            conversation_id=conversation_id,
            user_id=user_id,
            parent_execution_id=parent_execution_id,
            call_reason=call_reason,
            time_limit_s=time_limit_s,
            **metadata,
        )
        self.__dict__["_tracker"] = tracker
        return tracker

    @property
    def tracker(self) -> ExecutionTracker | NoOpTracker | None:
        """The tracker made last by :meth:`create_tracker`."""
        got = self.__dict__.get("_tracker")
        return got if isinstance(got, ExecutionTracker | NoOpTracker) else None

    def log_event(self, message: Any, level: Any = "info", **fields: Any) -> Done:
        """A log line in the agent's running execution (awaitable, already done)."""
        if not getattr(self, "enable_tracking", True):
            return DONE
        tracker = self.tracker
        if isinstance(tracker, ExecutionTracker) and tracker.is_running:
            return tracker.log_event(message, level, **fields)
        fields.setdefault("agent", self.agent_name or type(self).__name__)
        return _emit_log(message, level, fields, None)


_DEFAULT_FACTORY: Final = AgentTrackerFactory()


class BaseAgent(TrackingMixin):
    """A base class for agents: ``BaseAgent(enable_tracking=False)`` turns tracking off;
    ``tracker_factory`` supplies shared context (vault, conversation, user)."""

    def __init__(
        self,
        *args: Any,
        enable_tracking: bool = True,
        tracker_factory: AgentTrackerFactory | None = None,
        agent_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.enable_tracking = bool(enable_tracking)
        if tracker_factory is not None:
            if not isinstance(tracker_factory, AgentTrackerFactory):
                raise InvalidArgumentError(
                    "tracker_factory: expected an AgentTrackerFactory, "
                    f"got {type(tracker_factory).__name__}",
                    field="tracker_factory",
                )
            self.tracker_factory = tracker_factory
        if agent_name is not None:
            self.agent_name = agent_name
