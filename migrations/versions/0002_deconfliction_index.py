"""deconfliction index: identifiers, persons (+ their keys), action windows

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                     nullable=False)


def _owner() -> list[sa.Column]:
    return [sa.Column("operation_id", sa.String(120), nullable=False),
            sa.Column("member_state", sa.String(8), nullable=False),
            sa.Column("ref", sa.String(120), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "deconfliction_identifiers",
        _id(), *_owner(),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deconfliction_identifiers"),
        sa.UniqueConstraint("operation_id", "key", name="uq_deconfliction_identifiers_operation_id_key"),
    )
    op.create_index("ix_deconfliction_identifiers_key", "deconfliction_identifiers", ["key"])
    op.create_table(
        "deconfliction_persons",
        _id(), *_owner(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("names", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.String(10), nullable=True),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deconfliction_persons"),
        sa.UniqueConstraint("operation_id", "fingerprint",
                            name="uq_deconfliction_persons_operation_id_fingerprint"),
    )
    op.create_table(
        "deconfliction_person_keys",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["deconfliction_persons.id"], ondelete="CASCADE",
                                name="fk_deconfliction_person_keys_person_id_deconfliction_persons"),
        sa.PrimaryKeyConstraint("key", "person_id", name="pk_deconfliction_person_keys"),
    )
    op.create_table(
        "deconfliction_windows",
        _id(), *_owner(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deconfliction_windows"),
        sa.UniqueConstraint("operation_id", "fingerprint",
                            name="uq_deconfliction_windows_operation_id_fingerprint"),
    )
    op.create_index("ix_deconfliction_windows_latitude", "deconfliction_windows", ["latitude"])


def downgrade() -> None:
    op.drop_index("ix_deconfliction_windows_latitude", table_name="deconfliction_windows")
    op.drop_table("deconfliction_windows")
    op.drop_table("deconfliction_person_keys")
    op.drop_table("deconfliction_persons")
    op.drop_index("ix_deconfliction_identifiers_key", table_name="deconfliction_identifiers")
    op.drop_table("deconfliction_identifiers")
