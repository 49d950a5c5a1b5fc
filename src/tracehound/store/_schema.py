"""The store's tables (SQLAlchemy Core): ``spans``, ``events``, ``metrics``, ``sessions``.

The record tables mirror :mod:`tracehound.model` field by field and in field order (a test
pins this), so writers can bind a record's values positionally. Indexes are the ones the
read paths need and no more: each costs insert time. The migrations in ``migrations/``
create exactly this schema (a test compares them).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from ._dialect import UtcTimestamp, id_type, json_type

__all__ = ["TABLES", "events", "metadata", "metrics", "sessions", "spans"]

metadata: Final = MetaData()

spans: Final = Table(
    "spans",
    metadata,
    Column("id", id_type(), primary_key=True),
    Column("trace_id", id_type(), nullable=False),
    Column("parent_id", id_type()),
    Column("session_id", id_type(), nullable=False),
    Column("project", String(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("name", String(), nullable=False),
    Column("status", String(), nullable=False),
    Column("start_time", UtcTimestamp(), nullable=False),
    Column("end_time", UtcTimestamp()),
    Column("duration_ms", Double()),
    Column("agent_name", String()),
    Column("agent_role", String()),
    Column("agent_id", String()),
    Column("conversation_id", String()),
    Column("user_id", String()),
    Column("status_message", Text()),
    Column("input", json_type()),
    Column("output", json_type()),
    Column("error_type", String()),
    Column("error_message", Text()),
    Column("error_traceback", Text()),
    Column("attributes", json_type()),
    Column("provider", String()),
    Column("model", String()),
    Column("input_tokens", BigInteger()),
    Column("output_tokens", BigInteger()),
    Column("cached_tokens", BigInteger()),
    Column("reasoning_tokens", BigInteger()),
    Column("total_tokens", BigInteger()),
    Column("input_cost", Double()),
    Column("output_cost", Double()),
    Column("total_cost", Double()),
    Column("cost_source", String()),
    Column("is_streaming", Boolean()),
    Column("chunks_count", Integer()),
    Column("time_to_first_token_ms", Double()),
    Index("ix_spans_trace_id", "trace_id"),
    Index("ix_spans_parent_id", "parent_id"),
    Index("ix_spans_project_agent_name_start_time", "project", "agent_name", "start_time"),
    Index("ix_spans_project_kind_status_start_time", "project", "kind", "status", "start_time"),
    Index("ix_spans_project_start_time", "project", "start_time"),
    Index("ix_spans_session_id", "session_id"),
    Index("ix_spans_conversation_id", "conversation_id"),
)

events: Final = Table(
    "events",
    metadata,
    Column("id", id_type(), primary_key=True),
    Column("trace_id", id_type()),
    Column("span_id", id_type()),
    Column("session_id", id_type(), nullable=False),
    Column("project", String(), nullable=False),
    Column("timestamp", UtcTimestamp(), nullable=False),
    Column("type", String(), nullable=False),
    Column("name", String(), nullable=False),
    Column("level", String(), nullable=False),
    Column("agent_name", String()),
    Column("agent_role", String()),
    Column("agent_id", String()),
    Column("message", Text()),
    Column("data", json_type()),
    Index("ix_events_trace_id", "trace_id"),
    Index("ix_events_span_id", "span_id"),
    Index("ix_events_project_agent_name_timestamp", "project", "agent_name", "timestamp"),
    Index("ix_events_project_type_timestamp", "project", "type", "timestamp"),
    Index("ix_events_session_id", "session_id"),
)

metrics: Final = Table(
    "metrics",
    metadata,
    Column("id", id_type(), primary_key=True),
    Column("session_id", id_type(), nullable=False),
    Column("project", String(), nullable=False),
    Column("timestamp", UtcTimestamp(), nullable=False),
    Column("name", String(), nullable=False),
    Column("value", Double(), nullable=False),
    Column("unit", String()),
    Column("tags", json_type()),
    Column("trace_id", id_type()),
    Column("span_id", id_type()),
    Column("agent_name", String()),
    Index("ix_metrics_project_name_timestamp", "project", "name", "timestamp"),
)

sessions: Final = Table(
    "sessions",
    metadata,
    Column("id", id_type(), primary_key=True),
    Column("project", String(), nullable=False),
    Column("started_at", UtcTimestamp(), nullable=False),
    Column("last_seen_at", UtcTimestamp(), nullable=False),
    Column("ended_at", UtcTimestamp()),
    Column("hostname", String()),
    Column("pid", Integer()),
    Column("summary", json_type()),
)

TABLES: Final = {t.name: t for t in (spans, events, metrics, sessions)}

api_keys: Final = Table(
    "api_keys",
    metadata,
    Column("id", id_type(), primary_key=True),
    Column("project", String(), nullable=False),
    Column("name", String()),
    Column("key_hash", String(), nullable=False),
    Column("created_at", UtcTimestamp(), nullable=False),
    Column("revoked_at", UtcTimestamp()),
    Index("ix_api_keys_project", "project"),
)
