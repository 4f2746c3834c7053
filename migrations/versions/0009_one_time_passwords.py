"""A password an administrator's one-time secret set (registration, reset, the first administrator) must
be replaced by its holder before anything else.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("principals", sa.Column("password_must_change", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("password_must_change")
