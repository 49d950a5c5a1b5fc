"""Every SQL query printed in seeds 002–004 runs unchanged against a tracehound database.

The records are written through the exporters (PostgreSQL, and SQLite for the parity
checks); the queries below are copied verbatim from the seeds. Seed 003's first query is a
template (``'{vault_id}'``): the placeholder is filled in, nothing else is touched. Seed 002
prints no query, only its tables: the ``execution_logs`` / ``llm_call_logs`` views must have
every column of them, and its example execution log must come back as printed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tracehound.model import Record
from tracehound.store import SQLiteExporter
from tracehound.store._engine import sqlite_path
from tracehound.store._postgres import PostgresExporter, libpq_url

from ._support import make_event, make_span

# -- the seeds' SQL, verbatim -------------------------------------------------------------------

SEED_002_EXECUTION_LOGS = """
CREATE TABLE execution_logs (
    id UUID PRIMARY KEY,
    execution_id VARCHAR NOT NULL,  -- Groups related logs
    agent_type VARCHAR NOT NULL,    -- planner, designer, answer, etc.
    execution_step VARCHAR NOT NULL, -- plan, execute, observe, etc.
    action_type VARCHAR,            -- create_widget, answer_question, etc.
    status VARCHAR DEFAULT 'started', -- started, completed, failed, cancelled
    start_time TIMESTAMP WITH TIME ZONE,
    end_time TIMESTAMP WITH TIME ZONE,
    duration_ms INTEGER,
    input_data JSON,               -- Sanitized input data
    output_data JSON,              -- Results and outputs
    error_message TEXT,
    metadata JSON,                 -- Additional context
    -- Foreign key relationships
    report_id UUID,
    completion_id UUID,
    widget_id UUID,
    step_id UUID,
    -- User context
    external_platform VARCHAR,
    external_user_id VARCHAR,
    created_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE
);
"""

SEED_002_LLM_CALL_LOGS = """
CREATE TABLE llm_call_logs (
    id UUID PRIMARY KEY,
    execution_log_id UUID,        -- Links to execution
    provider VARCHAR NOT NULL,     -- openai, anthropic, google, etc.
    model_id VARCHAR NOT NULL,     -- gpt-4, claude-3, etc.
    call_type VARCHAR DEFAULT 'inference', -- inference, inference_stream
    status VARCHAR DEFAULT 'started',
    start_time TIMESTAMP WITH TIME ZONE,
    end_time TIMESTAMP WITH TIME ZONE,
    duration_ms INTEGER,
    prompt TEXT,
    response TEXT,
    error_message TEXT,
    -- Token tracking
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_tokens INTEGER,
    -- Cost tracking
    input_cost FLOAT,
    output_cost FLOAT,
    total_cost FLOAT,
    -- Streaming support
    is_streaming BOOLEAN DEFAULT FALSE,
    chunks_count INTEGER,
    metadata JSON,
    -- Foreign keys
    report_id UUID,
    completion_id UUID,
    created_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE
);
"""

SEED_004_AGENT_ACTIONS = """
CREATE TABLE agent_actions (
    id UUID PRIMARY KEY,
    correlation_id UUID NOT NULL,
    agent_name TEXT NOT NULL,
    action_type TEXT NOT NULL CHECK (action_type IN ('tool_call', 'decision', 'error', 'success')),
    action_name TEXT NOT NULL,  -- Read, Write, select_agent, ImportError, etc.
    action_details JSONB DEFAULT '{}'::jsonb,  -- Full parameters and results
    duration_ms INTEGER,
    project_path TEXT,
    project_name TEXT,
    working_directory TEXT,
    debug_mode BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
"""

SEED_003_RECENT = """
SELECT
    agent_name,
    status,
    duration_ms,
    created_at
FROM agent_executions
WHERE vault_id = '{vault_id}'
ORDER BY created_at DESC
LIMIT 50;
"""

SEED_003_FAILED_BY_ERROR_TYPE = """
SELECT
    error_type,
    COUNT(*) as count,
    agent_name
FROM agent_executions
WHERE status = 'failed'
    AND created_at > NOW() - INTERVAL '24 hours'
GROUP BY error_type, agent_name
ORDER BY count DESC;
"""

SEED_003_AVERAGE_DURATION = """
SELECT
    agent_name,
    AVG(duration_ms) as avg_ms,
    COUNT(*) as executions
FROM agent_executions
WHERE status = 'success'
    AND created_at > NOW() - INTERVAL '24 hours'
GROUP BY agent_name
ORDER BY avg_ms DESC;
"""

SEED_004_TRACE = """
-- All actions for a specific execution
SELECT
    action_type, action_name, duration_ms,
    action_details, created_at
FROM agent_actions
WHERE correlation_id = 'abc-123'
ORDER BY created_at ASC;
"""

SEED_004_TOOL_STATS = """
SELECT
    action_name,
    COUNT(*) as call_count,
    AVG(duration_ms) as avg_duration_ms,
    MAX(duration_ms) as max_duration_ms
FROM agent_actions
WHERE action_type = 'tool_call'
GROUP BY action_name
ORDER BY call_count DESC;
"""

SEED_004_ERRORS = """
SELECT
    agent_name,
    action_name,
    action_details->>'error_message' as error_message,
    COUNT(*) as error_count
FROM agent_actions
WHERE action_type = 'error'
GROUP BY agent_name, action_name, error_message
ORDER BY error_count DESC;
"""

SEED_004_ACTIVITY = """
SELECT
    agent_name,
    COUNT(*) as total_actions,
    COUNT(*) FILTER (WHERE action_type = 'tool_call') as tool_calls,
    COUNT(*) FILTER (WHERE action_type = 'decision') as decisions,
    COUNT(*) FILTER (WHERE action_type = 'error') as errors,
    AVG(duration_ms) as avg_duration_ms
FROM agent_actions
GROUP BY agent_name
ORDER BY total_actions DESC;
"""

# -- the records ------------------------------------------------------------------------------

H = 3600 * 10**9
MS = 10**6
CONTEXT = {
    "project_name": "omniclaude",
    "project_path": "/work/omniclaude",
    "working_directory": "/work/omniclaude",
    "debug_mode": True,
}


def _agent(
    sid: str, agent: str, status: str, start: int, ms: float, vault: str, **kw: Any
) -> Record:
    return make_span(
        id=sid,
        trace_id=f"trace-{sid}",
        kind="agent",
        name="run",
        agent_name=agent,
        status=status,
        start_time=start,
        end_time=start + int(ms * MS),
        duration_ms=ms,
        attributes={"vault_id": vault, "method": "run"},
        **kw,
    )


def _tool(sid: str, corr: str, agent: str, name: str, start: int, ms: float, **kw: Any) -> Record:
    values: dict[str, Any] = {
        "id": sid,
        "trace_id": corr,
        "kind": "tool",
        "name": name,
        "agent_name": agent,
        "start_time": start,
        "end_time": start + int(ms * MS),
        "duration_ms": ms,
        "input": {"file_path": f"/work/{name.lower()}.py"},
        "output": {"success": True},
        "attributes": dict(CONTEXT),
    }
    values.update(kw)
    return make_span(**values)


def _action(
    eid: str, corr: str, agent: str, kind: str, name: str, at: int, details: Any, **kw: Any
) -> Record:
    data: dict[str, Any] = {"action_details": details, **CONTEXT}
    if "duration_ms" in kw:
        data["duration_ms"] = kw.pop("duration_ms")
    return make_event(
        id=eid,
        trace_id=corr,
        type=kind,
        name=name,
        agent_name=agent,
        timestamp=at,
        data=data,
        **kw,
    )


def seed_records(now: int) -> list[Record]:
    """Executions (seed 003), an execution with an LLM call (seed 002) and agent actions
    (seed 004), around ``now``."""
    d = 24 * H
    executions = [
        _agent("A1", "PsychologistAgent", "success", now - 1 * H, 1200, "vault-7"),
        _agent("A2", "PsychologistAgent", "failed", now - 2 * H, 300, "vault-7",
               error_type="ValueError", error_message="bad input"),
        _agent("A3", "PlotAgent", "success", now - H // 2, 800, "vault-7"),
        _agent("A4", "PlotAgent", "failed", now - 3 * H, 100, "vault-9",
               error_type="TimeoutError"),
        _agent("A8", "PlotAgent", "failed", now - 4 * H, 150, "vault-9",
               error_type="TimeoutError"),
        _agent("A5", "PlotAgent", "failed", now - 3 * d, 90, "vault-7",
               error_type="ValueError"),
        _agent("A6", "PsychologistAgent", "success", now - 2 * d, 5000, "vault-7"),
        _agent("A7", "CharacterAgent", "skipped", now - H // 6, 5, "vault-7"),
        # Not executions: stages and tools of an execution carry the vault too.
        make_span(id="A1-stage", trace_id="trace-A1", parent_id="A1", kind="stage",
                  name="INIT", status="failed", start_time=now - H, end_time=now - H + 5,
                  attributes={"vault_id": "vault-7"}),
    ]  # fmt: skip
    start = now - 10 * H
    seed002 = [
        make_span(
            id="550e8400-e29b-41d4-a716-446655440000",
            trace_id="exec_abc123_1704067200",
            kind="agent",
            name="plan",
            agent_name="planner",
            status="success",
            start_time=start,
            end_time=start + 5000 * MS,
            duration_ms=5000.0,
            input={"prompt": "Create a sales dashboard", "schemas": "..."},
            output={"plan": [{"action": "create_widget", "details": {}}]},
            attributes={
                "execution_step": "plan",
                "action_type": "generate_plan",
                "report_id": "report-456",
                "metadata": {"additional": "info"},
            },
        ),
        make_span(
            id="llm-1",
            trace_id="exec_abc123_1704067200",
            parent_id="550e8400-e29b-41d4-a716-446655440000",
            kind="llm",
            name="gpt-4",
            agent_name="planner",
            status="success",
            start_time=start + MS,
            end_time=start + 4000 * MS,
            duration_ms=3999.0,
            input="What is AI?",
            output="AI is …",
            provider="openai",
            model="gpt-4",
            input_tokens=1500,
            output_tokens=500,
            total_tokens=2000,
            total_cost=0.045,
            is_streaming=False,
            attributes={"call_type": "inference", "report_id": "report-456"},
        ),
    ]
    t = now - 5 * H
    actions = [
        _tool("T1", "abc-123", "agent-researcher", "Read", t + 1 * MS, 10),
        _action("D1", "abc-123", "agent-researcher", "decision", "select_agent", t + 20 * MS,
                {"decision_context": {"query": "q"}, "decision_result": {"agent": "coder"}},
                duration_ms=5),
        _tool("T2", "abc-123", "agent-researcher", "Read", t + 30 * MS, 20),
        _action("E1", "abc-123", "agent-researcher", "error", "ImportError", t + 60 * MS,
                {"error_type": "ImportError", "error_message": "No module named x",
                 "error_context": {}}, level="ERROR", message="No module named x"),
        _tool("T3", "abc-123", "agent-researcher", "Write", t + 70 * MS, 30,
              input={"file_path": "/work/out.py", "content_length": 2048},
              output={"success": True, "bytes_written": 2048}),
        _action("S1", "abc-123", "agent-researcher", "success", "task_completed", t + 120 * MS,
                {"files": 1}, duration_ms=118),
        # another correlation
        _tool("T4", "other-corr", "agent-coder", "Read", t + 200 * MS, 60),
        _tool("T5", "other-corr", "agent-coder", "Bash", t + 300 * MS, 100, status="failed",
              status_message="exit status 2", output=None),
        _action("E2", "other-corr", "agent-researcher", "error", "ImportError", t + 400 * MS,
                {"error_type": "ImportError", "error_message": "No module named x",
                 "error_context": {}}, level="ERROR"),
        make_event(id="E3", trace_id="other-corr", type="error", name="RuntimeError",
                   agent_name="agent-coder", timestamp=t + 500 * MS, level="ERROR",
                   message="boom", data={}),
        # not actions
        make_event(id="L1", trace_id="abc-123", type="log", name="note",
                   agent_name="agent-researcher", timestamp=t + 10 * MS),
    ]  # fmt: skip
    return [*executions, *seed002, *actions]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def loaded(pg_url: str) -> Iterator[tuple[str, int]]:
    """A PostgreSQL tracehound database holding :func:`seed_records`, written through the
    PostgreSQL exporter (in two batches, one delivered twice)."""
    now = time.time_ns()
    records = seed_records(now)
    exporter = PostgresExporter(pg_url)
    exporter.export(records[:9])
    exporter.export(records[9:])
    exporter.export(records[9:])  # delivered twice: stored once
    exporter.shutdown()
    yield pg_url, now


def _pg(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1000 / 1e6, tz=UTC)


# -- seed 002 ---------------------------------------------------------------------------------


def _seed_columns(create_table: str) -> list[str]:
    return [
        m.group(1)
        for m in re.finditer(r"^\s+(\w+) [A-Z]", create_table, re.MULTILINE)
        if m.group(1) not in ("CREATE",)
    ]


def _view_columns(url: str, view: str) -> list[str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(f"SELECT * FROM {view} LIMIT 0")
        return [c.name for c in cur.description or ()]


@pytest.mark.parametrize(
    ("view", "create_table"),
    [
        ("execution_logs", SEED_002_EXECUTION_LOGS),
        ("llm_call_logs", SEED_002_LLM_CALL_LOGS),
        ("agent_actions", SEED_004_AGENT_ACTIONS),
    ],
)
def test_views_have_every_seed_column_in_order(
    loaded: tuple[str, int], view: str, create_table: str
) -> None:
    url, _ = loaded
    seed = _seed_columns(create_table)
    assert len(seed) >= 12
    assert _view_columns(url, view)[: len(seed)] == seed


def test_seed_002_example_execution_log(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    (row,) = _pg(
        url,
        "SELECT execution_id, agent_type, execution_step, action_type, status, duration_ms,"
        " input_data, output_data, report_id, metadata, end_time - start_time"
        " FROM execution_logs WHERE execution_id = 'exec_abc123_1704067200'",
    )
    assert row[:6] == (
        "exec_abc123_1704067200",
        "planner",
        "plan",
        "generate_plan",
        "completed",
        5000,
    )
    assert row[6] == {"prompt": "Create a sales dashboard", "schemas": "..."}
    assert row[7] == {"plan": [{"action": "create_widget", "details": {}}]}
    assert row[8] == "report-456"
    assert row[9] == {"additional": "info"}
    assert row[10].total_seconds() == 5
    (call,) = _pg(
        url,
        "SELECT execution_log_id, provider, model_id, call_type, status, prompt, response,"
        " input_tokens, output_tokens, total_tokens, total_cost, is_streaming, report_id"
        " FROM llm_call_logs",
    )
    assert call == (
        "550e8400-e29b-41d4-a716-446655440000",
        "openai",
        "gpt-4",
        "inference",
        "completed",
        "What is AI?",
        "AI is …",
        1500,
        500,
        2000,
        0.045,
        False,
        "report-456",
    )


# -- seed 003 ---------------------------------------------------------------------------------


def test_seed_003_recent_executions_of_a_vault(loaded: tuple[str, int]) -> None:
    url, now = loaded
    rows = _pg(url, SEED_003_RECENT.replace("{vault_id}", "vault-7"))
    d = 24 * H
    assert rows == [
        ("CharacterAgent", "skipped", 5.0, _utc(now - H // 6)),
        ("PlotAgent", "success", 800.0, _utc(now - H // 2)),
        ("PsychologistAgent", "success", 1200.0, _utc(now - H)),
        ("PsychologistAgent", "failed", 300.0, _utc(now - 2 * H)),
        ("PsychologistAgent", "success", 5000.0, _utc(now - 2 * d)),
        ("PlotAgent", "failed", 90.0, _utc(now - 3 * d)),
    ]
    assert _pg(url, SEED_003_RECENT) == []  # the unfilled template matches nothing


def test_seed_003_failed_executions_by_error_type(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    assert _pg(url, SEED_003_FAILED_BY_ERROR_TYPE) == [
        ("TimeoutError", 2, "PlotAgent"),
        ("ValueError", 1, "PsychologistAgent"),
    ]


def test_seed_003_average_duration_by_agent(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    assert _pg(url, SEED_003_AVERAGE_DURATION) == [
        ("planner", 5000.0, 1),  # seed 002's execution is an agent execution too
        ("PsychologistAgent", 1200.0, 1),
        ("PlotAgent", 800.0, 1),
    ]


# -- seed 004 ---------------------------------------------------------------------------------


def test_seed_004_actions_of_one_execution(loaded: tuple[str, int]) -> None:
    url, now = loaded
    rows = _pg(url, SEED_004_TRACE)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("tool_call", "Read", 10),
        ("decision", "select_agent", 5),
        ("tool_call", "Read", 20),
        ("error", "ImportError", None),
        ("tool_call", "Write", 30),
        ("success", "task_completed", 118),
    ]
    t = now - 5 * H
    assert [r[4] for r in rows] == [_utc(t + ms * MS) for ms in (1, 20, 30, 60, 70, 120)]
    write = rows[4][3]
    assert write["tool_parameters"] == {"file_path": "/work/out.py", "content_length": 2048}
    assert write["tool_result"] == {"success": True, "bytes_written": 2048}
    assert rows[1][3] == {
        "decision_context": {"query": "q"},
        "decision_result": {"agent": "coder"},
    }
    assert rows[3][3]["error_message"] == "No module named x"


def test_seed_004_tool_call_statistics(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    rows = _pg(url, SEED_004_TOOL_STATS)
    assert rows[0] == ("Read", 3, Decimal(30), 60)
    assert sorted(rows[1:]) == [("Bash", 1, Decimal(100), 100), ("Write", 1, Decimal(30), 30)]


def test_seed_004_error_analysis(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    rows = _pg(url, SEED_004_ERRORS)
    assert rows[0] == ("agent-researcher", "ImportError", "No module named x", 2)
    assert rows[1:] == [("agent-coder", "RuntimeError", "boom", 1)]


def test_seed_004_agent_activity_summary(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    rows = _pg(url, SEED_004_ACTIVITY)
    assert [r[:5] for r in rows] == [
        ("agent-researcher", 7, 3, 1, 2),
        ("agent-coder", 3, 2, 0, 1),
    ]
    # researcher: durations 10, 5, 20, 30, 118 (errors have none); coder: 60, 100
    assert rows[0][5] == Decimal(183) / 5
    assert rows[1][5] == Decimal(80)


def test_agent_actions_context_columns(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    rows = _pg(
        url,
        "SELECT DISTINCT project_name, project_path, working_directory, debug_mode"
        " FROM agent_actions WHERE correlation_id = 'abc-123'",
    )
    assert rows == [("omniclaude", "/work/omniclaude", "/work/omniclaude", True)]
    (bash,) = _pg(url, "SELECT action_details FROM agent_actions WHERE action_name = 'Bash'")
    assert bash[0]["error_message"] == "exit status 2"
    assert bash[0]["status"] == "failed"


def test_correlation_lookup_uses_the_trace_id_indexes(loaded: tuple[str, int]) -> None:
    url, _ = loaded
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + SEED_004_TRACE.split("\n", 2)[2]))
    # Every partition is probed through its trace_id index (no sequential scan).
    assert re.search(r"Index Scan using spans\w*trace_id\w* on", plan), plan
    assert re.search(r"Index Scan using events\w*trace_id\w* on", plan), plan
    assert "Seq Scan" not in plan, plan


# -- the same views on SQLite -----------------------------------------------------------------

PORTABLE = {
    "seed_003_recent": SEED_003_RECENT.replace("{vault_id}", "vault-7"),
    "seed_004_trace": SEED_004_TRACE,
    "seed_004_tool_stats": SEED_004_TOOL_STATS,
    "seed_004_errors": SEED_004_ERRORS,
    "seed_004_activity": SEED_004_ACTIVITY,
}


def _normalize(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value[:1] in "{[":
        import json

        return json.loads(value)
    return value


@pytest.mark.parametrize("name", sorted(PORTABLE))
def test_sqlite_views_answer_like_postgresql(
    loaded: tuple[str, int], sqlite_url: str, name: str
) -> None:
    import sqlite3

    url, now = loaded
    exporter = SQLiteExporter(sqlite_url)
    exporter.export(seed_records(now))
    exporter.shutdown()
    path = sqlite_path(sqlite_url)
    assert path is not None
    with sqlite3.connect(path) as conn:
        lite = conn.execute(PORTABLE[name]).fetchall()
        for view in ("execution_logs", "llm_call_logs", "agent_executions", "agent_actions"):
            cur = conn.execute(f"SELECT * FROM {view} LIMIT 0")
            assert [c[0] for c in cur.description] == _view_columns(url, view), view
    pg = _pg(url, PORTABLE[name])

    def norm(rows: list[Any]) -> list[Any]:
        out = [[_normalize(v) for v in row] for row in rows]
        return sorted(out, key=repr) if "ORDER BY call_count" in PORTABLE[name] else out

    assert norm(lite) == norm(pg)
