"""Seed 000's interaction logs: content interactions, social connections, viral cascades and
collaborations (events of type ``interaction``, category ``interactions``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ._base import BaseLogger
from ._levels import INFO
from ._validate import ArgumentError, check_mapping, check_name, check_number

__all__ = ["InteractionLogger"]


class _Cascade:
    __slots__ = ("depth", "origin", "reach", "resharers")

    def __init__(self, origin: str | None) -> None:
        self.origin = origin
        self.depth = 0
        self.reach = 0
        self.resharers: set[str] = set()


class InteractionLogger(BaseLogger):
    """Agent-to-agent and agent-to-content interactions.

    Every record's ``data`` names the actor (``source_agent``) and, when there is one, the
    other side (``target_agent``): that is how analysis finds agents that interacted with each
    other. ``agent_id`` (optional) is the default actor.
    """

    category = "interactions"

    def __init__(self, agent_id: str | None = None) -> None:
        if agent_id is not None:
            check_name(agent_id, "agent_id", limit=200)
        super().__init__("interactions", None, None)
        self.default_agent = agent_id
        self._lock = threading.Lock()
        self._cascades: dict[str, _Cascade] = {}

    def _actor(self, agent_id: Any, field: str = "agent_id") -> str:
        if agent_id is None:
            if self.default_agent is None:
                raise ArgumentError(
                    f"{field}: required (no default agent on this logger)", field=field
                )
            return self.default_agent
        return check_name(agent_id, field, limit=200)

    def _interaction(
        self,
        name: str,
        actor: str,
        message: str,
        event_type: str,
        fields: dict[str, Any],
        details: Mapping[str, Any] | None,
    ) -> None:
        fields["source_agent"] = actor
        data = {"agent": actor, "agent_id": actor}
        data.update(fields)
        self._record("interaction", name, INFO, "INFO", message, event_type, data, details)

    def log_content_interaction(
        self,
        interaction_type: str,
        content_id: str,
        agent_id: str | None = None,
        *,
        content_owner: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """An agent liked, shared, commented on or viewed a piece of content."""
        if not self.enabled_for(INFO):
            return
        check_name(interaction_type, "interaction_type")
        check_name(content_id, "content_id")
        actor = self._actor(agent_id)
        if content_owner is not None:
            check_name(content_owner, "content_owner", limit=200)
        self._interaction(
            interaction_type,
            actor,
            f"{actor} {interaction_type} {content_id}",
            "content_interaction",
            {
                "interaction_type": interaction_type,
                "content_id": content_id,
                "target_agent": content_owner,
            },
            check_mapping(details, "details"),
        )

    def log_social_connection(
        self,
        source_agent: str,
        target_agent: str,
        connection_type: str = "follow",
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """A social link between two agents (follow, unfollow, block…)."""
        if not self.enabled_for(INFO):
            return
        source = check_name(source_agent, "source_agent", limit=200)
        target = check_name(target_agent, "target_agent", limit=200)
        check_name(connection_type, "connection_type")
        self._interaction(
            connection_type,
            source,
            f"{source} {connection_type} {target}",
            "social_connection",
            {"interaction_type": connection_type, "target_agent": target},
            check_mapping(details, "details"),
        )

    def log_viral_cascade(
        self,
        content_id: str,
        resharer: str,
        *,
        origin_agent: str | None = None,
        parent_agent: str | None = None,
        depth: int | None = None,
        reach: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """One step of a viral cascade: ``resharer`` reshared ``content_id`` from
        ``parent_agent`` (the origin's content at depth 1). ``reach`` is the audience this
        reshare reached (unknown: each reshare counts 1). The logger tracks each cascade's depth, total reach and resharers."""
        check_name(content_id, "content_id")
        who = check_name(resharer, "resharer", limit=200)
        if origin_agent is not None:
            check_name(origin_agent, "origin_agent", limit=200)
        if parent_agent is not None:
            check_name(parent_agent, "parent_agent", limit=200)
        check_number(depth, "depth", optional=True, integer=True, minimum=0)
        check_number(reach, "reach", optional=True, integer=True, minimum=0)
        with self._lock:
            cascade = self._cascades.get(content_id)
            if cascade is None:
                if len(self._cascades) > 100_000:
                    self._cascades.clear()
                cascade = self._cascades[content_id] = _Cascade(origin_agent)
            if origin_agent is not None and cascade.origin is None:
                cascade.origin = origin_agent
            level = depth if depth is not None else cascade.depth + 1
            cascade.depth = max(cascade.depth, level)
            cascade.reach += 1 if reach is None else reach
            cascade.resharers.add(who)
            total_reach, max_depth, origin = cascade.reach, cascade.depth, cascade.origin
        if not self.enabled_for(INFO):
            return
        self._interaction(
            "reshare",
            who,
            f"{who} reshared {content_id} (depth {level}"
            + (f", reach {reach})" if reach is not None else ")"),
            "viral_cascade",
            {
                "interaction_type": "reshare",
                "content_id": content_id,
                "origin_agent": origin,
                "target_agent": parent_agent or origin,
                "depth": level,
                "reach": reach,
                "cascade_reach": total_reach,
                "cascade_depth": max_depth,
            },
            check_mapping(details, "details"),
        )

    def cascade(self, content_id: str) -> dict[str, Any] | None:
        """What this logger saw of a cascade: origin, depth, reach, resharers."""
        with self._lock:
            c = self._cascades.get(content_id)
            if c is None:
                return None
            return {
                "content_id": content_id,
                "origin_agent": c.origin,
                "depth": c.depth,
                "reach": c.reach,
                "resharers": sorted(c.resharers),
            }

    def log_collaboration(
        self,
        agents: Sequence[str],
        collaboration_type: str,
        *,
        outcome: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Several agents working together (the first one is the initiator)."""
        if not self.enabled_for(INFO):
            return
        if isinstance(agents, str) or not isinstance(agents, Sequence) or len(agents) < 2:
            raise ArgumentError("agents: expected a list of at least two agent ids", field="agents")
        members = [check_name(a, "agents", limit=200) for a in agents]
        check_name(collaboration_type, "collaboration_type")
        if outcome is not None:
            check_name(outcome, "outcome", limit=10_000)
        self._interaction(
            collaboration_type,
            members[0],
            f"Collaboration {collaboration_type}: {', '.join(members)}",
            "collaboration",
            {
                "interaction_type": "collaboration",
                "collaboration_type": collaboration_type,
                "agents": members,
                "target_agent": members[1] if len(members) == 2 else None,
                "outcome": outcome,
            },
            check_mapping(details, "details"),
        )
