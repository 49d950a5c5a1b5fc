"""Project-scoped analytics the server answers itself: error patterns and the causality chain
of an error (LLM cost over time is in :mod:`._rollup`). (Execution questions — why an
agent did not fire, stage timelines, failed, slow, call chains — come from
:class:`tracehound.analytics.ExecutionAnalytics`.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, select

from ..analysis._items import normalize_message, short_type
from ..model import EVENT_TYPES, SPAN_KINDS
from ..store._schema import events as E
from ..store._schema import spans as S
from ._query import lookup_scope

__all__ = ["INTERVALS", "causality", "error_patterns"]

_FAILED: Final = ("failed", "timeout")
_ERROR_LEVELS: Final = ("ERROR", "CRITICAL")
_SCAN: Final = 20_000
_TRACE_MAX: Final = 10_000
INTERVALS: Final = {"minute": 60, "hour": 3600, "day": 86_400, "week": 604_800}
_BONUS: Final = {"decision": 1.0, "state_change": 1.0, "action": 0.5, "alert": 1.0}


def _span_message(r: Mapping[Any, Any]) -> str:
    return str(r["error_message"] or r["status_message"] or r["name"] or "")


def error_patterns(
    engine: Engine,
    project: str,
    since: datetime,
    until: datetime,
    *,
    agent: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Failed spans and ERROR/CRITICAL events grouped by (error type, message with ids and
    numbers folded)."""
    sw = [
        S.c.project == project,
        S.c.kind.in_(SPAN_KINDS),
        S.c.status.in_(_FAILED),
        S.c.start_time >= since,
        S.c.start_time <= until,
    ]
    ew = [
        E.c.project == project,
        E.c.type.in_(EVENT_TYPES),
        E.c.level.in_(_ERROR_LEVELS),
        E.c.timestamp >= since,
        E.c.timestamp <= until,
    ]
    if agent is not None:
        sw.append(S.c.agent_name == agent)
        ew.append(E.c.agent_name == agent)
    span_q = (
        select(
            S.c.id,
            S.c.trace_id,
            S.c.parent_id,
            S.c.name,
            S.c.kind,
            S.c.agent_name,
            S.c.error_type,
            S.c.error_message,
            S.c.status_message,
            S.c.status,
            S.c.start_time.label("t"),
        )
        .where(*sw)
        .order_by(S.c.start_time.desc())
        .limit(_SCAN)
    )
    event_q = (
        select(
            E.c.id,
            E.c.trace_id,
            E.c.span_id,
            E.c.name,
            E.c.type,
            E.c.agent_name,
            E.c.message,
            E.c.data,
            E.c.timestamp.label("t"),
        )
        .where(*ew)
        .order_by(E.c.timestamp.desc())
        .limit(_SCAN)
    )
    with engine.connect() as conn:
        span_rows = list(conn.execute(span_q).mappings())
        event_rows = list(conn.execute(event_q).mappings())
    # An error event inside a failed span reports the same failure: count it once.
    failed_ids = {r["id"] for r in span_rows}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    by_type: Counter[str] = Counter()
    by_agent: Counter[str] = Counter()
    total = 0

    def add(kind: str, r: Mapping[Any, Any], etype: str, message: str, span_id: str | None) -> None:
        nonlocal total
        total += 1
        key = (etype, normalize_message(message))
        by_type[etype] += 1
        who = r["agent_name"] or "(no agent)"
        by_agent[who] += 1
        g = groups.get(key)
        t = r["t"]
        if g is None:
            groups[key] = {
                "error_type": etype,
                "message": key[1],
                "count": 1,
                "first_seen": t,
                "last_seen": t,
                "agents": {who},
                "example": {
                    "record": kind,
                    "id": r["id"],
                    "trace_id": r["trace_id"],
                    "span_id": span_id,
                    "message": message[:1000] or None,
                    "timestamp": t,
                },
            }
            return
        g["count"] += 1
        g["agents"].add(who)
        if t < g["first_seen"]:
            g["first_seen"] = t
        if t > g["last_seen"]:
            g["last_seen"] = t

    for r in span_rows:
        etype = short_type(r["error_type"]) or ("Timeout" if r["status"] == "timeout" else "failed")
        add("span", r, etype, _span_message(r), r["id"])
    for r in event_rows:
        if r["span_id"] in failed_ids:
            continue
        data = r["data"] or {}
        raw_type = data.get("error_type") if isinstance(data, dict) else None
        etype = short_type(raw_type) or short_type(r["name"]) or "error"
        add("event", r, etype, str(r["message"] or r["name"] or ""), r["span_id"])
    patterns = sorted(groups.values(), key=lambda g: (-g["count"], g["error_type"], g["message"]))
    for g in patterns:
        g["agents"] = sorted(g["agents"])
    return {
        "total_errors": total,
        "scanned": len(span_rows) + len(event_rows),
        "by_type": dict(by_type.most_common()),
        "by_agent": dict(by_agent.most_common()),
        "patterns": patterns[:limit],
    }


# -- causality ---------------------------------------------------------------------------------
def _span_item(r: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "record": "span",
        "id": r["id"],
        "trace_id": r["trace_id"],
        "parent_id": r["parent_id"],
        "timestamp": r["start_time"],
        "kind": r["kind"],
        "name": r["name"],
        "agent_name": r["agent_name"],
        "status": r["status"],
        "error_type": r["error_type"],
        "message": (r["error_message"] or r["status_message"]),
        "_end": r["end_time"] or r["start_time"],
    }


def _event_item(r: Mapping[Any, Any]) -> dict[str, Any]:
    data = r["data"] if isinstance(r["data"], dict) else {}
    raw_type = data.get("error_type")
    return {
        "record": "event",
        "id": r["id"],
        "trace_id": r["trace_id"],
        "parent_id": r["span_id"],
        "timestamp": r["timestamp"],
        "kind": r["type"],
        "name": r["name"],
        "agent_name": r["agent_name"],
        "status": r["level"],
        "error_type": raw_type if isinstance(raw_type, str) else None,
        "message": r["message"],
        "_end": r["timestamp"],
    }


def _is_error(it: Mapping[Any, Any]) -> bool:
    return it["status"] in _FAILED or it["status"] in _ERROR_LEVELS


def causality(
    engine: Engine,
    project: str,
    record_id: str,
    *,
    lookback_seconds: float = 300.0,
    limit: int = 15,
) -> dict[str, Any] | None:
    """The records that plausibly led to an error (a span or an event of the project):
    its enclosing spans, and the earlier records of its trace and of its agent within
    ``lookback_seconds``, ranked. ``None`` when the record is not in the project."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        row = (
            conn.execute(select(S).where(lookup_scope(S, project, dialect), S.c.id == record_id))
            .mappings()
            .first()
        )
        if row is not None:
            target = _span_item(row)
        else:
            ev = (
                conn.execute(
                    select(E).where(lookup_scope(E, project, dialect), E.c.id == record_id)
                )
                .mappings()
                .first()
            )
            if ev is None:
                return None
            target = _event_item(ev)
        t: datetime = target["_end"]
        start = t - timedelta(seconds=lookback_seconds)
        trace_items: list[dict[str, Any]] = []
        if target["trace_id"] is not None:
            trace_items += [
                _span_item(r)
                for r in conn.execute(
                    select(S)
                    .where(lookup_scope(S, project, dialect), S.c.trace_id == target["trace_id"])
                    .order_by(S.c.start_time)
                    .limit(_TRACE_MAX)
                ).mappings()
            ]
            trace_items += [
                _event_item(r)
                for r in conn.execute(
                    select(E)
                    .where(lookup_scope(E, project, dialect), E.c.trace_id == target["trace_id"])
                    .order_by(E.c.timestamp)
                    .limit(_TRACE_MAX)
                ).mappings()
            ]
        agent_items: list[dict[str, Any]] = []
        agent = target["agent_name"]
        if agent is not None:
            agent_items += [
                _span_item(r)
                for r in conn.execute(
                    select(S)
                    .where(
                        S.c.project == project,
                        S.c.agent_name == agent,
                        S.c.start_time >= start,
                        S.c.start_time <= t,
                        S.c.status.in_(_FAILED),
                    )
                    .order_by(S.c.start_time.desc())
                    .limit(200)
                ).mappings()
            ]
            agent_items += [
                _event_item(r)
                for r in conn.execute(
                    select(E)
                    .where(
                        E.c.project == project,
                        E.c.agent_name == agent,
                        E.c.timestamp >= start,
                        E.c.timestamp <= t,
                        E.c.level.in_(("WARNING", "ERROR", "CRITICAL")),
                    )
                    .order_by(E.c.timestamp.desc())
                    .limit(200)
                ).mappings()
            ]
    spans_by_id = {it["id"]: it for it in trace_items if it["record"] == "span"}
    ancestors: list[dict[str, Any]] = []
    seen: set[str] = set()
    node = target["parent_id"]
    while node is not None and node in spans_by_id and node not in seen:
        seen.add(node)
        ancestors.append(spans_by_id[node])
        node = spans_by_id[node]["parent_id"]
    ancestors.reverse()
    ancestor_ids = {a["id"] for a in ancestors}
    target_type = short_type(target["error_type"])
    window = max(lookback_seconds, 1e-9)
    candidates: dict[str, dict[str, Any]] = {}
    for it in trace_items + agent_items:
        if it["id"] == target["id"] or it["id"] in candidates:
            continue
        when = it["timestamp"]
        if when > t or when < start:
            continue
        reasons: list[str] = []
        score = 0.0
        same_trace = it["trace_id"] is not None and it["trace_id"] == target["trace_id"]
        if same_trace:
            score += 2.0
            reasons.append("same trace")
        if it["id"] in ancestor_ids:
            score += 1.0
            reasons.append(f"encloses it ({it['kind']} {it['name']})")
        if agent is not None and it["agent_name"] == agent:
            score += 1.5
            reasons.append(f"same agent ({agent})")
        if _is_error(it) and it["id"] not in ancestor_ids:
            score += 3.0
            reasons.append("failed earlier" if it["record"] == "span" else "earlier error")
            if target_type is not None and short_type(it["error_type"]) == target_type:
                score += 1.5
                reasons.append(f"same error type ({target_type})")
        elif it["status"] == "WARNING":
            score += 2.0
            reasons.append("warning")
        bonus = _BONUS.get(it["kind"], 0.0) if it["record"] == "event" else 0.0
        if bonus:
            score += bonus
            reasons.append(str(it["kind"]).replace("_", " "))
        before = (t - when).total_seconds()
        score += max(0.0, 1.0 - before / window)
        reasons.append(f"{before:.3f}s before")
        it = dict(it)
        it["score"] = round(score, 3)
        it["reasons"] = reasons
        it["seconds_before"] = round(before, 6)
        candidates[it["id"]] = it
    causes = sorted(candidates.values(), key=lambda c: (-c["score"], c["seconds_before"], c["id"]))
    causes = causes[:limit]

    def clean(it: dict[str, Any], score: float = 0.0) -> dict[str, Any]:
        out = {k: v for k, v in it.items() if not k.startswith("_")}
        out.setdefault("score", score)
        out.setdefault("reasons", [])
        out.setdefault("seconds_before", round((t - it["timestamp"]).total_seconds(), 6))
        return out

    return {
        "target": clean(target),
        "ancestors": [clean(a) for a in ancestors],
        "causes": [clean(c) for c in causes],
    }
