"""Seed 001 (trace agent): the ``Analytics`` and ``Monitor`` examples, verbatim except for the
import line (``from tracehound import …``).

The seed shows the two classes' bodies: their public coroutines delegate to
``_pattern_analysis``, ``_stats_generation``, ``_anomaly_detection``, ``_health_check`` and
``_alert_handling``, which the seed leaves undefined. ``tracehound.Analytics`` and
``tracehound.Monitor`` are those classes with the hooks implemented; the seed's own bodies
run unchanged on top of them (as the first base class), and the same calls work on
tracehound's classes directly. ``Metric`` in the seed's ``Monitor`` is only an annotation:
it stays ``tracehound.Metric`` (the record type); the monitor's metric values are
``tracehound.MonitorMetric``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tracehound


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A configured store with a few traced executions (through the SDK)."""
    tracehound.configure(trace_dir=tmp_path, exporters=("store",), flush_interval=0.05)
    for i in range(30):
        with tracehound.span("plan", kind="agent", agent="planner") as root:
            tracehound.event("decision", "route", target="writer")
            with tracehound.span("write", kind="agent", agent="writer") as sp:
                if i % 5 == 0:
                    sp.set_status("failed", "model refused")
            root.set_status("success")
    return tmp_path


# -- "Analytics Features", verbatim but for the import line ---------------------------------
from typing import Dict, List  # noqa: E402, UP035

from tracehound import Alert, Anomaly, HealthStatus, Metric  # noqa: E402


class Analytics:
    async def analyze_patterns(self, timeframe: str) -> Dict[str, Any]:  # noqa: UP006
        """Analyze patterns in traced data."""
        return await self._pattern_analysis(timeframe)  # type: ignore[attr-defined,no-any-return]

    async def generate_stats(self) -> Dict[str, Any]:  # noqa: UP006
        """Generate statistical reports."""
        return await self._stats_generation()  # type: ignore[attr-defined,no-any-return]

    async def detect_anomalies(self) -> List[Anomaly]:  # noqa: UP006
        """Detect anomalies in system behavior."""
        return await self._anomaly_detection()  # type: ignore[attr-defined,no-any-return]


# -- "Monitoring System", verbatim but for the import line ----------------------------------
class Monitor:
    def __init__(self):  # type: ignore[no-untyped-def]
        self.metrics: Dict[str, Metric] = {}  # noqa: UP006
        self.alerts: List[Alert] = []  # noqa: UP006
        self.thresholds: Dict[str, float] = {}  # noqa: UP006

    async def check_health(self) -> HealthStatus:
        """Check system health metrics."""
        return await self._health_check()  # type: ignore[attr-defined,no-any-return]

    async def trigger_alert(self, condition: str) -> None:
        """Trigger system alerts."""
        await self._alert_handling(condition)  # type: ignore[attr-defined]


# -- the seed's classes on tracehound's implementation --------------------------------------
class SeedAnalytics(Analytics, tracehound.Analytics):
    pass


class SeedMonitor(Monitor, tracehound.Monitor):
    pass


async def test_the_seed_classes_run_on_tracehound(recorded: Path) -> None:
    analytics = SeedAnalytics()
    patterns = await analytics.analyze_patterns("24h")
    assert patterns["traces"] == 30
    assert patterns["agent_paths"][0]["sequence"][0] == "planner"
    stats = await analytics.generate_stats()
    assert stats["agents"]["writer"]["executions"] == 30
    assert stats["agents"]["writer"]["failed"] == 6
    assert stats["event_types"]["decision"]["count"] == 30
    anomalies = await analytics.detect_anomalies()
    assert isinstance(anomalies, list)
    assert all(isinstance(a, Anomaly) for a in anomalies)
    analytics.close()

    monitor = SeedMonitor()
    assert monitor.metrics == {} and monitor.alerts == [] and monitor.thresholds == {}
    status = await monitor.check_health()
    assert isinstance(status, HealthStatus)
    assert status.system.store_reachable
    assert {a.agent for a in status.agents} == {"planner", "writer"}
    assert monitor.metrics["agent.writer.executions"].value == 30
    await monitor.trigger_alert("writer keeps refusing")
    assert [a.message for a in monitor.alerts] == ["writer keeps refusing"]
    assert isinstance(monitor.alerts[0], Alert)
    monitor.close()


async def test_tracehound_classes_directly(recorded: Path) -> None:
    analytics = tracehound.Analytics()
    assert isinstance(await analytics.analyze_patterns("1h"), dict)
    assert isinstance(await analytics.generate_stats(), dict)
    assert await analytics.detect_anomalies() == []
    analytics.close()

    monitor = tracehound.Monitor()
    monitor.thresholds["error_rate"] = 0.1
    status = await monitor.check_health()
    writer = status.agent("writer")
    assert writer is not None and writer.status == "unhealthy"  # 20% failed > 10%
    assert isinstance(monitor.metrics["agent.writer.error_rate"], tracehound.MonitorMetric)
    await monitor.trigger_alert("disk almost full")
    await monitor.trigger_alert("disk almost full")  # de-duplicated
    assert len(monitor.alerts) == 1
    monitor.close()
    # ``tracehound.Metric`` stays the record type
    assert tracehound.Metric is tracehound.model.Metric
