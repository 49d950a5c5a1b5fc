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

from tracehound.broker import Consumer, ConsumerConfig, JetStreamTransport, NatsExporter, OutMessage
from tracehound.model import Event, Record, new_id
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


def _publish(url: str, records: Sequence[Record]) -> None:
    exp = NatsExporter(url)
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


async def test_poison_goes_to_the_dead_letter_stream_the_rest_is_committed(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    records = _events(300)
    bad = records[137].id
    await asyncio.to_thread(_publish, nats_server.url, records)
    t = JetStreamTransport(nats_server.url)
    await t.connect()
    await t.publish([OutMessage("tracehound.records.event", b"{not json", "event:junk")], 5)
    consumer, _ = _consumer(nats_server.url, tmp_path / "s.db", poison={bad})
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.acked >= 301)
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
    await t.close()


async def test_store_outage_holds_the_batch_and_reports_not_ready(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    consumer, state = _consumer(nats_server.url, tmp_path / "s.db", port=port)
    state["down"] = True
    records = _events(500)
    await asyncio.to_thread(_publish, nats_server.url, records)
    task = asyncio.create_task(consumer.run())
    await _until(lambda: consumer.stats.store_outages >= 1)
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
    assert code == 503 and body["failing"] == ["store"] and "down" in body["store"]
    code, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/health")
    assert code == 200
    await asyncio.sleep(1.0)
    assert consumer.stats.dead_lettered == 0 and consumer.stats.stored == 0
    state["down"] = False
    await _until(lambda: consumer.stats.acked >= 500)
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
    assert consumer.stats.naked == 50 and consumer.stats.acked == 0
    # the batch is back in the stream: another consumer gets it at once
    other, _ = _consumer(nats_server.url, tmp_path / "s.db")
    task = asyncio.create_task(other.run())
    await _until(lambda: other.stats.acked >= 50, timeout=10)
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
