"""Retention: delete (and optionally archive) records past their project's maximum age.

A :class:`RetentionConfig` holds a default :class:`RetentionPolicy` and per-project ones. A
policy gives a maximum age in days for every record kind (``spans`` / ``events`` /
``metrics``, each overridable) and a shorter one for *debug records* — ``DEBUG`` events and
seed 004's debug-mode actions (tool spans and action events whose ``debug_mode`` is true),
30 days by default, as seed 004 keeps its debug logs.

:func:`prune` applies it, on SQLite and PostgreSQL:

1. PostgreSQL: day partitions are created a week ahead; a day partition whose every row is
   past every policy is detached, archived and dropped whole (cheap at any size; a detached
   partition left by an interrupted run is finished first).
2. Both: the remaining expired rows are deleted in bounded batches (``DELETE … RETURNING``,
   one short transaction each, driven by the project-leading indexes), so ingestion goes on
   while it runs. With ``archive_dir`` the returned rows are written to
   ``<table>-<run>.jsonl.gz`` and the file is flushed to disk before the batch commits:
   nothing is deleted that was not archived (a crash in between can archive a batch twice,
   never lose one).
3. Sessions whose last record is past every age of their project go too.

Running it again deletes nothing more: it is idempotent. ``dry_run`` counts instead.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson
from sqlalchemy import Table, and_, func, or_, select, text, true
from sqlalchemy.sql.elements import ColumnElement

from ..exceptions import ConfigError
from ._dialect import json_text
from ._engine import dialect_of, make_engine
from ._reader import _EVENTS, _METRICS, _SPANS, _Layout, _record
from ._rows import dumps_json
from ._schema import TABLES, sessions

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine
    from sqlalchemy.engine import Connection

__all__ = [
    "PruneResult",
    "RetentionConfig",
    "RetentionPolicy",
    "iter_archive",
    "prune",
]

RecordTable = Literal["spans", "events", "metrics"]
RECORD_TABLES: Final[tuple[RecordTable, ...]] = ("spans", "events", "metrics")
_TIME: Final = {"spans": "start_time", "events": "timestamp", "metrics": "timestamp"}
_LAYOUT: Final = {"spans": _SPANS, "events": _EVENTS, "metrics": _METRICS}
# Second column of each table's project-leading index: listing its values lets the index
# serve ``project = ? AND <col> IN (…) AND <time> < ?`` (no full scans).
_FACET: Final = {"spans": "kind", "events": "type", "metrics": "name"}
_DAY_S: Final = 86_400.0
_PARTITION_NAME: Final = re.compile(r"^(spans|events|metrics)_p(\d{8})$")

Progress = Callable[[str, int], None]
"""Called with a step description and the rows done in it so far."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long one project's records are kept, in days (``None``: forever)."""

    max_age_days: float | None = None
    spans_days: float | None = None
    events_days: float | None = None
    metrics_days: float | None = None
    debug_days: float | None = 30.0
    """``DEBUG`` events and debug-mode actions (seed 004 keeps them 30 days)."""

    def __post_init__(self) -> None:
        for name in ("max_age_days", "spans_days", "events_days", "metrics_days", "debug_days"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"retention: {name} must be a positive number of days")

    def age(self, table: RecordTable) -> float | None:
        """Maximum age (days) of the records of ``table``."""
        specific = getattr(self, f"{table}_days")
        return specific if specific is not None else self.max_age_days

    def debug_age(self, table: RecordTable) -> float | None:
        """Maximum age (days) of the debug records of ``table`` (``None``: no debug rule)."""
        if table == "metrics" or self.debug_days is None:
            return None
        age = self.age(table)
        return self.debug_days if age is None else min(age, self.debug_days)

    def session_age(self) -> float | None:
        """Sessions go when every record kind of theirs would be gone."""
        ages = [self.age(t) for t in RECORD_TABLES]
        return None if None in ages else max(a for a in ages if a is not None)


_POLICY_KEYS: Final = frozenset(RetentionPolicy.__dataclass_fields__)


@dataclass(frozen=True)
class RetentionConfig:
    """The default policy and per-project overrides (a project listed here uses its policy
    for everything; others use ``default``)."""

    default: RetentionPolicy = field(default_factory=RetentionPolicy)
    projects: dict[str, RetentionPolicy] = field(default_factory=dict)

    def policy(self, project: str) -> RetentionPolicy:
        return self.projects.get(project, self.default)

    def with_max_age(self, days: float) -> RetentionConfig:
        """Every policy with ``max_age_days = days`` (the kind-specific ages are dropped)."""

        def override(p: RetentionPolicy) -> RetentionPolicy:
            return replace(
                p, max_age_days=days, spans_days=None, events_days=None, metrics_days=None
            )

        return RetentionConfig(
            override(self.default), {k: override(v) for k, v in self.projects.items()}
        )

    def with_debug_days(self, days: float | None) -> RetentionConfig:
        def override(p: RetentionPolicy) -> RetentionPolicy:
            return replace(p, debug_days=days)

        return RetentionConfig(
            override(self.default), {k: override(v) for k, v in self.projects.items()}
        )

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> RetentionConfig:
        """From ``{"default": {...}, "projects": {"name": {...}}}`` (policy fields as keys)."""

        def policy(value: Any, where: str, base: RetentionPolicy | None = None) -> RetentionPolicy:
            if not isinstance(value, dict):
                raise ConfigError(f"retention: {where} must be a table of policy fields")
            unknown = set(value) - _POLICY_KEYS
            if unknown:
                raise ConfigError(
                    f"retention: unknown key(s) in {where}: {', '.join(sorted(unknown))}"
                )
            return replace(base, **value) if base is not None else RetentionPolicy(**value)

        unknown = set(data) - {"default", "projects"}
        if unknown:
            raise ConfigError(f"retention: unknown section(s): {', '.join(sorted(unknown))}")
        default = policy(data.get("default", {}), "default")
        projects = data.get("projects", {})
        if not isinstance(projects, dict):
            raise ConfigError("retention: projects must be a table of project policies")
        return cls(
            default,
            {str(k): policy(v, f"projects.{k}", default) for k, v in projects.items()},
        )

    @classmethod
    def from_file(cls, path: str | Path) -> RetentionConfig:
        """From a TOML or JSON file (see :meth:`from_mapping`)."""
        p = Path(path)
        try:
            raw = p.read_bytes()
            data = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"retention: cannot read policy file {p}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"retention: {p} must hold a table")
        return cls.from_mapping(data)


@dataclass
class PruneResult:
    """What a prune did (or, with ``dry_run``, would do)."""

    dry_run: bool
    deleted: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*RECORD_TABLES, "sessions"), 0)
    )
    """Rows deleted per table (those of dropped partitions included)."""
    dropped_partitions: list[str] = field(default_factory=list)
    created_partitions: list[str] = field(default_factory=list)
    archives: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Steps not done (e.g. a partition whose lock could not be had), with the reason."""

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


# -- archive --------------------------------------------------------------------------------


class _Archive:
    """One gzip JSON-lines file per table for this run, opened on first use."""

    def __init__(self, directory: Path, stamp: str, result: PruneResult) -> None:
        self.directory = directory
        self.stamp = stamp
        self.result = result
        self._files: dict[str, gzip.GzipFile] = {}

    def write(self, table: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        handle = self._files.get(table)
        if handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{table}-{self.stamp}.jsonl.gz"
            handle = gzip.open(path, "ab")  # noqa: SIM115  closed by close()
            self._files[table] = handle
            if path not in self.result.archives:
                self.result.archives.append(path)
        handle.write(b"".join(_line(r) for r in records))

    def sync(self, table: str) -> None:
        """Make what was written so far durable (before the matching delete commits)."""
        handle = self._files.get(table)
        if handle is None:
            return
        handle.flush()
        raw = getattr(handle, "fileobj", None)
        if raw is not None:
            raw.flush()
            os.fsync(raw.fileno())

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


def _line(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record) + b"\n"
    except (TypeError, orjson.JSONEncodeError):
        return dumps_json(record).encode() + b"\n"


def iter_archive(path: str | Path) -> Iterator[dict[str, Any]]:
    """The archived rows of one ``.jsonl.gz`` file (records as dicts, times in ns)."""
    with gzip.open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _as_dict(layout: _Layout, row: Any) -> dict[str, Any]:
    record = _record(layout, row)
    out: dict[str, Any] = record._asdict()
    return out


def _session_dict(row: Any) -> dict[str, Any]:
    from ._time import datetime_to_ns

    out = dict(row._mapping)
    for key in ("started_at", "last_seen_at", "ended_at"):
        if out.get(key) is not None:
            out[key] = datetime_to_ns(out[key])
    return out


# -- prune ----------------------------------------------------------------------------------


def prune(
    url: str,
    config: RetentionConfig | None = None,
    *,
    project: str | None = None,
    dry_run: bool = False,
    archive_dir: str | Path | None = None,
    now: datetime | None = None,
    batch_size: int = 5000,
    lock_timeout: float = 10.0,
    partitions_ahead: int = 7,
    progress: Progress | None = None,
) -> PruneResult:
    """Apply ``config`` (default: keep everything but debug records, 30 days) to the store at
    ``url``; only ``project``'s records when given. See the module docstring."""
    from ._migrate import ensure_schema

    config = config or RetentionConfig()
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    now = now or datetime.now(UTC)
    result = PruneResult(dry_run=dry_run)
    ensure_schema(url, auto_upgrade=False)
    stamp = now.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"
    archive = None if archive_dir is None or dry_run else _Archive(Path(archive_dir), stamp, result)
    engine = make_engine(url)
    try:
        projects = _projects(engine, project)
        dropped: dict[str, list[tuple[datetime, datetime]]] = {}
        if dialect_of(url) == "postgresql":
            dropped = _partitions(
                url,
                config,
                projects,
                project,
                now,
                dry_run,
                archive,
                lock_timeout,
                partitions_ahead,
                result,
                progress,
            )
        for table in RECORD_TABLES:
            _delete_rows(
                engine,
                table,
                config,
                projects,
                now,
                dry_run,
                archive,
                batch_size,
                result,
                progress,
                dropped.get(table, []),
            )
        _delete_sessions(engine, config, projects, now, dry_run, archive, result)
    finally:
        engine.dispose()
        if archive is not None:
            archive.close()
    return result


def _projects(engine: Engine, only: str | None) -> list[str]:
    """Projects with records (a skip scan over each table's project-leading index)."""
    if only is not None:
        return [only]
    found: set[str] = set()
    with engine.connect() as conn:
        found.update(r[0] for r in conn.execute(select(sessions.c.project).distinct()))
        for table in RECORD_TABLES:
            found.update(_distinct(conn, TABLES[table], "project", None))
    return sorted(found)


def _distinct(conn: Connection, table: Table, column: str, project: str | None) -> list[str]:
    """Distinct values of an index's leading (or, given ``project``, second) column, by
    walking the index (``WITH RECURSIVE``: one probe per value, both dialects)."""
    where = " AND project = :project" if project is not None else ""
    sql = text(
        f"WITH RECURSIVE v(x) AS ("
        f" SELECT MIN({column}) FROM {table.name} WHERE 1 = 1{where}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table.name} WHERE {column} > v.x{where})"
        f" FROM v WHERE v.x IS NOT NULL)"
        f" SELECT x FROM v WHERE x IS NOT NULL"
    )
    params = {"project": project} if project is not None else {}
    return [str(r[0]) for r in conn.execute(sql, params)]


def _cutoff(now: datetime, days: float) -> datetime:
    return now - timedelta(seconds=days * _DAY_S)


def _debug_condition(table: Table, dialect: str) -> ColumnElement[bool]:
    debug_mode = json_text(
        table.c.attributes if table.name == "spans" else table.c.data, "debug_mode", dialect
    )
    flag = debug_mode.in_(("true", "1"))
    if table.name == "spans":
        return and_(table.c.kind == "tool", flag)
    return or_(
        table.c.level == "DEBUG", and_(table.c.type.in_(("decision", "error", "success")), flag)
    )


def _rules(
    table: RecordTable,
    config: RetentionConfig,
    projects: list[str],
    now: datetime,
    dialect: str,
) -> Iterator[tuple[str, str, datetime, ColumnElement[bool]]]:
    """(project, label, cutoff, extra condition) of every delete to run on ``table``."""
    t = TABLES[table]
    for name in projects:
        policy = config.policy(name)
        age = policy.age(table)
        if age is not None:
            yield name, f"{table} of {name} older than {age:g} days", _cutoff(now, age), true()
        debug = policy.debug_age(table)
        if debug is not None and (age is None or debug < age):
            yield (
                name,
                f"debug {table} of {name} older than {debug:g} days",
                _cutoff(now, debug),
                _debug_condition(t, dialect),
            )


def _delete_rows(
    engine: Engine,
    table: RecordTable,
    config: RetentionConfig,
    projects: list[str],
    now: datetime,
    dry_run: bool,
    archive: _Archive | None,
    batch_size: int,
    result: PruneResult,
    progress: Progress | None,
    dropped: list[tuple[datetime, datetime]],
) -> None:
    """Bounded deletes of ``table``'s expired rows (a dry run counts them, leaving out the
    rows of the partitions it counted as dropped)."""
    t = TABLES[table]
    when = t.c[_TIME[table]]
    dialect = engine.dialect.name
    for name, label, cutoff, extra in _rules(table, config, projects, now, dialect):
        with engine.connect() as conn:
            facets = _distinct(conn, t, _FACET[table], name)
        if not facets:
            continue
        cond = and_(t.c.project == name, t.c[_FACET[table]].in_(facets), when < cutoff, extra)
        if dry_run:
            if dropped:
                cond = and_(cond, ~or_(*(and_(when >= lo, when < hi) for lo, hi in dropped)))
            with engine.connect() as conn:
                n = int(conn.execute(select(func.count()).select_from(t).where(cond)).scalar_one())
            result.deleted[table] += n
            if progress is not None:
                progress(label, n)
            continue
        done = 0
        while True:
            pick = select(t.c.id, when).where(cond).limit(batch_size)
            if dialect == "postgresql":
                batch = pick.subquery("batch")
                stmt = t.delete().where(t.c.id == batch.c.id, when == batch.c[when.name], cond)
            else:
                stmt = t.delete().where(t.c.id.in_(select(t.c.id).where(cond).limit(batch_size)))
            with engine.begin() as conn:
                rows = conn.execute(stmt.returning(*t.c)).all()
                if archive is not None and rows:
                    archive.write(table, [_as_dict(_LAYOUT[table], r) for r in rows])
                    archive.sync(table)
            done += len(rows)
            result.deleted[table] += len(rows)
            if progress is not None:
                progress(label, done)
            if len(rows) < batch_size:
                break


def _delete_sessions(
    engine: Engine,
    config: RetentionConfig,
    projects: list[str],
    now: datetime,
    dry_run: bool,
    archive: _Archive | None,
    result: PruneResult,
) -> None:
    for name in projects:
        age = config.policy(name).session_age()
        if age is None:
            continue
        cond = and_(sessions.c.project == name, sessions.c.last_seen_at < _cutoff(now, age))
        with engine.begin() as conn:
            if dry_run:
                n = conn.execute(
                    select(func.count()).select_from(sessions).where(cond)
                ).scalar_one()
                result.deleted["sessions"] += int(n)
                continue
            rows = conn.execute(sessions.delete().where(cond).returning(*sessions.c)).all()
            if archive is not None and rows:
                archive.write("sessions", [_session_dict(r) for r in rows])
                archive.sync("sessions")
            result.deleted["sessions"] += len(rows)


# -- PostgreSQL partitions ------------------------------------------------------------------


def _partitions(
    url: str,
    config: RetentionConfig,
    projects: list[str],
    only: str | None,
    now: datetime,
    dry_run: bool,
    archive: _Archive | None,
    lock_timeout: float,
    ahead: int,
    result: PruneResult,
    progress: Progress | None,
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Partitions ahead; whole expired day partitions detached, archived, dropped. Returns
    the time ranges of the partitions dropped (or that a dry run would drop)."""
    import psycopg

    from ._postgres import (
        PARTITION_SCHEMA,
        create_partitions,
        detach_partition,
        libpq_url,
        list_partitions,
    )

    with psycopg.connect(
        libpq_url(url), autocommit=True, application_name="tracehound-prune"
    ) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        parts = list_partitions(conn)
        dropped: dict[str, list[tuple[datetime, datetime]]] = {t: [] for t in RECORD_TABLES}
        if not parts:
            return dropped
        today = now.astimezone(UTC).date()
        days = [today + timedelta(days=i) for i in range(ahead + 1)]
        if dry_run:
            have = {(p.table, p.day) for p in parts if p.kind == "day"}
            result.created_partitions += [
                f"{t}_p{d:%Y%m%d}"
                for d in days
                for t in ("spans", "events", "metrics")
                if (t, d) not in have
            ]
        else:
            result.created_partitions += create_partitions(conn, days, lock_timeout=lock_timeout)
        if only is not None:
            return dropped  # one project's rows: partitions hold every project's
        # Partitions detached by an interrupted run: finish them first.
        for table, name in _orphans(conn, PARTITION_SCHEMA):
            qualified = f'"{PARTITION_SCHEMA}"."{name}"'
            n = _dump(conn, qualified, table, archive, dry_run)
            result.deleted[table] += n
            if not dry_run:
                conn.execute(f"DROP TABLE {qualified}")
            result.dropped_partitions.append(name)
        for table in RECORD_TABLES:
            ages = [config.policy(p).age(table) for p in projects] or [config.default.age(table)]
            if None in ages:
                continue
            cutoff = _cutoff(now, max(a for a in ages if a is not None))
            for part in parts:
                if (
                    part.table != table
                    or part.kind != "day"
                    or part.upper is None
                    or part.upper > cutoff
                ):
                    continue
                label = f"dropping partition {part.name}"
                assert part.lower is not None
                dropped[table].append((part.lower, part.upper))
                if dry_run:
                    n = _dump(conn, part.qualified, table, None, True)
                    result.deleted[table] += n
                    result.dropped_partitions.append(part.name)
                    if progress is not None:
                        progress(label, n)
                    continue
                try:
                    _retry_locked(partial(detach_partition, conn, part, lock_timeout=lock_timeout))
                except psycopg.errors.LockNotAvailable:
                    result.skipped.append(f"{part.name}: table busy (lock timeout); next run")
                    continue
                n = _dump(conn, part.qualified, table, archive, False)
                conn.execute(f"DROP TABLE {part.qualified}")
                result.deleted[table] += n
                result.dropped_partitions.append(part.name)
                if progress is not None:
                    progress(label, n)
    return dropped


def _retry_locked(action: Callable[[], None], attempts: int = 3) -> None:
    import psycopg

    for attempt in range(attempts):
        try:
            action()
            return
        except psycopg.errors.LockNotAvailable:
            if attempt + 1 == attempts:
                raise
            time.sleep(0.5 * (attempt + 1))


def _orphans(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
        (schema,),
    ).fetchall()
    out: list[tuple[str, str]] = []
    for (name,) in rows:
        found = _PARTITION_NAME.match(name)
        if found is not None:
            out.append((found.group(1), name))
    return sorted(out)


def _dump(
    conn: psycopg.Connection[Any],
    qualified: str,
    table: str,
    archive: _Archive | None,
    count_only: bool,
) -> int:
    """Rows of a partition (written to the archive when there is one); returns the count."""
    if archive is None or count_only:
        row = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()
        return int(row[0]) if row else 0
    layout = _LAYOUT[table]
    cols = ", ".join(f'"{c.name}"' for c in layout.table.columns)
    n = 0
    with conn.transaction(), conn.cursor(name="tracehound_archive") as cur:
        cur.itersize = 5000
        cur.execute(f"SELECT {cols} FROM {qualified}")
        while True:
            rows = cur.fetchmany(5000)
            if not rows:
                break
            archive.write(table, [_as_dict(layout, r) for r in rows])
            n += len(rows)
    archive.sync(table)
    return n
