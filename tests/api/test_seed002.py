"""Seed 002's REST API, exactly as its README documents it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ._support import T0, Api, execution, span

LOG_KEYS = {
    "id",
    "execution_id",
    "agent_type",
    "execution_step",
    "action_type",
    "status",
    "start_time",
    "end_time",
    "duration_ms",
    "input_data",
    "output_data",
    "error_message",
    "metadata",
    "external_platform",
    "external_user_id",
    "report_id",
    "completion_id",
    "widget_id",
    "step_id",
    "created_at",
    "updated_at",
}
BRIEF_CALL_KEYS = {
    "id",
    "provider",
    "model_id",
    "call_type",
    "status",
    "start_time",
    "end_time",
    "duration_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_cost",
    "output_cost",
    "total_cost",
    "is_streaming",
    "chunks_count",
}
STEP_KEYS = {
    "id",
    "agent_type",
    "execution_step",
    "action_type",
    "status",
    "start_time",
    "end_time",
    "duration_ms",
    "input_data",
    "output_data",
    "error_message",
    "metadata",
}
LLM_LOG_KEYS = BRIEF_CALL_KEYS | {
    "execution_log_id",
    "report_id",
    "completion_id",
    "prompt",
    "response",
    "error_message",
    "metadata",
    "created_at",
    "updated_at",
}
HOUR = 3_600_000_000_000


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _seed(api: Api) -> None:
    records: list[dict[str, Any]] = []
    records += execution(
        "exec_abc123_1704067200",
        agent="planner",
        step="plan",
        attrs={
            "action_type": "generate_plan",
            "report_id": "r-1",
            "completion_id": "c-1",
            "widget_id": "w-1",
            "step_id": "s-1",
            "external_platform": "slack",
            "external_user_id": "u-1",
            "metadata": {"k": "v"},
        },
        agent_id="log-plan",
        llm_calls=2,
    )
    records += execution(
        "exec_abc123_1704067200",
        agent="designer",
        step="execute",
        start=T0 + HOUR,
        attrs={"action_type": "create_widget", "report_id": "r-1"},
        agent_id="log-design",
        model="claude-3-5-sonnet-20241022",
        provider="anthropic",
    )
    records += execution(
        "exec_failed",
        agent="answer",
        step="observe",
        status="failed",
        start=T0 + 2 * HOUR,
        error_message="schema service down",
        attrs={"report_id": "r-2", "external_platform": "teams"},
        agent_id="log-fail",
        llm_calls=0,
    )
    records += execution(
        "exec_running",
        agent="planner",
        step="plan",
        status="running",
        start=T0 + 3 * HOUR,
        agent_id="log-run",
        llm_calls=0,
    )
    records[-1]["end_time"] = None
    api.ok(records)


def test_list_has_the_seed_shape_and_llm_calls(any_api: Api) -> None:
    _seed(any_api)
    r = any_api.get("/execution-logs/executions")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"execution_logs", "total_count", "limit", "offset"}
    assert (body["total_count"], body["limit"], body["offset"]) == (4, 50, 0)
    logs = body["execution_logs"]
    assert [log["id"] for log in logs] == ["log-run", "log-fail", "log-design", "log-plan"]
    for log in logs:
        assert set(log) == LOG_KEYS  # no llm_calls unless asked
    plan = logs[-1]
    assert plan["execution_id"] == "exec_abc123_1704067200"
    assert plan["agent_type"] == "planner"
    assert plan["execution_step"] == "plan"
    assert plan["action_type"] == "generate_plan"
    assert plan["status"] == "completed"
    assert plan["duration_ms"] == 5
    assert plan["start_time"] == "2026-01-01T00:00:00Z"
    assert plan["input_data"] == {"prompt": "input of exec_abc123_1704067200"}
    assert plan["metadata"] == {"k": "v"}
    assert (plan["report_id"], plan["external_platform"], plan["widget_id"]) == (
        "r-1",
        "slack",
        "w-1",
    )
    assert logs[0]["status"] == "started" and logs[0]["end_time"] is None
    assert logs[1]["status"] == "failed" and logs[1]["error_message"] == "schema service down"

    with_calls = any_api.get("/execution-logs/executions", params={"include_llm_calls": "true"})
    logs = with_calls.json()["execution_logs"]
    calls = {log["id"]: log["llm_calls"] for log in logs}
    assert len(calls["log-plan"]) == 2 and len(calls["log-design"]) == 1 and calls["log-fail"] == []
    call = calls["log-plan"][0]
    assert set(call) == BRIEF_CALL_KEYS
    assert (call["provider"], call["model_id"], call["input_tokens"], call["output_tokens"]) == (
        "openai",
        "gpt-4o",
        1000,
        200,
    )
    assert call["total_tokens"] == 1200 and call["total_cost"] > 0  # priced from the table
    assert call["status"] == "completed" and call["call_type"] == "inference"


def test_every_list_filter(any_api: Api) -> None:
    _seed(any_api)

    def ids(**params: Any) -> list[str]:
        r = any_api.get("/execution-logs/executions", params=params)
        assert r.status_code == 200, r.text
        return [log["id"] for log in r.json()["execution_logs"]]

    assert ids(report_id="r-1") == ["log-design", "log-plan"]
    assert ids(agent_type="planner") == ["log-run", "log-plan"]
    assert ids(execution_step="observe") == ["log-fail"]
    assert ids(action_type="create_widget") == ["log-design"]
    assert ids(status="completed") == ["log-design", "log-plan"]
    assert ids(status="started") == ["log-run"]
    assert ids(status="failed") == ["log-fail"]
    assert ids(status="cancelled") == []
    assert ids(external_platform="teams") == ["log-fail"]
    assert ids(start_date=_iso(T0 + HOUR)) == ["log-run", "log-fail", "log-design"]
    assert ids(end_date=_iso(T0 + HOUR)) == ["log-design", "log-plan"]
    assert ids(start_date=_iso(T0 + HOUR), end_date=_iso(T0 + 2 * HOUR)) == [
        "log-fail",
        "log-design",
    ]
    assert ids(limit=2) == ["log-run", "log-fail"]
    assert ids(limit=2, offset=2) == ["log-design", "log-plan"]
    assert ids(agent_type="planner", report_id="r-1") == ["log-plan"]
    assert ids(limit=500) == ids()
    for bad in ({"limit": 501}, {"limit": 0}, {"offset": -1}, {"start_date": "yesterday"}):
        r = any_api.get("/execution-logs/executions", params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"] == next(iter(bad))
    assert ids() == ["log-run", "log-fail", "log-design", "log-plan"]  # still fine


def test_one_execution_groups_its_steps(any_api: Api) -> None:
    _seed(any_api)
    r = any_api.get("/execution-logs/executions/exec_abc123_1704067200")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"execution_id", "steps"}
    assert body["execution_id"] == "exec_abc123_1704067200"
    steps = body["steps"]
    assert [s["id"] for s in steps] == ["log-plan", "log-design"]  # by start time
    assert set(steps[0]) == STEP_KEYS | {"llm_calls"}
    call = steps[0]["llm_calls"][0]
    assert set(call) == BRIEF_CALL_KEYS | {"prompt", "response", "error_message"}
    assert call["prompt"] == [{"role": "user", "content": "prompt 0"}]
    assert call["response"] == "response 0"

    r = any_api.get(
        "/execution-logs/executions/exec_abc123_1704067200", params={"include_llm_calls": "false"}
    )
    assert set(r.json()["steps"][0]) == STEP_KEYS

    missing = any_api.get("/execution-logs/executions/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "execution_id"


def test_llm_call_listing_and_filters(any_api: Api) -> None:
    _seed(any_api)

    def calls(**params: Any) -> list[dict[str, Any]]:
        r = any_api.get("/execution-logs/llm-calls", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"llm_call_logs", "total_count", "limit", "offset"}
        assert body["total_count"] == len(body["llm_call_logs"])
        out: list[dict[str, Any]] = body["llm_call_logs"]
        return out

    everything = calls()
    assert len(everything) == 3
    assert set(everything[0]) == LLM_LOG_KEYS
    assert {c["execution_log_id"] for c in everything} == {"log-plan", "log-design"}
    assert len(calls(provider="anthropic")) == 1
    assert len(calls(model_id="gpt-4o")) == 2
    assert len(calls(call_type="inference")) == 3
    assert len(calls(call_type="inference_stream")) == 0
    assert len(calls(status="completed")) == 3
    assert len(calls(execution_log_id="log-plan")) == 2
    assert len(calls(start_date=_iso(T0 + HOUR))) == 1
    assert len(calls(end_date=_iso(T0 + HOUR - 1000))) == 2
    assert len(calls(limit=1)) == 1 and len(calls(limit=1, offset=2)) == 1
    assert any_api.get("/execution-logs/llm-calls", params={"limit": 501}).status_code == 422


def test_analytics_summary_shape(any_api: Api) -> None:
    _seed(any_api)
    params = {"start_date": _iso(T0 - HOUR), "end_date": _iso(T0 + 10 * HOUR)}
    r = any_api.get("/execution-logs/analytics/summary", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"date_range", "execution_analytics", "llm_call_analytics"}
    assert body["date_range"] == {
        "start_date": params["start_date"],
        "end_date": params["end_date"],
    }
    ex = body["execution_analytics"]
    assert {"total_executions", "status_counts", "agent_type_counts", "duration_stats"} <= set(ex)
    assert ex["total_executions"] == 4
    assert ex["status_counts"] == {"completed": 2, "failed": 1, "started": 1}
    assert ex["agent_type_counts"] == {"planner": 2, "designer": 1, "answer": 1}
    assert set(ex["duration_stats"]) == {"avg_duration_ms", "min_duration_ms", "max_duration_ms"}
    llm = body["llm_call_analytics"]
    assert {"total_calls", "provider_counts", "model_counts", "token_stats"} <= set(llm)
    assert llm["total_calls"] == 3
    assert llm["provider_counts"] == {"openai": 2, "anthropic": 1}
    assert llm["model_counts"]["gpt-4o"] == 2
    ts = llm["token_stats"]
    assert {"total_input_tokens", "total_output_tokens", "total_tokens", "total_cost"} <= set(ts)
    assert (ts["total_input_tokens"], ts["total_output_tokens"], ts["total_tokens"]) == (
        3000,
        600,
        3600,
    )
    assert ts["total_cost"] > 0

    by_report = any_api.get(
        "/execution-logs/analytics/summary", params={**params, "report_id": "r-2"}
    )
    assert by_report.json()["execution_analytics"]["total_executions"] == 1
    default = any_api.get("/execution-logs/analytics/summary").json()  # the last 30 days
    assert default["execution_analytics"]["total_executions"] == 0
    bad = any_api.get(
        "/execution-logs/analytics/summary",
        params={"start_date": "2026-02-01", "end_date": "2026-01-01"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "start_date"


def test_delete_an_execution(any_api: Api) -> None:
    _seed(any_api)
    any_api.ok([span(trace_id="exec_failed", kind="tool", name="search")])
    r = any_api.delete("/execution-logs/executions/exec_abc123_1704067200")
    assert r.status_code == 200
    assert r.json() == {
        "message": "Deleted 2 execution logs and 3 LLM call logs for execution exec_abc123_1704067200"
    }
    assert any_api.get("/execution-logs/executions/exec_abc123_1704067200").status_code == 404
    assert any_api.get("/v1/traces/exec_abc123_1704067200").status_code == 404
    assert any_api.delete("/execution-logs/executions/exec_abc123_1704067200").status_code == 404
    # the whole trace goes: its tool span too
    assert (
        any_api.delete("/execution-logs/executions/exec_failed")
        .json()["message"]
        .startswith("Deleted 1 execution logs and 0 LLM call logs")
    )
    assert any_api.get("/v1/spans", params={"trace_id": "exec_failed"}).json()["items"] == []
    remaining = any_api.get("/execution-logs/executions").json()["execution_logs"]
    assert [log["id"] for log in remaining] == ["log-run"]


def test_execution_ids_given_by_the_caller_and_span_ids(any_api: Api) -> None:
    recs = execution(
        "generated-trace",
        agent="planner",
        agent_id="given-log",
        attrs={"execution_id": "exec_given_1"},
    )
    any_api.ok(recs)
    for ident in ("exec_given_1", "generated-trace", "given-log"):
        r = any_api.get(f"/execution-logs/executions/{ident}")
        assert r.status_code == 200, (ident, r.text)
        assert [s["id"] for s in r.json()["steps"]] == ["given-log"]
        assert r.json()["execution_id"] == ident
