"""Seed-000 loggers: the records each call produces, argument checks, level filtering."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import tracehound
from tests.conftest import flushed
from tracehound.exceptions import ValidationError
from tracehound.loggers import (
    AgentLogger,
    ArgumentError,
    EventLogger,
    InteractionLogger,
    LearningLogger,
    PerformanceLogger,
    SystemLogger,
    get_level,
    reset_levels,
    set_level,
    setup_logging,
)
from tracehound.pipeline.exporters._files import category_of
from tracehound.testing import InMemoryExporter


@pytest.fixture(autouse=True)
def _levels() -> Iterator[None]:
    reset_levels()
    yield
    reset_levels()


def events(memory: InMemoryExporter) -> list[tracehound.Event]:
    tracehound.flush_loggers()
    return flushed(memory).events


# -- AgentLogger ------------------------------------------------------------------------------


def test_agent_logger_records(memory: InMemoryExporter) -> None:
    lg = AgentLogger("creator_001", "creator")
    lg.log_action("create_content", {"content_type": "video"}, {"topic": "AI"})
    lg.log_decision("content_timing", {"at": "18:00"}, reasoning="peak")
    lg.log_learning_update("bandit", {"epsilon": 0.1})
    lg.log_state_change({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}, trigger="threshold")
    lg.log_content_generation("video", "c1", {"duration": 30})
    lg.debug("d")
    lg.info("i", extra={"k": 1})
    lg.warning("w")
    lg.error("e")
    lg.critical("c")
    got = events(memory)
    assert [e.type for e in got] == [
        "action", "decision", "learning.update", "state_change", "content",
        "log", "log", "log", "log", "log",
    ]  # fmt: skip
    assert [e.level for e in got[5:]] == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    for e in got:
        assert (e.agent_name, e.agent_id, e.agent_role) == ("creator_001", "creator_001", "creator")
        assert e.data["logger"] == "agent.creator"
    assert [e.data["event_type"] for e in got[:5]] == [
        "agent_action", "agent_decision", "learning_update", "state_change", "content_generation",
    ]  # fmt: skip
    assert got[3].data["changed_keys"] == ["b", "c"]
    assert got[4].data["content_id"] == "c1" and got[4].message == "Content generated: video c1"
    assert got[6].data["k"] == 1
    # categories of the seed's layout
    assert [category_of(e) for e in got[:5]] == ["agents"] * 5


def test_error_with_exception(memory: InMemoryExporter) -> None:
    lg = AgentLogger("a1", "r")
    try:
        raise KeyError("missing")
    except KeyError:
        lg.exception("lookup failed")
    try:
        raise ValueError("bad")
    except ValueError as exc:
        lg.error("explicit", exc_info=exc)
    first, second = events(memory)
    assert first.level == "ERROR" and first.data["error_type"] == "KeyError"
    assert "KeyError: 'missing'" in first.data["traceback"]
    assert second.data["error_message"] == "bad"


def test_extra_never_overrides_the_logger_fields(memory: InMemoryExporter) -> None:
    lg = AgentLogger("a1", "r")
    lg.info("real", extra={"message": "fake", "agent_id": "other", "level": "CRITICAL", "x": 1})
    (e,) = events(memory)
    assert e.message == "real" and e.level == "INFO" and e.agent_id == "a1"
    assert e.data["extra_message"] == "fake" and e.data["extra_agent_id"] == "other"
    assert e.data["x"] == 1


def test_hostile_values_are_recorded_not_raised(memory: InMemoryExporter) -> None:
    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    lg = AgentLogger("a1", "r")
    lg.log_action("act", {"obj": Weird(), "big": "x" * 100_000, "nested": {"deep": [1, {2, 3}]}})
    (e,) = events(memory)
    assert isinstance(e.data["action_data"]["obj"], str)
    assert len(e.data["action_data"]["big"]) < 100_000


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: AgentLogger(123, "r"), "agent_id"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", ""), "agent_role"),
        (lambda: AgentLogger("a", "r").log_action(None), "action_type"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").log_action("x", "not a dict"), "action_data"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").log_action("x", {}, [1]), "decision_context"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").log_decision("x", {}, reasoning=5), "reasoning"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").log_state_change("old", {}), "old_state"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").log_content_generation("v", None), "content_id"),  # type: ignore[arg-type]
        (lambda: AgentLogger("a", "r").info("m", extra=[1]), "extra"),  # type: ignore[arg-type]
        (lambda: LearningLogger("bandit").log_reward("a", "high"), "reward"),  # type: ignore[arg-type]
        (lambda: LearningLogger("bandit").log_training_step(-1), "step"),
        (lambda: LearningLogger("bandit").log_training_step(1.5), "step"),  # type: ignore[arg-type]
        (lambda: LearningLogger("bandit").log_exploration_exploitation("a", "yes"), "exploration"),  # type: ignore[arg-type]
        (lambda: LearningLogger(None), "learning_type"),  # type: ignore[arg-type]
        (lambda: PerformanceLogger(buffer_size=0), "buffer_size"),
        (lambda: PerformanceLogger().log_latency("op", "slow"), "duration_ms"),  # type: ignore[arg-type]
        (lambda: InteractionLogger().log_content_interaction("like", "c1"), "agent_id"),
        (lambda: InteractionLogger().log_collaboration(["a"], "pair"), "agents"),
        (lambda: tracehound.measure_performance(7), "name"),  # type: ignore[arg-type]
        (lambda: tracehound.trace_context(object(), "x"), "logger"),
        (lambda: tracehound.trace_agent_action(5), "action_type"),  # type: ignore[call-overload]
        (lambda: set_level("agents", "LOUD"), "level"),
    ],
)
def test_wrong_arguments_name_the_argument(memory: InMemoryExporter, call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field
    assert field in str(info.value)
    assert events(memory) == []


def test_argument_errors_are_type_errors_too() -> None:
    with pytest.raises(TypeError):
        AgentLogger(1, "r")  # type: ignore[arg-type]
    assert issubclass(ArgumentError, ValidationError)
    with pytest.raises(TypeError, match="agent_role"):
        AgentLogger("a")  # type: ignore[call-arg]


# -- levels -------------------------------------------------------------------------------------


def test_level_filtering_per_category_and_logger(memory: InMemoryExporter) -> None:
    agent = AgentLogger("a1", "creator")
    other = AgentLogger("a2", "critic")
    learning = LearningLogger("bandit", "a1")
    set_level("agents", "WARNING")
    set_level("agent.critic", "DEBUG")  # a logger name beats its category
    agent.info("dropped")
    agent.log_action("dropped")
    agent.warning("kept")
    other.debug("kept too")
    learning.log_training_step(1, {"loss": 1.0})  # learning: still DEBUG
    assert [e.message for e in events(memory)] == ["kept", "kept too", "Training step 1"]
    assert get_level("agents") == 30 and get_level("agents", "agent.critic") == 10
    memory.clear()
    set_level("*", "ERROR")
    set_level("agents", None)
    learning.log_reward("r", 1.0)
    agent.error("kept")
    assert [e.message for e in events(memory)] == ["kept"]


def test_level_setting_of_the_configuration(tmp_path: Any) -> None:
    from tracehound.testing import configure_for_tests

    mem = configure_for_tests(tmp_path, level="WARNING")
    lg = AgentLogger("a1", "r")
    lg.info("dropped")
    lg.warning("kept")
    assert [e.message for e in events(mem)] == ["kept"]


def test_setup_logging_sets_levels_and_configures(tmp_path: Any) -> None:
    from tracehound.integrations.logging import uninstrument_logging

    rt = setup_logging(
        tmp_path / "trace", levels={"learning": "INFO"}, level="DEBUG", exporters=("files",)
    )
    try:
        assert rt.settings.trace_dir == tmp_path / "trace"
        assert get_level("learning") == 20 and get_level("agents") == 10
        LearningLogger("bandit").log_training_step(1)
        AgentLogger("a1", "r").debug("kept")
        tracehound.flush()
        assert (tmp_path / "trace" / "agents" / "agents.log").is_file()
        assert not (tmp_path / "trace" / "learning").exists()
    finally:
        uninstrument_logging()


# -- LearningLogger -------------------------------------------------------------------------------


def test_learning_logger_records_and_convergence(memory: InMemoryExporter) -> None:
    lg = LearningLogger("bandit", "a1", window=3, tolerance=0.01)
    for step in range(8):
        lg.log_training_step(step, {"loss": 1.0 if step < 2 else 0.5, "note": "x"}, {"lr": 0.1})
    lg.log_reward("x1", 1.0)
    lg.log_reward("x2", 2.5)
    lg.log_exploration_exploitation("arm1", True, 0.2)
    lg.log_exploration_exploitation("arm2", False, 0.2)
    lg.log_policy_update({"best": "arm2"}, reason="better reward")
    lg.log_convergence("accuracy", 0.9, True, threshold=0.01, step=7)
    got = events(memory)
    steps = [e for e in got if e.type == "learning.step"]
    assert len(steps) == 8 and all(e.level == "DEBUG" for e in steps)
    conv = [e for e in got if e.data.get("event_type") == "convergence"]
    assert conv[0].data["metric"] == "loss" and conv[0].data["converged"] is True
    assert conv[0].data["step"] == 7
    assert conv[-1].data["metric"] == "accuracy"
    rewards = [e.data["cumulative_reward"] for e in got if e.type == "learning.reward"]
    assert rewards == [1.0, 3.5]
    assert lg.exploration_rate == 0.5
    status = lg.convergence_status()
    assert status["loss"]["converged"] is True
    assert all(category_of(e) == "learning" for e in got)


# -- PerformanceLogger and measurements ----------------------------------------------------------


def test_performance_logger_buffers_until_full(memory: InMemoryExporter) -> None:
    perf = PerformanceLogger(buffer_size=3)
    perf.log_latency("op", 5.0)
    perf.log_throughput("op", 100, 2.0)
    assert flushed(memory).metrics == [] and perf.pending == 2
    t_before_flush = time.time_ns()
    time.sleep(0.01)
    perf.record("queue_depth", 7, unit="items")
    metrics = flushed(memory).metrics
    assert [m.name for m in metrics] == ["latency", "throughput", "queue_depth"]
    assert metrics[0].timestamp < t_before_flush  # the time it was recorded, not flushed
    assert metrics[0].tags == {"operation": "op", "event_type": "latency"}
    assert metrics[1].value == 50.0 and metrics[1].unit == "items/s"
    assert perf.pending == 0 and perf.flushed == 3


def test_performance_logger_flush_stats_and_resources(memory: InMemoryExporter) -> None:
    perf = PerformanceLogger(agent_id="a1")
    for ms in (10.0, 30.0):
        perf.log_latency("slow_op", ms)
    perf.log_latency("fast_op", 1.0, success=False)
    usage = perf.log_resource_usage()
    assert usage["memory_rss"] > 0 and "cpu_percent" in usage
    assert perf.flush() == 7
    assert perf.stats("slow_op") == {
        "count": 2, "errors": 0, "total_ms": 40.0, "mean_ms": 20.0, "min_ms": 10.0, "max_ms": 30.0,
    }  # fmt: skip
    assert perf.stats()["fast_op"]["errors"] == 1
    assert [b["operation"] for b in perf.bottlenecks()] == ["slow_op", "fast_op"]
    assert perf.bottlenecks(threshold_ms=15) == [{"operation": "slow_op", **perf.stats("slow_op")}]
    metrics = flushed(memory).metrics
    assert {m.agent_name for m in metrics} == {"a1"}
    assert {"memory_rss", "cpu_percent"} <= {m.name for m in metrics}


def test_performance_logger_flushes_old_entries(memory: InMemoryExporter) -> None:
    perf = PerformanceLogger(buffer_size=100, max_age=0.01)
    perf.log_latency("a", 1.0)
    time.sleep(0.03)
    perf.log_latency("b", 1.0)
    assert perf.pending == 0


def test_measure_performance_sync_and_failure(memory: InMemoryExporter) -> None:
    perf = PerformanceLogger(buffer_size=1)
    with tracehound.measure_performance("work", logger=perf, batch=3) as m:
        time.sleep(0.002)
    assert m.elapsed_ms is not None and m.elapsed_ms >= 2
    with pytest.raises(ZeroDivisionError), tracehound.measure_performance("boom", logger=perf):
        1 / 0  # noqa: B018
    rec = flushed(memory)
    spans = {s.name: s for s in rec.spans}
    assert spans["work"].kind == "operation" and spans["work"].attributes["batch"] == 3
    assert spans["boom"].status == "failed" and spans["boom"].error_type == "ZeroDivisionError"
    latency = {m.tags["operation"]: m for m in rec.metrics}
    assert latency["boom"].tags["success"] is False
    assert category_of(spans["work"]) == "performance"


async def test_trace_performance_sync_async_and_bare(memory: InMemoryExporter) -> None:
    @tracehound.trace_performance("named")
    def sync_fn(x: int) -> int:
        return x + 1

    @tracehound.trace_performance
    async def async_fn(x: int) -> int:
        return x * 2

    @tracehound.trace_performance()
    def gen() -> Iterator[int]:
        yield 1
        yield 2

    assert sync_fn(1) == 2
    assert await async_fn(2) == 4
    assert list(gen()) == [1, 2]
    spans = {s.name: s.kind for s in flushed(memory).spans}
    assert spans == {
        "named": "operation",
        "test_trace_performance_sync_async_and_bare.<locals>.async_fn": "operation",
        "test_trace_performance_sync_async_and_bare.<locals>.gen": "operation",
    }


# -- interactions, system, events -------------------------------------------------------------------


def test_interaction_logger(memory: InMemoryExporter) -> None:
    il = InteractionLogger(agent_id="reader_1")
    il.log_content_interaction("like", "c1", content_owner="creator_001")
    il.log_content_interaction("comment", "c1", "reader_2", details={"text": "nice"})
    il.log_social_connection("reader_1", "creator_001")
    il.log_viral_cascade("c1", "reader_1", origin_agent="creator_001", reach=100)
    il.log_viral_cascade("c1", "reader_3", parent_agent="reader_1", reach=50)
    il.log_collaboration(["creator_001", "critic_001"], "review", outcome="approved")
    got = events(memory)
    assert all(e.type == "interaction" and category_of(e) == "interactions" for e in got)
    assert [e.data["event_type"] for e in got] == [
        "content_interaction", "content_interaction", "social_connection",
        "viral_cascade", "viral_cascade", "collaboration",
    ]  # fmt: skip
    assert got[0].agent_name == "reader_1" and got[0].data["target_agent"] == "creator_001"
    assert got[1].data["text"] == "nice"
    assert got[4].data["depth"] == 2 and got[4].data["cascade_reach"] == 150
    assert il.cascade("c1") == {
        "content_id": "c1", "origin_agent": "creator_001", "depth": 2, "reach": 150,
        "resharers": ["reader_1", "reader_3"],
    }  # fmt: skip
    assert got[5].data["agents"] == ["creator_001", "critic_001"]


def test_system_and_event_loggers(memory: InMemoryExporter) -> None:
    sl = SystemLogger()
    sl.log_initialization("framework", {"agents": 3})
    sl.log_config_change("epsilon", 0.1, 0.05, source="tuner")
    sl.log_module_loaded("bandit", "1.2")
    sl.log_module_loaded("rl", success=False)
    sl.info("plain system line")
    el = EventLogger()
    el.log_simulation_start({"seed": 1})
    el.log_checkpoint("epoch_1", {"step": 100})
    el.log_phase_transition("bandit", "reinforcement", reason="threshold")
    el.log_milestone("1000 followers")
    el.log_simulation_end({"steps": 100})
    got = events(memory)
    assert [category_of(e) for e in got] == ["system"] * 5 + ["events"] * 5
    assert got[3].level == "WARNING"
    assert got[1].message == "Configuration changed: epsilon = 0.05 (was 0.1)"
    assert [e.data["event_type"] for e in got[5:]] == [
        "simulation_start", "checkpoint", "phase_transition", "milestone", "simulation_end",
    ]  # fmt: skip
    assert all(e.agent_name is None for e in got)


def test_disabled_tracing_is_a_no_op(tmp_path: Any) -> None:
    tracehound.configure(enabled=False, trace_dir=tmp_path)
    lg = AgentLogger("a1", "r")
    lg.log_action("x")
    perf = PerformanceLogger(buffer_size=1)
    perf.log_latency("op", 1.0)
    with tracehound.measure_performance("m"):
        pass
    assert not (tmp_path / "agents").exists()
