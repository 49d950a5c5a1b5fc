"""A deterministic fake LLM: no network, responses from templates, token counts from text
lengths, latencies from a per-model profile (slept at a fraction of their simulated length).

Every call is an ``llm`` span following the data-model conventions: the name
``"chat <model>"``, the reserved keyword attributes ``provider/model/*_tokens/is_streaming/
chunks_count/time_to_first_token_ms`` (which fill the LLM columns), ``call_type``, the
messages as input and the response text as output. Transient provider errors are raised as
real exceptions and retried (``attempt`` / ``max_attempts`` attributes).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._recorder import Recorder

__all__ = ["MODELS", "LLMReply", "ModelSpec", "ProviderOverloadedError", "RateLimitError", "chat"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: str
    model: str
    overhead_ms: tuple[int, int]  # request overhead before the first token
    tokens_per_s: float
    transient_error_rate: float


MODELS: Final = {
    "gpt-4o": ModelSpec("openai", "gpt-4o", (250, 600), 85.0, 0.05),
    "gpt-4o-mini": ModelSpec("openai", "gpt-4o-mini", (180, 400), 140.0, 0.04),
    "claude-3-5-sonnet-20241022": ModelSpec(
        "anthropic", "claude-3-5-sonnet-20241022", (400, 900), 70.0, 0.08
    ),
    "claude-3-5-haiku-20241022": ModelSpec(
        "anthropic", "claude-3-5-haiku-20241022", (250, 500), 120.0, 0.04
    ),
    "gemini-1.5-pro": ModelSpec("google", "gemini-1.5-pro", (350, 800), 75.0, 0.05),
    # The studio's in-house model: no public price exists for it.
    "studio-local-7b": ModelSpec("custom", "studio-local-7b", (60, 150), 45.0, 0.02),
}


class RateLimitError(RuntimeError):
    """The provider answered HTTP 429."""


class ProviderOverloadedError(RuntimeError):
    """The provider answered HTTP 529/503 (overloaded)."""


@dataclass(frozen=True, slots=True)
class LLMReply:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    finish_reason: str
    simulated_ms: float
    attempts: int


def count_tokens(text: str) -> int:
    """Roughly four characters per token, as tokenizers do for English prose."""
    return max(1, math.ceil(len(text) / 4))


def _prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    return 3 + sum(4 + count_tokens(m["content"]) for m in messages)


def chat(
    rec: Recorder,
    rng: random.Random,
    *,
    model: str,
    messages: list[dict[str, str]],
    response: str,
    stream: bool = False,
    max_tokens: int = 1024,
    temperature: float = 0.7,
    max_attempts: int = 3,
    purpose: str = "generate",
) -> LLMReply:
    """Call the fake model, retrying transient provider errors. ``response`` is what the model
    "says"; if it is longer than ``max_tokens`` it is cut off (``finish_reason="length"``),
    which is how malformed JSON reaches the parser. Raises the last provider error when every
    attempt failed."""
    spec = MODELS[model]
    total_ms = 0.0
    for attempt in range(1, max_attempts + 1):
        try:
            reply = _one_call(
                rec,
                rng,
                spec,
                messages,
                response,
                stream=stream,
                max_tokens=max_tokens,
                temperature=temperature,
                attempt=attempt,
                max_attempts=max_attempts,
                purpose=purpose,
            )
        except (RateLimitError, ProviderOverloadedError) as exc:
            backoff_ms = 500.0 * 2 ** (attempt - 1)
            total_ms += backoff_ms
            last = attempt == max_attempts
            rec.event(
                "error",
                "llm_call_failed",
                level="ERROR" if last else "WARNING",
                message=(
                    f"{spec.model} call failed on attempt {attempt}/{max_attempts}: {exc}"
                    + ("; giving up" if last else f"; retrying in {backoff_ms:.0f} ms")
                ),
                error_type=type(exc).__name__,
                provider=spec.provider,
                model=spec.model,
                attempt=attempt,
                will_retry=not last,
            )
            if last:
                raise
            rec.sleep_simulated(backoff_ms)
            continue
        return LLMReply(
            reply.text,
            reply.model,
            reply.input_tokens,
            reply.output_tokens,
            reply.finish_reason,
            total_ms + reply.simulated_ms,
            attempt,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _one_call(
    rec: Recorder,
    rng: random.Random,
    spec: ModelSpec,
    messages: list[dict[str, str]],
    response: str,
    *,
    stream: bool,
    max_tokens: int,
    temperature: float,
    attempt: int,
    max_attempts: int,
    purpose: str,
) -> LLMReply:
    input_tokens = _prompt_tokens(messages)
    # Draw everything up front so the random sequence does not depend on the outcome.
    fails = rng.random() < spec.transient_error_rate
    overhead = rng.uniform(*spec.overhead_ms)
    cached_draw = rng.random()
    chunk_size = rng.randint(3, 6)
    request_id = f"req_{rng.getrandbits(48):012x}"

    out_tokens = count_tokens(response)
    finish_reason = "stop"
    text = response
    if out_tokens > max_tokens:
        text = response[: max_tokens * 4]
        out_tokens = max_tokens
        finish_reason = "length"
    cached = 0
    if spec.provider in ("openai", "anthropic", "google") and cached_draw < 0.35:
        # Prompt caching hits on the (stable) system prompt.
        cached = count_tokens(messages[0]["content"]) if messages else 0
        if spec.provider == "openai":
            cached = (input_tokens // 128) * 128 if input_tokens >= 1024 else 0
    attrs: dict[str, Any] = {
        "provider": spec.provider,
        "model": spec.model,
        "call_type": "inference_stream" if stream else "inference",
        "temperature": temperature,
        "max_tokens": max_tokens,
        "attempt": attempt,
        "max_attempts": max_attempts,
        "purpose": purpose,
        "request_id": request_id,
        "is_streaming": stream,
    }
    with rec.span(f"chat {spec.model}", kind="llm", **attrs) as sp:
        sp.set_input(messages)
        rec.llm_calls += 1
        if fails:
            simulated = overhead * rng.uniform(0.3, 1.0)
            rec.sleep_simulated(simulated)
            sp.set_attribute("simulated_latency_ms", round(simulated, 1))
            sp.set_attribute("input_tokens", input_tokens)
            if spec.provider == "anthropic":
                raise ProviderOverloadedError(
                    f"529 overloaded_error from {spec.provider}: Overloaded (request {request_id})"
                )
            raise RateLimitError(
                f"429 rate_limit_exceeded from {spec.provider}: "
                f"Rate limit reached for {spec.model} in organization org-studio on tokens per "
                f"min (request {request_id})"
            )
        generation_ms = out_tokens / spec.tokens_per_s * 1000.0
        ttft = overhead + input_tokens * 0.04
        simulated = ttft + generation_ms
        rec.sleep_simulated(simulated)
        sp.set_attributes(
            {
                "input_tokens": input_tokens,
                "output_tokens": out_tokens,
                "cached_tokens": cached,
                "finish_reason": finish_reason,
                "simulated_latency_ms": round(simulated, 1),
            }
        )
        if spec.provider == "openai":
            sp.set_attribute("reasoning_tokens", 0)  # what the API reports for gpt-4o models
        if stream:
            sp.set_attribute("chunks_count", math.ceil(out_tokens / chunk_size))
            # the column is real (scaled) time, consistent with the span's own duration
            sp.set_attribute("time_to_first_token_ms", round(ttft / rec.speed, 3))
            sp.set_attribute("simulated_time_to_first_token_ms", round(ttft, 1))
            rec.metric(
                "llm.time_to_first_token_ms",
                round(ttft / rec.speed, 3),
                unit="ms",
                model=spec.model,
                provider=spec.provider,
            )
        sp.set_output(text)
        rec.input_tokens += input_tokens
        rec.output_tokens += out_tokens
        rec.metric(
            "llm.latency_ms",
            round(simulated, 1),
            unit="ms",
            model=spec.model,
            provider=spec.provider,
        )
    return LLMReply(text, spec.model, input_tokens, out_tokens, finish_reason, simulated, attempt)
