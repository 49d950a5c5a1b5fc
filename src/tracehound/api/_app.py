"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from .. import __version__
from .errors import error_response, install_error_handlers
from .limits import Limits, tune_gc

__all__ = ["create_app"]

log = logging.getLogger("tracehound.api")

_DESCRIPTION = """\
Trace and debug AI agents.

* **Seed 002** — `/execution-logs/…`: execution logs, LLM calls, the analytics summary.
* **/v1** — traces (as trees), spans, events, sessions with filters and cursor pagination;
  analytics (why an agent did not fire, stage timelines, failed and slow executions, call
  chains, error patterns, causality chains, cost over time); a live stream (SSE).
* **Ingest** — `POST /v1/ingest` (tracehound records) and `POST /v1/traces` (OTLP/HTTP,
  protobuf or JSON, with the OpenTelemetry GenAI conventions).

Authenticate with a project API key (`tracehound keys create --project P`):
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Every answer is limited to the key's
project.
"""


def create_app(
    store_url: str | None = None,
    *,
    auth: bool = True,
    host: str = "127.0.0.1",
    project: str | None = None,
    limits: Limits | None = None,
    stream_interval: float = 1.0,
    auto_migrate: bool = True,
    tune: bool = False,
    decode_workers: int = 0,
) -> FastAPI:
    """The tracehound server as an ASGI application.

    ``store_url``: ``sqlite:///path.db`` or ``postgresql://…`` (default: the configured store,
    ``trace/tracehound.db``). ``auth=False`` is allowed only when ``host`` is a loopback
    address (then every request belongs to ``project``, default the configured project).
    Migrations are applied at start-up (``auto_migrate``). ``tune`` makes the garbage
    collector run less often in this process (see :func:`tracehound.api.limits.tune_gc`).
    ``decode_workers`` > 0 decodes large request bodies in that many worker processes
    (:mod:`tracehound.api._decode`).
    """
    from ..config import Settings
    from ._state import Server, is_loopback

    if not auth and not is_loopback(host):
        raise ValueError(
            f"auth can be turned off only when the server listens on localhost, not on {host!r}"
        )
    settings = Settings.load()
    url = store_url or settings.store_url
    if url is None:
        raise ValueError(
            "store: the store is disabled (TRACEHOUND_STORE=none); pass a database URL"
        )
    server = Server(
        url,
        auth=auth,
        host=host,
        project=project or settings.project,
        limits=limits or Limits(),
        stream_interval=stream_interval,
        auto_migrate=auto_migrate,
        decode_workers=decode_workers,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(server.start, force=True)
        if server.decode_pool is not None:
            await asyncio.to_thread(server.decode_pool.warm_up)
        if tune:
            tune_gc()
        try:
            yield
        finally:
            await server.broadcaster.close()
            await asyncio.to_thread(server.stop)

    app = FastAPI(
        title="tracehound",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.tracehound = server
    install_error_handlers(app)
    _install_store_errors(app)

    from .routes import execution_logs, health, ingest, monitoring, v1

    app.include_router(health.router)
    app.include_router(execution_logs.router)
    app.include_router(ingest.router)
    app.include_router(v1.router)
    app.include_router(monitoring.router)

    from ..web import router as web_router

    app.include_router(web_router)

    @app.middleware("http")
    async def _checks(request: Request, call_next: Any) -> Response:
        repeated = _repeated_parameter(request.scope.get("query_string", b""))
        if repeated is not None:
            response = error_response(
                422, f"{repeated}: given more than once (it takes one value)", field=repeated
            )
        else:
            response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    _add_wire_record_schema(app)

    return app


#: Query parameters that take several values; any other one given twice is a 422.
_MULTI = frozenset({"attr", "filter", "types"})


def _repeated_parameter(query: bytes) -> str | None:
    if not query or b"&" not in query:
        return None
    from urllib.parse import parse_qsl

    seen: set[str] = set()
    for key, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key in seen and key not in _MULTI:
            return key[:100]
        seen.add(key)
    return None


def _add_wire_record_schema(app: FastAPI) -> None:
    """Document the wire record (the items of ``POST /v1/ingest``) as a named schema."""
    from fastapi.openapi.utils import get_openapi

    from .routes.ingest import WIRE_RECORD_SCHEMA

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            doc.setdefault("components", {}).setdefault("schemas", {})["WireRecord"] = (
                WIRE_RECORD_SCHEMA
            )
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_store_errors(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from ..executions._spans import InvalidArgumentError

    async def on_invalid(_request: Request, exc: Exception) -> Response:
        field = getattr(exc, "field", None)
        return error_response(422, str(exc)[:500], field=field)

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("store error answering %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "store: the database is unavailable; retry later",
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(InvalidArgumentError, on_invalid)
    app.add_exception_handler(OperationalError, on_unavailable)
    app.add_exception_handler(PoolTimeout, on_unavailable)
    app.add_exception_handler(DBAPIError, on_unavailable)
