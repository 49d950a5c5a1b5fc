"""Health checks: the system (store reachable, ingest lag, this process's pipeline queue,
spool and drop counters, recent error rate) and each agent (recent executions, error and
skip rates, p95 latency, last activity, anomalies), judged against thresholds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, func, select

from ..store._schema import events as E
from ..store._schema import spans as S
from ._histogram import LATENCY_EDGES, quantile
from ._query import Agg
from ._types import (
    DEGRADED,
    HEALTHY,
    UNHEALTHY,
    AgentHealth,
    Anomaly,
    HealthStatus,
    SystemHealth,
    worst,
)

__all__ = ["DEFAULT_THRESHOLDS", "build_health", "pipeline_stats"]

DEFAULT_THRESHOLDS: Final[dict[str, float]] = {
    "error_rate": 0.5,
    "min_executions": 10,
    "anomaly_score": 4.0,
    "queue_depth": 50_000,
    "dropped": 0,
}
"""Defaults of :attr:`Monitor.thresholds` (a value above its threshold is a breach).

``error_rate`` — share of failed executions (system and per agent) over the health window,
judged when an agent ran at least ``min_executions`` times (a hard ceiling: an agent whose
behaviour *changes* is caught by anomaly detection against its own history, so the fixed
threshold only needs to catch what is broken whatever its past); ``anomaly_score`` — anomalies
from this score on make an agent degraded (critical ones: unhealthy); ``queue_depth`` and
``dropped`` — this process's pipeline. Optional: ``ingest_lag_s`` (seconds since the newest
record), ``skip_rate``, ``latency_p95_ms``, ``spooled``, ``cost_per_day`` (USD, alert rule).
"""


def pipeline_stats() -> dict[str, Any]:
    """This process's pipeline counters (``tracehound.stats()``)."""
    from ..sdk import stats

    try:
        return dict(stats())
    except Exception:  # pragma: no cover - stats never raises in practice
        return {"enabled": False}


def newest_record(engine: Engine, project: str | None) -> datetime | None:
    """The time of the newest span start or event (indexed max lookups)."""
    span_q = select(func.max(S.c.start_time))
    event_q = select(func.max(E.c.timestamp))
    if project is not None:
        span_q = span_q.where(S.c.project == project)
        event_q = event_q.where(E.c.project == project)
    with engine.connect() as conn:
        found = [conn.execute(span_q).scalar(), conn.execute(event_q).scalar()]
    times = [t for t in found if isinstance(t, datetime)]
    return max(times) if times else None


def last_seen(engine: Engine, agents: Sequence[str], project: str | None) -> dict[str, datetime]:
    """When each agent last started an execution (the (project, agent, time) index)."""
    if not agents:
        return {}
    stmt = (
        select(S.c.project, S.c.agent_name, func.max(S.c.start_time))
        .where(S.c.agent_name.in_(list(agents)))
        .group_by(S.c.project, S.c.agent_name)
    )
    if project is not None:
        stmt = stmt.where(S.c.project == project)
    out: dict[str, datetime] = {}
    with engine.connect() as conn:
        for _, name, t in conn.execute(stmt):
            if isinstance(t, datetime) and (name not in out or t > out[name]):
                out[name] = t
    return out


def _breach(value: float | None, thresholds: Mapping[str, float], key: str) -> bool:
    limit = thresholds.get(key)
    return value is not None and limit is not None and value > limit


def build_health(
    engine: Engine | None,
    *,
    window_aggs: Mapping[str, Agg] | None,
    anomalies: Sequence[Anomaly],
    thresholds: Mapping[str, float],
    now: datetime,
    window: timedelta,
    project: str | None = None,
    store_error: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> HealthStatus:
    """Assemble a :class:`HealthStatus`. ``window_aggs`` maps each agent to its executions
    in the health window (``None`` when the store could not be read)."""
    issues: list[str] = []
    stats = dict(stats if stats is not None else pipeline_stats())
    down = sorted(
        name
        for name, ex in (stats.get("exporters") or {}).items()
        if isinstance(ex, dict) and ex.get("down")
    )
    newest: datetime | None = None
    reachable = store_error is None and engine is not None
    if store_error is None and engine is None:
        store_error = "no store"
    if reachable:
        assert engine is not None
        try:
            newest = newest_record(engine, project)
        except Exception as exc:
            reachable = False
            store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    lag = (now - newest).total_seconds() if newest is not None else None
    min_exec = int(thresholds.get("min_executions", 10))
    agents: list[AgentHealth] = []
    total = Agg()
    if window_aggs is not None and reachable:
        assert engine is not None
        names = sorted(window_aggs)
        seen: dict[str, datetime] = {}
        try:
            seen = last_seen(engine, names, project)
        except Exception:  # the window's numbers still stand
            seen = {}
        by_agent: dict[str, list[Anomaly]] = {}
        for a in anomalies:
            if a.scope == "agent":
                by_agent.setdefault(a.target, []).append(a)
        for name in names:
            win = window_aggs[name]
            total.merge(win)
            agents.append(
                _agent_health(
                    name, win, by_agent.get(name, []), seen.get(name), thresholds, min_exec
                )
            )
        for name in sorted(set(by_agent) - set(names)):
            agents.append(_agent_health(name, Agg(), by_agent[name], None, thresholds, min_exec))
    error_rate = total.failed / total.done if total.done else None
    reasons: list[str] = []
    status = HEALTHY
    if not reachable:
        status = UNHEALTHY
        reasons.append(f"store unreachable: {store_error}")
    if _breach(lag, thresholds, "ingest_lag_s"):
        status = worst(status, DEGRADED)
        reasons.append(
            f"no new records for {lag:,.0f} s (threshold {thresholds['ingest_lag_s']:g} s)"
        )
    queue_depth = int(stats.get("queue_depth", 0) or 0)
    spooled = int(stats.get("spooled", 0) or 0)
    replayed = int(stats.get("replayed", 0) or 0)
    dropped = int(stats.get("dropped", 0) or 0)
    if _breach(queue_depth, thresholds, "queue_depth"):
        status = worst(status, DEGRADED)
        reasons.append(f"pipeline queue holds {queue_depth:,} records")
    if _breach(dropped, thresholds, "dropped"):
        status = worst(status, DEGRADED)
        reasons.append(f"{dropped:,} records dropped by the pipeline")
    if _breach(spooled - replayed, thresholds, "spooled"):
        status = worst(status, DEGRADED)
        reasons.append(f"{spooled - replayed:,} records waiting in the spool")
    if down:
        status = worst(status, DEGRADED)
        reasons.append("exporters down: " + ", ".join(down))
    if total.done >= min_exec and _breach(error_rate, thresholds, "error_rate"):
        status = worst(status, DEGRADED)
        reasons.append(
            f"error rate {error_rate:.1%} over {total.done} executions "
            f"(threshold {thresholds['error_rate']:.0%})"
        )
    other = [a for a in anomalies if a.scope != "agent"]
    for a in other:
        reasons.append(a.description)
    if other:
        status = worst(status, DEGRADED)
    system = SystemHealth(
        status=status,
        store_reachable=reachable,
        store_error=store_error,
        newest_record_at=newest,
        ingest_lag_s=round(lag, 3) if lag is not None else None,
        queue_depth=queue_depth,
        spooled=spooled,
        replayed=replayed,
        dropped=dropped,
        exporters_down=down,
        executions=total.n,
        failures=total.failed,
        error_rate=round(error_rate, 4) if error_rate is not None else None,
        window_s=window.total_seconds(),
        reasons=reasons,
    )
    issues.extend(f"system: {r}" for r in reasons)
    for ag in agents:
        issues.extend(f"agent {ag.agent}: {r}" for r in ag.reasons)
    overall = worst(status, *(a.status for a in agents))
    agents.sort(key=lambda a: ({UNHEALTHY: 0, DEGRADED: 1}.get(a.status, 2), a.agent))
    return HealthStatus(
        status=overall,
        checked_at=now,
        system=system,
        agents=agents,
        issues=issues,
        thresholds=dict(thresholds),
    )


def _agent_health(
    name: str,
    win: Agg,
    anomalies: list[Anomaly],
    seen: datetime | None,
    thresholds: Mapping[str, float],
    min_exec: int,
) -> AgentHealth:
    error_rate = win.failed / win.done if win.done else None
    skip_rate = win.skipped / win.n if win.n else None
    p95 = quantile(win.lat, 0.95, LATENCY_EDGES)
    status = HEALTHY
    reasons: list[str] = []
    enough = win.done >= min_exec
    if enough and _breach(error_rate, thresholds, "error_rate"):
        status = UNHEALTHY
        reasons.append(
            f"error rate {error_rate:.1%} ({win.failed}/{win.done}) above "
            f"{thresholds['error_rate']:.0%}"
        )
    if win.n >= min_exec and _breach(skip_rate, thresholds, "skip_rate"):
        status = worst(status, DEGRADED)
        reasons.append(f"skip rate {skip_rate:.1%} above {thresholds['skip_rate']:.0%}")
    if win.samples >= min_exec and _breach(p95, thresholds, "latency_p95_ms"):
        status = worst(status, DEGRADED)
        reasons.append(f"p95 latency {p95:,.0f} ms above {thresholds['latency_p95_ms']:,.0f} ms")
    min_score = thresholds.get("anomaly_score", 4.0)
    kept = [a for a in anomalies if a.score >= min_score]
    for a in kept:
        status = worst(status, UNHEALTHY if a.severity == "critical" else DEGRADED)
        reasons.append(a.description)
    return AgentHealth(
        agent=name,
        status=status,
        executions=win.n,
        failures=win.failed,
        skipped=win.skipped,
        error_rate=round(error_rate, 4) if error_rate is not None else None,
        skip_rate=round(skip_rate, 4) if skip_rate is not None else None,
        latency_p95_ms=round(p95, 2) if p95 is not None else None,
        last_seen=seen,
        anomalies=kept,
        reasons=reasons,
    )
