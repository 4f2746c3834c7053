"""Principals: who may act. Authentication resolves a caller to an Actor; nobody chooses their own."""

from __future__ import annotations

from domain.actors import Actor, Role
from domain.errors import DomainError, InvalidInput, NotAuthorised
from domain.reference import participant
from store.principals import Principal, PrincipalConflict, Principals

STATE_ROLES = (Role.LIAISON_OFFICER, Role.APPROVER)

class PrincipalService:
    def __init__(self, principals: Principals) -> None:
        self._principals = principals

    def authenticate(self, principal_id: str | None) -> Actor:
        """The registered principal behind an authenticated id (today the CLI's --as; a token next)."""
        if not principal_id:
            raise NotAuthorised("who is acting? pass --as PRINCIPAL_ID or set LIAISON_ACTOR",
                                field="actor", value=principal_id)
        principal = self._principals.get(principal_id)
        if principal is None:
            raise NotAuthorised(f"principal {principal_id!r} is not registered; add it with `liaison principal add`",
                                field="actor", value=principal_id)
        return Actor(id=principal.id, role=Role(principal.role), member_state=principal.member_state)

    def add(self, principal_id: str, role: Role, name: str = "", member_state: str | None = None
            ) -> tuple[Principal, bool]:
        """Register a principal; the same again is a no-op (False), another role or state for its id a
        conflict."""
        if role is Role.SYSTEM:
            raise InvalidInput("role", role.value, "role: 'system' is reserved for the workflow itself")
        if role in STATE_ROLES and not member_state:
            article = "an" if role.value[0] in "aeiou" else "a"
            raise InvalidInput("member_state", member_state,
                               f"--state: {article} {role.value} acts for a member state; name it")
        if role not in STATE_ROLES and member_state:
            raise InvalidInput("member_state", member_state, f"--state: a {role.value} acts for the task force, "
                               "not for a member state; leave --state out")
        code = participant(member_state, "--state") if member_state else None
        principal = Principal(id=principal_id, display_name=name or principal_id, role=role.value, member_state=code)
        try:
            created = self._principals.add(principal)
        except PrincipalConflict as conflict:
            raise DomainError("conflict", str(conflict), field="principal_id", value=principal_id) from None
        return principal, created

    def list(self) -> list[Principal]:
        return self._principals.list()
