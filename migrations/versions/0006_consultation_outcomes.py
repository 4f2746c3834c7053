"""Every consultation records its outcome: served, refused (with the rule) or not found, so a refused
read is never mistaken for a read that showed data.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        # Rows written before outcomes were kept were all reads that were served.
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=False, server_default="served"))
        batch.add_column(sa.Column("detail", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        batch.drop_column("detail")
        batch.drop_column("outcome")
