"""Seed 000's ``LogAnalyzer``: agent activity, learning progress, error patterns, interactions,
journeys, errors and causality chains over one session, from the files or the database."""

from __future__ import annotations

import heapq
import math
import os
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

import orjson

from ..exceptions import ValidationError
from ..model import Event, Metric, Record, Span
from ._items import ERROR_LEVELS, FAILED, error_signature, iso, item, normalize_message, short_type
from ._source import Progress, RecordSource, open_source
from ._summary import AgentStats, Series, Summary, summarize

__all__ = ["LogAnalyzer"]

_NS: Final = 1_000_000_000
_WINDOWS: Final = 10
_TYPE_BONUS: Final = {
    "state_change": 1.0,
    "decision": 1.0,
    "action": 0.5,
    "learning.update": 0.5,
    "content": 0.5,
    "system": 0.5,
    "milestone": 0.5,
    "alert": 1.0,
}


def _r(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _top(counter: Counter[str], n: int | None = None) -> dict[str, int]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(items[:n] if n is not None else items)


def _most(counter: Counter[str]) -> str | None:
    if not counter:
        return None
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _check_agent(agent_id: Any) -> str:
    if not isinstance(agent_id, str) or not agent_id:
        raise ValidationError(
            f"agent_id: expected a non-empty string, got {type(agent_id).__name__}",
            field="agent_id",
        )
    return agent_id


def _trend(values: list[float], *, tolerance: float = 0.05) -> dict[str, Any]:
    n = len(values)
    if n < 4:
        return {"direction": "insufficient data", "samples": n}
    half = n // 2
    first = math.fsum(values[:half]) / half
    second = math.fsum(values[half:]) / (n - half)
    xs = range(n)
    mx = (n - 1) / 2
    my = math.fsum(values) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True))
    slope = sxy / sxx if sxx else 0.0
    scale = max(abs(first), abs(second), 1e-12)
    change = (second - first) / scale
    if change > tolerance:
        direction = "increasing"
    elif change < -tolerance:
        direction = "decreasing"
    else:
        direction = "flat"
    return {
        "direction": direction,
        "first_half_mean": _r(first),
        "second_half_mean": _r(second),
        "relative_change": _r(change),
        "slope": _r(slope, 9),
        "samples": n,
    }


def _windows(points: list[tuple[int, float]], how: str) -> list[dict[str, Any]]:
    """Up to 10 equal time windows over ``points``: mean (``how="mean"``) or rate of 1s."""
    if not points:
        return []
    start, end = points[0][0], points[-1][0]
    width = max((end - start) // _WINDOWS + 1, 1)
    buckets: dict[int, list[float]] = {}
    for ts, value in points:
        buckets.setdefault((ts - start) // width, []).append(value)
    out = []
    for idx in sorted(buckets):
        vals = buckets[idx]
        row: dict[str, Any] = {"start": iso(start + idx * width), "count": len(vals)}
        if how == "mean":
            row["mean"] = _r(math.fsum(vals) / len(vals))
        else:
            explored = sum(1 for v in vals if v)
            row["explore"] = explored
            row["exploit"] = len(vals) - explored
            row["rate"] = _r(explored / len(vals))
        out.append(row)
    return out


def _convergence(values: list[float], window: int = 20, tolerance: float = 0.01) -> dict[str, Any]:
    w = min(window, len(values) // 2)
    if w < 2:
        return {"converged": False, "samples": len(values), "reason": "not enough samples"}
    previous = math.fsum(values[-2 * w : -w]) / w
    recent = math.fsum(values[-w:]) / w
    scale = max(abs(previous), abs(recent), 1e-12)
    change = abs(recent - previous) / scale
    return {
        "converged": change <= tolerance,
        "relative_change": _r(change),
        "recent_mean": _r(recent),
        "previous_mean": _r(previous),
        "window": w,
        "samples": len(values),
    }


class _Context(NamedTuple):
    err_id: str
    t: int
    lookback: float
    trace_id: str | None
    keys: set[str]
    agent: str | None
    partners: dict[str, Counter[str]]
    target_type: str | None


def _time_of(rec: Record) -> int:
    return rec.start_time if type(rec) is Span else rec.timestamp  # type: ignore[union-attr]


def _score(
    rec: Record, ctx: _Context, *, encloses: bool, explain: bool
) -> tuple[float, list[str] | None] | None:
    """How plausibly ``rec`` led to the error (``None``: not a candidate), with the reasons
    when ``explain``. Read straight from the record, so a busy window costs little."""
    ts = _time_of(rec)
    if ts > ctx.t:
        return None
    is_span = type(rec) is Span
    if is_span:
        sp: Span = rec  # type: ignore[assignment]
        failed = sp.status in FAILED
        level = "ERROR" if failed else "INFO"
        rtype = "span"
        etype = sp.error_type
        who = sp.agent_name or sp.agent_id
        label = f"{sp.kind} {sp.name}"
    else:
        ev: Event = rec  # type: ignore[assignment]
        level = ev.level
        failed = level in ERROR_LEVELS
        rtype = ev.type
        raw = ev.data.get("error_type") if ev.data else None
        etype = raw if isinstance(raw, str) else None
        who = ev.agent_name or ev.agent_id
        label = ev.name
    reasons: list[str] | None = [] if explain else None
    score = 0.0
    related = False
    if ctx.trace_id is not None and rec.trace_id == ctx.trace_id:
        score += 2.0
        related = True
        if reasons is not None:
            reasons.append("same trace")
    if encloses:
        score += 1.0
        related = True
        if reasons is not None:
            reasons.append(f"encloses the error ({label})")
    if who is not None and who in ctx.keys:
        score += 1.5
        related = True
        if reasons is not None:
            reasons.append(f"same agent ({who})")
    elif who is not None and who in ctx.partners:
        score += 1.0
        related = True
        if reasons is not None:
            types = ", ".join(sorted(ctx.partners[who])) or "interaction"
            reasons.append(f"{who} interacted with {ctx.agent} ({types})")
    if failed and not encloses:
        score += 3.0
        same_trace = ctx.trace_id is not None and rec.trace_id == ctx.trace_id
        if reasons is not None:
            if is_span:
                reasons.append("failed step in the same trace" if same_trace else "failed span")
            else:
                reasons.append("earlier error")
        if ctx.target_type is not None and short_type(etype) == ctx.target_type:
            score += 1.5
            if reasons is not None:
                reasons.append(
                    f"{ctx.target_type} raised here"
                    if same_trace
                    else f"same error type ({ctx.target_type})"
                )
    elif level == "WARNING":
        score += 2.0
        if reasons is not None:
            reasons.append("warning")
    if not related:
        if who is None and level in ("WARNING", "ERROR", "CRITICAL"):
            if reasons is not None:
                reasons.append("system-wide")
        else:
            return None
    bonus = _TYPE_BONUS.get(rtype, 0.0)
    what = rtype.replace("_", " ")
    if rtype == "log" and not failed and level != "WARNING":
        bonus = 0.25
    elif is_span and sp.kind in ("llm", "tool") and not failed:
        bonus = 1.0  # what a model or a tool returned is a common cause of what follows
        what = f"{'LLM' if sp.kind == 'llm' else 'tool'} call"
    if bonus:
        score += bonus
        if reasons is not None:
            reasons.append(what)
    before = (ctx.t - ts) / _NS
    score += max(0.0, 1.0 - before / ctx.lookback)
    if reasons is not None:
        reasons.append(f"{before:.3f}s before the error")
    return score, reasons


class LogAnalyzer:
    """Analysis of one session.

    ``LogAnalyzer()`` reads the current session (the running tracehound's, flushed first; else
    the latest one under the ``trace_dir`` setting). ``LogAnalyzer("trace/session_X")``,
    ``LogAnalyzer("path/to/trace")`` (a copied ``trace/`` directory), ``LogAnalyzer(
    store="trace/tracehound.db")`` or ``LogAnalyzer("sqlite:///…", session_id="…")`` read other
    ones. The files and the database give the same answers.

    The first question runs one streaming pass over the session (``progress(done, total)`` is
    called while it runs) and keeps only aggregates; :meth:`trace_agent_journey` and
    :meth:`find_causality_chain` stream again, keeping only what they return.
    """

    def __init__(
        self,
        session: str | os.PathLike[str] | None = None,
        *,
        trace_dir: str | os.PathLike[str] | None = None,
        store: str | os.PathLike[str] | None = None,
        session_id: str | None = None,
        progress: Progress | None = None,
        source: RecordSource | None = None,
    ) -> None:
        if progress is not None and not callable(progress):
            raise ValidationError(
                "progress: expected a callable progress(done, total)", field="progress"
            )
        self.source: RecordSource = (
            source
            if source is not None
            else open_source(session, trace_dir=trace_dir, store=store, session_id=session_id)
        )
        self.progress = progress
        self._summary: Summary | None = None
        self.elapsed_s: float | None = None

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        sid = self.source.session_id
        if sid is None and self._summary is not None and self._summary.sessions:
            return _most(self._summary.sessions)
        return sid

    def summary(self) -> Summary:
        """The aggregates (one pass over the session, run on first use)."""
        if self._summary is None:
            t0 = time.perf_counter()
            self._summary = summarize(self.source.records(self.progress))
            self.elapsed_s = time.perf_counter() - t0
        return self._summary

    def refresh(self) -> None:
        """Forget the aggregates (the next question reads the session again)."""
        self._summary = None

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> LogAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stats(self, agent_id: str) -> tuple[list[str], AgentStats | None]:
        s = self.summary()
        keys = s.keys_for(agent_id)
        if not keys:
            return [], None
        if len(keys) == 1:
            return keys, s.agents[keys[0]]
        merged = AgentStats()
        for key in keys:
            a = s.agents[key]
            for name in (
                "events",
                "spans",
                "metrics",
                "state_changes",
                "learning_updates",
                "interactions",
                "warnings",
                "steps",
                "policy_updates",
            ):
                setattr(merged, name, getattr(merged, name) + getattr(a, name))
            for name in (
                "event_types",
                "levels",
                "action_counts",
                "decision_types",
                "content_types",
                "roles",
                "ids",
                "span_kinds",
                "action_status",
                "run_status",
                "learning_types",
            ):
                getattr(merged, name).update(getattr(a, name))
            for ts in (a.first, a.last):
                if ts is not None:
                    merged.seen(ts)
            for name in ("last_action", "last_content", "cumulative", "epsilon"):
                cur, new = getattr(merged, name), getattr(a, name)
                if new is not None and (cur is None or new[:2] > cur[:2]):
                    setattr(merged, name, new)
            if a.last_step is not None and (
                merged.last_step is None or a.last_step > merged.last_step
            ):
                merged.last_step = a.last_step
            for src, dst in ((a.rewards, merged.rewards), (a.explore, merged.explore)):
                dst.ts.extend(src.ts)
                dst.values.extend(src.values)
            for metric, series in a.metric_series.items():
                target = merged.metric_series.setdefault(metric, Series())
                target.ts.extend(series.ts)
                target.values.extend(series.values)
            merged.convergence.extend(a.convergence)
        return keys, merged

    # -- overview ------------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        """Session, source, time span, record counts, agents, errors."""
        s = self.summary()
        first, last = s.first, s.last
        return {
            "session_id": self.session_id,
            "source": self.source.kind,
            "location": self.source.location,
            "records": s.records,
            "spans": s.by_record.get("span", 0),
            "events": s.by_record.get("event", 0),
            "metrics": s.by_record.get("metric", 0),
            "traces": s.root_spans,
            "first": iso(first) if first is not None else None,
            "last": iso(last) if last is not None else None,
            "duration_s": _r((last - first) / _NS, 3)
            if first is not None and last is not None
            else 0.0,
            "agents": sorted(s.agents),
            "errors": len(s.errors),
            "event_types": _top(s.event_types),
            "levels": _top(s.levels),
            "span_kinds": _top(s.span_kinds),
            "span_statuses": _top(s.span_statuses),
        }

    def agents(self) -> list[str]:
        """The agents seen in the session."""
        return sorted(self.summary().agents)

    # -- the seed's questions ------------------------------------------------------------------
    def analyze_agent_activity(self, agent_id: str) -> dict[str, Any]:
        """``total_logs``, ``action_counts``, ``decisions``, ``errors`` and more for one agent
        (``found: False`` with zeros for an agent the session does not have)."""
        agent_id = _check_agent(agent_id)
        keys, a = self._stats(agent_id)
        errors = [e for e in self.summary().errors if e.get("agent") in keys] if keys else []
        if a is None:
            a = AgentStats()
        actions: dict[str, dict[str, int]] = {}
        for (name, status), n in sorted(a.action_status.items()):
            actions.setdefault(name, {})[status] = n
        error_messages = Counter(normalize_message(str(e.get("message") or "")) for e in errors)
        error_types = Counter(short_type(e.get("error_type")) or str(e.get("type")) for e in errors)
        return {
            "agent_id": agent_id,
            "found": bool(keys),
            "agent_keys": keys,
            "agent_role": _most(a.roles),
            "total_logs": a.events + a.spans,
            "events": a.events,
            "spans": a.spans,
            "metrics": a.metrics,
            "action_counts": _top(a.action_counts),
            "actions_by_status": actions,
            "decisions": sum(a.decision_types.values()),
            "decision_types": _top(a.decision_types),
            "errors": len(errors),
            "warnings": a.warnings,
            "error_messages": sorted(error_messages.items(), key=lambda kv: (-kv[1], kv[0]))[:5],
            "error_types": _top(error_types),
            "runs": _top(a.run_status),
            "state_changes": a.state_changes,
            "content_generated": sum(a.content_types.values()),
            "content_types": _top(a.content_types),
            "learning_updates": a.learning_updates,
            "interactions": a.interactions,
            "levels": _top(a.levels),
            "event_types": _top(a.event_types),
            "span_kinds": _top(a.span_kinds),
            "first_seen": iso(a.first) if a.first is not None else None,
            "last_seen": iso(a.last) if a.last is not None else None,
            "last_action": (
                {"timestamp": iso(a.last_action[0]), "action_type": a.last_action[2]}
                if a.last_action
                else None
            ),
            "last_content": (
                {"timestamp": iso(a.last_content[0]), "content_type": a.last_content[2]}
                if a.last_content
                else None
            ),
            "last_error": errors[-1] if errors else None,
        }

    def analyze_learning_progress(self, agent_id: str) -> dict[str, Any]:
        """``total_training_steps``, ``total_rewards`` (their sum), reward trend, exploration
        rate over time, training metric trends and convergence for one agent."""
        agent_id = _check_agent(agent_id)
        keys, a = self._stats(agent_id)
        if a is None:
            a = AgentStats()
        rewards = a.rewards.sorted()
        values = [v for _, v in rewards]
        explore = a.explore.sorted()
        explored = sum(1 for _, v in explore if v)
        metrics: dict[str, Any] = {}
        convergence: dict[str, Any] = {}
        for name in sorted(a.metric_series):
            points = a.metric_series[name].sorted()
            vals = [v for _, v in points]
            metrics[name] = {
                "count": len(vals),
                "first": _r(vals[0]),
                "last": _r(vals[-1]),
                "min": _r(min(vals)),
                "max": _r(max(vals)),
                "trend": _trend(vals, tolerance=0.01)["direction"],
            }
            convergence[name] = _convergence(vals)
        signals = sorted(a.convergence, key=lambda c: (c["timestamp_ns"], c["id"]))
        return {
            "agent_id": agent_id,
            "found": bool(keys),
            "learning_types": _top(a.learning_types),
            "total_training_steps": a.steps,
            "last_step": a.last_step,
            "total_rewards": _r(math.fsum(values)) if values else 0.0,
            "reward_count": len(values),
            "average_reward": _r(math.fsum(values) / len(values)) if values else None,
            "cumulative_reward": _r(a.cumulative[2]) if a.cumulative else None,
            "reward_trend": _trend(values),
            "rewards_over_time": _windows(rewards, "mean"),
            "exploration_count": explored,
            "exploitation_count": len(explore) - explored,
            "exploration_rate": _r(explored / len(explore)) if explore else None,
            "exploration_over_time": _windows(explore, "rate"),
            "latest_epsilon": _r(a.epsilon[2]) if a.epsilon else None,
            "metrics": metrics,
            "convergence": {
                "metrics": convergence,
                "converged_metrics": sorted(
                    k for k, v in convergence.items() if v.get("converged")
                ),
                "signals": [
                    {k: (iso(v) if k == "timestamp_ns" else v) for k, v in c.items() if k != "id"}
                    for c in signals
                ],
            },
            "learning_updates": a.learning_updates,
            "policy_updates": a.policy_updates,
        }

    def get_errors(self, agent_id: str | None = None) -> list[dict[str, Any]]:
        """Every error of the session (ERROR/CRITICAL records; a failed span counts unless an
        error record already reports the same failure), oldest first."""
        errors = self.summary().errors
        if agent_id is None:
            return list(errors)
        keys = set(self.summary().keys_for(_check_agent(agent_id)))
        return [e for e in errors if e.get("agent") in keys]

    def find_error_patterns(self) -> dict[str, Any]:
        """``total_errors``, ``most_common_messages`` (ids and numbers folded), ``by_type``,
        ``by_agent``, ``by_level``, ``by_time`` (per minute) and more."""
        errors = self.summary().errors
        messages: Counter[str] = Counter()
        by_type: Counter[str] = Counter()
        by_agent: Counter[str] = Counter()
        by_level: Counter[str] = Counter()
        by_logger: Counter[str] = Counter()
        by_minute: Counter[int] = Counter()
        for e in errors:
            messages[normalize_message(str(e.get("message") or ""))] += 1
            by_type[str(e.get("error_type") or e.get("type") or "error")] += 1
            by_agent[str(e.get("agent") or "(no agent)")] += 1
            by_level[str(e.get("level"))] += 1
            if e.get("logger"):
                by_logger[str(e["logger"])] += 1
            by_minute[e["timestamp_ns"] // (60 * _NS)] += 1
        s = self.summary()
        minutes = max(((s.last or 0) - (s.first or 0)) / (60 * _NS), 1 / 60) if errors else 1.0
        peak = max(by_minute.items(), key=lambda kv: (kv[1], -kv[0])) if by_minute else None
        return {
            "total_errors": len(errors),
            "most_common_messages": sorted(messages.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
            "by_type": _top(by_type),
            "by_agent": _top(by_agent),
            "by_level": _top(by_level),
            "by_logger": _top(by_logger),
            "by_time": [
                {"minute": iso(m * 60 * _NS), "count": n} for m, n in sorted(by_minute.items())
            ],
            "peak_minute": {"minute": iso(peak[0] * 60 * _NS), "count": peak[1]} if peak else None,
            "error_rate_per_minute": _r(len(errors) / minutes, 3) if errors else 0.0,
            "first_error": errors[0]["timestamp"] if errors else None,
            "last_error": errors[-1]["timestamp"] if errors else None,
            "recurring": [
                m for m, n in sorted(messages.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 3
            ][:10],
        }

    def analyze_interactions(self) -> dict[str, Any]:
        """``total_interactions``, types, ``top_viral_content`` (by reach, reshares, shares),
        ``cascades``, social connections, collaborations and the most interacting pairs."""
        s = self.summary()
        content: list[dict[str, Any]] = []
        for cid, c in s.content.items():
            content.append(
                {
                    "content_id": cid,
                    "owner": _most(c.owners),
                    "interactions": c.interactions,
                    "likes": c.likes,
                    "shares": c.shares,
                    "comments": c.comments,
                    "reshares": c.reshares,
                    "reach": c.reach,
                    "max_depth": c.max_depth,
                }
            )
        content.sort(
            key=lambda r: (
                -r["reach"],
                -(r["reshares"] + r["shares"]),
                -r["interactions"],
                r["content_id"],
            )
        )
        cascades: list[dict[str, Any]] = [
            {
                "content_id": cid,
                "origin_agent": _most(c.owners),
                "depth": c.max_depth,
                "reach": c.reach,
                "reshares": c.reshares,
                "resharers": len(c.resharers),
            }
            for cid, c in s.content.items()
            if c.reshares
        ]
        cascades.sort(key=lambda r: (-r["reach"], -r["depth"], r["content_id"]))
        pairs = sorted(s.pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        return {
            "total_interactions": s.interactions,
            "by_type": _top(s.interaction_types),
            "by_kind": _top(s.interaction_kinds),
            "top_viral_content": content[:10],
            "cascades": cascades[:20],
            "total_cascades": len(cascades),
            "social_connections": s.interaction_kinds.get("social_connection", 0),
            "collaborations": s.interaction_kinds.get("collaboration", 0),
            "most_active_agents": sorted(s.active.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
            "interacting_pairs": [
                {"agents": list(pair), "count": n, "types": _top(s.pair_types.get(pair, Counter()))}
                for pair, n in pairs
            ],
        }

    def analyze_performance(self) -> dict[str, Any]:
        """Measured operations (spans of kind ``operation``) by total time, and metrics."""
        s = self.summary()
        ops: list[dict[str, Any]] = [
            {
                "operation": name,
                "count": int(v[0]),
                "total_ms": _r(v[1], 3),
                "mean_ms": _r(v[1] / v[0], 3) if v[0] else 0.0,
                "min_ms": _r(v[4], 3),
                "max_ms": _r(v[2], 3),
                "errors": int(v[3]),
            }
            for name, v in s.operations.items()
        ]
        ops.sort(key=lambda r: (-(r["total_ms"] or 0.0), r["operation"]))
        metrics = {
            name: {
                "count": v[0],
                "mean": _r(v[1] / v[0]) if v[0] else None,
                "min": _r(v[2]),
                "max": _r(v[3]),
                "unit": v[4],
            }
            for name, v in sorted(s.metrics.items())
        }
        return {"operations": ops, "bottlenecks": ops[:5], "metrics": metrics}

    def trace_agent_journey(
        self, agent_id: str, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every event and span of an agent in time order (``timestamp``, ``message``, ``type``,
        ``level``, ``data``…); with ``limit``, the last ``limit`` of them."""
        agent_id = _check_agent(agent_id)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValidationError("limit: expected a non-negative integer", field="limit")
        keys = set(self.summary().keys_for(agent_id)) | {agent_id}
        found: list[dict[str, Any]] = []
        agents = self.summary().agents
        for key in sorted(keys):
            ids = sorted(agents[key].ids) if key in agents else []
            for rec in self.source.agent_records(key, ids):
                if type(rec) is Event or type(rec) is Span:
                    found.append(item(rec))
        unique = {e["id"]: e for e in found}
        out = sorted(unique.values(), key=lambda e: (e["timestamp_ns"], e["id"]))
        return out[-limit:] if limit else out

    # -- causality -----------------------------------------------------------------------------
    def _resolve_error(self, error: Any) -> dict[str, Any]:
        if isinstance(error, Mapping):
            if not isinstance(error.get("timestamp_ns"), int):
                if isinstance(error.get("id"), str):
                    return self._resolve_error(error["id"])
                raise ValidationError(
                    "error: a mapping needs 'timestamp_ns' (use get_errors())", field="error"
                )
            return dict(error)
        if isinstance(error, Event | Span):
            return item(error)
        if isinstance(error, str):
            for e in self.summary().errors:
                if e["id"] == error:
                    return e
            raise ValidationError(
                f"error: no error with id {error!r} in this session", field="error"
            )
        raise ValidationError(
            f"error: expected an error from get_errors(), an id or a record, got {type(error).__name__}",
            field="error",
        )

    def interacting_agents(self, agent: str) -> dict[str, Counter[str]]:
        """Agents that interacted with ``agent`` → the interaction types between them."""
        s = self.summary()
        out: dict[str, Counter[str]] = {}
        for (a, b), _n in s.pairs.items():
            if a == agent or b == agent:
                other = b if a == agent else a
                out[other] = s.pair_types.get((a, b), Counter())
        return out

    def find_causality_chain(
        self, error: Any, lookback_seconds: float = 60, *, limit: int = 15
    ) -> list[dict[str, Any]]:
        """The records that plausibly led to ``error`` within ``lookback_seconds`` before it,
        ranked (``rank``, ``score``) with the ``reasons`` each was chosen: same trace, span
        enclosing the error, same agent, an agent that interacted with it, earlier errors and
        warnings, state changes and decisions, closeness in time. System-wide warnings (no
        agent) are candidates too."""
        if (
            isinstance(lookback_seconds, bool)
            or not isinstance(lookback_seconds, int | float)
            or lookback_seconds <= 0
        ):
            raise ValidationError(
                "lookback_seconds: expected a positive number", field="lookback_seconds"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValidationError("limit: expected a positive integer", field="limit")
        err = self._resolve_error(error)
        t = int(err["timestamp_ns"])
        start = t - int(lookback_seconds * _NS)
        agent = err.get("agent")
        keys = set(self.summary().keys_for(agent)) | {agent} if isinstance(agent, str) else set()
        partners: dict[str, Counter[str]] = {}
        for key in keys:
            partners.update(self.interacting_agents(key))
        ctx = _Context(
            err_id=err["id"],
            t=t,
            lookback=float(lookback_seconds),
            trace_id=err.get("trace_id"),
            keys=keys,
            agent=agent if isinstance(agent, str) else None,
            partners=partners,
            target_type=error_signature(err)[0],
        )
        # Stream the window once: every record of the error's trace is kept (a trace is
        # small); of the rest only the best-scored few, so a busy window costs no memory.
        same: list[Record] = []
        spans: dict[str, Span] = {}
        heap: list[tuple[float, int, str, Record]] = []
        room = max(limit * 4, 20)
        for rec in self.source.window(start, t):
            rt = type(rec)
            if rt is Metric or rec.id == ctx.err_id:
                continue
            if ctx.trace_id is not None and rec.trace_id == ctx.trace_id:
                same.append(rec)
                if rt is Span:
                    spans[rec.id] = rec  # type: ignore[assignment]
                continue
            scored = _score(rec, ctx, encloses=False, explain=False)
            if scored is None:
                continue
            entry = (scored[0], _time_of(rec), rec.id, rec)
            if len(heap) < room:
                heapq.heappush(heap, entry)
            elif entry[:3] > heap[0][:3]:
                heapq.heapreplace(heap, entry)
        ancestors: set[str] = set()
        node = err.get("span_id") if err.get("record") == "event" else err.get("parent_id")
        while isinstance(node, str) and node not in ancestors:
            ancestors.add(node)
            parent = spans.get(node)
            node = parent.parent_id if parent is not None else None
        out: list[dict[str, Any]] = []
        for rec in same + [h[3] for h in heap]:
            scored = _score(
                rec, ctx, encloses=type(rec) is Span and rec.id in ancestors, explain=True
            )
            if scored is None:
                continue
            it = item(rec)
            score, reasons = scored
            it["score"] = round(score, 3)
            it["reasons"] = reasons
            it["reason"] = "; ".join(reasons or ())
            it["seconds_before"] = round((t - it["timestamp_ns"]) / _NS, 6)
            out.append(it)
        # one failure reported by several records (a failed tool span, its failed parent
        # stage, the error event) is one candidate: the best-scored (innermost on ties)
        best: dict[tuple[Any, ...], dict[str, Any]] = {}
        rest: list[dict[str, Any]] = []
        for c in out:
            if c.get("error_type") is None and c.get("error_message") is None:
                rest.append(c)
                continue
            group = (c.get("trace_id"), *error_signature(c))
            cur = best.get(group)
            if cur is None or (c["score"], c["timestamp_ns"], c["id"]) > (
                cur["score"],
                cur["timestamp_ns"],
                cur["id"],
            ):
                best[group] = c
        out = rest + list(best.values())
        out.sort(key=lambda c: (-c["score"], c["seconds_before"], c["id"]))
        out = out[:limit]
        for rank, c in enumerate(out, 1):
            c["rank"] = rank
        return out

    # -- export --------------------------------------------------------------------------------
    def export_analysis(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole analysis as JSON to ``path`` (directories created); returns it."""
        if not isinstance(path, str | os.PathLike):
            raise ValidationError(f"path: expected a path, got {type(path).__name__}", field="path")
        target = Path(path)
        report = self.as_dict()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
        )
        return target

    def as_dict(self, *, errors: int = 50) -> dict[str, Any]:
        """Everything :meth:`export_analysis` writes."""
        s = self.summary()
        agents = self.agents()
        learning = {
            a: self.analyze_learning_progress(a)
            for a in agents
            if s.agents[a].steps
            or len(s.agents[a].rewards)
            or len(s.agents[a].explore)
            or s.agents[a].learning_updates
        }
        recent = self.get_errors()[-errors:]
        causes = self.find_causality_chain(recent[-1]) if recent else []
        return {
            "generated_at": iso(time.time_ns()),
            "overview": self.overview(),
            "agents": {a: self.analyze_agent_activity(a) for a in agents},
            "learning": learning,
            "errors": self.find_error_patterns(),
            "recent_errors": recent,
            "last_error_causes": causes,
            "interactions": self.analyze_interactions(),
            "performance": self.analyze_performance(),
        }
