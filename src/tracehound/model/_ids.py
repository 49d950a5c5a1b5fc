"""Time-ordered unique ids (UUIDv7 layout), generated in-process without syscalls.

Layout of the 128-bit id: 48 bits of Unix milliseconds, the version nibble 7, then 74 bits
made of a 42-bit random per-process nonce and a 32-bit counter (the RFC 9562 variant bits are
set). Ids are therefore unique across processes (the nonce is re-drawn after ``fork``),
monotonic within a process for a given millisecond, and sort by creation time.

The hot path keeps ids as ``int`` and formats them to text only in the background worker.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time

__all__ = ["format_id", "new_id", "new_id_int", "reseed"]

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def _draw() -> tuple[int, itertools.count[int]]:
    nonce = secrets.randbits(42)
    # rand_a (12 bits) takes the top of the nonce; rand_b (62 bits) the rest and the counter.
    rand_a = nonce >> 30
    rand_b_hi = (nonce & ((1 << 30) - 1)) << 32
    return _VERSION | (rand_a << 64) | _VARIANT | rand_b_hi, itertools.count(secrets.randbits(20))


_BITS, _COUNTER = _draw()


def reseed() -> None:
    """Draw a new nonce and counter (called in a forked child)."""
    global _BITS, _COUNTER
    _BITS, _COUNTER = _draw()


def new_id_int(now_ns: int | None = None) -> int:
    """A new id as an integer; ``now_ns`` (from ``time.time_ns()``) saves a clock read."""
    if now_ns is None:
        now_ns = time.time_ns()
    return ((now_ns // 1_000_000) << 80) | _BITS | (next(_COUNTER) & 0xFFFFFFFF)


_PREFIXES: dict[int, str] = {}


def format_id(value: int) -> str:
    """Canonical 8-4-4-4-12 text form of an integer id.

    The top 96 bits (time, version, nonce) are the same for every id a process draws in one
    millisecond, so their text is cached and only the 32-bit counter is formatted per id."""
    hi = value >> 32
    prefix = _PREFIXES.get(hi)
    if prefix is None:
        h = f"{hi:024x}"
        prefix = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if len(_PREFIXES) >= 4096:
            _PREFIXES.clear()
        _PREFIXES[hi] = prefix
    return f"{prefix}{value & 0xFFFFFFFF:08x}"


def new_id() -> str:
    """A new id in text form."""
    return format_id(new_id_int())


os.register_at_fork(after_in_child=reseed)
