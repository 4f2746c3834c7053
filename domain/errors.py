"""Domain errors: a refused command names the field, the value and the rule it broke."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command the rules do not allow. Carries a stable code for clients and a readable message."""

    def __init__(self, code: str, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.value = value

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field,
                "value": None if self.value is None else str(self.value)}

    def __str__(self) -> str:
        return self.message


class NotAuthorised(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("not_authorised", message)


class WrongPhase(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("wrong_phase", message, field="phase")


class InvalidInput(DomainError):
    def __init__(self, field: str, value: Any, message: str) -> None:
        super().__init__("invalid_input", message, field=field, value=value)
