"""Execution analytics (seed 003's ``ExecutionAnalytics`` and seed 002's summary) over the
store's tables, in dialect-neutral SQLAlchemy Core: the same code runs on SQLite and
PostgreSQL (dialect differences come from :mod:`tracehound.store._dialect`).

Every query method works on an instance (``ExecutionAnalytics("sqlite:///trace/t.db")``) and
on the class itself (``ExecutionAnalytics.get_failed_executions(hours=24)``), which uses the
configured default store after flushing what the running process recorded.

Unknown ids give ``None`` or empty results; arguments of the wrong type raise
:class:`~tracehound.executions.InvalidArgumentError` naming the argument.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Final, Generic, ParamSpec, TypeVar

from sqlalchemy import (
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from ..executions._spans import InvalidArgumentError
from ..executions._tracker import ExecutionStage, ExecutionStatus
from ..store._dialect import json_text, time_bucket
from ..store._schema import events as E
from ..store._schema import sessions as SESSIONS
from ..store._schema import spans as S
from ._records import ExecutionRecord, StageLog

if TYPE_CHECKING:
    from sqlalchemy import Select

__all__ = ["ExecutionAnalytics"]

P = ParamSpec("P")
R = TypeVar("R")

_STATUSES: Final = ("pending", "running", "success", "failed", "timeout", "skipped", "cancelled")
_FAILED: Final = ("failed", "timeout")
# span status -> seed 002 status
_SEED002: Final = {"success": "completed", "running": "started", "pending": "started"}
_LINKS: Final = (
    "report_id",
    "completion_id",
    "widget_id",
    "step_id",
    "external_platform",
    "external_user_id",
)
_PROJECTS_TTL_S: Final = 5.0
_MAX_LIMIT: Final = 500
_CHAIN_MAX_SPANS: Final = 100_000


# -- argument checks ------------------------------------------------------------------------
def _str(name: str, value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, str):
        raise InvalidArgumentError(f"{name}: must not be empty", field=name)
    raise InvalidArgumentError(f"{name}: expected a string, got {type(value).__name__}", field=name)


def _req(name: str, value: Any) -> str:
    out = _str(name, value)
    assert out is not None
    return out


def _id(name: str, value: Any, *, optional: bool = False) -> str | None:
    """Ids may be given as UUID objects too."""
    if value is not None and not isinstance(value, str) and type(value).__name__ == "UUID":
        return str(value)
    return _str(name, value, optional=optional)


def _number(
    name: str, value: Any, *, optional: bool = False, positive: bool = True
) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            f"{name}: expected a number, got {type(value).__name__}", field=name
        )
    out = float(value)
    if out != out or (positive and out <= 0) or (not positive and out < 0):
        raise InvalidArgumentError(
            f"{name}: must be {'positive' if positive else 'non-negative'}, got {value!r}",
            field=name,
        )
    return out


def _limit(value: Any, name: str = "limit") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(
            f"{name}: expected a positive integer, got {value!r}", field=name
        )
    return min(value, _MAX_LIMIT) if name == "limit" else value


def _when(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _when(name, datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise InvalidArgumentError(
        f"{name}: expected a datetime or ISO-8601 text, got {value!r:.60}", field=name
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _status(value: str) -> ExecutionStatus | str:
    try:
        return ExecutionStatus(value)
    except ValueError:
        return value


def _stage(value: Any) -> ExecutionStage | Any:
    if isinstance(value, str):
        try:
            return ExecutionStage(value)
        except ValueError:
            return value
    return value


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# -- class-or-instance methods --------------------------------------------------------------
class _either(Generic[P, R]):
    """A method usable on an instance or on the class (then on the default instance)."""

    def __init__(self, fn: Callable[Concatenate[ExecutionAnalytics, P], R]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def __get__(
        self, obj: ExecutionAnalytics | None, owner: type[ExecutionAnalytics]
    ) -> Callable[P, R]:
        target = obj if obj is not None else None
        fn = self.fn

        @functools.wraps(fn)
        def bound(*args: P.args, **kwargs: P.kwargs) -> R:
            inst = target if target is not None else owner.default()
            inst._sync()
            return fn(inst, *args, **kwargs)

        return bound


def unpriced_llm() -> Any:
    """LLM spans whose cost is unknown: priced as unknown, or a model without a cost."""
    return or_(S.c.cost_source == "unknown", and_(S.c.total_cost.is_(None), S.c.model.is_not(None)))


def llm_total_columns() -> list[Any]:
    """The aggregates of the seed-002 LLM summary (labels n, inp, out, tot, cached,
    reasoning, cost, icost, ocost, unpriced) — shared with the server's daily rollups."""
    return [
        func.count().label("n"),
        func.sum(S.c.input_tokens).label("inp"),
        func.sum(S.c.output_tokens).label("out"),
        func.sum(S.c.total_tokens).label("tot"),
        func.sum(S.c.cached_tokens).label("cached"),
        func.sum(S.c.reasoning_tokens).label("reasoning"),
        func.sum(S.c.total_cost).label("cost"),
        func.sum(S.c.input_cost).label("icost"),
        func.sum(S.c.output_cost).label("ocost"),
        func.sum(case((unpriced_llm(), 1), else_=0)).label("unpriced"),
    ]


# ===========================================================================================
class ExecutionAnalytics:
    """Questions about agent executions, answered from the store.

    ``store``: a database URL (``sqlite:///…``, ``postgresql://…``), a SQLAlchemy
    :class:`~sqlalchemy.engine.Engine`, or ``None`` for the configured store.
    ``project`` restricts every query to one project. ``flush`` (default on) first exports
    what this process recorded, so a question asked right after an execution sees it.
    """

    _default_lock = threading.Lock()
    _defaults: dict[str, ExecutionAnalytics] = {}

    def __init__(
        self,
        store: str | Engine | None = None,
        *,
        project: str | None = None,
        flush: bool = True,
    ) -> None:
        from ..store._engine import make_engine

        if store is None:
            store = _configured_url()
        if isinstance(store, Engine):
            self.engine = store
            self.url = str(store.url)
        elif isinstance(store, str):
            try:
                self.engine = make_engine(store)
            except ValueError as exc:
                raise InvalidArgumentError(f"store: {exc}", field="store") from None
            self.url = store
        else:
            raise InvalidArgumentError(
                f"store: expected a database URL or an Engine, got {type(store).__name__}",
                field="store",
            )
        self.project = _str("project", project, optional=True)
        self.flush = bool(flush)
        self.dialect: str = self.engine.dialect.name
        self._ready = False
        self._projects_cache: tuple[float, list[str] | None] = (0.0, None)

    # -- construction helpers ------------------------------------------------------------------
    @classmethod
    def default(cls) -> ExecutionAnalytics:
        """The instance for the configured store (``TRACEHOUND_STORE`` / ``configure(store=)``,
        default ``<trace_dir>/tracehound.db``)."""
        url = _configured_url()
        inst = cls._defaults.get(url)
        if inst is None:
            with cls._default_lock:
                inst = cls._defaults.get(url)
                if inst is None:
                    inst = cls._defaults[url] = cls(url)
        return inst

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ExecutionAnalytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ExecutionAnalytics {self.engine.url!r}>"

    def _sync(self) -> None:
        if self.flush:
            from ..sdk import _runtime

            rt = _runtime._runtime
            if rt is not None and rt.enabled:
                rt.flush(10.0)

    def _has_tables(self) -> bool:
        if not self._ready:
            from sqlalchemy import inspect

            self._ready = bool(inspect(self.engine).has_table("spans"))
        return self._ready

    def _projects(self) -> list[str] | None:
        """The projects to filter on: the configured one, else every project of the store
        (read from the small ``sessions`` table; an ``IN`` list lets the ``project``-leading
        indexes serve every query). ``None``: no filter."""
        if self.project is not None:
            return [self.project]
        at, cached = self._projects_cache
        now = time.monotonic()
        if now - at < _PROJECTS_TTL_S:
            return cached
        try:
            with self.engine.connect() as conn:
                names = [r[0] for r in conn.execute(select(SESSIONS.c.project).distinct())]
        except Exception:
            names = []
        got = sorted(names) if names and len(names) <= 50 else None
        self._projects_cache = (now, got)
        return got

    def _rows(self, stmt: Select[Any]) -> list[RowMapping]:
        if not self._has_tables():
            return []
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).mappings())

    def _rows_parallel(self, *stmts: Select[Any]) -> list[list[RowMapping]]:
        """Run independent queries at once, each on its own connection (both databases serve
        concurrent readers; the drivers release the GIL while the database works)."""
        if len(stmts) < 2 or not self._has_tables():
            return [self._rows(st) for st in stmts]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(stmts)) as pool:
            return list(pool.map(self._rows, stmts))

    def _scope(
        self,
        kind: str | Sequence[str] | None = None,
        *,
        indexed: bool = True,
        by_status: bool = False,
    ) -> list[ColumnElement[bool]]:
        """Base filters: the project(s) and kind. Without a configured project, the list of
        the store's projects is added only when ``indexed`` (so a ``project``-leading index
        can serve the query; a query driven by another index, e.g. the conversation's, is
        better off without it). ``by_status`` adds every status as an ``IN`` list so the
        ``(project, kind, status, start_time)`` index serves time-range scans."""
        where: list[ColumnElement[bool]] = []
        if self.project is not None:
            where.append(S.c.project == self.project)
        elif indexed:
            projects = self._projects()
            if projects is not None:
                where.append(S.c.project.in_(projects))
        if isinstance(kind, str):
            where.append(S.c.kind == kind)
        elif kind is not None:
            where.append(S.c.kind.in_(list(kind)))
        if by_status:
            where.append(S.c.status.in_(_STATUSES))
        return where

    def _attr(self, key: str) -> ColumnElement[str]:
        return json_text(S.c.attributes, key, self.dialect)

    def _since(self, hours: float | None) -> datetime | None:
        if hours is None:
            return None
        return datetime.now(UTC) - timedelta(hours=hours)

    def _execution_filters(
        self,
        *,
        agent_name: str | None = None,
        vault_id: str | None = None,
        conversation_id: str | None = None,
        hours: float | None = None,
    ) -> list[ColumnElement[bool]]:
        where = self._scope(
            "agent",
            indexed=conversation_id is None,
            by_status=agent_name is None and conversation_id is None,
        )
        if agent_name is not None:
            where.append(S.c.agent_name == agent_name)
        if conversation_id is not None:
            where.append(S.c.conversation_id == conversation_id)
        if vault_id is not None:
            where.append(self._attr("vault_id") == vault_id)
        since = self._since(hours)
        if since is not None:
            where.append(S.c.start_time >= since)
        return where

    # -- records -----------------------------------------------------------------------------
    @staticmethod
    def _execution(m: Mapping[Any, Any]) -> ExecutionRecord:
        a = m["attributes"] or {}
        status = m["status"]
        error_message = m["error_message"] or a.get("error_message")
        if error_message is None and status in ("failed", "timeout", "cancelled"):
            error_message = m["status_message"]
        data: dict[str, Any] = {
            "execution_id": m["id"],
            "id": m["id"],
            "trace_id": m["trace_id"],
            "parent_id": m["parent_id"],
            "agent_name": m["agent_name"],
            "method": a.get("method") or m["name"],
            "name": m["name"],
            "status": _status(status),
            "execution_status": a.get("execution_status") or status,
            "current_stage": a.get("failed_stage") or a.get("current_stage") or a.get("last_stage"),
            "vault_id": a.get("vault_id"),
            "conversation_id": m["conversation_id"],
            "user_id": m["user_id"],
            "input_data": m["input"],
            "output_data": m["output"],
            "error_type": m["error_type"],
            "error_message": error_message,
            "error_traceback": m["error_traceback"],
            "status_message": m["status_message"],
            "should_respond": a.get("should_respond"),
            "relevance_score": a.get("relevance_score"),
            "relevance_reasoning": a.get("relevance_reasoning"),
            "call_reason": a.get("call_reason"),
            "parent_execution_id": a.get("parent_execution_id"),
            "started_at": m["start_time"],
            "ended_at": m["end_time"],
            "created_at": m["start_time"],
            "duration_ms": m["duration_ms"],
            "execution_step": a.get("execution_step"),
            "action_type": a.get("action_type"),
            "metadata": a.get("metadata"),
            "session_id": m["session_id"],
            "project": m["project"],
            "attributes": a,
        }
        for key in _LINKS:
            data[key] = a.get(key)
        return ExecutionRecord(data)

    @staticmethod
    def _llm_call(m: Mapping[Any, Any]) -> dict[str, Any]:
        a = m["attributes"] or {}
        return {
            "id": m["id"],
            "execution_id": m["trace_id"],
            "parent_id": m["parent_id"],
            "agent_name": m["agent_name"],
            "provider": m["provider"],
            "model": m["model"],
            "model_id": m["model"],
            "call_type": a.get("call_type")
            or ("inference_stream" if m["is_streaming"] else "inference"),
            "status": _SEED002.get(m["status"], m["status"]),
            "span_status": m["status"],
            "request": m["input"],
            "prompt": m["input"],
            "response": m["output"],
            "error_type": m["error_type"],
            "error_message": m["error_message"] or a.get("error_message"),
            "input_tokens": m["input_tokens"],
            "output_tokens": m["output_tokens"],
            "cached_tokens": m["cached_tokens"],
            "reasoning_tokens": m["reasoning_tokens"],
            "total_tokens": m["total_tokens"],
            "tokens_used": m["total_tokens"],
            "input_cost": m["input_cost"],
            "output_cost": m["output_cost"],
            "total_cost": m["total_cost"],
            "cost_source": m["cost_source"],
            "is_streaming": bool(m["is_streaming"]) if m["is_streaming"] is not None else False,
            "chunks_count": m["chunks_count"],
            "time_to_first_token_ms": m["time_to_first_token_ms"],
            "latency_ms": a.get("latency_ms")
            if a.get("latency_ms") is not None
            else m["duration_ms"],
            "duration_ms": m["duration_ms"],
            "start_time": m["start_time"],
            "end_time": m["end_time"],
            "execution_log_id": a.get("execution_log_id"),
            "report_id": a.get("report_id"),
            "completion_id": a.get("completion_id"),
            "metadata": a.get("metadata"),
        }

    def _get_span(self, span_id: str, kind: str | None = None) -> RowMapping | None:
        where = [S.c.id == span_id]
        if kind is not None:
            where.append(S.c.kind == kind)
        if self.project is not None:
            where.append(S.c.project == self.project)
        rows = self._rows(select(S).where(*where))
        return rows[0] if rows else None

    def _trace_structure(self, trace_id: str) -> list[RowMapping]:
        cols = (
            S.c.id,
            S.c.parent_id,
            S.c.kind,
            S.c.name,
            S.c.agent_name,
            S.c.status,
            S.c.start_time,
            S.c.duration_ms,
        )
        return self._rows(
            select(*cols)
            .where(S.c.trace_id == trace_id)
            .order_by(S.c.start_time)
            .limit(_CHAIN_MAX_SPANS)
        )

    @staticmethod
    def _owner_map(rows: Iterable[Mapping[Any, Any]]) -> dict[str, str | None]:
        """span id -> id of its nearest ``agent`` ancestor (an agent span maps to its own
        nearest agent *ancestor*, not itself)."""
        parent = {r["id"]: r["parent_id"] for r in rows}
        kind = {r["id"]: r["kind"] for r in rows}
        memo: dict[str, str | None] = {}

        def owner(sid: str) -> str | None:
            path = []
            node = parent.get(sid)
            found: str | None = None
            while node is not None:
                if node in memo:
                    found = memo[node] if kind.get(node) != "agent" else node
                    break
                if kind.get(node) == "agent":
                    found = node
                    break
                path.append(node)
                node = parent.get(node)
            for p in path:
                memo[p] = found
            return found

        return {sid: owner(sid) for sid in parent}

    # ===================================================================================
    # seed 003
    # ===================================================================================
    @_either
    def debug_why_agent_didnt_fire(
        self,
        agent_name: str,
        conversation_id: Any = None,
        vault_id: Any = None,
        *,
        hours: float | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """Why an agent did not fire (in a conversation / vault): ``status`` is
        ``never_invoked``, ``skipped`` (with relevance scores and reasoning), ``failed`` (with
        the error), ``running`` or ``fired``; ``message`` says it in words; ``executions``
        lists the matching executions, newest first."""
        agent = _req("agent_name", agent_name)
        conv = _id("conversation_id", conversation_id, optional=True)
        vault = _id("vault_id", vault_id, optional=True)
        hrs = _number("hours", hours, optional=True)
        lim = _limit(limit)
        where = self._execution_filters(
            agent_name=agent, vault_id=vault, conversation_id=conv, hours=hrs
        )
        rows = self._rows(select(S).where(*where).order_by(S.c.start_time.desc()).limit(lim))
        scope = _scope_text(conv, vault, hrs)
        if not rows:
            others = self._other_agents(conv, vault, hrs, exclude=agent)
            msg = f"{agent} was never invoked{scope}"
            if others:
                msg += f"; agents that ran: {', '.join(others)}"
            else:
                msg += "; no agent executions were recorded there"
            return {
                "status": "never_invoked",
                "message": msg,
                "agent_name": agent,
                "executions": [],
                "counts": {},
                "other_agents": others,
            }
        execs = [self._execution(r) for r in rows]
        counts = Counter(str(e["status"]) for e in execs)
        fired = [e for e in execs if e["status"] == "success"]
        skipped = [e for e in execs if e["status"] == "skipped"]
        failed = [e for e in execs if e["status"] in ("failed", "timeout", "cancelled")]
        running = [e for e in execs if e["status"] in ("running", "pending")]
        n = len(execs)
        if fired:
            status = "fired"
            msg = f"{agent} fired: {len(fired)} of {n} execution(s){scope} succeeded"
            shown = execs
        elif skipped:
            status = "skipped"
            reasons = "; ".join(
                sorted({str(e["relevance_reasoning"]) for e in skipped if e["relevance_reasoning"]})
            )
            msg = f"{agent} was invoked but skipped due to relevance check"
            if reasons:
                msg += f": {reasons}"
            shown = skipped + [e for e in execs if e not in skipped]
        elif failed:
            status = "failed"
            last = failed[0]
            err = ": ".join(x for x in (last["error_type"], last["error_message"]) if x)
            stage = f" at stage {last['current_stage']}" if last["current_stage"] else ""
            kind = "timed out" if last["status"] == "timeout" else "failed"
            msg = f"{agent} was invoked but {kind}{stage}" + (f": {err}" if err else "")
            shown = failed + [e for e in execs if e not in failed]
        else:
            status = "running"
            msg = f"{agent} was invoked and is still running (or never finished)"
            shown = running
        return {
            "status": status,
            "message": msg,
            "agent_name": agent,
            "counts": dict(counts),
            "executions": [_why_entry(e) for e in shown],
        }

    def _other_agents(
        self, conv: str | None, vault: str | None, hours: float | None, *, exclude: str
    ) -> list[str]:
        if conv is None and vault is None:
            return []
        where = self._execution_filters(vault_id=vault, conversation_id=conv, hours=hours)
        rows = self._rows(select(S.c.agent_name).where(*where).distinct().limit(50))
        return sorted(
            r["agent_name"] for r in rows if r["agent_name"] and r["agent_name"] != exclude
        )

    @_either
    def get_stage_timeline(
        self, execution_id: Any, *, include_events: bool = False
    ) -> list[dict[str, Any]]:
        """The stages of an execution in order: ``timestamp``, ``stage``, ``status``,
        ``duration_ms``, ``message``, ``data`` (with ``include_events``, its log events too,
        ``kind`` telling them apart). Unknown id: ``[]``."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        where = [S.c.parent_id == eid, S.c.kind == "stage"]
        if self.project is not None:
            where.append(S.c.project == self.project)
        rows = self._rows(select(S).where(*where).order_by(S.c.start_time, S.c.id))
        out = []
        for r in rows:
            a = r["attributes"] or {}
            out.append(
                {
                    "kind": "stage",
                    "timestamp": r["start_time"],
                    "ended_at": r["end_time"],
                    "stage": _stage(r["name"]),
                    "status": r["status"],
                    "duration_ms": _round(r["duration_ms"]),
                    "message": a.get("message") or r["status_message"],
                    "data": a.get("data"),
                    "level": "ERROR" if r["status"] in _FAILED else "INFO",
                    "error_message": r["error_message"],
                }
            )
        if include_events:
            out.extend(self._events_of(eid))
            out.sort(key=lambda e: e["timestamp"])
        return out

    def _events_of(self, execution_id: str) -> list[dict[str, Any]]:
        """Events recorded in the execution or in its stages."""
        stage_ids = select(S.c.id).where(S.c.parent_id == execution_id, S.c.kind == "stage")
        stmt = (
            select(E)
            .where(or_(E.c.span_id == execution_id, E.c.span_id.in_(stage_ids)))
            .order_by(E.c.timestamp)
        )
        out = []
        for r in self._rows(stmt):
            d = r["data"] or {}
            out.append(
                {
                    "kind": "event",
                    "timestamp": r["timestamp"],
                    "ended_at": None,
                    "stage": _stage(d.get("stage")),
                    "status": None,
                    "duration_ms": None,
                    "message": r["message"] or r["name"],
                    "data": d,
                    "level": r["level"],
                    "error_message": None,
                }
            )
        return out

    @_either
    def get_failed_executions(
        self,
        vault_id: Any = None,
        hours: float | None = 24,
        *,
        agent_name: str | None = None,
        conversation_id: Any = None,
        include_timeouts: bool = True,
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """Failed (and timed-out) executions of the last ``hours``, newest first."""
        vault = _id("vault_id", vault_id, optional=True)
        hrs = _number("hours", hours, optional=True)
        agent = _str("agent_name", agent_name, optional=True)
        conv = _id("conversation_id", conversation_id, optional=True)
        lim = _limit(limit)
        where = self._execution_filters(
            agent_name=agent, vault_id=vault, conversation_id=conv, hours=hrs
        )
        where.append(S.c.status.in_(_FAILED if include_timeouts else ("failed",)))
        rows = self._rows(select(S).where(*where).order_by(S.c.start_time.desc()).limit(lim))
        return [self._execution(r) for r in rows]

    @_either
    def analyze_agent_performance(
        self,
        agent_name: str,
        vault_id: Any = None,
        hours: float | None = 24,
    ) -> dict[str, Any]:
        """An agent's performance over the last ``hours``: ``total_executions``,
        ``success_rate``, ``failure_rate``, ``skip_rate``, ``status_counts``,
        ``avg_duration_ms`` and percentiles, ``common_errors``, and ``llm_stats``
        (``total_calls``, ``total_tokens``, ``avg_tokens_per_call``, ``avg_latency_ms``,
        ``total_cost``)."""
        agent = _req("agent_name", agent_name)
        vault = _id("vault_id", vault_id, optional=True)
        hrs = _number("hours", hours, optional=True)
        where = self._execution_filters(agent_name=agent, vault_id=vault, hours=hrs)
        rows = self._rows(
            select(
                S.c.status,
                func.count().label("n"),
                func.sum(S.c.duration_ms).label("dsum"),
                func.count(S.c.duration_ms).label("dn"),
                func.min(S.c.duration_ms).label("dmin"),
                func.max(S.c.duration_ms).label("dmax"),
            )
            .where(*where)
            .group_by(S.c.status)
        )
        counts = {r["status"]: int(r["n"]) for r in rows}
        total = sum(counts.values())
        dsum = sum(float(r["dsum"] or 0) for r in rows if r["status"] not in ("running", "pending"))
        dn = sum(int(r["dn"] or 0) for r in rows if r["status"] not in ("running", "pending"))
        mins = [r["dmin"] for r in rows if r["dmin"] is not None]
        maxs = [r["dmax"] for r in rows if r["dmax"] is not None]
        pct = self._percentiles(where, (50, 95, 99))
        errors = self._rows(
            select(
                S.c.error_type,
                func.count().label("n"),
                func.max(func.coalesce(S.c.error_message, S.c.status_message)).label("example"),
            )
            .where(*where, S.c.status.in_(_FAILED))
            .group_by(S.c.error_type)
            .order_by(func.count().desc())
            .limit(5)
        )
        common_errors = [
            {
                "error_type": r["error_type"] or "timeout",
                "count": int(r["n"]),
                "example_message": r["example"],
            }
            for r in errors
        ]
        failures = counts.get("failed", 0) + counts.get("timeout", 0)
        return {
            "agent_name": agent,
            "hours": hrs,
            "total_executions": total,
            "status_counts": counts,
            "success_rate": _rate(counts.get("success", 0), total),
            "failure_rate": _rate(failures, total),
            "skip_rate": _rate(counts.get("skipped", 0), total),
            "avg_duration_ms": _round(dsum / dn) if dn else None,
            "min_duration_ms": _round(min(mins)) if mins else None,
            "max_duration_ms": _round(max(maxs)) if maxs else None,
            "p50_duration_ms": pct.get(50),
            "p95_duration_ms": pct.get(95),
            "p99_duration_ms": pct.get(99),
            "common_errors": common_errors,
            "llm_stats": self._llm_stats(agent, vault, hrs),
        }

    def _percentiles(
        self, where: Sequence[ColumnElement[bool]], points: Sequence[int]
    ) -> dict[int, float]:
        """Nearest-rank percentiles of ``duration_ms`` over finished executions, in SQL
        (window functions: SQLite ≥ 3.25 and PostgreSQL)."""
        ranked = (
            select(
                S.c.duration_ms.label("d"),
                func.row_number().over(order_by=S.c.duration_ms).label("rn"),
                func.count().over().label("cnt"),
            )
            .where(*where, S.c.duration_ms.is_not(None))
            .subquery()
        )
        cols = [
            func.max(case((ranked.c.rn == (p * ranked.c.cnt + 99) // 100, ranked.c.d))).label(
                f"p{p}"
            )
            for p in points
        ]
        rows = self._rows(select(*cols))
        if not rows:
            return {}
        return {p: v for p in points if (v := _round(rows[0][f"p{p}"])) is not None}

    def _llm_stats(self, agent: str, vault: str | None, hours: float | None) -> dict[str, Any]:
        where = self._scope("llm")
        where.append(S.c.agent_name == agent)
        since = self._since(hours)
        if since is not None:
            where.append(S.c.start_time >= since)
        if vault is not None:
            traces = select(S.c.trace_id).where(
                *self._execution_filters(agent_name=agent, vault_id=vault, hours=hours)
            )
            where.append(S.c.trace_id.in_(traces))
        rows = self._rows(
            select(
                func.count().label("n"),
                func.sum(S.c.total_tokens).label("tokens"),
                func.sum(S.c.input_tokens).label("inp"),
                func.sum(S.c.output_tokens).label("out"),
                func.avg(S.c.duration_ms).label("lat"),
                func.sum(S.c.total_cost).label("cost"),
                func.sum(case((S.c.status.in_(_FAILED), 1), else_=0)).label("errors"),
            ).where(*where)
        )
        r = rows[0] if rows else None
        n = int(r["n"]) if r else 0
        tokens = int(r["tokens"] or 0) if r else 0
        return {
            "total_calls": n,
            "total_tokens": tokens,
            "total_input_tokens": int(r["inp"] or 0) if r else 0,
            "total_output_tokens": int(r["out"] or 0) if r else 0,
            "avg_tokens_per_call": _round(tokens / n, 1) if n else 0.0,
            "avg_latency_ms": _round(r["lat"]) if r and r["lat"] is not None else None,
            "total_cost": _round(r["cost"], 6) if r and r["cost"] is not None else None,
            "failed_calls": int(r["errors"] or 0) if r else 0,
        }

    @_either
    def get_llm_interactions(self, execution_id: Any) -> dict[str, Any] | None:
        """The LLM calls of an execution (its own, and those of its stages): ``model``,
        ``request``, ``response``, ``tokens_used``, ``latency_ms`` of the latest call, and
        ``calls`` with all of them. ``None`` for an unknown execution."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        ex = self._get_span(eid, "agent")
        if ex is None:
            return None
        structure = self._trace_structure(ex["trace_id"])
        owners = self._owner_map(structure)
        ids = [r["id"] for r in structure if r["kind"] == "llm" and owners.get(r["id"]) == eid]
        calls: list[dict[str, Any]] = []
        if ids:
            rows = self._rows(select(S).where(S.c.id.in_(ids)).order_by(S.c.start_time))
            calls = [self._llm_call(r) for r in rows]
        last = calls[-1] if calls else {}
        tokens = [c["total_tokens"] for c in calls if c["total_tokens"] is not None]
        costs = [c["total_cost"] for c in calls if c["total_cost"] is not None]
        lat = [c["latency_ms"] for c in calls if c["latency_ms"] is not None]
        return {
            "execution_id": eid,
            "agent_name": ex["agent_name"],
            "model": last.get("model"),
            "provider": last.get("provider"),
            "request": last.get("request"),
            "response": last.get("response"),
            "tokens_used": last.get("tokens_used"),
            "latency_ms": last.get("latency_ms"),
            "status": last.get("span_status"),
            "error_message": last.get("error_message"),
            "total_calls": len(calls),
            "total_tokens": sum(tokens) if tokens else None,
            "total_cost": sum(costs) if costs else None,
            "total_latency_ms": _round(sum(lat)) if lat else None,
            "calls": calls,
        }

    @_either
    def get_execution_call_chain(self, execution_id: Any) -> list[dict[str, Any]]:
        """Which agents called which, in the call tree holding the execution: one link per
        child execution with ``parent_agent``, ``child_agent``, ``call_reason``, ``depth``
        (0 for the root's children), ``status`` and ids, in call order. ``[]`` for an unknown
        execution or one that neither called nor was called by an agent."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        ex = self._get_span(eid, "agent")
        if ex is None:
            return []
        structure = self._trace_structure(ex["trace_id"])
        owners = self._owner_map(structure)
        by_id = {r["id"]: r for r in structure}
        agents = [r for r in structure if r["kind"] == "agent"]
        if not agents:
            return []
        attrs = {
            r["id"]: (r["attributes"] or {})
            for r in self._rows(
                select(S.c.id, S.c.attributes).where(S.c.id.in_([a["id"] for a in agents]))
            )
        }

        def depth(sid: str) -> int:
            d = 0
            node = owners.get(sid)
            while node is not None:
                d += 1
                node = owners.get(node)
            return d

        links = []
        for child in agents:
            parent_id = owners.get(child["id"])
            if parent_id is None:
                continue
            parent = by_id[parent_id]
            a = attrs.get(child["id"], {})
            direct = by_id.get(child["parent_id"]) if child["parent_id"] else None
            links.append(
                {
                    "parent_execution_id": parent_id,
                    "child_execution_id": child["id"],
                    "parent_agent": parent["agent_name"],
                    "child_agent": child["agent_name"],
                    "parent_method": parent["name"],
                    "child_method": child["name"],
                    "call_reason": a.get("call_reason"),
                    "parent_stage": direct["name"]
                    if direct is not None and direct["kind"] == "stage"
                    else None,
                    "depth": depth(child["id"]) - 1,
                    "status": child["status"],
                    "duration_ms": _round(child["duration_ms"]),
                    "started_at": child["start_time"],
                }
            )
        return links

    @_either
    def find_slow_executions(
        self,
        threshold_ms: float = 5000,
        vault_id: Any = None,
        hours: float | None = 24,
        *,
        agent_name: str | None = None,
        conversation_id: Any = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Executions that took longer than ``threshold_ms``, slowest first, with
        ``llm_latency_ms`` (time in LLM calls inside them, ``None`` when there were none),
        ``llm_calls`` and ``overhead_ms`` (the rest)."""
        threshold = _number("threshold_ms", threshold_ms, positive=False)
        vault = _id("vault_id", vault_id, optional=True)
        hrs = _number("hours", hours, optional=True)
        agent = _str("agent_name", agent_name, optional=True)
        conv = _id("conversation_id", conversation_id, optional=True)
        lim = _limit(limit)
        where = self._execution_filters(
            agent_name=agent, vault_id=vault, conversation_id=conv, hours=hrs
        )
        where.append(S.c.duration_ms > threshold)
        cols = (
            S.c.id,
            S.c.trace_id,
            S.c.agent_name,
            S.c.name,
            S.c.status,
            S.c.start_time,
            S.c.duration_ms,
            S.c.conversation_id,
            self._attr("method").label("method"),
            self._attr("vault_id").label("vault_id"),
        )
        rows = self._rows(select(*cols).where(*where).order_by(S.c.duration_ms.desc()).limit(lim))
        if not rows:
            return []
        traces = sorted({r["trace_id"] for r in rows})
        structure = self._rows(
            select(S.c.id, S.c.parent_id, S.c.kind, S.c.duration_ms).where(S.c.trace_id.in_(traces))
        )
        parent = {r["id"]: r["parent_id"] for r in structure}
        wanted = {r["id"] for r in rows}
        llm_ms: dict[str, float] = defaultdict(float)
        llm_n: Counter[str] = Counter()
        for r in structure:
            if r["kind"] != "llm" or r["duration_ms"] is None:
                continue
            node = parent.get(r["id"])
            seen = 0
            while node is not None and seen < 10_000:
                if node in wanted:
                    llm_ms[node] += float(r["duration_ms"])
                    llm_n[node] += 1
                node = parent.get(node)
                seen += 1
        out = []
        for r in rows:
            lat = llm_ms.get(r["id"]) if llm_n[r["id"]] else None
            dur = float(r["duration_ms"])
            out.append(
                {
                    "execution_id": r["id"],
                    "agent_name": r["agent_name"],
                    "method": r["method"] or r["name"],
                    "status": r["status"],
                    "duration_ms": _round(dur),
                    "llm_latency_ms": _round(lat),
                    "llm_calls": llm_n[r["id"]],
                    "overhead_ms": _round(dur - (lat or 0.0)),
                    "started_at": r["start_time"],
                    "vault_id": r["vault_id"],
                    "conversation_id": r["conversation_id"],
                }
            )
        return out

    @_either
    def get_execution(self, execution_id: Any) -> ExecutionRecord | None:
        """One execution (``None`` if unknown)."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        row = self._get_span(eid, "agent")
        return None if row is None else self._execution(row)

    @_either
    def get_execution_with_logs(self, execution_id: Any) -> dict[str, Any] | None:
        """``{'execution': ExecutionRecord, 'logs': [StageLog…], 'llm_calls': […],
        'children': [ExecutionRecord…]}`` — logs are the stages and log events in time
        order (``log.stage``, ``log.message``, ``log.data``). ``None`` if unknown."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        row = self._get_span(eid, "agent")
        if row is None:
            return None
        timeline = self.get_stage_timeline.__wrapped__(self, eid, include_events=True)  # type: ignore[attr-defined]
        llm = self.get_llm_interactions.__wrapped__(self, eid)  # type: ignore[attr-defined]
        structure = self._trace_structure(row["trace_id"])
        owners = self._owner_map(structure)
        child_ids = [
            r["id"] for r in structure if r["kind"] == "agent" and owners.get(r["id"]) == eid
        ]
        children = []
        if child_ids:
            rows = self._rows(select(S).where(S.c.id.in_(child_ids)).order_by(S.c.start_time))
            children = [self._execution(r) for r in rows]
        return {
            "execution": self._execution(row),
            "logs": [StageLog(e) for e in timeline],
            "llm_calls": llm["calls"] if llm else [],
            "children": children,
        }

    # ===================================================================================
    # aggregated metrics per agent per time window
    # ===================================================================================
    @_either
    def agent_metrics(
        self,
        agent_name: str | None = None,
        *,
        hours: float = 24,
        window_s: int = 3600,
        vault_id: Any = None,
    ) -> list[dict[str, Any]]:
        """Performance per agent per time window (seed 003's ``AgentPerformanceMetrics``):
        one entry per (agent, window start) with execution counts, success/failure/skip
        rates, average and p50/p95/p99 duration, the most common errors and LLM call
        statistics. Windows are ``window_s`` wide and aligned to the epoch (UTC)."""
        agent = _str("agent_name", agent_name, optional=True)
        hrs = _number("hours", hours)
        if isinstance(window_s, bool) or not isinstance(window_s, int) or window_s <= 0:
            raise InvalidArgumentError(
                f"window_s: expected a positive integer of seconds, got {window_s!r}",
                field="window_s",
            )
        vault = _id("vault_id", vault_id, optional=True)
        where = self._execution_filters(agent_name=agent, vault_id=vault, hours=hrs)
        bucket = time_bucket(S.c.start_time, window_s, self.dialect)
        base = (
            select(
                S.c.agent_name.label("agent"),
                bucket.label("bucket"),
                S.c.status.label("status"),
                S.c.duration_ms.label("d"),
                S.c.error_type.label("error_type"),
            )
            .where(*where)
            .subquery()
        )
        done = base.c.status.not_in(("running", "pending"))
        summary = self._rows(
            select(
                base.c.agent,
                base.c.bucket,
                func.count().label("n"),
                func.sum(case((base.c.status == "success", 1), else_=0)).label("ok"),
                func.sum(case((base.c.status.in_(_FAILED), 1), else_=0)).label("bad"),
                func.sum(case((base.c.status == "skipped", 1), else_=0)).label("skip"),
                func.avg(case((done, base.c.d))).label("avg"),
            )
            .group_by(base.c.agent, base.c.bucket)
            .order_by(base.c.agent, base.c.bucket)
        )
        ranked = (
            select(
                base.c.agent,
                base.c.bucket,
                base.c.d,
                func.row_number()
                .over(partition_by=(base.c.agent, base.c.bucket), order_by=base.c.d)
                .label("rn"),
                func.count().over(partition_by=(base.c.agent, base.c.bucket)).label("cnt"),
            )
            .where(base.c.d.is_not(None), done)
            .subquery()
        )
        pcols = [
            func.max(case((ranked.c.rn == (p * ranked.c.cnt + 99) // 100, ranked.c.d))).label(
                f"p{p}"
            )
            for p in (50, 95, 99)
        ]
        pct = {
            (r["agent"], r["bucket"]): r
            for r in self._rows(
                select(ranked.c.agent, ranked.c.bucket, *pcols).group_by(
                    ranked.c.agent, ranked.c.bucket
                )
            )
        }
        err_rows = self._rows(
            select(base.c.agent, base.c.bucket, base.c.error_type, func.count().label("n"))
            .where(base.c.status.in_(_FAILED))
            .group_by(base.c.agent, base.c.bucket, base.c.error_type)
        )
        errors: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
        for r in err_rows:
            errors[(r["agent"], r["bucket"])].append(
                {"error_type": r["error_type"] or "timeout", "count": int(r["n"])}
            )
        lw = self._scope("llm")
        if agent is not None:
            lw.append(S.c.agent_name == agent)
        since = self._since(hrs)
        if since is not None:
            lw.append(S.c.start_time >= since)
        lbucket = time_bucket(S.c.start_time, window_s, self.dialect)
        llm = {
            (r["agent"], r["bucket"]): r
            for r in self._rows(
                select(
                    S.c.agent_name.label("agent"),
                    lbucket.label("bucket"),
                    func.count().label("n"),
                    func.sum(S.c.total_tokens).label("tokens"),
                    func.avg(S.c.duration_ms).label("lat"),
                    func.sum(S.c.total_cost).label("cost"),
                )
                .where(*lw)
                .group_by(S.c.agent_name, lbucket)
            )
        }
        out = []
        for r in summary:
            key = (r["agent"], r["bucket"])
            n = int(r["n"])
            p = pct.get(key)
            lr = llm.get(key)
            ln = int(lr["n"]) if lr else 0
            ltok = int(lr["tokens"] or 0) if lr else 0
            out.append(
                {
                    "agent_name": r["agent"],
                    "window_start": r["bucket"],
                    "window_end": r["bucket"] + timedelta(seconds=window_s)
                    if r["bucket"]
                    else None,
                    "total_executions": n,
                    "success_count": int(r["ok"] or 0),
                    "failure_count": int(r["bad"] or 0),
                    "skipped_count": int(r["skip"] or 0),
                    "success_rate": _rate(int(r["ok"] or 0), n),
                    "failure_rate": _rate(int(r["bad"] or 0), n),
                    "avg_duration_ms": _round(r["avg"]),
                    "p50_duration_ms": _round(p["p50"]) if p else None,
                    "p95_duration_ms": _round(p["p95"]) if p else None,
                    "p99_duration_ms": _round(p["p99"]) if p else None,
                    "common_errors": sorted(errors.get(key, []), key=lambda e: -e["count"])[:5],
                    "llm_stats": {
                        "total_calls": ln,
                        "total_tokens": ltok,
                        "avg_tokens_per_call": _round(ltok / ln, 1) if ln else 0.0,
                        "avg_latency_ms": _round(lr["lat"])
                        if lr and lr["lat"] is not None
                        else None,
                        "total_cost": _round(lr["cost"], 6)
                        if lr and lr["cost"] is not None
                        else None,
                    },
                }
            )
        return out

    @_either
    def agent_names(self, hours: float | None = None) -> list[str]:
        """Names of the agents with recorded executions."""
        hrs = _number("hours", hours, optional=True)
        where = self._execution_filters(hours=hrs)
        rows = self._rows(select(S.c.agent_name).where(*where).distinct())
        return sorted(r["agent_name"] for r in rows if r["agent_name"])

    # ===================================================================================
    # seed 002
    # ===================================================================================
    @_either
    def get_analytics_summary(
        self,
        start_date: Any = None,
        end_date: Any = None,
        report_id: Any = None,
    ) -> dict[str, Any]:
        """Seed 002's analytics summary over a date range (default: the last 30 days):
        executions (total, ``status_counts``, ``success_rate``, ``agent_type_counts``,
        ``duration_stats``) and LLM calls (total, ``provider_counts``, ``model_counts``,
        ``token_stats`` with costs, ``cost_by_model``, and the calls whose cost is unknown)."""
        end = _when("end_date", end_date) or datetime.now(UTC)
        start = _when("start_date", start_date) or (end - timedelta(days=30))
        if start > end:
            raise InvalidArgumentError("start_date: must not be after end_date", field="start_date")
        report = _id("report_id", report_id, optional=True)
        where = self._scope("agent", by_status=True)
        where += [S.c.start_time >= start, S.c.start_time <= end]
        if report is not None:
            where.append(self._attr("report_id") == report)
        exec_stmt = (
            select(
                S.c.agent_name,
                S.c.status,
                func.count().label("n"),
                func.sum(S.c.duration_ms).label("dsum"),
                func.count(S.c.duration_ms).label("dn"),
                func.min(S.c.duration_ms).label("dmin"),
                func.max(S.c.duration_ms).label("dmax"),
            )
            .where(*where)
            .group_by(S.c.agent_name, S.c.status)
        )
        lw = self._scope("llm", by_status=True)
        lw += [S.c.start_time >= start, S.c.start_time <= end]
        if report is not None:
            traces = select(S.c.trace_id).where(*where)
            lw.append(or_(S.c.trace_id.in_(traces), self._attr("report_id") == report))
        llm_stmt = (
            select(
                S.c.provider,
                S.c.model,
                *llm_total_columns(),
                func.avg(S.c.duration_ms).label("lat"),
            )
            .where(*lw)
            .group_by(S.c.provider, S.c.model)
        )
        rows, lrows = self._rows_parallel(exec_stmt, llm_stmt)
        status_counts: Counter[str] = Counter()
        agent_counts: Counter[str] = Counter()
        dsum = 0.0
        dn = 0
        dmin: float | None = None
        dmax: float | None = None
        for r in rows:
            n = int(r["n"])
            status_counts[_SEED002.get(r["status"], r["status"])] += n
            agent_counts[r["agent_name"] or "unknown"] += n
            if r["dn"]:
                dsum += float(r["dsum"] or 0)
                dn += int(r["dn"])
                dmin = r["dmin"] if dmin is None else min(dmin, r["dmin"])
                dmax = r["dmax"] if dmax is None else max(dmax, r["dmax"])
        total = sum(status_counts.values())

        provider_counts: Counter[str] = Counter()
        model_counts: Counter[str] = Counter()
        cost_by_model: dict[str, float] = {}
        tokens = {"inp": 0, "out": 0, "tot": 0, "cached": 0, "reasoning": 0}
        cost = 0.0
        icost = 0.0
        ocost = 0.0
        unpriced = 0
        unpriced_models: set[str] = set()
        calls = 0
        for r in lrows:
            n = int(r["n"])
            calls += n
            provider_counts[r["provider"] or "unknown"] += n
            model = r["model"] or "unknown"
            model_counts[model] += n
            for key in tokens:
                tokens[key] += int(r[key] or 0)
            if r["cost"] is not None:
                cost += float(r["cost"])
                cost_by_model[model] = round(cost_by_model.get(model, 0.0) + float(r["cost"]), 6)
            icost += float(r["icost"] or 0)
            ocost += float(r["ocost"] or 0)
            if r["unpriced"]:
                unpriced += int(r["unpriced"])
                unpriced_models.add(model)
        return {
            "date_range": {"start_date": _iso(start), "end_date": _iso(end)},
            "report_id": report,
            "execution_analytics": {
                "total_executions": total,
                "status_counts": dict(status_counts),
                "success_rate": _rate(status_counts.get("completed", 0), total),
                "agent_type_counts": dict(agent_counts.most_common()),
                "duration_stats": {
                    "avg_duration_ms": _round(dsum / dn) if dn else None,
                    "min_duration_ms": _round(dmin),
                    "max_duration_ms": _round(dmax),
                },
            },
            "llm_call_analytics": {
                "total_calls": calls,
                "provider_counts": dict(provider_counts.most_common()),
                "model_counts": dict(model_counts.most_common()),
                "token_stats": {
                    "total_input_tokens": tokens["inp"],
                    "total_output_tokens": tokens["out"],
                    "total_tokens": tokens["tot"],
                    "total_cached_tokens": tokens["cached"],
                    "total_reasoning_tokens": tokens["reasoning"],
                    "total_input_cost": round(icost, 6),
                    "total_output_cost": round(ocost, 6),
                    "total_cost": round(cost, 6),
                },
                "cost_by_model": dict(sorted(cost_by_model.items(), key=lambda kv: -kv[1])),
                "unpriced_calls": unpriced,
                "unpriced_models": sorted(unpriced_models),
            },
        }

    @_either
    def get_executions(
        self,
        *,
        report_id: Any = None,
        agent_type: str | None = None,
        execution_step: str | None = None,
        action_type: str | None = None,
        status: str | None = None,
        external_platform: str | None = None,
        start_date: Any = None,
        end_date: Any = None,
        limit: int = 100,
        offset: int = 0,
        include_llm_calls: bool = False,
    ) -> list[dict[str, Any]]:
        """Seed 002's execution-log listing with its filters (newest first; ``limit`` ≤
        500). ``status`` takes the seed's words (started, completed, failed, cancelled)."""
        where = self._scope("agent")
        report = _id("report_id", report_id, optional=True)
        for name, value, key in (
            ("execution_step", execution_step, "execution_step"),
            ("action_type", action_type, "action_type"),
            ("external_platform", external_platform, "external_platform"),
        ):
            if _str(name, value, optional=True) is not None:
                where.append(self._attr(key) == value)
        if report is not None:
            where.append(self._attr("report_id") == report)
        if _str("agent_type", agent_type, optional=True) is not None:
            where.append(S.c.agent_name == agent_type)
        if _str("status", status, optional=True) is not None:
            assert status is not None
            wanted = {"completed": "success", "started": "running"}.get(status, status)
            where.append(S.c.status == wanted)
        start = _when("start_date", start_date)
        end = _when("end_date", end_date)
        if start is not None:
            where.append(S.c.start_time >= start)
        if end is not None:
            where.append(S.c.start_time <= end)
        lim = _limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidArgumentError(
                f"offset: expected a non-negative integer, got {offset!r}", field="offset"
            )
        rows = self._rows(
            select(S).where(*where).order_by(S.c.start_time.desc()).limit(lim).offset(offset)
        )
        out = [_seed002_log(r) for r in rows]
        if include_llm_calls and out:
            self._attach_llm_calls(out)
        return out

    @_either
    def get_execution_logs(
        self, execution_id: Any, *, include_llm_calls: bool = True
    ) -> list[dict[str, Any]]:
        """Every execution log of a seed 002 execution id (the trace id; a log's own id is
        accepted too), in start order. ``[]`` when unknown."""
        eid = _id("execution_id", execution_id)
        assert eid is not None
        trace = eid
        own = self._get_span(eid)
        if own is not None:
            trace = own["trace_id"]
        where = [S.c.trace_id == trace, S.c.kind == "agent"]
        if self.project is not None:
            where.append(S.c.project == self.project)
        rows = self._rows(select(S).where(*where).order_by(S.c.start_time))
        if not rows:
            rows = self._rows(
                select(S)
                .where(*self._scope("agent"), self._attr("execution_id") == eid)
                .order_by(S.c.start_time)
            )
        out = [_seed002_log(r) for r in rows]
        if include_llm_calls and out:
            self._attach_llm_calls(out)
        return out

    def _attach_llm_calls(self, logs: list[dict[str, Any]]) -> None:
        traces = sorted({log["execution_id"] for log in logs})
        structure = self._rows(
            select(S.c.id, S.c.parent_id, S.c.kind).where(S.c.trace_id.in_(traces))
        )
        owners = self._owner_map(structure)
        ids = [r["id"] for r in structure if r["kind"] == "llm"]
        by_exec: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if ids:
            for r in self._rows(select(S).where(S.c.id.in_(ids)).order_by(S.c.start_time)):
                owner = owners.get(r["id"])
                if owner is not None:
                    by_exec[owner].append(self._llm_call(r))
        for log in logs:
            log["llm_calls"] = by_exec.get(log["id"], [])

    @_either
    def get_llm_calls(
        self,
        *,
        provider: str | None = None,
        model_id: str | None = None,
        call_type: str | None = None,
        status: str | None = None,
        report_id: Any = None,
        execution_log_id: Any = None,
        start_date: Any = None,
        end_date: Any = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Seed 002's LLM-call listing with its filters (newest first)."""
        where = self._scope("llm")
        if _str("provider", provider, optional=True) is not None:
            where.append(S.c.provider == provider)
        if _str("model_id", model_id, optional=True) is not None:
            where.append(S.c.model == model_id)
        if _str("call_type", call_type, optional=True) is not None:
            where.append(self._attr("call_type") == call_type)
        if _str("status", status, optional=True) is not None:
            assert status is not None
            where.append(
                S.c.status == {"completed": "success", "started": "running"}.get(status, status)
            )
        report = _id("report_id", report_id, optional=True)
        if report is not None:
            where.append(self._attr("report_id") == report)
        exec_id = _id("execution_log_id", execution_log_id, optional=True)
        if exec_id is not None:
            where.append(
                or_(
                    S.c.parent_id == exec_id,
                    S.c.trace_id == exec_id,
                    self._attr("execution_log_id") == exec_id,
                )
            )
        start = _when("start_date", start_date)
        end = _when("end_date", end_date)
        if start is not None:
            where.append(S.c.start_time >= start)
        if end is not None:
            where.append(S.c.start_time <= end)
        lim = _limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidArgumentError(
                f"offset: expected a non-negative integer, got {offset!r}", field="offset"
            )
        rows = self._rows(
            select(S).where(*where).order_by(S.c.start_time.desc()).limit(lim).offset(offset)
        )
        return [self._llm_call(r) for r in rows]


def _seed002_log(m: Mapping[Any, Any]) -> dict[str, Any]:
    a = m["attributes"] or {}
    status = m["status"]
    error = m["error_message"] or a.get("error_message")
    if error is None and status in _FAILED:
        error = m["status_message"]
    out = {
        "id": m["id"],
        "execution_id": m["trace_id"],
        "parent_id": m["parent_id"],
        "agent_type": m["agent_name"],
        "execution_step": a.get("execution_step") or m["name"],
        "action_type": a.get("action_type"),
        "status": _SEED002.get(status, status),
        "start_time": m["start_time"],
        "end_time": m["end_time"],
        "duration_ms": int(m["duration_ms"]) if m["duration_ms"] is not None else None,
        "input_data": m["input"],
        "output_data": m["output"],
        "error_message": error,
        "error_type": m["error_type"],
        "metadata": a.get("metadata"),
    }
    for key in _LINKS:
        out[key] = a.get(key)
    return out


def _why_entry(e: ExecutionRecord) -> dict[str, Any]:
    return {
        "execution_id": e["execution_id"],
        "status": e["status"],
        "method": e["method"],
        "started_at": e["started_at"],
        "duration_ms": e["duration_ms"],
        "relevance_score": e["relevance_score"],
        "relevance_reasoning": e["relevance_reasoning"],
        "should_respond": e["should_respond"],
        "current_stage": e["current_stage"],
        "error_type": e["error_type"],
        "error_message": e["error_message"],
        "input_data": e["input_data"],
        "conversation_id": e["conversation_id"],
        "vault_id": e["vault_id"],
    }


def _scope_text(conv: str | None, vault: str | None, hours: float | None) -> str:
    parts = []
    if conv is not None:
        parts.append(f"conversation {conv}")
    if vault is not None:
        parts.append(f"vault {vault}")
    text = " in " + " and ".join(parts) if parts else ""
    if hours is not None:
        text += f" in the last {hours:g} h"
    return text


def _configured_url() -> str:
    from ..config import Settings
    from ..sdk import _runtime

    rt = _runtime._runtime
    settings = rt.settings if rt is not None else (_runtime._pending_settings[0] or Settings.load())
    url = settings.store_url
    if url is None:
        raise InvalidArgumentError(
            "store: the store is disabled (TRACEHOUND_STORE=none); pass a database URL",
            field="store",
        )
    return url
