from __future__ import annotations

import time
from pathlib import Path

import tracehound
from tracehound.pipeline._spool import decode_line
from tracehound.testing import InMemoryExporter


class Exploding:
    name = "exploding"

    def __init__(self) -> None:
        self.calls = 0

    def export(self, batch) -> None:  # type: ignore[no-untyped-def]
        self.calls += 1
        raise OSError("sink is on fire")

    def force_flush(self, timeout: float | None = None) -> bool:
        raise RuntimeError("flush also fails")

    def shutdown(self) -> None:
        raise RuntimeError("shutdown also fails")


def _configure(tmp_path: Path, *exporters: object, **opts: object) -> None:
    options: dict[str, object] = {"flush_interval": 0.02, "retry_backoff": 0.001, **opts}
    tracehound.configure(trace_dir=tmp_path, exporters=(), extra_exporters=exporters, **options)


def test_exporter_that_always_raises_does_not_touch_agent_code(tmp_path: Path) -> None:
    bad = Exploding()
    good = InMemoryExporter()
    _configure(tmp_path, bad, good)
    results = []
    for i in range(500):
        with tracehound.span("work", i=i) as sp:
            sp.set_output(i)
        results.append(i)
    assert results == list(range(500))
    assert tracehound.flush(timeout=10)
    assert len(good.spans) == 500  # the healthy exporter is unaffected
    stats = tracehound.stats()
    assert stats["exporters"]["exploding"]["failures"] >= 1
    assert stats["exporters"]["exploding"]["spooled"] == 500
    assert stats["exporters"]["memory"]["exported"] == 500
    tracehound.shutdown(timeout=2)  # the raising shutdown() is swallowed too


def test_dead_sink_spools_then_replays_without_loss(tmp_path: Path) -> None:
    sink = InMemoryExporter()
    sink.fail = ConnectionError("down")
    _configure(tmp_path, sink, retry_backoff_max=0.05)
    ids = []
    for i in range(3000):
        with tracehound.span("s", i=i) as sp:
            pass
        ids.append(sp.span_id)
    assert tracehound.flush(timeout=10)
    assert sink.records == []
    assert tracehound.stats()["spooled"] == 3000
    sink.fail = None  # the sink comes back
    for _ in range(2):
        with tracehound.span("after"):
            pass
    deadline = time.monotonic() + 10
    while len({s.id for s in sink.spans}) < 3002 and time.monotonic() < deadline:
        tracehound.flush(timeout=1)
        time.sleep(0.05)
    got = [s.id for s in sink.spans]
    assert set(ids) <= set(got)
    assert len(set(got)) == 3002
    stats = tracehound.stats()
    assert stats["replayed"] == stats["spooled"] >= 3000 and stats["dropped"] == 0
    assert not list((tmp_path / ".spool" / "memory").glob("*.seg"))


def test_queue_full_drops_and_counts(tmp_path: Path) -> None:
    sink = InMemoryExporter()
    _configure(tmp_path, sink, max_queue_size=10, flush_interval=5)
    rt = tracehound.sdk.get_runtime()
    assert rt.processor is not None
    rt.processor._start = lambda: None  # type: ignore[method-assign]  # keep the worker parked
    for _ in range(25):
        with tracehound.span("x"):
            pass
    stats = tracehound.stats()
    assert stats["dropped_queue_full"] == 15 and stats["queue_depth"] == 10


def test_spool_cap_drops_and_counts(tmp_path: Path) -> None:
    sink = InMemoryExporter()
    sink.fail = ConnectionError("down")
    _configure(tmp_path, sink, spool_max_bytes=20_000)
    for _ in range(200):
        with tracehound.span("x", payload="y" * 50):
            pass
    assert tracehound.flush(timeout=10)
    stats = tracehound.stats()
    assert 0 < stats["spooled"] < 200
    assert stats["spooled"] + stats["dropped_spool_full"] == 200


def test_recovered_sink_gets_the_spool_without_new_records(tmp_path: Path) -> None:
    """A sink that comes back is re-probed by the worker even if the agent emits nothing."""
    sink = InMemoryExporter()
    sink.fail = ConnectionError("down")
    _configure(tmp_path, sink, retry_backoff_max=0.05)
    for _ in range(100):
        with tracehound.span("s"):
            pass
    assert tracehound.flush(timeout=10)
    sink.fail = None
    deadline = time.monotonic() + 10
    while len(sink.spans) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len({s.id for s in sink.spans}) == 100
    assert tracehound.stats()["exporters"]["memory"]["down"] is False


class Slow(InMemoryExporter):
    """A sink that keeps up, slowly (every batch takes a while)."""

    def export(self, batch) -> None:  # type: ignore[no-untyped-def]
        time.sleep(0.004)
        super().export(batch)


def test_shutdown_of_a_slow_worker_spools_the_rest_without_a_race(tmp_path: Path) -> None:
    """A shutdown deadline that passes while the worker is still draining: the rest of the
    queue is spooled by the shutdown while the worker finishes its batch — they must not take
    from the queue at the same time (that raised IndexError in the worker and lost records)."""
    import threading

    errors: list[BaseException | None] = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        slow = Slow()
        slow.name = "memory"
        # big batches: taking one from the queue is slow enough to overlap the shutdown's
        _configure(tmp_path, slow, batch_size=20_000, flush_interval=0.001)
        ids = set()
        for i in range(60_000):
            with tracehound.span("s", i=i) as sp:
                pass
            ids.add(sp.span_id)
        tracehound.shutdown(timeout=0.3)
        assert errors == []
        time.sleep(0.2)  # the old worker still delivers the batch it had in flight
        exported = {s.id for s in slow.spans}
        # the rest is in the spool (a later process replays it)
        spooled = set()
        for seg in (tmp_path / ".spool" / "memory").glob("*.seg"):
            for line in seg.read_bytes().splitlines(keepends=True):
                record = decode_line(line)
                if record is not None:
                    spooled.add(record.id)
        assert exported | spooled == ids
    finally:
        threading.excepthook = old_hook
