"""Principals: the identities (id, role, member state) that act on operations."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select

from store.db import insert_ignoring_conflict, write_transaction
from store.tables import principals as t


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    role: str
    member_state: str | None = None


class PrincipalConflict(ValueError):
    """The id is taken by a principal with another role or member state."""


class Principals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, principal: Principal) -> bool:
        """Store a principal (True); adding one again with the same role and state is a no-op (False, the
        first display name stays), with another role or state a PrincipalConflict."""
        with write_transaction(self.engine) as conn:
            values = {**principal.model_dump(), "created_at": datetime.now(UTC)}
            if insert_ignoring_conflict(conn, t, values):
                return True
            row = conn.execute(select(t).where(t.c.id == principal.id)).one()
        existing = Principal(**{k: row._mapping[k] for k in Principal.model_fields})
        if (existing.role, existing.member_state) != (principal.role, principal.member_state):
            raise PrincipalConflict(
                f"principal {principal.id!r} already exists as {existing.role}"
                f"{' of ' + existing.member_state if existing.member_state else ''}; "
                f"a principal's role and member state cannot change: register another id")
        return False

    def get(self, principal_id: str) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == principal_id)).first()
        return Principal(**{k: row._mapping[k] for k in Principal.model_fields}) if row else None

    def list(self) -> builtins.list[Principal]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return [Principal(**{k: r._mapping[k] for k in Principal.model_fields}) for r in rows]
