"""The consumer service in-process (private nats-server, SQLite store, injected faults)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tracehound.broker import Consumer, ConsumerConfig, JetStreamTransport, NatsExporter, OutMessage
from tracehound.model import Event, Record, decode, encode, new_id
from tracehound.store import SQLiteExporter

from ._services import NatsServer, free_port
from .conftest import check_ledger, stored_ids


def _events(n: int) -> list[Record]:
    now = time.time_ns()
    return [Event(new_id(), None, None, "s", "p", now, "decision", f"d{i}") for i in range(n)]


class FaultyExporter:
    """The SQLite exporter, failing for chosen record ids (poison) or entirely (an outage)."""

    name = "faulty"

    def __init__(self, path: Path, poison: set[str], state: dict[str, Any]) -> None:
        self.inner = SQLiteExporter(path)
        self.poison = poison
        self.state = state

    def export(self, batch: Sequence[Record]) -> None:
        if self.state.get("down"):
            raise ConnectionError("database is down")
        if any(r.id in self.poison for r in batch):
            raise ValueError("cannot store this record")
        self.inner.export(batch)

    def force_flush(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        self.inner.shutdown()


def _consumer(
    nats_url: str, db: Path, *, poison: set[str] | None = None, port: int | None = None, **cfg: Any
) -> tuple[Consumer, dict[str, Any]]:
    state: dict[str, Any] = {"down": False}

    def ping() -> None:
        if state["down"]:
            raise ConnectionError("database is down")

    config = ConsumerConfig(
        store_url=f"sqlite:///{db}",
        nats_url=nats_url,
        port=port,
        backoff=0.01,
        backoff_max=0.2,
        store_check_interval=0.2,
        **cfg,
    )
    consumer = Consumer(
        config,
        exporter_factory=lambda: FaultyExporter(db, poison or set(), state),
        ping=ping,
    )
    return consumer, state


async def _until(cond: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _publish(url: str, records: Sequence[Record], per_message: int = 1) -> None:
    """Publish ``records``, ``per_message`` records per message (1: the one-record form)."""
    exp = NatsExporter(url, records_per_message=per_message)
    try:
        for i in range(0, len(records), 1000):
            exp.export(records[i : i + 1000])
    finally:
        exp.shutdown()


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def test_batches_are_stored_and_acked(nats_server: NatsServer, tmp_path: Path) -> None:
    records = _events(1050)
    await asyncio.to_thread(_publish, nats_server.url, records)
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db")
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.acked >= 1050)
    consumer.stop()
    await asyncio.wait_for(task, 30)
    assert check_ledger([r.id for r in records], stored_ids(f"sqlite:///{tmp_path / 's.db'}")) == (
        0,
        0,
    )
    assert consumer.stats.batches >= 11 and consumer.stats.dead_lettered == 0


async def test_messages_of_many_records_are_stored_and_acked(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    records = _events(1050)
    await asyncio.to_thread(_publish, nats_server.url, records, 64)
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db", batch_size=100)
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.stored >= 1050)
    await _until(lambda: consumer.stats.acked >= 17)  # ceil(1050 / 64) messages
    consumer.stop()
    await asyncio.wait_for(task, 30)
    assert check_ledger([r.id for r in records], stored_ids(f"sqlite:///{tmp_path / 's.db'}")) == (
        0,
        0,
    )
    st = consumer.stats
    assert (st.received, st.records, st.acked, st.dead_lettered) == (17, 1050, 17, 0)
    # a message is never split; a batch closes once it holds batch_size (100) records
    assert 1050 // 128 <= st.batches <= 17


@pytest.mark.parametrize("per_message", [1, 500])
async def test_poison_goes_to_the_dead_letter_stream_the_rest_is_committed(
    nats_server: NatsServer, tmp_path: Path, per_message: int
) -> None:
    records = _events(300)
    bad = records[137].id
    await asyncio.to_thread(_publish, nats_server.url, records, per_message)
    t = JetStreamTransport(nats_server.url)
    await t.connect()
    await t.publish([OutMessage("tracehound.records.event", b"{not json", "event:junk")], 5)
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db", poison={bad})
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.acked >= (301 if per_message == 1 else 2))
    consumer.stop()
    await asyncio.wait_for(task, 30)
    stored = stored_ids(f"sqlite:///{tmp_path / 's.db'}")
    assert check_ledger([r.id for r in records if r.id != bad], stored) == (0, 0)
    assert bad not in stored
    letters = await t.dead_letters()
    assert len(letters) == 2
    by_id = {dl.msg_id: dl for dl in letters}
    assert by_id["event:junk"].attempts == 1 and "undecodable" in by_id["event:junk"].error
    poison = by_id[f"event:{bad}"]
    assert poison.attempts == 3 and "cannot store this record" in poison.error
    assert poison.first_seen_ns <= poison.failed_at_ns
    # the dead letter is the poison record alone, even when its message held 300
    assert decode(poison.data).id == bad
    assert poison.part == (None if per_message == 1 else 137)
    assert poison.subject == "tracehound.records.event"
    # replayed after "fixing the cause": stored once, gone from the dead-letter stream
    assert await t.replay_dead_letter(poison.sequence)
    fixed, _ = _consumer(nats_server.url, tmp_path / "s.db")
    task = asyncio.create_task(fixed.run())
    await _until(lambda: fixed.stats.stored >= 1)
    fixed.stop()
    await asyncio.wait_for(task, 30)
    assert bad in stored_ids(f"sqlite:///{tmp_path / 's.db'}")
    assert [dl.msg_id for dl in await t.dead_letters()] == ["event:junk"]
    await t.close()


class SlowCountingExporter(FaultyExporter):
    """A FaultyExporter whose writes take a while, counting how many run at once."""

    active = 0
    most = 0
    lock = threading.Lock()

    def export(self, batch: Sequence[Record]) -> None:
        cls = SlowCountingExporter
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        try:
            time.sleep(0.02)
            super().export(batch)
        finally:
            with cls.lock:
                cls.active -= 1


@pytest.mark.parametrize("writers", [1, 2])
async def test_writers_store_batches_at_once_each_acked_after_its_commit(
    nats_server: NatsServer, tmp_path: Path, writers: int
) -> None:
    records = _events(2000)
    bad = records[1234].id
    await asyncio.to_thread(_publish, nats_server.url, records, 100)
    db = tmp_path / "s.db"
    state: dict[str, Any] = {"down": False}
    SlowCountingExporter.most = 0
    config = ConsumerConfig(
        store_url=f"sqlite:///{db}",
        nats_url=nats_server.url,
        port=None,
        backoff=0.01,
        backoff_max=0.2,
        writers=writers,
    )
    consumer = Consumer(
        config, exporter_factory=lambda: SlowCountingExporter(db, {bad}, state), ping=lambda: None
    )
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.acked >= 20 and consumer.stats.dead_lettered == 1)
    consumer.stop()
    await asyncio.wait_for(task, 30)
    stored = stored_ids(f"sqlite:///{db}")
    assert check_ledger([r.id for r in records if r.id != bad], stored) == (0, 0)
    assert bad not in stored
    # the poison batch was bisected by one writer while the other went on storing
    assert SlowCountingExporter.most == writers
    assert consumer.stats.acked == 20 and consumer.stats.naked == 0


def test_writers_are_checked() -> None:
    with pytest.raises(ValueError, match="writers"):
        ConsumerConfig(store_url="sqlite:///x.db", writers=0)
    assert len(Consumer(ConsumerConfig(store_url="sqlite:///x.db"))._writers) == 1
    pg = Consumer(ConsumerConfig(store_url="postgresql://u@127.0.0.1:1/db"))
    assert len(pg._writers) == 2


async def test_an_undecodable_record_inside_a_message_is_dead_lettered_alone(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    good = _events(3)
    body = b"\n".join([encode(good[0]), b'{"v":1,"type":"event","id":"x"}', *map(encode, good[1:])])
    t = JetStreamTransport(nats_server.url)
    await t.connect()
    await t.publish([OutMessage("tracehound.records.event", body, "batch:4:test")], 5)
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db")
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.acked >= 1)
    consumer.stop()
    await asyncio.wait_for(task, 30)
    assert check_ledger([r.id for r in good], stored_ids(f"sqlite:///{tmp_path / 's.db'}")) == (
        0,
        0,
    )
    (letter,) = await t.dead_letters()
    assert letter.part == 1 and letter.msg_id == "event:x" and "undecodable" in letter.error
    assert letter.data == b'{"v":1,"type":"event","id":"x"}'
    await t.close()


async def test_store_outage_holds_the_batch_and_reports_not_ready(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    consumer, state = _consumer(nats_server.url, tmp_path / "s.db", port=port)
    state["down"] = True
    records = _events(500)
    await asyncio.to_thread(_publish, nats_server.url, records, 100)
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.store_outages >= 1)
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
    assert code == 503 and body["failing"] == ["store"] and "down" in body["store"]
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/health")
    assert code == 200
    await asyncio.sleep(1.0)
    assert consumer.stats.dead_lettered == 0 and consumer.stats.stored == 0
    state["down"] = False
    await _until(lambda: consumer.stats.acked >= 5)
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
    assert code == 200 and body["failing"] == []
    consumer.stop()
    await asyncio.wait_for(task, 30)
    assert check_ledger([r.id for r in records], stored_ids(f"sqlite:///{tmp_path / 's.db'}")) == (
        0,
        0,
    )


async def test_stop_during_an_outage_returns_the_batch(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    consumer, state = _consumer(nats_server.url, tmp_path / "s.db")
    state["down"] = True
    await asyncio.to_thread(_publish, nats_server.url, _events(50))
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.store_outages >= 1)
    consumer.stop()
    await asyncio.wait_for(task, 10)
    # given back, not acked (a nak'ed message may come back to the batch being collected
    # before the stop is noticed; it is given back again)
    assert consumer.stats.naked >= 50 and consumer.stats.acked == 0
    assert consumer.stats.stored == 0 and consumer.stats.dead_lettered == 0
    # the batch is back in the stream: another consumer gets it at once
    other, _ = _consumer(nats_server.url, tmp_path / "s.db")
    task = asyncio.create_task(other.run())
    try:
        await _until(lambda: other.stats.acked >= 50, timeout=10)
    except AssertionError:
        raise AssertionError(f"{other.stats} {consumer.stats}") from None
    other.stop()
    await asyncio.wait_for(task, 30)


async def test_ready_names_nats_when_the_broker_is_unreachable(tmp_path: Path) -> None:
    port = free_port()
    consumer, _ = _consumer(f"nats://127.0.0.1:{free_port()}", tmp_path / "s.db", port=port)
    task = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.5)
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
    assert code == 503 and "nats" in body["failing"]
    consumer.stop()
    await asyncio.wait_for(task, 10)


def test_stop_from_another_thread(nats_server: NatsServer, tmp_path: Path) -> None:
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db")
    threading.Timer(0.5, consumer.stop).start()
    started = time.monotonic()
    asyncio.run(consumer.run())
    assert time.monotonic() - started < 5
