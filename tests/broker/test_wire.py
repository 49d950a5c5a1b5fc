"""The broker wire form: the model codec, one record per message, message ids."""

from __future__ import annotations

import time

import orjson

from tracehound.broker import record_message, record_messages
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


def _mixed(n: int) -> list[Span | Event | Metric]:
    now = time.time_ns()
    out: list[Span | Event | Metric] = []
    for i in range(n):
        if i % 3 == 0:
            out.append(_span())
        elif i % 3 == 1:
            out.append(Event(new_id(), None, None, "s", "p", now, "decision", f"d{i}"))
        else:
            out.append(Metric(new_id(), "s", "p", now, "latency", float(i), "ms", None))
    return out


def test_records_are_packed_by_type_in_order() -> None:
    records = _mixed(30)
    messages = record_messages(records, "t.r", records_per_message=4)
    by_subject: dict[str, list[str]] = {}
    for m in messages:
        lines = m.data.split(b"\n")
        assert 1 <= len(lines) <= 4
        ids = [decode(line).id for line in lines]
        by_subject.setdefault(m.subject, []).extend(ids)
        if len(lines) > 1:
            assert m.msg_id.startswith(f"batch:{len(lines)}:")
            assert m.headers == {"Tracehound-Records": str(len(lines))}
        else:
            assert m.msg_id == record_message(decode(lines[0]), "t.r").msg_id
    for rtype in ("span", "event", "metric"):
        want = [r.id for r in records if r.record_type == rtype]
        assert by_subject[f"t.r.{rtype}"] == want  # every record once, in order
    assert len(messages) == 3 * 3  # 10 of each type, 4 per message


def test_a_packed_message_id_is_a_function_of_the_record_ids() -> None:
    records = _mixed(12)
    a = record_messages(records, "t.r")
    b = record_messages(list(records), "t.r")
    assert [m.msg_id for m in a] == [m.msg_id for m in b]  # a retry is deduplicated
    other = record_messages(records[:-1], "t.r")
    assert {m.msg_id for m in a} != {m.msg_id for m in other}
    # a running snapshot and its final span never share a message id
    final = _span()
    running = final._replace(end_time=None, status="running")
    assert (
        record_messages([final, final], "t.r")[0].msg_id
        != record_messages([running, final], "t.r")[0].msg_id
    )


def test_one_record_per_message_is_the_single_record_form() -> None:
    records = _mixed(6)
    assert record_messages(records, "t.r", records_per_message=1) == [
        record_message(r, "t.r") for r in records
    ]


def test_packing_respects_the_broker_max_payload() -> None:
    now = time.time_ns()
    records = [
        Event(new_id(), None, None, "s", "p", now, "decision", "d", data={"x": "y" * 3000})
        for _ in range(100)
    ]
    messages = record_messages(records, "t.r", max_payload=64 * 1024)
    assert all(len(m.data) <= 64 * 1024 - 4096 for m in messages)
    assert sum(len(m.data.split(b"\n")) for m in messages) == 100
    assert len(messages) == -(-100 // ((64 * 1024 - 4096) // 3200))  # greedy fill
