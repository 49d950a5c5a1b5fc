"""LogAnalyzer, analyze_session and debug_issue: the answers, the same from the files and
the SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.analysis import FileSource, LogAnalyzer, StoreSource, analyze_session, debug_issue
from tracehound.exceptions import ValidationError

from .conftest import Recorded, strip_location


@pytest.fixture
def files(recorded: Recorded) -> LogAnalyzer:
    return LogAnalyzer(recorded.session_dir)


@pytest.fixture
def db(recorded: Recorded) -> LogAnalyzer:
    an = LogAnalyzer(store=recorded.db)
    yield an  # type: ignore[misc]
    an.close()


def test_sources(files: LogAnalyzer, db: LogAnalyzer, recorded: Recorded) -> None:
    assert isinstance(files.source, FileSource) and isinstance(db.source, StoreSource)
    assert files.session_id == db.session_id == recorded.session_id


def test_the_same_answers_from_the_files_and_the_store(files: LogAnalyzer, db: LogAnalyzer) -> None:
    assert strip_location(files.overview()) == strip_location(db.overview())
    agents = files.agents()
    assert agents == db.agents() == ["creator_001", "curator_002", "planner", "reader_9"]
    for agent in agents:
        assert files.analyze_agent_activity(agent) == db.analyze_agent_activity(agent), agent
        assert files.analyze_learning_progress(agent) == db.analyze_learning_progress(agent), agent
        assert files.trace_agent_journey(agent) == db.trace_agent_journey(agent), agent
    assert files.get_errors() == db.get_errors()
    assert files.find_error_patterns() == db.find_error_patterns()
    assert files.analyze_interactions() == db.analyze_interactions()
    assert files.analyze_performance() == db.analyze_performance()
    for error in files.get_errors():
        assert files.find_causality_chain(error) == db.find_causality_chain(error)
    assert strip_location(files.as_dict()) == strip_location(db.as_dict())
    assert strip_location(analyze_session(analyzer=files).data) == strip_location(
        analyze_session(analyzer=db).data
    )
    a = debug_issue("creator_001 not generating content", analyzer=files)
    b = debug_issue("creator_001 not generating content", analyzer=db)
    # only "where to look next" differs: the files name their paths
    assert any("agents/creator_001.log" in step for step in a.data.pop("next_steps"))
    b.data.pop("next_steps")
    assert strip_location(a.data) == strip_location(b.data)


def test_agent_activity(files: LogAnalyzer) -> None:
    act = files.analyze_agent_activity("creator_001")
    assert act["found"] and act["agent_role"] == "creator"
    assert act["action_counts"] == {"create_content": 5}
    assert act["actions_by_status"] == {"create_content": {"failed": 1, "success": 4}}
    assert act["decisions"] == 5 and act["decision_types"] == {"content_timing": 5}
    assert act["content_generated"] == 4 and act["warnings"] == 1
    assert act["errors"] == 1
    assert act["error_types"] == {"TimeoutError": 1}
    assert act["last_error"]["error_message"] == "render timed out for c3"
    unknown = files.analyze_agent_activity("nobody")
    assert unknown["found"] is False and unknown["total_logs"] == 0
    with pytest.raises(ValidationError) as info:
        files.analyze_agent_activity(7)  # type: ignore[arg-type]
    assert info.value.field == "agent_id"


def test_errors_count_each_failure_once(files: LogAnalyzer) -> None:
    errors = files.get_errors()
    summary = [(e["agent"], e.get("error_type"), e["record"]) for e in errors]
    assert summary == [
        # trace_context logs the TimeoutError; the failed action and render spans are the same failure
        ("creator_001", "TimeoutError", "event"),
        ("planner", None, "event"),  # "creator failed in round 3" (stdlib logging)
        ("curator_002", "ConnectionError", "span"),  # failed tool, recovered agent
        ("curator_002", "KeyError", "span"),  # inner stage failed, outer agent too: one error
    ]
    assert errors[-1]["name"] == "inner"
    patterns = files.find_error_patterns()
    assert patterns["total_errors"] == 4
    assert patterns["by_agent"] == {"curator_002": 2, "creator_001": 1, "planner": 1}
    assert patterns["by_type"]["TimeoutError"] == 1
    assert ("creator failed in round <n>", 1) in patterns["most_common_messages"]
    assert files.get_errors("curator_002") == errors[2:]


def test_learning_progress(files: LogAnalyzer) -> None:
    lp = files.analyze_learning_progress("creator_001")
    assert lp["total_training_steps"] == 5 and lp["last_step"] == 4
    assert lp["total_rewards"] == 10.0 and lp["reward_count"] == 5
    assert lp["cumulative_reward"] == 10.0
    assert lp["reward_trend"]["direction"] == "increasing"
    assert lp["exploration_count"] == 3 and lp["exploitation_count"] == 2
    assert lp["exploration_rate"] == 0.6 and lp["latest_epsilon"] == 0.2
    assert lp["metrics"]["loss"]["trend"] == "decreasing"
    assert lp["learning_types"] == {"bandit": 15}
    assert sum(w["count"] for w in lp["exploration_over_time"]) == 5


def test_interactions(files: LogAnalyzer) -> None:
    inter = files.analyze_interactions()
    assert inter["total_interactions"] == 12
    assert inter["by_kind"] == {
        "content_interaction": 5,
        "viral_cascade": 6,
        "social_connection": 1,
    }
    top = inter["top_viral_content"][0]
    assert top["content_id"] == "c4" and top["reach"] == 540 and top["max_depth"] == 2
    assert top["owner"] == "creator_001" and top["reshares"] == 2
    assert inter["cascades"][0]["resharers"] == 2
    assert inter["interacting_pairs"][0]["agents"] == ["creator_001", "curator_002"]


def test_journey(files: LogAnalyzer) -> None:
    journey = files.trace_agent_journey("creator_001")
    times = [e["timestamp_ns"] for e in journey]
    assert times == sorted(times)
    assert journey[0]["message"].startswith("task create_content: success in ")
    assert all(e["agent"] == "creator_001" for e in journey)
    assert any(e["message"] == "Agent action: create_content" for e in journey)
    assert files.trace_agent_journey("creator_001", limit=3) == journey[-3:]
    assert files.trace_agent_journey("ghost") == []


def test_causality_chain(files: LogAnalyzer) -> None:
    error = files.get_errors()[0]  # the creator's TimeoutError
    chain = files.find_causality_chain(error, lookback_seconds=60)
    assert [c["rank"] for c in chain] == list(range(1, len(chain) + 1))
    assert [c["score"] for c in chain] == sorted((c["score"] for c in chain), reverse=True)
    top = chain[0]
    assert "same trace" in top["reasons"] and top["timestamp_ns"] <= error["timestamp_ns"]
    reasons = " | ".join(c["reason"] for c in chain)
    assert "warning" in reasons and "same agent (creator_001)" in reasons
    assert any(c["message"] == "model rate limit reached" for c in chain)
    warning = next(c for c in chain if c["message"] == "model rate limit reached")
    assert "same trace" in warning["reasons"] and "warning" in warning["reasons"]
    system = [c for c in chain if "system-wide" in c["reasons"]]
    assert system and system[0]["message"].startswith("Failed to load module vision_model")
    assert all(c["timestamp_ns"] <= error["timestamp_ns"] for c in chain)
    # an error of the curator: the creator it interacted with is a candidate, with the reason
    curator_error = files.get_errors("curator_002")[0]
    chain2 = files.find_causality_chain(curator_error, limit=50)
    assert any("creator_001 interacted with curator_002" in c["reason"] for c in chain2)
    # the window bounds the candidates
    tiny = files.find_causality_chain(error, lookback_seconds=1e-9)
    # (spans still open in the window, like the ones enclosing the error, stay candidates)
    assert all(c["seconds_before"] <= 1e-6 or c["record"] == "span" for c in tiny)
    assert not any("system-wide" in c["reasons"] for c in tiny)
    by_id = files.find_causality_chain(error["id"])
    assert by_id == chain[:15]
    for bad, field in ((object(), "error"), ("no-such-id", "error")):
        with pytest.raises(ValidationError) as info:
            files.find_causality_chain(bad)
        assert info.value.field == field
    with pytest.raises(ValidationError):
        files.find_causality_chain(error, lookback_seconds=0)


def test_analyze_session_report(files: LogAnalyzer) -> None:
    report = analyze_session(analyzer=files)
    text = str(report)
    assert text.startswith("Session ")
    assert "creator_001" in text and "Errors: 4" in text
    assert "TimeoutError" in text or "render timed out" in text
    assert "Learning" in text and "Interactions: 12" in text
    assert "content_generation" in text
    assert report.data["overview"]["errors"] == 4


def test_debug_issue_report(files: LogAnalyzer) -> None:
    report = debug_issue("Agent creator_001 not generating content since round 3", analyzer=files)
    text = str(report)
    assert report.data["parsed"]["agents"] == ["creator_001"]
    assert "not happening" in report.data["parsed"]["error_words"]
    assert "content" in report.data["parsed"]["topics"]
    assert report.data["primary_error"]["error_type"] == "TimeoutError"
    assert report.data["causal_chain"]
    assert "1 of 5 create_content actions failed" in text
    assert "5 content actions but only 4 pieces of content generated" in text
    assert "Likely causal chain" in text and "model rate limit reached" in text
    assert "tracehound journey creator_001" in text
    assert "render timed out for c3" in text


def test_debug_issue_understands_roles_unknown_agents_and_times(files: LogAnalyzer) -> None:
    by_role = debug_issue("the curator keeps failing", analyzer=files)
    assert by_role.data["parsed"]["agents"] == ["curator_002"]
    assert by_role.data["primary_error"]["agent"] == "curator_002"
    ghost = debug_issue("ghost_007 crashed", analyzer=files)
    assert "no agent named 'ghost_007'" in str(ghost)
    first = files.overview()["first"]
    at = debug_issue(f"errors around {first[11:16]}", analyzer=files)
    assert at.data["parsed"]["window"] is not None
    with pytest.raises(ValidationError):
        debug_issue("   ", analyzer=files)


def test_export_analysis(files: LogAnalyzer, tmp_path: Path) -> None:
    import json

    out = files.export_analysis(tmp_path / "deep" / "report.json")
    data = json.loads(out.read_text())
    assert set(data) >= {"overview", "agents", "learning", "errors", "interactions", "performance"}
    assert data["agents"]["creator_001"]["errors"] == 1
    assert data["last_error_causes"]
    with pytest.raises(ValidationError):
        files.export_analysis(12)  # type: ignore[arg-type]


def test_open_any_kind_of_session(
    recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = LogAnalyzer(recorded.session_dir).find_error_patterns()
    # a trace/ directory copied from another machine
    copy = tmp_path / "elsewhere" / "trace"
    shutil.copytree(recorded.trace_dir, copy)
    (copy / "tracehound.db").unlink()
    assert LogAnalyzer(copy).find_error_patterns() == expected
    assert LogAnalyzer(str(copy), session_id=recorded.session_id).session_id == recorded.session_id
    # the database as a file, a URL, a session id in the configured trace dir
    assert LogAnalyzer(recorded.db).find_error_patterns() == expected
    assert LogAnalyzer(f"sqlite:///{recorded.db}").source.kind == "store"
    monkeypatch.setenv("TRACEHOUND_TRACE_DIR", str(recorded.trace_dir))
    assert LogAnalyzer(recorded.session_id).source.kind == "files"
    assert LogAnalyzer().session_id == recorded.session_id  # the latest session
    # nothing to read
    with pytest.raises(ValidationError, match="no session"):
        LogAnalyzer(trace_dir=tmp_path / "empty")
    with pytest.raises(ValidationError):
        LogAnalyzer(store=tmp_path / "missing.db")
    with pytest.raises(ValidationError):
        LogAnalyzer(42)  # type: ignore[arg-type]


def test_the_current_session_by_default(tmp_path: Path) -> None:
    tracehound.configure(trace_dir=tmp_path / "trace", flush_interval=0.05)
    tracehound.AgentLogger("a1", "r").error("boom")
    an = LogAnalyzer()  # flushes the running tracehound first
    assert an.session_id == tracehound.stats()["session_id"]
    assert an.get_errors()[0]["message"] == "boom"
    tracehound.configure(
        trace_dir=tmp_path / "trace", exporters=("store",), session_id="s2", flush_interval=0.05
    )
    tracehound.AgentLogger("a2", "r").error("db only")
    assert LogAnalyzer().source.kind == "store"
    assert LogAnalyzer().get_errors()[0]["message"] == "db only"


def test_progress_is_reported(recorded: Recorded) -> None:
    for source in (recorded.session_dir, recorded.db):
        calls: list[tuple[int, Any]] = []
        an = LogAnalyzer(
            source, progress=lambda done, total, calls=calls: calls.append((done, total))
        )
        an.summary()
        assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1] and calls[-1][0] > 0
        assert an.elapsed_s is not None
    with pytest.raises(ValidationError):
        LogAnalyzer(recorded.session_dir, progress=5)  # type: ignore[arg-type]
