"""Log levels and per-category level filtering for the seed-000 loggers.

A threshold can be set for a *category* (``agents``, ``learning``, ``interactions``,
``performance``, ``system``, ``errors``, ``events``), for a *logger name* (``agent.creator``,
``learning.bandit``…) or for everything (``"*"``). The most specific one wins: logger name,
then category, then ``"*"``, then the ``level`` setting of the running configuration
(``TRACEHOUND_LEVEL``, default ``DEBUG``).

The check is what every logger call does first, so it costs two dictionary look-ups and a
comparison; nothing is built for a record that is filtered out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..exceptions import ValidationError
from ..sdk import _runtime

__all__ = [
    "CATEGORIES",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "LEVEL_NAMES",
    "LEVEL_NUMBERS",
    "WARNING",
    "get_level",
    "is_enabled",
    "level_number",
    "reset_levels",
    "set_level",
]

DEBUG: Final = 10
INFO: Final = 20
WARNING: Final = 30
ERROR: Final = 40
CRITICAL: Final = 50

LEVEL_NUMBERS: Final[dict[str, int]] = {
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARNING": WARNING,
    "ERROR": ERROR,
    "CRITICAL": CRITICAL,
}
LEVEL_NAMES: Final[dict[int, str]] = {v: k for k, v in LEVEL_NUMBERS.items()}
_ALIASES: Final = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "TRACE": "DEBUG"}

CATEGORIES: Final = (
    "agents",
    "learning",
    "interactions",
    "performance",
    "system",
    "errors",
    "events",
)

_by_category: dict[str, int] = {}
_by_logger: dict[str, int] = {}
_default: list[int | None] = [None]  # explicit "*" threshold
# (runtime object, its threshold): the ``level`` setting, read once per runtime
_runtime_level: list[object] = [None, DEBUG]


def level_number(level: object, field: str = "level") -> int:
    """The number of a level given as a name (``"info"``, ``"WARN"``) or a number (``20``).
    Raises :class:`~tracehound.exceptions.ValidationError` naming ``field`` otherwise."""
    if isinstance(level, bool):
        raise ValidationError(
            f"{field}: expected a level name or number, got a boolean", field=field
        )
    if isinstance(level, int):
        return level
    if isinstance(level, str):
        name = level.strip().upper()
        name = _ALIASES.get(name, name)
        number = LEVEL_NUMBERS.get(name)
        if number is not None:
            return number
        raise ValidationError(
            f"{field}: unknown level {level!r}; expected one of {', '.join(LEVEL_NUMBERS)}",
            field=field,
        )
    raise ValidationError(
        f"{field}: expected a level name or number, got {type(level).__name__}", field=field
    )


def level_name(number: int) -> str:
    """The level name of a number (numbers between levels round down; below DEBUG is DEBUG)."""
    name = LEVEL_NAMES.get(number)
    if name is not None:
        return name
    if number >= CRITICAL:
        return "CRITICAL"
    if number >= ERROR:
        return "ERROR"
    if number >= WARNING:
        return "WARNING"
    if number >= INFO:
        return "INFO"
    return "DEBUG"


def set_level(target: str, level: object) -> None:
    """Set the lowest level recorded for a category, a logger name, or ``"*"`` (everything).
    ``level=None`` removes the threshold."""
    if not isinstance(target, str) or not target:
        raise ValidationError("target: expected a category or logger name", field="target")
    if level is None:
        if target == "*":
            _default[0] = None
        else:
            _by_category.pop(target, None)
            _by_logger.pop(target, None)
        return
    number = level_number(level)
    if target == "*":
        _default[0] = number
    elif target in CATEGORIES:
        _by_category[target] = number
    else:
        _by_logger[target] = number


def set_levels(levels: Mapping[str, object]) -> None:
    """``set_level`` for every item of a mapping (target → level)."""
    if not isinstance(levels, Mapping):
        raise ValidationError("levels: expected a mapping of category → level", field="levels")
    for target, level in levels.items():
        set_level(target, level)


def reset_levels() -> None:
    """Remove every threshold set by :func:`set_level` (the ``level`` setting applies again)."""
    _by_category.clear()
    _by_logger.clear()
    _default[0] = None


def _base() -> int:
    explicit = _default[0]
    if explicit is not None:
        return explicit
    rt = _runtime._runtime
    if rt is not _runtime_level[0]:
        number = DEBUG
        if rt is not None:
            try:
                number = level_number(rt.settings.level)
            except ValidationError:
                number = DEBUG
        _runtime_level[0] = rt
        _runtime_level[1] = number
    value = _runtime_level[1]
    assert isinstance(value, int)
    return value


def get_level(category: str, logger: str | None = None) -> int:
    """The threshold in force for a category (and logger name)."""
    if logger is not None and _by_logger:
        number = _by_logger.get(logger)
        if number is not None:
            return number
    number = _by_category.get(category)
    return number if number is not None else _base()


def is_enabled(category: str, level: int, logger: str | None = None) -> bool:
    """Whether a record of ``level`` from ``category`` (and ``logger``) is recorded."""
    if logger is not None and _by_logger:
        number = _by_logger.get(logger)
        if number is not None:
            return level >= number
    number = _by_category.get(category)
    if number is None:
        number = _base()
    return level >= number
