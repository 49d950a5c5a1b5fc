"""POST /v1/traces: OTLP/HTTP protobuf and JSON, the GenAI / OpenInference / OpenLLMetry
mappings, pricing, and the real OpenTelemetry SDK against a live ``tracehound serve``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tracehound.api.otlp import OtlpSpan, decode_json, map_spans

from ._support import Api
from .conftest import live_server

TRACE = "5b8efff798038103d269b633813fc60c"
T0 = 1_767_225_600_000_000_000


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        v: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    elif isinstance(value, list):
        v = {"arrayValue": {"values": [_kv("x", x)["value"] for x in value]}}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def _json_span(
    span_id: str,
    name: str,
    parent: str | None = None,
    start: int = T0,
    end: int | None = None,
    status: int = 0,
    **attrs: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end if end is not None else start + 5_000_000),
        "attributes": [_kv(k.replace("__", "."), v) for k, v in attrs.items()],
        "status": {"code": status, "message": "tool exploded" if status == 2 else ""},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def _request(spans: list[dict[str, Any]], service: str = "demo-agent") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
            }
        ]
    }


def _genai_request() -> dict[str, Any]:
    agent = _json_span(
        "a000000000000001",
        "invoke_agent planner",
        end=T0 + 50_000_000,
        **{
            "gen_ai__operation__name": "invoke_agent",
            "gen_ai__agent__name": "planner",
            "gen_ai__agent__id": "agent-7",
            "gen_ai__conversation__id": "conv-42",
            "user__id": "u-1",
        },
    )
    chat = _json_span(
        "c000000000000001",
        "chat gpt-4o",
        parent="a000000000000001",
        start=T0 + 1_000_000,
        **{
            "gen_ai__operation__name": "chat",
            "gen_ai__provider__name": "openai",
            "gen_ai__request__model": "gpt-4o",
            "gen_ai__response__model": "gpt-4o-2024-08-06",
            "gen_ai__usage__input_tokens": 1500,
            "gen_ai__usage__output_tokens": 500,
            "gen_ai__usage__cache_read__input_tokens": 100,
            "gen_ai__input__messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "plan a trip"}]}]
            ),
            "gen_ai__output__messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}]}]
            ),
        },
    )
    tool = _json_span(
        "d000000000000001",
        "execute_tool search",
        parent="a000000000000001",
        start=T0 + 10_000_000,
        status=2,
        **{
            "gen_ai__operation__name": "execute_tool",
            "gen_ai__tool__name": "search",
            "gen_ai__tool__call__arguments": '{"q": "flights"}',
            "error__type": "TimeoutError",
        },
    )
    tool["events"] = [
        {
            "name": "exception",
            "timeUnixNano": str(T0 + 11_000_000),
            "attributes": [
                _kv("exception.type", "TimeoutError"),
                _kv("exception.message", "search timed out"),
                _kv("exception.stacktrace", "Traceback…"),
            ],
        }
    ]
    return _request([agent, chat, tool])


def test_genai_conventions_json(any_api: Api) -> None:
    body = orjson.dumps(_genai_request())
    r = any_api.client.post(
        "/v1/traces", content=body, headers=any_api.headers(**{"Content-Type": "application/json"})
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {}
    tree = any_api.get(f"/v1/traces/{TRACE}").json()
    root = tree["roots"][0]
    assert (
        root["kind"],
        root["agent_name"],
        root["agent_id"],
        root["conversation_id"],
        root["user_id"],
    ) == (
        "agent",
        "planner",
        "agent-7",
        "conv-42",
        "u-1",
    )
    kids = {k["name"]: k for k in root["children"]}
    chat, tool = kids["chat gpt-4o"], kids["execute_tool search"]
    assert chat["kind"] == "llm" and chat["agent_name"] == "planner"  # inherited
    assert (chat["provider"], chat["model"]) == ("openai", "gpt-4o-2024-08-06")
    assert (
        chat["input_tokens"],
        chat["output_tokens"],
        chat["cached_tokens"],
        chat["total_tokens"],
    ) == (1500, 500, 100, 2000)
    assert chat["total_cost"] > 0 and chat["cost_source"].startswith("genai-prices")
    assert chat["input"][0]["parts"][0]["content"] == "plan a trip"
    assert chat["output"][0]["role"] == "assistant"
    assert "gen_ai.input.messages" not in chat["attributes"]
    assert chat["attributes"]["service.name"] == "demo-agent"
    assert tool["kind"] == "tool" and tool["status"] == "failed"
    assert (tool["error_type"], tool["error_message"]) == ("TimeoutError", "search timed out")
    assert tool["input"] == {"q": "flights"}
    assert tree["events"][0]["type"] == "error" and tree["events"][0]["level"] == "ERROR"
    # readable through seed 002's API
    logs = any_api.get("/execution-logs/executions", params={"include_llm_calls": "true"}).json()
    log = logs["execution_logs"][0]
    assert (log["execution_id"], log["agent_type"], log["status"]) == (
        TRACE,
        "planner",
        "completed",
    )
    assert log["llm_calls"][0]["model_id"] == "gpt-4o-2024-08-06"
    # idempotent
    r = any_api.client.post(
        "/v1/traces", content=body, headers=any_api.headers(**{"Content-Type": "application/json"})
    )
    assert r.status_code == 200
    assert any_api.get(f"/v1/traces/{TRACE}").json()["span_count"] == 3


def _pb_request() -> bytes:
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    doc = _genai_request()
    # the protobuf JSON mapping wants base64 ids
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in sp:
                        import base64

                        sp[key] = base64.b64encode(bytes.fromhex(sp[key])).decode()
    msg = ParseDict(doc, ExportTraceServiceRequest())
    data: bytes = msg.SerializeToString()
    return data


def test_protobuf_and_gzip(api: Api) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    headers = api.headers(**{"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    r = api.client.post("/v1/traces", content=gzip.compress(_pb_request()), headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(r.content)
    assert answer.partial_success.rejected_spans == 0
    assert api.get(f"/v1/traces/{TRACE}").json()["span_count"] == 3


def test_bad_otlp_requests(api: Api) -> None:
    pb = api.headers(**{"Content-Type": "application/x-protobuf"})
    r = api.client.post("/v1/traces", content=b"\xff\xff\xff\xff garbage", headers=pb)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/x-protobuf"
    assert b"not a valid OTLP" in r.content  # a google.rpc.Status
    js = api.headers(**{"Content-Type": "application/json"})
    assert api.client.post("/v1/traces", content=b"[1,2]", headers=js).status_code == 400
    assert (
        api.client.post("/v1/traces", content=b'{"resourceSpans": 7}', headers=js).status_code
        == 400
    )
    assert (
        api.client.post("/v1/traces", content=b"{", headers=js).json()["error"]["field"] == "body"
    )
    txt = api.headers(**{"Content-Type": "text/plain"})
    assert api.client.post("/v1/traces", content=b"x", headers=txt).status_code == 415
    bomb = gzip.compress(b"\x00" * (40 * 1024 * 1024))
    r = api.client.post("/v1/traces", content=bomb, headers={**pb, "Content-Encoding": "gzip"})
    assert r.status_code == 413
    # per-span problems are a partial success, the rest is stored
    doc = _request(
        [
            _json_span("e000000000000001", "fine"),
            {**_json_span("e000000000000002", "bad ids"), "traceId": "xyz"},
            {**_json_span("e000000000000003", "zero"), "spanId": "0000000000000000"},
            {**_json_span("e000000000000004", "no start"), "startTimeUnixNano": "0"},
            "not a span",
        ]
    )
    r = api.client.post("/v1/traces", content=orjson.dumps(doc), headers=js)
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "4"
    assert "traceId" in partial["errorMessage"]
    assert api.get("/v1/spans/e000000000000001").status_code == 200
    r = api.client.post("/v1/traces", content=orjson.dumps(_genai_request()), headers=js)
    assert r.status_code == 200


def _spans(doc: dict[str, Any]) -> list[OtlpSpan]:
    spans, problems = decode_json(doc)
    assert problems == []
    return spans


def test_openinference_and_openllmetry_attributes() -> None:
    doc = _request(
        [
            _json_span(
                "f000000000000001",
                "ChatOpenAI",
                **{
                    "openinference__span__kind": "LLM",
                    "llm__provider": "anthropic",
                    "llm__model_name": "claude-3-5-sonnet-20241022",
                    "llm__token_count__prompt": 300,
                    "llm__token_count__completion": 100,
                    "llm__input_messages__0__message__role": "user",
                    "llm__input_messages__0__message__content": "hello",
                    "llm__output_messages__0__message__role": "assistant",
                    "llm__output_messages__0__message__content": "hi!",
                    "session__id": "oi-session",
                    "user__id": "oi-user",
                },
            ),
            _json_span(
                "f000000000000002",
                "openai.chat",
                **{
                    "llm__request__type": "chat",
                    "gen_ai__system": "openai",
                    "gen_ai__request__model": "gpt-4o-mini",
                    "gen_ai__usage__prompt_tokens": 50,
                    "gen_ai__usage__completion_tokens": 10,
                    "gen_ai__prompt__0__role": "user",
                    "gen_ai__prompt__0__content": "question",
                    "gen_ai__completion__0__role": "assistant",
                    "gen_ai__completion__0__content": "answer",
                    "llm__is_streaming": True,
                },
            ),
            _json_span(
                "f000000000000003",
                "research",
                **{
                    "openinference__span__kind": "AGENT",
                    "agent__name": "researcher",
                    "input__value": '{"topic": "x"}',
                    "input__mime_type": "application/json",
                },
            ),
            _json_span("f000000000000004", "my_tool.tool", **{"traceloop__span__kind": "tool"}),
            _json_span("f000000000000005", "plain work"),
        ]
    )
    records, problems = map_spans(_spans(doc), "p", lambda *a: (0.001, 0.002, 0.003, "test"))
    assert problems == []
    spans = {r.id: r for r in records}
    oi = spans["f000000000000001"]
    assert (oi.kind, oi.provider, oi.model, oi.input_tokens, oi.output_tokens, oi.total_tokens) == (
        "llm",
        "anthropic",
        "claude-3-5-sonnet-20241022",
        300,
        100,
        400,
    )
    assert oi.input == [{"role": "user", "content": "hello"}]
    assert oi.output == [{"role": "assistant", "content": "hi!"}]
    assert (oi.session_id, oi.conversation_id, oi.user_id) == (
        "oi-session",
        "oi-session",
        "oi-user",
    )
    assert (oi.total_cost, oi.cost_source) == (0.003, "test")
    tl = spans["f000000000000002"]
    assert (tl.kind, tl.provider, tl.model, tl.input_tokens, tl.is_streaming) == (
        "llm",
        "openai",
        "gpt-4o-mini",
        50,
        True,
    )
    assert tl.input == [{"role": "user", "content": "question"}]
    assert tl.attributes["call_type"] == "inference_stream"
    agent = spans["f000000000000003"]
    assert (agent.kind, agent.agent_name, agent.input) == ("agent", "researcher", {"topic": "x"})
    assert spans["f000000000000004"].kind == "tool"
    plain = spans["f000000000000005"]
    assert (plain.kind, plain.session_id) == ("task", "otlp:demo-agent")


def test_unknown_model_is_unpriced_not_free() -> None:
    doc = _request(
        [
            _json_span(
                "0000000000000009",
                "chat x",
                **{
                    "gen_ai__operation__name": "chat",
                    "gen_ai__request__model": "no-such-model-xyz",
                    "gen_ai__usage__input_tokens": 5,
                },
            )
        ]
    )
    from tracehound.pricing import default_pricer

    records, _ = map_spans(_spans(doc), "p", default_pricer())
    span = records[0]
    assert span.total_cost is None and span.cost_source == "unknown"  # type: ignore[union-attr]


@pytest.mark.timeout(180)
def test_real_opentelemetry_sdk_against_tracehound_serve(tmp_path: Path) -> None:
    """The OpenTelemetry SDK and its OTLP/HTTP exporter, unchanged, sending GenAI spans to a
    `tracehound serve` subprocess; read back through seed 002's API and /v1."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    url = f"sqlite:///{(tmp_path / 'served.db').as_posix()}"
    with live_server(url) as server:
        key = server.key("otel-project")
        provider = TracerProvider(resource=Resource.create({"service.name": "trip-planner"}))
        exporter = OTLPSpanExporter(
            endpoint=f"{server.base}/v1/traces", headers={"Authorization": f"Bearer {key}"}
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("agent")
        with tracer.start_as_current_span(
            "invoke_agent travel_agent",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "travel_agent",
                "gen_ai.conversation.id": "c-1",
            },
        ) as agent_span:
            trace_id = format(agent_span.get_span_context().trace_id, "032x")
            with tracer.start_as_current_span(
                "chat gpt-4o",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 1200,
                    "gen_ai.usage.output_tokens": 300,
                },
            ):
                pass
            with tracer.start_as_current_span(
                "execute_tool book_flight", attributes={"gen_ai.operation.name": "execute_tool"}
            ) as tool:
                tool.set_status(trace.Status(trace.StatusCode.ERROR, "no seats"))
        assert provider.force_flush(30_000)
        provider.shutdown()

        h = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base, headers=h, timeout=30) as client:
            logs = client.get(
                "/execution-logs/executions", params={"include_llm_calls": "true"}
            ).json()
            assert len(logs["execution_logs"]) == 1
            log = logs["execution_logs"][0]
            assert (log["execution_id"], log["agent_type"]) == (trace_id, "travel_agent")
            call = log["llm_calls"][0]
            assert (call["model_id"], call["input_tokens"], call["output_tokens"]) == (
                "gpt-4o",
                1200,
                300,
            )
            assert call["total_cost"] > 0
            detail = client.get(f"/execution-logs/executions/{trace_id}").json()
            assert detail["steps"][0]["llm_calls"][0]["provider"] == "openai"
            summary = client.get("/execution-logs/analytics/summary").json()
            assert summary["llm_call_analytics"]["model_counts"] == {"gpt-4o": 1}
            tree = client.get(f"/v1/traces/{trace_id}").json()
            assert tree["span_count"] == 3 and tree["error_count"] == 1
            kinds = {c["name"]: c["kind"] for c in tree["roots"][0]["children"]}
            assert kinds == {"chat gpt-4o": "llm", "execute_tool book_flight": "tool"}
            traces = client.get("/v1/traces", params={"conversation_id": "c-1"}).json()["items"]
            assert [t["trace_id"] for t in traces] == [trace_id]
            cost = client.get("/v1/analytics/cost", params={"group_by": "provider"}).json()
            assert cost["buckets"][0]["group"] == "openai"
            # without the key: 401, and the exporter's view of it
            assert httpx.get(f"{server.base}/v1/traces").status_code == 401
        assert "listening on http://127.0.0.1:" in server.banner  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
def test_large_otlp_bodies_decoded_by_worker_processes(sqlite_url: str) -> None:
    from .conftest import running_api

    with running_api(sqlite_url, decode_workers=1) as api:
        spans = [
            _json_span(
                f"{i + 1:016x}",
                "chat gpt-4o",
                **{
                    "gen_ai__operation__name": "chat",
                    "gen_ai__request__model": "gpt-4o",
                    "gen_ai__usage__input_tokens": 10,
                    "pad": "x" * 200,
                },
            )
            for i in range(400)
        ]
        spans.append({**_json_span("ffffffffffffffff", "bad"), "traceId": "nothex"})
        body = orjson.dumps(_request(spans))
        assert len(body) > 64 * 1024
        r = api.client.post(
            "/v1/traces", content=body, headers=api.headers(**{"Content-Type": "application/json"})
        )
        assert r.status_code == 200, r.text
        assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
        assert api.get(f"/v1/traces/{TRACE}").json()["span_count"] == 400
        junk = bytes(range(256)) * 400
        r = api.client.post(
            "/v1/traces",
            content=junk,
            headers=api.headers(**{"Content-Type": "application/x-protobuf"}),
        )
        assert r.status_code == 400 and r.headers["content-type"] == "application/x-protobuf"
