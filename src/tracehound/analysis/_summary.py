"""One streaming pass over a session: every aggregate the analyzer answers from.

Per record the pass does a few dictionary and counter updates; it keeps per agent only
counters and compact numeric series (``array``), and full dictionaries only for errors. Its
results do not depend on the order records arrive in (files and database deliver them in
different orders): series are sorted at the end, ties are broken by id, floats are rounded.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from ..model import Event, Metric, Record, Span
from ._items import ERROR_LEVELS, FAILED, agent_key, error_signature, item

__all__ = ["AgentStats", "Summary", "summarize"]

_MAX_SERIES: Final = 32
_MAX_RESHARERS: Final = 10_000
_SHARE_TYPES: Final = frozenset({"share", "reshare", "repost", "retweet"})
_LIKE_TYPES: Final = frozenset({"like", "upvote", "favorite", "heart"})
_COMMENT_TYPES: Final = frozenset({"comment", "reply"})


_TYPE_KEYS: Final = ("interaction_type", "type", "kind")
_SOURCE_KEYS: Final = ("source_agent", "from_agent", "actor_id", "actor", "user_id", "agent_id")
_TARGET_KEYS: Final = ("target_agent", "to_agent", "content_owner", "owner", "target")
_OWNER_KEYS: Final = ("origin_agent", "content_owner", "owner", "author")


def _first_text(data: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _kind_of(low: str, data: dict[str, Any]) -> str:
    """The interaction kind of a record without a seed-000 ``event_type``."""
    if low in _SHARE_TYPES and (
        "depth" in data or "cascade_root" in data or "parent_content_id" in data
    ):
        return "viral_cascade"
    if low in _SHARE_TYPES and "content_id" in data:
        return "viral_cascade"
    if low in ("collaboration", "handoff", "delegation"):
        return "collaboration"
    if low in ("follow", "unfollow", "connect", "block", "friend"):
        return "social_connection"
    if "content_id" in data:
        return "content_interaction"
    return "interaction"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


class Series:
    """Timestamped numbers (sorted on demand)."""

    __slots__ = ("ts", "values")

    def __init__(self) -> None:
        self.ts: array[int] = array("q")
        self.values: array[float] = array("d")

    def add(self, ts: int, value: float) -> None:
        self.ts.append(ts)
        self.values.append(value)

    def __len__(self) -> int:
        return len(self.ts)

    def sorted(self) -> list[tuple[int, float]]:
        return sorted(zip(self.ts, self.values, strict=True))


class AgentStats:
    """Counters of one agent."""

    def __init__(self) -> None:
        self.events = 0
        self.spans = 0
        self.metrics = 0
        self.event_types: Counter[str] = Counter()
        self.levels: Counter[str] = Counter()
        self.action_counts: Counter[str] = Counter()
        self.decision_types: Counter[str] = Counter()
        self.content_types: Counter[str] = Counter()
        self.roles: Counter[str] = Counter()
        self.ids: Counter[str] = Counter()
        self.span_kinds: Counter[str] = Counter()
        self.action_status: Counter[tuple[str, str]] = Counter()
        self.run_status: Counter[str] = Counter()
        self.state_changes = 0
        self.learning_updates = 0
        self.interactions = 0
        self.warnings = 0
        self.first: int | None = None
        self.last: int | None = None
        self.last_action: tuple[int, str, str] | None = None  # (ts, id, name)
        self.last_content: tuple[int, str, str] | None = None
        # learning
        self.learning_types: Counter[str] = Counter()
        self.steps = 0
        self.last_step: int | None = None
        self.rewards = Series()
        self.cumulative: tuple[int, str, float] | None = None
        self.explore = Series()
        self.epsilon: tuple[int, str, float] | None = None
        self.metric_series: dict[str, Series] = {}
        self.convergence: list[dict[str, Any]] = []
        self.policy_updates = 0

    def seen(self, ts: int) -> None:
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts


class ContentStats:
    __slots__ = (
        "comments",
        "interactions",
        "likes",
        "max_depth",
        "owners",
        "reach",
        "resharers",
        "reshares",
        "shares",
    )

    def __init__(self) -> None:
        self.interactions = 0
        self.likes = 0
        self.shares = 0
        self.comments = 0
        self.reshares = 0
        self.reach = 0
        self.max_depth = 0
        self.owners: Counter[str] = Counter()
        self.resharers: set[str] = set()


class Summary:
    """The aggregates of one pass."""

    def __init__(self) -> None:
        self.records = 0
        self.by_record: Counter[str] = Counter()
        self.event_types: Counter[str] = Counter()
        self.levels: Counter[str] = Counter()
        self.span_kinds: Counter[str] = Counter()
        self.span_statuses: Counter[str] = Counter()
        self.sessions: Counter[str] = Counter()
        self.first: int | None = None
        self.last: int | None = None
        self.root_spans = 0
        self.agents: dict[str, AgentStats] = {}
        self.aliases: dict[str, set[str]] = {}  # agent_id / agent_name -> agent keys
        # errors
        self.error_events: list[dict[str, Any]] = []
        self.failed_spans: dict[str, dict[str, Any]] = {}
        self.covering: list[str] = []  # span ids that error events were logged in
        self.errors: list[dict[str, Any]] = []
        # interactions
        self.interactions = 0
        self.interaction_types: Counter[str] = Counter()
        self.interaction_kinds: Counter[str] = Counter()
        self.content: dict[str, ContentStats] = {}
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.pair_types: dict[tuple[str, str], Counter[str]] = {}
        self.active: Counter[str] = Counter()
        # performance
        self.operations: dict[str, list[float]] = {}  # name -> [count, total, max, errors, min]
        self.metrics: dict[str, list[Any]] = {}  # name -> [count, sum, min, max, unit]

    # -- the pass -------------------------------------------------------------------------
    def _agent(self, rec: Record) -> AgentStats | None:
        key = agent_key(rec)
        if key is None:
            return None
        stats = self.agents.get(key)
        if stats is None:
            stats = self.agents[key] = AgentStats()
            self.aliases.setdefault(key, set()).add(key)
        if type(rec) is not Metric:
            other = rec.agent_id  # type: ignore[union-attr]
            if other is not None and other != key:
                stats.ids[other] += 1
                al = self.aliases.get(other)
                if al is None:
                    self.aliases[other] = {key}
                elif key not in al:
                    al.add(key)
            role = rec.agent_role  # type: ignore[union-attr]
            if role is not None:
                stats.roles[role] += 1
        return stats

    def _time(self, ts: int) -> None:
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts

    def add(self, rec: Record) -> None:
        self.records += 1
        t = type(rec)
        if t is Event:
            self._event(rec)  # type: ignore[arg-type]
        elif t is Span:
            self._span(rec)  # type: ignore[arg-type]
        else:
            self._metric(rec)  # type: ignore[arg-type]

    def _event(self, ev: Event) -> None:
        self.by_record["event"] += 1
        ts = ev.timestamp
        self._time(ts)
        self.sessions[ev.session_id] += 1
        etype = ev.type
        self.event_types[etype] += 1
        level = ev.level
        self.levels[level] += 1
        data = ev.data
        a = self._agent(ev)
        if a is not None:
            a.events += 1
            a.seen(ts)
            a.event_types[etype] += 1
            a.levels[level] += 1
            if level == "WARNING":
                a.warnings += 1
        if level in ERROR_LEVELS:
            it = item(ev)
            self.error_events.append(it)
            if ev.span_id is not None:
                self.covering.append(ev.span_id)
        if etype == "action":
            if a is not None:
                a.action_counts[ev.name] += 1
                last = a.last_action
                if last is None or (ts, ev.id) > last[:2]:
                    a.last_action = (ts, ev.id, ev.name)
        elif etype == "decision":
            if a is not None:
                a.decision_types[ev.name] += 1
        elif etype == "state_change":
            if a is not None:
                a.state_changes += 1
        elif etype == "content":
            if a is not None:
                a.content_types[ev.name] += 1
                last = a.last_content
                if last is None or (ts, ev.id) > last[:2]:
                    a.last_content = (ts, ev.id, ev.name)
        elif etype.startswith("learning."):
            if a is not None:
                self._learning(a, ev, etype, data)
        elif etype == "interaction":
            self._interaction(ev, data, a)

    def _learning(self, a: AgentStats, ev: Event, etype: str, data: dict[str, Any]) -> None:
        ltype = data.get("learning_type")
        if isinstance(ltype, str):
            a.learning_types[ltype] += 1
        ts = ev.timestamp
        if etype == "learning.step":
            a.steps += 1
            step = data.get("step")
            if (
                isinstance(step, int)
                and not isinstance(step, bool)
                and (a.last_step is None or step > a.last_step)
            ):
                a.last_step = step
            metrics = data.get("metrics")
            if isinstance(metrics, dict):
                for name, value in metrics.items():
                    v = _num(value)
                    if v is None:
                        continue
                    series = a.metric_series.get(name)
                    if series is None:
                        if len(a.metric_series) >= _MAX_SERIES:
                            continue
                        series = a.metric_series[name] = Series()
                    series.add(ts, v)
        elif etype == "learning.reward":
            r = _num(data.get("reward"))
            if r is not None:
                a.rewards.add(ts, r)
            c = _num(data.get("cumulative_reward"))
            if c is not None and (a.cumulative is None or (ts, ev.id) > a.cumulative[:2]):
                a.cumulative = (ts, ev.id, c)
        elif etype == "learning.explore":
            flag = data.get("exploration")
            if isinstance(flag, bool):
                a.explore.add(ts, 1.0 if flag else 0.0)
            eps = _num(data.get("epsilon"))
            if eps is not None and (a.epsilon is None or (ts, ev.id) > a.epsilon[:2]):
                a.epsilon = (ts, ev.id, eps)
        elif etype == "learning.update":
            kind = data.get("event_type")
            if kind == "convergence":
                a.convergence.append(
                    {
                        "timestamp_ns": ts,
                        "id": ev.id,
                        "metric": data.get("metric"),
                        "converged": data.get("converged"),
                        "step": data.get("step"),
                        "relative_change": data.get("relative_change"),
                    }
                )
            else:
                a.learning_updates += 1
                if kind == "policy_update":
                    a.policy_updates += 1

    def _interaction(self, ev: Event, data: dict[str, Any], a: AgentStats | None) -> None:
        self.interactions += 1
        if a is not None:
            a.interactions += 1
        itype = _first_text(data, _TYPE_KEYS) or ev.name
        self.interaction_types[itype] += 1
        low = itype.lower()
        kind = data.get("event_type")
        if not isinstance(kind, str) or kind == "interaction":
            kind = _kind_of(low, data)
        self.interaction_kinds[kind] += 1
        source = _first_text(data, _SOURCE_KEYS) or agent_key(ev)
        if source is not None:
            self.active[source] += 1
        targets: list[str] = []
        target = _first_text(data, _TARGET_KEYS)
        if target is not None:
            targets.append(target)
        members = data.get("agents")
        if isinstance(members, list):
            targets.extend(m for m in members if isinstance(m, str))
        if source is not None:
            for other in targets:
                if other != source:
                    pair = (source, other) if source < other else (other, source)
                    self.pairs[pair] += 1
                    types = self.pair_types.get(pair)
                    if types is None:
                        types = self.pair_types[pair] = Counter()
                    types[itype] += 1
        root = data.get("cascade_root")
        content_id = root if isinstance(root, str) and root else data.get("content_id")
        if not isinstance(content_id, str | int) or isinstance(content_id, bool):
            return
        cid = str(content_id)
        c = self.content.get(cid)
        if c is None:
            c = self.content[cid] = ContentStats()
        c.interactions += 1
        owner = _first_text(data, _OWNER_KEYS)
        if kind == "viral_cascade":
            c.reshares += 1
            reach = _num(data.get("reach"))
            c.reach += int(reach) if reach is not None else 1
            depth = data.get("depth")
            if isinstance(depth, int) and not isinstance(depth, bool) and depth > c.max_depth:
                c.max_depth = depth
            if source is not None and len(c.resharers) < _MAX_RESHARERS:
                c.resharers.add(source)
        elif low in _SHARE_TYPES:
            c.shares += 1
        elif low in _LIKE_TYPES:
            c.likes += 1
        elif low in _COMMENT_TYPES:
            c.comments += 1
        if owner is None and kind == "content_interaction":
            owner = target
        if owner is not None:
            c.owners[owner] += 1

    def _span(self, sp: Span) -> None:
        self.by_record["span"] += 1
        ts = sp.start_time
        self._time(ts)
        if sp.end_time is not None:
            self._time(sp.end_time)
        self.sessions[sp.session_id] += 1
        self.span_kinds[sp.kind] += 1
        self.span_statuses[sp.status] += 1
        if sp.parent_id is None:
            self.root_spans += 1
        a = self._agent(sp)
        if a is not None:
            a.spans += 1
            a.seen(ts)
            a.span_kinds[sp.kind] += 1
            if sp.kind == "agent":
                a.run_status[sp.status] += 1
            attrs = sp.attributes
            if (
                attrs
                and attrs.get("action_type") is not None
                and attrs.get("event_type") == "agent_action"
            ):
                a.action_status[(str(attrs.get("action_type")), sp.status)] += 1
        if sp.status in FAILED:
            it = item(sp)
            self.failed_spans[sp.id] = it
        if sp.kind == "operation":
            dur = sp.duration_ms if sp.duration_ms is not None else 0.0
            op = self.operations.get(sp.name)
            if op is None:
                op = self.operations[sp.name] = [0.0, 0.0, 0.0, 0.0, math.inf]
            op[0] += 1
            op[1] += dur
            if dur > op[2]:
                op[2] = dur
            if dur < op[4]:
                op[4] = dur
            if sp.status in FAILED:
                op[3] += 1

    def _metric(self, m: Metric) -> None:
        self.by_record["metric"] += 1
        self._time(m.timestamp)
        self.sessions[m.session_id] += 1
        a = self._agent(m)
        if a is not None:
            a.metrics += 1
        entry = self.metrics.get(m.name)
        if entry is None:
            entry = self.metrics[m.name] = [0, 0.0, math.inf, -math.inf, m.unit]
        entry[0] += 1
        entry[1] += m.value
        if m.value < entry[2]:
            entry[2] = m.value
        if m.value > entry[3]:
            entry[3] = m.value

    # -- the end ----------------------------------------------------------------------------
    def finish(self) -> Summary:
        """Resolve the error list: ERROR/CRITICAL events, plus failed spans whose failure no
        error event already reports. An event reports the span it was logged in, and any
        failed span of its trace with the same error (type without module, message); a failed
        span also reports its failed ancestors with the same error (one exception propagating
        up is one error)."""
        failed = self.failed_spans
        covered: set[str] = set()
        reported: set[tuple[str | None, tuple[str | None, str | None]]] = set()
        for ev in self.error_events:
            reported.add((ev.get("trace_id"), error_signature(ev)))
        for span_id in self.covering:
            if span_id in failed:
                covered.add(span_id)
        for span_id, it in failed.items():
            if (it.get("trace_id"), error_signature(it)) in reported:
                covered.add(span_id)

        for it in list(failed.values()):
            signature = error_signature(it)
            node = it
            while True:
                parent = node.get("parent_id")
                up = failed.get(parent) if isinstance(parent, str) else None
                if up is None or error_signature(up) != signature or up["id"] in covered:
                    break
                covered.add(up["id"])
                node = up
        errors = list(self.error_events)
        errors.extend(it for sid, it in failed.items() if sid not in covered)
        errors.sort(key=lambda e: (e["timestamp_ns"], e["id"]))
        self.errors = errors
        self.error_events = []
        self.covering = []
        return self

    def keys_for(self, agent: str) -> list[str]:
        """The agent keys ``agent`` names (itself, or the agents whose id it is)."""
        if agent in self.agents:
            return [agent]
        return sorted(self.aliases.get(agent, ()))


def summarize(records: Iterable[Record]) -> Summary:
    summary = Summary()
    add = summary.add
    for rec in records:
        add(rec)
    return summary.finish()
