"""stdlib ``logging`` and structlog records inside traced code land in the trace."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

import tracehound
from tests.conftest import flushed
from tracehound.integrations.logging import (
    TracehoundHandler,
    TracehoundProcessor,
    add_trace_context,
    execution_id,
    instrument_logging,
    trace_fields,
    uninstrument_logging,
)
from tracehound.loggers import reset_levels, set_level
from tracehound.testing import InMemoryExporter


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    structlog.reset_defaults()
    reset_levels()
    yield
    uninstrument_logging()
    structlog.reset_defaults()
    reset_levels()


@pytest.fixture
def log() -> logging.Logger:
    lg = logging.getLogger("app.agent")
    lg.setLevel(logging.DEBUG)
    return lg


def test_records_inside_spans_carry_ids_and_land_in_the_trace(
    memory: InMemoryExporter, log: logging.Logger
) -> None:
    handler = instrument_logging()
    assert instrument_logging() is handler  # idempotent
    log.info("before any span")
    with tracehound.span("run", kind="agent", agent="planner", agent_id="planner_1") as agent_span:
        with tracehound.span("step", kind="stage") as stage:
            log.warning("low budget: %d left", 3, extra={"budget": 3})
            try:
                raise ValueError("bad plan")
            except ValueError:
                log.exception("planning failed")
            ids = trace_fields()
    rec = flushed(memory)
    warning, failure = rec.events
    assert warning.type == "log" and warning.name == "app.agent"
    assert warning.level == "WARNING" and warning.message == "low budget: 3 left"
    assert warning.trace_id == agent_span.trace_id and warning.span_id == stage.span_id
    assert warning.agent_name == "planner" and warning.agent_id == "planner_1"
    assert warning.data["execution_id"] == agent_span.span_id
    assert warning.data["budget"] == 3 and warning.data["logger"] == "app.agent"
    assert warning.data["function"] == "test_records_inside_spans_carry_ids_and_land_in_the_trace"
    assert failure.level == "ERROR" and failure.data["error_type"] == "ValueError"
    assert "bad plan" in failure.data["traceback"]
    assert ids == {
        "trace_id": agent_span.trace_id,
        "span_id": stage.span_id,
        "agent_name": "planner",
        "agent_id": "planner_1",
        "execution_id": agent_span.span_id,
    }
    assert handler.captured == 2


def test_every_record_gets_prefixed_id_attributes(
    memory: InMemoryExporter, log: logging.Logger
) -> None:
    instrument_logging()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    log.addHandler(keep)
    try:
        log.info("outside")
        with tracehound.span("run", kind="agent", agent="planner") as sp:
            log.info("inside", extra={"agent_id": "user-field-no-clash"})
    finally:
        log.removeHandler(keep)
    assert seen[0].tracehound_trace_id is None  # type: ignore[attr-defined]
    assert seen[1].tracehound_trace_id == sp.trace_id  # type: ignore[attr-defined]
    assert seen[1].tracehound_execution_id == sp.span_id  # type: ignore[attr-defined]
    assert seen[1].agent_id == "user-field-no-clash"  # type: ignore[attr-defined]
    uninstrument_logging()
    record = logging.getLogRecordFactory()("x", 10, "f", 1, "m", None, None)
    assert not hasattr(record, "tracehound_trace_id")  # the factory is restored
    assert not any(isinstance(h, TracehoundHandler) for h in logging.getLogger().handlers)


def test_trace_context_fields_and_level_filtering(
    memory: InMemoryExporter, log: logging.Logger
) -> None:
    instrument_logging()
    with tracehound.trace_context(
        tracehound.AgentLogger("creator_001", "creator"), "ctx", content_id="c9"
    ):
        log.debug("inside context")
    set_level("agents", "WARNING")
    with tracehound.span("agent run", kind="agent", agent="creator_001"):
        log.info("filtered out")
        log.error("kept")
    with tracehound.span("no agent"):
        log.info("system category, still DEBUG")
    logs = [e for e in flushed(memory).events if e.name == "app.agent"]
    assert [e.message for e in logs] == ["inside context", "kept", "system category, still DEBUG"]
    assert logs[0].data["content_id"] == "c9"


def test_tracehound_internal_logs_are_never_captured(memory: InMemoryExporter) -> None:
    instrument_logging()
    internal = logging.getLogger("tracehound.loggers")
    internal.setLevel(logging.DEBUG)
    with tracehound.span("x"):
        internal.warning("internal")
    assert flushed(memory).events == []


def test_capture_outside_spans_when_asked(memory: InMemoryExporter, log: logging.Logger) -> None:
    handler = TracehoundHandler(only_in_spans=False)
    log.addHandler(handler)
    try:
        log.info("session-level line")
    finally:
        log.removeHandler(handler)
    (e,) = flushed(memory).events
    assert e.trace_id is None and e.message == "session-level line"


def test_structlog_processor(memory: InMemoryExporter) -> None:
    instrument_logging()  # inserts the processor into structlog's configuration
    procs = structlog.get_config()["processors"]
    assert any(isinstance(p, TracehoundProcessor) for p in procs)
    assert isinstance(procs[-1], structlog.dev.ConsoleRenderer)
    slog = structlog.get_logger("svc")
    slog.info("outside")
    with tracehound.span("run", kind="agent", agent="writer") as sp:
        slog.warning("draft too long", words=1200)
        try:
            raise KeyError("k")
        except KeyError:
            slog.exception("lookup failed")
    warning, failure = flushed(memory).events
    assert warning.message == "draft too long" and warning.level == "WARNING"
    assert warning.data["words"] == 1200 and warning.data["source"] == "structlog"
    assert warning.trace_id == sp.trace_id and warning.agent_name == "writer"
    assert warning.data["execution_id"] == sp.span_id
    assert failure.level == "ERROR" and "KeyError" in (failure.data.get("traceback") or "")


def test_structlog_through_stdlib_is_captured_once(memory: InMemoryExporter) -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            TracehoundProcessor(),
            add_trace_context,
            structlog.processors.KeyValueRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    instrument_logging(structlog=False)
    logging.getLogger("svc2").setLevel(logging.INFO)
    slog = structlog.get_logger("svc2")
    with tracehound.span("run", kind="agent", agent="critic") as sp:
        slog.info("reviewed", score=7)
        logging.getLogger("svc2").info("plain stdlib line")
    events = flushed(memory).events
    assert [e.message for e in events] == ["reviewed", "plain stdlib line"]
    assert events[0].data["score"] == 7 and events[0].span_id == sp.span_id


def test_execution_id_outside_agent_spans() -> None:
    assert execution_id() is None
    assert trace_fields() == {}
