"""The broker wire form: the model codec, one record per message, message ids."""

from __future__ import annotations

import time

import orjson

from tracehound.broker import record_message
from tracehound.model import Event, Metric, Span, decode, encode, new_id
from tracehound.pipeline._spool import decode_line, encode_line


def _span(running: bool = False) -> Span:
    now = time.time_ns()
    end = None if running else now + 5_000_000
    return Span(new_id(), new_id(), None, "s", "p", "tool", "Read", "success", now, end, 5.0)


def test_every_record_type_round_trips_through_the_codec_and_the_spool() -> None:
    now = time.time_ns()
    event = Event(new_id(), None, None, "s", "p", now, "decision", "route", data={"a": [1]})
    metric = Metric(new_id(), "s", "p", now, "latency", 1.5, "ms", {"k": "v"})
    span = _span()
    for record in (event, metric, span):
        assert decode(encode(record)) == record
        assert decode_line(encode_line(record)) is not None
    body = orjson.loads(encode(event))
    assert body["type"] == "event" and body["event_type"] == "decision"


def test_message_ids_and_subjects() -> None:
    final = _span()
    running = final._replace(end_time=None, status="running")
    m_final = record_message(final, "tracehound.records")
    m_running = record_message(running, "tracehound.records")
    assert m_final.subject == "tracehound.records.span"
    assert m_final.msg_id == f"span:{final.id}"
    assert m_running.msg_id == f"span:{final.id}:running"  # never hides the final span
    ev = Event(new_id(), None, None, "s", "p", time.time_ns(), "error", "E")
    assert record_message(ev, "x.y").msg_id == f"event:{ev.id}"
    assert record_message(ev, "x.y").subject == "x.y.event"


def test_a_record_too_big_for_the_broker_is_shrunk_not_refused() -> None:
    big = _span()._replace(input="x" * 200_000, attributes={"k": "y" * 100_000})
    msg = record_message(big, "s", max_payload=64 * 1024)
    assert len(msg.data) < 64 * 1024
    back = decode(msg.data)
    assert back.id == big.id
    assert "tracehound.truncated" in back.attributes  # type: ignore[union-attr]
