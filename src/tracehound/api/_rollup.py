"""Per-day partial aggregates, so summaries over weeks of data stay fast.

The seed-002 analytics summary and the cost report aggregate every agent and LLM span of a
date range — hundreds of thousands of rows for a month of a busy project. Both are sums,
counts, minima and maxima, so they split by UTC day: the whole days inside the range are
computed once per day and kept (``DayRollups``), only the partial days at its edges are
read each time, and the parts are merged in Python.

Freshness: the server drops a day's entry when it stores records of that day (its own
ingest); records written by other processes straight into the store show up once the entry
expires — ``recent_ttl`` (30 s) for the last two days, ``old_ttl`` (10 min) before that.
The answers are those of :meth:`tracehound.analytics.ExecutionAnalytics.get_analytics_summary`
(same fields, same rules); with a ``report_id`` the summary is asked of it directly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, case, func, literal, select

from ..analytics._analytics import llm_total_columns
from ..model import SPAN_STATUSES, Record, Span
from ..store._dialect import time_bucket
from ..store._schema import spans as S

__all__ = ["DayRollups", "cost_summary", "seed002_summary"]

DAY: Final = timedelta(days=1)
_SEED002: Final = {"success": "completed", "running": "started", "pending": "started"}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

Rows = list[tuple[Any, ...]]


def _floor_day(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def split_days(
    start: datetime, end: datetime
) -> tuple[list[datetime], list[tuple[datetime, datetime, bool]]]:
    """``(whole days, edges)`` of the inclusive range [start, end]: the UTC days wholly
    inside it, and the partial pieces ``(lo, hi, hi_inclusive)`` around them."""
    first = _floor_day(start)
    if first < start:
        first += DAY
    last = _floor_day(end)  # days [first, last) are whole
    if last <= first:
        return [], [(start, end, True)]
    days = []
    d = first
    while d < last:
        days.append(d)
        d += DAY
    edges = []
    if start < first:
        edges.append((start, first, False))
    edges.append((last, end, True))
    return days, edges


class DayRollups:
    """A cache of per-day partial aggregates: ``(name, project, day) → rows``."""

    def __init__(
        self, *, recent_ttl: float = 30.0, old_ttl: float = 600.0, max_entries: int = 50_000
    ) -> None:
        self.recent_ttl = recent_ttl
        self.old_ttl = old_ttl
        self.max_entries = max_entries
        self._data: dict[tuple[str, str, datetime], tuple[float, Rows]] = {}
        self._lock = threading.Lock()

    def get(
        self,
        name: str,
        project: str,
        days: Sequence[datetime],
        compute: Callable[[list[datetime]], dict[datetime, Rows]],
    ) -> dict[datetime, Rows]:
        """The rows of each day, computing (with one call) the days not cached."""
        now = time.monotonic()
        found: dict[datetime, Rows] = {}
        missing: list[datetime] = []
        with self._lock:
            for day in days:
                hit = self._data.get((name, project, day))
                if hit is not None and hit[0] > now:
                    found[day] = hit[1]
                else:
                    missing.append(day)
        if missing:
            computed = compute(missing)
            recent = datetime.now(UTC) - 2 * DAY
            with self._lock:
                if len(self._data) + len(missing) > self.max_entries:
                    self._data.clear()
                for day in missing:
                    rows = computed.get(day, [])
                    ttl = self.recent_ttl if day + DAY > recent else self.old_ttl
                    self._data[(name, project, day)] = (now + ttl, rows)
                    found[day] = rows
        return found

    def forget(self, project: str) -> None:
        """Forget every day of a project (after a deletion)."""
        with self._lock:
            for key in [k for k in self._data if k[1] == project]:
                del self._data[key]

    def invalidate(self, project: str, records: Iterable[Record]) -> None:
        """Forget the days of these records (called after the server stores them)."""
        days = {
            _EPOCH + timedelta(days=r.start_time // 86_400_000_000_000)
            for r in records
            if type(r) is Span and r.kind in ("agent", "llm")
        }
        if not days:
            return
        with self._lock:
            for key in [k for k in self._data if k[1] == project and k[2] in days]:
                del self._data[key]


# -- the seed-002 summary ------------------------------------------------------------------------
def _summary_query(
    kind: str,
    keys: list[Any],
    aggregates: list[Any],
    project: str,
    lo: datetime,
    hi: datetime,
    inclusive: bool,
    bucket: Any = None,
) -> Any:
    """``aggregates`` of the ``kind`` spans in ``[lo, hi)`` (``]`` when inclusive), grouped by
    ``keys`` (and by ``bucket`` first, when given)."""
    group = [bucket, *keys] if bucket is not None else list(keys)
    cols = [bucket.label("bucket"), *keys] if bucket is not None else list(keys)
    upper = S.c.start_time <= hi if inclusive else S.c.start_time < hi
    return (
        select(*cols, *aggregates)
        .where(
            S.c.project == project,
            S.c.kind == kind,
            S.c.status.in_(SPAN_STATUSES),
            S.c.start_time >= lo,
            upper,
        )
        .group_by(*group)
    )


def _exec_query(
    project: str, lo: datetime, hi: datetime, inclusive: bool, bucket: Any = None
) -> Any:
    aggregates = [
        func.count().label("n"),
        func.sum(S.c.duration_ms).label("dsum"),
        func.count(S.c.duration_ms).label("dn"),
        func.min(S.c.duration_ms).label("dmin"),
        func.max(S.c.duration_ms).label("dmax"),
    ]
    keys = [S.c.agent_name, S.c.status]
    return _summary_query("agent", keys, aggregates, project, lo, hi, inclusive, bucket)


def _llm_query(
    project: str, lo: datetime, hi: datetime, inclusive: bool, bucket: Any = None
) -> Any:
    keys = [S.c.provider, S.c.model]
    return _summary_query("llm", keys, llm_total_columns(), project, lo, hi, inclusive, bucket)


def _by_day(
    engine: Engine, make: Callable[..., Any], project: str, days: list[datetime]
) -> dict[datetime, Rows]:
    """Rows per day for the given days (one query over their span, bucketed by day)."""
    bucket = time_bucket(S.c.start_time, 86_400, engine.dialect.name)
    lo, hi = min(days), max(days) + DAY
    wanted = set(days)
    out: dict[datetime, Rows] = {d: [] for d in days}
    with engine.connect() as conn:
        for row in conn.execute(make(project, lo, hi, False, bucket)):
            day = row[0]
            if isinstance(day, datetime):
                day = day.astimezone(UTC)
                if day in wanted:
                    out[day].append(tuple(row[1:]))
    return out


def _ranges(
    engine: Engine,
    make: Callable[..., Any],
    project: str,
    edges: list[tuple[datetime, datetime, bool]],
) -> Rows:
    rows: Rows = []
    with engine.connect() as conn:
        for lo, hi, inclusive in edges:
            rows.extend(tuple(r) for r in conn.execute(make(project, lo, hi, inclusive)))
    return rows


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seed002_summary(
    engine: Engine, rollups: DayRollups, project: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Seed 002's summary (the shape of ``ExecutionAnalytics.get_analytics_summary``)."""
    days, edges = split_days(start, end)
    exec_rows: Rows = _ranges(engine, _exec_query, project, edges)
    llm_rows: Rows = _ranges(engine, _llm_query, project, edges)
    if days:
        for rows in rollups.get(
            "exec", project, days, lambda ds: _by_day(engine, _exec_query, project, ds)
        ).values():
            exec_rows.extend(rows)
        for rows in rollups.get(
            "llm", project, days, lambda ds: _by_day(engine, _llm_query, project, ds)
        ).values():
            llm_rows.extend(rows)

    status_counts: Counter[str] = Counter()
    agent_counts: Counter[str] = Counter()
    dsum, dn = 0.0, 0
    dmin: float | None = None
    dmax: float | None = None
    for agent, status, n, s, c, lo, hi in exec_rows:
        status_counts[str(_SEED002.get(status, status))] += int(n)
        agent_counts[agent or "unknown"] += int(n)
        if c:
            dsum += float(s or 0)
            dn += int(c)
            dmin = lo if dmin is None else min(dmin, lo)
            dmax = hi if dmax is None else max(dmax, hi)
    total = sum(status_counts.values())

    provider_counts: Counter[str] = Counter()
    model_counts: Counter[str] = Counter()
    cost_by_model: dict[str, float] = {}
    tokens = [0, 0, 0, 0, 0]
    cost = icost = ocost = 0.0
    unpriced = 0
    unpriced_models: set[str] = set()
    calls = 0
    for provider, model, n, inp, out, tot, cached, reasoning, c, ic, oc, unp in llm_rows:
        n = int(n)
        calls += n
        provider_counts[provider or "unknown"] += n
        name = model or "unknown"
        model_counts[name] += n
        for i, v in enumerate((inp, out, tot, cached, reasoning)):
            tokens[i] += int(v or 0)
        if c is not None:
            cost += float(c)
            cost_by_model[name] = cost_by_model.get(name, 0.0) + float(c)
        icost += float(ic or 0)
        ocost += float(oc or 0)
        if unp:
            unpriced += int(unp)
            unpriced_models.add(name)
    return {
        "date_range": {"start_date": _iso(start), "end_date": _iso(end)},
        "execution_analytics": {
            "total_executions": total,
            "status_counts": dict(status_counts),
            "success_rate": status_counts.get("completed", 0) / total if total else 0.0,
            "agent_type_counts": dict(agent_counts.most_common()),
            "duration_stats": {
                "avg_duration_ms": _round(dsum / dn) if dn else None,
                "min_duration_ms": _round(dmin),
                "max_duration_ms": _round(dmax),
            },
        },
        "llm_call_analytics": {
            "total_calls": calls,
            "provider_counts": dict(provider_counts.most_common()),
            "model_counts": dict(model_counts.most_common()),
            "token_stats": {
                "total_input_tokens": tokens[0],
                "total_output_tokens": tokens[1],
                "total_tokens": tokens[2],
                "total_cached_tokens": tokens[3],
                "total_reasoning_tokens": tokens[4],
                "total_input_cost": round(icost, 6),
                "total_output_cost": round(ocost, 6),
                "total_cost": round(cost, 6),
            },
            "cost_by_model": {
                k: round(v, 6) for k, v in sorted(cost_by_model.items(), key=lambda kv: -kv[1])
            },
            "unpriced_calls": unpriced,
            "unpriced_models": sorted(unpriced_models),
        },
    }


# -- cost over time ------------------------------------------------------------------------------
_GROUPS: Final = {"provider": S.c.provider, "model": S.c.model, "agent": S.c.agent_name}


def _cost_query_factory(
    group_by: str, width: int, dialect: str, extra: Sequence[Any]
) -> Callable[..., Any]:
    group_col = _GROUPS.get(group_by)

    def make(
        project: str, lo: datetime, hi: datetime, inclusive: bool, day_bucket: Any = None
    ) -> Any:
        bucket = time_bucket(S.c.start_time, width, dialect)
        grp = group_col if group_col is not None else literal(None)
        cols: list[Any] = [
            bucket.label("b"),
            grp.label("g"),
            func.count().label("calls"),
            func.coalesce(func.sum(S.c.input_tokens), 0),
            func.coalesce(func.sum(S.c.output_tokens), 0),
            func.coalesce(func.sum(S.c.total_tokens), 0),
            func.coalesce(func.sum(S.c.total_cost), 0.0),
            func.sum(case((S.c.total_cost.is_(None), 1), else_=0)),
        ]
        group: list[Any] = [bucket] if group_col is None else [bucket, group_col]
        if day_bucket is not None:
            cols.insert(0, day_bucket.label("day"))
            group.insert(0, day_bucket)
        upper = S.c.start_time <= hi if inclusive else S.c.start_time < hi
        return (
            select(*cols)
            .where(
                S.c.project == project,
                S.c.kind == "llm",
                S.c.status.in_(SPAN_STATUSES),
                S.c.start_time >= lo,
                upper,
                *extra,
            )
            .group_by(*group)
        )

    return make


def cost_summary(
    engine: Engine,
    rollups: DayRollups,
    project: str,
    start: datetime,
    end: datetime,
    *,
    group_by: str,
    width: int,
    interval: str,
    agent: str | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """LLM calls per time bucket and group (counts, tokens, cost, unpriced calls). Buckets
    wider than a day (weeks) are assembled from the days' buckets."""
    dialect = engine.dialect.name
    extra = []
    if agent is not None:
        extra.append(S.c.agent_name == agent)
    if provider is not None:
        extra.append(S.c.provider == provider)
    if model is not None:
        extra.append(S.c.model == model)
    inner = min(width, 86_400)
    make = _cost_query_factory(group_by, inner, dialect, extra)
    days, edges = split_days(start, end)
    rows: Rows = _ranges(engine, make, project, edges)
    if days:
        key = f"cost:{group_by}:{inner}:{agent}:{provider}:{model}"
        for day_rows in rollups.get(
            key, project, days, lambda ds: _by_day(engine, make, project, ds)
        ).values():
            rows.extend(day_rows)
    merged: dict[tuple[datetime, str | None], list[Any]] = {}
    for b, g, calls, inp, out, tot, cost, unpriced in rows:
        if not isinstance(b, datetime):
            continue
        b = b.astimezone(UTC)
        if width > inner:
            seconds = int((b - _EPOCH).total_seconds())
            b = _EPOCH + timedelta(seconds=seconds - seconds % width)
        k = (b, None if g is None else str(g))
        acc = merged.setdefault(k, [0, 0, 0, 0, 0.0, 0])
        acc[0] += int(calls)
        acc[1] += int(inp or 0)
        acc[2] += int(out or 0)
        acc[3] += int(tot or 0)
        acc[4] += float(cost or 0.0)
        acc[5] += int(unpriced or 0)
    buckets = []
    total_cost = 0.0
    total_calls = 0
    for (b, g), acc in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        total_cost += acc[4]
        total_calls += acc[0]
        buckets.append(
            {
                "bucket_start": b,
                "group": g,
                "calls": acc[0],
                "input_tokens": acc[1],
                "output_tokens": acc[2],
                "total_tokens": acc[3],
                "total_cost": round(acc[4], 9),
                "unpriced_calls": acc[5],
            }
        )
    return {
        "group_by": group_by,
        "interval": interval,
        "start": start,
        "end": end,
        "total_cost": round(total_cost, 9),
        "total_calls": total_calls,
        "buckets": buckets,
    }
