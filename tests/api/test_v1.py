"""The /v1 read API: filters, cursor pagination, trace trees, sessions, analytics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tracehound.api.routes.v1 import build_tree

from ._support import T0, Api, event, execution, span

MS = 1_000_000


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _page_all(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        r = api.get(path, params=p)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("pagination did not end")


def _many(api: Api, n: int = 120) -> None:
    recs = []
    for i in range(n):
        recs.append(
            span(
                id=f"s{i:03d}",
                trace_id=f"t{i % 10}",
                parent_id=None if i < 10 else f"s{i % 10:03d}",
                session_id=f"sess-{i % 3}",
                kind=["agent", "llm", "tool"][i % 3],
                agent_name=f"agent-{i % 4}",
                status="failed" if i % 7 == 0 else "success",
                start_time=T0 + (i // 2) * MS,  # pairs share a start time: ties need the id
                end_time=T0 + (i // 2) * MS + (i % 13) * MS,
                total_cost=None if i % 5 == 0 else i / 1000,
                input={"text": f"question number {i}"},
                output=f"answer {i}" if i % 2 else None,
                attributes={"n": i, "parity": "even" if i % 2 == 0 else "odd", "flag": i % 4 == 0},
            )
        )
    for start in range(0, n, 1000):
        api.ok(recs[start : start + 1000])


def test_cursor_pagination_visits_every_span_once_in_order(any_api: Api) -> None:
    _many(any_api)
    for sort in (
        "-start_time",
        "start_time",
        "duration_ms",
        "-duration_ms",
        "total_cost",
        "-total_cost",
    ):
        items = _page_all(any_api, "/v1/spans", sort=sort, limit=7)
        ids = [i["id"] for i in items]
        assert len(ids) == 120 and len(set(ids)) == 120, sort
        key = sort.lstrip("-")

        def value(item: dict[str, Any], key: str = key) -> Any:
            v = item[key]
            if key == "start_time":
                return datetime.fromisoformat(v.replace("Z", "+00:00"))
            return -1e300 if v is None else v

        pairs = [(value(i), i["id"]) for i in items]
        assert pairs == sorted(pairs, reverse=sort.startswith("-")), sort
    # a cursor is tied to its sort
    first = any_api.get("/v1/spans", params={"limit": 5}).json()
    r = any_api.get(
        "/v1/spans", params={"limit": 5, "sort": "duration_ms", "cursor": first["next_cursor"]}
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "cursor"
    for bad in ("!!!", "e30", "eyJzIjoiLXN0YXJ0X3RpbWUiLCJ2IjoiJyBPUiAxPTEiLCJpIjoieCJ9"):
        r = any_api.get("/v1/spans", params={"cursor": bad})
        assert r.status_code in (400, 422), r.text


def test_span_filters(any_api: Api) -> None:
    _many(any_api)

    def ids(**params: Any) -> set[str]:
        return {i["id"] for i in _page_all(any_api, "/v1/spans", limit=500, **params)}

    every = {f"s{i:03d}" for i in range(120)}
    assert ids() == every
    assert ids(kind="llm") == {f"s{i:03d}" for i in range(120) if i % 3 == 1}
    assert ids(status="failed") == {f"s{i:03d}" for i in range(120) if i % 7 == 0}
    assert ids(agent="agent-2") == {f"s{i:03d}" for i in range(120) if i % 4 == 2}
    assert ids(session="sess-1") == {f"s{i:03d}" for i in range(120) if i % 3 == 1}
    assert ids(trace_id="t3") == {f"s{i:03d}" for i in range(120) if i % 10 == 3}
    assert ids(parent_id="s004") == {f"s{i:03d}" for i in range(10, 120) if i % 10 == 4}
    assert ids(since=_iso(T0 + 50 * MS)) == {f"s{i:03d}" for i in range(100, 120)}
    assert ids(until=_iso(T0 + 2 * MS)) == {f"s{i:03d}" for i in range(6)}
    assert ids(q="QUESTION NUMBER 7") == {"s007"} | {f"s{i:03d}" for i in range(70, 80)}
    assert ids(q="answer 11") == {"s011"} | {f"s{i:03d}" for i in range(110, 120) if i % 2}
    assert ids(q="%") == set() and ids(q="_") == set()  # wildcards are literal
    assert ids(attr="parity=odd") == {f"s{i:03d}" for i in range(120) if i % 2}
    assert ids(attr="n=42") == {"s042"}
    assert ids(attr="flag=true") == {f"s{i:03d}" for i in range(120) if i % 4 == 0}
    assert ids(filter="attributes.n:gte:115") == {f"s{i:03d}" for i in range(115, 120)}
    assert ids(filter="attributes.n:lt:2") == {"s000", "s001"}
    assert ids(filter="attributes.parity:ne:odd") == {f"s{i:03d}" for i in range(120) if i % 2 == 0}
    assert ids(filter="attributes.missing:exists:false") == every
    assert ids(filter="attributes.n:exists:true") == every
    assert ids(filter="duration_ms:gt:11") == {f"s{i:03d}" for i in range(120) if i % 13 == 12}
    assert ids(filter="total_cost:exists:false") == {f"s{i:03d}" for i in range(120) if i % 5 == 0}
    assert ids(filter="id:in:s001,s002,zzz") == {"s001", "s002"}
    assert ids(filter="id:prefix:s11") == {f"s{i:03d}" for i in range(110, 120)}
    assert ids(filter="name:contains:or") == every
    assert ids(filter=f"start_time:gte:{_iso(T0 + 59 * MS)}") == {"s118", "s119"}
    assert ids(filter=["kind:eq:agent", "status:ne:failed", "attributes.n:lte:9"]) == {
        "s003",
        "s006",
        "s009",
    }
    assert ids(kind="agent", filter="attributes.parity:eq:even", q="number 1") == {
        f"s{i:03d}" for i in range(120) if i % 3 == 0 and i % 2 == 0 and "number 1" in f"number {i}"
    }


def test_bad_filters_name_the_problem(api: Api) -> None:
    cases = {
        "nonsense": "filter",
        "nope:eq:1": "filter",
        "duration_ms:like:1": "filter",
        "duration_ms:gt:abc": "filter",
        "duration_ms:gt:nan": "filter",
        "start_time:gt:someday": "filter",
        "attributes.a'b:eq:1": "filter",
        "is_streaming:gt:true": "filter",
    }
    for raw, field in cases.items():
        r = api.get("/v1/spans", params={"filter": raw})
        assert r.status_code == 422, (raw, r.text)
        assert r.json()["error"]["field"] == field
    for params, field in (
        ({"sort": "name"}, "sort"),
        ({"sort": "-start_time; DROP TABLE spans"}, "sort"),
        ({"kind": "robot"}, "kind"),
        ({"status": "fine"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"attr": "novalue"}, "attr"),
        ({"since": "not a time"}, "since"),
        ({"q": ""}, "q"),
        ({"filter": ["id:eq:x"] * 21}, "filter"),
    ):
        r = api.get("/v1/spans", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["field"] == field, (params, r.json())
    assert api.get("/v1/spans").status_code == 200


def test_traces_list_and_tree(any_api: Api) -> None:
    recs = [
        span(
            id="root",
            trace_id="tr",
            kind="agent",
            agent_name="planner",
            name="plan",
            start_time=T0,
            end_time=T0 + 10 * MS,
        ),
        span(
            id="c1",
            trace_id="tr",
            parent_id="root",
            kind="stage",
            name="INIT",
            start_time=T0 + MS,
            end_time=T0 + 2 * MS,
        ),
        span(
            id="c2",
            trace_id="tr",
            parent_id="root",
            kind="llm",
            name="chat",
            start_time=T0 + 3 * MS,
            end_time=T0 + 8 * MS,
            model="gpt-4o",
            provider="openai",
            input_tokens=10,
            output_tokens=5,
            total_cost=0.5,
        ),
        span(
            id="g1",
            trace_id="tr",
            parent_id="c1",
            kind="tool",
            name="search",
            status="failed",
            start_time=T0 + MS,
            end_time=T0 + 2 * MS,
        ),
        span(
            id="orphan",
            trace_id="tr",
            parent_id="missing",
            start_time=T0 + 9 * MS,
            end_time=T0 + 9 * MS,
        ),
        event(id="ev1", trace_id="tr", span_id="c2", event_type="decision", name="route"),
        span(
            id="other-root",
            trace_id="tr2",
            start_time=T0 + 20 * MS,
            end_time=None,
            agent_name="coder",
            kind="agent",
        ),
    ]
    any_api.ok(recs)
    tree = any_api.get("/v1/traces/tr").json()
    assert tree["span_count"] == 5 and tree["event_count"] == 1 and tree["error_count"] == 1
    assert tree["total_cost"] == 0.5 and tree["total_tokens"] == 15
    assert [r["id"] for r in tree["roots"]] == ["root", "orphan"]
    root = tree["roots"][0]
    assert [c["id"] for c in root["children"]] == ["c1", "c2"]
    assert [c["id"] for c in root["children"][0]["children"]] == ["g1"]
    assert tree["events"][0]["id"] == "ev1" and tree["truncated"] is False
    traces = any_api.get("/v1/traces").json()["items"]
    assert [t["trace_id"] for t in traces] == ["tr2", "tr"]
    tr = traces[1]
    assert (tr["root_span_id"], tr["span_count"], tr["error_count"], tr["llm_calls"]) == (
        "root",
        5,
        1,
        1,
    )
    assert (
        any_api.get("/v1/traces", params={"agent": "coder"}).json()["items"][0]["trace_id"] == "tr2"
    )
    assert any_api.get("/v1/traces", params={"q": "nothing matches"}).json()["items"] == []
    detail = any_api.get("/v1/spans/root").json()
    assert [c["id"] for c in detail["children"]] == ["c1", "c2"]
    assert any_api.get("/v1/spans/c2").json()["events"][0]["name"] == "route"
    assert any_api.get("/v1/traces/nope").status_code == 404


def test_build_tree_handles_cycles_and_depth() -> None:
    def node(i: str, parent: str | None, t: int = 0) -> dict[str, Any]:
        return {"id": i, "parent_id": parent, "start_time": t}

    chain = [node("n0", None)] + [node(f"n{i}", f"n{i - 1}", i) for i in range(1, 100)]
    roots = build_tree(chain)
    depth, cur = 1, roots[0]
    while cur["children"]:
        assert len(cur["children"]) in (1, 36)
        if len(cur["children"]) == 36:
            break
        cur = cur["children"][0]
        depth += 1
    assert depth == 64  # nesting stops at 64, the rest hang below the 64th
    cycle = [node("a", "b"), node("b", "a"), node("c", "c")]
    roots = build_tree(cycle)
    assert {r["id"] for r in roots} == {"a", "c"}


def test_events_and_sessions(any_api: Api) -> None:
    any_api.ok(
        [
            span(id="sa", session_id="sess-a", trace_id="ta", start_time=T0, status="failed"),
            span(id="sb", session_id="sess-b", trace_id="tb", start_time=T0 + 5 * MS),
            event(
                id="e1",
                session_id="sess-a",
                trace_id="ta",
                span_id="sa",
                level="ERROR",
                message="kaput",
                data={"code": 7},
            ),
            event(
                id="e2",
                session_id="sess-b",
                trace_id="tb",
                event_type="decision",
                message="go left",
            ),
        ]
    )
    events = any_api.get("/v1/events").json()["items"]
    assert [e["id"] for e in events] == ["e1", "e2"] or {e["id"] for e in events} == {"e1", "e2"}
    assert [
        e["id"] for e in any_api.get("/v1/events", params={"level": "ERROR"}).json()["items"]
    ] == ["e1"]
    assert [
        e["id"] for e in any_api.get("/v1/events", params={"type": "decision"}).json()["items"]
    ] == ["e2"]
    assert [e["id"] for e in any_api.get("/v1/events", params={"q": "LEFT"}).json()["items"]] == [
        "e2"
    ]
    assert [
        e["id"] for e in any_api.get("/v1/events", params={"attr": "code=7"}).json()["items"]
    ] == ["e1"]
    assert [
        e["id"]
        for e in any_api.get("/v1/events", params={"filter": "data.code:gt:6"}).json()["items"]
    ] == ["e1"]
    sessions = _page_all(any_api, "/v1/sessions", limit=1)
    assert [s["id"] for s in sessions] == ["sess-b", "sess-a"]
    a = next(s for s in sessions if s["id"] == "sess-a")
    assert (a["span_count"], a["event_count"], a["error_count"]) == (1, 1, 2)
    detail = any_api.get("/v1/sessions/sess-a").json()
    assert [t["trace_id"] for t in detail["traces"]] == ["ta"]
    assert any_api.get("/v1/sessions/none").status_code == 404


def test_execution_analytics(any_api: Api) -> None:
    now = int(datetime.now(UTC).timestamp() * 1e9)
    recs: list[dict[str, Any]] = []
    recs += execution(
        "w1",
        agent="PsychologistAgent",
        status="skipped",
        start=now - 60_000 * MS,
        agent_id="skip-1",
        attrs={
            "relevance_reasoning": "not about feelings",
            "relevance_score": 0.1,
            "should_respond": False,
        },
        conversation_id="conv-1",
        llm_calls=0,
    )
    recs += execution(
        "w2",
        agent="Researcher",
        status="failed",
        start=now - 50_000 * MS,
        agent_id="fail-1",
        error_type="TimeoutError",
        error_message="search took too long: 42 seconds",
        conversation_id="conv-1",
        llm_calls=0,
    )
    recs += execution(
        "w3",
        agent="Researcher",
        status="failed",
        start=now - 40_000 * MS,
        agent_id="fail-2",
        error_type="TimeoutError",
        error_message="search took too long: 17 seconds",
        llm_calls=0,
    )
    recs += execution(
        "w4",
        agent="Writer",
        duration_ms=9000,
        start=now - 30_000 * MS,
        agent_id="slow-1",
        llm_calls=2,
    )
    recs += [
        span(
            id="stage-1",
            trace_id="w4",
            parent_id="slow-1",
            kind="stage",
            name="INIT",
            start_time=now - 30_000 * MS + 1,
            end_time=now - 30_000 * MS + 2 * MS,
        ),
        span(
            id="stage-2",
            trace_id="w4",
            parent_id="slow-1",
            kind="stage",
            name="LLM_CALL",
            start_time=now - 30_000 * MS + 3 * MS,
            end_time=now - 30_000 * MS + 4 * MS,
        ),
        span(
            id="child-agent",
            trace_id="w4",
            parent_id="stage-2",
            kind="agent",
            agent_name="Critic",
            name="review",
            start_time=now - 30_000 * MS + 3 * MS,
            end_time=now - 30_000 * MS + 4 * MS,
            attributes={"call_reason": "double-check"},
        ),
        event(
            id="warn-1",
            trace_id="w3",
            span_id="fail-2",
            level="WARNING",
            message="slow upstream",
            agent_name="Researcher",
            timestamp=now - 40_000 * MS + 1,
        ),
    ]
    any_api.ok(recs)

    why = any_api.get(
        "/v1/analytics/why-not-fired",
        params={"agent": "PsychologistAgent", "conversation_id": "conv-1"},
    ).json()
    assert why["status"] == "skipped" and "not about feelings" in why["message"]
    never = any_api.get(
        "/v1/analytics/why-not-fired", params={"agent": "Ghost", "conversation_id": "conv-1"}
    ).json()
    assert never["status"] == "never_invoked" and "PsychologistAgent" in never["other_agents"]

    timeline = any_api.get("/v1/analytics/executions/slow-1/timeline").json()
    assert [t["stage"] for t in timeline] == ["INIT", "LLM_CALL"]
    chain = any_api.get("/v1/analytics/executions/slow-1/call-chain").json()
    assert chain[0]["child_agent"] == "Critic" and chain[0]["call_reason"] == "double-check"

    failed = any_api.get("/v1/analytics/failed", params={"hours": 48}).json()
    assert {f["execution_id"] for f in failed} == {"fail-1", "fail-2"}
    slow = any_api.get("/v1/analytics/slow", params={"threshold_ms": 8000, "hours": 48}).json()
    assert [s["execution_id"] for s in slow] == ["slow-1"] and slow[0]["llm_calls"] == 2

    errs = any_api.get("/v1/analytics/errors", params={"since": _iso(now - 100_000 * MS)}).json()
    top = errs["patterns"][0]
    assert (top["error_type"], top["count"]) == ("TimeoutError", 2)
    assert top["message"] == "search took too long: <n> seconds"
    assert errs["by_agent"]["Researcher"] == 2

    cause = any_api.get("/v1/analytics/causality/fail-2").json()
    assert cause["target"]["id"] == "fail-2"
    reasons = {c["id"]: c["reasons"] for c in cause["causes"]}
    assert "warn-1" in reasons or "fail-1" in reasons
    assert any_api.get("/v1/analytics/causality/nothing").status_code == 404

    cost = any_api.get(
        "/v1/analytics/cost",
        params={"group_by": "agent", "interval": "hour", "since": _iso(now - 100_000 * MS)},
    ).json()
    assert cost["total_calls"] == 2 and cost["total_cost"] > 0
    assert {b["group"] for b in cost["buckets"]} == {"Writer"}
    by_model = any_api.get(
        "/v1/analytics/cost", params={"group_by": "model", "since": _iso(now - 100_000 * MS)}
    ).json()
    assert {b["group"] for b in by_model["buckets"]} == {"gpt-4o"}
    bad = any_api.get(
        "/v1/analytics/cost", params={"interval": "minute", "since": "1970-01-01T00:00:00Z"}
    )
    assert bad.status_code == 422
    agents = any_api.get("/v1/analytics/agents").json()
    assert {"PsychologistAgent", "Researcher", "Writer", "Critic"} <= set(agents)
    perf = any_api.get("/v1/analytics/agents/Researcher/performance", params={"hours": 48}).json()
    assert perf["total_executions"] == 2 and perf["failure_rate"] == 1.0
    assert any_api.get("/v1/analytics/executions/nope/timeline").status_code == 404


def test_hours_and_thresholds_reject_nan(api: Api) -> None:
    for path, params in (
        ("/v1/analytics/failed", {"hours": "nan"}),
        ("/v1/analytics/failed", {"hours": "inf"}),
        ("/v1/analytics/slow", {"threshold_ms": "NaN"}),
        ("/v1/analytics/causality/x", {"lookback_seconds": "-inf"}),
    ):
        r = api.get(path, params=params)
        assert r.status_code == 422, (path, r.text)
    assert api.get("/v1/analytics/failed").status_code == 200
    start = datetime.now(UTC) - timedelta(days=1)
    assert api.get("/v1/analytics/errors", params={"since": start.isoformat()}).status_code == 200
