"""Notifications sent to principals, keyed by an idempotency key so retries send nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from domain.utc import as_utc
from store.db import insert_ignoring_conflict, write_transaction
from store.tables import notifications as t


class Notifications:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, id: str, operation_id: str, kind: str, recipient_role: str,
               recipient_state: str | None, message: str, created_at: datetime) -> bool:
        """True if the notification was new, False if that id was already recorded."""
        with write_transaction(self.engine) as conn:
            return insert_ignoring_conflict(conn, t, {
                "id": id, "operation_id": operation_id, "kind": kind,
                "recipient_role": recipient_role, "recipient_state": recipient_state,
                "message": message, "created_at": as_utc(created_at)})

    def for_recipient(self, role: str, member_state: str | None, limit: int = 200) -> list[dict[str, Any]]:
        """What was addressed to a role (of a member state), newest first."""
        query = select(t).where(t.c.recipient_role == role)
        if member_state is not None:
            query = query.where(t.c.recipient_state == member_state)
        query = query.order_by(t.c.created_at.desc(), t.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [{**row, "created_at": as_utc(row["created_at"])} for row in rows]

    def for_operation(self, operation_id: str) -> list[dict[str, Any]]:
        query = select(t).where(t.c.operation_id == operation_id).order_by(t.c.created_at, t.c.id)
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [{**row, "created_at": as_utc(row["created_at"])} for row in rows]
