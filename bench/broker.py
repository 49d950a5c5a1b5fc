"""End-to-end broker benchmark: ActionLogger → NATS JetStream → ``tracehound consume`` →
PostgreSQL.

    python bench/broker.py [--events 100000] [--repeat 5] [--consumers 1] [--writers N]
                           [--batch-size 100] [--records-per-message 500] [--rate 5000]
                           [--seconds 10]

By default it starts a private nats-server and a private PostgreSQL cluster (free ports,
temporary directories; the machine's shared servers are not touched), or uses ``--nats`` /
``--store``. Two phases:

* **throughput**: the agent (this process) logs ``--events`` actions (¼ tool calls via
  ``async with logger.tool_call(...)``, ¾ decisions) as fast as it can; ``--consumers``
  consumer processes write them to PostgreSQL. Reported: the agent's calling-thread rate, the
  publish rate (until the SDK flushed to JetStream), the end-to-end rate (first action to
  the last row committed) and the CPU each process spent per event (from ``/proc``). Repeated
  ``--repeat`` times (single runs on this shared 2-core machine vary by ±15%): the run with the
  median end-to-end rate is reported, with the slowest and fastest.
* **latency** at a fixed rate (``--rate`` events/s for ``--seconds``): publish-to-row latency
  per event = the row's commit time (``pg_xact_commit_timestamp``, ``track_commit_timestamp``
  is on in the private cluster) minus the event's own timestamp (taken on the agent's thread
  when it logged the action). p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import tracehound  # noqa: E402
from tracehound import ActionLogger  # noqa: E402


def _count(url: str, since_ns: int = 0) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM events WHERE timestamp >= to_timestamp(%s))"
                " + (SELECT count(*) FROM spans WHERE start_time >= to_timestamp(%s))",
                (since_ns / 1e9, since_ns / 1e9),
            ).fetchone()
        except (psycopg.errors.UndefinedTable, psycopg.errors.DeadlockDetected):
            return 0  # schema or partitions being created right now
    return int(row[0]) if row else 0


def _stored(ports: list[int]) -> int:
    """Records the consumers committed so far (their ``/ready`` counters: polling these costs
    PostgreSQL nothing, unlike counting rows)."""
    import json
    import urllib.error
    import urllib.request

    total = 0
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as resp:
                body = resp.read()
        except urllib.error.HTTPError as err:
            body = err.read()
        except OSError:
            continue
        total += int(json.loads(body).get("stats", {}).get("stored", 0))
    return total


def _wait_stored(ports: list[int], want: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        n = _stored(ports)
        if n >= want:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"only {n} of {want} records stored after {timeout}s")
        time.sleep(0.01)


def _wait_rows(url: str, want: int, since_ns: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        n = _count(url, since_ns)
        if n >= want:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"only {n} of {want} rows after {timeout}s")
        time.sleep(0.02)


async def _agent(n: int, rate: float) -> float:
    """Log ``n`` actions (at ``rate``/s, or flat out when 0). Returns the calling-thread time."""
    logger = ActionLogger("agent-bench", project_name="bench")
    busy = 0.0
    start = time.monotonic()
    chunk = 50
    for base in range(0, n, chunk):
        t0 = time.perf_counter()
        for i in range(base, min(base + chunk, n)):
            if i % 4 == 0:
                async with logger.tool_call("Read", {"file_path": "/x.py", "i": i}) as action:
                    action.set_result({"line_count": 10})
            else:
                await logger.log_decision(
                    "select_agent", {"candidates": 2}, {"selected": "agent-b"}, duration_ms=1
                )
        busy += time.perf_counter() - t0
        if rate > 0:
            ahead = start + (base + chunk) / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
    return busy


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(ppid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                out.append(int(d.name))
    return out


def _cpu_by_pid(parts: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {name: {pid: _cpu_s(pid) for pid in pids} for name, pids in parts.items()}


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings; a process that started in between (a PostgreSQL
    backend of a new connection) counts from zero."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _latencies(url: str, since_ns: int) -> list[float]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - timestamp) * 1000"
            " FROM events WHERE timestamp >= to_timestamp(%s)",
            (since_ns / 1e9,),
        ).fetchall()
    return sorted(float(r[0]) for r in rows if r[0] is not None)


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--consumers", type=int, default=1)
    ap.add_argument(
        "--repeat", type=int, default=5, help="throughput runs (the median one is reported)"
    )
    ap.add_argument(
        "--writers", type=int, default=None, help="store writers per consumer (default: its own)"
    )
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--batch-timeout", type=float, default=1.0)
    ap.add_argument(
        "--records-per-message",
        type=int,
        default=500,
        help="records packed per NATS message (1: a message per record)",
    )
    ap.add_argument("--rate", type=float, default=5000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--nats", help="use this NATS server (default: a private one)")
    ap.add_argument("--store", help="use this PostgreSQL database (default: a private one)")
    args = ap.parse_args()

    from tests.broker._services import NatsServer, PgServer, free_port

    tmp = Path(tempfile.mkdtemp(prefix="tracehound-bench-"))
    nats_srv = pg_srv = None
    if args.nats:
        nats_url = args.nats
    else:
        nats_srv = NatsServer(tmp / "nats").start()
        nats_url = nats_srv.url
    if args.store:
        store = args.store
    else:
        # the settings docs/storage-at-scale.md recommends: a quarter of RAM for shared
        # buffers (the 128 MB default cannot hold the indexes), no checkpoint mid-run
        pg_srv = PgServer(settings={"shared_buffers": "2GB", "max_wal_size": "8GB"}).init().start()
        store = pg_srv.create_database(f"bench_{secrets.token_hex(4)}")
    stream = f"BENCH_{secrets.token_hex(3).upper()}"
    subject = f"bench{secrets.token_hex(3)}.records"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHOUND_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    procs: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in range(args.consumers)]
    for i in range(args.consumers):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tracehound",
                    "consume",
                    "--store",
                    store,
                    "--nats",
                    nats_url,
                    "--stream",
                    stream,
                    "--subject",
                    subject,
                    "--port",
                    str(ports[i]),
                    "--batch-size",
                    str(args.batch_size),
                    "--batch-timeout",
                    str(args.batch_timeout),
                    "--log-level",
                    "WARNING",
                    *(["--writers", str(args.writers)] if args.writers else []),
                ],
                env=env,
                cwd=tmp,
                stderr=open(tmp / f"consumer-{i}.log", "wb"),  # noqa: SIM115
            )
        )
    tracehound.configure(
        trace_dir=tmp / "agent",
        exporters=("nats",),
        nats_url=nats_url,
        nats_stream=stream,
        nats_subject=subject,
        max_queue_size=1_000_000,
        flush_interval=0.02,
        nats_records_per_message=args.records_per_message,
    )
    out: dict[str, Any] = {}
    try:
        # warm-up: stream, consumers, schema, partitions
        asyncio.run(_agent(200, 0))
        tracehound.flush(30)
        _wait_rows(store, 200, 0, 60)

        # -- throughput (repeated: single runs on a shared 2-core machine vary by ±15%) -------
        n = args.events
        parts: dict[str, list[int]] = {
            "agent": [os.getpid()],
            "consumer": [p.pid for p in procs],
        }
        if nats_srv is not None and nats_srv.proc is not None:
            parts["nats-server"] = [nats_srv.proc.pid]
        postmaster = 0
        if pg_srv is not None:
            postmaster = int((pg_srv.data / "postmaster.pid").read_text().split()[0])
        stored = 200
        runs: list[dict[str, float]] = []
        for run in range(args.repeat):
            if postmaster:
                parts["postgresql"] = [postmaster, *_children(postmaster)]
            cpu0 = _cpu_by_pid(parts)
            t_ns = time.time_ns()
            t0 = time.monotonic()
            busy = asyncio.run(_agent(n, 0))
            t_logged = time.monotonic()
            tracehound.flush(120)
            t_published = time.monotonic()
            stored += n
            t_stored = _wait_stored(ports, stored, 300)
            _wait_rows(store, n, t_ns, 60)  # and the rows are there
            if postmaster:  # backends opened meanwhile (a consumer's second writer)
                parts["postgresql"] = [postmaster, *_children(postmaster)]
            cpu1 = _cpu_by_pid(parts)
            used = {name: _cpu_used(cpu0[name], cpu1[name]) for name in parts}
            one = {
                "agent calls/s (calling thread)": n / busy,
                "logged in s": t_logged - t0,
                "published to JetStream events/s": n / (t_published - t0),
                "end-to-end events/s": n / (t_stored - t0),
                **{f"CPU µs/event: {name}": used[name] / n * 1e6 for name in parts},
                "CPU µs/event: total": sum(used.values()) / n * 1e6,
            }
            runs.append(one)
            if args.repeat > 1:
                each = ", ".join(f"{name} {used[name] / n * 1e6:.1f}" for name in parts)
                print(
                    f"  run {run + 1}/{args.repeat}: {one['end-to-end events/s']:,.0f} events/s"
                    f" end to end, {one['CPU µs/event: total']:.1f} µs CPU/event ({each})",
                    file=sys.stderr,
                )
        # the run with the median end-to-end rate, and the spread
        runs.sort(key=lambda r: r["end-to-end events/s"])
        out.update(runs[len(runs) // 2])
        if len(runs) > 1:
            out["end-to-end events/s: slowest run"] = runs[0]["end-to-end events/s"]
            out["end-to-end events/s: fastest run"] = runs[-1]["end-to-end events/s"]

        # -- latency at a fixed rate -------------------------------------------------------
        m = int(args.rate * args.seconds)
        l_ns = time.time_ns()
        t1 = time.monotonic()
        asyncio.run(_agent(m, args.rate))
        out["achieved rate events/s"] = m / (time.monotonic() - t1)
        tracehound.flush(60)
        _wait_stored(ports, stored + m, 120)
        _wait_rows(store, m, l_ns, 60)
        lat = _latencies(store, l_ns)
        out["latency samples"] = len(lat)
        out["latency p50 ms"] = statistics.median(lat)
        out["latency p99 ms"] = _pct(lat, 0.99)
        out["latency max ms"] = lat[-1]
    finally:
        tracehound.shutdown(5)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if nats_srv is not None:
            nats_srv.kill()
        if pg_srv is not None:
            pg_srv.destroy()
    print(
        f"broker benchmark: {args.events} actions, {args.consumers} consumer(s), "
        f"batch {args.batch_size}, {args.records_per_message} records/message, "
        f"{os.cpu_count()} cores"
    )
    for key, value in out.items():
        print(
            f"  {key:40s} {value:12,.1f}"
            if isinstance(value, float)
            else f"  {key:40s} {value:12,}"
        )


if __name__ == "__main__":
    main()
