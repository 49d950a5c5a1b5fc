"""Stored rows → answer dictionaries (the shapes of :mod:`tracehound.api.schemas`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from ..model import Event, Span

__all__ = ["event_out", "plain", "span_out"]

_SPAN_FIELDS: Final = Span._fields
_EVENT_FIELDS: Final = Event._fields


def span_out(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in _SPAN_FIELDS}
    if out["attributes"] is None:
        out["attributes"] = {}
    elif not isinstance(out["attributes"], dict):
        out["attributes"] = {"value": out["attributes"]}
    if out["is_streaming"] is not None:
        out["is_streaming"] = bool(out["is_streaming"])
    return out


def event_out(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in _EVENT_FIELDS}
    if out["data"] is None:
        out["data"] = {}
    elif not isinstance(out["data"], dict):
        out["data"] = {"value": out["data"]}
    return out


def plain(value: Any) -> Any:
    """Enums → their values, read-only mappings → dicts, recursively."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
