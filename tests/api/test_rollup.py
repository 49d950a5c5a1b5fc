"""Per-day rollups give the same answers as whole-range queries, and stay fresh."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tracehound.analytics import ExecutionAnalytics
from tracehound.api._rollup import DayRollups, cost_summary, seed002_summary, split_days
from tracehound.store._schema import spans as S

from ._support import Api, span

H = 3_600_000_000_000
BASE = datetime(2026, 3, 1, tzinfo=UTC)
BASE_NS = int(BASE.timestamp()) * 1_000_000_000


def _dataset(seed: int = 3) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(300):
        t = BASE_NS + rnd.randrange(10 * 24) * H + rnd.randrange(H)
        status = rnd.choice(["success", "success", "failed", "running", "timeout", "skipped"])
        agent = span(
            id=f"a{i}",
            trace_id=f"t{i}",
            kind="agent",
            agent_name=rnd.choice(["planner", "coder", None]),
            status=status,
            start_time=t,
            end_time=None if status == "running" else t + rnd.randrange(1, 9000) * 1_000_000,
        )
        out.append(agent)
        for j in range(rnd.randrange(3)):
            provider, model = rnd.choice(
                [
                    ("openai", "gpt-4o"),
                    ("anthropic", "claude-3-5-haiku-20241022"),
                    (None, "mystery-model"),
                    ("openai", None),
                ]
            )
            llm = span(
                id=f"a{i}-l{j}",
                trace_id=f"t{i}",
                parent_id=f"a{i}",
                kind="llm",
                provider=provider,
                model=model,
                agent_name=agent["agent_name"],
                start_time=t + j + 1,
                end_time=t + j + 5_000_000,
                input_tokens=rnd.randrange(1000),
                output_tokens=rnd.randrange(500),
            )
            if rnd.random() < 0.3:
                llm["total_cost"] = rnd.random() / 100
            out.append({k: v for k, v in llm.items() if v is not None})
    return out


@pytest.fixture
def loaded(any_api: Api) -> Api:
    data = _dataset()
    for start in range(0, len(data), 1000):
        r = any_api.ingest(data[start : start + 1000])
        assert r.status_code == 200, r.text
    return any_api


RANGES = [
    (BASE - timedelta(days=1), BASE + timedelta(days=20)),
    (BASE + timedelta(hours=5, minutes=17), BASE + timedelta(days=6, hours=3, seconds=1)),
    (BASE + timedelta(days=2), BASE + timedelta(days=4)),
    (BASE + timedelta(days=3, hours=2), BASE + timedelta(days=3, hours=20)),
    (BASE + timedelta(days=3, hours=23), BASE + timedelta(days=4, hours=1)),
]


def test_summary_equals_the_whole_range_query(loaded: Api) -> None:
    engine = loaded.server.engine
    reference = ExecutionAnalytics(engine, project="alpha", flush=False)
    rollups = DayRollups()
    for start, end in RANGES:
        want = reference.get_analytics_summary(start, end)
        want.pop("report_id")
        for _ in range(2):  # computed, then from the cache
            got = seed002_summary(engine, rollups, "alpha", start, end)
            assert got == want, (start, end)
    # through the API
    start, end = RANGES[1]
    r = loaded.get(
        "/execution-logs/analytics/summary",
        params={"start_date": start.isoformat(), "end_date": end.isoformat()},
    )
    assert (
        r.json()["execution_analytics"]["total_executions"]
        == reference.get_analytics_summary(start, end)["execution_analytics"]["total_executions"]
    )


def test_cached_days_refresh_after_ingest(loaded: Api) -> None:
    params = {
        "start_date": (BASE - timedelta(days=1)).isoformat(),
        "end_date": (BASE + timedelta(days=20)).isoformat(),
    }
    before = loaded.get("/execution-logs/analytics/summary", params=params).json()[
        "execution_analytics"
    ]["total_executions"]
    loaded.ok(
        [
            span(
                id="late",
                trace_id="late",
                kind="agent",
                agent_name="late",
                start_time=BASE_NS + 4 * 24 * H + 5,
            )
        ]
    )
    after = loaded.get("/execution-logs/analytics/summary", params=params).json()[
        "execution_analytics"
    ]
    assert after["total_executions"] == before + 1 and after["agent_type_counts"]["late"] == 1


@pytest.mark.parametrize("interval", ["hour", "day", "week"])
@pytest.mark.parametrize("group_by", ["provider", "model", "agent", "none"])
def test_cost_buckets_equal_a_direct_sum(loaded: Api, interval: str, group_by: str) -> None:
    width = {"hour": 3600, "day": 86_400, "week": 604_800}[interval]
    start, end = RANGES[1]
    got = cost_summary(
        loaded.server.engine,
        DayRollups(),
        "alpha",
        start,
        end,
        group_by=group_by,
        width=width,
        interval=interval,
    )
    expected: dict[tuple[datetime, Any], list[float]] = defaultdict(lambda: [0, 0.0])
    with loaded.server.engine.connect() as conn:
        stored = conn.execute(
            select(S.c.start_time, S.c.provider, S.c.model, S.c.agent_name, S.c.total_cost).where(
                S.c.kind == "llm", S.c.start_time >= start, S.c.start_time <= end
            )
        ).all()
    for t, provider, model, agent, cost in stored:
        seconds = int(t.timestamp())
        bucket = datetime.fromtimestamp(seconds - seconds % width, UTC)
        group = {"provider": provider, "model": model, "agent": agent, "none": None}[group_by]
        acc = expected[(bucket, group)]
        acc[0] += 1
        acc[1] += cost or 0.0
    assert {(b["bucket_start"], b["group"]): b["calls"] for b in got["buckets"]} == {
        k: v[0] for k, v in expected.items()
    }
    for b in got["buckets"]:
        assert b["total_cost"] == pytest.approx(
            expected[(b["bucket_start"], b["group"])][1], abs=1e-8
        )
    assert got["total_calls"] == sum(v[0] for v in expected.values())


def test_split_days() -> None:
    days, edges = split_days(BASE + timedelta(hours=1), BASE + timedelta(days=3, hours=2))
    assert days == [BASE + timedelta(days=1), BASE + timedelta(days=2)]
    assert edges == [
        (BASE + timedelta(hours=1), BASE + timedelta(days=1), False),
        (BASE + timedelta(days=3), BASE + timedelta(days=3, hours=2), True),
    ]
    days, edges = split_days(BASE, BASE + timedelta(days=1))
    assert days == [BASE] and edges == [(BASE + timedelta(days=1), BASE + timedelta(days=1), True)]
    assert split_days(BASE + timedelta(hours=1), BASE + timedelta(hours=2)) == (
        [],
        [(BASE + timedelta(hours=1), BASE + timedelta(hours=2), True)],
    )
