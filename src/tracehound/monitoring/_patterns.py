"""``analyze_patterns``: what recurs in the traces of a time range.

* **agent paths** — the sequence of agents a trace went through (repeats collapsed), most
  frequent first, with how often such traces failed;
* **transitions** — which agent follows which;
* **sequences** — recurring runs of three steps (an agent, a tool call, an event such as a
  decision or an action), counted once per trace (their *support*);
* **error sequences** — the steps leading to the first failure of each failing trace.

The most recent ``max_traces`` traces of the range are read (two indexed queries).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.sql.elements import ColumnElement

from ..store._dialect import datetime_to_ns
from ..store._schema import events as E
from ..store._schema import spans as S
from ._types import iso

__all__ = ["build_patterns"]

_FAILED: Final = ("failed", "timeout")
_EVENT_TYPES: Final = ("decision", "action", "error", "state_change", "success")
_CHUNK: Final = 500


@dataclass(slots=True)
class _Step:
    t: int
    label: str
    failed: bool
    agent: str | None


def _ns(value: Any) -> int:
    return datetime_to_ns(value) if isinstance(value, datetime) else int(value or 0)


def _top(counter: Counter[tuple[str, ...]], total: int, limit: int, **extra: Any) -> list[Any]:
    out = []
    for seq, n in counter.most_common(limit):
        item: dict[str, Any] = {
            "sequence": list(seq),
            "count": n,
            "share": round(n / total, 4) if total else 0.0,
        }
        for name, table in extra.items():
            if seq in table:
                item[name] = table[seq]
        out.append(item)
    return out


def build_patterns(
    engine: Engine,
    *,
    start: datetime | None,
    end: datetime,
    project: str | None = None,
    max_traces: int = 2000,
    limit: int = 10,
) -> dict[str, Any]:
    where: list[ColumnElement[bool]] = [S.c.parent_id.is_(None), S.c.start_time < end]
    if start is not None:
        where.append(S.c.start_time >= start)
    if project is not None:
        where.append(S.c.project == project)
    roots = select(S.c.trace_id).where(*where).order_by(S.c.start_time.desc()).limit(max_traces)
    steps: dict[str, list[_Step]] = {}
    with engine.connect() as conn:
        trace_ids = [r[0] for r in conn.execute(roots)]
        for i in range(0, len(trace_ids), _CHUNK):
            chunk = trace_ids[i : i + _CHUNK]
            span_rows = conn.execute(
                select(
                    S.c.trace_id, S.c.start_time, S.c.kind, S.c.name, S.c.agent_name, S.c.status
                ).where(S.c.trace_id.in_(chunk), S.c.kind.in_(("agent", "tool")))
            )
            for r in span_rows:
                failed = r.status in _FAILED
                if r.kind == "agent":
                    label = (r.agent_name or r.name) + (" ✗" if failed else "")
                    if r.status == "skipped":
                        label = (r.agent_name or r.name) + " (skipped)"
                else:
                    label = f"tool:{r.name}" + (" ✗" if failed else "")
                steps.setdefault(r.trace_id, []).append(
                    _Step(
                        _ns(r.start_time),
                        label,
                        failed,
                        r.agent_name if r.kind == "agent" else None,
                    )
                )
            event_rows = conn.execute(
                select(E.c.trace_id, E.c.timestamp, E.c.type, E.c.name, E.c.level).where(
                    E.c.trace_id.in_(chunk), E.c.type.in_(_EVENT_TYPES)
                )
            )
            for ev in event_rows:
                failed = ev.type == "error" or ev.level in ("ERROR", "CRITICAL")
                steps.setdefault(ev.trace_id, []).append(
                    _Step(_ns(ev.timestamp), f"{ev.type}:{ev.name}", failed, None)
                )
    paths: Counter[tuple[str, ...]] = Counter()
    path_failures: Counter[tuple[str, ...]] = Counter()
    path_example: dict[tuple[str, ...], str] = {}
    transitions: Counter[tuple[str, ...]] = Counter()
    sequences: Counter[tuple[str, ...]] = Counter()
    errors: Counter[tuple[str, ...]] = Counter()
    error_example: dict[tuple[str, ...], str] = {}
    failing = 0
    for trace_id, trace_steps in steps.items():
        trace_steps.sort(key=lambda s: s.t)
        agents = _collapse([s.agent for s in trace_steps if s.agent])
        path = tuple(agents)
        trace_failed = any(s.failed for s in trace_steps)
        if path:
            paths[path] += 1
            path_example.setdefault(path, trace_id)
            if trace_failed:
                path_failures[path] += 1
        for pair in set(itertools.pairwise(agents)):
            transitions[pair] += 1
        labels = _collapse([s.label for s in trace_steps])
        sequences.update(set(zip(labels, labels[1:], labels[2:], strict=False)))
        if trace_failed:
            failing += 1
            first = next(i for i, s in enumerate(trace_steps) if s.failed)
            lead = tuple(_collapse([s.label for s in trace_steps[max(0, first - 3) : first + 1]]))
            errors[lead] += 1
            error_example.setdefault(lead, trace_id)
    total = len(steps)
    failure_rates = {p: round(path_failures[p] / n, 4) for p, n in paths.items() if n}
    return {
        "window": {"start": iso(start), "end": iso(end)},
        "traces": total,
        "failing_traces": failing,
        "agent_paths": _top(
            paths, total, limit, failure_rate=failure_rates, example_trace_id=path_example
        ),
        "transitions": [
            {"from": a, "to": b, "count": n} for (a, b), n in transitions.most_common(limit)
        ],
        "sequences": _top(sequences, total, limit),
        "error_sequences": _top(errors, failing, limit, example_trace_id=error_example),
    }


def _collapse(items: Sequence[str | None]) -> list[str]:
    """Consecutive repeats removed."""
    out: list[str] = []
    for item in items:
        if item is not None and (not out or out[-1] != item):
            out.append(item)
    return out
