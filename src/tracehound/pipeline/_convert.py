"""Worker-side conversion of what the calling thread queued into immutable records.

Runs on the background worker: id formatting, inheritance of agent context from parent spans,
mapping of reserved attribute keys to columns, sanitizing (hostile values), redaction, error
formatting and LLM pricing. Never raises: a value that cannot be converted becomes a
placeholder, and a record that cannot be built at all is counted by the caller.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ..model._ids import format_id
from ..model._records import LEVELS, Event, Metric, Span
from ..model._safe import Limits, Sanitizer
from ._redact import Redactor

if TYPE_CHECKING:
    from ..sdk._span import LiveSpan

__all__ = ["BuiltEventItem", "Converter", "EventItem", "MetricItem", "Pricer"]

# Attribute keys that fill a column of the Span record instead of ``attributes``.
_SPAN_TEXT_COLUMNS: Final = ("agent_role", "agent_id", "conversation_id", "user_id")
_LLM_INT: Final = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
    "chunks_count",
)
_LLM_FLOAT: Final = ("input_cost", "output_cost", "total_cost", "time_to_first_token_ms")
_LLM_TEXT: Final = ("provider", "model", "cost_source")
SPAN_COLUMN_KEYS: Final = frozenset(
    (*_SPAN_TEXT_COLUMNS, *_LLM_INT, *_LLM_FLOAT, *_LLM_TEXT, "is_streaming")
)
_EVENT_COLUMN_KEYS: Final = frozenset(
    {"level", "message", "agent", "agent_name", "agent_role", "agent_id"}
)
_LEVEL_SET: Final = frozenset(LEVELS)
_NONE4: Final[tuple[Any, ...]] = (None, None, None, None)
_LEVEL_ALIASES: Final = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "TRACE": "DEBUG"}

# (provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens)
#   -> (input_cost, output_cost, total_cost, source) or None when the price is unknown.
Pricer = Callable[
    [str | None, str, int | None, int | None, int | None, int | None],
    tuple[float | None, float | None, float | None, str] | None,
]

# Queue items for events and metrics (built on the calling thread; cheap tuples).
# ("e", timestamp_ns, id_int, span, type, name, data)
EventItem = tuple[str, int, int, "LiveSpan | None", str, str, dict[str, Any]]
# ("a", timestamp_ns, id_int, span, type, name, agent, build, *args): data = build(*args)
BuiltEventItem = tuple[Any, ...]
# ("m", timestamp_ns, id_int, span, name, value, unit, tags)
MetricItem = tuple[str, int, int, "LiveSpan | None", str, float, "str | None", dict[str, Any]]


def _text(value: Any, limit: int = 1000) -> str | None:
    if value is None:
        return None
    text: str
    if type(value) is str:
        text = value
    else:
        try:
            text = str(getattr(value, "value", value))
        except Exception:
            return "<unrepresentable>"
    return text if len(text) <= limit else text[:limit]


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if 0 <= out < 1 << 62 else None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if out == out and abs(out) != float("inf") else None


class Converter:
    """Builds records from live spans and queued event/metric tuples."""

    def __init__(
        self,
        *,
        session_id: str,
        project: str,
        limits: Limits,
        redactor: Redactor | None,
        pricer: Pricer | None = None,
    ) -> None:
        self.session_id = session_id
        self.project = project
        self.limits = limits
        self.redactor = redactor
        self.pricer = pricer
        self._trace_ids: dict[int, str] = {}
        # sanitize() / sanitize_attributes() with their fast path for plain JSON-like data
        # (and its per-converter caches of checked keys and clean strings).
        self._sanitizer = Sanitizer(limits, redactor)

    # -- helpers -------------------------------------------------------------------------
    def _id(self, sp: LiveSpan) -> str:
        sid = sp._sid
        if sid is None:
            sid = sp._sid = format_id(sp._id)
        return sid

    def _trace(self, value: int) -> str:
        cache = self._trace_ids
        tid = cache.get(value)
        if tid is None:
            if len(cache) > 50_000:
                cache.clear()
            tid = cache[value] = format_id(value)
        return tid

    def _scrub(self, text: str | None) -> str | None:
        if text is None or self.redactor is None:
            return text
        return self.redactor.scrub(text)

    def _inherited(self, sp: LiveSpan) -> tuple[Any, ...]:
        """(agent_role, agent_id, conversation_id, user_id) of a span: its own attribute,
        else its parent's (memoized on the span)."""
        got = sp._inherited
        if got is not None:
            return got
        attrs = sp.attributes
        parent = sp._parent
        up = _NONE4 if parent is None else self._inherited(parent)
        if attrs and not attrs.keys().isdisjoint(_SPAN_TEXT_COLUMNS):
            got = tuple(attrs.get(key, up[i]) for i, key in enumerate(_SPAN_TEXT_COLUMNS))
        else:
            got = up
        sp._inherited = got
        return got

    def _error(self, exc: BaseException | None) -> tuple[str | None, str | None, str | None]:
        if exc is None:
            return None, None, None
        try:
            etype = type(exc).__qualname__
            module = type(exc).__module__
            if module not in ("builtins", "__main__") and module:
                etype = f"{module}.{etype}"
        except Exception:
            etype = "<unknown>"
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable exception>"
        try:
            tb = "".join(traceback.format_exception(exc))
        except Exception:
            tb = None
        # scrub with a margin before cutting, so a secret across the cut is still recognised
        limit = self.limits.max_string_length
        margin = limit + 4096
        if tb is not None:
            tb = self._scrub(tb[-margin:]) or ""
            tb = tb[-limit:]
        return etype, (self._scrub(message[:margin]) or "")[:limit], tb

    # -- spans ---------------------------------------------------------------------------
    def span(self, sp: LiveSpan, snapshot: bool = False) -> Span:
        raw = sp.attributes
        values: dict[str, Any] | None = None
        if raw and not raw.keys().isdisjoint(SPAN_COLUMN_KEYS):
            raw = dict(raw)
            values = self._columns({k: raw.pop(k) for k in SPAN_COLUMN_KEYS.intersection(raw)})
        san = self._sanitizer
        attributes = san.attributes(raw) if raw else {}
        inh = sp._inherited or self._inherited(sp)
        start = sp._start
        if snapshot:
            end = duration = None
            status = "running"
        else:
            end = sp._end
            duration = (end - start) / 1_000_000
            status = sp.status or ("failed" if sp._exc is not None else "success")
        exc = sp._exc
        etype, emsg, etb = (None, None, None) if exc is None else self._error(exc)
        parent = sp._parent
        kind = sp.kind
        if kind == "llm":
            if values is None:
                values = {}
            self._price(values)
        name = sp.name
        agent = sp.agent_name
        sid = sp._sid
        if sid is None:
            sid = sp._sid = format_id(sp._id)
        pid = None
        if parent is not None:
            pid = parent._sid
            if pid is None:
                pid = parent._sid = format_id(parent._id)
        record = Span(
            sid,
            self._trace(sp._trace),
            pid,
            self.session_id,
            self.project,
            kind if type(kind) is str else str(kind),
            name if type(name) is str and len(name) <= 1000 else (_text(name) or ""),
            status,
            start,
            end,
            duration,
            agent
            if agent is None or (type(agent) is str and len(agent) <= 200)
            else _text(agent, 200),
            None if inh[0] is None else _text(inh[0], 200),
            None if inh[1] is None else _text(inh[1], 200),
            None if inh[2] is None else _text(inh[2], 800),
            None if inh[3] is None else _text(inh[3], 800),
            None if sp.status_message is None else self._scrub(_text(sp.status_message, 4000)),
            None if sp.input is None else san.value(sp.input),
            None if sp.output is None else san.value(sp.output),
            etype,
            emsg,
            etb,
            attributes,
        )
        return record._replace(**values) if values else record

    @staticmethod
    def _columns(cols: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key in _LLM_INT:
            if key in cols:
                values[key] = _int(cols[key])
        for key in _LLM_FLOAT:
            if key in cols:
                values[key] = _float(cols[key])
        for key in _LLM_TEXT:
            if key in cols:
                values[key] = _text(cols[key], 200)
        if "is_streaming" in cols:
            values["is_streaming"] = bool(cols["is_streaming"])
        return values

    def _price(self, values: dict[str, Any]) -> None:
        inp, out = values.get("input_tokens"), values.get("output_tokens")
        if values.get("total_tokens") is None and (inp is not None or out is not None):
            values["total_tokens"] = (inp or 0) + (out or 0)
        if values.get("total_cost") is not None:
            if values.get("cost_source") is None:
                values["cost_source"] = "caller"
            return
        model = values.get("model")
        if self.pricer is None or not model or (inp is None and out is None):
            return
        try:
            priced = self.pricer(
                values.get("provider"),
                model,
                inp,
                out,
                values.get("cached_tokens"),
                values.get("reasoning_tokens"),
            )
        except Exception:
            priced = None
        if priced is None:
            values["cost_source"] = "unknown"
            return
        values["input_cost"], values["output_cost"], values["total_cost"], values["cost_source"] = (
            priced
        )

    # -- events and metrics --------------------------------------------------------------
    def event(self, item: EventItem) -> Event:
        _, ts, id_int, sp, etype, name, data = item
        return self._event(ts, id_int, sp, etype, name, data, None, False)

    def built_event(self, item: BuiltEventItem) -> Event:
        """An event whose data is built here (``emit_built_event``): a fresh dict."""
        ts, id_int, sp, etype, name, agent, build = item[1:8]
        return self._event(ts, id_int, sp, etype, name, build(*item[8:]), agent, True)

    def _event(
        self,
        ts: int,
        id_int: int,
        sp: LiveSpan | None,
        etype: str,
        name: str,
        data: dict[str, Any],
        agent: str | None,
        owned: bool,
    ) -> Event:
        level = "INFO"
        message = role = agent_id = None
        if data and not data.keys().isdisjoint(_EVENT_COLUMN_KEYS):
            if not owned:
                data = dict(data)
            raw_level = data.pop("level", None)
            if raw_level is not None:
                lvl = str(getattr(raw_level, "name", raw_level)).upper()
                lvl = _LEVEL_ALIASES.get(lvl, lvl)
                level = lvl if lvl in _LEVEL_SET else "INFO"
            message = data.pop("message", None)
            agent = data.pop("agent", None) or data.pop("agent_name", None) or agent
            role = data.pop("agent_role", None)
            agent_id = data.pop("agent_id", None)
        trace_id = span_id = None
        if sp is not None:
            trace_id = self._trace(sp._trace)
            span_id = self._id(sp)
            if agent is None:
                agent = sp.agent_name
            if role is None or agent_id is None:
                inh = self._inherited(sp)
                role = role if role is not None else inh[0]
                agent_id = agent_id if agent_id is not None else inh[1]
        return Event(
            format_id(id_int),
            trace_id,
            span_id,
            self.session_id,
            self.project,
            ts,
            etype if type(etype) is str and 0 < len(etype) <= 200 else (_text(etype, 200) or "log"),
            name if type(name) is str and len(name) <= 1000 else (_text(name) or ""),
            level,
            agent
            if agent is None or (type(agent) is str and len(agent) <= 200)
            else _text(agent, 200),
            None if role is None else _text(role, 200),
            None if agent_id is None else _text(agent_id, 200),
            None if message is None else self._scrub(_text(message, self.limits.max_string_length)),
            self._sanitizer.attributes(data) if data else {},
        )

    def metric(self, item: MetricItem) -> Metric:
        _, ts, id_int, sp, name, value, unit, tags = item
        agent = tags.pop("agent", None) if tags and "agent" in tags else None
        trace_id = span_id = None
        if sp is not None:
            trace_id = self._trace(sp._trace)
            span_id = self._id(sp)
            if agent is None:
                agent = sp.agent_name
        val = _float(value)
        return Metric(
            format_id(id_int),
            self.session_id,
            self.project,
            ts,
            _text(name, 500) or "",
            0.0 if val is None else val,
            _text(unit, 50),
            self._sanitizer.attributes(tags) if tags else {},
            trace_id,
            span_id,
            _text(agent, 200),
        )
