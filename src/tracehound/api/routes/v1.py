"""The ``/v1`` read API: traces, spans, events, sessions, analytics, and the live stream.

Every query is scoped to the caller's project; an id of another project answers 404. Lists
use cursor pagination: pass ``next_cursor`` back as ``cursor`` (with the same ``sort``).
Filters: the named parameters, ``attr=key=value`` (repeatable; a top-level attribute equals
a value), and ``filter=field:op:value`` (repeatable; see :mod:`tracehound.api._query`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, case, func, select

from ...model import LEVELS, SPAN_KINDS, SPAN_STATUSES
from ...store._schema import events as E
from ...store._schema import sessions as SESS
from ...store._schema import spans as S
from .._deps import ERRORS, Caller, IdPath, IsoDateTime, ServerDep, TextQuery
from .._insights import INTERVALS, causality, error_patterns
from .._query import (
    EVENT_FIELDS,
    SPAN_FIELDS,
    attr_filter,
    decode_cursor,
    is_root,
    keyset,
    lookup_scope,
    page_cursor,
    parse_filter,
    search,
    sort_key,
)
from .._rollup import cost_summary
from .._rows import event_out, plain, span_out
from .._state import Server
from .._stream import sse_message
from ..errors import ApiError
from ..schemas import (
    AgentPerformance,
    CausalityOut,
    ChainLink,
    CostOut,
    ErrorPatternsOut,
    EventPage,
    ExecutionOut,
    SessionDetail,
    SessionPage,
    SlowExecution,
    SpanDetail,
    SpanPage,
    TimelineEntry,
    TracePage,
    TraceTree,
    WhoAmI,
    WhyNotFiredOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["v1"], responses=ERRORS)

_FAILED: Final = ("failed", "timeout")
_MAX_FILTERS: Final = 20
_MAX_DEPTH: Final = 64
_CHUNK: Final = 500

SpanKind = Literal["agent", "stage", "llm", "tool", "task", "operation"]
SpanStatus = Literal["pending", "running", "success", "failed", "timeout", "skipped", "cancelled"]
EventLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
assert set(SpanKind.__args__) == set(SPAN_KINDS)  # type: ignore[attr-defined]
assert set(SpanStatus.__args__) == set(SPAN_STATUSES)  # type: ignore[attr-defined]
assert set(EventLevel.__args__) == set(LEVELS)  # type: ignore[attr-defined]

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (max 500).")]
CursorQ = Annotated[
    str | None,
    Query(
        description="The next_cursor of the previous page.",
        max_length=4096,
        pattern=r"^[A-Za-z0-9_\-]*$",
    ),
]
Since = Annotated[IsoDateTime | None, Query(description="Only records at or after this time.")]
Until = Annotated[IsoDateTime | None, Query(description="Only records at or before this time.")]
SearchQ = Annotated[
    str | None,
    Query(
        description="Case-insensitive text search over input, output and error message "
        "(events: message and data).",
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x08\x0a-\x1f\x7f]*$",
    ),
]
AttrQ = Annotated[
    list[str] | None,
    Query(description="`key=value`: a top-level attribute equals value (repeatable)."),
]
FilterQ = Annotated[
    list[str] | None,
    Query(
        description="`field:op:value` (repeatable). Ops: eq ne gt gte lt lte contains prefix in "
        "exists. Fields: the columns, or attributes.<key> (events: data.<key>)."
    ),
]
Hours = Annotated[
    float | None,
    Query(gt=0, le=876_000, allow_inf_nan=False, description="Look back this many hours."),
]


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _common(
    conds: list[Any],
    *,
    table: Any,
    columns: Mapping[str, str],
    json_column: Any,
    json_prefix: str,
    dialect: str,
    attr: Sequence[str] | None,
    filters: Sequence[str] | None,
) -> None:
    attr = attr or []
    filters = filters or []
    if len(attr) + len(filters) > _MAX_FILTERS:
        raise ApiError(
            422, f"filter: at most {_MAX_FILTERS} attr/filter parameters", field="filter"
        )
    for raw in attr:
        conds.append(attr_filter(raw, json_column, dialect, "attr"))
    for raw in filters:
        conds.append(parse_filter(raw, columns, table, json_column, json_prefix, dialect))


def _where(
    conds: list[Any],
    equals: Sequence[tuple[Any, str | None]],
    *,
    time_column: Any,
    since: datetime | None,
    until: datetime | None,
    q: str | None,
    search_columns: Sequence[Any],
) -> list[Any]:
    """Add the equality filters that were given, the time range and the text search."""
    conds.extend(col == value for col, value in equals if value is not None)
    since, until = _aware(since), _aware(until)
    if since is not None:
        conds.append(time_column >= since)
    if until is not None:
        conds.append(time_column <= until)
    if q is not None:
        conds.append(search(tuple(search_columns), q))
    return conds


def _span_conditions(
    server: Server,
    project: str,
    *,
    trace_id: str | None = None,
    parent_id: str | None = None,
    agent: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    session: str | None = None,
    conversation_id: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
    attr: Sequence[str] | None = None,
    filters: Sequence[str] | None = None,
) -> list[Any]:
    conds = _where(
        [S.c.project == project],
        (
            (S.c.trace_id, trace_id),
            (S.c.parent_id, parent_id),
            (S.c.agent_name, agent),
            (S.c.kind, kind),
            (S.c.status, status),
            (S.c.session_id, session),
            (S.c.conversation_id, conversation_id),
            (S.c.provider, provider),
            (S.c.model, model),
        ),
        time_column=S.c.start_time,
        since=since,
        until=until,
        q=q,
        search_columns=(S.c.input, S.c.output, S.c.error_message),
    )
    _common(
        conds,
        table=S,
        columns=SPAN_FIELDS,
        json_column=S.c.attributes,
        json_prefix="attributes",
        dialect=server.dialect,
        attr=attr,
        filters=filters,
    )
    return conds


def _run(server: Server, query: Select[Any]) -> list[Mapping[Any, Any]]:
    with server.engine.connect() as conn:
        return list(conn.execute(query).mappings())


# -- who -------------------------------------------------------------------------------------
@router.get("/whoami", response_model=WhoAmI, summary="The caller's project")
def whoami(server: ServerDep, caller: Caller) -> dict[str, Any]:
    return {"project": caller.project, "key_id": caller.key_id, "auth": server.auth}


# -- spans -----------------------------------------------------------------------------------
SpanSort = Annotated[
    str,
    Query(
        description="start_time, duration_ms or total_cost; '-' for descending.",
        max_length=40,
    ),
]


@router.get("/spans", response_model=SpanPage, summary="Spans with filters")
def list_spans(
    server: ServerDep,
    caller: Caller,
    trace_id: Annotated[str | None, TextQuery("Only this trace.")] = None,
    parent_id: Annotated[str | None, TextQuery("Only children of this span.")] = None,
    agent: Annotated[str | None, TextQuery("Only this agent (agent_name).")] = None,
    kind: Annotated[SpanKind | None, Query(description="Only this kind.")] = None,
    status: Annotated[SpanStatus | None, Query(description="Only this status.")] = None,
    session: Annotated[str | None, TextQuery("Only this session id.")] = None,
    conversation_id: Annotated[str | None, TextQuery("Only this conversation.")] = None,
    provider: Annotated[str | None, TextQuery("Only this LLM provider.")] = None,
    model: Annotated[str | None, TextQuery("Only this model.")] = None,
    since: Since = None,
    until: Until = None,
    q: SearchQ = None,
    attr: AttrQ = None,
    filter: FilterQ = None,
    sort: SpanSort = "-start_time",
    limit: Limit = 50,
    cursor: CursorQ = None,
) -> dict[str, Any]:
    key = sort_key(sort, S, ("start_time", "duration_ms", "total_cost"))
    after = decode_cursor(cursor, sort)
    conds = _span_conditions(
        server,
        caller.project,
        trace_id=trace_id,
        parent_id=parent_id,
        agent=agent,
        kind=kind,
        status=status,
        session=session,
        conversation_id=conversation_id,
        provider=provider,
        model=model,
        since=since,
        until=until,
        q=q,
        attr=attr,
        filters=filter,
    )
    query = keyset(select(S).where(*conds), key, S.c.id, after).limit(limit + 1)
    rows = _run(server, query)
    return {
        "items": [span_out(r) for r in rows[:limit]],
        "next_cursor": page_cursor(rows, limit, key, sort),
    }


@router.get("/spans/{span_id}", response_model=SpanDetail, summary="One span")
def get_span(
    server: ServerDep,
    caller: Caller,
    span_id: Annotated[str, IdPath("The span id.")],
) -> dict[str, Any]:
    project = caller.project
    with server.engine.connect() as conn:
        row = (
            conn.execute(
                select(S).where(lookup_scope(S, project, server.dialect), S.c.id == span_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise ApiError(404, f"span_id: span {span_id[:80]!r} not found", field="span_id")
        evs = conn.execute(
            select(E)
            .where(lookup_scope(E, project, server.dialect), E.c.span_id == span_id)
            .order_by(E.c.timestamp)
            .limit(1000)
        ).mappings()
        events = [event_out(e) for e in evs]
        kids = conn.execute(
            select(S)
            .where(lookup_scope(S, project, server.dialect), S.c.parent_id == span_id)
            .order_by(S.c.start_time)
            .limit(1000)
        ).mappings()
        children = [span_out(k) for k in kids]
    return {"span": span_out(row), "events": events, "children": children}


# -- events ----------------------------------------------------------------------------------
@router.get("/events", response_model=EventPage, summary="Events with filters")
def list_events(
    server: ServerDep,
    caller: Caller,
    trace_id: Annotated[str | None, TextQuery("Only this trace.")] = None,
    span_id: Annotated[str | None, TextQuery("Only events of this span.")] = None,
    type: Annotated[str | None, TextQuery("Only this event type.", 100)] = None,
    level: Annotated[EventLevel | None, Query(description="Only this level.")] = None,
    agent: Annotated[str | None, TextQuery("Only this agent.")] = None,
    session: Annotated[str | None, TextQuery("Only this session id.")] = None,
    since: Since = None,
    until: Until = None,
    q: SearchQ = None,
    attr: AttrQ = None,
    filter: FilterQ = None,
    sort: Annotated[
        Literal["timestamp", "-timestamp"], Query(description="Order by time.")
    ] = "-timestamp",
    limit: Limit = 50,
    cursor: CursorQ = None,
) -> dict[str, Any]:
    key = sort_key(sort, E, ("timestamp",))
    after = decode_cursor(cursor, sort)
    conds = _where(
        [E.c.project == caller.project],
        (
            (E.c.trace_id, trace_id),
            (E.c.span_id, span_id),
            (E.c.type, type),
            (E.c.level, level),
            (E.c.agent_name, agent),
            (E.c.session_id, session),
        ),
        time_column=E.c.timestamp,
        since=since,
        until=until,
        q=q,
        search_columns=(E.c.message, E.c.data, E.c.name),
    )
    _common(
        conds,
        table=E,
        columns=EVENT_FIELDS,
        json_column=E.c.data,
        json_prefix="data",
        dialect=server.dialect,
        attr=attr,
        filters=filter,
    )
    query = keyset(select(E).where(*conds), key, E.c.id, after).limit(limit + 1)
    rows = _run(server, query)
    return {
        "items": [event_out(r) for r in rows[:limit]],
        "next_cursor": page_cursor(rows, limit, key, sort),
    }


# -- traces ----------------------------------------------------------------------------------
def _trace_stats(
    server: Server, project: str, trace_ids: Sequence[str]
) -> dict[str, Mapping[Any, Any]]:
    out: dict[str, Mapping[Any, Any]] = {}
    is_llm = S.c.kind == "llm"
    for start in range(0, len(trace_ids), _CHUNK):
        part = list(trace_ids[start : start + _CHUNK])
        query = (
            select(
                S.c.trace_id,
                func.count().label("n"),
                func.sum(case((S.c.status.in_(_FAILED), 1), else_=0)).label("errors"),
                func.sum(case((is_llm, 1), else_=0)).label("llm"),
                func.sum(case((is_llm, S.c.total_tokens))).label("tokens"),
                func.sum(case((is_llm, S.c.total_cost))).label("cost"),
            )
            .where(lookup_scope(S, project, server.dialect), S.c.trace_id.in_(part))
            .group_by(S.c.trace_id)
        )
        for r in _run(server, query):
            out[r["trace_id"]] = r
    return out


def _trace_summaries(
    server: Server, project: str, roots: Sequence[Mapping[Any, Any]]
) -> list[dict[str, Any]]:
    stats = _trace_stats(server, project, [r["trace_id"] for r in roots])
    out = []
    for r in roots:
        st = stats.get(r["trace_id"])
        out.append(
            {
                "trace_id": r["trace_id"],
                "root_span_id": r["id"],
                "session_id": r["session_id"],
                "name": r["name"],
                "kind": r["kind"],
                "status": r["status"],
                "agent_name": r["agent_name"],
                "conversation_id": r["conversation_id"],
                "start_time": r["start_time"],
                "end_time": r["end_time"],
                "duration_ms": r["duration_ms"],
                "span_count": int(st["n"]) if st else 1,
                "error_count": int(st["errors"] or 0) if st else 0,
                "llm_calls": int(st["llm"] or 0) if st else 0,
                "total_tokens": int(st["tokens"]) if st and st["tokens"] is not None else None,
                "total_cost": float(st["cost"]) if st and st["cost"] is not None else None,
            }
        )
    return out


_ROOT_COLS: Final = (
    S.c.id,
    S.c.trace_id,
    S.c.session_id,
    S.c.name,
    S.c.kind,
    S.c.status,
    S.c.agent_name,
    S.c.conversation_id,
    S.c.start_time,
    S.c.end_time,
    S.c.duration_ms,
    S.c.total_cost,
)


@router.get("/traces", response_model=TracePage, summary="Traces (root spans) with filters")
def list_traces(
    server: ServerDep,
    caller: Caller,
    agent: Annotated[str | None, TextQuery("Only traces whose root span is this agent's.")] = None,
    kind: Annotated[SpanKind | None, Query(description="Root span kind.")] = None,
    status: Annotated[SpanStatus | None, Query(description="Root span status.")] = None,
    session: Annotated[str | None, TextQuery("Only this session id.")] = None,
    conversation_id: Annotated[str | None, TextQuery("Only this conversation.")] = None,
    since: Since = None,
    until: Until = None,
    q: SearchQ = None,
    attr: AttrQ = None,
    filter: FilterQ = None,
    sort: SpanSort = "-start_time",
    limit: Limit = 50,
    cursor: CursorQ = None,
) -> dict[str, Any]:
    key = sort_key(sort, S, ("start_time", "duration_ms", "total_cost"))
    after = decode_cursor(cursor, sort)
    conds = _span_conditions(
        server,
        caller.project,
        agent=agent,
        kind=kind,
        status=status,
        session=session,
        conversation_id=conversation_id,
        since=since,
        until=until,
        q=q,
        attr=attr,
        filters=filter,
    )
    conds.append(is_root(S, server.dialect))
    query = keyset(select(*_ROOT_COLS).where(*conds), key, S.c.id, after).limit(limit + 1)
    rows = _run(server, query)
    return {
        "items": _trace_summaries(server, caller.project, rows[:limit]),
        "next_cursor": page_cursor(rows, limit, key, sort),
    }


def build_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents (children by start time). Spans whose parent is
    missing — or that form a cycle — become roots; nesting stops at depth 64 (deeper spans
    are attached to their depth-64 ancestor)."""
    by_id = {s["id"]: s for s in spans}
    for s in spans:
        s["children"] = []
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots: list[dict[str, Any]] = []
    for s in spans:
        parent = s["parent_id"]
        if parent is not None and parent in by_id and parent != s["id"]:
            children[parent].append(s)
        else:
            roots.append(s)
    placed: set[str] = set()

    def attach(root: dict[str, Any]) -> None:
        stack: list[tuple[dict[str, Any], dict[str, Any], int]] = [(root, root, 1)]
        placed.add(root["id"])
        while stack:
            node, holder, depth = stack.pop()
            for child in children.get(node["id"], ()):
                if child["id"] in placed:
                    continue
                placed.add(child["id"])
                if depth < _MAX_DEPTH:
                    node["children"].append(child)
                    stack.append((child, child, depth + 1))
                else:
                    holder["children"].append(child)
                    stack.append((child, holder, depth))

    for root in roots:
        attach(root)
    for s in spans:  # cycles: no root reaches them
        if s["id"] not in placed:
            roots.append(s)
            attach(s)
    for s in spans:
        s["children"].sort(key=lambda c: (c["start_time"], c["id"]))
    roots.sort(key=lambda c: (c["start_time"], c["id"]))
    return roots


@router.get("/traces/{trace_id}", response_model=TraceTree, summary="One trace as a tree")
def get_trace(
    server: ServerDep,
    caller: Caller,
    trace_id: Annotated[str, IdPath("The trace id (seed 002's execution_id).")],
) -> dict[str, Any]:
    project = caller.project
    cap = server.limits.max_trace_spans
    with server.engine.connect() as conn:
        span_rows = list(
            conn.execute(
                select(S)
                .where(lookup_scope(S, project, server.dialect), S.c.trace_id == trace_id)
                .order_by(S.c.start_time, S.c.id)
                .limit(cap + 1)
            ).mappings()
        )
        event_rows = list(
            conn.execute(
                select(E)
                .where(lookup_scope(E, project, server.dialect), E.c.trace_id == trace_id)
                .order_by(E.c.timestamp, E.c.id)
                .limit(cap + 1)
            ).mappings()
        )
        totals = (
            conn.execute(
                select(
                    func.count().label("n"),
                    func.sum(case((S.c.status.in_(_FAILED), 1), else_=0)).label("errors"),
                    func.sum(case((S.c.kind == "llm", S.c.total_tokens))).label("tokens"),
                    func.sum(case((S.c.kind == "llm", S.c.total_cost))).label("cost"),
                    func.min(S.c.start_time).label("start"),
                    func.max(func.coalesce(S.c.end_time, S.c.start_time)).label("end"),
                ).where(lookup_scope(S, project, server.dialect), S.c.trace_id == trace_id)
            )
            .mappings()
            .one()
        )
        n_events = conn.execute(
            select(func.count())
            .select_from(E)
            .where(lookup_scope(E, project, server.dialect), E.c.trace_id == trace_id)
        ).scalar_one()
    if not span_rows and not event_rows:
        raise ApiError(404, f"trace_id: trace {trace_id[:80]!r} not found", field="trace_id")
    truncated = len(span_rows) > cap or len(event_rows) > cap
    spans = [span_out(r) for r in span_rows[:cap]]
    start, end = totals["start"], totals["end"]
    if isinstance(start, str) or isinstance(end, str):  # pragma: no cover - defensive
        start = end = None
    return {
        "trace_id": trace_id,
        "span_count": int(totals["n"] or 0),
        "event_count": int(n_events or 0),
        "error_count": int(totals["errors"] or 0),
        "start_time": start,
        "end_time": end,
        "duration_ms": (end - start).total_seconds() * 1000 if start and end else None,
        "total_tokens": int(totals["tokens"]) if totals["tokens"] is not None else None,
        "total_cost": float(totals["cost"]) if totals["cost"] is not None else None,
        "truncated": truncated,
        "roots": build_tree(spans),
        "events": [event_out(r) for r in event_rows[:cap]],
    }


# -- sessions --------------------------------------------------------------------------------
def _session_counts(server: Server, project: str, ids: Sequence[str]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {sid: [0, 0, 0] for sid in ids}
    if not ids:
        return counts
    with server.engine.connect() as conn:
        for table, is_error, slot in (
            (S, S.c.status.in_(_FAILED), 0),
            (E, E.c.level.in_(("ERROR", "CRITICAL")), 1),
        ):
            query = (
                select(
                    table.c.session_id,
                    func.count(),
                    func.coalesce(func.sum(case((is_error, 1), else_=0)), 0),
                )
                .where(
                    lookup_scope(table, project, server.dialect), table.c.session_id.in_(list(ids))
                )
                .group_by(table.c.session_id)
            )
            for sid, n, errors in conn.execute(query):
                counts[sid][slot] = int(n)
                counts[sid][2] += int(errors)
    return counts


def _session_out(r: Mapping[Any, Any], counts: list[int]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "started_at": r["started_at"],
        "last_seen_at": r["last_seen_at"],
        "ended_at": r["ended_at"],
        "hostname": r["hostname"],
        "pid": r["pid"],
        "summary": r["summary"],
        "span_count": counts[0],
        "event_count": counts[1],
        "error_count": counts[2],
    }


@router.get("/sessions", response_model=SessionPage, summary="Sessions, most recent first")
def list_sessions(
    server: ServerDep,
    caller: Caller,
    since: Annotated[IsoDateTime | None, Query(description="Active at or after this time.")] = None,
    limit: Limit = 50,
    cursor: CursorQ = None,
) -> dict[str, Any]:
    sort = "-last_seen_at"
    key = sort_key(sort, SESS, ("last_seen_at",))
    after = decode_cursor(cursor, sort)
    conds: list[Any] = [SESS.c.project == caller.project]
    since = _aware(since)
    if since is not None:
        conds.append(SESS.c.last_seen_at >= since)
    query = keyset(select(SESS).where(*conds), key, SESS.c.id, after).limit(limit + 1)
    rows = _run(server, query)
    page = rows[:limit]
    counts = _session_counts(server, caller.project, [r["id"] for r in page])
    return {
        "items": [_session_out(r, counts[r["id"]]) for r in page],
        "next_cursor": page_cursor(rows, limit, key, sort),
    }


@router.get("/sessions/{session_id}", response_model=SessionDetail, summary="One session")
def get_session(
    server: ServerDep,
    caller: Caller,
    session_id: Annotated[str, IdPath("The session id.")],
    limit: Annotated[int, Query(ge=1, le=500, description="Traces to include.")] = 100,
) -> dict[str, Any]:
    project = caller.project
    rows = _run(server, select(SESS).where(SESS.c.project == project, SESS.c.id == session_id))
    if not rows:
        raise ApiError(
            404, f"session_id: session {session_id[:80]!r} not found", field="session_id"
        )
    counts = _session_counts(server, project, [session_id])
    roots = _run(
        server,
        select(*_ROOT_COLS)
        .where(
            lookup_scope(S, project, server.dialect),
            S.c.session_id == session_id,
            S.c.parent_id.is_(None),
        )
        .order_by(S.c.start_time.desc(), S.c.id.desc())
        .limit(limit),
    )
    out = _session_out(rows[0], counts[session_id])
    out["traces"] = _trace_summaries(server, project, roots)
    return out


# -- analytics -------------------------------------------------------------------------------
def _open(items: Any) -> Any:
    return plain(items)


@router.get(
    "/analytics/why-not-fired",
    response_model=WhyNotFiredOut,
    summary="Why an agent did not fire",
    tags=["v1 analytics"],
)
def why_not_fired(
    server: ServerDep,
    caller: Caller,
    agent: Annotated[
        str,
        Query(
            description="The agent name.",
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]+$",
        ),
    ],
    conversation_id: Annotated[str | None, TextQuery("In this conversation.")] = None,
    vault_id: Annotated[str | None, TextQuery("In this vault.")] = None,
    hours: Hours = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> Any:
    an = server.analytics(caller.project)
    got = an.debug_why_agent_didnt_fire(
        agent, conversation_id or None, vault_id or None, hours=hours, limit=limit
    )
    return _open(got)


def _execution_or_404(server: Server, project: str, execution_id: str) -> None:
    row = _run(
        server,
        select(S.c.id).where(
            lookup_scope(S, project, server.dialect), S.c.id == execution_id, S.c.kind == "agent"
        ),
    )
    if not row:
        raise ApiError(
            404, f"execution_id: execution {execution_id[:80]!r} not found", field="execution_id"
        )


@router.get(
    "/analytics/executions/{execution_id}/timeline",
    response_model=list[TimelineEntry],
    summary="The stages of an execution in order",
    tags=["v1 analytics"],
)
def stage_timeline(
    server: ServerDep,
    caller: Caller,
    execution_id: Annotated[str, IdPath("The execution (agent span) id.")],
    include_events: Annotated[bool, Query(description="Interleave its log events.")] = False,
) -> Any:
    _execution_or_404(server, caller.project, execution_id)
    an = server.analytics(caller.project)
    return _open(an.get_stage_timeline(execution_id, include_events=include_events))


@router.get(
    "/analytics/executions/{execution_id}/call-chain",
    response_model=list[ChainLink],
    summary="Which agents called which, around an execution",
    tags=["v1 analytics"],
)
def call_chain(
    server: ServerDep,
    caller: Caller,
    execution_id: Annotated[str, IdPath("The execution (agent span) id.")],
) -> Any:
    _execution_or_404(server, caller.project, execution_id)
    an = server.analytics(caller.project)
    return _open(an.get_execution_call_chain(execution_id))


@router.get(
    "/analytics/failed",
    response_model=list[ExecutionOut],
    summary="Failed (and timed-out) executions",
    tags=["v1 analytics"],
)
def failed_executions(
    server: ServerDep,
    caller: Caller,
    hours: Hours = 24,
    agent: Annotated[str | None, TextQuery("Only this agent.")] = None,
    vault_id: Annotated[str | None, TextQuery("Only this vault.")] = None,
    conversation_id: Annotated[str | None, TextQuery("Only this conversation.")] = None,
    include_timeouts: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    an = server.analytics(caller.project)
    got = an.get_failed_executions(
        vault_id or None,
        hours,
        agent_name=agent or None,
        conversation_id=conversation_id or None,
        include_timeouts=include_timeouts,
        limit=limit,
    )
    return _open([e.to_dict() for e in got])


@router.get(
    "/analytics/slow",
    response_model=list[SlowExecution],
    summary="Executions slower than a threshold",
    tags=["v1 analytics"],
)
def slow_executions(
    server: ServerDep,
    caller: Caller,
    threshold_ms: Annotated[
        float, Query(ge=0, le=1e12, allow_inf_nan=False, description="Slower than this.")
    ] = 5000,
    hours: Hours = 24,
    agent: Annotated[str | None, TextQuery("Only this agent.")] = None,
    vault_id: Annotated[str | None, TextQuery("Only this vault.")] = None,
    conversation_id: Annotated[str | None, TextQuery("Only this conversation.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    an = server.analytics(caller.project)
    return _open(
        an.find_slow_executions(
            threshold_ms,
            vault_id or None,
            hours,
            agent_name=agent or None,
            conversation_id=conversation_id or None,
            limit=limit,
        )
    )


@router.get(
    "/analytics/agents",
    response_model=list[str],
    summary="Agents with recorded executions",
    tags=["v1 analytics"],
)
def agents(server: ServerDep, caller: Caller, hours: Hours = None) -> Any:
    return server.analytics(caller.project).agent_names(hours)


@router.get(
    "/analytics/agents/{agent}/performance",
    response_model=AgentPerformance,
    summary="An agent's performance",
    tags=["v1 analytics"],
)
def agent_performance(
    server: ServerDep,
    caller: Caller,
    agent: Annotated[str, IdPath("The agent name.")],
    hours: Hours = 24,
    vault_id: Annotated[str | None, TextQuery("Only this vault.")] = None,
) -> Any:
    an = server.analytics(caller.project)
    return _open(an.analyze_agent_performance(agent, vault_id or None, hours))


def _range(
    since: datetime | None, until: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    end = _aware(until) or datetime.now(UTC)
    start = _aware(since) or (end - default)
    if start > end:
        raise ApiError(422, "since: must not be after until", field="since")
    return start, end


@router.get(
    "/analytics/errors",
    response_model=ErrorPatternsOut,
    summary="Error patterns",
    tags=["v1 analytics"],
)
def errors(
    server: ServerDep,
    caller: Caller,
    since: Annotated[
        IsoDateTime | None, Query(description="Default: 24 hours before until.")
    ] = None,
    until: Annotated[IsoDateTime | None, Query(description="Default: now.")] = None,
    agent: Annotated[str | None, TextQuery("Only this agent.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Patterns to return.")] = 50,
) -> Any:
    start, end = _range(since, until, timedelta(hours=24))
    return error_patterns(
        server.engine, caller.project, start, end, agent=agent or None, limit=limit
    )


@router.get(
    "/analytics/causality/{record_id}",
    response_model=CausalityOut,
    summary="What led to an error (a span or event id)",
    tags=["v1 analytics"],
)
def causality_chain(
    server: ServerDep,
    caller: Caller,
    record_id: Annotated[str, IdPath("The id of the failed span or error event.")],
    lookback_seconds: Annotated[
        float, Query(gt=0, le=86_400 * 30, allow_inf_nan=False, description="How far back.")
    ] = 300,
    limit: Annotated[int, Query(ge=1, le=200)] = 15,
) -> Any:
    got = causality(
        server.engine, caller.project, record_id, lookback_seconds=lookback_seconds, limit=limit
    )
    if got is None:
        raise ApiError(404, f"record_id: record {record_id[:80]!r} not found", field="record_id")
    return got


@router.get(
    "/analytics/cost",
    response_model=CostOut,
    summary="LLM cost over time by provider, model or agent",
    tags=["v1 analytics"],
)
def cost(
    server: ServerDep,
    caller: Caller,
    group_by: Annotated[
        Literal["provider", "model", "agent", "none"], Query(description="Group by.")
    ] = "model",
    interval: Annotated[
        Literal["minute", "hour", "day", "week"], Query(description="Bucket width.")
    ] = "day",
    since: Annotated[IsoDateTime | None, Query(description="Default: 7 days before until.")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Default: now.")] = None,
    agent: Annotated[str | None, TextQuery("Only this agent.")] = None,
    provider: Annotated[str | None, TextQuery("Only this provider.")] = None,
    model: Annotated[str | None, TextQuery("Only this model.")] = None,
) -> Any:
    start, end = _range(since, until, timedelta(days=7))
    buckets = (end - start).total_seconds() / INTERVALS[interval]
    if buckets > 100_000:
        raise ApiError(422, "interval: too many buckets for this range; widen it", field="interval")
    return cost_summary(
        server.engine,
        server.rollups,
        caller.project,
        start,
        end,
        group_by=group_by,
        width=INTERVALS[interval],
        interval=interval,
        agent=agent or None,
        provider=provider or None,
        model=model or None,
    )


# -- the live stream -------------------------------------------------------------------------
@router.get(
    "/stream",
    response_class=StreamingResponse,
    summary="Server-sent events of new traces, spans and events",
    responses={
        200: {
            "description": "`text/event-stream`: events `trace` (a new root span), `span`, "
            "`event`, `lagged` (records a slow reader lost); comments keep the connection alive.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def stream(
    request: Request,
    server: ServerDep,
    caller: Caller,
    types: Annotated[
        list[Literal["trace", "span", "event"]] | None,
        Query(description="Which kinds of message to send (default: all)."),
    ] = None,
    duration: Annotated[
        float | None,
        Query(gt=0, le=86_400, allow_inf_nan=False, description="Close after this many seconds."),
    ] = None,
) -> StreamingResponse:
    kinds = set(types or ("trace", "span", "event"))
    sub = server.broadcaster.subscribe(caller.project, kinds)
    deadline = None if duration is None else time.monotonic() + duration

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                timeout = 15.0
                if deadline is not None:
                    timeout = min(timeout, deadline - time.monotonic())
                    if timeout <= 0:
                        return
                try:
                    kind, ident, data = await asyncio.wait_for(sub.queue.get(), timeout)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                if sub.lost:
                    lost, sub.lost = sub.lost, 0
                    yield sse_message("lagged", "lagged", b'{"lost": %d}' % lost)
                yield sse_message(kind, ident, data)
        finally:
            server.broadcaster.unsubscribe(sub)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
