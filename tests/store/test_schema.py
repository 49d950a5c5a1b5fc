"""Schema: mirrors the records, equals the migrations, dialect helpers behave alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Index, Integer, MetaData, Table, func, select

import tracehound.store as store
from tracehound.model import Event, Metric, Span
from tracehound.store import _dialect, _migrate, _schema
from tracehound.store._engine import make_engine, sqlalchemy_url, sqlite_path
from tracehound.store._time import datetime_to_ns, format_ns, ns_to_datetime, parse_text

from ._support import T0, make_span


def test_record_tables_mirror_the_records_in_field_order() -> None:
    assert tuple(_schema.spans.c.keys()) == Span._fields
    assert tuple(_schema.events.c.keys()) == Event._fields
    assert tuple(_schema.metrics.c.keys()) == Metric._fields
    assert tuple(_schema.sessions.c.keys()) == (
        "id",
        "project",
        "started_at",
        "last_seen_at",
        "ended_at",
        "hostname",
        "pid",
        "summary",
    )


def test_indexes_are_the_lean_set() -> None:
    def cols(table: Table) -> set[tuple[str, ...]]:
        return {tuple(c.name for c in index.columns) for index in table.indexes}

    assert cols(_schema.spans) == {
        ("trace_id",),
        ("parent_id",),
        ("project", "agent_name", "start_time"),
        ("project", "kind", "status", "start_time"),
        ("project", "start_time"),
        ("session_id",),
        ("conversation_id",),
    }
    assert cols(_schema.events) == {
        ("trace_id",),
        ("span_id",),
        ("project", "agent_name", "timestamp"),
        ("project", "type", "timestamp"),
        ("session_id",),
    }
    assert cols(_schema.metrics) == {("project", "name", "timestamp")}
    assert cols(_schema.sessions) == set()


def test_revisions_constant_matches_the_migration_scripts() -> None:
    script = ScriptDirectory(str(_migrate.MIGRATIONS_DIR))
    assert script.get_current_head() == _migrate.head_revision() == _migrate.HEAD
    history = [rev.revision for rev in script.walk_revisions()]
    assert tuple(reversed(history)) == _migrate.REVISIONS


def test_migrations_produce_exactly_the_metadata(store_url: str) -> None:
    store.ensure_schema(store_url)
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, _schema.metadata) == []
    finally:
        engine.dispose()


def test_comparison_would_notice_a_difference(sqlite_url: str) -> None:
    store.ensure_schema(sqlite_url)
    changed = MetaData()
    for table in _schema.metadata.sorted_tables:
        table.to_metadata(changed)
    Table("extra", changed, Column("id", Integer, primary_key=True))
    Index("ix_extra", changed.tables["spans"].c.model)
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            kinds = {diff[0] for diff in compare_metadata(context, changed)}
    finally:
        engine.dispose()
    assert {"add_table", "add_index"} <= kinds


# -- time handling ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "1970-01-01 00:00:00.000000"),
        (T0, "2026-01-01 00:00:00.000000"),
        (T0 + 123_456_789, "2026-01-01 00:00:00.123456"),
        (T0 - 1, "2025-12-31 23:59:59.999999"),
        (-1, "1969-12-31 23:59:59.999999"),
    ],
)
def test_format_ns_is_fixed_width_utc(ns: int, text: str) -> None:
    assert format_ns(ns) == text
    assert len(format_ns(ns)) == 26


def test_format_ns_text_order_is_time_order() -> None:
    times = sorted(T0 + delta for delta in (0, 1_000, 999_999_000, 10**9, 86_400 * 10**9, 7))
    texts = [format_ns(t) for t in times]
    assert texts == sorted(texts)


def test_time_conversions_round_trip_at_microseconds() -> None:
    ns = T0 + 1_234_567_891
    dt = parse_text(format_ns(ns))
    assert dt.tzinfo is UTC
    assert datetime_to_ns(dt) == ns // 1000 * 1000
    assert ns_to_datetime(ns) == dt
    assert datetime_to_ns(dt.replace(tzinfo=None)) == datetime_to_ns(dt)


def test_utc_timestamp_round_trips_on_both_dialects(store_url: str) -> None:
    store.ensure_schema(store_url)
    local = datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))  # 00:00 UTC
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                _schema.sessions.insert(),
                [
                    {"id": "a", "project": "p", "started_at": T0, "last_seen_at": local},
                    {
                        "id": "b",
                        "project": "p",
                        "started_at": datetime(2026, 1, 1, 1, 0),  # naive = UTC
                        "last_seen_at": T0 + 5_000,
                    },
                ],
            )
            rows = conn.execute(
                select(
                    _schema.sessions.c.id,
                    _schema.sessions.c.started_at,
                    _schema.sessions.c.last_seen_at,
                ).order_by(_schema.sessions.c.id)
            ).all()
            later = conn.execute(
                select(func.count())
                .select_from(_schema.sessions)
                .where(_schema.sessions.c.started_at > datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
            ).scalar_one()
    finally:
        engine.dispose()
    assert rows[0].started_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert rows[0].last_seen_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert rows[1].started_at == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert datetime_to_ns(rows[1].last_seen_at) == T0 + 5_000
    assert all(r.started_at.utcoffset() == timedelta(0) for r in rows)
    assert later == 1


# -- SQL helpers ----------------------------------------------------------------------------


def test_time_bucket_and_json_text_agree_across_dialects(store_url: str, writer: object) -> None:
    spans = [
        make_span(start_time=T0 + 5 * 10**9, attributes={"vault_id": "v1", "n": 3}),
        make_span(start_time=T0 + 59 * 10**9, attributes={"vault_id": "v1"}),
        make_span(start_time=T0 + 61 * 10**9, attributes={"vault_id": "v2", "flag": True}),
        make_span(start_time=T0 + 3600 * 10**9, attributes={}),
    ]
    writer(spans)  # type: ignore[operator]
    engine = make_engine(store_url)
    dialect = engine.dialect.name
    table = _schema.spans
    bucket = _dialect.time_bucket(table.c.start_time, 60, dialect).label("bucket")
    vault = _dialect.json_text(table.c.attributes, "vault_id", dialect).label("vault")
    number = _dialect.json_text(table.c.attributes, "n", dialect)
    try:
        with engine.connect() as conn:
            per_bucket = conn.execute(
                select(bucket, vault, func.count()).group_by(bucket, vault).order_by(bucket, vault)
            ).all()
            numbers = conn.execute(select(number).order_by(table.c.start_time)).scalars().all()
            seconds = (
                conn.execute(
                    select(_dialect.epoch_seconds(table.c.start_time, dialect)).order_by(
                        table.c.start_time
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    minute = datetime(2026, 1, 1, tzinfo=UTC)
    assert [tuple(r) for r in per_bucket] == [
        (minute, "v1", 2),
        (minute + timedelta(minutes=1), "v2", 1),
        (minute + timedelta(hours=1), None, 1),
    ]
    assert numbers == ["3", None, None, None]
    assert seconds == [T0 // 10**9 + s for s in (5, 59, 61, 3600)]


def test_time_bucket_rejects_bad_widths() -> None:
    for width in (0, -5, 1.5, True):
        with pytest.raises(ValueError):
            _dialect.time_bucket(_schema.spans.c.start_time, width, "sqlite")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _dialect.json_text(_schema.spans.c.attributes, 'a"b', "sqlite")


# -- URLs -----------------------------------------------------------------------------------


def test_urls() -> None:
    assert sqlite_path("sqlite:///rel/x.db") is not None
    assert str(sqlite_path("sqlite:////abs/x.db")) == "/abs/x.db"
    assert str(sqlite_path("sqlite:///rel/x.db")) == "rel/x.db"
    assert sqlite_path("postgresql://u@h:5432/db") is None
    assert sqlalchemy_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    for bad in ("sqlite://", "sqlite:///:memory:", "mysql://x/y"):
        with pytest.raises(ValueError):
            sqlite_path(bad)


def test_public_names_are_sorted_and_resolve() -> None:
    assert store.__all__ == sorted(store.__all__)
    for name in store.__all__:
        assert getattr(store, name) is not None
