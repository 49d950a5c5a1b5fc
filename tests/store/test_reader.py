"""StoreReader on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tracehound.model import Record
from tracehound.store import StoreReader

from ._support import T0, make_event, make_metric, make_span, rich_records
from .conftest import Writer

S = 10**9


@pytest.fixture
def reader(store_url: str, writer: Writer) -> Iterator[StoreReader]:
    r = StoreReader(store_url)
    yield r
    r.close()


def two_traces() -> list[Record]:
    return [
        # session-1: trace-a (3 spans, one failed) and trace-b (1 span)
        make_span(id="a-root", trace_id="0190aaaa-0001", kind="agent", name="Planner",
                  agent_name="planner", start_time=T0, end_time=T0 + 5 * S, duration_ms=5000.0),
        make_span(id="a-llm", trace_id="0190aaaa-0001", parent_id="a-root", kind="llm",
                  start_time=T0 + S, end_time=T0 + 2 * S, status="failed"),
        make_span(id="a-tool", trace_id="0190aaaa-0001", parent_id="a-root", kind="tool",
                  start_time=T0 + 3 * S, end_time=T0 + 4 * S),
        make_event(id="a-ev1", trace_id="0190aaaa-0001", span_id="a-llm", level="ERROR",
                   type="error", timestamp=T0 + 2 * S),
        make_event(id="a-ev0", trace_id="0190aaaa-0001", span_id="a-root",
                   timestamp=T0 + S // 2),
        make_span(id="b-root", trace_id="0190aabb-0002", name="second", status="running",
                  start_time=T0 + 10 * S, end_time=None, duration_ms=None),
        make_metric(id="m1", timestamp=T0 + 11 * S),
        # session-2 in another project, later
        make_span(id="c-root", trace_id="0190bbbb-0003", session_id="session-2",
                  project="other", start_time=T0 + 20 * S, end_time=T0 + 21 * S),
        make_event(id="c-ev", trace_id="0190bbbb-0003", session_id="session-2",
                   project="other", level="CRITICAL", timestamp=T0 + 20 * S),
    ]  # fmt: skip


def test_round_trip_field_by_field(reader: StoreReader, writer: Writer) -> None:
    records = rich_records()
    writer(records)
    stored: dict[str, Record] = {}
    for found in (reader.iter_spans(), reader.iter_events(), reader.iter_metrics()):
        stored.update((r.id, r) for r in found)
    assert len(stored) == len(records)
    for record in records:
        assert stored[record.id] == record, record.id


def test_count(reader: StoreReader, writer: Writer) -> None:
    assert reader.count("spans") == 0
    writer(two_traces())
    assert reader.count("spans") == 5
    assert reader.count("events") == 3
    assert reader.count("metrics") == 1
    assert reader.count("sessions") == 2
    with pytest.raises(ValueError):
        reader.count("users")  # type: ignore[arg-type]


def test_list_sessions(reader: StoreReader, writer: Writer) -> None:
    writer(two_traces())
    sessions = reader.list_sessions()
    assert [s["id"] for s in sessions] == ["session-2", "session-1"]  # most recent first
    second, first = sessions
    assert first["project"] == "default"
    assert first["started_at"] == T0
    assert first["last_seen_at"] == T0 + 11 * S
    assert (first["span_count"], first["event_count"], first["error_count"]) == (4, 2, 2)
    assert (second["span_count"], second["event_count"], second["error_count"]) == (1, 1, 1)
    assert second["project"] == "other"
    assert [s["id"] for s in reader.list_sessions(limit=1)] == ["session-2"]


def test_get_trace(reader: StoreReader, writer: Writer) -> None:
    records = two_traces()
    writer(records)
    spans, events = reader.get_trace("0190aaaa-0001")
    assert [s.id for s in spans] == ["a-root", "a-llm", "a-tool"]  # by start time
    assert [e.id for e in events] == ["a-ev0", "a-ev1"]  # by timestamp
    by_id = {r.id: r for r in records}
    assert all(s == by_id[s.id] for s in spans)
    assert reader.get_trace("missing") == ([], [])


def test_find_trace_ids(reader: StoreReader, writer: Writer) -> None:
    writer([*two_traces(), make_event(id="only-event", trace_id="0190aacc-9")])
    assert reader.find_trace_ids("0190aa") == ["0190aaaa-0001", "0190aabb-0002", "0190aacc-9"]
    assert reader.find_trace_ids("0190aaa") == ["0190aaaa-0001"]
    assert reader.find_trace_ids("0190aaaa-0001") == ["0190aaaa-0001"]
    assert reader.find_trace_ids("0190", limit=2) == ["0190aaaa-0001", "0190aabb-0002"]
    assert reader.find_trace_ids("0190A") == []  # ids compare byte-wise
    assert reader.find_trace_ids("zz") == []
    with pytest.raises(ValueError):
        reader.find_trace_ids("")


def test_find_trace_ids_exact_id_that_prefixes_others(reader: StoreReader, writer: Writer) -> None:
    writer(
        [make_span(trace_id="exec_1"), make_span(trace_id="exec_10"), make_span(trace_id="exec_2")]
    )
    assert reader.find_trace_ids("exec_1") == ["exec_1"]
    assert reader.find_trace_ids("exec_") == ["exec_1", "exec_10", "exec_2"]


def test_latest_traces(reader: StoreReader, writer: Writer) -> None:
    writer(two_traces())
    latest = reader.latest_traces()
    assert [t["trace_id"] for t in latest] == ["0190bbbb-0003", "0190aabb-0002", "0190aaaa-0001"]
    oldest = latest[-1]
    assert oldest["span_id"] == "a-root"
    assert oldest["name"] == "Planner"
    assert oldest["agent_name"] == "planner"
    assert oldest["status"] == "success"
    assert oldest["start_time"] == T0
    assert oldest["duration_ms"] == 5000.0
    assert oldest["span_count"] == 3
    assert latest[1]["end_time"] is None and latest[1]["status"] == "running"
    in_session = reader.latest_traces(session_id="session-1")
    assert [t["trace_id"] for t in in_session] == ["0190aabb-0002", "0190aaaa-0001"]
    assert [t["trace_id"] for t in reader.latest_traces(limit=1)] == ["0190bbbb-0003"]
    assert [t["trace_id"] for t in reader.latest_traces(project="other")] == ["0190bbbb-0003"]


def test_iterators_filter_and_order(reader: StoreReader, writer: Writer) -> None:
    writer(two_traces())
    assert [s.id for s in reader.iter_spans()] == ["a-root", "a-llm", "a-tool", "b-root", "c-root"]
    assert [s.id for s in reader.iter_spans(project="other")] == ["c-root"]
    assert [s.id for s in reader.iter_spans(session_id="session-1", batch_size=2)] == [
        "a-root",
        "a-llm",
        "a-tool",
        "b-root",
    ]
    assert [s.id for s in reader.iter_spans(trace_id="0190aabb-0002")] == ["b-root"]
    assert [e.id for e in reader.iter_events(session_id="session-1")] == ["a-ev0", "a-ev1"]
    assert [e.id for e in reader.iter_events(project="other")] == ["c-ev"]
    assert [m.id for m in reader.iter_metrics(project="default")] == ["m1"]
    assert list(reader.iter_metrics(session_id="session-2")) == []


def test_many_rows_stream(reader: StoreReader, writer: Writer) -> None:
    writer([make_span(id=f"s{i:05d}", start_time=T0 + i * 1000) for i in range(3000)])
    ids = [s.id for s in reader.iter_spans(batch_size=500)]
    assert ids == [f"s{i:05d}" for i in range(3000)]
