"""Automatic LLM-call logging: wrap any completion callable (sync, async, or streaming), and
seed 002's ``LLM(model=…, llm_call_logger=…)`` with ``inference`` / ``inference_stream``.

Usage and text are read from the common response shapes: OpenAI chat/completions/responses
(objects or dicts), Anthropic messages and stream events, Google ``usage_metadata``, plain
strings. Token counts are normalized to tracehound's convention (input includes cached,
output includes reasoning — see :mod:`tracehound.pricing`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Final, TypeVar, overload

from ._logger import LLMCallLog, LLMCallLogger
from ._spans import InvalidArgumentError

__all__ = [
    "LLM",
    "chunk_text",
    "extract_model",
    "extract_text",
    "extract_usage",
    "llm_call",
    "wrap_llm",
]

log = logging.getLogger("tracehound.executions")

F = TypeVar("F", bound=Callable[..., Any])

_PROMPT_KEYS: Final = ("prompt", "messages", "input", "contents", "query", "text")
_TEXT_KEYS: Final = ("output_text", "text", "content", "response", "completion", "output", "answer")
_LINK_KEYS: Final = ("execution_log_id", "report_id", "completion_id")

_default_logger: LLMCallLogger | None = None


def _default() -> LLMCallLogger:
    global _default_logger
    if _default_logger is None:
        _default_logger = LLMCallLogger()
    return _default_logger


def _get(obj: Any, key: str) -> Any:
    if obj is None or isinstance(obj, str | bytes | int | float | bool):
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    try:
        return getattr(obj, key, None)
    except Exception:
        return None


def _first(obj: Any) -> Any:
    if isinstance(obj, list | tuple) and obj:
        return obj[0]
    return None


def _num(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value == value and value >= 0:
        return int(value)
    return None


def extract_usage(obj: Any) -> dict[str, int | None]:
    """Token counts of a response (or stream chunk/event), normalized: ``input_tokens``
    includes cached tokens, ``output_tokens`` includes reasoning tokens. Missing counts are
    ``None``."""
    out: dict[str, int | None] = {
        "input_tokens": None,
        "output_tokens": None,
        "cached_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": None,
    }
    try:
        usage = _get(obj, "usage")
        if usage is None:
            usage = _get(_get(obj, "message"), "usage")
        if usage is None:
            usage = _get(_get(obj, "response"), "usage")
        google = False
        if usage is None:
            usage = _get(obj, "usage_metadata")
            google = usage is not None
        if usage is None:
            if _get(obj, "prompt_tokens") is not None or _get(obj, "input_tokens") is not None:
                usage = obj
            elif _get(obj, "prompt_token_count") is not None:
                usage, google = obj, True
        if usage is None:
            return out
        if google:
            prompt = _num(_get(usage, "prompt_token_count"))
            cands = _num(_get(usage, "candidates_token_count"))
            thoughts = _num(_get(usage, "thoughts_token_count"))
            out["input_tokens"] = prompt
            out["cached_tokens"] = _num(_get(usage, "cached_content_token_count"))
            if cands is not None or thoughts is not None:
                out["output_tokens"] = (cands or 0) + (thoughts or 0)
            out["reasoning_tokens"] = thoughts
            out["total_tokens"] = _num(_get(usage, "total_token_count"))
            return out
        prompt = _num(_get(usage, "prompt_tokens"))
        if prompt is not None:  # OpenAI chat / completions
            out["input_tokens"] = prompt
            out["output_tokens"] = _num(_get(usage, "completion_tokens"))
            out["total_tokens"] = _num(_get(usage, "total_tokens"))
            out["cached_tokens"] = _num(_get(_get(usage, "prompt_tokens_details"), "cached_tokens"))
            out["reasoning_tokens"] = _num(
                _get(_get(usage, "completion_tokens_details"), "reasoning_tokens")
            )
            return out
        inp = _num(_get(usage, "input_tokens"))
        outp = _num(_get(usage, "output_tokens"))
        cache_read = _num(_get(usage, "cache_read_input_tokens"))
        cache_write = _num(_get(usage, "cache_creation_input_tokens"))
        if cache_read is not None or cache_write is not None:
            # Anthropic: input_tokens excludes cache reads and writes
            out["input_tokens"] = (inp or 0) + (cache_read or 0) + (cache_write or 0)
            out["cached_tokens"] = cache_read
        else:  # OpenAI responses API (input includes cached) or a plain usage mapping
            out["input_tokens"] = inp
            out["cached_tokens"] = _num(
                _get(_get(usage, "input_tokens_details"), "cached_tokens")
            ) or _num(_get(usage, "cached_tokens"))
        out["output_tokens"] = outp
        out["reasoning_tokens"] = _num(
            _get(_get(usage, "output_tokens_details"), "reasoning_tokens")
        ) or _num(_get(usage, "reasoning_tokens"))
        out["total_tokens"] = _num(_get(usage, "total_tokens"))
    except Exception as exc:  # pragma: no cover - hostile objects
        log.debug("extract_usage failed: %r", exc)
    return out


def extract_text(obj: Any) -> str | None:
    """The text of a completion response, or ``None`` when it has no recognizable text."""
    try:
        if isinstance(obj, str):
            return obj
        if isinstance(obj, bytes):
            return obj.decode("utf-8", "replace")
        choice = _first(_get(obj, "choices"))
        if choice is not None:
            content = _get(_get(choice, "message"), "content")
            if isinstance(content, str):
                return content
            text = _get(choice, "text")
            if isinstance(text, str):
                return text
        content = _get(obj, "content")
        if isinstance(content, list):  # Anthropic content blocks
            parts = [t for t in (_get(b, "text") for b in content) if isinstance(t, str)]
            if parts:
                return "".join(parts)
        cand = _first(_get(obj, "candidates"))
        if cand is not None:  # Google
            parts = _get(_get(cand, "content"), "parts") or []
            texts = [t for t in (_get(p, "text") for p in parts) if isinstance(t, str)]
            if texts:
                return "".join(texts)
        for key in _TEXT_KEYS:
            value = _get(obj, key)
            if isinstance(value, str):
                return value
    except Exception as exc:  # pragma: no cover - hostile objects
        log.debug("extract_text failed: %r", exc)
    return None


def chunk_text(chunk: Any) -> str | None:
    """The text delta of one streamed chunk (OpenAI, Anthropic, Google, plain strings)."""
    try:
        if isinstance(chunk, str):
            return chunk
        if isinstance(chunk, bytes):
            return chunk.decode("utf-8", "replace")
        choice = _first(_get(chunk, "choices"))
        if choice is not None:
            content = _get(_get(choice, "delta"), "content")
            if isinstance(content, str):
                return content
            text = _get(choice, "text")
            return text if isinstance(text, str) else None
        delta = _get(chunk, "delta")
        if isinstance(delta, str):  # OpenAI responses stream
            return delta
        text = _get(delta, "text")
        if isinstance(text, str):  # Anthropic content_block_delta
            return text
        return extract_text(chunk)
    except Exception:  # pragma: no cover - hostile objects
        return None


def extract_model(obj: Any) -> str | None:
    value = _get(obj, "model") or _get(obj, "model_version")
    if value is None:
        value = _get(_get(obj, "message"), "model")
    return value if isinstance(value, str) and value else None


def _model_name(model: Any) -> str | None:
    if isinstance(model, str):
        return model
    for key in ("model_id", "model", "id", "name"):
        value = _get(model, key)
        if isinstance(value, str) and value:
            return value
    return None


def _provider_name(provider: Any) -> str | None:
    if isinstance(provider, str):
        return provider
    for key in ("provider_type", "type", "name", "id", "value"):
        value = _get(provider, key)
        if isinstance(value, str) and value:
            return value
    return None


def _prompt_of(args: tuple[Any, ...], kwargs: Mapping[str, Any], prompt_arg: str | None) -> Any:
    if prompt_arg is not None:
        return kwargs.get(prompt_arg)
    for key in _PROMPT_KEYS:
        if key in kwargs:
            return kwargs[key]
    for arg in args:
        if isinstance(arg, str | list | tuple | dict):
            return arg
    return None


def _is_stream(value: Any) -> str | None:
    """``"sync"``/``"async"`` when ``value`` is a stream to wrap, else ``None``."""
    if isinstance(value, str | bytes | bytearray | Mapping | list | tuple | set):
        return None
    if inspect.isasyncgen(value) or (hasattr(value, "__anext__") and hasattr(value, "__aiter__")):
        return "async"
    if inspect.isgenerator(value) or (hasattr(value, "__next__") and hasattr(value, "__iter__")):
        return "sync"
    return None


class _Call:
    """One wrapped invocation: start, chunks, completion."""

    __slots__ = ("call", "logger")

    def __init__(self, logger: LLMCallLogger, call: LLMCallLog) -> None:
        self.logger = logger
        self.call = call

    def chunk(self, chunk: Any) -> None:
        try:
            self.call.add_chunk(chunk_text(chunk))
            usage = extract_usage(chunk)
            self.call.set_usage(
                usage["input_tokens"],
                usage["output_tokens"],
                cached_tokens=usage["cached_tokens"],
                reasoning_tokens=usage["reasoning_tokens"],
                total_tokens=usage["total_tokens"],
            )
        except Exception:  # pragma: no cover - defensive
            pass

    def done(self, result: Any = None, *, streamed: bool = False) -> None:
        try:
            call = self.call
            if not streamed and result is not None:
                usage = extract_usage(result)
                call.set_usage(
                    usage["input_tokens"],
                    usage["output_tokens"],
                    cached_tokens=usage["cached_tokens"],
                    reasoning_tokens=usage["reasoning_tokens"],
                    total_tokens=usage["total_tokens"],
                )
                text = extract_text(result)
                call.response = text if text is not None else result
                model = extract_model(result)
                if model and call.model_id == "unknown":
                    call.model_id = model
            self.logger.end_call(call)
        except Exception:  # pragma: no cover - defensive
            pass

    def failed(self, exc: BaseException) -> None:
        with contextlib.suppress(Exception):
            self.logger.end_call(self.call, status="failed", error=exc)

    def closed_early(self) -> None:
        try:
            self.call._span.set_attribute("stream_closed_early", True)
            self.logger.end_call(self.call)
        except Exception:  # pragma: no cover - defensive
            pass

    def wrap_sync(self, stream: Any) -> Iterator[Any]:
        try:
            for chunk in stream:
                self.chunk(chunk)
                yield chunk
        except GeneratorExit:
            self.closed_early()
            close = getattr(stream, "close", None)
            if callable(close):
                close()
            raise
        except BaseException as exc:
            self.failed(exc)
            raise
        self.done(streamed=True)

    async def wrap_async(self, stream: Any) -> AsyncIterator[Any]:
        try:
            async for chunk in stream:
                self.chunk(chunk)
                yield chunk
        except GeneratorExit:
            self.closed_early()
            aclose = getattr(stream, "aclose", None)
            if callable(aclose):
                await aclose()
            raise
        except BaseException as exc:
            self.failed(exc)
            raise
        self.done(streamed=True)


def _start(
    logger: LLMCallLogger | None,
    provider: str | None,
    model: str | None,
    call_type: str | None,
    streaming: bool,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    prompt_arg: str | None,
    links: Mapping[str, Any] | None = None,
) -> _Call | None:
    try:
        lg = logger or _default()
        model_id = model or _model_name(kwargs.get("model")) or "unknown"
        ctype = call_type or ("inference_stream" if streaming else "inference")
        extra = dict(links or {})
        for key in _LINK_KEYS:
            if key in kwargs and key not in extra:
                extra[key] = kwargs[key]
        exec_id = extra.pop("execution_log_id", None)
        call = lg.start_call(
            provider,
            model_id,
            _prompt_of(args, kwargs, prompt_arg),
            call_type=ctype,
            is_streaming=streaming or None,
            execution_log_id=exec_id,
            **extra,
        )
        return _Call(lg, call)
    except Exception as exc:  # pragma: no cover - defensive
        log.debug("could not start an LLM call record: %r", exc)
        return None


def _finish_result(tc: _Call | None, result: Any) -> Any:
    if tc is None:
        return result
    kind = _is_stream(result)
    if kind == "sync":
        tc.call.is_streaming = True
        tc.call._span.set_attribute("is_streaming", True)
        return tc.wrap_sync(result)
    if kind == "async":
        tc.call.is_streaming = True
        tc.call._span.set_attribute("is_streaming", True)
        return tc.wrap_async(result)
    tc.done(result)
    return result


def wrap_llm(
    fn: F,
    *,
    provider: Any = None,
    model: Any = None,
    call_type: str | None = None,
    logger: LLMCallLogger | None = None,
    prompt_arg: str | None = None,
) -> F:
    """Wrap a completion callable so every call is logged as an LLM call: sync or async
    functions (a returned stream — iterator, async iterator, OpenAI ``Stream`` — is wrapped
    and timed chunk by chunk), and sync or async generator functions. The result is returned
    unchanged. ``model`` defaults to the call's ``model=`` argument; the prompt is the
    ``prompt_arg`` argument, else ``prompt``/``messages``/``input``/…, else the first
    string/list argument."""
    if not callable(fn):
        raise InvalidArgumentError(f"fn: expected a callable, got {type(fn).__name__}", field="fn")
    prov = _provider_name(provider)
    model_id = _model_name(model) if model is not None else None

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            tc = _start(logger, prov, model_id, call_type, True, args, kwargs, prompt_arg)
            if tc is None:
                async for item in fn(*args, **kwargs):
                    yield item
                return
            tc.call.is_streaming = True
            async for item in tc.wrap_async(fn(*args, **kwargs)):
                yield item

        return agen  # type: ignore[return-value]

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            tc = _start(logger, prov, model_id, call_type, True, args, kwargs, prompt_arg)
            if tc is None:
                yield from fn(*args, **kwargs)
                return
            yield from tc.wrap_sync(fn(*args, **kwargs))

        return gen  # type: ignore[return-value]

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            tc = _start(logger, prov, model_id, call_type, False, args, kwargs, prompt_arg)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                if tc is not None:
                    tc.failed(exc)
                raise
            return _finish_result(tc, result)

        return acall  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        tc = _start(logger, prov, model_id, call_type, False, args, kwargs, prompt_arg)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            if tc is not None:
                tc.failed(exc)
            raise
        if inspect.isawaitable(result) and not _is_stream(result):
            return _await_then(tc, result)
        return _finish_result(tc, result)

    return call  # type: ignore[return-value]


async def _await_then(tc: _Call | None, awaitable: Awaitable[Any]) -> Any:
    try:
        result = await awaitable
    except BaseException as exc:
        if tc is not None:
            tc.failed(exc)
        raise
    return _finish_result(tc, result)


@overload
def llm_call(fn: F) -> F: ...


@overload
def llm_call(
    fn: None = None,
    *,
    provider: Any = None,
    model: Any = None,
    call_type: str | None = None,
    logger: LLMCallLogger | None = None,
    prompt_arg: str | None = None,
) -> Callable[[F], F]: ...


def llm_call(
    fn: F | None = None,
    *,
    provider: Any = None,
    model: Any = None,
    call_type: str | None = None,
    logger: LLMCallLogger | None = None,
    prompt_arg: str | None = None,
) -> F | Callable[[F], F]:
    """Decorator form of :func:`wrap_llm`: ``@llm_call`` or
    ``@llm_call(provider="openai", model="gpt-4o")``."""

    def deco(f: F) -> F:
        return wrap_llm(
            f,
            provider=provider,
            model=model,
            call_type=call_type,
            logger=logger,
            prompt_arg=prompt_arg,
        )

    return deco(fn) if fn is not None else deco


class LLM:
    """Seed 002's LLM class: ``inference`` and ``inference_stream`` logged automatically.

    ``model`` is a model id (``"gpt-4o"``) or an object with ``model_id``/``id``/``name`` and
    optionally ``provider``. The completion comes from ``client(prompt, **kwargs)`` (sync or
    async; its response may be a string or any OpenAI/Anthropic/Google-shaped object), or from
    ``model`` itself when it has ``inference``/``complete``/``generate`` or is callable.
    Streams come from ``stream_client(prompt, **kwargs)`` or the model's
    ``inference_stream``/``stream``; without one, the full completion is yielded as one chunk.
    """

    def __init__(
        self,
        model: Any,
        llm_call_logger: LLMCallLogger | None = None,
        *,
        client: Callable[..., Any] | None = None,
        stream_client: Callable[..., Any] | None = None,
        provider: Any = None,
    ) -> None:
        model_id = _model_name(model)
        if model_id is None:
            raise InvalidArgumentError(
                "model: expected a model id string or an object with model_id/id/name, "
                f"got {type(model).__name__}",
                field="model",
            )
        if llm_call_logger is not None and not isinstance(llm_call_logger, LLMCallLogger):
            raise InvalidArgumentError(
                f"llm_call_logger: expected an LLMCallLogger, got {type(llm_call_logger).__name__}",
                field="llm_call_logger",
            )
        self.model = model
        self.model_id = model_id
        self.provider = _provider_name(provider) or _provider_name(_get(model, "provider"))
        self.llm_call_logger = llm_call_logger
        backend = client if client is not None else self._find(model, _CLIENT_METHODS)
        if backend is None:
            raise InvalidArgumentError(
                "client: no completion backend — pass client=callable(prompt, **kwargs), or a "
                "model object with an inference()/complete()/generate() method",
                field="client",
            )
        if not callable(backend):
            raise InvalidArgumentError(
                f"client: expected a callable, got {type(backend).__name__}", field="client"
            )
        self._client: Callable[..., Any] = backend
        self._stream = (
            stream_client if stream_client is not None else self._find(model, _STREAM_METHODS)
        )
        if self._stream is not None and not callable(self._stream):
            raise InvalidArgumentError(
                f"stream_client: expected a callable, got {type(self._stream).__name__}",
                field="stream_client",
            )

    @staticmethod
    def _find(model: Any, names: tuple[str, ...]) -> Callable[..., Any] | None:
        if isinstance(model, str):
            return None
        for name in names:
            fn = getattr(model, name, None)
            if callable(fn):
                return fn  # type: ignore[no-any-return]
        if names is _CLIENT_METHODS and callable(model) and not isinstance(model, type):
            return model  # type: ignore[no-any-return]
        return None

    def _begin(self, prompt: Any, call_type: str, links: dict[str, Any]) -> _Call | None:
        return _start(
            self.llm_call_logger,
            self.provider,
            self.model_id,
            call_type,
            call_type == "inference_stream",
            (prompt,),
            {},
            None,
            links,
        )

    def inference(
        self,
        prompt: Any,
        execution_log_id: str | None = None,
        report_id: Any = None,
        completion_id: Any = None,
        **kwargs: Any,
    ) -> Any:
        """One completion (logged); returns its text (or the raw response when it has no
        recognizable text). With an async client, use :meth:`ainference`."""
        links = _links(execution_log_id, report_id, completion_id)
        tc = self._begin(prompt, "inference", links)
        try:
            result = self._client(prompt, **kwargs)
            if inspect.isawaitable(result):
                raise InvalidArgumentError(
                    "client: returned an awaitable; call `await llm.ainference(...)`",
                    field="client",
                )
        except BaseException as exc:
            if tc is not None:
                tc.failed(exc)
            raise
        if tc is not None:
            tc.done(result)
        text = extract_text(result)
        return text if text is not None else result

    async def ainference(
        self,
        prompt: Any,
        execution_log_id: str | None = None,
        report_id: Any = None,
        completion_id: Any = None,
        **kwargs: Any,
    ) -> Any:
        """:meth:`inference` for async code (the client may be sync or async)."""
        links = _links(execution_log_id, report_id, completion_id)
        tc = self._begin(prompt, "inference", links)
        try:
            result = self._client(prompt, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:
            if tc is not None:
                tc.failed(exc)
            raise
        if tc is not None:
            tc.done(result)
        text = extract_text(result)
        return text if text is not None else result

    async def inference_stream(
        self,
        prompt: Any,
        execution_log_id: str | None = None,
        report_id: Any = None,
        completion_id: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Stream a completion (logged with chunk count and time to first token), yielding
        text chunks."""
        links = _links(execution_log_id, report_id, completion_id)
        tc = self._begin(prompt, "inference_stream", links)
        try:
            if self._stream is None:
                source: Any = self._client(prompt, **kwargs)
                if inspect.isawaitable(source):
                    source = await source
                if _is_stream(source) is None:
                    source = [source]
            else:
                source = self._stream(prompt, **kwargs)
                if inspect.isawaitable(source) and _is_stream(source) is None:
                    source = await source
        except BaseException as exc:
            if tc is not None:
                tc.failed(exc)
            raise
        kind = _is_stream(source)
        if tc is None:
            if kind == "async":
                async for chunk in source:
                    yield _text_or(chunk)
            else:
                for chunk in source:
                    yield _text_or(chunk)
            return
        if kind == "async":
            async for chunk in tc.wrap_async(source):
                yield _text_or(chunk)
        else:
            async for chunk in _sync_to_async(tc.wrap_sync(iter(source))):
                yield _text_or(chunk)

    def __repr__(self) -> str:
        return f"<LLM {self.provider or '?'}/{self.model_id}>"


_CLIENT_METHODS: Final = ("inference", "complete", "generate", "chat")
_STREAM_METHODS: Final = ("inference_stream", "stream", "generate_stream", "chat_stream")


def _text_or(chunk: Any) -> Any:
    text = chunk_text(chunk)
    return text if text is not None else chunk


async def _sync_to_async(it: Iterator[Any]) -> AsyncIterator[Any]:
    try:
        for item in it:
            yield item
    finally:
        close = getattr(it, "close", None)
        if callable(close):
            close()


def _links(execution_log_id: Any, report_id: Any, completion_id: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if execution_log_id is not None:
        out["execution_log_id"] = execution_log_id
    if report_id is not None:
        out["report_id"] = report_id
    if completion_id is not None:
        out["completion_id"] = completion_id
    return out
