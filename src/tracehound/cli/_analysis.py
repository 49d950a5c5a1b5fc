"""Analysis commands: ``analyze``, ``debug``, ``journey`` and ``errors`` (seed 000's LogAnalyzer).

Each reads one session — the latest one under the trace directory by default, or the one
given as a ``session_<id>`` directory, a ``trace/`` directory, a session id or a database —
with a progress bar while the session is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ._app import app, console, err_console

if TYPE_CHECKING:
    from ..analysis import LogAnalyzer

__all__ = ["analyze", "debug", "errors", "journey"]

_LEVEL_STYLE: Final = {
    "DEBUG": "bright_black",
    "INFO": "blue",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}

SessionArg = Annotated[
    str | None,
    typer.Argument(
        help="A session_<id> directory, a trace/ directory, a session id, or a database file/URL. "
        "Default: the latest session under the trace directory.",
        show_default=False,
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Read from this database (URL or SQLite file) instead of the files.",
        show_default=False,
    ),
]
TraceDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--trace-dir",
        help="Trace directory (default: TRACEHOUND_TRACE_DIR, else ./trace).",
        show_default=False,
    ),
]
SessionIdOpt = Annotated[
    str | None,
    typer.Option(
        "--session-id", help="Which session of a trace directory or database.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def _analyzer(
    session: str | None,
    store: str | None,
    trace_dir: Path | None,
    session_id: str | None,
    *,
    quiet: bool = False,
) -> Iterator[LogAnalyzer]:
    """Open the session and read it once with a progress bar; errors become one clean line."""
    from ..analysis import LogAnalyzer
    from ..exceptions import TracehoundError

    try:
        an = LogAnalyzer(session, store=store, trace_dir=trace_dir, session_id=session_id)
    except TracehoundError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot open the session: {exc}")
    try:
        with Progress(
            TextColumn("[bold]Reading[/bold] {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=quiet,
        ) as bar:
            task = bar.add_task(escape(an.source.description), total=None, records="")

            def advance(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total, records=f"{done:,}")

            an.progress = advance
            an.summary()
            an.progress = None
        yield an
    except typer.Exit:
        raise
    except TracehoundError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot read {an.source.description}: {type(exc).__name__}: {exc}")
    finally:
        an.close()


def _clock(iso_text: str | None) -> str:
    return iso_text[11:23] if iso_text else "-"


def _level(level: str | None) -> Text:
    text = level or "-"
    return Text(text, style=_LEVEL_STYLE.get(text, ""))


def _short(text: Any, limit: int = 110) -> str:
    s = "" if text is None else str(text).replace("\n", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


# ------------------------------------------------------------------------------------------
# analyze
# ------------------------------------------------------------------------------------------


@app.command()
def analyze(
    session: SessionArg = None,
    store: StoreOpt = None,
    trace_dir: TraceDirOpt = None,
    session_id: SessionIdOpt = None,
    as_json: JsonOpt = False,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Also write the full analysis as JSON to this file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Summarize a session: agents, errors, learning, interactions, slowest operations."""
    with _analyzer(session, store, trace_dir, session_id, quiet=as_json) as an:
        if export is not None:
            an.export_analysis(export)
        if as_json:
            _print_json(an.as_dict())
            return
        ov = an.overview()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row(
            "Session", f"{ov['session_id'] or '?'}  [dim]({escape(an.source.description)})[/dim]"
        )
        if ov["first"]:
            grid.add_row(
                "Time",
                f"{ov['first'][:19].replace('T', ' ')} → {ov['last'][11:19]} UTC ({ov['duration_s']:.1f} s)",
            )
        grid.add_row(
            "Records",
            f"{ov['records']:,}: {ov['spans']:,} spans, {ov['events']:,} events, {ov['metrics']:,} metrics; "
            f"{ov['traces']:,} traces",
        )
        errors_style = "bold red" if ov["errors"] else "green"
        grid.add_row("Errors", Text(f"{ov['errors']:,}", style=errors_style))
        if an.elapsed_s is not None:
            grid.add_row("Read in", f"{an.elapsed_s:.2f} s")
        console.print(Panel(grid, title="[bold]tracehound analyze[/bold]", expand=False))

        agents = [an.analyze_agent_activity(a) for a in ov["agents"]]
        if agents:
            table = Table(title="Agents", box=box.SIMPLE_HEAVY, title_justify="left")
            for col, just in (
                ("Agent", "left"),
                ("Role", "left"),
                ("Logs", "right"),
                ("Actions", "right"),
                ("Failed actions", "right"),
                ("Decisions", "right"),
                ("Content", "right"),
                ("Warnings", "right"),
                ("Errors", "right"),
                ("Last seen", "left"),
            ):
                table.add_column(col, justify=just, style="bold" if col == "Agent" else None)  # type: ignore[arg-type]
            agents.sort(key=lambda a: (-a["errors"], -a["total_logs"], a["agent_id"]))
            for a in agents[:40]:
                failed = sum(
                    n
                    for st in a["actions_by_status"].values()
                    for k, n in st.items()
                    if k in ("failed", "timeout")
                )
                table.add_row(
                    escape(a["agent_id"]),
                    escape(a["agent_role"] or "-"),
                    f"{a['total_logs']:,}",
                    f"{sum(a['action_counts'].values()):,}",
                    Text(f"{failed:,}", style="red" if failed else ""),
                    f"{a['decisions']:,}",
                    f"{a['content_generated']:,}",
                    Text(f"{a['warnings']:,}", style="yellow" if a["warnings"] else ""),
                    Text(f"{a['errors']:,}", style="bold red" if a["errors"] else "green"),
                    _clock(a["last_seen"]),
                )
            if len(agents) > 40:
                table.caption = f"… and {len(agents) - 40} more agents"
            console.print(table)

        patterns = an.find_error_patterns()
        if patterns["total_errors"]:
            table = Table(
                title=f"Most common errors ({patterns['total_errors']:,} in all)",
                box=box.SIMPLE_HEAVY,
                title_justify="left",
            )
            table.add_column("Count", justify="right", style="bold red")
            table.add_column("Message (ids and numbers folded)")
            for message, count in patterns["most_common_messages"][:8]:
                table.add_row(f"{count:,}", escape(_short(message)))
            console.print(table)
            by_type = ", ".join(
                f"{escape(k)} ×{v}" for k, v in list(patterns["by_type"].items())[:6]
            )
            console.print(f"  by type: {by_type}", soft_wrap=True)

        learners = [
            a["agent_id"]
            for a in agents
            if an.summary().agents[a["agent_id"]].steps
            or len(an.summary().agents[a["agent_id"]].rewards)
        ]
        if learners:
            table = Table(title="Learning", box=box.SIMPLE_HEAVY, title_justify="left")
            for col in (
                "Agent",
                "Steps",
                "Rewards",
                "Total reward",
                "Trend",
                "Exploration",
                "Converged",
            ):
                table.add_column(
                    col, justify="left" if col in ("Agent", "Trend", "Converged") else "right"
                )
            for name in sorted(learners):
                lp = an.analyze_learning_progress(name)
                rate = lp["exploration_rate"]
                table.add_row(
                    escape(name),
                    f"{lp['total_training_steps']:,}",
                    f"{lp['reward_count']:,}",
                    f"{lp['total_rewards']:g}",
                    lp["reward_trend"]["direction"],
                    f"{rate:.0%}" if rate is not None else "-",
                    escape(", ".join(lp["convergence"]["converged_metrics"]) or "-"),
                )
            console.print(table)

        inter = an.analyze_interactions()
        if inter["total_interactions"]:
            table = Table(
                title=f"Top viral content ({inter['total_interactions']:,} interactions)",
                box=box.SIMPLE_HEAVY,
                title_justify="left",
            )
            for col in ("Content", "Owner", "Reach", "Depth", "Shares", "Likes", "Comments"):
                table.add_column(col, justify="left" if col in ("Content", "Owner") else "right")
            for c in inter["top_viral_content"][:8]:
                table.add_row(
                    escape(c["content_id"]),
                    escape(c["owner"] or "-"),
                    f"{c['reach']:,}",
                    str(c["max_depth"]),
                    f"{c['reshares'] + c['shares']:,}",
                    f"{c['likes']:,}",
                    f"{c['comments']:,}",
                )
            console.print(table)

        perf = an.analyze_performance()
        if perf["operations"]:
            table = Table(
                title="Slowest operations (by total time)",
                box=box.SIMPLE_HEAVY,
                title_justify="left",
            )
            for col in ("Operation", "Calls", "Mean ms", "Max ms", "Total ms", "Failed"):
                table.add_column(col, justify="left" if col == "Operation" else "right")
            for op in perf["bottlenecks"]:
                table.add_row(
                    escape(op["operation"]),
                    f"{op['count']:,}",
                    f"{op['mean_ms']:.1f}",
                    f"{op['max_ms']:.1f}",
                    f"{op['total_ms']:.1f}",
                    Text(str(op["errors"]), style="red" if op["errors"] else ""),
                )
            console.print(table)

        console.print("[bold]Next[/bold]")
        if patterns["total_errors"]:
            worst = next(iter(patterns["by_agent"]))
            console.print("  tracehound errors", soft_wrap=True)
            if worst != "(no agent)":
                console.print(f'  tracehound debug "{escape(worst)} is failing"', soft_wrap=True)
                console.print(f"  tracehound journey {escape(worst)}", soft_wrap=True)
        elif agents:
            console.print(f"  tracehound journey {escape(agents[0]['agent_id'])}", soft_wrap=True)
        if export is not None:
            console.print(f"  [dim]analysis written to {escape(str(export))}[/dim]", soft_wrap=True)


# ------------------------------------------------------------------------------------------
# debug
# ------------------------------------------------------------------------------------------

_HEADINGS: Final = (
    "Debug report",
    "Understood",
    "Agent ",
    "Related errors",
    "Likely causal chain",
    "Findings",
    "Where to look next",
    "Session ",
)


@app.command()
def debug(
    description: Annotated[
        str, typer.Argument(help='What went wrong, in words: "creator_001 not generating content".')
    ],
    session: SessionArg = None,
    store: StoreOpt = None,
    trace_dir: TraceDirOpt = None,
    session_id: SessionIdOpt = None,
    lookback: Annotated[
        float,
        typer.Option(
            "--lookback", min=0.001, help="Seconds before the error to search for causes."
        ),
    ] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Explain a problem: the agents, errors and time it refers to, the likely causal chain, where to look next."""
    from ..analysis import debug_issue
    from ..exceptions import ValidationError

    if not description.strip():
        _fail('describe the problem, e.g. tracehound debug "creator_001 not generating content"')
    with _analyzer(session, store, trace_dir, session_id, quiet=as_json) as an:
        try:
            report = debug_issue(description, analyzer=an, lookback_seconds=lookback)
        except ValidationError as exc:
            _fail(str(exc))
        if as_json:
            _print_json(report.data)
            return
        for line in str(report).splitlines():
            text = Text(line)
            if line.startswith(_HEADINGS):
                text.stylize("bold")
            elif line.lstrip().startswith("!"):
                text.stylize("yellow")
            elif " ERROR " in line or " CRITICAL " in line:
                text.stylize("red")
            elif line.lstrip().startswith("why:"):
                text.stylize("dim")
            console.print(text, soft_wrap=True)


# ------------------------------------------------------------------------------------------
# journey
# ------------------------------------------------------------------------------------------


@app.command()
def journey(
    agent: Annotated[str, typer.Argument(help="Agent name or id (e.g. creator_001).")],
    session: SessionArg = None,
    store: StoreOpt = None,
    trace_dir: TraceDirOpt = None,
    session_id: SessionIdOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="Show the last N records.")
    ] = 200,
    show_all: Annotated[bool, typer.Option("--all", help="Show every record.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Everything one agent did, in time order."""
    with _analyzer(session, store, trace_dir, session_id, quiet=as_json) as an:
        steps = an.trace_agent_journey(agent)
        if not steps:
            known = ", ".join(an.agents()[:15]) or "none"
            _fail(f"no records of agent {agent!r} in this session (agents: {known})")
        shown = steps if show_all else steps[-limit:]
        if as_json:
            _print_json(shown)
            return
        act = an.analyze_agent_activity(agent)
        title = (
            f"Journey of {escape(agent)} ({escape(act['agent_role'] or '-')}): {len(steps):,} records, "
            f"{act['errors']} errors"
        )
        table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("Time (UTC)", no_wrap=True)
        table.add_column("Level")
        table.add_column("Type", style="cyan")
        table.add_column("What")
        table.add_column("Trace", style="dim", no_wrap=True)
        for step in shown:
            kind = step["type"] if step["record"] == "event" else f"span:{step.get('kind')}"
            table.add_row(
                _clock(step["timestamp"]),
                _level(step["level"]),
                escape(kind),
                escape(_short(step["message"])),
                (step.get("trace_id") or "")[:13],
            )
        if len(shown) < len(steps):
            table.caption = f"last {len(shown):,} of {len(steps):,} (--all for every record)"
        console.print(table)


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


@app.command()
def errors(
    session: SessionArg = None,
    store: StoreOpt = None,
    trace_dir: TraceDirOpt = None,
    session_id: SessionIdOpt = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", "-a", help="Only this agent's errors.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="Show the last N errors.")
    ] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The session's errors, newest last, with their types and agents."""
    with _analyzer(session, store, trace_dir, session_id, quiet=as_json) as an:
        found = an.get_errors(agent)
        shown = found[-limit:]
        if as_json:
            _print_json(shown)
            return
        if not found:
            who = f" of {agent}" if agent else ""
            console.print(f"[green]No errors{escape(who)} in this session.[/green]")
            return
        patterns = an.find_error_patterns()
        table = Table(
            title=f"Errors{' of ' + escape(agent) if agent else ''}: {len(found):,}",
            box=box.SIMPLE_HEAVY,
            title_justify="left",
        )
        table.add_column("Time (UTC)", no_wrap=True)
        table.add_column("Level")
        table.add_column("Agent", style="bold")
        table.add_column("Type", style="magenta")
        table.add_column("Message")
        table.add_column("Trace", style="dim", no_wrap=True)
        for e in shown:
            table.add_row(
                _clock(e["timestamp"]),
                _level(e["level"]),
                escape(e.get("agent") or "-"),
                escape(_short(e.get("error_type") or e.get("event_type") or e["type"], 40)),
                escape(_short(e.get("message"))),
                (e.get("trace_id") or "")[:13],
            )
        if len(shown) < len(found):
            table.caption = f"last {len(shown):,} of {len(found):,} (--limit to see more)"
        console.print(table)
        if not agent:
            by_agent = ", ".join(
                f"{escape(k)} {v}" for k, v in list(patterns["by_agent"].items())[:8]
            )
            console.print(f"  by agent: {by_agent}", soft_wrap=True)
        last = shown[-1]
        hint = f'tracehound debug "{last.get("agent") or "the last"} error"'
        console.print(f"[bold]Next[/bold]  {escape(hint)}", soft_wrap=True)
