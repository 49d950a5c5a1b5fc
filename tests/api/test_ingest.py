"""POST /v1/ingest: per-record errors (207), idempotency, and every bad-input case — each
followed by a good request that succeeds."""

from __future__ import annotations

import gzip
import threading
import zlib
from typing import Any

import orjson
import pytest

from ._support import T0, Api, event, span, uid
from .conftest import running_api


def _good(api: Api, project: str = "alpha") -> None:
    """A good request right after a bad one still works."""
    rec = span(id=uid("good"))
    r = api.ingest([rec], project)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "rejected": 0, "errors": []}
    got = api.get(f"/v1/spans/{rec['id']}", project)
    assert got.status_code == 200, got.text


def _error(r: Any, status: int, field: str | None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body
    return body


def test_batch_with_invalid_records_answers_207_and_stores_the_valid_ones(any_api: Api) -> None:
    good = [span(id="s-ok-1"), event(id="e-ok-1", span_id="s-ok-1"), span(id="s-ok-2", kind="llm")]
    bad = [
        {"type": "span", "id": "s-bad-1", "trace_id": "t", "name": "x", "start_time": "yesterday"},
        {"type": "wat", "id": "w-1"},
        span(id="s-bad-2", status="exploded"),
        span(id="x" * 801),
        span(id="bad\x01id"),
        span(id="s-bad-3", input_tokens=2**64 - 1),
        span(id="s-bad-4", start_time=T0, end_time=T0 - 1),
        "not an object",
        span(id="s-bad-5", chunks_count=2**40),
        span(id="s-bad-6", start_time="99999-01-01T00:00:00"),
    ]
    r = any_api.ingest([good[0], bad[0], good[1], *bad[1:], good[2]])
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["accepted"] == 3
    assert body["rejected"] == len(bad)
    fields = [(e["index"], e["field"]) for e in body["errors"]]
    assert fields == [
        (1, "start_time"),
        (3, "type"),
        (4, "status"),
        (5, "id"),
        (6, "id"),
        (7, "input_tokens"),
        (8, "end_time"),
        (9, "record"),
        (10, "chunks_count"),
        (11, "start_time"),
    ]
    assert body["errors"][0]["id"] == "s-bad-1"
    for e in body["errors"]:
        assert e["message"].startswith(e["field"])
    for rid in ("s-ok-1", "s-ok-2"):
        assert any_api.get(f"/v1/spans/{rid}").status_code == 200
    assert (
        any_api.get("/v1/events", params={"span_id": "s-ok-1"}).json()["items"][0]["id"] == "e-ok-1"
    )
    _good(any_api)


def test_ingest_is_idempotent_and_a_running_snapshot_gives_way(any_api: Api) -> None:
    running = span(id="snap", status="running", end_time=None, name="long")
    final = span(id="snap", status="success", name="long", output="done")
    assert any_api.ingest([running]).status_code == 200
    assert any_api.ingest([final]).status_code == 200
    again = span(id="snap", status="failed", name="changed")
    for _ in range(3):
        assert any_api.ingest([final, again, event(id="ev-dup")]).status_code == 200
    got = any_api.get("/v1/spans/snap").json()["span"]
    assert (got["status"], got["output"], got["name"]) == ("success", "done", "long")
    assert len(any_api.get("/v1/events", params={"q": "note"}).json()["items"]) == 1
    assert len(any_api.get("/v1/spans").json()["items"]) == 1


def test_records_object_form_and_project_from_the_key(any_api: Api) -> None:
    r = any_api.ingest({"records": [span(id="p-1", project="beta")]}, "alpha")
    assert r.status_code == 200
    assert any_api.get("/v1/spans/p-1", "alpha").json()["span"]["project"] == "alpha"
    assert any_api.get("/v1/spans/p-1", "beta").status_code == 404


def test_gzip_and_deflate_bodies(api: Api) -> None:
    recs = [span(id=uid("gz")) for _ in range(50)]
    body = orjson.dumps(recs)
    r = api.ingest(gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json()["accepted"] == 50
    r = api.ingest(zlib.compress(orjson.dumps([span(id="dfl")])), **{"Content-Encoding": "deflate"})
    assert r.status_code == 200, r.text


def test_gzip_bomb_is_refused_with_413(api: Api) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 200_000
    r = api.ingest(bomb, **{"Content-Encoding": "gzip"})
    body = _error(r, 413, "body")
    assert "after decompression" in body["error"]["message"]
    _good(api)


def test_body_over_5_mb_is_refused(api: Api) -> None:
    big = orjson.dumps([span(id=uid("big"), input="x" * (6 * 1024 * 1024))])
    _error(api.ingest(big), 413, "body")
    _good(api)


def test_more_than_1000_records(api: Api) -> None:
    recs = [span(id=uid("many")) for _ in range(1001)]
    _error(api.ingest(recs), 413, "records")
    assert api.ingest(recs[:1000]).json()["accepted"] == 1000
    _good(api)


def test_json_nested_deeper_than_64(api: Api) -> None:
    deep: Any = "leaf"
    for _ in range(70):
        deep = {"d": deep}
    _error(api.ingest([span(id="deep", attributes=deep)]), 422, "body")
    ok: Any = "leaf"
    for _ in range(55):
        ok = {"d": ok}
    assert api.ingest([span(id="ok-deep", attributes=ok)]).status_code == 200
    _good(api)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[NaN]", 400),
        (b'[{"type": "span", "id": "n", "duration_ms": NaN}]', 400),
        (b'[{"type": "span", "value": Infinity}]', 400),
        (b"[1e400]", 400),
        (b'["\xff\xfe"]', 400),
        (b'["\\ud800"]', 400),
        (b'["a\x00b"]', 400),
        (b"{", 400),
        (b"", 400),
        (b"   ", 400),
        (b"\x00\x00\x00", 400),
        (b'"just a string"', 422),
        (b"42", 422),
        (b'{"records": 5}', 422),
        (b"[" * 2000 + b"]" * 2000, 400),
    ],
)
def test_malformed_json_is_a_4xx(api: Api, body: bytes, status: int) -> None:
    _error(api.ingest(body), status, "records" if body.startswith(b'{"records"') else "body")
    _good(api)


def test_nul_characters_are_stored_replaced(any_api: Api) -> None:
    rec = span(
        id="nul-1",
        name="a\u0000b",
        input={"k\u0000": "v\u0000w"},
        attributes={"x": "\u0000"},
        error_message="e\u0000",
    )
    r = any_api.ingest([rec])
    assert r.status_code == 200, r.text
    got = any_api.get("/v1/spans/nul-1").json()["span"]
    assert got["name"] == "a\ufffdb"
    assert got["input"] == {"k\ufffd": "v\ufffdw"}
    assert got["attributes"] == {"x": "\ufffd"}
    bad_id = any_api.ingest([span(id="nul\u0000id")])
    assert bad_id.status_code == 207 and bad_id.json()["errors"][0]["field"] == "id"
    _good(any_api)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_wrong_content_type_is_415(api: Api, content_type: str | None) -> None:
    headers = api.headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = api.client.post("/v1/ingest", content=orjson.dumps([span()]), headers=headers)
    _error(r, 415, "content-type")
    _good(api)


def test_unsupported_content_encoding_is_415(api: Api) -> None:
    r = api.ingest(orjson.dumps([span()]), **{"Content-Encoding": "br"})
    _error(r, 415, "content-encoding")
    r = api.ingest(b"not gzip at all", **{"Content-Encoding": "gzip"})
    _error(r, 400, "body")
    r = api.ingest(gzip.compress(b"[]")[:-6], **{"Content-Encoding": "gzip"})
    _error(r, 400, "body")
    _good(api)


def test_ids_of_800_characters_are_fine(any_api: Api) -> None:
    long_id = "é" * 800
    assert (
        any_api.ingest([span(id=long_id, trace_id="t" * 800, session_id="s" * 800)]).status_code
        == 200
    )
    assert any_api.get("/v1/spans/" + long_id).status_code == 200
    r = any_api.get("/v1/spans/" + "x" * 801)
    _error(r, 422, "span_id")
    r = any_api.get("/v1/spans/bad%01id")
    _error(r, 422, "span_id")
    _good(any_api)


def test_empty_batch(api: Api) -> None:
    assert api.ingest([]).json() == {"accepted": 0, "rejected": 0, "errors": []}


def test_backpressure_answers_503_with_retry_after(sqlite_url: str) -> None:
    from tracehound.api import Limits

    limits = Limits(rate_limit=0, auth_failure_rate=0, queue_max_records=10)
    with running_api(sqlite_url, limits=limits) as api:
        writer = api.server.writer
        gate = threading.Event()
        entered = threading.Event()

        def stall() -> None:
            entered.set()
            gate.wait(30)

        writer.call(stall)  # occupy the writer thread
        assert entered.wait(10)
        results: list[int] = []

        def post(n: int) -> None:
            results.append(api.ingest([span(id=uid("bp")) for _ in range(n)]).status_code)

        first = threading.Thread(target=post, args=(8,))
        first.start()
        for _ in range(200):  # wait until the 8 records are queued
            if writer.queued_records >= 8:
                break
            threading.Event().wait(0.01)
        r = api.ingest([span(id=uid("bp")) for _ in range(5)])
        body = _error(r, 503, None)
        assert "queue" in body["error"]["message"]
        assert int(r.headers["Retry-After"]) >= 1
        gate.set()
        first.join(10)
        assert results == [200]
        _good(api)


def test_store_failure_is_503_and_recovers(sqlite_url: str) -> None:
    with running_api(sqlite_url) as api:
        writer = api.server.writer
        real = writer.exporter.export
        calls = {"n": 0}

        def broken(batch: Any) -> None:
            calls["n"] += 1
            raise OSError("disk on fire")

        writer.exporter.export = broken
        try:
            r = api.ingest([span(id="while-broken")])
            body = _error(r, 503, None)
            assert "store" in body["error"]["message"]
            assert r.headers["Retry-After"]
        finally:
            writer.exporter.export = real
        _good(api)
        assert api.ingest([span(id="while-broken")]).status_code == 200


@pytest.mark.timeout(120)
def test_large_bodies_decoded_by_worker_processes(sqlite_url: str) -> None:
    """`tracehound serve` decodes large bodies in worker processes: same answers."""
    with running_api(sqlite_url, decode_workers=1) as api:
        assert api.server.decode_pool is not None
        pad = "p" * 200
        recs = [span(id=f"w-{i}", input=pad) for i in range(600)]
        recs[10] = span(id="w-bad", status="nope", input=pad)
        recs[20] = "not a record"
        r = api.ingest(recs)
        assert r.status_code == 207, r.text
        body = r.json()
        assert (body["accepted"], body["rejected"]) == (598, 2)
        assert [(e["index"], e["field"]) for e in body["errors"]] == [
            (10, "status"),
            (20, "record"),
        ]
        assert api.get("/v1/spans/w-599").status_code == 200
        many = [span(id=uid("many"), input=pad) for _ in range(1001)]
        _error(api.ingest(many), 413, "records")
        _error(api.ingest({"records": "x" * 70_000}), 422, "records")
        deep: Any = "leaf"
        for _ in range(70):
            deep = {"d": deep}
        _error(api.ingest([span(id="deep", attributes=deep, input=pad * 400)]), 422, "body")
        _good(api)
