"""Throughput of FileExporter.export on simple spans (not a test; run it by hand).

PYTHONPATH=src .venv/bin/python tests/pipeline/exporters/bench_files.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from tracehound.model import Span, new_id
from tracehound.pipeline.exporters._files import FileExporter


def make_batch(n: int, t0: int) -> list[Span]:
    trace = new_id()
    out = []
    for i in range(n):
        start = t0 + i * 1_000_000 + 123
        out.append(
            Span(
                id=new_id(),
                trace_id=trace,
                parent_id=None if i == 0 else trace,
                session_id="20250115_103045",
                project="default",
                kind="task",
                name="do_work",
                status="success",
                start_time=start,
                end_time=start + 2_500_000,
                duration_ms=2.5,
                agent_name=f"agent_{i % 4}",
                attributes={"step": i},
            )
        )
    return out


def main() -> None:
    n = 2000
    with tempfile.TemporaryDirectory() as tmp:
        exp = FileExporter(Path(tmp) / "trace", "20250115_103045")
        t0 = time.time_ns()
        batches = [make_batch(n, t0 + k * 10_000_000_000) for k in range(30)]
        exp.export(batches[0])  # warm up: open files
        per: list[float] = []
        for batch in batches[1:]:
            start = time.perf_counter()
            exp.export(batch)
            per.append((time.perf_counter() - start) / n * 1e6)
        exp.shutdown()
        print(f"export of {n} simple spans (category + per-agent file + summary counters):")
        print(f"  median {statistics.median(per):.2f} µs/record, best {min(per):.2f} µs/record")


if __name__ == "__main__":
    main()
