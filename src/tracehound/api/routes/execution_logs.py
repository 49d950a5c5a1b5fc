"""Seed 002's REST API, as its README documents it: ``/execution-logs/…``.

An execution log is an ``agent`` span; its ``execution_id`` is the span's trace id; the LLM
calls of a log are the ``llm`` spans whose nearest agent ancestor it is (see
``docs/data-model.md``). Statuses use the seed's words (``started``, ``completed``,
``failed``, ``cancelled``). Every query is limited to the caller's project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import delete, func, select

from ...model import SPAN_STATUSES
from ...store._schema import events as E
from ...store._schema import metrics as M
from ...store._schema import spans as S
from .._deps import ERRORS, Caller, IdPath, IsoDateTime, ServerDep, TextQuery
from .._query import json_text, lookup_scope
from .._rollup import seed002_summary
from .._state import Server
from ..errors import ApiError
from ..schemas import (
    DeleteOut,
    ExecutionDetailOut,
    ExecutionLogsOut,
    LLMCallLogsOut,
    SummaryOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/execution-logs", tags=["execution-logs (seed 002)"], responses=ERRORS)

_SEED_STATUS: Final = {"success": "completed", "running": "started", "pending": "started"}
_CHUNK: Final = 500
_LINKS: Final = (
    "report_id",
    "completion_id",
    "widget_id",
    "step_id",
    "external_platform",
    "external_user_id",
)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else round(float(value))


def pick(model: type[BaseModel], data: Mapping[Any, Any]) -> dict[str, Any]:
    """The keys of ``data`` the model declares (answers keep the documented shape)."""
    return {k: v for k, v in data.items() if k in model.model_fields}


def _llm_brief(m: Mapping[Any, Any]) -> dict[str, Any]:
    a = m["attributes"] or {}
    status = m["status"]
    return {
        "id": m["id"],
        "provider": m["provider"],
        "model_id": m["model"],
        "call_type": _str(a.get("call_type"))
        or ("inference_stream" if m["is_streaming"] else "inference"),
        "status": _SEED_STATUS.get(status, status),
        "start_time": m["start_time"],
        "end_time": m["end_time"],
        "duration_ms": _int(m["duration_ms"]),
        "input_tokens": m["input_tokens"],
        "output_tokens": m["output_tokens"],
        "total_tokens": m["total_tokens"],
        "input_cost": m["input_cost"],
        "output_cost": m["output_cost"],
        "total_cost": m["total_cost"],
        "is_streaming": None if m["is_streaming"] is None else bool(m["is_streaming"]),
        "chunks_count": m["chunks_count"],
    }


def _llm_detail(m: Mapping[Any, Any]) -> dict[str, Any]:
    out = _llm_brief(m)
    a = m["attributes"] or {}
    out["prompt"] = m["input"]
    out["response"] = m["output"]
    out["error_message"] = m["error_message"] or _str(a.get("error_message"))
    return out


def attach_llm_calls(
    server: Server, project: str, logs: list[dict[str, Any]], *, detail: bool
) -> None:
    """Give each log (agent span) its LLM calls: the ``llm`` spans whose nearest ``agent``
    ancestor it is. Project-scoped at every step."""
    from ...analytics import ExecutionAnalytics

    if not logs:
        return
    traces = sorted({log["execution_id"] for log in logs})
    wanted = {log["id"] for log in logs}
    structure: list[Mapping[Any, Any]] = []
    with server.engine.connect() as conn:
        for start in range(0, len(traces), _CHUNK):
            part = traces[start : start + _CHUNK]
            structure.extend(
                conn.execute(
                    select(S.c.id, S.c.parent_id, S.c.kind).where(
                        lookup_scope(S, project, server.dialect), S.c.trace_id.in_(part)
                    )
                ).mappings()
            )
        owners = ExecutionAnalytics._owner_map(structure)
        ids = [r["id"] for r in structure if r["kind"] == "llm" and owners.get(r["id"]) in wanted]
        by_log: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for start in range(0, len(ids), _CHUNK):
            rows = conn.execute(
                select(S)
                .where(
                    lookup_scope(S, project, server.dialect),
                    S.c.id.in_(ids[start : start + _CHUNK]),
                )
                .order_by(S.c.start_time)
            ).mappings()
            for r in rows:
                owner = owners.get(r["id"])
                if owner is not None:
                    by_log[owner].append(_llm_detail(r) if detail else _llm_brief(r))
    for log in logs:
        calls = by_log.get(log["id"], [])
        calls.sort(key=lambda c: (c["start_time"] is None, c["start_time"]))
        log["llm_calls"] = calls


def _log_out(log: Mapping[Any, Any]) -> dict[str, Any]:
    out = {
        "id": log["id"],
        "execution_id": log["execution_id"],
        "agent_type": log.get("agent_type"),
        "execution_step": _str(log.get("execution_step")),
        "action_type": _str(log.get("action_type")),
        "status": str(log.get("status")),
        "start_time": log.get("start_time"),
        "end_time": log.get("end_time"),
        "duration_ms": _int(log.get("duration_ms")),
        "input_data": log.get("input_data"),
        "output_data": log.get("output_data"),
        "error_message": _str(log.get("error_message")),
        "metadata": log.get("metadata"),
        "created_at": log.get("start_time"),
        "updated_at": log.get("end_time") or log.get("start_time"),
    }
    for key in _LINKS:
        out[key] = _str(log.get(key))
    return out


StatusQuery = Annotated[
    str | None,
    Query(
        description="Filter by status (started, completed, failed, cancelled).",
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*$",
    ),
]


@router.get(
    "/executions",
    response_model=ExecutionLogsOut,
    response_model_exclude_unset=True,
    summary="Execution logs with filters and pagination",
)
def get_execution_logs(
    server: ServerDep,
    caller: Caller,
    report_id: Annotated[str | None, TextQuery("Filter by report ID.")] = None,
    agent_type: Annotated[
        str | None, TextQuery("Filter by agent type (planner, designer, answer, etc.).")
    ] = None,
    execution_step: Annotated[
        str | None, TextQuery("Filter by execution step (plan, execute, observe, etc.).")
    ] = None,
    action_type: Annotated[str | None, TextQuery("Filter by action type.")] = None,
    status: StatusQuery = None,
    external_platform: Annotated[str | None, TextQuery("Filter by external platform.")] = None,
    start_date: Annotated[
        IsoDateTime | None, Query(description="Filter executions after this date.")
    ] = None,
    end_date: Annotated[
        IsoDateTime | None, Query(description="Filter executions before this date.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=500, description="Maximum records to return (max 500).")
    ] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000_000, description="Number of records to skip.")
    ] = 0,
    include_llm_calls: Annotated[bool, Query(description="Include associated LLM calls.")] = False,
) -> dict[str, Any]:
    an = server.analytics(caller.project)
    logs = an.get_executions(
        report_id=report_id or None,
        agent_type=agent_type or None,
        execution_step=execution_step or None,
        action_type=action_type or None,
        status=status or None,
        external_platform=external_platform or None,
        start_date=start_date,
        end_date=end_date,
        limit=limit,
        offset=offset,
        include_llm_calls=False,
    )
    out = [_log_out(log) for log in logs]
    if include_llm_calls:
        attach_llm_calls(server, caller.project, out, detail=False)
    return {
        "execution_logs": out,
        "total_count": len(out),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/executions/{execution_id}",
    response_model=ExecutionDetailOut,
    response_model_exclude_unset=True,
    summary="Every log of one execution id",
)
def get_execution_by_id(
    server: ServerDep,
    caller: Caller,
    execution_id: Annotated[str, IdPath("The execution id (the trace id).")],
    include_llm_calls: Annotated[bool, Query(description="Include associated LLM calls.")] = True,
) -> dict[str, Any]:
    logs = execution_logs_of(server, caller.project, execution_id)
    if not logs:
        raise ApiError(
            404, f"execution_id: execution {execution_id[:80]!r} not found", field="execution_id"
        )
    steps: list[dict[str, Any]] = []
    for log in logs:
        full = _log_out(log)
        steps.append({k: full[k] for k in _STEP_KEYS} | {"execution_id": full["execution_id"]})
    if include_llm_calls:
        attach_llm_calls(server, caller.project, steps, detail=True)
    for step in steps:
        step.pop("execution_id")
    steps.sort(key=lambda s: (s["start_time"] is None, s["start_time"]))
    return {"execution_id": execution_id, "steps": steps}


def _log_from_row(m: Mapping[Any, Any]) -> dict[str, Any]:
    """An agent span row → seed 002's execution log fields (the rules of
    ``ExecutionAnalytics.get_executions``)."""
    a = m["attributes"] if isinstance(m["attributes"], dict) else {}
    status = m["status"]
    error = m["error_message"] or a.get("error_message")
    if error is None and status in ("failed", "timeout"):
        error = m["status_message"]
    log = {
        "id": m["id"],
        "execution_id": m["trace_id"],
        "agent_type": m["agent_name"],
        "execution_step": a.get("execution_step") or m["name"],
        "action_type": a.get("action_type"),
        "status": _SEED_STATUS.get(status, status),
        "start_time": m["start_time"],
        "end_time": m["end_time"],
        "duration_ms": m["duration_ms"],
        "input_data": m["input"],
        "output_data": m["output"],
        "error_message": error,
        "metadata": a.get("metadata"),
    }
    for key in _LINKS:
        log[key] = a.get(key)
    return _log_out(log)


def execution_logs_of(server: Server, project: str, execution_id: str) -> list[dict[str, Any]]:
    """The execution logs of a seed-002 execution id, in start order: the agent spans of the
    trace with that id (or of the trace holding the span with that id), else those that
    recorded it as their ``execution_id`` attribute (ids given by the caller)."""
    dialect = server.dialect
    scope = lookup_scope(S, project, dialect)
    with server.engine.connect() as conn:
        rows = list(
            conn.execute(
                select(S)
                .where(scope, S.c.trace_id == execution_id, S.c.kind == "agent")
                .order_by(S.c.start_time, S.c.id)
            ).mappings()
        )
        if not rows:
            own = conn.execute(select(S.c.trace_id).where(scope, S.c.id == execution_id)).first()
            if own is not None:
                rows = list(
                    conn.execute(
                        select(S)
                        .where(scope, S.c.trace_id == own[0], S.c.kind == "agent")
                        .order_by(S.c.start_time, S.c.id)
                    ).mappings()
                )
        if not rows:
            rows = list(
                conn.execute(
                    select(S)
                    .where(
                        S.c.project == project,
                        S.c.kind == "agent",
                        S.c.status.in_(SPAN_STATUSES),
                        json_text(S.c.attributes, "execution_id", dialect) == execution_id,
                    )
                    .order_by(S.c.start_time, S.c.id)
                ).mappings()
            )
    return [_log_from_row(r) for r in rows]


_STEP_KEYS: Final = (
    "id",
    "agent_type",
    "execution_step",
    "action_type",
    "status",
    "start_time",
    "end_time",
    "duration_ms",
    "input_data",
    "output_data",
    "error_message",
    "metadata",
)


@router.get(
    "/llm-calls",
    response_model=LLMCallLogsOut,
    summary="LLM call logs with filters and pagination",
)
def get_llm_call_logs(
    server: ServerDep,
    caller: Caller,
    provider: Annotated[str | None, TextQuery("Filter by LLM provider.")] = None,
    model_id: Annotated[str | None, TextQuery("Filter by model ID.")] = None,
    call_type: Annotated[str | None, TextQuery("Filter by call type.")] = None,
    status: StatusQuery = None,
    report_id: Annotated[str | None, TextQuery("Filter by report ID.")] = None,
    execution_log_id: Annotated[str | None, TextQuery("Filter by execution log ID.")] = None,
    start_date: Annotated[
        IsoDateTime | None, Query(description="Filter calls after this date.")
    ] = None,
    end_date: Annotated[
        IsoDateTime | None, Query(description="Filter calls before this date.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Maximum records to return.")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000_000, description="Number of records to skip.")
    ] = 0,
) -> dict[str, Any]:
    an = server.analytics(caller.project)
    calls = an.get_llm_calls(
        provider=provider or None,
        model_id=model_id or None,
        call_type=call_type or None,
        status=status or None,
        report_id=report_id or None,
        execution_log_id=execution_log_id or None,
        start_date=start_date,
        end_date=end_date,
        limit=limit,
        offset=offset,
    )
    out = []
    for c in calls:
        out.append(
            {
                "id": c["id"],
                "execution_log_id": _str(c.get("execution_log_id") or c.get("parent_id")),
                "report_id": _str(c.get("report_id")),
                "completion_id": _str(c.get("completion_id")),
                "provider": c.get("provider"),
                "model_id": c.get("model_id"),
                "call_type": _str(c.get("call_type")),
                "status": str(c.get("status")),
                "start_time": c.get("start_time"),
                "end_time": c.get("end_time"),
                "duration_ms": _int(c.get("duration_ms")),
                "prompt": c.get("prompt"),
                "response": c.get("response"),
                "error_message": _str(c.get("error_message")),
                "input_tokens": c.get("input_tokens"),
                "output_tokens": c.get("output_tokens"),
                "total_tokens": c.get("total_tokens"),
                "input_cost": c.get("input_cost"),
                "output_cost": c.get("output_cost"),
                "total_cost": c.get("total_cost"),
                "is_streaming": c.get("is_streaming"),
                "chunks_count": c.get("chunks_count"),
                "metadata": c.get("metadata"),
                "created_at": c.get("start_time"),
                "updated_at": c.get("end_time") or c.get("start_time"),
            }
        )
    return {"llm_call_logs": out, "total_count": len(out), "limit": limit, "offset": offset}


@router.get(
    "/analytics/summary",
    response_model=SummaryOut,
    summary="Analytics summary of executions and LLM calls",
)
def get_execution_analytics(
    server: ServerDep,
    caller: Caller,
    start_date: Annotated[
        IsoDateTime | None, Query(description="Analytics start date (default: 30 days ago).")
    ] = None,
    end_date: Annotated[
        IsoDateTime | None, Query(description="Analytics end date (default: now).")
    ] = None,
    report_id: Annotated[str | None, TextQuery("Filter by report ID.")] = None,
) -> dict[str, Any]:
    from ..schemas import (
        DateRange,
        DurationStats,
        ExecutionAnalyticsOut,
        LLMCallAnalyticsOut,
        TokenStats,
    )

    end = _utc(end_date) or datetime.now(UTC)
    start = _utc(start_date) or end - timedelta(days=30)
    if start > end:
        raise ApiError(422, "start_date: must not be after end_date", field="start_date")
    if report_id:
        got = server.analytics(caller.project).get_analytics_summary(start, end, report_id)
    else:
        got = seed002_summary(server.engine, server.rollups, caller.project, start, end)
    ex = dict(got["execution_analytics"])
    ex["duration_stats"] = pick(DurationStats, ex.get("duration_stats") or {})
    llm = dict(got["llm_call_analytics"])
    llm["token_stats"] = pick(TokenStats, llm.get("token_stats") or {})
    return {
        "date_range": pick(DateRange, got["date_range"]),
        "execution_analytics": pick(ExecutionAnalyticsOut, ex),
        "llm_call_analytics": pick(LLMCallAnalyticsOut, llm),
    }


@router.delete(
    "/executions/{execution_id}",
    response_model=DeleteOut,
    summary="Delete every log of one execution id",
)
async def delete_execution_logs(
    server: ServerDep,
    caller: Caller,
    execution_id: Annotated[str, IdPath("The execution id (the trace id).")],
) -> dict[str, Any]:
    """Deletes the execution (the whole trace: its execution logs, LLM calls, other spans,
    events and metrics) in the caller's project."""
    import asyncio

    writer = server.writer
    if writer is None:
        raise ApiError(503, "store: not ready", field=None, headers={"Retry-After": "5"})
    project = caller.project
    dialect = server.dialect

    def work() -> tuple[int, int, str | None]:
        with server.engine.begin() as conn:
            trace = execution_id
            n = conn.execute(
                select(func.count())
                .select_from(S)
                .where(lookup_scope(S, project, dialect), S.c.trace_id == trace)
            ).scalar_one()
            if not n:
                own = conn.execute(
                    select(S.c.trace_id).where(
                        lookup_scope(S, project, dialect), S.c.id == execution_id
                    )
                ).first()
                if own is None:
                    return 0, 0, None
                trace = str(own[0])
            counts: dict[str, int] = dict(
                conn.execute(
                    select(S.c.kind, func.count())
                    .where(lookup_scope(S, project, dialect), S.c.trace_id == trace)
                    .group_by(S.c.kind)
                ).all()
            )
            conn.execute(delete(S).where(lookup_scope(S, project, dialect), S.c.trace_id == trace))
            conn.execute(delete(E).where(lookup_scope(E, project, dialect), E.c.trace_id == trace))
            conn.execute(delete(M).where(M.c.project == project, M.c.trace_id == trace))
        writer.guard.forget_trace(trace)
        server.rollups.forget(project)
        return int(counts.get("agent", 0)), int(counts.get("llm", 0)), trace

    n_exec, n_llm, trace = await asyncio.wrap_future(writer.call(work))
    if trace is None or (n_exec == 0 and n_llm == 0 and trace is None):
        raise ApiError(
            404, f"execution_id: execution {execution_id[:80]!r} not found", field="execution_id"
        )
    return {
        "message": f"Deleted {n_exec} execution logs and {n_llm} LLM call logs "
        f"for execution {execution_id}"
    }
