"""Seed 000's ``trace_context``: a block whose every log carries the block's fields."""

from __future__ import annotations

import contextvars
import logging
from time import perf_counter
from types import TracebackType
from typing import Any

from ..sdk import _runtime
from ..sdk._span import LiveSpan, NoopSpan
from ._base import BaseLogger, _context, exception_fields
from ._levels import DEBUG, ERROR, INFO
from ._validate import ArgumentError, check_name, warn_limited

__all__ = ["trace_context"]

_ANONYMOUS = BaseLogger("context")
_LOGRECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class _Frame:
    __slots__ = ("span", "start", "token")

    def __init__(
        self, span: LiveSpan | NoopSpan, start: float, token: contextvars.Token[Any]
    ) -> None:
        self.span = span
        self.start = start
        self.token = token


class trace_context:
    """``with trace_context(agent_logger, "viral_optimization", content_id="c123"): ...``

    The block is a span (kind ``task``, the context fields as attributes, the logger's agent
    as its agent). Inside it every record of a tracehound logger, of the stdlib ``logging``
    module and of structlog (with :func:`tracehound.instrument_logging`) carries the fields
    (nested blocks merge theirs; the innermost wins). Entry (DEBUG), exit with
    ``elapsed_ms`` (INFO) and an exception (ERROR, re-raised) are logged through ``logger``:
    a tracehound logger, a ``logging.Logger`` / ``LoggerAdapter``, or ``None``.
    Works with ``async with`` too; ``elapsed_ms`` holds the duration after the block.
    """

    __slots__ = ("_frames", "elapsed_ms", "fields", "logger", "name")

    def __init__(self, logger: Any, name: str, /, **context: Any) -> None:
        if logger is not None and not isinstance(
            logger, BaseLogger | logging.Logger | logging.LoggerAdapter
        ):
            raise ArgumentError(
                "logger: expected a tracehound logger (AgentLogger…), a logging.Logger or None, "
                f"got {type(logger).__name__}",
                field="logger",
            )
        check_name(name, "name")
        self.logger = logger
        self.name = name
        self.fields = context
        self.elapsed_ms: float | None = None
        self._frames: list[_Frame] = []

    # -- logging through whatever logger was given --------------------------------------
    def _log(
        self, level: int, level_name: str, message: str, event_type: str, fields: dict[str, Any]
    ) -> None:
        logger = self.logger
        try:
            if logger is None or isinstance(logger, BaseLogger):
                lg = logger if logger is not None else _ANONYMOUS
                fields = {"context": self.name, **fields}
                lg._record(lg.default_type, lg.name, level, level_name, message, event_type, fields)
            else:
                extra = {"context": self.name, "event_type": event_type, **self.fields, **fields}
                safe = {
                    (k if k not in _LOGRECORD_ATTRS else f"context_{k}"): v
                    for k, v in extra.items()
                }
                logger.log(level, message, extra=safe)
        except Exception as exc:  # never raise into agent code
            warn_limited("context-log", "tracehound: trace_context could not log: %r", exc)

    # -- the block -----------------------------------------------------------------------
    def __enter__(self) -> trace_context:
        agent = agent_role = None
        if isinstance(self.logger, BaseLogger):
            agent, agent_role = self.logger.agent_id, self.logger.agent_role
        attrs = {str(k): v for k, v in self.fields.items()}
        attrs.setdefault("event_type", "context")
        if agent is not None:
            attrs["agent_id"] = agent
        if agent_role is not None:
            attrs["agent_role"] = agent_role
        sp = _runtime.open_span(self.name, "task", agent, attrs)
        sp.__enter__()
        outer = _context.get()
        merged = dict(outer) if outer else {}
        merged.update(self.fields)
        token = _context.set(merged)
        self._frames.append(_Frame(sp, perf_counter(), token))
        self._log(DEBUG, "DEBUG", f"Entering {self.name}", "context_enter", {})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        frame = self._frames.pop()
        elapsed = (perf_counter() - frame.start) * 1000.0
        self.elapsed_ms = elapsed
        if exc is not None and isinstance(exc, Exception):
            fields: dict[str, Any] = {"elapsed_ms": elapsed, **exception_fields(exc)}
            self._log(
                ERROR,
                "ERROR",
                f"Error in {self.name} after {elapsed:.1f} ms: {type(exc).__name__}: {exc}",
                "context_error",
                fields,
            )
            try:
                exc._tracehound_logged = True  # type: ignore[attr-defined]
            except Exception:
                pass
        else:
            self._log(
                INFO,
                "INFO",
                f"Exiting {self.name} after {elapsed:.1f} ms",
                "context_exit",
                {"elapsed_ms": elapsed},
            )
        try:
            _context.reset(frame.token)
        except ValueError:  # exited in another context
            pass
        frame.span.set_attribute("elapsed_ms", elapsed)
        frame.span.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> trace_context:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @property
    def span(self) -> LiveSpan | NoopSpan | None:
        """The span of the innermost open block (``None`` outside)."""
        return self._frames[-1].span if self._frames else None
