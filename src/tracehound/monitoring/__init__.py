"""Monitoring (seed 001's ``Analytics`` and ``Monitor``): anomaly detection against each
metric's own history, regression detection between versions or time windows, statistics and
patterns, health checks, and alert rules with de-duplicated delivery.

See ``docs/monitoring.md``. Results are plain dataclasses with ``to_dict()``.
``Metric`` here is the monitor's metric type (:class:`MonitorMetric`), not the record type
``tracehound.Metric``.
"""

from ._alerts import (
    AlertManager,
    AlertRule,
    AnomalyRule,
    CallbackSink,
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
from ._compare import parse_cohort
from ._detect import METRICS, DetectionSettings, MetricSpec
from ._health import DEFAULT_THRESHOLDS
from ._monitor import Monitor
from ._types import (
    AgentHealth,
    Alert,
    Anomaly,
    Baseline,
    Cohort,
    Comparison,
    HealthStatus,
    MetricChange,
    MonitorMetric,
    SystemHealth,
)

Metric = MonitorMetric
"""Seed 001's name for the monitor's metric type."""

__all__ = [
    "DEFAULT_THRESHOLDS",
    "METRICS",
    "AgentHealth",
    "Alert",
    "AlertManager",
    "AlertRule",
    "Analytics",
    "Anomaly",
    "AnomalyRule",
    "Baseline",
    "CallbackSink",
    "Cohort",
    "Comparison",
    "Condition",
    "CostBudgetRule",
    "DetectionSettings",
    "HealthStatus",
    "LogFileSink",
    "Metric",
    "MetricChange",
    "MetricSpec",
    "Monitor",
    "MonitorMetric",
    "RuleContext",
    "Sink",
    "SystemHealth",
    "ThresholdRule",
    "TraceSink",
    "WebhookSink",
    "parse_cohort",
]
