"""What every seed-000 logger shares: identity, the level check, context fields, emission.

Loggers are thin: a call checks the level, builds one ``dict`` and hands it to the core SDK
(``tracehound.event`` semantics, via ``sdk._runtime.emit_event``). Everything else —
sanitizing, redaction, the files and the database — happens on the pipeline's worker.
"""

from __future__ import annotations

import contextvars
import sys
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Final

from ..sdk import _runtime
from ._levels import CRITICAL, DEBUG, ERROR, INFO, WARNING, is_enabled
from ._validate import check_mapping, check_name, warn_limited

__all__ = [
    "RESERVED_KEYS",
    "BaseLogger",
    "context_fields",
    "emit",
    "exception_fields",
]

# Keys of an event's data that the pipeline turns into columns.
RESERVED_KEYS: Final = frozenset(
    {"level", "message", "agent", "agent_name", "agent_role", "agent_id"}
)

# Fields of the innermost ``trace_context`` (merged with the enclosing ones).
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "tracehound_log_context", default=None
)


def context_fields() -> dict[str, Any]:
    """The fields every log carries here (from the enclosing ``trace_context`` blocks)."""
    fields = _context.get()
    return dict(fields) if fields else {}


def emit(etype: str, name: str, data: dict[str, Any]) -> None:
    """Hand an event to the SDK. Never raises (a failure is a rate-limited warning)."""
    try:
        _runtime.emit_event(etype, name, data)
    except Exception as exc:  # pragma: no cover - the SDK does not raise
        warn_limited("emit", "tracehound: could not record a %s event: %r", etype, exc)


def merge_extra(data: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
    """Add ``extra`` (user fields) and the context fields to ``data`` without overwriting what
    the logger set; a user key that collides keeps its value under ``extra_<key>``."""
    if extra:
        for key, value in extra.items():
            key = str(key)
            if key in data:
                if data[key] is not value and data[key] != value:
                    data["extra_" + key] = value
            else:
                data[key] = value
    fields = _context.get()
    if fields:
        for key, value in fields.items():
            if key not in data:
                data[key] = value


def exception_fields(exc_info: Any) -> dict[str, Any]:
    """``error_type``, ``error_message`` and ``traceback`` of an exception, of ``True`` (the one
    being handled) or of an ``exc_info`` tuple; ``{}`` when there is none."""
    exc: BaseException | None = None
    tb: TracebackType | None = None
    if exc_info is True:
        _, exc, tb = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc, tb = exc_info, exc_info.__traceback__
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc, tb = exc_info[1], exc_info[2]
    if not isinstance(exc, BaseException):
        return {}
    etype = type(exc)
    name = etype.__qualname__
    if etype.__module__ not in ("builtins", "__main__"):
        name = f"{etype.__module__}.{name}"
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable exception>"
    try:
        text = "".join(traceback.format_exception(etype, exc, tb))
    except Exception:
        text = f"{name}: {message}\n"
    return {"error_type": name, "error_message": message, "traceback": text}


class BaseLogger:
    """Common part of the seed-000 loggers: a category, a logger name, an agent identity and
    ``debug``/``info``/``warning``/``error``/``critical``/``exception``."""

    category: ClassVar[str] = "system"
    default_type: ClassVar[str] = "log"

    def __init__(
        self, name: str, agent_id: str | None = None, agent_role: str | None = None
    ) -> None:
        self.name = name
        self.agent_id = agent_id
        self.agent_role = agent_role

    # -- internals ---------------------------------------------------------------------
    def _ident(self, data: dict[str, Any]) -> None:
        if self.agent_id is not None:
            data["agent"] = self.agent_id
            data["agent_id"] = self.agent_id
        if self.agent_role is not None:
            data["agent_role"] = self.agent_role

    def enabled_for(self, level: int) -> bool:
        """Whether a record at ``level`` from this logger would be recorded now."""
        return is_enabled(self.category, level, self.name)

    def _record(
        self,
        etype: str,
        name: str,
        level: int,
        level_name: str,
        message: str,
        event_type: str,
        fields: dict[str, Any],
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        if not is_enabled(self.category, level, self.name):
            return False
        data: dict[str, Any] = {"level": level_name, "message": message}
        self._ident(data)
        data["event_type"] = event_type
        data["logger"] = self.name
        data.update(fields)
        merge_extra(data, extra)
        emit(etype, name, data)
        return True

    def _log(self, level: int, level_name: str, message: Any, extra: Any, exc_info: Any) -> None:
        if not is_enabled(self.category, level, self.name):
            return
        text = message if isinstance(message, str) else str(message)
        user = check_mapping(extra, "extra")
        fields = exception_fields(exc_info) if exc_info else {}
        self._record(self.default_type, self.name, level, level_name, text, "log", fields, user)

    # -- the stdlib-like API -----------------------------------------------------------
    def debug(
        self, message: str, extra: Mapping[str, Any] | None = None, *, exc_info: Any = None
    ) -> None:
        """Log at DEBUG: detailed diagnostics. ``extra`` is structured data."""
        self._log(DEBUG, "DEBUG", message, extra, exc_info)

    def info(
        self, message: str, extra: Mapping[str, Any] | None = None, *, exc_info: Any = None
    ) -> None:
        """Log at INFO: general information."""
        self._log(INFO, "INFO", message, extra, exc_info)

    def warning(
        self, message: str, extra: Mapping[str, Any] | None = None, *, exc_info: Any = None
    ) -> None:
        """Log at WARNING: potential issues."""
        self._log(WARNING, "WARNING", message, extra, exc_info)

    warn = warning

    def error(
        self, message: str, extra: Mapping[str, Any] | None = None, *, exc_info: Any = None
    ) -> None:
        """Log at ERROR (``exc_info=True`` or an exception adds type, message and traceback)."""
        self._log(ERROR, "ERROR", message, extra, exc_info)

    def critical(
        self, message: str, extra: Mapping[str, Any] | None = None, *, exc_info: Any = None
    ) -> None:
        """Log at CRITICAL: system failures."""
        self._log(CRITICAL, "CRITICAL", message, extra, exc_info)

    def exception(self, message: str, extra: Mapping[str, Any] | None = None) -> None:
        """Log at ERROR with the exception being handled."""
        self._log(ERROR, "ERROR", message, extra, True)

    def log(
        self,
        level: Any,
        message: str,
        extra: Mapping[str, Any] | None = None,
        *,
        exc_info: Any = None,
    ) -> None:
        """Log at a level given by name or number."""
        from ._levels import level_name, level_number

        number = level_number(level)
        self._log(number, level_name(number), message, extra, exc_info)

    def __repr__(self) -> str:
        who = f" {self.agent_id}" if self.agent_id else ""
        return f"<{type(self).__name__} {self.name}{who}>"


def agent_identity(agent_id: Any, agent_role: Any) -> tuple[str, str]:
    return check_name(agent_id, "agent_id", limit=200), check_name(
        agent_role, "agent_role", limit=200
    )
