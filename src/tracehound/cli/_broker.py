"""Broker commands: ``consume`` (the JetStream → store consumer service) and ``dlq list`` /
``dlq replay`` (the dead-letter stream)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from ._app import app, console
from ._core import StoreOption, _default_store, _fail, _one_line, _safe_url

if TYPE_CHECKING:
    from ..broker import JetStreamTransport

__all__ = ["consume", "dlq_list", "dlq_replay"]

T = TypeVar("T")

NatsOption = Annotated[
    str | None,
    typer.Option(
        "--nats",
        help="NATS server URL(s), comma-separated. Default: TRACEHOUND_NATS_URL, "
        "else nats://127.0.0.1:4222.",
        show_default=False,
    ),
]
StreamOption = Annotated[
    str | None,
    typer.Option(
        "--stream", help="JetStream stream. Default: TRACEHOUND_NATS_STREAM, else TRACEHOUND."
    ),
]
SubjectOption = Annotated[
    str | None,
    typer.Option(
        "--subject",
        help="Subject prefix of the records. Default: TRACEHOUND_NATS_SUBJECT, "
        "else tracehound.records.",
    ),
]
DlqStreamOption = Annotated[str, typer.Option("--dlq-stream", help="Dead-letter stream.")]

dlq_app = typer.Typer(
    help="The dead-letter stream: messages the consumer could not store.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")


def _settings_defaults() -> tuple[str | None, str, str]:
    from ..config import Settings
    from ..exceptions import ConfigError

    try:
        s = Settings.load()
    except ConfigError as exc:
        _fail(str(exc))
    return s.nats_url, s.nats_stream, s.nats_subject


@app.command(rich_help_panel="Broker")
def consume(
    store: StoreOption = None,
    nats_url: NatsOption = None,
    stream: StreamOption = None,
    subject: SubjectOption = None,
    dlq_stream: DlqStreamOption = "TRACEHOUND_DLQ",
    durable: Annotated[
        str, typer.Option("--durable", help="Durable consumer name (shared by all replicas).")
    ] = "tracehound-store",
    host: Annotated[str, typer.Option("--host", help="Address of /health and /ready.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option("--port", help="Port of /health and /ready (0: any free port).", min=0)
    ] = 8080,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Records per store transaction.", min=1)
    ] = 100,
    batch_timeout: Annotated[
        float,
        typer.Option("--batch-timeout", help="Seconds a partial batch waits for more.", min=0.001),
    ] = 1.0,
    max_attempts: Annotated[
        int,
        typer.Option("--max-attempts", help="Tries of a failing write before bisecting.", min=1),
    ] = 3,
    ack_wait: Annotated[
        float,
        typer.Option("--ack-wait", help="Seconds before an unacked message is redelivered.", min=2),
    ] = 30.0,
    writers: Annotated[
        int | None,
        typer.Option(
            "--writers",
            help="Batches written at once, each on its own connection "
            "(default: 2 for PostgreSQL, 1 for SQLite).",
            min=1,
            max=16,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "INFO",
) -> None:
    """Consume records from NATS JetStream into the store (the scale-out path).

    Batches of --batch-size records (or what arrived within --batch-timeout) are written in
    one transaction and acknowledged after the commit; failing writes are retried with back-off,
    poison records go to the dead-letter stream one by one, the rest of their batch stored. Run several for more throughput: they share
    the durable consumer. SIGTERM/SIGINT finish the current batch and exit.
    """
    from ..broker import Consumer, ConsumerConfig

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    )
    d_url, d_stream, d_subject = _settings_defaults()
    url = store or _default_store()
    try:
        config = ConsumerConfig(
            store_url=url,
            nats_url=nats_url or d_url,
            stream=stream or d_stream,
            subject=subject or d_subject,
            dlq_stream=dlq_stream,
            durable=durable,
            batch_size=batch_size,
            batch_timeout=batch_timeout,
            max_attempts=max_attempts,
            ack_wait=ack_wait,
            writers=writers,
            host=host,
            port=port,
        )
    except ValueError as exc:
        _fail(str(exc))
    consumer = Consumer(config)
    logging.getLogger("tracehound.broker").info(
        "consumer %d: %s → %s",
        os.getpid(),
        config.nats_url or "nats://127.0.0.1:4222",
        _safe_url(url),
    )

    async def main() -> None:
        consumer.install_signal_handlers()
        await consumer.run()

    from .._gc import tune_gc

    tune_gc()  # this process is ours: batches of decoded records, collected less often

    try:
        asyncio.run(main())
    except OSError as exc:  # e.g. the health port is taken
        _fail(f"consumer failed: {_one_line(exc)}")


def _transport(nats_url: str | None, stream: str | None, dlq_stream: str) -> JetStreamTransport:
    from ..broker import JetStreamTransport

    d_url, d_stream, d_subject = _settings_defaults()
    return JetStreamTransport(
        nats_url or d_url, stream=stream or d_stream, subject=d_subject, dlq_stream=dlq_stream
    )


def _with_transport(
    transport: JetStreamTransport, work: Callable[[JetStreamTransport], Awaitable[T]]
) -> T:
    async def main() -> T:
        try:
            await transport.connect()
        except Exception as exc:
            _fail(_one_line(exc))
        try:
            return await work(transport)
        finally:
            await transport.close()

    return asyncio.run(main())


def _iso(ns: int) -> str:
    if not ns:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _record_id(data: bytes) -> str:
    try:
        obj = json.loads(data)
    except ValueError:
        return "-"
    return str(obj.get("id", "-")) if isinstance(obj, dict) else "-"


@dlq_app.command("list")
def dlq_list(
    nats_url: NatsOption = None,
    dlq_stream: DlqStreamOption = "TRACEHOUND_DLQ",
    limit: Annotated[int, typer.Option("--limit", help="Messages to show.", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List dead letters: sequence, original subject, record id, attempts, times, error."""
    transport = _transport(nats_url, None, dlq_stream)
    letters = _with_transport(transport, lambda t: t.dead_letters(limit))
    if as_json:
        for dl in letters:
            row: dict[str, Any] = {
                "sequence": dl.sequence,
                "subject": dl.subject,
                "record_id": _record_id(dl.data),
                "msg_id": dl.msg_id,
                "attempts": dl.attempts,
                "first_seen": _iso(dl.first_seen_ns),
                "failed_at": _iso(dl.failed_at_ns),
                "error": dl.error,
                "original_sequence": dl.original_sequence,
                "part": dl.part,
                "bytes": len(dl.data),
            }
            typer.echo(json.dumps(row))
        return
    if not letters:
        console.print(f"no dead letters in {dlq_stream}")
        return
    table = Table(title=f"dead letters in {dlq_stream}")
    for col in ("seq", "subject", "record id", "attempts", "first seen", "failed at", "error"):
        table.add_column(col, overflow="fold")
    for dl in letters:
        table.add_row(
            str(dl.sequence),
            dl.subject,
            _record_id(dl.data),
            str(dl.attempts),
            _iso(dl.first_seen_ns),
            _iso(dl.failed_at_ns),
            dl.error,
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    sequences: Annotated[
        list[int] | None,
        typer.Argument(help="Dead-letter sequences to replay (default: all)."),
    ] = None,
    nats_url: NatsOption = None,
    dlq_stream: DlqStreamOption = "TRACEHOUND_DLQ",
    limit: Annotated[
        int, typer.Option("--limit", help="Replay at most this many.", min=1)
    ] = 10_000,
) -> None:
    """Publish dead letters back to their original subjects (after fixing the cause) and
    remove them from the dead-letter stream."""
    transport = _transport(nats_url, None, dlq_stream)

    async def work(t: JetStreamTransport) -> tuple[int, list[int]]:
        seqs = list(sequences or [dl.sequence for dl in await t.dead_letters(limit)])
        done, missing = 0, []
        for seq in seqs[:limit]:
            if await t.replay_dead_letter(seq):
                done += 1
            else:
                missing.append(seq)
        return done, missing

    done, missing = _with_transport(transport, work)
    console.print(f"replayed {done} dead letter(s) from {dlq_stream}")
    if missing:
        _fail(f"no dead letter with sequence {', '.join(map(str, missing))}")
