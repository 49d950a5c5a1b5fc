"""Record factories and a plain SQLAlchemy writer for the store tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracehound.model import Event, Metric, Record, Span, new_id


def insert_records(url: str, records: Sequence[Record]) -> None:
    """Insert records with SQLAlchemy Core (no idempotency rules; for reader tests)."""
    from sqlalchemy import func

    from tracehound.store import events, make_engine, metrics, sessions, spans

    tables = {Span: spans, Event: events, Metric: metrics}
    bounds: dict[str, list[Any]] = {}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for record in records:
                conn.execute(tables[type(record)].insert().values(**record._asdict()))
                lo = getattr(record, "start_time", None) or record.timestamp  # type: ignore[union-attr]
                hi = getattr(record, "end_time", None) or lo
                seen = bounds.setdefault(record.session_id, [record.project, lo, hi])
                seen[1], seen[2] = min(seen[1], lo), max(seen[2], hi)
            for sid, (project, lo, hi) in bounds.items():
                found = conn.execute(
                    sessions.select().where(sessions.c.id == sid).with_only_columns(func.count())
                ).scalar_one()
                if not found:
                    conn.execute(
                        sessions.insert().values(
                            id=sid, project=project, started_at=lo, last_seen_at=hi
                        )
                    )
    finally:
        engine.dispose()


# -- record factories -----------------------------------------------------------------------

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z, in ns


def make_span(**fields: Any) -> Span:
    values: dict[str, Any] = {
        "id": new_id(),
        "trace_id": "trace-1",
        "parent_id": None,
        "session_id": "session-1",
        "project": "default",
        "kind": "task",
        "name": "work",
        "status": "success",
        "start_time": T0,
        "end_time": T0 + 1_500_000,
        "duration_ms": 1.5,
    }
    values.update(fields)
    return Span(**values)


def make_event(**fields: Any) -> Event:
    values: dict[str, Any] = {
        "id": new_id(),
        "trace_id": "trace-1",
        "span_id": None,
        "session_id": "session-1",
        "project": "default",
        "timestamp": T0 + 500_000,
        "type": "log",
        "name": "note",
    }
    values.update(fields)
    return Event(**values)


def make_metric(**fields: Any) -> Metric:
    values: dict[str, Any] = {
        "id": new_id(),
        "session_id": "session-1",
        "project": "default",
        "timestamp": T0 + 700_000,
        "name": "latency",
        "value": 12.5,
    }
    values.update(fields)
    return Metric(**values)


def rich_records() -> list[Record]:
    llm = make_span(
        id="llm-1",
        trace_id="exec_abc123_1704067200",
        parent_id="agent-1",
        kind="llm",
        name="chat gpt-4o ✨",
        start_time=T0 + 1_000,
        end_time=T0 + 2_501_000,
        duration_ms=2.5,
        agent_name="PsychologistAgent",
        agent_role="assistant",
        agent_id="creator_001",
        conversation_id="conv-1",
        user_id="user-ü",
        status_message="ok",
        input=[
            {"role": "system", "content": "Tu es prudent. 日本語 🚀"},
            {"role": "user", "content": "x" * 5000},
        ],
        output="réponse — “quoted” \u200b zero-width, עברית",
        attributes={
            "call_type": "inference_stream",
            "nested": {"list": [1, 2.5, None, True, {"deep": ["a"]}], "empty": {}},
            "unicode_ключ": "значение",
        },
        provider="openai",
        model="gpt-4o",
        input_tokens=812,
        output_tokens=143,
        cached_tokens=0,
        reasoning_tokens=12,
        total_tokens=955,
        input_cost=0.00203,
        output_cost=0.00143,
        total_cost=0.00346,
        cost_source="genai-prices",
        is_streaming=True,
        chunks_count=37,
        time_to_first_token_ms=212.5,
    )
    agent = make_span(
        id="agent-1",
        trace_id="exec_abc123_1704067200",
        kind="agent",
        name="PsychologistAgent",
        status="failed",
        input=42,
        output=None,
        error_type="ValueError",
        error_message="bad input",
        error_traceback='Traceback (most recent call last):\n  File "x.py", line 1\nValueError',
        is_streaming=False,
    )
    running = make_span(id="run-1", status="running", end_time=None, duration_ms=None)
    scalar_inputs = [
        make_span(id=f"in-{i}", input=value, output=value)
        for i, value in enumerate(["text", 3.25, False, [], "", 0])
    ]
    event = make_event(
        id="ev-1",
        trace_id="exec_abc123_1704067200",
        span_id="agent-1",
        type="decision",
        name="route",
        level="WARNING",
        agent_name="planner",
        agent_role="router",
        agent_id="r-1",
        message="chose researcher 🧭",
        data={"target": "researcher", "scores": [0.1, 0.9]},
    )
    bare_event = make_event(id="ev-2", trace_id=None, data={})
    metric = make_metric(
        id="m-1",
        unit="ms",
        tags={"route": "/chat", "ok": True},
        trace_id="exec_abc123_1704067200",
        span_id="llm-1",
        agent_name="planner",
        value=-0.125,
    )
    bare_metric = make_metric(id="m-2")
    return [llm, agent, running, *scalar_inputs, event, bare_event, metric, bare_metric]
