"""GET /v1/stream: server-sent events of new traces/spans/events, from ingest and from other
writers of the store; per project."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson

from tracehound.model import Span
from tracehound.store import SQLiteExporter

from ._support import T0, Api, event, span
from .conftest import running_api


def _listen(
    api: Api, project: str, out: list[tuple[str, Any]], ready: threading.Event, **params: Any
) -> None:
    with api.client.stream("GET", "/v1/stream", params=params, headers=api.headers(project)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind is not None:
                out.append((kind, orjson.loads(line[6:])))


def test_stream_sends_ingested_records_of_the_callers_project(sqlite_url: str) -> None:
    with running_api(sqlite_url, stream_interval=0.2) as api:
        got_alpha: list[tuple[str, Any]] = []
        got_beta: list[tuple[str, Any]] = []
        ready_a, ready_b = threading.Event(), threading.Event()
        threads = [
            threading.Thread(
                target=_listen, args=(api, "alpha", got_alpha, ready_a), kwargs={"duration": 3}
            ),
            threading.Thread(
                target=_listen,
                args=(api, "beta", got_beta, ready_b),
                kwargs={"duration": 3, "types": ["span"]},
            ),
        ]
        for t in threads:
            t.start()
        assert ready_a.wait(10) and ready_b.wait(10)
        api.ok(
            [
                span(id="root-1", trace_id="tr-1"),
                span(id="child-1", trace_id="tr-1", parent_id="root-1"),
                event(id="ev-1", trace_id="tr-1"),
            ]
        )
        api.ok([span(id="beta-1", trace_id="tr-b")], "beta")
        # another writer of the same store (an SDK process): found by the poller
        other = SQLiteExporter(sqlite_url)
        now = time.time_ns()
        other.export(
            [
                Span(
                    id="from-sdk",
                    trace_id="tr-sdk",
                    parent_id=None,
                    session_id="sdk",
                    project="alpha",
                    kind="agent",
                    name="sdk work",
                    status="success",
                    start_time=now,
                    end_time=now + 1000,
                    duration_ms=0.001,
                )
            ]
        )
        other.shutdown()
        for t in threads:
            t.join(15)
        kinds = [(k, d["id"]) for k, d in got_alpha]
        assert ("trace", "root-1") in kinds and ("span", "root-1") in kinds
        assert ("span", "child-1") in kinds and ("trace", "child-1") not in kinds
        assert ("event", "ev-1") in kinds
        assert ("trace", "from-sdk") in kinds
        assert all(d["id"] != "beta-1" for _, d in got_alpha)
        assert [(k, d["id"]) for k, d in got_beta] == [("span", "beta-1")]
        assert len([1 for k, d in got_alpha if d["id"] == "root-1" and k == "span"]) == 1  # once
        assert got_alpha[0][1]["start_time"].endswith("Z")


def test_stream_needs_a_key_and_valid_params(api: Api) -> None:
    assert api.client.get("/v1/stream", params={"duration": 1}).status_code == 401
    assert api.get("/v1/stream", params={"duration": "nan"}).status_code == 422
    assert api.get("/v1/stream", params={"types": "bogus"}).status_code == 422
    assert T0 > 0
