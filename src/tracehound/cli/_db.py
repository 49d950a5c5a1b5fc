"""Database commands: ``db upgrade``, ``db current`` and ``prune`` (retention)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ._app import app, console
from ._core import StoreOption, _default_store, _fail, _one_line, _safe_url

__all__ = ["db_current", "db_upgrade", "prune"]

db_app = typer.Typer(
    name="db",
    help="The store's schema: show its revision, upgrade it.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(db_app, name="db")


def _url(store: str | None) -> str:
    url = store or _default_store()
    try:
        from ..store._engine import dialect_of

        dialect_of(url)
    except ValueError as exc:
        _fail(str(exc))
    return url


@db_app.command("upgrade")
def db_upgrade(
    store: StoreOption = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the newest).")
    ] = "head",
) -> None:
    """Create or upgrade the store's schema (tables, views, partitions) to this version."""
    from ..exceptions import SchemaError
    from ..store._migrate import current_revision, head_revision, upgrade

    url = _url(store)
    try:
        before = current_revision(url)
        with console.status(f"Upgrading {escape(_safe_url(url))} …"):
            upgrade(url, revision)
        after = current_revision(url)
    except SchemaError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot upgrade {_safe_url(url)}: {_one_line(exc)}")
    if before == after:
        console.print(
            f"[green]✓[/green] {escape(_safe_url(url))} is at revision "
            f"[bold]{after}[/bold] (head {head_revision()}); nothing to do",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[green]✓[/green] {escape(_safe_url(url))}: {before or 'empty'} → [bold]{after}[/bold]",
            soft_wrap=True,
        )


@db_app.command("current")
def db_current(store: StoreOption = None) -> None:
    """Show the store's schema revision (and, on PostgreSQL, its partitions)."""
    from ..exceptions import SchemaError
    from ..store._engine import dialect_of
    from ..store._migrate import REVISIONS, current_revision, head_revision

    url = _url(store)
    try:
        revision = current_revision(url)
    except SchemaError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"cannot read {_safe_url(url)}: {_one_line(exc)}")
    head = head_revision()
    if revision == head:
        state = Text("up to date", style="green")
    elif revision is None:
        state = Text("no tracehound schema — run `tracehound db upgrade`", style="yellow")
    elif revision in REVISIONS:
        state = Text("behind — run `tracehound db upgrade`", style="yellow")
    else:
        state = Text("newer than this tracehound — upgrade the package", style="red")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("store", escape(_safe_url(url)))
    grid.add_row("dialect", dialect_of(url))
    grid.add_row("revision", str(revision or "—"))
    grid.add_row("head", head)
    grid.add_row("state", state)
    console.print(grid)
    if dialect_of(url) == "postgresql" and revision is not None:
        _print_partitions(url)


def _print_partitions(url: str) -> None:
    try:
        import psycopg

        from ..store._postgres import libpq_url, list_partitions

        with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            parts = list_partitions(conn)
            sizes: dict[str, tuple[int, int]] = {}
            for p in parts:
                row = conn.execute(
                    "SELECT COALESCE(SUM(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))"
                    "), 0), COALESCE(SUM(pg_total_relation_size(t.relid)), 0)"
                    " FROM pg_partition_tree(%s::regclass) t"
                    " JOIN pg_class c ON c.oid = t.relid"
                    " LEFT JOIN pg_stat_all_tables s ON s.relid = t.relid WHERE t.isleaf",
                    (p.qualified,),
                ).fetchone()
                sizes[p.name] = (int(row[0]), int(row[1])) if row else (0, 0)
    except Exception as exc:
        console.print(f"[yellow]partitions: cannot list them ({escape(_one_line(exc))})[/]")
        return
    if not parts:
        console.print("[yellow]the record tables are not partitioned[/yellow]")
        return
    table = Table(title="partitions", box=box.SIMPLE_HEAD, header_style="bold")
    for col in ("table", "partitions", "days", "~rows", "size"):
        table.add_column(col, justify="right" if col in ("partitions", "~rows", "size") else "left")
    for name in ("spans", "events", "metrics"):
        mine = [p for p in parts if p.table == name]
        days = sorted(p.day for p in mine if p.day is not None)
        rows = sum(sizes.get(p.name, (0, 0))[0] for p in mine)
        size = sum(sizes.get(p.name, (0, 0))[1] for p in mine)
        span = f"{days[0]} … {days[-1]}" if days else "—"
        table.add_row(name, str(len(mine)), span, f"{rows:,}", _bytes(size))
    console.print(table)


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TB"  # pragma: no cover


@app.command()
def prune(
    store: StoreOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; change nothing.")
    ] = False,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="Write what is deleted to DIR/<table>-<run>.jsonl.gz first.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            min=0.0001,
            help="Delete records older than DAYS (every kind; overrides the policy's ages).",
            show_default=False,
        ),
    ] = None,
    debug_days: Annotated[
        float | None,
        typer.Option(
            "--debug-days",
            min=0.0001,
            help="Keep DEBUG events and debug-mode actions DAYS (policy default: 30).",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Only this project's records.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Retention policy file (TOML or JSON: [default] and [projects.NAME] tables).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows deleted per transaction.")
    ] = 5000,
) -> None:
    """Delete records past their retention (default: debug records after 30 days).

    Safe while agents keep writing: rows go in small transactions, whole day partitions are
    dropped on PostgreSQL. Running it again deletes nothing more."""
    from ..exceptions import ConfigError, SchemaError
    from ..store._retention import RetentionConfig
    from ..store._retention import prune as run_prune

    url = _url(store)
    try:
        config = RetentionConfig.from_file(policy) if policy is not None else RetentionConfig()
        if older_than is not None:
            config = config.with_max_age(older_than)
        if debug_days is not None:
            config = config.with_debug_days(debug_days)
    except ConfigError as exc:
        _fail(str(exc))

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[bold]{task.completed:,.0f}[/bold] rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int) -> None:
            task = tasks.get(step)
            if task is None:
                task = tasks[step] = bar.add_task(escape(step), total=None)
            bar.update(task, completed=done)

        try:
            result = run_prune(
                url,
                config,
                project=project,
                dry_run=dry_run,
                archive_dir=archive,
                batch_size=batch_size,
                progress=progress,
            )
        except (SchemaError, ConfigError, ValueError) as exc:
            _fail(str(exc))
        except Exception as exc:
            _fail(f"cannot prune {_safe_url(url)}: {_one_line(exc)}")

    verb = "would delete" if dry_run else "deleted"
    head = "[bold yellow]dry run[/bold yellow] — nothing changed in " if dry_run else "pruned "
    console.print(head + escape(_safe_url(url)), soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold")
    table.add_column("table")
    table.add_column(verb, justify="right")
    for name, n in result.deleted.items():
        table.add_row(name, f"{n:,}")
    table.add_row(Text("total", style="bold"), Text(f"{result.total:,}", style="bold"))
    console.print(table)
    if result.dropped_partitions:
        console.print(
            f"partitions {'to drop' if dry_run else 'dropped'}: "
            + ", ".join(escape(p) for p in result.dropped_partitions)
        )
    if result.created_partitions:
        console.print(
            f"partitions {'to create' if dry_run else 'created'}: {len(result.created_partitions)}"
        )
    for path in result.archives:
        console.print(f"archive: {escape(str(path))}", soft_wrap=True)
    for note in result.skipped:
        console.print(f"[yellow]skipped:[/yellow] {escape(note)}")
