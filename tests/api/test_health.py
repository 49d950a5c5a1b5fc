"""/healthz and /readyz: 503 naming the failing dependency; the server stays up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from tracehound.api import create_app

from ._support import Api, span
from .conftest import TEST_LIMITS


def test_ready_when_the_store_is(api: Api) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "schema", "writer"}
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_unreachable_database_is_named() -> None:
    app = create_app("postgresql://postgres@127.0.0.1:1/nothing", limits=TEST_LIMITS)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503 and r.headers["Retry-After"]
        failing = r.json()["failing"]
        assert any(f.startswith("database:") for f in failing)
        assert any(f.startswith("writer:") for f in failing)
        # writes and reads answer 503 (not 500), with a JSON body
        r = client.post(
            "/v1/ingest",
            content=b"[]",
            headers={
                "Content-Type": "application/json",
                "X-API-Key": "thk_000000000000_" + "A" * 43,
            },
        )
        assert r.status_code == 503, r.text
        assert r.json()["error"]["status"] == 503


def test_a_database_from_the_future_is_named(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('9999')")
    con.commit()
    con.close()
    app = create_app(f"sqlite:///{db.as_posix()}", limits=TEST_LIMITS, auth=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert any(f.startswith("schema:") and "newer" in f for f in r.json()["failing"])
        r = client.post("/v1/ingest", json=[span()])
        assert r.status_code == 503 and "store" in r.json()["error"]["message"]
