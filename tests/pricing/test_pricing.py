"""Pricing: genai-prices with seed-form overrides; cached and reasoning tokens never
double-counted; unknown models unpriced (not zero); provenance recorded; fast lookups."""

from __future__ import annotations

import time

import pytest

import tracehound
from tracehound.exceptions import ValidationError
from tracehound.pricing import PriceTable, calculate_cost, default_pricer, parse_overrides
from tracehound.testing import InMemoryExporter

from ..conftest import flushed


def test_genai_prices_with_provenance() -> None:
    cost = PriceTable().cost("openai", "gpt-4o", 1_000_000, 1_000_000)
    assert cost is not None
    assert cost.input_cost == pytest.approx(2.5) and cost.output_cost == pytest.approx(10.0)
    assert cost.source.startswith("genai-prices:openai/gpt-4o@")


def test_cached_and_reasoning_are_not_double_counted() -> None:
    table = PriceTable()
    plain = table.cost("openai", "gpt-4o", 1000, 500)
    cached = table.cost("openai", "gpt-4o", 1000, 500, 400, 200)
    assert plain is not None and cached is not None
    # 600 uncached at $2.5/M + 400 cached at $1.25/M; reasoning is part of the 500 output
    assert cached.input_cost == pytest.approx(600 * 2.5e-6 + 400 * 1.25e-6)
    assert cached.output_cost == pytest.approx(plain.output_cost)
    assert cached.total_cost == pytest.approx(cached.input_cost + cached.output_cost)
    # cached reported beside input (Anthropic style): both billed, nothing subtracted
    beside = table.cost("anthropic", "claude-3-5-sonnet", 100, 0, 500)
    assert beside is not None
    assert beside.input_cost == pytest.approx(100 * 3e-6 + 500 * 0.3e-6)


def test_override_with_reasoning_rate() -> None:
    table = PriceTable({"my-model": {"input": 1.0, "output": 2.0, "cached": 0.5, "reasoning": 4.0}})
    cost = table.cost(None, "My-Model", 2000, 1000, 1000, 500)
    assert cost is not None
    assert cost.input_cost == pytest.approx(1.0 + 0.5)
    assert cost.output_cost == pytest.approx(0.5 * 2.0 + 0.5 * 4.0)
    assert cost.source == "override:my-model"


def test_unknown_model_is_unpriced() -> None:
    assert PriceTable().cost("acme", "no-such-model-xyz", 10, 10) is None
    assert calculate_cost("no-such-model-xyz", 10, 10) is None
    assert calculate_cost("gpt-4", 1000, 0, token_prices={"gpt-4": {"input": 1}}).total_cost == 1.0  # type: ignore[union-attr]


def test_override_validation() -> None:
    with pytest.raises(ValidationError, match="token_prices"):
        parse_overrides({"gpt-4": {"input": "cheap"}})
    with pytest.raises(ValidationError, match="unknown key"):
        parse_overrides({"gpt-4": {"inputs": 0.1}})
    with pytest.raises(ValidationError):
        parse_overrides(["gpt-4"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="input_tokens"):
        calculate_cost("gpt-4", -1, 0)


def test_lookups_are_cached_and_fast() -> None:
    table = PriceTable()
    table.cost("openai", "gpt-4o", 1, 1)
    start = time.perf_counter()
    for _ in range(10_000):
        table("openai", "gpt-4o", 1000, 500, 100, 50)
    assert (time.perf_counter() - start) / 10_000 < 50e-6


def test_pipeline_prices_llm_spans(memory: InMemoryExporter) -> None:
    assert default_pricer() is not None
    with tracehound.span(
        "gpt-4o",
        kind="llm",
        provider="openai",
        model="gpt-4o",
        input_tokens=1000,
        output_tokens=100,
    ):
        pass
    with tracehound.span("x", kind="llm", model="unknown-model-q", input_tokens=1, output_tokens=1):
        pass
    spans = {s.model: s for s in flushed(memory).spans}
    assert spans["gpt-4o"].total_cost == pytest.approx(1000 * 2.5e-6 + 100 * 1e-5)
    assert spans["gpt-4o"].cost_source.startswith("genai-prices:openai/gpt-4o@")
    assert spans["unknown-model-q"].total_cost is None
    assert spans["unknown-model-q"].cost_source == "unknown"
