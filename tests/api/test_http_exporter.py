"""The SDK's ``http`` exporter end to end: the tracehound SDK → POST /v1/ingest of a live
``tracehound serve`` → readable through seed 002's API and /v1."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import tracehound
from tracehound.exceptions import ConfigError, ExporterError
from tracehound.model import Span
from tracehound.pipeline.exporters._http import HttpExporter
from tracehound.sdk import _runtime

from .conftest import live_server


@pytest.mark.timeout(180)
def test_sdk_http_exporter_end_to_end(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'served.db').as_posix()}"
    with live_server(url) as server:
        key = server.key("sdk-project")
        tracehound.configure(
            exporters=("http",),
            http_endpoint=server.base,
            api_key=key,
            trace_dir=tmp_path / "trace",
            flush_interval=0.05,
            project="ignored-the-key-decides",
        )
        exporter = _runtime.get_runtime().exporters[0]
        assert isinstance(exporter, HttpExporter)

        from tracehound import ExecutionLogger, LLMCallLogger

        logger = ExecutionLogger()
        llm_logger = LLMCallLogger()

        async def run() -> None:
            async with logger.log_execution(
                agent_type="planner",
                execution_step="plan",
                input_data={"prompt": "dashboard"},
                report_id="r-9",
            ) as ctx:
                llm_logger.log_call(
                    "openai",
                    "gpt-4o",
                    "What is AI?",
                    "A field.",
                    input_tokens=100,
                    output_tokens=40,
                )
                ctx.output_data = {"plan": ["a", "b"]}

        asyncio.run(run())
        with tracehound.span("standalone", kind="tool", agent="helper") as sp:
            sp.set_input({"x": 1})
        tracehound.event("decision", "route", target="researcher")
        assert tracehound.flush(timeout=30)
        assert exporter.sent >= 3 and exporter.rejected == 0

        h = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base, headers=h, timeout=30) as client:
            logs = client.get(
                "/execution-logs/executions", params={"include_llm_calls": "true"}
            ).json()
            assert len(logs["execution_logs"]) == 1
            log = logs["execution_logs"][0]
            assert (log["agent_type"], log["execution_step"], log["status"], log["report_id"]) == (
                "planner",
                "plan",
                "completed",
                "r-9",
            )
            assert log["output_data"] == {"plan": ["a", "b"]}
            assert any(c["model_id"] == "gpt-4o" and c["total_cost"] for c in log["llm_calls"])
            spans = client.get("/v1/spans", params={"agent": "helper"}).json()["items"]
            assert spans[0]["name"] == "standalone" and spans[0]["project"] == "sdk-project"
            events = client.get("/v1/events", params={"type": "decision"}).json()["items"]
            assert events[0]["name"] == "route"
        tracehound.shutdown(timeout=5)


class _Stub(http.server.BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]] = []
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((dict(self.headers), body))
        status, answer = type(self).answers.pop(0) if type(self).answers else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if status in (429, 503):
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, type[_Stub]]]:
    handler = type("Handler", (_Stub,), {"answers": [], "seen": []})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", handler
    finally:
        srv.shutdown()
        srv.server_close()


def _records(n: int) -> list[Span]:
    return [
        Span(
            id=f"s{i}",
            trace_id="t",
            parent_id=None,
            session_id="s",
            project="p",
            kind="task",
            name="n",
            status="success",
            start_time=10**18,
            end_time=10**18 + 1,
            duration_ms=0.0,
        )
        for i in range(n)
    ]


def test_http_exporter_answers(stub: tuple[str, type[_Stub]]) -> None:
    import gzip

    base, handler = stub
    exporter = HttpExporter(base, api_key="thk_key")
    exporter.export(_records(2500))  # three requests of at most 1000
    assert len(handler.seen) == 3
    headers, body = handler.seen[0]
    assert headers["Authorization"] == "Bearer thk_key"
    assert headers["Content-Encoding"] == "gzip"
    assert len(orjson.loads(gzip.decompress(body))) == 1000
    assert exporter.sent == 2500

    handler.answers[:] = [
        (207, orjson.dumps({"accepted": 1, "rejected": 1, "errors": [{"message": "x"}]}))
    ]
    exporter.export(_records(2))
    assert exporter.rejected == 1

    handler.answers[:] = [(422, b'{"error": {"message": "records: bad"}}')]
    exporter.export(_records(3))  # permanent: dropped and counted, not retried forever
    assert exporter.rejected == 4

    for status in (503, 429, 500, 401):
        handler.answers[:] = [(status, b'{"error": {"message": "later"}}')]
        with pytest.raises(ExporterError, match=str(status)):
            exporter.export(_records(1))

    handler.answers[:] = [(413, b"{}"), (200, b"{}"), (200, b"{}")]
    before = len(handler.seen)
    exporter.export(_records(10))  # split in halves and re-sent
    assert len(handler.seen) - before == 3
    exporter.shutdown()


def test_http_exporter_config() -> None:
    with pytest.raises(ConfigError, match="http_endpoint"):
        HttpExporter(None)
    with pytest.raises(ConfigError):
        HttpExporter("ftp://x")
    assert HttpExporter("http://h:1/base")._path == "/base/v1/ingest"
    assert HttpExporter("https://h/v1/ingest")._path == "/v1/ingest"
    with pytest.raises(ConfigError, match="http_endpoint"):
        tracehound.configure(exporters=("http",))
    assert "http" in _runtime._EXTRA_FACTORIES


def test_unreachable_server_raises_so_the_pipeline_spools() -> None:
    exporter = HttpExporter("http://127.0.0.1:9", timeout=2)
    with pytest.raises(ExporterError):
        exporter.export(_records(1))
