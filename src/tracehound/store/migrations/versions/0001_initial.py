"""The initial schema: spans, events, metrics, sessions and their indexes.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written out explicitly (types frozen here rather than imported from ``_schema``, so later
changes to the models cannot rewrite history). ``tests/store`` compares the result with
``_schema.metadata``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[str]:
    # Text ids; byte-wise ("C") collation on PostgreSQL.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _time() -> sa.types.TypeEngine[Any]:
    # timestamptz on PostgreSQL; fixed-width UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    # JSONB on PostgreSQL; JSON text in a TEXT column (TEXT affinity) on SQLite.
    return sa.Text().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "spans",
        sa.Column("id", _id(), primary_key=True),
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
    )
    op.create_index("ix_spans_trace_id", "spans", ["trace_id"])
    op.create_index("ix_spans_parent_id", "spans", ["parent_id"])
    op.create_index(
        "ix_spans_project_agent_name_start_time", "spans", ["project", "agent_name", "start_time"]
    )
    op.create_index(
        "ix_spans_project_kind_status_start_time",
        "spans",
        ["project", "kind", "status", "start_time"],
    )
    op.create_index("ix_spans_project_start_time", "spans", ["project", "start_time"])
    op.create_index("ix_spans_session_id", "spans", ["session_id"])
    op.create_index("ix_spans_conversation_id", "spans", ["conversation_id"])

    op.create_table(
        "events",
        sa.Column("id", _id(), primary_key=True),
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
    )
    op.create_index("ix_events_trace_id", "events", ["trace_id"])
    op.create_index("ix_events_span_id", "events", ["span_id"])
    op.create_index(
        "ix_events_project_agent_name_timestamp", "events", ["project", "agent_name", "timestamp"]
    )
    op.create_index("ix_events_project_type_timestamp", "events", ["project", "type", "timestamp"])
    op.create_index("ix_events_session_id", "events", ["session_id"])

    op.create_table(
        "metrics",
        sa.Column("id", _id(), primary_key=True),
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
    )
    op.create_index(
        "ix_metrics_project_name_timestamp", "metrics", ["project", "name", "timestamp"]
    )

    op.create_table(
        "sessions",
        sa.Column("id", _id(), primary_key=True),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("last_seen_at", _time(), nullable=False),
        sa.Column("ended_at", _time()),
        sa.Column("hostname", sa.String()),
        sa.Column("pid", sa.Integer()),
        sa.Column("summary", _json()),
    )


def downgrade() -> None:
    op.drop_table("sessions")
    op.drop_table("metrics")
    op.drop_table("events")
    op.drop_table("spans")
