"""Records of the stdlib ``logging`` module and of structlog, inside traced code, in the trace.

* :class:`TracehoundHandler` — a ``logging.Handler``: a record emitted inside a span becomes an
  event of type ``log`` in that span's trace (level, message, logger name, source location,
  exception and traceback, the record's ``extra`` fields, the ``trace_context`` fields and
  ``execution_id``). Its ``trace_id``, ``span_id`` and agent come from the span.
* :func:`tracehound_processor` (a :class:`TracehoundProcessor`) — the same for structlog.
* :func:`add_trace_context` — a structlog processor that only adds the ids to the event dict.
* :func:`instrument_logging` — one call: the handler on the root logger, a record factory that
  gives *every* ``LogRecord`` the attributes ``tracehound_trace_id``, ``tracehound_span_id``,
  ``tracehound_agent``, ``tracehound_agent_id`` and ``tracehound_execution_id`` (for your own
  formatters: ``%(tracehound_trace_id)s``; prefixed so they never collide with an ``extra=``
  key), and the structlog processor inserted into structlog's configured chain.

``execution_id`` is the span id of the nearest enclosing span of kind ``agent`` (seed 003's
execution id, ``docs/data-model.md``). Records of the ``tracehound`` loggers themselves are never
captured (no loops). Per-category level filtering (:func:`tracehound.set_level`) applies: a log
with an agent is in category ``agents``, one without in ``system``.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from collections.abc import Callable, MutableMapping
from typing import Any, Final

from ..loggers._base import emit, exception_fields, merge_extra
from ..loggers._levels import is_enabled, level_name
from ..sdk._context import current
from ..sdk._span import LiveSpan

__all__ = [
    "TracehoundHandler",
    "TracehoundProcessor",
    "add_trace_context",
    "execution_id",
    "instrument_logging",
    "trace_fields",
    "tracehound_processor",
    "uninstrument_logging",
]

_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_PREFIX: Final = "tracehound_"
_STRUCTLOG_SKIP: Final = frozenset(
    {
        "event",
        "level",
        "log_level",
        "timestamp",
        "exc_info",
        "exception",
        "stack",
        "_record",
        "_from_structlog",
    }
)
_STRUCTLOG_LEVELS: Final = {
    "debug": 10,
    "info": 20,
    "msg": 20,
    "warn": 30,
    "warning": 30,
    "err": 40,
    "error": 40,
    "exception": 40,
    "critical": 50,
    "fatal": 50,
}
# (logger name, event text) of the record structlog just captured in this context: the
# same record arriving through stdlib logging next is not captured twice.
_structlog_last: contextvars.ContextVar[tuple[str | None, str] | None] = contextvars.ContextVar(
    "tracehound_structlog_last", default=None
)


def execution_id(span: LiveSpan | None = None) -> str | None:
    """The span id of the nearest enclosing ``agent`` span (of ``span``, default the current
    one), or ``None``."""
    node = span if span is not None else current.get()
    while node is not None:
        if node.kind == "agent":
            return node.span_id
        node = node.parent
    return None


def trace_fields(span: LiveSpan | None = None) -> dict[str, Any]:
    """``trace_id``, ``span_id``, ``agent_name``, ``agent_id``, ``execution_id`` of the current
    span (``{}`` outside any span)."""
    sp = span if span is not None else current.get()
    if sp is None:
        return {}
    out: dict[str, Any] = {"trace_id": sp.trace_id, "span_id": sp.span_id}
    if sp.agent_name is not None:
        out["agent_name"] = sp.agent_name
    agent_id = _inherited(sp, "agent_id")
    if agent_id is not None:
        out["agent_id"] = agent_id
    exe = execution_id(sp)
    if exe is not None:
        out["execution_id"] = exe
    return out


def _inherited(sp: LiveSpan, key: str) -> Any:
    node: LiveSpan | None = sp
    while node is not None:
        value = node.attributes.get(key) if node.attributes else None
        if value is not None:
            return value
        node = node.parent
    return None


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record (attributes that are not standard ones)."""
    out: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith(_PREFIX) or key.startswith("_"):
            continue
        out[key] = value
    return out


class TracehoundHandler(logging.Handler):
    """Routes ``logging`` records emitted inside a span into its trace as ``log`` events.
    With ``only_in_spans=False`` records outside any span are kept too (as session-level
    ``log`` events). Never raises."""

    def __init__(self, level: int | str = logging.NOTSET, *, only_in_spans: bool = True) -> None:
        super().__init__(level)
        self.only_in_spans = only_in_spans
        self.captured = 0
        self.failed = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = record.name
            if name == "tracehound" or name.startswith("tracehound."):
                return
            sp = current.get()
            if sp is None and self.only_in_spans:
                return
            msg = record.msg
            if isinstance(msg, dict) and "_from_structlog" in record.__dict__:
                return  # structlog's ProcessorFormatter path: the processor captured it
            text = record.getMessage()
            last = _structlog_last.get()
            if last is not None:
                _structlog_last.set(None)
                if last[0] == name and last[1] and last[1] in text:
                    return
            levelno = record.levelno
            has_agent = sp is not None and sp.agent_name is not None
            if not is_enabled("agents" if has_agent else "system", levelno, name):
                return
            data: dict[str, Any] = {"level": level_name(levelno), "message": text}
            data["event_type"] = "log"
            data["logger"] = name
            data["module"] = record.module
            data["function"] = record.funcName
            data["line"] = record.lineno
            if record.threadName and record.threadName != "MainThread":
                data["thread"] = record.threadName
            if sp is not None:
                exe = execution_id(sp)
                if exe is not None:
                    data["execution_id"] = exe
            if record.exc_info:
                data.update(exception_fields(record.exc_info))
            elif record.exc_text:
                data["traceback"] = record.exc_text
            if record.stack_info:
                data["stack"] = record.stack_info
            merge_extra(data, _record_fields(record))
            emit("log", name, data)
            self.captured += 1
        except Exception:
            self.failed += 1


def _structlog_level(method_name: str, event_dict: MutableMapping[str, Any]) -> int:
    raw = event_dict.get("level", event_dict.get("log_level", method_name))
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return _STRUCTLOG_LEVELS.get(str(raw).lower(), 20)


def add_trace_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: add ``trace_id``, ``span_id``, ``agent_name``, ``agent_id``,
    ``execution_id`` of the current span (keys already present are kept)."""
    for key, value in trace_fields().items():
        event_dict.setdefault(key, value)
    return event_dict


class TracehoundProcessor:
    """structlog processor: an event logged inside a span becomes a ``log`` event in its
    trace; the event dict passes on unchanged (plus the ids, with ``add_ids``). Put it before
    the renderer. Never raises."""

    def __init__(self, *, only_in_spans: bool = True, add_ids: bool = True) -> None:
        self.only_in_spans = only_in_spans
        self.add_ids = add_ids
        self.captured = 0

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        try:
            sp = current.get()
            if sp is None and self.only_in_spans:
                return event_dict
            levelno = _structlog_level(method_name, event_dict)
            name = getattr(logger, "name", None)
            logger_name = name if isinstance(name, str) else "structlog"
            has_agent = sp is not None and sp.agent_name is not None
            if is_enabled("agents" if has_agent else "system", levelno, logger_name):
                event = event_dict.get("event")
                text = event if isinstance(event, str) else ("" if event is None else str(event))
                data: dict[str, Any] = {"level": level_name(levelno), "message": text}
                data["event_type"] = "log"
                data["logger"] = logger_name
                data["source"] = "structlog"
                if sp is not None:
                    exe = execution_id(sp)
                    if exe is not None:
                        data["execution_id"] = exe
                exc_info = event_dict.get("exc_info")
                if exc_info:
                    data.update(exception_fields(True if exc_info is True else exc_info))
                elif isinstance(event_dict.get("exception"), str):
                    data["traceback"] = event_dict["exception"]
                extra = {str(k): v for k, v in event_dict.items() if k not in _STRUCTLOG_SKIP}
                merge_extra(data, extra)
                emit("log", logger_name, data)
                self.captured += 1
                _structlog_last.set((name if isinstance(name, str) else None, text))
            if self.add_ids and sp is not None:
                add_trace_context(logger, method_name, event_dict)
        except Exception:
            pass
        return event_dict


tracehound_processor: Final = TracehoundProcessor()

# -- one-call setup ----------------------------------------------------------------------

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _factory(old: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = old(*args, **kwargs)
        sp = current.get()
        if sp is None:
            record.tracehound_trace_id = None
            record.tracehound_span_id = None
            record.tracehound_agent = None
            record.tracehound_agent_id = None
            record.tracehound_execution_id = None
        else:
            record.tracehound_trace_id = sp.trace_id
            record.tracehound_span_id = sp.span_id
            record.tracehound_agent = sp.agent_name
            record.tracehound_agent_id = _inherited(sp, "agent_id")
            record.tracehound_execution_id = execution_id(sp)
        return record

    make._tracehound = True  # type: ignore[attr-defined]
    return make


def _insert_structlog(processor: TracehoundProcessor) -> bool:
    structlog: Any = sys.modules.get("structlog")
    if structlog is None:
        try:
            import structlog
        except ImportError:
            return False
    try:
        processors = list(structlog.get_config().get("processors", []))
        if any(isinstance(p, TracehoundProcessor) for p in processors):
            return True
        # before the renderer (the last processor), after everything that enriches the dict
        at = max(len(processors) - 1, 0)
        processors.insert(at, processor)
        structlog.configure(processors=processors)
        return True
    except Exception:
        return False


def instrument_logging(
    level: int | str = logging.NOTSET,
    *,
    logger: logging.Logger | None = None,
    only_in_spans: bool = True,
    structlog: bool = True,
    record_ids: bool = True,
) -> TracehoundHandler:
    """Route stdlib ``logging`` (and structlog) records emitted inside traced code into the
    trace. Idempotent: a second call returns the installed handler.

    * ``level``: the handler's own level (the loggers' levels still decide what is emitted —
      e.g. ``logging.getLogger("app").setLevel(logging.INFO)``).
    * ``logger``: where to attach the handler (default the root logger).
    * ``structlog``: insert :data:`tracehound_processor` before the last processor of
      structlog's configuration, if structlog is installed.
    * ``record_ids``: every ``LogRecord`` gets the ``tracehound_*`` id attributes.

    Note: a root logger that had no handler printed WARNING+ records to stderr through
    ``logging.lastResort``; with this handler attached it no longer does.
    """
    with _lock:
        handler = _state.get("handler")
        if isinstance(handler, TracehoundHandler):
            return handler
        target = logger if logger is not None else logging.getLogger()
        handler = TracehoundHandler(level, only_in_spans=only_in_spans)
        target.addHandler(handler)
        _state["handler"] = handler
        _state["target"] = target
        if record_ids:
            old = logging.getLogRecordFactory()
            if not getattr(old, "_tracehound", False):
                _state["factory"] = old
                logging.setLogRecordFactory(_factory(old))
        if structlog:
            processor = TracehoundProcessor(only_in_spans=only_in_spans)
            if _insert_structlog(processor):
                _state["processor"] = processor
        return handler


def uninstrument_logging() -> None:
    """Undo :func:`instrument_logging` (handler, record factory, structlog processor)."""
    with _lock:
        handler = _state.pop("handler", None)
        target = _state.pop("target", None)
        if isinstance(handler, logging.Handler) and isinstance(target, logging.Logger):
            target.removeHandler(handler)
        old = _state.pop("factory", None)
        if old is not None:
            logging.setLogRecordFactory(old)
        processor = _state.pop("processor", None)
        structlog: Any = sys.modules.get("structlog")
        if processor is not None and structlog is not None:
            try:
                processors = [
                    p for p in structlog.get_config().get("processors", []) if p is not processor
                ]
                structlog.configure(processors=processors)
            except Exception:
                pass
