"""Read models projected from the audit log: operation summaries, participants, pending tasks and open
hits, with each stream's projected sequence number and folded state (store/projections.py).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "projection_streams",
        sa.Column("stream_id", sa.String(120), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("hits_raised_at", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id", name="pk_projection_streams"),
    )
    op.create_table(
        "operation_summaries",
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("code_name", sa.String(80), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("lead_state", sa.String(8), nullable=False),
        sa.Column("member_states", sa.JSON(), nullable=False),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=True),
        sa.Column("parked", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("blocked_reasons", sa.JSON(), nullable=False),
        sa.Column("open_hits", sa.Integer(), nullable=False),
        sa.Column("pending_tasks", sa.Integer(), nullable=False),
        sa.Column("escalated_tasks", sa.Integer(), nullable=False),
        _when("earliest_due"), _when("opened_at"), _when("last_event_at"),
        sa.Column("handling_code", sa.String(4), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("operation_id", name="pk_operation_summaries"),
    )
    op.create_index("ix_operation_summaries_phase", "operation_summaries", ["phase"])
    op.create_index("ix_operation_summaries_priority", "operation_summaries", ["priority"])
    op.create_table(
        "operation_participants",
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("member_state", sa.String(8), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("operation_id", "member_state", name="pk_operation_participants"),
    )
    op.create_index("ix_operation_participants_member_state", "operation_participants", ["member_state"])
    op.create_table(
        "pending_tasks",
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("code_name", sa.String(80), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("member_state", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        _when("due", nullable=False),
        sa.Column("four_eyes", sa.Boolean(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("item_id", sa.String(120), nullable=True),
        sa.Column("release_to", sa.String(8), nullable=True),
        sa.PrimaryKeyConstraint("operation_id", "task_id", name="pk_pending_tasks"),
    )
    op.create_index("ix_pending_tasks_due", "pending_tasks", ["due"])
    op.create_index("ix_pending_tasks_member_state_due", "pending_tasks", ["member_state", "due"])
    op.create_table(
        "open_hits",
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("hit_id", sa.String(64), nullable=False),
        sa.Column("member_state", sa.String(8), nullable=False),
        sa.Column("code_name", sa.String(80), nullable=False),
        sa.Column("our_states", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("matched", sa.Text(), nullable=False),
        sa.Column("own_ref", sa.String(120), nullable=False),
        sa.Column("own_ref_handling_code", sa.String(4), nullable=False),
        sa.Column("other_state", sa.String(8), nullable=False),
        sa.Column("other_contact", sa.String(200), nullable=False),
        sa.Column("other_handling_code", sa.String(4), nullable=False),
        _when("raised_at"),
        sa.PrimaryKeyConstraint("operation_id", "hit_id", "member_state", name="pk_open_hits"),
    )
    op.create_index("ix_open_hits_member_state", "open_hits", ["member_state"])


def downgrade() -> None:
    for table in ("open_hits", "pending_tasks", "operation_participants", "operation_summaries",
                  "projection_streams"):
        op.drop_table(table)
