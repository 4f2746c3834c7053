"""The security log: sign-ins and failures, refused commands, token use from a new address, principal
changes. Append-only, beside the consultation log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from domain.utc import as_utc
from services.views import SecurityEntry
from store.db import write_transaction
from store.tables import security_log as t


class SecurityLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, kind: str, detail: str, *, principal_id: str | None = None, role: str | None = None,
               member_state: str | None = None, address: str | None = None, operation_id: str | None = None,
               action: str | None = None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.insert().values(
                at=datetime.now(UTC), kind=kind, detail=detail, principal_id=principal_id, role=role,
                member_state=member_state, address=address, operation_id=operation_id, action=action))

    def search(self, kind: str | None = None, principal_id: str | None = None, since: datetime | None = None,
               limit: int = 1000) -> list[SecurityEntry]:
        query = select(t).order_by(t.c.id)
        if kind:
            query = query.where(t.c.kind == kind)
        if principal_id:
            query = query.where(t.c.principal_id == principal_id)
        if since:
            query = query.where(t.c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [SecurityEntry.model_validate({**{k: v for k, v in row.items() if k != "id"},
                                              "at": as_utc(row["at"])}) for row in rows]
