"""The statistics helpers against textbook values, and the histogram percentiles."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from tracehound.monitoring._detect import binomial_tail_z, poisson_tail_z
from tracehound.monitoring._histogram import LATENCY_EDGES, count_above, quantile
from tracehound.monitoring._stats import (
    holm,
    mad,
    mann_whitney,
    mann_whitney_binned,
    median,
    poisson_rate_test,
    two_proportion_test,
    welch_test,
    wilson_interval,
)
from tracehound.monitoring._time import parse_duration, parse_time, parse_window


def test_median_and_mad() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert math.isnan(median([]))
    assert mad([1, 2, 3, 4, 100]) == 1.0  # robust to the outlier


def test_wilson_interval_matches_the_textbook() -> None:
    lo, hi = wilson_interval(8, 10)  # Wilson (1927); e.g. Newcombe 1998, table I
    assert lo == pytest.approx(0.4902, abs=1e-3)
    assert hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_two_proportion_test() -> None:
    res = two_proportion_test(10, 100, 25, 100)
    # pooled p = 0.175, se = sqrt(.175*.825*.02) = 0.05374
    assert res.z == pytest.approx(0.15 / 0.053735, rel=1e-3)
    assert res.p_value == pytest.approx(0.00523, rel=0.02)
    assert two_proportion_test(0, 0, 1, 1).p_value == 1.0


def test_mann_whitney_matches_a_direct_count() -> None:
    rnd = random.Random(3)
    a = [rnd.gauss(0, 1) for _ in range(60)]
    b = [rnd.gauss(0.8, 1) for _ in range(50)]
    res = mann_whitney(a, b)
    u = sum(1.0 if y > x else 0.5 if y == x else 0.0 for x in a for y in b)
    assert res.effect == pytest.approx(u / (len(a) * len(b)))
    mean, sd = len(a) * len(b) / 2, math.sqrt(len(a) * len(b) * (len(a) + len(b) + 1) / 12)
    assert res.z == pytest.approx((u - mean - 0.5) / sd, rel=1e-6)
    assert res.z > 3
    # no shift, and the symmetry of the statistic
    assert abs(mann_whitney(a, a).z) < 1e-9
    assert mann_whitney(b, a).z == pytest.approx(-res.z)


def test_mann_whitney_on_bins_treats_a_bin_as_ties() -> None:
    res = mann_whitney_binned({1: 10, 2: 10}, {2: 10, 3: 10})
    assert res.effect == pytest.approx(0.875)  # 3/4 above + half of the 1/4 tied
    assert res.z > 0
    assert mann_whitney_binned({}, {1: 3}).p_value == 1.0


def test_welch_poisson_and_holm() -> None:
    res = welch_test(10.0, 4.0, 50, 11.0, 4.0, 50)
    assert res.z == pytest.approx(1.0 / math.sqrt(4 / 50 + 4 / 50))
    assert poisson_rate_test(10, 100.0, 30, 100.0).z > 3
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_exact_tails() -> None:
    # P(X >= 2 | n=10, p=.01) = 0.004266
    assert binomial_tail_z(2, 10, 0.01, upper=True) == pytest.approx(
        -statistics.NormalDist().inv_cdf(0.0042662), rel=1e-4
    )
    # P(X = 0 | Poisson(7)) = e^-7
    assert poisson_tail_z(0, 7.0, upper=False) == pytest.approx(
        -statistics.NormalDist().inv_cdf(math.exp(-7)), rel=1e-6
    )
    assert binomial_tail_z(5, 100, 0.5, upper=True) < 0  # not in the asked tail
    assert binomial_tail_z(0, 100_000, 0.5, upper=True) < -50  # no overflow
    assert poisson_tail_z(1_000, 10.0, upper=True) > 30


def test_histogram_percentiles_are_within_a_bin() -> None:
    rnd = random.Random(5)
    values = [math.exp(rnd.gauss(6, 0.8)) for _ in range(20_000)]
    hist: dict[int, int] = {}
    import bisect

    for v in values:
        i = bisect.bisect_right(LATENCY_EDGES, v)
        hist[i] = hist.get(i, 0) + 1
    exact = sorted(values)
    for q in (0.5, 0.95, 0.99):
        got = quantile(hist, q, LATENCY_EDGES)
        assert got is not None
        assert got == pytest.approx(exact[int(q * len(exact))], rel=0.05)
    above = count_above(hist, exact[int(0.95 * len(exact))], LATENCY_EDGES)
    assert above / len(values) == pytest.approx(0.05, abs=0.01)
    assert quantile({}, 0.5, LATENCY_EDGES) is None


def test_sql_bins_agree_with_python() -> None:
    """The CASE tree puts a value in the same bin as a bisection."""
    import bisect

    from sqlalchemy import Column, Float, Integer, MetaData, Table, create_engine, insert, select

    from tracehound.monitoring._histogram import bin_expression

    samples = [0.001, 0.01, 0.0119, 0.5, 1.0, 27.3, 1234.5, 9.9e6, 3.1e7, 1e9]
    table = Table("t", MetaData(), Column("i", Integer, primary_key=True), Column("v", Float))
    engine = create_engine("sqlite://")
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"i": i, "v": x} for i, x in enumerate(samples)])
        got = [
            r[0]
            for r in conn.execute(
                select(bin_expression(table.c.v, LATENCY_EDGES)).order_by(table.c.i)
            )
        ]
    assert got == [bisect.bisect_right(LATENCY_EDGES, x) for x in samples]


def test_time_parsing() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(ValueError):
        parse_duration(0)
    assert parse_time("-6h", now=now) == now - timedelta(hours=6)
    assert parse_time("2026-03-10T10:00:00Z") == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert parse_window("24h", now=now) == (now - timedelta(days=1), now)
    assert parse_window("-48h..-24h", now=now) == (now - timedelta(days=2), now - timedelta(days=1))
    assert parse_window("v1.2", now=now) is None
    with pytest.raises(ValueError):
        parse_window("-1h..-2h", now=now)
