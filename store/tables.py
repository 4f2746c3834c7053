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
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
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
    # Credentials and status (services/identity.py); the history of every change is the audit log's
    # principal stream. id_key is the casefolded id: ids are unique whatever their case.
    Column("id_key", String(120), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_pending", String(64), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    # A one-time password (set by an administrator) is replaced by its holder before anything else.
    Column("password_must_change", Boolean, nullable=False, server_default=false()),
    Index("ix_principals_id_key", "id_key", unique=True),
)

# API tokens: only the SHA-256 of the secret is kept; the secret is shown once.
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", String(32), primary_key=True),
    Column("principal_id", String(120), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("last_address", String(64), nullable=True),
)

# Browser sessions: the cookie holds the session id; the store only its SHA-256.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("principal_id", String(120), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("address", String(64), nullable=True),
)

# The security log, beside the consultation log: sign-ins and their failures, refused commands, token
# use from a new address, principal changes. Append-only.
security_log = Table(
    "security_log", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(40), nullable=False, index=True),
    Column("principal_id", String(120), nullable=True, index=True),
    Column("role", String(32), nullable=True),
    Column("member_state", String(8), nullable=True),
    Column("address", String(64), nullable=True),
    Column("operation_id", String(120), nullable=True),
    Column("action", String(80), nullable=True),
    Column("detail", Text, nullable=False),
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
    Column("outcome", String(16), nullable=False, server_default="served"),  # served, refused, not_found
    Column("detail", Text, nullable=True),  # the rule that refused it, or what was not found
)

# Who to call about an operation's deconfliction entries, and under which handling code.
deconfliction_operations = Table(
    "deconfliction_operations", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("point_of_contact", String(200), nullable=False),
    Column("handling_code", String(4), nullable=False),
)


# --- read models (store/projections.py writes them from the audit log; store/read_models.py reads) -------
# Every row below is a function of one stream's events up to projection_streams.seq, so they can be
# emptied and rebuilt from the log at any time (Projector.rebuild).

projection_streams = Table(
    "projection_streams", metadata,
    Column("stream_id", String(120), primary_key=True),
    Column("seq", Integer, nullable=False),  # the last sequence number of the stream projected
    Column("state", JSON, nullable=False),  # the OperationState folded up to seq: catching up evolves only new events
    Column("hits_raised_at", JSON, nullable=False),  # hit id -> when it was raised (the state keeps no time)
)

operation_summaries = Table(
    "operation_summaries", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("code_name", String(80), nullable=False),
    Column("phase", String(16), nullable=False, index=True),
    Column("lead_state", String(8), nullable=False),
    Column("member_states", JSON, nullable=False),  # participating member states
    Column("partners", JSON, nullable=False),
    Column("priority", Float, nullable=True, index=True),
    Column("parked", Boolean, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("blocked_reasons", JSON, nullable=False),
    Column("open_hits", Integer, nullable=False),
    Column("pending_tasks", Integer, nullable=False),
    Column("escalated_tasks", Integer, nullable=False),
    Column("earliest_due", DateTime(timezone=True), nullable=True),  # of the pending tasks
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("last_event_at", DateTime(timezone=True), nullable=True),
    Column("handling_code", String(4), nullable=False),
    Column("version", Integer, nullable=False),  # events folded: the stream's seq the row shows
)

# Lead, participating member states and invited partners: "operations X takes part in" is one lookup.
operation_participants = Table(
    "operation_participants", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("member_state", String(8), primary_key=True, index=True),
    Column("role", String(8), nullable=False),  # lead, member or partner
)

# Tasks awaiting approval in live operations: the approvers' inbox.
pending_tasks = Table(
    "pending_tasks", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("task_id", String(64), primary_key=True),
    Column("code_name", String(80), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("member_state", String(8), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("due", DateTime(timezone=True), nullable=False, index=True),
    Column("four_eyes", Boolean, nullable=False),
    Column("approvals", JSON, nullable=False),  # ids of the approvers who signed so far
    Column("approvals_needed", Integer, nullable=False),
    Column("reminded", Boolean, nullable=False),
    Column("escalated", Boolean, nullable=False),
    Column("item_id", String(120), nullable=True),  # a release request: the item and to whom
    Column("release_to", String(8), nullable=True),
    Index("ix_pending_tasks_member_state_due", "member_state", "due"),
)

# Unresolved deconfliction hits of live operations, one row per state of ours the hit involves.
open_hits = Table(
    "open_hits", metadata,
    Column("operation_id", String(120), primary_key=True),
    Column("hit_id", String(64), primary_key=True),
    Column("member_state", String(8), primary_key=True, index=True),
    Column("code_name", String(80), nullable=False),
    Column("our_states", JSON, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("matched", Text, nullable=False),
    Column("own_ref", String(120), nullable=False),
    Column("own_ref_handling_code", String(4), nullable=False),  # so a reader can redact without the state
    Column("other_state", String(8), nullable=False),
    Column("other_contact", String(200), nullable=False),
    Column("other_handling_code", String(4), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=True),
)
