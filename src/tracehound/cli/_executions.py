"""Execution analytics commands: ``why``, ``timeline``, ``failed``, ``slow``, ``cost``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ._app import app, console
from ._core import (
    StoreOption,
    _default_store,
    _fail,
    _fmt_cost,
    _fmt_ms,
    _fmt_time,
    _one_line,
    _safe_url,
    _status_text,
    _truncate,
)

if TYPE_CHECKING:  # SQLAlchemy is imported only when a command runs
    from ..analytics import ExecutionAnalytics

HoursOption = Annotated[
    float, typer.Option("--hours", help="Look back this many hours.", min=0.001)
]
AgentOption = Annotated[str | None, typer.Option("--agent", help="Only this agent.")]
VaultOption = Annotated[str | None, typer.Option("--vault", help="Only this vault id.")]
LimitOption = Annotated[int, typer.Option("--limit", help="Rows to show.", min=1, max=500)]


@contextmanager
def _analytics(url: str | None) -> Iterator[ExecutionAnalytics]:
    from ..analytics import ExecutionAnalytics
    from ..executions import InvalidArgumentError

    url = url or _default_store()
    try:
        from ..store._engine import dialect_of, sqlite_path

        if dialect_of(url) == "sqlite":
            path = sqlite_path(url)
            if path is not None and not path.exists():
                _fail(
                    f"no database at {path}; run `tracehound demo` first "
                    "or point --store at a tracehound database"
                )
        an = ExecutionAnalytics(url, flush=False)
    except typer.Exit:
        raise
    except (ValueError, InvalidArgumentError) as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot open store {_safe_url(url)}: {_one_line(exc)}")
    try:
        yield an
    except typer.Exit:
        raise
    except InvalidArgumentError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot read store {_safe_url(url)}: {_one_line(exc)}")
    finally:
        an.close()


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


@app.command()
def why(
    agent: Annotated[str, typer.Argument(help="Agent name, e.g. PsychologistAgent.")],
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Conversation id.")
    ] = None,
    vault: VaultOption = None,
    hours: Annotated[
        float | None, typer.Option("--hours", help="Look back this many hours.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Why did (or didn't) an agent fire? Never invoked, skipped (relevance), failed, fired."""
    with _analytics(store) as an:
        got = an.debug_why_agent_didnt_fire(
            agent, conversation_id=conversation, vault_id=vault, hours=hours
        )
    style = {
        "fired": "green",
        "skipped": "yellow",
        "failed": "red",
        "never_invoked": "magenta",
    }.get(got["status"], "cyan")
    console.print(Text.assemble((got["status"].upper(), f"bold {style}"), "  ", got["message"]))
    rows = got["executions"]
    if not rows:
        return
    table = Table(show_lines=False, header_style="bold")
    for col in ("started", "execution", "status", "stage", "relevance", "reason / error", "input"):
        table.add_column(col, overflow="fold")
    for e in rows:
        reason = e["relevance_reasoning"] or ": ".join(
            x for x in (e["error_type"], e["error_message"]) if x
        )
        score = e["relevance_score"]
        table.add_row(
            _fmt_time(e["started_at"]),
            str(e["execution_id"]),
            _status_text(str(e["status"])),
            str(e["current_stage"] or "—"),
            "—" if score is None else f"{float(score):.2f}",
            _truncate(reason or "—", 80),
            _truncate(e["input_data"], 60) if e["input_data"] is not None else "—",
        )
    console.print(table)


@app.command()
def timeline(
    execution: Annotated[str, typer.Argument(help="Execution id (the agent span's id).")],
    events: Annotated[
        bool, typer.Option("--events/--no-events", help="Include log events.")
    ] = True,
    store: StoreOption = None,
) -> None:
    """The stage-by-stage timeline of one execution, with its LLM calls."""
    with _analytics(store) as an:
        ex = an.get_execution(execution)
        if ex is None:
            _fail(f"no execution {execution!r} in the store")
        stages = an.get_stage_timeline(execution, include_events=events)
        llm = an.get_llm_interactions(execution)
    console.print(
        Text.assemble(
            (f"{ex.agent_name}.{ex.method}", "bold"),
            "  ",
            _status_text(str(ex.status)),
            f"  {_fmt_ms(ex.duration_ms)}  started {_fmt_time(ex.started_at)}",
        )
    )
    if ex.error_message:
        console.print(Text(f"{ex.error_type or 'Error'}: {ex.error_message}", style="red"))
    if ex.relevance_reasoning:
        console.print(
            Text(f"relevance {ex.relevance_score}: {ex.relevance_reasoning}", style="yellow")
        )
    table = Table(header_style="bold")
    for col in ("time", "stage", "status", "duration", "message"):
        table.add_column(col, overflow="fold")
    for s in stages:
        table.add_row(
            _fmt_time(s["timestamp"], with_date=False),
            str(s["stage"] or ("·" if s["kind"] == "event" else "—")),
            _status_text(s["status"])
            if s["status"]
            else Text(str(s["level"]).lower(), style="dim"),
            _fmt_ms(s["duration_ms"]),
            _truncate(s["message"] or "", 100),
        )
    console.print(table)
    calls = llm["calls"] if llm else []
    if calls:
        lt = Table(title="LLM calls", header_style="bold")
        for col in ("model", "status", "latency", "tokens", "cost", "response"):
            lt.add_column(col, overflow="fold")
        for c in calls:
            lt.add_row(
                str(c["model"]),
                _status_text(c["span_status"]),
                _fmt_ms(c["latency_ms"]),
                _num(c["total_tokens"]),
                "unknown" if c["total_cost"] is None else _fmt_cost(c["total_cost"]),
                _truncate(c["response"], 80) if c["response"] is not None else "—",
            )
        console.print(lt)


@app.command()
def failed(
    hours: HoursOption = 24.0,
    agent: AgentOption = None,
    vault: VaultOption = None,
    limit: LimitOption = 20,
    store: StoreOption = None,
) -> None:
    """Failed and timed-out executions: agent, error, the stage where it failed."""
    with _analytics(store) as an:
        rows = an.get_failed_executions(vault_id=vault, hours=hours, agent_name=agent, limit=limit)
    if not rows:
        console.print(f"No failed executions in the last {hours:g} h.")
        return
    table = Table(title=f"Failed executions (last {hours:g} h)", header_style="bold")
    for col in ("started", "agent", "status", "stage", "error", "execution"):
        table.add_column(col, overflow="fold")
    for e in rows:
        table.add_row(
            _fmt_time(e.started_at),
            f"{e.agent_name}.{e.method}",
            _status_text(str(e.status)),
            str(e.current_stage or "—"),
            _truncate(": ".join(x for x in (e.error_type, e.error_message) if x) or "—", 90),
            str(e.execution_id),
        )
    console.print(table)


@app.command()
def slow(
    threshold_ms: Annotated[
        float, typer.Option("--threshold-ms", help="Slower than this.", min=0)
    ] = 5000,
    hours: HoursOption = 24.0,
    agent: AgentOption = None,
    vault: VaultOption = None,
    limit: LimitOption = 20,
    store: StoreOption = None,
) -> None:
    """Slow executions, slowest first, split into LLM latency and the rest (overhead)."""
    with _analytics(store) as an:
        rows = an.find_slow_executions(
            threshold_ms=threshold_ms, vault_id=vault, hours=hours, agent_name=agent, limit=limit
        )
    if not rows:
        console.print(f"No execution slower than {_fmt_ms(threshold_ms)} in the last {hours:g} h.")
        return
    table = Table(title=f"Executions slower than {_fmt_ms(threshold_ms)}", header_style="bold")
    for col in ("agent", "status", "duration", "LLM latency", "LLM calls", "overhead", "execution"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            f"{r['agent_name']}.{r['method']}",
            _status_text(r["status"]),
            _fmt_ms(r["duration_ms"]),
            _fmt_ms(r["llm_latency_ms"]),
            str(r["llm_calls"]),
            _fmt_ms(r["overhead_ms"]),
            str(r["execution_id"]),
        )
    console.print(table)


@app.command()
def cost(
    days: Annotated[
        float, typer.Option("--days", help="Look back this many days.", min=0.001)
    ] = 30.0,
    report: Annotated[str | None, typer.Option("--report", help="Only this report id.")] = None,
    store: StoreOption = None,
) -> None:
    """LLM calls, tokens and cost by model, and executions by status (seed 002's summary)."""
    from datetime import UTC, datetime, timedelta

    end = datetime.now(UTC)
    with _analytics(store) as an:
        s = an.get_analytics_summary(
            start_date=end - timedelta(days=days), end_date=end, report_id=report
        )
    ex = s["execution_analytics"]
    llm = s["llm_call_analytics"]
    tokens = llm["token_stats"]
    head = Table.grid(padding=(0, 2))
    head.add_row(
        "Executions",
        _num(ex["total_executions"]),
        "  ".join(f"{k} {v:,}" for k, v in ex["status_counts"].items()) or "—",
    )
    d = ex["duration_stats"]
    head.add_row(
        "Duration",
        f"avg {_fmt_ms(d['avg_duration_ms'])}",
        f"min {_fmt_ms(d['min_duration_ms'])}  max {_fmt_ms(d['max_duration_ms'])}",
    )
    head.add_row(
        "LLM calls",
        _num(llm["total_calls"]),
        "  ".join(f"{k} {v:,}" for k, v in llm["provider_counts"].items()) or "—",
    )
    head.add_row(
        "Tokens",
        _num(tokens["total_tokens"]),
        f"in {tokens['total_input_tokens']:,}  out {tokens['total_output_tokens']:,}  "
        f"cached {tokens['total_cached_tokens']:,}  reasoning {tokens['total_reasoning_tokens']:,}",
    )
    head.add_row(
        Text("Cost", style="bold"),
        Text(_fmt_cost(tokens["total_cost"]), style="bold"),
        f"input {_fmt_cost(tokens['total_input_cost'])}  output {_fmt_cost(tokens['total_output_cost'])}",
    )
    console.print(head)
    if llm["model_counts"]:
        table = Table(title=f"LLM cost by model (last {days:g} days)", header_style="bold")
        for col in ("model", "calls", "cost"):
            table.add_column(col, justify="right" if col != "model" else "left")
        for model, n in llm["model_counts"].items():
            c = llm["cost_by_model"].get(model)
            table.add_row(model, f"{n:,}", "unknown" if c is None else _fmt_cost(c))
        console.print(table)
    if llm["unpriced_calls"]:
        console.print(
            Text(
                f"{llm['unpriced_calls']:,} call(s) have no known price (cost unknown, not counted): "
                + ", ".join(llm["unpriced_models"])
                + " — add them with tracehound.set_price_overrides({...})",
                style="yellow",
            )
        )
