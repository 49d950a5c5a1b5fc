"""The seed-000 file layout: JSON-lines category files, per-agent session files, a summary.

Layout under ``trace_dir`` (created on the first export)::

    trace/
    ├── agents/agents.log          learning/learning.log      interactions/interactions.log
    ├── performance/performance.log  system/system.log        events/events.log
    ├── errors/errors.log          errors/errors.txt   (human-readable blocks with tracebacks)
    └── session_<session_id>/
        ├── agents/<agent>.log     (every record of that agent: agent_name, else agent_id)
        └── trace_summary.json     (written by shutdown() and write_summary())

Every ``.log`` line is one JSON object in the seed-000 record format::

    {"timestamp": "2025-01-15T10:30:45.123456+00:00", "session_id": "...", "level": "INFO",
     "logger": "agent.creator", "message": "...", "extra": {...}}

``extra`` holds every field of the record under the record's own field names (fields whose
value is ``None`` are left out, as in the wire codec), plus ``record_type`` (span / event /
metric) and ``event_type`` (an event's seed-style ``data["event_type"]``, else its ``type``;
``"span"`` / ``"metric"`` otherwise, unless ``attributes`` / ``tags`` carry one). Times in
``extra`` are ISO-8601 UTC strings with **nanoseconds** (``…45.123456789+00:00``) so that
:func:`read_records` rebuilds the exact record; the top-level ``timestamp`` has the seed's
microseconds. A span's ``timestamp`` is its end (its start while still running).

Decisions
---------
* **Categories** follow ``docs/data-model.md``. A ``category`` key in ``attributes`` /
  ``data`` / ``tags`` overrides; a value that is not a safe directory name
  (``[a-z][a-z0-9_-]*``, not ``session_…``) is ignored. Events of unknown types and ``log``
  events go to ``agents/`` when they carry an agent, else ``system/``. A ``learning.update``
  whose ``data["logger"]`` starts with ``agent.`` (seed 000's ``AgentLogger``) goes to
  ``agents/``.
* **Errors** (level ERROR/CRITICAL; failed/timeout spans are ERROR) are written to their own
  category *and* to ``errors/errors.log``, plus a block in ``errors/errors.txt``.
* **Level filters** (``levels``: category → lowest level) apply to category files only.
  ``errors`` filters ``errors.log``/``errors.txt``. The per-agent session files are filtered
  by the ``"session"`` entry alone, so a DEBUG learning record dropped from ``learning/``
  still lands in its agent's session file (the per-agent file is the complete story of that
  agent). The summary counts every exported record, filtered or not.
* **Rotation**: ``rotation`` maps category → ``(max_bytes, backups)``; the per-agent files use
  the ``"session"`` entry, unknown categories the ``"default"`` entry (else 100 MB, 10 backups).
  See :mod:`._rotating` for the multi-process guarantees (one ``write`` per file per batch on
  an ``O_APPEND`` descriptor, rotation under ``flock``).
* **Sessions**: per-agent files go to the directory of the *record's* session (a spooled record
  of an earlier session replayed now lands in its own session directory); the summary counts
  only records of this exporter's session. Session ids and agent names are made
  filesystem-safe (unsafe characters → ``_``, plus a short hash when the name changed).
* **Summary**: counters are accumulated while exporting (one dict increment per record).
  Several processes (forked workers, or separate processes sharing a session id) each write a
  part to ``session_<id>/.summary/<pid>-<token>.json`` and ``trace_summary.json`` is the merge
  of all parts, rebuilt under a lock. A running snapshot of a span is counted once, as its
  final form when that arrives. A batch re-delivered after a failed export is counted again
  (the files themselves are de-duplicated by :func:`read_records`).
* After ``fork`` the child drops the inherited descriptors (no user-space buffers exist, so
  nothing of the parent's can be written twice), takes a fresh lock and starts its own
  summary part. ``export`` also notices a changed pid by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from ...config import DEFAULT_ROTATION
from ...model import Event, Metric, Record, Span, parse_time
from ._rotating import RotatingFile, backup_paths, file_lock

__all__ = [
    "CATEGORIES",
    "FileExporter",
    "ReadStats",
    "category_of",
    "decode_line",
    "encode_line",
    "iso_ns",
    "list_sessions",
    "merge_summaries",
    "read_records",
    "safe_name",
]

CATEGORIES: Final = (
    "agents",
    "learning",
    "interactions",
    "performance",
    "system",
    "events",
    "errors",
)
SESSION_PREFIX: Final = "session_"
SUMMARY_FILE: Final = "trace_summary.json"
ERRORS_TEXT: Final = "errors.txt"
LAST_ERRORS: Final = 20
MAX_OPEN_AGENT_FILES: Final = 128
_DEFAULT_ROTATION_SPEC: Final = (100_000_000, 10)

_NS: Final = 1_000_000_000
_LEVEL_NO: Final = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_ERROR_LEVELS: Final = frozenset({"ERROR", "CRITICAL"})
_FAILED: Final = frozenset({"failed", "timeout"})
_EVENT_CATEGORY: Final = {
    "action": "agents",
    "decision": "agents",
    "state_change": "agents",
    "content": "agents",
    "learning.step": "learning",
    "learning.reward": "learning",
    "learning.explore": "learning",
    "learning.update": "learning",
    "interaction": "interactions",
    "system": "system",
    "milestone": "events",
    "alert": "events",
    "success": "events",
    "error": "events",
}
_SAFE_CATEGORY: Final = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")
_UNSAFE_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]+")
_SPAN_CORE: Final = 23  # Span fields before the LLM block
_LLM_FIELDS: Final = Span._fields[_SPAN_CORE:]
_NO_LLM: Final = (None,) * len(_LLM_FIELDS)
_SPAN_MID: Final = Span._fields[14:22]
_NONE8: Final = (None,) * 8
if Span._fields[:14] != (  # pragma: no cover - guards the positional unpacking in _span_line
    "id", "trace_id", "parent_id", "session_id", "project", "kind", "name", "status",
    "start_time", "end_time", "duration_ms", "agent_name", "agent_role", "agent_id",
) or Span._fields[22] != "attributes" or Event._fields != (
    "id", "trace_id", "span_id", "session_id", "project", "timestamp", "type", "name",
    "level", "agent_name", "agent_role", "agent_id", "message", "data",
) or Metric._fields != (
    "id", "session_id", "project", "timestamp", "name", "value", "unit", "tags",
    "trace_id", "span_id", "agent_name",
):  # fmt: skip
    raise ImportError("tracehound.model records changed: update pipeline/exporters/_files.py")
_APPEND_NL: Final = orjson.OPT_APPEND_NEWLINE
_TRACEBACK_KEYS: Final = ("traceback", "error_traceback", "stack_trace", "stacktrace", "exc_info")


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

_PREFIXES: dict[int, str] = {}


def _prefix(sec: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a Unix second (cached: records arrive in time order)."""
    text = _PREFIXES.get(sec)
    if text is None:
        if len(_PREFIXES) > 4096:
            _PREFIXES.clear()
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _PREFIXES[sec] = text
    return text


def iso_ns(ns: int) -> str:
    """ISO-8601 UTC with nanoseconds: ``2025-01-15T10:30:45.123456789+00:00``."""
    sec = ns // _NS
    return f"{_PREFIXES.get(sec) or _prefix(sec)}.{str(ns - sec * _NS + _NS)[1:]}+00:00"


def iso_us(ns: int) -> str:
    """ISO-8601 UTC with microseconds (the seed-000 ``timestamp``)."""
    sec, frac = divmod(ns, _NS)
    return f"{_PREFIXES.get(sec) or _prefix(sec)}.{frac // 1000:06d}+00:00"


_SECONDS: dict[str, int] = {}


def _parse_iso(value: Any, name: str) -> int:
    """Nanoseconds from our own ISO form (exact), else via the codec's ``parse_time``."""
    if isinstance(value, str) and len(value) > 20 and value[19] == ".":
        head = value[:19]
        sec = _SECONDS.get(head)
        if sec is None:
            try:
                dt = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                return parse_time(value, name)
            if len(_SECONDS) > 4096:
                _SECONDS.clear()
            sec = _SECONDS[head] = int(dt.timestamp())
        tail = value[20:]
        end = len(tail)
        for i, ch in enumerate(tail):
            if not ch.isdigit():
                end = i
                break
        digits, zone = tail[:end], tail[end:]
        if 0 < end <= 9 and zone in ("+00:00", "Z", ""):
            return sec * _NS + int(digits.ljust(9, "0"))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_time(value, name)


def safe_name(text: str, limit: int = 120) -> str:
    """A filesystem-safe file or directory name for ``text`` (stable; unique when changed)."""
    clean = _UNSAFE_CHARS.sub("_", text).strip("._")
    if clean == text and 0 < len(clean) <= limit:
        return clean
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{clean[: limit - 9] or 'x'}-{digest}"


def _check_category(value: Any) -> str | None:
    if (
        isinstance(value, str)
        and _SAFE_CATEGORY.match(value)
        and not value.startswith(SESSION_PREFIX)
    ):
        return value
    return None


def category_of(record: Record) -> str:
    """The file category of a record (``docs/data-model.md``, "File categories")."""
    if type(record) is Span:
        override = record.attributes.get("category") if record.attributes else None
        default = "performance" if record.kind == "operation" else "agents"
    elif type(record) is Event:
        override = record.data.get("category") if record.data else None
        default = _event_category(record.type, record.data, _has_agent(record))
    else:
        assert type(record) is Metric
        override = record.tags.get("category") if record.tags else None
        default = "performance"
    return (_check_category(override) if override is not None else None) or default


def _has_agent(ev: Event) -> bool:
    return ev.agent_name is not None or ev.agent_id is not None or ev.agent_role is not None


def _event_category(etype: str, data: Mapping[str, Any], has_agent: bool) -> str:
    cat = _EVENT_CATEGORY.get(etype)
    if cat is None:
        return "agents" if has_agent else "system"
    if etype == "learning.update" and data:
        logger = data.get("logger")
        if isinstance(logger, str) and logger.startswith("agent."):
            return "agents"
    return cat


def _dumps(obj: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(obj, option=_APPEND_NL)
    except (TypeError, orjson.JSONEncodeError):
        # Not JSON-safe after all (non-str keys, lone surrogates, odd types): degrade, never fail.
        text = json.dumps(obj, ensure_ascii=True, default=repr, skipkeys=True)
        return text.encode("ascii") + b"\n"


# --------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------


def _span_message(rec: Span) -> str:
    head = f"{rec.kind} {rec.name}"
    model = rec.model
    if model and model not in rec.name:
        head = f"{head} {model}"
    if rec.duration_ms is not None:
        msg = f"{head}: {rec.status} in {rec.duration_ms:.1f} ms"
    else:
        msg = f"{head}: {rec.status}"
    if rec.error_type is not None or rec.error_message is not None:
        msg = f"{msg} — {rec.error_type or 'error'}: {rec.error_message or ''}"
    elif rec.status_message:
        msg = f"{msg} — {rec.status_message}"
    return msg


def _span_line(rec: Span) -> tuple[str, str, dict[str, Any]]:
    """(level, timestamp, line dict) of a span (the hot path: keep it flat)."""
    (rid, trace_id, parent_id, session, project, kind, name, status, start, end, dur,
     an, ar, ai) = rec[:14]  # fmt: skip
    sec = start // _NS
    prefix = _PREFIXES.get(sec) or _prefix(sec)
    start_iso = f"{prefix}.{str(start - sec * _NS + _NS)[1:]}+00:00"
    attrs = rec.attributes
    x: dict[str, Any] = {
        "record_type": "span",
        "event_type": "span",
        "id": rid,
        "trace_id": trace_id,
        "session_id": session,
        "project": project,
        "kind": kind,
        "name": name,
        "status": status,
        "start_time": start_iso,
        "attributes": attrs,
    }
    if end is not None:
        end_sec = end // _NS
        if end_sec != sec:
            prefix = _PREFIXES.get(end_sec) or _prefix(end_sec)
        end_iso = f"{prefix}.{str(end - end_sec * _NS + _NS)[1:]}+00:00"
        x["end_time"] = end_iso
        ts = end_iso[:26] + "+00:00"
    else:
        ts = start_iso[:26] + "+00:00"
    if parent_id is not None:
        x["parent_id"] = parent_id
    if dur is not None:
        x["duration_ms"] = dur
    if an is not None:
        x["agent_name"] = an
    if ar is not None:
        x["agent_role"] = ar
    if ai is not None:
        x["agent_id"] = ai
    mid = rec[14:22]  # conversation_id … error_traceback: usually all None
    plain = mid == _NONE8
    if not plain:
        for key, value in zip(_SPAN_MID, mid, strict=True):
            if value is not None:
                x[key] = value
    llm = rec[_SPAN_CORE:]
    if llm != _NO_LLM:
        plain = False
        for key, value in zip(_LLM_FIELDS, llm, strict=True):
            if value is not None:
                x[key] = value
    if attrs:
        evt = attrs.get("event_type")
        if isinstance(evt, str):
            x["event_type"] = evt
    level = "ERROR" if status in _FAILED else "INFO"
    if not plain:
        msg = _span_message(rec)
    elif dur is not None:
        msg = f"{kind} {name}: {status} in {dur:.1f} ms"
    else:
        msg = f"{kind} {name}: {status}"
    line = {
        "timestamp": ts,
        "session_id": session,
        "level": level,
        "logger": "span." + kind,
        "message": msg,
        "extra": x,
    }
    return level, ts, line


def _event_line(rec: Event, category: str) -> tuple[str, str, dict[str, Any]]:
    (rid, trace_id, span_id, session, project, when, etype, name, level, an, ar, ai, message,
     data) = rec  # fmt: skip
    when_iso = iso_ns(when)
    ts = when_iso[:26] + "+00:00"
    x: dict[str, Any] = {
        "record_type": "event",
        "event_type": etype,
        "id": rid,
        "session_id": session,
        "project": project,
        "timestamp": when_iso,
        "type": etype,
        "name": name,
        "level": level,
        "data": data,
    }
    if trace_id is not None:
        x["trace_id"] = trace_id
    if span_id is not None:
        x["span_id"] = span_id
    if an is not None:
        x["agent_name"] = an
    if ar is not None:
        x["agent_role"] = ar
    if ai is not None:
        x["agent_id"] = ai
    if message is not None:
        x["message"] = message
    logger: Any = None
    if data:
        evt = data.get("event_type")
        if isinstance(evt, str):
            x["event_type"] = evt
        logger = data.get("logger")
    if not isinstance(logger, str):
        who = ar or an or ai
        logger = f"agent.{who}" if who else category
    line = {
        "timestamp": ts,
        "session_id": session,
        "level": level,
        "logger": logger,
        "message": message if message is not None else name,
        "extra": x,
    }
    return level, ts, line


def _metric_line(rec: Metric) -> tuple[str, str, dict[str, Any]]:
    rid, session, project, when, name, value, unit, tags, trace_id, span_id, an = rec
    when_iso = iso_ns(when)
    ts = when_iso[:26] + "+00:00"
    x: dict[str, Any] = {
        "record_type": "metric",
        "event_type": "metric",
        "id": rid,
        "session_id": session,
        "project": project,
        "timestamp": when_iso,
        "name": name,
        "value": value,
        "tags": tags,
    }
    if unit is not None:
        x["unit"] = unit
    if trace_id is not None:
        x["trace_id"] = trace_id
    if span_id is not None:
        x["span_id"] = span_id
    if an is not None:
        x["agent_name"] = an
    if tags:
        evt = tags.get("event_type")
        if isinstance(evt, str):
            x["event_type"] = evt
    line = {
        "timestamp": ts,
        "session_id": session,
        "level": "INFO",
        "logger": "performance",
        "message": f"{name}={value}{unit or ''}",
        "extra": x,
    }
    return "INFO", ts, line


def encode_line(record: Record) -> bytes:
    """The seed-000 JSON line of a record (with its trailing newline)."""
    category = category_of(record)
    if type(record) is Span:
        line = _span_line(record)[2]
    elif type(record) is Event:
        line = _event_line(record, category)[2]
    else:
        assert type(record) is Metric
        line = _metric_line(record)[2]
    return _dumps(line)


def _error_block(rec: Record, level: str, ts: str, logger: str, message: str) -> bytes:
    """A human-readable block for ``errors/errors.txt``."""
    if type(rec) is Span:
        agent = rec.agent_name or rec.agent_id
        role = rec.agent_role
        etype, emsg, tb = (
            rec.error_type,
            rec.error_message or rec.status_message,
            rec.error_traceback,
        )
        ref = f"span {rec.id} trace {rec.trace_id}"
    elif type(rec) is Event:
        agent = rec.agent_name or rec.agent_id
        role = rec.agent_role
        data = rec.data or {}
        etype = _text(data.get("error_type") or data.get("exception_type"))
        emsg = _text(data.get("error_message") or data.get("error"))
        tb = next((_text(data[k]) for k in _TRACEBACK_KEYS if isinstance(data.get(k), str)), None)
        ref = f"event {rec.id} ({rec.type})" + (f" trace {rec.trace_id}" if rec.trace_id else "")
    else:
        agent, role, etype, emsg, tb = rec.agent_name, None, None, None, None
        ref = f"metric {rec.id}"
    out = [
        f"==== {ts} {level} {logger} ====",
        f"agent:   {agent or '-'}" + (f" ({role})" if role else ""),
    ]
    out.append(f"message: {message}")
    if etype or emsg:
        out.append(f"error:   {etype or 'error'}: {emsg or ''}")
    out.append(f"record:  {ref}")
    if tb:
        out.append(tb.rstrip("\n"))
    out.append("")
    out.append("")
    return "\n".join(out).encode("utf-8", "backslashreplace")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


# --------------------------------------------------------------------------------------
# The exporter
# --------------------------------------------------------------------------------------

# Summary counter key: (category, record_type, kind|event type|None, status|None, level, agent)
_Key = tuple[str, str, str | None, str | None, str, str | None]


class FileExporter:
    """Writes records to the seed-000 ``trace/`` layout (see the module docstring)."""

    name = "files"

    def __init__(
        self,
        trace_dir: Path | str,
        session_id: str,
        *,
        rotation: Mapping[str, tuple[int, int]] = DEFAULT_ROTATION,
        levels: Mapping[str, str] | None = None,
        project: str = "default",
        max_open_files: int = MAX_OPEN_AGENT_FILES,
    ) -> None:
        self.trace_dir = Path(trace_dir)
        self.session_id = session_id
        self.project = project
        self._rotation = dict(rotation)
        self._levels: dict[str, int] = {}
        for cat, lvl in (levels or {}).items():
            if lvl.upper() not in _LEVEL_NO:
                raise ValueError(f"levels[{cat!r}]: unknown level {lvl!r}")
            self._levels[cat] = _LEVEL_NO[lvl.upper()]
        self._max_open = max(1, max_open_files)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._cat_files: dict[str, RotatingFile] = {}
        self._agent_files: dict[tuple[str, str], RotatingFile] = {}  # LRU order
        self._text_file: RotatingFile | None = None
        self._dir_names: dict[str, str] = {}
        self._session_dir = self.trace_dir / (SESSION_PREFIX + safe_name(session_id))
        self._reset_summary()

    # -- summary state -------------------------------------------------------------------
    def _reset_summary(self) -> None:
        self._token = secrets.token_hex(4)
        self._counts: dict[_Key, int] = {}
        self._open_spans: dict[str, _Key] = {}
        self._closed: set[str] = set()  # spans seen running, then final
        self._llm: dict[str | None, list[float]] = {}
        self._errors: deque[dict[str, Any]] = deque(maxlen=LAST_ERRORS)
        self._first_ns: int | None = None
        self._last_ns: int | None = None
        self._files: set[str] = set()

    def _count_llm(self, agent: str | None, rec: Span) -> None:
        acc = self._llm.get(agent)
        if acc is None:
            acc = self._llm[agent] = [0, 0, 0, 0, 0.0, 0]
        acc[0] += 1
        acc[1] += rec.input_tokens or 0
        acc[2] += rec.output_tokens or 0
        if rec.total_tokens is not None:
            acc[3] += rec.total_tokens
        else:
            acc[3] += (rec.input_tokens or 0) + (rec.output_tokens or 0)
        if rec.total_cost is not None:
            acc[4] += rec.total_cost
        else:
            acc[5] += 1

    # -- files ---------------------------------------------------------------------------
    def _spec(self, key: str) -> tuple[int, int]:
        spec = self._rotation.get(key) or self._rotation.get("default") or _DEFAULT_ROTATION_SPEC
        return int(spec[0]), int(spec[1])

    def _category_file(self, category: str) -> RotatingFile:
        f = self._cat_files.get(category)
        if f is None:
            path = self.trace_dir / category / f"{category}.log"
            f = self._cat_files[category] = RotatingFile(path, *self._spec(category))
            self._files.add(f"{category}/{category}.log")
        return f

    def _errors_text(self) -> RotatingFile:
        if self._text_file is None:
            path = self.trace_dir / "errors" / ERRORS_TEXT
            self._text_file = RotatingFile(path, *self._spec("errors"))
            self._files.add(f"errors/{ERRORS_TEXT}")
        return self._text_file

    def _dir_name(self, text: str) -> str:
        name = self._dir_names.get(text)
        if name is None:
            if len(self._dir_names) > 65_536:
                self._dir_names.clear()
            name = self._dir_names[text] = safe_name(text)
        return name

    def _agent_file(self, session: str, agent: str) -> RotatingFile:
        key = (session, agent)
        files = self._agent_files
        f = files.pop(key, None)
        if f is None:
            rel = f"{SESSION_PREFIX}{self._dir_name(session)}/agents/{self._dir_name(agent)}.log"
            f = RotatingFile(self.trace_dir / rel, *self._spec("session"))
            if session == self.session_id:
                self._files.add(rel)
            while len(files) >= self._max_open:
                oldest = next(iter(files))
                files.pop(oldest).close()
        files[key] = f  # most recently used last
        return f

    # -- exporting -----------------------------------------------------------------------
    def export(self, batch: Sequence[Record]) -> None:
        if not batch:
            return
        with self._lock:
            if os.getpid() != self._pid:
                self._after_fork_locked()
            self._export(batch)

    def _export(self, batch: Sequence[Record]) -> None:
        # One growing buffer per file: a single write() per file per batch, and (unlike a list
        # of retained line objects) little fresh memory to fault in on every batch.
        cat_out: defaultdict[str, bytearray] = defaultdict(bytearray)
        agent_out: defaultdict[str, bytearray] = defaultdict(bytearray)  # this session's agents
        other_out: defaultdict[tuple[str, str], bytearray] = defaultdict(bytearray)
        text_out = bytearray()
        levels = self._levels
        err_min = levels.get("errors", 0)
        session_min = levels.get("session", 0)
        sid = self.session_id
        counts = self._counts
        cget = counts.get
        open_spans = self._open_spans
        first = self._first_ns
        last = self._last_ns
        check = _check_category
        for rec in batch:
            if type(rec) is Span:
                attrs = rec.attributes
                kind = rec.kind
                cat = "performance" if kind == "operation" else "agents"
                if attrs:
                    over = attrs.get("category")
                    if over is not None:
                        cat = check(over) or cat
                level, ts, line = _span_line(rec)
                agent = rec.agent_name or rec.agent_id
                session = rec.session_id or sid
                t0 = rec.start_time
                end = rec.end_time
                t1 = t0 if end is None else end
                own = session == sid
                if own:
                    key: _Key = (cat, "span", kind, rec.status, level, agent)
                    if end is None:
                        if rec.id not in self._closed:  # not a stale snapshot after the final
                            open_spans[rec.id] = key
                    else:
                        if open_spans and open_spans.pop(rec.id, None) is not None:
                            if len(self._closed) > 100_000:
                                self._closed.clear()
                            self._closed.add(rec.id)
                        counts[key] = cget(key, 0) + 1
                        if kind == "llm":
                            self._count_llm(agent, rec)
            elif type(rec) is Event:
                data = rec.data
                over = data.get("category") if data else None
                cat = (check(over) if over is not None else None) or _event_category(
                    rec.type,
                    data,
                    rec.agent_name is not None
                    or rec.agent_id is not None
                    or rec.agent_role is not None,
                )
                level, ts, line = _event_line(rec, cat)
                agent = rec.agent_name or rec.agent_id
                session = rec.session_id or sid
                t0 = t1 = rec.timestamp
                own = session == sid
                if own:
                    key = (cat, "event", rec.type, None, level, agent)
                    counts[key] = cget(key, 0) + 1
            elif type(rec) is Metric:
                tags = rec.tags
                over = tags.get("category") if tags else None
                cat = (check(over) if over is not None else None) or "performance"
                level, ts, line = _metric_line(rec)
                agent = rec.agent_name
                session = rec.session_id or sid
                t0 = t1 = rec.timestamp
                own = session == sid
                if own:
                    key = (cat, "metric", None, None, level, agent)
                    counts[key] = cget(key, 0) + 1
            else:
                continue
            if own:
                if first is None or t0 < first:
                    first = t0
                if last is None or t1 > last:
                    last = t1
            data_line = _dumps(line)
            lvl_no = _LEVEL_NO.get(level, 20)
            if not levels or lvl_no >= levels.get(cat, 0):
                cat_out[cat] += data_line
            if lvl_no >= 40:
                if cat != "errors" and lvl_no >= err_min:
                    cat_out["errors"] += data_line
                if lvl_no >= err_min:
                    text_out += _error_block(rec, level, ts, line["logger"], line["message"])
                if own:
                    self._errors.append(_error_entry(rec, ts))
            if agent is not None and lvl_no >= session_min:
                if own:
                    agent_out[agent] += data_line
                else:
                    other_out[(session, agent)] += data_line
        self._first_ns, self._last_ns = first, last
        for agent, buf in agent_out.items():
            other_out[(sid, agent)] = buf
        self._write(cat_out, other_out, text_out)

    def _write(
        self,
        cat_out: Mapping[str, bytearray],
        agent_out: Mapping[tuple[str, str], bytearray],
        text_out: bytearray,
    ) -> None:
        failure: BaseException | None = None
        jobs: list[tuple[str | tuple[str, str] | None, bytearray]] = list(cat_out.items())
        if text_out:
            jobs.append((None, text_out))
        jobs.extend(agent_out.items())
        for target, data in jobs:
            try:
                if target is None:
                    self._errors_text().write(data, b"\n\n")
                elif isinstance(target, str):
                    self._category_file(target).write(data)
                else:
                    self._agent_file(*target).write(data)
            except OSError as exc:  # keep writing the other files; report the first failure
                if failure is None:
                    failure = exc
        if failure is not None:
            raise failure

    def force_flush(self, timeout: float | None = None) -> bool:
        """Every ``export`` ends with its bytes handed to the OS: nothing is buffered here."""
        return True

    def shutdown(self) -> None:
        """Write the session summary (when this process exported records) and close files."""
        with self._lock:
            if os.getpid() != self._pid:
                self._after_fork_locked()
            with contextlib.suppress(OSError):
                self._write_summary_locked()
            self._close_all()

    def after_fork(self) -> None:
        """In a forked child: drop the parent's descriptors and lock, start a new summary part."""
        self._lock = threading.Lock()
        self._after_fork_locked()

    def _after_fork_locked(self) -> None:
        self._close_all()
        self._pid = os.getpid()
        self._reset_summary()

    def _close_all(self) -> None:
        for f in self._cat_files.values():
            f.close()
        for f in self._agent_files.values():
            f.close()
        if self._text_file is not None:
            self._text_file.close()
        self._cat_files.clear()
        self._agent_files.clear()
        self._text_file = None

    # -- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """This process's summary part (the same shape as ``trace_summary.json``)."""
        with self._lock:
            return self._summary_part()

    def write_summary(self) -> Path | None:
        """(Re)write ``session_<id>/trace_summary.json``, merged with the parts of other
        processes of the session. Returns its path, or ``None`` when nothing was exported."""
        with self._lock:
            if os.getpid() != self._pid:
                self._after_fork_locked()
            return self._write_summary_locked()

    def _write_summary_locked(self) -> Path | None:
        if not self._counts and not self._open_spans:
            return None
        part = self._summary_part()
        parts_dir = self._session_dir / ".summary"
        parts_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(parts_dir / f"{self._pid}-{self._token}.json", orjson.dumps(part))
        target = self._session_dir / SUMMARY_FILE
        with file_lock(parts_dir / ".lock"):
            parts = []
            for p in sorted(parts_dir.glob("*.json")):
                try:
                    obj = orjson.loads(p.read_bytes())
                except (OSError, orjson.JSONDecodeError):
                    continue
                if isinstance(obj, dict):
                    parts.append(obj)
            merged = merge_summaries(parts or [part])
            _atomic_write(target, orjson.dumps(merged, option=orjson.OPT_INDENT_2))
        return target

    def _summary_part(self) -> dict[str, Any]:
        counts: dict[_Key, int] = dict(self._counts)
        for key in self._open_spans.values():
            counts[key] = counts.get(key, 0) + 1
        by_category: dict[str, int] = {}
        by_type: dict[str, int] = {}
        kinds: dict[str, int] = {}
        statuses: dict[str, int] = {}
        event_types: dict[str, int] = {}
        levels: dict[str, int] = {}
        agents: dict[str, dict[str, Any]] = {}
        total = errors = 0
        for (cat, rtype, sub, status, level, agent), n in counts.items():
            total += n
            is_err = level in _ERROR_LEVELS
            by_category[cat] = by_category.get(cat, 0) + n
            if is_err:
                errors += n
                if cat != "errors":
                    by_category["errors"] = by_category.get("errors", 0) + n
            by_type[rtype] = by_type.get(rtype, 0) + n
            if rtype == "span":
                kinds[sub or "?"] = kinds.get(sub or "?", 0) + n
                statuses[status or "?"] = statuses.get(status or "?", 0) + n
            elif rtype == "event":
                event_types[sub or "?"] = event_types.get(sub or "?", 0) + n
            levels[level] = levels.get(level, 0) + n
            if agent is not None:
                a = agents.get(agent)
                if a is None:
                    a = agents[agent] = _agent_stats()
                a["records"] += n
                if is_err:
                    a["errors"] += n
                if rtype == "span":
                    a["spans"] += n
        llm_totals = [0, 0, 0, 0, 0.0, 0]
        for agent, acc in self._llm.items():
            for i, v in enumerate(acc):
                llm_totals[i] += v
            if agent is not None:
                a = agents.get(agent)
                if a is None:
                    a = agents[agent] = _agent_stats()
                _put_llm(a, acc)
        totals: dict[str, Any] = {
            "records": total,
            "errors": errors,
            "spans": by_type.get("span", 0),
            "events": by_type.get("event", 0),
            "metrics": by_type.get("metric", 0),
        }
        _put_llm(totals, llm_totals)
        part: dict[str, Any] = {
            "session_id": self.session_id,
            "project": self.project,
            "started_ns": self._first_ns,
            "ended_ns": self._last_ns,
            "counts": {
                "by_category": by_category,
                "by_record_type": by_type,
                "span_kinds": kinds,
                "span_statuses": statuses,
                "event_types": event_types,
                "levels": levels,
            },
            "agents": agents,
            "totals": totals,
            "last_errors": list(self._errors),
            "files": sorted({*self._files, f"{self._session_dir.name}/{SUMMARY_FILE}"}),
            "processes": 1,
        }
        return _finish_summary(part)


def _agent_stats() -> dict[str, Any]:
    return {
        "records": 0,
        "errors": 0,
        "spans": 0,
        "llm_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cost": 0.0,
        "unknown_cost_calls": 0,
    }


def _put_llm(target: dict[str, Any], acc: Sequence[float]) -> None:
    target["llm_calls"] = int(acc[0])
    target["input_tokens"] = int(acc[1])
    target["output_tokens"] = int(acc[2])
    target["total_tokens"] = int(acc[3])
    target["cost"] = round(float(acc[4]), 10)
    target["unknown_cost_calls"] = int(acc[5])


def _error_entry(rec: Record, ts: str) -> dict[str, Any]:
    if type(rec) is Span:
        etype = rec.error_type or rec.status
        msg = rec.error_message or rec.status_message or rec.name
        agent = rec.agent_name or rec.agent_id
    elif type(rec) is Event:
        data = rec.data or {}
        etype = _text(data.get("error_type") or data.get("exception_type")) or rec.type
        msg = rec.message or _text(data.get("error_message")) or rec.name
        agent = rec.agent_name or rec.agent_id
    else:
        etype, msg, agent = "metric", rec.name, rec.agent_name
    return {
        "time": ts,
        "agent": agent,
        "type": etype,
        "message": msg,
        "record_type": rec.record_type,
        "id": rec.id,
    }


def _finish_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Add the readable times and put the headline keys first."""
    first, last = summary.get("started_ns"), summary.get("ended_ns")
    head: dict[str, Any] = {
        "session_id": summary.get("session_id"),
        "project": summary.get("project"),
        "started_at": iso_us(first) if isinstance(first, int) else None,
        "ended_at": iso_us(last) if isinstance(last, int) else None,
        "duration_s": (
            round((last - first) / _NS, 6)
            if isinstance(first, int) and isinstance(last, int)
            else 0.0
        ),
    }
    head.update((k, v) for k, v in summary.items() if k not in head)
    head["generated_at"] = iso_us(time.time_ns())
    return head


def _add_numbers(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping):
            sub = into.get(key)
            if not isinstance(sub, dict):
                sub = into[key] = {}
            _add_numbers(sub, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            cur = into.get(key, 0)
            into[key] = (cur if isinstance(cur, int | float) else 0) + value


def merge_summaries(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge per-process summary parts: counters add up, times span all, errors interleave."""
    merged: dict[str, Any] = {
        "session_id": None,
        "project": None,
        "started_ns": None,
        "ended_ns": None,
        "counts": {},
        "agents": {},
        "totals": {},
        "last_errors": [],
        "files": [],
        "processes": 0,
    }
    files: set[str] = set()
    errors: list[dict[str, Any]] = []
    for part in parts:
        merged["session_id"] = merged["session_id"] or part.get("session_id")
        merged["project"] = merged["project"] or part.get("project")
        for key, pick in (("started_ns", min), ("ended_ns", max)):
            value = part.get(key)
            if isinstance(value, int):
                cur = merged[key]
                merged[key] = value if cur is None else pick(cur, value)
        for key in ("counts", "agents", "totals"):
            value = part.get(key)
            if isinstance(value, Mapping):
                _add_numbers(merged[key], value)
        errs = part.get("last_errors")
        if isinstance(errs, list):
            errors.extend(e for e in errs if isinstance(e, dict))
        fl = part.get("files")
        if isinstance(fl, list):
            files.update(f for f in fl if isinstance(f, str))
        merged["processes"] += 1
    for agent in merged["agents"].values():
        if isinstance(agent.get("cost"), float):
            agent["cost"] = round(agent["cost"], 10)
    if isinstance(merged["totals"].get("cost"), float):
        merged["totals"]["cost"] = round(merged["totals"]["cost"], 10)
    errors.sort(key=lambda e: str(e.get("time", "")))
    merged["last_errors"] = errors[-LAST_ERRORS:]
    merged["files"] = sorted(files)
    return _finish_summary(merged)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


@dataclass
class ReadStats:
    """What :func:`read_records` saw. ``corrupt_lines`` keeps the first 100 (file, line no)."""

    files: int = 0
    lines: int = 0
    records: int = 0
    duplicates: int = 0
    corrupt: int = 0
    foreign: int = 0  # valid JSON lines that are not tracehound records (no extra.record_type)
    corrupt_lines: list[tuple[str, int]] = field(default_factory=list)


_CLASSES: Final[dict[str, type[Span] | type[Event] | type[Metric]]] = {
    "span": Span,
    "event": Event,
    "metric": Metric,
}
_FIELDS: Final = {name: frozenset(cls._fields) for name, cls in _CLASSES.items()}
_TIME_KEYS: Final = {
    "span": ("start_time", "end_time"),
    "event": ("timestamp",),
    "metric": ("timestamp",),
}
_STR_KEYS: Final = {
    "span": ("id", "trace_id", "kind", "name", "status"),
    "event": ("id", "type", "name", "level"),
    "metric": ("id", "name"),
}
_DICT_KEYS: Final = {"span": "attributes", "event": "data", "metric": "tags"}


class _Foreign(ValueError):
    pass


def decode_line(line: bytes | str) -> Record:
    """Rebuild the record of one seed-000 line. Raises ``ValueError`` on a corrupt line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Foreign("not a JSON object")
    extra = obj.get("extra")
    rtype = extra.get("record_type") if isinstance(extra, dict) else None
    if not isinstance(rtype, str) or rtype not in _CLASSES:
        raise _Foreign("not a tracehound record line")
    assert isinstance(extra, dict)
    names = _FIELDS[rtype]
    values = {k: v for k, v in extra.items() if k in names}
    for key in _TIME_KEYS[rtype]:
        raw = values.get(key)
        if raw is not None:
            values[key] = _parse_iso(raw, key)
    for key in _STR_KEYS[rtype]:
        if not isinstance(values.get(key), str):
            raise ValueError(f"{key}: missing or not a string")
    values.setdefault("session_id", obj.get("session_id") or "")
    values.setdefault("project", "default")
    dkey = _DICT_KEYS[rtype]
    if not isinstance(values.setdefault(dkey, {}), dict):
        raise ValueError(f"{dkey}: not an object")
    if rtype == "span":
        values.setdefault("parent_id", None)
        values.setdefault("end_time", None)
        values.setdefault("duration_ms", None)
        if not isinstance(values.get("start_time"), int):
            raise ValueError("start_time: missing")
        return Span(**values)
    if rtype == "event":
        values.setdefault("trace_id", None)
        values.setdefault("span_id", None)
        if not isinstance(values.get("timestamp"), int):
            raise ValueError("timestamp: missing")
        return Event(**values)
    value = values.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("value: not a number")
    if not isinstance(values.get("timestamp"), int):
        raise ValueError("timestamp: missing")
    values["value"] = float(value)
    return Metric(**values)


_LINE_START: Final = b'{"timestamp":'


def _salvage(raw: bytes) -> Record | None:
    start = raw.rfind(_LINE_START)
    if start <= 0:
        return None
    try:
        return decode_line(raw[start:])
    except (ValueError, TypeError):
        return None


def _record_time(rec: Record) -> int:
    return rec.start_time if isinstance(rec, Span) else rec.timestamp


def _with_backups(path: Path) -> list[Path]:
    files = backup_paths(path)
    if path.is_file():
        files.append(path)
    return files


def _category_files(trace_dir: Path) -> list[Path]:
    try:
        dirs = sorted(d for d in trace_dir.iterdir() if d.is_dir())
    except OSError:
        return []
    order = {name: i for i, name in enumerate(CATEGORIES)}
    dirs = [d for d in dirs if not d.name.startswith((SESSION_PREFIX, "."))]
    dirs.sort(key=lambda d: (order.get(d.name, len(order) - 1), d.name))
    out: list[Path] = []
    for d in dirs:
        out.extend(_with_backups(d / f"{d.name}.log"))
    return out


def _session_files(session_dir: Path) -> list[Path]:
    agents = session_dir / "agents"
    out: list[Path] = []
    try:
        logs = sorted(p for p in agents.iterdir() if p.name.endswith(".log") and p.is_file())
    except OSError:
        return out
    for p in logs:
        out.extend(_with_backups(p))
    return out


def _is_session_dir(path: Path) -> bool:
    return path.name.startswith(SESSION_PREFIX) and (
        (path / "agents").is_dir() or (path / SUMMARY_FILE).is_file()
    )


def read_records(
    path: Path | str,
    *,
    session_id: str | None = None,
    stats: ReadStats | None = None,
    on_corrupt: Callable[[Path, int, bytes], None] | None = None,
    sort: bool = False,
) -> Iterator[Record]:
    """Records of a ``trace/`` directory, a ``session_<id>`` directory, or one log file.

    * A trace directory: every category file (``<cat>/<cat>.log`` with its rotated backups,
      oldest first; ``errors`` last) and every session's per-agent files.
    * A session directory: its per-agent files, plus the records of that session in the
      parent's category files when the parent is a trace directory.
    * ``session_id`` keeps only that session's records.

    Torn or corrupt lines are skipped and counted in ``stats`` (and passed to ``on_corrupt``
    with the file, the line number and the raw bytes); valid JSON lines that are not
    tracehound records are counted as ``foreign``. Records are de-duplicated by (record type,
    id): errors appear twice in the files and agent records again in the session files; a
    span's final form (with ``end_time``) wins over a running snapshot, wherever each was
    read. Records come in file order (running spans never completed come last) unless
    ``sort=True`` (by start time / timestamp, then id).
    """
    it = _read(Path(path), session_id, stats if stats is not None else ReadStats(), on_corrupt)
    if not sort:
        return it
    return iter(sorted(it, key=lambda r: (_record_time(r), r.id)))


def _read(
    path: Path,
    session_id: str | None,
    stats: ReadStats,
    on_corrupt: Callable[[Path, int, bytes], None] | None,
) -> Iterator[Record]:
    sources: list[tuple[Path, str | None]] = []  # (file, session filter)
    if path.is_file():
        sources.append((path, session_id))
    elif _is_session_dir(path):
        own = path.name[len(SESSION_PREFIX) :]
        want = session_id
        sources.extend((p, want) for p in _session_files(path))
        parent = path.parent
        if any((parent / c / f"{c}.log").is_file() for c in CATEGORIES):
            sources.extend((p, want or own) for p in _category_files(parent))
    else:
        sources.extend((p, session_id) for p in _category_files(path))
        try:
            sessions = sorted(
                d for d in path.iterdir() if d.is_dir() and d.name.startswith(SESSION_PREFIX)
            )
        except OSError:
            sessions = []
        for d in sessions:
            sources.extend((p, session_id) for p in _session_files(d))

    seen: set[tuple[str, str]] = set()
    pending: dict[tuple[str, str], Span] = {}
    for file, want in sources:
        try:
            fh = open(file, "rb")  # noqa: SIM115 - closed below, generator-friendly
        except OSError:
            continue
        stats.files += 1
        with fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                stats.lines += 1
                try:
                    rec = decode_line(raw)
                except _Foreign:
                    stats.foreign += 1
                    continue
                except (ValueError, TypeError):
                    stats.corrupt += 1
                    if len(stats.corrupt_lines) < 100:
                        stats.corrupt_lines.append((str(file), lineno))
                    if on_corrupt is not None:
                        on_corrupt(file, lineno, raw)
                    # A torn tail (crashed writer) with the next writer's complete line glued
                    # on: keep that line.
                    salvaged = _salvage(raw)
                    if salvaged is None:
                        continue
                    rec = salvaged
                if (
                    want is not None
                    and rec.session_id != want
                    and safe_name(rec.session_id) != want
                ):
                    continue
                key = (rec.record_type, rec.id)
                if type(rec) is Span and rec.end_time is None:
                    if key in seen:
                        stats.duplicates += 1
                    else:
                        seen.add(key)
                        pending[key] = rec
                    continue
                if key in seen:
                    if key in pending:
                        del pending[key]
                        stats.records += 1
                        yield rec
                    else:
                        stats.duplicates += 1
                    continue
                seen.add(key)
                stats.records += 1
                yield rec
    for rec in pending.values():
        stats.records += 1
        yield rec


def list_sessions(trace_dir: Path | str) -> list[str]:
    """Session ids with a ``session_<id>`` directory under ``trace_dir``, oldest name first."""
    root = Path(trace_dir)
    try:
        names = sorted(
            d.name[len(SESSION_PREFIX) :]
            for d in root.iterdir()
            if d.is_dir()
            and d.name.startswith(SESSION_PREFIX)
            and len(d.name) > len(SESSION_PREFIX)
        )
    except OSError:
        return []
    return names
