"""LogAnalyzer over a generated 1M-record session, from the files and from SQLite.

    python bench/analysis.py [--records 1000000] [--dir DIR] [--keep] [--no-store]

The session is generated deterministically (seed 7): 20 agents whose records follow the
seed-000 loggers' shapes — actions, decisions, content, learning steps/rewards/exploration,
interactions and viral cascades, logs with warnings and errors, task and operation spans
(some failed), latency metrics — written with the files exporter (and the SQLite exporter)
in batches, as the pipeline would. Then a full analysis runs with a progress bar: one
streaming pass (overview, agents, errors, learning, interactions, performance), an agent's
journey and the causality chain of the last error. Times are printed per step.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tracehound.model import Event, Metric, Span, new_id  # noqa: E402

console = Console()
SESSION = "20250115_103045"
AGENTS = [
    (f"{role}_{i:03d}", role)
    for i in range(1, 5)
    for role in ("creator", "curator", "critic", "publisher", "learner")
]


def generate(n: int, rng: random.Random) -> Any:
    """``n`` records of one session, in time order (batches of lists)."""
    t = 1_736_937_045_000_000_000  # 2025-01-15T10:30:45Z
    batch: list[Any] = []
    made = 0
    steps: dict[str, int] = {}
    cum: dict[str, float] = {}
    while made < n:
        agent, role = AGENTS[rng.randrange(len(AGENTS))]
        trace = new_id()
        root = new_id()
        start = t
        t += rng.randrange(50_000, 400_000)
        kind = rng.random()
        logger = f"agent.{role}"
        base = {"event_type": "log", "logger": logger}
        if kind < 0.30:  # an action with its decision, content and timing
            action = rng.choice(("create_content", "schedule_post", "reply", "review"))
            recs: list[Any] = [
                Event(
                    new_id(),
                    trace,
                    root,
                    SESSION,
                    "default",
                    t,
                    "action",
                    action,
                    "INFO",
                    agent,
                    role,
                    agent,
                    f"Agent action: {action}",
                    {
                        "event_type": "agent_action",
                        "logger": logger,
                        "action_type": action,
                        "action_data": {"n": made},
                    },
                ),
                Event(
                    new_id(),
                    trace,
                    root,
                    SESSION,
                    "default",
                    t + 1000,
                    "decision",
                    "content_timing",
                    "INFO",
                    agent,
                    role,
                    agent,
                    "Agent decision: content_timing",
                    {"event_type": "agent_decision", "logger": logger, "reasoning": "peak hour"},
                ),
            ]
            op_start = t + 2000
            op_end = op_start + rng.randrange(1_000_000, 50_000_000)
            recs.append(
                Span(
                    new_id(),
                    trace,
                    root,
                    SESSION,
                    "default",
                    "operation",
                    "content_generation",
                    "success",
                    op_start,
                    op_end,
                    (op_end - op_start) / 1e6,
                    agent,
                    role,
                    agent,
                )
            )
            recs.append(
                Metric(
                    new_id(),
                    SESSION,
                    "default",
                    op_end,
                    "latency",
                    (op_end - op_start) / 1e6,
                    "ms",
                    {"operation": "content_generation", "event_type": "latency"},
                    trace,
                    root,
                    agent,
                )
            )
            failed = rng.random() < 0.03
            if failed:
                recs.append(
                    Event(
                        new_id(),
                        trace,
                        root,
                        SESSION,
                        "default",
                        op_end + 1000,
                        "log",
                        logger,
                        "WARNING",
                        agent,
                        role,
                        agent,
                        "model rate limit reached",
                        dict(base),
                    )
                )
                recs.append(
                    Event(
                        new_id(),
                        trace,
                        root,
                        SESSION,
                        "default",
                        op_end + 2000,
                        "error",
                        action,
                        "ERROR",
                        agent,
                        role,
                        agent,
                        f"Agent action failed: {action}: TimeoutError: model timeout after {rng.randrange(5, 60)}s",
                        {
                            "event_type": "agent_action_error",
                            "logger": logger,
                            "error_type": "TimeoutError",
                            "error_message": "model timeout",
                        },
                    )
                )
            else:
                recs.append(
                    Event(
                        new_id(),
                        trace,
                        root,
                        SESSION,
                        "default",
                        op_end + 1000,
                        "content",
                        "video",
                        "INFO",
                        agent,
                        role,
                        agent,
                        f"Content generated: video c{made}",
                        {
                            "event_type": "content_generation",
                            "logger": logger,
                            "content_id": f"c{made}",
                        },
                    )
                )
            end = op_end + 3000
            recs.append(
                Span(
                    root,
                    trace,
                    None,
                    SESSION,
                    "default",
                    "task",
                    action,
                    "failed" if failed else "success",
                    start,
                    end,
                    (end - start) / 1e6,
                    agent,
                    role,
                    agent,
                    attributes={"action_type": action, "event_type": "agent_action"},
                    error_type="TimeoutError" if failed else None,
                    error_message="model timeout" if failed else None,
                )
            )
            t = end
        elif kind < 0.65:  # learning
            step = steps[agent] = steps.get(agent, 0) + 1
            reward = rng.gauss(0.5 + step / 20_000, 0.3)
            cum[agent] = cum.get(agent, 0.0) + reward
            lg = "learning.bandit"
            recs = [
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t,
                    "learning.step",
                    "bandit",
                    "DEBUG",
                    agent,
                    None,
                    agent,
                    f"Training step {step}",
                    {
                        "event_type": "training_step",
                        "logger": lg,
                        "learning_type": "bandit",
                        "step": step,
                        "metrics": {"loss": 1.0 / (1 + step / 500) + rng.random() * 0.01},
                    },
                ),
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t + 1000,
                    "learning.reward",
                    "bandit",
                    "INFO",
                    agent,
                    None,
                    agent,
                    f"Reward {reward:g}",
                    {
                        "event_type": "reward",
                        "logger": lg,
                        "learning_type": "bandit",
                        "reward": reward,
                        "cumulative_reward": cum[agent],
                    },
                ),
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t + 2000,
                    "learning.explore",
                    "bandit",
                    "DEBUG",
                    agent,
                    None,
                    agent,
                    "explore",
                    {
                        "event_type": "exploration_exploitation",
                        "logger": lg,
                        "learning_type": "bandit",
                        "exploration": rng.random() < 0.1,
                        "epsilon": 0.1,
                    },
                ),
            ]
        elif kind < 0.90:  # interactions
            other, _ = AGENTS[rng.randrange(len(AGENTS))]
            content = f"c{rng.randrange(max(made, 1))}"
            recs = [
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t,
                    "interaction",
                    "like",
                    "INFO",
                    other,
                    None,
                    other,
                    f"{other} like {content}",
                    {
                        "event_type": "content_interaction",
                        "logger": "interactions",
                        "interaction_type": "like",
                        "content_id": content,
                        "source_agent": other,
                        "target_agent": agent,
                    },
                ),
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t + 1000,
                    "interaction",
                    "reshare",
                    "INFO",
                    other,
                    None,
                    other,
                    f"{other} reshared {content}",
                    {
                        "event_type": "viral_cascade",
                        "logger": "interactions",
                        "interaction_type": "reshare",
                        "content_id": content,
                        "source_agent": other,
                        "origin_agent": agent,
                        "depth": rng.randrange(1, 6),
                        "reach": rng.randrange(10, 5000),
                    },
                ),
            ]
        else:  # plain logs, now and then an error
            level = (
                "ERROR" if rng.random() < 0.02 else rng.choice(("DEBUG", "INFO", "INFO", "WARNING"))
            )
            recs = [
                Event(
                    new_id(),
                    None,
                    None,
                    SESSION,
                    "default",
                    t,
                    "log",
                    logger,
                    level,
                    agent,
                    role,
                    agent,
                    f"queue depth {rng.randrange(100)}"
                    if level != "ERROR"
                    else "cache miss storm on shard 3",
                    dict(base),
                )
            ]
        batch.extend(recs)
        made += len(recs)
        if len(batch) >= 4096:
            yield batch
            batch = []
    if batch:
        yield batch


def bar(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def write(root: Path, n: int, store: bool) -> None:
    from tracehound.pipeline.exporters._files import FileExporter

    files = FileExporter(root, SESSION)
    sqlite = None
    if store:
        from tracehound.store._sqlite import SQLiteExporter

        sqlite = SQLiteExporter(root / "tracehound.db")
    t0 = time.perf_counter()
    with bar("Generating") as progress:
        task = progress.add_task("records", total=n)
        for batch in generate(n, random.Random(7)):
            files.export(batch)
            if sqlite is not None:
                sqlite.export(batch)
            progress.advance(task, len(batch))
    files.shutdown()
    if sqlite is not None:
        sqlite.shutdown()
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    console.print(
        f"generated {n:,} records in {time.perf_counter() - t0:.1f} s ({size / 1e6:,.0f} MB on disk)"
    )


def analyze(label: str, **source: Any) -> dict[str, float]:
    from tracehound import LogAnalyzer

    times: dict[str, float] = {}
    with bar(f"Analyzing ({label})") as progress:
        task = progress.add_task("records", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        an = LogAnalyzer(progress=advance, **source)
        t0 = time.perf_counter()
        an.summary()
        times["pass"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    overview = an.overview()
    agents = [an.analyze_agent_activity(a) for a in an.agents()]
    patterns = an.find_error_patterns()
    learning = an.analyze_learning_progress("creator_001")
    interactions = an.analyze_interactions()
    an.analyze_performance()
    times["answers"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    journey = an.trace_agent_journey("creator_001")
    times["journey"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    chain = an.find_causality_chain(an.get_errors()[-1])
    times["causality"] = time.perf_counter() - t3
    an.close()
    times["total"] = sum(times.values())
    console.print(
        f"[bold]{label}[/bold]: {overview['records']:,} records, {len(agents)} agents, "
        f"{patterns['total_errors']:,} errors, {learning['total_training_steps']:,} training steps of creator_001, "
        f"{interactions['total_interactions']:,} interactions; journey {len(journey):,} records; "
        f"causal chain {len(chain)} candidates"
    )
    console.print(
        "  "
        + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
        + f"; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--dir", type=Path, default=None, help="Where to write the session (default: a temp dir)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the generated session.")
    parser.add_argument("--no-store", action="store_true", help="Files only (no SQLite).")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="tracehound-bench-")) / "trace"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    try:
        write(root, args.records, not args.no_store)
        files = analyze("files", session=root / f"session_{SESSION}")
        if not args.no_store:
            db = analyze("sqlite", store=root / "tracehound.db")
            console.print(
                f"[bold]LogAnalyzer, {args.records:,} records:[/bold] files {files['total']:.1f} s, "
                f"SQLite {db['total']:.1f} s"
            )
        else:
            console.print(
                f"[bold]LogAnalyzer, {args.records:,} records:[/bold] files {files['total']:.1f} s"
            )
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root.parent, ignore_errors=True)
        elif args.keep:
            console.print(f"session kept in {root}")
        os.environ.pop("TRACEHOUND_TRACE_DIR", None)


if __name__ == "__main__":
    main()
