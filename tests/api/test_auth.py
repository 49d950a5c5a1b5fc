"""API keys, project isolation, rate limiting, auth off only on localhost."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tracehound.api import Limits, create_app
from tracehound.api.auth import KeyStore, RateLimiter
from tracehound.store._schema import api_keys

from ._support import Api, event, execution, span
from .conftest import running_api

ENDPOINTS_BY_ID = [
    "/v1/traces/{trace}",
    "/v1/spans/{agent}",
    "/v1/sessions/{session}",
    "/v1/analytics/executions/{agent}/timeline",
    "/v1/analytics/executions/{agent}/call-chain",
    "/v1/analytics/causality/{agent}",
    "/execution-logs/executions/{trace}",
]


def test_requests_without_a_valid_key_are_401(api: Api) -> None:
    for path in ("/v1/traces", "/execution-logs/executions", "/v1/whoami"):
        r = api.client.get(path)
        assert r.status_code == 401
        assert r.json()["error"]["field"] == "authorization"
        assert r.headers["WWW-Authenticate"] == "Bearer"
        for header in (
            {"Authorization": "Bearer thk_000000000000_" + "A" * 43},
            {"Authorization": "Bearer nonsense"},
            {"X-API-Key": api.keys["alpha"][:-1] + ("B" if api.keys["alpha"][-1] != "B" else "C")},
            {"Authorization": "Basic dXNlcjpwYXNz"},
        ):
            assert api.client.get(path, headers=header).status_code == 401
    r = api.client.post("/v1/ingest", content=b"[]", headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    # both header forms work
    assert (
        api.client.get("/v1/whoami", headers={"X-API-Key": api.keys["beta"]}).json()["project"]
        == "beta"
    )
    assert api.get("/v1/whoami").json() == {
        "project": "alpha",
        "key_id": api.keys["alpha"].split("_")[1],
        "auth": True,
    }
    # health endpoints need no key
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/readyz").status_code == 200


def test_keys_are_stored_hashed(api: Api) -> None:
    with api.server.engine.connect() as conn:
        rows = conn.execute(select(api_keys)).mappings().all()
    stored = {r["key_hash"] for r in rows}
    for key in api.keys.values():
        assert key not in str([dict(r) for r in rows])
        assert hashlib.sha256(key.encode()).hexdigest() in stored


def test_revoked_keys_stop_working(api: Api) -> None:
    store = api.server.keys
    created = store.create("alpha", "short-lived")
    headers = {"Authorization": f"Bearer {created.key}"}
    assert api.client.get("/v1/whoami", headers=headers).status_code == 200
    assert store.revoke(created.info.id)
    assert api.client.get("/v1/whoami", headers=headers).status_code == 401
    assert not store.revoke(created.info.id)
    listed = {k.id: k for k in store.list("alpha")}
    assert not listed[created.info.id].active
    with pytest.raises(ValueError):
        store.create("bad\nproject")


def _seed_two_projects(api: Api) -> dict[str, dict[str, str]]:
    out = {}
    for project in ("alpha", "beta"):
        recs = execution(
            f"trace-{project}", agent=f"agent-{project}", agent_id=f"agent-{project}-1"
        )
        recs[0]["session_id"] = f"session-{project}"
        recs[1]["session_id"] = f"session-{project}"
        recs[0]["status"] = "failed"
        recs.append(
            event(
                id=f"ev-{project}",
                trace_id=f"trace-{project}",
                span_id=f"agent-{project}-1",
                session_id=f"session-{project}",
                level="ERROR",
                message="boom",
            )
        )
        api.ok(recs, project)
        out[project] = {
            "trace": f"trace-{project}",
            "agent": f"agent-{project}-1",
            "session": f"session-{project}",
        }
    return out


def test_a_key_of_project_a_gets_404_for_project_b_data(any_api: Api) -> None:
    ids = _seed_two_projects(any_api)
    for template in ENDPOINTS_BY_ID:
        own = template.format(**ids["alpha"])
        other = template.format(**ids["beta"])
        assert any_api.get(own, "alpha").status_code == 200, own
        r = any_api.get(other, "alpha")
        assert r.status_code == 404, (other, r.text)
        assert any_api.get(other, "beta").status_code == 200, other
    # lists and analytics never show the other project's records
    for path, params in [
        ("/v1/traces", {}),
        ("/v1/spans", {}),
        ("/v1/events", {}),
        ("/v1/sessions", {}),
        ("/execution-logs/executions", {"include_llm_calls": "true"}),
        ("/execution-logs/llm-calls", {}),
        ("/v1/analytics/failed", {"hours": 876000}),
        ("/v1/analytics/errors", {"since": "2000-01-01T00:00:00Z"}),
        (
            "/v1/analytics/cost",
            {"since": "2025-12-01T00:00:00Z", "until": "2026-02-01T00:00:00Z", "group_by": "agent"},
        ),
        ("/v1/analytics/agents", {}),
        ("/execution-logs/analytics/summary", {"start_date": "2025-12-01T00:00:00Z"}),
    ]:
        text = any_api.get(path, "alpha", params=params).text
        assert "beta" not in text, (path, text[:300])
        assert "alpha" in text, (path, text[:300])
    for path, params in [
        ("/v1/spans", {"trace_id": "trace-beta"}),
        ("/v1/events", {"span_id": "agent-beta-1"}),
        ("/v1/traces", {"session": "session-beta"}),
        ("/execution-logs/llm-calls", {"execution_log_id": "agent-beta-1"}),
    ]:
        body = any_api.get(path, "alpha", params=params).json()
        assert body.get("items", body.get("llm_call_logs")) == [], path
    # deleting another project's execution is a 404 and deletes nothing
    assert any_api.delete("/execution-logs/executions/trace-beta", "alpha").status_code == 404
    assert any_api.get("/v1/traces/trace-beta", "beta").status_code == 200


def test_writes_cannot_touch_another_projects_records(any_api: Api) -> None:
    _seed_two_projects(any_api)
    # a running span of beta that alpha knows the id of
    any_api.ok(
        [
            span(
                id="beta-running",
                trace_id="trace-beta",
                status="running",
                end_time=None,
                session_id="session-beta",
            )
        ],
        "beta",
    )
    attacks = [
        span(id="beta-running", trace_id="trace-beta", name="hijacked"),  # same id
        span(id="a-child", parent_id="agent-beta-1", trace_id="trace-alpha-2"),  # foreign parent
        span(id="a-in-b-trace", trace_id="trace-beta"),  # foreign trace
        event(id="ev-beta"),  # foreign event id
        event(id="a-ev", span_id="agent-beta-1", trace_id="trace-alpha"),  # foreign span
    ]
    r = any_api.ingest(attacks, "alpha")
    assert r.status_code == 207
    assert [e["field"] for e in r.json()["errors"]] == [
        "id",
        "parent_id",
        "trace_id",
        "id",
        "span_id",
    ]
    got = any_api.get("/v1/spans/beta-running", "beta").json()["span"]
    assert got["name"] == "work" and got["status"] == "running"
    # a session id already used by beta is kept apart for alpha
    any_api.ok([span(id="shared-session", session_id="session-beta", trace_id="t-shared")], "alpha")
    assert (
        any_api.get("/v1/spans/shared-session", "alpha").json()["span"]["session_id"]
        == "session-beta@alpha"
    )
    assert any_api.get("/v1/sessions/session-beta@alpha", "alpha").status_code == 200
    beta_session = any_api.get("/v1/sessions/session-beta", "beta").json()
    assert beta_session["span_count"] == 3


def test_rate_limit_answers_429_with_retry_after(sqlite_url: str) -> None:
    limits = Limits(rate_limit=2, rate_burst=3, auth_failure_rate=1, auth_failure_burst=2)
    with running_api(sqlite_url, limits=limits) as api:
        codes = [api.get("/v1/whoami").status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]
        r = api.get("/v1/whoami")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # per key: the other project is not limited by alpha's traffic
        assert api.get("/v1/whoami", "beta").status_code == 200
        # repeated bad keys are limited per client
        bad = [
            api.client.get("/v1/whoami", headers={"X-API-Key": "nope"}).status_code
            for _ in range(5)
        ]
        assert bad[:2] == [401, 401] and 429 in bad


def test_token_bucket() -> None:
    bucket = RateLimiter(rate=10, burst=2)
    assert bucket.take("k") == 0 and bucket.take("k") == 0
    assert bucket.take("k") > 0
    assert RateLimiter(rate=0, burst=1).take("k") == 0


def test_auth_off_only_on_localhost(sqlite_url: str) -> None:
    for host in ("0.0.0.0", "10.0.0.5", "example.com", "::"):
        with pytest.raises(ValueError, match="localhost"):
            create_app(sqlite_url, auth=False, host=host)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        create_app(sqlite_url, auth=False, host=host)
    with running_api(sqlite_url, auth=False, project="local") as api:
        r = api.client.get("/v1/whoami")
        assert r.json() == {"project": "local", "key_id": None, "auth": False}
        r = api.client.post(
            "/v1/ingest",
            content=b'[{"type":"span","id":"x","trace_id":"t","name":"n","start_time":1}]',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 200
        assert api.client.get("/v1/spans/x").json()["span"]["project"] == "local"


def test_key_store_verify(api: Api) -> None:
    store: KeyStore = api.server.keys
    created = store.create("gamma")
    found = store.verify(created.key)
    assert found is not None and found.project == "gamma"
    for wrong in ("", "thk_", created.key + "x", created.key.replace("thk_", "thx_"), "x" * 5000):
        assert store.verify(wrong) is None
