"""The consultation log: who read which operation's data, when, and why. Append-only."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from domain.actors import Actor
from domain.utc import as_utc
from services.views import Consultation
from store.db import write_transaction
from store.tables import consultations as t


class Consultations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, actor: Actor, action: str, justification: str, operation_id: str | None = None,
               outcome: str = "served", detail: str | None = None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(t.insert().values(
                at=datetime.now(UTC), actor_id=actor.id, actor_role=actor.role.value,
                member_state=actor.member_state, operation_id=operation_id, action=action,
                justification=justification, outcome=outcome, detail=detail))

    def search(self, operation_id: str | None = None, actor_id: str | None = None,
               since: datetime | None = None, limit: int = 1000) -> list[Consultation]:
        query = select(t).order_by(t.c.id)
        if operation_id:
            query = query.where(t.c.operation_id == operation_id)
        if actor_id:
            query = query.where(t.c.actor_id == actor_id)
        if since:
            query = query.where(t.c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [Consultation.model_validate({**row, "at": as_utc(row["at"])}) for row in rows]
