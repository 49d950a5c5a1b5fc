"""Garbage-collector settings for tracehound's own service processes (the server, the broker
consumer) — never applied to an application that merely imports the SDK."""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]


def tune_gc() -> None:
    """Collect cycles less often in a service process. Decoding a batch allocates thousands
    of acyclic containers that live until the batch is stored; with the default thresholds
    the collector walks them again and again, and every object that outlives a batch counts
    toward the next full collection, which walks the whole heap (measured in the consumer:
    about a fifth of its CPU). Also moves everything alive at start-up (modules, the app) out
    of the collector's way."""
    gen0, _gen1, _gen2 = gc.get_threshold()
    if gen0 < 50_000:
        gc.set_threshold(50_000, 20, 50)
    gc.freeze()
