"""The principal stream: every change to who may act (registered, changed, disabled, enabled, a password
reset, a one-time code enrolled or removed), by whom, when and why. It is a stream of the audit log like
an operation's, hash-chained and covered by the signed checkpoints; no workflow witnesses it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.actors import Actor

# Not a valid operation id's first character in practice, and refused as one (services/operations.py).
PRINCIPAL_STREAM = "@principals"


def is_operation_stream(stream_id: str) -> bool:
    return not stream_id.startswith("@")


class PrincipalEventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    at: datetime
    justification: str
    principal_id: str


class PrincipalRegistered(PrincipalEventBase):
    type: Literal["principal_registered"] = "principal_registered"
    role: str
    member_state: str | None
    display_name: str


class PrincipalRenamed(PrincipalEventBase):
    type: Literal["principal_renamed"] = "principal_renamed"
    display_name: str


class PrincipalDisabled(PrincipalEventBase):
    type: Literal["principal_disabled"] = "principal_disabled"


class PrincipalEnabled(PrincipalEventBase):
    type: Literal["principal_enabled"] = "principal_enabled"


class PasswordSet(PrincipalEventBase):
    """A password was set or reset (never the password itself)."""

    type: Literal["password_set"] = "password_set"


class OneTimeCodeEnrolled(PrincipalEventBase):
    type: Literal["one_time_code_enrolled"] = "one_time_code_enrolled"


class OneTimeCodeRemoved(PrincipalEventBase):
    type: Literal["one_time_code_removed"] = "one_time_code_removed"


PrincipalEvent = Annotated[
    PrincipalRegistered | PrincipalRenamed | PrincipalDisabled | PrincipalEnabled | PasswordSet
    | OneTimeCodeEnrolled | OneTimeCodeRemoved,
    Field(discriminator="type"),
]
PRINCIPAL_EVENTS: TypeAdapter[PrincipalEvent] = TypeAdapter(PrincipalEvent)


def describe_principal_event(event: PrincipalEvent) -> str:
    match event:
        case PrincipalRegistered():
            state = f" of {event.member_state}" if event.member_state else ""
            return f"registered {event.principal_id} as {event.role}{state} ({event.display_name})"
        case PrincipalRenamed():
            return f"renamed {event.principal_id} to {event.display_name}"
        case PrincipalDisabled():
            return f"disabled {event.principal_id}"
        case PrincipalEnabled():
            return f"enabled {event.principal_id}"
        case PasswordSet():
            return f"set the password of {event.principal_id}"
        case OneTimeCodeEnrolled():
            return f"enrolled a one-time code for {event.principal_id}"
        case OneTimeCodeRemoved():
            return f"removed the one-time code of {event.principal_id}"
    raise AssertionError(event)
