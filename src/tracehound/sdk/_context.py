"""The current span (a ContextVar) and helpers that carry it into threads and executors.

``asyncio`` tasks copy the context when they are created, so ``await``, ``create_task`` and
``gather`` keep parentage on their own. Threads do not: wrap the callable with
:func:`propagate` or submit through :class:`TracingThreadPoolExecutor`.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from ._span import LiveSpan

__all__ = ["TracingThreadPoolExecutor", "current", "propagate"]

P = ParamSpec("P")
R = TypeVar("R")

current: contextvars.ContextVar[LiveSpan | None] = contextvars.ContextVar(
    "tracehound_current_span", default=None
)


def propagate(fn: Callable[P, R]) -> Callable[P, R]:
    """Bind ``fn`` to a copy of the current context: spans it opens, in whatever thread it
    runs, become children of the span that is current now."""
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.copy().run(fn, *args, **kwargs)

    return run


class TracingThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context of the code that submitted
    them (so spans opened in a task are children of the submitter's span). Works with
    ``loop.run_in_executor`` too."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)
