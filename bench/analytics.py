"""Benchmark: execution analytics over 1M spans in SQLite.

Generates a store of agent executions (each: agent span, INIT / SHOULD_RESPOND / LLM_PREPARE /
LLM_CALL / POST_PROCESS / COMPLETE stages and one LLM call; 10 % skipped, 5 % failed,
2 % timed out) spread over the last 7 days, written straight through the SQLite exporter, then
times the seed-002 analytics summary, ``debug_why_agent_didnt_fire`` and
``find_slow_executions`` (best and median of several runs, in ms). Target: each under 1 s.

    PYTHONPATH=src .venv/bin/python bench/analytics.py [--spans 1000000] [--db PATH] [--runs 5]

The database is reused when it already holds the requested number of spans.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tracehound.analytics import ExecutionAnalytics
from tracehound.model import Span
from tracehound.model._ids import format_id, new_id_int
from tracehound.store._sqlite import SQLiteExporter

AGENTS = [f"Agent{i:02d}" for i in range(20)]
STAGES = ("LLM_PREPARE", "LLM_CALL", "POST_PROCESS")
MODELS = (("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet"), ("openai", "gpt-4o-mini"))
MS = 1_000_000


def _span(**kw: object) -> Span:
    return Span(**kw)  # type: ignore[arg-type]


def generate(path: Path, total_spans: int, seed: int = 7) -> float:
    rnd = random.Random(seed)
    exporter = SQLiteExporter(path)
    now = time.time_ns()
    week = 7 * 24 * 3600 * 1_000_000_000
    written = 0
    batch: list[Span] = []
    t0 = time.perf_counter()
    session = "bench_session"
    project = "bench"
    while written < total_spans:
        start = now - rnd.randrange(week)
        agent = rnd.choice(AGENTS)
        conv = f"conv-{rnd.randrange(5000)}"
        vault = f"vault-{rnd.randrange(50)}"
        eid = format_id(new_id_int(start))
        roll = rnd.random()
        outcome = (
            "skipped"
            if roll < 0.10
            else "failed"
            if roll < 0.15
            else "timeout"
            if roll < 0.17
            else "success"
        )
        t = start
        children: list[Span] = []

        def stage(
            name: str,
            dur_ms: float,
            status: str = "success",
            msg: str = "",
            children: list[Span] = children,
            eid: str = eid,
            agent: str = agent,
            conv: str = conv,
        ) -> None:
            nonlocal t
            sid = format_id(new_id_int(t))
            end = t + int(dur_ms * MS)
            children.append(
                _span(
                    id=sid,
                    trace_id=eid,
                    parent_id=eid,
                    session_id=session,
                    project=project,
                    kind="stage",
                    name=name,
                    status=status,
                    start_time=t,
                    end_time=end,
                    duration_ms=dur_ms,
                    agent_name=agent,
                    conversation_id=conv,
                    attributes={"message": msg or name.lower()},
                )
            )
            t = end

        stage("INIT", 0.01)
        score = rnd.random()
        stage(
            "SHOULD_RESPOND",
            rnd.uniform(1, 30),
            "skipped" if outcome == "skipped" else "success",
            "off-topic query" if outcome == "skipped" else "relevant",
        )
        attrs: dict[str, object] = {
            "method": "run",
            "vault_id": vault,
            "should_respond": outcome != "skipped",
            "relevance_score": round(score, 2),
        }
        err_type = err_msg = None
        if outcome == "skipped":
            attrs["relevance_reasoning"] = "Query is about plot structure"
        else:
            stage("LLM_PREPARE", rnd.uniform(1, 50))
            llm_start = t
            provider, model = rnd.choice(MODELS)
            lat = rnd.lognormvariate(7.5, 0.6)  # ~1.8 s median
            inp, out = rnd.randrange(200, 4000), rnd.randrange(50, 1500)
            stage("LLM_CALL", lat)
            children.append(
                _span(
                    id=format_id(new_id_int(llm_start)),
                    trace_id=eid,
                    parent_id=children[-1].id,
                    session_id=session,
                    project=project,
                    kind="llm",
                    name=model,
                    status="success",
                    start_time=llm_start,
                    end_time=llm_start + int(lat * MS),
                    duration_ms=lat,
                    agent_name=agent,
                    conversation_id=conv,
                    attributes={"call_type": "inference"},
                    provider=provider,
                    model=model,
                    input_tokens=inp,
                    output_tokens=out,
                    total_tokens=inp + out,
                    input_cost=inp * 2.5e-6,
                    output_cost=out * 1e-5,
                    total_cost=inp * 2.5e-6 + out * 1e-5,
                    cost_source="genai-prices:bench",
                )
            )
            status = (
                "failed"
                if outcome == "failed"
                else "timeout"
                if outcome == "timeout"
                else "success"
            )
            stage("POST_PROCESS", rnd.uniform(1, 400), status)
            if outcome == "failed":
                err_type, err_msg = "ValueError", "could not parse the LLM response"
        stage("COMPLETE", 0.01, outcome)
        end = t
        attrs["execution_status"] = outcome
        agent_span = _span(
            id=eid,
            trace_id=eid,
            parent_id=None,
            session_id=session,
            project=project,
            kind="agent",
            name="run",
            status=outcome,
            start_time=start,
            end_time=end,
            duration_ms=(end - start) / MS,
            agent_name=agent,
            conversation_id=conv,
            status_message=attrs.get("relevance_reasoning") if outcome == "skipped" else err_msg,
            input={"query": "q"},
            error_type=err_type,
            error_message=err_msg,
            attributes=attrs,
        )
        batch.append(agent_span)
        batch.extend(children)
        written += 1 + len(children)
        if len(batch) >= 20_000:
            exporter.export(batch)
            batch = []
    if batch:
        exporter.export(batch)
    exporter.shutdown()
    return time.perf_counter() - t0


def count_spans(path: Path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    con = sqlite3.connect(str(path))
    try:
        return int(con.execute("SELECT count(*) FROM spans").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def timed(fn: object, runs: int) -> tuple[float, float, object]:
    times = []
    result: object = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    db = args.db or Path(tempfile.gettempdir()) / f"tracehound_bench_analytics_{args.spans}.db"
    have = count_spans(db)
    if have < args.spans:
        if db.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
        secs = generate(db, args.spans)
        have = count_spans(db)
        print(f"generated {have:,} spans in {secs:.1f} s ({have / secs:,.0f} spans/s) -> {db}")
    else:
        print(f"reusing {db} ({have:,} spans)")
    an = ExecutionAnalytics(f"sqlite:///{db}", flush=False)
    results = {}
    best, med, summary = timed(lambda: an.get_analytics_summary(), args.runs)
    results["analytics summary (30 days, all executions)"] = (best, med)
    total = summary["execution_analytics"]["total_executions"]  # type: ignore[index]
    best, med, why = timed(
        lambda: an.debug_why_agent_didnt_fire(
            "Agent03", conversation_id="conv-42", vault_id="vault-7"
        ),
        args.runs,
    )
    results["debug_why_agent_didnt_fire (agent+conversation+vault)"] = (best, med)
    best, med, why3 = timed(lambda: an.debug_why_agent_didnt_fire("Agent03", hours=24), args.runs)
    results["debug_why_agent_didnt_fire (agent, 24 h)"] = (best, med)
    best, med, why2 = timed(lambda: an.debug_why_agent_didnt_fire("Agent03"), args.runs)
    results["debug_why_agent_didnt_fire (agent only)"] = (best, med)
    best, med, slow = timed(lambda: an.find_slow_executions(threshold_ms=5000, hours=24), args.runs)
    results["find_slow_executions (>5 s, 24 h, top 100)"] = (best, med)
    print(f"{have:,} spans, {total:,} executions; runs={args.runs}")
    print(f"{'query':58} {'best ms':>9} {'median ms':>10}")
    worst = 0.0
    for name, (b, m) in results.items():
        worst = max(worst, m)
        print(f"{name:58} {b:9.1f} {m:10.1f}")
    print(
        f"why status: {why['status']} / {why2['status']} / {why3['status']}; slow rows: {len(slow)}"
    )  # type: ignore[index,arg-type]
    print("target (< 1000 ms each):", "met" if worst < 1000 else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
