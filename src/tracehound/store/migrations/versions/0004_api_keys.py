"""API keys of the tracehound server: ``api_keys``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

One row per key: ``id`` is the key's public part (12 hex digits), ``project`` the project it
grants, ``key_hash`` the SHA-256 of the whole key (the key itself is never stored),
``revoked_at`` set by ``tracehound keys revoke``. Types frozen here (see 0001).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.types.TypeEngine[Any]:
    # timestamptz on PostgreSQL; fixed-width UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column(
            "id",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            primary_key=True,
        ),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("name", sa.String()),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("revoked_at", _time()),
    )
    op.create_index("ix_api_keys_project", "api_keys", ["project"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_project", table_name="api_keys")
    op.drop_table("api_keys")
