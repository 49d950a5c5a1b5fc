"""Helpers for the server tests: an API client wrapper and wire-record factories."""

from __future__ import annotations

import itertools
import time
from typing import Any

import orjson
from fastapi.testclient import TestClient
from httpx import Response

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
_ids = itertools.count(1)


class Api:
    """A TestClient with API keys of projects ``alpha`` and ``beta``."""

    def __init__(self, client: TestClient, keys: dict[str, str], server: Any) -> None:
        self.client = client
        self.keys = keys
        self.server = server

    def headers(self, project: str | None = "alpha", **extra: str) -> dict[str, str]:
        out = dict(extra)
        if project is not None and project in self.keys:
            out["Authorization"] = f"Bearer {self.keys[project]}"
        return out

    def get(self, path: str, project: str | None = "alpha", **kwargs: Any) -> Response:
        return self.client.get(path, headers=self.headers(project), **kwargs)

    def delete(self, path: str, project: str | None = "alpha") -> Response:
        return self.client.delete(path, headers=self.headers(project))

    def ingest(self, records: Any, project: str | None = "alpha", **headers: str) -> Response:
        body = records if isinstance(records, bytes) else orjson.dumps(records)
        h = self.headers(project, **{"Content-Type": "application/json", **headers})
        return self.client.post("/v1/ingest", content=body, headers=h)

    def ok(self, records: list[dict[str, Any]], project: str = "alpha") -> dict[str, Any]:
        r = self.ingest(records, project)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


def uid(prefix: str = "id") -> str:
    return f"{prefix}-{next(_ids)}-{time.monotonic_ns()}"


def span(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "span",
        "id": uid("span"),
        "trace_id": "trace-1",
        "session_id": "session-1",
        "kind": "task",
        "name": "work",
        "status": "success",
        "start_time": T0,
        "end_time": T0 + 2_000_000,
    }
    if (
        "start_time" in fields
        and "end_time" not in fields
        and isinstance(fields["start_time"], int)
    ):
        out["end_time"] = fields["start_time"] + 2_000_000
    out.update(fields)
    return out


def event(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "event",
        "id": uid("event"),
        "trace_id": "trace-1",
        "session_id": "session-1",
        "event_type": "log",
        "name": "note",
        "timestamp": T0 + 1_000_000,
    }
    out.update(fields)
    return out


def execution(
    trace_id: str,
    *,
    agent: str = "planner",
    step: str = "plan",
    status: str = "success",
    start: int = T0,
    duration_ms: float = 5.0,
    llm_calls: int = 1,
    model: str = "gpt-4o",
    provider: str = "openai",
    attrs: dict[str, Any] | None = None,
    agent_id: str | None = None,
    **extra: Any,
) -> list[dict[str, Any]]:
    """A seed-002 execution log (an agent span) and its LLM calls."""
    aid = agent_id or uid("agent")
    end = start + int(duration_ms * 1e6)
    records = [
        span(
            id=aid,
            trace_id=trace_id,
            kind="agent",
            name=step,
            agent_name=agent,
            status=status,
            start_time=start,
            end_time=end,
            attributes={"execution_step": step, **(attrs or {})},
            input={"prompt": f"input of {trace_id}"},
            output={"result": f"output of {trace_id}"},
            **extra,
        )
    ]
    for i in range(llm_calls):
        records.append(
            span(
                trace_id=trace_id,
                parent_id=aid,
                kind="llm",
                name=f"chat {model}",
                agent_name=agent,
                provider=provider,
                model=model,
                input_tokens=1000,
                output_tokens=200,
                start_time=start + 1000 + i,
                end_time=start + 2_000_000 + i,
                input=[{"role": "user", "content": f"prompt {i}"}],
                output=f"response {i}",
                attributes={"call_type": "inference"},
            )
        )
    return records
