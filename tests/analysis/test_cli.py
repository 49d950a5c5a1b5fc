"""``tracehound analyze``, ``debug``, ``journey`` and ``errors``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracehound.cli import app

from .conftest import Recorded

runner = CliRunner()


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_analyze_files_and_store(recorded: Recorded) -> None:
    out = invoke("analyze", str(recorded.trace_dir))
    assert recorded.session_id in out
    for text in (
        "Agents",
        "creator_001",
        "curator_002",
        "Most common errors",
        "Learning",
        "Top viral content",
        "content_generation",
        "tracehound errors",
    ):
        assert text in out, text
    db = invoke("analyze", "--store", str(recorded.db))
    assert "database sqlite:///" in db and "creator_001" in db


def test_analyze_json_and_export(recorded: Recorded, tmp_path: Path) -> None:
    out = invoke(
        "analyze", str(recorded.session_dir), "--json", "--export", str(tmp_path / "a.json")
    )
    data = json.loads(out)
    assert data["overview"]["errors"] == 4
    assert json.loads((tmp_path / "a.json").read_text())["overview"]["errors"] == 4


def test_analyze_the_latest_session_of_the_trace_dir(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(recorded.root)  # ./trace is the default trace directory
    assert recorded.session_id in invoke("analyze")
    assert "Errors: 4" in invoke("errors")


def test_debug(recorded: Recorded) -> None:
    out = invoke("debug", "creator_001 not generating content", str(recorded.trace_dir))
    for text in (
        "Debug report",
        "Understood: agents creator_001",
        "Likely causal chain",
        "why:",
        "render timed out for c3",
        "Where to look next",
    ):
        assert text in out, text
    data = json.loads(
        invoke("debug", "the curator keeps failing", str(recorded.trace_dir), "--json")
    )
    assert data["parsed"]["agents"] == ["curator_002"]


def test_journey(recorded: Recorded) -> None:
    out = invoke("journey", "creator_001", str(recorded.trace_dir), "--limit", "5")
    assert "Journey of creator_001 (creator)" in out
    assert "last 5 of" in out
    assert "Agent action: create_content" in invoke(
        "journey", "creator_001", str(recorded.trace_dir), "--all"
    )
    steps = json.loads(invoke("journey", "planner", str(recorded.trace_dir), "--json", "--all"))
    assert all(s["agent"] == "planner" for s in steps)


def test_errors(recorded: Recorded) -> None:
    out = invoke("errors", str(recorded.trace_dir))
    assert "Errors: 4" in out and "TimeoutError" in out and "ConnectionError" in out
    assert "by agent: curator_002 2" in out
    only = invoke("errors", str(recorded.trace_dir), "--agent", "curator_002")
    assert "Errors of curator_002: 2" in only and "TimeoutError" not in only
    assert "No errors of reader_9" in invoke(
        "errors", str(recorded.trace_dir), "--agent", "reader_9"
    )


def test_clean_errors(tmp_path: Path, recorded: Recorded) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path / "nothing-here")])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["journey", "nobody", str(recorded.trace_dir)])
    assert result.exit_code == 1 and "no records of agent 'nobody'" in result.output
    result = runner.invoke(app, ["debug", "  ", str(recorded.trace_dir)])
    assert result.exit_code == 1
