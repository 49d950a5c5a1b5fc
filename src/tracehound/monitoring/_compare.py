"""Regression detection: compare two cohorts of executions — versions (``attributes.version``
or ``attributes.release``), time windows or sessions — metric by metric with a significance
test, and say what changed.

Tests (normal approximations, no scipy): two-proportion z-test for success, error, skip
and tool failure rates; Mann–Whitney U on the latency and cost histograms (median latency,
cost per call); an exceedance test for p95 latency (the share of B's calls slower than A's
p95, against A's 5%); Welch's z for tokens per call; a Poisson rate test for tool calls per
execution. p-values are Holm-adjusted over every test of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, Integer, and_, case, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..store._dialect import json_text
from ..store._schema import sessions as SESSIONS
from ..store._schema import spans as S
from ._histogram import LATENCY_EDGES, count_above, quantile
from ._query import Agg, Frame, fetch
from ._stats import (
    TestResult,
    holm,
    mann_whitney_binned,
    poisson_rate_test,
    two_proportion_test,
    welch_test,
)
from ._time import parse_window
from ._types import Cohort, Comparison, MetricChange

__all__ = ["VERSION_KEYS", "compare", "parse_cohort", "session_start"]

VERSION_KEYS: Final = ("version", "release")
MONITOR_SESSION_PREFIX: Final = "monitor_"
"""Sessions of the monitor's own alert events (skipped by ``session:latest``)."""
_MIN_N: Final = 5
_MIN_EFFECT: Final = {"rate": 0.02, "value": 0.10}


def parse_cohort(text: str, *, now: datetime | None = None) -> Cohort:
    """``session:ID`` (``session:latest``, ``session:previous``), ``version:V``,
    ``release:V``, ``window:START..END``, a bare window (``START..END`` or a duration such
    as ``24h``: the last 24 hours), or else a version label."""
    text = text.strip()
    if not text:
        raise ValueError("an empty cohort")
    prefix, sep, rest = text.partition(":")
    if sep and prefix in ("session", "version", "release") and rest:
        return Cohort(text, "session" if prefix == "session" else "version", rest)
    if sep and prefix == "window" and rest:
        got = parse_window(rest, now=now)
        if got is None:
            raise ValueError(f"not a time window: {rest!r}")
        return Cohort(text, "window", None, got[0], got[1])
    got = parse_window(text, now=now) if (".." in text or text[-1:].isalpha()) else None
    if got is not None:
        return Cohort(text, "window", None, got[0], got[1])
    return Cohort(text, "version", text)


def _version(attributes: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    return func.coalesce(*(json_text(attributes, k, dialect) for k in VERSION_KEYS))


def _resolve_session(engine: Engine, value: str) -> str:
    """A session id, or the ``latest`` / ``previous`` session that recorded agents (not
    the monitor's own)."""
    if value not in ("latest", "previous"):
        return value
    offset = 0 if value == "latest" else 1
    stmt = (
        select(SESSIONS.c.id)
        .where(SESSIONS.c.id.not_like(MONITOR_SESSION_PREFIX + "%"))
        .order_by(SESSIONS.c.started_at.desc(), SESSIONS.c.id.desc())
        .offset(offset)
        .limit(1)
    )
    with engine.connect() as conn:
        got = conn.execute(stmt).scalar()
    if got is None:
        raise ValueError(f"no {value} session in the store")
    return str(got)


def session_start(engine: Engine, value: str) -> datetime:
    """When a session (an id, ``latest`` or ``previous``) started."""
    sid = _resolve_session(engine, value)
    with engine.connect() as conn:
        got = conn.execute(select(SESSIONS.c.started_at).where(SESSIONS.c.id == sid)).scalar()
    if not isinstance(got, datetime):
        raise ValueError(f"no session {sid!r} in the store")
    return got


def cohort_condition(engine: Engine, cohort: Cohort) -> ColumnElement[bool]:
    """The SQL condition selecting a cohort's spans."""
    if cohort.kind == "window":
        assert cohort.start is not None and cohort.end is not None
        return and_(S.c.start_time >= cohort.start, S.c.start_time < cohort.end)
    if cohort.kind == "session":
        assert cohort.value is not None
        return S.c.session_id == _resolve_session(engine, cohort.value)
    value = cohort.value or cohort.label
    dialect = engine.dialect.name
    agent = S.alias("cohort_agent")
    root = S.alias("cohort_root")
    return or_(
        _version(S.c.attributes, dialect) == value,
        exists(
            select(literal(1)).where(
                agent.c.trace_id == S.c.trace_id,
                agent.c.kind == "agent",
                agent.c.agent_name == S.c.agent_name,
                _version(agent.c.attributes, dialect) == value,
            )
        ),
        exists(
            select(literal(1)).where(
                root.c.trace_id == S.c.trace_id,
                root.c.parent_id.is_(None),
                _version(root.c.attributes, dialect) == value,
            )
        ),
    )


def _above(hist: dict[int, int], threshold: float) -> float:
    return count_above(hist, threshold, LATENCY_EDGES)


@dataclass(frozen=True, slots=True)
class _Row:
    metric: str
    scope: str
    target: str
    a: float | None
    b: float | None
    n_a: int
    n_b: int
    change: float | None
    test: str
    result: TestResult
    kind: str  # "rate" or "value" (which minimum effect applies)
    worse: str  # "up", "down" or "" (no better/worse direction)
    unit: str


class _Builder:
    def __init__(self) -> None:
        self.rows: list[_Row] = []

    def add(self, *fields: Any) -> None:
        self.rows.append(_Row(*fields))


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "ms":
        return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:,.0f} ms"
    if unit == "USD":
        return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"
    if unit == "tokens":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _agent_rows(out: _Builder, name: str, a: Agg, b: Agg, la: Agg, lb: Agg) -> None:
    if a.n >= _MIN_N and b.n >= _MIN_N:
        sa, sb = a.done - a.failed, b.done - b.failed
        res = two_proportion_test(sa, a.n, sb, b.n)
        out.add(
            "success_rate",
            "agent",
            name,
            sa / a.n,
            sb / b.n,
            a.n,
            b.n,
            sb / b.n - sa / a.n,
            "two_proportion",
            res,
            "rate",
            "down",
            "rate",
        )
        res = two_proportion_test(a.skipped, a.n, b.skipped, b.n)
        out.add(
            "skip_rate",
            "agent",
            name,
            a.skipped / a.n,
            b.skipped / b.n,
            a.n,
            b.n,
            b.skipped / b.n - a.skipped / a.n,
            "two_proportion",
            res,
            "rate",
            "",
            "rate",
        )
    if a.done >= _MIN_N and b.done >= _MIN_N:
        res = two_proportion_test(a.failed, a.done, b.failed, b.done)
        ra, rb = a.failed / a.done, b.failed / b.done
        out.add(
            "error_rate",
            "agent",
            name,
            ra,
            rb,
            a.done,
            b.done,
            rb - ra,
            "two_proportion",
            res,
            "rate",
            "up",
            "rate",
        )
    _latency_rows(out, "agent", name, a, b)
    if la.cost_n >= _MIN_N and lb.cost_n >= _MIN_N:
        ma, mb = la.cost_sum / la.cost_n, lb.cost_sum / lb.cost_n
        res = mann_whitney_binned(la.cost, lb.cost)
        z = res.z
        out.add(
            "cost_per_call",
            "agent",
            name,
            ma,
            mb,
            la.cost_n,
            lb.cost_n,
            (mb / ma - 1) if ma else None,
            "mann_whitney",
            TestResult(z, res.p_value, res.effect),
            "value",
            "up",
            "USD",
        )
    if la.tok_n >= _MIN_N and lb.tok_n >= _MIN_N:
        m1, v1, c1 = la.mean_var("tokens")
        m2, v2, c2 = lb.mean_var("tokens")
        res = welch_test(m1, v1, c1, m2, v2, c2)
        out.add(
            "tokens_per_call",
            "agent",
            name,
            m1,
            m2,
            c1,
            c2,
            (m2 / m1 - 1) if m1 else None,
            "welch",
            res,
            "value",
            "up",
            "tokens",
        )


def _latency_rows(out: _Builder, scope: str, name: str, a: Agg, b: Agg) -> None:
    na, nb = a.samples, b.samples
    if na < _MIN_N or nb < _MIN_N:
        return
    p50a = quantile(a.lat, 0.5, LATENCY_EDGES)
    p50b = quantile(b.lat, 0.5, LATENCY_EDGES)
    res = mann_whitney_binned(a.lat, b.lat)
    out.add(
        "latency_p50",
        scope,
        name,
        p50a,
        p50b,
        na,
        nb,
        (p50b / p50a - 1) if p50a and p50b else None,
        "mann_whitney",
        res,
        "value",
        "up",
        "ms",
    )
    p95a = quantile(a.lat, 0.95, LATENCY_EDGES)
    p95b = quantile(b.lat, 0.95, LATENCY_EDGES)
    if p95a:
        ka, kb = _above(a.lat, p95a), _above(b.lat, p95a)
        res = two_proportion_test(round(ka), na, round(kb), nb)
        out.add(
            "latency_p95",
            scope,
            name,
            p95a,
            p95b,
            na,
            nb,
            (p95b / p95a - 1) if p95b else None,
            "exceedance",
            res,
            "value",
            "up",
            "ms",
        )


def compare(
    engine: Engine,
    a: Cohort,
    b: Cohort,
    *,
    agent: str | None = None,
    project: str | None = None,
    alpha: float = 0.01,
) -> Comparison:
    """Compare cohort ``b`` with cohort ``a`` (``b`` is "after"): per agent (or only
    ``agent``) and per tool."""
    cond_a = cohort_condition(engine, a)
    cond_b = cohort_condition(engine, b)
    where: list[ColumnElement[bool]] = [or_(cond_a, cond_b)]
    if agent is not None:
        where.append(S.c.agent_name == agent)
    if project is not None:
        where.append(S.c.project == project)
    group = case(
        (cond_a, literal(0, Integer(), literal_execute=True)),
        else_=literal(1, Integer(), literal_execute=True),
    )
    frame: Frame = fetch(engine, where, group=group, cost_hist=True)
    out = _Builder()
    exec_a = exec_b = 0
    for name in frame.names("agent"):
        pa, pb = frame.pooled(("agent", name), 0), frame.pooled(("agent", name), 1)
        exec_a += pa.done
        exec_b += pb.done
        la = frame.pooled(("agent_llm", name), 0)
        lb = frame.pooled(("agent_llm", name), 1)
        _agent_rows(out, name, pa, pb, la, lb)
    for name in frame.names("tool"):
        ta, tb = frame.pooled(("tool", name), 0), frame.pooled(("tool", name), 1)
        if ta.done >= _MIN_N and tb.done >= _MIN_N:
            res = two_proportion_test(ta.failed, ta.done, tb.failed, tb.done)
            fa, fb = ta.failed / ta.done, tb.failed / tb.done
            out.add(
                "failure_rate",
                "tool",
                name,
                fa,
                fb,
                ta.done,
                tb.done,
                fb - fa,
                "two_proportion",
                res,
                "rate",
                "up",
                "rate",
            )
        if exec_a >= _MIN_N and exec_b >= _MIN_N and (ta.n + tb.n) >= _MIN_N:
            res = poisson_rate_test(ta.n, exec_a, tb.n, exec_b)
            ua, ub = ta.n / exec_a, tb.n / exec_b
            out.add(
                "calls_per_execution",
                "tool",
                name,
                ua,
                ub,
                exec_a,
                exec_b,
                (ub / ua - 1) if ua else None,
                "poisson_rate",
                res,
                "value",
                "",
                "calls",
            )
        _latency_rows(out, "tool", name, ta, tb)
    adjusted = holm([r.result.p_value for r in out.rows])
    changes: list[MetricChange] = []
    for row, p_adj in zip(out.rows, adjusted, strict=True):
        metric, scope, target, va, vb = row.metric, row.scope, row.target, row.a, row.b
        na, nb, change, test, res = row.n_a, row.n_b, row.change, row.test, row.result
        kind, worse, unit = row.kind, row.worse, row.unit
        big = change is not None and abs(change) >= _MIN_EFFECT[kind]
        significant = bool(p_adj < alpha and big)
        if not significant:
            verdict = "same"
        elif not worse:
            verdict = "changed"
        else:
            up = (change or 0.0) > 0
            verdict = "worse" if up == (worse == "up") else "better"
        label = metric.replace("_", " ")
        if kind == "rate":
            delta = f"{(change or 0) * 100:+.1f} pts"
        else:
            delta = f"{(change or 0):+.0%}" if change is not None else "n/a"
        p_text = "p<0.001" if res.p_value < 0.001 else f"p={res.p_value:.3f}"
        desc = (
            f"{scope} {target}: {label} {_fmt(va, unit)} → {_fmt(vb, unit)} ({delta}, {test}, "
            f"{p_text})"
        )
        changes.append(
            MetricChange(
                metric=metric,
                scope=scope,
                target=target,
                a=va,
                b=vb,
                n_a=na,
                n_b=nb,
                change=change,
                test=test,
                z=round(res.z, 3),
                p_value=res.p_value,
                p_adjusted=p_adj,
                significant=significant,
                verdict=verdict,
                description=desc,
                unit="" if unit == "rate" else unit,
            )
        )
    changes.sort(key=lambda c: (not c.significant, c.p_adjusted, -abs(c.z)))
    summary = [c.description + f" — {c.verdict}" for c in changes if c.significant]
    if not summary:
        summary = ["no significant change"]
    return Comparison(a=a, b=b, agent=agent, changes=changes, summary=summary, alpha=alpha)
