"""The SQL side of monitoring: spans aggregated per scope, time bucket and group.

One pass over the ``spans`` table (kinds ``agent``, ``llm``, ``tool``) gives, per
(kind, agent, model-or-tool, time bucket, group): counts of executions, skips and failures,
sums and sums of squares of cost and tokens; a second pass gives the latency histogram
(:mod:`._histogram`). Both are dialect-neutral SQLAlchemy Core (the time bucket comes from
:func:`tracehound.store._dialect.time_bucket`), run concurrently on two connections, and are
rolled up in Python into :class:`Agg` accumulators per series:

* ``("agent", name)`` — agent executions (kind ``agent``) of an agent;
* ``("agent_llm", name)`` — the LLM calls made inside that agent (cost and tokens per call);
* ``("model", name)`` — LLM calls of a model;
* ``("tool", name)`` — calls of a tool.

The ``group`` is a small integer computed in SQL: 1 inside the evaluation window and 0 in the
baseline (anomalies), or the cohort (0 = A, 1 = B) of a comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, Integer, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from ..store._dialect import datetime_to_ns, time_bucket
from ..store._schema import spans as S
from ._histogram import COST_EDGES, LATENCY_EDGES, bin_expression

__all__ = ["FAILED", "FINISHED", "Agg", "Frame", "SeriesKey", "fetch"]

FAILED: Final = ("failed", "timeout")
UNFINISHED: Final = ("running", "pending")
FINISHED: Final = ("success", "failed", "timeout", "skipped", "cancelled")
KINDS: Final = ("agent", "llm", "tool")

SeriesKey = tuple[str, str]
Cell = tuple[int, int]  # (bucket start in epoch seconds, or 0 without buckets; group)


class Agg:
    """Counts and sums of one series in one cell; ``merge`` adds another cell."""

    __slots__ = (
        "cost",
        "cost_n",
        "cost_sq",
        "cost_sum",
        "done",
        "failed",
        "last_ns",
        "lat",
        "n",
        "skipped",
        "tok_n",
        "tok_sq",
        "tok_sum",
    )

    def __init__(self) -> None:
        self.n = 0
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.cost_n = 0
        self.cost_sum = 0.0
        self.cost_sq = 0.0
        self.tok_n = 0
        self.tok_sum = 0.0
        self.tok_sq = 0.0
        self.last_ns = 0
        self.lat: dict[int, int] = {}
        self.cost: dict[int, int] = {}

    def merge(self, other: Agg) -> Agg:
        self.n += other.n
        self.done += other.done
        self.failed += other.failed
        self.skipped += other.skipped
        self.cost_n += other.cost_n
        self.cost_sum += other.cost_sum
        self.cost_sq += other.cost_sq
        self.tok_n += other.tok_n
        self.tok_sum += other.tok_sum
        self.tok_sq += other.tok_sq
        self.last_ns = max(self.last_ns, other.last_ns)
        for hist, more in ((self.lat, other.lat), (self.cost, other.cost)):
            for k, v in more.items():
                hist[k] = hist.get(k, 0) + v
        return self

    # -- derived values --------------------------------------------------------------------
    @property
    def samples(self) -> int:
        return sum(self.lat.values())

    def mean_var(self, what: str) -> tuple[float, float, int]:
        """Mean, variance and count of ``cost`` or ``tokens`` per call."""
        if what == "cost":
            n, s, sq = self.cost_n, self.cost_sum, self.cost_sq
        else:
            n, s, sq = self.tok_n, self.tok_sum, self.tok_sq
        if n == 0:
            return (0.0, 0.0, 0)
        mean = s / n
        var = max(0.0, (sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
        return (mean, var, n)


def merged(aggs: Sequence[Agg]) -> Agg:
    out = Agg()
    for a in aggs:
        out.merge(a)
    return out


@dataclass
class Frame:
    """Aggregates of one fetch: ``series[(scope, name)][(bucket_s, group)]``."""

    bucket_s: int | None
    series: dict[SeriesKey, dict[Cell, Agg]] = field(default_factory=dict)

    def cells(self, key: SeriesKey) -> dict[Cell, Agg]:
        return self.series.get(key, {})

    def pooled(self, key: SeriesKey, group: int) -> Agg:
        return merged([a for (_, g), a in self.cells(key).items() if g == group])

    def names(self, scope: str) -> list[str]:
        return sorted(name for s, name in self.series if s == scope)


def _targets(kind: str, agent: str | None, other: str | None) -> list[SeriesKey]:
    if kind == "agent":
        return [("agent", agent)] if agent else []
    if kind == "llm":
        out: list[SeriesKey] = []
        if agent:
            out.append(("agent_llm", agent))
        if other:
            out.append(("model", other))
        return out
    if kind == "tool" and other:
        return [("tool", other)]
    return []


def _bucket_seconds(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return datetime_to_ns(value) // 1_000_000_000
    return int(value)


def fetch(
    engine: Engine,
    where: Sequence[ColumnElement[bool]],
    *,
    group: ColumnElement[int] | None = None,
    bucket_s: int | None = None,
    cost_hist: bool = False,
    kinds: Sequence[str] = KINDS,
) -> Frame:
    """Aggregate the spans matching ``where`` (finished spans of ``kinds`` only)."""
    dialect = engine.dialect.name
    second = case((S.c.kind == "llm", S.c.model), (S.c.kind == "tool", S.c.name), else_=None)
    cols: list[ColumnElement[Any]] = [
        S.c.kind.label("kind"),
        S.c.agent_name.label("agent"),
        second.label("other"),
        (
            time_bucket(S.c.start_time, bucket_s, dialect)
            if bucket_s
            else literal(None, Integer(), literal_execute=True)
        ).label("bucket"),
        (group if group is not None else literal(0, Integer(), literal_execute=True)).label("grp"),
    ]
    filters = [
        *where,
        S.c.kind.in_(list(kinds)),
        S.c.status.not_in(UNFINISHED),
    ]
    base = select(
        *cols,
        S.c.status.label("status"),
        S.c.total_cost.label("cost"),
        S.c.total_tokens.label("tok"),
        S.c.start_time.label("t"),
    ).where(*filters)
    inner = base.subquery("agg_in")
    keys = [inner.c.kind, inner.c.agent, inner.c.other, inner.c.bucket, inner.c.grp]
    agg_stmt = select(
        *keys,
        func.count().label("n"),
        func.sum(case((inner.c.status == "skipped", 1), else_=0)).label("skipped"),
        func.sum(case((inner.c.status.in_(FAILED), 1), else_=0)).label("failed"),
        func.count(inner.c.cost).label("cost_n"),
        func.sum(inner.c.cost).label("cost_sum"),
        func.sum(inner.c.cost * inner.c.cost).label("cost_sq"),
        func.count(inner.c.tok).label("tok_n"),
        func.sum(inner.c.tok).label("tok_sum"),
        func.sum(inner.c.tok * inner.c.tok).label("tok_sq"),
        func.max(inner.c.t).label("last"),
    ).group_by(*keys)

    lat = (
        select(
            *cols,
            bin_expression(S.c.duration_ms, LATENCY_EDGES).label("bin"),
        )
        .where(*filters, S.c.status != "skipped", S.c.duration_ms.is_not(None))
        .subquery("lat_in")
    )
    lkeys = [lat.c.kind, lat.c.agent, lat.c.other, lat.c.bucket, lat.c.grp, lat.c.bin]
    lat_stmt = select(*lkeys, func.count().label("c")).group_by(*lkeys)
    statements: list[Any] = [agg_stmt, lat_stmt]
    if cost_hist:
        cost = (
            select(*cols, bin_expression(S.c.total_cost, COST_EDGES).label("bin"))
            .where(*filters, S.c.kind == "llm", S.c.total_cost.is_not(None))
            .subquery("cost_in")
        )
        ckeys = [cost.c.kind, cost.c.agent, cost.c.other, cost.c.bucket, cost.c.grp, cost.c.bin]
        statements.append(select(*ckeys, func.count().label("c")).group_by(*ckeys))

    def run(stmt: Any) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(stmt))

    with ThreadPoolExecutor(max_workers=len(statements)) as pool:
        results = list(pool.map(run, statements))

    frame = Frame(bucket_s)
    series = frame.series
    for r in results[0]:
        cell: Cell = (_bucket_seconds(r.bucket), int(r.grp or 0))
        n = int(r.n)
        skipped = int(r.skipped or 0)
        last = datetime_to_ns(r.last) if isinstance(r.last, datetime) else 0
        for key in _targets(r.kind, r.agent, r.other):
            a = series.setdefault(key, {}).get(cell)
            if a is None:
                a = series[key][cell] = Agg()
            a.n += n
            a.skipped += skipped
            a.done += n - skipped
            a.failed += int(r.failed or 0)
            a.cost_n += int(r.cost_n or 0)
            a.cost_sum += float(r.cost_sum or 0.0)
            a.cost_sq += float(r.cost_sq or 0.0)
            a.tok_n += int(r.tok_n or 0)
            a.tok_sum += float(r.tok_sum or 0.0)
            a.tok_sq += float(r.tok_sq or 0.0)
            a.last_ns = max(a.last_ns, last)
    for index, attr in ((1, "lat"), (2, "cost")):
        if index >= len(results):
            continue
        for r in results[index]:
            cell = (_bucket_seconds(r.bucket), int(r.grp or 0))
            for key in _targets(r.kind, r.agent, r.other):
                a = series.setdefault(key, {}).get(cell)
                if a is None:
                    a = series[key][cell] = Agg()
                hist: dict[int, int] = getattr(a, attr)
                b = int(r.bin)
                hist[b] = hist.get(b, 0) + int(r.c)
    return frame
