"""Seed 001's ``TraceEntry`` and its validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from ..exceptions import ValidationError
from ..model._ids import new_id
from ..model._safe import sanitize

__all__ = ["CRITICAL_EVENT_TYPES", "TraceEntry", "TraceEntryError"]

CRITICAL_EVENT_TYPES: Final = frozenset(
    {"error", "critical", "failure", "crash", "checkpoint", "state_snapshot", "emergency"}
)
_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_MAX_TYPE: Final = 200


class TraceEntryError(ValidationError):
    """An invalid trace entry; ``field`` names what is wrong (``event_type``, ``data``…)."""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclasses.dataclass
class TraceEntry:
    """One entry of the trace agent's log (the seed's fields plus an ``id`` and
    ``requires_analysis``)."""

    timestamp: str
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    id: str = dataclasses.field(default_factory=new_id)
    requires_analysis: bool = False

    # -- validation ---------------------------------------------------------------------
    def validate(self) -> TraceEntry:
        """Check every field; raise :class:`TraceEntryError` naming the first bad one.
        Returns the entry (with ``timestamp`` normalized to ISO-8601 text)."""
        ts = self.timestamp
        if isinstance(ts, datetime):
            self.timestamp = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
        elif isinstance(ts, str):
            try:
                datetime.fromisoformat(ts.replace("Z", "+00:00"))
            except ValueError:
                raise TraceEntryError(
                    f"timestamp: not an ISO-8601 time: {ts[:64]!r}", field="timestamp"
                ) from None
        else:
            raise TraceEntryError(
                f"timestamp: expected an ISO-8601 string, got {type(ts).__name__}",
                field="timestamp",
            )
        et = self.event_type
        if not isinstance(et, str):
            raise TraceEntryError(
                f"event_type: expected a string, got {type(et).__name__}", field="event_type"
            )
        if not et.strip():
            raise TraceEntryError("event_type: must not be empty", field="event_type")
        if len(et) > _MAX_TYPE:
            raise TraceEntryError(
                f"event_type: longer than {_MAX_TYPE} characters", field="event_type"
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in et):
            raise TraceEntryError("event_type: contains control characters", field="event_type")
        for name in ("data", "metadata"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise TraceEntryError(
                    f"{name}: expected a mapping (dict), got {type(value).__name__}", field=name
                )
            for key in value:
                if not isinstance(key, str):
                    raise TraceEntryError(
                        f"{name}: keys must be strings, got {type(key).__name__} {key!r:.40}",
                        field=name,
                    )
        level = self.metadata.get("level")
        if level is not None and (not isinstance(level, str) or level.upper() not in _LEVELS):
            raise TraceEntryError(
                f"metadata.level: expected one of {', '.join(_LEVELS)}, got {level!r:.40}",
                field="metadata.level",
            )
        if not isinstance(self.id, str) or not self.id:
            raise TraceEntryError("id: expected a non-empty string", field="id")
        if not isinstance(self.requires_analysis, bool):
            raise TraceEntryError(
                "requires_analysis: expected a boolean", field="requires_analysis"
            )
        return self

    # -- derived ------------------------------------------------------------------------
    @property
    def level(self) -> str:
        """``metadata["level"]``, else ERROR for error-like types, else INFO."""
        level = self.metadata.get("level") if isinstance(self.metadata, Mapping) else None
        if isinstance(level, str) and level.upper() in _LEVELS:
            return level.upper()
        low = self.event_type.lower() if isinstance(self.event_type, str) else ""
        if "critical" in low or "crash" in low or "emergency" in low:
            return "CRITICAL"
        if "error" in low or "fail" in low or "exception" in low:
            return "ERROR"
        return "INFO"

    @property
    def critical(self) -> bool:
        """Whether the entry must be on disk before ``log_event`` returns (fsync): errors,
        checkpoints, state snapshots, ``metadata["critical"]``, level ERROR and above."""
        if isinstance(self.metadata, Mapping) and self.metadata.get("critical") is True:
            return True
        if isinstance(self.event_type, str) and self.event_type.lower() in CRITICAL_EVENT_TYPES:
            return True
        return self.level in ("ERROR", "CRITICAL")

    # -- serialization ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-safe data."""
        return {
            "id": self.id,
            "timestamp": self.timestamp,
            "event_type": self.event_type,
            "data": sanitize(self.data),
            "metadata": sanitize(self.metadata),
            "requires_analysis": self.requires_analysis,
        }

    def to_json(self) -> bytes:
        """One JSON line (no newline)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> TraceEntry:
        """Rebuild (and validate) an entry from :meth:`to_dict` output."""
        if not isinstance(obj, Mapping):
            raise TraceEntryError(
                f"entry: expected a mapping, got {type(obj).__name__}", field="entry"
            )
        entry = cls(
            timestamp=obj.get("timestamp"),  # type: ignore[arg-type]
            event_type=obj.get("event_type"),  # type: ignore[arg-type]
            data=obj.get("data") if obj.get("data") is not None else {},  # type: ignore[arg-type]
            metadata=obj.get("metadata") if obj.get("metadata") is not None else {},  # type: ignore[arg-type]
            id=obj.get("id") or new_id(),
            requires_analysis=bool(obj.get("requires_analysis", False)),
        )
        return entry.validate()

    @classmethod
    def create(
        cls, event_type: str, data: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
    ) -> TraceEntry:
        """A validated entry stamped now (UTC)."""
        entry = cls(
            timestamp=_utc_now(),
            event_type=event_type,
            data=data,  # type: ignore[arg-type]
            metadata=metadata if metadata is not None else {},  # type: ignore[arg-type]
        )
        return entry.validate()
