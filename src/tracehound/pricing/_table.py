"""LLM call pricing: a maintained price table (genai-prices) plus user overrides.

Token convention (the one every tracehound writer follows, OpenAI's):

* ``input_tokens`` counts *all* prompt tokens, cached ones included; ``cached_tokens`` is the
  part of them read from the provider's prompt cache.
* ``output_tokens`` counts *all* completion tokens, reasoning ones included;
  ``reasoning_tokens`` is the part of them spent on reasoning.

So a call is priced ``(input - cached) * input rate + cached * cache-read rate`` and
``(output - reasoning) * output rate + reasoning * reasoning rate`` (the reasoning rate is the
output rate unless the table has its own): nothing is counted twice. A writer that reports
cached tokens *beside* the input ones (Anthropic's ``input_tokens`` excludes cache reads) is
recognized when ``cached > input`` and priced the same way without subtracting.

Every priced call carries the entry that priced it (``cost_source``):
``override:<key>`` for a user override, ``genai-prices:<provider>/<model>@<version>`` for the
maintained table. A model neither knows is *not* priced (cost unknown, never zero).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from ..exceptions import ValidationError

__all__ = [
    "Cost",
    "PriceEntry",
    "PriceTable",
    "calculate_cost",
    "default_pricer",
    "default_table",
    "set_price_overrides",
]

log = logging.getLogger("tracehound.pricing")

_PER_1K: Final = 1000.0
_PER_M: Final = 1_000_000.0
_CACHE_TTL_S: Final = 3600.0
_CACHE_MAX: Final = 4096

# Seed 002's ``token_prices`` keys (USD per 1K tokens) and their accepted spellings.
_OVERRIDE_KEYS: Final = {
    "input": "input",
    "prompt": "input",
    "output": "output",
    "completion": "output",
    "cached": "cached",
    "cache_read": "cached",
    "cached_input": "cached",
    "reasoning": "reasoning",
}


class Cost(NamedTuple):
    """The price of one call in USD, and the entry that priced it."""

    input_cost: float
    output_cost: float
    total_cost: float
    source: str


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """Rates in USD per token. ``cached``/``reasoning`` ``None`` mean the input/output rate.
    ``tiered`` holds genai-prices' own price object when the rates depend on the call's size
    (then that object computes the price)."""

    input: float
    output: float
    cached: float | None
    reasoning: float | None
    source: str
    tiered: Any = None

    def price(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_tokens: int | None,
        reasoning_tokens: int | None,
    ) -> Cost:
        inp = input_tokens or 0
        out = output_tokens or 0
        cached = cached_tokens or 0
        reasoning = reasoning_tokens or 0
        # cached beside input (not part of it): bill both parts, subtract nothing
        uncached = inp - cached if cached <= inp else inp
        plain_out = out - reasoning if reasoning <= out else out
        if self.tiered is not None:
            return self._tiered(uncached + cached, cached, plain_out + reasoning, reasoning)
        cached_rate = self.input if self.cached is None else self.cached
        reasoning_rate = self.output if self.reasoning is None else self.reasoning
        input_cost = uncached * self.input + cached * cached_rate
        output_cost = plain_out * self.output + reasoning * reasoning_rate
        return Cost(input_cost, output_cost, input_cost + output_cost, self.source)

    def _tiered(self, inp: int, cached: int, out: int, reasoning: int) -> Cost:
        from genai_prices import Usage

        usage = Usage(input_tokens=inp, output_tokens=out)
        if cached:
            usage.cache_read_tokens = cached
        if reasoning:
            usage.output_reasoning_tokens = reasoning
        got = self.tiered.calc_price(usage)
        i, o = float(got["input_price"]), float(got["output_price"])
        return Cost(i, o, float(got["total_price"]), self.source)


def _rate(model: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"token_prices[{model!r}][{key!r}]: expected a number of USD per 1K tokens, "
            f"got {type(value).__name__}",
            field="token_prices",
        )
    rate = float(value)
    if rate != rate or rate < 0 or rate == float("inf"):
        raise ValidationError(
            f"token_prices[{model!r}][{key!r}]: must be a finite, non-negative number",
            field="token_prices",
        )
    return rate / _PER_1K


def parse_overrides(token_prices: Mapping[str, Any] | None) -> dict[str, PriceEntry]:
    """Seed 002's ``token_prices`` form — ``{'gpt-4': {'input': 0.03, 'output': 0.06}}``,
    USD per **1K** tokens, optional ``cached`` and ``reasoning`` rates — validated into
    entries keyed by the lower-cased model (or ``provider/model``)."""
    if token_prices is None:
        return {}
    if not isinstance(token_prices, Mapping):
        raise ValidationError(
            f"token_prices: expected a mapping of model → {{'input': …, 'output': …}}, "
            f"got {type(token_prices).__name__}",
            field="token_prices",
        )
    out: dict[str, PriceEntry] = {}
    for model, spec in token_prices.items():
        if not isinstance(model, str) or not model.strip():
            raise ValidationError(
                f"token_prices: model names must be non-empty strings, got {model!r}",
                field="token_prices",
            )
        if not isinstance(spec, Mapping):
            raise ValidationError(
                f"token_prices[{model!r}]: expected {{'input': …, 'output': …}}, "
                f"got {type(spec).__name__}",
                field="token_prices",
            )
        rates: dict[str, float] = {}
        for key, value in spec.items():
            canon = _OVERRIDE_KEYS.get(str(key).lower())
            if canon is None:
                known = ", ".join(sorted(set(_OVERRIDE_KEYS)))
                raise ValidationError(
                    f"token_prices[{model!r}]: unknown key {key!r} (known: {known})",
                    field="token_prices",
                )
            rates[canon] = _rate(model, str(key), value)
        if "input" not in rates and "output" not in rates:
            raise ValidationError(
                f"token_prices[{model!r}]: needs at least 'input' or 'output'",
                field="token_prices",
            )
        key = model.strip().lower()
        out[key] = PriceEntry(
            rates.get("input", 0.0),
            rates.get("output", 0.0),
            rates.get("cached"),
            rates.get("reasoning"),
            f"override:{model.strip()}",
        )
    return out


def _genai_version() -> str:
    try:
        import genai_prices

        return str(genai_prices.__version__)
    except Exception:  # pragma: no cover - broken install
        return "unknown"


class PriceTable:
    """Prices calls: user overrides first, then genai-prices. Lookups are cached per
    ``(provider, model)`` (an hour, so dated price changes are picked up), unknown models
    included; pricing a call is then a dict lookup and a few multiplications.

    An instance is a :data:`~tracehound.pipeline._convert.Pricer`: call it with
    ``(provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens)``.
    """

    def __init__(
        self,
        token_prices: Mapping[str, Any] | None = None,
        *,
        use_genai_prices: bool = True,
    ) -> None:
        self._overrides = parse_overrides(token_prices)
        self._use_genai = use_genai_prices
        self._cache: dict[tuple[str | None, str], tuple[float, PriceEntry | None]] = {}
        self._reported: set[tuple[str | None, str]] = set()
        self._lock = threading.Lock()
        self._version: str | None = None

    # -- configuration ----------------------------------------------------------------------
    @property
    def overrides(self) -> dict[str, PriceEntry]:
        return dict(self._overrides)

    def set_overrides(self, token_prices: Mapping[str, Any] | None) -> None:
        """Replace the user overrides (seed 002's ``token_prices`` form)."""
        parsed = parse_overrides(token_prices)
        with self._lock:
            self._overrides = parsed
            self._cache = {}

    def update_overrides(self, token_prices: Mapping[str, Any]) -> None:
        """Add or change some overrides, keeping the others."""
        parsed = parse_overrides(token_prices)
        with self._lock:
            self._overrides = {**self._overrides, **parsed}
            self._cache = {}

    # -- lookups ----------------------------------------------------------------------------
    def lookup(self, provider: str | None, model: str) -> PriceEntry | None:
        """The entry that prices ``model`` (of ``provider``), or ``None`` when unknown."""
        key = (provider, model)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        entry = self._resolve(provider, model)
        cache = self._cache
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = (now + _CACHE_TTL_S, entry)
        return entry

    def _resolve(self, provider: str | None, model: str) -> PriceEntry | None:
        if not isinstance(model, str) or not model:
            return None
        low = model.strip().lower()
        overrides = self._overrides
        if provider:
            hit = overrides.get(f"{provider.strip().lower()}/{low}")
            if hit is not None:
                return hit
        hit = overrides.get(low)
        if hit is not None:
            return hit
        if not self._use_genai:
            return None
        return self._from_genai(provider, model)

    def _from_genai(self, provider: str | None, model: str) -> PriceEntry | None:
        try:
            from datetime import UTC, datetime

            from genai_prices import data_snapshot
            from genai_prices.types import TieredPrices

            snapshot = data_snapshot.get_snapshot()
            found = None
            if provider:
                try:
                    found = snapshot.find_provider_model(model, None, provider, None)
                except LookupError:
                    found = None
            if found is None:
                found = snapshot.find_provider_model(model, None, None, None)
            prov, info = found
            prices = info.get_prices(datetime.now(UTC))
        except LookupError:
            return None
        except Exception as exc:  # a broken table must not break tracing
            log.debug("genai-prices lookup failed for %s/%s: %r", provider, model, exc)
            return None
        version = self._version
        if version is None:
            version = self._version = _genai_version()
        if getattr(snapshot, "from_auto_update", False):
            version = f"{version}+{snapshot.timestamp:%Y%m%dT%H%M}"
        source = f"genai-prices:{prov.id}/{info.id}@{version}"
        values = {
            name: getattr(prices, name, None)
            for name in ("input_mtok", "output_mtok", "cache_read_mtok", "output_reasoning_mtok")
        }
        if values["input_mtok"] is None and values["output_mtok"] is None:
            return None  # priced per request/second/character: not a token price
        if any(isinstance(v, TieredPrices) for v in values.values()):
            return PriceEntry(0.0, 0.0, None, None, source, tiered=prices)

        def per_token(value: Any) -> float | None:
            return None if value is None else float(value) / _PER_M

        return PriceEntry(
            per_token(values["input_mtok"]) or 0.0,
            per_token(values["output_mtok"]) or 0.0,
            per_token(values["cache_read_mtok"]),
            per_token(values["output_reasoning_mtok"]),
            source,
        )

    # -- pricing ----------------------------------------------------------------------------
    def cost(
        self,
        provider: str | None,
        model: str,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> Cost | None:
        """The :class:`Cost` of a call, ``None`` when the model has no known price."""
        entry = self.lookup(provider, model)
        if entry is None:
            self._report(provider, model)
            return None
        try:
            return entry.price(input_tokens, output_tokens, cached_tokens, reasoning_tokens)
        except Exception as exc:
            log.debug("pricing %s/%s failed: %r", provider, model, exc)
            return None

    def __call__(
        self,
        provider: str | None,
        model: str,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_tokens: int | None,
        reasoning_tokens: int | None,
    ) -> tuple[float | None, float | None, float | None, str] | None:
        got = self.cost(
            provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens
        )
        return None if got is None else tuple(got)  # type: ignore[return-value]

    def _report(self, provider: str | None, model: str) -> None:
        key = (provider, model)
        if key in self._reported:
            return
        self._reported.add(key)
        log.warning(
            "no price known for model %r (provider %r): its calls are stored with cost unknown; "
            "add it with tracehound.pricing.set_price_overrides({%r: {'input': …, 'output': …}})",
            model,
            provider,
            model,
        )


_default_lock = threading.Lock()
_default: PriceTable | None = None


def default_table() -> PriceTable:
    """The process-wide table the pipeline prices LLM spans with."""
    global _default
    table = _default
    if table is None:
        with _default_lock:
            table = _default
            if table is None:
                table = _default = PriceTable()
    return table


def default_pricer() -> PriceTable:
    """The pricer the runtime installs: :func:`default_table` (genai-prices plus the
    overrides given to :func:`set_price_overrides`)."""
    return default_table()


def set_price_overrides(token_prices: Mapping[str, Any] | None, *, replace: bool = False) -> None:
    """Add user prices (seed 002's ``token_prices`` form, USD per 1K tokens) to the default
    table; ``replace=True`` drops the previous overrides first."""
    table = default_table()
    if replace or token_prices is None:
        table.set_overrides(token_prices)
    else:
        table.update_overrides(token_prices)


def calculate_cost(
    model: str,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    *,
    provider: str | None = None,
    cached_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    token_prices: Mapping[str, Any] | None = None,
) -> Cost | None:
    """Price one call (``None`` when the model's price is unknown). ``token_prices`` are
    extra overrides for this call only."""
    if not isinstance(model, str):
        raise ValidationError(
            f"model: expected a string, got {type(model).__name__}", field="model"
        )
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("cached_tokens", cached_tokens),
        ("reasoning_tokens", reasoning_tokens),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValidationError(
                f"{name}: expected a non-negative integer, got {value!r}", field=name
            )
    if token_prices:
        extra = parse_overrides(token_prices)
        low = model.strip().lower()
        entry = extra.get(f"{(provider or '').lower()}/{low}") or extra.get(low)
        if entry is not None:
            return entry.price(input_tokens, output_tokens, cached_tokens, reasoning_tokens)
    return default_table().cost(
        provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens
    )
