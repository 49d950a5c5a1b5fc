"""The simulated writing studio: conventions of what it records, determinism, real sinks."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.demo import DemoSummary, run_demo
from tracehound.model import EVENT_TYPES, LEVELS, SPAN_STATUSES, Event, Span
from tracehound.testing import InMemoryExporter, configure_for_tests

STAGES = (
    "INIT",
    "SHOULD_RESPOND",
    "PRE_PROCESS",
    "LLM_PREPARE",
    "LLM_CALL",
    "LLM_PARSE",
    "POST_PROCESS",
    "COMPLETE",
)
SPECIALISTS = {
    "ResearcherAgent",
    "WriterAgent",
    "CriticAgent",
    "PsychologistAgent",
    "CoderAgent",
    "PublisherAgent",
}
PROVIDERS = {"openai", "anthropic", "google", "custom"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, InMemoryExporter]:
    """One 16-conversation run (seed 7) into memory, shared by the convention tests."""
    tracehound.shutdown(timeout=0)
    memory = configure_for_tests(tmp_path_factory.mktemp("demo"))
    summary = run_demo(conversations=16, seed=7, speed=2000.0)
    assert tracehound.flush(timeout=10)
    tracehound.shutdown(timeout=1)
    from tracehound.sdk import _runtime

    _runtime._pending_settings[0] = None
    return summary, memory


def _by_trace(spans: list[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for sp in sorted(spans, key=lambda s: s.id):
        out.setdefault(sp.trace_id, []).append(sp)
    return out


def test_summary_counts_match_what_was_exported(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    summary, memory = recorded
    assert summary.conversations == summary.traces == 16
    assert summary.spans == len(memory.spans)
    assert summary.events == len(memory.events)
    assert summary.metrics == len(memory.metrics)
    assert summary.llm_calls == sum(1 for s in memory.spans if s.kind == "llm")
    assert summary.tool_calls == sum(1 for s in memory.spans if s.kind == "tool")
    assert summary.input_tokens == sum(
        s.input_tokens or 0 for s in memory.spans if s.kind == "llm" and s.status == "success"
    )
    assert summary.session_id == memory.spans[0].session_id
    assert set(summary.trace_ids.values()) == {s.trace_id for s in memory.spans}
    assert summary.failures > 0 and summary.failed_traces


def test_every_conversation_is_one_trace_rooted_at_the_planner(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    summary, memory = recorded
    traces = _by_trace(memory.spans)
    assert len(traces) == 16
    conversations = set()
    for spans in traces.values():
        roots = [s for s in spans if s.parent_id is None]
        assert len(roots) == 1
        root = roots[0]
        assert (root.kind, root.name, root.agent_name) == ("agent", "planner", "planner")
        assert root.status == "success"
        assert root.conversation_id and root.conversation_id.startswith("conv-")
        assert root.attributes["vault_id"].startswith("vault-")
        assert root.attributes["execution_step"] == "plan"
        assert root.attributes["action_type"] == "route_query"
        assert root.attributes["outcome"] in ("completed", "partial")
        conversations.add(root.conversation_id)
        # conversation and user are inherited by every span of the trace
        assert {s.conversation_id for s in spans} == {root.conversation_id}
        assert {s.user_id for s in spans} == {root.user_id}
        # every specialist is evaluated in every conversation
        agents = [s for s in spans if s.kind == "agent" and s.parent_id == root.id]
        assert {s.agent_name for s in agents} == SPECIALISTS
    assert conversations == {f"conv-{i:03d}" for i in range(1, 17)}
    assert set(summary.trace_ids) == conversations


def test_kinds_statuses_and_stages_follow_the_data_model(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    _, memory = recorded
    kinds = Counter(s.kind for s in memory.spans)
    assert set(kinds) == {"agent", "stage", "llm", "tool", "operation"}
    assert {s.status for s in memory.spans} <= set(SPAN_STATUSES)
    statuses = Counter(s.status for s in memory.spans if s.kind == "agent")
    assert statuses["success"] and statuses["skipped"] and statuses["failed"]
    by_id = {s.id: s for s in memory.spans}
    for sp in memory.spans:
        if sp.kind == "stage":
            assert sp.name in STAGES
            assert by_id[sp.parent_id].kind == "agent"  # type: ignore[index]
        if sp.kind == "agent" and sp.agent_name in SPECIALISTS:
            assert sp.name.startswith(f"{sp.agent_name}.")
            assert sp.attributes["method"] and sp.attributes["call_reason"]
            assert sp.agent_id and sp.agent_role
            stages = [c.name for c in memory.spans if c.parent_id == sp.id and c.kind == "stage"]
            assert stages == sorted(stages, key=STAGES.index)
            if sp.status == "success":
                assert stages == list(STAGES)
                assert sp.attributes["execution_status"] == "SUCCESS"
                assert sp.attributes["current_stage"] == "COMPLETE"


def test_skipped_agents_carry_the_relevance_check(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    _, memory = recorded
    skipped = [s for s in memory.spans if s.kind == "agent" and s.status == "skipped"]
    assert len(skipped) >= 16
    for sp in skipped:
        attrs = sp.attributes
        assert attrs["should_respond"] is False
        assert 0 <= attrs["relevance_score"] < 0.5
        reason = attrs["relevance_reasoning"]
        assert isinstance(reason, str) and len(reason.split()) >= 5
        assert sp.status_message == reason
        assert attrs["execution_status"] == "SKIPPED"
        assert attrs["current_stage"] == "SHOULD_RESPOND"
    ran = [
        s
        for s in memory.spans
        if s.kind == "agent" and s.agent_name in SPECIALISTS and s.status != "skipped"
    ]
    assert all(s.attributes["should_respond"] is True for s in ran)
    assert all(s.attributes["relevance_score"] >= 0.5 for s in ran)


def test_failures_are_real_exceptions_with_tracebacks(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    summary, memory = recorded
    failed_agents = [
        s for s in memory.spans if s.kind == "agent" and s.status in ("failed", "timeout")
    ]
    assert failed_agents
    for sp in failed_agents:
        assert sp.error_type and sp.error_message
        assert sp.error_traceback and sp.error_traceback.startswith(
            "Traceback (most recent call last)"
        )
        assert sp.attributes["execution_status"] in ("FAILED", "TIMEOUT")
        assert sp.status_message and sp.error_type.rsplit(".", 1)[-1] in sp.status_message
        # an error event is attached to the failing agent span
        assert any(
            e.type == "error" and e.span_id == sp.id and e.level == "ERROR" for e in memory.events
        )
    counted = Counter(
        (s.agent_name, s.error_type.rsplit(".", 1)[-1])  # type: ignore[union-attr]
        for s in failed_agents
    )
    assert counted == Counter(
        {(a, t): n for a, by_type in summary.failures_by_agent.items() for t, n in by_type.items()}
    )
    # the publisher is the agent that fails most, and mostly for one reason
    worst = max(summary.failures_by_agent, key=lambda a: sum(summary.failures_by_agent[a].values()))
    assert worst == "PublisherAgent"
    assert "PlatformRateLimitError" in summary.failures_by_agent["PublisherAgent"]


def test_llm_spans_fill_the_llm_columns(recorded: tuple[DemoSummary, InMemoryExporter]) -> None:
    _, memory = recorded
    llm = [s for s in memory.spans if s.kind == "llm"]
    assert llm
    for sp in llm:
        assert sp.model and sp.name == f"chat {sp.model}"
        assert sp.provider in PROVIDERS
        assert sp.attributes["call_type"] in ("inference", "inference_stream")
        assert isinstance(sp.input, list) and sp.input[0]["role"] == "system"
        assert sp.input_tokens and sp.input_tokens > 0
        assert sp.attributes["attempt"] >= 1
        if sp.status == "success":
            assert sp.output_tokens and sp.output_tokens > 0
            assert sp.total_tokens == sp.input_tokens + sp.output_tokens
            assert isinstance(sp.output, str) and sp.output
            assert sp.attributes["simulated_latency_ms"] > 0
        else:
            assert sp.status == "failed" and sp.error_traceback
    models = {s.model for s in llm}
    assert {"gpt-4o-mini", "studio-local-7b", "claude-3-5-haiku-20241022"} <= models
    streamed = [s for s in llm if s.is_streaming and s.status == "success"]
    assert streamed
    for sp in streamed:
        assert sp.chunks_count and sp.chunks_count > 0
        assert sp.time_to_first_token_ms and sp.time_to_first_token_ms > 0
        assert sp.attributes["call_type"] == "inference_stream"
    custom = [s for s in llm if s.provider == "custom" and s.status == "success"]
    assert custom and all(s.total_cost is None for s in custom)
    # retried calls: a failed attempt is followed by attempt 2 under the same parent
    retried = [s for s in llm if s.attributes["attempt"] > 1]
    for sp in retried:
        siblings = [s for s in llm if s.parent_id == sp.parent_id and s.model == sp.model]
        assert any(
            s.status == "failed" and s.attributes["attempt"] == sp.attributes["attempt"] - 1
            for s in siblings
        )


def test_tool_spans_follow_seed_004(recorded: tuple[DemoSummary, InMemoryExporter]) -> None:
    _, memory = recorded
    tools = [s for s in memory.spans if s.kind == "tool"]
    names = {s.name for s in tools}
    assert {"read_file", "publish_post", "write_file"} <= names
    for sp in tools:
        assert sp.attributes["tool_name"] == sp.name
        assert sp.attributes["project_name"] == "writing-studio"
        assert sp.attributes["working_directory"].startswith("/srv/studio/vaults/")
        assert isinstance(sp.input, dict)  # tool_parameters
        if sp.status == "success":
            assert isinstance(sp.output, dict)  # tool_result
        else:
            assert sp.error_type and sp.error_traceback
    assert any(s.status == "failed" for s in tools)


def test_events_cover_every_signal(recorded: tuple[DemoSummary, InMemoryExporter]) -> None:
    summary, memory = recorded
    events = memory.events
    assert {e.type for e in events} <= set(EVENT_TYPES)
    assert {e.level for e in events} <= set(LEVELS)
    types = Counter(e.type for e in events)
    for kind in (
        "decision",
        "action",
        "error",
        "success",
        "learning.reward",
        "learning.explore",
        "learning.step",
        "interaction",
        "state_change",
        "system",
        "milestone",
    ):
        assert types[kind] > 0, kind
    assert types == Counter(summary.event_types)
    assert all(e.message for e in events)

    def of(type_: str) -> list[Event]:
        return [e for e in events if e.type == type_]

    for e in of("learning.reward"):
        assert {"reward", "cumulative_reward"} <= e.data.keys() and e.agent_name in SPECIALISTS
    for e in of("learning.explore"):
        assert isinstance(e.data["exploration"], bool) and 0 < e.data["epsilon"] <= 1
    for e in of("learning.step"):
        assert {"step", "loss", "accuracy"} <= e.data.keys()
    route = [e for e in of("decision") if e.name == "route"]
    assert len(route) == 16 and all(e.agent_name == "planner" for e in route)
    system = {e.name for e in of("system")}
    assert {"initialization", "configuration", "module_loading"} <= system
    assert all(e.trace_id is None for e in of("system"))
    milestones = {e.name for e in of("milestone")}
    assert {"simulation_start", "simulation_end", "checkpoint", "phase_transition"} <= milestones
    interactions = of("interaction")
    kinds = {e.data["interaction_type"] for e in interactions}
    assert "collaboration" in kinds
    if summary.posts_published:
        assert {"like", "share"} <= kinds
        for e in interactions:
            if e.data["interaction_type"] in ("share", "reshare"):
                assert e.data["parent_content_id"] and e.data["depth"] >= 1
                assert e.data["cascade_root"]
    collab = [e for e in interactions if e.name == "collaboration"]
    assert all(e.data["from_agent"] == e.agent_name for e in collab)


def test_metrics_include_latency_throughput_and_process(
    recorded: tuple[DemoSummary, InMemoryExporter],
) -> None:
    _, memory = recorded
    names = {m.name for m in memory.metrics}
    assert {
        "llm.latency_ms",
        "tool.latency_ms",
        "agent.duration_ms",
        "throughput.conversations_per_s",
        "process.cpu_percent",
        "process.memory_rss_mb",
    } <= names
    rss = [m.value for m in memory.metrics if m.name == "process.memory_rss_mb"]
    assert rss and all(v > 1 for v in rss)


def _structure(memory: InMemoryExporter) -> list[tuple[Any, ...]]:
    spans = sorted(memory.spans, key=lambda s: s.id)
    conv = {s.trace_id: s.conversation_id for s in spans if s.parent_id is None}
    return [
        (
            conv[s.trace_id],
            s.kind,
            s.name,
            s.status,
            s.agent_name,
            s.model,
            s.input_tokens,
            s.output_tokens,
            s.error_type,
        )
        for s in spans
    ]


def _run(
    tmp_path: Path, seed: int
) -> tuple[DemoSummary, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    memory = configure_for_tests(tmp_path / f"run-{seed}-{len(list(tmp_path.iterdir()))}")
    summary = run_demo(conversations=6, seed=seed, speed=2000.0)
    assert tracehound.flush(timeout=10)
    events = sorted(
        (e.type, e.name, e.level, e.agent_name, json.dumps(e.data.get("reward")))
        for e in memory.events
    )
    tracehound.shutdown(timeout=1)
    return summary, _structure(memory), events


def test_same_seed_same_structure(tmp_path: Path) -> None:
    first, spans1, events1 = _run(tmp_path, 11)
    second, spans2, events2 = _run(tmp_path, 11)
    assert spans1 == spans2
    assert events1 == events2
    assert first.failures_by_agent == second.failures_by_agent
    assert (first.spans, first.events, first.input_tokens, first.output_tokens) == (
        second.spans,
        second.events,
        second.input_tokens,
        second.output_tokens,
    )
    assert set(first.trace_ids) == set(second.trace_ids)
    assert set(first.trace_ids.values()).isdisjoint(second.trace_ids.values())
    _, other, _ = _run(tmp_path, 12)
    assert other != spans1


def test_progress_callback_and_bad_arguments(memory: InMemoryExporter) -> None:
    calls: list[tuple[int, int]] = []
    run_demo(conversations=3, seed=1, speed=2000.0, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(ValueError):
        run_demo(conversations=-1)
    with pytest.raises(ValueError):
        run_demo(conversations=1, speed=0)


def test_demo_is_a_noop_when_tracing_is_disabled(tmp_path: Path) -> None:
    tracehound.configure(enabled=False, trace_dir=tmp_path / "trace")
    summary = run_demo(conversations=2, seed=3, speed=2000.0)
    assert summary.traces == 2
    assert not (tmp_path / "trace").exists()


def test_real_sinks_get_the_seed_000_tree_and_the_database(tmp_path: Path) -> None:
    trace_dir = tmp_path / "trace"
    tracehound.configure(trace_dir=trace_dir)
    summary = run_demo(conversations=10, seed=7, speed=2000.0)
    tracehound.shutdown()

    for category in (
        "agents",
        "learning",
        "interactions",
        "performance",
        "system",
        "errors",
        "events",
    ):
        files = list((trace_dir / category).glob("*.log"))
        assert files and any(f.stat().st_size for f in files), category
    session_dir = trace_dir / f"session_{summary.session_id}"
    agent_logs = {p.stem for p in (session_dir / "agents").glob("*.log")}
    assert {"planner", "WriterAgent", "PublisherAgent"} <= agent_logs
    assert (session_dir / "trace_summary.json").is_file()
    json.loads((session_dir / "trace_summary.json").read_text())
    assert "Traceback (most recent call last)" in (trace_dir / "errors" / "errors.txt").read_text()

    db = sqlite3.connect(trace_dir / "tracehound.db")
    try:
        assert db.execute("select count(*) from spans").fetchone()[0] == summary.spans
        assert db.execute("select count(*) from events").fetchone()[0] == summary.events
        kinds = {k for (k,) in db.execute("select distinct kind from spans")}
        assert kinds == {"agent", "stage", "llm", "tool", "operation"}
        skipped = db.execute(
            "select attributes, status_message from spans where kind='agent' and status='skipped'"
        ).fetchall()
        assert skipped
        for attrs, message in skipped:
            parsed = json.loads(attrs)
            assert parsed["relevance_score"] < 0.5 and parsed["relevance_reasoning"] == message
        failed = db.execute(
            "select agent_name, error_type, error_traceback from spans "
            "where kind='agent' and status in ('failed', 'timeout')"
        ).fetchall()
        assert failed and all(tb and "Traceback" in tb for _, _, tb in failed)
        llm = db.execute(
            "select model, input_tokens, output_tokens, total_tokens from spans "
            "where kind='llm' and status='success'"
        ).fetchall()
        assert llm and all(i > 0 and o > 0 and t == i + o for _, i, o, t in llm)
        (sid,) = db.execute("select id from sessions").fetchone()
        assert sid == summary.session_id
    finally:
        db.close()
