"""Fault tests with real processes: ``tracehound consume`` subprocesses, private nats-server
and PostgreSQL instances that the tests kill, stop and restart. Each test checks a ledger of
the emitted record ids against the stored rows: lost = 0, duplicates = 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tracehound.broker import JetStreamTransport, NatsExporter, OutMessage
from tracehound.model import Event, Record, Span, new_id

from ..conftest import ROOT
from ._services import NatsServer, PgServer, free_port
from .conftest import check_ledger, stored_ids

pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHOUND_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env.update(extra)
    return env


class ConsumerProc:
    def __init__(
        self,
        tmp: Path,
        nats_url: str,
        store: str,
        *,
        failpoint: str = "",
        name: str = "c",
        ack_wait: float = 3.0,
    ) -> None:
        self.port = free_port()
        self.log = tmp / f"consumer-{name}-{time.monotonic_ns()}.log"
        env = _env(TRACEHOUND_CONSUMER_FAILPOINT=failpoint) if failpoint else _env()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracehound",
                "consume",
                "--store",
                store,
                "--nats",
                nats_url,
                "--port",
                str(self.port),
                "--ack-wait",
                str(ack_wait),
                "--batch-size",
                "100",
                "--batch-timeout",
                "0.2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "wb"),  # noqa: SIM115 - closed with the process
            env=env,
            cwd=tmp,
        )

    def status(self) -> dict[str, Any] | None:
        url = f"http://127.0.0.1:{self.port}/ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:
            return dict(json.loads(err.read()))
        except OSError:
            return None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(
                f"consumer ignored SIGTERM:\n{self.log.read_text()[-3000:]}"
            ) from None


@pytest.fixture
def consumers() -> Iterator[list[ConsumerProc]]:
    started: list[ConsumerProc] = []
    yield started
    for c in started:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait(5)


def _events(n: int) -> list[Record]:
    now = time.time_ns()
    return [Event(new_id(), None, None, "s", "p", now, "decision", f"d{i}") for i in range(n)]


def _publish(url: str, records: Sequence[Record], chunk: int = 500, per_message: int = 500) -> None:
    exp = NatsExporter(url, records_per_message=per_message)
    try:
        for i in range(0, len(records), chunk):
            exp.export(records[i : i + chunk])
    finally:
        exp.shutdown()


def _all_ids(store: str) -> list[str]:
    return stored_ids(store, "events") + stored_ids(store, "spans")


def _wait_stored(
    store: str, ledger: Sequence[str], timeout: float, procs: Sequence[Any] = ()
) -> None:
    want = set(ledger)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if want <= set(_all_ids(store)):
            return
        time.sleep(0.2)
    logs = "\n".join(p.log.read_text()[-2000:] for p in procs)
    missing = len(want - set(_all_ids(store)))
    raise AssertionError(f"{missing} of {len(want)} records not stored after {timeout}s\n{logs}")


def _assert_ledger(store: str, ledger: Sequence[str]) -> None:
    assert check_ledger(ledger, _all_ids(store)) == (0, 0)


@pytest.mark.parametrize("point", ["after_commit:3", "before_commit:3"])
def test_consumer_sigkilled_around_the_commit(
    point: str,
    nats_server: NatsServer,
    store_url: str,
    tmp_path: Path,
    consumers: list[ConsumerProc],
) -> None:
    """SIGKILL between commit and ack → redelivered, no duplicates; SIGKILL before the
    commit → redelivered, every event stored once."""
    records = _events(1000)
    ledger = [r.id for r in records]
    _publish(nats_server.url, records, per_message=50)  # 20 messages, 10 batches of 100
    first = ConsumerProc(tmp_path, nats_server.url, store_url, failpoint=point, name="dies")
    consumers.append(first)
    assert first.proc.wait(60) == -signal.SIGKILL
    assert "failpoint" in first.log.read_text()
    second = ConsumerProc(tmp_path, nats_server.url, store_url, name="next")
    consumers.append(second)
    _wait_stored(store_url, ledger, 60, [second])
    st = second.status()
    assert st is not None and st["stats"]["redelivered"] > 0
    assert second.stop() == 0
    _assert_ledger(store_url, ledger)


def test_two_consumers_share_the_work_without_duplicates(
    nats_server: NatsServer, store_url: str, tmp_path: Path, consumers: list[ConsumerProc]
) -> None:
    a = ConsumerProc(tmp_path, nats_server.url, store_url, name="a", ack_wait=30)
    b = ConsumerProc(tmp_path, nats_server.url, store_url, name="b", ack_wait=30)
    consumers.extend([a, b])
    deadline = time.monotonic() + 20
    while not (a.status() and b.status()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    records = _events(6000)
    _publish(nats_server.url, records, chunk=200)
    _wait_stored(store_url, [r.id for r in records], 60, [a, b])
    sa, sb = a.status(), b.status()
    assert sa and sb and sa["stats"]["stored"] > 0 and sb["stats"]["stored"] > 0
    assert sa["stats"]["stored"] + sb["stats"]["stored"] == 6000
    assert a.stop() == 0 and b.stop() == 0
    _assert_ledger(store_url, [r.id for r in records])


def test_postgres_stopped_during_a_load(
    nats_server: NatsServer,
    pg_server: PgServer,
    pg_url: str,
    tmp_path: Path,
    consumers: list[ConsumerProc],
) -> None:
    """PostgreSQL stops for a while during a load: nothing lost, the backlog drains after the
    restart, /ready names the store meanwhile, nothing goes to the dead-letter stream."""
    c = ConsumerProc(tmp_path, nats_server.url, pg_url)
    consumers.append(c)
    records = _events(6000)
    _publish(nats_server.url, records[:2000])
    _wait_stored(pg_url, [r.id for r in records[:2000]], 30, [c])
    pg_server.stop("fast")
    try:
        _publish(nats_server.url, records[2000:])
        saw_store_failing = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not saw_store_failing:
            st = c.status()
            saw_store_failing = bool(st and "store" in st.get("failing", []))
            time.sleep(0.2)
        assert saw_store_failing, c.log.read_text()[-2000:]
        time.sleep(2)
    finally:
        pg_server.start()
    _wait_stored(pg_url, [r.id for r in records], 90, [c])
    st = c.status()
    assert st and st["stats"]["dead_lettered"] == 0
    assert c.stop() == 0
    _assert_ledger(pg_url, [r.id for r in records])


def _publisher(
    tmp: Path, nats_url: str, count: int, rate: float
) -> tuple[subprocess.Popen[str], Path]:
    ledger = tmp / f"ledger-{time.monotonic_ns()}.txt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.broker._publisher",
            "--nats",
            nats_url,
            "--count",
            str(count),
            "--rate",
            str(rate),
            "--ledger",
            str(ledger),
            "--trace-dir",
            str(tmp / "publisher"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        cwd=tmp,
    )
    return proc, ledger


def test_broker_restarted_mid_publish(
    nats_server: NatsServer, store_url: str, tmp_path: Path, consumers: list[ConsumerProc]
) -> None:
    c = ConsumerProc(tmp_path, nats_server.url, store_url)
    consumers.append(c)
    proc, ledger_file = _publisher(tmp_path, nats_server.url, 6000, 2000.0)
    time.sleep(1.2)
    nats_server.restart(downtime=1.0)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    ledger = ledger_file.read_text().split()
    assert len(ledger) == 6000
    _wait_stored(store_url, ledger, 60, [c])
    assert c.stop() == 0
    _assert_ledger(store_url, ledger)


def test_broker_killed_mid_publish(
    nats_server: NatsServer, store_url: str, tmp_path: Path, consumers: list[ConsumerProc]
) -> None:
    c = ConsumerProc(tmp_path, nats_server.url, store_url)
    consumers.append(c)
    proc, ledger_file = _publisher(tmp_path, nats_server.url, 4000, 2000.0)
    time.sleep(1.0)
    nats_server.restart(downtime=0.5, sig=signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    ledger = ledger_file.read_text().split()
    _wait_stored(store_url, ledger, 60, [c])
    assert c.stop() == 0
    _assert_ledger(store_url, ledger)


def test_publisher_with_the_broker_down_spools_and_delivers_later(
    tmp_path: Path, store_url: str, consumers: list[ConsumerProc]
) -> None:
    server = NatsServer(tmp_path / "late-nats")  # not started yet
    proc, ledger_file = _publisher(tmp_path, server.url, 2000, 0.0)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("SPOOLED "), line
    assert int(line.split()[1]) == 2000  # everything went to the spool
    server.start()
    try:
        c = ConsumerProc(tmp_path, server.url, store_url)
        consumers.append(c)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        ledger = ledger_file.read_text().split()
        assert len(ledger) == 2000
        _wait_stored(store_url, ledger, 60, [c])
        assert c.stop() == 0
        _assert_ledger(store_url, ledger)
    finally:
        server.kill()


def test_poison_messages_go_to_the_dead_letter_stream(
    nats_server: NatsServer, store_url: str, tmp_path: Path, consumers: list[ConsumerProc]
) -> None:
    records = _events(500)
    _publish(nats_server.url, records[:250])

    async def poison() -> None:
        t = JetStreamTransport(nats_server.url)
        await t.connect()
        bad_event = {"v": 1, "type": "event", "id": "x", "name": "n", "timestamp": -5}
        await t.publish(
            [
                OutMessage("tracehound.records.event", b"\x00garbage", "event:garbage"),
                OutMessage("tracehound.records.event", json.dumps(bad_event).encode(), "event:x"),
            ],
            5,
        )
        await t.close()

    asyncio.run(poison())
    _publish(nats_server.url, records[250:])
    c = ConsumerProc(tmp_path, nats_server.url, store_url)
    consumers.append(c)
    ledger = [r.id for r in records]
    _wait_stored(store_url, ledger, 60, [c])
    cli = [sys.executable, "-m", "tracehound", "dlq"]
    deadline = time.monotonic() + 20
    while True:
        listed = subprocess.run(
            [*cli, "list", "--nats", nats_server.url, "--json"],
            capture_output=True,
            text=True,
            env=_env(),
            check=True,
        )
        letters = [json.loads(line) for line in listed.stdout.splitlines()]
        if len(letters) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(dl["msg_id"] for dl in letters) == ["event:garbage", "event:x"]
    assert all("undecodable" in dl["error"] and dl["attempts"] == 1 for dl in letters)
    table = subprocess.run(
        [*cli, "list", "--nats", nats_server.url],
        capture_output=True,
        text=True,
        env=_env(COLUMNS="200"),
    )
    assert "dead letters in TRACEHOUND_DLQ" in table.stdout
    assert table.stdout.count("undecodable") == 2
    replay = subprocess.run(
        [*cli, "replay", "--nats", nats_server.url], capture_output=True, text=True, env=_env()
    )
    assert replay.returncode == 0 and "replayed 2" in replay.stdout
    st = c.status()
    assert st is not None
    deadline = time.monotonic() + 20
    while (st := c.status()) and st["stats"]["dead_lettered"] < 4:  # replayed, still poison
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert c.stop() == 0
    _assert_ledger(store_url, ledger)


def test_a_record_postgresql_refuses_is_dead_lettered_the_rest_stored(
    nats_server: NatsServer, pg_url: str, tmp_path: Path, consumers: list[ConsumerProc]
) -> None:
    """A span PostgreSQL refuses even after cleaning (a token count beyond bigint), packed in
    one message with good spans: the good ones are stored, the bad one is dead-lettered alone
    with the database's error; nothing is dropped silently."""
    now = time.time_ns()
    spans = [
        Span(
            new_id(), new_id(), None, "s", "p", "llm", f"call{i}", "success", now, now + 1000, 0.001
        )
        for i in range(60)
    ]
    bad = spans[17] = spans[17]._replace(input_tokens=2**63, name="bad\x00name")
    _publish(nats_server.url, spans)  # one message of 60 spans
    c = ConsumerProc(tmp_path, nats_server.url, pg_url)
    consumers.append(c)
    good = [s.id for s in spans if s.id != bad.id]
    deadline = time.monotonic() + 60
    while True:
        st = c.status()
        if st and st["stats"]["dead_lettered"] >= 1 and st["stats"]["acked"] >= 1:
            break
        assert time.monotonic() < deadline, c.log.read_text()[-2000:]
        time.sleep(0.2)
    stored = stored_ids(pg_url, "spans")
    assert check_ledger(good, stored) == (0, 0) and bad.id not in stored
    listed = subprocess.run(
        [sys.executable, "-m", "tracehound", "dlq", "list", "--nats", nats_server.url, "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    (letter,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert letter["record_id"] == bad.id and letter["msg_id"] == f"span:{bad.id}"
    assert letter["part"] == 17
    assert "refused by the store" in letter["error"] and "out of range" in letter["error"]
    assert c.stop() == 0
