"""Who acts: every command carries an actor with an id, a role and (for state roles) a member state."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    COORDINATOR = "coordinator"
    LIAISON_OFFICER = "liaison_officer"
    APPROVER = "approver"
    AUDITOR = "auditor"
    # Registers, changes and disables principals. It issues no operation command and reads no operation:
    # it is in no entry of domain/rules.py ROLES nor in domain/visibility.py READ_ANY_OPERATION.
    ADMINISTRATOR = "administrator"
    SYSTEM = "system"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    member_state: str | None = None

    def describe(self) -> str:
        state = f" of {self.member_state}" if self.member_state else ""
        return f"{self.id} ({self.role.value}{state})"


SYSTEM = Actor(id="liaison", role=Role.SYSTEM)
