"""The security log as a service: what is recorded (by the other services), and who may read it."""

from __future__ import annotations

from datetime import datetime

import structlog

from domain.actors import Actor, Role
from domain.errors import LiaisonError
from domain.rules import require_role
from store.security_log import SecurityEntry, SecurityLog

log = structlog.get_logger(__name__)
READERS = (Role.AUDITOR, Role.ADMINISTRATOR)


class SecurityService:
    def __init__(self, security_log: SecurityLog) -> None:
        self._log = security_log

    def record(self, kind: str, detail: str, *, actor: Actor | None = None, principal_id: str | None = None,
               role: str | None = None, member_state: str | None = None, address: str | None = None,
               operation_id: str | None = None, action: str | None = None) -> None:
        """Never fails the caller's request: a store that cannot write is logged loudly instead."""
        if actor is not None:
            principal_id, role, member_state = actor.id, actor.role.value, actor.member_state
        try:
            self._log.record(kind, detail, principal_id=principal_id, role=role, member_state=member_state,
                             address=address, operation_id=operation_id, action=action)
        except Exception:  # the refusal or sign-in itself must still be answered
            log.error("security_log_write_failed", kind=kind, principal_id=principal_id, detail=detail,
                      exc_info=True)

    def refused(self, actor: Actor, action: str, error: LiaisonError, operation_id: str | None = None,
                address: str | None = None) -> None:
        """A command or call refused by a rule: who tried what, and which rule said no."""
        self.record("refused", f"{error.code}: {error.message}", actor=actor, operation_id=operation_id,
                    action=action, address=address)
        error.security_logged = True

    def search(self, reader: Actor, kind: str | None = None, principal_id: str | None = None,
               since: datetime | None = None) -> list[SecurityEntry]:
        require_role(reader, "read the security log", *READERS)
        return self._log.search(kind, principal_id, since)
