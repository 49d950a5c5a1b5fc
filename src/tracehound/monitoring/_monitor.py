"""``Monitor`` (seed 001): health checks, thresholds, alert rules evaluated continuously,
de-duplicated alerts delivered to the trace, a log file and a webhook."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from ._alerts import (
    AlertManager,
    AlertRule,
    AnomalyRule,
    Condition,
    CostBudgetRule,
    LogFileSink,
    RuleContext,
    Sink,
    ThresholdRule,
    TraceSink,
    WebhookSink,
)
from ._analytics import Analytics
from ._health import DEFAULT_THRESHOLDS, build_health, pipeline_stats
from ._time import parse_duration
from ._types import (
    DEGRADED,
    HEALTHY,
    UNHEALTHY,
    Alert,
    Anomaly,
    HealthStatus,
    MonitorMetric,
)

__all__ = ["Monitor"]

_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}


class Monitor:
    """Seed 001's ``Monitor``: ``metrics`` (the latest value of everything watched, as
    :class:`MonitorMetric`), ``alerts`` (the alerts fired by this monitor), ``thresholds``
    (per metric; unset ones take :data:`DEFAULT_THRESHOLDS`).

    ``check_health()`` returns a :class:`HealthStatus`; ``trigger_alert(condition)`` alerts
    on a condition (a rule's name, or any text); ``evaluate()`` runs every rule once and
    ``run()`` keeps doing so. Alert rules are the ``rules`` given plus those the thresholds
    imply (an anomaly rule, per-agent error rate, pipeline queue and drops, and — when set —
    ingest lag, skip rate, p95 latency and a daily cost budget). Conditions about one agent
    are grouped into one alert per agent (``group_by_agent``). Alerts go to the trace (an
    ``alert`` event in the store, unless ``trace_events=False``), to ``log_file``, to
    ``webhook`` and to any extra ``sinks``; a condition alerts once, then not again within
    ``cooldown`` nor while it lasts; ``state_path`` keeps that memory across runs.
    """

    # Class-level defaults: a subclass whose __init__ does not call ours still works.
    _store: str | Engine | None = None
    _project: str | None = None
    _analytics: Analytics | None = None
    _rules: tuple[AlertRule, ...] = ()
    _extra_sinks: tuple[Sink, ...] = ()
    _webhook: str | None = None
    _log_file: Path | None = None
    _trace_events: bool = True
    _cooldown: timedelta = timedelta(hours=1)
    _repeat: bool = False
    _state_path: Path | None = None
    _window: timedelta = timedelta(hours=1)
    _since: datetime | str | None = None
    _group_by_agent: bool = True
    _manager: AlertManager | None = None
    _flush: bool = True
    _last_anomalies: list[Anomaly] | None = None

    def __init__(
        self,
        store: str | Engine | None = None,
        *,
        project: str | None = None,
        thresholds: dict[str, float] | None = None,
        rules: Sequence[AlertRule] = (),
        sinks: Sequence[Sink] = (),
        webhook: str | None = None,
        log_file: str | Path | None = None,
        trace_events: bool = True,
        cooldown: str | float | timedelta = timedelta(hours=1),
        repeat: bool = False,
        state_path: str | Path | None = None,
        window: str | float | timedelta = timedelta(hours=1),
        since: datetime | str | None = None,
        baseline: str | float | timedelta = timedelta(days=14),
        bucket: str | float | timedelta = timedelta(hours=1),
        group_by_agent: bool = True,
        analytics: Analytics | None = None,
        flush: bool = True,
    ) -> None:
        self.metrics: dict[str, MonitorMetric] = {}
        self.alerts: list[Alert] = []
        self.thresholds: dict[str, float] = dict(thresholds or {})
        self._store = store
        self._project = project
        self._flush = flush
        self._analytics = analytics or Analytics(
            store,
            project=project,
            window=window,
            baseline=baseline,
            bucket=bucket,
            flush=flush,
            cache=True,
        )
        self._rules = tuple(rules)
        self._extra_sinks = tuple(sinks)
        self._webhook = webhook
        self._log_file = Path(log_file) if log_file is not None else None
        self._trace_events = trace_events
        self._cooldown = parse_duration(cooldown)
        self._repeat = repeat
        self._state_path = Path(state_path) if state_path is not None else None
        self._window = parse_duration(window)
        self._since = since
        self._group_by_agent = group_by_agent
        self._manager = None
        self._last_anomalies = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def analytics(self) -> Analytics:
        if self._analytics is None:
            self._analytics = Analytics(self._store, project=self._project, cache=True)
        return self._analytics

    @property
    def manager(self) -> AlertManager:
        """The de-duplicating alert manager and its sinks (built on first use)."""
        if self._manager is None:
            sinks: list[Sink] = []
            if self._trace_events:
                sinks.append(TraceSink(self.analytics.engine, self._project))
            if self._log_file is not None:
                sinks.append(LogFileSink(self._log_file))
            if self._webhook is not None:
                sinks.append(WebhookSink(self._webhook))
            sinks.extend(self._extra_sinks)
            self._manager = AlertManager(
                sinks, cooldown=self._cooldown, repeat=self._repeat, state_path=self._state_path
            )
        return self._manager

    def effective_thresholds(self) -> dict[str, float]:
        return {**DEFAULT_THRESHOLDS, **getattr(self, "thresholds", {})}

    def close(self) -> None:
        if self._analytics is not None:
            self._analytics.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- health -----------------------------------------------------------------------------
    def health(
        self,
        *,
        now: datetime | None = None,
        window: str | float | timedelta | None = None,
        since: datetime | str | None = None,
    ) -> HealthStatus:
        """Check the system and every agent active in the last ``window`` (default: the
        monitor's, one hour; or since ``since``), and update :attr:`metrics`."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        thresholds = self.effective_thresholds()
        win = parse_duration(window) if window is not None else self._window
        since = since if since is not None else self._since
        store_error: str | None = None
        anomalies: list[Anomaly] = []
        aggs = None
        engine = None
        try:
            engine = self.analytics.engine
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            start = self.analytics.resolve_time(since, now=now) if since is not None else None
            if start is not None:
                win = max(now - start, timedelta(0))
            anomalies, aggs = self.analytics.detect_with_window(
                window=win,
                since=start,
                now=now,
                min_score=thresholds.get("anomaly_score"),
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()
            store_error = f"{type(exc).__name__}: {first[0] if first else ''}".strip()
            if "no such table" in store_error or "does not exist" in store_error:
                store_error = "not a tracehound database (no tracehound tables): " + store_error
        self._last_anomalies = anomalies
        status = build_health(
            engine,
            window_aggs=aggs,
            anomalies=anomalies,
            thresholds=thresholds,
            now=now,
            window=win,
            project=self._project,
            store_error=store_error,
            stats=pipeline_stats(),
        )
        self._update_metrics(status, thresholds, now)
        return status

    def _update_metrics(
        self, status: HealthStatus, thresholds: dict[str, float], now: datetime
    ) -> None:
        metrics: dict[str, MonitorMetric] = getattr(self, "metrics", None) or {}
        min_exec = thresholds.get("min_executions", 10)

        def put(name: str, value: float | None, unit: str, key: str | None, **labels: str) -> None:
            limit = thresholds.get(key) if key else None
            state = HEALTHY
            if value is not None and limit is not None and value > limit:
                state = DEGRADED
            metrics[name] = MonitorMetric(name, value, unit, limit, state, now, dict(labels))

        sysh = status.system
        put("store_reachable", 1.0 if sysh.store_reachable else 0.0, "", None)
        put("ingest_lag_s", sysh.ingest_lag_s, "s", "ingest_lag_s")
        put("queue_depth", float(sysh.queue_depth), "records", "queue_depth")
        put("spooled", float(sysh.spooled - sysh.replayed), "records", "spooled")
        put("dropped", float(sysh.dropped), "records", "dropped")
        put("executions", float(sysh.executions), "executions", None)
        put(
            "error_rate",
            sysh.error_rate if sysh.executions >= min_exec else None,
            "",
            "error_rate",
        )
        if not sysh.store_reachable:
            metrics["store_reachable"].status = UNHEALTHY
        for ag in status.agents:
            p = f"agent.{ag.agent}."
            done = ag.executions - ag.skipped
            put(p + "executions", float(ag.executions), "executions", None, agent=ag.agent)
            put(
                p + "error_rate",
                ag.error_rate if done >= min_exec else None,
                "",
                "error_rate",
                agent=ag.agent,
            )
            put(
                p + "skip_rate",
                ag.skip_rate if ag.executions >= min_exec else None,
                "",
                "skip_rate",
                agent=ag.agent,
            )
            put(p + "latency_p95_ms", ag.latency_p95_ms, "ms", "latency_p95_ms", agent=ag.agent)
            put(p + "anomalies", float(len(ag.anomalies)), "", None, agent=ag.agent)
            metrics[p + "anomalies"].status = ag.status
        self.metrics = metrics

    async def check_health(self) -> HealthStatus:
        """Check system health metrics."""
        return await self._health_check()

    async def _health_check(self) -> HealthStatus:
        return await asyncio.to_thread(self.health)

    # -- rules and alerts -------------------------------------------------------------------
    def rules(self) -> list[AlertRule]:
        """The rules evaluated: the explicit ones, then those the thresholds imply."""
        thr = self.effective_thresholds()
        out: list[AlertRule] = list(self._rules)
        names = {r.name for r in out}

        def add(rule: AlertRule) -> None:
            if rule.name not in names:
                names.add(rule.name)
                out.append(rule)

        add(AnomalyRule(min_score=thr.get("anomaly_score", 4.0)))
        add(ThresholdRule("agent.*.error_rate", thr["error_rate"], severity="critical"))
        for key in ("queue_depth", "dropped", "spooled", "ingest_lag_s"):
            if key in thr:
                add(ThresholdRule(key, thr[key]))
        for key in ("skip_rate", "latency_p95_ms"):
            if key in thr:
                add(ThresholdRule(f"agent.*.{key}", thr[key]))
        add(ThresholdRule("store_reachable", 1.0, op="<", severity="critical"))
        if "cost_per_day" in thr:
            add(CostBudgetRule(thr["cost_per_day"], "day", project=self._project))
        return out

    def _group(self, conditions: list[Condition]) -> list[Condition]:
        """One condition per agent (its key names the agent only, so the incident alerts
        once however its symptoms evolve); the others pass through."""
        if not self._group_by_agent:
            return conditions
        by_agent: dict[str, list[Condition]] = {}
        out: list[Condition] = []
        for c in conditions:
            if c.agent is None:
                out.append(c)
            else:
                by_agent.setdefault(c.agent, []).append(c)
        for agent, conds in by_agent.items():
            severity = max((c.severity for c in conds), key=lambda s: _SEVERITY_RANK.get(s, 1))
            message = f"agent {agent}: " + "; ".join(dict.fromkeys(c.message for c in conds))
            out.append(
                Condition(
                    key=f"agent:{agent}",
                    rule="agent",
                    severity=severity,
                    message=message,
                    data={
                        "agent": agent,
                        "conditions": [
                            {"key": c.key, "rule": c.rule, "message": c.message, **c.data}
                            for c in conds
                        ],
                    },
                    agent=agent,
                )
            )
        return out

    def evaluate(
        self,
        *,
        now: datetime | None = None,
        rules: Sequence[AlertRule] | None = None,
        health: HealthStatus | None = None,
    ) -> list[Alert]:
        """Check health, evaluate the rules once and deliver the new alerts; returns them."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        status = health if health is not None else self.health(now=now)
        chosen = list(rules) if rules is not None else self.rules()
        reachable = status.system.store_reachable
        ctx = RuleContext(
            now=now,
            engine=self.analytics.engine if reachable else None,
            project=self._project,
            health=status,
            anomalies=list(self._last_anomalies or []),
            metrics=self.metrics,
        )
        conditions: list[Condition] = []
        for rule in chosen:
            try:
                conditions.extend(rule.evaluate(ctx))
            except Exception as exc:
                conditions.append(
                    Condition(
                        key=f"rule_error:{rule.name}",
                        rule="rule_error",
                        severity="warning",
                        message=f"alert rule {rule.name} failed: {type(exc).__name__}: {exc}",
                    )
                )
        grouped = self._group(conditions)
        evaluated = {c.rule for c in grouped} | {r.name for r in chosen} | {"agent"}
        fired = self.manager.process(
            grouped, now=now, project=self._project, evaluated_rules=evaluated
        )
        alerts = getattr(self, "alerts", None)
        if alerts is None:
            self.alerts = alerts = []
        alerts.extend(fired)
        return fired

    def alert(
        self,
        condition: str,
        *,
        severity: str = "warning",
        message: str | None = None,
        data: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> list[Alert]:
        """Alert on ``condition``: the name of a rule (evaluated now), or any text (a manual
        alert). De-duplicated like every alert; returns what was delivered."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        matching = [r for r in self.rules() if r.name == condition]
        if matching:
            return self.evaluate(now=now, rules=matching)
        cond = Condition(
            key=f"manual:{condition}",
            rule="manual",
            severity=severity,
            message=message or condition,
            data=dict(data or {}),
        )
        fired = self.manager.process([cond], now=now, project=self._project)
        alerts = getattr(self, "alerts", None)
        if alerts is None:
            self.alerts = alerts = []
        alerts.extend(fired)
        return fired

    async def trigger_alert(self, condition: str) -> None:
        """Trigger system alerts."""
        await self._alert_handling(condition)

    async def _alert_handling(self, condition: str) -> None:
        await asyncio.to_thread(self.alert, condition)

    def run(
        self,
        *,
        interval: float = 60.0,
        iterations: int | None = None,
        stop: threading.Event | None = None,
        on_alert: Callable[[Alert], object] | None = None,
        on_check: Callable[[HealthStatus, list[Alert]], object] | None = None,
    ) -> None:
        """Evaluate every ``interval`` seconds until ``stop`` is set (or ``iterations``
        evaluations ran). A failing evaluation is reported as a health check whose store is
        unreachable and never ends the loop."""
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set():
            status = self.health()
            fired = self.evaluate(health=status)
            for alert in fired:
                if on_alert is not None:
                    on_alert(alert)
            if on_check is not None:
                on_check(status, fired)
            done += 1
            if iterations is not None and done >= iterations:
                return
            stop.wait(interval)
