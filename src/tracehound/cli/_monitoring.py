"""Monitoring commands: ``anomalies``, ``stats``, ``health``, ``compare`` and ``monitor``."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
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
)

if TYPE_CHECKING:  # SQLAlchemy is imported only when a command runs
    from ..monitoring import Alert, Analytics, Anomaly, Comparison, HealthStatus, Monitor

__all__ = ["anomalies", "compare", "health", "monitor", "stats"]

_STATUS_STYLE: Final = {"healthy": "bold green", "degraded": "bold yellow", "unhealthy": "bold red"}
_SEVERITY_STYLE: Final = {"critical": "bold red", "warning": "yellow", "info": "blue"}
_VERDICT_STYLE: Final = {"worse": "bold red", "better": "green", "changed": "yellow", "same": "dim"}

ProjectOption = Annotated[
    str | None, typer.Option("--project", help="Only this project.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Start of the window instead of --window: ISO time, -2h, or session:latest / "
        "session:previous / session:ID (when that session started).",
        show_default=False,
    ),
]
ThresholdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--threshold",
        "-t",
        help="A threshold NAME=VALUE (error_rate, anomaly_score, ingest_lag_s, skip_rate, "
        "latency_p95_ms, queue_depth, dropped, cost_per_day…); repeatable.",
        show_default=False,
    ),
]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _check_url(url: str | None) -> str:
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
    except ValueError as exc:
        _fail(str(exc))
    return url


@contextmanager
def _analytics(url: str | None, project: str | None, **options: Any) -> Iterator[Analytics]:
    from ..monitoring import Analytics

    url = _check_url(url)
    try:
        an = Analytics(url, project=project, flush=False, **options)
    except ValueError as exc:
        _fail(str(exc))
    try:
        yield an
    except typer.Exit:
        raise
    except ValueError as exc:
        _fail(str(exc))
    except Exception as exc:
        text = str(exc)
        where = _safe_url(url)
        if "no such table" in text or ('relation "' in text and "does not exist" in text):
            _fail(f"{where} is not a tracehound database (no tracehound tables in it)")
        _fail(f"cannot read store {where}: {_one_line(exc)}")
    finally:
        an.close()


def _thresholds(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _fail(f"--threshold {item!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            _fail(f"--threshold {item!r}: {value!r} is not a number")
    return out


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str, ensure_ascii=False))


def _fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return _fmt_ms(value)
    if unit == "USD":
        return _fmt_cost(value)
    if unit == "tokens":
        return f"{value:,.0f}"
    if unit == "calls":
        return f"{value:,.1f}"
    if unit == "":
        return f"{value:.1%}"
    return f"{value:,.3g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, "white"))


# ------------------------------------------------------------------------------------------
# anomalies
# ------------------------------------------------------------------------------------------


def _duration_text(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def _short_time(value: datetime) -> str:
    local = value.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def _anomaly_table(found: list[Anomaly]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Where", ratio=2)
    table.add_column("Metric", ratio=2)
    table.add_column("Now", justify="right", no_wrap=True)
    table.add_column("Usual", justify="right", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    for i, a in enumerate(found, 1):
        arrow = "▲" if a.direction == "up" else "▼"
        style = _SEVERITY_STYLE.get(a.severity, "white")
        table.add_row(
            Text(str(i), style=style),
            Text(f"{a.scope} {a.target}", style="bold"),
            Text(f"{a.metric} {arrow}", style=style),
            _fmt_value(a.observed, a.unit),
            _fmt_value(a.baseline.median, a.unit),
            f"{a.score:.1f}",
        )
    return table


@app.command(rich_help_panel="Monitoring")
def anomalies(
    store: StoreOption = None,
    project: ProjectOption = None,
    window: Annotated[
        str, typer.Option("--window", "-w", help="Evaluate the last WINDOW (e.g. 30m, 6h, 1d).")
    ] = "6h",
    since: SinceOption = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="End of the window (ISO time or -2h); default now.", show_default=False
        ),
    ] = None,
    baseline: Annotated[
        str, typer.Option("--baseline", help="History compared with (before the window).")
    ] = "14d",
    bucket: Annotated[str, typer.Option("--bucket", help="Time bucket width.")] = "1h",
    min_score: Annotated[
        float, typer.Option("--min-score", help="Smallest score (z) reported.", min=0.0)
    ] = 4.0,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Only these metrics (repeatable).")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="Only these scopes: agent, model, tool (repeatable)."),
    ] = None,
    fail: Annotated[
        bool, typer.Option("--fail", help="Exit with status 1 when anything was found.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Metrics of agents, models and tools behaving unlike their own history.

    Error, skip and tool failure rates, latency p50/p95, cost and tokens per call, volume —
    each compared with its own baseline (robust statistics, seasonal by hour of day when the
    history allows; two-sample tests when it is short)."""
    with _analytics(store, project, window=window, baseline=baseline, bucket=bucket) as an:
        found = an.anomalies(
            since=since,
            until=until,
            min_score=min_score,
            metrics=metric or None,
            scopes=scope or None,
        )
    if as_json:
        _print_json([a.to_dict() for a in found])
    elif not found:
        where = f"since {since}" if since else f"in the last {window}"
        console.print(f"[green]No anomalies[/green] {where} (baseline {baseline}).")
    else:
        console.print(_anomaly_table(found))
        for i, a in enumerate(found, 1):
            when = f"{_short_time(a.window_start)}–{_short_time(a.window_end)}"
            console.print(f"[dim]{i}. [{when}][/dim] {escape(a.description)}")
    if fail and found:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------
# stats
# ------------------------------------------------------------------------------------------


@app.command(rich_help_panel="Monitoring")
def stats(
    store: StoreOption = None,
    project: ProjectOption = None,
    timeframe: Annotated[
        str,
        typer.Option("--timeframe", "-f", help="24h, 7d, START..END, or all.", show_default=True),
    ] = "24h",
    as_json: JsonOption = False,
) -> None:
    """Statistics per agent, model, tool and event type: counts, rates, latency and cost."""
    with _analytics(store, project) as an:
        report = an.stats(timeframe)
    if as_json:
        _print_json(report)
        return
    t = report["totals"]
    console.print(
        Panel(
            f"[bold]{t['executions']:,}[/bold] executions · error rate {_pct(t['error_rate'])} · "
            f"{t['llm_calls']:,} LLM calls · {t['tool_calls']:,} tool calls · "
            f"cost {_fmt_cost(t['cost'] or 0.0)} · {t['tokens']:,} tokens · "
            f"{t['events']:,} events",
            title=f"tracehound stats — {escape(timeframe)}",
            expand=False,
        )
    )
    if report["agents"]:
        table = Table(title="Agents", box=box.SIMPLE_HEAD, header_style="bold")
        cols = ("Agent", "Runs", "Failed", "Skipped", "Error", "Skip", "p50", "p95", "Cost/call")
        for col in cols:
            if col == "Agent":
                table.add_column(col, min_width=12, overflow="fold")
            else:
                table.add_column(col, justify="right", no_wrap=True)
        for name, a in report["agents"].items():
            table.add_row(
                Text(name, style="bold"),
                f"{a['executions']:,}",
                f"{a['failed']:,}",
                f"{a['skipped']:,}",
                _pct(a["error_rate"]),
                _pct(a["skip_rate"]),
                _fmt_ms(a["latency_ms"]["p50"]),
                _fmt_ms(a["latency_ms"]["p95"]),
                _fmt_cost(a["cost"]["per_call"]) if a["cost"]["per_call"] is not None else "—",
            )
        console.print(table)
    if report["models"]:
        table = Table(title="Models", box=box.SIMPLE_HEAD, header_style="bold")
        mcols = ("Model", "Calls", "Error", "p50", "p95", "Cost/call", "Tokens/call", "Cost")
        for col in mcols:
            if col == "Model":
                table.add_column(col, min_width=12, overflow="fold")
            else:
                table.add_column(col, justify="right", no_wrap=True)
        for name, m in report["models"].items():
            c = m["cost"]
            table.add_row(
                Text(name, style="bold cyan"),
                f"{m['calls']:,}",
                _pct(m["error_rate"]),
                _fmt_ms(m["latency_ms"]["p50"]),
                _fmt_ms(m["latency_ms"]["p95"]),
                _fmt_cost(c["per_call"]) if c["per_call"] is not None else "—",
                f"{m['tokens']['per_call']:,.0f}" if m["tokens"]["per_call"] else "—",
                _fmt_cost(c["total"] or 0.0),
            )
        console.print(table)
    if report["tools"]:
        table = Table(title="Tools", box=box.SIMPLE_HEAD, header_style="bold")
        for col in ("Tool", "Calls", "Failed", "Failure rate", "p50", "p95"):
            table.add_column(col, justify="left" if col == "Tool" else "right", no_wrap=True)
        for name, tl in report["tools"].items():
            table.add_row(
                Text(name, style="bold yellow"),
                f"{tl['calls']:,}",
                f"{tl['failed']:,}",
                _pct(tl["failure_rate"]),
                _fmt_ms(tl["latency_ms"]["p50"]),
                _fmt_ms(tl["latency_ms"]["p95"]),
            )
        console.print(table)
    if report["event_types"]:
        table = Table(title="Events", box=box.SIMPLE_HEAD, header_style="bold")
        table.add_column("Type", no_wrap=True)
        table.add_column("Count", justify="right")
        table.add_column("Levels")
        for name, e in report["event_types"].items():
            levels = ", ".join(f"{k} {v:,}" for k, v in sorted(e["levels"].items()))
            table.add_row(name, f"{e['count']:,}", levels)
        console.print(table)
    if not (report["agents"] or report["models"] or report["tools"] or report["event_types"]):
        console.print(f"[yellow]Nothing recorded[/yellow] in {escape(timeframe)}.")


# ------------------------------------------------------------------------------------------
# health
# ------------------------------------------------------------------------------------------


def _print_health(status: HealthStatus) -> None:
    s = status.system
    lines = [
        Text.assemble("Status: ", _status(status.status)),
        Text(
            f"Store: {'reachable' if s.store_reachable else 'UNREACHABLE'}"
            + (f" ({s.store_error})" if s.store_error else "")
        ),
        Text(
            "Newest record: "
            + (_fmt_time(s.newest_record_at) if s.newest_record_at else "—")
            + (f" (ingest lag {s.ingest_lag_s:,.1f} s)" if s.ingest_lag_s is not None else "")
        ),
        Text(
            f"Window: {_duration_text(s.window_s)} · {s.executions:,} executions · "
            f"{s.failures:,} failed · error rate {_pct(s.error_rate)}"
        ),
        Text(
            f"Pipeline (this process): queue {s.queue_depth:,} · spooled {s.spooled:,} · "
            f"replayed {s.replayed:,} · dropped {s.dropped:,}"
            + (f" · exporters down: {', '.join(s.exporters_down)}" if s.exporters_down else "")
        ),
    ]
    for reason in s.reasons:
        lines.append(Text(f"• {reason}", style="yellow"))
    console.print(
        Panel(
            Text("\n").join(lines),
            title="tracehound health",
            border_style=_STATUS_STYLE.get(status.status, "white").replace("bold ", ""),
            expand=False,
        )
    )
    if not status.agents:
        console.print("[dim]No agent executions in the window.[/dim]")
        return
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    numeric = ("Runs", "Failed", "Error rate", "Skip rate", "p95")
    for col in ("Agent", "Status", *numeric, "Last seen"):
        if col == "Agent":
            table.add_column(col, min_width=12, overflow="fold")
        else:
            table.add_column(col, justify="right" if col in numeric else "left", no_wrap=True)
    for a in status.agents:
        table.add_row(
            Text(a.agent, style="bold"),
            _status(a.status),
            f"{a.executions:,}",
            f"{a.failures:,}",
            _pct(a.error_rate),
            _pct(a.skip_rate),
            _fmt_ms(a.latency_p95_ms),
            _short_time(a.last_seen) if a.last_seen else "—",
        )
    console.print(table)
    for a in status.agents:
        if a.reasons:
            console.print(Text.assemble(Text(a.agent, style="bold"), " (", _status(a.status), "):"))
            for reason in a.reasons:
                console.print(f"  • {escape(reason)}", soft_wrap=False)


def _monitor(
    store: str | None,
    project: str | None,
    thresholds: dict[str, float],
    **options: Any,
) -> Monitor:
    from ..monitoring import Monitor

    url = _check_url(store)
    try:
        return Monitor(url, project=project, thresholds=thresholds, flush=False, **options)
    except ValueError as exc:
        _fail(str(exc))


@app.command(rich_help_panel="Monitoring")
def health(
    store: StoreOption = None,
    project: ProjectOption = None,
    window: Annotated[
        str, typer.Option("--window", "-w", help="Judge the last WINDOW of executions.")
    ] = "1h",
    since: SinceOption = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Judge as of this time (ISO or -2h); default now.", show_default=False
        ),
    ] = None,
    threshold: ThresholdOption = None,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 1 when degraded, 2 when unhealthy."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Health of the system and of each agent.

    System: store reachable, ingest lag, this process's pipeline queue, spool and drops,
    error rate. Agents: error and skip rates, p95 latency, last activity, anomalies."""
    mon = _monitor(store, project, _thresholds(threshold), window=window, since=since)
    try:
        from ..monitoring._time import parse_time

        at = parse_time(until) if until is not None else None
        status = mon.health(now=at)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        mon.close()
    if as_json:
        _print_json(status.to_dict())
    else:
        _print_health(status)
    if exit_code and status.status != "healthy":
        raise typer.Exit(2 if status.status == "unhealthy" else 1)


# ------------------------------------------------------------------------------------------
# compare
# ------------------------------------------------------------------------------------------


def _print_comparison(result: Comparison, show_all: bool) -> None:
    title = f"{escape(result.a.label)} → {escape(result.b.label)}"
    if result.agent:
        title += f" (agent {escape(result.agent)})"
    table = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold")
    for col in ("Where", "Metric / test", "A", "B", "Change", "p (adj.)", "Verdict"):
        right = col in ("A", "B", "Change", "p (adj.)")
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    shown = 0
    for c in result.changes:
        if not (show_all or c.significant):
            continue
        shown += 1
        unit = (
            c.unit
            if c.metric not in ("success_rate", "error_rate", "skip_rate", "failure_rate")
            else ""
        )
        if c.change is None:
            change = "—"
        elif unit == "":
            change = f"{c.change * 100:+.1f} pts"
        else:
            change = f"{c.change:+.0%}"
        p = "<0.001" if c.p_adjusted < 0.001 else f"{c.p_adjusted:.3f}"
        table.add_row(
            f"{c.scope} {c.target}",
            f"{c.metric}\n[dim]{c.test}[/dim]",
            _fmt_value(c.a, unit),
            _fmt_value(c.b, unit),
            change,
            p,
            Text(c.verdict, style=_VERDICT_STYLE.get(c.verdict, "white")),
            style=None if c.significant else "dim",
        )
    if shown:
        console.print(table)
    if result.significant:
        console.print("[bold]What changed:[/bold]")
        for line in result.summary:
            console.print(f"  • {escape(line)}")
    else:
        console.print(
            f"[green]No significant change[/green] (α = {result.alpha:g}, Holm-adjusted; "
            f"{len(result.changes)} tests)."
        )


@app.command(rich_help_panel="Monitoring")
def compare(
    a: Annotated[
        str,
        typer.Argument(
            help="Cohort A: a version (v1, version:v1, release:2024.05), a window "
            "(-48h..-24h, 2024-05-01..2024-05-02, 24h) or a session (session:previous, session:ID)."
        ),
    ],
    b: Annotated[str, typer.Argument(help="Cohort B (the same forms); compared with A.")],
    store: StoreOption = None,
    project: ProjectOption = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent.")] = None,
    alpha: Annotated[
        float,
        typer.Option("--alpha", help="Significance level (Holm-adjusted).", min=1e-9, max=0.5),
    ] = 0.01,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the metrics that did not change.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare two versions, releases, time windows or sessions (regressions).

    Success, error and skip rates, latency, cost, tokens and tool usage, each with a
    significance test (Holm-adjusted)."""
    with _analytics(store, project) as an:
        result = an.compare(a, b, agent=agent, alpha=alpha)
    if as_json:
        _print_json(result.to_dict())
        return
    _print_comparison(result, show_all)


# ------------------------------------------------------------------------------------------
# monitor
# ------------------------------------------------------------------------------------------


def _default_state_path() -> Path:
    from ..config import Settings

    return Settings.load().trace_dir / ".monitor" / "alerts.json"


def _print_alert(alert: Alert) -> None:
    style = _SEVERITY_STYLE.get(alert.severity, "white")
    sinks = ", ".join(alert.delivered) or "nowhere"
    failed = f" [red](failed: {', '.join(alert.failed)})[/red]" if alert.failed else ""
    console.print(
        f"[{style}]ALERT[/{style}] [dim]{_fmt_time(alert.fired_at)}[/dim] "
        f"{escape(alert.message)} [dim]→ {sinks}[/dim]{failed}",
        soft_wrap=True,
    )


@app.command(rich_help_panel="Monitoring")
def monitor(
    store: StoreOption = None,
    project: ProjectOption = None,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between evaluations.", min=0.1)
    ] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="Evaluate once and exit.")] = False,
    iterations: Annotated[
        int | None, typer.Option("--iterations", help="Stop after N evaluations.", min=1)
    ] = None,
    window: Annotated[
        str, typer.Option("--window", "-w", help="Judge the last WINDOW of executions.")
    ] = "1h",
    since: SinceOption = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option("--webhook", help="POST alerts as JSON to this URL (repeatable)."),
    ] = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Append alerts as JSON lines to this file.")
    ] = None,
    trace_events: Annotated[
        bool,
        typer.Option("--trace-events/--no-trace-events", help="Record alerts in the trace."),
    ] = True,
    cooldown: Annotated[
        str, typer.Option("--cooldown", help="Least time between two alerts of one condition.")
    ] = "1h",
    repeat: Annotated[
        bool,
        typer.Option("--repeat", help="Re-alert a lasting condition every cooldown."),
    ] = False,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Alert state file (de-duplication across runs); 'none' keeps it in memory. "
            "Default: <trace dir>/.monitor/alerts.json.",
            show_default=False,
        ),
    ] = None,
    budget_per_day: Annotated[
        float | None,
        typer.Option("--budget-per-day", help="Alert when today's LLM cost reaches USD.", min=0.0),
    ] = None,
    threshold: ThresholdOption = None,
) -> None:
    """Evaluate alert rules continuously and deliver new alerts.

    Rules: anomalies, thresholds, a daily cost budget. Each condition alerts once (then not
    within the cool-down nor while it lasts), to the trace, a log file and webhooks."""
    from ..monitoring import WebhookSink

    thresholds = _thresholds(threshold)
    if budget_per_day is not None:
        thresholds["cost_per_day"] = budget_per_day
    try:
        sinks = [WebhookSink(url) for url in webhook or []]
    except ValueError as exc:
        _fail(str(exc))
    state_path: Path | None
    if state is None:
        state_path = _default_state_path()
    elif state.lower() == "none":
        state_path = None
    else:
        state_path = Path(state)
    mon = _monitor(
        store,
        project,
        thresholds,
        window=window,
        since=since,
        sinks=sinks,
        log_file=log_file,
        trace_events=trace_events,
        cooldown=cooldown,
        repeat=repeat,
        state_path=state_path,
    )
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)

    def on_check(status: HealthStatus, fired: list[Alert]) -> None:
        now = _fmt_time(datetime.now(UTC))
        bad = [a.agent for a in status.agents if a.status != "healthy"]
        tail = f" · attention: {', '.join(bad)}" if bad else ""
        console.print(
            f"[dim]{now}[/dim] health ",
            _status(status.status),
            f" · {len(fired)} new alert(s){escape(tail)}",
        )

    try:
        mon.run(
            interval=interval,
            iterations=1 if once else iterations,
            stop=stop,
            on_alert=_print_alert,
            on_check=on_check,
        )
    except KeyboardInterrupt:
        console.print("[dim]stopped[/dim]")
    except Exception as exc:
        _fail(f"monitor failed: {_one_line(exc)}")
    finally:
        signal.signal(signal.SIGTERM, previous)
        mon.close()
