"""Per-span overhead of tracehound vs its peers, measured side by side in one run.

    python bench/overhead.py [--spans 50000] [--reps 5]

Workload per iteration: 2 nested spans with 5 attributes each. Reported per span:
  * floor            a bare context manager: two clock reads, an id, a ContextVar, 5 attributes,
                     append a tuple (the least any tracer can do)
  * tracehound hot   calling-thread CPU of tracehound.span (worker parked, queue emptied as
                     the worker would: isolates what the agent's thread pays)
  * tracehound off   tracing disabled: the cost of leaving the calls in
  * tracehound total whole-process CPU including the export to files + SQLite, until flushed
  * otel             OpenTelemetry SDK, BatchSpanProcessor with a no-op exporter (calling thread)
  * logging-json     stdlib logging with a JSON formatter to a file (2 records per iteration)
Then: a dead-sink burst (100k spans while the sink is down, then it comes back) for tracehound
and OpenTelemetry, the exit time of a process whose sink hangs, and SQLite sink throughput.
"""

from __future__ import annotations

import argparse
import contextvars
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import tracehound  # noqa: E402

ATTRS = {"agent_step": 1, "tool": "search", "score": 0.5, "ok": True, "note": "value-1"}


def median_of(reps: int, fn: Callable[[], float]) -> float:
    vals = []
    for _ in range(reps):
        gc.collect()
        vals.append(fn())
    return statistics.median(vals)


# -- floor ---------------------------------------------------------------------------------
_cv: contextvars.ContextVar[object] = contextvars.ContextVar("floor", default=None)


class FloorSpan:
    __slots__ = ("attrs", "end", "id", "name", "parent", "start", "token")
    out: list[tuple[object, ...]] = []
    counter = iter(range(1 << 62))

    def __init__(self, name: str, **attrs: object) -> None:
        self.name = name
        self.attrs = attrs

    def __enter__(self) -> FloorSpan:
        self.start = time.time_ns()
        self.id = next(FloorSpan.counter)
        self.parent = _cv.get()
        self.token = _cv.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.end = time.time_ns()
        _cv.reset(self.token)
        FloorSpan.out.append((self.id, self.name, self.start, self.end, self.attrs))


def bench_floor(n: int) -> float:
    FloorSpan.out.clear()
    t0 = time.thread_time()
    for _ in range(n):
        with FloorSpan("outer", **ATTRS):
            with FloorSpan("inner", **ATTRS):
                pass
    return (time.thread_time() - t0) / (2 * n) * 1e6


# -- tracehound ----------------------------------------------------------------------------
def bench_tracehound_hot(n: int, tmp: Path) -> float:
    """Calling-thread CPU per span. The worker is parked and the queue is emptied every 1,024
    iterations inside the timed loop (so records die young, as they do when the worker drains
    them); the worker's own CPU is in the "total" row."""

    class Null:
        name = "null"

        def export(self, batch: object) -> None: ...
        def force_flush(self, timeout: float | None = None) -> bool:
            return True

        def shutdown(self) -> None: ...

    tracehound.configure(
        trace_dir=tmp / "hot", exporters=(), extra_exporters=(Null(),), flush_interval=3600
    )
    rt = tracehound.sdk.get_runtime()
    assert rt.processor is not None
    rt.processor._start = lambda: None  # type: ignore[method-assign]  # worker parked
    queue = rt.processor._queue
    span = tracehound.span
    t0 = time.thread_time()
    for i in range(n):
        with span("outer", kind="agent", **ATTRS):
            with span("inner", **ATTRS):
                pass
        if not i & 1023:
            queue.clear()
    dt = time.thread_time() - t0
    queue.clear()
    tracehound.shutdown(timeout=0)
    return dt / (2 * n) * 1e6


def bench_tracehound_disabled(n: int, tmp: Path) -> float:
    tracehound.configure(enabled=False, trace_dir=tmp / "off")
    span = tracehound.span
    t0 = time.thread_time()
    for _ in range(n):
        with span("outer", kind="agent", **ATTRS):
            with span("inner", **ATTRS):
                pass
    dt = time.thread_time() - t0
    tracehound.shutdown()
    return dt / (2 * n) * 1e6


def bench_tracehound_total(n: int, tmp: Path) -> tuple[float, float]:
    d = tmp / f"total-{time.monotonic_ns()}"
    tracehound.configure(trace_dir=d, max_queue_size=4 * n)
    span = tracehound.span
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        with span("outer", kind="agent", **ATTRS):
            with span("inner", **ATTRS):
                pass
    assert tracehound.flush(timeout=120)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    stats = tracehound.stats()
    assert stats["exported"] == 2 * n, stats
    tracehound.shutdown()
    shutil.rmtree(d, ignore_errors=True)
    return cpu / (2 * n) * 1e6, wall / (2 * n) * 1e6


# -- OpenTelemetry ---------------------------------------------------------------------------
def otel_provider(exporter: object, **bsp: int):  # type: ignore[no-untyped-def]
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, **bsp))  # type: ignore[arg-type]
    return provider


def bench_otel(n: int) -> float:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class NoOp(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = otel_provider(NoOp())
    tracer = provider.get_tracer("bench")
    t0 = time.thread_time()
    for _ in range(n):
        with tracer.start_as_current_span("outer", attributes=ATTRS):
            with tracer.start_as_current_span("inner", attributes=ATTRS):
                pass
    dt = time.thread_time() - t0
    provider.shutdown()
    return dt / (2 * n) * 1e6


# -- stdlib logging --------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "ts": record.created,
                "level": record.levelname,
                "msg": record.getMessage(),
                "logger": record.name,
                **getattr(record, "attrs", {}),
            }
        )


def bench_logging(n: int, tmp: Path) -> float:
    path = tmp / "log.jsonl"
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    lg = logging.getLogger("bench.json")
    lg.handlers[:] = [handler]
    lg.propagate = False
    lg.setLevel(logging.INFO)
    extra = {"attrs": ATTRS}
    t0 = time.thread_time()
    for _ in range(n):
        lg.info("outer", extra=extra)
        lg.info("inner", extra=extra)
    dt = time.thread_time() - t0
    handler.close()
    path.unlink()
    return dt / (2 * n) * 1e6


# -- dead sink burst ---------------------------------------------------------------------------
def burst_tracehound(n: int, tmp: Path) -> dict[str, int]:
    from tracehound.testing import InMemoryExporter

    sink = InMemoryExporter(name="sink")
    sink.fail = ConnectionError("sink down")
    tracehound.configure(
        trace_dir=tmp / "burst",
        exporters=(),
        extra_exporters=(sink,),
        flush_interval=0.05,
        retry_backoff_max=0.2,
        max_queue_size=4 * n,
    )
    for i in range(n // 2):
        with tracehound.span("outer", i=i):
            with tracehound.span("inner"):
                pass
    tracehound.flush(timeout=60)
    sink.fail = None  # the sink comes back
    deadline = time.monotonic() + 120
    while len(sink.records) < n and time.monotonic() < deadline:
        tracehound.flush(timeout=5)
        time.sleep(0.1)
    s = tracehound.stats()
    stored = len({r.id for r in sink.records})
    tracehound.shutdown()
    return {
        "emitted": n,
        "dropped": s["dropped"],
        "spooled": s["spooled"],
        "stored": stored,
        "lost": n - stored,
    }


def burst_otel(n: int) -> dict[str, int]:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Flaky(SpanExporter):
        down = True
        stored = 0

        def export(self, spans):  # type: ignore[no-untyped-def]
            if self.down:
                return SpanExportResult.FAILURE
            self.stored += len(spans)
            return SpanExportResult.SUCCESS

    exp = Flaky()
    provider = otel_provider(exp)
    tracer = provider.get_tracer("burst")
    for _ in range(n // 2):
        with tracer.start_as_current_span("outer", attributes={"i": 1}):
            with tracer.start_as_current_span("inner"):
                pass
    provider.force_flush()
    exp.down = False
    provider.force_flush()
    provider.shutdown()
    return {
        "emitted": n,
        "dropped": n - exp.stored,
        "spooled": 0,
        "stored": exp.stored,
        "lost": n - exp.stored,
    }


# -- exit with a hung sink -----------------------------------------------------------------------
HUNG = textwrap.dedent(
    """
    import sys, threading, time
    sys.path.insert(0, {src!r})
    import tracehound
    class Hung:
        name = "hung"
        def export(self, batch): threading.Event().wait()
        def force_flush(self, timeout=None): threading.Event().wait()
        def shutdown(self): threading.Event().wait()
    tracehound.configure(trace_dir={d!r}, exporters=(), extra_exporters=(Hung(),), flush_interval=0.01)
    for i in range(20000):
        with tracehound.span("x", i=i):
            pass
    time.sleep(0.2)  # the worker is now stuck inside export()
    print(time.perf_counter(), flush=True)
    """
)


def exit_with_hung_sink(tmp: Path) -> tuple[float, int]:
    d = tmp / "hung"
    code = HUNG.format(src=str(ROOT / "src"), d=str(d))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    end = time.perf_counter()
    started = float(proc.stdout.strip().splitlines()[-1])
    spooled = 0
    for seg in (d / ".spool" / "hung").glob("*"):
        spooled += sum(1 for _ in seg.open("rb"))
    return end - started, spooled


# -- SQLite sink throughput ----------------------------------------------------------------------
def sqlite_throughput(tmp: Path, n: int = 200_000) -> float:
    from tracehound.model import Span, new_id
    from tracehound.store._sqlite import SQLiteExporter

    now = time.time_ns()
    recs = []
    for i in range(n):
        sid = new_id()
        recs.append(
            Span(
                sid,
                sid,
                None,
                "bench",
                "default",
                "agent",
                "run",
                "success",
                now + i,
                now + i + 1_000_000,
                1.0,
                agent_name=f"agent{i % 10}",
                attributes=dict(ATTRS),
            )
        )
    exp = SQLiteExporter(tmp / "tp.db")
    exp.export(recs[:10])
    t0 = time.perf_counter()
    for i in range(10, n, 2048):
        exp.export(recs[i : i + 2048])
    dt = time.perf_counter() - t0
    exp.shutdown()
    return (n - 10) / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=50_000, help="iterations (2 spans each)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--burst", type=int, default=100_000)
    args = ap.parse_args()
    n, reps = args.spans, args.reps
    tmp = Path(tempfile.mkdtemp(prefix="th-bench-"))
    try:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        rows = {}
        rows["floor (cm + ids + ContextVar + 5 attrs)"] = median_of(reps, lambda: bench_floor(n))
        rows["tracehound hot path (calling thread)"] = median_of(
            reps, lambda: bench_tracehound_hot(n, tmp)
        )
        rows["tracehound disabled (enabled=False)"] = median_of(
            reps, lambda: bench_tracehound_disabled(n, tmp)
        )
        totals = [bench_tracehound_total(n, tmp) for _ in range(reps)]
        rows["tracehound total CPU incl. files + SQLite"] = statistics.median(t[0] for t in totals)
        rows["OpenTelemetry SDK (BatchSpanProcessor, no-op exporter)"] = median_of(
            reps, lambda: bench_otel(n)
        )
        rows["stdlib logging, JSON formatter, file"] = median_of(
            reps, lambda: bench_logging(n, tmp)
        )
        th = rows["tracehound hot path (calling thread)"]
        table = Table(
            title=f"µs per span — median of {reps} × {2 * n:,} spans (2 nested, 5 attributes each)"
        )
        table.add_column("implementation")
        table.add_column("µs/span", justify="right")
        table.add_column("× tracehound hot path", justify="right")
        for name, val in rows.items():
            table.add_row(name, f"{val:.2f}", f"{val / th:.2f}")
        console.print(table)
        otel = rows["OpenTelemetry SDK (BatchSpanProcessor, no-op exporter)"]
        console.print(
            f"OpenTelemetry / tracehound hot path: [bold]{otel / th:.1f}×[/]  "
            f"(wall per span incl. export: {statistics.median(t[1] for t in totals):.2f} µs)"
        )

        bt = Table(
            title=f"dead-sink burst: {args.burst:,} spans while the sink is down, then it returns"
        )
        for col in ("", "emitted", "dropped", "spooled", "finally stored", "lost"):
            bt.add_column(col, justify="right")
        for name, res in (
            ("tracehound", burst_tracehound(args.burst, tmp)),
            ("OpenTelemetry", burst_otel(args.burst)),
        ):
            bt.add_row(
                name, *(f"{res[k]:,}" for k in ("emitted", "dropped", "spooled", "stored", "lost"))
            )
        console.print(bt)

        secs, spooled = exit_with_hung_sink(tmp)
        console.print(
            f"exit with a hung sink: [bold]{secs:.2f} s[/] (records spooled for replay: {spooled:,})"
        )
        console.print(f"SQLite sink: [bold]{sqlite_throughput(tmp):,.0f} spans/s[/]")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.pop("TRACEHOUND_STORE", None)
    main()
