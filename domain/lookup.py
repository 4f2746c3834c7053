"""Look a thing up by its id, or refuse naming the field and the value: one wording for every lookup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from domain.errors import DomainError

T = TypeVar("T")


def found(things: Mapping[str, T], key: str, *, field: str, what: str, where: str,
          listed_as: str | None = None) -> T:
    """things[key], or a not_found refusal: "task_id: 'TK9' is not a task of operation X (tasks: TK1)".
    The ids there are are listed only with listed_as: a reader who may not see every item is not told them."""
    if key in things:
        return things[key]
    message = f"{field}: {key!r} is not {what} of {where}"
    if listed_as is not None:
        message += f" ({listed_as}: {', '.join(things) or 'none'})"
    raise DomainError("not_found", message, field=field, value=key)
