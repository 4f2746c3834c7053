"""One error taxonomy. A refused command (DomainError) names the field, the value and the rule it broke,
and nothing was recorded; an unavailable service (Unavailable) or a disagreement between the audit
store and the workflow (IntegrityFailure) is not a refusal and never reported as one.

services/errors.py maps each kind, once, to a CLI exit code and an HTTP status.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    WRONG_STATE = "wrong_state"
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_AUTHORISED = "not_authorised"
    INVALID_INPUT = "invalid_input"
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"
    INTEGRITY = "integrity"
    INTERNAL = "internal"


REFUSALS = frozenset({ErrorKind.NOT_FOUND, ErrorKind.CONFLICT, ErrorKind.WRONG_STATE, ErrorKind.NOT_AUTHENTICATED,
                      ErrorKind.NOT_AUTHORISED, ErrorKind.INVALID_INPUT, ErrorKind.TOO_LARGE})

# The decider's codes are stable (clients and recorded histories carry them); each belongs to one kind.
KIND_OF_CODE: dict[str, ErrorKind] = {
    "not_found": ErrorKind.NOT_FOUND,
    "conflict": ErrorKind.CONFLICT, "already_exists": ErrorKind.CONFLICT, "already_done": ErrorKind.CONFLICT,
    "already_partner": ErrorKind.CONFLICT, "already_recorded": ErrorKind.CONFLICT,
    "already_reported": ErrorKind.CONFLICT, "already_requested": ErrorKind.CONFLICT,
    "already_resolved": ErrorKind.CONFLICT, "already_visible": ErrorKind.CONFLICT, "four_eyes": ErrorKind.CONFLICT,
    "wrong_phase": ErrorKind.WRONG_STATE, "wrong_day_status": ErrorKind.WRONG_STATE,
    "wrong_task_status": ErrorKind.WRONG_STATE, "not_due": ErrorKind.WRONG_STATE,
    "not_ready": ErrorKind.WRONG_STATE, "incomplete": ErrorKind.WRONG_STATE,
    "not_authenticated": ErrorKind.NOT_AUTHENTICATED, "sign_in_failed": ErrorKind.NOT_AUTHENTICATED,
    "locked_out": ErrorKind.NOT_AUTHENTICATED,
    "not_authorised": ErrorKind.NOT_AUTHORISED, "step_up_required": ErrorKind.NOT_AUTHORISED,
    "invalid_input": ErrorKind.INVALID_INPUT,
    "too_large": ErrorKind.TOO_LARGE,
    "unavailable": ErrorKind.UNAVAILABLE,
    "integrity": ErrorKind.INTEGRITY,
    "internal": ErrorKind.INTERNAL,
}


class LiaisonError(Exception):
    """Any failure a user is shown: a kind, a stable code, a readable message, and the field and value."""

    security_logged = False  # set once the security log holds this refusal, so no layer writes it twice

    def __init__(self, code: str, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.value = value

    @property
    def kind(self) -> ErrorKind:
        return KIND_OF_CODE.get(self.code, ErrorKind.INTERNAL)  # a code nobody classified is a bug

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field,
                "value": None if self.value is None else str(self.value)}

    def __str__(self) -> str:
        return self.message


class DomainError(LiaisonError):
    """A command or read the rules do not allow; nothing was recorded."""


class NotAuthorised(DomainError):
    def __init__(self, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__("not_authorised", message, field=field, value=value)


class NotAuthenticated(LiaisonError):
    """No verified identity: no credentials, wrong ones, or an expired, revoked or unknown token."""

    def __init__(self, message: str, code: str = "not_authenticated") -> None:
        super().__init__(code, message)


class WrongPhase(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("wrong_phase", message, field="phase")


class InvalidInput(DomainError):
    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__("invalid_input", message, field=field, value=value)


class NotFound(DomainError):
    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__("not_found", message, field=field, value=value)


class TooLarge(DomainError):
    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__("too_large", message, field=field, value=value)


class Unavailable(LiaisonError):
    """A service the command needs did not answer; the outcome is not known, and sending the command
    again with the same idempotency key is safe."""

    def __init__(self, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__("unavailable", message, field=field, value=value)


class IntegrityFailure(LiaisonError):
    """The audit store and the workflow (or a signed checkpoint) disagree: an auditor must look."""

    def __init__(self, message: str) -> None:
        super().__init__("integrity", message)
