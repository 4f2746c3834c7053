"""The one table from error kind to what a user is shown: a label, a CLI exit code, an HTTP status.

Exit codes 0 (done) and 1 (done, with findings: `audit verify`) are not errors; 2 is a usage error
(the command line itself, from Typer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from domain.errors import ErrorKind, InvalidInput


@dataclass(frozen=True)
class Presentation:
    label: str  # what the CLI prints before the message
    exit_code: int
    http_status: int
    title: str  # problem+json title


PRESENTATION: dict[ErrorKind, Presentation] = {
    ErrorKind.NOT_FOUND: Presentation("refused", 3, 404, "Not found"),
    ErrorKind.CONFLICT: Presentation("refused", 4, 409, "Conflict"),
    ErrorKind.WRONG_STATE: Presentation("refused", 5, 409, "Not allowed in the current state"),
    ErrorKind.NOT_AUTHENTICATED: Presentation("not signed in", 9, 401, "Not authenticated"),
    ErrorKind.NOT_AUTHORISED: Presentation("refused", 6, 403, "Not authorised"),
    ErrorKind.INVALID_INPUT: Presentation("refused", 7, 422, "Invalid input"),
    ErrorKind.TOO_LARGE: Presentation("refused", 8, 413, "Too large"),
    ErrorKind.UNAVAILABLE: Presentation("unavailable", 75, 503, "Unavailable, retry"),  # 75: EX_TEMPFAIL
    ErrorKind.INTEGRITY: Presentation("integrity failure", 76, 500, "Audit integrity failure"),
    ErrorKind.INTERNAL: Presentation("internal error", 70, 500, "Internal error"),  # 70: EX_SOFTWARE
}


def exit_code_of(kind: ErrorKind) -> int:
    return PRESENTATION[kind].exit_code


def invalid_input(error: ValidationError, source: str) -> InvalidInput:
    """A pydantic validation error as one refusal naming every field, value and rule."""
    lines = [f"{source} is not valid:"]
    first_field, first_value = "", None
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        got: Any = problem.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"  {where}: {problem['msg']}{shown}")
        if not first_field:
            first_field, first_value = where, None if isinstance(got, dict | list) else got
    return InvalidInput(first_field or source, first_value, "\n".join(lines))
