"""Seed 002's ``ExecutionLogger`` and ``LLMCallLogger``, on tracehound spans.

* An execution is a span of kind ``agent``: ``agent_name`` = ``agent_type``, ``name`` =
  ``execution_step``; ``execution_step``, ``action_type``, ``metadata`` and the links
  (``report_id``, ``completion_id``, ``widget_id``, ``step_id``, ``external_platform``,
  ``external_user_id``, anything else given) are attributes. Its ``execution_id`` — the id
  that groups related logs — is the trace id: nested executions share it.
* Statuses: ``started`` → ``running`` (a snapshot is written at start, so a started execution
  is visible while it runs), ``completed`` → ``success``, ``failed``, ``cancelled``.
* An LLM call is a span of kind ``llm`` with the LLM columns; ``call_type`` is an attribute,
  the prompt its input and the response its output.

Logging never interrupts the agent: bad values are recorded as well as they can be, and
failures inside tracehound are swallowed (counted by the pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from ..pricing import PriceTable, default_table
from ..pricing._table import Cost, parse_overrides
from ..sdk._span import LiveSpan, normalize_status
from ._spans import (
    AnySpan,
    begin,
    coerce_name,
    end,
    find_live,
    forget_live,
    register_live,
)

__all__ = [
    "SEED002_STATUS",
    "ExecutionLog",
    "ExecutionLogger",
    "LLMCallLog",
    "LLMCallLogger",
]

log = logging.getLogger("tracehound.executions")

LINK_KEYS: Final = (
    "report_id",
    "completion_id",
    "widget_id",
    "step_id",
    "external_platform",
    "external_user_id",
)

# span status -> seed 002 status
SEED002_STATUS: Final = {
    "running": "started",
    "pending": "started",
    "success": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "timeout": "failed",
    "skipped": "cancelled",
}


def _dt(ns: int) -> datetime | None:
    return datetime.fromtimestamp(ns / 1e9, UTC) if ns else None


def _link_value(value: Any) -> Any:
    # UUIDs and other ids are stored as text
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return str(value)
    except Exception:
        return repr(value)


class _SpanTimes:
    """Start, end and duration of the wrapped span (``self._span``), seed-002 style."""

    _span: AnySpan

    @property
    def start_time(self) -> datetime | None:
        sp = self._span
        return _dt(sp._start) if isinstance(sp, LiveSpan) else None

    @property
    def end_time(self) -> datetime | None:
        sp = self._span
        return _dt(sp._end) if isinstance(sp, LiveSpan) else None

    @property
    def duration_ms(self) -> int | None:
        sp = self._span
        if isinstance(sp, LiveSpan) and sp._end:
            return int((sp._end - sp._start) / 1_000_000)
        return None


class ExecutionLog(_SpanTimes):
    """One execution (seed 002's ``execution_logs`` row). ``output_data`` and ``metadata``
    may be set while it runs; they are recorded when it ends."""

    def __init__(
        self,
        span: AnySpan,
        agent_type: str,
        execution_step: str,
        action_type: str | None,
        input_data: Any,
        links: dict[str, Any],
    ) -> None:
        self._span = span
        self.agent_type = agent_type
        self.execution_step = execution_step
        self.action_type = action_type
        self.input_data = input_data
        self.output_data: Any = None
        self.metadata: Any = None
        self.error_message: str | None = None
        self.status = "started"
        self.links = links
        self._ended = False

    # seed 002 columns ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._span.span_id

    @property
    def execution_id(self) -> str:
        """The id grouping related logs (nested executions share it): the trace id."""
        return self._span.trace_id

    @property
    def parent_id(self) -> str | None:
        parent = self._span.parent
        return parent.span_id if parent is not None else None

    @property
    def span(self) -> AnySpan:
        return self._span

    def __getattr__(self, name: str) -> Any:
        links = self.__dict__.get("links")
        if links is not None and name in LINK_KEYS:
            return links.get(name)
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "execution_id": self.execution_id,
            "agent_type": self.agent_type,
            "execution_step": self.execution_step,
            "action_type": self.action_type,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration_ms": self.duration_ms,
            "input_data": self.input_data,
            "output_data": self.output_data,
            "error_message": self.error_message,
            "metadata": self.metadata,
        }
        for key in LINK_KEYS:
            out[key] = self.links.get(key)
        return out

    def __repr__(self) -> str:
        return (
            f"<ExecutionLog {self.agent_type}.{self.execution_step} {self.status} "
            f"id={self.id or '-'} execution_id={self.execution_id or '-'}>"
        )


class _ExecutionContext:
    """``async with`` / ``with`` context of :meth:`ExecutionLogger.log_execution`."""

    __slots__ = ("_args", "_log", "_logger")

    def __init__(self, logger: ExecutionLogger, args: tuple[Any, ...]) -> None:
        self._logger = logger
        self._args = args
        self._log: ExecutionLog | None = None

    def __enter__(self) -> ExecutionLog:
        self._log = self._logger._start(*self._args)
        return self._log

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entry = self._log
        if entry is None:
            return
        if exc is None:
            status = "completed" if entry.status == "started" else entry.status
            self._logger._end(entry, status, entry.output_data, None, None)
        else:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt)
            self._logger._end(
                entry, "cancelled" if cancelled else "failed", entry.output_data, None, exc
            )

    async def __aenter__(self) -> ExecutionLog:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class ExecutionLogger:
    """Seed 002's execution logger. ``db`` (the seed's database session) is accepted and
    ignored: records go through tracehound's pipeline to its configured store."""

    def __init__(self, db: Any = None, *, project: str | None = None) -> None:
        self.db = db
        self.project = project

    def log_execution(
        self,
        agent_type: str,
        execution_step: str,
        action_type: str | None = None,
        input_data: Any = None,
        **links: Any,
    ) -> _ExecutionContext:
        """``async with`` (or ``with``) an execution: ``started`` on entry, ``completed`` on a
        normal exit, ``failed`` (with the error) or ``cancelled`` on an exception, which is
        re-raised. Set ``log_context.output_data`` / ``.metadata`` inside."""
        return _ExecutionContext(self, (agent_type, execution_step, action_type, input_data, links))

    async def start_execution(
        self,
        agent_type: str,
        execution_step: str,
        action_type: str | None = None,
        input_data: Any = None,
        **links: Any,
    ) -> ExecutionLog:
        """Start an execution and return its log. Until :meth:`end_execution`, LLM calls and
        executions started in the same task are its children."""
        return self._start(agent_type, execution_step, action_type, input_data, links)

    async def end_execution(
        self,
        execution_log: ExecutionLog,
        status: str = "completed",
        output_data: Any = None,
        error_message: str | None = None,
        error: BaseException | None = None,
    ) -> ExecutionLog | None:
        """End an execution with ``completed``, ``failed`` or ``cancelled`` (a second end is
        ignored). ``error`` may carry the exception for its type and traceback."""
        if not isinstance(execution_log, ExecutionLog):
            log.warning("end_execution: expected an ExecutionLog, got %r", type(execution_log))
            return None
        self._end(execution_log, status, output_data, error_message, error)
        return execution_log

    def start_execution_sync(
        self,
        agent_type: str,
        execution_step: str,
        action_type: str | None = None,
        input_data: Any = None,
        **links: Any,
    ) -> ExecutionLog:
        """:meth:`start_execution` for synchronous code."""
        return self._start(agent_type, execution_step, action_type, input_data, links)

    def end_execution_sync(
        self,
        execution_log: ExecutionLog,
        status: str = "completed",
        output_data: Any = None,
        error_message: str | None = None,
        error: BaseException | None = None,
    ) -> ExecutionLog | None:
        """:meth:`end_execution` for synchronous code."""
        if not isinstance(execution_log, ExecutionLog):
            log.warning("end_execution: expected an ExecutionLog, got %r", type(execution_log))
            return None
        self._end(execution_log, status, output_data, error_message, error)
        return execution_log

    # -- internals ---------------------------------------------------------------------------
    def _start(
        self,
        agent_type: Any,
        execution_step: Any,
        action_type: Any,
        input_data: Any,
        links: dict[str, Any],
    ) -> ExecutionLog:
        agent = coerce_name(agent_type, "agent")
        step = coerce_name(execution_step, "execute")
        action = None if action_type is None else coerce_name(action_type, "")
        links = {k: _link_value(v) for k, v in links.items()}
        parent: AnySpan | None = None
        given_id = links.pop("execution_id", None)
        parent_id = links.pop("parent_execution_id", None) or given_id
        if parent_id is not None:
            parent = find_live(parent_id)
        attrs: dict[str, Any] = {"execution_step": step}
        if action is not None:
            attrs["action_type"] = action
        if given_id is not None and parent is None:
            attrs["execution_id"] = given_id
        for key, value in links.items():
            if value is not None:
                attrs[key] = value
        sp = begin(step, "agent", agent, attrs, parent=parent, activate=True)
        if input_data is not None:
            sp.set_input(input_data)
        entry = ExecutionLog(sp, agent, step, action, input_data, links)
        if isinstance(sp, LiveSpan):
            register_live(sp, *([given_id] if isinstance(given_id, str) else []))
            sp.snapshot()
        return entry

    def _end(
        self,
        entry: ExecutionLog,
        status: Any,
        output_data: Any,
        error_message: Any,
        error: BaseException | None,
    ) -> None:
        if entry._ended:
            return
        entry._ended = True
        try:
            sp = entry._span
            norm = normalize_status(status)
            if norm is None:
                log.warning(
                    "end_execution: unknown status %r (use completed, failed or cancelled); "
                    "recorded as failed",
                    status,
                )
                sp.set_attribute("tracehound.invalid_status", repr(status)[:200])
                norm = "failed"
            if norm == "running":
                norm = "success"
            if output_data is not None:
                entry.output_data = output_data
            if error_message is not None:
                entry.error_message = (
                    error_message if isinstance(error_message, str) else repr(error_message)
                )
            elif error is not None:
                entry.error_message = _safe_str(error)
            if entry.output_data is not None:
                sp.set_output(entry.output_data)
            if entry.metadata is not None:
                sp.set_attribute("metadata", entry.metadata)
            sp.set_status(norm, entry.error_message if norm != "success" else None)
            if entry.error_message is not None and error is None and norm != "success":
                sp.set_attribute("error_message", entry.error_message)
            entry.status = SEED002_STATUS.get(norm, norm)
            forget_live(sp)
            end(sp, error if isinstance(error, BaseException) else None)
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("end_execution failed: %r", exc)


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return "<unprintable>"


# =========================================================================================
# LLM calls
# =========================================================================================


class LLMCallLog(_SpanTimes):
    """One LLM call (seed 002's ``llm_call_logs`` row). Fill it while the call runs
    (``response``, token counts, :meth:`add_chunk` for streams); it is recorded on
    :meth:`LLMCallLogger.end_call` (or when its ``with`` block ends)."""

    def __init__(
        self,
        logger: LLMCallLogger,
        span: AnySpan,
        provider: str | None,
        model_id: str,
        call_type: str,
        prompt: Any,
        links: dict[str, Any],
        is_streaming: bool,
    ) -> None:
        self._logger = logger
        self._span = span
        self.provider = provider
        self.model_id = model_id
        self.call_type = call_type
        self.prompt = prompt
        self.response: Any = None
        self.status = "started"
        self.error_message: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cached_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.total_tokens: int | None = None
        self.input_cost: float | None = None
        self.output_cost: float | None = None
        self.total_cost: float | None = None
        self.cost_source: str | None = None
        self.is_streaming = is_streaming
        self.chunks_count: int | None = 0 if is_streaming else None
        self.time_to_first_token_ms: float | None = None
        self.metadata: Any = None
        self.links = links
        self._ended = False
        self._chunks: list[str] = []

    @property
    def id(self) -> str:
        return self._span.span_id

    @property
    def execution_log_id(self) -> str | None:
        given = self.links.get("execution_log_id")
        if given is not None:
            return str(given)
        parent = self._span.parent
        while parent is not None and parent.kind != "agent":
            parent = parent.parent
        return parent.span_id if parent is not None else None

    @property
    def execution_id(self) -> str:
        return self._span.trace_id

    @property
    def report_id(self) -> Any:
        return self.links.get("report_id")

    @property
    def completion_id(self) -> Any:
        return self.links.get("completion_id")

    def add_chunk(self, text: Any = None) -> None:
        """Count a streamed chunk (the first one sets the time to first token)."""
        sp = self._span
        if self.chunks_count is None:
            self.chunks_count = 0
        if self.chunks_count == 0 and isinstance(sp, LiveSpan) and sp._start:
            from time import time_ns

            self.time_to_first_token_ms = (time_ns() - sp._start) / 1_000_000
        self.chunks_count += 1
        if isinstance(text, str):
            self._chunks.append(text)

    def set_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        *,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        total_tokens: int | None = None,
    ) -> None:
        """Token counts (input includes cached, output includes reasoning)."""
        if input_tokens is not None:
            self.input_tokens = input_tokens
        if output_tokens is not None:
            self.output_tokens = output_tokens
        if cached_tokens is not None:
            self.cached_tokens = cached_tokens
        if reasoning_tokens is not None:
            self.reasoning_tokens = reasoning_tokens
        if total_tokens is not None:
            self.total_tokens = total_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "execution_log_id": self.execution_log_id,
            "provider": self.provider,
            "model_id": self.model_id,
            "call_type": self.call_type,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration_ms": self.duration_ms,
            "prompt": self.prompt,
            "response": self.response,
            "error_message": self.error_message,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "input_cost": self.input_cost,
            "output_cost": self.output_cost,
            "total_cost": self.total_cost,
            "cost_source": self.cost_source,
            "is_streaming": self.is_streaming,
            "chunks_count": self.chunks_count,
            "time_to_first_token_ms": self.time_to_first_token_ms,
            "metadata": self.metadata,
            "report_id": self.report_id,
            "completion_id": self.completion_id,
        }

    # context manager: ``with logger.track_call(...) as call:``
    def __enter__(self) -> LLMCallLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self._logger.end_call(self)
        else:
            self._logger.end_call(self, status="failed", error=exc)

    async def __aenter__(self) -> LLMCallLog:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<LLMCallLog {self.provider}/{self.model_id} {self.call_type} {self.status}>"


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if out >= 0 else None


class LLMCallLogger:
    """Seed 002's LLM call logger. ``token_prices`` (also settable as an attribute, as in the
    seed) overrides prices in USD per 1K tokens: ``{'gpt-4': {'input': 0.03, 'output':
    0.06}}`` (``cached`` and ``reasoning`` rates optional); other models are priced from
    genai-prices. A call with an unknown model is stored with cost unknown (``None``)."""

    def __init__(
        self,
        db: Any = None,
        *,
        token_prices: Mapping[str, Any] | None = None,
        provider: str | None = None,
        price_table: PriceTable | None = None,
    ) -> None:
        self.db = db
        self.default_provider = provider
        self._table = price_table
        self._overrides_src: Any = None
        self._overrides_snapshot: Any = None
        self._overrides: dict[str, Any] = {}
        self.token_prices: dict[str, Any] = dict(token_prices) if token_prices else {}
        self._refresh_overrides()

    # -- pricing -----------------------------------------------------------------------------
    def _refresh_overrides(self) -> None:
        src = self.token_prices
        if src is self._overrides_src and src == self._overrides_snapshot:
            return
        try:
            self._overrides = parse_overrides(src) if src else {}
        except Exception as exc:
            log.warning("LLMCallLogger.token_prices is invalid, ignored: %s", exc)
            self._overrides = {}
        self._overrides_src = src
        self._overrides_snapshot = dict(src) if isinstance(src, Mapping) else None

    def price(
        self,
        provider: str | None,
        model: str,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> Cost | None:
        """The cost of a call: this logger's ``token_prices`` first, then the default table."""
        if input_tokens is None and output_tokens is None:
            return None
        self._refresh_overrides()
        if self._overrides and isinstance(model, str):
            low = model.strip().lower()
            entry = None
            if provider:
                entry = self._overrides.get(f"{provider.lower()}/{low}")
            entry = entry or self._overrides.get(low)
            if entry is not None:
                return entry.price(input_tokens, output_tokens, cached_tokens, reasoning_tokens)  # type: ignore[no-any-return]
        table = self._table or default_table()
        return table.cost(
            provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens
        )

    # -- calls -------------------------------------------------------------------------------
    def start_call(
        self,
        provider: str | None,
        model_id: str,
        prompt: Any = None,
        *,
        call_type: str = "inference",
        is_streaming: bool | None = None,
        execution_log_id: str | None = None,
        **links: Any,
    ) -> LLMCallLog:
        """Start timing a call; finish it with :meth:`end_call` (or use it as a context
        manager)."""
        provider = provider if isinstance(provider, str) else self.default_provider
        model = coerce_name(model_id, "unknown")
        ctype = coerce_name(call_type, "inference")
        streaming = ctype.endswith("stream") if is_streaming is None else bool(is_streaming)
        links = {k: _link_value(v) for k, v in links.items() if v is not None}
        parent = find_live(execution_log_id) if execution_log_id is not None else None
        attrs: dict[str, Any] = {"call_type": ctype, "model": model, "is_streaming": streaming}
        if provider:
            attrs["provider"] = provider
        if execution_log_id is not None:
            attrs["execution_log_id"] = _link_value(execution_log_id)
            links["execution_log_id"] = attrs["execution_log_id"]
        for key, value in links.items():
            attrs.setdefault(key, value)
        sp = begin(model, "llm", None, attrs, parent=parent)
        if prompt is not None:
            sp.set_input(prompt)
        return LLMCallLog(self, sp, provider, model, ctype, prompt, links, streaming)

    def track_call(
        self,
        provider: str | None,
        model_id: str,
        prompt: Any = None,
        *,
        call_type: str = "inference",
        execution_log_id: str | None = None,
        **links: Any,
    ) -> LLMCallLog:
        """``with logger.track_call(provider, model, prompt) as call:`` — set
        ``call.response`` and :meth:`LLMCallLog.set_usage` inside."""
        return self.start_call(
            provider,
            model_id,
            prompt,
            call_type=call_type,
            execution_log_id=execution_log_id,
            **links,
        )

    def end_call(
        self,
        call: LLMCallLog,
        response: Any = None,
        *,
        status: str = "completed",
        error_message: str | None = None,
        error: BaseException | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        total_tokens: int | None = None,
    ) -> LLMCallLog | None:
        """Record a call (once): response, usage, cost, status."""
        if not isinstance(call, LLMCallLog):
            log.warning("end_call: expected an LLMCallLog, got %r", type(call))
            return None
        if call._ended:
            return call
        call._ended = True
        try:
            self._finish(
                call,
                response,
                status,
                error_message,
                error,
                (input_tokens, output_tokens, cached_tokens, reasoning_tokens, total_tokens),
            )
        except Exception as exc:  # pragma: no cover - defensive
            log.debug("end_call failed: %r", exc)
        return call

    def _finish(
        self,
        call: LLMCallLog,
        response: Any,
        status: Any,
        error_message: Any,
        error: BaseException | None,
        usage: tuple[Any, ...],
    ) -> None:
        call.set_usage(*(_int_or_none(v) for v in usage[:2]))
        call.set_usage(
            cached_tokens=_int_or_none(usage[2]),
            reasoning_tokens=_int_or_none(usage[3]),
            total_tokens=_int_or_none(usage[4]),
        )
        if response is not None:
            call.response = response
        elif call.response is None and call._chunks:
            call.response = "".join(call._chunks)
        norm = normalize_status(status) or "failed"
        if error is not None and norm in ("success", "running"):
            norm = "cancelled" if isinstance(error, asyncio.CancelledError) else "failed"
        if norm == "running":
            norm = "success"
        if error_message is not None:
            call.error_message = _safe_str(error_message)
        elif error is not None:
            call.error_message = _safe_str(error)
        for name in ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"):
            setattr(call, name, _int_or_none(getattr(call, name)))
        if call.total_tokens is None and (
            call.input_tokens is not None or call.output_tokens is not None
        ):
            call.total_tokens = (call.input_tokens or 0) + (call.output_tokens or 0)
        cost = self.price(
            call.provider,
            call.model_id,
            call.input_tokens,
            call.output_tokens,
            call.cached_tokens,
            call.reasoning_tokens,
        )
        sp = call._span
        values: dict[str, Any] = {
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "cached_tokens": call.cached_tokens,
            "reasoning_tokens": call.reasoning_tokens,
            "total_tokens": call.total_tokens,
            "chunks_count": call.chunks_count,
            "time_to_first_token_ms": call.time_to_first_token_ms,
        }
        if cost is not None:
            call.input_cost, call.output_cost, call.total_cost, call.cost_source = cost
            values.update(
                input_cost=cost.input_cost,
                output_cost=cost.output_cost,
                total_cost=cost.total_cost,
                cost_source=cost.source,
            )
        elif call.input_tokens is not None or call.output_tokens is not None:
            call.cost_source = "unknown"
            values["cost_source"] = "unknown"
        for key, value in values.items():
            if value is not None:
                sp.set_attribute(key, value)
        if call.metadata is not None:
            sp.set_attribute("metadata", call.metadata)
        if call.response is not None:
            sp.set_output(call.response)
        sp.set_status(norm, call.error_message if norm != "success" else None)
        if call.error_message is not None and error is None and norm != "success":
            sp.set_attribute("error_message", call.error_message)
        call.status = SEED002_STATUS.get(norm, norm)
        end(sp, error)

    def log_call(
        self,
        provider: str | None,
        model_id: str,
        prompt: Any = None,
        response: Any = None,
        *,
        call_type: str = "inference",
        duration_ms: float | None = None,
        status: str = "completed",
        error_message: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        total_tokens: int | None = None,
        chunks_count: int | None = None,
        time_to_first_token_ms: float | None = None,
        execution_log_id: str | None = None,
        metadata: Any = None,
        **links: Any,
    ) -> LLMCallLog:
        """Record a finished call after the fact (``duration_ms`` backdates its start)."""
        call = self.start_call(
            provider,
            model_id,
            prompt,
            call_type=call_type,
            execution_log_id=execution_log_id,
            **links,
        )
        sp = call._span
        if isinstance(sp, LiveSpan) and duration_ms is not None:
            try:
                back = int(float(duration_ms) * 1_000_000)
                if 0 <= back < sp._start:
                    sp._start -= back
            except (TypeError, ValueError, OverflowError):
                pass
        if chunks_count is not None:
            call.chunks_count = _int_or_none(chunks_count)
        if time_to_first_token_ms is not None:
            with contextlib.suppress(TypeError, ValueError):
                call.time_to_first_token_ms = float(time_to_first_token_ms)
        call.metadata = metadata
        self.end_call(
            call,
            response,
            status=status,
            error_message=error_message,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            reasoning_tokens=reasoning_tokens,
            total_tokens=total_tokens,
        )
        return call
