"""Result types of monitoring: plain dataclasses with ``to_dict()`` (JSON-ready: times as
ISO-8601 UTC text), so the CLI, the Python API and the server's ``/v1`` routes share them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "AgentHealth",
    "Alert",
    "Anomaly",
    "Baseline",
    "Cohort",
    "Comparison",
    "HealthStatus",
    "MetricChange",
    "MonitorMetric",
    "SystemHealth",
    "iso",
    "to_jsonable",
]

SCOPES: Final = ("agent", "model", "tool")
HEALTHY: Final = "healthy"
DEGRADED: Final = "degraded"
UNHEALTHY: Final = "unhealthy"
_RANK: Final = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC text with a ``Z`` (``None`` stays ``None``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_jsonable(value: Any) -> Any:
    """Datetimes to ISO text, dataclasses via ``to_dict``, non-finite floats to ``None``."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


class _Dict:
    """``to_dict()`` over the dataclass fields."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def worst(*statuses: str) -> str:
    """The worst of some health statuses."""
    return max(statuses, key=lambda s: _RANK.get(s, 0), default=HEALTHY)


@dataclass(frozen=True, slots=True)
class Baseline(_Dict):
    """What an observation was compared with.

    ``median`` is the expected value (the robust centre of the metric's history, seasonal
    when ``seasonal``; for rates the pooled historical rate), ``spread`` the robust spread in
    the metric's units (1.4826 × MAD; for rates the binomial standard deviation at the
    window's size), ``n`` the number of history buckets used (or of records, when
    ``method`` is a two-sample test on pooled records), ``samples`` the records behind it.
    """

    median: float
    spread: float
    n: int
    samples: int
    method: str
    start: datetime
    end: datetime
    seasonal: bool = False


@dataclass(frozen=True, slots=True)
class Anomaly(_Dict):
    """A metric of an agent, model or tool behaving unlike its own history.

    ``scope`` is ``"agent"``, ``"model"`` or ``"tool"`` and ``target`` its name; ``score`` is
    how unusual (a z-score: the number of robust standard deviations, or the normal
    quantile of a test's p-value); ``direction`` is ``"up"`` or ``"down"``.
    """

    metric: str
    scope: str
    target: str
    window_start: datetime
    window_end: datetime
    observed: float
    baseline: Baseline
    score: float
    direction: str
    severity: str
    description: str
    samples: int
    unit: str = ""
    project: str | None = None

    @property
    def key(self) -> str:
        """Identity of the condition (for alert de-duplication)."""
        return f"{self.scope}:{self.target}:{self.metric}:{self.direction}"

    @property
    def where(self) -> str:
        return f"{self.scope} {self.target}"


@dataclass(frozen=True, slots=True)
class Cohort(_Dict):
    """One side of a comparison: a version/release label, a time window or a session."""

    label: str
    kind: str
    value: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class MetricChange(_Dict):
    """One metric of one agent (or tool) compared between cohort A and cohort B.

    ``change`` is B − A for rates and B / A − 1 for the others; ``z`` is positive when B is
    higher; ``p_value`` is the test's two-sided p-value and ``p_adjusted`` the Holm-adjusted
    one over every test of the comparison; ``significant`` uses ``p_adjusted`` and the
    minimum effect size; ``verdict`` is ``"better"``, ``"worse"`` or ``"changed"`` (when
    either way is plausible, such as volume or tool usage) for a significant change, else
    ``"same"``.
    """

    metric: str
    scope: str
    target: str
    a: float | None
    b: float | None
    n_a: int
    n_b: int
    change: float | None
    test: str
    z: float
    p_value: float
    p_adjusted: float
    significant: bool
    verdict: str
    description: str
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Comparison(_Dict):
    """The result of comparing two cohorts; ``changes`` lists every metric tested,
    ``summary`` the significant ones in words."""

    a: Cohort
    b: Cohort
    agent: str | None
    changes: list[MetricChange]
    summary: list[str]
    alpha: float

    @property
    def significant(self) -> list[MetricChange]:
        return [c for c in self.changes if c.significant]


@dataclass(slots=True)
class MonitorMetric(_Dict):
    """A value the monitor watches (seed 001's ``Metric`` of ``Monitor.metrics``): its
    latest value, the threshold it is held to (if any) and the resulting status."""

    name: str
    value: float | None
    unit: str = ""
    threshold: float | None = None
    status: str = HEALTHY
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alert(_Dict):
    """A fired alert. ``key`` identifies the condition (de-duplication and cool-down work on
    it); ``delivered`` lists the sinks that accepted it, ``failed`` those that did not."""

    id: str
    key: str
    rule: str
    condition: str
    severity: str
    message: str
    fired_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    project: str | None = None
    delivered: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(slots=True)
class SystemHealth(_Dict):
    """The system part of a health check."""

    status: str
    store_reachable: bool
    store_error: str | None
    newest_record_at: datetime | None
    ingest_lag_s: float | None
    queue_depth: int
    spooled: int
    replayed: int
    dropped: int
    exporters_down: list[str]
    executions: int
    failures: int
    error_rate: float | None
    window_s: float
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AgentHealth(_Dict):
    """One agent in a health check: recent executions, rates, latency, last activity and
    the anomalies found for it."""

    agent: str
    status: str
    executions: int
    failures: int
    skipped: int
    error_rate: float | None
    skip_rate: float | None
    latency_p95_ms: float | None
    last_seen: datetime | None
    anomalies: list[Anomaly] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class HealthStatus(_Dict):
    """Seed 001's ``HealthStatus``: the overall ``status`` (``healthy``, ``degraded``,
    ``unhealthy``), the system's and each agent's health, and the reasons in words."""

    status: str
    checked_at: datetime
    system: SystemHealth
    agents: list[AgentHealth]
    issues: list[str]
    thresholds: dict[str, float]

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY

    def agent(self, name: str) -> AgentHealth | None:
        for a in self.agents:
            if a.agent == name:
                return a
        return None

    @property
    def unhealthy_agents(self) -> list[str]:
        return [a.agent for a in self.agents if a.status != HEALTHY]
