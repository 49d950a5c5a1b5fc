"""Server commands: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer
from rich.table import Table

from ._app import app, console, err_console
from ._core import StoreOption, _default_store, _fail, _fmt_time, _one_line, _safe_url

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Manage the server's API keys (one or more per project).", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)
    ] = 4318,
    store: StoreOption = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve without API keys (only on localhost; every request is --project).",
        ),
    ] = False,
    project: Annotated[
        str | None,
        typer.Option(
            "--project", help="Project of requests when auth is off (default: the configured one)."
        ),
    ] = None,
    rate_limit: Annotated[
        float,
        typer.Option("--rate-limit", help="Requests per second per API key (0: no limit).", min=0),
    ] = 100.0,
    decode_workers: Annotated[
        int | None,
        typer.Option(
            "--decode-workers",
            help="Processes decoding large request bodies (default: the CPUs, at most 8, "
            "none on one CPU).",
            min=0,
            max=64,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
) -> None:
    """Run the tracehound server: seed 002's API, /v1, ingest and OTLP/HTTP (/v1/traces)."""
    try:
        import uvicorn

        from ..api import Limits, create_app
        from ..api._state import is_loopback
    except ImportError as exc:
        _fail(f"the server needs its extra: pip install 'tracehound[server]' ({exc})")
    url = store or _default_store()
    if no_auth and not is_loopback(host):
        _fail(
            f"--no-auth is allowed only on localhost; {host!r} is reachable from other machines "
            "(create a key with `tracehound keys create --project P` instead)"
        )
    limits = Limits(rate_limit=rate_limit, rate_burst=max(1, int(rate_limit * 2)))
    cpus = os.cpu_count() or 1
    workers = decode_workers if decode_workers is not None else (min(cpus, 8) if cpus > 1 else 0)
    try:
        application = create_app(
            url,
            auth=not no_auth,
            host=host,
            project=project,
            limits=limits,
            tune=True,
            decode_workers=workers,
        )
    except ValueError as exc:
        _fail(str(exc))
    server = application.state.tracehound
    if not server.start(force=True):
        _fail(f"cannot open the store {_safe_url(url)}: {server.schema_error}")
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    shown_host = f"[{host}]" if ":" in host else host

    def announce(bound: int) -> None:
        url_shown = f"http://{shown_host}:{bound}"
        console.print(
            f"tracehound server listening on {url_shown}", highlight=False, soft_wrap=True
        )
        console.print(f"  store: {_safe_url(url)}", highlight=False, soft_wrap=True)
        console.print(f"  dashboard: {url_shown}/", highlight=False)
        console.print(f"  OTLP/HTTP traces: {url_shown}/v1/traces", highlight=False)
        console.print(f"  API docs: {url_shown}/docs", highlight=False)
        if no_auth:
            console.print(
                f"  [bold yellow]auth is OFF[/bold yellow] (localhost only): every request "
                f"belongs to project {server.project!r}",
                highlight=False,
            )
        else:
            console.print(
                "  auth: API keys (send 'Authorization: Bearer <key>'; create one with "
                "`tracehound keys create --project P`)",
                highlight=False,
            )
        console.file.flush()

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            bound = port
            for srv in self.servers:
                for sock in srv.sockets or ():
                    bound = int(sock.getsockname()[1])
                    break
            announce(bound)

    web = _Server(config)
    web.run()


def _key_store(store: str | None) -> object:
    from ..api.auth import KeyStore
    from ..store._engine import make_engine
    from ..store._migrate import ensure_schema

    url = store or _default_store()
    try:
        ensure_schema(url)
        return KeyStore(make_engine(url))
    except Exception as exc:
        _fail(f"cannot open the store {_safe_url(url)}: {_one_line(exc)}")


@keys_app.command("create")
def keys_create(
    project: Annotated[str, typer.Option("--project", help="The project the key grants.")],
    name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
    store: StoreOption = None,
) -> None:
    """Create an API key for a project and print it (it is shown only once)."""
    from ..api.auth import KeyStore

    keys = _key_store(store)
    assert isinstance(keys, KeyStore)
    try:
        created = keys.create(project, name)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        keys.engine.dispose()
    print(created.key)
    err_console.print(
        f"key {created.info.id} for project {project!r} created; store it now, it is not shown again",
        highlight=False,
    )


@keys_app.command("list")
def keys_list(
    project: Annotated[
        str | None, typer.Option("--project", help="Only this project's keys.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """List API keys (ids, projects, state — never the keys)."""
    from ..api.auth import KeyStore

    keys = _key_store(store)
    assert isinstance(keys, KeyStore)
    try:
        found = keys.list(project)
    finally:
        keys.engine.dispose()
    if not found:
        console.print("no API keys" + (f" for project {project!r}" if project else ""))
        return
    table = Table("id", "project", "name", "created", "state")
    for k in found:
        state = "active" if k.active else f"revoked {_fmt_time(k.revoked_at)}"
        table.add_row(k.id, k.project, k.name or "", _fmt_time(k.created_at), state)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`) or the key.")],
    project: Annotated[
        str | None, typer.Option("--project", help="Only if the key belongs to this project.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Revoke an API key (servers stop accepting it within seconds)."""
    from ..api.auth import KeyStore

    keys = _key_store(store)
    assert isinstance(keys, KeyStore)
    try:
        done = keys.revoke(key_id, project)
    finally:
        keys.engine.dispose()
    if not done:
        _fail(f"no active key {key_id[:20]!r}" + (f" in project {project!r}" if project else ""))
    console.print(f"key {key_id[:20]} revoked")
