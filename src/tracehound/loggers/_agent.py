"""Seed 000's ``AgentLogger``: actions, decisions, learning updates, state changes, content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import BaseLogger, agent_identity
from ._levels import INFO
from ._validate import check_mapping, check_name

__all__ = ["AgentLogger"]


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for key in new:
        if key not in old:
            keys.append(str(key))
        else:
            try:
                if old[key] != new[key]:
                    keys.append(str(key))
            except Exception:
                keys.append(str(key))
    keys.extend(str(key) for key in old if key not in new)
    return keys


class AgentLogger(BaseLogger):
    """Logs one agent's activity. Records are events of the ``agents`` category with
    ``agent_name = agent_id = <agent_id>`` and ``agent_role = <agent_role>``; their data carries
    the seed's ``event_type`` (``agent_action``, ``agent_decision``…) and ``logger``
    (``agent.<role>``) next to the call's fields.

    Wrong argument types raise :class:`~tracehound.loggers.ArgumentError` naming the argument;
    recording itself never raises.
    """

    category = "agents"

    def __init__(self, agent_id: str, agent_role: str) -> None:
        agent_id, agent_role = agent_identity(agent_id, agent_role)
        super().__init__(f"agent.{agent_role}", agent_id, agent_role)

    def log_action(
        self,
        action_type: str,
        action_data: Mapping[str, Any] | None = None,
        decision_context: Mapping[str, Any] | None = None,
    ) -> None:
        """An action the agent takes (event type ``action``, INFO)."""
        if not self.enabled_for(INFO):
            return
        check_name(action_type, "action_type")
        fields: dict[str, Any] = {
            "action_type": action_type,
            "action_data": check_mapping(action_data, "action_data"),
        }
        if decision_context is not None:
            fields["decision_context"] = check_mapping(decision_context, "decision_context")
        self._record(
            "action",
            action_type,
            INFO,
            "INFO",
            f"Agent action: {action_type}",
            "agent_action",
            fields,
        )

    def log_decision(
        self,
        decision_type: str,
        decision_data: Mapping[str, Any] | None = None,
        reasoning: str | None = None,
    ) -> None:
        """A decision and its reasoning (event type ``decision``, INFO)."""
        if not self.enabled_for(INFO):
            return
        check_name(decision_type, "decision_type")
        fields: dict[str, Any] = {
            "decision_type": decision_type,
            "decision_data": check_mapping(decision_data, "decision_data"),
        }
        if reasoning is not None:
            if not isinstance(reasoning, str):
                check_name(reasoning, "reasoning")
            fields["reasoning"] = reasoning
        self._record(
            "decision",
            decision_type,
            INFO,
            "INFO",
            f"Agent decision: {decision_type}",
            "agent_decision",
            fields,
        )

    def log_learning_update(
        self, learning_stage: str, update_data: Mapping[str, Any] | None = None
    ) -> None:
        """A change to the agent's learning (event type ``learning.update``, INFO)."""
        if not self.enabled_for(INFO):
            return
        check_name(learning_stage, "learning_stage")
        fields = {
            "learning_stage": learning_stage,
            "update_data": check_mapping(update_data, "update_data"),
        }
        self._record(
            "learning.update",
            learning_stage,
            INFO,
            "INFO",
            f"Learning update: {learning_stage}",
            "learning_update",
            fields,
        )

    def log_state_change(
        self,
        old_state: Mapping[str, Any] | None,
        new_state: Mapping[str, Any] | None,
        trigger: str | None = None,
    ) -> None:
        """A state transition; ``changed_keys`` lists what differs (event type
        ``state_change``, INFO)."""
        if not self.enabled_for(INFO):
            return
        old = check_mapping(old_state, "old_state")
        new = check_mapping(new_state, "new_state")
        if trigger is not None:
            check_name(trigger, "trigger")
        fields = {
            "old_state": old,
            "new_state": new,
            "trigger": trigger,
            "changed_keys": _changed_keys(old, new),
        }
        what = f" ({trigger})" if trigger else ""
        self._record(
            "state_change",
            trigger or "state_change",
            INFO,
            "INFO",
            f"State change{what}",
            "state_change",
            fields,
        )

    def log_content_generation(
        self,
        content_type: str,
        content_id: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """A piece of content the agent produced (event type ``content``, INFO)."""
        if not self.enabled_for(INFO):
            return
        check_name(content_type, "content_type")
        if not isinstance(content_id, str | int) or isinstance(content_id, bool):
            check_name(content_id, "content_id")
        fields = {
            "content_type": content_type,
            "content_id": str(content_id),
            "metadata": check_mapping(metadata, "metadata"),
        }
        self._record(
            "content",
            content_type,
            INFO,
            "INFO",
            f"Content generated: {content_type} {content_id}",
            "content_generation",
            fields,
        )
