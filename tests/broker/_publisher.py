"""A publisher process for the fault tests: an agent logging actions with ``ActionLogger``
through the SDK with the ``nats`` exporter, at a fixed rate.

Every record the SDK produced also goes to an in-memory exporter: its ids are the ledger,
written to ``--ledger`` once the nats channel's spool is drained (or the wait times out).
Prints ``SPOOLED <n>`` after emitting and a final JSON line with the pipeline stats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import tracehound
from tracehound import ActionLogger
from tracehound.testing import InMemoryExporter


async def emit(count: int, rate: float) -> None:
    logger = ActionLogger("agent-load", project_name="faults")
    start = time.monotonic()
    for i in range(count):
        if i % 4 == 0:
            async with logger.tool_call("Read", {"i": i}) as action:
                action.set_result({"ok": True})
        else:
            await logger.log_decision("route", {"i": i}, {"to": "b"})
        if rate > 0:
            ahead = start + (i + 1) / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nats", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--ledger", type=Path, required=True)
    p.add_argument("--trace-dir", type=Path, required=True)
    p.add_argument("--wait", type=float, default=90.0)
    args = p.parse_args()
    memory = InMemoryExporter()
    tracehound.configure(
        trace_dir=args.trace_dir,
        exporters=("nats",),
        nats_url=args.nats,
        extra_exporters=(memory,),
        flush_interval=0.05,
        export_retries=1,
        retry_backoff=0.05,
        retry_backoff_max=0.5,
    )
    asyncio.run(emit(args.count, args.rate))
    tracehound.flush(30)
    st = tracehound.stats()["exporters"]["nats"]
    print(f"SPOOLED {st['spooled']}", flush=True)
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        tracehound.flush(5)
        st = tracehound.stats()["exporters"]["nats"]
        if not st["down"] and st["replayed"] + st["dropped"] >= st["spooled"]:
            break
        time.sleep(0.2)
    args.ledger.write_text("\n".join(r.id for r in memory.records))
    print(json.dumps(tracehound.stats()), flush=True)
    tracehound.shutdown(5)


if __name__ == "__main__":
    main()
