"""Signed Merkle checkpoints of the global audit log, and the log's leaves in position order.

The global log is every row of audit_events ordered by position; leaf i of the tree is the i-th
row in that order (positions may have gaps, e.g. PostgreSQL sequence values lost to a rollback, so
a leaf index is a rank, not a position). A checkpoint of size n commits to the first n rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select, text

from domain.audit import AuditRecord
from domain.merkle import audit_leaf, root
from domain.signing import Checkpoint, PrivateKeyInput, sign_checkpoint
from domain.utc import as_utc
from store.audit_log import RECORD_COLUMNS, record_from_row
from store.db import gc_paused, insert_ignoring_conflict, write_transaction
from store.tables import audit_checkpoints as c
from store.tables import audit_events as t

_BATCH = 10_000


class CheckpointConflict(Exception):
    """A different checkpoint is already stored for the same log size and key: the key signed two
    different histories of one size (a split view), which must never be silently ignored."""


def _checkpoint(row: Row[Any]) -> Checkpoint:
    return Checkpoint(log_size=row.log_size, root_hex=row.root_hex, issued_at=as_utc(row.issued_at),
                      key_id=row.key_id, signature_hex=row.signature_hex)


class Checkpoints:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, checkpoint: Checkpoint) -> bool:
        """Store a checkpoint; False when the key already has one of this size with the same root
        (a retry, or a periodic checkpoint of a log that has not grown: the first one is kept).

        Raises CheckpointConflict when the key's stored checkpoint of this size has another root.
        The caller verifies the signature (the store holds no keys).
        """
        values = {**checkpoint.model_dump(), "issued_at": as_utc(checkpoint.issued_at)}
        with write_transaction(self.engine) as conn:
            if insert_ignoring_conflict(conn, c, values):
                return True
            row = conn.execute(select(c).where(c.c.log_size == checkpoint.log_size,
                                               c.c.key_id == checkpoint.key_id)).one()
        stored = _checkpoint(row)
        if stored.root_hex != checkpoint.root_hex:
            raise CheckpointConflict(
                f"key {checkpoint.key_id} already signed size {checkpoint.log_size} as root "
                f"{stored.root_hex[:12]}… at {stored.issued_at.isoformat()}; refusing root "
                f"{checkpoint.root_hex[:12]}… at {checkpoint.issued_at.isoformat()}")
        return False

    def latest(self, key_id: str | None = None) -> Checkpoint | None:
        """The checkpoint of the largest log size (the last stored among equals), optionally of one key."""
        query = select(c).order_by(c.c.log_size.desc(), c.c.id.desc()).limit(1)
        if key_id is not None:
            query = query.where(c.c.key_id == key_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _checkpoint(row) if row else None

    def all(self) -> list[Checkpoint]:
        """Every checkpoint, by log size then in the order stored."""
        with self.engine.connect() as conn:
            return [_checkpoint(row) for row in conn.execute(select(c).order_by(c.c.log_size, c.c.id))]


def iter_global_records(engine: Engine, upto_position: int | None = None) -> Iterator[AuditRecord]:
    """The audit records of the global log in position order, read in batches (keyset pagination)
    within one connection (on SQLite, one read transaction: a consistent snapshot)."""
    with engine.connect() as conn:
        after: int | None = None
        while True:
            query = select(*RECORD_COLUMNS).order_by(t.c.position).limit(_BATCH)
            if after is not None:
                query = query.where(t.c.position > after)
            if upto_position is not None:
                query = query.where(t.c.position <= upto_position)
            with gc_paused():
                records = [record_from_row(row) for row in conn.execute(query)]
            yield from records
            if len(records) < _BATCH:
                return
            after = records[-1].position


def global_leaves(engine: Engine, upto_position: int | None = None) -> list[bytes]:
    """The leaf hashes (domain.merkle.audit_leaf) of the global log, up to a position (inclusive)."""
    return [audit_leaf(record) for record in iter_global_records(engine, upto_position)]


def make_checkpoint(engine: Engine, private_key: PrivateKeyInput, issued_at: datetime,
                    upto_position: int | None = None) -> Checkpoint:
    """Sign the root over the global log as it is now (or up to a position); does not store it.

    On PostgreSQL a position can commit after a higher one; checkpoint only positions whose writers
    have all finished (e.g. pass the position read under the appenders' lock, or one older than the
    longest append transaction), or a later checkpoint will not be consistent with this one.
    """
    leaves = global_leaves(engine, upto_position)
    return sign_checkpoint(private_key, len(leaves), root(leaves), issued_at)


def settled_position(engine: Engine) -> int:
    """The highest position below which every append has committed (0 for an empty log).

    On PostgreSQL a SHARE lock waits for the appends in flight and holds new ones back while the
    maximum is read, so no lower position can still commit later. SQLite serialises writers anyway.
    """
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE audit_events IN SHARE MODE"))
        return int(conn.execute(select(func.coalesce(func.max(t.c.position), 0))).scalar_one())
