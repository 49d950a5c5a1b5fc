"""``generate_stats`` and ``analyze_patterns`` against what the records say."""

from __future__ import annotations

import statistics
from datetime import timedelta
from pathlib import Path

import pytest

from tracehound.model import Event, Span
from tracehound.monitoring import Analytics

from ._support import END_NS, NOW, write_sqlite


def test_stats_match_the_records(faulty_url: str, faulty_records: list[Span]) -> None:
    lo = END_NS - 24 * 3600 * 10**9
    recent = [s for s in faulty_records if lo <= s.start_time < END_NS]
    with Analytics(faulty_url, flush=False) as an:
        report = an.stats("24h", now=NOW)
    assert report["window"]["end"] == "2026-03-10T15:30:00Z"
    for name in ("writer", "critic", "planner"):
        runs = [s for s in recent if s.kind == "agent" and s.agent_name == name]
        done = [s for s in runs if s.status != "skipped"]
        failed = [s for s in runs if s.status in ("failed", "timeout")]
        got = report["agents"][name]
        assert got["executions"] == len(runs)
        assert got["failed"] == len(failed)
        assert got["skipped"] == len(runs) - len(done)
        assert got["error_rate"] == pytest.approx(len(failed) / len(done), abs=1e-4)
        durations = sorted(s.duration_ms for s in done if s.duration_ms is not None)
        assert got["latency_ms"]["p50"] == pytest.approx(statistics.median(durations), rel=0.1)
        assert got["latency_ms"]["p95"] == pytest.approx(
            durations[int(0.95 * len(durations))], rel=0.12
        )
        llm = [s for s in recent if s.kind == "llm" and s.agent_name == name]
        assert got["llm_calls"] == len(llm)
        assert got["cost"]["total"] == pytest.approx(sum(s.total_cost or 0 for s in llm), abs=1e-6)
        assert got["tokens"]["per_call"] == pytest.approx(
            statistics.mean(s.total_tokens or 0 for s in llm), abs=0.1
        )
    models = report["models"]
    assert sum(m["calls"] for m in models.values()) == sum(1 for s in recent if s.kind == "llm")
    tools = report["tools"]
    web = [s for s in recent if s.kind == "tool" and s.name == "web_search"]
    assert tools["web_search"]["calls"] == len(web)
    assert tools["web_search"]["failed"] == sum(1 for s in web if s.status == "failed")
    assert report["totals"]["executions"] == sum(1 for s in recent if s.kind == "agent")
    assert report["event_types"] == {}
    with Analytics(faulty_url, flush=False) as an:
        everything = an.stats("all", now=NOW)
    assert everything["totals"]["executions"] == sum(1 for s in faulty_records if s.kind == "agent")
    with pytest.raises(ValueError):
        Analytics(faulty_url, flush=False).stats("yesterday-ish")


def _trace(i: int, path: list[str], fail_tool: bool) -> list[Span | Event]:
    t = END_NS - (100 - i) * 60 * 10**9
    tid = f"t{i}"
    out: list[Span | Event] = []
    root = Span(
        tid, tid, None, "pat", "default", "agent", path[0], "success", t, t + 10**9, 1000.0, path[0]
    )
    out.append(root)
    for j, agent in enumerate(path[1:], 1):
        st = t + j * 10**8
        failed = fail_tool and agent == path[-1]
        if failed:
            out.append(
                Span(
                    f"{tid}-tool",
                    tid,
                    f"{tid}-{j}",
                    "pat",
                    "default",
                    "tool",
                    "write_file",
                    "failed",
                    st + 1,
                    st + 2,
                    1.0,
                    agent,
                )
            )
            out.append(
                Event(
                    f"{tid}-err",
                    tid,
                    f"{tid}-{j}",
                    "pat",
                    "default",
                    st + 3,
                    "error",
                    "write_failed",
                    "ERROR",
                    agent,
                )
            )
        out.append(
            Event(
                f"{tid}-d{j}",
                tid,
                tid,
                "pat",
                "default",
                st - 1,
                "decision",
                "route",
                "INFO",
                path[0],
            )
        )
        out.append(
            Span(
                f"{tid}-{j}",
                tid,
                tid,
                "pat",
                "default",
                "agent",
                agent,
                "failed" if failed else "success",
                st,
                st + 10**8,
                100.0,
                agent,
            )
        )
    return out


def test_patterns(tmp_path: Path) -> None:
    records: list[Span | Event] = []
    for i in range(6):
        records += _trace(i, ["planner", "researcher", "writer"], False)
    for i in range(6, 9):
        records += _trace(i, ["planner", "writer"], True)
    records += _trace(9, ["planner"], False)
    url = write_sqlite(tmp_path / "p.db", records)
    with Analytics(url, flush=False) as an:
        got = an.patterns("24h", now=NOW)
    assert got["traces"] == 10 and got["failing_traces"] == 3
    top = got["agent_paths"][0]
    assert top["sequence"] == ["planner", "researcher", "writer"]
    assert top["count"] == 6 and top["share"] == 0.6 and top["failure_rate"] == 0.0
    second = got["agent_paths"][1]
    assert second["sequence"] == ["planner", "writer ✗"] or second["sequence"] == [
        "planner",
        "writer",
    ]
    assert second["failure_rate"] == 1.0
    transitions = {(t["from"], t["to"]): t["count"] for t in got["transitions"]}
    assert transitions[("planner", "researcher")] == 6 and transitions[("planner", "writer")] == 3
    [err] = got["error_sequences"]
    assert err["count"] == 3 and err["sequence"][-1] == "tool:write_file ✗"
    assert err["example_trace_id"] in {"t6", "t7", "t8"}
    assert any(s["sequence"][:2] == ["planner", "decision:route"] for s in got["sequences"])
    with Analytics(url, flush=False) as an:
        assert an.patterns("1h", now=NOW + timedelta(days=1))["traces"] == 0
