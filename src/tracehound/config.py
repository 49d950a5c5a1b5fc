"""Every setting declared once: name, ``TRACEHOUND_*`` environment variable, type, default, doc.

Precedence: keyword arguments to :func:`tracehound.configure` beat environment variables,
which beat defaults. ``Settings.load(**overrides)`` builds a validated, frozen settings object.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from .exceptions import ConfigError

__all__ = ["OPTIONS", "Option", "Settings", "parse_size"]

_TRUE: Final = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE: Final = frozenset({"0", "false", "no", "off", "n", "f", ""})
_UNITS: Final = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(text: str) -> int:
    """``"200MB"`` → 200_000_000; ``"1GiB"`` → 1_073_741_824; plain integers are bytes."""
    raw = text.strip().lower().replace("_", "")
    digits = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(digits) :].strip()
    if unit not in _UNITS or not digits:
        raise ValueError(f"expected an integer or a size such as 200MB, got {text!r}")
    try:
        return int(float(digits) * _UNITS[unit])
    except ValueError:
        raise ValueError(f"expected an integer or a size such as 200MB, got {text!r}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError("expected a boolean (true/false, 1/0, yes/no, on/off)")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, int):
        return value
    raise ValueError("expected an integer")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    return float(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(value)


def _path(value: Any) -> Path:
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ValueError("expected a path")


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list | tuple):
        return tuple(_str(v) for v in value)
    raise ValueError("expected a comma-separated list")


def _rotation(value: Any) -> dict[str, tuple[int, int]]:
    """``"agents=200MB:10,errors=50MB:5"`` or a mapping category → (max_bytes, backups)."""
    out: dict[str, tuple[int, int]] = {}
    if isinstance(value, str):
        for part in filter(None, (p.strip() for p in value.split(","))):
            cat, _, spec = part.partition("=")
            size, _, backups = spec.partition(":")
            out[cat.strip()] = (parse_size(size), int(backups or 5))
        return out
    if isinstance(value, Mapping):
        for cat, spec in value.items():
            if isinstance(spec, tuple | list) and len(spec) == 2:
                out[str(cat)] = (_int(spec[0]), int(spec[1]))
            else:
                raise ValueError(f"{cat}: expected (max_bytes, backups)")
        return out
    raise ValueError("expected 'category=SIZE:BACKUPS,…' or a mapping")


def _levels(value: Any) -> dict[str, str]:
    """``"learning=INFO,performance=WARNING"`` or a mapping category → level name."""
    from .model import LEVELS

    items: list[tuple[str, str]]
    if isinstance(value, str):
        items = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            cat, _, lvl = part.partition("=")
            items.append((cat.strip(), lvl.strip()))
    elif isinstance(value, Mapping):
        items = [(str(k), str(v)) for k, v in value.items()]
    else:
        raise ValueError("expected 'category=LEVEL,…' or a mapping")
    out = {}
    for cat, lvl in items:
        if lvl.upper() not in LEVELS:
            raise ValueError(f"{cat}: unknown level {lvl!r}")
        out[cat] = lvl.upper()
    return out


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    parse: Callable[[Any], Any]
    default: Any
    doc: str

    @property
    def env(self) -> str:
        return "TRACEHOUND_" + self.name.upper()


DEFAULT_ROTATION: Final = {
    "agents": (200_000_000, 10),
    "learning": (100_000_000, 10),
    "errors": (50_000_000, 5),
    "interactions": (100_000_000, 10),
    "performance": (100_000_000, 10),
    "system": (50_000_000, 5),
    "events": (100_000_000, 10),
    "session": (200_000_000, 10),
}

OPTIONS: Final[tuple[Option, ...]] = (
    Option("enabled", _bool, True, "Record anything at all. Disabled tracing is a no-op."),
    Option(
        "trace_dir",
        _path,
        Path("trace"),
        "Directory of the file layout, spool and default database.",
    ),
    Option(
        "store",
        _opt_str,
        None,
        "Database URL: sqlite:///path.db or postgresql://…; default <trace_dir>/tracehound.db. 'none' disables it.",
    ),
    Option(
        "exporters",
        _list,
        ("files", "store"),
        "Sinks to export to: files, store, http, nats, otlp, console.",
    ),
    Option("project", _str, "default", "Project the records belong to."),
    Option("session_id", _opt_str, None, "Session id; default: the start time as YYYYMMDD_HHMMSS."),
    Option(
        "service_name",
        _opt_str,
        None,
        "Name of the service emitting records (a resource attribute).",
    ),
    Option("sample_rate", _float, 1.0, "Fraction of traces kept (decided at the root span)."),
    Option(
        "max_queue_size",
        _int,
        200_000,
        "Records held in memory before new ones are dropped and counted.",
    ),
    Option("batch_size", _int, 2048, "Largest batch handed to an exporter."),
    Option("flush_interval", _float, 0.5, "Seconds between background exports."),
    Option(
        "shutdown_timeout", _float, 2.0, "Seconds allowed at exit to flush; the rest is spooled."
    ),
    Option("export_retries", _int, 2, "Immediate retries of a failed export before spooling."),
    Option("retry_backoff", _float, 0.05, "First retry delay in seconds (doubles per attempt)."),
    Option("retry_backoff_max", _float, 30.0, "Largest delay before re-probing a failed sink."),
    Option("spool_dir", _opt_str, None, "Spool directory; default <trace_dir>/.spool."),
    Option(
        "spool_max_bytes",
        _int,
        1 << 30,
        "Spool size cap; beyond it records are dropped and counted.",
    ),
    Option("redact", _bool, True, "Scrub secrets by key and by value before any write."),
    Option("redact_keys", _list, (), "Extra key names (substrings, case-insensitive) to redact."),
    Option("redact_patterns", _list, (), "Extra regular expressions whose matches are redacted."),
    Option("max_attributes", _int, 128, "Attributes kept per record; the rest are counted."),
    Option(
        "max_string_length", _int, 65_536, "Strings longer than this are truncated with a marker."
    ),
    Option("max_depth", _int, 32, "Nesting depth kept in structured values."),
    Option("max_items", _int, 1_000, "Items kept per list or mapping."),
    Option(
        "file_rotation",
        _rotation,
        DEFAULT_ROTATION,
        "Rotation per category: category=SIZE:BACKUPS,…",
    ),
    Option("file_levels", _levels, {}, "Lowest level written per file category: category=LEVEL,…"),
    Option("level", _str, "DEBUG", "Lowest level recorded for events."),
    Option(
        "capture_logging", _bool, False, "Route stdlib logging records inside spans into the trace."
    ),
    Option(
        "http_endpoint", _opt_str, None, "Base URL of a tracehound server for the http exporter."
    ),
    Option("api_key", _opt_str, None, "API key for the http exporter."),
    Option("nats_url", _opt_str, None, "NATS server URL for the nats exporter."),
    Option("otlp_endpoint", _opt_str, None, "OTLP/HTTP endpoint for the otlp exporter."),
    Option("nats_stream", _str, "TRACEHOUND", "JetStream stream the nats exporter publishes to."),
    Option(
        "nats_subject",
        _str,
        "tracehound.records",
        "Subject prefix of published records (<prefix>.span|event|metric).",
    ),
    Option(
        "nats_records_per_message",
        _int,
        500,
        "Records of one type packed into one NATS message (1: a message per record).",
    ),
)

_BY_NAME: Final = {o.name: o for o in OPTIONS}


@dataclass(frozen=True, slots=True)
class Settings:
    enabled: bool = True
    trace_dir: Path = Path("trace")
    store: str | None = None
    exporters: tuple[str, ...] = ("files", "store")
    project: str = "default"
    session_id: str | None = None
    service_name: str | None = None
    sample_rate: float = 1.0
    max_queue_size: int = 200_000
    batch_size: int = 2048
    flush_interval: float = 0.5
    shutdown_timeout: float = 2.0
    export_retries: int = 2
    retry_backoff: float = 0.05
    retry_backoff_max: float = 30.0
    spool_dir: str | None = None
    spool_max_bytes: int = 1 << 30
    redact: bool = True
    redact_keys: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    max_attributes: int = 128
    max_string_length: int = 65_536
    max_depth: int = 32
    max_items: int = 1_000
    file_rotation: dict[str, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_ROTATION)
    )
    file_levels: dict[str, str] = field(default_factory=dict)
    level: str = "DEBUG"
    capture_logging: bool = False
    http_endpoint: str | None = None
    api_key: str | None = None
    nats_url: str | None = None
    otlp_endpoint: str | None = None
    nats_stream: str = "TRACEHOUND"
    nats_subject: str = "tracehound.records"
    nats_records_per_message: int = 500
    # Code-only settings (no environment variable).
    mask: Callable[[str], str] | None = None
    extra_exporters: tuple[Any, ...] = ()

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``TRACEHOUND_*`` variables of ``env`` (default ``os.environ``), then
        ``overrides``. Raises :class:`ConfigError` naming the option on a bad value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for opt in OPTIONS:
            raw = env.get(opt.env)
            if raw is None:
                continue
            try:
                values[opt.name] = opt.parse(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{opt.env}={raw!r}: {exc}") from None
        code_only = {"mask", "extra_exporters"}
        for name, raw in overrides.items():
            if name in code_only:
                values[name] = tuple(raw) if name == "extra_exporters" else raw
                continue
            found = _BY_NAME.get(name)
            if found is None:
                known = ", ".join(sorted([*_BY_NAME, *code_only]))
                raise ConfigError(f"unknown option {name!r}; known options: {known}")
            opt = found
            try:
                values[name] = opt.parse(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{name}={raw!r}: {exc}") from None
        settings = cls(**values)
        settings._validate()
        return settings

    def _validate(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ConfigError("sample_rate: must be between 0 and 1")
        for name in (
            "max_queue_size",
            "batch_size",
            "max_attributes",
            "max_string_length",
            "max_depth",
            "max_items",
            "nats_records_per_message",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.flush_interval <= 0 or self.shutdown_timeout < 0:
            raise ConfigError("flush_interval must be positive and shutdown_timeout not negative")
        known = {"files", "store", "http", "nats", "otlp", "console", "memory"}
        for name in self.exporters:
            if name not in known:
                raise ConfigError(
                    f"exporters: unknown exporter {name!r}; known: {', '.join(sorted(known))}"
                )
        if self.mask is not None and not callable(self.mask):
            raise ConfigError("mask: must be a callable taking and returning a string")

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def store_url(self) -> str | None:
        """The database URL, or ``None`` when the store is disabled."""
        if self.store is None:
            return f"sqlite:///{(self.trace_dir / 'tracehound.db').as_posix()}"
        if self.store.lower() == "none":
            return None
        return self.store

    @property
    def spool_path(self) -> Path:
        return Path(self.spool_dir) if self.spool_dir else self.trace_dir / ".spool"


assert {f.name for f in fields(Settings)} >= set(_BY_NAME), "every option has a Settings field"
