"""Principals: the identities (id, role, member state) that act, their credentials and status. Every
change is written together with its event in the audit log's principal stream, in one transaction."""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, func, select, update

from domain.audit import AuditRecord, event_id_for
from domain.identity import principal_key
from domain.principal_events import PRINCIPAL_STREAM, PrincipalEvent, PrincipalRegistered
from domain.utc import as_utc
from services.views import Principal
from store.audit_log import AuditLog
from store.db import insert_ignoring_conflict, write_transaction
from store.tables import principals as t

_ENVELOPE = {"actor", "at", "justification"}


class Credentials(BaseModel):
    """What sign-in checks; never leaves the services."""

    model_config = ConfigDict(frozen=True)

    principal: Principal
    password_hash: str | None
    totp_secret: str | None
    totp_pending: str | None
    totp_last_step: int | None
    failed_sign_ins: int
    locked_until: datetime | None


class PrincipalConflict(ValueError):
    """The id is taken by a principal with another role or member state."""


def _principal(row: Any) -> Principal:
    m = row._mapping
    return Principal(id=m["id"], display_name=m["display_name"], role=m["role"], member_state=m["member_state"],
                     disabled=m["disabled_at"] is not None, one_time_code=m["totp_secret"] is not None,
                     must_change_password=bool(m["password_must_change"]))


def principal_record(event: PrincipalEvent) -> AuditRecord:
    """The unchained audit record of a principal change; its id is fresh (a change is never retried blind)."""
    return AuditRecord(
        stream_id=PRINCIPAL_STREAM, seq=0, event_id=event_id_for(PRINCIPAL_STREAM, uuid.uuid4().hex, 0),
        type=event.type, payload=event.model_dump(mode="json", exclude=_ENVELOPE), actor_id=event.actor.id,
        actor_role=event.actor.role.value, member_state=event.actor.member_state,
        justification=event.justification, occurred_at=event.at)


class Principals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._log = AuditLog(engine)

    def _record(self, conn: Connection, event: PrincipalEvent) -> None:
        self._log.append_within(conn, PRINCIPAL_STREAM, [principal_record(event)])

    def add(self, event: PrincipalRegistered, password_hash: str | None = None, must_change: bool = False) -> bool:
        """Register a principal with its event (True); the same id again with the same role and state is a
        no-op (False: nothing recorded), with another role or state a PrincipalConflict. Ids are unique
        whatever their case."""
        with write_transaction(self.engine) as conn:
            values = {"id": event.principal_id, "id_key": principal_key(event.principal_id),
                      "display_name": event.display_name, "role": event.role, "member_state": event.member_state,
                      "created_at": event.at, "password_hash": password_hash, "password_must_change": must_change}
            existing = conn.execute(select(t).where(t.c.id_key == principal_key(event.principal_id))).first()
            if existing is None and insert_ignoring_conflict(conn, t, values):
                self._record(conn, event)
                return True
            row = existing or conn.execute(select(t).where(t.c.id_key == principal_key(event.principal_id))).one()
        found = _principal(row)
        if (found.id, found.role, found.member_state) != (event.principal_id, event.role, event.member_state):
            raise PrincipalConflict(
                f"principal {found.id!r} already exists as {found.role}"
                f"{' of ' + found.member_state if found.member_state else ''}; "
                f"a principal's id, role and member state cannot change: register another id")
        return False

    def change(self, principal_id: str, event: PrincipalEvent, **values: Any) -> None:
        """Update a principal's row and record why, together."""
        with write_transaction(self.engine) as conn:
            conn.execute(update(t).where(t.c.id == principal_id).values(**values))
            self._record(conn, event)

    def get(self, principal_id: str) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id_key == principal_key(principal_id))).first()
        return _principal(row) if row else None

    def credentials(self, principal_id: str) -> Credentials | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id_key == principal_key(principal_id))).first()
        if row is None:
            return None
        m = row._mapping
        locked = as_utc(m["locked_until"]) if m["locked_until"] else None
        return Credentials(principal=_principal(row), password_hash=m["password_hash"],
                           totp_secret=m["totp_secret"], totp_pending=m["totp_pending"],
                           totp_last_step=m["totp_last_step"], failed_sign_ins=m["failed_sign_ins"],
                           locked_until=locked)

    def attempt(self, principal_id: str, lock_after: int, lock_for: timedelta) -> tuple[int, datetime | None]:
        """Count a sign-in or step-up attempt before its secret is checked (a success resets the count).
        Past the limit the principal is locked for a while; returns the count and the lock, if any."""
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            attempts, locked = conn.execute(update(t).where(t.c.id == principal_id)
                                            .values(failed_sign_ins=t.c.failed_sign_ins + 1)
                                            .returning(t.c.failed_sign_ins, t.c.locked_until)).one()
            if locked is not None and as_utc(locked) > now:
                return attempts, as_utc(locked)
            if attempts > lock_after:
                locked = now + lock_for
                conn.execute(update(t).where(t.c.id == principal_id).values(locked_until=locked, failed_sign_ins=0))
                return attempts, locked
        return attempts, None

    def signed_in(self, principal_id: str) -> datetime | None:
        """Reset the count after a success, unless attempts sent alongside locked the principal: the lock."""
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(t).where(t.c.id == principal_id)
                                .where(t.c.locked_until.is_(None) | (t.c.locked_until <= now))
                                .values(failed_sign_ins=0, locked_until=None))
            if done.rowcount == 1:
                return None
            return as_utc(conn.execute(select(t.c.locked_until).where(t.c.id == principal_id)).scalar_one())

    def set_totp_pending(self, principal_id: str, secret: str | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(t).where(t.c.id == principal_id).values(totp_pending=secret))

    def use_totp_step(self, principal_id: str, step: int) -> bool:
        """Claim a one-time code's time step; False when it (or a later one) was used already: no replay."""
        with write_transaction(self.engine) as conn:
            claimed = conn.execute(update(t).where(t.c.id == principal_id).where(
                (t.c.totp_last_step.is_(None)) | (t.c.totp_last_step < step)).values(totp_last_step=step))
            return claimed.rowcount == 1

    def list(self) -> builtins.list[Principal]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return [_principal(r) for r in rows]

    def count_active(self, role: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(t)
                                   .where(t.c.role == role, t.c.disabled_at.is_(None))) or 0)
