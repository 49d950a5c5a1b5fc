"""A recorded multi-agent session, written once to the files and the SQLite store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.integrations.logging import instrument_logging, uninstrument_logging
from tracehound.sdk import _runtime


class Recorded:
    def __init__(self, root: Path, session_id: str) -> None:
        self.root = root
        self.trace_dir = root / "trace"
        self.session_id = session_id
        self.session_dir = self.trace_dir / f"session_{session_id}"
        self.db = self.trace_dir / "tracehound.db"


class CreatorAgent:
    def __init__(self) -> None:
        self.logger = tracehound.AgentLogger("creator_001", "creator")

    @tracehound.trace_agent_action(action_type="create_content")
    async def create_content(self, n: int) -> str:
        self.logger.log_decision("content_timing", {"slot": n}, reasoning="peak hour")
        with tracehound.measure_performance("content_generation"):
            await asyncio.sleep(0)
        if n == 3:
            self.logger.warning("model rate limit reached", extra={"retry_after": 30})
            with tracehound.trace_context(self.logger, "render", content_id=f"c{n}"):
                raise TimeoutError(f"render timed out for c{n}")
        self.logger.log_content_generation("video", f"c{n}", {"duration": 30})
        return f"c{n}"


def _record(trace_dir: Path) -> str:
    tracehound.configure(trace_dir=trace_dir, flush_interval=0.05)
    instrument_logging()
    std = logging.getLogger("planner.lib")
    std.setLevel(logging.INFO)
    creator = CreatorAgent()
    learning = tracehound.LearningLogger("bandit", "creator_001")
    audience = tracehound.InteractionLogger()
    system = tracehound.SystemLogger()
    system.log_initialization("framework", {"agents": 3})
    system.log_module_loaded("vision_model", "2.1", success=False)  # a system-wide warning

    async def run() -> None:
        for n in range(5):
            with tracehound.span(
                "plan", kind="agent", agent="planner", agent_role="orchestrator"
            ) as sp:
                std.info("planning round %d", n)
                try:
                    await creator.create_content(n)
                except TimeoutError:
                    std.error("creator failed in round %d", n)
                    sp.set_status("failed", "creator timed out")
            audience.log_content_interaction(
                "like", f"c{n}", "curator_002", content_owner="creator_001"
            )
            audience.log_viral_cascade(
                f"c{n}", "curator_002", origin_agent="creator_001", depth=1, reach=10 * n
            )
            learning.log_training_step(n, {"loss": 1.0 / (n + 1)})
            learning.log_reward(f"a{n}", float(n))
            learning.log_exploration_exploitation("video", n % 2 == 0, 0.2)
        audience.log_social_connection("curator_002", "creator_001")
        audience.log_viral_cascade("c4", "reader_9", parent_agent="curator_002", depth=2, reach=500)
        # a tool that fails inside an agent that recovers: a failed span without an error event
        with tracehound.span("curate", kind="agent", agent="curator_002"):
            try:
                with tracehound.span("fetch_feed", kind="tool"):
                    raise ConnectionError("feed unavailable")
            except ConnectionError:
                pass
        # an exception propagating through two spans: one error
        try:
            with tracehound.span("outer", kind="agent", agent="curator_002"):
                with tracehound.span("inner", kind="stage"):
                    raise KeyError("missing key")
        except KeyError:
            pass

    asyncio.run(run())
    tracehound.flush_loggers()
    session = _runtime.get_runtime().session_id
    uninstrument_logging()
    tracehound.shutdown(timeout=10)
    _runtime._pending_settings[0] = None
    return session


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("analysis")
    tracehound.shutdown(timeout=0)
    session = _record(root / "trace")
    return Recorded(root, session)


def strip_location(value: Any) -> Any:
    """Answers without the fields that name the source (they differ by design)."""
    if isinstance(value, dict):
        return {
            k: strip_location(v)
            for k, v in value.items()
            if k not in ("source", "location", "generated_at")
        }
    if isinstance(value, list):
        return [strip_location(v) for v in value]
    return value
