"""PostgreSQL: spans, events and metrics become range-partitioned by time (by UTC day).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

PostgreSQL only (nothing changes on SQLite). ``spans`` is partitioned on ``start_time``,
``events`` and ``metrics`` on ``timestamp``; the partitions live in the schema
``tracehound_partitions``, out of the way of the tables people query:

* ``<table>_history`` — ``FROM (MINVALUE) TO (<UTC midnight of the upgrade day>)``: the rows
  the table already held (attached in place: the table is not rewritten) and anything older
  that arrives later;
* ``<table>_pYYYYMMDD`` — one per UTC day, created ahead of time by the exporter and by
  ``tracehound prune`` (:mod:`tracehound.store._postgres`), dropped whole by retention; a
  day of ``spans`` is itself list-partitioned by ``kind`` (``_agent``, ``_llm``, ``_other``),
  so the analytics that read agent executions or LLM calls read only those rows;
* ``<table>_default`` — rows of days that have no partition yet (their rows move into the
  day's partition when it is created).

A unique constraint on a partitioned table must contain the partition keys, so the primary
key becomes ``(id, <time>)`` (``(id, start_time, kind)`` for spans). Every write path upserts
on it: a record delivered twice has the same id, time and kind (a running snapshot and its
final span share them), so idempotency holds — see ``docs/storage-at-scale.md``. Column types
and indexes are unchanged (the schema-vs-metadata comparison does not see the key change nor
the partitions).

JIT compilation is turned off for the database (when the migrating role may): tracehound's
queries are aggregations of a second or less, where compiling costs more than it saves
(0.2–0.7 s of the analytics summary at 10M spans).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tracehound_partitions"
KEYS = {"spans": "start_time", "events": "timestamp", "metrics": "timestamp"}
# Primary keys: id plus every partition key.
PRIMARY = {"spans": ("id", "start_time", "kind"), "events": ("id", "timestamp"),
           "metrics": ("id", "timestamp")}  # fmt: skip
JIT_OFF = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'tracehound: not allowed to turn JIT off for this database';
END
$$
"""
JIT_RESET = JIT_OFF.replace("SET jit = off", "RESET jit")


# -- frozen copies of the 0001 definitions -------------------------------------------------


def _id() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _time() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def _columns(table: str) -> list[sa.Column[Any]]:
    if table == "spans":
        return [
            sa.Column("id", _id(), nullable=False),
            sa.Column("trace_id", _id(), nullable=False),
            sa.Column("parent_id", _id()),
            sa.Column("session_id", _id(), nullable=False),
            sa.Column("project", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("start_time", _time(), nullable=False),
            sa.Column("end_time", _time()),
            sa.Column("duration_ms", sa.Double()),
            sa.Column("agent_name", sa.String()),
            sa.Column("agent_role", sa.String()),
            sa.Column("agent_id", sa.String()),
            sa.Column("conversation_id", sa.String()),
            sa.Column("user_id", sa.String()),
            sa.Column("status_message", sa.Text()),
            sa.Column("input", _json()),
            sa.Column("output", _json()),
            sa.Column("error_type", sa.String()),
            sa.Column("error_message", sa.Text()),
            sa.Column("error_traceback", sa.Text()),
            sa.Column("attributes", _json()),
            sa.Column("provider", sa.String()),
            sa.Column("model", sa.String()),
            sa.Column("input_tokens", sa.BigInteger()),
            sa.Column("output_tokens", sa.BigInteger()),
            sa.Column("cached_tokens", sa.BigInteger()),
            sa.Column("reasoning_tokens", sa.BigInteger()),
            sa.Column("total_tokens", sa.BigInteger()),
            sa.Column("input_cost", sa.Double()),
            sa.Column("output_cost", sa.Double()),
            sa.Column("total_cost", sa.Double()),
            sa.Column("cost_source", sa.String()),
            sa.Column("is_streaming", sa.Boolean()),
            sa.Column("chunks_count", sa.Integer()),
            sa.Column("time_to_first_token_ms", sa.Double()),
        ]
    if table == "events":
        return [
            sa.Column("id", _id(), nullable=False),
            sa.Column("trace_id", _id()),
            sa.Column("span_id", _id()),
            sa.Column("session_id", _id(), nullable=False),
            sa.Column("project", sa.String(), nullable=False),
            sa.Column("timestamp", _time(), nullable=False),
            sa.Column("type", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("level", sa.String(), nullable=False),
            sa.Column("agent_name", sa.String()),
            sa.Column("agent_role", sa.String()),
            sa.Column("agent_id", sa.String()),
            sa.Column("message", sa.Text()),
            sa.Column("data", _json()),
        ]
    return [
        sa.Column("id", _id(), nullable=False),
        sa.Column("session_id", _id(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("timestamp", _time(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String()),
        sa.Column("tags", _json()),
        sa.Column("trace_id", _id()),
        sa.Column("span_id", _id()),
        sa.Column("agent_name", sa.String()),
    ]


INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "spans": [
        ("ix_spans_trace_id", ["trace_id"]),
        ("ix_spans_parent_id", ["parent_id"]),
        ("ix_spans_project_agent_name_start_time", ["project", "agent_name", "start_time"]),
        (
            "ix_spans_project_kind_status_start_time",
            ["project", "kind", "status", "start_time"],
        ),
        ("ix_spans_project_start_time", ["project", "start_time"]),
        ("ix_spans_session_id", ["session_id"]),
        ("ix_spans_conversation_id", ["conversation_id"]),
    ],
    "events": [
        ("ix_events_trace_id", ["trace_id"]),
        ("ix_events_span_id", ["span_id"]),
        ("ix_events_project_agent_name_timestamp", ["project", "agent_name", "timestamp"]),
        ("ix_events_project_type_timestamp", ["project", "type", "timestamp"]),
        ("ix_events_session_id", ["session_id"]),
    ],
    "metrics": [
        ("ix_metrics_project_name_timestamp", ["project", "name", "timestamp"]),
    ],
}


def _q(name: str) -> str:
    return '"' + name + '"'


# -- upgrade ---------------------------------------------------------------------------------


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    now = datetime.now(UTC)
    bound = datetime(now.year, now.month, now.day, tzinfo=UTC).isoformat()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.execute(JIT_OFF)
    for table, key in KEYS.items():
        history = f"{table}_history"
        # The existing table becomes the history partition, in place (no rewrite).
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {table} SET SCHEMA {SCHEMA}")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} RENAME TO {history}")
        for name, _cols in INDEXES[table]:
            op.execute(
                f"ALTER INDEX {SCHEMA}.{name} RENAME TO {history}_{name[len('ix_' + table) + 1 :]}"
            )
        op.create_table(
            table,
            *_columns(table),
            sa.PrimaryKeyConstraint(*PRIMARY[table], name=f"{table}_pkey"),
            postgresql_partition_by=f"RANGE ({_q(key)})",
        )
        for name, cols in INDEXES[table]:
            op.create_index(name, table, cols)
        op.execute(f"CREATE TABLE {SCHEMA}.{table}_default PARTITION OF {table} DEFAULT")
        # Rows from the upgrade day on (or with future times) wait in the default partition
        # until their day's partition is created.
        op.execute(
            f"WITH moved AS (DELETE FROM {SCHEMA}.{history} WHERE {_q(key)} >= '{bound}' "
            f"RETURNING *) INSERT INTO {SCHEMA}.{table}_default SELECT * FROM moved"
        )
        op.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {SCHEMA}.{history} "
            f"FOR VALUES FROM (MINVALUE) TO ('{bound}')"
        )


# -- downgrade -------------------------------------------------------------------------------


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    home = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    for table in KEYS:
        plain = f"{table}_plain"
        op.create_table(
            plain,
            *_columns(table),
            sa.PrimaryKeyConstraint("id", name=f"{table}_pkey"),
            schema=SCHEMA,
        )
        op.execute(
            f"INSERT INTO {SCHEMA}.{plain} SELECT * FROM {table} ON CONFLICT (id) DO NOTHING"
        )
        op.execute(f"DROP TABLE {table}")  # with every partition
        op.execute(f"ALTER TABLE {SCHEMA}.{plain} SET SCHEMA {_q(home)}")
        op.execute(f"ALTER TABLE {plain} RENAME TO {table}")
        for name, cols in INDEXES[table]:
            op.create_index(name, table, cols)
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    op.execute(JIT_RESET)
