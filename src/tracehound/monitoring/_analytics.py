"""``Analytics`` (seed 001): patterns, statistics, anomalies and comparisons over the store.

The seed's methods are coroutines (``await analytics.detect_anomalies()``); each runs its
blocking database work in a thread and has a synchronous twin for scripts, the CLI and the
server: :meth:`Analytics.patterns`, :meth:`Analytics.stats`, :meth:`Analytics.anomalies`,
:meth:`Analytics.compare`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ..store._schema import spans as S
from ._compare import compare as _compare
from ._compare import parse_cohort, session_start
from ._detect import DetectionSettings, detect, detect_in_frame
from ._patterns import build_patterns
from ._query import Agg, Cell, Frame, SeriesKey, fetch
from ._report import build_stats
from ._time import parse_duration, parse_time, parse_window
from ._types import Anomaly, Cohort, Comparison

__all__ = ["Analytics", "configured_store_url"]


def configured_store_url() -> str:
    """The configured store (``configure(store=…)`` / ``TRACEHOUND_STORE``, default
    ``<trace_dir>/tracehound.db``)."""
    from ..config import Settings
    from ..sdk import _runtime

    rt = _runtime._runtime
    settings = rt.settings if rt is not None else (_runtime._pending_settings[0] or Settings.load())
    url = settings.store_url
    if url is None:
        raise ValueError("the store is disabled (TRACEHOUND_STORE=none); pass a database URL")
    return url


def _duration(value: str | float | timedelta | None, default: timedelta) -> timedelta:
    return default if value is None else parse_duration(value)


def _timeframe(
    timeframe: str | float | timedelta | None, now: datetime
) -> tuple[datetime | None, datetime]:
    """``24h`` (the last 24 hours), ``START..END``, or ``all`` / ``None`` (everything)."""
    if timeframe is None or (
        isinstance(timeframe, str) and timeframe.strip().lower() in ("all", "")
    ):
        return None, now
    if isinstance(timeframe, str):
        got = parse_window(timeframe, now=now)
        if got is None:
            raise ValueError(
                f"timeframe {timeframe!r}: expected a duration (24h, 7d), START..END or 'all'"
            )
        return got
    return now - parse_duration(timeframe), now


@dataclass
class _FrameCache:
    """Closed time buckets of the last fetch, so a monitor evaluating every minute reads
    only the newest buckets (the rest is refetched every ``ttl``)."""

    bucket_s: int
    project: str | None
    ttl: float = 3600.0
    cells: dict[SeriesKey, dict[Cell, Agg]] = field(default_factory=dict)
    start: int = 0
    closed_until: int = 0
    built_at: float = 0.0

    def frame(self, engine: Engine, start: datetime, end: datetime) -> Frame:
        b = self.bucket_s
        start_s = int(start.timestamp()) // b * b
        end_s = end.timestamp()
        # buckets ending more than one bucket ago are closed (late records aside)
        closed = int(end_s - b) // b * b
        fresh = time.monotonic() - self.built_at < self.ttl
        if not fresh or start_s < self.start or self.closed_until <= start_s:
            self.cells, self.start, self.closed_until = {}, start_s, start_s
            self.built_at = time.monotonic()
        query_from = max(self.closed_until, start_s)
        where = [
            S.c.start_time >= datetime.fromtimestamp(query_from, UTC),
            S.c.start_time < end,
        ]
        if self.project is not None:
            where.append(S.c.project == self.project)
        got = fetch(engine, where, bucket_s=b)
        series: dict[SeriesKey, dict[Cell, Agg]] = {}
        for key, cells in self.cells.items():
            kept = {c: a for c, a in cells.items() if c[0] >= start_s}
            if kept:
                series[key] = dict(kept)
        for key, cells in got.series.items():
            series.setdefault(key, {}).update(cells)
        # keep only closed buckets for next time
        self.cells = {
            key: {c: a for c, a in cells.items() if c[0] < closed} for key, cells in series.items()
        }
        self.start = start_s
        self.closed_until = max(closed, start_s)
        return Frame(b, series, grouped=False)


class Analytics:
    """Seed 001's ``Analytics`` over a tracehound store.

    ``store``: a database URL (``sqlite:///…``, ``postgresql://…``), a SQLAlchemy
    :class:`~sqlalchemy.engine.Engine`, or ``None`` for the configured store. ``project``
    restricts everything to one project. ``window``, ``baseline`` and ``bucket`` are the
    defaults of anomaly detection (the last 6 hours against the 14 days before, in hourly
    buckets); ``min_score`` the smallest anomaly score reported. ``flush`` first exports
    what this process recorded. ``cache`` keeps closed buckets between detections (for a
    monitor that evaluates continuously).
    """

    # Class-level defaults: a subclass whose __init__ does not call ours still works.
    _store: str | Engine | None = None
    _project: str | None = None
    _flush: bool = True
    _engine: Engine | None = None
    _owns_engine: bool = False
    _settings: DetectionSettings = DetectionSettings()
    _window: timedelta = timedelta(hours=6)
    _baseline: timedelta = timedelta(days=14)
    _bucket: timedelta = timedelta(hours=1)
    _use_cache: bool = False
    _cache: _FrameCache | None = None
    _lock = threading.Lock()

    def __init__(
        self,
        store: str | Engine | None = None,
        *,
        project: str | None = None,
        window: str | float | timedelta = timedelta(hours=6),
        baseline: str | float | timedelta = timedelta(days=14),
        bucket: str | float | timedelta = timedelta(hours=1),
        min_score: float | None = None,
        settings: DetectionSettings | None = None,
        flush: bool = True,
        cache: bool = False,
    ) -> None:
        self._store = store
        self._project = project
        self._flush = flush
        self._engine = store if isinstance(store, Engine) else None
        self._owns_engine = False
        self._window = parse_duration(window)
        self._baseline = parse_duration(baseline)
        self._bucket = parse_duration(bucket)
        base = settings or DetectionSettings()
        self._settings = replace(base, min_score=min_score) if min_score is not None else base
        self._use_cache = cache
        self._cache = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine of the store (created on first use)."""
        if self._engine is None:
            from ..store._engine import make_engine

            url = self._store if isinstance(self._store, str) else configured_store_url()
            self._engine = make_engine(url)
            self._owns_engine = True
        return self._engine

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def settings(self) -> DetectionSettings:
        return self._settings

    def close(self) -> None:
        if self._engine is not None and self._owns_engine:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = (
            self._engine.url if self._engine is not None else (self._store or "configured store")
        )
        return f"<Analytics {where!r}>"

    def _sync(self) -> None:
        if self._flush:
            from ..sdk import _runtime

            rt = _runtime._runtime
            if rt is not None and rt.enabled:
                rt.flush(10.0)

    def resolve_time(self, value: datetime | str, *, now: datetime | None = None) -> datetime:
        """A point in time: a datetime, ISO text, ``now``, ``-6h``, or ``session:ID`` /
        ``session:latest`` / ``session:previous`` (when that session started)."""
        if isinstance(value, str) and value.startswith("session:"):
            return session_start(self.engine, value.partition(":")[2] or "latest")
        return parse_time(value, now=now)

    # -- synchronous API --------------------------------------------------------------------
    def anomalies(
        self,
        *,
        window: str | float | timedelta | None = None,
        baseline: str | float | timedelta | None = None,
        bucket: str | float | timedelta | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        now: datetime | None = None,
        metrics: Sequence[str] | None = None,
        scopes: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> list[Anomaly]:
        """Anomalies of the last ``window`` (or of ``[since, until)``) against the
        ``baseline`` before it, strongest first."""
        found, _ = self.detect_with_window(
            window=window,
            baseline=baseline,
            bucket=bucket,
            since=since,
            until=until,
            now=now,
            metrics=metrics,
            scopes=scopes,
            min_score=min_score,
        )
        return found

    def detect_with_window(
        self,
        *,
        window: str | float | timedelta | None = None,
        baseline: str | float | timedelta | None = None,
        bucket: str | float | timedelta | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        now: datetime | None = None,
        metrics: Sequence[str] | None = None,
        scopes: Sequence[str] | None = None,
        min_score: float | None = None,
    ) -> tuple[list[Anomaly], dict[str, Agg]]:
        """Anomalies, and each agent's executions inside the window (for health checks)."""
        self._sync()
        now = (now or datetime.now(UTC)).astimezone(UTC)
        win = _duration(window, self._window)
        base = _duration(baseline, self._baseline)
        width = _duration(bucket, self._bucket)
        settings = (
            self._settings if min_score is None else replace(self._settings, min_score=min_score)
        )
        since_dt = self.resolve_time(since, now=now) if since is not None else None
        until_dt = self.resolve_time(until, now=now) if until is not None else None
        bucket_s = max(1, int(width.total_seconds()))
        aligned = since_dt is None or int(since_dt.timestamp()) % bucket_s == 0
        if self._use_cache and aligned:
            end = until_dt or now
            raw = int((since_dt or end - win).timestamp())
            window_start = datetime.fromtimestamp(raw // bucket_s * bucket_s, UTC)
            baseline_start = window_start - base
            with self._lock:
                if self._cache is None or self._cache.bucket_s != bucket_s:
                    self._cache = _FrameCache(bucket_s, self._project)
                frame = self._cache.frame(self.engine, baseline_start, end)
            found = detect_in_frame(
                frame,
                window_start=window_start,
                window_end=end,
                baseline_start=baseline_start,
                now=now,
                settings=settings,
                project=self._project,
                metrics=metrics,
                scopes=scopes,
            )
            return found, _window_aggs(frame, window_start)
        captured: list[tuple[Frame, datetime]] = []
        found = detect(
            self.engine,
            now=now,
            window=win,
            baseline=base,
            bucket=width,
            since=since_dt,
            until=until_dt,
            project=self._project,
            settings=settings,
            metrics=metrics,
            scopes=scopes,
            capture=lambda f, ws: captured.append((f, ws)),
        )
        frame, window_start = captured[0]
        return found, _window_aggs(frame, window_start)

    def stats(
        self, timeframe: str | float | timedelta | None = "24h", *, now: datetime | None = None
    ) -> dict[str, Any]:
        """Per agent, model, tool and event type: counts, rates, latency and cost
        distributions over ``timeframe`` (``24h``, ``7d``, ``START..END``, ``all``)."""
        self._sync()
        now = (now or datetime.now(UTC)).astimezone(UTC)
        start, end = _timeframe(timeframe, now)
        return build_stats(self.engine, start=start, end=end, project=self._project)

    def patterns(
        self,
        timeframe: str | float | timedelta | None = "24h",
        *,
        now: datetime | None = None,
        max_traces: int = 2000,
        limit: int = 10,
    ) -> dict[str, Any]:
        """Recurring agent paths, transitions, step sequences and the sequences leading to
        errors in the traces of ``timeframe``."""
        self._sync()
        now = (now or datetime.now(UTC)).astimezone(UTC)
        start, end = _timeframe(timeframe, now)
        return build_patterns(
            self.engine,
            start=start,
            end=end,
            project=self._project,
            max_traces=max_traces,
            limit=limit,
        )

    def compare(
        self,
        a: str | Cohort,
        b: str | Cohort,
        *,
        agent: str | None = None,
        alpha: float = 0.01,
        now: datetime | None = None,
    ) -> Comparison:
        """Compare cohort ``b`` with cohort ``a``: versions (``v1``, ``version:v1``,
        ``release:2024.05``), time windows (``-48h..-24h``, ``2024-05-01..2024-05-02``,
        ``24h``) or sessions (``session:ID``, ``session:latest``, ``session:previous``)."""
        self._sync()
        ca = a if isinstance(a, Cohort) else parse_cohort(a, now=now)
        cb = b if isinstance(b, Cohort) else parse_cohort(b, now=now)
        return _compare(self.engine, ca, cb, agent=agent, project=self._project, alpha=alpha)

    # -- seed 001 (coroutines) --------------------------------------------------------------
    async def analyze_patterns(self, timeframe: str = "24h") -> dict[str, Any]:
        """Analyze patterns in traced data."""
        return await self._pattern_analysis(timeframe)

    async def generate_stats(self) -> dict[str, Any]:
        """Generate statistical reports."""
        return await self._stats_generation()

    async def detect_anomalies(self) -> list[Anomaly]:
        """Detect anomalies in system behavior."""
        return await self._anomaly_detection()

    async def _pattern_analysis(self, timeframe: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.patterns, timeframe)

    async def _stats_generation(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.stats)

    async def _anomaly_detection(self) -> list[Anomaly]:
        return await asyncio.to_thread(self.anomalies)


def _window_aggs(frame: Frame, window_start: datetime) -> dict[str, Agg]:
    """Each agent's executions inside the window."""
    first = int(window_start.timestamp())
    bucket_s = frame.bucket_s or 1
    first_bucket = first // bucket_s * bucket_s
    out: dict[str, Agg] = {}
    for name in frame.names("agent"):
        agg = Agg()
        for (b, g), cell in frame.cells(("agent", name)).items():
            inside = g == 1 if frame.grouped else b >= first_bucket
            if inside:
                agg.merge(cell)
        if agg.n:
            out[name] = agg
    return out
