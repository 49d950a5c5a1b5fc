"""Regression detection between versions, time windows and sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracehound.monitoring import Analytics, Cohort, parse_cohort
from tracehound.monitoring._synthetic import HOUR_NS, Injection

from ._support import END_NS, NOW, history, load_postgres, write_sqlite


@pytest.fixture(scope="module")
def versions() -> list:
    """v1 ran for two days; v2 (last day, alongside) fails more in writer and is slower in
    critic."""
    v2_faults = [
        Injection("error_rate", "writer", END_NS - 30 * HOUR_NS, END_NS, 0.25),
        Injection("latency", "critic", END_NS - 30 * HOUR_NS, END_NS, 2.0),
    ]
    v1 = history(21, days=2, version="v1", session_id="run-v1")
    v2 = history(22, v2_faults, days=1, version="v2", session_id="run-v2", scale=1.5)
    return v1 + v2


@pytest.fixture(params=["sqlite", "postgresql"])
def versions_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, versions: list
) -> str:
    if request.param == "sqlite":
        return write_sqlite(tmp_path_factory.mktemp("versions") / "t.db", versions)
    url: str = request.getfixturevalue("new_pg")
    load_postgres(url, versions)
    return url


def test_versions_regression_says_what_changed(versions_url: str) -> None:
    with Analytics(versions_url, flush=False) as an:
        result = an.compare("v1", "version:v2")
    sig = {(c.target, c.metric): c for c in result.significant}
    assert ("writer", "error_rate") in sig
    assert sig[("writer", "error_rate")].verdict == "worse"
    assert sig[("writer", "error_rate")].test == "two_proportion"
    assert ("critic", "latency_p50") in sig and sig[("critic", "latency_p50")].verdict == "worse"
    assert sig[("critic", "latency_p50")].test == "mann_whitney"
    blamed = {c.target for c in result.significant if c.scope == "agent"}
    assert blamed <= {"writer", "critic"}, result.summary
    assert any("writer" in line and "error rate" in line for line in result.summary)
    d = result.to_dict()
    assert d["a"]["kind"] == "version" and d["b"]["value"] == "v2"
    # every test is Holm-adjusted
    assert all(c.p_adjusted >= c.p_value for c in result.changes)


def test_one_agent_only(versions_url: str) -> None:
    with Analytics(versions_url, flush=False) as an:
        result = an.compare("v1", "v2", agent="critic")
    assert {c.target for c in result.changes if c.scope == "agent"} == {"critic"}
    assert any(c.metric.startswith("latency") for c in result.significant)


def test_sessions_and_windows(tmp_path: Path, versions: list) -> None:
    url = write_sqlite(tmp_path / "t.db", versions)
    with Analytics(url, flush=False) as an:
        by_session = an.compare("session:previous", "session:latest")
        assert ("writer", "error_rate") in {(c.target, c.metric) for c in by_session.significant}
        # two windows of the stable v1 traffic: nothing changed
        quiet = an.compare(
            Cohort("day 1", "version", "v1"),
            Cohort("day 1", "version", "v1"),
        )
        assert quiet.significant == []
    clean = write_sqlite(tmp_path / "clean.db", history(23, days=2))
    with Analytics(clean, flush=False) as an:
        same = an.compare(
            "2026-03-08T15:30..2026-03-09T15:30", "2026-03-09T15:30..2026-03-10T15:30"
        )
    assert same.significant == [], same.summary
    assert same.summary == ["no significant change"]
    assert len(same.changes) > 20


def test_parse_cohort() -> None:
    now = NOW
    assert parse_cohort("v1.2").kind == "version"
    assert parse_cohort("release:2024.05").value == "2024.05"
    assert parse_cohort("session:latest").kind == "session"
    w = parse_cohort("-48h..-24h", now=now)
    assert (w.kind, w.start, w.end) == ("window", now - timedelta(days=2), now - timedelta(days=1))
    assert parse_cohort("24h", now=now).start == now - timedelta(days=1)
    assert parse_cohort("window:2026-03-01..2026-03-02").start == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_cohort("")
