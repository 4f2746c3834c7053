"""Principals under authority: only an administrator registers, changes or disables one, and every change
(who, when, what, why) is an event in the audit log's principal stream. The first administrator is made
on the server (`liaison admin bootstrap`), with a one-time password."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from domain import identity
from domain.actors import Actor, Role
from domain.errors import DomainError, InvalidInput, NotAuthorised, NotFound
from domain.principal_events import (
    OneTimeCodeRemoved,
    PasswordSet,
    PrincipalDisabled,
    PrincipalEnabled,
    PrincipalEvent,
    PrincipalRegistered,
    PrincipalRenamed,
)
from domain.rules import require_role
from services.identity import HASHER, check_password_rule, verify_password
from services.security import SecurityService
from services.views import PrincipalChange, Registration
from store.principals import Principal, PrincipalConflict, Principals
from store.tokens import Tokens, WebSessions

READERS = (Role.ADMINISTRATOR, Role.AUDITOR)
# The one actor of a change made on the server's own shell, before any administrator exists.
SERVER_SHELL = Actor(id="server-shell", role=Role.SYSTEM)


def one_time_password() -> str:
    return secrets.token_urlsafe(15)


class PrincipalService:
    def __init__(self, principals: Principals, tokens: Tokens, sessions: WebSessions,
                 security: SecurityService, lock_after: int = 5, lock_for: timedelta = timedelta(minutes=15)) -> None:
        self._lock_after = lock_after
        self._lock_for = lock_for
        self._principals = principals
        self._tokens = tokens
        self._sessions = sessions
        self._security = security

    def bootstrap_administrator(self, principal_id: str, display_name: str = "", password: str | None = None
                                ) -> Registration:
        """The first administrator, on the server itself; refused once an active one exists. Without a
        password a one-time password is made and returned once."""
        if self._principals.count_active(Role.ADMINISTRATOR.value):
            raise DomainError("conflict", "an administrator exists already: it registers further principals "
                              "(`liaison principal add`); bootstrap only makes the first", field="principal_id",
                              value=principal_id)
        return self._register(SERVER_SHELL, principal_id, Role.ADMINISTRATOR, None, display_name,
                              "first administrator, made on the server", password)

    def register(self, admin: Actor, principal_id: str, role: Role, member_state: str | None = None,
                 display_name: str = "", justification: str = "", password: str | None = None) -> Registration:
        """Register a principal; the same again is a no-op (created False), another role or state for its
        id a conflict. Without a password a one-time password is made and returned once."""
        self._authorised(admin, "register a principal")
        return self._register(admin, principal_id, role, member_state, display_name, justification, password)

    def _register(self, by: Actor, principal_id: str, role: Role, member_state: str | None, display_name: str,
                  justification: str, password: str | None) -> Registration:
        principal_id = identity.principal_id(principal_id)
        name = identity.display_name(display_name or principal_id)
        state = identity.principal_rules(role, member_state)
        why = _justified(justification)
        if password is not None:
            check_password_rule(password)
        secret = password or one_time_password()
        event = PrincipalRegistered(actor=by, at=datetime.now(UTC), justification=why, principal_id=principal_id,
                                    role=role.value, member_state=state, display_name=name)
        try:
            created = self._principals.add(event, HASHER.hash(secret), must_change=password is None)
        except PrincipalConflict as conflict:
            raise DomainError("conflict", str(conflict), field="principal_id", value=principal_id) from None
        found = self._principals.get(principal_id)
        assert found is not None
        if created:
            self._security.record("principal_changed", f"registered as {role.value}"
                                  f"{' of ' + state if state else ''} by {by.id}: {why}", principal_id=principal_id)
        return Registration(principal=found, created=created,
                            one_time_password=secret if created and password is None else None)

    def change(self, admin: Actor, principal_id: str, change: PrincipalChange, justification: str
               ) -> Registration:
        """Rename, disable (its tokens and sessions end), enable, or reset the password of a principal."""
        self._authorised(admin, "change a principal")
        principal = self._existing(principal_id)
        why = _justified(justification)
        now = datetime.now(UTC)
        secret = None
        events: list[tuple[PrincipalEvent, dict[str, object]]] = []
        if change.display_name is not None and change.display_name != principal.display_name:
            events.append((PrincipalRenamed(actor=admin, at=now, justification=why, principal_id=principal.id,
                                            display_name=identity.display_name(change.display_name)),
                           {"display_name": identity.display_name(change.display_name)}))
        if change.disabled is True and not principal.disabled:
            if principal.id == admin.id:
                raise InvalidInput("disabled", True, "disabled: an administrator cannot disable itself")
            events.append((PrincipalDisabled(actor=admin, at=now, justification=why, principal_id=principal.id),
                           {"disabled_at": now}))
        if change.disabled is False and principal.disabled:
            events.append((PrincipalEnabled(actor=admin, at=now, justification=why, principal_id=principal.id),
                           {"disabled_at": None, "failed_sign_ins": 0, "locked_until": None}))
        if change.reset_password:
            secret = one_time_password()
            events.append((PasswordSet(actor=admin, at=now, justification=why, principal_id=principal.id),
                           {"password_hash": HASHER.hash(secret), "password_must_change": True, "failed_sign_ins": 0,
                            "locked_until": None}))
        if change.remove_one_time_code and principal.one_time_code:
            events.append((OneTimeCodeRemoved(actor=admin, at=now, justification=why, principal_id=principal.id),
                           {"totp_secret": None, "totp_pending": None, "totp_last_step": None}))
        if not events:
            raise InvalidInput("change", change.model_dump(exclude_defaults=True),
                               "change: nothing to change (give a new display name, disabled, reset_password or "
                               "remove_one_time_code)")
        for event, values in events:
            self._principals.change(principal.id, event, **values)
            self._security.record("principal_changed", f"{event.type} by {admin.id}: {why}", principal_id=principal.id)
        if change.disabled or change.reset_password:
            self._tokens.revoke_all(principal.id)
            self._sessions.end_all(principal.id)
        return Registration(principal=self._existing(principal.id), created=False, one_time_password=secret)

    def set_own_password(self, actor: Actor, current: str, new: str, keep_token: str | None = None) -> None:
        """A principal changes its own password, proving the current one (counted like a sign-in); every
        other token and session of it ends, so whoever had them must sign in with the new one."""
        credentials = self._principals.credentials(actor.id)
        stored = credentials.password_hash if credentials is not None else None
        _, locked = self._principals.attempt(actor.id, self._lock_after, self._lock_for)
        if locked is not None:
            raise InvalidInput("current_password", None, f"current_password: {actor.id} is locked after repeated "
                               f"failures until {locked:%Y-%m-%d %H:%M} UTC")
        if stored is None or not verify_password(stored, current):
            self._security.record("reauthentication_failed", "wrong current password on a password change",
                                  actor=actor)
            raise InvalidInput("current_password", None, "current_password: not your current password")
        self._principals.signed_in(actor.id)
        check_password_rule(new)
        event = PasswordSet(actor=actor, at=datetime.now(UTC), justification="changed by its holder",
                            principal_id=actor.id)
        if verify_password(stored, new):
            raise InvalidInput("new_password", None, "new_password: choose another password than the current one")
        self._principals.change(actor.id, event, password_hash=HASHER.hash(new), password_must_change=False)
        self._tokens.revoke_all(actor.id, keep=keep_token)
        self._sessions.end_all(actor.id)
        self._security.record("principal_changed", "password changed by its holder; other tokens and sessions "
                              "ended", actor=actor)

    def list(self, reader: Actor) -> list[Principal]:
        require_role(reader, "list principals", *READERS)
        return self._principals.list()

    def get(self, reader: Actor, principal_id: str) -> Principal:
        if reader.id != principal_id:
            require_role(reader, "look up another principal", *READERS)
        return self._existing(principal_id)

    def _existing(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None:
            raise NotFound("principal_id", principal_id, f"principal_id: {principal_id!r} is not registered")
        return principal

    def _authorised(self, actor: Actor, what: str) -> None:
        if actor.role is not Role.ADMINISTRATOR:
            raise NotAuthorised(f"{actor.describe()} may not {what}: only an administrator may", field="actor",
                                value=actor.id)


def _justified(justification: str) -> str:
    why = justification.strip()
    if not why:
        raise InvalidInput("justification", justification, "justification: say why (who asked for the change)")
    if len(why) > 2000:
        raise InvalidInput("justification", justification[:40] + "…", "justification: at most 2000 characters")
    return why
