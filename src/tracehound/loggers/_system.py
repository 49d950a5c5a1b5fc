"""Seed 000's system logs (initialization, configuration changes, module loading) and event
logs (simulation start/end, checkpoints, phase transitions, milestones)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import BaseLogger
from ._levels import INFO, WARNING
from ._validate import check_mapping, check_name

__all__ = ["EventLogger", "SystemLogger"]


class SystemLogger(BaseLogger):
    """Framework-wide logs (category ``system``, event type ``system``; ``debug``…``critical``
    give ``log`` events without an agent, which land in ``system/`` too)."""

    category = "system"

    def __init__(self, component: str = "system") -> None:
        check_name(component, "component", limit=200)
        super().__init__(f"system.{component}" if component != "system" else "system")
        self.component = component

    def _system(
        self, name: str, level: int, message: str, event_type: str, fields: dict[str, Any]
    ) -> None:
        fields.setdefault("component", self.component)
        self._record(
            "system",
            name,
            level,
            "INFO" if level == INFO else "WARNING",
            message,
            event_type,
            fields,
        )

    def log_initialization(self, component: str, config: Mapping[str, Any] | None = None) -> None:
        """A component of the framework started (with its configuration)."""
        check_name(component, "component")
        self._system(
            component,
            INFO,
            f"Initialized {component}",
            "initialization",
            {"component": component, "config": check_mapping(config, "config")},
        )

    def log_config_change(
        self, key: str, old_value: Any, new_value: Any, *, source: str | None = None
    ) -> None:
        """A configuration value changed."""
        check_name(key, "key")
        if source is not None:
            check_name(source, "source")
        self._system(
            key,
            INFO,
            f"Configuration changed: {key} = {new_value!r} (was {old_value!r})",
            "config_change",
            {"key": key, "old_value": old_value, "new_value": new_value, "source": source},
        )

    def log_module_loaded(
        self,
        module: str,
        version: str | None = None,
        *,
        success: bool = True,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """A module (plugin, model, tool) was loaded — or failed to load (WARNING)."""
        check_name(module, "module")
        if version is not None:
            check_name(version, "version")
        what = "Loaded" if success else "Failed to load"
        self._system(
            module,
            INFO if success else WARNING,
            f"{what} module {module}" + (f" {version}" if version else ""),
            "module_loaded" if success else "module_load_failed",
            {
                "module": module,
                "version": version,
                "success": success,
                "details": check_mapping(details, "details"),
            },
        )


class EventLogger(BaseLogger):
    """High-level milestones (category ``events``, event type ``milestone``)."""

    category = "events"

    def __init__(self, source: str = "simulation") -> None:
        check_name(source, "source", limit=200)
        super().__init__(f"events.{source}")
        self.source = source

    def _milestone(
        self,
        name: str,
        message: str,
        event_type: str,
        fields: dict[str, Any],
        details: Mapping[str, Any] | None = None,
    ) -> None:
        fields.setdefault("source", self.source)
        self._record("milestone", name, INFO, "INFO", message, event_type, fields, details)

    def log_simulation_start(
        self, config: Mapping[str, Any] | None = None, *, name: str | None = None
    ) -> None:
        """The simulation (or run) started."""
        if name is not None:
            check_name(name, "name")
        self._milestone(
            name or "simulation_start",
            "Simulation started" + (f": {name}" if name else ""),
            "simulation_start",
            {"config": check_mapping(config, "config")},
        )

    def log_simulation_end(
        self, summary: Mapping[str, Any] | None = None, *, name: str | None = None
    ) -> None:
        """The simulation (or run) ended."""
        if name is not None:
            check_name(name, "name")
        self._milestone(
            name or "simulation_end",
            "Simulation ended" + (f": {name}" if name else ""),
            "simulation_end",
            {"summary": check_mapping(summary, "summary")},
        )

    def log_checkpoint(
        self,
        name: str,
        state: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """A checkpoint was reached (or saved)."""
        check_name(name, "name")
        self._milestone(
            name,
            f"Checkpoint: {name}",
            "checkpoint",
            {"checkpoint": name, "state": check_mapping(state, "state")},
            check_mapping(details, "details"),
        )

    def log_phase_transition(
        self, from_phase: str | None, to_phase: str, *, reason: str | None = None
    ) -> None:
        """The run moved from one phase to another."""
        if from_phase is not None:
            check_name(from_phase, "from_phase")
        check_name(to_phase, "to_phase")
        if reason is not None:
            check_name(reason, "reason", limit=10_000)
        self._milestone(
            to_phase,
            f"Phase transition: {from_phase or '-'} -> {to_phase}",
            "phase_transition",
            {"from_phase": from_phase, "to_phase": to_phase, "reason": reason},
        )

    def log_milestone(self, name: str, details: Mapping[str, Any] | None = None) -> None:
        """Any other high-level milestone."""
        check_name(name, "name")
        self._milestone(
            name, f"Milestone: {name}", "milestone", {}, check_mapping(details, "details")
        )
