"""Seeded synthetic agent traffic with known injected faults.

Used by the monitoring tests, ``bench/anomalies.py`` and the precision/recall measurement in
``docs/monitoring.md``: hourly traffic for a few agents over ``days`` days (diurnal volume and
a little diurnal latency, lognormal latencies, per-agent error and skip rates, one LLM call per
executed agent span with tokens and cost, sometimes a tool call), into which
:class:`Injection` values put faults with a known start, end, scope and size.

Records are plain :class:`~tracehound.model.Span` values yielded in batches, to be written
with any exporter (``SQLiteExporter(path).export(batch)``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from ..model import Span

__all__ = [
    "DEFAULT_AGENTS",
    "AgentProfile",
    "Finding",
    "Injection",
    "Score",
    "expected_findings",
    "random_injections",
    "score_findings",
    "synthetic_history",
]

HOUR_NS: Final = 3_600_000_000_000
MS_NS: Final = 1_000_000
INJECTABLE: Final = (
    "error_rate",
    "skip_rate",
    "latency",
    "cost",
    "tokens",
    "tool_failure",
    "volume",
)
# USD per 1k tokens (input, output): only the ratios matter here.
_PRICES: Final = {
    "gpt-4o": (0.0025, 0.01),
    "gpt-4o-mini": (0.00015, 0.0006),
    "claude-3-5-sonnet": (0.003, 0.015),
}
_PROVIDERS: Final = {"gpt-4o": "openai", "gpt-4o-mini": "openai", "claude-3-5-sonnet": "anthropic"}


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One synthetic agent: its hourly volume (at the daily mean), rates and distributions."""

    name: str
    per_hour: float
    error_rate: float
    skip_rate: float
    latency_ms: float
    latency_sigma: float
    model: str
    tool: str
    tokens: float
    tool_rate: float = 0.5
    tool_failure: float = 0.03


DEFAULT_AGENTS: Final = (
    AgentProfile("planner", 30, 0.01, 0.0, 900, 0.35, "gpt-4o-mini", "read_file", 600),
    AgentProfile("researcher", 18, 0.04, 0.25, 4200, 0.5, "gpt-4o", "web_search", 2400, 0.8, 0.05),
    AgentProfile("writer", 14, 0.03, 0.15, 6500, 0.45, "claude-3-5-sonnet", "write_file", 3200),
    AgentProfile("critic", 12, 0.02, 0.3, 2100, 0.4, "gpt-4o", "read_file", 1500, 0.3),
    AgentProfile(
        "coder", 8, 0.06, 0.35, 8800, 0.6, "claude-3-5-sonnet", "run_code", 4100, 0.7, 0.08
    ),
    AgentProfile("publisher", 6, 0.05, 0.2, 1500, 0.4, "gpt-4o-mini", "publish_post", 700, 0.9),
)


@dataclass(frozen=True, slots=True)
class Injection:
    """A fault put into the history between ``start_ns`` and ``end_ns``.

    ``metric`` is one of ``error_rate``, ``skip_rate``, ``tool_failure`` (``magnitude`` = the
    new absolute rate), ``latency``, ``cost``, ``tokens``, ``volume`` (``magnitude`` = a
    multiplier). ``target`` is the agent name (the tool name for ``tool_failure``).
    """

    metric: str
    target: str
    start_ns: int
    end_ns: int
    magnitude: float

    def __post_init__(self) -> None:
        if self.metric not in INJECTABLE:
            raise ValueError(f"unknown injection metric {self.metric!r}")

    def active(self, t: int) -> bool:
        return self.start_ns <= t < self.end_ns


@dataclass(slots=True)
class _Ids:
    prefix: str
    n: int = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:09x}"


def _poisson(rnd: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rnd.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rnd.gauss(lam, math.sqrt(lam))))


def _diurnal(hour_of_day: int, amplitude: float) -> float:
    """1 ± amplitude, peaking at 15:00 UTC."""
    return 1.0 + amplitude * math.sin(2 * math.pi * (hour_of_day - 9) / 24)


def synthetic_history(
    *,
    end_ns: int,
    days: float = 14,
    seed: int = 0,
    agents: Sequence[AgentProfile] = DEFAULT_AGENTS,
    injections: Sequence[Injection] = (),
    scale: float = 1.0,
    project: str = "default",
    session_id: str = "synthetic",
    volume_amplitude: float = 0.5,
    latency_amplitude: float = 0.1,
    version: str | None = None,
) -> Iterator[list[Span]]:
    """Spans of ``days`` days of traffic ending at ``end_ns``, one batch per hour.

    Hours are aligned to the epoch; ``scale`` multiplies every agent's volume. The same
    arguments give the same records. ``version`` is put into agent span attributes
    (``attributes.version``) when given.
    """
    rnd = random.Random(seed)
    ids = _Ids(f"syn{seed:x}-")
    first_hour = (end_ns - int(days * 24 * HOUR_NS)) // HOUR_NS
    last_hour = (end_ns - 1) // HOUR_NS
    by_metric: dict[str, list[Injection]] = {}
    for inj in injections:
        by_metric.setdefault(inj.metric, []).append(inj)
    gauss, uniform, rand = rnd.gauss, rnd.uniform, rnd.random
    attributes: dict[str, object] = {"version": version} if version is not None else {}

    def magnitude(metric: str, target: str, t: int, default: float) -> float:
        for inj in by_metric.get(metric, ()):
            if inj.target == target and inj.active(t):
                return inj.magnitude
        return default

    for hour in range(first_hour, last_hour + 1):
        hour_start = hour * HOUR_NS
        hod = hour % 24
        vol_mult = _diurnal(hod, volume_amplitude)
        lat_mult = _diurnal(hod, latency_amplitude)
        batch: list[Span] = []
        add = batch.append
        for ag in agents:
            mid = hour_start + HOUR_NS // 2
            lam = ag.per_hour * vol_mult * scale * magnitude("volume", ag.name, mid, 1.0)
            for _ in range(_poisson(rnd, lam)):
                start = hour_start + int(rand() * HOUR_NS)
                if start >= end_ns or start < end_ns - int(days * 24 * HOUR_NS):
                    continue
                sid = ids.next()
                skip = magnitude("skip_rate", ag.name, start, ag.skip_rate)
                if rand() < skip:
                    dur = uniform(1.0, 6.0)
                    add(
                        Span(
                            sid,
                            sid,
                            None,
                            session_id,
                            project,
                            "agent",
                            ag.name,
                            "skipped",
                            start,
                            start + int(dur * MS_NS),
                            dur,
                            ag.name,
                            status_message="not relevant",
                            attributes=attributes,
                        )
                    )
                    continue
                err = magnitude("error_rate", ag.name, start, ag.error_rate)
                natural = ag.latency_ms * lat_mult * math.exp(gauss(0.0, ag.latency_sigma))
                # an injected slowdown is the agent's own: its LLM call keeps its pace
                dur = natural * magnitude("latency", ag.name, start, 1.0)
                failed = rand() < err
                status = ("timeout" if rand() < 0.2 else "failed") if failed else "success"
                add(
                    Span(
                        sid,
                        sid,
                        None,
                        session_id,
                        project,
                        "agent",
                        ag.name,
                        status,
                        start,
                        start + int(dur * MS_NS),
                        dur,
                        ag.name,
                        error_type="AgentError" if failed else None,
                        error_message="synthetic failure" if failed else None,
                        attributes=attributes,
                    )
                )
                # one LLM call inside the execution
                tok_mult = magnitude("tokens", ag.name, start, 1.0)
                tin = max(1, int(ag.tokens * tok_mult * math.exp(gauss(0.0, 0.3))))
                tout = max(1, int(tin * 0.3 * math.exp(gauss(0.0, 0.2))))
                pin, pout = _PRICES[ag.model]
                cost_mult = magnitude("cost", ag.name, start, 1.0)
                cin = tin / 1000 * pin * cost_mult
                cout = tout / 1000 * pout * cost_mult
                ldur = natural * 0.6
                lstart = start + int(dur * 0.1 * MS_NS)
                lid = ids.next()
                add(
                    Span(
                        lid,
                        sid,
                        sid,
                        session_id,
                        project,
                        "llm",
                        f"chat {ag.model}",
                        "success",
                        lstart,
                        lstart + int(ldur * MS_NS),
                        ldur,
                        ag.name,
                        provider=_PROVIDERS[ag.model],
                        model=ag.model,
                        input_tokens=tin,
                        output_tokens=tout,
                        total_tokens=tin + tout,
                        input_cost=cin,
                        output_cost=cout,
                        total_cost=cin + cout,
                        cost_source="synthetic",
                    )
                )
                if rand() < ag.tool_rate:
                    tfail = magnitude("tool_failure", ag.tool, start, ag.tool_failure)
                    tbad = rand() < tfail
                    tdur = 40.0 * math.exp(gauss(0.0, 0.5))
                    tstart = lstart + int(ldur * MS_NS)
                    tid = ids.next()
                    add(
                        Span(
                            tid,
                            sid,
                            sid,
                            session_id,
                            project,
                            "tool",
                            ag.tool,
                            "failed" if tbad else "success",
                            tstart,
                            tstart + int(tdur * MS_NS),
                            tdur,
                            ag.name,
                            error_type="ToolError" if tbad else None,
                        )
                    )
        if batch:
            yield batch


# -- ground truth -------------------------------------------------------------------------------

Finding = tuple[str, str, str]
"""(scope, target, metric) of an anomaly."""


def _profile(name: str, agents: Sequence[AgentProfile]) -> AgentProfile:
    for ag in agents:
        if ag.name == name:
            return ag
    raise KeyError(name)


def expected_findings(
    inj: Injection, agents: Sequence[AgentProfile] = DEFAULT_AGENTS
) -> tuple[set[Finding], set[Finding]]:
    """What a detector should report for an injection (``primary``) and what it may also
    report because the fault really shows there (``collateral``: a skip-rate jump lowers
    the LLM and tool volume of the agent's model and tool, more tokens cost more…)."""
    if inj.metric == "tool_failure":
        return {("tool", inj.target, "failure_rate")}, set()
    ag = _profile(inj.target, agents)
    a = inj.target
    # fewer or more calls from one agent change the volume of its model and tool, and the
    # mix of the model's calls (so its latency percentiles, cost and tokens per call)
    downstream_volume = {
        ("model", ag.model, "volume"),
        ("tool", ag.tool, "volume"),
        ("model", ag.model, "latency_p50"),
        ("model", ag.model, "latency_p95"),
        ("model", ag.model, "cost_per_call"),
        ("model", ag.model, "tokens_per_call"),
    }
    if inj.metric == "error_rate":
        return {("agent", a, "error_rate")}, set()
    if inj.metric == "skip_rate":
        return {("agent", a, "skip_rate")}, downstream_volume
    if inj.metric == "latency":
        return {("agent", a, "latency_p50"), ("agent", a, "latency_p95")}, set()
    if inj.metric == "cost":
        return {("agent", a, "cost_per_call")}, {("model", ag.model, "cost_per_call")}
    if inj.metric == "tokens":
        return (
            {("agent", a, "tokens_per_call")},
            {
                ("agent", a, "cost_per_call"),
                ("model", ag.model, "tokens_per_call"),
                ("model", ag.model, "cost_per_call"),
            },
        )
    # volume
    return {("agent", a, "volume")}, downstream_volume


def random_injections(
    seed: int,
    end_ns: int,
    *,
    count: int = 2,
    agents: Sequence[AgentProfile] = DEFAULT_AGENTS,
    subtle: bool = False,
    max_hours: float = 6.0,
) -> list[Injection]:
    """``count`` faults on distinct agents (and tools), each starting 2–6 hours before
    ``end_ns`` and lasting until it. ``subtle`` picks small magnitudes (the edge of what is
    detectable), otherwise clear ones."""
    rnd = random.Random(seed * 7919 + 13)
    out: list[Injection] = []
    used_agents: set[str] = set()
    used_tools: set[str] = set()
    kinds = ("error_rate", "skip_rate", "latency", "cost", "tokens", "tool_failure", "volume")
    while len(out) < count:
        kind = rnd.choice(kinds)
        ag = rnd.choice(list(agents))
        if ag.name in used_agents or (kind == "tool_failure" and ag.tool in used_tools):
            continue
        hours = rnd.uniform(2.0, max_hours - 0.1)
        start = end_ns - int(hours * HOUR_NS)
        if kind == "error_rate":
            mag = ag.error_rate + (rnd.uniform(0.06, 0.12) if subtle else rnd.uniform(0.15, 0.4))
        elif kind == "skip_rate":
            mag = min(
                0.95, ag.skip_rate + (rnd.uniform(0.12, 0.2) if subtle else rnd.uniform(0.3, 0.5))
            )
        elif kind == "tool_failure":
            mag = ag.tool_failure + (rnd.uniform(0.08, 0.15) if subtle else rnd.uniform(0.25, 0.5))
        elif kind == "volume":
            if rnd.random() < 0.5:
                mag = rnd.uniform(2.2, 2.8) if subtle else rnd.uniform(3.0, 6.0)
            else:
                mag = rnd.uniform(0.3, 0.4) if subtle else rnd.uniform(0.0, 0.15)
        else:  # latency, cost, tokens
            mag = rnd.uniform(1.4, 1.7) if subtle else rnd.uniform(1.8, 4.0)
        target = ag.tool if kind == "tool_failure" else ag.name
        out.append(Injection(kind, target, start, end_ns, mag))
        used_agents.add(ag.name)
        if kind == "tool_failure":
            used_tools.add(ag.tool)
    return out


@dataclass(frozen=True, slots=True)
class Score:
    """Detections matched against injections: true positives (reported anomalies explained
    by an injection), false positives, and the injections found / missed."""

    true_positives: int
    false_positives: int
    found: int
    missed: int
    false: tuple[Finding, ...] = ()
    missed_injections: tuple[Injection, ...] = ()


def score_findings(
    findings: Sequence[Finding],
    injections: Sequence[Injection],
    agents: Sequence[AgentProfile] = DEFAULT_AGENTS,
) -> Score:
    """Match detected (scope, target, metric) triples against the injections."""
    explained: set[Finding] = set()
    found = 0
    missed: list[Injection] = []
    reported = set(findings)
    for inj in injections:
        primary, collateral = expected_findings(inj, agents)
        explained |= primary | collateral
        if reported & primary:
            found += 1
        else:
            missed.append(inj)
    tp = sum(1 for f in findings if f in explained)
    false = tuple(f for f in findings if f not in explained)
    return Score(tp, len(false), found, len(missed), false, tuple(missed))
