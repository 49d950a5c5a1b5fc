"""Measure the SQLite exporter's ingest rate (not a test: run it by hand).

    PYTHONPATH=src .venv/bin/python tests/store/bench_sqlite_ingest.py [--batches 50] [--size 2000]

Builds realistic spans (agent / stage / llm / tool mix with attributes, prompts, responses,
token counts and costs), exports them in batches into a fresh database, and prints spans/s
over the export calls (row building + SQLite work; schema creation excluded) — by wall clock
and by this process's CPU time (steadier on a shared machine) — best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from tracehound.model import Span, new_id
from tracehound.store._sqlite import SQLiteExporter
from tracehound.store._time import format_ns


def make_batch(size: int, session_id: str, t0: int) -> list[Span]:
    out: list[Span] = []
    trace_id = new_id()
    root = new_id()
    for i in range(size):
        kind = ("agent", "stage", "llm", "tool", "stage")[i % 5]
        if i % 50 == 0:
            trace_id, root = new_id(), new_id()
        start = t0 + i * 1_000_000
        end = start + 250_000_000 + i * 1000
        common: dict[str, Any] = dict(
            id=root if i % 50 == 0 else new_id(),
            trace_id=trace_id,
            parent_id=None if i % 50 == 0 else root,
            session_id=session_id,
            project="default",
            kind=kind,
            name={
                "agent": "PsychologistAgent",
                "stage": "SHOULD_RESPOND",
                "llm": "chat gpt-4o",
                "tool": "search_web",
            }[kind],
            status="success" if i % 17 else "failed",
            start_time=start,
            end_time=end,
            duration_ms=(end - start) / 1e6,
            agent_name="PsychologistAgent",
            agent_role="assistant",
            conversation_id=f"conv-{i // 200}",
            user_id="user-42",
            attributes={
                "vault_id": "v-123",
                "execution_step": i % 7,
                "method": "respond",
                "call_reason": "user asked about sleep",
            },
        )
        if kind == "llm":
            out.append(
                Span(
                    **common,
                    input=[
                        {"role": "system", "content": "You are a careful assistant. " * 4},
                        {"role": "user", "content": "How do I sleep better? " * 3},
                    ],
                    output="Try a consistent schedule, limit screens, keep the room cool. " * 3,
                    provider="openai",
                    model="gpt-4o",
                    input_tokens=812,
                    output_tokens=143,
                    total_tokens=955,
                    input_cost=0.00203,
                    output_cost=0.00143,
                    total_cost=0.00346,
                    cost_source="genai-prices",
                    is_streaming=True,
                    chunks_count=37,
                    time_to_first_token_ms=212.5,
                )
            )
        elif kind == "tool":
            out.append(
                Span(
                    **common,
                    input={"query": "sleep hygiene tips", "limit": 5},
                    output={"results": ["a", "b", "c"], "took_ms": 120},
                )
            )
        elif kind == "agent":
            out.append(Span(**common, input={"message": "I can't sleep"}, output="ok"))
        else:
            out.append(Span(**common))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t0 = time.time_ns()
    batches = [
        make_batch(args.size, "20260101_000000", t0 + b * 10**10) for b in range(args.batches)
    ]
    n = args.batches * args.size
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            exporter = SQLiteExporter(Path(tmp) / "bench.db")
            exporter.export(make_batch(10, "warmup", t0))  # schema creation, connection
            started, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                exporter.export(batch)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            exporter.shutdown()
            size = (Path(tmp) / "bench.db").stat().st_size
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        print(
            f"{n} spans: wall {wall:.3f}s = {n / wall:,.0f} spans/s; "
            f"cpu {cpu:.3f}s = {n / cpu:,.0f} spans/s; db {size / 1e6:.1f} MB"
        )
    print(
        f"best: {n / best_wall:,.0f} spans/s wall ({best_wall / n * 1e6:.2f} µs/span), "
        f"{n / best_cpu:,.0f} spans/s cpu"
    )
    # The time formatter alone.
    times = [t0 + i * 137_000 for i in range(100_000)]
    started = time.perf_counter()
    for t in times:
        format_ns(t)
    print(f"format_ns: {(time.perf_counter() - started) / len(times) * 1e9:.0f} ns/call")


if __name__ == "__main__":
    main()
