"""Anomaly detection: every metric of every agent, model and tool against its own history.

Method (details and measurements in ``docs/monitoring.md``):

1. SQL aggregates the spans of ``[window_start − baseline, window_end)`` per series and time
   bucket (:mod:`._query`): counts, failures, skips, cost and token sums, a latency
   histogram. Buckets from the window's start on are the window, the others the baseline.
2. With enough history (``min_baseline_buckets`` buckets holding data), each window bucket
   is compared with the history, seasonally by hour of day when there are at least
   ``seasonal_min_days`` days of it (a slot's profile pools it with its neighbours):

   * error, skip and tool failure rates — an exact binomial tail of the failures against
     the pooled historical rate, widened by the history's over-dispersion;
   * latency p50 / p95 — the same binomial test on *exceedances*: the share of calls slower
     than the history's p50 / p95 for that hour (50% / 5% when nothing changed), so small
     buckets are judged exactly and a tail metric is not judged by one slow call;
   * cost and tokens per call — robust z-scores of the log of the bucket's mean against the
     history's median and 1.4826·MAD (seasonal when that explains more of the variation),
     never below the sampling error of a mean, widened when the history's own tails are
     heavier than normal, and for buckets with fewer calls than usual;
   * volume — an exact Poisson tail of the count against the seasonal expectation (the
     history's trimmed mean on the Anscombe scale), scaled down by the history's
     over-dispersion, zero-filled, with the current partial bucket's expectation scaled to
     its elapsed share.

   Runs of consecutive window buckets are combined (pooled counts for rates, exceedances
   and volume, Stouffer's z for cost and tokens) and the strongest run that also passes
   the metric's minimum effect size is reported, once per metric and target.
3. With too little bucketed history but enough records (two demo runs, a new agent), the
   whole window is compared with the pooled history by a two-sample test: two-proportion z
   (rates), Mann–Whitney U on the latency histograms, Welch's z (cost, tokens). Volume is
   not judged then.

A score is a z-score: robust standard deviations, or the normal quantile of a p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Final

from sqlalchemy import Engine, Integer, case, literal
from sqlalchemy.sql.elements import ColumnElement

from ..store._schema import spans as S
from ._histogram import LATENCY_EDGES, count_above, quantile
from ._query import Agg, Frame, fetch, merged
from ._stats import (
    MAD_SCALE,
    mad,
    mann_whitney_binned,
    median,
    two_proportion_test,
    welch_test,
)
from ._types import Anomaly, Baseline

__all__ = [
    "METRICS",
    "DetectionSettings",
    "MetricSpec",
    "binomial_tail_z",
    "detect",
    "detect_in_frame",
    "poisson_tail_z",
]

_NORMAL: Final = NormalDist()
_MAX_SCORE: Final = 99.0
_CHI2_1_MEDIAN: Final = 0.4549364231195724
_MAX_RUN: Final = 48
"""Longest run of window buckets combined into one anomaly (keeps long windows linear)."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A monitored metric: which series it reads (``agent``, ``agent_llm``, ``model``,
    ``tool``), how it is tested (``rate``, ``value``, ``count``) and the smallest change
    worth reporting (absolute for rates, relative for values and counts)."""

    name: str
    series: str
    scope: str
    kind: str
    label: str
    unit: str
    min_effect: float
    min_samples: int = 1
    up_only: bool = False


def _specs() -> tuple[MetricSpec, ...]:
    out: list[MetricSpec] = []
    for series, scope in (("agent", "agent"), ("model", "model"), ("tool", "tool")):
        out.append(MetricSpec("volume", series, scope, "count", "volume", "calls", 1.0))
        if scope == "tool":
            out.append(
                MetricSpec("failure_rate", series, scope, "rate", "failure rate", "", 0.05, 5, True)
            )
        else:
            out.append(
                MetricSpec("error_rate", series, scope, "rate", "error rate", "", 0.05, 5, True)
            )
        if scope == "agent":
            out.append(MetricSpec("skip_rate", series, scope, "rate", "skip rate", "", 0.1, 5))
        out.append(
            MetricSpec("latency_p50", series, scope, "value", "median latency", "ms", 0.3, 5)
        )
        out.append(MetricSpec("latency_p95", series, scope, "value", "p95 latency", "ms", 0.3, 20))
        if scope != "tool":
            llm = "agent_llm" if scope == "agent" else series
            out.append(
                MetricSpec("cost_per_call", llm, scope, "value", "cost per LLM call", "USD", 0.3, 3)
            )
            out.append(
                MetricSpec(
                    "tokens_per_call", llm, scope, "value", "tokens per LLM call", "tokens", 0.3, 3
                )
            )
    return tuple(out)


METRICS: Final = _specs()
METRIC_NAMES: Final = tuple(dict.fromkeys(m.name for m in METRICS))


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """Knobs of the detector (defaults chosen on the synthetic histories, see the docs).

    ``min_score`` — smallest score reported; ``min_baseline_buckets`` — history buckets with
    data needed for the bucketed method (else the pooled two-sample tests are used, given
    ``min_pooled_samples`` records on each side); ``seasonal_min_days`` and
    ``seasonal_min_points`` — when the hour-of-day profile is used; ``min_effect`` —
    per-metric overrides of the minimum effect size.
    """

    min_score: float = 4.0
    min_baseline_buckets: int = 24
    min_pooled_samples: int = 10
    min_pooled_baseline: int = 20
    seasonal_min_days: int = 3
    seasonal_min_points: int = 3
    min_effect: dict[str, float] = field(default_factory=dict)

    def effect(self, spec: MetricSpec) -> float:
        return self.min_effect.get(spec.name, spec.min_effect)


# -- small helpers ----------------------------------------------------------------------------


def _z_of_tail(tail: float) -> float:
    if tail >= 1.0:
        return -_MAX_SCORE
    if tail <= 1e-300:
        return _MAX_SCORE
    return max(-_MAX_SCORE, min(_MAX_SCORE, -_NORMAL.inv_cdf(tail)))


def _tail_sum(log_first: float, ratio: Callable[[int], float], start: int, stop: int) -> float:
    """exp(log_first) * (1 + r(start) + r(start)·r(start±1) + …): a tail of a discrete
    distribution summed from its first term by the ratio of consecutive terms, stopping when
    the terms no longer matter."""
    total = term = 1.0
    j = start
    step = 1 if stop >= start else -1
    while j != stop:
        term *= ratio(j)
        total += term
        if term < total * 1e-17:
            break
        j += step
    return math.exp(log_first) * total


def binomial_tail_z(k: float, n: float, p: float, *, upper: bool) -> float:
    """How unusual ``k`` events in ``n`` trials are at rate ``p``, as a z-score (positive
    when unusual in the asked direction), from the exact binomial tail."""
    n_i = round(n)
    k_i = min(max(round(k), 0), max(n_i, 0))
    if n_i <= 0:
        return 0.0
    p = min(max(p, 1e-12), 1 - 1e-12)
    q = 1.0 - p
    mean = n_i * p
    if (k_i <= mean) if upper else (k_i >= mean):
        # not in the asked tail: a normal approximation of a non-positive score will do
        diff = (k_i - mean) if upper else (mean - k_i)
        return diff / math.sqrt(mean * q)
    log_first = (
        math.lgamma(n_i + 1)
        - math.lgamma(k_i + 1)
        - math.lgamma(n_i - k_i + 1)
        + k_i * math.log(p)
        + (n_i - k_i) * math.log(q)
    )
    if upper:
        # P(X >= k): terms k, k+1, …, n; pmf(j+1)/pmf(j) = (n-j)/(j+1) · p/q
        tail = _tail_sum(log_first, lambda j: (n_i - j) / (j + 1) * p / q, k_i, n_i)
    else:
        # P(X <= k): terms k, k-1, …, 0; pmf(j-1)/pmf(j) = j/(n-j+1) · q/p
        tail = _tail_sum(log_first, lambda j: j / (n_i - j + 1) * q / p, k_i, 0)
    return _z_of_tail(tail)


def poisson_tail_z(x: float, lam: float, *, upper: bool) -> float:
    """How unusual a count ``x`` is for a Poisson mean ``lam``, as a z-score (positive when
    unusual in the asked direction), from the exact Poisson tail."""
    k = max(round(x), 0)
    if lam <= 0:
        return _MAX_SCORE if (upper and k > 0) else -_MAX_SCORE
    if (k <= lam) if upper else (k >= lam):
        return ((k - lam) if upper else (lam - k)) / math.sqrt(lam)
    log_first = k * math.log(lam) - lam - math.lgamma(k + 1)
    if upper:
        # P(X >= k): pmf(j+1)/pmf(j) = lam/(j+1); the series is unbounded, cap it generously
        tail = _tail_sum(log_first, lambda j: lam / (j + 1), k, k + 10 * int(lam + 50))
    else:
        tail = _tail_sum(log_first, lambda j: j / lam, k, 0)
    return _z_of_tail(tail)


def _value(spec: MetricSpec, agg: Agg, min_samples: int | None = None) -> tuple[float, int] | None:
    """The value of a ``value``/``count`` metric in one cell and the samples behind it
    (``None`` below ``min_samples``, default the metric's own minimum)."""
    need = spec.min_samples if min_samples is None else min_samples
    name = spec.name
    if name == "volume":
        return (float(agg.n), agg.n)
    if name in ("latency_p50", "latency_p95"):
        n = agg.samples
        if n < need or n == 0:
            return None
        q = quantile(agg.lat, 0.5 if name == "latency_p50" else 0.95, LATENCY_EDGES)
        return None if q is None else (q, n)
    if name == "cost_per_call":
        if agg.cost_n < max(need, 1):
            return None
        return (agg.cost_sum / agg.cost_n, agg.cost_n)
    if name == "tokens_per_call":
        if agg.tok_n < max(need, 1):
            return None
        return (agg.tok_sum / agg.tok_n, agg.tok_n)
    raise ValueError(f"not a value metric: {name}")


def _rate(spec: MetricSpec, agg: Agg) -> tuple[int, int]:
    """(events, trials) of a rate metric."""
    if spec.name == "skip_rate":
        return (agg.skipped, agg.n)
    return (agg.failed, agg.done)


def _log(v: float) -> float:
    return math.log(max(v, 1e-12))


def _anscombe(v: float) -> float:
    return 2.0 * math.sqrt(max(v, 0.0) + 0.375)


def _inv_anscombe(t: float) -> float:
    return max(0.0, (t / 2.0) ** 2 - 0.375)


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        if value >= 10_000:
            return f"{value / 1000:.1f} s"
        return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if unit == "USD":
        return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    if unit == "":
        return f"{value:.1%}"
    return f"{value:,.1f} {unit}"


def _severity(score: float, spec: MetricSpec, observed: float) -> str:
    if score >= 8.0 or (spec.kind == "rate" and spec.up_only and observed >= 0.5):
        return "critical"
    return "warning"


@dataclass(slots=True)
class _Context:
    """What every series of one detection run shares."""

    bucket_s: int
    window_start: datetime
    window_end: datetime
    baseline_start: datetime
    now: datetime
    settings: DetectionSettings
    project: str | None
    window_buckets: list[int]

    @property
    def nslots(self) -> int:
        b = self.bucket_s
        return 86400 // b if b <= 21600 and 86400 % b == 0 else 0

    def slot(self, bucket: int) -> int:
        return (bucket % 86400) // self.bucket_s


@dataclass(slots=True)
class _Model:
    expect: Callable[[int], float]
    spread: float
    seasonal: bool
    n: int
    samples: int
    n_ref: float
    up: float = 0.0
    down: float = 0.0


def _trimmed_mean(values: Sequence[float], cut: float = 0.1) -> float:
    s = sorted(values)
    k = int(len(s) * cut)
    kept = s[k : len(s) - k] or s
    return sum(kept) / len(kept)


def _fit(
    points: Sequence[tuple[int, float, int]], ctx: _Context, floor: float, *, count: bool
) -> _Model:
    """Robust centre (seasonal when there is enough history and, for values, when the
    hour-of-day profile explains the variation better than a flat centre) and spread of a
    transformed history. The profile of a slot pools it with its two neighbours; counts
    use a trimmed mean (medians of small integers are too coarse), values the median.

    The spread of values is then calibrated on the history's own tail: if more than 1% of
    the history lies beyond 2.58 spreads (heavier tails than a normal distribution), it is
    widened until that holds.
    """
    vals = [v for _, v, _ in points]
    centre = _trimmed_mean(vals) if count else median(vals)
    flat = MAD_SCALE * mad(vals, centre)
    n_ref = median([float(s) for _, _, s in points]) or 1.0
    samples = sum(s for _, _, s in points)
    nslots = ctx.nslots
    settings = ctx.settings
    expect: Callable[[int], float] = lambda _b: centre  # noqa: E731
    spread = flat
    seasonal = False
    if nslots > 1 and (points[-1][0] - points[0][0]) / 86400.0 >= settings.seasonal_min_days:
        by_slot: dict[int, list[float]] = {}
        for b, v, _ in points:
            by_slot.setdefault(ctx.slot(b), []).append(v)
        profile: dict[int, float] = {}
        for slot in range(nslots):
            pooled = [v for d in (-1, 0, 1) for v in by_slot.get((slot + d) % nslots, ())]
            if len(by_slot.get(slot, ())) >= settings.seasonal_min_points:
                profile[slot] = _trimmed_mean(pooled) if count else median(pooled)
        if len(profile) >= 0.75 * nslots:
            slot_of = ctx.slot
            resid = [v - profile.get(slot_of(b), centre) for b, v, _ in points]
            rc = median(resid)
            seasonal_spread = MAD_SCALE * mad(resid, rc)
            if count or seasonal_spread < 0.9 * flat:

                def expect(b: int) -> float:
                    return profile.get(slot_of(b), centre) + rc

                spread = seasonal_spread
                seasonal = True
    spread = max(spread, floor)
    up = down = spread
    if not count and len(points) >= 50:
        zs = sorted(
            (v - expect(b)) / (spread * math.sqrt(max(1.0, n_ref / max(n, 1))))
            for b, v, n in points
        )
        hi = zs[min(len(zs) - 1, int(0.995 * len(zs)))]
        lo = zs[max(0, int(0.005 * len(zs)))]
        up = spread * max(1.0, hi / 2.576)
        down = spread * max(1.0, -lo / 2.576)
    return _Model(expect, spread, seasonal, len(points), samples, n_ref, up, down)


@dataclass(slots=True)
class _Run:
    z: float
    first: int
    last: int


def _best_run(
    zs: Sequence[float | None],
    gate: Callable[[int, int, float], bool],
    min_score: float,
) -> _Run | None:
    """The run of consecutive scored buckets with the largest |Stouffer z| passing ``gate``."""
    idx = [i for i, z in enumerate(zs) if z is not None]
    best: _Run | None = None
    for a in range(len(idx)):
        total = 0.0
        for b in range(a, min(len(idx), a + _MAX_RUN)):
            z = zs[idx[b]]
            assert z is not None
            total += z
            comb = total / math.sqrt(b - a + 1)
            if abs(comb) < min_score or (best is not None and abs(comb) <= abs(best.z)):
                continue
            if gate(idx[a], idx[b], comb):
                best = _Run(comb, idx[a], idx[b])
    return best


def _rate_run(
    ks: Sequence[tuple[float, float] | None],
    p0: float,
    phi: float,
    gate: Callable[[int, int, float], bool],
    min_score: float,
    min_n: int,
    up_only: bool,
) -> _Run | None:
    """The run of consecutive buckets whose pooled (events, trials) are the most unusual at
    rate ``p0`` (over-dispersion ``phi``) and pass ``gate(first, last, z)``."""
    idx = [i for i, kn in enumerate(ks) if kn is not None and kn[1] > 0]
    best: _Run | None = None
    for a in range(len(idx)):
        k_sum = n_sum = 0.0
        for b in range(a, min(len(idx), a + _MAX_RUN)):
            kn = ks[idx[b]]
            assert kn is not None
            k_sum += kn[0]
            n_sum += kn[1]
            if n_sum < min_n:
                continue
            upper = k_sum / n_sum > p0
            if up_only and not upper:
                continue
            z = binomial_tail_z(k_sum / phi, n_sum / phi, p0, upper=upper)
            z = z if upper else -z
            if abs(z) < min_score or (best is not None and abs(z) <= abs(best.z)):
                continue
            if gate(idx[a], idx[b], z):
                best = _Run(z, idx[a], idx[b])
    return best


def _count_run(
    observed: Sequence[tuple[float, int] | None],
    expected: Sequence[float],
    dispersion: float,
    gate: Callable[[int, int, float], bool],
    min_score: float,
) -> _Run | None:
    """The run of consecutive buckets whose pooled count is the most unusual for the pooled
    expectation (an exact Poisson tail, scaled down by the history's over-dispersion)."""
    best: _Run | None = None
    for a in range(len(observed)):
        got_sum = exp_sum = 0.0
        for b in range(a, min(len(observed), a + _MAX_RUN)):
            got = observed[b]
            if got is None:
                break
            got_sum += got[0]
            exp_sum += expected[b]
            up = got_sum > exp_sum
            z = poisson_tail_z(got_sum, exp_sum, upper=up) / dispersion
            z = z if up else -z
            if abs(z) < min_score or (best is not None and abs(z) <= abs(best.z)):
                continue
            if gate(a, b, z):
                best = _Run(z, a, b)
    return best


def _dispersion(pairs: Iterable[tuple[float, float]], p0: float) -> float:
    """Over-dispersion of per-bucket (events, trials) around ``p0``: the median squared
    standardized residual over its value for a binomial (1 when binomial or unknown)."""
    z2 = [(k - n * p0) ** 2 / (n * p0 * (1 - p0)) for k, n in pairs if n >= 5]
    return max(1.0, median(z2) / _CHI2_1_MEDIAN) if len(z2) >= 10 else 1.0


# -- one series -----------------------------------------------------------------------------


def _bucket_window(ctx: _Context, first: int, last: int) -> tuple[datetime, datetime]:
    b0 = ctx.window_buckets[first]
    b1 = ctx.window_buckets[last] + ctx.bucket_s
    start = max(datetime.fromtimestamp(b0, UTC), ctx.window_start)
    end = min(datetime.fromtimestamp(b1, UTC), ctx.window_end)
    return start, end


def _anomaly(
    spec: MetricSpec,
    target: str,
    ctx: _Context,
    start: datetime,
    end: datetime,
    observed: float,
    baseline: Baseline,
    score: float,
    samples: int,
    description: str,
) -> Anomaly:
    direction = "up" if score > 0 else "down"
    s = min(abs(score), _MAX_SCORE)
    return Anomaly(
        metric=spec.name,
        scope=spec.scope,
        target=target,
        window_start=start,
        window_end=end,
        observed=observed,
        baseline=baseline,
        score=round(s, 2),
        direction=direction,
        severity=_severity(s, spec, observed),
        description=description,
        samples=samples,
        unit=spec.unit,
        project=ctx.project,
    )


def _describe(
    spec: MetricSpec, target: str, observed: float, expected: float, score: float, extra: str = ""
) -> str:
    verb = "rose" if observed > expected else "fell"
    text = (
        f"{spec.label} of {spec.scope} {target} {verb} to {_fmt(observed, spec.unit)}"
        f"{extra} from {_fmt(expected, spec.unit)}"
    )
    if spec.kind != "rate" and expected > 0:
        text += f" (×{observed / expected:.2f})"
    return text + f", {abs(score):.1f}σ"


def _gate_ratio(spec: MetricSpec, settings: DetectionSettings, ratio: float, up: bool) -> bool:
    eff = settings.effect(spec)
    if up:
        return ratio >= 1.0 + eff
    return ratio <= 1.0 / (1.0 + eff)


def _bucketed_value(
    spec: MetricSpec,
    target: str,
    base: dict[int, Agg],
    win: dict[int, Agg],
    ctx: _Context,
) -> Anomaly | None:
    settings = ctx.settings
    count = spec.kind == "count"
    buckets = ctx.window_buckets
    points: list[tuple[int, float, int]] = []
    if count:
        occupied = sorted(b for b, a in base.items() if a.n > 0)
        if not occupied:
            return None
        first_win = buckets[0] if buckets else occupied[-1] + ctx.bucket_s
        for b in range(occupied[0], first_win, ctx.bucket_s):
            a = base.get(b)
            n = a.n if a is not None else 0
            points.append((b, _anscombe(n), n))
    else:
        for b in sorted(base):
            got = _value(spec, base[b])
            if got is not None:
                points.append((b, _log(got[0]), got[1]))
    if len(points) < settings.min_baseline_buckets:
        return None
    floor = 1.0 if count else _sampling_floor(spec, base, median([float(p[2]) for p in points]))
    model = _fit(points, ctx, floor, count=count)
    now_s = ctx.now.timestamp()
    fracs = [min(1.0, (now_s - b) / ctx.bucket_s) for b in buckets]

    def expected_of(idx: Sequence[int]) -> float:
        """Expected value over some window buckets, in the metric's units."""
        if count:
            return sum(_inv_anscombe(model.expect(buckets[i])) * fracs[i] for i in idx)
        return math.exp(sum(model.expect(buckets[i]) for i in idx) / max(len(idx), 1))

    def observed_of(idx: Sequence[int]) -> tuple[float, int] | None:
        if count:
            n = sum(win[buckets[i]].n for i in idx if buckets[i] in win)
            return (float(n), n)
        return _value(spec, merged([win[buckets[i]] for i in idx if buckets[i] in win]), 1)

    # Units of evaluation: single buckets for counts; for values, runs of consecutive
    # buckets merged until they hold the metric's minimum number of samples.
    units: list[list[int]] = []
    if count:
        units = [[i] for i in range(len(buckets)) if fracs[i] >= 0.25]
    else:
        pending: list[int] = []
        held = 0
        for i, b in enumerate(buckets):
            a = win.get(b)
            if a is None:
                continue
            pending.append(i)
            got = _value(spec, a, 0)
            held += got[1] if got is not None else 0
            if held >= spec.min_samples:
                units.append(pending)
                pending, held = [], 0
        if pending:
            if held >= max(3, spec.min_samples // 2) or not units:
                units.append(pending)
            else:
                units[-1] = units[-1] + pending
    dispersion = max(1.0, model.spread)
    zs: list[float | None] = []
    for unit in units:
        got = observed_of(unit)
        if count or got is None or got[1] < 3:
            zs.append(None)
            continue
        resid = _log(got[0]) - sum(model.expect(buckets[i]) for i in unit) / len(unit)
        spread = model.up if resid > 0 else model.down
        if got[1] < model.n_ref:
            spread *= math.sqrt(model.n_ref / max(got[1], 1))
        zs.append(resid / spread)

    def span_of(first: int, last: int) -> list[int]:
        return [i for u in units[first : last + 1] for i in u]

    def gate(first: int, last: int, z: float) -> bool:
        idx = span_of(first, last)
        got = observed_of(idx)
        expected = expected_of(idx)
        if got is None:
            return False
        if expected <= 0:
            return got[0] > 0 and z > 0
        return _gate_ratio(spec, settings, got[0] / expected, z > 0)

    if count:
        run = _count_run(
            [observed_of(u) for u in units],
            [expected_of(u) for u in units],
            dispersion,
            gate,
            settings.min_score,
        )
    else:
        run = _best_run(zs, gate, settings.min_score)
    if run is None:
        return None
    idx = span_of(run.first, run.last)
    got = observed_of(idx)
    assert got is not None
    observed, samples = got
    expected = expected_of(idx)
    start, end = _bucket_window(ctx, idx[0], idx[-1])
    if count:
        per = max(sum(fracs[i] for i in idx), 1e-9)
        observed, expected = observed / per, expected / per
        spread_units = model.spread * math.sqrt(max(expected, 1.0))
    else:
        spread_units = expected * (math.exp(model.spread) - 1.0)
    baseline = Baseline(
        median=expected,
        spread=spread_units,
        n=model.n,
        samples=model.samples,
        method="robust_z_seasonal" if model.seasonal else "robust_z",
        start=ctx.baseline_start,
        end=ctx.window_start,
        seasonal=model.seasonal,
    )
    if count:
        width = _human_width(ctx.bucket_s)
        ratio = (observed / expected) if expected else math.inf
        desc = (
            f"volume of {spec.scope} {target} {'rose' if run.z > 0 else 'fell'} to "
            f"{observed:,.1f} per {width} from {expected:,.1f} (×{ratio:.2f}), "
            f"{abs(run.z):.1f}σ"
        )
    else:
        desc = _describe(spec, target, observed, expected, run.z)
    return _anomaly(spec, target, ctx, start, end, observed, baseline, run.z, samples, desc)


def _sampling_floor(spec: MetricSpec, base: dict[int, Agg], n_ref: float) -> float:
    """The smallest credible spread of the log of a bucket's mean: its sampling error with
    ``n_ref`` records, given the dispersion of all the history's records (the history's
    bucket-to-bucket spread can come out smaller by chance when there are few buckets)."""
    pool = merged(list(base.values()))
    n = max(n_ref, 1.0)
    mean, var, _ = pool.mean_var("cost" if spec.name == "cost_per_call" else "tokens")
    if mean <= 0:
        return 0.02
    return max(0.02, math.sqrt(var) / mean / math.sqrt(n))


_QUANTILES: Final = {"latency_p50": 0.5, "latency_p95": 0.95}
_SLOT_SAMPLES: Final = {"latency_p50": 30, "latency_p95": 100}


def _above(hist: dict[int, int], threshold: float) -> float:
    return count_above(hist, threshold, LATENCY_EDGES)


def _bucketed_quantile(
    spec: MetricSpec,
    target: str,
    base: dict[int, Agg],
    win: dict[int, Agg],
    ctx: _Context,
) -> Anomaly | None:
    """Latency percentiles as exceedance rates: the share of calls slower than the
    history's percentile (for the hour of day when seasonal) is binomial under no change,
    so small buckets are tested exactly and a run of buckets is pooled, like error rates."""
    settings = ctx.settings
    q = _QUANTILES[spec.name]
    occupied = sorted(b for b, a in base.items() if a.samples > 0)
    if len(occupied) < settings.min_baseline_buckets:
        return None
    pool = merged([base[b] for b in occupied])
    flat = quantile(pool.lat, q, LATENCY_EDGES)
    if flat is None:
        return None
    thresholds: dict[int, float] = {}
    nslots = ctx.nslots
    if nslots > 1 and (occupied[-1] - occupied[0]) / 86400.0 >= settings.seasonal_min_days:
        by_slot: dict[int, dict[int, int]] = {}
        for b in occupied:
            hist = by_slot.setdefault(ctx.slot(b), {})
            for k, v in base[b].lat.items():
                hist[k] = hist.get(k, 0) + v
        for slot in range(nslots):
            hist = {}
            for d in (-1, 0, 1):
                for k, v in by_slot.get((slot + d) % nslots, {}).items():
                    hist[k] = hist.get(k, 0) + v
            if sum(hist.values()) >= _SLOT_SAMPLES[spec.name]:
                got = quantile(hist, q, LATENCY_EDGES)
                if got is not None:
                    thresholds[slot] = got
        if len(thresholds) < 0.75 * nslots:
            thresholds = {}
    seasonal = bool(thresholds)

    def threshold(b: int) -> float:
        return thresholds.get(ctx.slot(b), flat) if seasonal else flat

    pairs = [(_above(base[b].lat, threshold(b)), float(base[b].samples)) for b in occupied]
    k_total = sum(k for k, _ in pairs)
    n_total = sum(n for _, n in pairs)
    p0 = (k_total + 0.5) / (n_total + 1.0)
    phi = _dispersion(pairs, p0)
    buckets = ctx.window_buckets
    ks: list[tuple[float, float] | None] = []
    for b in buckets:
        a = win.get(b)
        ks.append((_above(a.lat, threshold(b)), float(a.samples)) if a and a.samples else None)

    def observed_expected(first: int, last: int) -> tuple[float | None, float, int]:
        idx = [i for i in range(first, last + 1) if ks[i] is not None]
        cell = merged([win[buckets[i]] for i in idx])
        expected = math.exp(sum(math.log(threshold(buckets[i])) for i in idx) / max(len(idx), 1))
        return quantile(cell.lat, q, LATENCY_EDGES), expected, cell.samples

    def gate(first: int, last: int, z: float) -> bool:
        observed, expected, _ = observed_expected(first, last)
        return observed is not None and _gate_ratio(spec, settings, observed / expected, z > 0)

    min_n = max(5, spec.min_samples // 2)
    run = _rate_run(ks, p0, phi, gate, settings.min_score, min_n, False)
    if run is None:
        return None
    observed, expected, samples = observed_expected(run.first, run.last)
    assert observed is not None
    idx = [i for i in range(run.first, run.last + 1) if ks[i] is not None]
    start, end = _bucket_window(ctx, idx[0], idx[-1])
    logs = [math.log(v) for v in thresholds.values()] or [math.log(flat)]
    spread = MAD_SCALE * mad(logs) if len(logs) > 2 else 0.0
    baseline = Baseline(
        median=expected,
        spread=expected * (math.exp(spread) - 1.0),
        n=len(occupied),
        samples=int(n_total),
        method="exceedance_seasonal" if seasonal else "exceedance",
        start=ctx.baseline_start,
        end=ctx.window_start,
        seasonal=seasonal,
    )
    share = sum(k for kn in ks[run.first : run.last + 1] if kn for k in kn[:1]) / max(samples, 1)
    extra = f"; {share:.0%} of {samples} calls slower than the usual p{round(q * 100)}"
    desc = _describe(spec, target, observed, expected, run.z) + extra
    return _anomaly(spec, target, ctx, start, end, observed, baseline, run.z, samples, desc)


def _human_width(seconds: int) -> str:
    if seconds % 86400 == 0:
        return "day" if seconds == 86400 else f"{seconds // 86400} days"
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return "minute" if seconds == 60 else f"{seconds // 60} min"
    return f"{seconds} s"


def _bucketed_rate(
    spec: MetricSpec,
    target: str,
    base: dict[int, Agg],
    win: dict[int, Agg],
    ctx: _Context,
) -> Anomaly | None:
    settings = ctx.settings
    pairs = [_rate(spec, a) for a in base.values()]
    used = [(k, n) for k, n in pairs if n > 0]
    if len(used) < settings.min_baseline_buckets:
        return None
    k_total = sum(k for k, _ in used)
    n_total = sum(n for _, n in used)
    p0 = (k_total + 0.5) / (n_total + 1.0)
    phi = _dispersion(used, p0)
    ks: list[tuple[float, float] | None] = []
    for b in ctx.window_buckets:
        a = win.get(b)
        if a is None:
            ks.append(None)
        else:
            k, n = _rate(spec, a)
            ks.append((float(k), float(n)))
    eff = settings.effect(spec)

    def pooled(first: int, last: int) -> tuple[int, int]:
        got = [kn for kn in ks[first : last + 1] if kn is not None]
        return int(sum(k for k, _ in got)), int(sum(n for _, n in got))

    def gate(first: int, last: int, _z: float) -> bool:
        k, n = pooled(first, last)
        return n > 0 and abs(k / n - p0) >= eff

    run = _rate_run(ks, p0, phi, gate, settings.min_score, spec.min_samples, spec.up_only)
    if run is None:
        return None
    k_sum, n_sum = pooled(run.first, run.last)
    observed = k_sum / n_sum
    start, end = _bucket_window(ctx, run.first, run.last)
    baseline = Baseline(
        median=p0,
        spread=math.sqrt(phi * p0 * (1 - p0) / n_sum),
        n=len(used),
        samples=n_total,
        method="binomial",
        start=ctx.baseline_start,
        end=ctx.window_start,
    )
    desc = _describe(spec, target, observed, p0, run.z, f" ({k_sum}/{n_sum})")
    return _anomaly(spec, target, ctx, start, end, observed, baseline, run.z, n_sum, desc)


def _pooled(
    spec: MetricSpec,
    target: str,
    base: Agg,
    win: Agg,
    ctx: _Context,
) -> Anomaly | None:
    """Window against the pooled baseline with a two-sample test."""
    settings = ctx.settings
    need_b, need_w = settings.min_pooled_baseline, settings.min_pooled_samples
    eff = settings.effect(spec)
    start, end = ctx.window_start, ctx.window_end
    if spec.kind == "count":
        return None  # volume needs comparable exposure: bucketed history only
    if spec.kind == "rate":
        k1, n1 = _rate(spec, base)
        k2, n2 = _rate(spec, win)
        if n1 < need_b or n2 < max(need_w, spec.min_samples):
            return None
        res = two_proportion_test(k1, n1, k2, n2)
        p0, p = k1 / n1, k2 / n2
        if abs(p - p0) < eff or abs(res.z) < settings.min_score or (spec.up_only and p < p0):
            return None
        baseline = Baseline(
            median=p0,
            spread=math.sqrt(max(p0 * (1 - p0), 1e-12) / n2),
            n=n1,
            samples=n1,
            method="two_proportion",
            start=ctx.baseline_start,
            end=ctx.window_start,
        )
        desc = _describe(spec, target, p, p0, res.z, f" ({k2}/{n2})")
        return _anomaly(spec, target, ctx, start, end, p, baseline, res.z, n2, desc)
    need = max(need_w, spec.min_samples)
    got_b = _value(spec, base, max(need_b, spec.min_samples))
    got_w = _value(spec, win, need)
    if got_b is None or got_w is None:
        return None
    if spec.name.startswith("latency"):
        res = mann_whitney_binned(base.lat, win.lat)
        method = "mann_whitney"
        q1 = quantile(base.lat, 0.25, LATENCY_EDGES) or 0.0
        q3 = quantile(base.lat, 0.75, LATENCY_EDGES) or 0.0
        spread = (q3 - q1) / 1.349
    else:
        what = "cost" if spec.name == "cost_per_call" else "tokens"
        m1, v1, c1 = base.mean_var(what)
        m2, v2, c2 = win.mean_var(what)
        res = welch_test(m1, v1, c1, m2, v2, c2)
        method = "welch"
        spread = math.sqrt(v1)
    expected, observed = got_b[0], got_w[0]
    if expected <= 0 or abs(res.z) < settings.min_score:
        return None
    ratio = observed / expected
    if not _gate_ratio(spec, settings, ratio, res.z > 0):
        return None
    baseline = Baseline(
        median=expected,
        spread=spread,
        n=got_b[1],
        samples=got_b[1],
        method=method,
        start=ctx.baseline_start,
        end=ctx.window_start,
    )
    desc = _describe(spec, target, observed, expected, res.z)
    return _anomaly(spec, target, ctx, start, end, observed, baseline, res.z, got_w[1], desc)


# -- a whole run --------------------------------------------------------------------------------


def detect_in_frame(
    frame: Frame,
    *,
    window_start: datetime,
    window_end: datetime,
    baseline_start: datetime,
    now: datetime,
    settings: DetectionSettings,
    project: str | None = None,
    metrics: Sequence[str] | None = None,
    scopes: Sequence[str] | None = None,
) -> list[Anomaly]:
    """Anomalies in an already fetched frame: group 1 is the window and 0 the baseline, or,
    for a frame fetched without groups, the buckets from the window's first on."""
    bucket_s = frame.bucket_s or 3600
    first = int(window_start.timestamp()) // bucket_s * bucket_s
    window_buckets = list(range(first, math.ceil(window_end.timestamp()), bucket_s))
    ctx = _Context(
        bucket_s,
        window_start,
        window_end,
        baseline_start,
        now,
        settings,
        project,
        window_buckets,
    )
    wanted = [
        m
        for m in METRICS
        if (metrics is None or m.name in metrics) and (scopes is None or m.scope in scopes)
    ]
    found: list[Anomaly] = []
    lowest = int(baseline_start.timestamp()) // bucket_s * bucket_s
    highest = window_end.timestamp()
    for (series, target), cells in frame.series.items():
        base: dict[int, Agg] = {}
        win: dict[int, Agg] = {}
        for (b, g), a in cells.items():
            if b < lowest or b >= highest:
                continue
            in_window = g == 1 if frame.grouped else b >= first
            (win if in_window else base)[b] = a
        if not win and not base:
            continue
        base_pool: Agg | None = None
        win_pool: Agg | None = None
        for spec in wanted:
            if spec.series != series:
                continue
            if spec.kind == "rate":
                got = _bucketed_rate(spec, target, base, win, ctx)
            elif spec.name in _QUANTILES:
                got = _bucketed_quantile(spec, target, base, win, ctx)
            else:
                got = _bucketed_value(spec, target, base, win, ctx)
            if got is None and not _enough_buckets(spec, base, settings):
                if base_pool is None:
                    base_pool = merged(list(base.values()))
                    win_pool = merged(list(win.values()))
                assert win_pool is not None
                got = _pooled(spec, target, base_pool, win_pool, ctx)
            if got is not None:
                found.append(got)
    found.sort(key=lambda a: (-a.score, a.scope, a.target, a.metric))
    return found


def _enough_buckets(spec: MetricSpec, base: dict[int, Agg], settings: DetectionSettings) -> bool:
    if spec.kind == "rate":
        used = sum(1 for a in base.values() if _rate(spec, a)[1] > 0)
    elif spec.kind == "count":
        used = sum(1 for a in base.values() if a.n > 0)
    elif spec.name in _QUANTILES:
        used = sum(1 for a in base.values() if a.samples > 0)
    else:
        used = sum(1 for a in base.values() if _value(spec, a) is not None)
    return used >= settings.min_baseline_buckets


def detect(
    engine: Engine,
    *,
    now: datetime | None = None,
    window: timedelta = timedelta(hours=6),
    baseline: timedelta = timedelta(days=14),
    bucket: timedelta = timedelta(hours=1),
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
    settings: DetectionSettings | None = None,
    metrics: Sequence[str] | None = None,
    scopes: Sequence[str] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    capture: Callable[[Frame, datetime], None] | None = None,
) -> list[Anomaly]:
    """Detect anomalies in the store behind ``engine``.

    The evaluation window is ``[since, until)`` when ``since`` is given, else the last
    ``window`` before ``now`` (aligned down to the bucket grid); the baseline is the
    ``baseline`` before the window's start. ``capture(frame, window_start)`` receives the
    aggregates read (health checks reuse them).
    """
    settings = settings or DetectionSettings()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    bucket_s = max(1, int(bucket.total_seconds()))
    if since is not None:
        window_start = since.astimezone(UTC)
        window_end = (until or now).astimezone(UTC)
    else:
        window_end = (until or now).astimezone(UTC)
        raw = int((window_end - window).timestamp())
        window_start = datetime.fromtimestamp(raw // bucket_s * bucket_s, UTC)
    baseline_start = window_start - baseline
    filters: list[ColumnElement[bool]] = [
        S.c.start_time >= baseline_start,
        S.c.start_time < window_end,
        *where,
    ]
    if project is not None:
        filters.append(S.c.project == project)
    group: ColumnElement[int] | None = None
    if since is not None and int(window_start.timestamp()) % bucket_s:
        # a window off the bucket grid: its first bucket is split in SQL
        one = literal(1, Integer(), literal_execute=True)
        zero = literal(0, Integer(), literal_execute=True)
        group = case((S.c.start_time >= window_start, one), else_=zero)
    frame = fetch(engine, filters, group=group, bucket_s=bucket_s)
    if capture is not None:
        capture(frame, window_start)
    return detect_in_frame(
        frame,
        window_start=window_start,
        window_end=window_end,
        baseline_start=baseline_start,
        now=now,
        settings=settings,
        project=project,
        metrics=metrics,
        scopes=scopes,
    )
