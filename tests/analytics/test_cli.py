"""The ``why``, ``timeline``, ``failed``, ``slow`` and ``cost`` commands (rich tables)."""

from __future__ import annotations

from typer.testing import CliRunner

from tracehound.cli import app

from ._scenario import Facts

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_why(analytics_sqlite_url: str) -> None:
    out = run(
        "why", "PsychologistAgent", "--conversation", "conv-2", "--store", analytics_sqlite_url
    )
    assert "SKIPPED" in out and "plot structure" in out and "0.30" in out
    out = run("why", "NobodyAgent", "--store", analytics_sqlite_url)
    assert "NEVER_INVOKED" in out


def test_timeline(analytics_sqlite_url: str, facts: Facts) -> None:
    out = run("timeline", facts["failed"], "--store", analytics_sqlite_url)
    for stage in ("INIT", "SHOULD_RESPOND", "LLM_PREPARE", "LLM_CALL", "LLM_PARSE", "COMPLETE"):
        assert stage in out
    assert "LLM returned invalid JSON" in out and "gpt-4o-mini" in out
    result = runner.invoke(app, ["timeline", "nope", "--store", analytics_sqlite_url])
    assert result.exit_code == 1 and "no execution" in result.output


def test_failed_slow_cost(analytics_sqlite_url: str) -> None:
    out = run("failed", "--store", analytics_sqlite_url)
    assert "PlotAgent.run" in out and "LLM_PARSE" in out and "SlowAgent.run" in out
    out = run("slow", "--threshold-ms", "25", "--store", analytics_sqlite_url)
    assert "SlowAgent.run" in out and "LLM latency" in out
    out = run("cost", "--store", analytics_sqlite_url)
    assert "gpt-4" in out and "$0.0750" in out and "custom-llm-x" in out


def test_missing_store(tmp_path: object) -> None:
    result = runner.invoke(app, ["failed", "--store", "sqlite:////nonexistent/dir/x.db"])
    assert result.exit_code == 1 and "no database" in result.output
