"""initial: audit_events, principals, notifications

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("stream_id", sa.String(120), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.String(120), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("member_state", sa.String(8), nullable=True),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_audit_events"),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
        sa.UniqueConstraint("stream_id", "seq", name="uq_audit_events_stream_id_seq"),
    )
    op.create_table(
        "principals",
        sa.Column("id", sa.String(120), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("member_state", sa.String(8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_principals"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("recipient_role", sa.String(32), nullable=False),
        sa.Column("recipient_state", sa.String(8), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index("ix_notifications_operation_id", "notifications", ["operation_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_operation_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("principals")
    op.drop_table("audit_events")
