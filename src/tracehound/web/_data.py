"""The dashboard's read queries over the store (SQLAlchemy Core; SQLite and PostgreSQL).

Every method takes a :class:`Scope`: the project (from the API key; ``None`` when auth is off
and the store is read whole) and an optional time range. Times go out as *milliseconds* since
the epoch (floats with microsecond digits): JavaScript numbers cannot hold nanoseconds.
Aggregations run in SQL; per-record work in Python is bounded by explicit limits.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Float, Integer, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from ..analytics._analytics import unpriced_llm
from ..store._schema import events as E
from ..store._schema import sessions as SESSIONS
from ..store._schema import spans as S
from ..store._time import datetime_to_ns, ns_to_datetime

__all__ = ["NotFound", "Scope", "WebData"]

FAILED: Final = ("failed", "timeout")
ERROR_LEVELS: Final = ("ERROR", "CRITICAL")
PAGE_MAX: Final = 200
TRACE_MAX_SPANS: Final = 50_000
TRACE_MAX_EVENTS: Final = 50_000
ERRORS_MAX: Final = 2_000
LEARNING_MAX: Final = 50_000
INTERACTIONS_MAX: Final = 50_000
_NS_PER_MS: Final = 1_000_000
_NICE_MS: Final = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
)
_TEXT_LIMIT: Final = 400
_ANALYZER_TTL_S: Final = 20.0


class NotFound(LookupError):
    """An id that does not exist (in the caller's project)."""


@dataclass(frozen=True)
class Scope:
    """What a request may see: a project (``None``: every project) and a time range in
    nanoseconds (either end open)."""

    project: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None


def ms(ns: int | None) -> float | None:
    """Nanoseconds → milliseconds (float, microsecond digits kept)."""
    return None if ns is None else ns / _NS_PER_MS


def _dt_ms(value: datetime | None) -> float | None:
    return None if value is None else datetime_to_ns(value) / _NS_PER_MS


def _short(text: Any, limit: int = _TEXT_LIMIT) -> str | None:
    if text is None:
        return None
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _round(value: Any, digits: int = 3) -> float | None:
    if value is None:
        return None
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        return None
    return round(v, digits)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return None if math.isnan(v) or math.isinf(v) else v


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _nice_width_ms(extent_ms: float, buckets: int) -> int:
    raw = max(extent_ms / max(buckets, 1), 1.0)
    for step in _NICE_MS:
        if step >= raw:
            return step
    return math.ceil(raw / _NICE_MS[-1]) * _NICE_MS[-1]


def _normalize_message(text: str) -> str:
    try:
        from ..analysis._items import normalize_message
    except ImportError:  # pragma: no cover - the analysis package ships with tracehound
        return text[:300]
    return normalize_message(text)


def _short_type(error_type: Any) -> str | None:
    if error_type is None:
        return None
    text = str(error_type)
    return text.rsplit(".", 1)[-1] if text else None


class WebData:
    """The dashboard's queries over one store (an :class:`~sqlalchemy.engine.Engine`)."""

    def __init__(self, engine: Engine, url: str | None = None) -> None:
        self.engine = engine
        self.url = url if url is not None else engine.url.render_as_string(hide_password=False)
        self.dialect: str = engine.dialect.name
        self._lock = threading.Lock()
        self._analyzers: dict[str, tuple[float, Any]] = {}

    # -- plumbing ----------------------------------------------------------------------------
    def _rows(self, stmt: Any) -> list[RowMapping]:
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).mappings())

    def _epoch_s(self, column: ColumnElement[Any]) -> ColumnElement[float]:
        """Seconds since the epoch of a time column, with a fraction."""
        if self.dialect == "postgresql":
            return cast(func.extract("epoch", column), Float())
        return (func.julianday(column) - literal(2440587.5, Float())) * literal(86400.0, Float())

    def _bucket(
        self, column: ColumnElement[Any], start_ms: float, width_ms: int
    ) -> ColumnElement[int]:
        """The index of the ``width_ms``-wide bucket, counted from ``start_ms``."""
        offset = (self._epoch_s(column) - literal(start_ms / 1000.0, Float())) / literal(
            width_ms / 1000.0, Float()
        )
        if self.dialect == "postgresql":
            return cast(func.floor(offset), Integer())
        return cast(offset, Integer())  # non-negative here: truncation is the floor

    @staticmethod
    def _project(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
        return [] if scope.project is None else [table.c.project == scope.project]

    @staticmethod
    def _range(column: ColumnElement[Any], scope: Scope) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if scope.start_ns is not None:
            where.append(column >= ns_to_datetime(scope.start_ns))
        if scope.end_ns is not None:
            where.append(column <= ns_to_datetime(scope.end_ns))
        return where

    def _span_scope(self, scope: Scope, *extra: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        return [*self._project(S, scope), *self._range(S.c.start_time, scope), *extra]

    def _event_scope(self, scope: Scope, *extra: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        return [*self._project(E, scope), *self._range(E.c.timestamp, scope), *extra]

    def _axis(
        self, where: Sequence[ColumnElement[bool]], column: Any, buckets: int
    ) -> dict[str, Any] | None:
        """The time axis of a chart: the data's extent inside the range, cut into nicely
        sized buckets (so a burst of one second is not one bar in a 24 h chart)."""
        rows = self._rows(
            select(func.min(column).label("lo"), func.max(column).label("hi")).where(*where)
        )
        if not rows or rows[0]["lo"] is None:
            return None
        lo = _dt_ms(rows[0]["lo"])
        hi = _dt_ms(rows[0]["hi"])
        assert lo is not None and hi is not None
        width = _nice_width_ms(hi - lo, buckets)
        start = math.floor(lo / width) * width
        count = int((hi - start) // width) + 1
        return {"start_ms": float(start), "width_ms": width, "buckets": count}

    def _percentiles(
        self,
        value: ColumnElement[Any],
        group: ColumnElement[Any] | None,
        where: Sequence[ColumnElement[bool]],
        points: Sequence[int] = (50, 95),
    ) -> dict[Any, dict[int, float | None]]:
        """Nearest-rank percentiles of ``value`` per ``group`` (window functions, in SQL)."""
        partition = [group] if group is not None else []
        g = group.label("g") if group is not None else literal(0).label("g")
        ranked = (
            select(
                g,
                value.label("v"),
                func.row_number().over(partition_by=partition or None, order_by=value).label("rn"),
                func.count().over(partition_by=partition or None).label("cnt"),
            )
            .where(*where, value.is_not(None))
            .subquery()
        )
        cols = [
            func.max(case((ranked.c.rn == (p * ranked.c.cnt + 99) // 100, ranked.c.v))).label(
                f"p{p}"
            )
            for p in points
        ]
        rows = self._rows(select(ranked.c.g, *cols).group_by(ranked.c.g))
        return {r["g"]: {p: _round(r[f"p{p}"]) for p in points} for r in rows}

    # -- meta ----------------------------------------------------------------------------------
    def meta(self, scope: Scope) -> dict[str, Any]:
        """What the filters offer: agents, kinds, statuses, models, the data's time bounds."""
        where = self._project(S, scope)
        agents = self._rows(
            select(S.c.agent_name, func.count().label("n"))
            .where(*where, S.c.agent_name.is_not(None))
            .group_by(S.c.agent_name)
            .order_by(S.c.agent_name)
            .limit(500)
        )
        kinds = self._rows(select(S.c.kind).where(*where).distinct())
        statuses = self._rows(select(S.c.status).where(*where).distinct())
        bounds = self._rows(
            select(
                func.min(S.c.start_time).label("lo"), func.max(S.c.start_time).label("hi")
            ).where(*where)
        )
        sessions = self._rows(
            select(SESSIONS.c.id, SESSIONS.c.started_at, SESSIONS.c.last_seen_at)
            .where(*self._project(SESSIONS, scope))
            .order_by(SESSIONS.c.last_seen_at.desc())
            .limit(50)
        )
        b = bounds[0] if bounds else None
        return {
            "project": scope.project,
            "agents": [r["agent_name"] for r in agents],
            "kinds": sorted(r["kind"] for r in kinds),
            "statuses": sorted(r["status"] for r in statuses),
            "first_ms": _dt_ms(b["lo"]) if b else None,
            "last_ms": _dt_ms(b["hi"]) if b else None,
            "sessions": [
                {
                    "id": r["id"],
                    "started_ms": _dt_ms(r["started_at"]),
                    "last_seen_ms": _dt_ms(r["last_seen_at"]),
                }
                for r in sessions
            ],
        }

    # -- overview ------------------------------------------------------------------------------
    def overview(self, scope: Scope, buckets: int = 40) -> dict[str, Any]:
        """KPIs and the charts of the overview page, for agent executions in the range."""
        where = self._span_scope(scope, S.c.kind == "agent")
        ran = S.c.status != "skipped"
        finished = and_(ran, S.c.status.not_in(("running", "pending")))
        totals = self._rows(
            select(
                func.count().label("n"),
                func.sum(case((S.c.status == "success", 1), else_=0)).label("ok"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                func.sum(case((S.c.status == "skipped", 1), else_=0)).label("skip"),
                func.sum(case((S.c.parent_id.is_(None), 1), else_=0)).label("roots"),
                func.count(func.distinct(S.c.trace_id)).label("traces"),
            ).where(*where)
        )[0]
        llm_where = self._span_scope(scope, S.c.kind == "llm")
        unknown = unpriced_llm()
        llm = self._rows(
            select(
                func.count().label("n"),
                func.sum(S.c.total_tokens).label("tokens"),
                func.sum(S.c.total_cost).label("cost"),
                func.sum(case((unknown, 1), else_=0)).label("unpriced"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
            ).where(*llm_where)
        )[0]
        err_events = self._rows(
            select(func.count().label("n")).where(
                *self._event_scope(scope, E.c.level.in_(ERROR_LEVELS))
            )
        )[0]
        pct = self._percentiles(S.c.duration_ms, None, [*where, finished]).get(0, {})
        ok = int(totals["ok"] or 0)
        bad = int(totals["bad"] or 0)
        # one time axis for executions and LLM calls (either may be missing, e.g. OTLP data)
        axis = self._axis(
            self._span_scope(scope, S.c.kind.in_(("agent", "llm"))), S.c.start_time, buckets
        )
        series: list[dict[str, Any]] = []
        if axis is not None:
            b = self._bucket(S.c.start_time, axis["start_ms"], axis["width_ms"]).label("b")
            counts = self._rows(
                select(
                    b,
                    func.count().label("n"),
                    func.sum(case((S.c.status == "success", 1), else_=0)).label("ok"),
                    func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                    func.sum(case((S.c.status == "skipped", 1), else_=0)).label("skip"),
                )
                .where(*where)
                .group_by(b)
            )
            lat = self._percentiles(
                S.c.duration_ms,
                self._bucket(S.c.start_time, axis["start_ms"], axis["width_ms"]),
                [*where, finished],
            )
            lb = self._bucket(S.c.start_time, axis["start_ms"], axis["width_ms"]).label("b")
            cost = self._rows(
                select(
                    lb,
                    func.count().label("n"),
                    func.sum(S.c.total_cost).label("cost"),
                    func.sum(S.c.total_tokens).label("tokens"),
                )
                .where(
                    *llm_where,
                    S.c.start_time >= ns_to_datetime(int(axis["start_ms"] * _NS_PER_MS)),
                )
                .group_by(lb)
            )
            by_b = {int(r["b"]): r for r in counts if r["b"] is not None}
            cost_b = {int(r["b"]): r for r in cost if r["b"] is not None}
            n_buckets = axis["buckets"]
            if cost_b:
                n_buckets = max(n_buckets, max(cost_b) + 1)
            for i in range(n_buckets):
                r = by_b.get(i)
                c = cost_b.get(i)
                p = lat.get(i, {})
                n = int(r["n"]) if r else 0
                series.append(
                    {
                        "t": axis["start_ms"] + i * axis["width_ms"],
                        "executions": n,
                        "success": int(r["ok"] or 0) if r else 0,
                        "failed": int(r["bad"] or 0) if r else 0,
                        "skipped": int(r["skip"] or 0) if r else 0,
                        "other": n
                        - (
                            int(r["ok"] or 0) + int(r["bad"] or 0) + int(r["skip"] or 0) if r else 0
                        ),
                        "p50_ms": p.get(50),
                        "p95_ms": p.get(95),
                        "llm_calls": int(c["n"]) if c else 0,
                        "cost": _round(c["cost"], 6) if c and c["cost"] is not None else 0.0,
                        "tokens": int(c["tokens"] or 0) if c else 0,
                    }
                )
        return {
            "axis": axis,
            "kpis": {
                "executions": int(totals["n"] or 0),
                "traces": int(totals["traces"] or 0),
                "success": ok,
                "failed": bad,
                "skipped": int(totals["skip"] or 0),
                "success_rate": _round(ok / (ok + bad), 4) if ok + bad else None,
                "p50_ms": pct.get(50),
                "p95_ms": pct.get(95),
                "llm_calls": int(llm["n"] or 0),
                "llm_failed": int(llm["bad"] or 0),
                "tokens": int(llm["tokens"] or 0),
                "cost": _round(llm["cost"], 6) if llm["cost"] is not None else 0.0,
                "unpriced_calls": int(llm["unpriced"] or 0),
                "error_events": int(err_events["n"] or 0),
            },
            "series": series,
            "top_errors": self._top_errors(where),
            "busiest_agents": self._busiest(where),
            "slowest_agents": self._slowest(where, finished),
        }

    def _top_errors(self, where: Sequence[ColumnElement[bool]]) -> list[dict[str, Any]]:
        rows = self._rows(
            select(
                S.c.agent_name,
                S.c.error_type,
                func.count().label("n"),
                func.max(S.c.start_time).label("last"),
                func.max(S.c.id).label("example"),
            )
            .where(*where, S.c.status.in_(FAILED))
            .group_by(S.c.agent_name, S.c.error_type)
            .order_by(func.count().desc())
            .limit(10)
        )
        examples = {
            r["id"]: r
            for r in self._rows(
                select(
                    S.c.id,
                    S.c.trace_id,
                    S.c.error_message,
                    S.c.status_message,
                    S.c.status,
                ).where(S.c.id.in_([r["example"] for r in rows]))
            )
        }
        out = []
        for r in rows:
            ex = examples.get(r["example"])
            out.append(
                {
                    "agent_name": r["agent_name"],
                    "error_type": r["error_type"]
                    or ("timeout" if ex and ex["status"] == "timeout" else "error"),
                    "count": int(r["n"]),
                    "last_ms": _dt_ms(r["last"]),
                    "example_span_id": r["example"],
                    "example_trace_id": ex["trace_id"] if ex else None,
                    "message": _short(
                        (ex["error_message"] or ex["status_message"]) if ex else None, 200
                    ),
                }
            )
        return out

    def _busiest(self, where: Sequence[ColumnElement[bool]]) -> list[dict[str, Any]]:
        rows = self._rows(
            select(
                S.c.agent_name,
                func.count().label("n"),
                func.sum(case((S.c.status == "skipped", 0), else_=1)).label("ran"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
            )
            .where(*where)
            .group_by(S.c.agent_name)
            .order_by(func.sum(case((S.c.status == "skipped", 0), else_=1)).desc())
            .limit(12)
        )
        return [
            {
                "agent_name": r["agent_name"],
                "invocations": int(r["n"]),
                "ran": int(r["ran"] or 0),
                "failed": int(r["bad"] or 0),
            }
            for r in rows
        ]

    def _slowest(
        self, where: Sequence[ColumnElement[bool]], finished: ColumnElement[bool]
    ) -> list[dict[str, Any]]:
        pct = self._percentiles(S.c.duration_ms, S.c.agent_name, [*where, finished])
        avg = {
            r["agent_name"]: r
            for r in self._rows(
                select(
                    S.c.agent_name,
                    func.avg(S.c.duration_ms).label("avg"),
                    func.max(S.c.duration_ms).label("max"),
                    func.count().label("n"),
                )
                .where(*where, finished)
                .group_by(S.c.agent_name)
            )
        }
        out = [
            {
                "agent_name": name,
                "p50_ms": p.get(50),
                "p95_ms": p.get(95),
                "avg_ms": _round(avg[name]["avg"]) if name in avg else None,
                "max_ms": _round(avg[name]["max"]) if name in avg else None,
                "runs": int(avg[name]["n"]) if name in avg else 0,
            }
            for name, p in pct.items()
        ]
        out.sort(key=lambda r: -(r["p95_ms"] or 0.0))
        return out[:12]

    # -- executions list -----------------------------------------------------------------------
    def spans(
        self,
        scope: Scope,
        *,
        agent: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        q: str | None = None,
        session_id: str | None = None,
        trace_id: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> dict[str, Any]:
        """One page of spans (newest first) matching the filters, with the total count.
        ``kind="root"``: traces (root spans), ``"all"``: any kind; ``status="error"``: failed
        or timed out."""
        where = self._span_scope(scope)
        if agent:
            where.append(S.c.agent_name == agent)
        if status == "error":
            where.append(S.c.status.in_(FAILED))
        elif status:
            where.append(S.c.status == status)
        if kind == "root":
            where.append(S.c.parent_id.is_(None))
        elif kind and kind != "all":
            where.append(S.c.kind == kind)
        if session_id:
            where.append(S.c.session_id == session_id)
        if trace_id:
            where.append(S.c.trace_id == trace_id)
        if q:
            pattern = _like_pattern(q)
            text_cols: list[ColumnElement[Any]] = [
                S.c.name,
                S.c.agent_name,
                S.c.status_message,
                S.c.error_type,
                S.c.error_message,
                S.c.conversation_id,
                S.c.model,
                S.c.id,
                S.c.trace_id,
                cast(S.c.input, Text()),
                cast(S.c.output, Text()),
            ]
            where.append(or_(*(c.ilike(pattern, escape="\\") for c in text_cols)))
        page = max(1, page)
        page_size = min(max(1, page_size), PAGE_MAX)
        total = int(self._rows(select(func.count().label("n")).where(*where))[0]["n"] or 0)
        cols = (
            S.c.id,
            S.c.trace_id,
            S.c.parent_id,
            S.c.session_id,
            S.c.kind,
            S.c.name,
            S.c.status,
            S.c.start_time,
            S.c.duration_ms,
            S.c.agent_name,
            S.c.conversation_id,
            S.c.error_type,
            S.c.error_message,
            S.c.status_message,
            S.c.model,
            S.c.total_tokens,
            S.c.total_cost,
            S.c.cost_source,
        )
        rows = self._rows(
            select(*cols)
            .where(*where)
            .order_by(S.c.start_time.desc(), S.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        items = []
        for r in rows:
            failed = r["status"] in FAILED
            items.append(
                {
                    "id": r["id"],
                    "trace_id": r["trace_id"],
                    "parent_id": r["parent_id"],
                    "session_id": r["session_id"],
                    "kind": r["kind"],
                    "name": r["name"],
                    "status": r["status"],
                    "start_ms": _dt_ms(r["start_time"]),
                    "duration_ms": _round(r["duration_ms"]),
                    "agent_name": r["agent_name"],
                    "conversation_id": r["conversation_id"],
                    "error_type": r["error_type"],
                    "message": _short(
                        r["error_message"]
                        or (r["status_message"] if failed or r["status"] == "skipped" else None),
                        200,
                    ),
                    "model": r["model"],
                    "total_tokens": r["total_tokens"],
                    "total_cost": _round(r["total_cost"], 6),
                    "unpriced": r["kind"] == "llm"
                    and (
                        r["cost_source"] == "unknown"
                        or (r["total_cost"] is None and r["model"] is not None)
                    ),
                }
            )
        roots = [i["trace_id"] for i in items if i["parent_id"] is None]
        if roots:
            counts = {
                r["trace_id"]: r
                for r in self._rows(
                    select(
                        S.c.trace_id,
                        func.count().label("n"),
                        func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                        func.sum(S.c.total_cost).label("cost"),
                    )
                    .where(S.c.trace_id.in_(roots))
                    .group_by(S.c.trace_id)
                )
            }
            for i in items:
                c = counts.get(i["trace_id"])
                if i["parent_id"] is None and c is not None:
                    i["span_count"] = int(c["n"])
                    i["failed_spans"] = int(c["bad"] or 0)
                    i["trace_cost"] = _round(c["cost"], 6)
        return {"total": total, "page": page, "page_size": page_size, "items": items}

    # -- one trace -----------------------------------------------------------------------------
    def trace(self, scope: Scope, trace_id: str) -> dict[str, Any]:
        """A trace in compact form: its spans (columns ``fields``, rows of values; times as ms
        offsets from the trace start), its events, the agent call chain, and totals."""
        cols = (
            S.c.id,
            S.c.parent_id,
            S.c.kind,
            S.c.name,
            S.c.status,
            S.c.start_time,
            S.c.end_time,
            S.c.duration_ms,
            S.c.agent_name,
            S.c.error_type,
            S.c.model,
            S.c.total_tokens,
            S.c.total_cost,
            S.c.session_id,
            S.c.conversation_id,
        )
        where = [S.c.trace_id == trace_id, *self._project(S, scope)]
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(*cols)
                    .where(*where)
                    .order_by(S.c.start_time, S.c.id)
                    .limit(TRACE_MAX_SPANS)
                )
            )
            ev_rows = list(
                conn.execute(
                    select(
                        E.c.id,
                        E.c.span_id,
                        E.c.type,
                        E.c.name,
                        E.c.level,
                        E.c.timestamp,
                        E.c.agent_name,
                        E.c.message,
                    )
                    .where(E.c.trace_id == trace_id, *self._project(E, scope))
                    .order_by(E.c.timestamp, E.c.id)
                    .limit(TRACE_MAX_EVENTS)
                )
            )
            agent_attrs = {
                r[0]: (r[1] or {})
                for r in conn.execute(
                    select(S.c.id, S.c.attributes).where(*where, S.c.kind == "agent").limit(5000)
                )
            }
        if not rows and not ev_rows:
            raise NotFound(f"no trace {trace_id!r}")
        starts = [datetime_to_ns(r[5]) for r in rows]
        ends = [datetime_to_ns(r[6]) if r[6] is not None else None for r in rows]
        ev_times = [datetime_to_ns(r[5]) for r in ev_rows]
        t0 = min([*starts, *ev_times])
        t1 = max([*(e for e in ends if e is not None), *starts, *ev_times])
        span_rows: list[list[Any]] = []
        cost = 0.0
        tokens = 0
        failed = 0
        llm_calls = 0
        root: Any = None
        ids = {r[0] for r in rows}
        for r, st, en in zip(rows, starts, ends, strict=True):
            parent = r[1] if r[1] in ids else None
            if r[1] is None and root is None:
                root = r
            if r[2] == "llm":
                llm_calls += 1
            if r[12] is not None:
                cost += float(r[12])
            if r[11] is not None and r[2] == "llm":
                tokens += int(r[11])
            if r[4] in FAILED:
                failed += 1
            span_rows.append(
                [
                    r[0],
                    parent,
                    r[2],
                    r[3],
                    r[4],
                    round((st - t0) / _NS_PER_MS, 3),
                    _round(r[7])
                    if r[7] is not None
                    else (None if en is None else round((en - st) / _NS_PER_MS, 3)),
                    r[8],
                    r[9],
                    r[10],
                    r[11],
                    _round(r[12], 6),
                    en is None,
                ]
            )
        events = [
            [
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                round((t - t0) / _NS_PER_MS, 3),
                r[6],
                _short(r[7], 300),
            ]
            for r, t in zip(ev_rows, ev_times, strict=True)
        ]
        chain = self._call_chain(rows, agent_attrs)
        first = root if root is not None else (rows[0] if rows else None)
        return {
            "trace_id": trace_id,
            "start_ms": ms(t0),
            "duration_ms": round((t1 - t0) / _NS_PER_MS, 3),
            "root": None
            if first is None
            else {
                "id": first[0],
                "name": first[3],
                "kind": first[2],
                "status": first[4],
                "agent_name": first[8],
                "session_id": first[13],
                "conversation_id": first[14],
            },
            "totals": {
                "spans": len(rows),
                "events": len(ev_rows),
                "failed": failed,
                "llm_calls": llm_calls,
                "tokens": tokens,
                "cost": round(cost, 6),
                "truncated": len(rows) >= TRACE_MAX_SPANS or len(ev_rows) >= TRACE_MAX_EVENTS,
            },
            "span_fields": [
                "id",
                "parent_id",
                "kind",
                "name",
                "status",
                "offset_ms",
                "duration_ms",
                "agent_name",
                "error_type",
                "model",
                "total_tokens",
                "total_cost",
                "open",
            ],
            "spans": span_rows,
            "event_fields": [
                "id",
                "span_id",
                "type",
                "name",
                "level",
                "offset_ms",
                "agent_name",
                "message",
            ],
            "events": events,
            "call_chain": chain,
        }

    @staticmethod
    def _call_chain(
        rows: Sequence[Any], attrs: Mapping[str, Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        parent = {r[0]: r[1] for r in rows}
        by_id = {r[0]: r for r in rows}
        out = []

        def agent_ancestor(sid: str) -> str | None:
            node = parent.get(sid)
            seen = 0
            while node is not None and seen < 10_000:
                r = by_id.get(node)
                if r is None:
                    return None
                if r[2] == "agent":
                    return str(node)
                node = parent.get(node)
                seen += 1
            return None

        depth_of: dict[str, int] = {}
        for r in rows:
            if r[2] != "agent":
                continue
            caller = agent_ancestor(r[0])
            depth_of[r[0]] = depth_of.get(caller, -1) + 1 if caller is not None else 0
            if caller is None:
                continue
            c = by_id[caller]
            a = attrs.get(r[0], {})
            out.append(
                {
                    "parent_id": caller,
                    "parent_agent": c[8],
                    "child_id": r[0],
                    "child_agent": r[8],
                    "child_name": r[3],
                    "status": r[4],
                    "depth": depth_of[r[0]],
                    "call_reason": _short(a.get("call_reason"), 300),
                    "relevance_score": _num(a.get("relevance_score")),
                    "error_type": r[9],
                }
            )
        return out

    def span(self, scope: Scope, span_id: str) -> dict[str, Any]:
        """Everything about one span, and its events."""
        rows = self._rows(select(S).where(S.c.id == span_id, *self._project(S, scope)))
        if not rows:
            raise NotFound(f"no span {span_id!r}")
        r = rows[0]
        evs = self._rows(
            select(E)
            .where(E.c.span_id == span_id, *self._project(E, scope))
            .order_by(E.c.timestamp)
            .limit(500)
        )
        out: dict[str, Any] = {k: r[k] for k in r if k not in ("start_time", "end_time")}
        out["start_ms"] = _dt_ms(r["start_time"])
        out["end_ms"] = _dt_ms(r["end_time"])
        out["unpriced"] = r["kind"] == "llm" and (
            r["cost_source"] == "unknown" or (r["total_cost"] is None and r["model"] is not None)
        )
        out["events"] = [
            {
                "id": e["id"],
                "type": e["type"],
                "name": e["name"],
                "level": e["level"],
                "time_ms": _dt_ms(e["timestamp"]),
                "agent_name": e["agent_name"],
                "message": e["message"],
                "data": e["data"],
            }
            for e in evs
        ]
        return out

    def event(self, scope: Scope, event_id: str) -> dict[str, Any]:
        rows = self._rows(select(E).where(E.c.id == event_id, *self._project(E, scope)))
        if not rows:
            raise NotFound(f"no event {event_id!r}")
        e = rows[0]
        out = {k: e[k] for k in e if k != "timestamp"}
        out["time_ms"] = _dt_ms(e["timestamp"])
        return out

    # -- agents --------------------------------------------------------------------------------
    def agents(self, scope: Scope, buckets: int = 24) -> dict[str, Any]:
        """Per-agent performance in the range, with an executions-over-time series each."""
        where = self._span_scope(scope, S.c.kind == "agent")
        finished = and_(S.c.status != "skipped", S.c.status.not_in(("running", "pending")))
        base = self._rows(
            select(
                S.c.agent_name,
                func.count().label("n"),
                func.sum(case((S.c.status == "success", 1), else_=0)).label("ok"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                func.sum(case((S.c.status == "skipped", 1), else_=0)).label("skip"),
                func.avg(case((finished, S.c.duration_ms))).label("avg"),
                func.max(S.c.start_time).label("last"),
            )
            .where(*where)
            .group_by(S.c.agent_name)
            .order_by(S.c.agent_name)
        )
        pct = self._percentiles(S.c.duration_ms, S.c.agent_name, [*where, finished])
        llm = {
            r["agent_name"]: r
            for r in self._rows(
                select(
                    S.c.agent_name,
                    func.count().label("n"),
                    func.sum(S.c.total_tokens).label("tokens"),
                    func.sum(S.c.total_cost).label("cost"),
                    func.avg(S.c.duration_ms).label("lat"),
                )
                .where(*self._span_scope(scope, S.c.kind == "llm"))
                .group_by(S.c.agent_name)
            )
        }
        errs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self._rows(
            select(S.c.agent_name, S.c.error_type, func.count().label("n"))
            .where(*where, S.c.status.in_(FAILED))
            .group_by(S.c.agent_name, S.c.error_type)
            .order_by(func.count().desc())
        ):
            errs[r["agent_name"]].append(
                {"error_type": r["error_type"] or "timeout", "count": int(r["n"])}
            )
        axis = self._axis(where, S.c.start_time, buckets)
        series: dict[str, list[int]] = {}
        fails: dict[str, list[int]] = {}
        if axis is not None:
            b = self._bucket(S.c.start_time, axis["start_ms"], axis["width_ms"]).label("b")
            for r in self._rows(
                select(
                    S.c.agent_name,
                    b,
                    func.sum(case((S.c.status == "skipped", 0), else_=1)).label("n"),
                    func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                )
                .where(*where)
                .group_by(S.c.agent_name, b)
            ):
                i = r["b"]
                if i is None or i < 0 or i >= axis["buckets"]:
                    continue
                s = series.setdefault(r["agent_name"], [0] * axis["buckets"])
                f = fails.setdefault(r["agent_name"], [0] * axis["buckets"])
                s[int(i)] += int(r["n"] or 0)
                f[int(i)] += int(r["bad"] or 0)
        out = []
        for r in base:
            name = r["agent_name"]
            n = int(r["n"])
            ok = int(r["ok"] or 0)
            bad = int(r["bad"] or 0)
            skip = int(r["skip"] or 0)
            lr = llm.get(name)
            p = pct.get(name, {})
            out.append(
                {
                    "agent_name": name,
                    "invocations": n,
                    "ran": n - skip,
                    "success": ok,
                    "failed": bad,
                    "skipped": skip,
                    "success_rate": _round(ok / (ok + bad), 4) if ok + bad else None,
                    "skip_rate": _round(skip / n, 4) if n else None,
                    "avg_ms": _round(r["avg"]),
                    "p50_ms": p.get(50),
                    "p95_ms": p.get(95),
                    "last_ms": _dt_ms(r["last"]),
                    "llm_calls": int(lr["n"]) if lr else 0,
                    "tokens": int(lr["tokens"] or 0) if lr else 0,
                    "cost": _round(lr["cost"], 6) if lr and lr["cost"] is not None else 0.0,
                    "llm_latency_ms": _round(lr["lat"]) if lr else None,
                    "errors": errs.get(name, [])[:5],
                    "series": series.get(name, []),
                    "failure_series": fails.get(name, []),
                }
            )
        return {"axis": axis, "agents": out}

    def conversations(self, scope: Scope, limit: int = 300) -> list[dict[str, Any]]:
        """Recent conversations: the agents invoked, skipped and failed in each."""
        where = self._span_scope(scope, S.c.kind == "agent", S.c.conversation_id.is_not(None))
        rows = self._rows(
            select(
                S.c.conversation_id,
                func.max(S.c.start_time).label("last"),
                func.count().label("n"),
                func.sum(case((S.c.status == "skipped", 1), else_=0)).label("skip"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
            )
            .where(*where)
            .group_by(S.c.conversation_id)
            .order_by(func.max(S.c.start_time).desc())
            .limit(limit)
        )
        return [
            {
                "conversation_id": r["conversation_id"],
                "last_ms": _dt_ms(r["last"]),
                "invocations": int(r["n"]),
                "skipped": int(r["skip"] or 0),
                "failed": int(r["bad"] or 0),
            }
            for r in rows
        ]

    def why(self, scope: Scope, agent: str, conversation_id: str | None) -> dict[str, Any]:
        """Why ``agent`` did (not) fire in a conversation: the analytics' answer, and every
        agent's relevance decision in that conversation."""
        from ..analytics import ExecutionAnalytics

        analytics = ExecutionAnalytics(self.engine, project=scope.project, flush=False)
        answer = analytics.debug_why_agent_didnt_fire(agent, conversation_id)
        answer = _jsonable(answer)
        decisions: list[dict[str, Any]] = []
        threshold: float | None = None
        if conversation_id:
            rows = self._rows(
                select(
                    S.c.id,
                    S.c.trace_id,
                    S.c.agent_name,
                    S.c.name,
                    S.c.status,
                    S.c.start_time,
                    S.c.duration_ms,
                    S.c.attributes,
                    S.c.status_message,
                    S.c.error_type,
                    S.c.error_message,
                    S.c.parent_id,
                )
                .where(
                    S.c.conversation_id == conversation_id,
                    S.c.kind == "agent",
                    *self._project(S, scope),
                )
                .order_by(S.c.start_time)
                .limit(500)
            )
            for r in rows:
                a = r["attributes"] or {}
                decisions.append(
                    {
                        "span_id": r["id"],
                        "trace_id": r["trace_id"],
                        "agent_name": r["agent_name"],
                        "name": r["name"],
                        "status": r["status"],
                        "start_ms": _dt_ms(r["start_time"]),
                        "duration_ms": _round(r["duration_ms"]),
                        "relevance_score": _num(a.get("relevance_score")),
                        "should_respond": a.get("should_respond"),
                        "reasoning": _short(
                            a.get("relevance_reasoning")
                            or (r["status_message"] if r["status"] == "skipped" else None),
                            500,
                        ),
                        "call_reason": _short(a.get("call_reason"), 500),
                        "error_type": r["error_type"],
                        "error_message": _short(r["error_message"], 500),
                        "is_root": r["parent_id"] is None,
                    }
                )
            traces = sorted({d["trace_id"] for d in decisions})
            if traces:
                for e in self._rows(
                    select(E.c.data)
                    .where(
                        E.c.trace_id.in_(traces), E.c.type == "decision", *self._project(E, scope)
                    )
                    .limit(200)
                ):
                    t = _num((e["data"] or {}).get("threshold"))
                    if t is not None:
                        threshold = t
                        break
        return {
            "agent_name": agent,
            "conversation_id": conversation_id,
            "answer": answer,
            "decisions": decisions,
            "threshold": threshold,
        }

    # -- errors --------------------------------------------------------------------------------
    def errors(self, scope: Scope, buckets: int = 40) -> dict[str, Any]:
        """Errors in the range (ERROR/CRITICAL events, and failed spans no error event
        reports), grouped into patterns, over time, by agent and type."""
        ev = self._rows(
            select(
                E.c.id,
                E.c.trace_id,
                E.c.span_id,
                E.c.session_id,
                E.c.timestamp,
                E.c.type,
                E.c.name,
                E.c.level,
                E.c.agent_name,
                E.c.message,
                E.c.data,
            )
            .where(*self._event_scope(scope, E.c.level.in_(ERROR_LEVELS)))
            .order_by(E.c.timestamp.desc())
            .limit(ERRORS_MAX)
        )
        sp = self._rows(
            select(
                S.c.id,
                S.c.trace_id,
                S.c.parent_id,
                S.c.session_id,
                S.c.start_time,
                S.c.end_time,
                S.c.kind,
                S.c.name,
                S.c.status,
                S.c.agent_name,
                S.c.error_type,
                S.c.error_message,
                S.c.status_message,
            )
            .where(*self._span_scope(scope, S.c.status.in_(FAILED)))
            .order_by(S.c.start_time.desc())
            .limit(ERRORS_MAX)
        )
        items: list[dict[str, Any]] = []
        reported: set[tuple[Any, Any]] = set()
        reported_spans: set[Any] = set()
        for r in ev:
            d = r["data"] or {}
            etype = _short_type(d.get("error_type")) or (
                r["name"] if r["type"] == "error" else None
            )
            reported.add((r["trace_id"], _short_type(d.get("error_type"))))
            if r["span_id"]:
                reported_spans.add(r["span_id"])
            items.append(
                {
                    "id": r["id"],
                    "record": "event",
                    "time_ms": _dt_ms(r["timestamp"]),
                    "trace_id": r["trace_id"],
                    "span_id": r["span_id"],
                    "session_id": r["session_id"],
                    "agent_name": r["agent_name"],
                    "error_type": etype,
                    "level": r["level"],
                    "what": f"{r['type']} {r['name']}",
                    "message": _short(r["message"] or d.get("error_message") or r["name"], 500),
                }
            )
        for r in sp:
            key = (r["trace_id"], _short_type(r["error_type"]))
            if r["id"] in reported_spans or (r["trace_id"] is not None and key in reported):
                continue
            when = r["end_time"] or r["start_time"]
            items.append(
                {
                    "id": r["id"],
                    "record": "span",
                    "time_ms": _dt_ms(when),
                    "trace_id": r["trace_id"],
                    "span_id": r["id"],
                    "session_id": r["session_id"],
                    "agent_name": r["agent_name"],
                    "error_type": _short_type(r["error_type"]) or r["status"],
                    "level": "ERROR",
                    "what": f"{r['kind']} {r['name']} {r['status']}",
                    "message": _short(
                        r["error_message"] or r["status_message"] or r["status"], 500
                    ),
                }
            )
        items.sort(key=lambda i: (-(i["time_ms"] or 0.0), i["id"]))
        # a pattern: one error type in one agent; its message variants (ids and numbers
        # folded) are listed under it
        patterns: dict[tuple[Any, ...], dict[str, Any]] = {}
        for i in items:
            key = (i["error_type"], i["agent_name"])
            p = patterns.get(key)
            if p is None:
                p = patterns[key] = {
                    "error_type": i["error_type"],
                    "agent_name": i["agent_name"],
                    "count": 0,
                    "first_ms": i["time_ms"],
                    "last_ms": i["time_ms"],
                    "example_id": i["id"],
                    "example_message": i["message"],
                    "traces": set(),
                    "variants": Counter(),
                    "records": Counter(),
                }
            p["count"] += 1
            p["first_ms"] = min(p["first_ms"], i["time_ms"])
            p["variants"][_normalize_message(str(i["message"] or ""))] += 1
            p["records"][i["what"]] += 1
            if i["trace_id"]:
                p["traces"].add(i["trace_id"])
        pattern_list = []
        for p in sorted(patterns.values(), key=lambda p: (-p["count"], -(p["last_ms"] or 0))):
            p["traces"] = len(p["traces"])
            variants = p.pop("variants")
            p["pattern"] = variants.most_common(1)[0][0] if variants else ""
            p["variants"] = [{"message": m, "count": n} for m, n in variants.most_common(5)]
            p["distinct_messages"] = len(variants)
            p["recorded_as"] = dict(p.pop("records").most_common(3))
            pattern_list.append(p)
        by_agent = Counter(str(i["agent_name"] or "(no agent)") for i in items)
        by_type = Counter(str(i["error_type"] or "error") for i in items)
        series: list[dict[str, Any]] = []
        if items:
            lo = min(i["time_ms"] for i in items)
            hi = max(i["time_ms"] for i in items)
            width = _nice_width_ms(hi - lo, buckets)
            start = math.floor(lo / width) * width
            n = int((hi - start) // width) + 1
            counts: list[Counter[str]] = [Counter() for _ in range(n)]
            for i in items:
                counts[int((i["time_ms"] - start) // width)][
                    str(i["agent_name"] or "(no agent)")
                ] += 1
            series = [
                {"t": start + k * width, "total": sum(c.values()), "by_agent": dict(c)}
                for k, c in enumerate(counts)
            ]
        return {
            "total": len(items),
            "truncated": len(ev) >= ERRORS_MAX or len(sp) >= ERRORS_MAX,
            "errors": items[:500],
            "patterns": pattern_list[:100],
            "by_agent": dict(by_agent.most_common()),
            "by_type": dict(by_type.most_common()),
            "series": series,
        }

    def causality(
        self, scope: Scope, record_id: str, lookback_s: float = 60.0, limit: int = 15
    ) -> dict[str, Any]:
        """What plausibly led to an error (an event or a failed span): the session's
        :class:`~tracehound.analysis.LogAnalyzer` causality chain, oldest first."""
        from ..model import Event, Span

        record: Span | Event
        sp = self._rows(select(S).where(S.c.id == record_id, *self._project(S, scope)))
        if sp:
            record = _span_record(sp[0])
        else:
            ev = self._rows(select(E).where(E.c.id == record_id, *self._project(E, scope)))
            if not ev:
                raise NotFound(f"no error record {record_id!r}")
            record = _event_record(ev[0])
        err_ns = record.start_time if isinstance(record, Span) else record.timestamp
        if isinstance(record, Span) and record.end_time is not None:
            err_ns = record.end_time
        method = "analyzer"
        try:
            chain = self._analyzer(record.session_id).find_causality_chain(
                record, lookback_seconds=lookback_s, limit=limit
            )
        except Exception:  # the analysis is optional here: fall back to the trace's own records
            chain = []
        if not chain:
            # e.g. a failed root span: the analyzer looks before its start, the trace's own
            # records ran before its end
            method = "trace"
            chain = self._fallback_chain(scope, record, err_ns, limit)
        items = []
        for c in chain:
            ts = c.get("timestamp_ns")
            items.append(
                {
                    "id": c.get("id"),
                    "rank": c.get("rank"),
                    "score": c.get("score"),
                    "record": c.get("record"),
                    "type": c.get("type") or c.get("event_type"),
                    "kind": c.get("kind"),
                    "name": c.get("name"),
                    "status": c.get("status"),
                    "level": c.get("level"),
                    "agent_name": c.get("agent") or c.get("agent_name"),
                    "message": _short(c.get("message"), 500),
                    "error_type": c.get("error_type"),
                    "trace_id": c.get("trace_id"),
                    "span_id": c.get("span_id") if c.get("record") == "event" else c.get("id"),
                    "time_ms": ms(ts) if isinstance(ts, int) else None,
                    "seconds_before": c.get("seconds_before"),
                    "reasons": list(c.get("reasons") or []),
                }
            )
        items.sort(key=lambda i: (i["time_ms"] or 0.0, i["id"] or ""))
        if isinstance(record, Span):
            target = {
                "id": record.id,
                "record": "span",
                "kind": record.kind,
                "name": record.name,
                "status": record.status,
                "agent_name": record.agent_name,
                "error_type": record.error_type,
                "message": _short(record.error_message or record.status_message, 1000),
                "traceback": record.error_traceback,
                "trace_id": record.trace_id,
                "span_id": record.id,
                "time_ms": ms(err_ns),
            }
        else:
            d = record.data or {}
            target = {
                "id": record.id,
                "record": "event",
                "type": record.type,
                "name": record.name,
                "level": record.level,
                "agent_name": record.agent_name,
                "error_type": d.get("error_type"),
                "message": _short(record.message, 1000),
                "traceback": d.get("traceback") if isinstance(d.get("traceback"), str) else None,
                "trace_id": record.trace_id,
                "span_id": record.span_id,
                "time_ms": ms(err_ns),
            }
        return {
            "error": _jsonable(target),
            "chain": _jsonable(items),
            "method": method,
            "lookback_s": lookback_s,
        }

    def _analyzer(self, session_id: str) -> Any:
        from ..analysis import LogAnalyzer, StoreSource

        now = time.monotonic()
        with self._lock:
            hit = self._analyzers.get(session_id)
            if hit is not None and now - hit[0] < _ANALYZER_TTL_S:
                return hit[1]
        analyzer = LogAnalyzer(
            source=StoreSource(self.url, session_id=session_id, engine=self.engine)
        )
        with self._lock:
            if len(self._analyzers) > 16:
                self._analyzers.clear()
            self._analyzers[session_id] = (now, analyzer)
        return analyzer

    def _fallback_chain(
        self, scope: Scope, record: Any, err_ns: int, limit: int
    ) -> list[dict[str, Any]]:
        if record.trace_id is None:
            return []
        spans_before = self._rows(
            select(S)
            .where(
                S.c.trace_id == record.trace_id,
                S.c.start_time <= ns_to_datetime(err_ns),
                S.c.id != record.id,
                *self._project(S, scope),
            )
            .order_by(S.c.start_time.desc())
            .limit(limit)
        )
        events_before = self._rows(
            select(E)
            .where(
                E.c.trace_id == record.trace_id,
                E.c.timestamp <= ns_to_datetime(err_ns),
                E.c.id != record.id,
                *self._project(E, scope),
            )
            .order_by(E.c.timestamp.desc())
            .limit(limit)
        )
        out: list[dict[str, Any]] = []
        for r in spans_before:
            t = datetime_to_ns(r["start_time"])
            out.append(
                {
                    "id": r["id"],
                    "record": "span",
                    "kind": r["kind"],
                    "name": r["name"],
                    "status": r["status"],
                    "agent": r["agent_name"],
                    "message": r["error_message"]
                    or r["status_message"]
                    or f"{r['kind']} {r['name']}",
                    "error_type": r["error_type"],
                    "trace_id": r["trace_id"],
                    "timestamp_ns": t,
                    "seconds_before": round((err_ns - t) / 1e9, 6),
                    "reasons": ["same trace"],
                    "level": "ERROR" if r["status"] in FAILED else "INFO",
                }
            )
        for r in events_before:
            t = datetime_to_ns(r["timestamp"])
            out.append(
                {
                    "id": r["id"],
                    "record": "event",
                    "type": r["type"],
                    "name": r["name"],
                    "agent": r["agent_name"],
                    "message": r["message"],
                    "level": r["level"],
                    "trace_id": r["trace_id"],
                    "span_id": r["span_id"],
                    "timestamp_ns": t,
                    "seconds_before": round((err_ns - t) / 1e9, 6),
                    "reasons": ["same trace"],
                }
            )
        out.sort(key=lambda c: c["seconds_before"])
        out = out[:limit]
        for rank, c in enumerate(out, 1):
            c["rank"] = rank
        return out

    # -- cost ----------------------------------------------------------------------------------
    def cost(self, scope: Scope, buckets: int = 40) -> dict[str, Any]:
        """LLM tokens and cost by provider, model and agent (tables and a time series), and
        the calls whose price is unknown."""
        where = self._span_scope(scope, S.c.kind == "llm")
        unknown = unpriced_llm()
        groups = self._rows(
            select(
                S.c.provider,
                S.c.model,
                S.c.agent_name,
                func.count().label("n"),
                func.sum(S.c.input_tokens).label("inp"),
                func.sum(S.c.output_tokens).label("out"),
                func.sum(S.c.total_tokens).label("tot"),
                func.sum(S.c.total_cost).label("cost"),
                func.sum(case((unknown, 1), else_=0)).label("unpriced"),
                func.sum(case((S.c.status.in_(FAILED), 1), else_=0)).label("bad"),
                func.avg(S.c.duration_ms).label("lat"),
            )
            .where(*where)
            .group_by(S.c.provider, S.c.model, S.c.agent_name)
        )
        combos: list[dict[str, Any]] = [
            {
                "provider": r["provider"] or "unknown",
                "model": r["model"] or "unknown",
                "agent_name": r["agent_name"] or "(no agent)",
                "calls": int(r["n"]),
                "input_tokens": int(r["inp"] or 0),
                "output_tokens": int(r["out"] or 0),
                "total_tokens": int(r["tot"] or 0),
                "cost": _round(r["cost"], 6) if r["cost"] is not None else 0.0,
                "unpriced_calls": int(r["unpriced"] or 0),
                "failed_calls": int(r["bad"] or 0),
                "avg_latency_ms": _round(r["lat"]),
            }
            for r in groups
        ]

        def roll(key: str) -> list[dict[str, Any]]:
            acc: dict[str, dict[str, Any]] = {}
            for c in combos:
                a = acc.setdefault(
                    c[key],
                    {
                        key: c[key],
                        "calls": 0,
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "total_tokens": 0,
                        "cost": 0.0,
                        "unpriced_calls": 0,
                        "failed_calls": 0,
                    },
                )
                for f in (
                    "calls",
                    "input_tokens",
                    "output_tokens",
                    "total_tokens",
                    "unpriced_calls",
                    "failed_calls",
                ):
                    a[f] += c[f]
                a["cost"] = round(a["cost"] + (c["cost"] or 0.0), 6)
                if key == "model":
                    a["provider"] = c["provider"]
            return sorted(acc.values(), key=lambda a: (-a["cost"], -a["total_tokens"]))

        axis = self._axis(where, S.c.start_time, buckets)
        series: list[dict[str, Any]] = []
        if axis is not None:
            b = self._bucket(S.c.start_time, axis["start_ms"], axis["width_ms"]).label("b")
            for r in self._rows(
                select(
                    b,
                    S.c.provider,
                    S.c.model,
                    S.c.agent_name,
                    func.count().label("n"),
                    func.sum(S.c.input_tokens).label("inp"),
                    func.sum(S.c.output_tokens).label("out"),
                    func.sum(S.c.total_cost).label("cost"),
                )
                .where(*where)
                .group_by(b, S.c.provider, S.c.model, S.c.agent_name)
            ):
                if r["b"] is None:
                    continue
                series.append(
                    {
                        "b": int(r["b"]),
                        "provider": r["provider"] or "unknown",
                        "model": r["model"] or "unknown",
                        "agent_name": r["agent_name"] or "(no agent)",
                        "calls": int(r["n"]),
                        "input_tokens": int(r["inp"] or 0),
                        "output_tokens": int(r["out"] or 0),
                        "cost": _round(r["cost"], 6) if r["cost"] is not None else 0.0,
                    }
                )
        unpriced = self._rows(
            select(
                S.c.id,
                S.c.trace_id,
                S.c.start_time,
                S.c.provider,
                S.c.model,
                S.c.agent_name,
                S.c.input_tokens,
                S.c.output_tokens,
                S.c.cost_source,
                S.c.status,
            )
            .where(*where, unknown)
            .order_by(S.c.start_time.desc())
            .limit(100)
        )
        total_cost = sum(c["cost"] or 0.0 for c in combos)
        return {
            "axis": axis,
            "totals": {
                "calls": sum(c["calls"] for c in combos),
                "input_tokens": sum(c["input_tokens"] for c in combos),
                "output_tokens": sum(c["output_tokens"] for c in combos),
                "total_tokens": sum(c["total_tokens"] for c in combos),
                "cost": round(total_cost, 6),
                "unpriced_calls": sum(c["unpriced_calls"] for c in combos),
            },
            "by_provider": roll("provider"),
            "by_model": roll("model"),
            "by_agent": roll("agent_name"),
            "series": series,
            "unpriced": [
                {
                    "span_id": r["id"],
                    "trace_id": r["trace_id"],
                    "start_ms": _dt_ms(r["start_time"]),
                    "provider": r["provider"],
                    "model": r["model"],
                    "agent_name": r["agent_name"],
                    "input_tokens": r["input_tokens"],
                    "output_tokens": r["output_tokens"],
                    "cost_source": r["cost_source"],
                    "status": r["status"],
                }
                for r in unpriced
            ],
        }

    # -- learning ------------------------------------------------------------------------------
    def learning(self, scope: Scope) -> dict[str, Any]:
        """Per agent: rewards over time, exploration vs exploitation, training metrics and
        whether they converged (from ``learning.*`` events)."""
        rows = self._rows(
            select(E.c.agent_name, E.c.type, E.c.name, E.c.timestamp, E.c.data)
            .where(
                *self._event_scope(
                    scope,
                    E.c.type.in_(
                        ("learning.reward", "learning.explore", "learning.step", "learning.update")
                    ),
                )
            )
            .order_by(E.c.timestamp)
            .limit(LEARNING_MAX)
        )
        agents: dict[str, dict[str, Any]] = {}
        for r in rows:
            name = r["agent_name"] or "(no agent)"
            a = agents.setdefault(
                name,
                {"rewards": [], "explore": [], "steps": [], "signals": [], "metrics": set()},
            )
            d = r["data"] or {}
            t = _dt_ms(r["timestamp"])
            if r["type"] == "learning.reward":
                reward = _num(d.get("reward"))
                if reward is not None:
                    a["rewards"].append([t, reward, _num(d.get("cumulative_reward"))])
            elif r["type"] == "learning.explore":
                flag = d.get("exploration")
                if isinstance(flag, bool):
                    a["explore"].append(
                        [t, flag, _num(d.get("epsilon")), _short(d.get("action_selected"), 80)]
                    )
            elif r["type"] == "learning.step":
                nested = d.get("metrics")
                metrics: Mapping[str, Any] = nested if isinstance(nested, dict) else d
                point: dict[str, float] = {}
                for k, v in metrics.items():
                    number = _num(v)
                    if number is not None and k not in ("step", "learning_rate", "epsilon"):
                        point[str(k)] = number
                a["metrics"].update(point)
                a["steps"].append([t, _num(d.get("step")), point])
            else:
                if (
                    d.get("event_type") == "convergence"
                    or r["name"] == "convergence"
                    or "converged" in d
                ):
                    a["signals"].append(
                        {
                            "t": t,
                            "metric": _short(d.get("metric"), 80),
                            "converged": bool(d.get("converged")),
                        }
                    )
        out = []
        for name, a in sorted(agents.items()):
            rewards = a["rewards"]
            values = [x[1] for x in rewards]
            cumulative = 0.0
            for x in rewards:
                cumulative += x[1]
                if x[2] is None:
                    x[2] = round(cumulative, 6)
            explore = a["explore"]
            explored = sum(1 for x in explore if x[1])
            metric_names = sorted(a["metrics"])
            conv = {
                m: _convergence([s[2].get(m) for s in a["steps"] if s[2].get(m) is not None])
                for m in metric_names
            }
            reward_conv = _convergence(values)
            out.append(
                {
                    "agent_name": name,
                    "rewards": rewards,
                    "reward_count": len(values),
                    "total_reward": _round(math.fsum(values), 6) if values else 0.0,
                    "average_reward": _round(math.fsum(values) / len(values), 6)
                    if values
                    else None,
                    "reward_trend": _trend(values),
                    "reward_convergence": reward_conv,
                    "explore": explore,
                    "exploration_count": explored,
                    "exploitation_count": len(explore) - explored,
                    "exploration_rate": _round(explored / len(explore), 4) if explore else None,
                    "latest_epsilon": next(
                        (x[2] for x in reversed(explore) if x[2] is not None), None
                    ),
                    "steps": a["steps"],
                    "metrics": metric_names,
                    "convergence": conv,
                    "signals": a["signals"],
                }
            )
        return {"agents": out, "truncated": len(rows) >= LEARNING_MAX}

    # -- interactions --------------------------------------------------------------------------
    def interactions(self, scope: Scope) -> dict[str, Any]:
        """Interaction events: counts by type, agent collaboration edges, and reshare
        cascades as trees (``nodes`` with parent links)."""
        rows = self._rows(
            select(E.c.id, E.c.timestamp, E.c.name, E.c.agent_name, E.c.trace_id, E.c.data)
            .where(*self._event_scope(scope, E.c.type == "interaction"))
            .order_by(E.c.timestamp)
            .limit(INTERACTIONS_MAX)
        )
        by_type: Counter[str] = Counter()
        edges: Counter[tuple[str, str]] = Counter()
        edge_types: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        cascades: dict[str, dict[str, Any]] = {}
        engagement: dict[str, Counter[str]] = defaultdict(Counter)
        for r in rows:
            d = r["data"] or {}
            itype = str(d.get("interaction_type") or r["name"] or "interaction")
            by_type[itype] += 1
            source = _text(d, ("from_agent", "source_agent", "agent")) or r["agent_name"]
            target = _text(d, ("to_agent", "target_agent"))
            members = d.get("agents")
            targets = [target] if target else []
            if isinstance(members, list) and not targets:
                targets = [m for m in members[1:] if isinstance(m, str)]
            is_share = itype.lower() in ("share", "reshare", "repost", "retweet")
            if source and not is_share and "content_id" not in d:
                for t in targets:
                    if t and t != source:
                        edges[(source, t)] += 1
                        edge_types[(source, t)][itype] += 1
            t_ms = _dt_ms(r["timestamp"])
            if is_share:
                step = _cascade_step(d, itype, r["agent_name"])
                if step is None:
                    continue
                root, node, parent, actor, depth = step
                c = cascades.setdefault(
                    root,
                    {
                        "root": root,
                        "origin": _text(d, ("origin_agent", "content_owner", "owner", "author")),
                        "platform": _short(d.get("platform"), 80),
                        "trace_id": r["trace_id"],
                        "nodes": {
                            root: {"id": root, "parent": None, "actor": None, "depth": 0, "t": t_ms}
                        },
                        "first_ms": t_ms,
                        "last_ms": t_ms,
                    },
                )
                c["last_ms"] = t_ms
                nodes = c["nodes"]
                if parent not in nodes:
                    nodes[parent] = {
                        "id": parent,
                        "parent": root if parent != root else None,
                        "actor": None,
                        "depth": max(depth - 1, 1),
                        "t": t_ms,
                    }
                if node not in nodes and len(nodes) < 2000:
                    nodes[node] = {
                        "id": node,
                        "parent": parent,
                        "actor": actor,
                        "depth": depth,
                        "t": t_ms,
                    }
            else:
                cid = d.get("content_id")
                if isinstance(cid, str):
                    engagement[cid][itype] += 1
        cascade_list = []
        for c in cascades.values():
            nodes = list(c["nodes"].values())
            depth = max((n["depth"] for n in nodes), default=0)
            eng = engagement.get(c["root"], Counter())
            cascade_list.append(
                {
                    "root": c["root"],
                    "origin": c["origin"],
                    "platform": c["platform"],
                    "trace_id": c["trace_id"],
                    "reach": len(nodes) - 1,
                    "depth": depth,
                    "resharers": len({n["actor"] for n in nodes if n["actor"]}),
                    "likes": eng.get("like", 0),
                    "comments": eng.get("comment", 0),
                    "first_ms": c["first_ms"],
                    "last_ms": c["last_ms"],
                    "nodes": nodes,
                }
            )
        cascade_list.sort(key=lambda c: (-c["reach"], -c["depth"], c["root"]))
        return {
            "total": len(rows),
            "truncated": len(rows) >= INTERACTIONS_MAX,
            "by_type": dict(by_type.most_common()),
            "collaboration": [
                {"source": s, "target": t, "count": n, "types": dict(edge_types[(s, t)])}
                for (s, t), n in edges.most_common(200)
            ],
            "cascades": cascade_list[:100],
            "total_cascades": len(cascade_list),
        }


# -- helpers -----------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _cascade_step(
    d: Mapping[str, Any], itype: str, agent: str | None
) -> tuple[str, str, str, str | None, int] | None:
    """(cascade root, node, parent node, actor, depth) of a share/reshare event, for both the
    content-tree convention (``content_id``, ``parent_content_id``, ``cascade_root``) and
    seed 000's agent convention (``content_id`` + ``source_agent`` ← ``target_agent``)."""
    cid = d.get("content_id")
    if not isinstance(cid, str | int) or isinstance(cid, bool):
        return None
    content = str(cid)
    actor = _text(d, ("actor_id", "source_agent", "resharer", "agent")) or agent
    depth_value = d.get("depth")
    depth = (
        int(depth_value)
        if isinstance(depth_value, int) and not isinstance(depth_value, bool)
        else 1
    )
    parent_content = d.get("parent_content_id")
    if isinstance(parent_content, str | int) and not isinstance(parent_content, bool):
        root = d.get("cascade_root")
        root_id = (
            str(root)
            if isinstance(root, str | int) and not isinstance(root, bool)
            else str(parent_content)
        )
        return root_id, content, str(parent_content), actor, max(depth, 1)
    # agent convention: nodes are resharers of one piece of content
    origin = _text(d, ("origin_agent", "content_owner", "owner"))
    parent_agent = _text(d, ("target_agent", "parent_agent"))
    node = f"{content}/{actor}"
    parent = content if not parent_agent or parent_agent == origin else f"{content}/{parent_agent}"
    return content, node, parent, actor, max(depth, 1)


def _trend(values: Sequence[float]) -> dict[str, Any]:
    if len(values) < 4:
        return {"direction": "insufficient_data", "change": None}
    half = len(values) // 2
    first = math.fsum(values[:half]) / half
    second = math.fsum(values[half:]) / (len(values) - half)
    change = second - first
    scale = max(abs(first), abs(second), 1e-9)
    if abs(change) / scale < 0.05:
        direction = "stable"
    else:
        direction = "improving" if change > 0 else "declining"
    return {
        "direction": direction,
        "change": _round(change, 6),
        "first_half": _round(first, 6),
        "second_half": _round(second, 6),
    }


def _convergence(values: Sequence[float], tolerance: float = 0.05) -> dict[str, Any]:
    """Converged when the mean of the last quarter differs from the quarter before it by less
    than ``tolerance`` (relative)."""
    n = len(values)
    if n < 8:
        return {"converged": None, "reason": "not enough samples", "samples": n}
    w = max(2, n // 4)
    recent = math.fsum(values[-w:]) / w
    previous = math.fsum(values[-2 * w : -w]) / w
    scale = max(abs(previous), abs(recent), 1e-9)
    delta = abs(recent - previous) / scale
    return {
        "converged": delta < tolerance,
        "relative_change": _round(delta, 4),
        "recent_mean": _round(recent, 6),
        "previous_mean": _round(previous, 6),
        "window": w,
        "samples": n,
    }


def _jsonable(value: Any) -> Any:
    """Datetimes → ms, mappings/records → dicts, sets → lists, recursively."""
    if isinstance(value, datetime):
        return _dt_ms(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value  # the analytics' status and stage enums
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _span_record(r: RowMapping) -> Any:
    from ..model import Span

    values = []
    for name in Span._fields:
        v = r[name]
        if name in ("start_time", "end_time") and v is not None:
            v = datetime_to_ns(v)
        elif name == "attributes" and v is None:
            v = {}
        values.append(v)
    return Span(*values)


def _event_record(r: RowMapping) -> Any:
    from ..model import Event

    values = []
    for name in Event._fields:
        v = r[name]
        if name == "timestamp":
            v = datetime_to_ns(v)
        elif name == "data" and v is None:
            v = {}
        values.append(v)
    return Event(*values)
