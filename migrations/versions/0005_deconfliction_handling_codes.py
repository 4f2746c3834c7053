"""Each indexed identifier and person keeps the handling code of the target or item it came from, so
a hit tells the other side the code of what matched rather than only the operation's.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("deconfliction_identifiers", "deconfliction_persons")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("handling_code", sa.String(4), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("handling_code")
