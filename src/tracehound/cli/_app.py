"""The ``tracehound`` Typer application and shared console helpers."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["app", "console", "err_console"]

app = typer.Typer(
    name="tracehound",
    help="Trace and debug AI agents: record executions, LLM calls, tools, decisions and errors; ask why.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)
