"""Anomaly detection on seeded synthetic histories with known injected faults, on SQLite and
on PostgreSQL: the faults are found, a clean history raises nothing, precision and recall
over several seeds stay high."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tracehound.monitoring import Analytics, Anomaly
from tracehound.monitoring._synthetic import (
    Injection,
    random_injections,
    score_findings,
)

from ._support import END_NS, NOW, history, last_hours, write_sqlite


def _keys(found: list[Anomaly]) -> set[tuple[str, str, str, str]]:
    return {(a.scope, a.target, a.metric, a.direction) for a in found}


def test_reference_incident_is_found(faulty_url: str) -> None:
    with Analytics(faulty_url, flush=False) as an:
        found = an.anomalies(now=NOW)
    keys = _keys(found)
    assert ("agent", "writer", "error_rate", "up") in keys
    assert {
        ("agent", "critic", "latency_p50", "up"),
        ("agent", "critic", "latency_p95", "up"),
    } & keys
    # nothing else is blamed
    assert {a.target for a in found} <= {"writer", "critic"}
    start, _ = last_hours(4)
    for a in found:
        assert a.score >= 4.0
        assert a.window_end <= NOW
        assert a.window_end.timestamp() * 1e9 > start  # the run overlaps the incident
        assert a.baseline.n > 24 and a.baseline.samples > a.baseline.n
        assert a.baseline.end <= a.window_start + timedelta(hours=6)
        assert a.description and a.target in a.description
        json.dumps(a.to_dict())
    err = next(a for a in found if a.metric == "error_rate")
    assert err.observed > 0.15 and err.baseline.median < 0.06
    assert err.baseline.method == "binomial"


def test_clean_history_raises_nothing(clean_url: str) -> None:
    with Analytics(clean_url, flush=False) as an:
        assert an.anomalies(now=NOW) == []
        # also over a whole day of windows
        assert an.anomalies(now=NOW, window="24h") == []


@pytest.mark.parametrize(
    ("injection", "expected"),
    [
        (Injection("error_rate", "researcher", 0, 0, 0.3), ("agent", "researcher", "error_rate")),
        (Injection("skip_rate", "writer", 0, 0, 0.6), ("agent", "writer", "skip_rate")),
        (Injection("latency", "planner", 0, 0, 2.5), ("agent", "planner", "latency_p50")),
        (Injection("cost", "writer", 0, 0, 2.5), ("agent", "writer", "cost_per_call")),
        (Injection("tokens", "planner", 0, 0, 2.0), ("agent", "planner", "tokens_per_call")),
        (
            Injection("tool_failure", "web_search", 0, 0, 0.4),
            ("tool", "web_search", "failure_rate"),
        ),
        (Injection("volume", "critic", 0, 0, 4.0), ("agent", "critic", "volume")),
        (Injection("volume", "planner", 0, 0, 0.05), ("agent", "planner", "volume")),
    ],
    ids=lambda v: v.metric + ":" + v.target if isinstance(v, Injection) else "",
)
def test_each_kind_of_fault_is_detected(
    tmp_path: Path, injection: Injection, expected: tuple[str, str, str]
) -> None:
    start, end = last_hours(3)
    inj = Injection(injection.metric, injection.target, start, end, injection.magnitude)
    url = write_sqlite(tmp_path / "t.db", history(11, [inj], days=8))
    with Analytics(url, flush=False) as an:
        found = an.anomalies(now=NOW)
    assert expected in {(a.scope, a.target, a.metric) for a in found}, [
        a.description for a in found
    ]
    score = score_findings([(a.scope, a.target, a.metric) for a in found], [inj])
    assert score.false_positives == 0, score.false


def test_precision_and_recall_over_seeds(tmp_path: Path) -> None:
    """Two random faults per history (clear magnitudes, 2–6 h long, at random hours)."""
    from datetime import UTC, datetime

    tp = fp = hit = miss = 0
    for seed in range(6):
        now = datetime(2026, 3, 10, tzinfo=UTC) + timedelta(hours=seed * 5 + 1, minutes=seed * 7)
        end_ns = int(now.timestamp()) * 1_000_000_000
        inj = random_injections(seed, end_ns)
        url = write_sqlite(tmp_path / f"s{seed}.db", history(seed, inj, end_ns=end_ns, days=10))
        with Analytics(url, flush=False) as an:
            found = an.anomalies(now=now)
        s = score_findings([(a.scope, a.target, a.metric) for a in found], inj)
        tp, fp, hit, miss = (
            tp + s.true_positives,
            fp + s.false_positives,
            hit + s.found,
            miss + s.missed,
        )
    precision = tp / max(tp + fp, 1)
    recall = hit / (hit + miss)
    assert precision >= 0.9, (tp, fp)
    assert recall >= 0.75, (hit, miss)


def test_seasonality_keeps_quiet_nights_quiet(tmp_path: Path) -> None:
    """Volume swings ±80% over the day: the nightly low is no anomaly, a night-time burst
    the size of an ordinary afternoon is one — against the hour-of-day baseline."""
    from datetime import UTC, datetime

    night = datetime(2026, 3, 10, 4, 40, tzinfo=UTC)
    end_ns = int(night.timestamp()) * 1_000_000_000
    quiet = write_sqlite(tmp_path / "q.db", history(5, end_ns=end_ns, volume_amplitude=0.8))
    with Analytics(quiet, flush=False) as an:
        assert [a for a in an.anomalies(now=night) if a.metric == "volume"] == []
    burst = Injection("volume", "planner", end_ns - int(3.5 * 3600e9), end_ns, 6.0)
    busy = write_sqlite(tmp_path / "b.db", history(5, [burst], end_ns=end_ns, volume_amplitude=0.8))
    with Analytics(busy, flush=False) as an:
        found = [a for a in an.anomalies(now=night) if a.metric == "volume"]
    planner = [a for a in found if a.target == "planner"]
    assert planner and planner[0].direction == "up"
    assert planner[0].baseline.seasonal


def test_short_history_uses_two_sample_tests(tmp_path: Path) -> None:
    start, end = last_hours(2)
    faults = [
        Injection("error_rate", "planner", start, end, 0.4),
        Injection("latency", "researcher", start, end, 3.0),
    ]
    url = write_sqlite(tmp_path / "short.db", history(7, faults, days=0.5, scale=2.0))
    with Analytics(url, flush=False) as an:
        found = an.anomalies(now=NOW, window="2h")
    methods = {(a.target, a.metric): a.baseline.method for a in found}
    assert methods.get(("planner", "error_rate")) == "two_proportion"
    assert methods.get(("researcher", "latency_p50")) == "mann_whitney"
    assert {a.target for a in found} <= {"planner", "researcher"}


def test_too_few_samples_are_not_judged(tmp_path: Path) -> None:
    """Three failures in a row of a rarely running agent after a short history: below the
    minimum sample sizes, nothing is claimed."""
    from tracehound.model import Span

    spans = []
    for i in range(8):
        t = END_NS - int((10 - i) * 3600e9)
        status = "failed" if i >= 5 else "success"
        spans.append(
            Span(
                f"r{i}",
                f"r{i}",
                None,
                "s",
                "default",
                "agent",
                "rare",
                status,
                t,
                t + 10**9,
                1000.0,
                "rare",
            )
        )
    url = write_sqlite(tmp_path / "rare.db", spans)
    with Analytics(url, flush=False) as an:
        assert an.anomalies(now=NOW, window="4h") == []


def test_cached_detection_matches_a_fresh_one(faulty_sqlite: str) -> None:
    with (
        Analytics(faulty_sqlite, flush=False) as fresh,
        Analytics(faulty_sqlite, flush=False, cache=True) as cached,
    ):
        want = [a.to_dict() for a in fresh.anomalies(now=NOW)]
        assert [a.to_dict() for a in cached.anomalies(now=NOW)] == want
        # a second pass reads only the open buckets and agrees
        assert [a.to_dict() for a in cached.anomalies(now=NOW)] == want
        later = NOW + timedelta(minutes=20)
        assert {a.key for a in cached.anomalies(now=later)} == {
            a.key for a in fresh.anomalies(now=later)
        }


def test_filters_and_min_score(faulty_sqlite: str) -> None:
    with Analytics(faulty_sqlite, flush=False) as an:
        only_rates = an.anomalies(now=NOW, metrics=["error_rate"])
        assert {a.metric for a in only_rates} == {"error_rate"}
        assert an.anomalies(now=NOW, scopes=["tool"]) == []
        assert an.anomalies(now=NOW, min_score=50) == []
        assert len(an.anomalies(now=NOW, min_score=3.0)) >= len(an.anomalies(now=NOW))
