"""JetStreamTransport and NatsExporter against a private nats-server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import tracehound
from tracehound.broker import JetStreamTransport, NatsExporter, OutMessage
from tracehound.exceptions import ExporterError
from tracehound.model import Event, Record, decode, new_id
from tracehound.sdk._runtime import get_runtime

from ._services import NatsServer, free_port


def _events(n: int) -> list[Record]:
    now = time.time_ns()
    return [Event(new_id(), None, None, "s", "p", now, "decision", f"d{i}") for i in range(n)]


async def _drain(t: JetStreamTransport, durable: str = "test") -> list[bytes]:
    await t.subscribe(durable, ack_wait=30, max_ack_pending=10_000)
    out: list[bytes] = []
    while True:
        got = await t.fetch(500, 0.5)
        if not got:
            return out
        out.extend(d.data for d in got)
        await t.ack(got)


async def test_publish_is_deduplicated_by_message_id(nats_server: NatsServer) -> None:
    t = JetStreamTransport(nats_server.url)
    await t.connect()
    msgs = [OutMessage("tracehound.records.event", b"%d" % i, f"event:{i}") for i in range(300)]
    first = await t.publish(msgs, 5)
    again = await t.publish(msgs[:100], 5)
    assert (first.stored, first.duplicates) == (300, 0)
    assert (again.stored, again.duplicates) == (0, 100)
    assert len(await _drain(t)) == 300
    await t.close()


async def test_publish_without_a_broker_raises(tmp_path: Path) -> None:
    t = JetStreamTransport(f"nats://127.0.0.1:{free_port()}", connect_timeout=0.5)
    with pytest.raises(ExporterError):
        await t.connect()


async def test_dead_letters_list_and_replay(nats_server: NatsServer) -> None:
    t = JetStreamTransport(nats_server.url)
    await t.connect()
    await t.publish([OutMessage("tracehound.records.event", b"garbage", "event:g")], 5)
    await t.subscribe("test", ack_wait=30, max_ack_pending=100)
    (d,) = await t.fetch(10, 2)
    await t.dead_letter(d, error="boom\nsecond line", attempts=3)
    await t.ack([d])
    (letter,) = await t.dead_letters()
    assert letter.data == b"garbage" and letter.attempts == 3
    assert letter.error == "boom second line"
    assert letter.subject == "tracehound.records.event" and letter.msg_id == "event:g"
    assert letter.first_seen_ns <= letter.failed_at_ns
    assert await t.replay_dead_letter(letter.sequence)
    assert await t.dead_letters() == []
    assert not await t.replay_dead_letter(letter.sequence)
    (again,) = await t.fetch(10, 2)
    assert again.data == b"garbage"
    await t.close()


@pytest.mark.parametrize("per_message", [1, 500])
def test_nats_exporter_publishes_every_record_type(
    nats_server: NatsServer, per_message: int
) -> None:
    exp = NatsExporter(nats_server.url, records_per_message=per_message)
    records = _events(50)
    exp.export(records)
    exp.export(records)  # a retry / a replayed spool: no new messages
    messages = 50 if per_message == 1 else 1
    assert (exp.published, exp.duplicates, exp.records) == (messages, messages, 100)
    exp.shutdown()

    async def read() -> list[bytes]:
        t = JetStreamTransport(nats_server.url)
        await t.connect()
        try:
            return await _drain(t)
        finally:
            await t.close()

    bodies = asyncio.run(read())
    assert len(bodies) == messages
    got = [decode(line) for b in bodies for line in b.split(b"\n")]
    assert [r.id for r in got] == [r.id for r in records]


def test_configure_with_the_nats_exporter_from_the_environment(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEHOUND_EXPORTERS", "nats")
    monkeypatch.setenv("TRACEHOUND_NATS_URL", nats_server.url)
    monkeypatch.setenv("TRACEHOUND_NATS_STREAM", "AGENTS")
    monkeypatch.setenv("TRACEHOUND_NATS_SUBJECT", "agents.records")
    monkeypatch.setenv("TRACEHOUND_NATS_RECORDS_PER_MESSAGE", "1")
    tracehound.configure(trace_dir=tmp_path, flush_interval=0.05)
    (exporter,) = get_runtime().exporters
    assert isinstance(exporter, NatsExporter) and exporter.records_per_message == 1
    with tracehound.span("work", kind="agent", agent="a"):
        tracehound.event("decision", "route", target="b")
        tracehound.metric("latency", 12.0, unit="ms")
    assert tracehound.flush(10)
    st = tracehound.stats()["exporters"]["nats"]
    assert st["exported"] == 3 and st["spooled"] == 0

    async def read() -> list[bytes]:
        t = JetStreamTransport(nats_server.url, stream="AGENTS", subject="agents.records")
        await t.connect()
        try:
            return await _drain(t)
        finally:
            await t.close()

    kinds = sorted(decode(b).record_type for b in asyncio.run(read()))
    assert kinds == ["event", "metric", "span"]


def test_exporter_raises_while_the_broker_is_down(tmp_path: Path) -> None:
    exp = NatsExporter(f"nats://127.0.0.1:{free_port()}", connect_timeout=0.3, timeout=0.5)
    with pytest.raises(ExporterError):
        exp.export(_events(3))
    exp.shutdown()
    with pytest.raises(ExporterError):
        exp.export(_events(1))
