from __future__ import annotations

import os
from pathlib import Path

from tracehound.model import Span
from tracehound.pipeline._spool import Spool, decode_line, encode_line


def _span(i: int) -> Span:
    return Span(
        f"id-{i}",
        "t",
        None,
        "s",
        "p",
        "task",
        f"n{i}",
        "success",
        1_700_000_000_000_000_000,
        1_700_000_000_001_000_000,
        1.0,
        attributes={"i": i, "text": "é\u2028"},
    )


def test_line_round_trip_and_corruption_detected() -> None:
    line = encode_line(_span(1))
    assert decode_line(line) == _span(1)
    assert decode_line(line[:-5] + b"\n") is None  # torn
    flipped = line.replace(b"n1", b"n2")
    assert decode_line(flipped) is None  # bit rot
    assert decode_line(b"garbage\n") is None
    assert decode_line(line[:-1]) is None  # no newline: torn write


def test_replay_skips_torn_lines_and_deletes_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.write([_span(i) for i in range(10)])
    spool.close()
    (seg,) = tmp_path.glob("*.seg")
    with open(seg, "ab") as fh:
        fh.write(encode_line(_span(10))[:-7])  # a torn final line
    got: list[Span] = []
    assert Spool(tmp_path, 1 << 20).replay(got.extend)  # type: ignore[arg-type]
    assert [s.name for s in got] == [f"n{i}" for i in range(10)]
    assert not list(tmp_path.iterdir())


def test_failed_replay_keeps_segment(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    spool.write([_span(i) for i in range(5)])

    def fail(batch: object) -> None:
        raise ConnectionError("still down")

    assert not spool.replay(fail)
    assert len(list(tmp_path.glob("*.seg"))) == 1
    got: list[Span] = []
    assert spool.replay(got.extend)  # type: ignore[arg-type]
    assert len(got) == 5


def test_orphaned_open_segment_of_dead_process_is_claimed(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:  # child: spool and die without closing
        s = Spool(tmp_path, 1 << 20)
        s.write([_span(i) for i in range(3)])
        os._exit(0)
    os.waitpid(pid, 0)
    assert len(list(tmp_path.glob("*.open"))) == 1
    got: list[Span] = []
    assert Spool(tmp_path, 1 << 20).replay(got.extend)  # type: ignore[arg-type]
    assert len(got) == 3


def test_every_record_type_round_trips_through_the_spool(tmp_path: Path) -> None:
    from tracehound.model import Event, Metric

    ev = Event(
        "e1",
        "t",
        "s1",
        "sess",
        "p",
        1_700_000_000_000_000_000,
        "decision",
        "route",
        "WARNING",
        "planner",
        "lead",
        "planner_001",
        "go left",
        {"target": "x"},
    )
    me = Metric(
        "m1",
        "sess",
        "p",
        1_700_000_000_000_000_000,
        "latency",
        12.5,
        "ms",
        {"op": "a"},
        "t",
        "s1",
        "planner",
    )
    for rec in (_span(1), ev, me):
        assert decode_line(encode_line(rec)) == rec
    spool = Spool(tmp_path, 1 << 20)
    spool.write([_span(2), ev, me])
    got: list[object] = []
    assert spool.replay(got.extend)  # type: ignore[arg-type]
    assert got == [_span(2), ev, me]
