"""``/v1`` monitoring: anomalies, stats, patterns, health and regression comparisons — the
same answers as ``tracehound anomalies|stats|health|compare`` (seed 001's ``Analytics`` and
``Monitor``), computed on the server's store and scoped to the caller's project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from ...monitoring import Analytics, Monitor
from .._deps import ERRORS, Caller, ServerDep
from ..errors import ApiError

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["monitoring"], responses=ERRORS)

T = TypeVar("T")

Duration = Annotated[
    str,
    Query(
        description="A duration such as 30m, 6h, 14d (or seconds).",
        max_length=32,
        pattern=r"^[0-9]+(\.[0-9]+)?\s*[a-zA-Z]*$",
    ),
]
Window = Annotated[
    str,
    Query(
        description="24h, 7d, START..END (ISO-8601), or all.",
        max_length=120,
        pattern=r"^[0-9A-Za-z:.+\- ]+$",
    ),
]
Cohort = Annotated[
    str,
    Query(
        description="A version (v1, version:v1, release:2024.05), a time window "
        "(-48h..-24h, 2024-05-01..2024-05-02, 24h) or a session (session:ID|latest|previous).",
        max_length=200,
        pattern=r"^[0-9A-Za-z:._+\- ]+$",
    ),
]


async def _answer(field: str, fn: Callable[[], T]) -> T:
    """Run a (blocking) analysis in the thread pool; bad window/cohort text → 422."""
    try:
        return await run_in_threadpool(fn)
    except (ValueError, TypeError) as exc:
        raise ApiError(422, f"{field}: {exc}", field=field) from None


@router.get("/anomalies", summary="Anomalies of the last window against each metric's history")
async def anomalies(
    server: ServerDep,
    caller: Caller,
    window: Duration = "6h",
    baseline: Duration = "14d",
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
) -> list[dict[str, Any]]:
    analytics = Analytics(server.engine, project=caller.project, flush=False)
    found = await _answer(
        "window", lambda: analytics.anomalies(window=window, baseline=baseline, min_score=min_score)
    )
    return [a.to_dict() for a in found]


@router.get("/stats", summary="Per agent, model, tool and event type statistics")
async def stats(server: ServerDep, caller: Caller, timeframe: Window = "24h") -> dict[str, Any]:
    analytics = Analytics(server.engine, project=caller.project, flush=False)
    return await _answer("timeframe", lambda: analytics.stats(timeframe))


@router.get("/patterns", summary="Recurring agent paths and the sequences leading to errors")
async def patterns(server: ServerDep, caller: Caller, timeframe: Window = "24h") -> dict[str, Any]:
    analytics = Analytics(server.engine, project=caller.project, flush=False)
    return await _answer("timeframe", lambda: analytics.patterns(timeframe))


@router.get("/health", summary="Health of the system and of every active agent")
async def health(server: ServerDep, caller: Caller, window: Duration = "1h") -> dict[str, Any]:
    monitor = Monitor(server.engine, project=caller.project, trace_events=False)
    status = await _answer("window", lambda: monitor.health(window=window))
    return status.to_dict()


@router.get("/compare", summary="Compare two versions, releases, sessions or time windows")
async def compare(
    server: ServerDep,
    caller: Caller,
    a: Cohort,
    b: Cohort,
    agent: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
) -> dict[str, Any]:
    analytics = Analytics(server.engine, project=caller.project, flush=False)
    result = await _answer("a", lambda: analytics.compare(a, b, agent=agent))
    return result.to_dict()
