"""/v1 monitoring endpoints over a synthetic history with one injected fault."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracehound.monitoring._synthetic import DEFAULT_AGENTS, Injection, synthetic_history
from tracehound.store._sqlite import SQLiteExporter

from ._support import Api
from .conftest import running_api

HOUR = 3_600_000_000_000


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Six days of traffic for project alpha; the first agent's error rate jumps for the
    last three hours."""
    path = Path(tmp_path_factory.mktemp("mon")) / "t.db"
    end = time.time_ns()
    target = DEFAULT_AGENTS[0].name
    fault = Injection("error_rate", target, end - 3 * HOUR, end, 0.6)
    exporter = SQLiteExporter(path)
    for batch in synthetic_history(end_ns=end, days=6, seed=3, injections=[fault], project="alpha"):
        exporter.export(batch)
    exporter.shutdown()
    return f"sqlite:///{path}"


@pytest.fixture
def mon_api(history: str) -> Iterator[Api]:
    with running_api(history) as api:
        yield api


def test_anomalies_point_at_the_faulty_agent(mon_api: Api) -> None:
    res = mon_api.get("/v1/anomalies?window=3h&baseline=5d")
    assert res.status_code == 200, res.text
    found = res.json()
    assert found, "the injected error-rate jump is found"
    top = found[0]
    assert top["metric"] == "error_rate"
    assert DEFAULT_AGENTS[0].name in str(top)
    # another project's key sees nothing of alpha's history
    assert mon_api.get("/v1/anomalies?window=3h&baseline=5d", project="beta").json() == []


def test_stats_health_patterns_and_compare(mon_api: Api) -> None:
    stats = mon_api.get("/v1/stats?timeframe=24h")
    assert stats.status_code == 200 and stats.json()
    health = mon_api.get("/v1/health?window=3h")
    assert health.status_code == 200
    assert DEFAULT_AGENTS[0].name in str(health.json())
    assert mon_api.get("/v1/patterns?timeframe=24h").status_code == 200
    cmp = mon_api.get("/v1/compare", params={"a": "-27h..-3h", "b": "3h"})
    assert cmp.status_code == 200, cmp.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/anomalies?window=drop%20table",
        "/v1/stats?timeframe=';--",
        "/v1/compare?a=1h",
        "/v1/health?window=-1",
    ],
)
def test_bad_input_is_a_clear_4xx_and_the_server_stays_up(mon_api: Api, path: str) -> None:
    res = mon_api.get(path)
    assert 400 <= res.status_code < 500, res.text
    assert "detail" in res.json() or "error" in res.json()
    assert mon_api.get("/v1/stats?timeframe=1h").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/execution-logs/analytics/summary?end_date=7471",
        "/v1/analytics/errors?since=6.103515625e-05",
        "/v1/spans?until=1700000000",
    ],
)
def test_numeric_times_are_refused_as_the_schema_says(mon_api: Api, path: str) -> None:
    """Times are ISO-8601 in the OpenAPI document; a bare number is a 422 naming the field,
    not silently read as a Unix timestamp (found by the property-based OpenAPI run)."""
    res = mon_api.get(path)
    assert res.status_code == 422, res.text
    assert "ISO-8601" in res.text
    assert (
        mon_api.get(
            path.split("?")[0] + "?" + path.split("?")[1].split("=")[0] + "=2025-01-31T12:00:00Z"
        ).status_code
        == 200
    )
