"""Live spans: the objects ``tracehound.span(...)`` returns.

The calling thread only stamps times, draws an id, sets the ContextVar and appends the span
to the pipeline's queue. Everything else — id formatting, sanitizing, redaction, tracebacks,
encoding — happens on the background worker (``pipeline/_convert.py``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Generator
from time import time_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from ..model._ids import new_id_int
from ._context import current

if TYPE_CHECKING:
    from ._runtime import Runtime

__all__ = ["NOOP_SPAN", "LiveSpan", "NoopSpan"]

_STATUSES: Final = frozenset(
    {"pending", "running", "success", "failed", "timeout", "skipped", "cancelled"}
)
_STATUS_ALIASES: Final = {
    "ok": "success",
    "completed": "success",
    "complete": "success",
    "succeeded": "success",
    "error": "failed",
    "failure": "failed",
    "fail": "failed",
    "started": "running",
    "timed_out": "timeout",
    "canceled": "cancelled",
    "llm_request": "running",
    "llm_response": "running",
}


def normalize_status(status: Any) -> str | None:
    """A span status from a tracehound, seed-002 or seed-003 spelling; ``None`` if unknown."""
    text = getattr(status, "value", status)
    if not isinstance(text, str):
        return None
    low = text.strip().lower()
    if low in _STATUSES:
        return low
    return _STATUS_ALIASES.get(low)


class LiveSpan:
    """An open (or finished, not yet exported) span. Safe to use from the thread that opened
    it; every method swallows bad input rather than raising into agent code."""

    __slots__ = (
        "_end",
        "_exc",
        "_id",
        "_inherited",
        "_parent",
        "_rt",
        "_sampled",
        "_sid",
        "_start",
        "_token",
        "_trace",
        "agent_name",
        "attributes",
        "input",
        "kind",
        "name",
        "output",
        "status",
        "status_message",
    )

    def __init__(
        self,
        rt: Runtime,
        name: str,
        kind: str,
        agent: str | None,
        attributes: dict[str, Any],
    ) -> None:
        self._rt = rt
        self.name = name
        self.kind = kind
        self.agent_name = agent
        self.attributes = attributes
        self.status: str | None = None
        self.status_message: str | None = None
        self.input: Any = None
        self.output: Any = None
        self._exc: BaseException | None = None
        self._parent: LiveSpan | None = None
        self._start = 0
        self._end = 0
        self._id = 0
        self._trace = 0
        self._sid: str | None = None
        self._inherited: tuple[Any, ...] | None = None
        self._token: Any = None
        self._sampled = True

    # -- lifecycle -------------------------------------------------------------------------
    def _begin(self) -> None:
        parent = current.get()
        now = time_ns()
        self._start = now
        self._id = new_id_int(now)
        if parent is None:
            self._trace = self._id
            rate = self._rt.sample_rate
            if rate < 1.0:
                self._sampled = self._rt.sample()
        else:
            self._parent = parent
            self._trace = parent._trace
            self._sampled = parent._sampled
            if self.agent_name is None:
                self.agent_name = parent.agent_name

    def _finish(self, exc: BaseException | None) -> None:
        self._end = time_ns()
        if exc is not None:
            self._exc = exc
            if self.status is None or self.status == "running":
                self.status = "cancelled" if _is_cancel(exc) else "failed"
        if self._sampled:
            self._rt.emit(self)

    # __enter__/__exit__ inline _begin/_finish: this is the hot path, and a method call is a
    # tenth of its cost. The generator decorators use _begin/_finish directly.
    def __enter__(self) -> LiveSpan:
        parent = current.get()
        now = time_ns()
        self._start = now
        self._id = new_id_int(now)
        if parent is None:
            self._trace = self._id
            if self._rt.sample_rate < 1.0:
                self._sampled = self._rt.sample()
        else:
            self._parent = parent
            self._trace = parent._trace
            self._sampled = parent._sampled
            if self.agent_name is None:
                self.agent_name = parent.agent_name
        self._token = current.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end = time_ns()
        token = self._token
        if token is not None:
            self._token = None  # not kept alive while the span waits in the queue
            try:
                current.reset(token)
            except ValueError:  # exited in another context (e.g. a finalized generator)
                current.set(self._parent)
        if exc is not None:
            self._exc = exc
            if self.status is None or self.status == "running":
                self.status = "cancelled" if _is_cancel(exc) else "failed"
        if self._sampled:
            self._rt.emit(self)

    async def __aenter__(self) -> LiveSpan:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def snapshot(self) -> None:
        """Emit the span now as ``running`` (it is emitted again, final, when it ends).
        Long executions use this so they are visible while they run."""
        if self._start and not self._end and self._sampled:
            self._rt.emit_snapshot(self)

    # -- data ------------------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self._sampled and not self._end

    @property
    def span_id(self) -> str:
        """This span's id (text). Empty before the span starts."""
        if not self._id:
            return ""
        if self._sid is None:
            from ..model._ids import format_id

            self._sid = format_id(self._id)
        return self._sid

    @property
    def trace_id(self) -> str:
        if not self._trace:
            return ""
        node = self
        while node._parent is not None:
            node = node._parent
        return node.span_id if node._id == self._trace else _fmt(self._trace)

    @property
    def parent(self) -> LiveSpan | None:
        return self._parent

    def set_attribute(self, key: str, value: Any) -> None:
        try:
            self.attributes[str(key)] = value
        except Exception:  # pragma: no cover - a str() that raises
            pass

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        try:
            for key, value in attributes.items():
                self.attributes[str(key)] = value
        except Exception:
            pass

    def set_input(self, value: Any) -> None:
        self.input = value

    def set_output(self, value: Any) -> None:
        self.output = value

    def set_status(self, status: Any, reason: str | None = None) -> None:
        norm = normalize_status(status)
        if norm is None:
            self.attributes["tracehound.invalid_status"] = repr(status)[:200]
            return
        self.status = norm
        if reason is not None:
            self.status_message = reason if isinstance(reason, str) else repr(reason)

    def record_exception(self, exc: BaseException) -> None:
        """Attach an exception (type, message, traceback) to the span without ending it."""
        if isinstance(exc, BaseException):
            self._exc = exc

    # -- decorator -------------------------------------------------------------------------
    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Use ``tracehound.span(...)`` as a decorator: every call gets its own span."""
        return decorate(fn, self.name, self.kind, self.agent_name, self.attributes)

    def __repr__(self) -> str:
        return f"<LiveSpan {self.kind} {self.name!r} {self.span_id or 'not started'}>"


def _fmt(value: int) -> str:
    from ..model._ids import format_id

    return format_id(value)


def _is_cancel(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt)


class NoopSpan:
    """What ``span()`` returns when tracing is disabled: every operation does nothing."""

    __slots__ = ()
    is_recording = False
    span_id = ""
    trace_id = ""
    parent = None
    name = ""
    kind = "task"
    agent_name = None
    status = None

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> NoopSpan:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return fn

    def snapshot(self) -> None:
        return None

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        return None

    def set_input(self, value: Any) -> None:
        return None

    def set_output(self, value: Any) -> None:
        return None

    def set_status(self, status: Any, reason: str | None = None) -> None:
        return None

    def record_exception(self, exc: BaseException) -> None:
        return None


NOOP_SPAN: Final = NoopSpan()


def decorate(
    fn: Callable[..., Any],
    name: str | None,
    kind: str,
    agent: str | None,
    attributes: dict[str, Any],
) -> Callable[..., Any]:
    """Wrap a sync/async function or (async) generator so each call runs in a new span."""
    from . import _runtime

    span_name = name or getattr(fn, "__qualname__", None) or repr(fn)
    attrs = dict(attributes)

    def new() -> LiveSpan | NoopSpan:
        return _runtime.open_span(span_name, kind, agent, dict(attrs))

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            sp = new()
            if isinstance(sp, NoopSpan):
                async for item in fn(*args, **kwargs):
                    yield item
                return
            sp._begin()
            exc: BaseException | None = None
            agen = fn(*args, **kwargs)
            try:
                sent: Any = None
                while True:
                    token = current.set(sp)
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        return
                    finally:
                        current.reset(token)
                    sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as e:
                exc = e
                raise
            finally:
                sp._finish(exc)

        return agen_wrapper

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            async with new():
                return await fn(*args, **kwargs)

        return async_wrapper

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            sp = new()
            if isinstance(sp, NoopSpan):
                passthrough: Any = yield from fn(*args, **kwargs)
                return passthrough
            sp._begin()
            exc: BaseException | None = None
            gen = fn(*args, **kwargs)
            try:
                sent: Any = None
                while True:
                    token = current.set(sp)
                    try:
                        item = gen.send(sent)
                    except StopIteration as stop:
                        result: Any = stop.value
                        return result
                    finally:
                        current.reset(token)
                    sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as e:
                exc = e
                raise
            finally:
                sp._finish(exc)

        return gen_wrapper

    @functools.wraps(fn)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        with new():
            return fn(*args, **kwargs)

    return sync_wrapper
