"""The broker path: agents → NATS JetStream → ``tracehound consume`` → the store (seed 004).

* :class:`ActionLogger` / :func:`log_action` — seed 004's agent action logging, on the core SDK.
* :class:`NatsExporter` — the pipeline exporter publishing any record to JetStream
  (``tracehound.configure(exporters=("nats",), nats_url=...)``).
* :class:`Consumer` — the consumer service writing the stream into the store.
* :class:`Transport` — the broker interface; :class:`JetStreamTransport` its implementation.

Names load on first use: importing this package does not import nats-py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._actions import ACTION_TYPES, ActionLogger, ToolCall, log_action
    from ._consumer import Consumer, ConsumerConfig, ping_store, store_exporter
    from ._exporter import NatsExporter, record_message, record_messages
    from ._jetstream import DEFAULT_NATS_URL, JetStreamTransport
    from ._transport import DeadLetter, Delivery, OutMessage, PublishResult, Transport

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_NATS_URL",
    "ActionLogger",
    "Consumer",
    "ConsumerConfig",
    "DeadLetter",
    "Delivery",
    "JetStreamTransport",
    "NatsExporter",
    "OutMessage",
    "PublishResult",
    "ToolCall",
    "Transport",
    "log_action",
    "ping_store",
    "record_message",
    "record_messages",
    "store_exporter",
]

_MODULES = {
    "ACTION_TYPES": "._actions",
    "ActionLogger": "._actions",
    "ToolCall": "._actions",
    "log_action": "._actions",
    "Consumer": "._consumer",
    "ConsumerConfig": "._consumer",
    "ping_store": "._consumer",
    "store_exporter": "._consumer",
    "NatsExporter": "._exporter",
    "record_message": "._exporter",
    "record_messages": "._exporter",
    "DEFAULT_NATS_URL": "._jetstream",
    "JetStreamTransport": "._jetstream",
    "DeadLetter": "._transport",
    "Delivery": "._transport",
    "OutMessage": "._transport",
    "PublishResult": "._transport",
    "Transport": "._transport",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
