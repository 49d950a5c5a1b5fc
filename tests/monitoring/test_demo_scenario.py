"""The issue's "done when", on demo data: three normal runs of the simulated studio are the
history; then one more run, either clean or with an injected fault (one agent's error rate
and latency jump: extra WriterAgent executions, most of them failing, five times slower).
``tracehound anomalies`` and ``tracehound health`` point at the faulty agent, an alert
reaches the webhook once, and the clean run raises nothing."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracehound
from tracehound.cli import app
from tracehound.demo import run_demo
from tracehound.model import Span

from ._support import Receiver

runner = CliRunner()
SPEED = 300.0
CONVERSATIONS = 40


@dataclass
class Stores:
    clean: str
    faulty: str


def _run(trace_dir: Path, session_id: str) -> tuple[int, int]:
    tracehound.configure(trace_dir=trace_dir, exporters=("store",), session_id=session_id)
    start = time.time_ns()
    run_demo(conversations=CONVERSATIONS, seed=7, speed=SPEED)
    end = time.time_ns()
    tracehound.shutdown(timeout=10)
    return start, end


def _inject_fault(db: Path, start: int, end: int) -> None:
    """60 more WriterAgent executions during the run: 50 fail, all take 5× the usual time."""
    from tracehound.store import StoreReader
    from tracehound.store._sqlite import SQLiteExporter

    with StoreReader(f"sqlite:///{db.as_posix()}") as reader:
        usual = statistics.median(
            s.duration_ms or 0.0
            for s in reader.iter_spans(session_id="history0")
            if s.kind == "agent" and s.agent_name == "WriterAgent" and s.status != "skipped"
        )
    spans = []
    for i in range(60):
        t = start + (end - start) * i // 60
        failed = i % 6 != 0
        duration = usual * 5
        spans.append(
            Span(
                f"fault-{i}", f"fault-{i}", None, "run", "default", "agent", "WriterAgent",
                "failed" if failed else "success", t, t + int(duration * 1e6), duration,
                "WriterAgent",
                error_type="TimeoutError" if failed else None,
                error_message="upstream model timed out" if failed else None,
            )
        )  # fmt: skip
    exporter = SQLiteExporter(db)
    exporter.export(spans)
    exporter.shutdown()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Stores:
    from tracehound.sdk import _runtime

    root = tmp_path_factory.mktemp("demo-scenario")
    tracehound.shutdown(timeout=0)
    try:
        for i in range(3):
            _run(root / "history", f"history{i}")
        out: dict[str, str] = {}
        for variant in ("clean", "faulty"):
            (root / variant).mkdir()
            shutil.copy(root / "history" / "tracehound.db", root / variant / "tracehound.db")
            start, end = _run(root / variant, "run")
            db = root / variant / "tracehound.db"
            if variant == "faulty":
                _inject_fault(db, start, end)
            out[variant] = f"sqlite:///{db.as_posix()}"
    finally:
        tracehound.shutdown(timeout=1)
        _runtime._pending_settings[0] = None
    return Stores(**out)


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_anomalies_point_at_the_faulty_agent(stores: Stores) -> None:
    code, out = _cli("anomalies", "--store", stores.faulty, "--since", "session:latest", "--json")
    assert code == 0, out
    found = json.loads(out)
    assert {a["target"] for a in found} == {"WriterAgent"}, out
    metrics = {a["metric"] for a in found}
    assert "error_rate" in metrics and metrics & {"latency_p50", "latency_p95"}
    code, out = _cli("anomalies", "--store", stores.faulty, "--since", "session:latest")
    assert "agent WriterAgent" in out and "error rate of agent WriterAgent rose" in out


def test_health_points_at_the_faulty_agent(stores: Stores) -> None:
    code, out = _cli("health", "--store", stores.faulty, "--since", "session:latest", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["status"] == "unhealthy"
    bad = {a["agent"]: a for a in status["agents"] if a["status"] != "healthy"}
    assert set(bad) == {"WriterAgent"}
    assert bad["WriterAgent"]["error_rate"] > 0.5 and bad["WriterAgent"]["anomalies"]
    code, out = _cli("health", "--store", stores.faulty, "--since", "session:latest")
    assert code == 0 and "WriterAgent (unhealthy)" in out


def test_an_alert_reaches_the_webhook_once(
    stores: Stores, receiver: Receiver, tmp_path: Path
) -> None:
    args = (
        "monitor", "--once", "--store", stores.faulty, "--since", "session:latest",
        "--webhook", receiver.url, "--state", str(tmp_path / "state.json"),
    )  # fmt: skip
    for _ in range(3):
        code, out = _cli(*args)
        assert code == 0, out
    assert len(receiver.alerts) == 1, receiver.alerts
    [alert] = receiver.alerts
    assert alert["key"] == "agent:WriterAgent" and alert["severity"] == "critical"
    assert "error rate" in alert["message"] and "latency" in alert["message"]
    # and the alert is in the trace, next to a failing WriterAgent execution
    from sqlalchemy import select

    from tracehound.store import events, make_engine

    engine = make_engine(stores.faulty)
    with engine.connect() as conn:
        rows = conn.execute(select(events).where(events.c.type == "alert")).mappings().all()
        [row] = [r for r in rows if r["id"].startswith("alert-")]  # the demo records alerts too
    engine.dispose()
    assert row["agent_name"] == "WriterAgent" and row["session_id"] == "run"
    assert row["trace_id"] and row["level"] == "CRITICAL"


def test_a_clean_run_raises_nothing(stores: Stores, receiver: Receiver, tmp_path: Path) -> None:
    code, out = _cli("anomalies", "--store", stores.clean, "--since", "session:latest", "--json")
    assert code == 0 and json.loads(out) == [], out
    code, out = _cli("health", "--store", stores.clean, "--since", "session:latest", "--exit-code")
    assert code == 0, out
    code, out = _cli(
        "monitor", "--once", "--store", stores.clean, "--since", "session:latest",
        "--webhook", receiver.url, "--state", str(tmp_path / "state.json"),
    )  # fmt: skip
    assert code == 0 and "0 new alert(s)" in out
    assert receiver.bodies == []
