"""Consultation logging (LED art. 25): every read of operation data by a person is recorded with its
purpose and its outcome, served, refused (with the rule) or not found, by the service that reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from domain.actors import Actor, Role
from domain.errors import DomainError, ErrorKind, InvalidInput, NotAuthorised
from domain.rules import require_role
from store.consultations import Consultation, Consultations

T = TypeVar("T")
AUDITORS = (Role.AUDITOR, Role.COORDINATOR)


class Outcome(StrEnum):
    SERVED = "served"
    REFUSED = "refused"
    NOT_FOUND = "not_found"


def require_purpose(purpose: str | None) -> str:
    if not purpose or not purpose.strip():
        raise InvalidInput("purpose", purpose, "reading operation data needs a purpose, which is logged: pass "
                           "--purpose \"...\" (before the command) or set LIAISON_PURPOSE")
    return purpose.strip()


class ConsultationService:
    def __init__(self, consultations: Consultations) -> None:
        self._log = consultations

    async def reading(self, actor: Actor, purpose: str | None, action: str, operation_ids: Sequence[str | None],
                      read: Callable[[], Awaitable[T]], served: Callable[[T], Sequence[str | None]] | None = None
                      ) -> T:
        """Run a read and log it, for each operation it concerns, with its outcome. operation_ids are the
        operations asked for; served, when given, names those the answer showed (a list's rows)."""
        try:
            if actor.role is Role.ADMINISTRATOR:
                raise NotAuthorised(f"{actor.describe()} may not read operation data ({action}): an administrator "
                                    "manages principals only", field="actor", value=actor.id)
            why = require_purpose(purpose)
        except DomainError as error:  # an attempt to read without saying why is logged as refused too
            await self._record(actor, action, "", operation_ids or [None], Outcome.REFUSED, error.message)
            raise
        try:
            result = await read()
        except DomainError as error:
            outcome = Outcome.NOT_FOUND if error.kind is ErrorKind.NOT_FOUND else Outcome.REFUSED
            await self._record(actor, action, why, operation_ids or [None], outcome, error.message)
            raise
        shown = list(served(result)) if served is not None else list(operation_ids)
        await self._record(actor, action, why, shown or [None], Outcome.SERVED, None)
        return result

    async def served(self, actor: Actor, purpose: str, action: str, operation_id: str, detail: str) -> None:
        """A read served outside ``reading``: the codec endpoint's, whose caller shows a decode token (which
        carries who and why) rather than a session."""
        await self._record(actor, action, purpose, [operation_id], Outcome.SERVED, detail)

    async def _record(self, actor: Actor, action: str, purpose: str, operation_ids: Sequence[str | None],
                      outcome: Outcome, detail: str | None) -> None:
        def write() -> None:
            for operation_id in operation_ids:
                self._log.record(actor, action, purpose, operation_id, outcome.value, detail)

        await asyncio.to_thread(write)

    def search(self, actor: Actor, operation_id: str | None = None, reader: str | None = None,
               since: datetime | None = None) -> list[Consultation]:
        """The log itself, for auditors and coordinators."""
        require_role(actor, "read the consultation log", *AUDITORS)
        return self._log.search(operation_id, reader, since)
