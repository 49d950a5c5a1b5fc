"""Health checks, thresholds, alert rules, de-duplication and cool-down, and delivery to
the trace, a log file and a webhook (a real HTTP server on localhost)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tracehound.monitoring import (
    AlertManager,
    CallbackSink,
    Condition,
    CostBudgetRule,
    HealthStatus,
    LogFileSink,
    Monitor,
    MonitorMetric,
    RuleContext,
    ThresholdRule,
    WebhookSink,
)
from tracehound.store import events, make_engine

from ._support import NOW, Receiver


def test_health_points_at_the_faulty_agents(faulty_url: str) -> None:
    with Monitor(faulty_url, flush=False, trace_events=False, window="4h") as mon:
        status = mon.health(now=NOW)
    assert isinstance(status, HealthStatus)
    assert status.status in ("degraded", "unhealthy")
    assert set(status.unhealthy_agents) == {"writer", "critic"}
    writer = status.agent("writer")
    assert (
        writer is not None and writer.anomalies and writer.error_rate and writer.error_rate > 0.15
    )
    assert any("error rate" in r for r in writer.reasons)
    planner = status.agent("planner")
    assert planner is not None and planner.status == "healthy" and planner.reasons == []
    s = status.system
    assert s.store_reachable and s.store_error is None
    assert s.newest_record_at is not None and s.ingest_lag_s is not None and s.ingest_lag_s < 60
    assert s.executions > 100 and 0 < (s.error_rate or 0) < 0.2
    assert any(i.startswith("agent writer:") for i in status.issues)
    d = status.to_dict()
    json.dumps(d)
    assert d["agents"][0]["agent"] in ("writer", "critic")
    # the monitor's metrics follow the check
    assert isinstance(mon.metrics["agent.writer.error_rate"], MonitorMetric)
    assert mon.metrics["agent.writer.anomalies"].value >= 1
    assert mon.metrics["store_reachable"].value == 1.0


def test_clean_history_is_healthy_and_silent(clean_url: str) -> None:
    got: list = []
    with Monitor(
        clean_url, flush=False, trace_events=False, sinks=[CallbackSink(got.append)]
    ) as mon:
        status = mon.health(now=NOW)
        assert status.status == "healthy", status.issues
        assert status.issues == []
        assert mon.evaluate(now=NOW) == []
    assert got == []


def test_thresholds_are_settable_per_metric(faulty_sqlite: str) -> None:
    with Monitor(faulty_sqlite, flush=False, trace_events=False, window="4h") as mon:
        mon.thresholds["error_rate"] = 0.1
        mon.thresholds["anomaly_score"] = 50  # anomalies do not count here
        status = mon.health(now=NOW)
        writer = status.agent("writer")
        assert writer is not None and writer.status == "unhealthy"
        assert writer.anomalies == []
        assert any("above 10%" in r for r in writer.reasons)
        assert mon.metrics["agent.writer.error_rate"].threshold == 0.1
        assert mon.metrics["agent.writer.error_rate"].status == "degraded"
        assert status.agent("critic").status == "healthy"  # type: ignore[union-attr]


def test_unreachable_store_is_unhealthy_and_alerts() -> None:
    got: list = []
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    with Monitor(url, flush=False, sinks=[CallbackSink(got.append)]) as mon:
        status = mon.health()
        assert status.status == "unhealthy"
        assert not status.system.store_reachable and status.system.store_error
        fired = mon.evaluate(health=status)
    assert [a.rule for a in fired] == ["threshold:store_reachable"]
    assert fired[0].severity == "critical"
    assert fired[0].failed == ("trace",) and fired[0].delivered == ("callback",)
    assert [a.id for a in got] == [a.id for a in fired]


def test_an_alert_reaches_the_webhook_once(
    faulty_copy: str, receiver: Receiver, tmp_path: Path
) -> None:
    faulty_sqlite = faulty_copy
    log = tmp_path / "alerts.jsonl"
    state = tmp_path / "state.json"
    with Monitor(
        faulty_sqlite,
        flush=False,
        window="4h",
        webhook=receiver.url,
        log_file=log,
        state_path=state,
    ) as mon:
        first = mon.evaluate(now=NOW)
        again = mon.evaluate(now=NOW + timedelta(minutes=1))
    assert again == []
    # one alert per faulty agent: their symptoms are grouped
    assert sorted(a.key for a in first) == ["agent:critic", "agent:writer"]
    assert len(receiver.bodies) == 2
    assert {b["source"] for b in receiver.bodies} == {"tracehound"}
    writer = next(a for a in receiver.alerts if a["key"] == "agent:writer")
    assert "error rate" in writer["message"] and writer["data"]["agent"] == "writer"
    assert {c["rule"] for c in writer["data"]["conditions"]} >= {"anomaly"}
    assert all(set(a.delivered) == {"trace", "log_file", "webhook"} for a in first)
    # the log file
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 2 and {x["logger"] for x in lines} == {"tracehound.monitor"}
    assert {x["level"] for x in lines} <= {"WARNING", "CRITICAL"}
    # the trace: an alert event in the trace of the agent's latest failure
    engine = make_engine(faulty_sqlite)
    with engine.connect() as conn:
        rows = conn.execute(select(events).where(events.c.type == "alert")).mappings().all()
    engine.dispose()
    by_agent = {r["agent_name"]: r for r in rows}
    assert set(by_agent) == {"writer", "critic"}
    assert by_agent["writer"]["trace_id"] and by_agent["writer"]["session_id"] == "synthetic"
    assert by_agent["writer"]["data"]["key"] == "agent:writer"
    # a new monitor with the same state file remembers
    with Monitor(
        faulty_sqlite, flush=False, window="4h", webhook=receiver.url, state_path=state
    ) as mon2:
        assert mon2.evaluate(now=NOW + timedelta(minutes=5)) == []
    assert len(receiver.bodies) == 2


def _cond(key: str = "x:1", rule: str = "x") -> Condition:
    return Condition(key=key, rule=rule, severity="warning", message=f"condition {key}")


def test_deduplication_and_cooldown(receiver: Receiver) -> None:
    mgr = AlertManager([WebhookSink(receiver.url)], cooldown=timedelta(hours=1))
    t0 = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert len(mgr.process([_cond(), _cond()], now=t0)) == 1  # duplicates in one batch
    assert mgr.process([_cond()], now=t0 + timedelta(minutes=10)) == []  # still active
    assert mgr.process([], now=t0 + timedelta(minutes=20), evaluated_rules=["x"]) == []  # clears
    assert mgr.process([_cond()], now=t0 + timedelta(minutes=30)) == []  # back within cool-down
    assert mgr.process([_cond()], now=t0 + timedelta(hours=2)) == []  # and it never cleared
    mgr.process([], now=t0 + timedelta(hours=2, minutes=5), evaluated_rules=["x"])
    assert len(mgr.process([_cond()], now=t0 + timedelta(hours=3))) == 1  # a new incident
    assert len(receiver.bodies) == 2
    assert mgr.suppressed == 3
    # other keys are independent
    assert len(mgr.process([_cond("x:2")], now=t0 + timedelta(hours=3))) == 1


def test_repeat_realerts_a_lasting_condition_every_cooldown() -> None:
    got: list = []
    mgr = AlertManager([CallbackSink(got.append)], cooldown=timedelta(minutes=30), repeat=True)
    t0 = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for minutes in range(0, 120, 10):
        mgr.process([_cond()], now=t0 + timedelta(minutes=minutes))
    assert [a.fired_at.minute for a in got] == [0, 30, 0, 30]


def test_failed_delivery_is_recorded_not_raised(tmp_path: Path) -> None:
    failing = Receiver(status=500).start()
    try:
        sink = WebhookSink(failing.url, retries=1, timeout=2)
        mgr = AlertManager([sink, LogFileSink(tmp_path / "a.log")])
        [alert] = mgr.process([_cond()])
    finally:
        failing.stop()
    assert alert.failed == ("webhook",) and alert.delivered == ("log_file",)
    assert mgr.delivery_failures == 1
    assert len(failing.bodies) == 2  # tried, retried
    with pytest.raises(ValueError):
        WebhookSink("ftp://example.com/hook")


def test_cost_budget_rule_fires_once_per_day(faulty_sqlite: str) -> None:
    engine = make_engine(faulty_sqlite)
    try:
        rule = CostBudgetRule(1.0)
        spent = rule.spent(engine, NOW, None)
        assert spent > 1.0  # the synthetic day so far
        ctx = RuleContext(NOW, engine, None, None, [], {})
        [cond] = rule.evaluate(ctx)
        assert cond.key.endswith(":2026-03-10") and "budget" in cond.message
        assert CostBudgetRule(spent * 2).evaluate(ctx) == []
        agent_rule = CostBudgetRule(0.5, agent="writer", name="writer_budget")
        assert agent_rule.spent(engine, NOW, None) < spent
        with pytest.raises(ValueError):
            CostBudgetRule(1.0, period="week")
    finally:
        engine.dispose()
    got: list = []
    with Monitor(
        faulty_sqlite,
        flush=False,
        trace_events=False,
        thresholds={"cost_per_day": 1.0, "anomaly_score": 99},
        sinks=[CallbackSink(got.append)],
    ) as mon:
        mon.evaluate(now=NOW)
        mon.evaluate(now=NOW + timedelta(minutes=5))
    assert [a.rule for a in got] == ["cost_budget"]


def test_threshold_rule_globs_over_metrics() -> None:
    metrics = {
        "agent.a.error_rate": MonitorMetric("agent.a.error_rate", 0.4, labels={"agent": "a"}),
        "agent.b.error_rate": MonitorMetric("agent.b.error_rate", 0.1, labels={"agent": "b"}),
        "agent.c.error_rate": MonitorMetric("agent.c.error_rate", None, labels={"agent": "c"}),
    }
    ctx = RuleContext(NOW, None, None, None, [], metrics)
    [cond] = ThresholdRule("agent.*.error_rate", 0.3).evaluate(ctx)
    assert cond.agent == "a" and "0.4" in cond.message
    assert ThresholdRule("agent.*.error_rate", 0.3, op="<").evaluate(ctx)[0].agent == "b"
    with pytest.raises(ValueError):
        ThresholdRule("x", 1, op="!=")


def test_a_failing_rule_becomes_an_alert(clean_sqlite: str) -> None:
    class Broken:
        name = "broken"

        def evaluate(self, ctx: RuleContext) -> list[Condition]:
            raise RuntimeError("boom")

    got: list = []
    with Monitor(
        clean_sqlite,
        flush=False,
        trace_events=False,
        rules=[Broken()],
        sinks=[CallbackSink(got.append)],
    ) as mon:
        mon.evaluate(now=NOW)
    assert [a.rule for a in got] == ["rule_error"] and "boom" in got[0].message


async def test_trigger_alert_is_deduplicated(clean_copy: str) -> None:
    clean_sqlite = clean_copy
    got: list = []
    mon = Monitor(clean_sqlite, flush=False, sinks=[CallbackSink(got.append)])
    try:
        await mon.trigger_alert("disk almost full")
        await mon.trigger_alert("disk almost full")
        assert [a.key for a in mon.alerts] == ["manual:disk almost full"]
        assert len(got) == 1 and mon.alerts[0].delivered == ("trace", "callback")
        # a rule's name evaluates that rule now
        mon.thresholds["cost_per_day"] = 0.0001
        await mon.trigger_alert("cost_budget")
    finally:
        mon.close()
    engine = make_engine(clean_sqlite)
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.session_id, events.c.message).where(events.c.type == "alert")
        ).all()
    engine.dispose()
    assert ("monitor_" + datetime.now(UTC).strftime("%Y%m%d"), "disk almost full") in [
        tuple(r) for r in rows
    ]


def test_run_loops_until_stopped(clean_sqlite: str) -> None:
    import threading

    checks: list = []
    stop = threading.Event()
    with Monitor(clean_sqlite, flush=False, trace_events=False) as mon:

        def on_check(status: HealthStatus, fired: list) -> None:
            checks.append(status.status)
            if len(checks) == 2:
                stop.set()

        mon.run(interval=0.01, stop=stop, on_check=on_check)
        mon.run(interval=0.01, iterations=1, on_check=on_check)
    assert len(checks) == 3
