"""Seed 004 (agent action logging through a broker): every Python example, verbatim except
for the import line (``from tracehound import …``), and the seed's SQL queries over the
``agent_actions`` view.

End to end: ``ActionLogger`` → the SDK with the ``nats`` exporter → a private NATS JetStream →
the consumer service → a private PostgreSQL → the seed's queries. Stand-ins define what the
seed leaves undefined (``read_file``, ``correlation_id``).
"""

# fmt: off
# (the seed's examples are kept verbatim, in the seed's own formatting)
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.broker import Consumer, ConsumerConfig
from tracehound.testing import InMemoryExporter

from ..broker._services import NatsServer
from ..broker.conftest import nats_server, pg_server, pg_url  # noqa: F401 - fixtures

# -- stand-ins for names the seed's examples leave undefined ------------------------------
correlation_id = str(uuid.uuid4())


async def read_file(path: str) -> str:
    await asyncio.sleep(0.005)
    return "line 1\nline 2\nline 3\n"


# -- the broker path -----------------------------------------------------------------------


@pytest.fixture
async def broker_to_postgres(
    nats_server: NatsServer, pg_url: str, tmp_path: Path  # noqa: F811
) -> AsyncIterator[tuple[str, InMemoryExporter]]:
    """Agents publish to JetStream (the nats exporter); a consumer writes into PostgreSQL.
    Yields the database URL and an in-memory copy of everything the SDK emitted (the ledger)."""
    ledger = InMemoryExporter()
    tracehound.configure(
        trace_dir=tmp_path,
        exporters=("nats",),
        nats_url=nats_server.url,
        extra_exporters=(ledger,),
        flush_interval=0.05,
    )
    consumer = Consumer(
        ConsumerConfig(store_url=pg_url, nats_url=nats_server.url, port=None, batch_timeout=0.1)
    )
    task = asyncio.create_task(consumer.run())
    yield pg_url, ledger
    consumer.stop()
    await asyncio.wait_for(task, 20)


async def _stored(url: str, ledger: InMemoryExporter, timeout: float = 30) -> None:
    """Wait until every record the SDK emitted is a row of ``agent_actions``."""
    import psycopg

    assert await asyncio.to_thread(tracehound.flush, 10)
    want = {r.id for r in ledger.records}
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(url) as conn:
            try:
                have = {r[0] for r in conn.execute("SELECT id FROM agent_actions")}
            except psycopg.errors.UndefinedTable:
                have = set()
        if want <= have:
            return
        assert time.monotonic() < deadline, f"{len(want - have)} actions not stored"
        await asyncio.sleep(0.1)


def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql))


# -- the seed's examples -------------------------------------------------------------------


async def pattern_1_context_manager() -> None:
    from tracehound import ActionLogger

    logger = ActionLogger(
        agent_name="agent-researcher",
        correlation_id=correlation_id,
        project_name="omniclaude"
    )

    # Automatic timing and error handling
    async with logger.tool_call("Read", {"file_path": "..."}) as action:
        result = await read_file("...")
        action.set_result({"line_count": len(result)})


async def pattern_2_manual_logging(logger: Any) -> None:
    await logger.log_tool_call(
        tool_name="Write",
        tool_parameters={"file_path": "...", "content_length": 2048},
        tool_result={"success": True, "bytes_written": 2048},
        duration_ms=30
    )


async def pattern_3_one_off_action() -> None:
    from tracehound import log_action

    await log_action(
        agent_name="agent-quick-task",
        action_type="tool_call",
        action_name="Grep",
        action_details={"pattern": "TODO", "matches": 42},
        correlation_id=correlation_id
    )


async def graceful_degradation_example(logger: Any) -> None:
    success = await logger.log_tool_call(...)
    if not success:
        logger.warning("Action logging unavailable, but agent continues")


# -- tests ---------------------------------------------------------------------------------


async def test_seed_patterns_end_to_end_and_the_seed_queries(
    broker_to_postgres: tuple[str, InMemoryExporter],
) -> None:
    url, ledger = broker_to_postgres
    from tracehound import ActionLogger

    await pattern_1_context_manager()
    logger = ActionLogger(agent_name="agent-researcher", correlation_id=correlation_id,
                          project_name="omniclaude")
    await pattern_2_manual_logging(logger)
    await pattern_3_one_off_action()
    await graceful_degradation_example(logger)
    router = ActionLogger("agent-router", correlation_id=correlation_id)
    assert await router.log_decision("select_agent", {"candidates": ["a", "b"]},
                                     {"selected_agent": "agent-debugger"}, duration_ms=12)
    assert await router.log_error("ImportError", "Module 'foo' not found", {"line": 15})
    assert await router.log_error("ImportError", "Module 'foo' not found", {"line": 16})
    assert await router.log_success("task_completed", {"files": 3}, duration_ms=1500)
    with pytest.raises(RuntimeError):
        async with logger.tool_call("Bash", {"command": "false"}):
            raise RuntimeError("exit status 1")
    await _stored(url, ledger)

    # Trace Agent Execution (the seed's 'abc-123' is this test's correlation id)
    rows = _query(url, f"""
SELECT
    action_type, action_name, duration_ms,
    action_details, created_at
FROM agent_actions
WHERE correlation_id = '{correlation_id}'
ORDER BY created_at ASC;
""")
    assert len(rows) == 9
    # (created_at is the start: the Write logged with duration_ms=30 started 30 ms earlier)
    assert sorted(r[1] for r in rows[:4]) == ["Ellipsis", "Grep", "Read", "Write"]
    by_name = {r[1]: r for r in rows}
    read = by_name["Read"]
    assert read[0] == "tool_call" and read[3]["tool_result"] == {"line_count": 21}
    assert read[3]["tool_parameters"] == {"file_path": "..."}
    write = by_name["Write"]
    assert write[2] == 30 and write[3]["tool_result"]["bytes_written"] == 2048
    assert by_name["Grep"][3]["tool_parameters"] == {"pattern": "TODO", "matches": 42}
    assert by_name["Bash"][3]["status"] == "failed"
    assert by_name["Bash"][3]["error_message"] == "exit status 1"
    assert {r[0] for r in rows} == {"tool_call", "decision", "error", "success"}

    # Tool Call Statistics
    stats = {r[0]: r for r in _query(url, """
SELECT
    action_name,
    COUNT(*) as call_count,
    AVG(duration_ms) as avg_duration_ms,
    MAX(duration_ms) as max_duration_ms
FROM agent_actions
WHERE action_type = 'tool_call'
GROUP BY action_name
ORDER BY call_count DESC;
""")}
    assert set(stats) == {"Read", "Write", "Grep", "Ellipsis", "Bash"}
    assert stats["Write"][1] == 1 and stats["Write"][3] == 30
    assert stats["Read"][3] >= 5

    # Error Analysis
    errors = _query(url, """
SELECT
    agent_name,
    action_name,
    action_details->>'error_message' as error_message,
    COUNT(*) as error_count
FROM agent_actions
WHERE action_type = 'error'
GROUP BY agent_name, action_name, error_message
ORDER BY error_count DESC;
""")
    assert errors == [("agent-router", "ImportError", "Module 'foo' not found", 2)]

    # Agent Activity Summary
    summary = {r[0]: r for r in _query(url, """
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
""")}
    assert summary["agent-researcher"][1:5] == (4, 4, 0, 0)
    assert summary["agent-router"][1:5] == (4, 0, 1, 2)
    assert summary["agent-quick-task"][1:3] == (1, 1)

    # the context columns
    ctx = _query(url, f"""
SELECT project_name, working_directory, debug_mode FROM agent_actions
WHERE correlation_id = '{correlation_id}' AND action_name = 'Read'""")
    assert ctx[0][0] == "omniclaude" and ctx[0][1] and ctx[0][2] is True


async def test_graceful_degradation_with_the_broker_down(tmp_path: Path) -> None:
    """The broker is unreachable: the calls still return True (the record is queued; the
    pipeline spools it for later) and the agent continues."""
    from tracehound import ActionLogger
    tracehound.configure(trace_dir=tmp_path, exporters=("nats",),
                         nats_url="nats://127.0.0.1:9", flush_interval=0.05, export_retries=0)
    logger = ActionLogger(agent_name="agent-researcher", correlation_id=correlation_id,
                          project_name="omniclaude")
    await graceful_degradation_example(logger)
    await pattern_2_manual_logging(logger)
    assert await asyncio.to_thread(tracehound.flush, 10)
    st = tracehound.stats()["exporters"]["nats"]
    assert st["spooled"] == 2 and st["exported"] == 0
