"""The dashboard's routes: the page at ``/``, its static assets under ``/ui/static/``, and the
JSON it reads under ``/ui/api/`` (behind the server's API-key auth).

The page itself and its assets hold no data and are served without a key (the page asks for
one); every ``/ui/api`` route depends on the server's own principal dependency (the same API
key check and rate limit as ``/v1``) and sees only the key's project. Live updates come from
the server's ``GET /v1/stream``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..api._deps import principal
from ..api.auth import Principal
from ..api.errors import ApiError
from ._data import NotFound, Scope, WebData

__all__ = ["STATIC_DIR", "router"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
_MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
_STATIC_NAME: Final = re.compile(
    r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}){0,3}"
)
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# ids: what the store accepts (≤ 800 characters, no control characters)
_ID: Final = r"^[^\x00-\x1f\x7f]{1,800}$"
_TEXT: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_KINDS: Final = r"^(root|agent|stage|llm|tool|task|operation|[A-Za-z0-9_.-]{1,40})$"
_STATUSES: Final = r"^(error|pending|running|success|failed|timeout|skipped|cancelled)$"
_MS_MAX: Final = 1e14  # year ~5138: beyond it nothing is stored

router = APIRouter()

PrincipalDep = Annotated[Principal, Depends(principal)]
FromMs = Annotated[float | None, Query(alias="from", ge=0, le=_MS_MAX)]
ToMs = Annotated[float | None, Query(alias="to", ge=0, le=_MS_MAX)]


def _json(data: Any, status_code: int = 200) -> Response:
    body = orjson.dumps(
        data, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=_default
    )
    return Response(
        body,
        status_code=status_code,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _data(request: Request) -> WebData:
    """The dashboard's queries over the server's store engine (made on first use)."""
    state = request.app.state
    data = getattr(state, "tracehound_web", None)
    if isinstance(data, WebData):
        return data
    server = state.tracehound
    data = WebData(server.engine, server.url)
    state.tracehound_web = data
    return data


def _scope(caller: Principal, start: float | None, end: float | None) -> Scope:
    if start is not None and end is not None and start > end:
        raise ApiError(422, "from: must not be after 'to'", field="from")
    return Scope(
        project=caller.project,
        start_ns=None if start is None else int(start * 1_000_000),
        end_ns=None if end is None else int(end * 1_000_000),
    )


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    try:
        result = await run_in_threadpool(fn, *args, **kwargs)
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    return _json(result)


# -- the page and its assets -------------------------------------------------------------------


def _index() -> Response:
    path = STATIC_DIR / "index.html"
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[".html"],
        headers={"Cache-Control": "no-cache", **_SECURITY_HEADERS},
    )


@router.get("/", include_in_schema=False)
async def dashboard_index() -> Response:
    """The dashboard (a single page: every view lives under ``#/…``)."""
    return _index()


@router.get("/ui", include_in_schema=False)
@router.get("/ui/", include_in_schema=False)
async def dashboard_index_alias() -> Response:
    """``/ui`` → ``/`` (the page's asset and API paths are relative to ``/``)."""
    return RedirectResponse("/", status_code=307)


@router.get("/ui/static/{name:path}", include_in_schema=False)
async def dashboard_static(name: str) -> Response:
    """A file shipped in the package's ``static`` directory (nothing outside it)."""
    if not _STATIC_NAME.fullmatch(name) or ".." in name:
        raise ApiError(404, "not found")
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        raise ApiError(404, "not found")
    media = _MEDIA_TYPES.get(path.suffix)
    if media is None:
        raise ApiError(404, "not found")
    return FileResponse(
        path,
        media_type=media,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# -- JSON for the pages ----------------------------------------------------------------------------


@router.get("/ui/api/meta", include_in_schema=False)
async def ui_meta(request: Request, principal: PrincipalDep) -> Response:
    data = _data(request)
    return await _call(data.meta, _scope(principal, None, None))


@router.get("/ui/api/overview", include_in_schema=False)
async def ui_overview(
    request: Request,
    principal: PrincipalDep,
    start: FromMs = None,
    end: ToMs = None,
    buckets: Annotated[int, Query(ge=2, le=200)] = 40,
) -> Response:
    return await _call(_data(request).overview, _scope(principal, start, end), buckets)


@router.get("/ui/api/spans", include_in_schema=False)
async def ui_spans(
    request: Request,
    principal: PrincipalDep,
    start: FromMs = None,
    end: ToMs = None,
    agent: Annotated[str | None, Query(max_length=800, pattern=_ID)] = None,
    status: Annotated[str | None, Query(pattern=_STATUSES)] = None,
    kind: Annotated[str | None, Query(pattern=_KINDS)] = None,
    q: Annotated[str | None, Query(max_length=500, pattern=_TEXT)] = None,
    session: Annotated[str | None, Query(max_length=800, pattern=_ID)] = None,
    trace: Annotated[str | None, Query(max_length=800, pattern=_ID)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return await _call(
        _data(request).spans,
        _scope(principal, start, end),
        agent=agent or None,
        status=status or None,
        kind=kind or None,
        q=(q or "").strip() or None,
        session_id=session or None,
        trace_id=trace or None,
        page=page,
        page_size=page_size,
    )


@router.get("/ui/api/traces/{trace_id}", include_in_schema=False)
async def ui_trace(
    request: Request,
    principal: PrincipalDep,
    trace_id: str,
) -> Response:
    _check_id(trace_id, "trace_id")
    return await _call(_data(request).trace, _scope(principal, None, None), trace_id)


@router.get("/ui/api/spans/{span_id}", include_in_schema=False)
async def ui_span(request: Request, principal: PrincipalDep, span_id: str) -> Response:
    _check_id(span_id, "span_id")
    return await _call(_data(request).span, _scope(principal, None, None), span_id)


@router.get("/ui/api/events/{event_id}", include_in_schema=False)
async def ui_event(request: Request, principal: PrincipalDep, event_id: str) -> Response:
    _check_id(event_id, "event_id")
    return await _call(_data(request).event, _scope(principal, None, None), event_id)


@router.get("/ui/api/agents", include_in_schema=False)
async def ui_agents(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).agents, _scope(principal, start, end))


@router.get("/ui/api/conversations", include_in_schema=False)
async def ui_conversations(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).conversations, _scope(principal, start, end))


@router.get("/ui/api/why", include_in_schema=False)
async def ui_why(
    request: Request,
    principal: PrincipalDep,
    agent: Annotated[str, Query(max_length=800, pattern=_ID)],
    conversation: Annotated[str | None, Query(max_length=800, pattern=_ID)] = None,
) -> Response:
    return await _call(
        _data(request).why, _scope(principal, None, None), agent, conversation or None
    )


@router.get("/ui/api/errors", include_in_schema=False)
async def ui_errors(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).errors, _scope(principal, start, end))


@router.get("/ui/api/causality/{record_id}", include_in_schema=False)
async def ui_causality(
    request: Request,
    principal: PrincipalDep,
    record_id: str,
    lookback: Annotated[float, Query(gt=0, le=86_400)] = 60.0,
    limit: Annotated[int, Query(ge=1, le=100)] = 15,
) -> Response:
    _check_id(record_id, "record_id")
    return await _call(
        _data(request).causality, _scope(principal, None, None), record_id, lookback, limit
    )


@router.get("/ui/api/cost", include_in_schema=False)
async def ui_cost(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).cost, _scope(principal, start, end))


@router.get("/ui/api/learning", include_in_schema=False)
async def ui_learning(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).learning, _scope(principal, start, end))


@router.get("/ui/api/interactions", include_in_schema=False)
async def ui_interactions(
    request: Request, principal: PrincipalDep, start: FromMs = None, end: ToMs = None
) -> Response:
    return await _call(_data(request).interactions, _scope(principal, start, end))


def _check_id(value: str, field: str) -> None:
    if not value or len(value) > 800 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ApiError(
            422, f"{field}: expected 1-800 characters, no control characters", field=field
        )
