"""``tracehound demo``, ``sessions``, ``traces``, ``show`` and ``version``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracehound
from tracehound.cli import app

runner = CliRunner()


class Recorded:
    def __init__(self, root: Path, output: str) -> None:
        self.root = root
        self.output = output
        self.trace_dir = root / "trace"
        self.db = self.trace_dir / "tracehound.db"
        self.url = f"sqlite:///{self.db.as_posix()}"

    def query(self, sql: str) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """``tracehound demo`` run once (12 conversations, seed 7) into its own directory."""
    root = tmp_path_factory.mktemp("cli-demo")
    tracehound.shutdown(timeout=0)
    result = runner.invoke(
        app, ["demo", "--conversations", "12", "--seed", "7", "--trace-dir", str(root / "trace")]
    )
    from tracehound.sdk import _runtime

    _runtime._pending_settings[0] = None
    assert result.exit_code == 0, result.output
    return Recorded(root, result.output)


def _failed_agent(rec: Recorded) -> tuple[str, str, str]:
    rows = rec.query(
        "select trace_id, agent_name, error_type from spans "
        "where kind='agent' and status in ('failed', 'timeout') order by start_time"
    )
    assert rows, "the demo recorded no failed agent"
    trace_id, agent, error_type = rows[0]
    return str(trace_id), str(agent), str(error_type).rsplit(".", 1)[-1]


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"tracehound {tracehound.__version__}")


def test_demo_prints_a_summary_and_writes_files_and_database(recorded: Recorded) -> None:
    out = recorded.output
    (session_id,) = recorded.query("select id from sessions")[0]
    for text in (
        "Session",
        str(session_id),
        "Traces",
        "12 conversations",
        "LLM calls",
        "Failures by agent",
        "PublisherAgent",
        "tracehound sessions",
        "tracehound show",
    ):
        assert text in out, text
    assert recorded.url in out  # where the data is (a non-default store is passed on)
    assert f"--store {recorded.url}" in out
    # the suggested trace is one with a failure
    suggested = [
        line.split()[2] for line in out.splitlines() if line.strip().startswith("tracehound show 0")
    ]
    assert suggested
    statuses = {
        s
        for (s,) in recorded.query(
            f"select status from spans where trace_id='{suggested[0]}' and kind='agent'"
        )
    }
    assert statuses & {"failed", "timeout"}

    trace_dir = recorded.trace_dir
    for category in (
        "agents",
        "learning",
        "interactions",
        "performance",
        "system",
        "errors",
        "events",
    ):
        assert any((trace_dir / category).iterdir()), category
    session_dir = trace_dir / f"session_{session_id}"
    assert list((session_dir / "agents").glob("*.log"))
    assert json.loads((session_dir / "trace_summary.json").read_text())
    assert recorded.query("select count(distinct trace_id) from spans")[0][0] == 12
    # nothing is written to the working directory
    assert not Path("trace").exists()


def test_sessions_lists_the_demo_session(recorded: Recorded) -> None:
    (session_id,) = recorded.query("select id from sessions")[0]
    result = runner.invoke(app, ["sessions", "--store", recorded.url])
    assert result.exit_code == 0, result.output
    assert str(session_id) in result.output
    (spans,) = recorded.query("select count(*) from spans")[0]
    assert f"{spans:,}" in result.output


def test_sessions_uses_the_configured_store_by_default(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEHOUND_TRACE_DIR", str(recorded.trace_dir))
    result = runner.invoke(app, ["sessions", "--limit", "1"])
    assert result.exit_code == 0, result.output
    (session_id,) = recorded.query("select id from sessions")[0]
    assert str(session_id) in result.output


def test_traces_lists_recent_traces_with_their_failures(recorded: Recorded) -> None:
    result = runner.invoke(app, ["traces", "--store", recorded.url, "--limit", "50"])
    assert result.exit_code == 0, result.output
    ids = {t for (t,) in recorded.query("select distinct trace_id from spans")}
    assert sum(1 for t in ids if t in result.output) == 12
    _, agent, _ = _failed_agent(recorded)
    assert agent in result.output
    (session_id,) = recorded.query("select id from sessions")[0]
    one = runner.invoke(
        app, ["traces", "--store", recorded.url, "--session", str(session_id), "-l", "1"]
    )
    assert one.exit_code == 0 and sum(1 for t in ids if t in one.output) == 1
    none = runner.invoke(app, ["traces", "--store", recorded.url, "--session", "nope"])
    assert none.exit_code == 0 and "No traces" in none.output


def test_show_renders_a_failed_trace(recorded: Recorded) -> None:
    trace_id, agent, error_type = _failed_agent(recorded)
    result = runner.invoke(app, ["show", trace_id, "--store", recorded.url])
    assert result.exit_code == 0, result.output
    out = result.output
    assert trace_id in out
    assert agent in out and error_type in out
    assert "failed agents:" in out
    assert "planner" in out and "SHOULD_RESPOND" in out and "LLM_CALL" in out
    assert "chat " in out and "tok" in out  # llm spans with tokens
    assert "relevance" in out  # skipped agents with their score and reason
    assert "Traceback (most recent call last)" not in out

    verbose = runner.invoke(app, ["show", trace_id, "--store", recorded.url, "--verbose"])
    assert verbose.exit_code == 0, verbose.output
    assert "Traceback (most recent call last)" in verbose.output
    assert "input" in verbose.output and "output" in verbose.output


def test_show_accepts_a_unique_prefix_latest_and_last_failed(recorded: Recorded) -> None:
    trace_id, _, _ = _failed_agent(recorded)
    prefix = trace_id[:-4]
    matches = [
        t
        for (t,) in recorded.query("select distinct trace_id from spans")
        if str(t).startswith(prefix)
    ]
    assert matches == [trace_id]
    by_prefix = runner.invoke(app, ["show", prefix, "--store", recorded.url])
    assert by_prefix.exit_code == 0 and trace_id in by_prefix.output

    (latest,) = recorded.query(
        "select trace_id from spans where parent_id is null order by start_time desc limit 1"
    )[0]
    result = runner.invoke(app, ["show", "latest", "--store", recorded.url])
    assert result.exit_code == 0 and str(latest) in result.output

    (last_failed,) = recorded.query(
        "select trace_id from spans where kind='agent' and status in ('failed','timeout') "
        "order by start_time desc limit 1"
    )[0]
    result = runner.invoke(app, ["show", "last-failed", "--store", recorded.url])
    assert result.exit_code == 0 and str(last_failed) in result.output
    assert "failed agents:" in result.output


def test_show_unknown_or_ambiguous_id_is_a_clear_error(recorded: Recorded) -> None:
    result = runner.invoke(app, ["show", "does-not-exist", "--store", recorded.url])
    assert result.exit_code == 1
    assert "no trace matches 'does-not-exist'" in result.output
    assert "Traceback" not in result.output

    (some,) = recorded.query("select trace_id from spans limit 1")[0]
    result = runner.invoke(app, ["show", str(some)[:4], "--store", recorded.url])
    assert result.exit_code == 1
    assert "ambiguous" in result.output and repr(str(some)[:4]) in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions", "--store", "mysql://db/x"], "unsupported database URL"),
        (["traces", "--store", "sqlite:///missing/dir/none.db"], "no database at"),
        (["show", "latest", "--store", "sqlite:///:memory:"], "in-memory"),
        (["demo", "--conversations", "1", "--store", "mysql://db/x"], "unsupported database URL"),
    ],
)
def test_bad_store_urls_give_one_red_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not Path("missing").exists()


def test_demo_fails_early_when_the_database_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    url = f"sqlite:///{(tmp_path / 'a-file' / 'x.db').as_posix()}"
    result = runner.invoke(app, ["demo", "--conversations", "1", "--store", url])
    assert result.exit_code == 1
    assert "cannot create the database" in result.output
    assert "Traceback" not in result.output


def test_a_file_that_is_not_a_tracehound_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    result = runner.invoke(app, ["sessions", "--store", f"sqlite:///{other.as_posix()}"])
    assert result.exit_code == 1
    assert "not a tracehound database" in result.output


def test_empty_store_and_bad_options(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sessions"])  # default: ./trace/tracehound.db, absent
    assert result.exit_code == 1 and "tracehound demo" in result.output
    result = runner.invoke(app, ["demo", "--conversations", "0"])
    assert result.exit_code == 2 and "--conversations" in result.output
    result = runner.invoke(app, ["sessions", "--limit", "zero"])
    assert result.exit_code == 2 and "--limit" in result.output
