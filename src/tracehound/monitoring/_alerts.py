"""Alert rules, de-duplication with a cool-down, and delivery.

A rule looks at one evaluation (the health check, the anomalies, the monitor's metrics, the
store) and returns :class:`Condition` values; each has a ``key`` naming the condition. The
:class:`AlertManager` turns a condition into an :class:`~._types.Alert` only when it is new:

* a key that alerted less than ``cooldown`` ago is suppressed;
* a condition that stays true from one evaluation to the next alerts once (again only after
  it cleared, or — with ``repeat=True`` — every ``cooldown``);
* the state can be kept in a JSON file, so successive ``tracehound monitor`` runs and
  restarts do not alert twice.

Sinks: the trace itself (an ``alert`` event written into the store the monitor reads), a
JSON-lines log file, a webhook (HTTP POST of JSON, stdlib ``urllib``), or any callable.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import Engine, func, select

from ..store._schema import events as E
from ..store._schema import sessions as SESSIONS
from ..store._schema import spans as S
from ._compare import MONITOR_SESSION_PREFIX
from ._types import Alert, Anomaly, HealthStatus, MonitorMetric, iso, to_jsonable

__all__ = [
    "AlertManager",
    "AlertRule",
    "AnomalyRule",
    "CallbackSink",
    "Condition",
    "CostBudgetRule",
    "LogFileSink",
    "RuleContext",
    "Sink",
    "ThresholdRule",
    "TraceSink",
    "WebhookSink",
]

log = logging.getLogger("tracehound.monitoring")
_LEVELS: Final = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL", "error": "ERROR"}


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition that holds now. ``key`` identifies it across evaluations."""

    key: str
    rule: str
    severity: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None


@dataclass(slots=True)
class RuleContext:
    """What rules see in one evaluation."""

    now: datetime
    engine: Engine | None
    project: str | None
    health: HealthStatus | None
    anomalies: list[Anomaly]
    metrics: Mapping[str, MonitorMetric]


class AlertRule(Protocol):
    @property
    def name(self) -> str: ...

    def evaluate(self, ctx: RuleContext) -> list[Condition]: ...


_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Fires when a monitor metric crosses a threshold. ``metric`` is a name of
    :attr:`Monitor.metrics` or a glob over them (``agent.*.error_rate``)."""

    metric: str
    threshold: float
    op: str = ">"
    severity: str = "warning"
    name: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}")
        if not self.name:
            object.__setattr__(self, "name", f"threshold:{self.metric}")

    def evaluate(self, ctx: RuleContext) -> list[Condition]:
        out: list[Condition] = []
        test = _OPS[self.op]
        for key, m in ctx.metrics.items():
            if not fnmatch.fnmatchcase(key, self.metric) or m.value is None:
                continue
            if test(float(m.value), self.threshold):
                agent = m.labels.get("agent")
                out.append(
                    Condition(
                        key=f"{self.name}:{key}",
                        rule=self.name,
                        severity=self.severity,
                        message=f"{key} = {m.value:g}{(' ' + m.unit) if m.unit else ''} "
                        f"({self.op} {self.threshold:g})",
                        data={"metric": key, "value": m.value, "threshold": self.threshold},
                        agent=agent,
                    )
                )
        return out


@dataclass(frozen=True, slots=True)
class AnomalyRule:
    """Fires for every anomaly scoring at least ``min_score`` (optionally only some metrics
    or scopes); the key is the anomaly's metric, scope, target and direction."""

    min_score: float = 4.0
    metrics: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    name: str = "anomaly"

    def evaluate(self, ctx: RuleContext) -> list[Condition]:
        out = []
        for a in ctx.anomalies:
            if a.score < self.min_score:
                continue
            if self.metrics is not None and a.metric not in self.metrics:
                continue
            if self.scopes is not None and a.scope not in self.scopes:
                continue
            out.append(
                Condition(
                    key=f"{self.name}:{a.key}",
                    rule=self.name,
                    severity=a.severity,
                    message=a.description,
                    data={"anomaly": a.to_dict()},
                    agent=a.target if a.scope == "agent" else None,
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class CostBudgetRule:
    """Fires when the LLM cost of the current UTC day (or month) reaches ``budget`` USD —
    for one project, one agent, or everything. Once per period (the key holds the period)."""

    budget: float
    period: str = "day"
    project: str | None = None
    agent: str | None = None
    severity: str = "warning"
    name: str = "cost_budget"

    def __post_init__(self) -> None:
        if self.period not in ("day", "month"):
            raise ValueError("period must be 'day' or 'month'")
        if self.budget <= 0:
            raise ValueError("budget must be positive")

    def period_start(self, now: datetime) -> datetime:
        day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day.replace(day=1) if self.period == "month" else day

    def spent(self, engine: Engine, now: datetime, project: str | None) -> float:
        start = self.period_start(now)
        stmt = select(func.coalesce(func.sum(S.c.total_cost), 0.0)).where(
            S.c.kind == "llm", S.c.start_time >= start, S.c.start_time <= now
        )
        proj = self.project or project
        if proj is not None:
            stmt = stmt.where(S.c.project == proj)
        if self.agent is not None:
            stmt = stmt.where(S.c.agent_name == self.agent)
        with engine.connect() as conn:
            return float(conn.execute(stmt).scalar() or 0.0)

    def evaluate(self, ctx: RuleContext) -> list[Condition]:
        if ctx.engine is None:
            return []
        spent = self.spent(ctx.engine, ctx.now, ctx.project)
        if spent < self.budget:
            return []
        start = self.period_start(ctx.now)
        label = start.strftime("%Y-%m-%d" if self.period == "day" else "%Y-%m")
        who = " ".join(
            x
            for x in (
                f"project {self.project or ctx.project}" if (self.project or ctx.project) else "",
                f"agent {self.agent}" if self.agent else "",
            )
            if x
        )
        return [
            Condition(
                key=f"{self.name}:{self.project or ctx.project or '*'}:{self.agent or '*'}:{label}",
                rule=self.name,
                severity=self.severity,
                message=f"LLM cost {('of ' + who + ' ') if who else ''}this {self.period} "
                f"(${spent:,.4f}) reached the budget of ${self.budget:,.2f}",
                data={"spent": spent, "budget": self.budget, "period": label},
                agent=self.agent,
            )
        ]


# -- sinks --------------------------------------------------------------------------------------


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


class CallbackSink:
    """Calls ``fn(alert)``."""

    def __init__(self, fn: Callable[[Alert], object], name: str = "callback") -> None:
        self.fn = fn
        self.name = name

    def send(self, alert: Alert) -> None:
        self.fn(alert)


class LogFileSink:
    """Appends one JSON line per alert (seed 000's line layout: ``timestamp``,
    ``session_id``, ``level``, ``logger``, ``message``, ``extra``)."""

    name = "log_file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        line = {
            "timestamp": iso(alert.fired_at),
            "session_id": "monitor",
            "level": _LEVELS.get(alert.severity, "WARNING"),
            "logger": "tracehound.monitor",
            "message": alert.message,
            "extra": alert.to_dict(),
        }
        text = json.dumps(line, ensure_ascii=False, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)


class WebhookSink:
    """POSTs ``{"source": "tracehound", "alert": {…}}`` as JSON to ``url`` (stdlib
    ``urllib``); a non-2xx answer or a network error is retried ``retries`` times, then
    raised to the manager (which records the sink as failed)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL must be http(s)://…, got {url!r}")
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.headers = {"Content-Type": "application/json", **(headers or {})}

    def send(self, alert: Alert) -> None:
        body = json.dumps({"source": "tracehound", "alert": alert.to_dict()}, default=str).encode(
            "utf-8"
        )
        delay = 0.2
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    if 200 <= resp.status < 300:
                        return
                    raise OSError(f"webhook answered HTTP {resp.status}")
            except (urllib.error.URLError, OSError):
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay *= 2


class TraceSink:
    """Writes each alert as an ``alert`` event into the store. An alert about an agent is
    put into the trace and session of that agent's most recent failing (else latest)
    execution, so it shows up next to what caused it; other alerts go to the session
    ``monitor_YYYYMMDD``."""

    name = "trace"

    def __init__(self, engine: Engine, project: str | None = None) -> None:
        self.engine = engine
        self.project = project

    def _anchor(self, agent: str, project: str | None) -> tuple[str, str, str, str] | None:
        """(trace id, span id, session id, project) of the agent's latest failing or else
        latest execution."""
        base = select(S.c.trace_id, S.c.id, S.c.session_id, S.c.project).where(
            S.c.kind == "agent", S.c.agent_name == agent
        )
        if project is not None:
            base = base.where(S.c.project == project)
        with self.engine.connect() as conn:
            for stmt in (
                base.where(S.c.status.in_(("failed", "timeout"))),
                base,
            ):
                row = conn.execute(stmt.order_by(S.c.start_time.desc()).limit(1)).first()
                if row is not None:
                    return (str(row[0]), str(row[1]), str(row[2]), str(row[3]))
        return None

    def send(self, alert: Alert) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        when = alert.fired_at
        project = alert.project or self.project
        data = dict(alert.data)
        data.update({"key": alert.key, "rule": alert.rule, "severity": alert.severity})
        agent = data.get("agent") if isinstance(data.get("agent"), str) else None
        anchor = self._anchor(agent, project) if agent else None
        trace_id: str | None = None
        span_id: str | None = None
        if anchor is not None:
            trace_id, span_id, session_id, project = anchor
        else:
            session_id = MONITOR_SESSION_PREFIX + when.strftime("%Y%m%d")
        project = project or "default"
        row = {
            "id": alert.id,
            "trace_id": trace_id,
            "span_id": span_id,
            "session_id": session_id,
            "project": project,
            "timestamp": when,
            "type": "alert",
            "name": alert.rule,
            "level": _LEVELS.get(alert.severity, "WARNING"),
            "agent_name": agent,
            "agent_role": None,
            "agent_id": None,
            "message": alert.message,
            "data": to_jsonable(data),
        }
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        session = insert(SESSIONS).values(
            id=session_id, project=project, started_at=when, last_seen_at=when
        )
        session = session.on_conflict_do_update(
            index_elements=["id"], set_={"last_seen_at": session.excluded.last_seen_at}
        )
        with self.engine.begin() as conn:
            conn.execute(insert(E).values(**row).on_conflict_do_nothing(index_elements=["id"]))
            conn.execute(session)


# -- the manager --------------------------------------------------------------------------------


class AlertManager:
    """De-duplicates conditions and delivers the new ones to the sinks."""

    def __init__(
        self,
        sinks: Sequence[Sink] = (),
        *,
        cooldown: timedelta = timedelta(hours=1),
        repeat: bool = False,
        state_path: str | Path | None = None,
    ) -> None:
        self.sinks = list(sinks)
        self.cooldown = cooldown
        self.repeat = repeat
        self.state_path = Path(state_path) if state_path is not None else None
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = self._load()
        self.suppressed = 0
        self.delivery_failures = 0

    # -- state ------------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        if self.state_path is None or not self.state_path.exists():
            return {}
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("alert state file %s unreadable; starting afresh", self.state_path)
            return {}
        return {str(k): dict(v) for k, v in raw.items() if isinstance(v, dict)}

    def _save(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_path.parent, prefix=".alerts.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self._state, fh)
            os.replace(tmp, self.state_path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise

    def state(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._state.items()}

    # -- firing -----------------------------------------------------------------------------
    def _allowed(self, key: str, now: datetime) -> bool:
        entry = self._state.get(key)
        if entry is None:
            return True
        last = float(entry.get("last_fired", 0.0))
        if now.timestamp() - last < self.cooldown.total_seconds():
            return False
        return bool(self.repeat or not entry.get("active", False))

    def process(
        self,
        conditions: Iterable[Condition],
        *,
        now: datetime | None = None,
        project: str | None = None,
        evaluated_rules: Iterable[str] | None = None,
    ) -> list[Alert]:
        """Alert on the new conditions. Conditions of ``evaluated_rules`` that are no longer
        present are marked cleared (so they may alert again after the cool-down)."""
        now = now or datetime.now(UTC)
        fired: list[Alert] = []
        seen: set[str] = set()
        for cond in conditions:
            if cond.key in seen:
                continue
            seen.add(cond.key)
            with self._lock:
                allowed = self._allowed(cond.key, now)
                entry = self._state.setdefault(cond.key, {"last_fired": 0.0})
                entry["rule"] = cond.rule
                entry["active"] = True
                entry["last_seen"] = now.timestamp()
                if allowed:
                    entry["last_fired"] = now.timestamp()
                    entry["count"] = int(entry.get("count", 0)) + 1
            if not allowed:
                self.suppressed += 1
                continue
            fired.append(self._deliver(cond, now, project))
        if evaluated_rules is not None:
            rules = set(evaluated_rules)
            with self._lock:
                for key, entry in self._state.items():
                    if key not in seen and entry.get("rule") in rules:
                        entry["active"] = False
        with self._lock:
            self._save()
        return fired

    def _deliver(self, cond: Condition, now: datetime, project: str | None) -> Alert:
        data = dict(cond.data)
        if cond.agent is not None:
            data.setdefault("agent", cond.agent)
        alert = Alert(
            id=f"alert-{uuid.uuid4().hex}",
            key=cond.key,
            rule=cond.rule,
            condition=cond.key,
            severity=cond.severity,
            message=cond.message,
            fired_at=now,
            data=data,
            project=project,
        )
        ok: list[str] = []
        bad: list[str] = []
        for sink in self.sinks:
            try:
                sink.send(alert)
                ok.append(sink.name)
            except Exception as exc:
                self.delivery_failures += 1
                bad.append(sink.name)
                log.warning("alert %s not delivered to %s: %s", cond.key, sink.name, exc)
        return Alert(
            id=alert.id,
            key=alert.key,
            rule=alert.rule,
            condition=alert.condition,
            severity=alert.severity,
            message=alert.message,
            fired_at=alert.fired_at,
            data=alert.data,
            project=alert.project,
            delivered=tuple(ok),
            failed=tuple(bad),
        )
