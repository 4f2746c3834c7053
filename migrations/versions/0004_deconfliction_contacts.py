"""Points of contact and handling codes of operations in the deconfliction index.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deconfliction_operations",
        sa.Column("operation_id", sa.String(120), nullable=False),
        sa.Column("point_of_contact", sa.String(200), nullable=False),
        sa.Column("handling_code", sa.String(4), nullable=False),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_deconfliction_operations")),
    )


def downgrade() -> None:
    op.drop_table("deconfliction_operations")
