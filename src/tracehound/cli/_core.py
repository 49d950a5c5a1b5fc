"""Core commands: ``demo``, ``sessions``, ``traces``, ``show`` and ``version``."""

from __future__ import annotations

import json
import platform
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ._app import app, console, err_console

if TYPE_CHECKING:
    from ..config import Settings
    from ..demo import DemoSummary
    from ..model import Event, Span
    from ..store import StoreReader

__all__ = ["demo", "sessions", "show", "traces", "version"]

_STATUS_STYLE: Final = {
    "success": "green",
    "failed": "bold red",
    "timeout": "bold dark_orange",
    "skipped": "yellow",
    "running": "cyan",
    "pending": "bright_black",
    "cancelled": "magenta",
}
_LEVEL_STYLE: Final = {
    "DEBUG": "bright_black",
    "INFO": "blue",
    "WARNING": "yellow",
    "ERROR": "bold red",
    "CRITICAL": "bold white on red",
}
_KIND_LABEL: Final = {
    "agent": ("◆", "agent", "bold magenta"),
    "stage": ("▸", "stage", "bright_black"),
    "llm": ("✦", "llm", "bold cyan"),
    "tool": ("⚙", "tool", "bold yellow"),
    "operation": ("◷", "op", "blue"),
    "task": ("•", "task", "white"),
}
_FAILED: Final = ("failed", "timeout")

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Database URL (sqlite:///path.db or postgresql://…). "
        "Default: TRACEHOUND_STORE, else <trace dir>/tracehound.db.",
        show_default=False,
    ),
]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/bold red] {escape(_safe_url(message))}", soft_wrap=True)
    raise typer.Exit(1)


def _safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _default_store() -> str:
    from ..config import Settings
    from ..exceptions import ConfigError

    try:
        url = Settings.load().store_url
    except ConfigError as exc:
        _fail(str(exc))
    if url is None:
        _fail("the store is disabled (TRACEHOUND_STORE=none); pass --store URL")
    return url


def _open_reader(url: str | None) -> StoreReader:
    """A ``StoreReader`` for ``url`` (default: the configured store), or a clean exit."""
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
    try:
        from ..store import StoreReader

        return StoreReader(url)
    except typer.Exit:
        raise
    except Exception as exc:
        _fail(f"cannot open store {_safe_url(url)}: {_one_line(exc)}")


@contextmanager
def _reading(url: str | None) -> Iterator[StoreReader]:
    """Open the store and turn any database error while reading into a clean error line."""
    reader = _open_reader(url)
    try:
        yield reader
    except typer.Exit:
        raise
    except Exception as exc:
        where = _safe_url(reader.url)
        text = str(exc)
        if "no such table" in text or ('relation "' in text and "does not exist" in text):
            _fail(f"{where} is not a tracehound database (no tracehound tables in it)")
        _fail(f"cannot read store {where}: {_one_line(exc)}")
    finally:
        reader.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = value / 1e9 if value > 1e14 else float(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _fmt_time(value: Any, *, with_date: bool = True) -> str:
    dt = _to_datetime(value)
    if dt is None:
        return "—" if value is None else str(value)
    local = dt.astimezone()
    if with_date:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def _fmt_ms(value: Any) -> str:
    if value is None:
        return "—"
    ms = float(value)
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:,.0f} ms"
    return f"{ms:.1f} ms"


def _fmt_cost(value: float) -> str:
    if value == 0:
        return "$0"
    if value < 0.001:
        return f"${value:.6f}"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _status_text(status: str | None) -> Text:
    status = status or "?"
    return Text(status, style=_STATUS_STYLE.get(status, "white"))


def _short_type(error_type: str | None) -> str:
    return (error_type or "Error").rsplit(".", 1)[-1]


def _truncate(value: Any, limit: int) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    text = text.replace("\n", "⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------
# version
# ------------------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the tracehound version."""
    from .. import __version__

    console.print(f"tracehound {__version__} (Python {platform.python_version()})")


# ------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------


@app.command()
def demo(
    conversations: Annotated[
        int,
        typer.Option(
            "--conversations", "-n", min=1, max=100_000, help="Conversations (traces) to simulate."
        ),
    ] = 40,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same traces.")
    ] = 7,
    trace_dir: Annotated[
        Path | None,
        typer.Option(
            "--trace-dir",
            help="Directory of the trace files (default: TRACEHOUND_TRACE_DIR, else ./trace).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Record a simulated multi-agent writing studio (LLM calls, tools, failures, learning, audience)."""
    import tracehound

    from ..config import Settings
    from ..demo import run_demo
    from ..exceptions import ConfigError

    options: dict[str, Any] = {}
    if trace_dir is not None:
        options["trace_dir"] = trace_dir
    if store is not None:
        options["store"] = store
    try:
        settings = Settings.load(**options)
        if settings.store_url is not None and "store" in settings.exporters:
            _check_sqlite_writable(settings.store_url)
        tracehound.configure(**options)
    except typer.Exit:
        raise
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot start tracing: {_one_line(exc)}")

    with Progress(
        TextColumn("[bold]Simulating[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("conversations", total=conversations)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done)

        try:
            summary = run_demo(conversations=conversations, seed=seed, progress=advance)
        finally:
            bar.update(task, description="flushing")
            stats = tracehound.stats()
            tracehound.shutdown()

    _print_demo_summary(summary, settings, stats, custom_store=bool(options))


def _check_sqlite_writable(url: str) -> None:
    """Fail early, with one line, when a SQLite store cannot be created or opened."""
    import sqlite3

    from ..store._engine import sqlite_path

    path = sqlite_path(url)  # ValueError for a URL that is neither SQLite nor PostgreSQL
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
    except (OSError, sqlite3.Error) as exc:
        _fail(f"cannot create the database {path}: {_one_line(exc)}")


def _print_demo_summary(
    s: DemoSummary, settings: Settings, stats: dict[str, Any], *, custom_store: bool
) -> None:
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(s.span_kinds.items(), key=lambda kv: -kv[1]))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Session", s.session_id)
    grid.add_row("Traces", f"{s.traces:,} conversations (seed {s.seed})")
    grid.add_row("Spans", f"{s.spans:,} ({kinds})")
    grid.add_row("Events", f"{s.events:,}   Metrics {s.metrics:,}")
    specialists = len(s.agents) - 1
    grid.add_row(
        "Agents",
        f"planner + {specialists} specialists: {s.agent_runs:,} runs, "
        f"{s.skipped:,} skipped by the relevance check",
    )
    grid.add_row(
        "LLM calls",
        f"{s.llm_calls:,} ({s.input_tokens:,} input / {s.output_tokens:,} output tokens)",
    )
    grid.add_row("Tool calls", f"{s.tool_calls:,} ({s.failed_tool_calls:,} failed)")
    grid.add_row(
        "Audience", f"{s.posts_published:,} posts published, {s.interactions:,} interactions"
    )
    grid.add_row("Runtime", f"{s.elapsed_s:.1f} s")
    console.print(Panel(grid, title="[bold]tracehound demo[/bold]: writing studio", expand=False))

    if s.failures_by_agent:
        table = Table(title="Failures by agent", box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("Agent", style="bold")
        table.add_column("Failed runs", justify="right")
        table.add_column("Error types")
        rows = sorted(s.failures_by_agent.items(), key=lambda kv: -sum(kv[1].values()))
        for agent, by_type in rows:
            types = ", ".join(
                f"{t} ×{n}" for t, n in sorted(by_type.items(), key=lambda kv: -kv[1])
            )
            table.add_row(agent, str(sum(by_type.values())), types)
        console.print(table)

    where = Table.grid(padding=(0, 2))
    where.add_column(style="bold")
    where.add_column()
    if "files" in settings.exporters:
        where.add_row(
            "Trace files", f"{settings.trace_dir}/ (session_{s.session_id}/ for this run)"
        )
    if settings.store_url is not None and "store" in settings.exporters:
        where.add_row("Database", _safe_url(settings.store_url))
    console.print(where)
    lost = int(stats.get("dropped", 0) or 0)
    if lost:
        err_console.print(f"[yellow]warning:[/yellow] {lost:,} records were dropped")
    for name, info in (stats.get("exporters") or {}).items():
        if info.get("failures") or info.get("spooled"):
            err_console.print(
                f"[yellow]warning:[/yellow] the {name} exporter failed; "
                f"{int(info.get('spooled') or 0):,} records were spooled to "
                f"{settings.spool_path} and are retried on the next run",
                soft_wrap=True,
            )

    flag = ""
    if custom_store and settings.store_url:
        flag = escape(f" --store {_safe_url(settings.store_url)}")
    console.print("\n[bold]Next[/bold]")
    console.print(f"  tracehound sessions{flag}", soft_wrap=True)
    console.print(f"  tracehound traces{flag}", soft_wrap=True)
    if s.failed_traces:
        # Prefer a trace where the most failure-prone agent failed.
        worst = max(s.failures_by_agent, key=lambda a: sum(s.failures_by_agent[a].values()))
        pick = next(
            (t for t, why in s.failed_traces.items() if any(w.startswith(worst) for w in why)),
            next(iter(s.failed_traces)),
        )
        console.print(f"  tracehound show {pick}{flag}", soft_wrap=True)
        console.print(f"    [dim]({'; '.join(s.failed_traces[pick])})[/dim]", soft_wrap=True)
        console.print(f"  tracehound show last-failed --verbose{flag}", soft_wrap=True)
    console.print(f"  tracehound show latest{flag}", soft_wrap=True)


# ------------------------------------------------------------------------------------------
# sessions and traces
# ------------------------------------------------------------------------------------------


@app.command()
def sessions(
    store: StoreOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="Most recent sessions to list.")
    ] = 20,
) -> None:
    """List recorded sessions, newest first."""
    with _reading(store) as reader:
        rows = list(reader.list_sessions(limit=limit))
    if not rows:
        console.print("No sessions recorded yet. Run [bold]tracehound demo[/bold] to record one.")
        return
    projects = {row["project"] for row in rows}
    show_project = projects != {"default"}
    show_ended = any(row["ended_at"] is not None for row in rows)
    table = Table(box=box.SIMPLE_HEAVY)
    table.add_column("Session", style="bold", no_wrap=True)
    if show_project:
        table.add_column("Project")
    table.add_column("Started")
    table.add_column("Last seen")
    if show_ended:
        table.add_column("Ended")
    table.add_column("Spans", justify="right")
    table.add_column("Events", justify="right")
    table.add_column("Errors", justify="right")
    for row in rows:
        errors = row["error_count"]
        cells: list[Any] = [row["id"]]
        if show_project:
            cells.append(row["project"])
        cells += [_fmt_time(row["started_at"]), _fmt_time(row["last_seen_at"], with_date=False)]
        if show_ended:
            ended = row["ended_at"]
            cells.append(_fmt_time(ended, with_date=False) if ended is not None else "")
        cells += [
            f"{row['span_count']:,}",
            f"{row['event_count']:,}",
            Text(f"{errors:,}", style="bold red" if errors else "green"),
        ]
        table.add_row(*cells)
    console.print(table)


@app.command()
def traces(
    session: Annotated[
        str | None,
        typer.Option("--session", "-s", help="Only traces of this session.", show_default=False),
    ] = None,
    store: StoreOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="Most recent traces to list.")
    ] = 20,
) -> None:
    """List the most recent traces (their root spans), newest first."""
    with _reading(store) as reader:
        rows = reader.latest_traces(limit=limit, session_id=session)
        failures = _failed_spans_by_trace(reader, [r["trace_id"] for r in rows])
    if not rows:
        where = f" in session {session}" if session else ""
        console.print(f"No traces{where}.")
        return
    wide = console.width >= 120  # narrow terminals get the essential columns only
    table = Table(box=box.SIMPLE_HEAVY, pad_edge=wide)
    table.add_column("Trace", style="bold", no_wrap=True, min_width=36)
    if wide:
        table.add_column("Started", no_wrap=True)
        table.add_column("Root")
    table.add_column("Status", no_wrap=True)
    if wide:
        table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Spans", justify="right", no_wrap=True)
    table.add_column("Failed agents", overflow="fold")
    for row in rows:
        failed = failures.get(row["trace_id"], [])
        if not wide:  # agent names only
            failed = [f.split(":", 1)[0] for f in failed]
        cells: list[Any] = [row["trace_id"]]
        if wide:
            root = row["name"]
            if row["agent_name"] and row["agent_name"] != root:
                root += f" [{row['agent_name']}]"
            cells += [_fmt_time(row["start_time"], with_date=False), escape(root)]
        cells.append(_status_text(row["status"]))
        if wide:
            cells.append(_fmt_ms(row["duration_ms"]))
        cells += [
            f"{row['span_count']:,}",
            Text(", ".join(sorted(set(failed))), style="red") if failed else "",
        ]
        table.add_row(*cells)
    console.print(table)


def _failed_spans_by_trace(reader: StoreReader, trace_ids: list[str]) -> dict[str, list[str]]:
    """trace id -> "Agent: ErrorType" of each failed or timed-out agent span in it."""
    if not trace_ids:
        return {}
    from sqlalchemy import select

    from ..store import spans

    query = select(spans.c.trace_id, spans.c.agent_name, spans.c.name, spans.c.error_type).where(
        spans.c.trace_id.in_(trace_ids),
        spans.c.status.in_(_FAILED),
        spans.c.kind == "agent",
    )
    out: dict[str, list[str]] = defaultdict(list)
    with reader.engine.connect() as conn:
        for trace_id, agent, name, error_type in conn.execute(query):
            out[trace_id].append(f"{agent or name}: {_short_type(error_type)}")
    return out


# ------------------------------------------------------------------------------------------
# show
# ------------------------------------------------------------------------------------------


@app.command()
def show(
    trace: Annotated[
        str,
        typer.Argument(help="A trace id, a unique prefix of one, 'latest' or 'last-failed'."),
    ],
    store: StoreOption = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show inputs, outputs, attributes and tracebacks."),
    ] = False,
) -> None:
    """Show one trace as a tree of spans with their events."""
    with _reading(store) as reader:
        trace_id = _resolve_trace(reader, trace.strip())
        spans, events = reader.get_trace(trace_id)
    if not spans and not events:
        _fail(f"no trace with id {trace_id!r}")
    console.print(_render_trace(trace_id, spans, events, verbose=verbose))


def _resolve_trace(reader: StoreReader, ref: str) -> str:
    if not ref:
        _fail("give a trace id, a prefix of one, 'latest' or 'last-failed'")
    low = ref.lower()
    if low == "latest":
        rows = reader.latest_traces(limit=1)
        if not rows:
            _fail("the store has no traces yet")
        return rows[0]["trace_id"]
    if low in ("last-failed", "last_failed"):
        found = _last_failed(reader)
        if found is None:
            _fail("the store has no trace with a failed or timed-out span")
        return found
    matches = reader.find_trace_ids(ref, limit=11)
    if not matches:
        _fail(f"no trace matches {ref!r}")
    if len(matches) > 1:
        count = f"{len(matches)}" if len(matches) <= 10 else "more than 10"
        shown = ", ".join(matches[:3]) + ", …"
        _fail(f"trace id prefix {ref!r} is ambiguous: it matches {count} traces ({shown})")
    return matches[0]


def _last_failed(reader: StoreReader) -> str | None:
    """The trace of the most recently started failed or timed-out agent span (else span)."""
    from sqlalchemy import select

    from ..store import spans

    failed = select(spans.c.trace_id).where(spans.c.status.in_(_FAILED))
    newest = spans.c.start_time.desc()
    with reader.engine.connect() as conn:
        # An agent that failed first; else any failed span (e.g. a retried LLM call).
        found = conn.execute(failed.where(spans.c.kind == "agent").order_by(newest).limit(1))
        trace_id = found.scalar()
        if trace_id is None:
            trace_id = conn.execute(failed.order_by(newest).limit(1)).scalar()
    return None if trace_id is None else str(trace_id)


def _render_trace(trace_id: str, spans: list[Span], events: list[Event], *, verbose: bool) -> Any:
    from rich.console import Group

    from ..model import Event

    by_id = {sp.id: sp for sp in spans}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for sp in spans:
        parent = sp.parent_id if sp.parent_id in by_id else None
        children[parent].append(sp)
    for group in children.values():
        group.sort(key=lambda sp: (sp.start_time, sp.id))
    span_events: dict[str | None, list[Event]] = defaultdict(list)
    for ev in sorted(events, key=lambda e: (e.timestamp, e.id)):
        span_events[ev.span_id if ev.span_id in by_id else None].append(ev)

    header = _trace_header(trace_id, spans, events)
    tree = Tree(header, guide_style="bright_black")

    def add_items(node: Tree, parent_id: str | None) -> None:
        # Child spans and events in time order, so the tree reads as a timeline.
        items: list[tuple[int, int, Span | Event]] = [
            (c.start_time, 0, c) for c in children.get(parent_id, [])
        ]
        items += [(e.timestamp, 1, e) for e in span_events.get(parent_id, [])]
        items.sort(key=lambda item: (item[0], item[1]))
        hidden = 0
        for _, _, item in items:
            if isinstance(item, Event):
                if not verbose and item.level == "DEBUG":
                    hidden += 1
                else:
                    node.add(_event_line(item, verbose=verbose))
            else:
                add_span(node, item)
        if hidden:
            node.add(Text(f"… {hidden} debug event(s) hidden (use --verbose)", style="dim"))

    def add_span(node: Tree, sp: Span) -> None:
        branch = node.add(_span_line(sp))
        if verbose:
            _add_details(branch, sp)
        elif sp.error_traceback and sp.kind == "agent":
            branch.add(Text("traceback: run with --verbose", style="dim red"))
        add_items(branch, sp.id)

    add_items(tree, None)
    return Group(tree)


def _trace_header(trace_id: str, spans: list[Span], events: list[Event]) -> Text:
    root = min(spans, key=lambda s: s.start_time) if spans else None
    text = Text()
    text.append("Trace ", style="bold")
    text.append(trace_id, style="bold cyan")
    if root is not None:
        bits = [f"session {root.session_id}"]
        if root.conversation_id:
            bits.append(f"conversation {root.conversation_id}")
        if root.user_id:
            bits.append(f"user {root.user_id}")
        bits.append(f"started {_fmt_time(root.start_time)}")
        if root.duration_ms is not None:
            bits.append(f"took {_fmt_ms(root.duration_ms)}")
        text.append("\n" + " · ".join(bits), style="dim")
    failed = [s for s in spans if s.status in _FAILED]
    llm = [s for s in spans if s.kind == "llm"]
    tokens = sum((s.input_tokens or 0) + (s.output_tokens or 0) for s in llm)
    cost = sum(s.total_cost or 0.0 for s in llm)
    summary = f"\n{len(spans)} spans, {len(events)} events, {len(llm)} LLM calls, {tokens:,} tokens"
    if cost:
        summary += f", {_fmt_cost(cost)}"
    text.append(summary)
    agents = [s for s in failed if s.kind == "agent"]
    if agents:
        names = sorted(
            {f"{s.agent_name or s.name} {s.status} ({_short_type(s.error_type)})" for s in agents}
        )
        text.append(f"\nfailed agents: {', '.join(names)}", style="bold red")
    others = [s for s in failed if s.kind != "agent"]
    if others and not agents:
        names = sorted({f"{s.name} ({_short_type(s.error_type)})" for s in others})
        text.append(
            f"\n{len(others)} failed span(s), no failed agent: {', '.join(names)}", style="yellow"
        )
    return text


def _span_line(sp: Span) -> Text:
    icon, label, style = _KIND_LABEL.get(sp.kind, ("•", sp.kind, "white"))
    line = Text()
    line.append(f"{icon} {label:<5} ", style=style)
    line.append(sp.name, style="bold" if sp.kind in ("agent", "llm", "tool") else "")
    if (
        sp.agent_name
        and sp.kind in ("agent", "operation", "task")
        and not sp.name.startswith(sp.agent_name)
    ):
        line.append(f" [{sp.agent_name}]", style="magenta")
    line.append("  ")
    line.append_text(_status_text(sp.status))
    line.append(f"  {_fmt_ms(sp.duration_ms)}", style="dim")
    if sp.kind == "llm" or sp.model:
        line.append_text(_llm_bits(sp, show_model=not sp.model or sp.model not in sp.name))
    attrs = sp.attributes or {}
    if sp.status == "skipped":
        score = attrs.get("relevance_score")
        reason = attrs.get("relevance_reasoning") or sp.status_message
        if score is not None:
            line.append(f"  relevance {float(score):.2f}", style="yellow")
        if reason:
            line.append(f"  {reason}", style="italic yellow")
    elif sp.kind == "agent" and attrs.get("call_reason"):
        line.append(f"  ← {attrs['call_reason']}", style="dim italic")
    if sp.status in _FAILED:
        if sp.error_type or sp.error_message:
            line.append(
                f"  {_short_type(sp.error_type)}: {_truncate(sp.error_message or '', 160)}",
                style="red",
            )
        elif sp.status_message:
            line.append(f"  {_truncate(sp.status_message, 160)}", style="red")
    return line


def _llm_bits(sp: Span, *, show_model: bool) -> Text:
    out = Text()
    if sp.model and show_model:
        out.append(f"  {sp.model}", style="cyan")
    if sp.input_tokens is not None or sp.output_tokens is not None:
        out.append(f"  {sp.input_tokens or 0:,}→{sp.output_tokens or 0:,} tok", style="cyan")
        if sp.cached_tokens:
            out.append(f" ({sp.cached_tokens:,} cached)", style="dim cyan")
    if sp.total_cost is not None:
        out.append(f"  {_fmt_cost(sp.total_cost)}", style="green")
    elif sp.cost_source == "unknown":
        out.append("  cost n/a", style="dim")
    if sp.is_streaming:
        stream = "  stream"
        if sp.chunks_count is not None:
            stream += f" {sp.chunks_count} chunks"
        if sp.time_to_first_token_ms is not None:
            stream += f", ttft {_fmt_ms(sp.time_to_first_token_ms)}"
        out.append(stream, style="dim cyan")
    attempt = (sp.attributes or {}).get("attempt")
    if isinstance(attempt, int) and attempt > 1:
        out.append(f"  attempt {attempt}", style="yellow")
    return out


def _add_details(branch: Tree, sp: Span) -> None:
    if sp.input is not None:
        branch.add(Text.assemble(("input  ", "dim bold"), (_truncate(sp.input, 400), "dim")))
    if sp.output is not None:
        branch.add(Text.assemble(("output ", "dim bold"), (_truncate(sp.output, 400), "dim")))
    attrs = {k: v for k, v in (sp.attributes or {}).items() if k != "relevance_reasoning"}
    if attrs:
        branch.add(Text.assemble(("attrs  ", "dim bold"), (_truncate(attrs, 400), "dim")))
    if sp.status_message and sp.status not in _FAILED and sp.status != "skipped":
        branch.add(Text(f"status: {sp.status_message}", style="dim"))
    if sp.error_traceback:
        label = f"traceback ({sp.error_type})" if sp.error_type else "traceback"
        branch.add(Text(label, style="bold red")).add(
            Text(sp.error_traceback.rstrip(), style="red")
        )


def _event_line(ev: Event, *, verbose: bool) -> Text:
    line = Text()
    line.append("• ", style="bright_black")
    line.append(_fmt_time(ev.timestamp, with_date=False) + " ", style="dim")
    line.append(f"{ev.level:<7} ", style=_LEVEL_STYLE.get(ev.level, "white"))
    line.append(ev.type, style="bold")
    if ev.name and ev.name != ev.type:
        line.append(f" {ev.name}")
    if ev.message:
        line.append(f": {_truncate(ev.message, 200)}", style=_event_style(ev.level))
    if verbose and ev.data:
        line.append(f"  {_truncate(ev.data, 300)}", style="dim")
    return line


def _event_style(level: str) -> str:
    return {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}.get(level, "")
