"""The dashboard's queries on PostgreSQL: the demo session recorded into a throwaway database,
every page's query answered, the numbers checked against the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tests.conftest import throwaway_pg_database
from tracehound.demo import DemoSummary, run_demo

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoSummary]]:
    with throwaway_pg_database("tracehound_test_web") as url:
        tracehound.shutdown(timeout=0)
        tracehound.configure(
            trace_dir=tmp_path_factory.mktemp("pg-web") / "trace", store=url, exporters="store"
        )
        summary = run_demo(conversations=12, seed=7, speed=2000.0)
        assert tracehound.flush(timeout=30)
        tracehound.shutdown(timeout=5)
        from tracehound.sdk import _runtime

        _runtime._pending_settings[0] = None
        yield url, summary


def _scalar(url: str, sql: str, *args: Any) -> Any:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql, args).fetchone()
        assert row is not None
        return row[0]


def test_every_query_on_postgresql(pg_demo: tuple[str, DemoSummary], tmp_path: Path) -> None:
    from tracehound.store import make_engine
    from tracehound.web._data import Scope, WebData

    url, summary = pg_demo
    engine = make_engine(url)
    try:
        data = WebData(engine, url)
        scope = Scope(project="default")
        ov = data.overview(scope)
        agents = _scalar(url, "select count(*) from spans where kind = 'agent'")
        assert ov["kpis"]["executions"] == agents
        assert sum(b["executions"] for b in ov["series"]) == agents
        assert ov["kpis"]["p95_ms"] >= ov["kpis"]["p50_ms"] > 0
        failed = data.spans(scope, kind="agent", status="error")
        assert failed["total"] == summary.failures
        hits = data.spans(scope, q="429 Too Many", kind="all")
        want = _scalar(
            url,
            "select count(*) from spans where name ilike %s or error_message ilike %s "
            "or status_message ilike %s or input::text ilike %s or output::text ilike %s",
            *(["%429 too many%"] * 5),
        )
        assert hits["total"] == want > 0
        item = failed["items"][0]
        trace = data.trace(scope, item["trace_id"])
        assert trace["totals"]["spans"] == _scalar(
            url, "select count(*) from spans where trace_id = %s", item["trace_id"]
        )
        assert data.span(scope, item["id"])["error_traceback"]
        why = data.why(scope, item["agent_name"], item["conversation_id"])
        assert why["answer"]["status"] == "failed"
        errors = data.errors(scope)
        assert errors["total"] >= summary.failures
        chain = data.causality(scope, errors["errors"][0]["id"])
        assert chain["chain"]
        cost = data.cost(scope)
        assert cost["totals"]["unpriced_calls"] == _scalar(
            url, "select count(*) from spans where cost_source = 'unknown'"
        )
        assert data.learning(scope)["agents"]
        assert data.interactions(scope)["collaboration"]
        assert data.agents(scope)["agents"]
        assert data.conversations(scope)
        assert data.meta(scope)["agents"]
        # the project filter applies on PostgreSQL too
        assert data.overview(Scope(project="nobody"))["kpis"]["executions"] == 0
    finally:
        engine.dispose()
