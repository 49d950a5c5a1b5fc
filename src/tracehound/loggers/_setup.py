"""Seed 000's ``setup_logging()``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..sdk import _runtime
from ._levels import set_level, set_levels

__all__ = ["setup_logging"]


def setup_logging(
    trace_dir: str | Path | None = None,
    *,
    levels: Mapping[str, Any] | None = None,
    level: Any = None,
    capture_logging: bool = True,
    **options: Any,
) -> _runtime.Runtime:
    """Initialize logging to the ``trace/`` layout (and the store) and return the runtime.

    * ``trace_dir`` and any other keyword (a :func:`tracehound.configure` option) reconfigure
      tracehound; without them the running configuration is kept (or the default one made).
    * ``level`` is the lowest level recorded by every logger; ``levels`` maps a category
      (``agents``, ``learning``, ``interactions``, ``performance``, ``system``, ``errors``,
      ``events``) or a logger name (``agent.creator``) to its own lowest level.
    * ``capture_logging`` (default on) routes records of the stdlib ``logging`` module and of
      structlog emitted inside a traced context into the trace
      (:func:`tracehound.instrument_logging`).

    Bad options raise :class:`~tracehound.exceptions.ConfigError` /
    :class:`~tracehound.exceptions.ValidationError` naming the option.
    """
    if trace_dir is not None:
        options["trace_dir"] = trace_dir
    rt = _runtime.configure(**options) if options else (_runtime._runtime or _runtime.get_runtime())
    if level is not None:
        set_level("*", level)
    if levels:
        set_levels(levels)
    if capture_logging:
        from ..integrations.logging import instrument_logging

        instrument_logging()
    return rt
