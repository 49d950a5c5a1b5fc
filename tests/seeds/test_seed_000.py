"""Seed 000 (agent framework trace system): every usage example, verbatim except for the
import line (``from tracehound import …``). Minimal stand-ins define what the seed leaves
undefined (``generate_content``, ``optimize_for_virality``, the agent's helpers…).

Each test runs in its own working directory with the default configuration, so the records
land in ``./trace/`` — the seed's layout — and in ``./trace/tracehound.db``.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.pipeline.exporters._files import read_records


# -- stand-ins for names the seed's examples leave undefined ------------------------------
async def generate_content() -> dict[str, Any]:
    return {"type": "video", "id": "c1"}


class _Model:
    async def predict(self, input_data: Any) -> dict[str, Any]:
        return {"label": "cat", "input": input_data}


model = _Model()
content = {"id": "content_123", "text": "AI will change everything"}


def optimize_for_virality(value: dict[str, Any]) -> dict[str, Any]:
    return {**value, "hashtags": ["#AI"]}


class _Content:
    def __init__(self, n: int) -> None:
        self.type = "video"
        self.id = f"content_{n}"
        self.metadata = {"duration": 30}


class _Bandit:
    def __init__(self) -> None:
        self.updates: list[Any] = []

    async def update(self, feedback: Any) -> None:
        self.updates.append(feedback)


def _records() -> list[Any]:
    tracehound.flush_loggers()
    assert tracehound.flush(timeout=10)
    return list(read_records(Path("trace")))


def _events(type_: str | None = None) -> list[tracehound.Event]:
    out = [r for r in _records() if isinstance(r, tracehound.Event)]
    return [e for e in out if type_ is None or e.type == type_]


# -- Usage: Basic Logging -------------------------------------------------------------------
def basic_logging() -> Any:
    from tracehound import AgentLogger, LearningLogger, PerformanceLogger  # noqa: F401

    # Create an agent logger
    agent_logger = AgentLogger(agent_id="creator_001", agent_role="creator")

    # Log an action
    agent_logger.log_action(
        action_type="create_content",
        action_data={"content_type": "video", "duration": 30},
        decision_context={"trending_topic": "AI"},
    )

    # Log a decision
    agent_logger.log_decision(
        decision_type="content_timing",
        decision_data={"scheduled_time": "2025-01-15 18:00"},
        reasoning="Peak audience activity time",
    )

    # Log a learning update
    agent_logger.log_learning_update(
        learning_stage="bandit", update_data={"epsilon": 0.1, "best_arm": "video_content"}
    )
    return agent_logger


def test_basic_logging() -> None:
    basic_logging()
    events = _events()
    action = next(e for e in events if e.type == "action")
    assert action.agent_name == action.agent_id == "creator_001"
    assert action.agent_role == "creator"
    assert action.message == "Agent action: create_content"
    assert action.data["event_type"] == "agent_action"
    assert action.data["logger"] == "agent.creator"
    assert action.data["action_data"] == {"content_type": "video", "duration": 30}
    assert action.data["decision_context"] == {"trending_topic": "AI"}
    decision = next(e for e in events if e.type == "decision")
    assert decision.data["reasoning"] == "Peak audience activity time"
    update = next(e for e in events if e.type == "learning.update")
    assert update.data["update_data"]["best_arm"] == "video_content"
    # the seed's file layout and JSON line format
    line = json.loads(Path("trace/agents/agents.log").read_text().splitlines()[0])
    assert set(line) == {"timestamp", "session_id", "level", "logger", "message", "extra"}
    assert line["logger"] == "agent.creator"
    assert line["extra"]["agent_id"] == "creator_001"
    assert line["extra"]["event_type"] == "agent_action"
    sessions = list(Path("trace").glob("session_*/agents/creator_001.log"))
    assert len(sessions) == 1


# -- Usage: Learning System Logging ------------------------------------------------------
def test_learning_system_logging() -> None:
    from tracehound import LearningLogger

    learning_logger = LearningLogger(learning_type="bandit", agent_id="creator_001")

    # Log training step
    learning_logger.log_training_step(
        step=100, metrics={"loss": 0.25, "accuracy": 0.85}, model_state={"learning_rate": 0.001}
    )

    # Log reward
    learning_logger.log_reward(action_id="action_123", reward=1.5, cumulative_reward=150.0)

    # Log exploration/exploitation
    learning_logger.log_exploration_exploitation(
        action_selected="create_video", exploration=True, epsilon=0.1
    )

    events = _events()
    by_type = {e.type: e for e in events}
    assert by_type["learning.step"].level == "DEBUG"
    assert by_type["learning.step"].data["metrics"] == {"loss": 0.25, "accuracy": 0.85}
    assert by_type["learning.reward"].data["cumulative_reward"] == 150.0
    assert by_type["learning.explore"].data["exploration"] is True
    assert Path("trace/learning/learning.log").is_file()


# -- Usage: Performance Tracking -----------------------------------------------------------
async def test_performance_tracking() -> None:
    from tracehound import measure_performance, trace_performance

    # Using context manager
    with measure_performance("content_generation"):
        content = await generate_content()

    # Using decorator
    @trace_performance("model_inference")
    async def run_inference(model, input_data):  # type: ignore[no-untyped-def]
        return await model.predict(input_data)

    assert content["type"] == "video"
    assert (await run_inference(model, [1, 2]))["label"] == "cat"
    records = _records()
    ops = {r.name for r in records if isinstance(r, tracehound.Span) and r.kind == "operation"}
    assert ops == {"content_generation", "model_inference"}
    latencies = [r for r in records if isinstance(r, tracehound.Metric) and r.name == "latency"]
    assert {m.tags["operation"] for m in latencies} == {"content_generation", "model_inference"}
    assert Path("trace/performance/performance.log").is_file()


# -- Usage: Using Decorators ---------------------------------------------------------------
from tracehound import trace_agent_action, trace_errors, trace_learning_update  # noqa: E402


class CreatorAgent:
    @trace_agent_action(action_type="create_content")
    async def create_content(self, context):  # type: ignore[no-untyped-def]
        # Action is automatically logged
        content = await self._generate_content(context)
        return content

    @trace_learning_update(update_type="bandit_update")
    async def update_strategy(self, feedback):  # type: ignore[no-untyped-def]
        # Learning update is automatically logged
        await self.bandit_learner.update(feedback)

    @trace_errors()
    async def risky_operation(self):  # type: ignore[no-untyped-def]
        # Errors are automatically logged with full context
        result = await self._complex_operation()
        return result


class _DecoratedAgent(CreatorAgent):
    def __init__(self) -> None:
        self.agent_id = "creator_001"
        self.agent_role = "creator"
        self.bandit_learner = _Bandit()

    async def _generate_content(self, context: Any) -> str:
        return f"content about {context['topic']}"

    async def _complex_operation(self) -> None:
        raise RuntimeError("the complex operation failed")


async def test_using_decorators() -> None:
    agent = _DecoratedAgent()
    assert await agent.create_content({"topic": "AI"}) == "content about AI"
    await agent.update_strategy({"reward": 1.0})
    with pytest.raises(RuntimeError):
        await agent.risky_operation()
    records = _records()
    spans = {r.name: r for r in records if isinstance(r, tracehound.Span)}
    assert spans["create_content"].kind == "task"
    assert spans["create_content"].attributes["action_type"] == "create_content"
    assert spans["create_content"].agent_name == "creator_001"
    assert spans["bandit_update"].attributes["update_type"] == "bandit_update"
    events = [r for r in records if isinstance(r, tracehound.Event)]
    action = next(e for e in events if e.type == "action")
    assert action.data["action_data"]["arguments"] == {"context": {"topic": "AI"}}
    update = next(e for e in events if e.type == "learning.update")
    assert update.agent_name == "creator_001"
    error = next(e for e in events if e.type == "error")
    assert error.level == "ERROR"
    assert error.agent_name == "creator_001"
    assert error.data["error_type"] == "RuntimeError"
    assert "the complex operation failed" in error.data["traceback"]
    assert error.data["function"].endswith("risky_operation")


# -- Usage: Context-Based Logging ----------------------------------------------------------
def test_context_based_logging() -> None:
    from tracehound import trace_context

    agent_logger = basic_logging()
    with trace_context(agent_logger, "viral_optimization", content_id="content_123"):
        # All logs within this context include content_id
        optimized_content = optimize_for_virality(content)

        # Automatically logs entry/exit and elapsed time
        agent_logger.info("optimizing")

    assert optimized_content["hashtags"] == ["#AI"]
    logs = [e for e in _events("log")]
    assert [e.data["event_type"] for e in logs] == ["context_enter", "log", "context_exit"]
    assert all(e.data["content_id"] == "content_123" for e in logs)
    assert logs[-1].data["elapsed_ms"] >= 0
    span = next(r for r in _records() if isinstance(r, tracehound.Span))
    assert span.name == "viral_optimization" and span.attributes["content_id"] == "content_123"


# -- Log Analysis: Using LogAnalyzer ---------------------------------------------------------
def _record_a_session() -> None:
    agent_logger = basic_logging()
    learning = tracehound.LearningLogger(learning_type="bandit", agent_id="creator_001")
    for step in range(5):
        learning.log_training_step(step=step, metrics={"loss": 1.0 / (step + 1)})
        learning.log_reward(action_id=f"a{step}", reward=float(step))
    agent_logger.error("Content generation failed", extra={"content_id": "c1"})
    interactions = tracehound.InteractionLogger()
    interactions.log_content_interaction(
        "share", "content_123", "curator_002", content_owner="creator_001"
    )
    interactions.log_viral_cascade(
        "content_123", "curator_002", origin_agent="creator_001", depth=1, reach=500
    )


def test_using_log_analyzer(capsys: pytest.CaptureFixture[str]) -> None:
    from tracehound import LogAnalyzer

    _record_a_session()

    # Analyze current session
    analyzer = LogAnalyzer()

    # Get agent activity summary
    agent_summary = analyzer.analyze_agent_activity("creator_001")
    print(f"Total logs: {agent_summary['total_logs']}")
    print(f"Actions: {agent_summary['action_counts']}")
    print(f"Errors: {agent_summary['errors']}")

    # Analyze learning progress
    learning_progress = analyzer.analyze_learning_progress("creator_001")
    print(f"Training steps: {learning_progress['total_training_steps']}")
    print(f"Total rewards: {learning_progress['total_rewards']}")

    # Find error patterns
    error_patterns = analyzer.find_error_patterns()
    print(f"Total errors: {error_patterns['total_errors']}")
    print(f"Most common: {error_patterns['most_common_messages']}")

    # Analyze interactions
    interactions = analyzer.analyze_interactions()
    print(f"Total interactions: {interactions['total_interactions']}")
    print(f"Viral content: {interactions['top_viral_content']}")

    # Trace agent journey
    journey = analyzer.trace_agent_journey("creator_001")
    for event in journey:
        print(f"{event['timestamp']}: {event['message']}")

    out = capsys.readouterr().out
    assert "Actions: {'create_content': 1}" in out
    assert "Errors: 1" in out
    assert "Training steps: 5" in out
    assert "Total rewards: 10.0" in out
    assert "Total errors: 1" in out
    assert "Content generation failed" in out
    assert "Total interactions: 2" in out
    assert "content_123" in out
    assert ": Agent action: create_content" in out
    # action, decision, learning update, 5 training steps, 5 rewards, the error
    assert agent_summary["total_logs"] == 14


# -- Quick Analysis Functions ---------------------------------------------------------------
def test_quick_analysis_functions(capsys: pytest.CaptureFixture[str]) -> None:
    from tracehound import analyze_session, debug_issue

    _record_a_session()

    # Quick session analysis
    analysis = analyze_session()
    print(analysis)

    # Generate debug report for an issue
    report = debug_issue("Agent creator_001 not generating content")
    print(report)

    out = capsys.readouterr().out
    assert "creator_001" in analysis and "Errors: 1" in analysis
    assert "Understood: agents creator_001" in report
    assert "Content generation failed" in report
    assert "Where to look next" in report
    assert "tracehound journey creator_001" in out


# -- Export Analysis --------------------------------------------------------------------------
def test_export_analysis() -> None:
    from tracehound import LogAnalyzer

    _record_a_session()

    from pathlib import Path

    analyzer = LogAnalyzer()

    # Export complete analysis
    analyzer.export_analysis(Path("trace/analysis_report.json"))

    report = json.loads(Path("trace/analysis_report.json").read_text())
    assert report["agents"]["creator_001"]["errors"] == 1
    assert report["learning"]["creator_001"]["total_training_steps"] == 5
    assert report["errors"]["total_errors"] == 1


# -- Debugging Workflow -----------------------------------------------------------------------
def test_debugging_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    from tracehound import LogAnalyzer, debug_issue

    _record_a_session()

    # 2. Generate debug report
    report = debug_issue("Description of the issue")
    print(report)

    # 3. Analyze error patterns
    analyzer = LogAnalyzer()
    errors = analyzer.find_error_patterns()

    # 4. Trace causality
    recent_errors = analyzer.get_errors()[-1]
    causes = analyzer.find_causality_chain(recent_errors, lookback_seconds=60)

    # 5. Examine agent journey
    journey = analyzer.trace_agent_journey("problematic_agent_id")

    assert "Debug report" in capsys.readouterr().out
    assert errors["total_errors"] == 1
    assert causes and all(c["reasons"] for c in causes)
    assert causes[0]["agent"] == "creator_001"
    assert journey == []  # no such agent in this session


# -- Best Practices -----------------------------------------------------------------------------
def test_best_practices() -> None:
    agent_logger = basic_logging()

    # 2. Include Context
    agent_logger.log_action(
        action_type="create_content",
        action_data={
            "content_type": "video",
            "target_audience": "tech_enthusiasts",
            "estimated_reach": 10000,
        },
        decision_context={
            "trending_topics": ["AI", "ML"],
            "audience_activity": "high",
            "time_of_day": "evening",
        },
    )

    # 3. Use Structured Data
    # Good
    agent_logger.info(
        "Content generated", extra={"content_id": "c123", "content_type": "video", "duration": 30}
    )

    # Avoid
    agent_logger.info(f"Generated video content c123 with duration 30")  # noqa: F541

    # 4. Log State Transitions
    agent_logger.log_state_change(
        old_state={"learning_stage": "bandit", "follower_count": 100},
        new_state={"learning_stage": "reinforcement", "follower_count": 500},
        trigger="threshold_reached",
    )

    # 5. Use Decorators for Automatic Tracing
    @trace_agent_action()
    async def perform_action(self, context):  # type: ignore[no-untyped-def]
        # Action automatically logged
        pass

    import asyncio

    owner = types.SimpleNamespace(logger=agent_logger)
    asyncio.run(perform_action(owner, {"x": 1}))

    events = _events()
    info = next(e for e in events if e.message == "Content generated")
    assert info.data["content_id"] == "c123" and info.data["duration"] == 30
    change = next(e for e in events if e.type == "state_change")
    assert change.data["changed_keys"] == ["learning_stage", "follower_count"]
    assert change.data["trigger"] == "threshold_reached"
    actions = [e for e in events if e.type == "action"]
    assert [a.name for a in actions] == ["create_content", "create_content", "perform_action"]
    assert actions[-1].agent_name == "creator_001"


# -- Log Level Filtering (Performance Considerations) ----------------------------------------
def test_log_level_filtering() -> None:
    # The seed's configuration fragment:
    config = {
        "logger": {
            "handlers": ["agent_file"],
            "level": "INFO",  # Instead of DEBUG
        }
    }
    tracehound.set_level("learning", config["logger"]["level"])  # type: ignore[index]
    learning = tracehound.LearningLogger(learning_type="bandit", agent_id="creator_001")
    learning.log_training_step(step=1, metrics={"loss": 0.5})  # DEBUG: dropped
    learning.log_reward(action_id="a1", reward=1.0)  # INFO: kept
    assert [e.type for e in _events()] == ["learning.reward"]


# -- Troubleshooting: "call setup_logging()" ------------------------------------------------
def test_setup_logging() -> None:
    import logging

    from tracehound import setup_logging

    setup_logging()
    log = logging.getLogger("agent.module")
    log.setLevel(logging.INFO)
    with tracehound.span("step", kind="agent", agent="creator_001"):
        log.info("inside a traced step")
    log.info("outside any trace")  # not captured
    logs = _events("log")
    assert [e.message for e in logs] == ["inside a traced step"]
    assert logs[0].agent_name == "creator_001" and logs[0].trace_id


# -- Example: Complete Agent Implementation -------------------------------------------------
async def test_complete_agent_implementation() -> None:
    from tracehound import AgentLogger, PerformanceLogger, measure_performance, trace_agent_action

    class CreatorAgent:
        def __init__(self, agent_id: str):
            self.agent_id = agent_id
            self.logger = AgentLogger(agent_id, "creator")
            self.performance_logger = PerformanceLogger()

            self.logger.info(
                "Agent initialized",
                extra={
                    "agent_type": "creator",
                    "initial_state": {"followers": 0, "content_count": 0},
                },
            )

        @trace_agent_action(action_type="create_content")
        async def create_content(self, context):  # type: ignore[no-untyped-def]
            """Create content - automatically traced"""

            with measure_performance("content_generation"):
                content = await self._generate_content(context)

            self.logger.log_content_generation(
                content_type=content.type, content_id=content.id, metadata=content.metadata
            )

            return content

        async def update_from_feedback(self, feedback):  # type: ignore[no-untyped-def]
            """Update strategy based on feedback"""

            self.logger.log_learning_update(
                learning_stage=self.learning_stage,
                update_data={"reward": feedback.reward, "action": feedback.action},
            )

            await self.evolve_strategy()

    class Agent(CreatorAgent):
        learning_stage = "bandit"
        evolved = 0

        async def _generate_content(self, context: Any) -> _Content:
            return _Content(context["n"])

        async def evolve_strategy(self) -> None:
            self.evolved += 1

    agent = Agent("creator_001")
    created = await agent.create_content({"n": 1})
    await agent.update_from_feedback(types.SimpleNamespace(reward=1.0, action="create_content"))
    assert created.id == "content_1" and agent.evolved == 1

    records = _records()
    action_span = next(r for r in records if isinstance(r, tracehound.Span) and r.kind == "task")
    op = next(r for r in records if isinstance(r, tracehound.Span) and r.kind == "operation")
    assert op.parent_id == action_span.id and op.agent_name == "creator_001"
    content_event = next(
        r for r in records if isinstance(r, tracehound.Event) and r.type == "content"
    )
    assert content_event.span_id == action_span.id
    assert content_event.data["content_id"] == "content_1"
    # analysis reads the same session from the database too
    db = tracehound.LogAnalyzer(store="trace/tracehound.db").analyze_agent_activity("creator_001")
    files = tracehound.LogAnalyzer().analyze_agent_activity("creator_001")
    assert db == files
    assert files["content_generated"] == 1 and files["action_counts"] == {"create_content": 1}
