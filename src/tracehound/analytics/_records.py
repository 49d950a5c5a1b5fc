"""Result records of the analytics queries: attribute *and* item access (the seeds use both:
``execution.agent_name`` and ``execution['execution']['current_stage']``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["ExecutionRecord", "Record", "StageLog"]


class Record(Mapping[str, Any]):
    """A read-only mapping whose keys are also attributes."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        try:
            return data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return bool(self._data == other._data)
        if isinstance(other, Mapping):
            return bool(self._data == dict(other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._data.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r:.60}" for k, v in self._data.items())
        return f"{type(self).__name__}({inner})"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._data})


class ExecutionRecord(Record):
    """One agent execution (seed 003's ``AgentExecution``): ``execution_id``, ``agent_name``,
    ``method``, ``status``, ``execution_status``, ``current_stage``, ``error_type``,
    ``error_message``, ``error_traceback``, ``input_data``, ``output_data``, times, context
    (``vault_id``, ``conversation_id``, ``user_id``), relevance fields and links."""

    __slots__ = ()

    def __repr__(self) -> str:
        d = self._data
        return (
            f"ExecutionRecord({d.get('agent_name')}.{d.get('method')} {d.get('status')} "
            f"execution_id={d.get('execution_id')})"
        )


class StageLog(Record):
    """One stage-by-stage log entry (seed 003's ``AgentExecutionLog``): ``stage``,
    ``message``, ``data``, ``status``, ``level``, ``timestamp``, ``duration_ms``, ``kind``
    (``stage`` or ``event``)."""

    __slots__ = ()
