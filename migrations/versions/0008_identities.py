"""Identities: credentials and status of principals, API tokens, browser sessions, the security log.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    for column in (sa.Column("id_key", sa.String(120), nullable=True),
                   sa.Column("password_hash", sa.Text(), nullable=True),
                   sa.Column("totp_secret", sa.String(64), nullable=True),
                   sa.Column("totp_pending", sa.String(64), nullable=True),
                   sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
                   sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"),
                   _when("locked_until"), _when("disabled_at")):
        op.add_column("principals", column)
    op.execute("UPDATE principals SET id_key = lower(id)")
    op.create_index("ix_principals_id_key", "principals", ["id_key"], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("principal_id", sa.String(120), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        _when("expires_at", nullable=False), _when("revoked_at"), _when("last_used_at"),
        sa.Column("last_address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("secret_hash", name="uq_api_tokens_secret_hash"),
    )
    op.create_index("ix_api_tokens_principal_id", "api_tokens", ["principal_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("principal_id", sa.String(120), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at", nullable=False), _when("last_seen_at", nullable=False),
        _when("expires_at", nullable=False), _when("revoked_at"),
        sa.Column("address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_principal_id", "web_sessions", ["principal_id"])
    op.create_table(
        "security_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        _when("at", nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("principal_id", sa.String(120), nullable=True),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("member_state", sa.String(8), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("operation_id", sa.String(120), nullable=True),
        sa.Column("action", sa.String(80), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_security_log"),
    )
    for column in ("at", "kind", "principal_id"):
        op.create_index(f"ix_security_log_{column}", "security_log", [column])


def downgrade() -> None:
    for table in ("security_log", "web_sessions", "api_tokens"):
        op.drop_table(table)
    op.drop_index("ix_principals_id_key", table_name="principals")
    with op.batch_alter_table("principals") as batch:
        for name in ("disabled_at", "locked_until", "failed_sign_ins", "totp_last_step", "totp_pending",
                     "totp_secret", "password_hash", "id_key"):
            batch.drop_column(name)
