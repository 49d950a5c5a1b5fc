"""The SQL side of monitoring: spans aggregated per series, time bucket, group and latency bin.

One statement per kind group (agent spans; LLM and tool calls), run concurrently on two
connections, reads the finished spans of ``[start, end)`` once and groups them by
(bucket, latency bin, group, kind, agent, model-or-tool): counts of spans, skips and
failures, sums and sums of squares of cost and tokens; the latency histogram comes with
the grouping (:mod:`._histogram`). It is dialect-neutral SQLAlchemy Core (dialect
differences come from :mod:`tracehound.store._dialect`). The rows are rolled up in Python
into :class:`Agg` accumulators per series:

* ``("agent", name)`` — agent executions (kind ``agent``) of an agent;
* ``("agent_llm", name)`` — the LLM calls made inside that agent (cost and tokens per call);
* ``("model", name)`` — LLM calls of a model;
* ``("tool", name)`` — calls of a tool.

Buckets are ``epoch_seconds(start_time) // width`` (the integer form of
:func:`tracehound.store._dialect.time_bucket`: no per-row date formatting), packed with the
bin and the group into one integer so that the sort behind ``GROUP BY`` mostly compares one
integer. The ``group`` is a small integer computed in SQL: 1 inside the evaluation window
and 0 in the baseline (anomalies, when the window is off the bucket grid), or the cohort
(0 = A, 1 = B) of a comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine, Integer, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..store._dialect import epoch_seconds
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
    grouped: bool = True
    """False when no SQL group was computed (every cell has group 0)."""

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


def fetch(
    engine: Engine,
    where: Sequence[ColumnElement[bool]],
    *,
    group: ColumnElement[int] | None = None,
    bucket_s: int | None = None,
    cost_hist: bool = False,
    kinds: Sequence[str] = KINDS,
) -> Frame:
    """Aggregate the finished spans of ``kinds`` matching ``where`` (see the module
    docstring); ``cost_hist`` adds a cost histogram of the LLM calls (a third statement)."""
    dialect = engine.dialect.name
    zero = literal(0, Integer(), literal_execute=True)
    second = case((S.c.kind == "llm", S.c.model), (S.c.kind == "tool", S.c.name), else_=None)
    bucket: ColumnElement[Any] = (
        epoch_seconds(S.c.start_time, dialect) // literal(bucket_s, Integer(), literal_execute=True)
        if bucket_s
        else zero
    )
    no_latency = or_(S.c.status == "skipped", S.c.duration_ms.is_(None))
    lat_bin = case(
        (no_latency, literal(-1, Integer(), literal_execute=True)),
        else_=bin_expression(S.c.duration_ms, LATENCY_EDGES),
    )

    # One integer key for (bucket, bin, group): the sort behind GROUP BY then compares one
    # integer for most rows instead of three (decoded in Python; bins are -1…1023).
    def packed(bin_expr: ColumnElement[Any]) -> ColumnElement[Any]:
        grp = group if group is not None else zero
        return (bucket * literal(1024, Integer(), literal_execute=True) + bin_expr + 1) * literal(
            4, Integer(), literal_execute=True
        ) + grp

    def statement(kind_list: Sequence[str], bin_expr: ColumnElement[Any], *extra: Any) -> Any:
        inner = (
            select(
                packed(bin_expr).label("cell"),
                S.c.kind.label("kind"),
                S.c.agent_name.label("agent"),
                second.label("other"),
                S.c.status.label("status"),
                S.c.total_cost.label("cost"),
                S.c.total_tokens.label("tok"),
            )
            .where(
                *where,
                S.c.kind.in_(list(kind_list)),
                S.c.status.not_in(UNFINISHED),
                *extra,
            )
            .subquery("mon")
        )
        keys = [inner.c.cell, inner.c.kind, inner.c.agent, inner.c.other]
        return select(
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
        ).group_by(*keys)

    groups = [[k for k in kinds if k == "agent"], [k for k in kinds if k != "agent"]]
    statements: list[tuple[str, Any]] = [("lat", statement(g, lat_bin)) for g in groups if g]
    if cost_hist and "llm" in kinds:
        statements.append(
            (
                "cost",
                statement(
                    ["llm"],
                    bin_expression(S.c.total_cost, COST_EDGES),
                    S.c.total_cost.is_not(None),
                ),
            )
        )

    def run(item: tuple[str, Any]) -> tuple[str, list[Any]]:
        with engine.connect() as conn:
            return item[0], list(conn.execute(item[1]))

    if len(statements) == 1:
        results = [run(statements[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(statements)) as pool:
            results = list(pool.map(run, statements))

    width = bucket_s or 0
    frame = Frame(bucket_s, grouped=group is not None)
    series = frame.series
    targets: dict[tuple[Any, Any, Any], list[dict[Cell, Agg]]] = {}
    for what, rows in results:
        counts = what == "lat"
        for (
            packed_cell,
            kind,
            agent,
            other,
            n,
            skipped,
            failed,
            cost_n,
            cost_sum,
            cost_sq,
            tok_n,
            tok_sum,
            tok_sq,
        ) in rows:
            code = int(packed_cell)
            grp = code & 3
            rest = code >> 2
            b = (rest & 1023) - 1
            cell: Cell = ((rest >> 10) * width, grp)
            tkey = (kind, agent, other)
            dests = targets.get(tkey)
            if dests is None:
                dests = targets[tkey] = [
                    series.setdefault(key, {}) for key in _targets(kind, agent, other)
                ]
            n = int(n)
            for cells in dests:
                a = cells.get(cell)
                if a is None:
                    a = cells[cell] = Agg()
                if not counts:
                    a.cost[b] = a.cost.get(b, 0) + n
                    continue
                if b >= 0:
                    a.lat[b] = a.lat.get(b, 0) + n
                sk = int(skipped or 0)
                a.n += n
                a.skipped += sk
                a.done += n - sk
                a.failed += int(failed or 0)
                if cost_n:
                    a.cost_n += int(cost_n)
                    a.cost_sum += float(cost_sum or 0.0)
                    a.cost_sq += float(cost_sq or 0.0)
                if tok_n:
                    a.tok_n += int(tok_n)
                    a.tok_sum += float(tok_sum or 0.0)
                    a.tok_sq += float(tok_sq or 0.0)
    return frame
