"""Each operation's point of contact and handling code, the only things the other side of a
deconfliction hit learns about it."""

from __future__ import annotations

from sqlalchemy import Engine, select

from domain.model import HandlingCode
from store.db import insert_ignoring_conflict, write_transaction
from store.tables import deconfliction_operations as t

UNKNOWN = ("(unknown)", HandlingCode.H0)


class Contacts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def remember(self, operation_id: str, point_of_contact: str, handling_code: HandlingCode) -> None:
        """Idempotent: the first record of an operation stays."""
        with write_transaction(self._engine) as conn:
            insert_ignoring_conflict(conn, t, {"operation_id": operation_id, "point_of_contact": point_of_contact,
                                               "handling_code": handling_code.value})

    def of(self, operation_ids: set[str]) -> dict[str, tuple[str, HandlingCode]]:
        if not operation_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.operation_id.in_(sorted(operation_ids)))).all()
        return {r.operation_id: (r.point_of_contact, HandlingCode(r.handling_code)) for r in rows}
