"""The store's tables (SQLAlchemy Core). Alembic (migrations/) owns the schema; never create_all."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
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


# --- deconfliction index (store/index.py) --------------------------------------------------------
# Rows are released (flag), never deleted, when an operation ends. In privacy mode `key` holds HMAC
# digests and the persons' `names` and `date_of_birth` are NULL.

deconfliction_identifiers = Table(
    "deconfliction_identifiers", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("operation_id", String(120), nullable=False),
    Column("member_state", String(8), nullable=False),
    Column("ref", String(120), nullable=False),
    Column("key", String(200), nullable=False, index=True),
    Column("released", Boolean, nullable=False, default=False),
    Column("handling_code", String(4), nullable=True),  # of the target or item; NULL: the operation's
    UniqueConstraint("operation_id", "key"),
)

deconfliction_persons = Table(
    "deconfliction_persons", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("operation_id", String(120), nullable=False),
    Column("member_state", String(8), nullable=False),
    Column("ref", String(120), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("names", Text, nullable=True),  # "given|surname;given|surname" variants; NULL in privacy mode
    Column("date_of_birth", String(10), nullable=True),  # NULL in privacy mode
    Column("released", Boolean, nullable=False, default=False),
    Column("handling_code", String(4), nullable=True),
    UniqueConstraint("operation_id", "fingerprint"),
)

deconfliction_person_keys = Table(
    "deconfliction_person_keys", metadata,
    Column("key", String(80), primary_key=True),  # blocking key, or digest in privacy mode
    Column("person_id", BigInteger().with_variant(Integer, "sqlite"),
           ForeignKey("deconfliction_persons.id", ondelete="CASCADE"), primary_key=True),
)

deconfliction_windows = Table(
    "deconfliction_windows", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("operation_id", String(120), nullable=False),
    Column("member_state", String(8), nullable=False),
    Column("ref", String(120), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("latitude", Float, nullable=False, index=True),
    Column("longitude", Float, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("released", Boolean, nullable=False, default=False),
    UniqueConstraint("operation_id", "fingerprint"),
)

# Signed RFC 6962 checkpoints over the global audit log (position order).
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("log_size", BigInteger, nullable=False),
    Column("root_hex", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature_hex", String(128), nullable=False),
    UniqueConstraint("log_size", "key_id"),
)

# Consultation log: every read of operation data by a person (LED art. 25).
consultations = Table(
    "consultations", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(120), nullable=False, index=True),
    Column("actor_role", String(32), nullable=False),
    Column("member_state", String(8), nullable=True),
    Column("operation_id", String(120), nullable=True, index=True),
    Column("action", String(64), nullable=False),
    Column("justification", Text, nullable=False),
)

# Who to call about an operation's deconfliction entries, and under which handling code.
deconfliction_operations = Table(
    "deconfliction_operations", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("point_of_contact", String(200), nullable=False),
    Column("handling_code", String(4), nullable=False),
)
