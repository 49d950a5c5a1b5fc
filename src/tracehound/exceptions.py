"""The tracehound exception tree. The SDK never raises these into agent code on the hot path;
they surface from explicit APIs (configuration, decoding, queries, the CLI)."""

from __future__ import annotations

__all__ = [
    "CodecError",
    "ConfigError",
    "ExporterError",
    "SchemaError",
    "TraceError",
    "TracehoundError",
    "ValidationError",
]


class TracehoundError(Exception):
    """Base class of every tracehound error."""


class ConfigError(TracehoundError, ValueError):
    """An invalid configuration option or environment variable."""


class ValidationError(TracehoundError, ValueError):
    """An argument or entry failed validation; ``field`` names the offending argument."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CodecError(ValidationError):
    """A serialized record could not be decoded."""


class ExporterError(TracehoundError):
    """An exporter failed to deliver a batch."""


class SchemaError(TracehoundError):
    """The database schema is missing or behind the code."""


class TraceError(TracehoundError):
    """A trace entry could not be stored (seed 001's ``TraceError``)."""
