"""``generate_stats``: per agent, model, tool and event type — counts, rates, latency and cost
distributions — over a time range, from the same SQL aggregation as anomaly detection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from ..store._schema import events as E
from ..store._schema import spans as S
from ._histogram import COST_EDGES, LATENCY_EDGES, quantile
from ._query import Agg, fetch
from ._types import iso

__all__ = ["build_stats"]


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _latency(agg: Agg) -> dict[str, float | None]:
    return {f"p{p}": _r(quantile(agg.lat, p / 100, LATENCY_EDGES), 2) for p in (50, 90, 95, 99)}


def _cost(agg: Agg) -> dict[str, float | None]:
    mean, var, n = agg.mean_var("cost")
    return {
        "total": _r(agg.cost_sum, 6),
        "calls_priced": n,
        "per_call": _r(mean, 6) if n else None,
        "std": _r(var**0.5, 6) if n > 1 else None,
        "p50": _r(quantile(agg.cost, 0.5, COST_EDGES), 6),
        "p95": _r(quantile(agg.cost, 0.95, COST_EDGES), 6),
    }


def _tokens(agg: Agg) -> dict[str, float | None]:
    mean, var, n = agg.mean_var("tokens")
    return {
        "total": int(agg.tok_sum),
        "per_call": _r(mean, 1) if n else None,
        "std": _r(var**0.5, 1) if n > 1 else None,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def build_stats(
    engine: Engine,
    *,
    start: datetime | None,
    end: datetime,
    project: str | None = None,
) -> dict[str, Any]:
    """Statistics of ``[start, end)`` (``start=None``: everything before ``end``)."""
    where: list[ColumnElement[bool]] = [S.c.start_time < end]
    if start is not None:
        where.append(S.c.start_time >= start)
    if project is not None:
        where.append(S.c.project == project)
    frame = fetch(engine, where, cost_hist=True)
    agents: dict[str, Any] = {}
    models: dict[str, Any] = {}
    tools: dict[str, Any] = {}
    total = Agg()
    for name in frame.names("agent"):
        a = frame.pooled(("agent", name), 0)
        total.merge(a)
        llm = frame.pooled(("agent_llm", name), 0)
        agents[name] = {
            "executions": a.n,
            "success": a.done - a.failed,
            "failed": a.failed,
            "skipped": a.skipped,
            "error_rate": _rate(a.failed, a.done),
            "skip_rate": _rate(a.skipped, a.n),
            "latency_ms": _latency(a),
            "llm_calls": llm.n,
            "cost": _cost(llm),
            "tokens": _tokens(llm),
        }
    llm_total = Agg()
    for name in frame.names("model"):
        m = frame.pooled(("model", name), 0)
        llm_total.merge(m)
        models[name] = {
            "calls": m.n,
            "failed": m.failed,
            "error_rate": _rate(m.failed, m.done),
            "latency_ms": _latency(m),
            "cost": _cost(m),
            "tokens": _tokens(m),
        }
    tool_calls = tool_failed = 0
    for name in frame.names("tool"):
        t = frame.pooled(("tool", name), 0)
        tool_calls += t.n
        tool_failed += t.failed
        tools[name] = {
            "calls": t.n,
            "failed": t.failed,
            "failure_rate": _rate(t.failed, t.done),
            "latency_ms": _latency(t),
        }
    ev_where: list[ColumnElement[bool]] = [E.c.timestamp < end]
    if start is not None:
        ev_where.append(E.c.timestamp >= start)
    if project is not None:
        ev_where.append(E.c.project == project)
    stmt = (
        select(E.c.type, E.c.level, func.count().label("n"))
        .where(*ev_where)
        .group_by(E.c.type, E.c.level)
    )
    event_types: dict[str, Any] = {}
    with engine.connect() as conn:
        for row in conn.execute(stmt):
            entry = event_types.setdefault(row.type, {"count": 0, "levels": {}})
            entry["count"] += int(row.n)
            entry["levels"][row.level] = int(row.n)
    return {
        "window": {"start": iso(start), "end": iso(end)},
        "totals": {
            "executions": total.n,
            "failed": total.failed,
            "skipped": total.skipped,
            "error_rate": _rate(total.failed, total.done),
            "llm_calls": llm_total.n,
            "tool_calls": tool_calls,
            "tool_failures": tool_failed,
            "cost": _r(llm_total.cost_sum, 6),
            "tokens": int(llm_total.tok_sum),
            "events": sum(e["count"] for e in event_types.values()),
        },
        "agents": agents,
        "models": models,
        "tools": tools,
        "event_types": dict(sorted(event_types.items(), key=lambda kv: -kv[1]["count"])),
    }
