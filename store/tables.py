"""The store's tables (SQLAlchemy Core). Alembic (migrations/) owns the schema; never create_all."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

audit_events = Table(
    "audit_events", metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("stream_id", String(120), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("actor_id", String(120), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("member_state", String(8), nullable=True),
    Column("justification", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "seq"),
)

principals = Table(
    "principals", metadata,
    Column("id", String(120), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("member_state", String(8), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

notifications = Table(
    "notifications", metadata,
    Column("id", String(200), primary_key=True),
    Column("operation_id", String(120), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("recipient_role", String(32), nullable=False),
    Column("recipient_state", String(8), nullable=True),
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
