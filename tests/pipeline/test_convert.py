"""Converter: records hold exactly what the general sanitizer gives, never the agent's own
containers (the converter's fast path for plain data changes speed, not results)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracehound.model._safe import (
    DEFAULT_LIMITS,
    Limits,
    _sanitize_attributes_slow,
    _sanitize_slow,
)
from tracehound.pipeline._convert import _EVENT_COLUMN_KEYS, SPAN_COLUMN_KEYS, Converter
from tracehound.pipeline._redact import Redactor
from tracehound.sdk._span import LiveSpan

OPENAI_KEY = "sk-proj-Abcdefghij1234567890_XYZ-abcdefghij"
_REDACTORS: dict[str, Redactor | None] = {
    "none": None,
    "default": Redactor(),
    "disabled": Redactor(enabled=False),
    "patterns": Redactor(extra_patterns=[r"ab+c"]),
    "mask": Redactor(mask=lambda s: s[::-1]),
}

# What ActionLogger (tracehound.broker) logs for a decision and a tool call.
DECISION_DATA: dict[str, Any] = {
    "action_details": {
        "decision_context": {"candidates": 2},
        "decision_result": {"selected": "agent-b"},
    },
    "project_name": "bench",
    "project_path": "/work/main",
    "working_directory": "/work/main",
    "debug_mode": True,
    "agent": "agent-bench",
    "duration_ms": 1.0,
}
TOOL_ATTRIBUTES: dict[str, Any] = {
    "project_name": "bench",
    "project_path": "/work/main",
    "working_directory": "/work/main",
    "debug_mode": True,
}


def _converter(limits: Limits = DEFAULT_LIMITS, redactor: Redactor | None = None) -> Converter:
    return Converter(session_id="s", project="p", limits=limits, redactor=redactor)


def _span(attributes: dict[str, Any], input: Any = None, output: Any = None) -> LiveSpan:
    sp = LiveSpan(None, "Read", "tool", "agent-bench", attributes)  # type: ignore[arg-type]
    sp._id = sp._trace = 0x0123456789ABCDEF0123456789ABCDEF
    sp._start, sp._end = 1_000_000, 3_000_000
    sp.input, sp.output = input, output
    return sp


def _event(data: dict[str, Any]) -> tuple[Any, ...]:
    return ("e", 1_000_000, 0x0123456789ABCDEF0123456789ABCDEF, None, "decision", "pick", data)


def _same(got: Any, want: Any) -> None:
    assert got == want
    assert orjson.dumps(got) == orjson.dumps(want)  # tells 1, 1.0 and True apart; key order


@pytest.mark.parametrize("redactor", list(_REDACTORS), ids=list(_REDACTORS))
def test_action_logger_records_match_the_general_sanitizer(redactor: str) -> None:
    red = _REDACTORS[redactor]
    conv = _converter(redactor=red)
    event = conv.event(_event(DECISION_DATA))
    data = {k: v for k, v in DECISION_DATA.items() if k != "agent"}
    _same(event.data, _sanitize_attributes_slow(data, DEFAULT_LIMITS, red))
    assert event.agent_name == "agent-bench"
    inp, out = {"file_path": "/x.py", "i": 0}, {"line_count": 10}
    span = conv.span(_span(dict(TOOL_ATTRIBUTES), inp, out))
    _same(span.attributes, _sanitize_attributes_slow(TOOL_ATTRIBUTES, DEFAULT_LIMITS, red))
    _same(span.input, _sanitize_slow(inp, DEFAULT_LIMITS, red))
    _same(span.output, _sanitize_slow(out, DEFAULT_LIMITS, red))


@pytest.mark.parametrize("redactor", ["none", "default", "disabled"])
def test_span_attributes_respect_max_string_length(redactor: str) -> None:
    # (The converter's former shortcut for plain attributes skipped this limit.)
    limits = Limits(max_string_length=10)
    conv = _converter(limits, _REDACTORS[redactor])
    span = conv.span(_span({"a_rather_long_key": "abcdefghijkl", "ok": "short", "n": 1}))
    assert span.attributes == {
        "a_rather_l…[truncated 7 chars]": "abcdefghij…[truncated 2 chars]",
        "ok": "short",
        "n": 1,
    }
    huge = "x" * 100_000
    span = _converter(redactor=_REDACTORS[redactor]).span(_span({"big": huge}))
    assert span.attributes == {"big": "x" * 65_536 + "…[truncated 34464 chars]"}


def test_span_and_event_redaction() -> None:
    conv = _converter(redactor=Redactor())
    span = conv.span(
        _span(
            {"api_key": "abc", "prompt": f"use {OPENAI_KEY}", "model_name": "m"},
            {"headers": {"Authorization": "Bearer abcdef123456"}, "q": OPENAI_KEY},
            [f"got {OPENAI_KEY}"],
        )
    )
    assert span.attributes == {
        "api_key": "[REDACTED]",
        "prompt": "use [REDACTED:openai_key]",
        "model_name": "m",
    }
    assert span.input == {"headers": {"Authorization": "[REDACTED]"}, "q": "[REDACTED:openai_key]"}
    assert span.output == ["got [REDACTED:openai_key]"]
    event = conv.event(_event({"password": {"x": 1}, "text": f"{OPENAI_KEY}", "n": 1}))
    assert event.data == {"password": "[REDACTED]", "text": "[REDACTED:openai_key]", "n": 1}


def test_records_never_share_containers_with_the_agent() -> None:
    """The agent may reuse or mutate its dicts after logging: records keep what was logged."""
    conv = _converter(redactor=Redactor())
    details: dict[str, Any] = {
        "decision_context": {"candidates": [1, 2]},
        "decision_result": {"selected": "b"},
    }
    data: dict[str, Any] = {"action_details": details, "project_name": "bench"}
    attrs: dict[str, Any] = {"project_name": "bench", "tags": ["a"]}
    inp: dict[str, Any] = {"file_path": "/x.py", "opts": {"depth": 1}}
    out: list[dict[str, Any]] = [{"line_count": 10}]
    event = conv.event(_event(data))
    span = conv.span(_span(attrs, inp, out))
    details["decision_context"]["candidates"].append(3)
    details["decision_result"]["selected"] = "c"
    data["project_name"] = "other"
    attrs["tags"].append("b")
    inp["opts"]["depth"] = 2
    out[0]["line_count"] = 11
    out.append({})
    assert event.data == {
        "action_details": {
            "decision_context": {"candidates": [1, 2]},
            "decision_result": {"selected": "b"},
        },
        "project_name": "bench",
    }
    assert span.attributes == {"project_name": "bench", "tags": ["a"]}
    assert span.input == {"file_path": "/x.py", "opts": {"depth": 1}}
    assert span.output == [{"line_count": 10}]


def test_metric_tags_through_the_sanitizer() -> None:
    conv = _converter(Limits(max_attributes=2), Redactor())
    item = ("m", 1, 2, None, "latency", 1.5, "ms", {"route": "/x", "api_key": "k", "n": 3})
    metric = conv.metric(item)
    assert metric.tags == {
        "route": "/x",
        "api_key": "[REDACTED]",
        "tracehound.dropped_attributes": 1,
    }


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no")


_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs", "L", "N", "P"]), max_size=10),
    st.sampled_from(["x" * 12, "Bearer abc12345", OPENAI_KEY, "abbc", "/work/main"]),
)
_key = st.one_of(
    _text, st.sampled_from(["password", "token", "input_tokens", "api_key", "project_name"])
).filter(lambda k: k not in SPAN_COLUMN_KEYS and k not in _EVENT_COLUMN_KEYS)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64 - 2, max_value=2**64 + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.sampled_from([b"raw", frozenset({1, 2}), ("t",)]),
    st.builds(_Hostile),
)
_value = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(_key, children, max_size=4),
    ),
    max_leaves=20,
)
_limits = st.one_of(
    st.just(DEFAULT_LIMITS),
    st.builds(
        Limits,
        max_string_length=st.integers(0, 16),
        max_depth=st.integers(0, 5),
        max_items=st.integers(0, 5),
        max_attributes=st.integers(0, 5),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    attrs=st.dictionaries(_key, _value, max_size=6),
    inp=_value,
    out=_value,
    limits=_limits,
    redactor=st.sampled_from(sorted(_REDACTORS)),
)
def test_property_records_match_the_general_sanitizer(
    attrs: dict[str, Any], inp: Any, out: Any, limits: Limits, redactor: str
) -> None:
    red = _REDACTORS[redactor]
    conv = _converter(limits, red)
    for _ in range(2):  # cold, then warm caches
        span = conv.span(_span(dict(attrs), inp, out))
        _same(span.attributes, _sanitize_attributes_slow(attrs, limits, red) if attrs else {})
        _same(span.input, None if inp is None else _sanitize_slow(inp, limits, red))
        _same(span.output, None if out is None else _sanitize_slow(out, limits, red))
        event = conv.event(_event(dict(attrs)))
        _same(event.data, _sanitize_attributes_slow(attrs, limits, red) if attrs else {})
