"""The seed-000 file layout exporter and its reader."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracehound.model import Event, Metric, Record, Span, new_id
from tracehound.pipeline._exporter import Exporter
from tracehound.pipeline.exporters._files import (
    FileExporter,
    ReadStats,
    category_of,
    decode_line,
    encode_line,
    list_sessions,
    read_records,
    safe_name,
)

SRC = Path(__file__).resolve().parents[3] / "src"
SID = "20250115_103045"
T0 = 1_736_937_045_123_456_789  # 2025-01-15T10:30:45.123456789Z
TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00\Z")
LINE_KEYS = ["timestamp", "session_id", "level", "logger", "message", "extra"]


# -- builders ---------------------------------------------------------------------------
def span(
    *,
    kind: str = "task",
    name: str = "work",
    status: str = "success",
    start: int = T0,
    dur_ns: int | None = 2_500_000,
    session: str = SID,
    **kw: Any,
) -> Span:
    end = None if dur_ns is None else start + dur_ns
    return Span(
        id=kw.pop("id", None) or new_id(),
        trace_id=kw.pop("trace_id", "trace-1"),
        parent_id=kw.pop("parent_id", None),
        session_id=session,
        project="proj",
        kind=kind,
        name=name,
        status=status,
        start_time=start,
        end_time=end,
        duration_ms=None if dur_ns is None else dur_ns / 1e6,
        **kw,
    )


def event(
    type_: str = "action",
    *,
    name: str = "act",
    level: str = "INFO",
    ts: int = T0,
    session: str = SID,
    **kw: Any,
) -> Event:
    return Event(
        id=kw.pop("id", None) or new_id(),
        trace_id=kw.pop("trace_id", None),
        span_id=kw.pop("span_id", None),
        session_id=session,
        project="proj",
        timestamp=ts,
        type=type_,
        name=name,
        level=level,
        **kw,
    )


def metric(name: str = "latency", value: float = 12.5, *, ts: int = T0, **kw: Any) -> Metric:
    return Metric(
        id=kw.pop("id", None) or new_id(),
        session_id=kw.pop("session_id", SID),
        project="proj",
        timestamp=ts,
        name=name,
        value=value,
        unit=kw.pop("unit", "ms"),
        **kw,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def ids(path: Path) -> list[str]:
    return [obj["extra"]["id"] for obj in lines(path)]


def by_id(records: Iterable[Record]) -> dict[tuple[str, str], Record]:
    return {(r.record_type, r.id): r for r in records}


@pytest.fixture
def trace_dir(tmp_path: Path) -> Path:
    return tmp_path / "trace"


def export(trace_dir: Path, records: list[Record], **kw: Any) -> FileExporter:
    exp = FileExporter(trace_dir, SID, project="proj", **kw)
    exp.export(records)
    return exp


# -- contract and layout ----------------------------------------------------------------
def test_contract(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID)
    assert isinstance(exp, Exporter)
    assert exp.name == "files"
    assert exp.force_flush() is True
    assert exp.force_flush(timeout=0.1) is True
    exp.export([])
    exp.shutdown()
    assert not trace_dir.exists(), "nothing is created before the first record"


def test_layout_and_file_names(trace_dir: Path) -> None:
    records: list[Record] = [
        span(kind="agent", name="CreatorAgent.run", agent_name="creator_001"),
        span(kind="llm", name="chat", status="failed", agent_name="creator_001", error_type="E"),
        span(kind="operation", name="content_generation"),
        event("learning.reward", agent_id="creator_001", agent_name="creator_001"),
        event("interaction", name="like"),
        event("system", name="init"),
        event("milestone", name="start"),
        metric(),
    ]
    exp = export(trace_dir, records)
    exp.shutdown()
    files = sorted(str(p.relative_to(trace_dir)) for p in trace_dir.rglob("*") if p.is_file())
    visible = [f for f in files if "/." not in f and not f.startswith(".")]
    assert visible == [
        "agents/agents.log",
        "errors/errors.log",
        "errors/errors.txt",
        "events/events.log",
        "interactions/interactions.log",
        "learning/learning.log",
        "performance/performance.log",
        f"session_{SID}/agents/creator_001.log",
        f"session_{SID}/trace_summary.json",
        "system/system.log",
    ]


# -- categories -------------------------------------------------------------------------
CATEGORY_CASES: list[tuple[str, Record, str]] = [
    ("agent span", span(kind="agent"), "agents"),
    ("stage span", span(kind="stage"), "agents"),
    ("llm span", span(kind="llm"), "agents"),
    ("tool span", span(kind="tool"), "agents"),
    ("task span", span(kind="task"), "agents"),
    ("operation span", span(kind="operation"), "performance"),
    ("action", event("action", agent_name="a"), "agents"),
    ("decision", event("decision", agent_name="a"), "agents"),
    ("state_change", event("state_change", agent_name="a"), "agents"),
    ("content", event("content", agent_name="a"), "agents"),
    ("log with agent", event("log", agent_name="a"), "agents"),
    ("log without agent", event("log"), "system"),
    ("learning.step", event("learning.step"), "learning"),
    ("learning.reward", event("learning.reward", agent_id="c1"), "learning"),
    ("learning.explore", event("learning.explore"), "learning"),
    ("learning.update", event("learning.update"), "learning"),
    (
        "learning.update from AgentLogger",
        event("learning.update", agent_name="c1", data={"logger": "agent.creator"}),
        "agents",
    ),
    ("interaction", event("interaction"), "interactions"),
    ("system", event("system"), "system"),
    ("milestone", event("milestone"), "events"),
    ("alert", event("alert"), "events"),
    ("success", event("success"), "events"),
    ("error event", event("error", level="WARNING"), "events"),
    ("unknown type with agent", event("custom", agent_name="a"), "agents"),
    ("unknown type without agent", event("custom"), "system"),
    ("metric", metric(), "performance"),
    ("span override", span(attributes={"category": "learning"}), "learning"),
    ("event override", event("action", data={"category": "interactions"}), "interactions"),
    ("metric override", metric(tags={"category": "system"}), "system"),
    ("custom category", event("action", data={"category": "billing"}), "billing"),
    ("unsafe override ignored", span(attributes={"category": "../etc"}), "agents"),
    ("session_ override ignored", event("system", data={"category": "session_x"}), "system"),
    ("non-string override ignored", event("interaction", data={"category": 3}), "interactions"),
]


@pytest.mark.parametrize(
    ("record", "expected"), [c[1:] for c in CATEGORY_CASES], ids=[c[0] for c in CATEGORY_CASES]
)
def test_category_mapping(trace_dir: Path, record: Record, expected: str) -> None:
    assert category_of(record) == expected
    export(trace_dir, [record]).shutdown()
    assert ids(trace_dir / expected / f"{expected}.log") == [record.id]
    others = [
        p
        for p in trace_dir.glob("*/*.log")
        if p.parent.name != expected and not p.parent.name.startswith("session_")
    ]
    assert others == []


# -- errors -----------------------------------------------------------------------------
def test_errors_go_to_both_places_and_the_text_file(trace_dir: Path) -> None:
    tb = 'Traceback (most recent call last):\n  File "agent.py", line 3, in run\nTimeoutError: slow\n'
    failed = span(
        kind="llm",
        name="chat",
        status="failed",
        agent_name="PsychologistAgent",
        agent_role="therapist",
        model="gpt-4",
        error_type="TimeoutError",
        error_message="slow",
        error_traceback=tb,
    )
    timeout = span(kind="tool", name="search", status="timeout", agent_name="a")
    critical = event(
        "system",
        name="crash",
        level="CRITICAL",
        message="worker died",
        data={"error_type": "OSError", "error_message": "disk", "traceback": "Traceback: boom"},
    )
    err_event = event("error", name="oops", level="ERROR", agent_id="creator_001", message="bad")
    warning = event("error", name="meh", level="WARNING")
    ok = span(kind="agent", name="ok")
    export(trace_dir, [failed, timeout, critical, err_event, warning, ok]).shutdown()

    assert ids(trace_dir / "agents/agents.log") == [failed.id, timeout.id, ok.id]
    assert ids(trace_dir / "system/system.log") == [critical.id]
    assert ids(trace_dir / "events/events.log") == [err_event.id, warning.id]
    assert ids(trace_dir / "errors/errors.log") == [
        failed.id,
        timeout.id,
        critical.id,
        err_event.id,
    ]

    text = (trace_dir / "errors/errors.txt").read_text()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert len(blocks) == 4
    first = blocks[0]
    assert first.startswith("==== 2025-01-15T10:30:45.") and " ERROR " in first
    assert "agent:   PsychologistAgent (therapist)" in first
    assert "llm chat gpt-4: failed in 2.5 ms — TimeoutError: slow" in first
    assert "error:   TimeoutError: slow" in first
    assert f"span {failed.id}" in first
    assert first.rstrip().endswith(tb.rstrip())
    assert (
        "CRITICAL" in blocks[2] and "OSError: disk" in blocks[2] and "Traceback: boom" in blocks[2]
    )
    assert "agent:   creator_001" in blocks[3]


def test_errors_category_override_is_written_once(trace_dir: Path) -> None:
    rec = event("alert", level="ERROR", data={"category": "errors"})
    export(trace_dir, [rec]).shutdown()
    assert ids(trace_dir / "errors/errors.log") == [rec.id]


# -- per-agent session files --------------------------------------------------------------
def test_per_agent_session_files(trace_dir: Path) -> None:
    a1 = span(kind="agent", agent_name="Creator", agent_id="creator_001")
    a2 = event("learning.step", level="DEBUG", agent_id="creator_001")
    a3 = span(kind="llm", status="failed", agent_name="Creator", agent_id="creator_001")
    b1 = event("decision", agent_name="PsychologistAgent")
    m = metric(agent_name="PsychologistAgent")
    odd = event("action", agent_name="team/lead: ünï")
    none = event("system")
    export(trace_dir, [a1, a2, a3, b1, m, odd, none]).shutdown()
    agents = trace_dir / f"session_{SID}" / "agents"
    assert ids(agents / "Creator.log") == [a1.id, a3.id]  # agent_name wins (metrics have only it)
    assert ids(agents / "creator_001.log") == [a2.id]  # agent_id when there is no name
    assert ids(agents / "PsychologistAgent.log") == [b1.id, m.id]
    odd_name = safe_name("team/lead: ünï")
    assert re.fullmatch(r"team_lead_n-[0-9a-f]{8}", odd_name)
    assert ids(agents / f"{odd_name}.log") == [odd.id]
    assert len(list(agents.iterdir())) == 4


def test_safe_name() -> None:
    assert safe_name("creator_001") == "creator_001"
    assert safe_name("a.b-c") == "a.b-c"
    for bad in ("..", ".hidden", "a/b", "", "x" * 500, "con\x00trol"):
        name = safe_name(bad)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name), name
        assert len(name) <= 120
    assert safe_name("a/b") != safe_name("a_b")


def test_records_of_another_session_go_to_their_own_session_dir(trace_dir: Path) -> None:
    old = span(agent_name="a", session="19990101_000000")
    new = span(agent_name="a")
    exp = export(trace_dir, [old, new])
    exp.shutdown()
    assert ids(trace_dir / "session_19990101_000000/agents/a.log") == [old.id]
    assert ids(trace_dir / f"session_{SID}/agents/a.log") == [new.id]
    assert exp.summary()["totals"]["records"] == 1
    assert sorted(list_sessions(trace_dir)) == ["19990101_000000", SID]


def test_agent_file_handles_are_capped(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID, max_open_files=3)
    for round_ in range(3):
        exp.export([span(agent_name=f"agent_{i}", start=T0 + round_) for i in range(10)])
        assert len(exp._agent_files) <= 3
    exp.shutdown()
    for i in range(10):
        assert len(ids(trace_dir / f"session_{SID}/agents/agent_{i}.log")) == 3


# -- line format ------------------------------------------------------------------------
def test_line_format_is_the_seed_record(trace_dir: Path) -> None:
    action = event(
        "action",
        name="create_content",
        agent_name="creator_001",
        agent_id="creator_001",
        agent_role="creator",
        message="Agent action: create_content",
        data={
            "event_type": "agent_action",
            "action_type": "create_content",
            "action_data": {"k": 1},
        },
    )
    logged = event("log", name="hello", data={"logger": "my.module"}, agent_name="x")
    sys_evt = event("system", name="init")
    agent_span = span(kind="agent", name="PsychologistAgent.run", dur_ns=123_400_000)
    llm = span(
        kind="llm",
        name="chat",
        status="failed",
        dur_ns=50_000_000,
        model="gpt-4",
        error_type="TimeoutError",
        error_message="read timed out",
    )
    running = span(kind="agent", name="Long.run", status="running", dur_ns=None)
    m = metric("latency", 12.5, unit="ms")
    export(trace_dir, [action, logged, sys_evt, agent_span, llm, running, m]).shutdown()

    rows = {obj["extra"]["id"]: obj for obj in lines(trace_dir / "agents/agents.log")}
    rows.update({obj["extra"]["id"]: obj for obj in lines(trace_dir / "system/system.log")})
    rows.update(
        {obj["extra"]["id"]: obj for obj in lines(trace_dir / "performance/performance.log")}
    )
    for obj in rows.values():
        assert list(obj) == LINE_KEYS
        assert TS_RE.match(obj["timestamp"]), obj["timestamp"]
        assert obj["session_id"] == SID
        assert obj["extra"]["record_type"] in ("span", "event", "metric")
        assert "event_type" in obj["extra"]

    a = rows[action.id]
    assert a["timestamp"] == "2025-01-15T10:30:45.123456+00:00"
    assert (a["level"], a["logger"], a["message"]) == (
        "INFO",
        "agent.creator",
        "Agent action: create_content",
    )
    assert a["extra"]["event_type"] == "agent_action"
    assert a["extra"]["record_type"] == "event"
    assert a["extra"]["agent_id"] == "creator_001" and a["extra"]["agent_role"] == "creator"
    assert a["extra"]["data"]["action_data"] == {"k": 1}
    assert a["extra"]["timestamp"] == "2025-01-15T10:30:45.123456789+00:00"

    assert rows[logged.id]["logger"] == "my.module"
    assert rows[sys_evt.id]["logger"] == "system"
    assert rows[sys_evt.id]["message"] == "init"  # no message: the name
    assert rows[sys_evt.id]["extra"]["event_type"] == "system"

    s = rows[agent_span.id]
    assert (s["level"], s["logger"]) == ("INFO", "span.agent")
    assert s["message"] == "agent PsychologistAgent.run: success in 123.4 ms"
    assert s["timestamp"] == "2025-01-15T10:30:45.246856+00:00"  # the end of the span
    assert s["extra"]["start_time"] == "2025-01-15T10:30:45.123456789+00:00"
    assert s["extra"]["end_time"] == "2025-01-15T10:30:45.246856789+00:00"
    assert (s["extra"]["record_type"], s["extra"]["event_type"]) == ("span", "span")
    assert "parent_id" not in s["extra"]  # None fields are left out

    f = rows[llm.id]
    assert (f["level"], f["logger"]) == ("ERROR", "span.llm")
    assert f["message"] == "llm chat gpt-4: failed in 50.0 ms — TimeoutError: read timed out"

    r = rows[running.id]
    assert r["message"] == "agent Long.run: running"
    assert r["timestamp"] == "2025-01-15T10:30:45.123456+00:00"

    mm = rows[m.id]
    assert (mm["level"], mm["logger"], mm["message"]) == ("INFO", "performance", "latency=12.5ms")
    assert mm["extra"]["record_type"] == "metric"


def test_encode_and_decode_line() -> None:
    rec = span(kind="llm", model="m", input_tokens=3, total_cost=0.5, attributes={"x": [1, "y"]})
    raw = encode_line(rec)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert decode_line(raw) == rec
    with pytest.raises(ValueError):
        decode_line(raw[:-20])


def test_values_that_are_not_json_safe_do_not_break_the_export(trace_dir: Path) -> None:
    rec = span(attributes={1: "int key", "obj": object()})  # type: ignore[dict-item]
    export(trace_dir, [rec, span()]).shutdown()
    assert len(lines(trace_dir / "agents/agents.log")) == 2


# -- round trip -------------------------------------------------------------------------
def full_records() -> list[Record]:
    parent = span(kind="agent", name="Psych.run", agent_name="Psych", agent_role="therapist")
    return [
        parent,
        Span(
            id=new_id(),
            trace_id=parent.trace_id,
            parent_id=parent.id,
            session_id=SID,
            project="proj",
            kind="llm",
            name="chat",
            status="failed",
            start_time=T0 + 1,
            end_time=T0 + 987_654_321,
            duration_ms=987.654320,
            agent_name="Psych",
            agent_role="therapist",
            agent_id="psych-1",
            conversation_id="conv-1",
            user_id="user-1",
            status_message="upstream failed",
            input=[{"role": "user", "content": 'héllo \u2603 \n"quoted"'}],
            output="partial",
            error_type="RateLimitError",
            error_message="429",
            error_traceback="Traceback (most recent call last):\n  ...\nRateLimitError: 429\n",
            attributes={"call_type": "inference", "nested": {"a": [1, 2.5, None, True]}},
            provider="openai",
            model="gpt-4o",
            input_tokens=120,
            output_tokens=30,
            cached_tokens=100,
            reasoning_tokens=0,
            total_tokens=150,
            input_cost=0.0003,
            output_cost=0.0004,
            total_cost=0.0007,
            cost_source="genai-prices",
            is_streaming=True,
            chunks_count=12,
            time_to_first_token_ms=81.25,
        ),
        span(kind="operation", name="op", dur_ns=0, start=T0 + 5),
        span(kind="stage", name="INIT", status="running", dur_ns=None, start=T0 + 6),
        event(
            "decision",
            name="content_timing",
            agent_name="c",
            agent_role="creator",
            agent_id="c1",
            trace_id="t",
            span_id="s",
            message="chose",
            data={"reasoning": "peak", "score": 0.25, "list": [], "empty": {}},
            ts=T0 + 7,
        ),
        event(
            "learning.step", level="DEBUG", data={"step": 100, "metrics": {"loss": 0.25}}, ts=T0 + 8
        ),
        event("alert", level="CRITICAL", ts=T0 + 9),
        metric(
            "tokens", 3.0, unit=None, tags={"k": "v"}, trace_id="t", span_id="s", agent_name="c"
        ),
        metric("ratio", -0.5, ts=0),  # the epoch itself
    ]


def assert_same(got: Iterable[Record], expected: Iterable[Record]) -> None:
    g, e = by_id(got), by_id(expected)
    assert g.keys() == e.keys()
    for key, rec in e.items():
        other = g[key]
        assert type(other) is type(rec)
        for name, value in zip(rec._fields, rec, strict=True):
            got_value = getattr(other, name)
            assert got_value == value and type(got_value) is type(value), (
                key,
                name,
                got_value,
                value,
            )


def test_round_trip(trace_dir: Path) -> None:
    records = full_records()
    export(trace_dir, records).shutdown()
    stats = ReadStats()
    got = list(read_records(trace_dir, stats=stats))
    assert_same(got, records)
    assert stats.corrupt == 0 and stats.foreign == 0
    assert stats.records == len(records)
    assert stats.duplicates > 0  # errors twice, agent records in the session files
    # the same through a session directory and through one file
    assert_same(read_records(trace_dir / f"session_{SID}"), records)
    one = list(read_records(trace_dir / "learning/learning.log"))
    assert_same(one, [r for r in records if category_of(r) == "learning"])
    # sorted by time
    ordered = list(read_records(trace_dir, sort=True))
    times = [r.start_time if isinstance(r, Span) else r.timestamp for r in ordered]
    assert times == sorted(times)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=8), children, max_size=4
        )
    ),
    max_leaves=12,
)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
IDS = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
    min_size=1,
    max_size=40,
)
TIMES = st.integers(min_value=0, max_value=4_102_444_800_000_000_000)  # up to 2100
OPT_TEXT = st.none() | TEXT


@st.composite
def any_record(draw: st.DrawFn) -> Record:
    which = draw(st.sampled_from(["span", "event", "metric"]))
    start = draw(TIMES)
    if which == "span":
        end = draw(st.none() | st.integers(min_value=start, max_value=start + 10**12))
        return Span(
            id=draw(IDS),
            trace_id=draw(IDS),
            parent_id=draw(st.none() | IDS),
            session_id=SID,
            project=draw(TEXT),
            kind=draw(st.sampled_from(["agent", "stage", "llm", "tool", "task", "operation"])),
            name=draw(TEXT),
            status=draw(st.sampled_from(["running", "success", "failed", "timeout", "skipped"])),
            start_time=start,
            end_time=end,
            duration_ms=None if end is None else (end - start) / 1e6,
            agent_name=draw(OPT_TEXT),
            agent_role=draw(OPT_TEXT),
            agent_id=draw(OPT_TEXT),
            status_message=draw(OPT_TEXT),
            input=draw(JSON),
            output=draw(JSON),
            error_type=draw(OPT_TEXT),
            error_message=draw(OPT_TEXT),
            error_traceback=draw(OPT_TEXT),
            attributes=draw(st.dictionaries(TEXT, JSON, max_size=3)),
            model=draw(OPT_TEXT),
            input_tokens=draw(st.none() | st.integers(0, 10**9)),
            total_cost=draw(st.none() | st.floats(0, 100)),
            is_streaming=draw(st.none() | st.booleans()),
        )
    if which == "event":
        return Event(
            id=draw(IDS),
            trace_id=draw(st.none() | IDS),
            span_id=draw(st.none() | IDS),
            session_id=SID,
            project=draw(TEXT),
            timestamp=start,
            type=draw(
                st.sampled_from(["action", "log", "learning.step", "interaction", "custom.x"])
            ),
            name=draw(TEXT),
            level=draw(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])),
            agent_name=draw(OPT_TEXT),
            agent_role=draw(OPT_TEXT),
            agent_id=draw(OPT_TEXT),
            message=draw(OPT_TEXT),
            data=draw(st.dictionaries(TEXT, JSON, max_size=3)),
        )
    return Metric(
        id=draw(IDS),
        session_id=SID,
        project=draw(TEXT),
        timestamp=start,
        name=draw(TEXT),
        value=draw(st.floats(allow_nan=False, allow_infinity=False)),
        unit=draw(OPT_TEXT),
        tags=draw(st.dictionaries(TEXT, JSON, max_size=3)),
        agent_name=draw(OPT_TEXT),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(any_record(), max_size=8, unique_by=lambda r: (r.record_type, r.id)))
def test_round_trip_property(tmp_path: Path, records: list[Record]) -> None:
    trace_dir = tmp_path / f"trace-{new_id()}"
    export(trace_dir, list(records)).shutdown()
    stats = ReadStats()
    assert_same(read_records(trace_dir, stats=stats), records)
    assert stats.corrupt == 0


# -- de-duplication ----------------------------------------------------------------------
def test_final_span_wins_over_running_snapshot(trace_dir: Path) -> None:
    snap = span(kind="agent", name="Long.run", status="running", dur_ns=None, agent_name="a")
    final = snap._replace(status="success", end_time=T0 + 10**9, duration_ms=1000.0)
    other_snap = span(kind="agent", name="Never.ends", status="running", dur_ns=None)
    exp = FileExporter(trace_dir, SID)
    exp.export([snap, other_snap])
    exp.export([final])
    exp.export([snap])  # a stale snapshot re-delivered after the final
    exp.shutdown()
    stats = ReadStats()
    got = by_id(read_records(trace_dir, stats=stats))
    assert got[("span", snap.id)] == final
    assert got[("span", other_snap.id)] == other_snap
    assert len(got) == 2
    summary = exp.summary()
    assert summary["totals"]["spans"] == 2
    assert summary["counts"]["span_statuses"] == {"success": 1, "running": 1}


def test_final_wins_even_when_read_first(tmp_path: Path) -> None:
    snap = span(status="running", dur_ns=None, agent_name="a")
    final = snap._replace(status="success", end_time=T0 + 5, duration_ms=0.000005)
    path = tmp_path / "x.log"
    path.write_bytes(encode_line(final) + encode_line(snap) + encode_line(final))
    stats = ReadStats()
    assert list(read_records(path, stats=stats)) == [final]
    assert stats.duplicates == 2


# -- rotation ---------------------------------------------------------------------------
def test_rotation_creates_capped_backups(trace_dir: Path) -> None:
    max_bytes = 4_000
    exp = FileExporter(trace_dir, SID, rotation={"agents": (max_bytes, 3), "session": (0, 0)})
    written: list[Span] = []
    for b in range(40):
        batch = [span(name=f"work-{b}-{i}", start=T0 + (b * 10 + i) * 1000) for i in range(10)]
        written.extend(batch)
        exp.export(batch)
    exp.shutdown()
    agents = trace_dir / "agents"
    names = sorted(p.name for p in agents.iterdir() if not p.name.startswith("."))
    assert names == ["agents.log", "agents.log.1", "agents.log.2", "agents.log.3"]
    remaining: list[str] = []
    for name in ["agents.log.3", "agents.log.2", "agents.log.1", "agents.log"]:
        data = (agents / name).read_bytes()
        assert len(data) <= max_bytes
        assert data.endswith(b"\n")
        remaining.extend(ids(agents / name))
    # the newest records survive, in order, and the oldest were dropped
    assert remaining == [r.id for r in written[-len(remaining) :]]
    assert 10 < len(remaining) < len(written)
    got = [r.id for r in read_records(trace_dir) if isinstance(r, Span)]
    assert got == remaining


def test_one_batch_larger_than_a_file_is_split_on_line_boundaries(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID, rotation={"agents": (2_000, 100)})
    batch = [span(name=f"n{i}", start=T0 + i) for i in range(60)]
    exp.export(batch)
    exp.shutdown()
    agents = trace_dir / "agents"
    n = len(list(agents.glob("agents.log.*")))
    assert n > 5
    files = [agents / f"agents.log.{i}" for i in range(n, 0, -1)] + [agents / "agents.log"]
    total: list[str] = []
    for p in files:  # oldest first
        assert p.stat().st_size <= 2_000
        total.extend(ids(p))
    assert total == [r.id for r in batch]
    assert [r.id for r in read_records(trace_dir)] == [r.id for r in batch]


def test_a_record_larger_than_max_bytes_gets_its_own_file(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID, rotation={"agents": (500, 5)})
    big = span(attributes={"blob": "x" * 2_000})
    exp.export([span(), big, span()])
    exp.shutdown()
    assert {len(ids(p)) for p in (trace_dir / "agents").glob("agents.log*")} == {1}
    assert len(list(read_records(trace_dir))) == 3


def test_rotation_with_zero_backups_starts_over(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID, rotation={"agents": (1_000, 0)})
    for i in range(20):
        exp.export([span(name=f"n{i}")])
    exp.shutdown()
    assert [p.name for p in (trace_dir / "agents").glob("agents.log*")] == ["agents.log"]
    assert (trace_dir / "agents/agents.log").stat().st_size <= 1_000


def test_errors_text_rotates_with_the_errors_setting(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID, rotation={"errors": (1_500, 2)})
    for i in range(30):
        exp.export([span(status="failed", name=f"f{i}", error_type="E", error_message="m" * 50)])
    exp.shutdown()
    names = sorted(p.name for p in (trace_dir / "errors").iterdir() if not p.name.startswith("."))
    assert names == [
        "errors.log",
        "errors.log.1",
        "errors.log.2",
        "errors.txt",
        "errors.txt.1",
        "errors.txt.2",
    ]
    for name in ("errors.txt", "errors.txt.1"):
        text = (trace_dir / "errors" / name).read_text()
        assert text.startswith("==== ") and text.endswith("\n\n")


# -- level filters ----------------------------------------------------------------------
def test_level_filter_per_category(trace_dir: Path) -> None:
    debug_learning = event("learning.step", level="DEBUG", agent_id="c1")
    info_learning = event("learning.reward", level="INFO", agent_id="c1")
    debug_action = event("action", level="DEBUG", agent_id="c1")
    exp = export(
        trace_dir, [debug_learning, info_learning, debug_action], levels={"learning": "info"}
    )
    exp.shutdown()
    assert ids(trace_dir / "learning/learning.log") == [info_learning.id]
    assert ids(trace_dir / "agents/agents.log") == [debug_action.id]
    # the agent's session file is the complete story: filtered by "session" only
    assert ids(trace_dir / f"session_{SID}/agents/c1.log") == [
        debug_learning.id,
        info_learning.id,
        debug_action.id,
    ]
    # and the summary counts everything
    assert exp.summary()["counts"]["by_category"]["learning"] == 2


def test_level_filter_for_session_files_and_errors(trace_dir: Path) -> None:
    warn = event("action", level="WARNING", agent_id="c1")
    info = event("action", level="INFO", agent_id="c1")
    err = event("error", level="ERROR", agent_id="c1")
    crit = event("error", level="CRITICAL", agent_id="c1")
    export(
        trace_dir, [warn, info, err, crit], levels={"session": "WARNING", "errors": "CRITICAL"}
    ).shutdown()
    assert ids(trace_dir / f"session_{SID}/agents/c1.log") == [warn.id, err.id, crit.id]
    assert ids(trace_dir / "errors/errors.log") == [crit.id]
    assert (trace_dir / "errors/errors.txt").read_text().count("==== ") == 1
    assert ids(trace_dir / "events/events.log") == [err.id, crit.id]


def test_unknown_level_is_rejected(trace_dir: Path) -> None:
    with pytest.raises(ValueError, match="levels"):
        FileExporter(trace_dir, SID, levels={"learning": "LOUD"})


# -- torn lines -------------------------------------------------------------------------
def test_torn_and_corrupt_lines_are_skipped_and_counted(trace_dir: Path) -> None:
    first = [span(name=f"a{i}", start=T0 + i) for i in range(5)]
    exp = export(trace_dir, list(first))
    path = trace_dir / "agents/agents.log"
    data = path.read_bytes()
    cut = len(data) - 40  # tear the last line in the middle
    path.write_bytes(data[:cut])
    with path.open("ab") as fh:
        fh.write(b"\x00\xffgarbage{{{\n")
        fh.write(b'{"not": "ours"}\n')
        fh.write(b"[1, 2]\n")
        fh.write(b'{"extra": {"record_type": "span", "id": 5}}\n')
        fh.write(b"  \n")
        fh.write(data[: data.index(b"\n") + 1][:-30])  # a torn line at the very end, no newline
    # a new writer appends right after the torn end: the reader salvages its line
    later = span(name="later", start=T0 + 100)
    exp.shutdown()
    exp2 = FileExporter(trace_dir, SID)
    exp2.export([later])
    exp2.shutdown()

    stats = ReadStats()
    seen: list[tuple[str, int]] = []
    got = list(
        read_records(path, stats=stats, on_corrupt=lambda p, n, raw: seen.append((p.name, n)))
    )
    assert [r.id for r in got] == [r.id for r in first[:-1]] + [later.id]
    assert stats.corrupt == 3  # the torn line (+garbage), the bad record, the torn end
    assert stats.foreign == 2
    assert seen == [("agents.log", 5), ("agents.log", 8), ("agents.log", 10)]
    assert stats.corrupt_lines and stats.corrupt_lines[0][0] == str(path)


# -- summary ----------------------------------------------------------------------------
def test_summary_contents(trace_dir: Path) -> None:
    llm1 = span(
        kind="llm", agent_name="A", input_tokens=100, output_tokens=20, total_cost=0.01, start=T0
    )
    llm2 = span(
        kind="llm", agent_name="A", input_tokens=10, output_tokens=5, total_tokens=16, start=T0 + 10
    )
    llm3 = span(
        kind="llm", agent_name="B", input_tokens=1, output_tokens=1, total_cost=0.5, start=T0 + 20
    )
    run = span(kind="agent", agent_name="A", start=T0 - 10**9, dur_ns=4 * 10**9)
    errs = [
        span(
            kind="tool",
            status="failed",
            agent_name="B",
            error_type=f"E{i}",
            error_message=f"m{i}",
            start=T0 + 100 + i,
        )
        for i in range(25)
    ]
    evs = [
        event("action", agent_id="A"),
        event("learning.reward", level="DEBUG"),
        event("alert", level="CRITICAL", message="disk full", ts=T0 + 500_000_000),
    ]
    exp = FileExporter(trace_dir, SID, project="proj")
    exp.export([llm1, llm2, run, *errs[:10]])
    exp.export([llm3, *errs[10:], *evs, metric()])
    exp.shutdown()
    summary = orjson.loads((trace_dir / f"session_{SID}/trace_summary.json").read_bytes())
    assert list(summary)[:5] == ["session_id", "project", "started_at", "ended_at", "duration_s"]
    assert summary["session_id"] == SID and summary["project"] == "proj"
    assert summary["started_at"] == "2025-01-15T10:30:44.123456+00:00"
    assert summary["ended_at"] == "2025-01-15T10:30:48.123456+00:00"
    assert summary["duration_s"] == 4.0
    counts = summary["counts"]
    n = 3 + 1 + 25 + 3 + 1
    assert summary["totals"]["records"] == n
    assert counts["by_record_type"] == {"span": 29, "event": 3, "metric": 1}
    assert counts["span_kinds"] == {"llm": 3, "agent": 1, "tool": 25}
    assert counts["span_statuses"] == {"success": 4, "failed": 25}
    assert counts["event_types"] == {"action": 1, "learning.reward": 1, "alert": 1}
    assert counts["levels"] == {"INFO": 6, "ERROR": 25, "DEBUG": 1, "CRITICAL": 1}
    assert counts["by_category"] == {
        "agents": 30,
        "errors": 26,
        "learning": 1,
        "events": 1,
        "performance": 1,
    }
    a, b = summary["agents"]["A"], summary["agents"]["B"]
    assert (a["records"], a["errors"], a["spans"], a["llm_calls"]) == (4, 0, 3, 2)
    assert (a["input_tokens"], a["output_tokens"], a["total_tokens"]) == (110, 25, 136)
    assert a["cost"] == pytest.approx(0.01) and a["unknown_cost_calls"] == 1
    assert (b["records"], b["errors"], b["llm_calls"], b["cost"]) == (26, 25, 1, 0.5)
    totals = summary["totals"]
    assert (totals["llm_calls"], totals["errors"], totals["unknown_cost_calls"]) == (3, 26, 1)
    assert totals["cost"] == pytest.approx(0.51)
    assert totals["total_tokens"] == 138
    last = summary["last_errors"]
    assert len(last) == 20
    assert [e["type"] for e in last[:-1]] == [f"E{i}" for i in range(6, 25)]
    assert last[-1]["message"] == "disk full" and last[-1]["type"] == "alert"
    assert last[0]["agent"] == "B" and last[0]["message"] == "m6" and TS_RE.match(last[0]["time"])
    assert summary["files"] == [
        "agents/agents.log",
        "errors/errors.log",
        "errors/errors.txt",
        "events/events.log",
        "learning/learning.log",
        "performance/performance.log",
        f"session_{SID}/agents/A.log",
        f"session_{SID}/agents/B.log",
        f"session_{SID}/trace_summary.json",
    ]
    assert summary["processes"] == 1


def test_write_summary_rewrites_and_nothing_without_records(trace_dir: Path) -> None:
    exp = FileExporter(trace_dir, SID)
    assert exp.write_summary() is None
    assert not trace_dir.exists()
    exp.export([span()])
    path = exp.write_summary()
    assert path == trace_dir / f"session_{SID}/trace_summary.json"
    assert orjson.loads(path.read_bytes())["totals"]["records"] == 1
    exp.export([span(), span()])
    exp.write_summary()
    assert orjson.loads(path.read_bytes())["totals"]["records"] == 3
    exp.shutdown()
    exp.shutdown()  # idempotent
    assert orjson.loads(path.read_bytes())["totals"]["records"] == 3


def test_summaries_of_two_exporters_of_one_session_merge(trace_dir: Path) -> None:
    one = FileExporter(trace_dir, SID)
    two = FileExporter(trace_dir, SID)
    one.export([span(agent_name="a", start=T0)])
    two.export(
        [span(agent_name="a", start=T0 + 10**9), span(kind="llm", agent_name="b", total_cost=1.5)]
    )
    one.shutdown()
    two.shutdown()
    summary = orjson.loads((trace_dir / f"session_{SID}/trace_summary.json").read_bytes())
    assert summary["processes"] == 2
    assert summary["totals"]["records"] == 3
    assert summary["agents"]["a"]["records"] == 2
    assert summary["totals"]["cost"] == 1.5
    assert summary["duration_s"] == pytest.approx(1.0025)


# -- sessions and directories --------------------------------------------------------------
def test_list_sessions_and_reading_one_session(trace_dir: Path) -> None:
    mine = [span(agent_name="a"), event("system", name="no agent")]
    other = FileExporter(trace_dir, "20240101_000000")
    theirs = [span(agent_name="a", session="20240101_000000")]
    other.export(theirs)
    other.shutdown()
    export(trace_dir, list(mine)).shutdown()
    assert list_sessions(trace_dir) == ["20240101_000000", SID]
    assert list_sessions(trace_dir / "missing") == []
    assert_same(read_records(trace_dir / f"session_{SID}"), mine)
    assert_same(read_records(trace_dir, session_id="20240101_000000"), theirs)
    assert_same(read_records(trace_dir), [*mine, *theirs])


def test_reading_a_copied_session_dir_alone(tmp_path: Path, trace_dir: Path) -> None:
    rec = span(agent_name="a")
    export(trace_dir, [rec, event("system")]).shutdown()
    copy = tmp_path / "elsewhere" / f"session_{SID}"
    copy.parent.mkdir()
    os.rename(trace_dir / f"session_{SID}", copy)
    assert_same(read_records(copy), [rec])  # only the agent records travel with the session


def test_reading_nothing(tmp_path: Path) -> None:
    stats = ReadStats()
    assert list(read_records(tmp_path / "missing", stats=stats)) == []
    assert stats.files == 0


# -- processes --------------------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tracehound.model import Span
    from tracehound.pipeline.exporters._files import FileExporter

    trace_dir, tag, batches, max_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rotation = {"agents": (max_bytes, 50), "session": (max_bytes, 50), "errors": (max_bytes, 50)}
    exp = FileExporter(Path(trace_dir), "shared", rotation=rotation)
    pad = tag * 700
    for b in range(batches):
        exp.export([
            Span(f"{tag}-{b}-{i}", "t", None, "shared", "p", "task", "w", "failed" if i % 7 == 0 else "success",
                 1_736_937_045_000_000_000 + b * 1000 + i, 1_736_937_045_000_000_000 + b * 1000 + i + 5, 0.000005,
                 agent_name="same", attributes={"pad": pad})
            for i in range(40)
        ])
    exp.shutdown()
    """
)


def run_writers(trace_dir: Path, batches: int, max_bytes: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(trace_dir), tag, str(batches), str(max_bytes)],
            env=env,
        )
        for tag in ("A", "B")
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0


def all_complete(path: Path) -> list[str]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    out = []
    for raw in data.splitlines():
        obj = orjson.loads(raw)  # raises on an interleaved / partial line
        assert list(obj) == LINE_KEYS
        out.append(obj["extra"]["id"])
    return out


def test_two_processes_append_concurrently(trace_dir: Path) -> None:
    run_writers(trace_dir, batches=60, max_bytes=0)
    expected = {f"{tag}-{b}-{i}" for tag in "AB" for b in range(60) for i in range(40)}
    for rel in ("agents/agents.log", "session_shared/agents/same.log"):
        got = all_complete(trace_dir / rel)
        assert len(got) == len(expected) and set(got) == expected
        a_order = [x for x in got if x.startswith("A")]
        assert a_order == sorted(a_order, key=lambda x: tuple(int(p) for p in x.split("-")[1:]))
    errors = all_complete(trace_dir / "errors/errors.log")
    assert set(errors) == {x for x in expected if int(x.rsplit("-", 1)[1]) % 7 == 0}
    summary = orjson.loads((trace_dir / "session_shared/trace_summary.json").read_bytes())
    assert summary["processes"] == 2 and summary["totals"]["records"] == len(expected)
    assert len(list(read_records(trace_dir))) == len(expected)


def test_two_processes_rotating_concurrently(trace_dir: Path) -> None:
    run_writers(trace_dir, batches=60, max_bytes=400_000)
    files = list((trace_dir / "agents").glob("agents.log*"))
    assert len(files) > 5
    seen: list[str] = []
    longest = max(len(line) for p in files for line in p.read_bytes().splitlines())
    for p in files:
        seen.extend(all_complete(p))
        # both writers may have checked the size before either wrote: the cap is approximate
        # by at most one batch of the other process (40 lines)
        assert p.stat().st_size <= 400_000 + 40 * (longest + 1)
    assert (
        len(seen) == len(set(seen)) == 2 * 60 * 40
    )  # 50 backups: nothing dropped, nothing doubled
    stats = ReadStats()
    assert len(list(read_records(trace_dir, stats=stats))) == len(seen)
    assert stats.corrupt == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("call_after_fork", [True, False])
def test_after_fork_in_a_real_child(trace_dir: Path, call_after_fork: bool) -> None:
    exp = FileExporter(trace_dir, SID)
    before = [span(name=f"parent-{i}", agent_name="p") for i in range(5)]
    exp.export(before)
    parent_fd = exp._cat_files["agents"].fd
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            if call_after_fork:
                exp.after_fork()
            exp.export([span(name=f"child-{i}", agent_name="c") for i in range(7)])
            exp.shutdown()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent's descriptor still works and was not closed by the child
    assert exp._cat_files["agents"].fd == parent_fd
    after = [span(name=f"later-{i}", agent_name="p") for i in range(3)]
    exp.export(after)
    exp.shutdown()
    names = [obj["extra"]["name"] for obj in lines(trace_dir / "agents/agents.log")]
    assert names[:5] == [f"parent-{i}" for i in range(5)]
    assert sorted(names[5:]) == sorted(
        [f"child-{i}" for i in range(7)] + [f"later-{i}" for i in range(3)]
    )
    assert len(names) == 15  # nothing written twice
    summary = orjson.loads((trace_dir / f"session_{SID}/trace_summary.json").read_bytes())
    assert summary["processes"] == 2
    assert summary["totals"]["records"] == 15  # the child's part counts only the child's records
    assert summary["agents"]["c"]["records"] == 7 and summary["agents"]["p"]["records"] == 8


def test_speed_smoke(trace_dir: Path) -> None:
    """Not a timing assertion: a big batch goes through and reads back."""
    exp = FileExporter(trace_dir, SID)
    batch = [span(name="w", agent_name=f"a{i % 4}", start=T0 + i) for i in range(2000)]
    t = time.perf_counter()
    exp.export(batch)
    assert time.perf_counter() - t < 30
    exp.shutdown()
    assert sum(1 for _ in read_records(trace_dir / "agents/agents.log")) == 2000
