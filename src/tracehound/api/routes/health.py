"""``/healthz`` (the process answers) and ``/readyz`` (the store and the writer are ready;
503 naming what fails)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from .._state import Server
from ..schemas import HealthOut, ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    summary="Readiness",
    responses={503: {"model": ReadyOut, "description": "Not ready: `failing` names why."}},
)
def readyz(request: Request) -> Response:
    server: Server = request.app.state.tracehound
    if not server.started:
        server.start()
    checks = server.checks()
    failing = [f"{name}: {c.detail}" for name, c in checks.items() if not c.ok]
    writer = server.writer
    body = {
        "status": "unavailable" if failing else "ready",
        "failing": failing,
        "checks": {name: c.detail for name, c in checks.items()},
        "queued_records": writer.queued_records if writer is not None else 0,
        "schema_revision": server.schema_revision,
    }
    headers = {"Retry-After": "5"} if failing else None
    return Response(
        orjson.dumps(body),
        status_code=503 if failing else 200,
        media_type="application/json",
        headers=headers,
    )
