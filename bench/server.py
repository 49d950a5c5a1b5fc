"""Benchmark: the tracehound server.

1. **Ingest throughput** — spans/s through ``POST /v1/ingest`` (tracehound wire records) and
   through OTLP ``POST /v1/traces`` (protobuf, GenAI conventions), into SQLite and into
   PostgreSQL. The server is ``tracehound serve`` in its own process (auth on, rate limit off);
   the load client is another process (``--clients`` connections, batches of 1000 spans built
   before the clock starts), so client work does not count. Target: ≥ 20 000 spans/s.
2. **Query latency with 1M spans stored** — p50/p95 of the list and summary endpoints (seed
   002's ``/execution-logs/…`` and ``/v1``), measured from a client process over HTTP.
   Target: p95 < 300 ms. The 1M spans (agent executions with LLM and tool calls, over the
   last 30 days) are written with the store's exporter; the database is kept and reused.

    PYTHONPATH=src .venv/bin/python bench/server.py [--dialects sqlite,postgresql]
        [--ingest-spans 200000] [--stored-spans 1000000] [--skip-ingest] [--skip-latency]
        [--pg postgresql://postgres@127.0.0.1:5432/] [--dir /tmp/tracehound-bench]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
sys.path.insert(0, SRC)

MS = 1_000_000
DAY = 86_400 * 1_000_000_000
AGENTS = [f"agent-{i:02d}" for i in range(20)]
MODELS = (
    ("openai", "gpt-4o"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("openai", "gpt-4o-mini"),
)


# -- the server ---------------------------------------------------------------------------------
class Served(str):
    """The server's base URL, with its process id (for CPU accounting)."""

    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU time of the server process and its decoding workers."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


SERVE_ARGS: list[str] = []


@contextmanager
def serve(url: str) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEHOUND_", "OTEL_"))}
    env["PYTHONPATH"] = SRC
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracehound",
            "serve",
            "--port",
            "0",
            "--store",
            url,
            "--rate-limit",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    base = None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            base = found.group(1)
            break
    if base is None:
        proc.kill()
        raise SystemExit("tracehound serve did not start:\n" + "".join(lines))
    threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True).start()
    served = Served(base)
    served.pid = proc.pid
    try:
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def make_key(url: str, project: str) -> str:
    from tracehound.api.auth import KeyStore
    from tracehound.store._engine import make_engine
    from tracehound.store._migrate import ensure_schema

    ensure_schema(url)
    engine = make_engine(url)
    try:
        return KeyStore(engine).create(project, "bench").key
    finally:
        engine.dispose()


# -- payloads ----------------------------------------------------------------------------------
def wire_batches(n_batches: int, per_batch: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    now = time.time_ns()
    out = []
    tag = secrets.token_hex(4)
    for b in range(n_batches):
        records = []
        base = now - (n_batches - b) * 1_000_000_000  # a batch spans about a second, like an SDK's
        for i in range(per_batch):
            t = base + rnd.randrange(1_000_000_000)
            trace = f"{tag}-t{b}-{i // 5}"
            kind = "agent" if i % 5 == 0 else ("llm" if i % 5 < 4 else "tool")
            provider, model = MODELS[i % 3]
            rec: dict[str, Any] = {
                "type": "span",
                "id": f"{tag}-{b}-{i}",
                "trace_id": trace,
                "parent_id": None if kind == "agent" else f"{tag}-{b}-{i - i % 5}",
                "session_id": f"bench-{tag}",
                "kind": kind,
                "name": f"{kind} step",
                "status": "success",
                "start_time": t,
                "end_time": t + rnd.randrange(1, 3000) * MS,
                "agent_name": AGENTS[(b + i // 5) % len(AGENTS)],
                "input": {"prompt": "summarize the quarterly report for the board"},
                "output": "a short summary",
                "attributes": {"execution_step": "plan", "report_id": f"r-{i % 50}"},
            }
            if kind == "llm":
                rec.update(
                    provider=provider,
                    model=model,
                    input_tokens=1200,
                    output_tokens=300,
                    total_tokens=1500,
                    total_cost=0.0042,
                    cost_source="caller",
                )
            records.append(rec)
        out.append(orjson.dumps(records))
    return out


def otlp_batches(n_batches: int, per_batch: int, seed: int) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

    def kv(key: str, value: Any) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=value))

    rnd = random.Random(seed)
    now = time.time_ns()
    out = []
    for b in range(n_batches):
        base = now - (n_batches - b) * 1_000_000_000
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(kv("service.name", "bench-agent"))
        ss = rs.scope_spans.add()
        ss.scope.name = "bench"
        trace = b""
        agent_id = b""
        for i in range(per_batch):
            if i % 5 == 0:
                trace = secrets.token_bytes(16)
                agent_id = secrets.token_bytes(8)
            t = base + rnd.randrange(1_000_000_000)
            sp = ss.spans.add()
            sp.trace_id = trace
            sp.start_time_unix_nano = t
            sp.end_time_unix_nano = t + rnd.randrange(1, 3000) * MS
            sp.kind = PbSpan.SPAN_KIND_INTERNAL
            if i % 5 == 0:
                sp.span_id = agent_id
                sp.name = "invoke_agent planner"
                sp.attributes.extend(
                    [
                        kv("gen_ai.operation.name", "invoke_agent"),
                        kv("gen_ai.agent.name", AGENTS[i % 20]),
                    ]
                )
            elif i % 5 < 4:
                sp.span_id = secrets.token_bytes(8)
                sp.parent_span_id = agent_id
                provider, model = MODELS[i % 3]
                sp.name = f"chat {model}"
                sp.attributes.extend(
                    [
                        kv("gen_ai.operation.name", "chat"),
                        kv("gen_ai.provider.name", provider),
                        kv("gen_ai.request.model", model),
                        kv("gen_ai.usage.input_tokens", 1200),
                        kv("gen_ai.usage.output_tokens", 300),
                    ]
                )
            else:
                sp.span_id = secrets.token_bytes(8)
                sp.parent_span_id = agent_id
                sp.name = "execute_tool search"
                sp.attributes.extend(
                    [kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "search")]
                )
        out.append(request.SerializeToString())
    return out


# -- the load client (a separate process) ----------------------------------------------------
def _client(base: str, path: str, content_type: str, key: str, bodies: list[bytes], q: Any) -> None:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {key}"}
    q.put("ready")
    errors = 0
    for body in bodies:
        for _attempt in range(20):
            conn.request("POST", path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status == 200:
                break
            if r.status == 503:
                time.sleep(0.05)
                continue
            errors += 1
            print(f"client: {r.status} {data[:200]!r}", file=sys.stderr)
            break
    conn.close()
    q.put(("done", errors))


def load(
    base: str,
    path: str,
    content_type: str,
    key: str,
    bodies: list[bytes],
    clients: int,
    per_batch: int,
) -> tuple[float, float]:
    """``(spans per second, server CPU ms per 1000 spans)``."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    shares = [bodies[i::clients] for i in range(clients)]
    procs = [
        ctx.Process(target=_client, args=(base, path, content_type, key, share, q))
        for share in shares
    ]
    start_barrier = [p.start() for p in procs]
    del start_barrier
    for _ in procs:
        assert q.get(timeout=120) == "ready"
    pid = getattr(base, "pid", None)
    cpu0 = cpu_seconds(pid) if pid else 0.0
    t0 = time.perf_counter()
    errors = 0
    for _ in procs:
        msg = q.get(timeout=1800)
        errors += msg[1]
    elapsed = time.perf_counter() - t0
    cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0
    for p in procs:
        p.join(30)
    if errors:
        print(f"  ({errors} failed requests)")
    spans = len(bodies) * per_batch
    return spans / elapsed, cpu * 1000 / (spans / 1000)


# -- 1M stored spans ---------------------------------------------------------------------------
def fill(url: str, project: str, total: int, seed: int = 11) -> None:
    from sqlalchemy import func, select

    from tracehound.model import Span
    from tracehound.store._engine import dialect_of, make_engine
    from tracehound.store._migrate import ensure_schema
    from tracehound.store._schema import spans

    ensure_schema(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        have = conn.execute(
            select(func.count()).select_from(spans).where(spans.c.project == project)
        ).scalar_one()
    engine.dispose()
    if have >= total:
        print(f"  reusing {have:,} stored spans")
        return
    if dialect_of(url) == "sqlite":
        from tracehound.store._sqlite import SQLiteExporter

        exporter: Any = SQLiteExporter(url)
    else:
        from tracehound.store._postgres import PostgresExporter

        exporter = PostgresExporter(url)
    rnd = random.Random(seed)
    now = time.time_ns()
    month = 30 * DAY
    batch: list[Span] = []
    written = have
    t0 = time.perf_counter()
    n = 0
    while written < total:
        start = now - rnd.randrange(month)
        agent = rnd.choice(AGENTS)
        trace = f"x{seed}-{n}"
        aid = f"x{seed}-{n}-a"
        n += 1
        roll = rnd.random()
        status = "failed" if roll < 0.05 else ("running" if roll < 0.06 else "success")
        dur = rnd.randrange(100, 20_000)
        batch.append(
            Span(
                id=aid,
                trace_id=trace,
                parent_id=None,
                session_id=f"s-{n // 1000}",
                project=project,
                kind="agent",
                name="plan",
                status=status,
                start_time=start,
                end_time=None if status == "running" else start + dur * MS,
                duration_ms=None if status == "running" else float(dur),
                agent_name=agent,
                input={"prompt": f"request {n}"},
                output={"ok": True},
                error_type="TimeoutError" if status == "failed" else None,
                error_message="upstream timed out" if status == "failed" else None,
                attributes={
                    "execution_step": "plan",
                    "report_id": f"r-{n % 500}",
                    "action_type": "generate_plan",
                },
            )
        )
        for j in range(3):
            provider, model = MODELS[(n + j) % 3]
            s = start + (j + 1) * MS
            batch.append(
                Span(
                    id=f"{aid}-l{j}",
                    trace_id=trace,
                    parent_id=aid,
                    session_id=f"s-{n // 1000}",
                    project=project,
                    kind="llm",
                    name=f"chat {model}",
                    status="success",
                    start_time=s,
                    end_time=s + 800 * MS,
                    duration_ms=800.0,
                    agent_name=agent,
                    input=[{"role": "user", "content": "hi"}],
                    output="hello",
                    attributes={"call_type": "inference"},
                    provider=provider,
                    model=model,
                    input_tokens=1200,
                    output_tokens=300,
                    total_tokens=1500,
                    input_cost=0.003,
                    output_cost=0.003,
                    total_cost=0.006,
                    cost_source="bench",
                )
            )
        s = start + 5 * MS
        batch.append(
            Span(
                id=f"{aid}-t",
                trace_id=trace,
                parent_id=aid,
                session_id=f"s-{n // 1000}",
                project=project,
                kind="tool",
                name="search",
                status="success",
                start_time=s,
                end_time=s + 50 * MS,
                duration_ms=50.0,
                agent_name=agent,
            )
        )
        written += 5
        if len(batch) >= 10_000:
            exporter.export(batch)
            batch = []
            if written % 100_000 < 5:
                rate = (written - have) / (time.perf_counter() - t0)
                print(f"  {written:,} spans stored ({rate:,.0f}/s)", flush=True)
    if batch:
        exporter.export(batch)
    exporter.shutdown()
    if dialect_of(url) == "postgresql":
        import psycopg

        from tracehound.store._postgres import libpq_url

        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("ANALYZE")
    print(f"  stored {written - have:,} spans in {time.perf_counter() - t0:.0f}s")


QUERIES = [
    ("GET /execution-logs/executions", "/execution-logs/executions", {}),
    (
        "GET /execution-logs/executions?include_llm_calls",
        "/execution-logs/executions",
        {"include_llm_calls": "true"},
    ),
    (
        "GET /execution-logs/executions?agent_type&status",
        "/execution-logs/executions",
        {"agent_type": "agent-03", "status": "failed"},
    ),
    ("GET /execution-logs/llm-calls", "/execution-logs/llm-calls", {}),
    ("GET /execution-logs/analytics/summary (30 days)", "/execution-logs/analytics/summary", {}),
    ("GET /v1/traces", "/v1/traces", {}),
    ("GET /v1/spans?kind=llm", "/v1/spans", {"kind": "llm"}),
    ("GET /v1/spans?agent (page 2)", "/v1/spans", {"agent": "agent-05", "limit": 50}),
    ("GET /v1/analytics/cost?group_by=model (7 days)", "/v1/analytics/cost", {"group_by": "model"}),
    ("GET /execution-logs/executions/{execution_id}", "/execution-logs/executions/x11-4242", {}),
    ("GET /v1/traces/{trace_id}", "/v1/traces/x11-4242", {}),
]


def _latency_client(base: str, key: str, runs: int, q: Any) -> None:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Authorization": f"Bearer {key}"}
    results = {}
    for label, path, params in QUERIES:
        times = []
        query = "?" + urlencode(params) if params else ""
        if label.endswith("(page 2)"):
            conn.request("GET", path + query, headers=headers)
            cursor = orjson.loads(conn.getresponse().read())["next_cursor"]
            query += "&" + urlencode({"cursor": cursor})
        for i in range(runs + 2):
            t0 = time.perf_counter()
            conn.request("GET", path + query, headers=headers)
            r = conn.getresponse()
            r.read()
            dt = (time.perf_counter() - t0) * 1000
            if r.status != 200:
                raise SystemExit(f"{label}: {r.status}")
            if i >= 2:  # two warm-up requests
                times.append(dt)
        times.sort()
        results[label] = (statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)])
    conn.close()
    q.put(results)


def latency(base: str, key: str, runs: int) -> dict[str, tuple[float, float]]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_latency_client, args=(base, key, runs, q))
    p.start()
    got: dict[str, tuple[float, float]] = q.get(timeout=3600)
    p.join(30)
    return got


# -- main --------------------------------------------------------------------------------------
def pg_url(server: str, name: str) -> str:
    import psycopg

    admin = server.rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server.rstrip("/") + "/" + name


def drop_pg(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server.rstrip("/") + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dialects", default="sqlite,postgresql")
    ap.add_argument("--ingest-spans", type=int, default=200_000)
    ap.add_argument("--stored-spans", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/")
    ap.add_argument("--decode-workers", type=int, default=None, help="passed to tracehound serve")
    ap.add_argument(
        "--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "tracehound-bench")
    )
    args = ap.parse_args()
    if args.decode_workers is not None:
        SERVE_ARGS.extend(["--decode-workers", str(args.decode_workers)])
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    per_batch = 1000
    n_batches = max(1, args.ingest_spans // per_batch)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"tracehound server benchmark ({os.cpu_count()} cores, load average {load_avg:.2f}); "
        f"batches of {per_batch} spans"
    )
    report: list[str] = []
    for dialect in args.dialects.split(","):
        if not args.skip_ingest:
            if dialect == "sqlite":
                db = work / "ingest.db"
                for suffix in ("", "-wal", "-shm", ".lock"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
                url = f"sqlite:///{db.as_posix()}"
            else:
                drop_pg(args.pg, "tracehound_bench_ingest")
                url = pg_url(args.pg, "tracehound_bench_ingest")
            key = make_key(url, "bench")
            print(f"[{dialect}] building {n_batches} batches…", flush=True)
            wire = wire_batches(n_batches, per_batch, 1)
            otlp = otlp_batches(n_batches, per_batch, 2)
            with serve(url) as base:
                # warm up (imports, price lookups, connections)
                load(
                    base,
                    "/v1/ingest",
                    "application/json",
                    key,
                    wire_batches(4, per_batch, 9),
                    1,
                    per_batch,
                )
                for label, path, ctype, bodies in (
                    ("POST /v1/ingest", "/v1/ingest", "application/json", wire),
                    (
                        "POST /v1/traces (OTLP protobuf, GenAI)",
                        "/v1/traces",
                        "application/x-protobuf",
                        otlp,
                    ),
                ):
                    rate, cpu = load(base, path, ctype, key, bodies, args.clients, per_batch)
                    line = (
                        f"[{dialect}] {label}: {rate:,.0f} spans/s "
                        f"(server CPU {cpu:.1f} ms per 1000 spans)"
                    )
                    print(line, flush=True)
                    report.append(line)
        if not args.skip_latency:
            if dialect == "sqlite":
                url = f"sqlite:///{(work / 'stored.db').as_posix()}"
            else:
                url = pg_url(args.pg, "tracehound_bench_stored")
            print(f"[{dialect}] storing {args.stored_spans:,} spans…", flush=True)
            fill(url, "bench", args.stored_spans)
            key = make_key(url, "bench")
            with serve(url) as base:
                got = latency(base, key, args.runs)
            for label, (p50, p95) in got.items():
                line = f"[{dialect}] {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({args.stored_spans:,} spans)"
                print(line, flush=True)
                report.append(line)
    print("\nsummary")
    for line in report:
        print("  " + line)


if __name__ == "__main__":
    main()
