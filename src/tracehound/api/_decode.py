"""Decoding request bodies in worker processes.

Parsing and validating a batch (JSON or OTLP protobuf → records) is pure Python and holds the
GIL for about two thirds of the server's work on a batch. ``tracehound serve`` therefore
decodes large bodies in a small pool of worker processes (``spawn``ed, so no thread state is
inherited) while the server process receives requests and writes; the records come back
pickled. The code that runs is the same as the in-process path (``routes.ingest``), so the
answers are identical; small bodies, and any failure of the pool, use the in-process path.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final

from .errors import ApiError

__all__ = ["DecodePool"]

log = logging.getLogger("tracehound.api")

#: Bodies smaller than this are decoded in the server process (a round trip costs more).
MIN_POOL_BYTES: Final = 64 * 1024
_PRICER: list[Any] = []


def _pricer() -> Any:
    if not _PRICER:
        try:
            from ..pricing import default_pricer

            _PRICER.append(default_pricer())
        except Exception:  # pragma: no cover - pricing is optional
            _PRICER.append(None)
    return _PRICER[0]


def _init() -> None:
    import gc

    from .limits import tune_gc

    tune_gc()
    gc.collect()
    _pricer()


def _ready() -> bool:
    return _pricer() is not None or True


def _error(exc: ApiError) -> tuple[Any, ...]:
    return ("error", exc.status, exc.message, exc.field, dict(exc.headers))


def decode_ingest(body: bytes, max_depth: int, max_records: int, project: str) -> tuple[Any, ...]:
    """In a worker: ``("ok", records, indices, errors)`` or ``("error", status, message,
    field, headers)``."""
    from .routes.ingest import decode_body

    try:
        return ("ok", *decode_body(body, max_depth, max_records, project, _pricer()))
    except ApiError as exc:
        return _error(exc)


def decode_otlp(body: bytes, protobuf: bool, max_depth: int, project: str) -> tuple[Any, ...]:
    """In a worker: ``("ok", records, problems)`` or an error tuple."""
    from .routes.ingest import decode_otlp_body

    try:
        return ("ok", *decode_otlp_body(body, protobuf, max_depth, project, _pricer()))
    except ApiError as exc:
        return _error(exc)


class DecodePool:
    """A pool of ``workers`` decoding processes (started on first use)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self.broken = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
            )
        return self._pool

    def warm_up(self) -> None:
        """Start the workers now (they take a second to import)."""
        pool = self._executor()
        for future in [pool.submit(_ready) for _ in range(self.workers)]:
            future.result(timeout=120)

    async def run(self, fn: Any, *args: Any) -> tuple[Any, ...] | None:
        """``fn(*args)`` in a worker; ``None`` when the pool is unusable (the caller then
        decodes in-process). Error tuples are raised as :class:`ApiError`."""
        if self.broken:
            return None
        try:
            result: tuple[Any, ...] = await asyncio.get_running_loop().run_in_executor(
                self._executor(), fn, *args
            )
        except BrokenProcessPool:
            log.warning("the decoding workers died; decoding in the server process from now on")
            self.broken = True
            return None
        if result[0] == "error":
            _, status, message, field, headers = result
            raise ApiError(status, message, field=field, headers=headers)
        return result

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
