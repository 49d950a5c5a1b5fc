"""The SQLite exporter: round trip, idempotency, sessions, concurrency, fork, busy handling."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tracehound
from tracehound.exceptions import ExporterError
from tracehound.model import Record, Span
from tracehound.pipeline._exporter import Exporter
from tracehound.store import SQLiteExporter, StoreReader
from tracehound.store import _sqlite as sqlite_module
from tracehound.store._engine import sqlite_path

from ._support import T0, make_event, make_metric, make_span, rich_records

SRC = str(Path(tracehound.__file__).resolve().parents[1])


@pytest.fixture
def exporter(sqlite_url: str) -> Any:
    exp = SQLiteExporter(sqlite_url)
    yield exp
    exp.shutdown()


@pytest.fixture
def reader(sqlite_url: str) -> Any:
    r = StoreReader(sqlite_url)
    yield r
    r.close()


def _all(reader: StoreReader) -> tuple[list[Any], list[Any], list[Any]]:
    return list(reader.iter_spans()), list(reader.iter_events()), list(reader.iter_metrics())


def test_round_trip_field_by_field(exporter: SQLiteExporter, reader: StoreReader) -> None:
    records = rich_records()
    exporter.export(records)
    spans, events, metrics = _all(reader)
    by_id = {r.id: r for r in [*spans, *events, *metrics]}
    assert len(by_id) == len(records)
    for record in records:
        stored = by_id[record.id]
        assert type(stored) is type(record)
        for field in record._fields:
            assert getattr(stored, field) == getattr(record, field), field
    llm = by_id["llm-1"]
    assert isinstance(llm, Span)
    assert llm.is_streaming is True and by_id["agent-1"].is_streaming is False
    assert by_id["run-1"].end_time is None


def test_times_are_stored_to_the_microsecond(exporter: SQLiteExporter, reader: StoreReader) -> None:
    exporter.export([make_span(id="s", start_time=T0 + 1_234_567_891, end_time=None)])
    (span,) = reader.iter_spans()
    assert span.start_time == T0 + 1_234_567_000
    path = sqlite_path(reader.url)
    assert path is not None
    with sqlite3.connect(path) as conn:
        text = conn.execute("SELECT start_time FROM spans").fetchone()[0]
    assert text == "2026-01-01 00:00:01.234567"


def test_empty_batch_and_non_records(exporter: SQLiteExporter) -> None:
    exporter.export([])
    with pytest.raises(TypeError):
        exporter.export(["not a record"])  # type: ignore[list-item]


def test_duplicates_across_and_within_batches_are_stored_once(
    exporter: SQLiteExporter, reader: StoreReader
) -> None:
    records = rich_records()
    exporter.export(records)
    exporter.export(records)
    exporter.export(records + records)
    assert reader.count("spans") == sum(type(r) is Span for r in records)
    assert reader.count("events") == 2
    assert reader.count("metrics") == 2

    fresh: list[Record] = [make_span(id="dup"), make_event(id="dup-e"), make_metric(id="dup-m")]
    exporter.export(fresh * 3)
    assert [s.id for s in reader.iter_spans() if s.id == "dup"] == ["dup"]
    assert [e.id for e in reader.iter_events() if e.id == "dup-e"] == ["dup-e"]
    assert [m.id for m in reader.iter_metrics() if m.id == "dup-m"] == ["dup-m"]


def test_duplicate_keeps_the_first_version(exporter: SQLiteExporter, reader: StoreReader) -> None:
    exporter.export([make_span(id="x", name="first"), make_event(id="e", name="first")])
    exporter.export([make_span(id="x", name="second"), make_event(id="e", name="second")])
    assert [s.name for s in reader.iter_spans()] == ["first"]
    assert [e.name for e in reader.iter_events()] == ["first"]


SNAPSHOT = make_span(
    id="exec-1", status="running", end_time=None, duration_ms=None, attributes={"step": 1}
)
FINAL = SNAPSHOT._replace(
    status="success", end_time=T0 + 9_000_000, duration_ms=9.0, output="done", attributes={}
)
STALE = SNAPSHOT._replace(attributes={"step": 2})


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        ([[SNAPSHOT], [FINAL]], FINAL),
        ([[SNAPSHOT, FINAL]], FINAL),
        ([[FINAL], [SNAPSHOT]], FINAL),
        ([[FINAL, SNAPSHOT]], FINAL),
        ([[SNAPSHOT], [FINAL], [STALE]], FINAL),
        ([[SNAPSHOT], [STALE]], SNAPSHOT),
        ([[SNAPSHOT, STALE, FINAL, STALE]], FINAL),
    ],
    ids=[
        "snapshot-then-final",
        "snapshot-then-final-one-batch",
        "final-then-snapshot",
        "final-then-snapshot-one-batch",
        "stale-after-final",
        "second-snapshot-ignored",
        "mixed-one-batch",
    ],
)
def test_running_snapshot_gives_way_to_the_final_span(
    exporter: SQLiteExporter, reader: StoreReader, batches: list[list[Span]], expected: Span
) -> None:
    for batch in batches:
        exporter.export(batch)
    assert list(reader.iter_spans()) == [expected]


def test_session_rows_track_first_and_last_record(
    exporter: SQLiteExporter, reader: StoreReader
) -> None:
    exporter.export(
        [
            make_span(start_time=T0 + 10**9, end_time=T0 + 5 * 10**9),
            make_event(timestamp=T0 + 2 * 10**9),
            make_span(session_id="other", project="p2", start_time=T0, end_time=None),
        ]
    )
    exporter.export([make_metric(timestamp=T0 + 3 * 10**9), make_event(timestamp=T0)])
    exporter.export([make_span(start_time=T0 + 7 * 10**9, end_time=None)])
    by_id = {s["id"]: s for s in reader.list_sessions()}
    assert set(by_id) == {"session-1", "other"}
    main = by_id["session-1"]
    assert (main["started_at"], main["last_seen_at"]) == (T0, T0 + 7 * 10**9)
    assert main["hostname"] and main["pid"] == os.getpid()
    assert main["ended_at"] is None and main["summary"] is None
    assert by_id["other"]["project"] == "p2"
    assert (main["span_count"], main["event_count"]) == (2, 2)

    exporter.mark_session_ended("session-1", T0 + 8 * 10**9, {"spans": 2, "dropped": 0})
    exporter.mark_session_ended("never-seen", T0, {"spans": 0})
    by_id = {s["id"]: s for s in reader.list_sessions()}
    assert by_id["session-1"]["ended_at"] == T0 + 8 * 10**9
    assert by_id["session-1"]["last_seen_at"] == T0 + 8 * 10**9
    assert by_id["session-1"]["summary"] == {"spans": 2, "dropped": 0}
    assert by_id["session-1"]["started_at"] == T0
    assert by_id["never-seen"]["ended_at"] == T0
    assert by_id["never-seen"]["project"] == "default"


def test_hostile_text_and_json_are_stored(exporter: SQLiteExporter, reader: StoreReader) -> None:
    exporter.export(
        [
            make_span(id="s1", name="lone \ud800 surrogate", attributes={"k": "v\udfff"}),
            make_span(id="s2", attributes={"obj": object, 1: "int key"}, input=2**70),
            make_event(id="e1", message="nul \x00 byte", data={"nan": float("nan")}),
        ]
    )
    spans = {s.id: s for s in reader.iter_spans()}
    assert spans["s1"].name == "lone ? surrogate"
    assert spans["s1"].attributes == {"k": "v?"}
    assert spans["s2"].attributes["1"] == "int key"
    assert spans["s2"].attributes["obj"] == "<class 'object'>"
    (event,) = reader.iter_events()
    assert event.message == "nul \x00 byte"
    assert event.data == {"nan": None}


def test_contract(exporter: SQLiteExporter, sqlite_url: str) -> None:
    assert isinstance(exporter, Exporter)
    assert exporter.name == "sqlite"
    assert exporter.force_flush() is True
    assert exporter.force_flush(timeout=0.1) is True
    exporter.export([make_span()])
    exporter.shutdown()
    exporter.shutdown()
    with pytest.raises(ExporterError):
        exporter.export([make_span()])


def test_accepts_a_path(tmp_path: Path) -> None:
    exp = SQLiteExporter(tmp_path / "deep" / "x.db")
    exp.export([make_span()])
    exp.shutdown()
    with StoreReader(f"sqlite:///{tmp_path / 'deep' / 'x.db'}") as r:
        assert r.count("spans") == 1


def test_relative_path_is_fixed_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exp = SQLiteExporter("trace/tracehound.db")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    exp.export([make_span()])
    exp.shutdown()
    assert (tmp_path / "trace" / "tracehound.db").exists()
    assert not (tmp_path / "elsewhere" / "trace").exists()


def test_export_to_a_current_database_does_not_import_sqlalchemy(sqlite_url: str) -> None:
    SQLiteExporter(sqlite_url).export([make_span()])  # creates the schema
    code = (
        "import sys\n"
        f"sys.path.insert(0, {SRC!r})\n"
        "before = 'sqlalchemy' in sys.modules\n"
        "from tracehound.store import SQLiteExporter\n"
        "from tracehound.model import Span\n"
        f"exporter = SQLiteExporter({sqlite_url!r})\n"
        "exporter.export([Span('x', 't', None, 's', 'p', 'task', 'n', 'success', 1, 2, 0.0)])\n"
        "print(before or 'sqlalchemy' not in sys.modules, 'alembic' not in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True"]


def test_wal_mode_and_schema_created_on_first_export(sqlite_url: str) -> None:
    path = sqlite_path(sqlite_url)
    assert path is not None
    exp = SQLiteExporter(sqlite_url)
    assert not path.exists()  # nothing happens before the first export
    exp.export([make_span()])
    exp.shutdown()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- busy database --------------------------------------------------------------------------


def _hold_write_lock(path: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_busy_database_is_waited_for(sqlite_url: str, reader: StoreReader) -> None:
    exp = SQLiteExporter(sqlite_url, busy_timeout=0.05, lock_timeout=10)
    exp.export([make_span(id="a")])
    path = sqlite_path(sqlite_url)
    assert path is not None
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, ready))
    holder.start()
    ready.wait()
    exp.export([make_span(id="b")])
    holder.join()
    exp.shutdown()
    assert reader.count("spans") == 2


def test_locked_too_long_raises_exporter_error(sqlite_url: str, reader: StoreReader) -> None:
    exp = SQLiteExporter(sqlite_url, busy_timeout=0.05, lock_timeout=0.3)
    exp.export([make_span(id="a")])
    path = sqlite_path(sqlite_url)
    assert path is not None
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.5, ready))
    holder.start()
    ready.wait()
    started = time.monotonic()
    with pytest.raises(ExporterError, match="locked"):
        exp.export([make_span(id="b")])
    assert time.monotonic() - started < 1.4
    holder.join()
    exp.export([make_span(id="b")])  # works again once the lock is gone
    exp.shutdown()
    assert reader.count("spans") == 2


# -- several processes ------------------------------------------------------------------------

_WORKER = """
import os, sys, time
from tracehound.store import SQLiteExporter
from tracehound.model import Span, Event
url, tag, go = sys.argv[1], sys.argv[2], sys.argv[3]
T0 = 1_767_225_600_000_000_000
def span(i, prefix):
    return Span(f"{prefix}-{i}", f"t-{i // 50}", None, f"s-{tag}", "default", "task", "w",
                "success", T0 + i * 1000, T0 + i * 1000 + 500, 0.0005, attributes={"i": i})
own = [span(i, tag) for i in range(20_000)]
shared = [span(i, "shared") for i in range(2_000)]  # both processes write these
events = [Event(f"{tag}-e{i}", None, None, f"s-{tag}", "default", T0 + i, "log", "n")
          for i in range(1_000)]
records = own + events
exporter = SQLiteExporter(url, busy_timeout=0.2, lock_timeout=60)
while not os.path.exists(go):
    time.sleep(0.005)
for start in range(0, len(records), 1000):
    exporter.export(records[start:start + 1000] + shared[start // 10:start // 10 + 100])
exporter.shutdown()
"""


def test_two_processes_write_concurrently(sqlite_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {SRC!r})\n" + _WORKER,
                sqlite_url,
                tag,
                str(go),
            ]
        )
        for tag in ("a", "b")
    ]
    time.sleep(0.3)
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    with StoreReader(sqlite_url) as reader:
        assert reader.count("spans") == 2 * 20_000 + 2_000
        assert reader.count("events") == 2 * 1_000
        ids = [s.id for s in reader.iter_spans(batch_size=5000)]
        sessions = {s["id"]: s for s in reader.list_sessions()}
    assert len(ids) == len(set(ids))
    assert {f"a-{i}" for i in range(20_000)} <= set(ids)
    assert {f"b-{i}" for i in range(20_000)} <= set(ids)
    assert {f"shared-{i}" for i in range(2_000)} <= set(ids)
    assert set(sessions) == {"s-a", "s-b"}


# -- fork -------------------------------------------------------------------------------------


def test_after_fork_drops_the_inherited_connection(exporter: SQLiteExporter) -> None:
    exporter.export([make_span(id="before")])
    conn = exporter._conn
    assert conn is not None
    exporter.after_fork()
    assert exporter._conn is None
    assert conn in sqlite_module._ABANDONED  # parked, never closed
    exporter.export([make_span(id="after")])
    assert exporter._conn is not None and exporter._conn is not conn


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_writes_with_its_own_connection(
    exporter: SQLiteExporter, reader: StoreReader
) -> None:
    exporter.export([make_span(id="parent-1")])
    pid = os.fork()
    if pid == 0:  # the child: the pid change is noticed on export
        code = 1
        try:
            exporter.export([make_span(id="child-1")])
            exporter.after_fork()  # explicit call is harmless too
            exporter.export([make_span(id="child-2")])
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    exporter.export([make_span(id="parent-2")])
    assert sorted(s.id for s in reader.iter_spans()) == [
        "child-1",
        "child-2",
        "parent-1",
        "parent-2",
    ]


# -- statements -------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 15, 16, 17, 100, 255])
def test_inserts_in_power_of_two_statements(rows: int) -> None:
    insert = sqlite_module._Insert("t", ("id", "v"), "ON CONFLICT(id) DO NOTHING")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v)")
    values: list[Any] = []
    for i in range(rows):
        values += [f"r{i:03d}", i]
    insert.run(conn, values, 16)
    assert conn.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [
        (f"r{i:03d}", i) for i in range(rows)
    ]
    assert all(size & (size - 1) == 0 and size <= 16 for size in insert._sql)


def test_chunk_respects_the_variable_limit(exporter: SQLiteExporter) -> None:
    exporter.export([make_span()])
    assert exporter._chunks[sqlite_module._SPANS] * len(Span._fields) <= 32766
    assert exporter._chunks[sqlite_module._SPANS] == 256


def test_a_broken_record_fails_the_whole_batch(
    exporter: SQLiteExporter, reader: StoreReader
) -> None:
    exporter.export([make_span(id="ok-before")])
    with pytest.raises(sqlite3.IntegrityError):
        exporter.export([make_span(id="fine"), make_span(id="bad", session_id=None)])
    exporter.export([make_span(id="ok-after")])
    assert sorted(s.id for s in reader.iter_spans()) == ["ok-after", "ok-before"]
