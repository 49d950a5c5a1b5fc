"""Seed 000's ``LearningLogger``: training steps, rewards, exploration, policy updates and
convergence."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from ._base import BaseLogger
from ._levels import DEBUG, INFO
from ._validate import ArgumentError, check_mapping, check_name, check_number

__all__ = ["LearningLogger"]


class _Series:
    """The last ``2 * window`` values of a metric, for a convergence test."""

    __slots__ = ("converged", "values")

    def __init__(self, window: int) -> None:
        self.values: deque[float] = deque(maxlen=2 * window)
        self.converged = False


class LearningLogger(BaseLogger):
    """Logs a learning system (bandit, RL, evolution…) of one agent.

    Events go to the ``learning`` category: ``learning.step`` (DEBUG), ``learning.reward``
    (INFO), ``learning.explore`` (DEBUG), ``learning.update`` (INFO). Numeric training metrics
    are watched for convergence: when the mean of the last ``window`` values of a metric differs
    from the mean of the ``window`` before by less than ``tolerance`` (relative), a
    ``convergence`` event is logged once (and again if it later diverges and re-converges).
    """

    category = "learning"

    def __init__(
        self,
        learning_type: str,
        agent_id: str | None = None,
        *,
        window: int = 20,
        tolerance: float = 0.01,
    ) -> None:
        check_name(learning_type, "learning_type", limit=200)
        if agent_id is not None:
            check_name(agent_id, "agent_id", limit=200)
        check_number(window, "window", integer=True, minimum=2)
        check_number(tolerance, "tolerance", minimum=0)
        super().__init__(f"learning.{learning_type}", agent_id, None)
        self.learning_type = learning_type
        self.window = window
        self.tolerance = float(tolerance)
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self.cumulative_reward = 0.0
        self.rewards = 0
        self.explorations = 0
        self.exploitations = 0
        self.steps = 0

    def _fields(self, event_type: str, **fields: Any) -> dict[str, Any]:
        fields["learning_type"] = self.learning_type
        return fields

    def log_training_step(
        self,
        step: int,
        metrics: Mapping[str, Any] | None = None,
        model_state: Mapping[str, Any] | None = None,
    ) -> None:
        """One training step or iteration (``learning.step``, DEBUG)."""
        check_number(step, "step", integer=True, minimum=0)
        values = check_mapping(metrics, "metrics")
        state = check_mapping(model_state, "model_state")
        converged = self._watch(step, values)
        self.steps += 1
        self._record(
            "learning.step",
            self.learning_type,
            DEBUG,
            "DEBUG",
            f"Training step {step}",
            "training_step",
            {
                "learning_type": self.learning_type,
                "step": step,
                "metrics": values,
                "model_state": state,
            },
        )
        for metric, info in converged:
            self._record(
                "learning.update",
                self.learning_type,
                INFO,
                "INFO",
                f"Convergence: {metric} {'converged' if info['converged'] else 'diverged'} at step {step}",
                "convergence",
                {"learning_type": self.learning_type, "step": step, "metric": metric, **info},
            )

    def _watch(self, step: int, metrics: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        changed: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            for name, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                series = self._series.get(name)
                if series is None:
                    if len(self._series) >= 64:
                        continue
                    series = self._series[name] = _Series(self.window)
                series.values.append(float(value))
                info = self._status(series)
                if info is not None and info["converged"] != series.converged:
                    series.converged = bool(info["converged"])
                    changed.append((str(name), info))
        return changed

    def _status(self, series: _Series) -> dict[str, Any] | None:
        w = self.window
        vals = series.values
        if len(vals) < 2 * w:
            return None
        items = list(vals)
        previous = sum(items[:w]) / w
        recent = sum(items[w:]) / w
        scale = max(abs(previous), abs(recent), 1e-12)
        change = abs(recent - previous) / scale
        return {
            "converged": change <= self.tolerance,
            "relative_change": change,
            "recent_mean": recent,
            "previous_mean": previous,
            "window": w,
            "tolerance": self.tolerance,
        }

    def convergence_status(self) -> dict[str, dict[str, Any]]:
        """Per watched metric: ``converged``, ``relative_change``, ``recent_mean``… (metrics
        with fewer than ``2 * window`` values report ``converged: False`` and ``samples``)."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for name, series in self._series.items():
                info = self._status(series)
                if info is None:
                    info = {
                        "converged": False,
                        "samples": len(series.values),
                        "window": self.window,
                    }
                out[name] = info
        return out

    def log_reward(
        self, action_id: str, reward: float, cumulative_reward: float | None = None
    ) -> None:
        """A reward signal (``learning.reward``, INFO). Without ``cumulative_reward`` the
        logger's own running sum is recorded."""
        if not isinstance(action_id, str | int) or isinstance(action_id, bool):
            raise ArgumentError(
                f"action_id: expected a string, got {type(action_id).__name__}", field="action_id"
            )
        check_number(reward, "reward")
        check_number(cumulative_reward, "cumulative_reward", optional=True)
        with self._lock:
            self.cumulative_reward += float(reward)
            self.rewards += 1
            total = (
                self.cumulative_reward if cumulative_reward is None else float(cumulative_reward)
            )
        self._record(
            "learning.reward",
            self.learning_type,
            INFO,
            "INFO",
            f"Reward {reward:g} for {action_id}",
            "reward",
            {
                "learning_type": self.learning_type,
                "action_id": str(action_id),
                "reward": reward,
                "cumulative_reward": total,
            },
        )

    def log_exploration_exploitation(
        self, action_selected: str, exploration: bool, epsilon: float | None = None
    ) -> None:
        """Whether an action was explored or exploited (``learning.explore``, DEBUG)."""
        check_name(action_selected, "action_selected")
        if not isinstance(exploration, bool):
            raise ArgumentError(
                f"exploration: expected a boolean, got {type(exploration).__name__}",
                field="exploration",
            )
        check_number(epsilon, "epsilon", optional=True, minimum=0)
        with self._lock:
            if exploration:
                self.explorations += 1
            else:
                self.exploitations += 1
        mode = "explore" if exploration else "exploit"
        self._record(
            "learning.explore",
            self.learning_type,
            DEBUG,
            "DEBUG",
            f"{mode.capitalize()}: {action_selected}",
            "exploration_exploitation",
            {
                "learning_type": self.learning_type,
                "action_selected": action_selected,
                "exploration": exploration,
                "mode": mode,
                "epsilon": epsilon,
            },
        )

    def log_policy_update(
        self, update_data: Mapping[str, Any] | None = None, reason: str | None = None
    ) -> None:
        """A policy or strategy update (``learning.update``, INFO)."""
        data = check_mapping(update_data, "update_data")
        if reason is not None:
            check_name(reason, "reason", limit=10_000)
        self._record(
            "learning.update",
            self.learning_type,
            INFO,
            "INFO",
            f"Policy update ({self.learning_type})" + (f": {reason}" if reason else ""),
            "policy_update",
            {"learning_type": self.learning_type, "update_data": data, "reason": reason},
        )

    def log_convergence(
        self,
        metric: str,
        value: float,
        converged: bool,
        *,
        threshold: float | None = None,
        step: int | None = None,
    ) -> None:
        """An explicit convergence signal (``learning.update`` with event_type ``convergence``)."""
        check_name(metric, "metric")
        check_number(value, "value")
        if not isinstance(converged, bool):
            raise ArgumentError(
                f"converged: expected a boolean, got {type(converged).__name__}", field="converged"
            )
        check_number(threshold, "threshold", optional=True)
        check_number(step, "step", optional=True, integer=True, minimum=0)
        self._record(
            "learning.update",
            self.learning_type,
            INFO,
            "INFO",
            f"Convergence: {metric} {'converged' if converged else 'not converged'} ({value:g})",
            "convergence",
            {
                "learning_type": self.learning_type,
                "metric": metric,
                "value": value,
                "converged": converged,
                "threshold": threshold,
                "step": step,
            },
        )

    @property
    def exploration_rate(self) -> float | None:
        """Share of explored actions so far (``None`` before any)."""
        total = self.explorations + self.exploitations
        return None if total == 0 else self.explorations / total
