"""LLM call pricing: genai-prices' maintained table plus user overrides (see ``_table``)."""

from ._table import (
    Cost,
    PriceEntry,
    PriceTable,
    calculate_cost,
    default_pricer,
    default_table,
    parse_overrides,
    set_price_overrides,
)

__all__ = [
    "Cost",
    "PriceEntry",
    "PriceTable",
    "calculate_cost",
    "default_pricer",
    "default_table",
    "parse_overrides",
    "set_price_overrides",
]
