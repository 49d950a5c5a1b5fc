"""ExecutionAnalytics answers the questions a person reading the traces would answer — on
SQLite and on PostgreSQL (the ``an`` fixture runs every test on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracehound import ExecutionStage, ExecutionStatus
from tracehound.analytics import ExecutionAnalytics, ExecutionRecord, StageLog
from tracehound.executions import InvalidArgumentError

from ._scenario import Facts


def test_why_skipped_with_relevance(an: ExecutionAnalytics) -> None:
    got = an.debug_why_agent_didnt_fire(
        "PsychologistAgent", conversation_id="conv-2", vault_id="vault-1"
    )
    assert got["status"] == "skipped"
    assert "skipped due to relevance check" in got["message"]
    assert "plot structure" in got["message"]
    (ex,) = got["executions"]
    assert ex["relevance_score"] == pytest.approx(0.3)
    assert ex["relevance_reasoning"] == "Query is about plot structure, not character psychology"
    assert ex["input_data"] == {"query": "Is this plot structure sound?"}
    assert ex["should_respond"] in (False, 0)


def test_why_fired_failed_and_never(an: ExecutionAnalytics) -> None:
    fired = an.debug_why_agent_didnt_fire("PsychologistAgent", conversation_id="conv-1")
    assert fired["status"] == "fired"
    failed = an.debug_why_agent_didnt_fire("PlotAgent", conversation_id="conv-2")
    assert failed["status"] == "failed"
    assert "ValueError" in failed["message"] and "invalid JSON" in failed["message"]
    assert "LLM_PARSE" in failed["message"]
    timed = an.debug_why_agent_didnt_fire("SlowAgent")
    assert timed["status"] == "failed" and "timed out" in timed["message"]
    never = an.debug_why_agent_didnt_fire("NobodyAgent", conversation_id="conv-2")
    assert never["status"] == "never_invoked"
    assert never["executions"] == []
    assert never["other_agents"] == ["PlotAgent", "PsychologistAgent"]
    # the whole store: the agent fired somewhere
    assert an.debug_why_agent_didnt_fire("PsychologistAgent")["status"] == "fired"
    # a vault where nothing ran
    assert (
        an.debug_why_agent_didnt_fire("PsychologistAgent", vault_id="vault-9")["status"]
        == "never_invoked"
    )


def test_stage_timeline(an: ExecutionAnalytics, facts: Facts) -> None:
    timeline = an.get_stage_timeline(facts["failed"])
    stages = [s["stage"] for s in timeline]
    assert stages == ["INIT", "SHOULD_RESPOND", "LLM_PREPARE", "LLM_CALL", "LLM_PARSE", "COMPLETE"]
    assert stages[0] is ExecutionStage.INIT
    parse = timeline[4]
    assert parse["status"] == "failed" and parse["message"] == "Parsing the JSON answer"
    assert timeline[-1]["status"] == "failed"
    assert all(s["duration_ms"] is not None and s["duration_ms"] >= 0 for s in timeline)
    assert [s["timestamp"] for s in timeline] == sorted(s["timestamp"] for s in timeline)
    assert an.get_stage_timeline("no-such-execution") == []


def test_failed_executions(an: ExecutionAnalytics, facts: Facts) -> None:
    failed = an.get_failed_executions(vault_id="vault-1", hours=24)
    names = {e.agent_name: e for e in failed}
    assert set(names) == {"PlotAgent", "SlowAgent"}
    plot = names["PlotAgent"]
    assert isinstance(plot, ExecutionRecord)
    assert plot.error_type == "ValueError"
    assert plot.error_message == "LLM returned invalid JSON"
    assert plot.current_stage == "LLM_PARSE"
    assert "Traceback" in plot.error_traceback and "ValueError" in plot.error_traceback
    assert plot.status == ExecutionStatus.FAILED
    slow = names["SlowAgent"]
    assert slow.status == "timeout" and slow.current_stage == "PRE_PROCESS"
    assert "time limit" in slow.error_message
    assert an.get_failed_executions(vault_id="vault-9") == []
    only_failed = an.get_failed_executions(include_timeouts=False)
    assert {e.agent_name for e in only_failed} == {"PlotAgent", "coder"}


def test_agent_performance(an: ExecutionAnalytics) -> None:
    m = an.analyze_agent_performance("PsychologistAgent", vault_id="vault-1", hours=24)
    assert m["total_executions"] == 2
    assert m["success_rate"] == pytest.approx(0.5)
    assert m["skip_rate"] == pytest.approx(0.5)
    assert m["avg_duration_ms"] > 0
    assert m["common_errors"] == []
    llm = m["llm_stats"]
    assert llm["total_calls"] == 1
    assert llm["total_tokens"] == 1234
    assert llm["avg_tokens_per_call"] == pytest.approx(1234.0)
    assert llm["avg_latency_ms"] == pytest.approx(30.0, abs=5)
    assert llm["total_cost"] == pytest.approx(1000 * 2.5e-6 + 234 * 1e-5)
    plot = an.analyze_agent_performance("PlotAgent")
    assert plot["common_errors"][0]["error_type"] == "ValueError"
    assert plot["failure_rate"] == 1.0
    none = an.analyze_agent_performance("NobodyAgent")
    assert none["total_executions"] == 0 and none["success_rate"] == 0.0
    assert none["llm_stats"]["total_calls"] == 0


def test_llm_interactions(an: ExecutionAnalytics, facts: Facts) -> None:
    chain = an.get_execution_call_chain(facts["orchestrator"])
    child = chain[0]["child_execution_id"]
    llm = an.get_llm_interactions(child)
    assert llm is not None
    assert llm["model"] == "gpt-4o"
    assert llm["request"]["messages"][0]["content"] == "Why does the character lie?"
    assert llm["response"] == {"content": "She fears abandonment."}
    assert llm["tokens_used"] == 1234
    assert llm["latency_ms"] == pytest.approx(30.0, abs=1)
    # the orchestrator made no LLM call itself (its child did)
    own = an.get_llm_interactions(facts["orchestrator"])
    assert own is not None and own["request"] is None and own["calls"] == []
    assert an.get_llm_interactions("no-such-execution") is None


def test_call_chain(an: ExecutionAnalytics, facts: Facts) -> None:
    chain = an.get_execution_call_chain(facts["orchestrator"])
    assert len(chain) == 1
    link = chain[0]
    assert (link["parent_agent"], link["child_agent"]) == ("OrchestratorAgent", "PsychologistAgent")
    assert link["call_reason"] == "query mentions a character"
    assert link["depth"] == 0 and link["status"] == "success"
    assert link["parent_stage"] == "PRE_PROCESS"
    # asked from the child: the same tree
    assert an.get_execution_call_chain(link["child_execution_id"]) == chain
    assert an.get_execution_call_chain(facts["skipped"]) == []
    assert an.get_execution_call_chain("no-such-execution") == []


def test_slow_executions(an: ExecutionAnalytics, facts: Facts) -> None:
    slow = an.find_slow_executions(threshold_ms=25, vault_id="vault-1", hours=24)
    ids = [s["execution_id"] for s in slow]
    assert facts["timeout"] in ids and facts["orchestrator"] in ids
    assert [s["duration_ms"] for s in slow] == sorted(
        (s["duration_ms"] for s in slow), reverse=True
    )
    orch = next(s for s in slow if s["execution_id"] == facts["orchestrator"])
    assert orch["llm_latency_ms"] == pytest.approx(30.0, abs=1)
    assert orch["overhead_ms"] == pytest.approx(
        orch["duration_ms"] - orch["llm_latency_ms"], abs=0.01
    )
    timeout = next(s for s in slow if s["execution_id"] == facts["timeout"])
    assert timeout["llm_latency_ms"] is None and timeout["llm_calls"] == 0
    assert an.find_slow_executions(threshold_ms=60_000) == []


def test_execution_and_logs(an: ExecutionAnalytics, facts: Facts) -> None:
    ex = an.get_execution(facts["failed"])
    assert (
        ex is not None and ex.status == "failed" and ex.error_message == "LLM returned invalid JSON"
    )
    assert an.get_execution("no-such-execution") is None
    full = an.get_execution_with_logs(facts["failed"])
    assert full is not None
    assert full["execution"]["current_stage"] == "LLM_PARSE"
    logs = full["logs"]
    assert all(isinstance(log, StageLog) for log in logs)
    prepare = [log for log in logs if log.stage == ExecutionStage.LLM_PREPARE]
    assert prepare and prepare[0].message == "Preparing"
    assert len(full["llm_calls"]) == 1
    orch = an.get_execution_with_logs(facts["orchestrator"])
    assert orch is not None and [c.agent_name for c in orch["children"]] == ["PsychologistAgent"]
    assert an.get_execution_with_logs("nope") is None


def test_seed002_summary(an: ExecutionAnalytics) -> None:
    s = an.get_analytics_summary()
    ex = s["execution_analytics"]
    # 5 seed-003 executions + planner, designer, coder
    assert ex["total_executions"] == 8
    assert ex["status_counts"] == {
        "completed": 4,
        "failed": 2,
        "cancelled": 0,
        "skipped": 1,
        "timeout": 1,
    } or ex["status_counts"] == {"completed": 4, "failed": 2, "skipped": 1, "timeout": 1}
    assert ex["agent_type_counts"]["PsychologistAgent"] == 2
    assert ex["agent_type_counts"]["planner"] == 1
    d = ex["duration_stats"]
    assert d["min_duration_ms"] <= d["avg_duration_ms"] <= d["max_duration_ms"]
    llm = s["llm_call_analytics"]
    assert llm["total_calls"] == 4
    assert llm["model_counts"] == {"gpt-4o": 1, "gpt-4o-mini": 1, "gpt-4": 1, "custom-llm-x": 1}
    assert llm["provider_counts"]["openai"] == 1 and llm["provider_counts"]["acme"] == 1
    tokens = llm["token_stats"]
    assert tokens["total_input_tokens"] == 1000 + 1500 + 10
    assert tokens["total_output_tokens"] == 234 + 500 + 5
    # gpt-4 priced by the seed-form override: 1.5K x 0.03 + 0.5K x 0.06
    assert llm["cost_by_model"]["gpt-4"] == pytest.approx(0.075)
    assert "custom-llm-x" in llm["unpriced_models"]
    assert llm["unpriced_calls"] >= 1
    assert set(s["date_range"]) == {"start_date", "end_date"}
    # report filter: only the planner tree
    r = an.get_analytics_summary(report_id="rep-1")
    assert r["execution_analytics"]["total_executions"] == 2
    assert r["llm_call_analytics"]["model_counts"] == {"gpt-4": 1}
    # a range without data
    old = an.get_analytics_summary(
        start_date=datetime(2001, 1, 1, tzinfo=UTC), end_date=datetime(2001, 2, 1, tzinfo=UTC)
    )
    assert old["execution_analytics"]["total_executions"] == 0
    assert old["llm_call_analytics"]["total_calls"] == 0


def test_seed002_listings(an: ExecutionAnalytics, facts: Facts) -> None:
    logs = an.get_execution_logs(facts["plan_execution_id"])
    assert [(log["agent_type"], log["execution_step"]) for log in logs] == [
        ("planner", "plan"),
        ("designer", "execute"),
    ]
    assert all(log["execution_id"] == facts["plan_execution_id"] for log in logs)
    assert logs[0]["status"] == "completed" and logs[0]["report_id"] == "rep-1"
    assert logs[0]["action_type"] == "generate_plan"
    assert [c["model_id"] for c in logs[0]["llm_calls"]] == ["gpt-4"]
    assert logs[0]["llm_calls"][0]["total_cost"] == pytest.approx(0.075)
    assert logs[0]["llm_calls"][0]["cost_source"] == "override:gpt-4"
    assert logs[1]["output_data"] == {"widgets": 3}
    coder = an.get_executions(agent_type="coder", status="failed")
    assert len(coder) == 1 and coder[0]["error_message"] == "boom"
    assert an.get_executions(report_id="rep-1", include_llm_calls=True)[0]["llm_calls"] is not None
    calls = an.get_llm_calls(model_id="custom-llm-x")
    assert (
        len(calls) == 1 and calls[0]["total_cost"] is None and calls[0]["cost_source"] == "unknown"
    )
    assert an.get_execution_logs("unknown-execution") == []


def test_agent_metrics_per_window(an: ExecutionAnalytics) -> None:
    rows = an.agent_metrics(hours=24, window_s=3600)
    psych = [r for r in rows if r["agent_name"] == "PsychologistAgent"]
    assert sum(r["total_executions"] for r in psych) == 2
    assert sum(r["llm_stats"]["total_calls"] for r in psych) == 1
    for r in rows:
        assert r["window_end"] - r["window_start"] == timedelta(hours=1)
        if r["p50_duration_ms"] is not None:
            assert r["p50_duration_ms"] <= r["p95_duration_ms"] <= r["p99_duration_ms"]
    plot = [r for r in rows if r["agent_name"] == "PlotAgent"]
    assert plot[0]["common_errors"] == [{"error_type": "ValueError", "count": 1}]
    assert an.agent_names() == sorted(
        [
            "OrchestratorAgent",
            "PlotAgent",
            "PsychologistAgent",
            "SlowAgent",
            "coder",
            "designer",
            "planner",
        ]
    )


def test_wrong_argument_types(an: ExecutionAnalytics) -> None:
    with pytest.raises(InvalidArgumentError, match="agent_name"):
        an.debug_why_agent_didnt_fire(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="execution_id"):
        an.get_stage_timeline(None)
    with pytest.raises(InvalidArgumentError, match="hours"):
        an.get_failed_executions(hours="24")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="threshold_ms"):
        an.find_slow_executions(threshold_ms="slow")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="start_date"):
        an.get_analytics_summary(start_date="yesterday")
    with pytest.raises(InvalidArgumentError, match="limit"):
        an.get_failed_executions(limit=0)
