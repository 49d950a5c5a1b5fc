"""Small, dependency-free statistics: robust location/spread, normal tail probabilities,
Wilson intervals, the two-proportion z-test, a Poisson rate test, Welch's z and the
Mann–Whitney U test (normal approximation, tie-corrected; also on binned data).

Everything here works on plain floats and ints (the stdlib ``math`` and ``statistics``
modules only), so the tests can check it against textbook values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple, TypeVar

__all__ = [
    "MAD_SCALE",
    "TestResult",
    "holm",
    "mad",
    "mann_whitney",
    "mann_whitney_binned",
    "median",
    "normal_sf",
    "poisson_rate_test",
    "two_proportion_test",
    "two_sided_p",
    "welch_test",
    "wilson_interval",
]

_K = TypeVar("_K", int, float)

MAD_SCALE: Final = 1.4826
"""Scales the median absolute deviation to the standard deviation of a normal distribution."""


class TestResult(NamedTuple):
    """A two-sample test: ``z`` (positive when the second sample is larger / higher),
    the two-sided ``p_value`` and an effect size (its meaning depends on the test)."""

    z: float
    p_value: float
    effect: float


def median(values: Sequence[float]) -> float:
    """The median (``nan`` for no values)."""
    n = len(values)
    if n == 0:
        return math.nan
    s = sorted(values)
    mid = n // 2
    return float(s[mid]) if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def mad(values: Sequence[float], center: float | None = None) -> float:
    """The (unscaled) median absolute deviation from ``center`` (default: the median)."""
    if not values:
        return math.nan
    c = median(values) if center is None else center
    return median([abs(v - c) for v in values])


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_sided_p(z: float) -> float:
    return min(1.0, 2.0 * normal_sf(abs(z)))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k/n`` (``(0, 1)`` when ``n == 0``)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> TestResult:
    """Pooled two-proportion z-test of ``k2/n2`` against ``k1/n1``; ``effect`` = p2 − p1."""
    if n1 <= 0 or n2 <= 0:
        return TestResult(0.0, 1.0, 0.0)
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if var <= 0:
        return TestResult(0.0, 1.0, p2 - p1)
    z = (p2 - p1) / math.sqrt(var)
    return TestResult(z, two_sided_p(z), p2 - p1)


def poisson_rate_test(c1: int, e1: float, c2: int, e2: float) -> TestResult:
    """Compares event rates ``c1/e1`` and ``c2/e2`` (counts over exposures, e.g. tool calls
    per execution) with a pooled normal approximation; ``effect`` = rate2 − rate1."""
    if e1 <= 0 or e2 <= 0:
        return TestResult(0.0, 1.0, 0.0)
    r1, r2 = c1 / e1, c2 / e2
    pooled = (c1 + c2) / (e1 + e2)
    var = pooled * (1 / e1 + 1 / e2)
    if var <= 0:
        return TestResult(0.0, 1.0, r2 - r1)
    z = (r2 - r1) / math.sqrt(var)
    return TestResult(z, two_sided_p(z), r2 - r1)


def welch_test(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> TestResult:
    """Welch's unequal-variance test with a normal approximation (fine for the sample sizes
    it is used with); ``effect`` = mean2 − mean1."""
    if n1 < 2 or n2 < 2:
        return TestResult(0.0, 1.0, mean2 - mean1)
    se2 = max(var1, 0.0) / n1 + max(var2, 0.0) / n2
    if se2 <= 0:
        return TestResult(0.0, 1.0, mean2 - mean1)
    z = (mean2 - mean1) / math.sqrt(se2)
    return TestResult(z, two_sided_p(z), mean2 - mean1)


def mann_whitney_binned(a: Mapping[_K, int], b: Mapping[_K, int]) -> TestResult:
    """Mann–Whitney U test of sample ``b`` against sample ``a``, both given as counts per
    ordered bin (values in one bin are ties). Normal approximation with tie correction and
    continuity correction. ``effect`` is the probability that a value of ``b`` exceeds one of
    ``a`` (ties count half): 0.5 means no shift, above 0.5 means ``b`` is larger."""
    n1 = sum(a.values())
    n2 = sum(b.values())
    if n1 == 0 or n2 == 0:
        return TestResult(0.0, 1.0, 0.5)
    total = n1 + n2
    rank_sum_b = 0.0
    tie_term = 0.0
    below = 0
    for key in sorted(set(a) | set(b)):
        ca, cb = a.get(key, 0), b.get(key, 0)
        t = ca + cb
        if t == 0:
            continue
        rank_sum_b += cb * (below + (t + 1) / 2.0)
        tie_term += t * t * t - t
        below += t
    u_b = rank_sum_b - n2 * (n2 + 1) / 2.0
    mean = n1 * n2 / 2.0
    var = n1 * n2 / 12.0 * ((total + 1) - tie_term / (total * (total - 1) if total > 1 else 1))
    effect = u_b / (n1 * n2)
    if var <= 0:
        return TestResult(0.0, 1.0, effect)
    diff = u_b - mean
    diff = math.copysign(max(0.0, abs(diff) - 0.5), diff)
    z = diff / math.sqrt(var)
    return TestResult(z, two_sided_p(z), effect)


def mann_whitney(a: Iterable[float], b: Iterable[float]) -> TestResult:
    """Mann–Whitney U test on raw samples (exact values; equal values are ties)."""
    ca: dict[float, int] = {}
    cb: dict[float, int] = {}
    for v in a:
        ca[v] = ca.get(v, 0) + 1
    for v in b:
        cb[v] = cb.get(v, 0) + 1
    return mann_whitney_binned(ca, cb)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
