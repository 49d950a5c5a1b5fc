"""The seeds' tables as views: ``execution_logs``, ``llm_call_logs`` (seed 002),
``agent_executions`` (seed 003) and ``agent_actions`` (seed 004).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Views over ``spans`` and ``events``, named and shaped like the seeds' tables (their columns
first, in the seeds' order, then a few tracehound columns), so the SQL printed in the seeds
runs unchanged. The mapping follows ``docs/data-model.md``:

* ``execution_logs`` — agent spans; ``execution_id`` is the trace id; statuses in seed 002's
  words (``started``, ``completed``, ``failed``, ``cancelled``…); links from the attributes.
* ``llm_call_logs`` — llm spans; ``prompt`` / ``response`` are the input / output as text.
* ``agent_executions`` — agent spans; ``execution_id`` is the span id; seed 003 fields
  (``vault_id``, ``current_stage``, relevance check…) from the attributes.
* ``agent_actions`` — tool spans (``action_type = 'tool_call'``, details
  ``{tool_parameters, tool_result, status, error_type, error_message}``) and events of type
  ``decision`` / ``error`` / ``success`` (details = ``data.action_details`` or ``data``; an
  error's ``message`` is its ``error_message`` when the details have none);
  ``correlation_id`` is the trace id; ``created_at`` the record time.

Both dialects get the same columns; JSON columns are ``jsonb`` on PostgreSQL and JSON text on
SQLite, times ``timestamptz`` / the stored UTC text. No new index: the views filter on indexed
columns (``kind``, ``type``, ``trace_id``) and partition keys (``created_at`` is the
partition key itself, so time filters prune partitions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("agent_actions", "agent_executions", "llm_call_logs", "execution_logs")
LINKS = ("report_id", "completion_id", "widget_id", "step_id", "external_platform")


class _Sql:
    """The few expressions that differ between the dialects."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def text(self, column: str, key: str) -> str:
        """Top-level ``key`` of a JSON column as text."""
        if self.pg:
            return f"{column}->>'{key}'"
        return f"json_extract({column}, '$.\"{key}\"')"

    def value(self, column: str, key: str) -> str:
        """Top-level ``key`` of a JSON column as JSON."""
        if self.pg:
            return f"{column}->'{key}'"
        return (
            f"CASE WHEN json_type({column}, '$.\"{key}\"') IN ('object', 'array') "
            f"THEN json_extract({column}, '$.\"{key}\"') "
            f"WHEN json_type({column}, '$.\"{key}\"') IS NOT NULL "
            f"THEN json_quote(json_extract({column}, '$.\"{key}\"')) END"
        )

    def as_text(self, column: str) -> str:
        """A whole JSON column as text: strings unquoted, other values as JSON."""
        if self.pg:
            return f"({column} #>> '{{}}')"
        return f"CAST(json_extract({column}, '$') AS TEXT)"

    def typed(self, column: str, key: str, kind: str) -> str:
        """``key`` as a boolean / double / bigint when it holds a JSON value of that kind."""
        if self.pg:
            cast = {"boolean": "boolean", "number": "double precision"}[kind]
            return (
                f"CASE WHEN jsonb_typeof({column}->'{key}') = '{kind}' "
                f"THEN ({column}->>'{key}')::{cast} END"
            )
        kinds = "('true', 'false')" if kind == "boolean" else "('integer', 'real')"
        return (
            f"CASE WHEN json_type({column}, '$.\"{key}\"') IN {kinds} "
            f"THEN json_extract({column}, '$.\"{key}\"') END"
        )

    def whole_ms(self, expr: str) -> str:
        return f"CAST(ROUND({expr}) AS BIGINT)"

    def details_of_event(self) -> str:
        """``data.action_details`` (else ``data``) of an event; for an error, with its
        ``message`` as ``error_message`` when the details have none."""
        if self.pg:
            base = "COALESCE(e.data->'action_details', e.data, '{}'::jsonb)"
            return (
                f"CASE WHEN e.type = 'error' AND e.message IS NOT NULL "
                f"AND jsonb_typeof({base}) = 'object' AND {base}->'error_message' IS NULL "
                f"THEN {base} || jsonb_build_object('error_message', e.message) "
                f"ELSE {base} END"
            )
        base = (
            "CASE WHEN json_type(e.data, '$.action_details') = 'object' "
            "THEN json_extract(e.data, '$.action_details') ELSE COALESCE(e.data, '{}') END"
        )
        return (
            f"CASE WHEN e.type = 'error' AND e.message IS NOT NULL "
            f"AND json_type({base}) = 'object' "
            f"AND json_type({base}, '$.error_message') IS NULL "
            f"THEN json_set({base}, '$.error_message', e.message) "
            f"ELSE {base} END"
        )

    def tool_details(self, error: str) -> str:
        if self.pg:
            return (
                "jsonb_build_object('tool_parameters', s.input, 'tool_result', s.output, "
                f"'status', s.status, 'error_type', s.error_type, 'error_message', {error})"
            )
        return (
            "json_object('tool_parameters', json(s.input), 'tool_result', json(s.output), "
            f"'status', s.status, 'error_type', s.error_type, 'error_message', {error})"
        )

    def event_ms(self) -> str:
        if self.pg:
            return (
                "CASE WHEN jsonb_typeof(e.data->'duration_ms') = 'number' "
                "THEN CAST(ROUND((e.data->>'duration_ms')::numeric) AS BIGINT) END"
            )
        return (
            "CASE WHEN json_type(e.data, '$.duration_ms') IN ('integer', 'real') "
            "THEN CAST(ROUND(json_extract(e.data, '$.duration_ms')) AS BIGINT) END"
        )

    def boolean(self, value: str) -> str:
        return value if self.pg else ("1" if value == "true" else "0")

    def tool_call(self) -> str:
        return "CAST('tool_call' AS TEXT)" if self.pg else "'tool_call'"


def _error(sql: _Sql, alias: str = "s") -> str:
    return (
        f"COALESCE({alias}.error_message, {sql.text(alias + '.attributes', 'error_message')}, "
        f"CASE WHEN {alias}.status IN ('failed', 'timeout', 'cancelled') "
        f"THEN {alias}.status_message END)"
    )


def _seed002_status(alias: str = "s") -> str:
    return (
        f"CASE {alias}.status WHEN 'success' THEN 'completed' WHEN 'running' THEN 'started' "
        f"WHEN 'pending' THEN 'started' ELSE {alias}.status END"
    )


def execution_logs(sql: _Sql) -> str:
    a = "s.attributes"
    links = ",\n    ".join(f"{sql.text(a, k)} AS {k}" for k in (*LINKS, "external_user_id"))
    return f"""CREATE VIEW execution_logs AS
SELECT
    s.id,
    s.trace_id AS execution_id,
    s.agent_name AS agent_type,
    COALESCE({sql.text(a, "execution_step")}, s.name) AS execution_step,
    {sql.text(a, "action_type")} AS action_type,
    {_seed002_status()} AS status,
    s.start_time,
    s.end_time,
    {sql.whole_ms("s.duration_ms")} AS duration_ms,
    s.input AS input_data,
    s.output AS output_data,
    {_error(sql)} AS error_message,
    {sql.value(a, "metadata")} AS metadata,
    {links},
    s.start_time AS created_at,
    COALESCE(s.end_time, s.start_time) AS updated_at,
    s.parent_id,
    s.error_type,
    s.project,
    s.session_id
FROM spans s
WHERE s.kind = 'agent'"""


def llm_call_logs(sql: _Sql) -> str:
    a = "s.attributes"
    streaming = sql.boolean("true")
    return f"""CREATE VIEW llm_call_logs AS
SELECT
    s.id,
    COALESCE({sql.text(a, "execution_log_id")}, s.parent_id) AS execution_log_id,
    s.provider,
    s.model AS model_id,
    COALESCE({sql.text(a, "call_type")},
             CASE WHEN s.is_streaming = {streaming} THEN 'inference_stream' ELSE 'inference' END)
        AS call_type,
    {_seed002_status()} AS status,
    s.start_time,
    s.end_time,
    {sql.whole_ms("s.duration_ms")} AS duration_ms,
    {sql.as_text("s.input")} AS prompt,
    {sql.as_text("s.output")} AS response,
    {_error(sql)} AS error_message,
    s.input_tokens,
    s.output_tokens,
    s.total_tokens,
    s.input_cost,
    s.output_cost,
    s.total_cost,
    COALESCE(s.is_streaming, {sql.boolean("false")}) AS is_streaming,
    s.chunks_count,
    {sql.value(a, "metadata")} AS metadata,
    {sql.text(a, "report_id")} AS report_id,
    {sql.text(a, "completion_id")} AS completion_id,
    s.start_time AS created_at,
    COALESCE(s.end_time, s.start_time) AS updated_at,
    s.trace_id AS execution_id,
    s.cached_tokens,
    s.reasoning_tokens,
    s.cost_source,
    s.time_to_first_token_ms,
    s.agent_name,
    s.project,
    s.session_id
FROM spans s
WHERE s.kind = 'llm'"""


def agent_executions(sql: _Sql) -> str:
    a = "s.attributes"
    stage = (
        f"COALESCE({sql.text(a, 'failed_stage')}, {sql.text(a, 'current_stage')}, "
        f"{sql.text(a, 'last_stage')})"
    )
    return f"""CREATE VIEW agent_executions AS
SELECT
    s.id,
    s.id AS execution_id,
    s.agent_name,
    COALESCE({sql.text(a, "method")}, s.name) AS method,
    s.status,
    COALESCE({sql.text(a, "execution_status")}, s.status) AS execution_status,
    {stage} AS current_stage,
    {sql.text(a, "vault_id")} AS vault_id,
    s.conversation_id,
    s.user_id,
    {sql.text(a, "parent_execution_id")} AS parent_execution_id,
    {sql.text(a, "call_reason")} AS call_reason,
    {sql.typed(a, "should_respond", "boolean")} AS should_respond,
    {sql.typed(a, "relevance_score", "number")} AS relevance_score,
    {sql.text(a, "relevance_reasoning")} AS relevance_reasoning,
    s.input AS input_data,
    s.output AS output_data,
    s.error_type,
    {_error(sql)} AS error_message,
    s.error_traceback,
    s.status_message,
    s.start_time AS started_at,
    s.end_time AS completed_at,
    s.duration_ms,
    s.start_time AS created_at,
    COALESCE(s.end_time, s.start_time) AS updated_at,
    s.trace_id,
    s.parent_id,
    s.session_id,
    s.project
FROM spans s
WHERE s.kind = 'agent'"""


def agent_actions(sql: _Sql) -> str:
    a, d = "s.attributes", "e.data"
    default_debug = sql.boolean("true")

    def context(column: str) -> str:
        return (
            f"{sql.text(column, 'project_path')} AS project_path,\n    "
            f"{sql.text(column, 'project_name')} AS project_name,\n    "
            f"{sql.text(column, 'working_directory')} AS working_directory,\n    "
            f"COALESCE({sql.typed(column, 'debug_mode', 'boolean')}, {default_debug}) "
            "AS debug_mode"
        )

    return f"""CREATE VIEW agent_actions AS
SELECT
    s.id,
    s.trace_id AS correlation_id,
    s.agent_name,
    {sql.tool_call()} AS action_type,
    s.name AS action_name,
    {sql.tool_details(_error(sql))} AS action_details,
    {sql.whole_ms("s.duration_ms")} AS duration_ms,
    {context(a)},
    s.start_time AS created_at,
    s.project,
    s.session_id
FROM spans s
WHERE s.kind = 'tool'
UNION ALL
SELECT
    e.id,
    e.trace_id AS correlation_id,
    e.agent_name,
    e.type AS action_type,
    e.name AS action_name,
    {sql.details_of_event()} AS action_details,
    {sql.event_ms()} AS duration_ms,
    {context(d)},
    e.timestamp AS created_at,
    e.project,
    e.session_id
FROM events e
WHERE e.type IN ('decision', 'error', 'success')"""


BUILDERS: tuple[Callable[[_Sql], str], ...] = (
    execution_logs,
    llm_call_logs,
    agent_executions,
    agent_actions,
)


def upgrade() -> None:
    sql = _Sql(op.get_bind().dialect.name)
    for build in BUILDERS:
        op.execute(build(sql))


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
