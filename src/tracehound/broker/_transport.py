"""The broker transport interface: what the publisher, the consumer service and the DLQ
commands need from a message broker, and nothing broker-specific.

The one implementation shipped is NATS JetStream (:class:`~tracehound.broker.JetStreamTransport`);
another broker can be added by implementing :class:`Transport` (and testing it against a real
server). Everything is ``async``; the publisher's exporter drives it from its own event-loop
thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "DeadLetter",
    "Delivery",
    "OutMessage",
    "PublishResult",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to publish. ``msg_id`` deduplicates: the broker stores a message once per id
    within its deduplication window."""

    subject: str
    data: bytes
    msg_id: str
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PublishResult:
    """How a batch went: messages stored, and messages the broker recognised as duplicates."""

    stored: int = 0
    duplicates: int = 0


@runtime_checkable
class Delivery(Protocol):
    """A message handed to a consumer; it stays the consumer's until acked or nak'ed (or until
    the broker's ack deadline passes, when it is delivered again, perhaps to another consumer)."""

    @property
    def data(self) -> bytes: ...

    @property
    def subject(self) -> str: ...

    @property
    def msg_id(self) -> str | None: ...

    @property
    def sequence(self) -> int:
        """The message's position in the stream (unique and stable across redeliveries)."""
        ...

    @property
    def num_delivered(self) -> int:
        """How many times the broker delivered this message (1 the first time)."""
        ...

    @property
    def published_ns(self) -> int:
        """When the broker stored the message (ns since the epoch)."""
        ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message in the dead-letter stream, with why it got there."""

    sequence: int  # in the dead-letter stream
    subject: str  # where it was originally published
    data: bytes
    error: str
    attempts: int
    first_seen_ns: int  # when the original was stored in the main stream
    failed_at_ns: int  # when it was dead-lettered
    msg_id: str | None = None  # the record's message id (``<type>:<id>``)
    original_sequence: int | None = None
    part: int | None = None  # its position in the original message, when that held several
    headers: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Transport(Protocol):
    """A durable log between producers and the store."""

    @property
    def is_connected(self) -> bool: ...

    async def connect(self) -> None:
        """Connect (raises when the broker cannot be reached)."""
        ...

    async def close(self) -> None: ...

    async def ensure_streams(self, *, dead_letter: bool = True) -> None:
        """Create the record stream (and the dead-letter stream) if missing."""
        ...

    async def publish(self, messages: Sequence[OutMessage], timeout: float) -> PublishResult:
        """Publish a batch and wait for the broker to confirm every message (raises if any
        message was not confirmed within ``timeout``; re-publishing is safe: ``msg_id``)."""
        ...

    async def subscribe(self, durable: str, *, ack_wait: float, max_ack_pending: int) -> None:
        """Bind to the durable consumer ``durable`` (created if missing). Several processes
        bound to the same durable consumer share its messages: each goes to one of them."""
        ...

    async def fetch(self, max_messages: int, timeout: float) -> list[Delivery]:
        """Up to ``max_messages`` deliveries; waits at most ``timeout`` for the first one
        (an empty list when none came)."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None: ...

    async def nak(self, deliveries: Sequence[Delivery], delay: float | None = None) -> None:
        """Give deliveries back for redelivery (after ``delay`` seconds)."""
        ...

    async def in_progress(self, deliveries: Sequence[Delivery]) -> None:
        """Tell the broker work on these is still going on (resets their ack deadline)."""
        ...

    async def dead_letter(
        self,
        delivery: Delivery,
        *,
        error: str,
        attempts: int,
        data: bytes | None = None,
        part: int | None = None,
    ) -> None:
        """Copy a delivery into the dead-letter stream with the error, the attempt count and
        timestamps (the caller then acks the original). For one record of a message that
        carried several: ``data`` is that record's line and ``part`` its position."""
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...

    async def replay_dead_letter(self, sequence: int) -> bool:
        """Publish a dead letter back to its original subject and delete it from the
        dead-letter stream. ``False`` if there is no such dead letter."""
        ...
