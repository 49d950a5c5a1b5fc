"""The PostgreSQL exporter: round trip, idempotency, hostile text, sessions, partitions,
reconnects, fork, concurrency, the SDK pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import tracehound
from tracehound.exceptions import ExporterError, SchemaError
from tracehound.model import Record, Span
from tracehound.pipeline._exporter import Exporter
from tracehound.store import StoreReader
from tracehound.store import _postgres as pg_module
from tracehound.store._postgres import (
    DAY_NS,
    SANITIZED_KEY,
    PostgresExporter,
    clean_record,
    create_partitions,
    libpq_url,
    list_partitions,
)

from ._support import T0, make_event, make_metric, make_span, rich_records

SRC = str(Path(tracehound.__file__).resolve().parents[1])


@pytest.fixture
def exporter(pg_url: str) -> Iterator[PostgresExporter]:
    exp = PostgresExporter(pg_url)
    yield exp
    exp.shutdown()


@pytest.fixture
def reader(pg_url: str) -> Iterator[StoreReader]:
    r = StoreReader(pg_url)
    yield r
    r.close()


def _all(reader: StoreReader) -> tuple[list[Any], list[Any], list[Any]]:
    return list(reader.iter_spans()), list(reader.iter_events()), list(reader.iter_metrics())


def _sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()


# -- round trip and contract ------------------------------------------------------------------


def test_round_trip_field_by_field(exporter: PostgresExporter, reader: StoreReader) -> None:
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
    assert exporter.sanitized == 0


def test_times_are_stored_to_the_microsecond(
    exporter: PostgresExporter, reader: StoreReader, pg_url: str
) -> None:
    exporter.export([make_span(id="s", start_time=T0 + 1_234_567_891, end_time=None)])
    (span,) = reader.iter_spans()
    assert span.start_time == T0 + 1_234_567_000
    ((text,),) = _sql(pg_url, "SELECT start_time AT TIME ZONE 'UTC' FROM spans")
    assert str(text) == "2026-01-01 00:00:01.234567"


def test_contract(exporter: PostgresExporter) -> None:
    assert isinstance(exporter, Exporter)
    assert exporter.name == "postgres"
    assert exporter.force_flush() is True
    assert exporter.force_flush(timeout=0.1) is True
    exporter.export([])
    with pytest.raises(TypeError):
        exporter.export(["not a record"])  # type: ignore[list-item]
    exporter.export([make_span()])
    exporter.shutdown()
    exporter.shutdown()
    with pytest.raises(ExporterError):
        exporter.export([make_span()])


def test_schema_is_created_on_first_export_and_refused_without_auto_upgrade(
    pg_url: str,
) -> None:
    from tracehound.store import current_revision, head_revision

    strict = PostgresExporter(pg_url, auto_upgrade=False)
    with pytest.raises(SchemaError, match="tracehound db upgrade"):
        strict.export([make_span()])
    assert current_revision(pg_url) is None
    exp = PostgresExporter(pg_url)
    exp.export([make_span()])
    exp.shutdown()
    assert current_revision(pg_url) == head_revision()
    strict.export([make_span()])  # now current: fine
    strict.shutdown()


def test_the_sdk_picks_it_for_postgresql_urls(pg_url: str) -> None:
    from tracehound.sdk._runtime import _store_exporter

    exporter = _store_exporter(pg_url)
    assert isinstance(exporter, PostgresExporter)
    assert exporter.on_reject is None  # refused records are logged and dropped
    assert isinstance(_store_exporter(pg_url.replace("postgresql://", "postgres://")), Exporter)


# -- idempotency ------------------------------------------------------------------------------


def test_duplicates_across_and_within_batches_are_stored_once(
    exporter: PostgresExporter, reader: StoreReader
) -> None:
    records = rich_records()
    exporter.export(records)
    exporter.export(records)
    exporter.export(records + records)
    assert reader.count("spans") == sum(type(r) is Span for r in records)
    assert reader.count("events") == 2
    assert reader.count("metrics") == 2
    assert exporter.merged_batches >= 2

    fresh: list[Record] = [make_span(id="dup"), make_event(id="dup-e"), make_metric(id="dup-m")]
    exporter.export(fresh * 3)
    assert [s.id for s in reader.iter_spans() if s.id == "dup"] == ["dup"]
    assert [e.id for e in reader.iter_events() if e.id == "dup-e"] == ["dup-e"]
    assert [m.id for m in reader.iter_metrics() if m.id == "dup-m"] == ["dup-m"]


def test_duplicate_keeps_the_first_version(exporter: PostgresExporter, reader: StoreReader) -> None:
    exporter.export([make_span(id="x", name="first"), make_event(id="e", name="first")])
    exporter.export([make_span(id="x", name="second"), make_event(id="e", name="second")])
    exporter.export([make_span(id="y", name="one"), make_span(id="y", name="two")])
    assert {s.id: s.name for s in reader.iter_spans()} == {"x": "first", "y": "one"}
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
    pg_url: str, batches: list[list[Span]], expected: Span
) -> None:
    # Also through a second exporter (another process, say) that never saw the snapshot.
    for fresh_exporter in (False, True):
        if fresh_exporter:
            from .conftest import _reset_pg

            _reset_pg(pg_url)
        first = PostgresExporter(pg_url)
        for i, batch in enumerate(batches):
            exp = PostgresExporter(pg_url) if fresh_exporter and i else first
            exp.export(batch)
            if exp is not first:
                exp.shutdown()
        first.shutdown()
        with StoreReader(pg_url) as reader:
            assert list(reader.iter_spans()) == [expected]


# -- hostile text -----------------------------------------------------------------------------


def test_nul_and_lone_surrogates_are_cleaned_and_noted(
    exporter: PostgresExporter, reader: StoreReader
) -> None:
    exporter.export(
        [
            make_span(
                id="s1",
                name="lone \ud800 surrogate",
                attributes={"k": "v\udfff", "nul\x00key": 1},
                input={"deep": ["a\x00b", {"x": "\udc80"}]},
                output="fine",
                error_message="nul \x00 here",
            ),
            make_span(id="s2", name="untouched", attributes={"a": 1}),
            make_event(id="e1", message="nul \x00 byte", data={"nan": float("nan"), "t": "\x00"}),
            make_metric(id="m1", name="lat\x00ency", tags={"route": "/x\udfff"}),
        ]
    )
    spans = {s.id: s for s in reader.iter_spans()}
    s1 = spans["s1"]
    assert s1.name == "lone \ufffd surrogate"
    assert s1.error_message == "nul \ufffd here"
    assert s1.input == {"deep": ["a\ufffdb", {"x": "\ufffd"}]}
    assert s1.output == "fine"
    assert s1.attributes == {
        "k": "v\ufffd",
        "nul\ufffdkey": 1,
        SANITIZED_KEY: ["name", "input", "error_message", "attributes"],
    }
    assert spans["s2"].attributes == {"a": 1}  # the rest of the batch is untouched
    (event,) = reader.iter_events()
    assert event.message == "nul \ufffd byte"
    assert event.data == {"nan": None, "t": "\ufffd", SANITIZED_KEY: ["message", "data"]}
    (metric,) = reader.iter_metrics()
    assert metric.name == "lat\ufffdency"
    assert metric.tags == {"route": "/x\ufffd", SANITIZED_KEY: ["name", "tags"]}
    assert exporter.sanitized >= 3
    assert exporter.rejected == 0


def test_odd_json_is_stored(exporter: PostgresExporter, reader: StoreReader) -> None:
    exporter.export(
        [make_span(id="s", attributes={"obj": object, 1: "int key"}, input=2**70, output=[1.5])]
    )
    (span,) = reader.iter_spans()
    assert span.attributes["1"] == "int key"
    assert span.attributes["obj"] == "<class 'object'>"
    assert span.input == 2**70
    assert SANITIZED_KEY not in span.attributes


def test_clean_record_leaves_clean_records_alone() -> None:
    span = make_span(attributes={"a": "b"})
    assert clean_record(span) == (span, [])
    cleaned, changed = clean_record(make_event(data=None, message="\x00"))  # type: ignore[arg-type]
    assert changed == ["message"]
    assert cleaned.data == {SANITIZED_KEY: ["message"]}  # type: ignore[union-attr]


def test_a_value_postgresql_refuses_drops_only_that_record(
    exporter: PostgresExporter, reader: StoreReader
) -> None:
    exporter.export(
        [
            make_span(id="ok-1"),
            make_span(id="too-big", chunks_count=2**40),  # integer column: out of range
            make_span(id="ok-2", name="nul \x00"),
        ]
    )
    assert sorted(s.id for s in reader.iter_spans()) == ["ok-1", "ok-2"]
    assert exporter.rejected == 1


def _refused_batch() -> tuple[list[Record], Span]:
    """Good records of every kind (one needing cleaning) and one span PostgreSQL refuses
    even after cleaning: a token count beyond ``bigint`` (its NUL would be cleaned, the
    overflow cannot be)."""
    bad = make_span(id="too-many-tokens", name="bad \x00", input_tokens=2**63)
    good: list[Record] = [
        make_span(id="ok-1"),
        make_span(id="ok-2", name="nul \x00"),
        make_event(id="ok-e"),
        make_metric(id="ok-m"),
    ]
    return [good[0], good[1], bad, good[2], good[3]], bad


def test_on_reject_gets_only_the_refused_record_after_the_commit(
    pg_url: str, reader: StoreReader
) -> None:
    batch, bad = _refused_batch()
    got: list[tuple[Record, BaseException]] = []
    stored_when_called: list[list[tuple[Any, ...]]] = []

    def hook(record: Record, exc: BaseException) -> None:
        got.append((record, exc))
        # Another connection: the rest of the batch is already committed.
        stored_when_called.append(_sql(pg_url, "SELECT id FROM spans ORDER BY id"))

    exporter = PostgresExporter(pg_url, on_reject=hook)
    try:
        assert exporter.on_reject is hook
        exporter.export(batch)
        assert len(got) == 1
        record, exc = got[0]
        assert record is bad  # the record as given, not its cleaned copy
        assert isinstance(exc, psycopg.DataError)
        assert stored_when_called == [[("ok-1",), ("ok-2",)]]
        assert sorted(s.id for s in reader.iter_spans()) == ["ok-1", "ok-2"]
        assert [e.id for e in reader.iter_events()] == ["ok-e"]
        assert [m.id for m in reader.iter_metrics()] == ["ok-m"]
        assert exporter.rejected == 1
        assert exporter.sanitized == 2

        exporter.export([make_span(id="ok-3")])  # a clean batch: the hook stays quiet
        assert len(got) == 1
    finally:
        exporter.shutdown()


def test_without_on_reject_the_refused_record_is_logged_and_dropped(
    exporter: PostgresExporter, reader: StoreReader, caplog: pytest.LogCaptureFixture
) -> None:
    assert exporter.on_reject is None
    batch, _ = _refused_batch()
    with caplog.at_level("WARNING", logger="tracehound"):
        exporter.export(batch)
    assert sorted(s.id for s in reader.iter_spans()) == ["ok-1", "ok-2"]
    assert exporter.rejected == 1
    assert any(
        "refused span too-many-tokens" in r.getMessage() and "dropped" in r.getMessage()
        for r in caplog.records
    )


def test_a_failing_on_reject_does_not_break_the_export(
    exporter: PostgresExporter, reader: StoreReader, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def hook(record: Record, exc: BaseException) -> None:
        calls.append(record.id)
        if len(calls) == 1:
            raise RuntimeError("dead-letter stream unavailable")
        # The hook runs outside the exporter's lock: it may use the exporter.
        exporter.export([make_span(id="from-the-hook")])

    exporter.on_reject = hook  # set after construction
    batch, _ = _refused_batch()
    second = make_span(id="too-many-tokens-2", output_tokens=-(2**63) - 1)
    with caplog.at_level("DEBUG", logger="tracehound"):
        exporter.export([*batch, second])
    assert calls == ["too-many-tokens", "too-many-tokens-2"]  # the failure stops nothing
    assert exporter.rejected == 2
    assert sorted(s.id for s in reader.iter_spans()) == ["from-the-hook", "ok-1", "ok-2"]
    (failure,) = [r for r in caplog.records if "on_reject hook failed" in r.getMessage()]
    assert failure.levelname == "DEBUG"
    assert failure.exc_info is not None and "unavailable" in str(failure.exc_info[1])
    exporter.export([make_span(id="after")])  # the exporter still works
    assert "after" in {s.id for s in reader.iter_spans()}


def test_a_broken_record_fails_the_whole_batch(
    exporter: PostgresExporter, reader: StoreReader
) -> None:
    exporter.export([make_span(id="ok-before")])
    with pytest.raises(psycopg.IntegrityError):
        exporter.export([make_span(id="fine"), make_span(id="bad", session_id=None)])
    exporter.export([make_span(id="ok-after")])
    assert sorted(s.id for s in reader.iter_spans()) == ["ok-after", "ok-before"]


# -- sessions ---------------------------------------------------------------------------------


def test_session_rows_track_first_and_last_record(
    exporter: PostgresExporter, reader: StoreReader
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

    exporter.mark_session_ended("session-1", T0 + 8 * 10**9, {"spans": 2, "note": "a\x00b"})
    exporter.mark_session_ended("never-seen", T0, {"spans": 0})
    by_id = {s["id"]: s for s in reader.list_sessions()}
    assert by_id["session-1"]["ended_at"] == T0 + 8 * 10**9
    assert by_id["session-1"]["last_seen_at"] == T0 + 8 * 10**9
    assert by_id["session-1"]["summary"] == {"spans": 2, "note": "a\ufffdb"}
    assert by_id["session-1"]["started_at"] == T0
    assert by_id["never-seen"]["ended_at"] == T0
    assert by_id["never-seen"]["project"] == "default"


# -- partitions -------------------------------------------------------------------------------


def _where(url: str, table: str, record_id: str) -> str:
    ((name,),) = _sql(url, f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", record_id)
    return str(name).split(".")[-1]


def test_records_land_in_their_day_partition(exporter: PostgresExporter, pg_url: str) -> None:
    now = time.time_ns()
    today = time.strftime("%Y%m%d", time.gmtime(now // 10**9))
    later = now + 3 * DAY_NS
    far = now + 40 * DAY_NS
    exporter.export(
        [
            make_span(id="old", start_time=T0 - 10**18),  # 1994: history
            make_span(id="now", start_time=now, end_time=now + 1000),
            make_span(id="agent-now", kind="agent", start_time=now, end_time=now + 1000),
            make_span(id="llm-now", kind="llm", start_time=now, end_time=now + 1000),
            make_event(id="ev-now", timestamp=now),
            make_metric(id="m-later", timestamp=later),
            make_span(id="far", start_time=far, end_time=None, duration_ms=None),
        ]
    )
    assert _where(pg_url, "spans", "old") == "spans_history"
    assert _where(pg_url, "spans", "now") == f"spans_p{today}_other"  # a task span
    assert _where(pg_url, "spans", "agent-now") == f"spans_p{today}_agent"
    assert _where(pg_url, "spans", "llm-now") == f"spans_p{today}_llm"
    assert _where(pg_url, "events", "ev-now") == f"events_p{today}"
    later_day = time.strftime("%Y%m%d", time.gmtime(later // 10**9))
    assert _where(pg_url, "metrics", "m-later") == f"metrics_p{later_day}"
    assert _where(pg_url, "spans", "far") == "spans_default"  # beyond max_ahead_days

    # When the far day's partition is created, its rows move out of the default partition.
    far_day = time.gmtime(far // 10**9)
    from datetime import date

    with psycopg.connect(libpq_url(pg_url), autocommit=True) as conn:
        created = create_partitions(conn, [date(far_day.tm_year, far_day.tm_mon, far_day.tm_mday)])
        assert len(created) == 3
        assert create_partitions(conn, [date(2020, 1, 1)]) == []  # history covers it
        names = {p.name for p in list_partitions(conn)}
    assert _where(pg_url, "spans", "far") == f"spans_p{time.strftime('%Y%m%d', far_day)}_other"
    assert {"spans_history", "spans_default", f"spans_p{today}"} <= names


def test_partition_key_and_upsert_key(pg_url: str, exporter: PostgresExporter) -> None:
    exporter.export([make_span()])
    rows = _sql(
        pg_url,
        "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relname IN"
        " ('spans', 'events', 'metrics', 'sessions') ORDER BY 1",
    )
    assert rows == [("events", "p"), ("metrics", "p"), ("sessions", "r"), ("spans", "p")]
    keys = _sql(
        pg_url,
        "SELECT t.relname, array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
        " WHERE i.indisprimary AND t.relname IN ('spans', 'events', 'metrics')"
        " GROUP BY t.relname ORDER BY 1",
    )
    assert keys == [
        ("events", ["id", "timestamp"]),
        ("metrics", ["id", "timestamp"]),
        ("spans", ["id", "start_time", "kind"]),
    ]
    (jit,) = _sql(pg_url, "SELECT current_setting('jit')")
    assert jit == ("off",)  # migration 0002 (new sessions of the database)


# -- connection loss --------------------------------------------------------------------------


def test_reconnects_after_the_connection_is_killed(
    exporter: PostgresExporter, reader: StoreReader, pg_url: str
) -> None:
    exporter.export([make_span(id="a")])
    assert exporter.connections == 1
    _sql(
        pg_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'tracehound' AND datname = current_database()",
    )
    with pytest.raises(psycopg.OperationalError):
        exporter.export([make_span(id="b")])  # the pipeline would retry, then spool
    exporter.export([make_span(id="b")])
    assert exporter.connections == 2
    assert sorted(s.id for s in reader.iter_spans()) == ["a", "b"]


def test_unreachable_server_raises_quickly() -> None:
    exp = PostgresExporter("postgresql://postgres@127.0.0.1:1/none", connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        exp.export([make_span()])
    assert time.monotonic() - started < 5
    exp.shutdown()


# -- fork and processes -----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_never_touches_the_parents_connection(
    exporter: PostgresExporter, reader: StoreReader
) -> None:
    exporter.export([make_span(id="parent-1")])
    pid = os.fork()
    if pid == 0:  # the child: the pid change is noticed on export
        code = 1
        try:
            exporter.export([make_span(id="child-1")])
            exporter.shutdown()
            # Even closing the inherited connection (as a finalizer at exit would) must not
            # end the parent's session: the child's descriptor points at /dev/null now.
            for inherited in pg_module._ABANDONED:
                inherited.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    exporter.export([make_span(id="parent-2")])  # the same connection still works
    assert exporter.connections == 1
    assert sorted(s.id for s in reader.iter_spans()) == ["child-1", "parent-1", "parent-2"]


_WORKER = """
import sys
from tracehound.store._postgres import PostgresExporter
from tracehound.model import Span, Event
url, tag = sys.argv[1], sys.argv[2]
T0 = 1_767_225_600_000_000_000
def span(i, prefix):
    return Span(f"{prefix}-{i}", f"t-{i // 50}", None, f"s-{tag}", "default", "task", "w",
                "success", T0 + i * 1000, T0 + i * 1000 + 500, 0.0005, attributes={"i": i})
own = [span(i, tag) for i in range(6_000)]
shared = [span(i, "shared") for i in range(600)]  # both processes write these
events = [Event(f"{tag}-e{i}", None, None, f"s-{tag}", "default", T0 + i, "log", "n")
          for i in range(600)]
records = own + events
exporter = PostgresExporter(url)
for start in range(0, len(records), 500):
    exporter.export(records[start:start + 500] + shared[start // 10:start // 10 + 50])
exporter.shutdown()
"""


def test_two_processes_write_concurrently(pg_url: str) -> None:
    from tracehound.store import ensure_schema

    ensure_schema(pg_url)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {SRC!r})\n" + _WORKER,
                pg_url,
                tag,
            ]
        )
        for tag in ("a", "b")
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    with StoreReader(pg_url) as reader:
        assert reader.count("spans") == 2 * 6_000 + 600
        assert reader.count("events") == 2 * 600
        ids = [s.id for s in reader.iter_spans(batch_size=5000)]
    assert len(ids) == len(set(ids))


# -- through the SDK ------------------------------------------------------------------------


def test_sdk_pipeline_writes_to_postgresql(pg_url: str, tmp_path: Path) -> None:
    tracehound.configure(
        store=pg_url,
        exporters=["store"],
        trace_dir=tmp_path / "trace",
        project="pg-sdk",
        flush_interval=0.05,
    )
    try:
        with tracehound.span("root", kind="agent", agent="Planner") as root:
            root.set_attribute("vault_id", "v-1")
            for i in range(50):
                with tracehound.span(f"step-{i}", kind="tool"):
                    pass
        tracehound.flush(10)
        stats = tracehound.stats()
    finally:
        tracehound.shutdown()
    with StoreReader(pg_url) as reader:
        traces = reader.latest_traces(project="pg-sdk")
        assert len(traces) == 1 and traces[0]["span_count"] == 51
    assert stats.get("dropped_queue_full", 0) == 0
