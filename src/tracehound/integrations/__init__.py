"""Integrations with other libraries. Each lives in its own module and imports its library
only when used: :mod:`tracehound.integrations.logging` (stdlib ``logging`` and structlog)."""

from __future__ import annotations

__all__: list[str] = []
