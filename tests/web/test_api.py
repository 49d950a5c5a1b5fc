"""The dashboard's routes over HTTP (no browser): the page and its assets, the JSON under
/ui/api behind the server's API keys, per-project isolation, bad input, and what the answers
say about the demo session."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import httpx
import pytest

from tracehound.web import STATIC_DIR

from .conftest import Served, Store


def _get(served: Served, path: str, key: str | None = "", **params: Any) -> httpx.Response:
    headers = {}
    token = served.key if key == "" else key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(served.url + path, params=params, headers=headers, timeout=30)


def _json(served: Served, path: str, **params: Any) -> Any:
    r = _get(served, path, **params)
    assert r.status_code == 200, r.text
    return r.json()


# -- the page and its assets ---------------------------------------------------------------------


def test_the_page_and_its_assets_need_no_key_and_carry_a_strict_csp(served: Served) -> None:
    r = httpx.get(served.url + "/", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert 'src="ui/static/js/app.js"' in r.text
    js = httpx.get(served.url + "/ui/static/js/pages/trace.js", timeout=10)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    css = httpx.get(served.url + "/ui/static/app.css", timeout=10)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    redirect = httpx.get(served.url + "/ui/", timeout=10, follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"] == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/../../pyproject.toml",
        "/ui/static/%2e%2e/_router.py",
        "/ui/static/..%2f_data.py",
        "/ui/static/js/../../_router.py",
        "/ui/static/nope.js",
        "/ui/static/.hidden",
    ],
)
def test_static_files_cannot_escape_their_directory(served: Served, path: str) -> None:
    r = httpx.get(served.url + path, timeout=10)
    assert r.status_code == 404
    assert "import" not in r.text


def test_the_package_ships_the_static_files() -> None:
    """Static files live inside the package, so the wheel (packages = src/tracehound) and an
    editable install both carry them."""
    root = resources.files("tracehound.web") / "static"
    names = {"index.html", "app.css", "favicon.svg"}
    for name in names:
        assert (root / name).is_file(), name
    pages = {p.name for p in (root / "js" / "pages").iterdir()}
    assert {
        "overview.js",
        "executions.js",
        "trace.js",
        "agents.js",
        "errors.js",
        "cost.js",
        "learning.js",
        "interactions.js",
    } <= pages


def test_no_markup_is_built_from_strings() -> None:
    """Trace content is untrusted: the front end never parses strings as HTML."""
    forbidden = re.compile(
        r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|"
        r"createContextualFragment|DOMParser"
    )
    offenders = []
    for path in STATIC_DIR.rglob("*.js"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if forbidden.search(line) and "never" not in line and "Nothing in this app" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, offenders
    # and nothing is fetched from another origin
    for path in [
        *STATIC_DIR.rglob("*.js"),
        *STATIC_DIR.rglob("*.html"),
        *STATIC_DIR.rglob("*.css"),
    ]:
        text = path.read_text()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), path.name


# -- auth and isolation --------------------------------------------------------------------------


def test_data_needs_a_valid_key(served: Served) -> None:
    missing = _get(served, "/ui/api/meta", key=None)
    assert missing.status_code == 401
    assert missing.json()["error"]["field"] == "authorization"
    wrong = _get(served, "/ui/api/meta", key="thk_000000000000_" + "A" * 43)
    assert wrong.status_code == 401
    ok = _get(served, "/ui/api/meta")
    assert ok.status_code == 200
    assert ok.json()["project"] == "default"
    by_header = httpx.get(
        served.url + "/ui/api/meta", headers={"X-API-Key": served.key}, timeout=10
    )
    assert by_header.status_code == 200


def test_a_key_of_another_project_sees_nothing(served: Served, store: Store) -> None:
    other = served.app.state.tracehound.keys.create("other-project").key
    meta = _get(served, "/ui/api/meta", key=other).json()
    assert meta["project"] == "other-project" and meta["agents"] == []
    assert _get(served, "/ui/api/spans", key=other).json()["total"] == 0
    assert _get(served, f"/ui/api/traces/{store.big_trace}", key=other).status_code == 404
    (span_id,) = store.query("select id from spans where trace_id = ? limit 1", store.xss_trace)[0]
    assert _get(served, f"/ui/api/spans/{span_id}", key=other).status_code == 404
    assert _get(served, f"/ui/api/causality/{span_id}", key=other).status_code == 404
    assert _get(served, "/ui/api/overview", key=other).json()["kpis"]["executions"] == 0
    assert _get(served, "/ui/api/errors", key=other).json()["total"] == 0
    assert _get(served, "/ui/api/cost", key=other).json()["totals"]["calls"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ui/api/spans", {"status": "bogus"}),
        ("/ui/api/spans", {"kind": "x' OR 1=1 --"}),
        ("/ui/api/spans", {"page": "0"}),
        ("/ui/api/spans", {"page_size": "100000"}),
        ("/ui/api/spans", {"q": "a\x00b"}),
        ("/ui/api/spans", {"agent": "a\x01"}),
        ("/ui/api/overview", {"from": "2000", "to": "1000"}),
        ("/ui/api/overview", {"from": "nan"}),
        ("/ui/api/overview", {"from": "-5"}),
        ("/ui/api/overview", {"buckets": "100000"}),
        ("/ui/api/why", {}),
        ("/ui/api/causality/x", {"lookback": "0"}),
    ],
)
def test_bad_parameters_get_a_4xx_naming_the_field(
    served: Served, path: str, params: dict[str, str]
) -> None:
    r = _get(served, path, **params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"]


def test_hostile_search_text_is_a_parameter(served: Served) -> None:
    for q in ("%", "_", "\\", "' OR '1'='1", "%' --", "<script>"):
        data = _json(served, "/ui/api/spans", q=q, kind="all")
        assert isinstance(data["total"], int)
    assert _json(served, "/ui/api/spans", q="%")["total"] == 0  # a literal %, not a wildcard
    everything = _json(served, "/ui/api/spans", kind="all")["total"]
    assert everything == _json(served, "/ui/api/spans")["total"] > 0


def test_unknown_ids_are_404(served: Served) -> None:
    for path in (
        "/ui/api/traces/nope",
        "/ui/api/spans/nope",
        "/ui/api/events/nope",
        "/ui/api/causality/nope",
    ):
        r = _get(served, path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"


# -- the answers -----------------------------------------------------------------------------------


def test_overview_counts_match_the_store(served: Served, store: Store) -> None:
    data = _json(served, "/ui/api/overview")
    k = data["kpis"]
    ((agents, failed, skipped),) = store.query(
        "select count(*), sum(status in ('failed','timeout')), sum(status = 'skipped') "
        "from spans where kind = 'agent'"
    )
    assert (k["executions"], k["failed"], k["skipped"]) == (agents, failed, skipped)
    ((llm, cost),) = store.query("select count(*), sum(total_cost) from spans where kind = 'llm'")
    assert k["llm_calls"] == llm
    assert k["cost"] == pytest.approx(cost, abs=1e-6)
    assert sum(b["executions"] for b in data["series"]) == agents
    assert sum(b["llm_calls"] for b in data["series"]) == llm
    assert k["p50_ms"] is not None and k["p95_ms"] >= k["p50_ms"]
    top = {
        (e["agent_name"], e["error_type"].rsplit(".", 1)[-1]): e["count"]
        for e in data["top_errors"]
    }
    for agent, types in store.demo.failures_by_agent.items():
        for etype, n in types.items():
            assert top[(agent, etype)] == n
    busiest = {a["agent_name"] for a in data["busiest_agents"]}
    assert {"planner", "WriterAgent", "PublisherAgent"} <= busiest


def test_filters_narrow_the_span_list(served: Served, store: Store) -> None:
    total = _json(served, "/ui/api/spans")["total"]
    assert total == store.query("select count(*) from spans")[0][0]
    failed = _json(served, "/ui/api/spans", kind="agent", status="error")
    want = store.query(
        "select count(*) from spans where kind='agent' and status in ('failed','timeout')"
    )
    assert failed["total"] == want[0][0] and failed["items"]
    assert all(
        i["status"] in ("failed", "timeout") and (i["error_type"] or i["message"])
        for i in failed["items"]
    )
    writer = _json(served, "/ui/api/spans", kind="agent", agent="WriterAgent")
    assert {i["agent_name"] for i in writer["items"]} == {"WriterAgent"}
    roots = _json(served, "/ui/api/spans", kind="root", page_size=5)
    assert roots["total"] == store.query("select count(*) from spans where parent_id is null")[0][0]
    assert roots["total"] >= store.demo.traces + 2  # the demo's, the XSS and the big trace
    assert all(i["parent_id"] is None and i["span_count"] >= 1 for i in roots["items"])
    page2 = _json(served, "/ui/api/spans", kind="root", page_size=5, page=2)
    assert not {i["id"] for i in page2["items"]} & {i["id"] for i in roots["items"]}
    found = _json(served, "/ui/api/spans", q="Unterminated string", kind="agent")
    assert found["total"] >= 1
    assert all("Unterminated" in (i["message"] or "") for i in found["items"])


def test_trace_is_compact_and_complete(served: Served, store: Store) -> None:
    trace_id = next(iter(store.demo.failed_traces))
    data = _json(served, f"/ui/api/traces/{trace_id}")
    ids = {r[0] for r in data["spans"]}
    assert ids == {r[0] for r in store.query("select id from spans where trace_id = ?", trace_id)}
    assert (
        len(data["events"])
        == store.query("select count(*) from events where trace_id = ?", trace_id)[0][0]
    )
    fields = data["span_fields"]
    assert data["spans"][0][fields.index("offset_ms")] == 0
    assert data["totals"]["failed"] >= 1
    chain = data["call_chain"]
    assert chain and {link["parent_agent"] for link in chain} == {"planner"}
    assert all(link["call_reason"] for link in chain)


def test_span_detail_has_the_error_and_the_llm_call(served: Served, store: Store) -> None:
    ((failed_id,),) = store.query(
        "select id from spans where kind='agent' and status='failed' limit 1"
    )
    d = _json(served, f"/ui/api/spans/{failed_id}")
    assert d["error_type"] and d["error_message"] and "Traceback" in d["error_traceback"]
    ((llm_id,),) = store.query(
        "select id from spans where kind='llm' and status='success' and cost_source != 'unknown' limit 1"
    )
    llm = _json(served, f"/ui/api/spans/{llm_id}")
    assert llm["input"] and llm["output"] and llm["total_tokens"] and llm["total_cost"] > 0
    assert llm["unpriced"] is False
    ((unpriced_id,),) = store.query("select id from spans where cost_source = 'unknown' limit 1")
    assert _json(served, f"/ui/api/spans/{unpriced_id}")["unpriced"] is True


def test_why_an_agent_did_not_fire(served: Served, store: Store) -> None:
    ((agent, conv, reason),) = store.query(
        "select agent_name, conversation_id, status_message from spans "
        "where kind='agent' and status='skipped' limit 1"
    )
    data = _json(served, "/ui/api/why", agent=agent, conversation=conv)
    assert data["answer"]["status"] == "skipped"
    assert reason in data["answer"]["message"]
    assert data["threshold"] == 0.5
    mine = [d for d in data["decisions"] if d["agent_name"] == agent]
    assert mine and mine[0]["relevance_score"] < 0.5 and mine[0]["reasoning"] == reason
    assert len({d["agent_name"] for d in data["decisions"]}) >= 6
    convs = _json(served, "/ui/api/conversations")
    assert conv in {c["conversation_id"] for c in convs}


def test_errors_and_causality(served: Served, store: Store) -> None:
    data = _json(served, "/ui/api/errors")
    assert data["total"] >= store.demo.failures
    agents = {p["agent_name"] for p in data["patterns"]}
    assert set(store.demo.failures_by_agent) <= agents
    target = next(
        e for e in data["errors"] if e["record"] == "event" and e["agent_name"] == "PublisherAgent"
    )
    chain = _json(served, f"/ui/api/causality/{target['id']}")
    assert chain["error"]["id"] == target["id"]
    assert chain["chain"], "something came before the failure"
    assert all(c["time_ms"] <= chain["error"]["time_ms"] for c in chain["chain"])
    assert any(c["trace_id"] == target["trace_id"] for c in chain["chain"])
    assert all(c["reasons"] for c in chain["chain"])


def test_cost_by_provider_model_agent_with_unpriced_calls(served: Served, store: Store) -> None:
    data = _json(served, "/ui/api/cost")
    ((unpriced,),) = store.query(
        "select count(*) from spans where kind='llm' and cost_source='unknown'"
    )
    assert unpriced > 0 and data["totals"]["unpriced_calls"] == unpriced
    models = {m["model"]: m for m in data["by_model"]}
    assert models["studio-local-7b"]["unpriced_calls"] == models["studio-local-7b"]["calls"]
    assert {p["provider"] for p in data["by_provider"]} >= {"openai", "anthropic"}
    assert sum(a["calls"] for a in data["by_agent"]) == data["totals"]["calls"]
    assert sum(r["cost"] for r in data["series"]) == pytest.approx(data["totals"]["cost"], abs=1e-5)
    assert len(data["unpriced"]) == min(unpriced, 100)


def test_learning_and_interactions(served: Served, store: Store) -> None:
    learning = _json(served, "/ui/api/learning")
    by_agent = {a["agent_name"]: a for a in learning["agents"]}
    ((rewards,),) = store.query("select count(*) from events where type='learning.reward'")
    assert sum(a["reward_count"] for a in by_agent.values()) == rewards
    writer = by_agent["WriterAgent"]
    assert writer["explore"] and writer["steps"] and {"loss", "accuracy"} <= set(writer["metrics"])
    assert writer["exploration_count"] + writer["exploitation_count"] == len(writer["explore"])
    inter = _json(served, "/ui/api/interactions")
    assert inter["cascades"] and inter["collaboration"]
    biggest = inter["cascades"][0]
    roots = [n for n in biggest["nodes"] if n["parent"] is None]
    assert len(roots) == 1 and biggest["reach"] == len(biggest["nodes"]) - 1
    ((shares,),) = store.query(
        "select count(*) from events where type='interaction' and name in ('share','reshare')"
    )
    assert sum(c["reach"] for c in inter["cascades"]) == shares
    json.dumps(inter)
