"""The versioned JSON codec: wire bytes, accepted input forms, every rejection, round trips."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracehound.exceptions import CodecError
from tracehound.model import (
    CODEC_VERSION,
    LEVELS,
    SPAN_KINDS,
    SPAN_STATUSES,
    Event,
    Metric,
    Record,
    Span,
    decode,
    decode_dict,
    encode,
    encode_dict,
    parse_time,
)
from tracehound.model._codec import MAX_ID_LENGTH

T0 = 1_795_260_653_864_772_123  # a time in nanoseconds (2026-11-21)
T1 = T0 + 5_000_000

SAMPLE_SPAN = (
    b'{"v":1,"type":"span","id":"01a1fddf-a128-7a67-9cb1-949b000376c6",'
    b'"trace_id":"01a1fddf-a128-7a67-9cb1-949b000376c5",'
    b'"parent_id":"01a1fddf-a128-7a67-9cb1-949b000376c5","session_id":"20261121_113053",'
    b'"project":"default","kind":"tool","name":"Read","status":"success",'
    b'"start_time":1795260653864772123,"end_time":1795260653864783705,"duration_ms":0.011582,'
    b'"agent_name":"agent-bench","input":{"file_path":"/x.py","i":0},"output":{"line_count":10},'
    b'"attributes":{"project_name":"bench","project_path":"/work/main",'
    b'"working_directory":"/work/main","debug_mode":true}}'
)
SAMPLE_EVENT = (
    b'{"v":1,"type":"event","id":"01a1fddf-a129-7a67-9cb1-949b000376c7",'
    b'"trace_id":"01a1fddf-a128-7a67-9cb1-949b000376c5",'
    b'"span_id":"01a1fddf-a128-7a67-9cb1-949b000376c5","session_id":"20261121_113053",'
    b'"project":"default","timestamp":1795260653865246559,"name":"select_agent","level":"INFO",'
    b'"agent_name":"agent-bench","data":{"action_details":{"decision_context":{"candidates":2},'
    b'"decision_result":{"selected":"agent-b"}},"project_name":"bench",'
    b'"project_path":"/work/main","working_directory":"/work/main","debug_mode":true,'
    b'"duration_ms":1.0},"event_type":"decision"}'
)

# -- fully populated records and their wire dicts (field order = wire order) ------------------

FULL_SPAN = Span(
    id="span-1",
    trace_id="trace-1",
    parent_id="span-0",
    session_id="sess-1",
    project="proj",
    kind="llm",
    name="chat",
    status="failed",
    start_time=T0,
    end_time=T1,
    duration_ms=5.0,
    agent_name="planner",
    agent_role="lead",
    agent_id="agent-7",
    conversation_id="conv-1",
    user_id="user-1",
    status_message="rate limited",
    input={"messages": [{"role": "user", "content": "hi"}]},
    output=["a", 1, 2.5, None, True],
    error_type="RateLimitError",
    error_message="slow down",
    error_traceback="Traceback (most recent call last):\n  ...",
    attributes={"k": "v", "n": [1, 2]},
    provider="openai",
    model="gpt-4o",
    input_tokens=10,
    output_tokens=20,
    cached_tokens=3,
    reasoning_tokens=4,
    total_tokens=30,
    input_cost=0.001,
    output_cost=0.002,
    total_cost=0.003,
    cost_source="genai-prices",
    is_streaming=True,
    chunks_count=7,
    time_to_first_token_ms=120.5,
)
FULL_SPAN_WIRE: dict[str, Any] = {
    "v": 1,
    "type": "span",
    "id": "span-1",
    "trace_id": "trace-1",
    "parent_id": "span-0",
    "session_id": "sess-1",
    "project": "proj",
    "kind": "llm",
    "name": "chat",
    "status": "failed",
    "start_time": T0,
    "end_time": T1,
    "duration_ms": 5.0,
    "agent_name": "planner",
    "agent_role": "lead",
    "agent_id": "agent-7",
    "conversation_id": "conv-1",
    "user_id": "user-1",
    "status_message": "rate limited",
    "input": {"messages": [{"role": "user", "content": "hi"}]},
    "output": ["a", 1, 2.5, None, True],
    "error_type": "RateLimitError",
    "error_message": "slow down",
    "error_traceback": "Traceback (most recent call last):\n  ...",
    "attributes": {"k": "v", "n": [1, 2]},
    "provider": "openai",
    "model": "gpt-4o",
    "input_tokens": 10,
    "output_tokens": 20,
    "cached_tokens": 3,
    "reasoning_tokens": 4,
    "total_tokens": 30,
    "input_cost": 0.001,
    "output_cost": 0.002,
    "total_cost": 0.003,
    "cost_source": "genai-prices",
    "is_streaming": True,
    "chunks_count": 7,
    "time_to_first_token_ms": 120.5,
}

FULL_EVENT = Event(
    id="event-1",
    trace_id="trace-1",
    span_id="span-1",
    session_id="sess-1",
    project="proj",
    timestamp=T0,
    type="learning.reward",
    name="reward",
    level="WARNING",
    agent_name="planner",
    agent_role="lead",
    agent_id="agent-7",
    message="got a reward",
    data={"reward": 0.5, "nested": {"a": [1, None]}},
)
FULL_EVENT_WIRE: dict[str, Any] = {
    "v": 1,
    "type": "event",
    "id": "event-1",
    "trace_id": "trace-1",
    "span_id": "span-1",
    "session_id": "sess-1",
    "project": "proj",
    "timestamp": T0,
    "name": "reward",
    "level": "WARNING",
    "agent_name": "planner",
    "agent_role": "lead",
    "agent_id": "agent-7",
    "message": "got a reward",
    "data": {"reward": 0.5, "nested": {"a": [1, None]}},
    "event_type": "learning.reward",
}

FULL_METRIC = Metric(
    id="metric-1",
    session_id="sess-1",
    project="proj",
    timestamp=T0,
    name="latency",
    value=12.5,
    unit="ms",
    tags={"route": "/x"},
    trace_id="trace-1",
    span_id="span-1",
    agent_name="planner",
)
FULL_METRIC_WIRE: dict[str, Any] = {
    "v": 1,
    "type": "metric",
    "id": "metric-1",
    "session_id": "sess-1",
    "project": "proj",
    "timestamp": T0,
    "name": "latency",
    "value": 12.5,
    "unit": "ms",
    "tags": {"route": "/x"},
    "trace_id": "trace-1",
    "span_id": "span-1",
    "agent_name": "planner",
}

# -- minimal valid wire dicts (only the required fields) --------------------------------------

MIN_SPAN: dict[str, Any] = {
    "type": "span",
    "id": "s1",
    "trace_id": "t1",
    "name": "work",
    "start_time": T0,
}
MIN_EVENT: dict[str, Any] = {
    "type": "event",
    "id": "e1",
    "event_type": "decision",
    "name": "route",
    "timestamp": T0,
}
MIN_METRIC: dict[str, Any] = {
    "type": "metric",
    "id": "m1",
    "name": "latency",
    "value": 1.5,
    "timestamp": T0,
}
BASES: dict[str, dict[str, Any]] = {"span": MIN_SPAN, "event": MIN_EVENT, "metric": MIN_METRIC}


def with_(base: str, **changes: Any) -> dict[str, Any]:
    """A copy of a minimal wire dict with keys replaced (or removed, with ``DROP``)."""
    obj = dict(BASES[base])
    for key, value in changes.items():
        if value is DROP:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


DROP: Any = object()


def rejected(obj: Any) -> CodecError:
    """The CodecError of decoding ``obj`` (as a dict and, when JSON-able, as bytes)."""
    with pytest.raises(CodecError) as info:
        decode_dict(obj)
    raw = orjson.dumps(obj)
    if orjson.loads(raw) != obj:  # NaN / infinity are not JSON (orjson writes null)
        return info.value
    with pytest.raises(CodecError) as info2:
        decode(raw)
    assert (info2.value.field, str(info2.value)) == (info.value.field, str(info.value))
    return info.value


# -- wire bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [SAMPLE_SPAN, SAMPLE_EVENT], ids=["span", "event"])
def test_the_sample_records_re_encode_byte_for_byte(raw: bytes) -> None:
    record = decode(raw)
    assert encode(record) == raw
    assert orjson.dumps(encode_dict(record)) == raw


@pytest.mark.parametrize(
    ("record", "wire"),
    [(FULL_SPAN, FULL_SPAN_WIRE), (FULL_EVENT, FULL_EVENT_WIRE), (FULL_METRIC, FULL_METRIC_WIRE)],
    ids=["span", "event", "metric"],
)
def test_fully_populated_records_encode_to_their_exact_wire_form(
    record: Record, wire: dict[str, Any]
) -> None:
    assert encode_dict(record) == wire
    assert list(encode_dict(record)) == list(wire)  # key order is part of the wire bytes
    assert encode(record) == orjson.dumps(wire)
    assert decode(encode(record)) == record
    assert decode_dict(wire) == record
    assert type(decode(encode(record))) is type(record)


def test_none_fields_are_omitted_and_defaults_are_kept() -> None:
    span = Span("s1", "t1", None, "sess", "default", "task", "work", "success", T0, None, None)
    assert encode(span) == (
        b'{"v":1,"type":"span","id":"s1","trace_id":"t1","session_id":"sess",'
        b'"project":"default","kind":"task","name":"work","status":"success",'
        b'"start_time":%d,"attributes":{}}' % T0
    )
    event = Event("e1", None, None, "sess", "p", T0, "log", "line")
    assert encode(event) == (
        b'{"v":1,"type":"event","id":"e1","session_id":"sess","project":"p",'
        b'"timestamp":%d,"name":"line","level":"INFO","data":{},"event_type":"log"}' % T0
    )
    metric = Metric("m1", "sess", "p", T0, "n", 2.0)
    assert encode(metric) == (
        b'{"v":1,"type":"metric","id":"m1","session_id":"sess","project":"p",'
        b'"timestamp":%d,"name":"n","value":2.0,"tags":{}}' % T0
    )


def test_falsy_values_are_not_omitted() -> None:
    span = FULL_SPAN._replace(
        input=False, output=0, attributes={}, is_streaming=False, input_tokens=0
    )
    wire = encode_dict(span)
    assert wire["input"] is False and wire["output"] == 0 and wire["attributes"] == {}
    assert wire["is_streaming"] is False and wire["input_tokens"] == 0
    assert decode(encode(span)) == span


def test_an_event_type_never_overwrites_the_record_type() -> None:
    event = FULL_EVENT._replace(type="span")
    wire = encode_dict(event)
    assert wire["type"] == "event" and wire["event_type"] == "span"
    assert list(wire)[:2] == ["v", "type"] and list(wire)[-1] == "event_type"
    assert decode(encode(event)) == event


def test_encode_dict_returns_a_fresh_dict_each_time() -> None:
    first = encode_dict(FULL_METRIC)
    first["extra"] = 1
    assert "extra" not in encode_dict(FULL_METRIC)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record", [FULL_SPAN, FULL_EVENT, FULL_METRIC], ids=["span", "event", "metric"]
)
def test_full_records_round_trip(record: Record) -> None:
    assert decode(encode(record)) == record
    assert decode(encode(record).decode()) == record  # str input too
    assert decode_dict(encode_dict(record)) == record
    assert encode(decode(encode(record))) == encode(record)


def test_minimal_records_decode_with_defaults_and_round_trip() -> None:
    span = decode_dict(MIN_SPAN, session_id="sess")
    assert span == Span(
        "s1", "t1", None, "sess", "default", "task", "work", "success", T0, None, None
    )
    event = decode_dict(MIN_EVENT, session_id="sess", project="p")
    assert event == Event("e1", None, None, "sess", "p", T0, "decision", "route", "INFO")
    metric = decode_dict(MIN_METRIC, session_id="sess")
    assert metric == Metric("m1", "sess", "default", T0, "latency", 1.5)
    for record in (span, event, metric):
        assert decode(encode(record)) == record


def test_the_default_session_id_is_empty_and_is_not_itself_a_valid_wire_id() -> None:
    """Today's behaviour: a record decoded without a session gets ``""``, which the wire
    form then refuses (callers such as the ingest API substitute their own session)."""
    span = decode_dict(MIN_SPAN)
    assert span.session_id == "" and span.project == "default"
    with pytest.raises(CodecError) as info:
        decode(encode(span))
    assert info.value.field == "session_id"


def test_decode_dict_defaults_are_overridden_by_the_record() -> None:
    obj = with_("span", session_id="own", project="mine")
    span = decode_dict(obj, session_id="default-sess", project="default-proj")
    assert (span.session_id, span.project) == ("own", "mine")


# -- accepted input forms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        (0, 0),
        (1, 1_000_000_000),
        (1_795_260_653, 1_795_260_653_000_000_000),  # seconds
        (10**11 - 1, (10**11 - 1) * 1_000_000_000),
        (10**11, 10**17),  # milliseconds
        (1_795_260_653_864, 1_795_260_653_864_000_000),
        (10**14 - 1, (10**14 - 1) * 1_000_000),
        (10**14, 10**17),  # microseconds
        (10**17 - 1, (10**17 - 1) * 1_000),
        (10**17, 10**17),  # nanoseconds
        (T0, T0),
        (2**64 - 1, 2**64 - 1),
        (0.0, 0),
        (1.5, 1_500_000_000),
        (1795260653.864772, int(1795260653.864772 * 1_000_000_000)),
        ("1970-01-01T00:00:00Z", 0),
        ("2026-11-21T11:30:53Z", 1_795_260_653_000_000_000),
        ("2026-11-21T11:30:53.123456Z", 1_795_260_653_123_456_000),
        ("2026-11-21T12:30:53+01:00", 1_795_260_653_000_000_000),
        ("2026-11-21T11:30:53", 1_795_260_653_000_000_000),  # naive = UTC
        ("2026-11-21", 1_795_219_200_000_000_000),
        ("1969-12-31T23:59:59Z", -1_000_000_000),  # ISO times before 1970 are accepted
    ],
)
def test_time_forms(value: Any, ns: int) -> None:
    assert parse_time(value, "t") == ns
    assert decode_dict(with_("span", start_time=value)).start_time == ns
    assert decode_dict(with_("event", timestamp=value)).timestamp == ns
    assert decode_dict(with_("metric", timestamp=value)).timestamp == ns


def test_large_finite_float_times_are_accepted() -> None:
    assert parse_time(1e290, "t") == int(1e290 * 1_000_000_000)


def test_duration_is_computed_from_the_end_time_when_missing() -> None:
    span = decode_dict(with_("span", end_time=T0 + 2_500_000))
    assert span.end_time == T0 + 2_500_000 and span.duration_ms == 2.5
    span = decode_dict(with_("span", end_time=T0 + 2_500_000, duration_ms=None))
    assert span.duration_ms == 2.5
    span = decode_dict(with_("span", end_time=T0))
    assert span.duration_ms == 0.0
    span = decode_dict(with_("span", end_time=T0 + 2_500_000, duration_ms=99))
    assert span.duration_ms == 99.0 and type(span.duration_ms) is float  # kept, not recomputed
    span = decode_dict(with_("span", duration_ms=3))  # no end time: kept as given
    assert span.end_time is None and span.duration_ms == 3.0
    assert decode_dict(MIN_SPAN).duration_ms is None


def test_times_in_other_forms_feed_the_duration() -> None:
    span = decode_dict(with_("span", start_time="2026-11-21T11:30:53Z", end_time=1795260654.0))
    assert span.start_time == 1_795_260_653_000_000_000
    assert span.end_time == 1_795_260_654_000_000_000
    assert span.duration_ms == 1000.0


def test_span_defaults() -> None:
    span = decode_dict(MIN_SPAN)
    assert (span.kind, span.status, span.parent_id, span.end_time, span.duration_ms) == (
        "task",
        "success",
        None,
        None,
        None,
    )
    assert span.attributes == {} and span.input is None and span.is_streaming is None


def test_null_values_mean_absent() -> None:
    span = decode_dict(
        with_(
            "span",
            parent_id=None,
            session_id=None,
            project=None,
            kind=None,
            status=None,
            end_time=None,
            duration_ms=None,
            attributes=None,
            input=None,
            is_streaming=None,
            input_tokens=None,
            agent_name=None,
        ),
        session_id="sess",
    )
    assert span == decode_dict(MIN_SPAN, session_id="sess")
    event = decode_dict(
        with_("event", level=None, trace_id=None, span_id=None, data=None, message=None)
    )
    assert event == decode_dict(MIN_EVENT)
    metric = decode_dict(with_("metric", unit=None, tags=None, trace_id=None, span_id=None))
    assert metric == decode_dict(MIN_METRIC)


@pytest.mark.parametrize(
    ("spelled", "level"), [("info", "INFO"), ("Warning", "WARNING"), ("ERROR", "ERROR")]
)
def test_levels_are_upper_cased(spelled: str, level: str) -> None:
    assert decode_dict(with_("event", level=spelled)).level == level


def test_event_level_defaults_to_info() -> None:
    assert decode_dict(MIN_EVENT).level == "INFO"


@pytest.mark.parametrize("kind", SPAN_KINDS)
def test_every_span_kind_is_accepted(kind: str) -> None:
    assert decode_dict(with_("span", kind=kind)).kind == kind


@pytest.mark.parametrize("status", SPAN_STATUSES)
def test_every_span_status_is_accepted(status: str) -> None:
    assert decode_dict(with_("span", status=status)).status == status


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_is_accepted(level: str) -> None:
    assert decode_dict(with_("event", level=level)).level == level


def test_the_event_type_is_any_text() -> None:
    assert decode_dict(with_("event", event_type="my.own type")).type == "my.own type"


@pytest.mark.parametrize(
    "value", ["text", 3, 1.5, True, False, [1, "a", None], {"a": {"b": []}}, ""]
)
def test_input_and_output_accept_any_json(value: Any) -> None:
    span = decode_dict(with_("span", input=value, output=value))
    assert span.input == value and span.output == value
    assert type(span.input) is type(value)


def test_numbers_are_normalised() -> None:
    span = decode_dict(with_("span", input_cost=1, duration_ms=0, time_to_first_token_ms=2))
    assert type(span.input_cost) is float and span.input_cost == 1.0
    assert type(span.duration_ms) is float and type(span.time_to_first_token_ms) is float
    metric = decode_dict(with_("metric", value=7))
    assert metric.value == 7.0 and type(metric.value) is float
    span = decode_dict(with_("span", input_tokens=0, total_tokens=2**64 - 1))
    assert span.input_tokens == 0 and span.total_tokens == 2**64 - 1


@pytest.mark.parametrize("flag", [True, False])
def test_is_streaming_accepts_booleans(flag: bool) -> None:
    assert decode_dict(with_("span", is_streaming=flag)).is_streaming is flag


@pytest.mark.parametrize(
    "value",
    [
        "x" * MAX_ID_LENGTH,
        "01a1fddf-a128-7a67-9cb1-949b000376c6",
        "id with spaces",
        "ünïcödé-ид-标识",
        "nbsp\u00a0inside",  # not printable, but not a control character either
        "line\u2028separator",
        "next\x85line",  # C1 controls are allowed
        "emoji-🙂",
    ],
)
def test_id_forms(value: str) -> None:
    for field in ("id", "trace_id", "parent_id", "session_id"):
        assert getattr(decode_dict(with_("span", **{field: value})), field) == value
    for field in ("trace_id", "span_id"):
        assert getattr(decode_dict(with_("event", **{field: value})), field) == value
        assert getattr(decode_dict(with_("metric", **{field: value})), field) == value


def test_text_fields_allow_control_characters_and_the_maximum_length() -> None:
    span = decode_dict(with_("span", name="x" * 10_000, status_message="a\x00b\n\x7f"))
    assert len(span.name) == 10_000 and span.status_message == "a\x00b\n\x7f"
    assert decode_dict(with_("span", error_traceback="")).error_traceback == ""


def test_the_version_may_be_omitted_or_spelled_as_any_equal_number() -> None:
    assert decode_dict(with_("span", v=DROP)) == decode_dict(MIN_SPAN)
    assert decode_dict(with_("span", v=CODEC_VERSION)) == decode_dict(MIN_SPAN)
    assert decode_dict(with_("span", v=1.0)) == decode_dict(MIN_SPAN)


def test_int_and_str_subclasses_behave_like_their_base() -> None:
    class Nanos(int):
        pass

    class Text(str):
        pass

    span = decode_dict(
        with_(
            "span",
            start_time=Nanos(T0),
            end_time=Nanos(1_795_260_654),
            input_tokens=Nanos(3),
            duration_ms=Nanos(2),
            id=Text("s1"),
            name=Text("n"),
        )
    )
    assert span.start_time == T0 and span.end_time == 1_795_260_654_000_000_000
    assert span.input_tokens == 3 and span.duration_ms == 2.0
    assert span.id == "s1" and span.name == "n"


# -- rejections -----------------------------------------------------------------------------

_SPAN_IDS = ("id", "trace_id", "parent_id", "session_id")
_EVENT_IDS = ("id", "trace_id", "span_id", "session_id")
_METRIC_IDS = ("id", "session_id", "trace_id", "span_id")
_INTS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
    "chunks_count",
)
_SPAN_FLOATS = ("duration_ms", "input_cost", "output_cost", "total_cost", "time_to_first_token_ms")
_SPAN_TEXTS = (
    "project",
    "kind",
    "name",
    "status",
    "agent_name",
    "agent_role",
    "agent_id",
    "conversation_id",
    "user_id",
    "status_message",
    "error_type",
    "error_message",
    "error_traceback",
    "provider",
    "model",
    "cost_source",
)
_EVENT_TEXTS = ("project", "name", "level", "agent_name", "agent_role", "agent_id", "message")
_METRIC_TEXTS = ("project", "name", "unit", "agent_name")
_TIME_FIELDS = (
    ("span", "start_time"),
    ("span", "end_time"),
    ("event", "timestamp"),
    ("metric", "timestamp"),
)


def _cases() -> list[Any]:
    """(wire dict, expected field, expected message start) for every rule decode_dict enforces."""
    cases: list[Any] = []

    def add(obj: dict[str, Any], field: str, message: str, name: str) -> None:
        cases.append(pytest.param(obj, field, message, id=name))

    # the envelope
    for version in (2, 0, "1", None, [1]):
        add(
            with_("span", v=version),
            "v",
            f"v: unsupported codec version {version!r}",
            f"v={version!r}",
        )
    for rtype in (DROP, None, "trace", "Span", 7, ["span"], {"span": 1}):
        shown = None if rtype is DROP else rtype
        add(
            with_("span", type=rtype),
            "type",
            f"type: expected one of span, event, metric, got {shown!r}",
            f"type={shown!r}",
        )
    # required fields, missing or null
    required = {
        "span": ("id", "trace_id", "name", "start_time"),
        "event": ("id", "event_type", "name", "timestamp"),
        "metric": ("id", "name", "value", "timestamp"),
    }
    for rtype, names in required.items():
        for name in names:
            for how in (DROP, None):
                add(
                    with_(rtype, **{name: how}),
                    name,
                    f"{name}: required for a {rtype}",
                    f"{rtype}-{name}-{'missing' if how is DROP else 'null'}",
                )
    # unknown fields
    for rtype, key in (
        ("span", "foo"),
        ("span", "event_type"),
        ("span", "timestamp"),
        ("span", "level"),
        ("span", "V"),
        ("event", "kind"),
        ("event", "start_time"),
        ("event", "tags"),
        ("metric", "level"),
        ("metric", "event_type"),
        ("metric", "attributes"),
        ("metric", ""),
    ):
        add(
            with_(rtype, **{key: "x"}),
            key,
            f"{key}: unknown field for a {rtype}",
            f"{rtype}-unknown-{key}",
        )
    # times
    bad_times: list[tuple[Any, str]] = [
        (True, "expected a time, got a boolean"),
        (False, "expected a time, got a boolean"),
        (-1, "negative time"),
        (-1.5, "not a finite time"),
        (math.nan, "not a finite time"),
        (math.inf, "not a finite time"),
        (-math.inf, "not a finite time"),
        ("yesterday", "not an ISO-8601 time: 'yesterday'"),
        ("", "not an ISO-8601 time: ''"),
        ("2026-13-01", "not an ISO-8601 time: '2026-13-01'"),
        ("x" * 100, f"not an ISO-8601 time: {'x' * 64!r}"),
        ([T0], "expected a time, got list"),
        ({"ns": T0}, "expected a time, got dict"),
    ]
    for rtype, field in _TIME_FIELDS:
        for value, message in bad_times:
            add(
                with_(rtype, **{field: value}),
                field,
                f"{field}: {message}",
                f"{rtype}-{field}={value!r:.20}",
            )
    # ids
    bad_ids: list[tuple[Any, str]] = [
        (5, "expected a string, got int"),
        (["a"], "expected a string, got list"),
        (True, "expected a string, got bool"),
        ("", "empty id"),
        ("x" * (MAX_ID_LENGTH + 1), f"longer than {MAX_ID_LENGTH} characters"),
        ("a\x00b", "control characters in id"),
        ("a\nb", "control characters in id"),
        ("tab\t", "control characters in id"),
        ("\x1f", "control characters in id"),
        ("del\x7f", "control characters in id"),
        ("nbsp\u00a0and\x01", "control characters in id"),
    ]
    for rtype, fields in (("span", _SPAN_IDS), ("event", _EVENT_IDS), ("metric", _METRIC_IDS)):
        for field in fields:
            for value, message in bad_ids:
                add(
                    with_(rtype, **{field: value}),
                    field,
                    f"{field}: {message}",
                    f"{rtype}-{field}={value!r:.20}",
                )
    # integers
    for field in _INTS:
        for value in (True, False, -1, 1.0, "1", [1]):
            add(
                with_("span", **{field: value}),
                field,
                f"{field}: expected a non-negative integer",
                f"span-{field}={value!r}",
            )
    # floats
    for rtype, fields in (("span", _SPAN_FLOATS), ("metric", ("value",))):
        for field in fields:
            for value in (True, "1.5", [1.0], {"v": 1}):
                add(
                    with_(rtype, **{field: value}),
                    field,
                    f"{field}: expected a number",
                    f"{rtype}-{field}={value!r}",
                )
            for value in (math.nan, math.inf, -math.inf):
                add(
                    with_(rtype, **{field: value}),
                    field,
                    f"{field}: not a finite number",
                    f"{rtype}-{field}={value!r}",
                )
    # dicts
    for rtype, field in (("span", "attributes"), ("event", "data"), ("metric", "tags")):
        for value in ([], "x", 1, [["k", "v"]], True):
            add(
                with_(rtype, **{field: value}),
                field,
                f"{field}: expected an object",
                f"{rtype}-{field}={value!r}",
            )
    # booleans
    for value in (1, 0, "true", [True]):
        add(
            with_("span", is_streaming=value),
            "is_streaming",
            "is_streaming: expected a boolean",
            f"is_streaming={value!r}",
        )
    # text
    for rtype, fields in (
        ("span", _SPAN_TEXTS),
        ("event", _EVENT_TEXTS),
        ("metric", _METRIC_TEXTS),
    ):
        for field in fields:
            add(
                with_(rtype, **{field: 5}),
                field,
                f"{field}: expected a string, got int",
                f"{rtype}-{field}=5",
            )
            add(
                with_(rtype, **{field: {}}),
                field,
                f"{field}: expected a string, got dict",
                f"{rtype}-{field}={{}}",
            )
            add(
                with_(rtype, **{field: "x" * 10_001}),
                field,
                f"{field}: longer than 10000 characters",
                f"{rtype}-{field}-too-long",
            )
    # the event type is checked as the record's ``type`` field
    add(with_("event", event_type=5), "type", "type: expected a string, got int", "event_type=5")
    add(
        with_("event", event_type="x" * 10_001),
        "type",
        "type: longer than 10000 characters",
        "event_type-too-long",
    )
    # enumerations and consistency
    add(
        with_("span", kind="robot"),
        "kind",
        f"kind: expected one of {', '.join(SPAN_KINDS)}",
        "kind=robot",
    )
    add(with_("span", kind="TOOL"), "kind", "kind: expected one of", "kind=TOOL")
    add(
        with_("span", status="done"),
        "status",
        f"status: expected one of {', '.join(SPAN_STATUSES)}",
        "status=done",
    )
    add(
        with_("event", level="verbose"),
        "level",
        f"level: expected one of {', '.join(LEVELS)}",
        "level=verbose",
    )
    add(with_("event", level=""), "level", "level: expected one of", "level=empty")
    add(
        with_("span", end_time=T0 - 1),
        "end_time",
        "end_time: before start_time",
        "end-before-start",
    )
    add(
        with_("span", start_time="2026-11-21T11:30:53Z", end_time="2026-11-21T11:30:52Z"),
        "end_time",
        "end_time: before start_time",
        "end-before-start-iso",
    )
    return cases


@pytest.mark.parametrize(("obj", "field", "message"), _cases())
def test_every_rule_rejects_with_the_field_named(
    obj: dict[str, Any], field: str, message: str
) -> None:
    exc = rejected(obj)
    assert exc.field == field
    assert str(exc).startswith(message), str(exc)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "record: invalid JSON"),
        (b"{", "record: invalid JSON"),
        (b'{"type": "span",}', "record: invalid JSON"),
        (b"[1, 2]", "record: expected an object, got list"),
        (b'"span"', "record: expected an object, got str"),
        (b"null", "record: expected an object, got NoneType"),
        (b"1", "record: expected an object, got int"),
        ("{", "record: invalid JSON"),
    ],
)
def test_undecodable_bytes_are_a_record_error(raw: bytes | str, message: str) -> None:
    with pytest.raises(CodecError) as info:
        decode(raw)
    assert info.value.field == "record"
    assert str(info.value).startswith(message)


def test_rejections_are_codec_errors_and_value_errors() -> None:
    exc = rejected(with_("span", kind="robot"))
    assert isinstance(exc, ValueError)


def test_required_fields_are_checked_before_anything_else() -> None:
    assert rejected({"type": "span", "bogus": 1, "name": 5}).field == "id"
    assert (
        rejected({"type": "event", "id": "e1", "name": "n", "timestamp": T0}).field == "event_type"
    )


def test_field_errors_follow_the_order_of_the_keys() -> None:
    obj = {**MIN_SPAN, "input_tokens": -1, "agent_name": 5, "bogus": 1}
    assert rejected(obj).field == "input_tokens"
    obj = {**MIN_SPAN, "bogus": 1, "input_tokens": -1}
    assert rejected(obj).field == "bogus"
    obj = {"type": "span", "name": 5, "id": "s", "trace_id": "t", "start_time": "never"}
    assert rejected(obj).field == "name"
    obj = {"type": "span", "start_time": "never", "id": "s", "trace_id": "t", "name": 5}
    assert rejected(obj).field == "start_time"
    obj = {"start_time": "never", "type": "span", "id": "", "trace_id": "t", "name": "n"}
    assert rejected(obj).field == "start_time"


def test_cross_field_checks_come_after_the_field_checks() -> None:
    assert rejected({**MIN_SPAN, "kind": "robot", "input_tokens": -1}).field == "input_tokens"
    assert rejected({**MIN_SPAN, "status": "done", "kind": "robot"}).field == "kind"
    assert rejected({**MIN_SPAN, "end_time": T0 - 1, "status": "done"}).field == "status"
    assert rejected({**MIN_EVENT, "level": "loud", "data": []}).field == "data"


def test_huge_float_times_are_rejected_not_crashed() -> None:
    """Float seconds whose nanoseconds overflow a float (>= ~1.8e299) once escaped as
    OverflowError; they are a CodecError on the time's field."""
    for value in (1e300, 1.7e308):
        exc = rejected(with_("span", start_time=value))
        assert (exc.field, str(exc)) == ("start_time", "start_time: time out of range")
    assert rejected(with_("span", start_time=-1e300)).field == "start_time"
    with pytest.raises(CodecError) as info:
        parse_time(1e300, "start_time")
    assert info.value.field == "start_time"


def test_deeply_nested_envelope_values_are_rejected_not_crashed() -> None:
    """A bad ``v`` / ``type`` is shown in the message; one too deep to ``repr`` once escaped
    as RecursionError."""
    depth = 1000  # below orjson's depth limit, above the repr recursion limit
    nested = b"[" * depth + b"]" * depth
    for key in (b"v", b"type"):
        with pytest.raises(CodecError) as info:
            decode(b'{"%s":%s}' % (key, nested))
        assert info.value.field == key.decode()


# -- properties ---------------------------------------------------------------------------------

_CONTROL_CHARS = "".join(map(chr, range(0x20))) + "\x7f"
_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_ids = st.one_of(
    st.uuids().map(str),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters=_CONTROL_CHARS),
        min_size=1,
        max_size=40,
    ),
    st.just("x" * MAX_ID_LENGTH),
)
_times = st.one_of(st.integers(10**17, 2**64 - 1), st.just(0))
_floats = st.floats(allow_nan=False, allow_infinity=False)
_counts = st.integers(0, 2**64 - 1)
_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), _floats, _texts
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_texts, inner, max_size=4),
    max_leaves=12,
)
_json_objects = st.dictionaries(_texts, _json, max_size=4)


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def _spans(draw: st.DrawFn) -> Span:
    start = draw(_times)
    # an end time is in nanoseconds too (at or after 10**17, or 0 when the start is 0)
    ends = st.integers(max(start, 10**17), 2**64 - 1)
    end = draw(_opt(ends | st.just(0) if start == 0 else ends))
    # decode fills a missing duration from the end time: only that normal form round-trips
    duration = draw(_floats) if end is not None else draw(_opt(_floats))
    return Span(
        id=draw(_ids),
        trace_id=draw(_ids),
        parent_id=draw(_opt(_ids)),
        session_id=draw(_ids),
        project=draw(_texts),
        kind=draw(st.sampled_from(SPAN_KINDS)),
        name=draw(_texts),
        status=draw(st.sampled_from(SPAN_STATUSES)),
        start_time=start,
        end_time=end,
        duration_ms=duration,
        agent_name=draw(_opt(_texts)),
        agent_role=draw(_opt(_texts)),
        agent_id=draw(_opt(_texts)),
        conversation_id=draw(_opt(_texts)),
        user_id=draw(_opt(_texts)),
        status_message=draw(_opt(_texts)),
        input=draw(_json),
        output=draw(_json),
        error_type=draw(_opt(_texts)),
        error_message=draw(_opt(_texts)),
        error_traceback=draw(_opt(_texts)),
        attributes=draw(_json_objects),
        provider=draw(_opt(_texts)),
        model=draw(_opt(_texts)),
        input_tokens=draw(_opt(_counts)),
        output_tokens=draw(_opt(_counts)),
        cached_tokens=draw(_opt(_counts)),
        reasoning_tokens=draw(_opt(_counts)),
        total_tokens=draw(_opt(_counts)),
        input_cost=draw(_opt(_floats)),
        output_cost=draw(_opt(_floats)),
        total_cost=draw(_opt(_floats)),
        cost_source=draw(_opt(_texts)),
        is_streaming=draw(_opt(st.booleans())),
        chunks_count=draw(_opt(_counts)),
        time_to_first_token_ms=draw(_opt(_floats)),
    )


_events = st.builds(
    Event,
    id=_ids,
    trace_id=_opt(_ids),
    span_id=_opt(_ids),
    session_id=_ids,
    project=_texts,
    timestamp=_times,
    type=_texts,
    name=_texts,
    level=st.sampled_from(LEVELS),
    agent_name=_opt(_texts),
    agent_role=_opt(_texts),
    agent_id=_opt(_texts),
    message=_opt(_texts),
    data=_json_objects,
)
_metrics = st.builds(
    Metric,
    id=_ids,
    session_id=_ids,
    project=_texts,
    timestamp=_times,
    name=_texts,
    value=_floats,
    unit=_opt(_texts),
    tags=_json_objects,
    trace_id=_opt(_ids),
    span_id=_opt(_ids),
    agent_name=_opt(_texts),
)
_records = st.one_of(_spans(), _events, _metrics)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=_records)
def test_every_valid_record_round_trips(record: Record) -> None:
    raw = encode(record)
    back = decode(raw)
    assert back == record
    assert type(back) is type(record)
    assert encode(back) == raw
    assert decode_dict(encode_dict(record)) == record


_KEYS = sorted({*Span._fields, *Event._fields, *Metric._fields, "v", "type", "event_type"})
_wild_values = st.one_of(
    _json,
    st.floats(allow_nan=False, allow_infinity=False, min_value=1e290),
    st.floats(allow_nan=False, allow_infinity=False, max_value=-1e290),
    st.sampled_from(["", "x" * 801, "x" * 10_001, "a\x00b", "INFO", "tool", "span", "2026-11-21"]),
    st.integers(10**17, 2**64 - 1),
)


@st.composite
def _wire_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly-plausible wire dicts: a valid record with some keys replaced or added."""
    base = encode_dict(draw(_records))
    for key in draw(st.lists(st.sampled_from(_KEYS) | _texts, max_size=4)):
        if draw(st.booleans()):
            base[key] = draw(_wild_values)
        else:
            base.pop(key, None)
    return base


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    obj=_wire_objects() | st.dictionaries(st.sampled_from(_KEYS) | _texts, _wild_values, max_size=8)
)
def test_decode_raises_nothing_but_codec_errors(obj: dict[str, Any]) -> None:
    raw = orjson.dumps(obj)
    try:
        record = decode(raw)
    except CodecError as exc:
        assert isinstance(exc.field, str)
        assert str(exc).startswith(f"{exc.field}:")
        with pytest.raises(CodecError) as info:
            decode_dict(obj)
        assert (info.value.field, str(info.value)) == (exc.field, str(exc))
    else:
        assert isinstance(record, Span | Event | Metric)
        assert decode_dict(obj) == record


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64) | st.text(max_size=64))
def test_decode_of_arbitrary_bytes_raises_only_codec_errors(raw: bytes | str) -> None:
    try:
        decode(raw)
    except CodecError as exc:
        assert exc.field is not None
