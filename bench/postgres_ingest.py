"""Benchmark: PostgreSQL ingest through tracehound vs a raw COPY, and the analytics at scale.

Two parts, in one throwaway database (``--server``; dropped at the end unless ``--keep``):

1. **Ingest** — the same spans (a realistic mix: agent executions with stages, LLM calls,
   tools; attributes, prompts and responses) written, in batches of ``--batch`` spans, one
   transaction each, (a) through :class:`~tracehound.store._postgres.PostgresExporter` from
   ``Span`` records, (b) by a raw ``COPY`` of the already-formatted rows into the same table
   (same partitions, primary key and indexes), (c) for reference, by a raw ``COPY`` into a
   bare table (no index, no key). Rounds alternate; the table is emptied before each run.
   Target: tracehound ≥ 100k spans/s and ≥ 50 % of (b).
2. **Analytics at ``--spans`` spans** (default 10M) — generated server-side with
   ``generate_series`` over the last ``--days`` days into day partitions (as after a month
   of operation), indexes built after the load, then timed (best and median of ``--runs``):
   the seed 002 analytics summary and seed 003's ``debug_why_agent_didnt_fire`` through
   :class:`~tracehound.analytics.ExecutionAnalytics` (SQL of the same shape when that module
   is missing), and the seeds' SQL on the views. Target: under 1 s each.

    PYTHONPATH=src .venv/bin/python bench/postgres_ingest.py [--spans 10000000] \
        [--ingest-spans 200000] [--server postgresql://postgres@127.0.0.1:5432/] [--keep]
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tracehound.model import Span
from tracehound.model._ids import format_id, new_id_int
from tracehound.store import ensure_schema
from tracehound.store._postgres import (
    _SPANS,
    PARTITION_SCHEMA,
    PostgresExporter,
    create_partitions,
    libpq_url,
    list_partitions,
)

MS = 1_000_000
AGENTS = [f"Agent{i:02d}" for i in range(20)]
MODELS = (("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet"), ("openai", "gpt-4o-mini"))
STAGES = ("INIT", "SHOULD_RESPOND", "LLM_PREPARE", "LLM_CALL", "POST_PROCESS", "COMPLETE")


# -- part 1: ingest -----------------------------------------------------------------------------


def make_spans(n: int, seed: int = 7) -> list[Span]:
    """Agent executions: an agent span, six stages, an LLM call and a tool call each."""
    rnd = random.Random(seed)
    now = time.time_ns()
    out: list[Span] = []
    while len(out) < n:
        start = now + len(out) * 1000
        agent = rnd.choice(AGENTS)
        conv = f"conv-{rnd.randrange(5000)}"
        eid = format_id(new_id_int(start // MS))
        status = "failed" if rnd.random() < 0.05 else "success"
        out.append(
            Span(eid, eid, None, "bench", "bench", "agent", "run", status, start,
                 start + 900 * MS, 900.0, agent_name=agent, conversation_id=conv,
                 input={"query": "Write the weekly newsletter on retrieval"},
                 output={"result": "ok"} if status == "success" else None,
                 error_type="ValueError" if status == "failed" else None,
                 error_message="bad input" if status == "failed" else None,
                 attributes={"vault_id": f"vault-{rnd.randrange(50)}", "method": "run",
                             "should_respond": True, "relevance_score": 0.8})
        )  # fmt: skip
        t = start
        for stage in STAGES:
            sid = format_id(new_id_int(t // MS))
            out.append(
                Span(sid, eid, eid, "bench", "bench", "stage", stage, "success", t,
                     t + 100 * MS, 100.0, agent_name=agent, conversation_id=conv,
                     attributes={"message": stage.lower()})
            )  # fmt: skip
            t += 100 * MS
        provider, model = rnd.choice(MODELS)
        inp, outp = rnd.randrange(200, 4000), rnd.randrange(50, 1500)
        out.append(
            Span(format_id(new_id_int(t // MS)), eid, eid, "bench", "bench", "llm", model,
                 "success", t, t + 700 * MS, 700.0, agent_name=agent, conversation_id=conv,
                 input=[{"role": "user", "content": "Summarize the sources " * 8}],
                 output="The sources agree that retrieval helps. " * 4,
                 attributes={"call_type": "inference"}, provider=provider, model=model,
                 input_tokens=inp, output_tokens=outp, total_tokens=inp + outp,
                 input_cost=inp * 2.5e-6, output_cost=outp * 1e-5,
                 total_cost=inp * 2.5e-6 + outp * 1e-5, cost_source="bench",
                 is_streaming=False)
        )  # fmt: skip
        out.append(
            Span(format_id(new_id_int(t // MS + 1)), eid, eid, "bench", "bench", "tool",
                 "web_search", "success", t, t + 50 * MS, 50.0, agent_name=agent,
                 conversation_id=conv, input={"query": "retrieval augmented generation"},
                 output={"hits": 4}, attributes={"project_name": "bench", "debug_mode": True})
        )  # fmt: skip
    return out[:n]


def bench_ingest(url: str, n: int, batch: int, rounds: int) -> dict[str, list[float]]:
    spans = make_spans(n)
    batches = [spans[i : i + batch] for i in range(0, len(spans), batch)]
    rows = [_SPANS.build(b) for b in batches]  # what the exporter sends, formatted up front
    cols = ", ".join(f'"{f}"' for f in Span._fields)
    results: dict[str, list[float]] = {"tracehound": [], "raw COPY": [], "raw COPY, bare": []}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("CREATE UNLOGGED TABLE IF NOT EXISTS bare (LIKE spans)")

        def empty() -> None:
            conn.execute("TRUNCATE spans, bare, sessions")
            conn.execute("CHECKPOINT")

        def raw(table: str) -> None:
            for chunk in rows:
                with conn.transaction(), conn.cursor() as cur:
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                        for row in chunk:
                            copy.write_row(row)

        def through_tracehound() -> None:
            exporter = PostgresExporter(url)
            exporter.export(batches[0][:1])  # connect outside the clock
            conn.execute("TRUNCATE spans, sessions")
            start = time.perf_counter()
            for b in batches:
                exporter.export(b)
            results["tracehound"].append(n / (time.perf_counter() - start))
            exporter.shutdown()

        def timed(label: str, fn: Callable[[], None]) -> None:
            start = time.perf_counter()
            fn()
            results[label].append(n / (time.perf_counter() - start))

        for _ in range(rounds):
            empty()
            timed("raw COPY", lambda: raw("spans"))
            empty()
            through_tracehound()
            empty()
            timed("raw COPY, bare", lambda: raw("bare"))
        (count,) = conn.execute("SELECT count(*) FROM spans").fetchone() or (0,)
        empty()
        conn.execute("DROP TABLE bare")
    assert count == 0
    return results


# -- part 2: analytics at scale -----------------------------------------------------------------


def backdate_partitions(url: str, days: int) -> None:
    """Make the empty store look like one that has run for ``days`` days: history partitions
    end ``days`` days ago, and every day since has its partition."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        with conn.transaction():
            for p in list_partitions(conn):
                if p.kind == "history":
                    conn.execute(f"ALTER TABLE {p.table} DETACH PARTITION {p.qualified}")
                    conn.execute(f"DROP TABLE {p.qualified}")
                    conn.execute(
                        f'CREATE TABLE "{PARTITION_SCHEMA}"."{p.table}_history" PARTITION OF '
                        f"{p.table} FOR VALUES FROM (MINVALUE) TO ('{first.isoformat()}')"
                    )
        create_partitions(conn, [first + timedelta(days=i) for i in range(days + 8)])


GENERATE = """
INSERT INTO spans (id, trace_id, parent_id, session_id, project, kind, name, status,
    start_time, end_time, duration_ms, agent_name, conversation_id, status_message,
    input, output, error_type, error_message, attributes,
    provider, model, input_tokens, output_tokens, total_tokens, input_cost, output_cost,
    total_cost, cost_source, is_streaming)
SELECT
    lpad(to_hex(e * 8 + k), 16, '0') || '-' || md5(e::text)::text,
    lpad(to_hex(e * 8), 16, '0') || '-' || md5(e::text)::text,
    CASE WHEN k = 0 THEN NULL ELSE lpad(to_hex(e * 8), 16, '0') || '-' || md5(e::text)::text END,
    'bench-' || (e %% 200), 'bench',
    CASE WHEN k = 0 THEN 'agent' WHEN k = 7 THEN 'llm' ELSE 'stage' END,
    CASE WHEN k = 0 THEN 'run' WHEN k = 7 THEN m.model
         ELSE (ARRAY['INIT','SHOULD_RESPOND','LLM_PREPARE','LLM_CALL','POST_PROCESS',
                     'COMPLETE'])[k] END,
    CASE WHEN k = 0 THEN o.status WHEN k = 2 AND o.status = 'skipped' THEN 'skipped'
         ELSE 'success' END,
    t.start + k * interval '100 milliseconds',
    t.start + k * interval '100 milliseconds' + d.ms * interval '1 millisecond',
    d.ms,
    'Agent' || lpad((e %% 20)::text, 2, '0'),
    'conv-' || (e %% 50000),
    CASE WHEN k = 0 AND o.status = 'skipped' THEN 'Query is about plot structure' END,
    CASE WHEN k IN (0, 7) THEN jsonb_build_object('query', 'request ' || e) END,
    CASE WHEN k = 7 THEN to_jsonb('response of ' || e) END,
    CASE WHEN k = 0 AND o.status IN ('failed', 'timeout') THEN 'ValueError' END,
    CASE WHEN k = 0 AND o.status IN ('failed', 'timeout') THEN 'bad input' END,
    CASE WHEN k = 0 THEN jsonb_build_object('vault_id', 'vault-' || (e %% 50), 'method', 'run',
                'should_respond', o.status <> 'skipped', 'relevance_score', (e %% 100) / 100.0,
                'relevance_reasoning',
                CASE WHEN o.status = 'skipped' THEN 'Query is about plot structure' END)
         ELSE '{}'::jsonb END,
    CASE WHEN k = 7 THEN m.provider END, CASE WHEN k = 7 THEN m.model END,
    CASE WHEN k = 7 THEN 200 + e %% 3800 END, CASE WHEN k = 7 THEN 50 + e %% 1450 END,
    CASE WHEN k = 7 THEN 250 + e %% 3800 + e %% 1450 END,
    CASE WHEN k = 7 THEN (200 + e %% 3800) * 2.5e-6 END,
    CASE WHEN k = 7 THEN (50 + e %% 1450) * 1e-5 END,
    CASE WHEN k = 7 THEN (200 + e %% 3800) * 2.5e-6 + (50 + e %% 1450) * 1e-5 END,
    CASE WHEN k = 7 THEN 'bench' END,
    CASE WHEN k = 7 THEN false END
FROM generate_series(%(lo)s::bigint * 8, %(hi)s::bigint * 8 + 7) AS i
CROSS JOIN LATERAL (SELECT i / 8 AS e, (i %% 8)::int AS k) ek
CROSS JOIN LATERAL (SELECT now() - (hashint8(e) & 1048575) / 1048576.0 * %(days)s
                    * interval '1 day' AS start) t
CROSS JOIN LATERAL (SELECT CASE WHEN e %% 100 < 10 THEN 'skipped' WHEN e %% 100 < 15
                    THEN 'failed' WHEN e %% 100 < 17 THEN 'timeout' ELSE 'success' END
                    AS status) o
CROSS JOIN LATERAL (SELECT (ARRAY['openai','anthropic','openai'])[1 + e %% 3] AS provider,
                           (ARRAY['gpt-4o','claude-3-5-sonnet','gpt-4o-mini'])[1 + e %% 3]
                    AS model) m
CROSS JOIN LATERAL (SELECT CASE WHEN k = 0 THEN 500 + (e %% 5000) WHEN k = 7
                    THEN 400 + (e %% 3000) ELSE 1 + (e %% 200) END::float8 AS ms) d
ORDER BY i
"""


def generate(url: str, total: int, days: int) -> float:
    """``total`` spans (executions of 8 spans) spread over the last ``days`` days."""
    executions = total // 8
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.schema import CreateIndex

        from tracehound.store._schema import spans as spans_table

        defs = [
            str(CreateIndex(ix).compile(dialect=postgresql.dialect()))
            for ix in sorted(spans_table.indexes, key=lambda ix: str(ix.name))
        ]
        for ix in spans_table.indexes:
            conn.execute(f"DROP INDEX IF EXISTS {ix.name}")
        conn.execute("ALTER TABLE spans DROP CONSTRAINT IF EXISTS spans_pkey")
        step = 250_000
        for lo in range(0, executions, step):
            hi = min(executions, lo + step) - 1
            conn.execute(GENERATE, {"lo": lo, "hi": hi, "days": days})
            done = (hi + 1) * 8
            rate = done / (time.perf_counter() - started)
            print(f"\r  generated {done:,} spans ({rate:,.0f}/s)", end="", flush=True)
        print("\n  building the primary key and indexes …", flush=True)
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("ALTER TABLE spans ADD PRIMARY KEY (id, start_time, kind)")
        for d in defs:
            conn.execute(d)
        conn.execute(
            "INSERT INTO sessions (id, project, started_at, last_seen_at)"
            " SELECT 'bench-' || i, 'bench', now() - interval '30 days', now()"
            " FROM generate_series(0, 199) i ON CONFLICT DO NOTHING"
        )
        conn.execute("VACUUM ANALYZE spans")
        conn.execute("VACUUM ANALYZE sessions")
    return time.perf_counter() - started


SEED_QUERIES = {
    "seed 003 recent executions of a vault": (
        "SELECT agent_name, status, duration_ms, created_at FROM agent_executions"
        " WHERE vault_id = 'vault-7' ORDER BY created_at DESC LIMIT 50"
    ),
    "seed 003 failed by error type (24 h)": (
        "SELECT error_type, COUNT(*) as count, agent_name FROM agent_executions"
        " WHERE status = 'failed' AND created_at > NOW() - INTERVAL '24 hours'"
        " GROUP BY error_type, agent_name ORDER BY count DESC"
    ),
    "seed 003 average duration by agent (24 h)": (
        "SELECT agent_name, AVG(duration_ms) as avg_ms, COUNT(*) as executions"
        " FROM agent_executions WHERE status = 'success'"
        " AND created_at > NOW() - INTERVAL '24 hours' GROUP BY agent_name ORDER BY avg_ms DESC"
    ),
}


# A prototype of the hourly rollup ``docs/storage-at-scale.md`` proposes: per project, hour,
# kind, agent, status, provider and model, the counts and sums the seed 002 summary needs.
# Closed hours come from it; the two partial hours at the edges of the range from the spans.
ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS bench_rollup_hourly (
    project text NOT NULL, hour timestamptz NOT NULL, kind text NOT NULL, agent_name text,
    status text NOT NULL, provider text, model text, n bigint, dsum float8, dn bigint,
    dmin float8, dmax float8, inp bigint, outp bigint, tot bigint, cost float8)
"""
ROLLUP_DELETE = "DELETE FROM bench_rollup_hourly WHERE hour >= %(lo)s AND hour < %(hi)s"
ROLLUP_REFRESH = """
INSERT INTO bench_rollup_hourly
SELECT project, date_trunc('hour', start_time), kind, agent_name, status, provider, model,
       count(*), sum(duration_ms), count(duration_ms), min(duration_ms), max(duration_ms),
       sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(total_cost)
FROM spans WHERE kind IN ('agent', 'llm') AND start_time >= %(lo)s AND start_time < %(hi)s
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
ROLLUP_SUMMARY = {
    "agent": """
SELECT agent_name, status, sum(n), sum(dsum), sum(dn), min(dmin), max(dmax) FROM (
    SELECT agent_name, status, n, dsum, dn, dmin, dmax FROM bench_rollup_hourly
    WHERE project = 'bench' AND kind = 'agent' AND hour >= %(h0)s AND hour < %(h1)s
    UNION ALL
    SELECT agent_name, status, count(*), sum(duration_ms), count(duration_ms),
           min(duration_ms), max(duration_ms)
    FROM spans WHERE project = 'bench' AND kind = 'agent'
      AND ((start_time >= %(start)s AND start_time < %(h0)s)
        OR (start_time >= %(h1)s AND start_time <= %(end)s))
    GROUP BY 1, 2) x
GROUP BY 1, 2""",
    "llm": """
SELECT provider, model, sum(n), sum(inp), sum(outp), sum(tot), sum(cost) FROM (
    SELECT provider, model, n, inp, outp, tot, cost FROM bench_rollup_hourly
    WHERE project = 'bench' AND kind = 'llm' AND hour >= %(h0)s AND hour < %(h1)s
    UNION ALL
    SELECT provider, model, count(*), sum(input_tokens), sum(output_tokens),
           sum(total_tokens), sum(total_cost)
    FROM spans WHERE project = 'bench' AND kind = 'llm'
      AND ((start_time >= %(start)s AND start_time < %(h0)s)
        OR (start_time >= %(h1)s AND start_time <= %(end)s))
    GROUP BY 1, 2) x
GROUP BY 1, 2""",
}


def bench_rollup(url: str, days: int, runs: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(ROLLUP_TABLE)
        conn.execute("TRUNCATE bench_rollup_hourly")
        start = time.perf_counter()
        with conn.transaction():
            span = {"lo": hour - timedelta(days=days + 1), "hi": hour}
            conn.execute(ROLLUP_DELETE, span)
            conn.execute(ROLLUP_REFRESH, span)
        build = time.perf_counter() - start
        conn.execute(
            "CREATE INDEX IF NOT EXISTS bench_rollup_kind_hour"
            " ON bench_rollup_hourly (project, kind, hour)"
        )
        conn.execute("ANALYZE bench_rollup_hourly")
        out[f"rollup: full build ({days} days)"] = (build, build)

        def refresh() -> None:
            with conn.transaction():
                recent = {"lo": hour - timedelta(hours=2), "hi": hour}
                conn.execute(ROLLUP_DELETE, recent)
                conn.execute(ROLLUP_REFRESH, recent)

        out["rollup: refresh of the last 2 hours"] = timeit(refresh, runs)
        end = datetime.now(UTC)
        begin = end - timedelta(days=30)
        params = {
            "start": begin,
            "end": end,
            "h0": begin.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
            "h1": hour,
        }

        def summary() -> None:
            for sql in ROLLUP_SUMMARY.values():
                conn.execute(sql, params).fetchall()

        out["summary from the rollup (30 days)"] = timeit(summary, runs)
    return out


def timeit(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up (plans, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def bench_queries(url: str, runs: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    try:
        from tracehound.analytics import ExecutionAnalytics
    except ImportError:
        ExecutionAnalytics = None  # type: ignore[assignment,misc]
    if ExecutionAnalytics is not None:
        an = ExecutionAnalytics(url, flush=False)
        out["analytics summary (30 days)"] = timeit(an.get_analytics_summary, runs)
        out["why didn't Agent07 fire (conversation)"] = timeit(
            lambda: an.debug_why_agent_didnt_fire("Agent07", conversation_id="conv-4207"), runs
        )
        out["why didn't Agent07 fire (vault, 24 h)"] = timeit(
            lambda: an.debug_why_agent_didnt_fire("Agent07", vault_id="vault-7", hours=24), runs
        )
        out["why didn't Agent07 fire (all time)"] = timeit(
            lambda: an.debug_why_agent_didnt_fire("Agent07"), runs
        )
        an.close()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for label, sql in SEED_QUERIES.items():
            out[label] = timeit(lambda sql=sql: conn.execute(sql).fetchall(), runs)
    return out


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--db", default=None, help="database name (default: a new one)")
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--ingest-spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-analytics", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    name = args.db or f"tracehound_bench_{secrets.token_hex(4)}"
    base = args.server.rstrip("/")
    url = f"{base}/{name}"
    admin = psycopg.connect(libpq_url(base + "/postgres"), autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"database {url}  (PostgreSQL {admin.info.server_version // 10000})")
    try:
        ensure_schema(url)
        if not args.skip_ingest:
            print(
                f"\nIngest: {args.ingest_spans:,} spans, batches of {args.batch}, "
                f"{args.rounds} rounds"
            )
            res = bench_ingest(url, args.ingest_spans, args.batch, args.rounds)
            for label, rates in res.items():
                print(
                    f"  {label:<16} best {max(rates):>9,.0f} spans/s   "
                    f"median {statistics.median(rates):>9,.0f} spans/s"
                )
            ours, raw = statistics.median(res["tracehound"]), statistics.median(res["raw COPY"])
            print(
                f"  tracehound / raw COPY (same table): {ours / raw:.0%}   "
                f"target ≥ 100,000 spans/s: {'met' if ours >= 100_000 else 'NOT met'}; "
                f"≥ 50 % of raw COPY: {'met' if ours >= raw / 2 else 'NOT met'}"
            )
        if not args.skip_analytics:
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                (have,) = conn.execute("SELECT count(*) FROM spans").fetchone() or (0,)
            if have < args.spans:
                print(f"\nGenerating {args.spans:,} spans over {args.days} days (server-side) …")
                with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                    conn.execute("TRUNCATE spans, events, metrics, sessions")
                backdate_partitions(url, args.days)
                took = generate(url, args.spans, args.days)
                print(f"  done in {took:,.0f} s")
            print(f"\nQueries at {max(have, args.spans):,} spans (best / median of {args.runs}):")
            timings = bench_queries(url, args.runs)
            timings.update(bench_rollup(url, args.days, args.runs))
            for label, (best, median) in timings.items():
                flag = "" if median < 1.0 or "build" in label else "   ← over 1 s"
                print(f"  {label:<42} {best * 1000:>8,.0f} ms / {median * 1000:>8,.0f} ms{flag}")
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
